//! [`check`]: runs a [`Store`] through its contract, for the stores this
//! crate ships and for yours.
//!
//! ```
//! use mdm_mapping::store::{contract, MemoryStore};
//!
//! # futures::executor::block_on(async {
//! contract::check(&MemoryStore::default()).await.unwrap();
//! # });
//! ```

use super::{
    AssetWrite, Claim, Expect, FieldValue, FieldWrite, IdentifierRules, NAME_CLAIM, NewEmployee,
    Store, StoreError, WriteBatch,
};

/// A store that broke its contract: which rule, and what happened.
#[derive(Debug, thiserror::Error)]
#[error("store contract: {rule}: {what}")]
pub struct Violation {
    /// The rule broken.
    pub rule: &'static str,
    /// What the store did.
    pub what: String,
}

fn fail<T>(rule: &'static str, what: impl Into<String>) -> Result<T, Violation> {
    Err(Violation {
        rule,
        what: what.into(),
    })
}

fn ok<T>(rule: &'static str, r: Result<T, StoreError>) -> Result<T, Violation> {
    r.or_else(|e| fail(rule, format!("unexpected error: {e}")))
}

fn create(fields: &[(&str, &str)]) -> AssetWrite {
    AssetWrite::Create {
        fields: fields
            .iter()
            .map(|(f, v)| FieldWrite::set(*f, *v))
            .collect(),
    }
}

fn batch(assets: Vec<AssetWrite>) -> WriteBatch {
    WriteBatch {
        assets,
        ..WriteBatch::default()
    }
}

