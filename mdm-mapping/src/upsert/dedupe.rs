//! Repairing an inventory that already holds duplicates: [`find_duplicates`]
//! proposes merges, [`apply_dedupe`] carries them out.
//!
//! Older sync tools (and overlapping runs before the store kept identifiers
//! unique) leave several assets for one device, often with the serial
//! spelled differently (`c02xk1abjg5h`, `C02X K1AB JG5H`). Assets are the
//! same device when they share an identifier value after normalization
//! (the configuration's [`IdentifierRules`]: case, spaces, MAC spellings,
//! placeholders such as `Not Available` never linking anything).
//!
//! ```
//! use mdm_mapping::store::{Inventory, MemoryStore, Store};
//! use mdm_mapping::upsert::{apply_dedupe, find_duplicates, Config};
//!
//! # futures::executor::block_on(async {
//! let store = MemoryStore::new(Inventory::from_json(r#"{"assets":[
//!   {"id":"a1","fields":{"serial_number":"C02XK1ABJG5H","location":"Lab 3"}},
//!   {"id":"a2","fields":{"serial_number":"c02xk1abjg5h ","jamf_id":"42","assignee_id":"e1"}}]}"#).unwrap());
//! let config = Config::default();
//! let plan = find_duplicates(&store.load().await.unwrap(), &config);
//! assert_eq!(plan.groups.len(), 1);
//! assert_eq!(plan.groups[0].survivor, "a1");
//! let done = apply_dedupe(&plan, &store, &config).await.unwrap();
//! assert_eq!(done.removed, ["a2"]);
//! let a1 = store.snapshot().assets[0].clone();
//! assert_eq!(a1.fields.get_str("jamf_id"), Some("42")); // moved to the survivor
//! assert_eq!(a1.fields.get_str("assignee_id"), Some("e1"));
//! # });
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use super::config::Config;
use crate::record::Value;
use crate::store::{
    Asset, AssetWrite, Claim, Expect, FieldValue, FieldWrite, IdentifierRules, Inventory, Store,
    StoreError, WriteBatch, is_secret_field,
};

/// A field value of a duplicate that the merge does not keep (the
/// survivor already has another value): reported, never lost silently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dropped {
    /// The duplicate it was on.
    pub asset: String,
    /// The field.
    pub field: String,
    /// The value (`[redacted]` for a secret).
    pub value: serde_json::Value,
    /// What the survivor keeps.
    pub kept: serde_json::Value,
}

/// Assets that are one device, and how they merge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateGroup {
    /// The asset that stays: the one with the lowest id (the oldest, which
    /// other systems most likely refer to).
    pub survivor: String,
    /// The assets merged into it and then deleted.
    pub duplicates: Vec<String>,
    /// The identifier values they share.
    pub matched_on: Vec<Claim>,
    /// Fields the survivor gains, from the duplicates (field → value):
    /// every field it lacks, the first duplicate (by id) that has one
    /// giving it. Vendor ids and the assignee move this way.
    pub changes: BTreeMap<String, serde_json::Value>,
    /// Values of the duplicates the survivor does not take.
    pub dropped: Vec<Dropped>,
}

/// What [`find_duplicates`] proposes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DedupePlan {
    /// One group per device with several assets.
    pub groups: Vec<DuplicateGroup>,
}

impl DedupePlan {
    /// How many assets the plan deletes (after merging them).
    pub fn removals(&self) -> usize {
        self.groups.iter().map(|g| g.duplicates.len()).sum()
    }
}

/// What [`apply_dedupe`] did.
#[derive(Debug, Default)]
pub struct DedupeReport {
    /// Groups merged.
    pub merged: usize,
    /// Assets deleted after their fields moved to the survivor.
    pub removed: Vec<String>,
    /// Groups not merged, and why (an asset changed since it was read,
    /// or is gone).
    pub skipped: Vec<(String, StoreError)>,
}

fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => (a.len(), a).cmp(&(b.len(), b)),
    }
}

fn shown(field: &str, v: &Value) -> serde_json::Value {
    if is_secret_field(field) {
        serde_json::Value::String("[redacted]".into())
    } else {
        v.to_json()
    }
}

