//! [`plan`]: the pure half of the upsert. Data in, actions out, no I/O.
//!
//! How it works, and why it scales linearly:
//!
//! 1. Every identifier of every inventory asset and of every incoming record
//!    is normalized (borrowed when already normal; values up to 28 bytes and
//!    UUIDs are then kept inline) and gathered in one array, which is
//!    partitioned by hash so that each partition's table fits in the CPU
//!    cache. Per partition, assets' values go in first (two assets with one
//!    value make it ambiguous), then records' values are looked up; records
//!    sharing a value are joined (union-find), so one device seen by several
//!    sources, or twice, becomes one group.
//! 2. Per group: records of one source with several ids (re-enrolled) are
//!    collapsed to the newest; the group's identifiers must point at one
//!    asset (else `conflict`); one asset claimed by two groups is a conflict.
//! 3. Per group, the mapping is evaluated record by record (one hash lookup
//!    per record field), model and OS facts come from a cache keyed by their
//!    inputs, the sources are merged by field priority, and the result is
//!    compared field by field with the asset, honouring ownership. Scratch
//!    buffers are reused across groups; the only allocations are the plan's
//!    own output.
//!
//! Where each stage lives:
//!
//! | file | stage |
//! |---|---|
//! | `plan.rs` | the compiled configuration, the planner's state, [`plan`] |
//! | `plan/types.rs` | the plan's public types ([`Plan`], [`Action`], [`Id`], …) |
//! | `plan/index.rs` | the identifier index (step 1) and the batch hashes of staging |
//! | `plan/matching.rs` | which records are one device, and which asset it is (steps 1–2) |
//! | `plan/merge.rs` | which value wins: vendor priority, ownership, comparison (step 3) |
//! | `plan/employees.rs` | assignees: matching employees, new employees |
//! | `plan/lifecycle.rs` | removed, released and missing devices |
//! | `plan/output.rs` | the actions, from the matched and merged groups |

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;
use secrecy::{ExposeSecret, SecretString};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use smallvec::SmallVec;

use super::config::{Config, ConfigError};
use crate::fast_hash::FastState;
use crate::ident::{self, Norm};
use crate::mapping::{Derived, FactInputs, FieldRule, ModelFacts, Ownership, SourceKey};
use crate::model::AssetType;
use crate::record::{Entity, SourceDevice, Value, Vendor};
use crate::record::{Key, known_names};
use crate::source::Listing;
use crate::store::{Asset, Employee, Inventory, NewEmployee};

mod employees;
mod index;
mod lifecycle;
mod matching;
mod merge;
mod output;
mod types;

pub(crate) use employees::Users;
use index::*;
pub(crate) use index::{IdHashes, find, union};
pub(crate) use lifecycle::LIFECYCLE_KEYS;
use lifecycle::*;
pub use types::*;

// ---------------------------------------------------------------------------
// The compiled configuration.

fn vi(v: Vendor) -> usize {
    match v {
        Vendor::Jamf => 0,
        Vendor::Kandji => 1,
        Vendor::Abm => 2,
    }
}

struct Target<'c> {
    name: Arc<str>,
    rule: &'c FieldRule,
    /// Rank of each vendor (by `vi`) in this field's priority; lower wins.
    rank: [u8; 3],
    /// Set for match fields: how values are compared.
    norm: Option<Norm>,
    secret: bool,
    /// Whether each vendor maps this field at all (for clear_when_blank).
    mapped_by: [bool; 3],
}

/// What the planner does with one catalog key of a vendor's records.
#[derive(Default)]
struct KeyUse {
    /// (target, position in the field's key list).
    targets: Vec<(u16, u8)>,
    /// (match key, position in the match field's key list).
    ids: Vec<(u8, u8)>,
    /// (model/OS fact input, position in that input's key list).
    facts: Vec<(u8, u8)>,
}

