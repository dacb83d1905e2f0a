//! Mapping: which vendor values fill which inventory fields, and who owns
//! each field.
//!
//! A [`Mapping`] holds one [`FieldRule`] per inventory field: for each
//! vendor, the catalog keys (or derived values, below) to read, first
//! present wins; the field's [`Ownership`]; the vendor priority that decides
//! between sources reporting the same device; and whether a blank source
//! value may clear the field (never, by default).
//!
//! [`Mapping::default`] is the mapping onto the default inventory schema of
//! the design: the built-in table ([`Mapping::builtin`]) plus every catalog
//! field's `default_target`. Users override or add fields with
//! [`FieldRuleSpec`]s from TOML or JSON (see [`crate::upsert::Config`]).
//!
//! Derived values are written with an `@`:
//!
//! | source | value |
//! |---|---|
//! | `@source_id` | the record's own id (Jamf id, Kandji device id) |
//! | `@make` | `Apple` |
//! | `@model`, `@display_size`, `@release_year` | parsed from the marketing name ([`crate::model`]), `MacBook Pro (13-inch, 2018)` → `MacBook Pro`, `"13"`, `2018` |
//! | `@asset_type` | [`crate::model::classify`] over identifier, name, platform and OS |
//! | `@os_name`, `@os_version` | Jamf `operating_system` `macOS 15.2.0` → `macOS`, `15.2.0`; Kandji `os_version` and platform |
//! | `@date:KEY` | the date part of a date-time catalog key (ABM `order_date_time` → `po_date`) |
//! | `@secret:NAME` | a secret of the record (`recovery_key`), only when the user opts in |
//!
//! ```
//! use mdm_mapping::mapping::{Mapping, Ownership};
//! use mdm_mapping::{Entity, SourceDevice, Value, Vendor};
//!
//! let mapping = Mapping::builtin();
//! assert_eq!(mapping.field("assignee_id").unwrap().ownership, Ownership::Inventory);
//!
//! let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, "42");
//! d.fields
//!     .serial("serial_number", Some("c02xk1abjg5h"))
//!     .text("model", Some("MacBook Pro (13-inch, 2018)"))
//!     .text("model_identifier", Some("MacBookPro15,2"))
//!     .text("operating_system", Some("macOS 15.2.0"));
//! let mapped = mapping.map_record(&d, false);
//! assert_eq!(mapped["serial_number"], Value::from("C02XK1ABJG5H"));
//! assert_eq!(mapped["model"], Value::from("MacBook Pro"));
//! assert_eq!(mapped["display_size"], Value::from("13"));
//! assert_eq!(mapped["release_year"], Value::Int(2018));
//! assert_eq!(mapped["asset_type"], Value::from("laptop"));
//! assert_eq!(mapped["os_name"], Value::from("macOS"));
//! assert_eq!(mapped["os_version"], Value::from("15.2.0"));
//! assert_eq!(mapped["jamf_id"], Value::from("42"));
//! assert_eq!(mapped["make"], Value::from("Apple"));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::model;
use crate::normalize;
use crate::record::{Entity, SourceDevice, Value, Vendor};

/// Who owns an inventory field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The sources own it: it follows them on every run (a blank source value
    /// still never erases it unless `clear_when_blank` is set).
    #[default]
    Source,
    /// The inventory owns it: set only when the asset is created.
    Inventory,
    /// Written only while the inventory has no value.
    FillIfEmpty,
    /// Never written.
    Ignore,
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ownership::Source => "source",
            Ownership::Inventory => "inventory",
            Ownership::FillIfEmpty => "fill_if_empty",
            Ownership::Ignore => "ignore",
        })
    }
}

/// A value computed from a record rather than read from one catalog key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Derived {
    /// The record's `source_id`.
    SourceId,
    /// `Apple`.
    Make,
    /// The model line parsed from the marketing name.
    Model,
    /// The display size parsed from the marketing name.
    DisplaySize,
    /// The release year parsed from the marketing name.
    ReleaseYear,
    /// The asset type ([`model::classify`]).
    AssetType,
    /// The OS name (`macOS`, `iOS`, …).
    OsName,
    /// The OS version.
    OsVersion,
    /// The date part of a date-time catalog key.
    DateOf(String),
    /// A secret of the record, by name.
    Secret(String),
}

