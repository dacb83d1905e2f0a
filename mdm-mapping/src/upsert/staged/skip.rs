//! Skipping unchanged devices: [`Skips`] decides, before a batch's assets
//! are read, which of its devices need no reading or planning; [`seal`]
//! marks, after a batch is written, the assets found up to date.
//!
//! A device is one component of a batch (its records and the assets they
//! share an identifier with). Its *digest* is `xxh3` over a seed (below)
//! and the digests of its records' staged encodings, in staging order:
//! what the plan reads of them. An asset's [`Revision::mark`] is the digest of a device the last
//! sync planned against it and found up to date, and the store clears it
//! with any write of the asset's fields. So when a device's digest equals
//! its one asset's mark, planning it again would find it up to date again:
//! the same records, the same asset, the same configuration.
//!
//! The seed is the configuration and this crate's version. What a
//! device's plan says of its user depends on the inventory's
//! employees (by email and by name) and on the users of every staged
//! record (who first claims a name): both are part of the seed of every
//! digest, so a new employee, or a user's new name anywhere in the fleet,
//! has every device planned again once.
//!
//! Only the plainest devices are marked: one asset, records that no other
//! action, employee action, likely duplicate or lifecycle event of the
//! batch names, and no secrets.
//!
//! [`Revision::mark`]: crate::store::Revision::mark

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use super::{Batch, Staged, StagingError};
use crate::record::{Entity, SourceDevice, Vendor};
use crate::source::Listing;
use crate::store::{Asset, AssetWrite, Employee, Inventory, Revision, Store, WriteBatch};
use crate::upsert::config::Config;
use crate::upsert::plan::{Action, ActionKind, Changes, Id, Plan, SourceRefs};

/// The reason given for a device skipped as unchanged.
pub(super) const SKIPPED: &str =
    "unchanged since the last sync: the same records, and the asset not written since";

/// The components of one staging: which component each asset and record
/// is in, and how many of each a component holds.
pub(super) struct Shape {
    comp: Vec<u32>,
    assets: usize,
    n_assets: Vec<u32>,
    n_records: Vec<u32>,
    /// The seed of every device digest: the configuration, this crate's
    /// version, the employees and the fleet's users (a plan of other rules,
    /// of another version, or against other employees or users, may differ).
    seed: u64,
    /// The sources read in full (vendor bit, digest of the listing): an
    /// asset none of whose records come from one of them may be reported
    /// missing from it, so the listing is part of the device's digest.
    full: Vec<(u8, u64)>,
}

/// A vendor's bit in [`Ids::vendors`](super::Ids::vendors).
pub(super) fn vendor_bit(v: Vendor) -> u8 {
    match v {
        Vendor::Jamf => 1,
        Vendor::Kandji => 2,
        Vendor::Abm => 4,
    }
}

impl Shape {
    pub(super) fn of(
        comp: Vec<u32>,
        inventory: &Inventory,
        staged: &Staged<'_>,
        config: &Config,
        full_listings: &[Listing],
    ) -> Shape {
        let assets = inventory.assets.len();
        let n = comp.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        let (mut n_assets, mut n_records) = (vec![0u32; n], vec![0u32; n]);
        for (node, &c) in comp.iter().enumerate() {
            if node < assets {
                n_assets[c as usize] += 1;
            } else {
                n_records[c as usize] += 1;
            }
        }
        let mut employees: Vec<&Employee> = inventory.employees.iter().collect();
        employees.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let seed = xxh3_64(
            format!(
                "mdm-mapping {} {config:?} {employees:?} {:016x}",
                env!("CARGO_PKG_VERSION"),
                staged.ids.users.fingerprint()
            )
            .as_bytes(),
        );
        let mut full: Vec<(u8, u64)> = full_listings
            .iter()
            .map(|l| (vendor_bit(l.vendor), xxh3_64(format!("{l:?}").as_bytes())))
            .collect();
        full.sort_unstable();
        full.dedup();
        Shape {
            comp,
            assets,
            n_assets,
            n_records,
            seed,
            full,
        }
    }

    fn of_asset(&self, i: usize) -> Option<usize> {
        self.comp.get(i).map(|&c| c as usize)
    }

    fn of_record(&self, r: usize) -> Option<usize> {
        self.comp.get(self.assets + r).map(|&c| c as usize)
    }

