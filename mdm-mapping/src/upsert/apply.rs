//! [`apply`]: carries a [`Plan`] out through a [`Store`], as one
//! [`WriteBatch`].

use std::fmt;

use super::plan::{ActionKind, ChangeValue, Changes, EmployeeActionKind, Plan, SourceRef};
use crate::store::{
    AssetWrite, Expect, FieldValue, FieldWrite, NAME_CLAIM, Store, StoreError, WriteBatch,
    WriteResults,
};

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
    /// Employees another writer created first (email): the devices were
    /// assigned to that employee instead.
    pub employees_existing: Vec<String>,
    /// Employees not created because another employee holds their name
    /// (first and last, any case): one another writer created after the
    /// plan read the inventory. `(email, holder)`; the devices get no
    /// assignee. A sync run after the other would have reported the email
    /// as a likely duplicate, and the next sync does.
    pub employees_name_taken: Vec<(String, String)>,
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
    /// Writes that lost a race with another writer ([`StoreError::is_race`])
    /// and were planned again ([`apply_staged`](super::apply_staged)); a
    /// plain [`apply`] reports them in `failures`.
    pub retried: usize,
    /// Rounds of planning again that this took.
    pub retry_rounds: usize,
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

pub(super) fn sources_text(s: &[SourceRef]) -> String {
    s.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What each asset write of a batch stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// `plan.actions[i]`.
    Action(usize),
    /// `plan.lifecycle[i]`.
    Lifecycle(usize),
}

/// A plan as one batch of writes, with what each asset write stands for and
/// the email of each employee.
pub(super) struct Planned {
    pub(super) batch: WriteBatch,
    pub(super) origins: Vec<Origin>,
    pub(super) emails: Vec<String>,
}

fn field_value(v: &ChangeValue) -> FieldValue {
    match v {
        ChangeValue::Value(v) => FieldValue::Value(v.clone()),
        ChangeValue::Secret(s) => FieldValue::Secret(s.clone()),
        ChangeValue::NewEmployee(email) => FieldValue::EmployeeWithEmail(email.clone()),
    }
}

fn writes_of(changes: &Changes) -> Vec<FieldWrite> {
    changes
        .iter()
        .map(|(field, change)| FieldWrite {
            field: field.to_string(),
            value: change.to.as_ref().map(field_value),
        })
        .collect()
}

fn expectations(changes: &Changes) -> Vec<Expect> {
    changes
        .iter()
        .map(|(field, change)| Expect {
            field: field.to_string(),
            value: change.from.as_ref().map(field_value),
        })
        .collect()
}

/// The writes of a plan: employees, then asset creates and updates (each
/// update expecting what the plan read), then lifecycle status changes.
pub(super) fn batch_of(plan: &Plan) -> Planned {
    let mut p = Planned {
        batch: WriteBatch::default(),
        origins: Vec::new(),
        emails: Vec::new(),
    };
    for e in &plan.employees {
        if e.action != EmployeeActionKind::Create {
            continue;
        }
        let Some(new) = &e.employee else { continue };
        p.batch.employees.push(new.clone());
        p.emails.push(e.email.clone());
    }
    for (i, a) in plan.actions.iter().enumerate() {
        let write = match (a.action, &a.target_id) {
            (ActionKind::Create, _) => AssetWrite::Create {
                fields: writes_of(&a.changes),
            },
            (ActionKind::Update, Some(id)) if !a.changes.is_empty() => AssetWrite::Update {
                id: id.to_string(),
                changes: writes_of(&a.changes),
                expect: expectations(&a.changes),
            },
            _ => continue,
        };
        p.batch.assets.push(write);
        p.origins.push(Origin::Action(i));
    }
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (i, e) in plan.lifecycle.iter().enumerate() {
        let (Some(id), Some(change)) = (&e.target_id, &e.status) else {
            continue;
        };
        let Some(ChangeValue::Value(v)) = &change.to else {
            continue;
        };
        let status = v.to_string();
        if seen
            .iter()
            .any(|(s_id, s)| *s_id == id.as_str() && *s == status)
        {
            continue;
        }
        seen.push((id.as_str(), status));
        p.batch.assets.push(AssetWrite::Update {
            id: id.clone(),
            changes: vec![FieldWrite::set("status", v.clone())],
            expect: vec![Expect {
                field: "status".into(),
                value: change.from.as_ref().map(field_value),
            }],
        });
        p.origins.push(Origin::Lifecycle(i));
    }
    p
}