/// Where a field's value comes from in one vendor's record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKey {
    /// A catalog key of the record's `fields`.
    Catalog(String),
    /// A derived value.
    Derived(Derived),
}

impl SourceKey {
    /// Parses `serial_number`, `@model`, `@date:order_date_time`, `@secret:recovery_key`.
    pub fn parse(s: &str) -> Result<SourceKey, MappingError> {
        let t = s.trim();
        let Some(d) = t.strip_prefix('@') else {
            if t.is_empty() {
                return Err(MappingError::EmptyKey);
            }
            return Ok(SourceKey::Catalog(t.to_string()));
        };
        let derived = match d {
            "source_id" => Derived::SourceId,
            "make" => Derived::Make,
            "model" => Derived::Model,
            "display_size" => Derived::DisplaySize,
            "release_year" => Derived::ReleaseYear,
            "asset_type" => Derived::AssetType,
            "os_name" => Derived::OsName,
            "os_version" => Derived::OsVersion,
            _ => {
                if let Some(k) = d.strip_prefix("date:").filter(|k| !k.is_empty()) {
                    Derived::DateOf(k.to_string())
                } else if let Some(k) = d.strip_prefix("secret:").filter(|k| !k.is_empty()) {
                    Derived::Secret(k.to_string())
                } else {
                    return Err(MappingError::UnknownDerived { key: t.to_string() });
                }
            }
        };
        Ok(SourceKey::Derived(derived))
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKey::Catalog(k) => f.write_str(k),
            SourceKey::Derived(d) => match d {
                Derived::SourceId => f.write_str("@source_id"),
                Derived::Make => f.write_str("@make"),
                Derived::Model => f.write_str("@model"),
                Derived::DisplaySize => f.write_str("@display_size"),
                Derived::ReleaseYear => f.write_str("@release_year"),
                Derived::AssetType => f.write_str("@asset_type"),
                Derived::OsName => f.write_str("@os_name"),
                Derived::OsVersion => f.write_str("@os_version"),
                Derived::DateOf(k) => write!(f, "@date:{k}"),
                Derived::Secret(k) => write!(f, "@secret:{k}"),
            },
        }
    }
}

impl Serialize for SourceKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SourceKey::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A mapping that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// An empty source key.
    #[error("empty source key")]
    EmptyKey,
    /// `@something` that is not a derived value.
    #[error(
        "unknown derived value {key:?} (expected @source_id, @make, @model, @display_size, @release_year, @asset_type, @os_name, @os_version, @date:KEY, @secret:NAME)"
    )]
    UnknownDerived {
        /// The key as written.
        key: String,
    },
    /// A new field without sources.
    #[error("field {field:?} is not in the default mapping and names no sources (`from`)")]
    NoSources {
        /// The inventory field.
        field: String,
    },
    /// An empty field name.
    #[error("empty inventory field name")]
    EmptyField,
}

/// How one inventory field is filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRule {
    /// Per vendor, the keys to read, first present wins.
    pub from: BTreeMap<Vendor, Vec<SourceKey>>,
    /// Who owns the field.
    pub ownership: Ownership,
    /// Which vendor wins when several report the device (first with a value).
    /// Vendors not listed come after, in [`Vendor::ALL`] order.
    pub priority: Vec<Vendor>,
    /// Whether a source with no value clears the field (default: never).
    pub clear_when_blank: bool,
}

impl FieldRule {
    /// The vendors in priority order, every vendor once.
    pub fn vendor_order(&self) -> Vec<Vendor> {
        let mut out: Vec<Vendor> = Vec::with_capacity(3);
        for v in self.priority.iter().chain(Vendor::ALL.iter()) {
            if !out.contains(v) {
                out.push(*v);
            }
        }
        out
    }
}

/// A user's change to one field: only what is given replaces the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRuleSpec {
    /// Per vendor, one key or a list of keys (first present wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<BTreeMap<Vendor, OneOrMany>>,
    /// Who owns the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<Ownership>,
    /// Vendor priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Vec<Vendor>>,
    /// Whether a blank source value clears the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_when_blank: Option<bool>,
}