/// Runs `store`, which must be empty, through the [`Store`] contract:
/// unique claims whatever their spelling (creates, updates, within one
/// batch, per kind of device for Jamf ids), released on clear and delete;
/// conditional updates; unique emails, names refused on create, and employees resolved inside a
/// batch; all-or-nothing atomic batches; claims rebuilt when the rules
/// change; `holders`; and, for a store that keeps asset revisions
/// ([`Revision`](super::Revision)), seals that hold only at the revision
/// they name and marks cleared by any write.
pub async fn check<S: Store + ?Sized>(store: &S) -> Result<(), Violation> {
    let rules = IdentifierRules::default();

    // 1. One holder per value, whatever its spelling, also within a batch.
    let rule = "an identifier value belongs to one asset";
    let before = ok(rule, store.load().await)?.assets.len();
    let r = ok(
        rule,
        store
            .write(
                &rules,
                &batch(vec![
                    create(&[("serial_number", "C02CONTRACT1"), ("model", "Mac")]),
                    create(&[("serial_number", " c02contract1 ")]),
                ]),
            )
            .await,
    )?;
    let first = match &r.assets[0] {
        Ok(id) => id.clone(),
        Err(e) => return fail(rule, format!("the first create failed: {e}")),
    };
    match &r.assets[1] {
        Err(StoreError::Claimed {
            field,
            value,
            holder,
            ..
        }) if field == "serial_number"
            && value == "C02CONTRACT1"
            && *holder == format!("asset {first}") => {}
        other => {
            return fail(
                rule,
                format!("a second create of one serial gave {other:?}"),
            );
        }
    }
    let after = ok(rule, store.load().await)?.assets.len();
    if after != before + 1 {
        return fail(
            "a refused create leaves nothing",
            format!(
                "{before} assets before two creates of one serial, {after} after (want one more)"
            ),
        );
    }
    let second = ok(
        rule,
        store
            .create_asset(&[FieldWrite::set("serial_number", "C02CONTRACT2")])
            .await,
    )?;
    match store
        .update_asset(&second, &[FieldWrite::set("serial_number", "C02CONTRACT1")])
        .await
    {
        Err(StoreError::Claimed { .. }) => {}
        other => {
            return fail(
                rule,
                format!("an update taking a held value gave {other:?}"),
            );
        }
    }
    // Placeholders are nobody's.
    for _ in 0..2 {
        ok(
            "placeholders are no claim",
            store
                .create_asset(&[FieldWrite::set("udid", "Not Available")])
                .await,
        )?;
    }
    // Released by a clear.
    let rule = "a cleared value is free";
    ok(
        rule,
        store
            .update_asset(&first, &[FieldWrite::clear("serial_number")])
            .await,
    )?;
    ok(
        rule,
        store
            .update_asset(&second, &[FieldWrite::set("serial_number", "C02CONTRACT1")])
            .await,
    )?;
    // Jamf ids per kind of device.
    let rule = "Jamf ids are numbered per kind of device";
    let r = ok(
        rule,
        store
            .write(
                &rules,
                &batch(vec![
                    create(&[("jamf_id", "4242"), ("asset_type", "laptop")]),
                    create(&[("jamf_id", "4242"), ("asset_type", "phone")]),
                    create(&[("jamf_id", "4242"), ("asset_type", "desktop")]),
                ]),
            )
            .await,
    )?;
    if !(r.assets[0].is_ok()
        && r.assets[1].is_ok()
        && matches!(r.assets[2], Err(StoreError::Claimed { .. })))
    {
        return fail(rule, format!("{:?}", r.assets));
    }
    let holders = ok(
        "holders names who holds a claim",
        store
            .holders(&rules, &[Claim::new("serial_number", "C02CONTRACT1")])
            .await,
    )?;
    if holders.len() != 1 || holders[0].holder != second {
        return fail("holders names who holds a claim", format!("{holders:?}"));
    }

    // 2. Conditional updates.
    let rule = "updates are conditional on what was read";
    let id = ok(
        rule,
        store
            .create_asset(&[
                FieldWrite::set("serial_number", "C02CONTRACT3"),
                FieldWrite::set("os_version", "14.1"),
            ])
            .await,
    )?;
    ok(
        rule,
        store
            .update_asset(&id, &[FieldWrite::set("location", "Lab 4")])
            .await,
    )?;
    let update = |to: &str| {
        batch(vec![AssetWrite::Update {
            id: id.clone(),
            changes: vec![FieldWrite::set("os_version", to)],
            expect: vec![Expect {
                field: "os_version".into(),
                value: Some(FieldValue::Value("14.1".into())),
            }],
        }])
    };
    let r = ok(rule, store.write(&rules, &update("15.0")).await)?;
    if !r.all_ok() {
        return fail(rule, format!("a change to another field blocked: {r:?}"));
    }
    let r = ok(rule, store.write(&rules, &update("15.1")).await)?;
    if !matches!(&r.assets[0], Err(StoreError::Stale { field, .. }) if field == "os_version") {
        return fail(rule, format!("a stale update gave {r:?}"));
    }
    let now = ok(rule, store.load_assets(&[id.as_str()]).await)?;
    let f = now.first().map(|a| a.fields.clone()).unwrap_or_default();
    if f.get_str("os_version") != Some("15.0") || f.get_str("location") != Some("Lab 4") {
        return fail(rule, format!("lost an update: {f:?}"));
    }

    // 3. Employees.
    let rule = "an email belongs to one employee";
    let named = |first: &str, last: &str, email: &str| NewEmployee {
        first_name: first.into(),
        last_name: last.into(),
        emails: vec![email.into()],
    };
    let ana = named("Ana", "Contract", "ana.contract@example.com");
    let r = ok(
        rule,
        store
            .write(
                &rules,
                &WriteBatch {
                    employees: vec![ana.clone(), ana],
                    assets: vec![AssetWrite::Create {
                        fields: vec![
                            FieldWrite::set("serial_number", "C02CONTRACT4"),
                            FieldWrite {
                                field: "assignee_id".into(),
                                value: Some(FieldValue::EmployeeWithEmail(
                                    "ana.contract@example.com".into(),
                                )),
                            },
                        ],
                    }],
                    atomic: false,
                },
            )
            .await,
    )?;
    let (Ok(emp), Err(StoreError::Claimed { .. })) = (&r.employees[0], &r.employees[1]) else {
        return fail(rule, format!("{:?}", r.employees));
    };
    let Ok(asset) = &r.assets[0] else {
        return fail(rule, format!("{:?}", r.assets));
    };
    let got = ok(rule, store.load_assets(&[asset.as_str()]).await)?;
    if got.first().and_then(|a| a.fields.get_str("assignee_id")) != Some(emp.as_str()) {
        return fail(
            "an employee is resolved by email inside the batch",
            format!("{got:?}"),
        );
    }

    // 3b. Names: a create under a name another employee holds (any case or
    // spacing; from an earlier batch or earlier in this one) is refused.
    let rule = "an employee is not created under a name another holds";
    let r = ok(
        rule,
        store
            .write(
                &rules,
                &WriteBatch {
                    employees: vec![
                        named(" ana ", "CONTRACT", "ana.other@example.com"),
                        named("Bo", "Contract", "bo.contract@example.com"),
                        named("BO", "contract ", "bo.two@example.com"),
                    ],
                    assets: vec![],
                    atomic: false,
                },
            )
            .await,
    )?;
    match r.employees.as_slice() {
        [
            Err(StoreError::Claimed {
                field: f1,
                holder: h1,
                ..
            }),
            Ok(_),
            Err(StoreError::Claimed { field: f3, .. }),
        ] if f1 == NAME_CLAIM && *h1 == format!("employee {emp}") && f3 == NAME_CLAIM => {}
        other => return fail(rule, format!("{other:?}")),
    }
    let all = ok(rule, store.load().await)?;
    let bos = all
        .employees
        .iter()
        .filter(|e| e.last_name.trim().eq_ignore_ascii_case("contract"))
        .count();
    if bos != 2
        || all.employees.iter().any(|e| {
            e.emails
                .iter()
                .any(|m| m.contains("other") || m.contains("two"))
        })
    {
        return fail(rule, format!("{:?}", all.employees));
    }

    // 4. Atomic batches, and deletes.
    let rule = "an atomic batch is all or nothing";
    let r = ok(
        rule,
        store
            .write(
                &rules,
                &WriteBatch {
                    assets: vec![
                        create(&[("serial_number", "C02CONTRACT5")]),
                        AssetWrite::Update {
                            id: "999999999".into(),
                            changes: vec![],
                            expect: vec![],
                        },
                    ],
                    atomic: true,
                    ..WriteBatch::default()
                },
            )
            .await,
    )?;
    if !matches!(r.assets[0], Err(StoreError::Aborted { .. })) {
        return fail(rule, format!("{r:?}"));
    }
    let held = ok(
        rule,
        store
            .holders(&rules, &[Claim::new("serial_number", "C02CONTRACT5")])
            .await,
    )?;
    if !held.is_empty() {
        return fail(rule, "the aborted create was kept");
    }
    let rule = "a deleted asset's values are free";
    let r = ok(
        rule,
        store
            .write(
                &rules,
                &batch(vec![AssetWrite::Delete {
                    id: second.clone(),
                    expect: vec![],
                }]),
            )
            .await,
    )?;
    if !r.all_ok() {
        return fail(rule, format!("{r:?}"));
    }
    ok(
        rule,
        store
            .create_asset(&[FieldWrite::set("serial_number", "C02CONTRACT1")])
            .await,
    )?;

    // 5. New rules: claims are rebuilt over what the store holds.
    let rule = "claims follow the rules of the write";
    ok(
        rule,
        store
            .create_asset(&[FieldWrite::set("asset_tag", "TAG-CONTRACT")])
            .await,
    )?;
    let tags = rules.clone().with_field("asset_tag", false);
    let r = ok(
        rule,
        store
            .write(
                &tags,
                &batch(vec![create(&[("asset_tag", "tag-contract")])]),
            )
            .await,
    )?;
    if !matches!(&r.assets[0], Err(StoreError::Claimed { field, .. }) if field == "asset_tag") {
        return fail(rule, format!("{r:?}"));
    }
    check_revisions(store, &rules).await
}

