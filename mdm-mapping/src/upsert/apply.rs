//! [`apply`]: carries a [`Plan`] out through a [`Store`].

use std::collections::HashMap;
use std::fmt;

use super::plan::{ActionKind, ChangeValue, EmployeeActionKind, Plan, SourceRef};
use crate::store::{FieldValue, FieldWrite, Store, StoreError};

/// An asset created by [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The records it was created from.
    pub sources: Vec<SourceRef>,
    /// The id the store gave it.
    pub id: String,
}

/// A write that failed for one record; the others went on.
#[derive(Debug)]
pub struct ApplyFailure {
    /// What was being written (`create asset from jamf 42`, `update asset a7`, …).
    pub what: String,
    /// The store's error.
    pub error: StoreError,
}

impl fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.error)
    }
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Employees created: (email, new id).
    pub employees_created: Vec<(String, String)>,
    /// Assets created.
    pub created: Vec<Created>,
    /// Assets updated (ids).
    pub updated: Vec<String>,
    /// Status changes made: (asset id, new status).
    pub status_changed: Vec<(String, String)>,
    /// Per-record failures (the run went on).
    pub failures: Vec<ApplyFailure>,
    /// Number of successful writes.
    pub writes: usize,
}

/// The store failed as a whole; the report says what was done before.
///
/// Run `plan` on a fresh snapshot and `apply` again: created assets carry
/// their identifiers, so the rerun finds them and converges without duplicates.
#[derive(Debug, thiserror::Error)]
#[error("apply stopped after {} writes while {what}: {error}", report.writes)]
pub struct ApplyError {
    /// What was being written.
    pub what: String,
    /// The store's error.
    #[source]
    pub error: StoreError,
    /// What was done before the failure.
    pub report: Box<ApplyReport>,
}

fn sources_text(s: &[SourceRef]) -> String {
    s.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes a plan: employees first, then asset creates and updates, then
/// lifecycle status changes. Conflicts, skips and unchanged actions write
/// nothing.
///
/// A store error about one record ([`StoreError::is_fatal`] false) is put in
/// the report and the run goes on; a fatal one stops the run with an
/// [`ApplyError`] carrying the report so far.
///
/// A new asset whose user is an employee created by this plan gets that
/// employee's new id; if creating the employee failed, the asset is created
/// without `assignee_id` and the failure is reported.
pub async fn apply<S: Store + ?Sized>(plan: &Plan, store: &S) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport::default();
    let mut new_employees: HashMap<&str, String> = HashMap::new();

    macro_rules! attempt {
        ($what:expr, $call:expr) => {
            match $call.await {
                Ok(v) => {
                    report.writes += 1;
                    Some(v)
                }
                Err(error) if error.is_fatal() => {
                    return Err(ApplyError {
                        what: $what,
                        error,
                        report: Box::new(report),
                    });
                }
                Err(error) => {
                    report.failures.push(ApplyFailure { what: $what, error });
                    None
                }
            }
        };
    }

    for e in &plan.employees {
        if e.action != EmployeeActionKind::Create {
            continue;
        }
        let Some(new) = &e.employee else { continue };
        if let Some(id) = attempt!(
            format!("create employee {}", e.email),
            store.create_employee(new)
        ) {
            report.employees_created.push((e.email.clone(), id.clone()));
            new_employees.insert(e.email.as_str(), id);
        }
    }

    for a in &plan.actions {
        let writes: Vec<FieldWrite> = match a.action {
            ActionKind::Create | ActionKind::Update => a
                .changes
                .iter()
                .filter_map(|(field, change)| {
                    let value = match &change.to {
                        None => None,
                        Some(ChangeValue::Value(v)) => Some(FieldValue::Value(v.clone())),
                        Some(ChangeValue::Secret(s)) => Some(FieldValue::Secret(s.clone())),
                        Some(ChangeValue::NewEmployee(email)) => {
                            // Not created: leave the field out.
                            let id = new_employees.get(email.as_str())?;
                            Some(FieldValue::Value(id.clone().into()))
                        }
                    };
                    Some(FieldWrite {
                        field: field.to_string(),
                        value,
                    })
                })
                .collect(),
            _ => continue,
        };
        match (a.action, &a.target_id) {
            (ActionKind::Create, _) => {
                let what = format!("create asset from {}", sources_text(&a.sources));
                if let Some(id) = attempt!(what, store.create_asset(&writes)) {
                    report.created.push(Created {
                        sources: a.sources.to_vec(),
                        id,
                    });
                }
            }
            (ActionKind::Update, Some(id)) => {
                if writes.is_empty() {
                    continue;
                }
                let what = format!("update asset {id} from {}", sources_text(&a.sources));
                if attempt!(what, store.update_asset(id, &writes)).is_some() {
                    report.updated.push(id.to_string());
                }
            }
            _ => {}
        }
    }

    for e in &plan.lifecycle {
        let (Some(id), Some(change)) = (&e.target_id, &e.status) else {
            continue;
        };
        let Some(ChangeValue::Value(v)) = &change.to else {
            continue;
        };
        let status = v.to_string();
        if report
            .status_changed
            .iter()
            .any(|(i, s)| i == id && *s == status)
        {
            continue;
        }
        let what = format!("set status of asset {id} to {status}");
        if attempt!(what, store.set_asset_status(id, &status)).is_some() {
            report.status_changed.push((id.clone(), status));
        }
    }
    Ok(report)
}