/// One source key or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One key.
    One(SourceKey),
    /// Several keys, first present wins.
    Many(Vec<SourceKey>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<SourceKey> {
        match self {
            OneOrMany::One(k) => vec![k],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Inventory fields → rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    fields: BTreeMap<String, FieldRule>,
}

/// Purchasing fields: ABM wins by default.
pub const PURCHASING_FIELDS: &[&str] = &[
    "order_number",
    "po_number",
    "po_date",
    "vendor",
    "purchase_price",
    "warranty_expiration",
    "lease_expiration",
    "is_leased",
    "purchase_source",
];

/// Fields the inventory owns: set only when an asset is created.
pub const INVENTORY_OWNED_FIELDS: &[&str] = &["assignee_id", "location", "status", "condition"];

use Vendor::{Abm as A, Jamf as J, Kandji as K};

/// One inventory field's sources: (vendor, catalog keys tried in order).
type FieldSources = &'static [(Vendor, &'static [&'static str])];

/// The inventory fields of the built-in mapping (for the test that the
/// record's field index, [`crate::field_names::KNOWN`], holds them).
#[cfg(test)]
pub(crate) fn builtin_field_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(field, _)| *field)
}

/// The built-in table: (inventory field, [(vendor, keys)]).
const BUILTIN: &[(&str, FieldSources)] = &[
    // identity
    (
        "serial_number",
        &[
            (J, &["serial_number"]),
            (K, &["serial_number"]),
            (A, &["serial_number"]),
        ],
    ),
    ("asset_tag", &[(J, &["asset_tag"]), (K, &["asset_tag"])]),
    ("udid", &[(J, &["udid"]), (K, &["udid"])]),
    ("imei", &[(J, &["imei"]), (A, &["imei"])]),
    ("meid", &[(J, &["meid"]), (A, &["meid"])]),
    ("eid", &[(A, &["eid"])]),
    (
        "wifi_mac_address",
        &[(J, &["wifi_mac_address"]), (A, &["wifi_mac_address"])],
    ),
    (
        "bluetooth_mac_address",
        &[
            (J, &["bluetooth_mac_address"]),
            (A, &["bluetooth_mac_address"]),
        ],
    ),
    ("ethernet_mac_address", &[(A, &["ethernet_mac_address"])]),
    ("jamf_id", &[(J, &["@source_id"])]),
    ("kandji_id", &[(K, &["@source_id"])]),
    // hardware
    (
        "make",
        &[(J, &["make", "@make"]), (K, &["@make"]), (A, &["@make"])],
    ),
    (
        "model",
        &[(J, &["@model"]), (K, &["@model"]), (A, &["@model"])],
    ),
    (
        "model_identifier",
        &[
            (J, &["model_identifier"]),
            (K, &["model_identifier"]),
            (A, &["product_type"]),
        ],
    ),
    ("model_number", &[(A, &["part_number"])]),
    (
        "display_size",
        &[
            (J, &["@display_size"]),
            (K, &["@display_size"]),
            (A, &["@display_size"]),
        ],
    ),
    (
        "release_year",
        &[
            (J, &["@release_year"]),
            (K, &["@release_year"]),
            (A, &["@release_year"]),
        ],
    ),
    ("color", &[(A, &["color"])]),
    (
        "processor",
        &[(J, &["processor_type"]), (K, &["processor"])],
    ),
    ("processor_speed_mhz", &[(J, &["processor_speed"])]),
    ("processor_cores", &[(J, &["total_number_of_cores"])]),
    ("memory_mb", &[(J, &["total_ram"])]),
    ("storage", &[(A, &["device_capacity"])]),
    (
        "asset_type",
        &[
            (J, &["@asset_type"]),
            (K, &["@asset_type"]),
            (A, &["@asset_type"]),
        ],
    ),
    ("platform", &[(J, &["platform"]), (K, &["platform"])]),
    ("product_family", &[(A, &["product_family"])]),
    // management
    (
        "device_name",
        &[
            (J, &["computer_name", "device_name"]),
            (K, &["device_name"]),
        ],
    ),
    ("os_name", &[(J, &["@os_name"]), (K, &["@os_name"])]),
    (
        "os_version",
        &[(J, &["@os_version"]), (K, &["@os_version"])],
    ),
    ("os_build", &[(J, &["operating_system_build"])]),
    ("managed", &[(J, &["managed"]), (K, &["mdm_enabled"])]),
    ("supervised", &[(J, &["supervised"]), (K, &["supervised"])]),
    (
        "last_check_in",
        &[
            (J, &["last_contact_time", "last_inventory_update"]),
            (K, &["last_check_in"]),
        ],
    ),
    (
        "enrolled_at",
        &[(J, &["last_enrolled_date"]), (K, &["last_enrollment"])],
    ),
    // purchasing
    ("order_number", &[(A, &["order_number"])]),
    ("po_number", &[(J, &["po_number"])]),
    (
        "po_date",
        &[(J, &["po_date"]), (A, &["@date:order_date_time"])],
    ),
    ("vendor", &[(J, &["vendor"])]),
    ("purchase_price", &[(J, &["purchase_price"])]),
    (
        "warranty_expiration",
        &[(J, &["warranty_expiration"]), (A, &["applecare_end_date"])],
    ),
    ("lease_expiration", &[(J, &["lease_expiration"])]),
    ("is_leased", &[(J, &["is_leased"])]),
    ("purchase_source", &[(A, &["purchase_source_type"])]),
    // security (each read by the clients only on opt-in)
    (
        "activation_lock_enabled",
        &[
            (J, &["activation_lock_enabled"]),
            (K, &["activation_lock_enabled"]),
            (A, &["activation_lock_enabled"]),
        ],
    ),
    (
        "recovery_lock_enabled",
        &[
            (J, &["recovery_lock_enabled"]),
            (K, &["recovery_lock_enabled"]),
        ],
    ),
    ("applecare_id", &[(J, &["applecare_id"])]),
    (
        "recovery_key",
        &[
            (J, &["@secret:recovery_key"]),
            (K, &["@secret:recovery_key"]),
        ],
    ),
    // inventory-owned
    ("assignee_id", &[]),
    ("location", &[]),
    ("status", &[]),
    ("condition", &[]),
];

/// Default vendor priority for a field: ABM first for purchasing fields,
/// the MDMs first for everything else.
pub fn default_priority(field: &str) -> Vec<Vendor> {
    if PURCHASING_FIELDS.contains(&field) {
        vec![Vendor::Abm, Vendor::Jamf, Vendor::Kandji]
    } else {
        vec![Vendor::Jamf, Vendor::Kandji, Vendor::Abm]
    }
}

/// Default ownership of a field: the inventory-owned four, else source.
pub fn default_ownership(field: &str) -> Ownership {
    if INVENTORY_OWNED_FIELDS.contains(&field) {
        Ownership::Inventory
    } else {
        Ownership::Source
    }
}

fn rule_for(field: &str) -> FieldRule {
    FieldRule {
        from: BTreeMap::new(),
        ownership: default_ownership(field),
        priority: default_priority(field),
        clear_when_blank: false,
    }
}

impl Mapping {
    /// The built-in mapping onto the default inventory schema, without the
    /// catalog's `default_target`s.
    pub fn builtin() -> Mapping {
        let mut fields = BTreeMap::new();
        for (field, sources) in BUILTIN {
            let mut rule = rule_for(field);
            for (vendor, keys) in *sources {
                let keys: Vec<SourceKey> = keys
                    .iter()
                    .filter_map(|k| SourceKey::parse(k).ok())
                    .collect();
                rule.from.insert(*vendor, keys);
            }
            fields.insert((*field).to_string(), rule);
        }
        Mapping { fields }
    }

    /// A mapping with no fields at all (build one with [`Mapping::set`]).
    pub fn empty() -> Mapping {
        Mapping {
            fields: BTreeMap::new(),
        }
    }

    /// Adds every catalog field's `default_target` as a source of that
    /// inventory field (after the built-in sources).
    pub fn with_catalog_targets(mut self) -> Mapping {
        for spec in catalog::all() {
            let Some(target) = spec.default_target else {
                continue;
            };
            if spec.entity == Entity::User {
                continue;
            }
            let rule = self
                .fields
                .entry(target.to_string())
                .or_insert_with(|| rule_for(target));
            let keys = rule.from.entry(spec.vendor).or_default();
            let key = SourceKey::Catalog(spec.key.to_string());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        self
    }

    /// The rule of an inventory field.
    pub fn field(&self, name: &str) -> Option<&FieldRule> {
        self.fields.get(name)
    }

    /// Every inventory field and its rule, by name.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldRule)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets (replaces) one field's rule.
    pub fn set(&mut self, field: impl Into<String>, rule: FieldRule) -> &mut Self {
        self.fields.insert(field.into(), rule);
        self
    }

    /// Removes a field from the mapping.
    pub fn remove(&mut self, field: &str) -> Option<FieldRule> {
        self.fields.remove(field)
    }

    /// Applies a user's field specs: given parts replace the defaults; a
    /// field not in the mapping needs `from`.
    pub fn apply(&mut self, specs: BTreeMap<String, FieldRuleSpec>) -> Result<(), MappingError> {
        for (field, spec) in specs {
            let field = field.trim().to_string();
            if field.is_empty() {
                return Err(MappingError::EmptyField);
            }
            let existed = self.fields.contains_key(&field);
            if !existed && spec.from.is_none() && spec.ownership != Some(Ownership::Inventory) {
                return Err(MappingError::NoSources { field });
            }
            let rule = self
                .fields
                .entry(field.clone())
                .or_insert_with(|| rule_for(&field));
            if let Some(from) = spec.from {
                rule.from = from.into_iter().map(|(v, k)| (v, k.into_vec())).collect();
            }
            if let Some(o) = spec.ownership {
                rule.ownership = o;
            }
            if let Some(p) = spec.priority {
                rule.priority = p;
            }
            if let Some(c) = spec.clear_when_blank {
                rule.clear_when_blank = c;
            }
        }
        Ok(())
    }

    /// Maps one record, without caching (the planner uses a faster path with
    /// the same rules). Ignored fields are left out; secrets are left out
    /// unless `with_secrets` (their values are then exposed: for tests).
    pub fn map_record(&self, device: &SourceDevice, with_secrets: bool) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut facts: Option<ModelFacts> = None;
        for (field, rule) in &self.fields {
            if rule.ownership == Ownership::Ignore {
                continue;
            }
            let Some(keys) = rule.from.get(&device.vendor) else {
                continue;
            };
            for key in keys {
                let v = match key {
                    SourceKey::Catalog(k) => device.fields.get(k).cloned(),
                    SourceKey::Derived(Derived::Secret(name)) if with_secrets => {
                        use secrecy::ExposeSecret;
                        device
                            .secrets
                            .get(name)
                            .map(|s| Value::Text(s.expose_secret().into()))
                    }
                    SourceKey::Derived(Derived::Secret(_)) => None,
                    SourceKey::Derived(d) => derive_simple(d, device).or_else(|| {
                        let f = facts.get_or_insert_with(|| ModelFacts::of(device));
                        f.get(d)
                    }),
                };
                if let Some(v) = v {
                    out.insert(field.clone(), v);
                    break;
                }
            }
        }
        out
    }
}

impl Default for Mapping {
    /// [`Mapping::builtin`] plus the catalog's default targets.
    fn default() -> Self {
        Mapping::builtin().with_catalog_targets()
    }
}

/// Derived values that need no parsing: `@source_id`, `@make`, `@date:KEY`.
/// `None` for the others (see [`ModelFacts`]).
pub(crate) fn derive_simple(d: &Derived, device: &SourceDevice) -> Option<Value> {
    match d {
        Derived::SourceId => normalize::id(&device.source_id).map(Value::from),
        Derived::Make => Some(Value::Text("Apple".into())),
        Derived::DateOf(k) => device
            .fields
            .get_str(k)
            .and_then(normalize::date)
            .map(Value::from),
        _ => None,
    }
}

/// The record keys the model and OS derivations read, per vendor.
pub(crate) struct DeriveKeys {
    pub name: &'static [&'static str],
    pub identifier: &'static [&'static str],
    pub platform: &'static [&'static str],
    pub os: &'static [&'static str],
    pub os_version: &'static [&'static str],
}

