//! Employees: the assignee of a device, matched to an employee by email or
//! by name, or a new employee to create.

use super::*;

impl<'a, 'c> Planner<'a, 'c> {
    pub(super) fn employees(&self) -> &'a [Employee] {
        self.employees
    }

    pub(super) fn emp_by_email(&mut self) -> &HashMap<String, u32> {
        let emps = self.employees();
        self.emp_by_email.get_or_insert_with(|| {
            let mut m: HashMap<String, u32> = HashMap::new();
            for (i, e) in emps.iter().enumerate() {
                for email in &e.emails {
                    if let Some(norm) = crate::normalize::email(email) {
                        m.entry(norm)
                            .and_modify(|x| {
                                if *x != i as u32 {
                                    *x = NONE
                                }
                            })
                            .or_insert(i as u32);
                    }
                }
            }
            m
        })
    }

    pub(super) fn emp_by_name(&mut self) -> &HashMap<(String, String), Vec<u32>> {
        let emps = self.employees();
        self.emp_by_name.get_or_insert_with(|| {
            let mut m: HashMap<(String, String), Vec<u32>> = HashMap::new();
            for (i, e) in emps.iter().enumerate() {
                let key = (
                    e.first_name.trim().to_lowercase(),
                    e.last_name.trim().to_lowercase(),
                );
                if !key.0.is_empty() && !key.1.is_empty() {
                    m.entry(key).or_default().push(i as u32);
                }
            }
            m
        })
    }

    /// The assignee id a group's records give, creating (in the plan) or
    /// reporting employees as needed.
    pub(super) fn resolve_assignee(&mut self, kept: &[u32], rank: &[u8; 3]) -> Option<ChangeValue> {
        let has_user = kept.iter().any(|r| {
            self.incoming[*r as usize]
                .assignee
                .as_ref()
                .is_some_and(|a| a.email.is_some())
        });
        if !has_user {
            return None;
        }
        let mut order: Vec<u32> = kept.to_vec();
        order.sort_by_key(|r| rank[vi(self.incoming[*r as usize].vendor)]);
        let (r, a) = order.iter().find_map(|r| {
            self.incoming[*r as usize]
                .assignee
                .as_ref()
                .filter(|a| a.email.is_some())
                .map(|a| (*r, a))
        })?;
        let email = crate::normalize::email(a.email.as_deref()?)?;
        let sources: Vec<SourceRef> = kept
            .iter()
            .map(|r| SourceRef::of(&self.incoming[*r as usize]))
            .collect();
        let _ = r;
        match self.emp_by_email().get(&email).copied() {
            Some(NONE) => return None, // two employees share the email: do not guess
            Some(i) => {
                let id = self.employees().get(i as usize)?.id.clone();
                return Some(ChangeValue::Value(Value::Text(id.into())));
            }
            None => {}
        }
        // Created by the batch before, whose write is not done yet: the
        // store finds it by its email when this batch is written.
        if self.pending.contains(&email) {
            return Some(ChangeValue::NewEmployee(email));
        }
        if let Some(i) = self.planned.get(&email) {
            if let Some(e) = self.employee_actions.get_mut(*i) {
                for s in sources {
                    if !e.sources.contains(&s) {
                        e.sources.push(s);
                    }
                }
                if e.action == EmployeeActionKind::Create {
                    return Some(ChangeValue::NewEmployee(email));
                }
            }
            return None;
        }
        if self.likely.contains_key(&email) {
            return None;
        }
        // The name comes from the first record (in input order) that names
        // this email with a first and a last name, whichever group it is in.
        let (first, last) = match self.users.names.get(&email) {
            Some((f, l)) => (Some(f.clone()), Some(l.clone())),
            None => (None, None),
        };
        if let (Some(f), Some(l)) = (&first, &last) {
            let key = (f.to_lowercase(), l.to_lowercase());
            let found = self
                .emp_by_name()
                .get(&key)
                .and_then(|v| v.first().copied());
            if let Some(i) = found
                && let Some(e) = self.employees().get(i as usize)
            {
                self.likely
                    .insert(email.clone(), self.likely_duplicates.len());
                self.likely_duplicates.push(LikelyDuplicate {
                    email,
                    first_name: f.clone(),
                    last_name: l.clone(),
                    employee_id: e.id.clone(),
                    employee_emails: e.emails.clone(),
                    sources,
                });
                return None;
            }
            // The same name under another email that claimed it first (in
            // input order): the same rule as for existing employees, so an
            // interrupted run and its rerun, or a sync in batches, decide
            // alike.
            if let Some(other) = self.users.winner.get(&key)
                && *other != email
            {
                let other = other.clone();
                self.likely
                    .insert(email.clone(), self.likely_duplicates.len());
                self.likely_duplicates.push(LikelyDuplicate {
                    email,
                    first_name: f.clone(),
                    last_name: l.clone(),
                    employee_id: format!("(new employee {other})"),
                    employee_emails: vec![other],
                    sources,
                });
                return None;
            }
        }
        if !self.c.config.create_employees {
            return None;
        }
        let idx = self.employee_actions.len();
        self.planned.insert(email.clone(), idx);
        match (first, last) {
            (Some(first_name), Some(last_name)) => {
                self.employee_actions.push(EmployeeAction {
                    action: EmployeeActionKind::Create,
                    email: email.clone(),
                    employee: Some(NewEmployee {
                        first_name,
                        last_name,
                        emails: vec![email.clone()],
                    }),
                    sources,
                    reason: Cow::Borrowed("no employee has this email"),
                });
                Some(ChangeValue::NewEmployee(email))
            }
            _ => {
                self.employee_actions.push(EmployeeAction {
                    action: EmployeeActionKind::Skip,
                    email,
                    employee: None,
                    sources,
                    reason: Cow::Borrowed(
                        "no employee has this email, and the source gives no first and last name to create one",
                    ),
                });
                None
            }
        }
    }
}

/// What the records of a sync say about their users, in input order: the
/// name each email is first given (with a first and a last name), and the
/// email that first claims each name. New employees are decided from these,
/// so a decision does not depend on which device the plan meets first, and a
/// sync planned in batches decides like one plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Users {
    pub(super) names: HashMap<String, (String, String)>,
    pub(super) winner: HashMap<(String, String), String>,
}

impl Users {
    pub(crate) fn of(incoming: &[SourceDevice]) -> Users {
        let mut u = Users::default();
        for d in incoming {
            u.add(d);
        }
        u
    }

    /// A digest of everything noted (names by email, the email that
    /// claims each name), in a fixed order.
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut names: Vec<_> = self.names.iter().collect();
        names.sort_unstable();
        let mut winners: Vec<_> = self.winner.iter().collect();
        winners.sort_unstable();
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (email, (first, last)) in names {
            for part in [email, first, last] {
                h.update(part.as_bytes());
                h.update(&[0]);
            }
        }
        h.update(&[1]);
        for ((first, last), email) in winners {
            for part in [first, last, email] {
                h.update(part.as_bytes());
                h.update(&[0]);
            }
        }
        h.digest()
    }

    /// Notes the user of `d`.
    pub(crate) fn add(&mut self, d: &SourceDevice) {
        let Some(a) = &d.assignee else { return };
        let Some(email) = a.email.as_deref().and_then(crate::normalize::email) else {
            return;
        };
        if self.names.contains_key(&email) {
            return;
        }
        if let (Some(f), Some(l)) = a.split_name() {
            self.winner
                .entry((f.to_lowercase(), l.to_lowercase()))
                .or_insert_with(|| email.clone());
            self.names.insert(email, (f, l));
        }
    }
}
