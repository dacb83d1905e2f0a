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
use crate::store::{Asset, Employee, Inventory, NewEmployee};

// ---------------------------------------------------------------------------
// The plan's public shape.

/// One source record an action is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SourceRef {
    /// The source.
    pub vendor: Vendor,
    /// The source's id of the record (ids of up to 24 bytes, which is most
    /// of them, are stored inline).
    pub source_id: CompactString,
    /// The kind of record (Jamf numbers computers and mobile devices
    /// apart, so `jamf 42` may be either). Not part of the JSON.
    #[serde(skip)]
    pub entity: crate::record::Entity,
}

impl SourceRef {
    fn of(d: &SourceDevice) -> SourceRef {
        SourceRef {
            vendor: d.vendor,
            entity: d.entity,
            source_id: CompactString::from(d.source_id.as_str()),
        }
    }
}

/// The source records of an action: one inline (the common case), more on
/// the heap.
pub type SourceRefs = SmallVec<[SourceRef; 1]>;

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.vendor, self.source_id)
    }
}

/// What the plan does with one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a new asset.
    Create,
    /// Write changed fields of an existing asset.
    Update,
    /// The asset already says everything the sources say.
    Unchanged,
    /// Ambiguous: the candidates are named, nothing is written.
    Conflict,
    /// Not usable (no identifier, superseded, removed): the reason says why.
    Skip,
}

/// A value in a change: plain, a redacted secret, or the employee the plan
/// creates for an email.
#[derive(Clone)]
pub enum ChangeValue {
    /// A plain value.
    Value(Value),
    /// A secret: serialized and printed as `"[redacted]"`.
    Secret(SecretString),
    /// The id of the employee this plan creates for that email; serialized
    /// as `"(new employee EMAIL)"`.
    NewEmployee(String),
}

impl ChangeValue {
    /// The plain value, if this is one.
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            ChangeValue::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl PartialEq for ChangeValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ChangeValue::Value(a), ChangeValue::Value(b)) => a == b,
            (ChangeValue::Secret(a), ChangeValue::Secret(b)) => {
                a.expose_secret() == b.expose_secret()
            }
            (ChangeValue::NewEmployee(a), ChangeValue::NewEmployee(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for ChangeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeValue::Value(v) => v.fmt(f),
            ChangeValue::Secret(_) => f.write_str("[redacted]"),
            ChangeValue::NewEmployee(e) => write!(f, "(new employee {e})"),
        }
    }
}

impl fmt::Display for ChangeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeValue::Value(v) => v.fmt(f),
            ChangeValue::Secret(_) => f.write_str("[redacted]"),
            ChangeValue::NewEmployee(e) => write!(f, "(new employee {e})"),
        }
    }
}

impl Serialize for ChangeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ChangeValue::Value(v) => v.serialize(s),
            ChangeValue::Secret(_) => s.serialize_str("[redacted]"),
            ChangeValue::NewEmployee(e) => s.collect_str(&format_args!("(new employee {e})")),
        }
    }
}

/// One field's change: `{"from": ..., "to": ...}` (`null` = no value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The inventory's value before.
    pub from: Option<ChangeValue>,
    /// The value after.
    pub to: Option<ChangeValue>,
}

/// The field-level changes of an action, by field name (sorted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(Vec<(Arc<str>, Change)>);

impl Changes {
    /// The change of one field.
    pub fn get(&self, field: &str) -> Option<&Change> {
        self.0
            .iter()
            .find(|(k, _)| k.as_ref() == field)
            .map(|(_, c)| c)
    }

    /// Every change, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Change)> {
        self.0.iter().map(|(k, c)| (k.as_ref(), c))
    }

    /// Number of fields changed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Changes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, c) in &self.0 {
            m.serialize_entry(k.as_ref(), c)?;
        }
        m.end()
    }
}

/// One action of the plan.
///
/// JSON: `{"action","sources":[{"vendor","source_id"}],"target_id","matched_on","changes":{FIELD:{"from","to"}},"reason"}`,
/// plus `"candidates":[asset ids]` on conflicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// What happens.
    pub action: ActionKind,
    /// The source records this action is about.
    pub sources: SourceRefs,
    /// The asset written or matched (`None` for creates and most conflicts and
    /// skips; ids of up to 24 bytes are stored inline).
    pub target_id: Option<CompactString>,
    /// The identifier field the asset was matched on.
    pub matched_on: Option<Arc<str>>,
    /// Field-level changes (creates: every field set).
    pub changes: Changes,
    /// Why, in words.
    pub reason: Cow<'static, str>,
    /// On conflicts: the assets that could be meant.
    pub candidates: Vec<String>,
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = 6 + usize::from(!self.candidates.is_empty());
        let mut st = s.serialize_struct("Action", n)?;
        st.serialize_field("action", &self.action)?;
        st.serialize_field("sources", &self.sources)?;
        st.serialize_field("target_id", &self.target_id)?;
        st.serialize_field("matched_on", &self.matched_on.as_deref())?;
        st.serialize_field("changes", &self.changes)?;
        st.serialize_field("reason", &self.reason)?;
        if !self.candidates.is_empty() {
            st.serialize_field("candidates", &self.candidates)?;
        } else {
            st.skip_field("candidates")?;
        }
        st.end()
    }
}

/// Counts of the plan's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Assets to create.
    pub create: usize,
    /// Assets to update.
    pub update: usize,
    /// Assets already up to date.
    pub unchanged: usize,
    /// Conflicts (nothing written).
    pub conflict: usize,
    /// Records skipped.
    pub skip: usize,
    /// Employees to create.
    pub employee_create: usize,
}

/// What happens to an employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmployeeActionKind {
    /// Create the employee.
    Create,
    /// Not created: the reason says why (a missing name part).
    Skip,
}

/// An employee the plan creates (or could not create).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployeeAction {
    /// Create or skip.
    pub action: EmployeeActionKind,
    /// The email the devices' user has (lower case).
    pub email: String,
    /// The employee to create (on `create`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee: Option<NewEmployee>,
    /// The records naming this user.
    pub sources: Vec<SourceRef>,
    /// Why.
    pub reason: Cow<'static, str>,
}

/// A device user who is probably an existing employee under another email.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LikelyDuplicate {
    /// The email the source reports.
    pub email: String,
    /// First name as reported.
    pub first_name: String,
    /// Last name as reported.
    pub last_name: String,
    /// The existing employee with that name.
    pub employee_id: String,
    /// That employee's emails.
    pub employee_emails: Vec<String>,
    /// The records naming this user.
    pub sources: Vec<SourceRef>,
}

/// Why a device counts as gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleKind {
    /// The MDM marks it removed (Kandji `is_removed`).
    Removed,
    /// Released from the organisation (ABM `released_from_org_date_time`, status `RELEASED`).
    Released,
    /// Absent from a full listing of a source that had recorded it.
    Missing,
}

/// An asset whose device is gone from a source. Nothing is ever deleted; the
/// status changes only when the configuration says so (`on_missing`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifecycleEvent {
    /// What happened.
    pub event: LifecycleKind,
    /// The source it happened in.
    pub vendor: Vendor,
    /// The asset, when there is one.
    pub target_id: Option<String>,
    /// The records (none for `missing`).
    pub sources: Vec<SourceRef>,
    /// The status change, when configured and needed.
    pub status: Option<Change>,
    /// Why, in words.
    pub reason: String,
}