pub(crate) fn derive_keys(vendor: Vendor) -> DeriveKeys {
    match vendor {
        Vendor::Jamf => DeriveKeys {
            name: &["model"],
            identifier: &["model_identifier"],
            platform: &["platform", "device_type"],
            os: &["operating_system"],
            os_version: &["operating_system_version"],
        },
        Vendor::Kandji => DeriveKeys {
            name: &["model"],
            identifier: &["model_identifier"],
            platform: &["platform"],
            os: &[],
            os_version: &["os_version"],
        },
        Vendor::Abm => DeriveKeys {
            name: &["device_model"],
            identifier: &["product_type"],
            platform: &["product_family"],
            os: &[],
            os_version: &[],
        },
    }
}

fn first<'a>(device: &'a SourceDevice, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| device.fields.get_str(k))
}

/// The inputs of the model and OS derivations of one record: equal inputs
/// give equal facts, so the planner caches facts by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FactInputs<'a> {
    pub entity: Entity,
    pub name: Option<&'a str>,
    pub identifier: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub os: Option<&'a str>,
    pub os_version: Option<&'a str>,
}

impl<'a> FactInputs<'a> {
    pub fn of(device: &'a SourceDevice) -> Self {
        let k = derive_keys(device.vendor);
        FactInputs {
            entity: device.entity,
            name: first(device, k.name),
            identifier: first(device, k.identifier),
            platform: first(device, k.platform),
            os: first(device, k.os),
            os_version: first(device, k.os_version),
        }
    }
}