/// Finds the assets of `inventory` that are the same device under
/// `config`'s identifiers, and proposes one merge per device. Pure: reads
/// nothing else, writes nothing.
pub fn find_duplicates(inventory: &Inventory, config: &Config) -> DedupePlan {
    let rules: IdentifierRules = config.identifier_rules();
    let n = inventory.assets.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut first: std::collections::HashMap<Claim, usize> = std::collections::HashMap::new();
    let mut shared: std::collections::HashMap<Claim, Vec<usize>> = std::collections::HashMap::new();
    for (i, a) in inventory.assets.iter().enumerate() {
        for c in rules.claims(&a.fields) {
            match first.get(&c) {
                Some(&j) => {
                    let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                    if ri != rj {
                        parent[ri.max(rj)] = ri.min(rj);
                    }
                    shared.entry(c).or_insert_with(|| vec![j]).push(i);
                }
                None => {
                    first.insert(c, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out = DedupePlan::default();
    for members in groups.into_values().filter(|m| m.len() > 1) {
        let mut assets: Vec<&Asset> = members.iter().map(|&i| &inventory.assets[i]).collect();
        assets.sort_by(|a, b| id_order(&a.id, &b.id));
        let survivor = assets[0];
        let mut changes = BTreeMap::new();
        let mut dropped = Vec::new();
        let mut have = survivor.fields.clone();
        for d in &assets[1..] {
            for (field, value) in d.fields.iter() {
                match have.get(field) {
                    None => {
                        changes.insert(field.to_string(), shown(field, value));
                        have.set(field, Some(value.clone()));
                    }
                    Some(kept) if kept != value => dropped.push(Dropped {
                        asset: d.id.clone(),
                        field: field.to_string(),
                        value: shown(field, value),
                        kept: shown(field, kept),
                    }),
                    Some(_) => {}
                }
            }
        }
        let ids: Vec<usize> = members.clone();
        let mut matched_on: Vec<Claim> = shared
            .iter()
            .filter(|(_, who)| who.iter().any(|w| ids.contains(w)))
            .map(|(c, _)| c.clone())
            .collect();
        matched_on.sort();
        out.groups.push(DuplicateGroup {
            survivor: survivor.id.clone(),
            duplicates: assets[1..].iter().map(|a| a.id.clone()).collect(),
            matched_on,
            changes,
            dropped,
        });
    }
    out.groups
        .sort_by(|a, b| id_order(&a.survivor, &b.survivor));
    out
}

/// Carries out `plan` against `store`, one atomic [`WriteBatch`] per group:
/// the duplicates are deleted (their identifiers released) and the
/// survivor takes the fields it lacked, all or nothing. Every write is
/// conditional on the assets still being what the plan read: a group whose
/// assets changed since (or are gone) is skipped and reported, never merged
/// blindly. A failure of the store as a whole stops the run.
pub async fn apply_dedupe<S: Store + ?Sized>(
    plan: &DedupePlan,
    store: &S,
    config: &Config,
) -> Result<DedupeReport, StoreError> {
    let rules = config.identifier_rules();
    let mut report = DedupeReport::default();
    for g in &plan.groups {
        let mut ids: Vec<&str> = vec![g.survivor.as_str()];
        ids.extend(g.duplicates.iter().map(String::as_str));
        let now = store.load_assets(&ids).await?;
        let expect_all = |a: &Asset| -> Vec<Expect> {
            a.fields
                .iter()
                .map(|(f, v)| Expect {
                    field: f.to_string(),
                    value: Some(FieldValue::Value(v.clone())),
                })
                .collect()
        };
        let Some(survivor) = now.iter().find(|a| a.id == g.survivor) else {
            report.skipped.push((
                g.survivor.clone(),
                StoreError::AssetNotFound {
                    id: g.survivor.clone(),
                },
            ));
            continue;
        };
        let mut assets: Vec<AssetWrite> = Vec::new();
        let mut writes: Vec<FieldWrite> = Vec::new();
        let mut expect: Vec<Expect> = Vec::new();
        for d in &g.duplicates {
            let Some(a) = now.iter().find(|a| a.id == *d) else {
                continue;
            };
            assets.push(AssetWrite::Delete {
                id: d.clone(),
                expect: expect_all(a),
            });
        }
        // The survivor gains what it lacks, from the duplicates as they are now.
        let mut have = survivor.fields.clone();
        for d in &g.duplicates {
            let Some(a) = now.iter().find(|a| a.id == *d) else {
                continue;
            };
            for (field, value) in a.fields.iter() {
                if !have.contains(field) {
                    have.set(field, Some(value.clone()));
                    writes.push(FieldWrite::set(field, value.clone()));
                    expect.push(Expect {
                        field: field.to_string(),
                        value: None,
                    });
                }
            }
        }
        if !writes.is_empty() {
            assets.push(AssetWrite::Update {
                id: g.survivor.clone(),
                changes: writes,
                expect,
            });
        }
        let batch = WriteBatch {
            assets,
            atomic: true,
            ..WriteBatch::default()
        };
        let results = store.write(&rules, &batch).await?;
        let mut errors: Vec<StoreError> =
            results.assets.into_iter().filter_map(Result::err).collect();
        // The write that failed, rather than the ones it took down with it.
        errors.sort_by_key(|e| matches!(e, StoreError::Aborted { .. }));
        match errors.into_iter().next() {
            None => {
                report.merged += 1;
                report.removed.extend(g.duplicates.iter().cloned());
            }
            Some(e) => report.skipped.push((g.survivor.clone(), e)),
        }
    }
    Ok(report)
}
