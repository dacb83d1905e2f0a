//! The field catalog: every vendor field of the integration documents, with
//! where it lives in the vendor payload, its type, guidance, uniqueness,
//! identifier recommendation and default inventory target.
//!
//! The catalog is data: list it, filter it, serialize it.
//!
//! ```
//! use mdm_mapping::catalog::{self, Recommendation};
//! use mdm_mapping::Vendor;
//!
//! let serial = catalog::field(Vendor::Jamf, "serial_number").unwrap();
//! assert_eq!(serial.name, "Serial Number");
//! assert_eq!(serial.json_path, "hardware.serialNumber");
//! assert_eq!(serial.recommendation, Recommendation::Recommended);
//! assert!(catalog::for_vendor(Vendor::Abm).count() >= 17);
//!
//! // Jamf Pro computers and mobile devices share keys; pick the record kind.
//! use mdm_mapping::Entity;
//! let imei = catalog::for_entity(Vendor::Jamf, Entity::MobileDevice)
//!     .find(|f| f.key == "imei")
//!     .unwrap();
//! assert_eq!(imei.default_target, Some("imei"));
//!
//! // The catalog serializes as the `mdm catalog --format json` objects.
//! let json = serde_json::to_value(serial).unwrap();
//! assert_eq!(json["recommendation"], "recommended");
//! assert_eq!(json["value_type"], "serial");
//! ```

use std::fmt;

use serde::Serialize;

use crate::normalize;
use crate::record::{Entity, Value, Vendor};

/// The type of a field's normalized value, which also says how it is normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Trimmed text.
    Text,
    /// A serial number ([`normalize::serial`]).
    Serial,
    /// A MAC address ([`normalize::mac`]).
    MacAddress,
    /// An email address ([`normalize::email`]).
    Email,
    /// A date-time, RFC 3339 UTC ([`normalize::datetime`]).
    DateTime,
    /// A date, `YYYY-MM-DD` ([`normalize::date`]).
    Date,
    /// A boolean ([`normalize::boolean_json`]).
    Boolean,
    /// A count; negative is "not reported" ([`normalize::count`]).
    Integer,
    /// A measured hardware quantity; `0` and negative are "not reported" ([`normalize::measured`]).
    Measured,
    /// An identifier, always a string ([`normalize::id_json`]).
    Id,
    /// A list of strings ([`normalize::list`]).
    List,
    /// A list of MAC addresses, each normalized.
    MacList,
    /// An amount of money as the vendor writes it (`"$500"`): text.
    Money,
}

impl ValueType {
    /// Normalizes a raw JSON value as this type. `None` is no value.
    pub fn normalize(self, raw: &serde_json::Value) -> Option<Value> {
        use serde_json::Value as J;
        let as_text = || match raw {
            J::String(s) => Some(s.clone()),
            J::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match self {
            ValueType::Text | ValueType::Money => as_text()
                .and_then(|s| normalize::text_compact(&s))
                .map(Value::Text),
            ValueType::Serial => as_text()
                .and_then(|s| normalize::serial_compact(&s))
                .map(Value::Text),
            ValueType::MacAddress => match raw {
                J::Array(items) => items
                    .iter()
                    .filter_map(J::as_str)
                    .find_map(normalize::mac_compact)
                    .map(Value::Text),
                _ => as_text()
                    .and_then(|s| normalize::mac_compact(&s))
                    .map(Value::Text),
            },
            ValueType::Email => as_text()
                .and_then(|s| normalize::email_compact(&s))
                .map(Value::Text),
            ValueType::DateTime => match raw {
                J::Number(n) => n
                    .as_i64()
                    .and_then(normalize::datetime_from_epoch_millis)
                    .map(Value::from),
                J::String(s) => normalize::datetime_compact(s).map(Value::Text),
                _ => None,
            },
            ValueType::Date => match raw {
                J::Number(n) => n
                    .as_i64()
                    .and_then(normalize::datetime_from_epoch_millis)
                    .and_then(|s| normalize::date(&s))
                    .map(Value::from),
                J::String(s) => normalize::date_compact(s).map(Value::Text),
                _ => None,
            },
            ValueType::Boolean => normalize::boolean_json(raw).map(Value::Bool),
            ValueType::Integer => normalize::int_json(raw)
                .and_then(normalize::count)
                .map(Value::Int),
            ValueType::Measured => normalize::int_json(raw)
                .and_then(normalize::measured)
                .map(Value::Int),
            ValueType::Id => normalize::id_json(raw).map(Value::from),
            ValueType::List => match raw {
                J::Array(items) => {
                    normalize::list(items.iter().filter_map(J::as_str)).map(Value::List)
                }
                J::String(s) => normalize::list([s.as_str()]).map(Value::List),
                _ => None,
            },
            ValueType::MacList => {
                let macs: Vec<String> = match raw {
                    J::Array(items) => items
                        .iter()
                        .filter_map(J::as_str)
                        .filter_map(normalize::mac)
                        .collect(),
                    J::String(s) => normalize::mac(s).into_iter().collect(),
                    _ => Vec::new(),
                };
                normalize::list(macs.iter().map(String::as_str)).map(Value::List)
            }
        }
    }
}

/// How suitable a field is as the identifier that matches a device to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// The best identifier for this source.
    Recommended,
    /// A good identifier when the better ones are missing.
    Acceptable,
    /// Usable only with care (may be empty, reused or changed).
    Caution,
    /// Never use as an identifier (dynamic, shared or free text).
    Avoid,
    /// Descriptive data; not an identifier.
    Informational,
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Recommendation::Recommended => "recommended",
            Recommendation::Acceptable => "acceptable",
            Recommendation::Caution => "caution",
            Recommendation::Avoid => "avoid",
            Recommendation::Informational => "informational",
        })
    }
}