/// The model and OS values derived from one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ModelFacts {
    pub model: Option<Value>,
    pub display_size: Option<Value>,
    pub release_year: Option<Value>,
    pub asset_type: Option<Value>,
    pub os_name: Option<Value>,
    pub os_version: Option<Value>,
}

impl ModelFacts {
    pub fn of(device: &SourceDevice) -> ModelFacts {
        ModelFacts::from_inputs(&FactInputs::of(device))
    }

    pub fn from_inputs(i: &FactInputs<'_>) -> ModelFacts {
        let table_name = i
            .identifier
            .and_then(model::lookup_identifier)
            .map(|m| m.marketing_name);
        let name = i.name.filter(|n| !n.trim().is_empty());
        let parsed = name
            .and_then(model::parse_model_name)
            .or_else(|| table_name.and_then(model::parse_model_name));
        let (os_name, os_version) = split_os(i.os, i.os_version, i.platform, i.entity);
        let os_for_type = os_name.clone();
        let asset_type = model::classify(
            i.identifier,
            name.or(table_name),
            i.platform,
            os_for_type.as_deref(),
        );
        let model_value = match &parsed {
            Some(p) => Some(p.model.clone()),
            // An unparsed name is kept as the vendor wrote it, unless it is
            // an identifier the table does not know.
            None => name
                .filter(|n| !model::looks_like_identifier(n))
                .and_then(normalize::text),
        };
        ModelFacts {
            model: model_value.map(Value::from),
            display_size: parsed
                .as_ref()
                .and_then(|p| p.display_size.clone())
                .map(Value::from),
            release_year: parsed
                .as_ref()
                .and_then(|p| p.release_year)
                .map(|y| Value::Int(i64::from(y))),
            asset_type: Some(Value::Text(asset_type.as_str().into())),
            os_name: os_name.map(Value::from),
            os_version: os_version.map(Value::from),
        }
    }