    /// The digest of the device made of `records` (ascending).
    fn digest(&self, staged: &Staged<'_>, records: &[usize]) -> Option<u64> {
        let mut h = Xxh3::with_seed(self.seed);
        let mut vendors = 0u8;
        for &r in records {
            h.update(&staged.ids.digests.get(r)?.to_le_bytes());
            vendors |= staged.ids.vendors.get(r)?;
        }
        for &(bit, listing) in &self.full {
            if vendors & bit == 0 {
                h.update(&listing.to_le_bytes());
            }
        }
        Some(h.digest())
    }
}

/// Whether record `r` may be skipped: it has no secrets (read on opt-in,
/// kept out of the staged encoding and so out of its digest).
fn secret_free(staged: &Staged<'_>, r: usize) -> bool {
    u32::try_from(r).is_ok_and(|r| !staged.ids.secrets.contains_key(&r))
}

/// The devices of each batch that are skipped.
pub(super) struct Skips {
    /// Per batch: (the asset's index in the inventory, its records).
    per_batch: Vec<Vec<(usize, Vec<usize>)>>,
}

impl Skips {
    /// Takes out of `batches` every device without secrets whose digest is
    /// its one asset's mark in `inventory`.
    pub(super) fn take(
        batches: &mut [Batch],
        staged: &Staged<'_>,
        inventory: &Inventory,
        shape: &Shape,
    ) -> Skips {
        let mut per_batch = Vec::with_capacity(batches.len());
        for b in batches.iter_mut() {
            let mut asset_of: HashMap<usize, usize> = HashMap::new();
            for &a in &b.assets {
                if let Some(c) = shape.of_asset(a) {
                    asset_of.insert(c, a);
                }
            }
            let mut devices: Vec<(usize, Vec<usize>)> = Vec::new();
            let mut at: HashMap<usize, usize> = HashMap::new();
            for &r in &b.records {
                let Some(c) = shape.of_record(r) else {
                    continue;
                };
                let k = *at.entry(c).or_insert_with(|| {
                    devices.push((c, Vec::new()));
                    devices.len() - 1
                });
                devices[k].1.push(r);
            }
            let mut skipped = Vec::new();
            for (c, records) in devices {
                if shape.n_assets.get(c) != Some(&1)
                    || !records.iter().all(|&r| secret_free(staged, r))
                {
                    continue;
                }
                let Some(&a) = asset_of.get(&c) else { continue };
                let Some(Revision {
                    mark: Some(mark), ..
                }) = inventory.assets.get(a).and_then(|x| x.revision)
                else {
                    continue;
                };
                if shape.digest(staged, &records) == Some(mark) {
                    skipped.push((a, records));
                }
            }
            if !skipped.is_empty() {
                let assets: HashSet<usize> = skipped.iter().map(|s| s.0).collect();
                let records: HashSet<usize> =
                    skipped.iter().flat_map(|s| s.1.iter().copied()).collect();
                b.assets.retain(|a| !assets.contains(a));
                b.records.retain(|r| !records.contains(r));
            }
            per_batch.push(skipped);
        }
        Skips { per_batch }
    }

    /// Adds batch `bi`'s skipped devices to its plan, as unchanged (their
    /// records' ids read back from staging); returns how many.
    pub(super) fn report(
        &self,
        bi: usize,
        ids: &[String],
        staged: &mut Staged<'_>,
        p: &mut Plan,
    ) -> Result<usize, StagingError> {
        let Some(list) = self.per_batch.get(bi).filter(|l| !l.is_empty()) else {
            return Ok(0);
        };
        let mut all: Vec<usize> = list.iter().flat_map(|s| s.1.iter().copied()).collect();
        all.sort_unstable();
        let refs = staged.refs(&all)?;
        let at: HashMap<usize, usize> = all.iter().enumerate().map(|(k, &r)| (r, k)).collect();
        for (a, records) in list {
            let sources: SourceRefs = records
                .iter()
                .filter_map(|r| refs.get(*at.get(r)?).cloned())
                .collect();
            p.actions.push(Action {
                action: ActionKind::Unchanged,
                sources,
                target_id: ids.get(*a).map(|i| Id::from(i.as_str())),
                matched_on: None,
                changes: Changes::default(),
                reason: Cow::Borrowed(SKIPPED),
                candidates: Vec::new(),
            });
            p.summary.unchanged += 1;
        }
        Ok(list.len())
    }
}