/// The result of [`plan`]: every action with its reason and changes.
///
/// Serializes to the design's JSON: `{"summary":{...},"actions":[...]}`, plus
/// three documented extra keys: `employees` (employees to create or that
/// could not be), `likely_duplicates` (device users who match an employee by
/// name but not by email: not created, not assigned) and `lifecycle` (gone
/// devices and their status changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Counts.
    pub summary: Summary,
    /// One action per device (and one `skip` per superseded record).
    pub actions: Vec<Action>,
    /// Employees to create.
    pub employees: Vec<EmployeeAction>,
    /// Users that look like existing employees under another email.
    pub likely_duplicates: Vec<LikelyDuplicate>,
    /// Gone devices.
    pub lifecycle: Vec<LifecycleEvent>,
    /// The identifier fields the store must keep unique when this plan is
    /// applied: the configuration's ([`Config::identifier_rules`]).
    #[serde(skip)]
    pub identifier_rules: crate::store::IdentifierRules,
}

impl Plan {
    /// Whether applying the plan would write nothing.
    pub fn is_noop(&self) -> bool {
        self.summary.create == 0
            && self.summary.update == 0
            && self.summary.employee_create == 0
            && self.lifecycle.iter().all(|e| e.status.is_none())
    }

    pub(crate) fn count(&mut self) {
        let mut s = Summary::default();
        for a in &self.actions {
            match a.action {
                ActionKind::Create => s.create += 1,
                ActionKind::Update => s.update += 1,
                ActionKind::Unchanged => s.unchanged += 1,
                ActionKind::Conflict => s.conflict += 1,
                ActionKind::Skip => s.skip += 1,
            }
        }
        s.employee_create = self
            .employees
            .iter()
            .filter(|e| e.action == EmployeeActionKind::Create)
            .count();
        self.summary = s;
    }
}

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

// ---------------------------------------------------------------------------
// The planner.

const NONE: u32 = u32::MAX;
const MULTI: u32 = 0x8000_0000;

const ANY: u8 = 0;
const COMPUTER: u8 = 1;
const MOBILE: u8 = 2;

/// A normalized identifier in the index. Values of up to 28 bytes, and
/// UUIDs (packed to 16 bytes), are stored inline so that comparing two keys
/// never leaves the table's memory; longer values are referenced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum IdKey<'a> {
    Short {
        key: u8,
        class: u8,
        /// Bytes used, or `UUID` when `bytes[..16]` holds a packed UUID.
        len: u8,
        bytes: [u8; 28],
    },
    Long {
        key: u8,
        class: u8,
        value: Cow<'a, str>,
    },
}

const UUID: u8 = u8::MAX;

fn hex_nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> IdKey<'a> {
    /// A hash of the match key and the value, not of the class: the same
    /// value of a Jamf id for a computer, a mobile device and an asset of
    /// unknown kind land in one partition and one probe chain.
    fn value_hash(&self, state: &FastState) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = state.build_hasher();
        match self {
            IdKey::Short {
                key, len, bytes, ..
            } => {
                h.write_u8(*key);
                h.write_u8(*len);
                h.write(bytes);
            }
            IdKey::Long { key, value, .. } => {
                h.write_u8(*key);
                h.write_u8(0xfe);
                h.write(value.as_bytes());
            }
        }
        h.finish()
    }

    fn key_index(&self) -> u8 {
        match self {
            IdKey::Short { key, .. } | IdKey::Long { key, .. } => *key,
        }
    }

    fn with_class(&self, class: u8) -> IdKey<'a> {
        let mut k = self.clone();
        match &mut k {
            IdKey::Short { class: c, .. } | IdKey::Long { class: c, .. } => *c = class,
        }
        k
    }

    /// The value as text (for messages).
    fn text(&self) -> String {
        match self {
            IdKey::Long { value, .. } => value.to_string(),
            IdKey::Short { len, bytes, .. } if *len == UUID => {
                let hex: String = bytes[..16].iter().map(|b| format!("{b:02X}")).collect();
                format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )
            }
            IdKey::Short { len, bytes, .. } => {
                String::from_utf8_lossy(&bytes[..usize::from(*len).min(bytes.len())]).into_owned()
            }
        }
    }

    fn new(key: u8, class: u8, value: Cow<'a, str>) -> IdKey<'a> {
        let b = value.as_bytes();
        let mut bytes = [0u8; 28];
        // 8-4-4-4-12 upper-case hex: 16 bytes.
        if b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') {
            let mut nibbles = b.iter().filter(|c| **c != b'-').map(|c| hex_nibble(*c));
            let mut ok = true;
            for out in bytes.iter_mut().take(16) {
                match (nibbles.next().flatten(), nibbles.next().flatten()) {
                    (Some(hi), Some(lo)) => *out = (hi << 4) | lo,
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return IdKey::Short {
                    key,
                    class,
                    len: UUID,
                    bytes,
                };
            }
            bytes = [0u8; 28];
        }
        if b.len() <= bytes.len() {
            bytes[..b.len()].copy_from_slice(b);
            return IdKey::Short {
                key,
                class,
                len: b.len() as u8,
                bytes,
            };
        }
        IdKey::Long { key, class, value }
    }
}

/// One identifier of an asset or of an incoming record, while indexing.
#[derive(Debug)]
struct IdRec<'a> {
    key: IdKey<'a>,
    hash: u64,
    /// Asset index or record index.
    who: u32,
    incoming: bool,
    /// Also look the value up on assets of unknown kind (Jamf ids).
    probe_any: bool,
    /// The record's vendor bit (incoming only).
    vendor_bit: u8,
}

impl<'a> IdRec<'a> {
    fn new(key: IdKey<'a>, who: u32, incoming: bool, probe_any: bool) -> Self {
        IdRec {
            key,
            hash: 0,
            who,
            incoming,
            probe_any,
            vendor_bit: 0,
        }
    }
}

/// The identifier index: open addressing with linear probing over 8-byte
/// cells (32 bits of hash, 32 bits of entry number), keys and slots kept
/// apart in insertion order. One cell per probe keeps the table small and
/// the probes cheap; a key is compared only when the hash bits agree.
struct IdIndex<'a> {
    cells: Vec<u64>,
    mask: usize,
    keys: Vec<IdKey<'a>>,
    hashes: Vec<u64>,
    slots: Vec<Slot>,
}

impl<'a> IdIndex<'a> {
    fn with_capacity(n: usize) -> Self {
        let cap = (n.max(8) * 2).next_power_of_two();
        IdIndex {
            cells: vec![0; cap],
            mask: cap - 1,
            keys: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            slots: Vec::with_capacity(n),
        }
    }

    fn clear(&mut self) {
        if !self.keys.is_empty() {
            self.cells.fill(0);
        }
        self.keys.clear();
        self.hashes.clear();
        self.slots.clear();
    }

    /// `Ok(entry)` when present, else `Err(free cell)`.
    fn find(&self, h: u64, key: &IdKey<'_>) -> Result<usize, usize> {
        let tag = h >> 32;
        let mut pos = (h as usize) & self.mask;
        loop {
            let cell = self.cells[pos];
            if cell == 0 {
                return Err(pos);
            }
            if cell >> 32 == tag {
                let i = (cell & 0xffff_ffff) as usize - 1;
                if self.keys[i] == *key {
                    return Ok(i);
                }
            }
            pos = (pos + 1) & self.mask;
        }
    }

    fn get(&self, h: u64, key: &IdKey<'_>) -> Option<&Slot> {
        self.find(h, key).ok().map(|i| &self.slots[i])
    }

    /// The slot of `key` (hash `h`), inserted empty when absent.
    fn entry(&mut self, h: u64, key: IdKey<'a>) -> &mut Slot {
        if (self.keys.len() + 1) * 2 > self.cells.len() {
            self.grow();
        }
        match self.find(h, &key) {
            Ok(i) => &mut self.slots[i],
            Err(pos) => {
                let i = self.keys.len();
                self.keys.push(key);
                self.hashes.push(h);
                self.slots.push(Slot {
                    asset: NONE,
                    first_rec: NONE,
                });
                self.cells[pos] = ((h >> 32) << 32) | (i as u64 + 1);
                &mut self.slots[i]
            }
        }
    }