    pub fn get(&self, d: &Derived) -> Option<Value> {
        match d {
            Derived::Model => self.model.clone(),
            Derived::DisplaySize => self.display_size.clone(),
            Derived::ReleaseYear => self.release_year.clone(),
            Derived::AssetType => self.asset_type.clone(),
            Derived::OsName => self.os_name.clone(),
            Derived::OsVersion => self.os_version.clone(),
            _ => None,
        }
    }
}

/// Splits an OS string (`macOS 15.2.0`, `iOS 17.4`, `15.2`) into name and
/// version; a separate version field wins for the version; the platform or
/// entity names the OS when the string does not.
pub fn split_os(
    os: Option<&str>,
    version: Option<&str>,
    platform: Option<&str>,
    entity: Entity,
) -> (Option<String>, Option<String>) {
    let mut name: Option<String> = None;
    let mut ver: Option<String> = None;
    if let Some(os) = os.map(str::trim).filter(|s| !s.is_empty()) {
        match os.rsplit_once(char::is_whitespace) {
            Some((n, v)) if v.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                name = normalize::text(n).map(|n| canonical_os(&n));
                ver = normalize::text(v);
            }
            _ if os.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                ver = normalize::text(os);
            }
            _ => name = Some(canonical_os(os)),
        }
    }
    if let Some(v) = version.and_then(normalize::text) {
        ver = Some(v);
    }
    if name.is_none() {
        name = platform
            .and_then(os_for_platform)
            .or(match entity {
                Entity::Computer => Some("macOS"),
                _ => None,
            })
            .map(str::to_string);
    }
    (name, ver)
}

