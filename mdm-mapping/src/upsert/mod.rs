//! Duplicate-safe upsert of [`SourceDevice`](crate::SourceDevice)s into the
//! user's inventory: [`plan`] (pure) then [`apply`] (through a
//! [`Store`](crate::store::Store)).
//!
//! The guarantees:
//!
//! - **No duplicates.** Devices are matched on an ordered list of identifiers
//!   ([`Config::match_on`]: the vendor id already recorded on the asset,
//!   serial number, UDID, IMEI; asset tag on opt-in), normalized, ignoring
//!   placeholders. A created asset carries every identifier, so a rerun, or
//!   a rerun of an interrupted apply, finds it.
//! - **No guesses.** Several assets for one device, or one asset for several
//!   devices, is a `conflict` naming the candidates; nothing is written.
//! - **One device, one asset.** Records sharing an identifier are one
//!   device: ABM, Jamf and Kandji records of it are merged by per-field
//!   vendor priority; two records of one source with one serial (a
//!   re-enrolled device) collapse to the newest, the older one reported as
//!   a `skip`.
//! - **The inventory's fields stay its own.** Inventory-owned fields are set
//!   only on create; a blank source value never erases a value (unless a
//!   field says `clear_when_blank`); recovery keys are stored only on opt-in
//!   and show as `"[redacted]"` in a plan.
//! - **One bad record never stops the run.** A record without identifiers is
//!   skipped with its reason; a store error on one record is reported and
//!   the others go on.
//! - **A dry run is the plan**: it touches nothing.
//! - **Memory follows a batch, not the fleet.** [`Staging`] keeps each
//!   record on disk as it arrives (projected to what the plan reads) and
//!   [`apply_staged`] plans and applies batches of records and assets that
//!   share nothing with other batches, leaving the inventory one [`plan`]
//!   over everything would.
//!
//! ```
//! use mdm_mapping::store::{Inventory, MemoryStore, Store};
//! use mdm_mapping::upsert::{apply, plan, ActionKind, Config};
//! use mdm_mapping::{Assignee, Entity, SourceDevice, Vendor};
//!
//! # futures::executor::block_on(async {
//! let store = MemoryStore::new(Inventory::from_json(
//!     r#"{"assets":[{"id":"a1","fields":{"serial_number":"C02XK1ABJG5H","status":"in_repair"}}],
//!         "employees":[{"id":"e1","first_name":"Ana","last_name":"Díaz","emails":["ana@example.com"]}]}"#,
//! ).unwrap());
//!
//! let mut mac = SourceDevice::new(Vendor::Jamf, Entity::Computer, "42");
//! mac.fields
//!     .serial("serial_number", Some("c02xk1abjg5h"))
//!     .text("model", Some("MacBook Pro (13-inch, 2018)"));
//! let mut phone = SourceDevice::new(Vendor::Kandji, Entity::Device, "5c4b1a2e");
//! phone.fields.serial("serial_number", Some("F2LXK1ABQ1GC")).text("model", Some("iPhone 15 Pro"));
//! phone.assignee = Assignee { email: Some("Ana@Example.com".into()), ..Assignee::default() }.into_option();
//! let incoming = vec![mac, phone];
//! let config = Config::default();
//!
//! let p = plan(&store.load().await.unwrap(), &incoming, &config, &[]).unwrap();
//! assert_eq!((p.summary.update, p.summary.create), (1, 1));
//! // The existing asset keeps its status (inventory-owned); the new one is allocated to Ana.
//! assert!(p.actions[0].changes.get("status").is_none());
//! let created = &p.actions[1].changes;
//! assert_eq!(created.get("assignee_id").unwrap().to.as_ref().unwrap().to_string(), "e1");
//! assert_eq!(created.get("status").unwrap().to.as_ref().unwrap().to_string(), "allocated");
//! assert_eq!(created.get("asset_type").unwrap().to.as_ref().unwrap().to_string(), "phone");
//!
//! let report = apply(&p, &store).await.unwrap();
//! assert_eq!(report.created.len(), 1);
//!
//! // Running again changes nothing.
//! let again = plan(&store.load().await.unwrap(), &incoming, &config, &[]).unwrap();
//! assert_eq!(again.summary.unchanged, 2);
//! assert!(again.is_noop());
//! # });
//! ```

mod apply;
mod codec;
mod config;
mod dedupe;

/// The record fields the planner reads by name, beyond the mapping: the
/// lifecycle and recency fields.
pub(crate) fn plan_keys() -> impl Iterator<Item = &'static str> {
    plan::LIFECYCLE_KEYS
        .iter()
        .chain(plan::RECENCY_KEYS.iter().flat_map(|ks| ks.iter()))
        .copied()
}

mod plan;
mod staged;

pub use apply::{ApplyError, ApplyFailure, ApplyReport, Created, apply};
pub use config::{Config, ConfigError, ConfigFile, DEFAULT_MATCH_ON};
pub use dedupe::{
    DedupePlan, DedupeReport, Dropped, DuplicateGroup, apply_dedupe, find_duplicates,
};
pub use plan::{
    Action, ActionKind, Change, ChangeValue, Changes, EmployeeAction, EmployeeActionKind, Id,
    LifecycleEvent, LifecycleKind, LikelyDuplicate, Plan, Projection, SourceRef, SourceRefs,
    Summary, plan,
};
pub(crate) use staged::apply_staged_loaded;
pub use staged::{
    Batch, MAX_RETRY_ROUNDS, Staged, StagedError, StagedOutcome, Staging, StagingError,
    apply_staged, apply_staged_until,
};

#[cfg(test)]
mod tests {
    /// The bottom layer's field index ([`crate::field_names::KNOWN`]) holds
    /// every name the layers above read: catalog keys and default targets,
    /// the built-in mapping's inventory fields, and the planner's own.
    #[test]
    fn every_name_the_crate_reads_is_known() {
        let mut read: Vec<&str> = Vec::new();
        for spec in crate::catalog::all() {
            read.push(spec.key);
            read.extend(spec.default_target);
        }
        read.extend(crate::mapping::builtin_field_names());
        read.extend(["asset_type", "assignee_id"]);
        read.extend(super::plan_keys());
        let missing: Vec<&str> = read
            .into_iter()
            .filter(|n| crate::field_names::KNOWN.binary_search(n).is_err())
            .collect();
        assert!(
            missing.is_empty(),
            "add these to mdm-mapping/src/field_names.rs: {missing:?}"
        );
    }
}