/// Folds a batch's results into `report`. Writes that lost a race
/// ([`StoreError::is_race`]) are returned (with their error) instead of
/// reported when `keep_races` is set; otherwise they are failures.
pub(super) fn absorb_results(
    plan: &Plan,
    planned: &Planned,
    results: WriteResults,
    report: &mut ApplyReport,
    keep_races: bool,
) -> Vec<(Origin, StoreError)> {
    let mut races = Vec::new();
    for (email, r) in planned.emails.iter().zip(results.employees) {
        match r {
            Ok(id) => {
                report.writes += 1;
                report.employees_created.push((email.clone(), id));
            }
            // Another writer created this employee first: the store gives
            // the devices to that one.
            Err(StoreError::Claimed { field, holder, .. }) if field == NAME_CLAIM => {
                report.employees_name_taken.push((email.clone(), holder));
            }
            Err(StoreError::Claimed { .. }) => report.employees_existing.push(email.clone()),
            Err(error) => report.failures.push(ApplyFailure {
                what: format!("create employee {email}"),
                error,
            }),
        }
    }
    for ((origin, write), r) in planned
        .origins
        .iter()
        .zip(&planned.batch.assets)
        .zip(results.assets)
    {
        let what = || match (origin, write) {
            (Origin::Action(i), AssetWrite::Create { .. }) => {
                format!(
                    "create asset from {}",
                    sources_text(&plan.actions[*i].sources)
                )
            }
            (Origin::Action(i), w) => format!(
                "update {} from {}",
                w.describe(),
                sources_text(&plan.actions[*i].sources)
            ),
            (Origin::Lifecycle(_), w) => format!("set status of {}", w.describe()),
        };
        match r {
            Ok(id) => {
                report.writes += 1;
                match (origin, write) {
                    (Origin::Action(i), AssetWrite::Create { .. }) => {
                        report.created.push(Created {
                            sources: plan.actions[*i].sources.to_vec(),
                            id,
                        })
                    }
                    (Origin::Action(_), _) => report.updated.push(id),
                    (Origin::Lifecycle(_), AssetWrite::Update { changes, .. }) => {
                        let status = changes
                            .first()
                            .and_then(|c| c.value.as_ref())
                            .map(|v| v.expose().to_string())
                            .unwrap_or_default();
                        report.status_changed.push((id, status));
                    }
                    (Origin::Lifecycle(_), _) => {}
                }
            }
            Err(error) if keep_races && error.is_race() => races.push((*origin, error)),
            Err(error) => report.failures.push(ApplyFailure {
                what: what(),
                error,
            }),
        }
    }
    races
}

/// Writes a plan as one [`WriteBatch`]: employees first, then asset
/// creates and updates, then lifecycle status changes. Conflicts, skips
/// and unchanged actions write nothing.
///
/// Each update is conditional on the values the plan read, and the store
/// keeps every identifier value to one asset ([`Store`]'s contract): a write
/// that lost a race with another writer fails with
/// [`StoreError::Claimed`] or [`StoreError::Stale`] and is put in the
/// report's failures. [`apply_staged`](super::apply_staged) plans such records again
/// instead.
///
/// A store error about one record ([`StoreError::is_fatal`] false) is put in
/// the report and the run goes on; a fatal one stops the run with an
/// [`ApplyError`] carrying the report so far.
///
/// A new asset whose user is an employee created by this plan gets that
/// employee's new id (resolved by the store, so an employee another writer
/// created a moment before is used); if there is no such employee, the
/// asset is created without `assignee_id`.
pub async fn apply<S: Store + ?Sized>(plan: &Plan, store: &S) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport::default();
    write_plan(plan, store, &mut report, false)
        .await
        .map(|_| report)
        .map_err(|(what, error, report)| ApplyError {
            what,
            error,
            report,
        })
}

/// [`apply`] into `report`, returning the writes that lost a race when
/// `keep_races` is set.
pub(super) async fn write_plan<S: Store + ?Sized>(
    plan: &Plan,
    store: &S,
    report: &mut ApplyReport,
    keep_races: bool,
) -> Result<Vec<(Origin, StoreError)>, (String, StoreError, Box<ApplyReport>)> {
    let planned = batch_of(plan);
    if planned.batch.is_empty() {
        return Ok(Vec::new());
    }
    match store.write(&plan.identifier_rules, &planned.batch).await {
        Ok(results) => Ok(absorb_results(plan, &planned, results, report, keep_races)),
        Err(error) => Err((
            format!("writing a batch of {} records", planned.batch.len()),
            error,
            Box::new(std::mem::take(report)),
        )),
    }
}