#[derive(Default)]
struct VendorMap<'c> {
    /// Catalog key → its uses; sorted by key, for a merge with the record's
    /// sorted fields.
    catalog: Vec<(&'c str, KeyUse)>,
    /// Catalog key → position in `catalog`.
    lookup: HashMap<&'c str, u32, FastState>,
    /// Known field name index → position in `catalog`, or `NONE`.
    by_known: Vec<u32>,
    /// Derived sources.
    derived: Vec<(&'c Derived, u16, u8)>,
    /// Match keys fed by `@source_id`: (match key, position).
    id_from_source_id: Vec<(u8, u8)>,
}

impl VendorMap<'_> {
    /// What the planner does with a record's field `key`.
    #[inline]
    fn uses(&self, key: &Key) -> Option<&KeyUse> {
        let i = match key.known() {
            Some(n) => *self.by_known.get(usize::from(n))?,
            None => *self.lookup.get(key.as_str())?,
        };
        self.catalog.get(i as usize).map(|(_, u)| u)
    }
}

struct MatchKey {
    target: u16,
    norm: Norm,
    /// Fed by Jamf ids, whose computer and mobile-device numbers overlap:
    /// matched within the same kind of device only.
    qualified: bool,
    /// A vendor id (not enough to create an asset).
    vendor_id: bool,
}

struct Compiled<'c> {
    config: &'c Config,
    targets: Vec<Target<'c>>,
    vendors: [VendorMap<'c>; 3],
    keys: Vec<MatchKey>,
    status: Option<u16>,
    assignee: Option<u16>,
    /// The field each vendor's `@source_id` goes to (missing detection).
    marker: [Option<u16>; 3],
    /// Inventory fields read when indexing an asset, sorted by name: a match
    /// key, or `None` for the asset type.
    asset_keys: Vec<(Arc<str>, Option<u8>)>,
    /// Target name → target.
    by_name: HashMap<Arc<str>, u16, FastState>,
    /// Known field name index → target, or `u16::MAX`.
    target_by_known: Vec<u16>,
    /// Known field name index → role when indexing an asset: `NO_ROLE`,
    /// `TYPE_ROLE` (the asset type) or a match key.
    asset_role_by_known: Vec<u8>,
}

const NO_ROLE: u8 = u8::MAX;
const TYPE_ROLE: u8 = u8::MAX - 1;

impl Compiled<'_> {
    /// The target an inventory field feeds.
    #[inline]
    fn target_of(&self, key: &Key) -> Option<u16> {
        match key.known() {
            Some(n) => self
                .target_by_known
                .get(usize::from(n))
                .copied()
                .filter(|t| *t != u16::MAX),
            None => self.by_name.get(key.as_str()).copied(),
        }
    }

    /// The role of an asset's field when indexing it.
    #[inline]
    fn asset_role(&self, key: &Key) -> u8 {
        match key.known() {
            Some(n) => self
                .asset_role_by_known
                .get(usize::from(n))
                .copied()
                .unwrap_or(NO_ROLE),
            None => self
                .asset_keys
                .iter()
                .find(|(k, _)| k.as_ref() == key.as_str())
                .map_or(NO_ROLE, |(_, ki)| ki.unwrap_or(TYPE_ROLE)),
        }
    }
}