    fn grow(&mut self) {
        let cap = self.cells.len() * 2;
        self.cells = vec![0; cap];
        self.mask = cap - 1;
        for (i, &h) in self.hashes.iter().enumerate() {
            let mut pos = (h as usize) & self.mask;
            while self.cells[pos] != 0 {
                pos = (pos + 1) & self.mask;
            }
            self.cells[pos] = ((h >> 32) << 32) | (i as u64 + 1);
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
    employee_actions: Vec<EmployeeAction>,
    likely: HashMap<String, usize>,
    likely_duplicates: Vec<LikelyDuplicate>,
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
    keys: [HashSet<String>; 3],
}

impl Projection {
    /// The fields `config` makes [`plan`] read.
    pub fn new(config: &Config) -> Projection {
        let compiled = Compiled::new(config);
        let mut keys: [HashSet<String>; 3] = Default::default();
        for v in Vendor::ALL {
            let vm = &compiled.vendors[vi(v)];
            let set = &mut keys[vi(v)];
            set.extend(vm.catalog.iter().map(|(k, _)| (*k).to_string()));
            for (d, _, _) in &vm.derived {
                if let Derived::DateOf(k) = d {
                    set.insert(k.clone());
                }
            }
            // Match fields are also read under their inventory names.
            set.extend(
                compiled
                    .keys
                    .iter()
                    .map(|k| compiled.targets[usize::from(k.target)].name.to_string()),
            );
            set.extend(super::plan_keys().map(str::to_string));
        }
        Projection { keys }
    }

    /// Whether [`plan`] reads `key` of `vendor`'s records.
    pub fn keeps(&self, vendor: Vendor, key: &str) -> bool {
        self.keys[vi(vendor)].contains(key)
    }

    /// Drops the fields of `device` that [`plan`] never reads.
    pub fn project(&self, device: &mut SourceDevice) {
        let keys = &self.keys[vi(device.vendor)];
        device.fields.retain(|k, _| keys.contains(k));
    }
}

/// Plans the upsert of `incoming` records into `inventory`. Pure: no I/O.
///
/// `full_listings` names the sources whose records are a complete listing:
/// assets carrying such a source's id (e.g. `jamf_id`) that no record of it
/// reported are reported as missing (and get `on_missing` when configured).
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
    full_listings: &[Vendor],
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
    full_listings: &[Vendor],
    users: &Users,
) -> Result<Plan, ConfigError> {
    config.validate()?;
    let compiled = Compiled::new(config);
    let started = std::time::Instant::now();
    let mut p = Planner::new(&compiled, inventory, incoming, users);
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

/// The fields [`gone_kind`] reads.
pub(crate) const LIFECYCLE_KEYS: &[&str] = &["is_removed", "released_from_org_date_time", "status"];

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

fn gone_kind(d: &SourceDevice) -> Option<LifecycleKind> {
    match d.vendor {
        Vendor::Kandji => (d.fields.get("is_removed").and_then(Value::as_bool) == Some(true))
            .then_some(LifecycleKind::Removed),
        Vendor::Abm => {
            let released = d.fields.contains("released_from_org_date_time")
                || d.fields
                    .get_str("status")
                    .is_some_and(|s| s.eq_ignore_ascii_case("released"));
            released.then_some(LifecycleKind::Released)
        }
        Vendor::Jamf => None,
    }
}

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

pub(crate) fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

pub(crate) fn union(parent: &mut [u32], a: u32, b: u32) {
    let ra = find(parent, a);
    let rb = find(parent, b);
    if ra != rb {
        // The smaller index becomes the root: groups keep input order.
        if ra < rb {
            parent[rb as usize] = ra;
        } else {
            parent[ra as usize] = rb;
        }
    }
}

impl<'a, 'c> Planner<'a, 'c> {
    fn new(
        c: &'c Compiled<'c>,
        inv: &'a Inventory,
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
            employee_actions: Vec::new(),
            likely: HashMap::new(),
            likely_duplicates: Vec::new(),
        }
    }

    /// Indexes every identifier of the inventory and of the incoming
    /// records, and matches them: hits (record → asset), unions of records
    /// sharing a value, and the assets each source reported.
    ///
    /// The identifiers are first gathered in one array, then partitioned by
    /// hash so that each partition's table fits in the CPU cache; each
    /// partition inserts its assets' values, then looks its records' values
    /// up. Time grows linearly with the data, without the cache misses of
    /// one table over millions of values.
    fn index_and_scan(&mut self) {
        let c = self.c;
        let inv: &'a Inventory = self.inv;
        let incoming: &'a [SourceDevice] = self.incoming;
        let mut recs: Vec<IdRec<'a>> =
            Vec::with_capacity(inv.assets.len() * 3 + incoming.len() * 3);

        // Assets: one ordered walk over each asset's fields picks the match
        // fields and the asset type.
        let mut found: Vec<(u8, &'a Value)> = Vec::new();
        for (ai, asset) in inv.assets.iter().enumerate() {
            Self::asset_ids(c, asset, &mut found, |ki, class, value| {
                recs.push(IdRec::new(
                    IdKey::new(ki, class, value),
                    ai as u32,
                    false,
                    false,
                ));
            });
        }
        // Incoming records.
        for (r, d) in incoming.iter().enumerate() {
            let class_of = entity_class(d.entity);
            let mut can_create = false;
            Self::record_ids(c, d, |ki, value| {
                let k = &c.keys[usize::from(ki)];
                if !k.vendor_id {
                    can_create = true;
                }
                let class = if k.qualified { class_of } else { ANY };
                let probe_any = k.qualified && class != ANY;
                let mut rec = IdRec::new(IdKey::new(ki, class, value), r as u32, true, probe_any);
                rec.vendor_bit = 1u8 << vi(d.vendor);
                recs.push(rec);
            });
            self.can_create[r] = can_create;
        }

        // Partition by hash.
        let state = FastState::new();
        for rec in &mut recs {
            rec.hash = rec.key.value_hash(&state);
        }
        let total = recs.len();
        let bits = (usize::BITS - (total / 1024).max(1).leading_zeros()).min(16);
        let parts = 1usize << bits;
        let part = |h: u64| ((h >> 40) as usize) & (parts - 1);
        let mut start = vec![0usize; parts + 1];
        for rec in &recs {
            start[part(rec.hash) + 1] += 1;
        }
        for p in 0..parts {
            start[p + 1] += start[p];
        }
        let largest = (0..parts)
            .map(|p| start[p + 1] - start[p])
            .max()
            .unwrap_or(0);
        // Sort by partition in two stable passes of moves into buckets (low
        // digit, then high digit). Each pass reads in order and appends to at
        // most a few hundred places, which the caches absorb; one pass over
        // thousands of partitions would miss the cache on nearly every write.
        let lo_bits = bits / 2;
        let lo_mask = (1usize << lo_bits) - 1;
        let lo_n = 1usize << lo_bits;
        let hi_n = 1usize << (bits - lo_bits);
        let mut lo_len = vec![0usize; lo_n];
        let mut hi_len = vec![0usize; hi_n];
        for p in 0..parts {
            lo_len[p & lo_mask] += start[p + 1] - start[p];
            hi_len[p >> lo_bits] += start[p + 1] - start[p];
        }
        let mut by_lo: Vec<Vec<IdRec<'a>>> =
            lo_len.iter().map(|n| Vec::with_capacity(*n)).collect();
        for rec in recs {
            by_lo[part(rec.hash) & lo_mask].push(rec);
        }
        let mut by_hi: Vec<Vec<IdRec<'a>>> =
            hi_len.iter().map(|n| Vec::with_capacity(*n)).collect();
        for bucket in by_lo {
            for rec in bucket {
                by_hi[part(rec.hash) >> lo_bits].push(rec);
            }
        }

        // Per partition: insert assets, look records up. Partition `p` is a
        // run of bucket `p >> lo_bits`, after the runs of its lower digits.
        let mut table = IdIndex::with_capacity(largest);
        let mut hits: Vec<(u32, Hit)> = Vec::with_capacity(incoming.len() * 3);
        let mut offset = 0usize;
        for p in 0..parts {
            table.clear();
            if p & lo_mask == 0 {
                offset = 0;
            }
            let len = start[p + 1] - start[p];
            let part_recs = by_hi
                .get(p >> lo_bits)
                .and_then(|b| b.get(offset..offset + len))
                .unwrap_or_default();
            offset += len;
            // Assets first, then the records that look them up.
            for rec in part_recs.iter().filter(|r| !r.incoming) {
                let ai = rec.who;
                let slot = table.entry(rec.hash, rec.key.clone());
                if slot.asset == NONE {
                    slot.asset = ai;
                } else if slot.asset & MULTI != 0 {
                    let list = &mut self.multis[(slot.asset & !MULTI) as usize];
                    if !list.contains(&ai) {
                        list.push(ai);
                    }
                } else if slot.asset != ai {
                    self.multis.push(vec![slot.asset, ai]);
                    self.multi_values.push(rec.key.text());
                    slot.asset = MULTI | (self.multis.len() as u32 - 1);
                }
            }
            for rec in part_recs.iter().filter(|r| r.incoming) {
                let r = rec.who;
                let ki = rec.key.key_index();
                let bit = rec.vendor_bit;
                let slot = table.entry(rec.hash, rec.key.clone());
                if slot.first_rec == NONE {
                    slot.first_rec = r;
                } else {
                    union(&mut self.parent, r, slot.first_rec);
                }
                let mut found_assets: [(u32, bool); 2] = [(NONE, false); 2];
                if slot.asset != NONE {
                    found_assets[0] = (slot.asset, false);
                }
                if rec.probe_any
                    && let Some(s) = table.get(rec.hash, &rec.key.with_class(ANY))
                    && s.asset != NONE
                {
                    found_assets[1] = (s.asset, true);
                }
                for (asset, weak) in found_assets {
                    if asset == NONE {
                        continue;
                    }
                    hits.push((
                        r,
                        Hit {
                            key: ki,
                            asset,
                            weak,
                        },
                    ));
                    if asset & MULTI != 0 {
                        for a in &self.multis[(asset & !MULTI) as usize] {
                            self.seen[*a as usize] |= bit;
                        }
                    } else {
                        self.seen[asset as usize] |= bit;
                    }
                }
            }
        }
        drop(by_hi);

        // Hits by record (counting sort).
        let n = incoming.len();
        let mut hs = vec![0u32; n + 1];
        for (r, _) in &hits {
            hs[*r as usize + 1] += 1;
        }
        for r in 0..n {
            hs[r + 1] += hs[r];
        }
        let mut fill = hs.clone();
        self.hits = vec![
            Hit {
                key: 0,
                asset: NONE,
                weak: false,
            };
            hits.len()
        ];
        for (r, h) in hits {
            self.hits[fill[r as usize] as usize] = h;
            fill[r as usize] += 1;
        }
        self.hit_start = hs;
    }

    /// Calls `f` with each normalized identifier of record `d`, per match
    /// key (the first of the key's sources that has a value).
    /// Calls `f(match key, class, value)` for every identifier of `asset`.
    /// `found` is scratch space.
    fn asset_ids(
        c: &Compiled<'c>,
        asset: &'a Asset,
        found: &mut Vec<(u8, &'a Value)>,
        mut f: impl FnMut(u8, u8, Cow<'a, str>),
    ) {
        found.clear();
        let mut class = ANY;
        for (key, value) in asset.fields.entries() {
            match c.asset_role(key) {
                NO_ROLE => {}
                TYPE_ROLE => {
                    class = match value
                        .as_str()
                        .and_then(|s| s.parse::<AssetType>().ok())
                        .and_then(AssetType::is_computer)
                    {
                        Some(true) => COMPUTER,
                        Some(false) => MOBILE,
                        None => ANY,
                    }
                }
                ki => found.push((ki, value)),
            }
        }
        for &(ki, v) in found.iter() {
            let k = &c.keys[usize::from(ki)];
            let cl = if k.qualified { class } else { ANY };
            ident::for_each_id(k.norm, v, |value| f(ki, cl, value));
        }
    }

    fn record_ids(c: &Compiled<'c>, d: &'a SourceDevice, mut f: impl FnMut(u8, Cow<'a, str>)) {
        #[derive(Clone, Copy)]
        enum Src<'v> {
            V(&'v Value),
            S(&'v str),
        }
        let vm = &c.vendors[vi(d.vendor)];
        // (match key, position, value); few per record, kept on the stack.
        let mut cand: [(u8, u8, Option<Src<'a>>); 16] = [(0, 0, None); 16];
        let mut n = 0usize;
        for (key, value) in d.fields.entries() {
            if let Some(uses) = vm.uses(key) {
                for &(ki, pos) in &uses.ids {
                    if n < cand.len() {
                        cand[n] = (ki, pos, Some(Src::V(value)));
                        n += 1;
                    }
                }
            }
        }
        for &(ki, pos) in &vm.id_from_source_id {
            if n < cand.len() {
                cand[n] = (ki, pos, Some(Src::S(d.source_id.as_str())));
                n += 1;
            }
        }
        for ki in 0..c.keys.len() as u8 {
            let norm = c.keys[usize::from(ki)].norm;
            // Sources in position order; the first giving an id wins.
            let mut order: [(u8, usize); 16] = [(u8::MAX, 0); 16];
            let mut m = 0usize;
            for (i, (k, pos, _)) in cand[..n].iter().enumerate() {
                if *k == ki {
                    order[m] = (*pos, i);
                    m += 1;
                }
            }
            order[..m].sort_unstable();
            for &(_, i) in &order[..m] {
                let mut any = false;
                match cand[i].2 {
                    Some(Src::V(v)) => ident::for_each_id(norm, v, |id| {
                        any = true;
                        f(ki, id)
                    }),
                    Some(Src::S(s)) => {
                        if let Some(id) = ident::normalize_id(norm, s) {
                            any = true;
                            f(ki, id);
                        }
                    }
                    None => {}
                }
                if any {
                    break;
                }
            }
        }
    }

    fn hits_of(&self, r: u32) -> &[Hit] {
        let s = self.hit_start[r as usize] as usize;
        let e = self.hit_start[r as usize + 1] as usize;
        &self.hits[s..e]
    }

    /// Groups records by shared identifiers, in order of first appearance.
    fn group(&mut self) -> Vec<Group> {
        let n = self.incoming.len();
        let mut gid = vec![NONE; n];
        let mut first_of_group: Vec<u32> = Vec::with_capacity(n);
        let mut of_record = vec![0u32; n];
        for r in 0..n as u32 {
            let root = find(&mut self.parent, r) as usize;
            if gid[root] == NONE {
                gid[root] = first_of_group.len() as u32;
                first_of_group.push(r);
            }
            of_record[r as usize] = gid[root];
        }
        let g = first_of_group.len();
        // Counting sort of records by group.
        let mut start = vec![0u32; g + 1];
        for &x in &of_record {
            start[x as usize + 1] += 1;
        }
        for i in 0..g {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut members = vec![0u32; n];
        for (r, &x) in of_record.iter().enumerate() {
            members[fill[x as usize] as usize] = r as u32;
            fill[x as usize] += 1;
        }
        let mut groups = Vec::with_capacity(g);
        for gi in 0..g {
            let m = &members[start[gi] as usize..start[gi + 1] as usize];
            let group = self.resolve(gi as u32, m);
            groups.push(group);
        }
        groups
    }

    /// Collapses, checks and matches one group.
    fn resolve(&mut self, gi: u32, members: &[u32]) -> Group {
        let kept_start = self.kept_buf.len() as u32;
        if let [r] = members {
            self.kept_buf.push(*r);
        } else {
            // One record per (vendor, entity): the newest.
            let mut best: Vec<u32> = Vec::new();
            for &r in members {
                let d = &self.incoming[r as usize];
                match best.iter_mut().find(|b| {
                    let o = &self.incoming[**b as usize];
                    o.vendor == d.vendor && o.entity == d.entity
                }) {
                    None => best.push(r),
                    Some(b) => {
                        let o = &self.incoming[*b as usize];
                        let newer = recency(d)
                            .cmp(&recency(o))
                            .then_with(|| id_order(&d.source_id, &o.source_id))
                            .is_gt();
                        let (winner, loser) = if newer { (r, *b) } else { (*b, r) };
                        let same_id = d.source_id == o.source_id;
                        *b = winner;
                        if !same_id {
                            self.superseded.push((gi, loser, winner));
                        }
                    }
                }
            }
            // Superseded records that lost to a later loser point at the final winner.
            for s in self.superseded.iter_mut().filter(|s| s.0 == gi) {
                let d = &self.incoming[s.1 as usize];
                if let Some(w) = best.iter().find(|b| {
                    let o = &self.incoming[**b as usize];
                    o.vendor == d.vendor && o.entity == d.entity
                }) {
                    s.2 = *w;
                }
            }
            self.kept_buf.extend_from_slice(&best);
        }
        let kept_end = self.kept_buf.len() as u32;
        let mut kept = std::mem::take(&mut self.scratch_kept);
        kept.clear();
        kept.extend_from_slice(&self.kept_buf[kept_start as usize..kept_end as usize]);
        let mut group = Group {
            kept: (kept_start, kept_end),
            outcome: Outcome::Create,
            gone_some: Vec::new(),
        };
        self.classify(&kept, &mut group);
        self.scratch_kept = kept;
        group
    }

    /// Decides a group's outcome from its kept records.
    fn classify(&mut self, kept: &[u32], group: &mut Group) {
        if !kept.iter().any(|r| self.can_create[*r as usize]) {
            let names: Vec<&str> = self
                .c
                .keys
                .iter()
                .filter(|k| !k.vendor_id)
                .map(|k| self.c.targets[usize::from(k.target)].name.as_ref())
                .collect();
            group.outcome = Outcome::Skip(Cow::Owned(format!(
                "no identifier to match on ({}): the device cannot be told apart from others, so no asset is created",
                names.join(", ")
            )));
            return;
        }

        if kept.len() > 1
            && let Some(reason) = self.disagreement(kept)
        {
            group.outcome = Outcome::Conflict(reason, Vec::new());
            return;
        }

        // Candidate assets.
        // Distinct assets hit, with the best key; on the stack (more than
        // eight is a conflict whatever they are).
        let mut single_buf: [(u32, u8); 8] = [(0, 0); 8];
        let mut ns = 0usize;
        let mut multi: Vec<u32> = Vec::new();
        let mut multi_key: Option<u8> = None;
        let mut multi_at: Option<usize> = None;
        let weak_ok = self.weak_hits_ok(kept);
        for &r in kept {
            for h in self.hits_of(r) {
                if h.weak && !weak_ok.contains(&h.asset) {
                    continue;
                }
                if h.asset & MULTI != 0 {
                    multi_key.get_or_insert(h.key);
                    multi_at.get_or_insert((h.asset & !MULTI) as usize);
                    for a in &self.multis[(h.asset & !MULTI) as usize] {
                        if !multi.contains(a) {
                            multi.push(*a);
                        }
                    }
                } else if let Some(e) = single_buf[..ns].iter_mut().find(|(a, _)| *a == h.asset) {
                    e.1 = e.1.min(h.key);
                } else if ns < single_buf.len() {
                    single_buf[ns] = (h.asset, h.key);
                    ns += 1;
                }
            }
        }
        let single = &mut single_buf[..ns];
        let matched = if let Some(k) = multi_key {
            for (a, _) in single.iter() {
                if !multi.contains(a) {
                    multi.push(*a);
                }
            }
            multi.sort_unstable();
            let name = &self.c.targets[usize::from(self.c.keys[usize::from(k)].target)].name;
            let value = multi_at
                .and_then(|i| self.multi_values.get(i))
                .cloned()
                .unwrap_or_default();
            group.outcome = Outcome::Conflict(
                format!(
                    "{name} {value} matches {} assets of the inventory",
                    multi.len()
                ),
                multi,
            );
            return;
        } else if single.len() > 1 {
            single.sort_unstable();
            let parts: Vec<String> = single
                .iter()
                .map(|(a, k)| {
                    format!(
                        "{} → {}",
                        self.c.targets[usize::from(self.c.keys[usize::from(*k)].target)].name,
                        self.inv.assets[*a as usize].id
                    )
                })
                .collect();
            group.outcome = Outcome::Conflict(
                format!(
                    "identifiers point at different assets ({})",
                    parts.join(", ")
                ),
                single.iter().map(|(a, _)| *a).collect(),
            );
            return;
        } else {
            single.first().copied()
        };

        // Gone devices.
        let gone: Vec<(u32, LifecycleKind)> = kept
            .iter()
            .filter_map(|r| gone_kind(&self.incoming[*r as usize]).map(|k| (*r, k)))
            .collect();
        if !gone.is_empty() && gone.len() == kept.len() {
            group.outcome = Outcome::Gone {
                asset: matched,
                kind: gone[0].1,
            };
            group.gone_some = gone;
            return;
        }
        group.gone_some = gone;
        group.outcome = match matched {
            Some((asset, key)) => Outcome::Match { asset, key },
            None => Outcome::Create,
        };
    }

    /// The weak hits (Jamf id on an asset of unknown kind) of a group that no
    /// other identifier contradicts: the asset has a value for an identifier
    /// the group also has, but the group's value does not point at it.
    fn weak_hits_ok(&self, kept: &[u32]) -> Vec<u32> {
        let mut weak: Vec<u32> = Vec::new();
        for &r in kept {
            for h in self.hits_of(r) {
                if h.weak && !weak.contains(&h.asset) {
                    weak.push(h.asset);
                }
            }
        }
        if weak.is_empty() {
            return weak;
        }
        let c = self.c;
        let mut group_keys: u64 = 0;
        for &r in kept {
            Self::record_ids(c, &self.incoming[r as usize], |ki, _| {
                group_keys |= 1u64 << (ki % 64)
            });
        }
        weak.retain(|&a| {
            if a & MULTI != 0 {
                return true;
            }
            let asset = &self.inv.assets[a as usize];
            c.keys.iter().enumerate().all(|(ki, k)| {
                if k.vendor_id || group_keys & (1u64 << (ki % 64)) == 0 {
                    return true;
                }
                let name = &c.targets[usize::from(k.target)].name;
                let mut has = false;
                if let Some(v) = asset.fields.get(name) {
                    ident::for_each_id(k.norm, v, |_| has = true);
                }
                !has || kept.iter().any(|r| {
                    self.hits_of(*r)
                        .iter()
                        .any(|h| usize::from(h.key) == ki && h.asset == a)
                })
            })
        });
        weak
    }

    /// Two kept records of a group with different values for one
    /// single-valued identifier.
    fn disagreement(&self, kept: &[u32]) -> Option<String> {
        let c = self.c;
        let mut values: Vec<(u8, Cow<'a, str>, u32)> = Vec::new();
        for &r in kept {
            let d = &self.incoming[r as usize];
            let mut mine: Vec<(u8, Cow<'a, str>)> = Vec::new();
            Self::record_ids(c, d, |ki, v| mine.push((ki, v)));
            for (ki, v) in mine {
                let is_list = matches!(
                    d.fields.get(
                        c.targets[usize::from(c.keys[usize::from(ki)].target)]
                            .name
                            .as_ref()
                    ),
                    Some(Value::List(_))
                );
                if is_list || c.keys[usize::from(ki)].vendor_id {
                    continue;
                }
                if let Some((_, other, or)) = values.iter().find(|(k, v2, _)| *k == ki && *v2 != v)
                {
                    let name = &c.targets[usize::from(c.keys[usize::from(ki)].target)].name;
                    let o = &self.incoming[*or as usize];
                    return Some(format!(
                        "incoming records disagree on {name}: {} {} has {other}, {} {} has {v}",
                        o.vendor, o.source_id, d.vendor, d.source_id
                    ));
                }
                values.push((ki, v, r));
            }
        }
        None
    }

    // -- evaluation --------------------------------------------------------

    fn fact(&mut self, inputs: FactInputs<'a>) -> u32 {
        if let Some(i) = self.facts_index.get(&inputs) {
            return *i;
        }
        let i = self.facts.len() as u32;
        self.facts.push(ModelFacts::from_inputs(&inputs));
        self.facts_index.insert(inputs, i);
        i
    }

    /// Evaluates one record into `best` (per target: (rank, pos, value)).
    fn eval_record(
        &mut self,
        r: u32,
        best: &mut [Option<(u8, u8, MVal<'a>)>],
        touched: &mut Vec<u16>,
    ) {
        let c = self.c;
        let incoming: &'a [SourceDevice] = self.incoming;
        let d: &'a SourceDevice = &incoming[r as usize];
        let v = vi(d.vendor);
        let vm = &c.vendors[v];
        let mut offer =
            |t: u16, pos: u8, val: MVal<'a>, best: &mut [Option<(u8, u8, MVal<'a>)>]| {
                let rank = c.targets[usize::from(t)].rank[v];
                let slot = &mut best[usize::from(t)];
                match slot {
                    Some((br, bp, _)) if (*br, *bp) <= (rank, pos) => {}
                    _ => {
                        if slot.is_none() {
                            touched.push(t);
                        }
                        *slot = Some((rank, pos, val));
                    }
                }
            };
        // Merge the record's sorted keys with the vendor's sorted catalog
        // keys: mapped values and the model/OS fact inputs in one walk.
        let mut inputs: [Option<(u8, &'a str)>; 5] = [None; 5];
        for (key, value) in d.fields.entries() {
            if let Some(uses) = vm.uses(key) {
                for (t, pos) in &uses.targets {
                    offer(*t, *pos, MVal::Val(value), best);
                }
                if let Some(text) = value.as_str() {
                    for &(which, pos) in &uses.facts {
                        let slot = &mut inputs[usize::from(which).min(4)];
                        if slot.is_none_or(|(p, _)| pos < p) {
                            *slot = Some((pos, text));
                        }
                    }
                }
            }
        }
        let fact_inputs = FactInputs {
            entity: d.entity,
            name: inputs[0].map(|x| x.1),
            identifier: inputs[1].map(|x| x.1),
            platform: inputs[2].map(|x| x.1),
            os: inputs[3].map(|x| x.1),
            os_version: inputs[4].map(|x| x.1),
        };
        let mut fact: Option<u32> = None;
        for (der, t, pos) in &vm.derived {
            let val = match der {
                Derived::SourceId => Some(MVal::Str(d.source_id.as_str())),
                Derived::Make => Some(MVal::Static("Apple")),
                Derived::Secret(name) => d.secrets.get(name).map(MVal::Secret),
                Derived::DateOf(k) => d.fields.get_str(k).and_then(|raw| {
                    // A normalized UTC date-time holds its date: borrow it.
                    utc_date_prefix(raw).map(MVal::Str).or_else(|| {
                        crate::normalize::date(raw).map(|s| {
                            self.owned.push(Value::Text(s));
                            MVal::Owned(self.owned.len() as u32 - 1)
                        })
                    })
                }),
                Derived::Model
                | Derived::DisplaySize
                | Derived::ReleaseYear
                | Derived::AssetType
                | Derived::OsName
                | Derived::OsVersion => {
                    let fi = match fact {
                        Some(f) => f,
                        None => {
                            let f = self.fact(fact_inputs);
                            fact = Some(f);
                            f
                        }
                    };
                    let which = match der {
                        Derived::Model => 0,
                        Derived::DisplaySize => 1,
                        Derived::ReleaseYear => 2,
                        Derived::AssetType => 3,
                        Derived::OsName => 4,
                        _ => 5,
                    };
                    self.fact_value(fi, which).map(|_| MVal::Fact(fi, which))
                }
            };
            if let Some(val) = val {
                offer(*t, *pos, val, best);
            }
        }
    }

    fn fact_value(&self, fi: u32, which: u8) -> Option<&Value> {
        let f = &self.facts[fi as usize];
        match which {
            0 => f.model.as_ref(),
            1 => f.display_size.as_ref(),
            2 => f.release_year.as_ref(),
            3 => f.asset_type.as_ref(),
            4 => f.os_name.as_ref(),
            _ => f.os_version.as_ref(),
        }
    }

    fn to_change_value(&self, m: MVal<'a>) -> ChangeValue {
        match m {
            MVal::Val(v) => ChangeValue::Value(v.clone()),
            MVal::Str(s) => ChangeValue::Value(Value::Text(s.to_string())),
            MVal::Static(s) => ChangeValue::Value(Value::Text(s.to_string())),
            MVal::Fact(fi, w) => ChangeValue::Value(
                self.fact_value(fi, w)
                    .cloned()
                    .unwrap_or(Value::Bool(false)),
            ),
            MVal::Owned(i) => ChangeValue::Value(
                self.owned
                    .get(i as usize)
                    .cloned()
                    .unwrap_or(Value::Bool(false)),
            ),
            MVal::Secret(s) => ChangeValue::Secret(s.clone()),
        }
    }

    /// Whether the inventory value already says what the source says.
    fn same(&self, old: &Value, new: MVal<'a>, norm: Option<Norm>) -> bool {
        let quick = match (old, new) {
            (Value::Text(a), MVal::Str(b) | MVal::Static(b)) => a == b,
            (_, MVal::Val(v)) => old == v,
            (_, MVal::Fact(fi, w)) => self.fact_value(fi, w) == Some(old),
            (Value::Text(a), MVal::Secret(s)) => return a == s.expose_secret(),
            (_, MVal::Secret(_)) => return false,
            _ => false,
        };
        if quick {
            return true;
        }
        let ChangeValue::Value(nv) = self.to_change_value(new) else {
            return false;
        };
        match norm {
            Some(n) => ident::same_ids(n, old, &nv),
            None => ident::same_value(old, &nv),
        }
    }

    // -- employees -----------------------------------------------------------

    fn employees(&self) -> &'a [Employee] {
        &self.inv.employees
    }

    fn emp_by_email(&mut self) -> &HashMap<String, u32> {
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

    fn emp_by_name(&mut self) -> &HashMap<(String, String), Vec<u32>> {
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
    fn resolve_assignee(&mut self, kept: &[u32], rank: &[u8; 3]) -> Option<ChangeValue> {
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
                return Some(ChangeValue::Value(Value::Text(id)));
            }
            None => {}
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

    // -- actions -------------------------------------------------------------

    fn finish(mut self, groups: Vec<Group>, full_listings: &[Vendor]) -> Plan {
        let c = self.c;
        let n_targets = c.targets.len();
        let mut plan = Plan {
            actions: Vec::with_capacity(groups.len() + self.superseded.len()),
            ..Plan::default()
        };

        // Assets claimed by more than one group are conflicts.
        let mut claims = vec![0u8; self.inv.assets.len()];
        for g in &groups {
            let a = match &g.outcome {
                Outcome::Match { asset, .. } => Some(*asset),
                Outcome::Gone {
                    asset: Some((asset, _)),
                    ..
                } => Some(*asset),
                _ => None,
            };
            if let Some(a) = a {
                claims[a as usize] = claims[a as usize].saturating_add(1);
            }
        }
        let mut claimers: HashMap<u32, Vec<u32>> = HashMap::new();
        for (gi, g) in groups.iter().enumerate() {
            if let Outcome::Match { asset, .. } = &g.outcome
                && claims[*asset as usize] > 1
            {
                claimers.entry(*asset).or_default().push(gi as u32);
            }
        }

        let mut superseded_at = 0usize;
        let mut best: Vec<Option<(u8, u8, MVal<'a>)>> = vec![None; n_targets];
        let mut touched: Vec<u16> = Vec::new();
        let status_from = |asset: &Asset| asset.fields.get("status").cloned();

        for (gi, g) in groups.iter().enumerate() {
            let mut kept = std::mem::take(&mut self.scratch_kept);
            kept.clear();
            kept.extend_from_slice(&self.kept_buf[g.kept.0 as usize..g.kept.1 as usize]);
            let incoming: &'a [SourceDevice] = self.incoming;
            let srcs: SourceRefs = kept
                .iter()
                .map(|r| SourceRef::of(&incoming[*r as usize]))
                .collect();
            let mut srcs = Some(srcs);
            let mut sources = || srcs.take().unwrap_or_default();
            let mut target_of_group: Option<u32> = None;
            match &g.outcome {
                Outcome::Skip(reason) => plan.actions.push(Action {
                    action: ActionKind::Skip,
                    sources: sources(),
                    target_id: None,
                    matched_on: None,
                    changes: Changes::default(),
                    reason: reason.clone(),
                    candidates: Vec::new(),
                }),
                Outcome::Conflict(reason, cands) => plan.actions.push(Action {
                    action: ActionKind::Conflict,
                    sources: sources(),
                    target_id: None,
                    matched_on: None,
                    changes: Changes::default(),
                    reason: Cow::Owned(reason.clone()),
                    candidates: cands
                        .iter()
                        .map(|a| self.inv.assets[*a as usize].id.clone())
                        .collect(),
                }),
                Outcome::Gone { asset, kind } => {
                    let what = match kind {
                        LifecycleKind::Removed => "removed in the source",
                        LifecycleKind::Released => "released from the organisation",
                        LifecycleKind::Missing => "missing",
                    };
                    let (target_id, matched_on) = match asset {
                        Some((a, k)) => {
                            target_of_group = Some(*a);
                            (
                                Some(self.inv.assets[*a as usize].id.clone()),
                                Some(
                                    c.targets[usize::from(c.keys[usize::from(*k)].target)]
                                        .name
                                        .clone(),
                                ),
                            )
                        }
                        None => (None, None),
                    };
                    let reason = if target_id.is_some() {
                        format!("device {what}: the asset is left as is (see lifecycle)")
                    } else {
                        format!("device {what}: no asset is created for it")
                    };
                    plan.actions.push(Action {
                        action: ActionKind::Skip,
                        sources: sources(),
                        target_id: target_id.as_deref().map(CompactString::from),
                        matched_on,
                        changes: Changes::default(),
                        reason: Cow::Owned(reason),
                        candidates: Vec::new(),
                    });
                    if let Some((a, _)) = asset {
                        let asset = &self.inv.assets[*a as usize];
                        for (r, k) in &g.gone_some {
                            let d = &self.incoming[*r as usize];
                            plan.lifecycle.push(LifecycleEvent {
                                event: *k,
                                vendor: d.vendor,
                                target_id: target_id.clone(),
                                sources: vec![SourceRef::of(d)],
                                status: status_change(c.config, status_from(asset)),
                                reason: format!("{} {} {what}", d.vendor, d.source_id),
                            });
                        }
                    }
                }
                Outcome::Match { asset, .. } if claims[*asset as usize] > 1 => {
                    let others: Vec<String> = claimers
                        .get(asset)
                        .map(|gs| {
                            gs.iter()
                                .filter(|o| **o != gi as u32)
                                .flat_map(|o| {
                                    let og = &groups[*o as usize];
                                    self.kept_buf[og.kept.0 as usize..og.kept.1 as usize]
                                        .iter()
                                        .map(|r| {
                                            SourceRef::of(&self.incoming[*r as usize]).to_string()
                                        })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    plan.actions.push(Action {
                        action: ActionKind::Conflict,
                        sources: sources(),
                        target_id: None,
                        matched_on: None,
                        changes: Changes::default(),
                        reason: Cow::Owned(format!(
                            "asset {} is also matched by {}: records of different devices point at one asset",
                            self.inv.assets[*asset as usize].id,
                            others.join(", ")
                        )),
                        candidates: vec![self.inv.assets[*asset as usize].id.clone()],
                    });
                }
                Outcome::Match { asset, key } => {
                    target_of_group = Some(*asset);
                    let a = *asset;
                    let action = self.diff(&kept, Some(a), &mut best, &mut touched);
                    let asset_ref = &self.inv.assets[a as usize];
                    let changes = action;
                    let kind = if changes.is_empty() {
                        ActionKind::Unchanged
                    } else {
                        ActionKind::Update
                    };
                    let reason: Cow<'static, str> = match (kind, kept.len() > 1) {
                        (ActionKind::Unchanged, false) => {
                            Cow::Borrowed("matched; the asset is up to date")
                        }
                        (ActionKind::Unchanged, true) => {
                            Cow::Borrowed("matched; sources merged; the asset is up to date")
                        }
                        (_, false) => Cow::Borrowed("matched; source-owned fields changed"),
                        (_, true) => {
                            Cow::Borrowed("matched; sources merged; source-owned fields changed")
                        }
                    };
                    plan.actions.push(Action {
                        action: kind,
                        sources: sources(),
                        target_id: Some(CompactString::from(asset_ref.id.as_str())),
                        matched_on: Some(
                            c.targets[usize::from(c.keys[usize::from(*key)].target)]
                                .name
                                .clone(),
                        ),
                        changes,
                        reason,
                        candidates: Vec::new(),
                    });
                }
                Outcome::Create => {
                    let changes = self.diff(&kept, None, &mut best, &mut touched);
                    plan.actions.push(Action {
                        action: ActionKind::Create,
                        sources: sources(),
                        target_id: None,
                        matched_on: None,
                        changes,
                        reason: Cow::Borrowed(if kept.len() > 1 {
                            "no asset has these identifiers; sources merged"
                        } else {
                            "no asset has these identifiers"
                        }),
                        candidates: Vec::new(),
                    });
                }
            }
            // Partly gone devices (still reported elsewhere): report only.
            if !matches!(g.outcome, Outcome::Gone { .. }) {
                for (r, k) in &g.gone_some {
                    let d = &self.incoming[*r as usize];
                    plan.lifecycle.push(LifecycleEvent {
                        event: *k,
                        vendor: d.vendor,
                        target_id: target_of_group.map(|a| self.inv.assets[a as usize].id.clone()),
                        sources: vec![SourceRef::of(d)],
                        status: None,
                        reason: format!(
                            "{} {} is gone from {} but other sources still report the device: status left as is",
                            d.vendor, d.source_id, d.vendor
                        ),
                    });
                }
            }
            // Superseded records of this group.
            while superseded_at < self.superseded.len()
                && self.superseded[superseded_at].0 == gi as u32
            {
                let (_, loser, winner) = self.superseded[superseded_at];
                superseded_at += 1;
                let l = &self.incoming[loser as usize];
                let w = &self.incoming[winner as usize];
                plan.actions.push(Action {
                    action: ActionKind::Skip,
                    sources: smallvec::smallvec![SourceRef::of(l)],
                    target_id: target_of_group
                        .map(|a| CompactString::from(self.inv.assets[a as usize].id.as_str())),
                    matched_on: None,
                    changes: Changes::default(),
                    reason: Cow::Owned(format!(
                        "superseded: {} {} reports the same device and is newer (re-enrolled); this older record is ignored",
                        w.vendor, w.source_id
                    )),
                    candidates: Vec::new(),
                });
            }
            self.scratch_kept = kept;
        }

        // Missing from full listings.
        for v in full_listings.iter().copied().collect::<HashSet<_>>() {
            let Some(marker) = c.marker[vi(v)] else {
                continue;
            };
            let field = &c.targets[usize::from(marker)].name;
            let bit = 1u8 << vi(v);
            for (ai, asset) in self.inv.assets.iter().enumerate() {
                if self.seen[ai] & bit != 0 || !asset.fields.contains(field) {
                    continue;
                }
                plan.lifecycle.push(LifecycleEvent {
                    event: LifecycleKind::Missing,
                    vendor: v,
                    target_id: Some(asset.id.clone()),
                    sources: Vec::new(),
                    status: status_change(c.config, status_from(asset)),
                    reason: format!(
                        "asset has {field} but no record of the full {v} listing matches it"
                    ),
                });
            }
        }
        plan.lifecycle.sort_by(|a, b| {
            (a.vendor, &a.target_id, a.event as u8).cmp(&(b.vendor, &b.target_id, b.event as u8))
        });

        plan.employees = std::mem::take(&mut self.employee_actions);
        plan.likely_duplicates = std::mem::take(&mut self.likely_duplicates);
        plan.count();
        plan
    }

    /// The changes for a group against an asset (or for a create).
    fn diff(
        &mut self,
        kept: &[u32],
        asset: Option<u32>,
        best: &mut [Option<(u8, u8, MVal<'a>)>],
        touched: &mut Vec<u16>,
    ) -> Changes {
        let c = self.c;
        for t in touched.drain(..) {
            best[usize::from(t)] = None;
        }
        for &r in kept {
            self.eval_record(r, best, touched);
        }
        let inv: &'a Inventory = self.inv;
        let asset: Option<&'a Asset> = asset.map(|a| &inv.assets[a as usize]);
        let mut out = std::mem::take(&mut self.scratch_changes);
        out.clear();
        let mut old_vals = std::mem::take(&mut self.scratch_old);
        old_vals.clear();
        old_vals.resize(c.targets.len(), None);
        if let Some(a) = asset {
            for (key, v) in a.fields.entries() {
                if let Some(t) = c.target_of(key) {
                    old_vals[usize::from(t)] = Some(v);
                }
            }
        }
        let mut vendors_mask = [false; 3];
        for r in kept {
            vendors_mask[vi(self.incoming[*r as usize].vendor)] = true;
        }
        for (ti, t) in c.targets.iter().enumerate() {
            let old: Option<&'a Value> = old_vals[ti];
            let new = best[ti].map(|(_, _, v)| v);
            let is_assignee = c.assignee == Some(ti as u16);
            let is_status = c.status == Some(ti as u16);
            if old.is_none() && new.is_none() && !is_assignee && !is_status {
                continue;
            }
            let creating = asset.is_none();
            let wants = |old_present: bool| match t.rule.ownership {
                Ownership::Ignore => false,
                Ownership::Inventory => creating,
                Ownership::FillIfEmpty => creating || !old_present,
                Ownership::Source => true,
            };
            if !wants(old.is_some()) {
                continue;
            }
            // Assignee and status come from the engine when no source gives them.
            if new.is_none() && is_assignee && c.config.assign_employees {
                if let Some(v) = self.resolve_assignee(kept, &t.rank) {
                    let same = match (&v, old) {
                        (ChangeValue::Value(nv), Some(o)) => ident::same_value(o, nv),
                        _ => false,
                    };
                    if !same {
                        out.push((
                            t.name.clone(),
                            Change {
                                from: old.map(|o| ChangeValue::Value(o.clone())),
                                to: Some(v),
                            },
                        ));
                    }
                }
                continue;
            }
            if new.is_none() && is_status && creating {
                if let Some(s) = &c.config.new_asset_status {
                    out.push((
                        t.name.clone(),
                        Change {
                            from: None,
                            to: Some(ChangeValue::Value(Value::Text(s.clone()))),
                        },
                    ));
                }
                continue;
            }
            let redact = |v: &Value| {
                if t.secret {
                    ChangeValue::Secret(SecretString::from(v.to_string()))
                } else {
                    ChangeValue::Value(v.clone())
                }
            };
            match (old, new) {
                (Some(o), Some(n)) => {
                    if !self.same(o, n, t.norm) {
                        out.push((
                            t.name.clone(),
                            Change {
                                from: Some(redact(o)),
                                to: Some(self.to_change_value(n)),
                            },
                        ));
                    }
                }
                (None, Some(n)) => out.push((
                    t.name.clone(),
                    Change {
                        from: None,
                        to: Some(self.to_change_value(n)),
                    },
                )),
                (Some(o), None) => {
                    let mapped = (0..3).any(|v| vendors_mask[v] && t.mapped_by[v]);
                    if t.rule.ownership == Ownership::Source && t.rule.clear_when_blank && mapped {
                        out.push((
                            t.name.clone(),
                            Change {
                                from: Some(redact(o)),
                                to: None,
                            },
                        ));
                    }
                }
                (None, None) => {}
            }
        }
        // An exact-size copy; the scratch buffer keeps its capacity.
        let mut exact = Vec::with_capacity(out.len());
        exact.append(&mut out);
        let changes = Changes(exact);
        self.scratch_changes = out;
        self.scratch_old = old_vals;
        changes
    }
}

fn status_change(config: &Config, current: Option<Value>) -> Option<Change> {
    let to = config.on_missing.as_ref()?;
    if current.as_ref().and_then(Value::as_str) == Some(to.as_str()) {
        return None;
    }
    Some(Change {
        from: current.map(ChangeValue::Value),
        to: Some(ChangeValue::Value(Value::Text(to.clone()))),
    })
}

/// What the records of a sync say about their users, in input order: the
/// name each email is first given (with a first and a last name), and the
/// email that first claims each name. New employees are decided from these,
/// so a decision does not depend on which device the plan meets first, and a
/// sync planned in batches decides like one plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Users {
    names: HashMap<String, (String, String)>,
    winner: HashMap<(String, String), String>,
}

impl Users {
    pub(crate) fn of(incoming: &[SourceDevice]) -> Users {
        let mut u = Users::default();
        for d in incoming {
            u.add(d);
        }
        u
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

/// Hashes of the identifiers the planner matches on, of records and of
/// assets: two that share an identifier share a hash. Used to split a sync
/// into batches that [`plan`] can take one at a time (`upsert::Staging`).
pub(crate) struct IdHashes<'c> {
    c: Compiled<'c>,
    state: FastState,
}

impl<'c> IdHashes<'c> {
    pub(crate) fn new(config: &'c Config) -> IdHashes<'c> {
        IdHashes {
            c: Compiled::new(config),
            state: FastState::new(),
        }
    }

    /// Appends the hash of every identifier of `d` to `out`.
    pub(crate) fn record(&self, d: &SourceDevice, out: &mut Vec<u64>) {
        Planner::record_ids(&self.c, d, |ki, value| {
            out.push(IdKey::new(ki, ANY, value).value_hash(&self.state));
        });
    }

    /// The inventory fields [`IdHashes::asset`] reads.
    pub(crate) fn asset_fields(&self) -> Vec<&str> {
        self.c.asset_keys.iter().map(|(k, _)| k.as_ref()).collect()
    }

    /// Appends the hash of every identifier of `asset` to `out`.
    pub(crate) fn asset(&self, asset: &Asset, out: &mut Vec<u64>) {
        let mut found = Vec::new();
        Planner::asset_ids(&self.c, asset, &mut found, |ki, _, value| {
            out.push(IdKey::new(ki, ANY, value).value_hash(&self.state));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::utc_date_prefix;
    use crate::normalize;

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