/// One vendor field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    /// The vendor whose payload holds it.
    pub vendor: Vendor,
    /// The record kind it belongs to.
    pub entity: Entity,
    /// The display name exactly as the vendor tables write it.
    pub name: &'static str,
    /// The catalog key ([`normalize::catalog_key`] of the name; ABM's
    /// "Purchase Source ID/Type" is two rows, `purchase_source_id` and
    /// `purchase_source_type`).
    pub key: &'static str,
    /// Where it is in the vendor payload: a dotted path relative to one
    /// vendor record (a Jamf Pro `computers-inventory` or `mobile-devices/detail`
    /// result, a Kandji device, an ABM `orgDevices` resource). `a + b` when
    /// two values are joined with a space, `a | b` when the vendor uses
    /// either name (first present wins), `[]` for the items of a list, and a
    /// parenthesised note when the value needs another request.
    pub json_path: &'static str,
    /// The normalized value's type.
    pub value_type: ValueType,
    /// What the field is.
    pub description: &'static str,
    /// The integration documents' mapping guidance.
    pub guidance: &'static str,
    /// Whether a value identifies one device (or user) on its own.
    pub unique: bool,
    /// How suitable it is as the matching identifier.
    pub recommendation: Recommendation,
    /// The inventory field it maps to by default, if any.
    pub default_target: Option<&'static str>,
}

/// Every field of every vendor.
pub fn all() -> &'static [FieldSpec] {
    CATALOG
}

/// The fields of one vendor.
pub fn for_vendor(vendor: Vendor) -> impl Iterator<Item = &'static FieldSpec> {
    CATALOG.iter().filter(move |f| f.vendor == vendor)
}

/// The fields of one vendor's record kind (Jamf Pro `computer`,
/// `mobile_device` or `user`; Kandji and ABM `device`).
pub fn for_entity(vendor: Vendor, entity: Entity) -> impl Iterator<Item = &'static FieldSpec> {
    CATALOG
        .iter()
        .filter(move |f| f.vendor == vendor && f.entity == entity)
}

/// A vendor's field by catalog key. Jamf Pro computers and mobile devices
/// share keys (`serial_number`, `udid`, …); this returns the first row, the
/// computer's. Use [`for_entity`] to pick a record kind.
pub fn field(vendor: Vendor, key: &str) -> Option<&'static FieldSpec> {
    CATALOG.iter().find(|f| f.vendor == vendor && f.key == key)
}

/// A vendor's field by display name (ASCII case-insensitive) or by key
/// (any spelling whose [`normalize::catalog_key`] is the key).
pub fn find(vendor: Vendor, name_or_key: &str) -> Option<&'static FieldSpec> {
    let key = normalize::catalog_key(name_or_key);
    CATALOG.iter().find(|f| {
        f.vendor == vendor && (f.name.eq_ignore_ascii_case(name_or_key.trim()) || f.key == key)
    })
}

/// The catalog data. See `catalog_data.rs`.
static CATALOG: &[FieldSpec] = crate::catalog_data::CATALOG;