/// Revisions (for a store that keeps them): a seal holds only for the
/// revision it names, and any write of the asset's fields moves the
/// revision on and clears the mark.
async fn check_revisions<S: Store + ?Sized>(
    store: &S,
    rules: &IdentifierRules,
) -> Result<(), Violation> {
    let rule = "a seal marks the asset it names, at the revision it names";
    let id = ok(
        rule,
        store
            .create_asset(&[FieldWrite::set("serial_number", "C02CONTRACT6")])
            .await,
    )?;
    let revision = |assets: Vec<super::Asset>| assets.into_iter().next().and_then(|a| a.revision);
    let Some(first) = revision(ok(rule, store.load_assets(&[&id]).await)?) else {
        // This store keeps no revisions: nothing to check.
        return Ok(());
    };
    if first.mark.is_some() {
        return fail(rule, format!("a new asset is marked: {first:?}"));
    }
    let seal = |rev: u64, mark: u64| {
        batch(vec![AssetWrite::Seal {
            id: id.clone(),
            rev,
            mark,
        }])
    };
    let r = ok(rule, store.write(rules, &seal(first.rev, 42)).await)?;
    let now = revision(ok(rule, store.load_assets(&[&id]).await)?);
    if !r.all_ok()
        || now
            != Some(super::Revision {
                rev: first.rev,
                mark: Some(42),
            })
    {
        return fail(rule, format!("{r:?}, then {now:?}"));
    }
    let rule = "a write of the asset's fields moves its revision on and clears its mark";
    ok(
        rule,
        store
            .update_asset(&id, &[FieldWrite::set("name", "Contract Mac")])
            .await,
    )?;
    let inventory = ok(rule, store.load_for_matching(&["serial_number"]).await)?;
    let now = inventory
        .assets
        .iter()
        .find(|a| a.id == id)
        .and_then(|a| a.revision);
    let Some(after) = now.filter(|r| r.rev != first.rev && r.mark.is_none()) else {
        return fail(rule, format!("{first:?}, then {now:?}"));
    };
    let rule = "a seal naming an older revision is stale and marks nothing";
    let r = ok(rule, store.write(rules, &seal(first.rev, 43)).await)?;
    let now = revision(ok(rule, store.load_assets(&[&id]).await)?);
    if !matches!(&r.assets[0], Err(StoreError::Stale { field, .. }) if field == super::REVISION_FIELD)
        || now != Some(after)
    {
        return fail(rule, format!("{r:?}, then {now:?}"));
    }
    let rule = "a seal of an asset that does not exist fails";
    let r = ok(
        rule,
        store
            .write(
                rules,
                &batch(vec![AssetWrite::Seal {
                    id: "999999999".into(),
                    rev: 0,
                    mark: 1,
                }]),
            )
            .await,
    )?;
    if !matches!(&r.assets[0], Err(StoreError::AssetNotFound { .. })) {
        return fail(rule, format!("{r:?}"));
    }
    Ok(())
}