impl<'c> Compiled<'c> {
    fn new(config: &'c Config) -> Compiled<'c> {
        let mut targets: Vec<Target<'c>> = Vec::new();
        for (name, rule) in config.mapping.fields() {
            if rule.ownership == Ownership::Ignore {
                continue;
            }
            let mut rank = [2u8; 3];
            for (i, v) in rule.vendor_order().iter().enumerate() {
                rank[vi(*v)] = i as u8;
            }
            let secret = rule
                .from
                .values()
                .flatten()
                .any(|k| matches!(k, SourceKey::Derived(Derived::Secret(_))));
            let mut mapped_by = [false; 3];
            for (v, keys) in &rule.from {
                mapped_by[vi(*v)] = !keys.is_empty();
            }
            targets.push(Target {
                name: Arc::from(name),
                rule,
                rank,
                norm: None,
                secret,
                mapped_by,
            });
        }
        let index_of = |name: &str, targets: &[Target<'_>]| {
            targets
                .iter()
                .position(|t| t.name.as_ref() == name)
                .and_then(|i| u16::try_from(i).ok())
        };
        let mut keys = Vec::new();
        for name in &config.match_on {
            let Some(t) = index_of(name, &targets) else {
                continue;
            };
            let rule = targets[usize::from(t)].rule;
            let fed_by_id = |v: Vendor| {
                rule.from.get(&v).is_some_and(|ks| {
                    ks.iter()
                        .any(|k| matches!(k, SourceKey::Derived(Derived::SourceId)))
                })
            };
            let vendor_id = Vendor::ALL.iter().any(|v| fed_by_id(*v));
            let norm = Norm::for_field(name);
            targets[usize::from(t)].norm = Some(norm);
            keys.push(MatchKey {
                target: t,
                norm,
                qualified: fed_by_id(Vendor::Jamf),
                vendor_id,
            });
        }
        let mut vendors: [VendorMap<'c>; 3] = Default::default();
        let mut marker = [None; 3];
        for v in Vendor::ALL {
            let vm = &mut vendors[vi(v)];
            let mut cat: std::collections::BTreeMap<&'c str, KeyUse> =
                std::collections::BTreeMap::new();
            for (ti, t) in targets.iter().enumerate() {
                let Ok(ti) = u16::try_from(ti) else { continue };
                let Some(ks) = t.rule.from.get(&v) else {
                    continue;
                };
                for (pos, k) in ks.iter().enumerate() {
                    let pos = u8::try_from(pos).unwrap_or(u8::MAX);
                    match k {
                        SourceKey::Catalog(key) => {
                            cat.entry(key.as_str()).or_default().targets.push((ti, pos))
                        }
                        SourceKey::Derived(Derived::Secret(_)) if !config.store_recovery_key => {}
                        SourceKey::Derived(d) => {
                            if *d == Derived::SourceId && marker[vi(v)].is_none() {
                                marker[vi(v)] = Some(ti);
                            }
                            vm.derived.push((d, ti, pos));
                        }
                    }
                }
            }
            for (ki, k) in keys.iter().enumerate() {
                let Some(ks) = targets[usize::from(k.target)].rule.from.get(&v) else {
                    continue;
                };
                for (pos, sk) in ks.iter().enumerate() {
                    let pos = u8::try_from(pos).unwrap_or(u8::MAX);
                    match sk {
                        SourceKey::Catalog(key) => cat
                            .entry(key.as_str())
                            .or_default()
                            .ids
                            .push((ki as u8, pos)),
                        SourceKey::Derived(Derived::SourceId) => {
                            vm.id_from_source_id.push((ki as u8, pos))
                        }
                        SourceKey::Derived(_) => {}
                    }
                }
            }
            let dk = crate::mapping::derive_keys(v);
            for (which, list) in [dk.name, dk.identifier, dk.platform, dk.os, dk.os_version]
                .into_iter()
                .enumerate()
            {
                for (pos, key) in list.iter().enumerate() {
                    cat.entry(key)
                        .or_default()
                        .facts
                        .push((which as u8, pos as u8));
                }
            }
            vm.catalog = cat.into_iter().collect();
            vm.lookup = vm
                .catalog
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (*k, i as u32))
                .collect();
            vm.by_known = vec![NONE; known_names().names.len()];
            for (i, (k, _)) in vm.catalog.iter().enumerate() {
                if let Some(slot) = Key::new(k)
                    .known()
                    .and_then(|n| vm.by_known.get_mut(usize::from(n)))
                {
                    *slot = i as u32;
                }
            }
        }
        let status = index_of("status", &targets);
        let assignee = index_of("assignee_id", &targets);
        let mut asset_keys: Vec<(Arc<str>, Option<u8>)> = keys
            .iter()
            .enumerate()
            .map(|(ki, k)| (targets[usize::from(k.target)].name.clone(), Some(ki as u8)))
            .collect();
        asset_keys.push((Arc::from("asset_type"), None));
        asset_keys.sort_by(|a, b| a.0.cmp(&b.0));
        let mut by_name: HashMap<Arc<str>, u16, FastState> = HashMap::with_hasher(FastState::new());
        for (i, t) in targets.iter().enumerate() {
            by_name.insert(t.name.clone(), i as u16);
        }
        let n_known = known_names().names.len();
        let mut target_by_known = vec![u16::MAX; n_known];
        for (i, t) in targets.iter().enumerate() {
            if let Some(slot) = Key::new(&t.name)
                .known()
                .and_then(|n| target_by_known.get_mut(usize::from(n)))
            {
                *slot = i as u16;
            }
        }
        let mut asset_role_by_known = vec![NO_ROLE; n_known];
        for (name, ki) in &asset_keys {
            if let Some(slot) = Key::new(name)
                .known()
                .and_then(|n| asset_role_by_known.get_mut(usize::from(n)))
            {
                *slot = ki.unwrap_or(TYPE_ROLE);
            }
        }
        Compiled {
            target_by_known,
            asset_role_by_known,
            by_name,
            asset_keys,
            config,
            targets,
            vendors,
            keys,
            status,
            assignee,
            marker,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Asset index, `NONE`, or `MULTI | index into multis`.
    asset: u32,
    /// The first incoming record with this value, or `NONE`.
    first_rec: u32,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    key: u8,
    asset: u32,
    /// Found through a Jamf id on an asset of unknown kind (computer or
    /// mobile): kept only when no other identifier contradicts it.
    weak: bool,
}

/// A value a record gives a field, without copying it.
#[derive(Debug, Clone, Copy)]
enum MVal<'a> {
    Val(&'a Value),
    Str(&'a str),
    Static(&'static str),
    /// (facts index, which fact)
    Fact(u32, u8),
    /// Index into the planner's owned values.
    Owned(u32),
    Secret(&'a SecretString),
}

#[derive(Debug, Clone)]
enum Outcome {
    Skip(Cow<'static, str>),
    Conflict(String, Vec<u32>),
    Match {
        asset: u32,
        key: u8,
    },
    Create,
    Gone {
        asset: Option<(u32, u8)>,
        kind: LifecycleKind,
    },
}

struct Group {
    /// Range in `kept_buf`.
    kept: (u32, u32),
    outcome: Outcome,
    /// Partially gone: (record, kind) of the gone records.
    gone_some: Vec<(u32, LifecycleKind)>,
}

struct Planner<'a, 'c> {
    c: &'c Compiled<'c>,
    inv: &'a Inventory,
    incoming: &'a [SourceDevice],
    multis: Vec<Vec<u32>>,
    /// The shared value of each `multis` entry (for messages).
    multi_values: Vec<String>,
    hits: Vec<Hit>,
    hit_start: Vec<u32>,
    can_create: Vec<bool>,
    parent: Vec<u32>,
    /// Per asset: bit per vendor that reported it.
    seen: Vec<u8>,
    facts_index: HashMap<FactInputs<'a>, u32, FastState>,
    facts: Vec<ModelFacts>,
    owned: Vec<Value>,
    kept_buf: Vec<u32>,
    scratch_kept: Vec<u32>,
    scratch_changes: Vec<(Arc<str>, Change)>,
    scratch_old: Vec<Option<&'a Value>>,
    superseded: Vec<(u32, u32, u32)>, // (group, record, newer record)
    // employees
    emp_by_email: Option<HashMap<String, u32>>,
    emp_by_name: Option<HashMap<(String, String), Vec<u32>>>,
    planned: HashMap<String, usize>,
    /// Who the records' users are, over every record of the sync.
    users: &'a Users,
    /// The employees matched against ([`Employees::existing`]).
    employees: &'a [Employee],
    /// [`Employees::pending`].
    pending: &'a HashSet<String>,
    employee_actions: Vec<EmployeeAction>,
    likely: HashMap<String, usize>,
    likely_duplicates: Vec<LikelyDuplicate>,
    /// The complete listings of this plan ([`plan`]'s `full_listings`).
    full: Vec<Listing>,
}

/// The fields [`plan`] reads from each source's records under one
/// configuration, to drop the others as records arrive.
///
/// A sync that holds every record until it plans can hold only what the plan
/// reads: mapped and matched fields, the inputs of the model and OS
/// derivations, and the fields that tell a device is gone or which of two
/// records is newer. Planning the projected records gives the same plan as
/// planning the full ones.
///
/// ```
/// use mdm_mapping::upsert::{Config, Projection};
/// use mdm_mapping::{Entity, SourceDevice, Vendor};
///
/// let projection = Projection::new(&Config::default());
/// let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, "42");
/// d.fields
///     .serial("serial_number", Some("C02XK1ABJG5H"))
///     .text("site_name", Some("Paris"))
///     .text("ip_address", Some("10.0.0.7"));
/// projection.project(&mut d);
/// assert!(d.fields.contains("serial_number"));
/// assert!(!d.fields.contains("ip_address"));
/// ```
#[derive(Debug, Clone)]
pub struct Projection {
    keys: [KeySet; 3],
}

/// Field names: the names the crate knows by their index, others by name.
#[derive(Debug, Clone, Default)]
struct KeySet {
    known: Vec<bool>,
    other: HashSet<String, FastState>,
}

impl KeySet {
    fn insert(&mut self, name: &str) {
        match Key::new(name) {
            Key::Known(i) => {
                let i = usize::from(i);
                if self.known.len() <= i {
                    self.known.resize(i + 1, false);
                }
                self.known[i] = true;
            }
            Key::Other(_) => {
                self.other.insert(name.to_owned());
            }
        }
    }

    fn contains(&self, key: &Key) -> bool {
        match key {
            Key::Known(i) => self.known.get(usize::from(*i)).copied().unwrap_or(false),
            Key::Other(name) => self.other.contains(&**name),
        }
    }
}

impl Projection {
    /// The fields `config` makes [`plan`] read.
    pub fn new(config: &Config) -> Projection {
        let compiled = Compiled::new(config);
        let mut keys: [KeySet; 3] = Default::default();
        for v in Vendor::ALL {
            let vm = &compiled.vendors[vi(v)];
            let set = &mut keys[vi(v)];
            for (k, _) in &vm.catalog {
                set.insert(k);
            }
            for (d, _, _) in &vm.derived {
                if let Derived::DateOf(k) = d {
                    set.insert(k);
                }
            }
            // Match fields are also read under their inventory names.
            for k in &compiled.keys {
                set.insert(&compiled.targets[usize::from(k.target)].name);
            }
            for k in super::plan_keys() {
                set.insert(k);
            }
        }
        Projection { keys }
    }

    /// Whether [`plan`] reads `key` of `vendor`'s records.
    pub fn keeps(&self, vendor: Vendor, key: &str) -> bool {
        self.keys[vi(vendor)].contains(&Key::new(key))
    }

    /// Drops the fields of `device` that [`plan`] never reads.
    pub fn project(&self, device: &mut SourceDevice) {
        let keys = &self.keys[vi(device.vendor)];
        device.fields.retain_keys(|k| keys.contains(k));
    }
}

/// Plans the upsert of `incoming` records into `inventory`. Pure: no I/O.
///
/// `full_listings` names the sources whose records are a complete listing
/// ([`Listing`]; `Vendor::Jamf.into()` for an unnamed source): assets
/// carrying an id such a source would report (e.g. `jamf_id`, qualified
/// `NAME:ID` for a [`Named`](crate::source::Named) source) that no record
/// of it reported are reported as missing (and get `on_missing` when
/// configured).
///
/// Fails only when the configuration is not usable ([`Config::validate`]).
///
/// ```
/// use mdm_mapping::store::Inventory;
/// use mdm_mapping::upsert::{plan, ActionKind, Config};
/// use mdm_mapping::{Entity, SourceDevice, Vendor};
///
/// let inventory = Inventory::from_json(
///     r#"{"assets":[{"id":"a1","fields":{"serial_number":"c02xk1abjg5h","os_version":"14.1"}}]}"#,
/// ).unwrap();
/// let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, "42");
/// d.fields
///     .serial("serial_number", Some("C02XK1ABJG5H"))
///     .text("operating_system", Some("macOS 15.2.0"));
///
/// let p = plan(&inventory, &[d], &Config::default(), &[]).unwrap();
/// assert_eq!(p.summary.update, 1);
/// let a = &p.actions[0];
/// assert_eq!(a.action, ActionKind::Update);
/// assert_eq!(a.target_id.as_deref(), Some("a1"));
/// assert_eq!(a.matched_on.as_deref(), Some("serial_number"));
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["actions"][0]["changes"]["os_version"]["from"], "14.1");
/// assert_eq!(json["actions"][0]["changes"]["os_version"]["to"], "15.2.0");
/// assert_eq!(json["actions"][0]["changes"]["jamf_id"]["to"], "42");
/// ```
pub fn plan(
    inventory: &Inventory,
    incoming: &[SourceDevice],
    config: &Config,
    full_listings: &[Listing],
) -> Result<Plan, ConfigError> {
    let users = Users::of(incoming);
    plan_with_users(inventory, incoming, config, full_listings, &users)
}

/// [`plan`], with the users of a sync whose records are planned in batches
/// (`upsert::Staging`): every batch decides each new employee the same way.
pub(crate) fn plan_with_users(
    inventory: &Inventory,
    incoming: &[SourceDevice],
    config: &Config,
    full_listings: &[Listing],
    users: &Users,
) -> Result<Plan, ConfigError> {
    plan_batch(
        inventory,
        &Employees {
            existing: &inventory.employees,
            pending: no_pending(),
        },
        incoming,
        config,
        full_listings,
        users,
    )
}

/// The employees a batch is planned against.
pub(crate) struct Employees<'a> {
    /// Every employee the store held when the batch's inventory was read
    /// (the inventory's own `employees` are not read).
    pub(crate) existing: &'a [Employee],
    /// The emails of employees an earlier batch creates in a write not
    /// finished yet: an assignee with one of these emails is written as
    /// that employee ([`ChangeValue::NewEmployee`], resolved by the store
    /// inside the write, after the earlier batch's), never created again.
    pub(crate) pending: &'a HashSet<String>,
}

/// [`plan_with_users`] of a batch whose employees are given apart from its
/// assets: the sync plans a batch while the batch before is written.
pub(crate) fn plan_batch(
    inventory: &Inventory,
    employees: &Employees<'_>,
    incoming: &[SourceDevice],
    config: &Config,
    full_listings: &[Listing],
    users: &Users,
) -> Result<Plan, ConfigError> {
    config.validate()?;
    let compiled = Compiled::new(config);
    let started = std::time::Instant::now();
    let mut p = Planner::new(&compiled, inventory, employees, incoming, users);
    p.index_and_scan();
    let indexed = started.elapsed();
    let groups = p.group();
    let grouped = started.elapsed();
    let mut out = p.finish(groups, full_listings);
    out.identifier_rules = config.identifier_rules();
    tracing::debug!(
        assets = inventory.assets.len(),
        incoming = incoming.len(),
        index_ms = indexed.as_millis() as u64,
        group_ms = (grouped - indexed).as_millis() as u64,
        actions_ms = (started.elapsed() - grouped).as_millis() as u64,
        "upsert plan"
    );
    Ok(out)
}

/// No pending employee (a `'static` empty set).
fn no_pending() -> &'static HashSet<String> {
    static NONE: std::sync::OnceLock<HashSet<String>> = std::sync::OnceLock::new();
    NONE.get_or_init(HashSet::new)
}

/// The date part of an RFC 3339 date-time in UTC (`…Z`), which is what
/// [`crate::normalize::date`] gives for it, without allocating.
fn utc_date_prefix(raw: &str) -> Option<&str> {
    let b = raw.as_bytes();
    (b.len() > 11 && b[10] == b'T' && matches!(b.last(), Some(b'Z')))
        .then(|| chrono::DateTime::parse_from_rfc3339(raw).ok())
        .flatten()
        .and_then(|_| raw.get(..10))
}

fn entity_class(e: Entity) -> u8 {
    match e {
        Entity::Computer => COMPUTER,
        Entity::MobileDevice => MOBILE,
        _ => ANY,
    }
}

/// The fields [`recency`] reads, most significant first.
pub(crate) const RECENCY_KEYS: [&[&str]; 3] = [
    &["last_check_in", "last_contact_time"],
    &["last_inventory_update", "updated_date_time"],
    &[
        "last_enrollment",
        "last_enrolled_date",
        "first_enrollment",
        "added_to_org_date_time",
    ],
];

/// The recency of a record: last check-in, last inventory update, enrollment.
fn recency(d: &SourceDevice) -> (Option<&str>, Option<&str>, Option<&str>) {
    let first = |keys: &[&str]| keys.iter().find_map(|k| d.fields.get_str(k));
    let [a, b, c] = RECENCY_KEYS;
    (first(a), first(b), first(c))
}

/// Orders ids numerically when both are numbers, else as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

impl<'a, 'c> Planner<'a, 'c> {
    fn new(
        c: &'c Compiled<'c>,
        inv: &'a Inventory,
        employees: &Employees<'a>,
        incoming: &'a [SourceDevice],
        users: &'a Users,
    ) -> Self {
        let n = incoming.len();
        Planner {
            c,
            inv,
            incoming,
            multis: Vec::new(),
            multi_values: Vec::new(),
            hits: Vec::with_capacity(n * 3),
            hit_start: Vec::with_capacity(n + 1),
            can_create: vec![false; n],
            parent: (0..n as u32).collect(),
            seen: vec![0; inv.assets.len()],
            facts_index: HashMap::with_hasher(FastState::new()),
            facts: Vec::new(),
            owned: Vec::new(),
            kept_buf: Vec::with_capacity(n),
            scratch_kept: Vec::new(),
            scratch_changes: Vec::new(),
            scratch_old: Vec::new(),
            superseded: Vec::new(),
            emp_by_email: None,
            emp_by_name: None,
            planned: HashMap::new(),
            users,
            employees: employees.existing,
            pending: employees.pending,
            employee_actions: Vec::new(),
            likely: HashMap::new(),
            likely_duplicates: Vec::new(),
            full: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeySet, utc_date_prefix};
    use crate::normalize;
    use crate::record::Key;

    #[test]
    fn a_key_set_holds_known_names_by_index_and_others_by_name() {
        let mut set = KeySet::default();
        set.insert("serial_number");
        set.insert("x_custom_attribute");
        assert!(matches!(Key::new("serial_number"), Key::Known(_)));
        assert!(matches!(Key::new("x_custom_attribute"), Key::Other(_)));
        assert!(set.contains(&Key::new("serial_number")));
        assert!(set.contains(&Key::new("x_custom_attribute")));
        assert!(!set.contains(&Key::new("udid")));
        assert!(!set.contains(&Key::new("x_other_attribute")));
    }

    #[test]
    fn the_borrowed_date_of_a_utc_date_time_is_what_normalize_date_gives() {
        for raw in [
            "2025-01-01T10:00:00Z",
            "2024-02-29T23:59:59.123456Z",
            "1999-12-31T00:00:00Z",
        ] {
            assert_eq!(
                utc_date_prefix(raw),
                normalize::date(raw).as_deref(),
                "{raw}"
            );
        }
        // Not a UTC date-time, or not a valid one: left to `normalize::date`.
        for raw in [
            "2025-01-01T23:30:00-05:00",
            "2025-13-01T10:00:00Z",
            "2025-02-30T10:00:00Z",
            " 2025-01-01T10:00:00Z",
            "2025-01-01",
            "2025-01-01TZ",
        ] {
            assert_eq!(utc_date_prefix(raw), None, "{raw}");
        }
    }
}
