//! [`MemoryStore`]: the in-memory [`Store`], under the same contract as the
//! SQL stores, with failure injection for tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{
    Asset, AssetWrite, Claim, Employee, FieldWrite, Holding, IdentifierRules, Inventory,
    NewEmployee, REVISION_FIELD, Revision, RunGuard, RunRecord, SourceState, Store, StoreError,
    WriteBatch, WriteResults, check_expectations, describe_employee, resolve_employees,
};
use crate::record::{Fields, Value};

/// When an injected failure strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// The failing batch is not written (a transaction rolled back).
    BeforeWrite,
    /// The failing batch is written but its answer is lost (the caller sees
    /// an error): the case that makes naive retries create duplicates.
    AfterWrite,
}

/// The inventory and its claim indexes: what one transaction changes.
#[derive(Debug, Clone, Default)]
struct Data {
    inventory: Inventory,
    /// Asset id → position in `inventory.assets`.
    at: HashMap<String, usize>,
    /// Claim → the asset holding it, under the rules `rules` names.
    claims: HashMap<Claim, String>,
    /// The fingerprint of the rules `claims` was built with.
    rules: Option<String>,
    /// Email → the employee holding it.
    emails: HashMap<String, String>,
    next_asset: u64,
    next_employee: u64,
}

#[derive(Debug, Default)]
struct MemoryState {
    data: Data,
    writes: usize,
    fail_after: Option<(usize, FailMode)>,
    reject: Vec<(String, Value)>,
    /// Claims found held twice when the indexes were built.
    duplicates: Vec<Holding>,
    /// The run history, oldest first.
    runs: Vec<RunRecord>,
    /// Where each source's syncs stand.
    sources: HashMap<String, SourceState>,
}

/// An in-memory [`Store`] for tests and examples, under the full
/// [`Store`] contract: claims are unique, updates conditional, and each
/// [`WriteBatch`] one transaction (a lock held across check and write).
///
/// Ids are `a1`, `a2`, … and `e1`, `e2`, … (skipping ids already used).
/// [`fail_after`](MemoryStore::fail_after) makes every write after the k-th
/// fail, to test interrupted runs; [`reject_when`](MemoryStore::reject_when)
/// makes writes that set a field to a value fail for that record only.
///
/// An inventory given to [`new`](MemoryStore::new) that already holds
/// duplicates is kept as it is: the first asset (in order) holding a value
/// keeps its claim, and [`duplicates`](MemoryStore::duplicates) lists the
/// others.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    /// The run lock: set while a [`RunGuard`] of this store lives.
    running: Arc<AtomicBool>,
}