/// Runs `store`, which must have no history yet, through the run history
/// and the run lock: runs come back newest first with increasing ids and
/// every field kept; a second [`Store::lock_runs`] while the first guard
/// lives gets `None`, and the lock is free again once it drops; each
/// source's [`SourceState`](super::SourceState) is kept per name and
/// replaced whole.
pub async fn check_history<S: Store + ?Sized>(store: &S) -> Result<(), Violation> {
    use super::{RunOutcome, RunRecord};
    let rule = "history";
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| Violation {
                rule,
                what: e.to_string(),
            })
    };
    let first = RunRecord {
        id: 0,
        started: at("2026-12-01T02:00:00Z")?,
        ended: at("2026-12-01T02:03:10Z")?,
        sources: vec!["jamf-eu".into(), "abm".into()],
        full: true,
        outcome: RunOutcome::Ok,
        read: [("jamf-eu".to_string(), 120)].into_iter().collect(),
        counts: [("create".to_string(), 118), ("skip".to_string(), 2)]
            .into_iter()
            .collect(),
        requests: [("jamf-eu".to_string(), 4)].into_iter().collect(),
        learned_rates: [("abm".to_string(), 85.0)].into_iter().collect(),
        dropped: [("jamf.last_contact_time".to_string(), 3)]
            .into_iter()
            .collect(),
        errors: Vec::new(),
        users_gone: vec![super::GoneUser {
            source: "jamf-eu".into(),
            user_id: "jamf-eu:42".into(),
            email: "ana@corp.example".into(),
            employee: "7".into(),
            employee_name: "Ana Díaz".into(),
        }],
    };
    let second = RunRecord {
        started: at("2026-12-02T02:00:00Z")?,
        ended: at("2026-12-02T02:00:40Z")?,
        full: false,
        outcome: RunOutcome::Failed,
        errors: vec!["jamf-eu: GET /api/v3/computers-inventory page 2: timed out".into()],
        ..first.clone()
    };
    let id1 = ok(rule, store.record_run(&first).await)?;
    let id2 = ok(rule, store.record_run(&second).await)?;
    if id2 <= id1 {
        return fail(rule, format!("ids do not increase: {id1} then {id2}"));
    }
    let runs = ok(rule, store.runs(10).await)?;
    let want = vec![
        RunRecord {
            id: id2,
            ..second.clone()
        },
        RunRecord { id: id1, ..first },
    ];
    if runs != want {
        return fail(rule, format!("runs(10) gave {runs:?}, want {want:?}"));
    }
    let newest = ok(rule, store.runs(1).await)?;
    if newest.len() != 1 || newest[0].id != id2 {
        return fail(rule, format!("runs(1) gave {newest:?}"));
    }

    let rule = "run lock";
    let Some(guard) = ok(rule, store.lock_runs().await)? else {
        return fail(rule, "a free lock was refused");
    };
    if ok(rule, store.lock_runs().await)?.is_some() {
        return fail(rule, "the lock was given twice");
    }
    guard.release().await;
    let Some(again) = ok(rule, store.lock_runs().await)? else {
        return fail(rule, "the lock stayed taken after its guard was released");
    };
    drop(again);

    // Watermarks: none until set; set, read back whole; replaced, not
    // merged; kept per source name.
    let rule = "source state";
    if let Some(s) = ok(rule, store.source_state("jamf-eu").await)? {
        return fail(rule, format!("a new store holds a state: {s:?}"));
    }
    let state = super::SourceState {
        watermark: Some(at("2026-12-02T01:59:30Z")?),
        last_full: Some(at("2026-12-01T02:00:00Z")?),
        incremental_runs: 3,
        mapping: Some("0123456789abcdef".into()),
        server: Some("fedcba9876543210".into()),
        users: Some(
            [
                ("jamf-eu:1".to_string(), "ana@corp.example".to_string()),
                ("jamf-eu:2".to_string(), "ben@corp.example".to_string()),
            ]
            .into_iter()
            .collect(),
        ),
    };
    ok(rule, store.set_source_state("jamf-eu", &state).await)?;
    let later = super::SourceState {
        incremental_runs: 4,
        mapping: None,
        users: Some([("jamf-eu:1".to_string(), "ana@corp.example".to_string())].into()),
        ..state.clone()
    };
    ok(rule, store.set_source_state("jamf-eu", &later).await)?;
    ok(rule, store.set_source_state("jamf-us", &state).await)?;
    let got = ok(rule, store.source_state("jamf-eu").await)?;
    if got.as_ref() != Some(&later) {
        return fail(rule, format!("gave {got:?}, want {later:?}"));
    }
    let other = ok(rule, store.source_state("jamf-us").await)?;
    if other.as_ref() != Some(&state) {
        return fail(rule, format!("jamf-us gave {other:?}, want {state:?}"));
    }
    Ok(())
}