fn canonical_os(name: &str) -> String {
    let squashed: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match squashed.as_str() {
        "macos" | "macosx" | "osx" => "macOS",
        "ios" => "iOS",
        "ipados" => "iPadOS",
        "tvos" => "tvOS",
        "watchos" => "watchOS",
        "visionos" => "visionOS",
        _ => return name.to_string(),
    }
    .to_string()
}

/// The OS a platform or product family runs (`Mac` → `macOS`, `iPad` →
/// `iPadOS`, `AppleTV` → `tvOS`).
pub fn os_for_platform(platform: &str) -> Option<&'static str> {
    let p: String = platform
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match p.as_str() {
        "mac" | "macos" | "macbook" | "computer" => "macOS",
        "iphone" | "ios" => "iOS",
        "ipad" | "ipados" => "iPadOS",
        "appletv" | "tvos" | "tv" => "tvOS",
        "watch" | "watchos" | "applewatch" => "watchOS",
        "vision" | "visionos" | "applevisionpro" | "visionpro" => "visionOS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_keys_parse() {
        assert_eq!(
            SourceKey::parse("@date:order_date_time"),
            Ok(SourceKey::Derived(Derived::DateOf(
                "order_date_time".into()
            )))
        );
        assert!(matches!(
            SourceKey::parse("@nope"),
            Err(MappingError::UnknownDerived { .. })
        ));
        assert_eq!(SourceKey::parse(" "), Err(MappingError::EmptyKey));
        assert_eq!(SourceKey::parse("@model").unwrap().to_string(), "@model");
    }

    #[test]
    fn os_split() {
        let c = Entity::Computer;
        assert_eq!(
            split_os(Some("macOS 15.2.0"), None, None, c),
            (Some("macOS".into()), Some("15.2.0".into()))
        );
        assert_eq!(
            split_os(Some("Mac OS X 10.15.7"), None, None, c),
            (Some("macOS".into()), Some("10.15.7".into()))
        );
        assert_eq!(
            split_os(None, Some("17.4"), Some("iPad"), Entity::Device),
            (Some("iPadOS".into()), Some("17.4".into()))
        );
        assert_eq!(
            split_os(Some("17.4"), None, None, Entity::MobileDevice),
            (None, Some("17.4".into()))
        );
        assert_eq!(
            split_os(Some("macOS 15.2"), Some("15.2.1"), None, c),
            (Some("macOS".into()), Some("15.2.1".into()))
        );
    }

    #[test]
    fn user_specs_merge() {
        let mut m = Mapping::builtin();
        let specs: BTreeMap<String, FieldRuleSpec> = toml::from_str(
            r#"
            [location]
            ownership = "fill_if_empty"
            from = { jamf = "building_id" }
            [cost_center]
            from = { jamf = ["department_id", "@make"] }
            "#,
        )
        .unwrap();
        m.apply(specs).unwrap();
        let loc = m.field("location").unwrap();
        assert_eq!(loc.ownership, Ownership::FillIfEmpty);
        assert_eq!(
            loc.from[&Vendor::Jamf],
            vec![SourceKey::Catalog("building_id".into())]
        );
        assert_eq!(m.field("cost_center").unwrap().from[&Vendor::Jamf].len(), 2);
        let bad: BTreeMap<String, FieldRuleSpec> =
            toml::from_str("[brand_new]\nownership = \"source\"").unwrap();
        assert!(matches!(m.apply(bad), Err(MappingError::NoSources { .. })));
    }
}