/// Marks the assets `p` found up to date with their device's digest, for
/// the next sync to skip; returns how many were marked. `records` are the
/// batch's records, in the order of `batch.records`; `assets` the assets
/// the batch was planned against.
///
/// A mark is only an optimization: one that cannot be written (the asset
/// was written since it was read, or the store failed) leaves the device
/// to be planned next time.
#[allow(clippy::too_many_arguments)]
pub(super) async fn seal<S: Store + ?Sized>(
    p: &Plan,
    records: &[SourceDevice],
    batch: &Batch,
    assets: &[Asset],
    ids: &[String],
    shape: &Shape,
    staged: &Staged<'_>,
    store: &S,
) -> usize {
    // Each record's position; a record that appears twice is never marked.
    let mut at: HashMap<(Vendor, Entity, &str), Option<usize>> = HashMap::new();
    for (k, d) in records.iter().enumerate() {
        at.entry((d.vendor, d.entity, d.source_id.as_str()))
            .and_modify(|v| *v = None)
            .or_insert(Some(k));
    }
    let position = |vendor, entity, id: &str| at.get(&(vendor, entity, id)).copied().flatten();
    // How many actions, employee actions, likely duplicates and lifecycle
    // events name each record and each asset.
    let mut named = vec![0u32; records.len()];
    let sources = (p.actions.iter().flat_map(|a| a.sources.as_slice()))
        .chain(p.employees.iter().flat_map(|e| &e.sources))
        .chain(p.likely_duplicates.iter().flat_map(|d| &d.sources))
        .chain(p.lifecycle.iter().flat_map(|e| &e.sources));
    for s in sources {
        if let Some(k) = position(s.vendor, s.entity, &s.source_id) {
            named[k] += 1;
        }
    }
    let mut asset_named: HashMap<&str, u32> = HashMap::new();
    let targets = (p.actions.iter().filter_map(|a| a.target_id.as_deref()))
        .chain(p.lifecycle.iter().filter_map(|e| e.target_id.as_deref()));
    for t in targets {
        *asset_named.entry(t).or_default() += 1;
    }
    let read: HashMap<&str, &Asset> = assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let index: HashMap<&str, usize> = batch
        .assets
        .iter()
        .filter_map(|&i| Some((ids.get(i)?.as_str(), i)))
        .collect();
    let mut writes = Vec::new();
    'actions: for a in &p.actions {
        if a.action != ActionKind::Unchanged {
            continue;
        }
        let Some(t) = a.target_id.as_deref() else {
            continue;
        };
        let (Some(1), Some(asset), Some(&i)) = (asset_named.get(t), read.get(t), index.get(t))
        else {
            continue;
        };
        let (Some(revision), Some(c)) = (asset.revision, shape.of_asset(i)) else {
            continue;
        };
        if shape.n_assets.get(c) != Some(&1) {
            continue;
        }
        let mut device = Vec::with_capacity(a.sources.as_slice().len());
        for s in a.sources.as_slice() {
            let Some(k) = position(s.vendor, s.entity, &s.source_id) else {
                continue 'actions;
            };
            let Some(&r) = batch.records.get(k) else {
                continue 'actions;
            };
            if named[k] != 1 || shape.of_record(r) != Some(c) || !secret_free(staged, r) {
                continue 'actions;
            }
            device.push(r);
        }
        if device.is_empty() || shape.n_records.get(c) != Some(&(device.len() as u32)) {
            continue;
        }
        device.sort_unstable();
        let Some(mark) = shape.digest(staged, &device) else {
            continue;
        };
        if revision.mark != Some(mark) {
            writes.push(AssetWrite::Seal {
                id: t.to_owned(),
                rev: revision.rev,
                mark,
            });
        }
    }
    if writes.is_empty() {
        return 0;
    }
    let batch = WriteBatch {
        assets: writes,
        ..WriteBatch::default()
    };
    match store.write(&p.identifier_rules, &batch).await {
        Ok(r) => r.assets.iter().filter(|x| x.is_ok()).count(),
        Err(error) => {
            tracing::debug!(%error, "assets not marked up to date; the next sync plans them");
            0
        }
    }
}