/// Clears [`MemoryStore::running`] when the run ends.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl MemoryStore {
    /// A store holding `inventory`.
    pub fn new(inventory: Inventory) -> Self {
        let mut data = Data {
            inventory,
            ..Data::default()
        };
        for a in &mut data.inventory.assets {
            a.revision = Some(Revision::default());
        }
        data.reindex_positions();
        let mut duplicates = Vec::new();
        for e in &data.inventory.employees {
            for c in IdentifierRules::email_claims(&e.emails) {
                if let Some(holder) = data.emails.get(&c.value) {
                    duplicates.push(Holding {
                        claim: c,
                        holder: holder.clone(),
                    });
                } else {
                    data.emails.insert(c.value, e.id.clone());
                }
            }
        }
        MemoryStore {
            state: Mutex::new(MemoryState {
                data,
                duplicates,
                ..MemoryState::default()
            }),
            running: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A batch is applied to a copy and swapped in whole, so a panic while
        // holding the lock cannot leave the inventory half written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the inventory as it is now.
    pub fn snapshot(&self) -> Inventory {
        self.lock().data.inventory.clone()
    }

    /// Writes done so far (successful or lost-answer), one per record.
    pub fn writes(&self) -> usize {
        self.lock().writes
    }

    /// Claims held by a second record when the store was built or its
    /// claims were last rebuilt (an inventory that already held
    /// duplicates): the claim and the record that could not have it.
    pub fn duplicates(&self) -> Vec<Holding> {
        self.lock().duplicates.clone()
    }

    /// Lets `k` more writes succeed, then fails every later one in `mode`.
    pub fn fail_after(&self, k: usize, mode: FailMode) {
        let mut s = self.lock();
        let at = s.writes + k;
        s.fail_after = Some((at, mode));
    }

    /// Removes the injected failure.
    pub fn heal(&self) {
        self.lock().fail_after = None;
    }

    /// Rejects (non-fatally) any create or update that sets `field` to `value`.
    pub fn reject_when(&self, field: &str, value: impl Into<Value>) {
        self.lock().reject.push((field.to_string(), value.into()));
    }

    fn rejected(
        reject: &[(String, Value)],
        writes: &[FieldWrite],
        record: &str,
    ) -> Option<StoreError> {
        writes.iter().find_map(|w| {
            let v = w.value.as_ref()?.expose();
            reject
                .iter()
                .any(|(f, rv)| *f == w.field && *rv == v)
                .then(|| StoreError::Rejected {
                    record: record.to_string(),
                    reason: format!("{} may not be {}", w.field, v),
                })
        })
    }
}

fn apply_writes(fields: &mut Fields, writes: &[FieldWrite]) {
    for w in writes {
        fields.remove(&w.field);
        if let Some(v) = &w.value {
            fields.set(&w.field, Some(v.expose()));
        }
    }
}

impl Data {
    fn reindex_positions(&mut self) {
        self.at = self
            .inventory
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
    }

    /// Builds the claim index for `rules` if it was built for others;
    /// returns the claims found held twice.
    fn ensure_rules(&mut self, rules: &IdentifierRules) -> Option<Vec<Holding>> {
        let fp = rules.fingerprint();
        if self.rules.as_deref() == Some(fp.as_str()) {
            return None;
        }
        let mut duplicates = Vec::new();
        self.claims.clear();
        for a in &self.inventory.assets {
            for c in rules.claims(&a.fields) {
                match self.claims.entry(c) {
                    std::collections::hash_map::Entry::Occupied(e) => duplicates.push(Holding {
                        claim: e.key().clone(),
                        holder: a.id.clone(),
                    }),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(a.id.clone());
                    }
                }
            }
        }
        self.rules = Some(fp);
        Some(duplicates)
    }

    /// The first claim in `claims` held by an asset other than `me`.
    fn taken<'a>(
        &'a self,
        claims: &'a [Claim],
        me: Option<&str>,
    ) -> Option<(&'a Claim, &'a String)> {
        claims.iter().find_map(|c| {
            let holder = self.claims.get(c)?;
            (Some(holder.as_str()) != me).then_some((c, holder))
        })
    }

    fn create_employee(&mut self, e: &NewEmployee) -> Result<String, StoreError> {
        let claims = IdentifierRules::email_claims(&e.emails);
        if let Some((c, holder)) = claims
            .iter()
            .find_map(|c| self.emails.get(&c.value).map(|h| (c, h)))
        {
            return Err(StoreError::Claimed {
                record: describe_employee(e),
                field: c.field.clone(),
                value: c.value.clone(),
                holder: format!("employee {holder}"),
            });
        }
        // A name another employee holds (the same rule, all employees: the
        // store's lock makes the check and the create one step).
        if let Some(name) = IdentifierRules::name_claim(&e.first_name, &e.last_name)
            && let Some(holder) = self.inventory.employees.iter().find(|x| {
                IdentifierRules::name_claim(&x.first_name, &x.last_name).as_ref() == Some(&name)
            })
        {
            return Err(StoreError::Claimed {
                record: describe_employee(e),
                field: name.field,
                value: name.value,
                holder: format!("employee {}", holder.id),
            });
        }
        let id = loop {
            self.next_employee += 1;
            let id = format!("e{}", self.next_employee);
            if self.inventory.employee(&id).is_none() {
                break id;
            }
        };
        for c in claims {
            self.emails.insert(c.value, id.clone());
        }
        self.inventory.employees.push(Employee {
            id: id.clone(),
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            emails: e.emails.clone(),
        });
        Ok(id)
    }

    fn write_asset(
        &mut self,
        rules: &IdentifierRules,
        w: &AssetWrite,
        reject: &[(String, Value)],
    ) -> Result<String, StoreError> {
        let record = w.describe();
        match w {
            AssetWrite::Create { fields } => {
                let writes = resolve_employees(fields, |e| self.emails.get(e).cloned());
                if let Some(e) = MemoryStore::rejected(reject, &writes, &record) {
                    return Err(e);
                }
                let mut f = Fields::new();
                apply_writes(&mut f, &writes);
                let claims = rules.claims(&f);
                if let Some((c, holder)) = self.taken(&claims, None) {
                    return Err(claimed(record, c, holder));
                }
                let id = loop {
                    self.next_asset += 1;
                    let id = format!("a{}", self.next_asset);
                    if !self.at.contains_key(&id) {
                        break id;
                    }
                };
                for c in claims {
                    self.claims.insert(c, id.clone());
                }
                self.at.insert(id.clone(), self.inventory.assets.len());
                let mut asset = Asset::new(id.clone(), f);
                asset.revision = Some(Revision::default());
                self.inventory.assets.push(asset);
                Ok(id)
            }
            AssetWrite::Update {
                id,
                changes,
                expect,
            } => {
                let Some(&i) = self.at.get(id) else {
                    return Err(StoreError::AssetNotFound { id: id.clone() });
                };
                let writes = resolve_employees(changes, |e| self.emails.get(e).cloned());
                if let Some(e) = MemoryStore::rejected(reject, &writes, &record) {
                    return Err(e);
                }
                let current = &self.inventory.assets[i].fields;
                check_expectations(&record, current, expect)?;
                let old = rules.claims(current);
                let mut f = current.clone();
                apply_writes(&mut f, &writes);
                let new = rules.claims(&f);
                if let Some((c, holder)) = self.taken(&new, Some(id)) {
                    return Err(claimed(record, c, holder));
                }
                for c in old {
                    self.claims.remove(&c);
                }
                for c in new {
                    self.claims.insert(c, id.clone());
                }
                let asset = &mut self.inventory.assets[i];
                asset.fields = f;
                let r = asset.revision.get_or_insert_default();
                r.rev += 1;
                r.mark = None;
                Ok(id.clone())
            }
            AssetWrite::Seal { id, rev, mark } => {
                let Some(&i) = self.at.get(id) else {
                    return Err(StoreError::AssetNotFound { id: id.clone() });
                };
                let r = self.inventory.assets[i].revision.get_or_insert_default();
                if r.rev != *rev {
                    return Err(StoreError::Stale {
                        record,
                        field: REVISION_FIELD.to_owned(),
                    });
                }
                r.mark = Some(*mark);
                Ok(id.clone())
            }
            AssetWrite::Delete { id, expect } => {
                let Some(&i) = self.at.get(id) else {
                    return Err(StoreError::AssetNotFound { id: id.clone() });
                };
                let current = &self.inventory.assets[i].fields;
                check_expectations(&record, current, expect)?;
                for c in rules.claims(current) {
                    if self.claims.get(&c) == Some(id) {
                        self.claims.remove(&c);
                    }
                }
                self.inventory.assets.remove(i);
                self.reindex_positions();
                Ok(id.clone())
            }
        }
    }
}

fn claimed(record: String, c: &Claim, holder: &str) -> StoreError {
    StoreError::Claimed {
        record,
        field: c.field.clone(),
        value: c.value.clone(),
        holder: format!("asset {holder}"),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn record_run(&self, run: &RunRecord) -> Result<i64, StoreError> {
        let mut state = self.lock();
        let id = state.runs.last().map_or(1, |r| r.id + 1);
        state.runs.push(RunRecord { id, ..run.clone() });
        Ok(id)
    }

    async fn runs(&self, last: usize) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.lock().runs.iter().rev().take(last).cloned().collect())
    }

    async fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        Ok(self.lock().sources.get(source).cloned())
    }

    async fn set_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        self.lock().sources.insert(source.to_owned(), state.clone());
        Ok(())
    }

    async fn lock_runs(&self) -> Result<Option<RunGuard>, StoreError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Ok(None);
        }
        Ok(Some(RunGuard::new(Running(Arc::clone(&self.running)))))
    }

    async fn load(&self) -> Result<Inventory, StoreError> {
        Ok(self.snapshot())
    }

    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let s = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| {
                let i = *s.data.at.get(*id)?;
                s.data.inventory.assets.get(i).cloned()
            })
            .collect())
    }

    async fn holders(
        &self,
        rules: &IdentifierRules,
        claims: &[Claim],
    ) -> Result<Vec<Holding>, StoreError> {
        let mut s = self.lock();
        if let Some(d) = s.data.ensure_rules(rules) {
            s.duplicates = d;
        }
        Ok(claims
            .iter()
            .filter_map(|c| {
                let holder = if c.field == super::EMAIL_CLAIM {
                    s.data.emails.get(&c.value)
                } else {
                    s.data.claims.get(c)
                }?;
                Some(Holding {
                    claim: c.clone(),
                    holder: holder.clone(),
                })
            })
            .collect())
    }

    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError> {
        let mut s = self.lock();
        let s = &mut *s;
        // The transaction: a copy of the data, swapped in when done.
        let mut tx = s.data.clone();
        let rebuilt = tx.ensure_rules(rules);
        let mut results = WriteResults::default();
        let mut injected = None;
        let mut count =
            |s_writes: &mut usize, operation: &'static str, record: &dyn Fn() -> String| {
                if injected.is_none()
                    && let Some((at, _)) = s.fail_after
                    && *s_writes >= at
                {
                    injected = Some(StoreError::Injected {
                        write: *s_writes + 1,
                        operation,
                        record: record(),
                    });
                }
                *s_writes += 1;
            };
        let mut writes = s.writes;
        for e in &batch.employees {
            count(&mut writes, "create_employee", &|| describe_employee(e));
            results.employees.push(tx.create_employee(e));
        }
        for w in &batch.assets {
            let operation = match w {
                AssetWrite::Create { .. } => "create_asset",
                AssetWrite::Update { .. } => "update_asset",
                AssetWrite::Delete { .. } => "delete_asset",
                AssetWrite::Seal { .. } => "seal_asset",
            };
            count(&mut writes, operation, &|| w.describe());
            results.assets.push(tx.write_asset(rules, w, &s.reject));
        }
        if let Some(error) = injected {
            let mode = s.fail_after.map(|(_, m)| m);
            if mode == Some(FailMode::AfterWrite) {
                s.writes = writes;
                s.data = tx;
            }
            return Err(error);
        }
        if batch.atomic && !results.all_ok() {
            return Ok(results.abort(batch));
        }
        s.writes = writes;
        if let Some(d) = rebuilt {
            s.duplicates = d;
        }
        s.data = tx;
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Expect, FieldValue};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn keeps_the_store_contract() {
        block_on(crate::store::contract::check(&MemoryStore::default())).unwrap();
        block_on(crate::store::contract::check_history(
            &MemoryStore::default(),
        ))
        .unwrap();
    }

    #[test]
    fn failure_injection_modes() {
        block_on(async {
            let s = MemoryStore::default();
            s.fail_after(1, FailMode::BeforeWrite);
            s.create_asset(&[FieldWrite::set("serial_number", "A1")])
                .await
                .unwrap();
            let e = s
                .create_asset(&[FieldWrite::set("serial_number", "B1")])
                .await
                .unwrap_err();
            assert!(e.is_fatal());
            assert!(e.to_string().contains("serial_number B1"), "{e}");
            assert_eq!(s.snapshot().assets.len(), 1);
            s.heal();
            s.fail_after(0, FailMode::AfterWrite);
            assert!(
                s.create_asset(&[FieldWrite::set("serial_number", "C1")])
                    .await
                    .is_err()
            );
            assert_eq!(s.snapshot().assets.len(), 2, "the write landed");
            s.heal();
            s.reject_when("serial_number", "BAD");
            let e = s
                .create_asset(&[FieldWrite::set("serial_number", "BAD")])
                .await
                .unwrap_err();
            assert!(!e.is_fatal());
            let e = s.update_asset("zz", &[]).await.unwrap_err();
            assert!(matches!(e, StoreError::AssetNotFound { .. }));
        });
    }

    #[test]
    fn a_claim_belongs_to_one_asset_whatever_its_spelling() {
        block_on(async {
            let s = MemoryStore::default();
            let a = s
                .create_asset(&[FieldWrite::set("serial_number", "C02XK1ABJG5H")])
                .await
                .unwrap();
            let e = s
                .create_asset(&[FieldWrite::set("serial_number", " c02xk1abjg5h ")])
                .await
                .unwrap_err();
            match &e {
                StoreError::Claimed {
                    field,
                    value,
                    holder,
                    ..
                } => {
                    assert_eq!(field, "serial_number");
                    assert_eq!(value, "C02XK1ABJG5H");
                    assert_eq!(holder, &format!("asset {a}"));
                }
                other => panic!("{other:?}"),
            }
            assert!(e.is_race() && !e.is_fatal());
            // Placeholders are no claim: two assets may say "Not Available".
            for _ in 0..2 {
                s.create_asset(&[FieldWrite::set("udid", "Not Available")])
                    .await
                    .unwrap();
            }
            // An update may not take another asset's value either.
            let b = s
                .create_asset(&[FieldWrite::set("serial_number", "F9FXK2ABQ1GC")])
                .await
                .unwrap();
            let e = s
                .update_asset(&b, &[FieldWrite::set("serial_number", "C02XK1ABJG5H")])
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::Claimed { .. }), "{e}");
            // Releasing a value frees it.
            s.update_asset(&a, &[FieldWrite::clear("serial_number")])
                .await
                .unwrap();
            s.update_asset(&b, &[FieldWrite::set("serial_number", "C02XK1ABJG5H")])
                .await
                .unwrap();
            // Jamf ids are numbered per kind of device.
            let rules = IdentifierRules::default();
            let batch = WriteBatch {
                assets: ["laptop", "phone"]
                    .into_iter()
                    .map(|t| AssetWrite::Create {
                        fields: vec![
                            FieldWrite::set("jamf_id", "42"),
                            FieldWrite::set("asset_type", t),
                        ],
                    })
                    .collect(),
                ..WriteBatch::default()
            };
            let r = s.write(&rules, &batch).await.unwrap();
            assert!(r.all_ok(), "{r:?}");
        });
    }

    #[test]
    fn updates_are_conditional_on_what_was_read() {
        block_on(async {
            let s = MemoryStore::default();
            let id = s
                .create_asset(&[
                    FieldWrite::set("serial_number", "C02XK1ABJG5H"),
                    FieldWrite::set("os_version", "14.1"),
                    FieldWrite::set("location", "Lab 3"),
                ])
                .await
                .unwrap();
            let rules = IdentifierRules::default();
            let update = |field: &str, from: Option<&str>, to: &str| WriteBatch {
                assets: vec![AssetWrite::Update {
                    id: id.clone(),
                    changes: vec![FieldWrite::set(field, to)],
                    expect: vec![Expect {
                        field: field.into(),
                        value: from.map(|v| FieldValue::Value(v.into())),
                    }],
                }],
                ..WriteBatch::default()
            };
            // Another writer moved the asset; our update of another field lands.
            s.update_asset(&id, &[FieldWrite::set("location", "Lab 4")])
                .await
                .unwrap();
            let r = s
                .write(&rules, &update("os_version", Some("14.1"), "15.0"))
                .await
                .unwrap();
            assert!(r.all_ok());
            // The same field changed under us: stale, nothing written.
            let r = s
                .write(&rules, &update("os_version", Some("14.1"), "15.1"))
                .await
                .unwrap();
            assert!(
                matches!(&r.assets[0], Err(StoreError::Stale { field, .. }) if field == "os_version"),
                "{r:?}"
            );
            let a = s.snapshot().assets[0].clone();
            assert_eq!(a.fields.get_str("location"), Some("Lab 4"));
            assert_eq!(a.fields.get_str("os_version"), Some("15.0"));
        });
    }

    #[test]
    fn employees_are_unique_by_email_and_resolved_inside_the_batch() {
        block_on(async {
            let s = MemoryStore::default();
            let rules = IdentifierRules::default();
            let ana = NewEmployee {
                first_name: "Ana".into(),
                last_name: "Díaz".into(),
                emails: vec!["ana@example.com".into()],
            };
            let batch = WriteBatch {
                employees: vec![ana.clone(), ana.clone()],
                assets: vec![AssetWrite::Create {
                    fields: vec![
                        FieldWrite::set("serial_number", "C02XK1ABJG5H"),
                        FieldWrite {
                            field: "assignee_id".into(),
                            value: Some(FieldValue::EmployeeWithEmail("ana@example.com".into())),
                        },
                    ],
                }],
                atomic: false,
            };
            let r = s.write(&rules, &batch).await.unwrap();
            let first = r.employees[0].as_ref().unwrap().clone();
            assert!(
                matches!(&r.employees[1], Err(StoreError::Claimed { holder, .. }) if *holder == format!("employee {first}"))
            );
            let inv = s.snapshot();
            assert_eq!(inv.employees.len(), 1);
            assert_eq!(
                inv.assets[0].fields.get_str("assignee_id"),
                Some(first.as_str())
            );
        });
    }

    #[test]
    fn an_atomic_batch_is_all_or_nothing() {
        block_on(async {
            let s = MemoryStore::default();
            let rules = IdentifierRules::default();
            let batch = WriteBatch {
                assets: vec![
                    AssetWrite::Create {
                        fields: vec![FieldWrite::set("serial_number", "C02XK1ABJG5H")],
                    },
                    AssetWrite::Update {
                        id: "missing".into(),
                        changes: vec![],
                        expect: vec![],
                    },
                ],
                atomic: true,
                ..WriteBatch::default()
            };
            let r = s.write(&rules, &batch).await.unwrap();
            assert!(matches!(r.assets[0], Err(StoreError::Aborted { .. })));
            assert!(matches!(r.assets[1], Err(StoreError::AssetNotFound { .. })));
            assert!(s.snapshot().assets.is_empty());
        });
    }

    #[test]
    fn an_inventory_with_duplicates_is_kept_and_reported() {
        block_on(async {
            let inv = Inventory::from_json(
                r#"{"assets":[{"id":"a1","fields":{"serial_number":"C02XK1ABJG5H"}},
                              {"id":"a2","fields":{"serial_number":"c02xk1abjg5h"}}]}"#,
            )
            .unwrap();
            let s = MemoryStore::new(inv);
            let h = s
                .holders(
                    &IdentifierRules::default(),
                    &[Claim::new("serial_number", "C02XK1ABJG5H")],
                )
                .await
                .unwrap();
            assert_eq!(h[0].holder, "a1");
            assert_eq!(s.duplicates().len(), 1);
            assert_eq!(s.duplicates()[0].holder, "a2");
            assert_eq!(s.snapshot().assets.len(), 2);
        });
    }
}
