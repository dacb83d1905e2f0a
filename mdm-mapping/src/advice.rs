//! Identifier advice: which field to match devices on, whether a chosen field
//! is a good idea, and how healthy each candidate is in a real data set.
//!
//! - [`ranked_identifiers`]: the catalog fields usable as identifiers for one
//!   record kind, best first, each with a reason.
//! - [`validate_identifier`]: checks a field a user picked (by display name
//!   or key) and says why it is fine, risky or refused, with the better
//!   alternative.
//! - [`health_report`], [`health_report_json`], [`health_report_raw`] (or a
//!   [`HealthTally`] fed page by page): fill rate, placeholders, distinct and
//!   duplicate values of every candidate in your data, and the identifier to
//!   use for it.
//!
//! # Ranking policy
//!
//! `serial_number` always comes first: it is the one identifier every source
//! (Jamf Pro, Kandji, ABM) reports for the same device, so it is the only one
//! that matches a device across sources and against an inventory filled by
//! hand. The source's own record id (Jamf Pro Computer ID, Jamf Pro Mobile
//! Device ID, Kandji Device ID) comes right after it: stable, unique, but
//! known only to that source. Then the rest by recommendation (recommended,
//! acceptable, caution), unique fields before non-unique ones, then catalog
//! order. Fields to avoid and descriptive fields are never candidates.
//!
//! ```
//! use mdm_mapping::advice::{self, CheckLevel};
//! use mdm_mapping::{Entity, SourceDevice, Vendor};
//!
//! let ranked = advice::ranked_identifiers(Vendor::Jamf, Entity::Computer);
//! assert_eq!(ranked[0].field.key, "serial_number");
//!
//! let check = advice::validate_identifier(Vendor::Jamf, Entity::Computer, "IP Address").unwrap();
//! assert_eq!(check.level, CheckLevel::Refused);
//! assert!(check.message.contains("Avoid – dynamic value"));
//!
//! // Two computers share an asset tag; the serial numbers are clean.
//! let devices: Vec<SourceDevice> = [("1", "C02AAA", "AT-1"), ("2", "C02BBB", "AT-1")]
//!     .into_iter()
//!     .map(|(id, serial, tag)| {
//!         let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, id);
//!         d.fields.serial("serial_number", Some(serial)).text("asset_tag", Some(tag));
//!         d
//!     })
//!     .collect();
//! let report = advice::health_report(Vendor::Jamf, Entity::Computer, &devices);
//! assert_eq!(report.recommended, Some("serial_number"));
//! assert_eq!(report.key("asset_tag").unwrap().duplicate_values, 1);
//! println!("{report}");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::catalog::{self, FieldSpec, Recommendation, ValueType};
use crate::normalize;
use crate::record::{Entity, SourceDevice, Value, Vendor};

/// The fill rate a candidate needs, by default, to be recommended for a data
/// set (95 % of the records carry a usable value).
pub const DEFAULT_MIN_FILL_RATE: f64 = 0.95;

/// How many duplicated values a health report lists per key, by default.
pub const DEFAULT_MAX_EXAMPLES: usize = 5;

/// How many record ids a duplicate example lists.
const MAX_EXAMPLE_IDS: usize = 5;

/// How many close names an unknown-field error suggests.
const MAX_SUGGESTIONS: usize = 5;

// ---------------------------------------------------------------------------
// Ranking
// ---------------------------------------------------------------------------

/// One identifier candidate, with its place in the ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentifierAdvice {
    /// 1 is the best.
    pub rank: usize,
    /// The catalog field.
    pub field: &'static FieldSpec,
    /// Why it sits here: the vendor guidance and what uniqueness it offers.
    pub reason: String,
}

/// The catalog key holding the source's own record id for a record kind:
/// `jamf_pro_computer_id`, `jamf_pro_mobile_device_id`, Kandji `device_id`.
/// `None` for ABM (its record id is the serial number) and for user records.
pub fn source_id_key(vendor: Vendor, entity: Entity) -> Option<&'static str> {
    match (vendor, entity) {
        (Vendor::Jamf, Entity::Computer) => Some("jamf_pro_computer_id"),
        (Vendor::Jamf, Entity::MobileDevice) => Some("jamf_pro_mobile_device_id"),
        (Vendor::Kandji, Entity::Device) => Some("device_id"),
        _ => None,
    }
}

/// Whether a recommendation makes a field an identifier candidate.
fn is_candidate(r: Recommendation) -> bool {
    matches!(
        r,
        Recommendation::Recommended | Recommendation::Acceptable | Recommendation::Caution
    )
}

/// The catalog fields usable as identifiers for one record kind
/// (recommended, acceptable or caution), best first. See the
/// [module docs](self#ranking-policy) for the order. Empty when the vendor
/// has no such record kind.
pub fn ranked_identifiers(vendor: Vendor, entity: Entity) -> Vec<IdentifierAdvice> {
    let id_key = source_id_key(vendor, entity);
    let mut fields: Vec<(usize, &'static FieldSpec)> = catalog::all()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.vendor == vendor && f.entity == entity && is_candidate(f.recommendation))
        .collect();
    fields.sort_by_key(|(index, f)| {
        let group = if f.key == "serial_number" {
            0
        } else if Some(f.key) == id_key {
            1
        } else {
            2
        };
        (group, f.recommendation, !f.unique, *index)
    });
    fields
        .into_iter()
        .enumerate()
        .map(|(i, (_, field))| IdentifierAdvice {
            rank: i + 1,
            field,
            reason: reason(field, id_key),
        })
        .collect()
}

/// Device-record keys that hold the assigned user's identity.
const USER_KEYS: &[&str] = &["user_id", "user_email", "user_name"];

fn reason(field: &FieldSpec, id_key: Option<&str>) -> String {
    let guidance = sentence(field.guidance);
    let why = if field.key == "serial_number" {
        "Unique per device and reported by every source (Jamf Pro, Kandji, ABM): \
         the one identifier that matches a device across sources."
            .to_string()
    } else if Some(field.key) == id_key {
        format!(
            "Unique and stable within {}, but only that source knows it: use it to \
             re-match this source's records, not to match across sources.",
            vendor_name(field.vendor)
        )
    } else if field.entity == Entity::User {
        "One value per user.".to_string()
    } else if USER_KEYS.contains(&field.key) {
        "It identifies the assigned user, not the device: several devices can share it.".to_string()
    } else if field.unique {
        "One value per device, when the device reports it.".to_string()
    } else {
        "Not guaranteed unique: check it with a health report before relying on it.".to_string()
    };
    format!("{guidance} {why}")
}

/// Ends `s` with a full stop unless it already ends with punctuation.
fn sentence(s: &str) -> String {
    let t = s.trim();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

fn vendor_name(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Jamf => "Jamf Pro",
        Vendor::Kandji => "Kandji",
        Vendor::Abm => "Apple Business Manager",
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// How acceptable a chosen identifier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckLevel {
    /// A recommended or acceptable identifier.
    Ok,
    /// Usable only with care: it may be empty, reused or reformatted.
    Warn,
    /// Not an identifier: dynamic, shared, free text or descriptive data.
    Refused,
}

impl fmt::Display for CheckLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckLevel::Ok => "ok",
            CheckLevel::Warn => "warn",
            CheckLevel::Refused => "refused",
        })
    }
}

/// The verdict on a chosen identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentifierCheck {
    /// The field that was checked.
    pub field: &'static FieldSpec,
    /// Ok, warn or refused.
    pub level: CheckLevel,
    /// Its place in [`ranked_identifiers`], when it is a candidate.
    pub rank: Option<usize>,
    /// One or two sentences: the verdict, the vendor guidance, the better choice.
    pub message: String,
    /// The better identifier, when there is one.
    pub alternative: Option<&'static FieldSpec>,
}

impl IdentifierCheck {
    /// Whether the field may be used without a warning.
    pub fn is_ok(&self) -> bool {
        self.level == CheckLevel::Ok
    }
}

impl fmt::Display for IdentifierCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.level, self.message)
    }
}

/// Why an identifier could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AdviceError {
    /// No field of that name or key.
    #[error(
        "unknown {vendor} {entity} field {name:?}{}",
        suggestion_text(suggestions)
    )]
    UnknownField {
        /// The vendor asked about.
        vendor: Vendor,
        /// The record kind asked about.
        entity: Entity,
        /// The name as given.
        name: String,
        /// Close display names of that record kind, closest first.
        suggestions: Vec<String>,
    },
    /// The field exists, but on another record kind of that vendor.
    #[error("{vendor} field {name:?} belongs to {found_in} records, not {entity} records")]
    WrongEntity {
        /// The vendor asked about.
        vendor: Vendor,
        /// The record kind asked about.
        entity: Entity,
        /// The field's display name.
        name: String,
        /// The record kind that has it.
        found_in: Entity,
    },
    /// The vendor has no records of that kind.
    #[error(
        "{vendor} has no {entity} records (it has: {})",
        entity_list(available)
    )]
    NoSuchEntity {
        /// The vendor asked about.
        vendor: Vendor,
        /// The record kind asked about.
        entity: Entity,
        /// The record kinds it has.
        available: Vec<Entity>,
    },
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {}?)", suggestions.join(", "))
    }
}

fn entity_list(entities: &[Entity]) -> String {
    entities
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The record kinds a vendor has in the catalog, in catalog order.
fn entities_of(vendor: Vendor) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for f in catalog::for_vendor(vendor) {
        if !out.contains(&f.entity) {
            out.push(f.entity);
        }
    }
    out
}

fn matches_name(f: &FieldSpec, name: &str, key: &str) -> bool {
    f.name.eq_ignore_ascii_case(name.trim()) || f.key == key
}

/// Looks a field up for a record kind. Jamf Pro device records also carry
/// the user fields (entity `user`), so those are found for them too.
fn lookup(
    vendor: Vendor,
    entity: Entity,
    name_or_key: &str,
) -> Result<&'static FieldSpec, AdviceError> {
    let available = entities_of(vendor);
    if !available.contains(&entity) {
        return Err(AdviceError::NoSuchEntity {
            vendor,
            entity,
            available,
        });
    }
    let key = normalize::catalog_key(name_or_key);
    let carries_users = vendor == Vendor::Jamf && entity != Entity::User;
    let in_scope = |f: &&FieldSpec| {
        f.vendor == vendor && (f.entity == entity || (carries_users && f.entity == Entity::User))
    };
    if let Some(f) = catalog::all()
        .iter()
        .filter(in_scope)
        .find(|f| matches_name(f, name_or_key, &key))
    {
        return Ok(f);
    }
    if let Some(f) = catalog::for_vendor(vendor).find(|f| matches_name(f, name_or_key, &key)) {
        return Err(AdviceError::WrongEntity {
            vendor,
            entity,
            name: f.name.to_string(),
            found_in: f.entity,
        });
    }
    let mut scored: Vec<(usize, &'static str)> = catalog::all()
        .iter()
        .filter(in_scope)
        .filter_map(|f| {
            let d = levenshtein(&key, f.key);
            let close = d <= (key.len().max(f.key.len()) / 3).max(2)
                || (!key.is_empty() && (f.key.contains(key.as_str()) || key.contains(f.key)));
            close.then_some((d, f.name))
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|(_, n)| *n);
    Err(AdviceError::UnknownField {
        vendor,
        entity,
        name: name_or_key.to_string(),
        suggestions: scored
            .into_iter()
            .take(MAX_SUGGESTIONS)
            .map(|(_, n)| n.to_string())
            .collect(),
    })
}

/// Edit distance between two strings, by characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute =
                prev.get(j).copied().unwrap_or(usize::MAX - 1) + usize::from(ca != *cb);
            let delete = prev.get(j + 1).copied().unwrap_or(usize::MAX - 1) + 1;
            let insert = cur.get(j).copied().unwrap_or(usize::MAX - 1) + 1;
            cur.push(substitute.min(delete).min(insert));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn label(f: &FieldSpec) -> String {
    format!("{} ({})", f.name, f.key)
}

/// Checks a field chosen as the matching identifier for one record kind.
///
/// `name_or_key` is a display name (`"IP Address"`, any ASCII case) or a
/// catalog key (`"ip_address"`). Recommended and acceptable fields are
/// [`CheckLevel::Ok`], caution fields [`CheckLevel::Warn`], fields to avoid
/// and descriptive fields [`CheckLevel::Refused`]; the message quotes the
/// vendor guidance and names the better identifier. A Jamf Pro user field
/// (Email Address, …) asked for a computer or mobile device is at best a
/// warning: it identifies the assigned person, whom several devices share.
///
/// # Errors
///
/// [`AdviceError::UnknownField`] (with close names) when no field matches,
/// [`AdviceError::WrongEntity`] when the field belongs to another record kind,
/// [`AdviceError::NoSuchEntity`] when the vendor has no such records.
pub fn validate_identifier(
    vendor: Vendor,
    entity: Entity,
    name_or_key: &str,
) -> Result<IdentifierCheck, AdviceError> {
    let field = lookup(vendor, entity, name_or_key)?;
    let ranked = ranked_identifiers(vendor, entity);
    let rank = ranked
        .iter()
        .find(|a| std::ptr::eq(a.field, field))
        .map(|a| a.rank);
    let best = ranked.first().map(|a| a.field);
    let alternative = best.filter(|b| !std::ptr::eq(*b, field));
    let guidance = sentence(field.guidance);
    let better = |verb: &str| {
        alternative
            .map(|a| format!(" {verb} {}.", label(a)))
            .unwrap_or_default()
    };
    let user_field_on_device = field.entity == Entity::User && entity != Entity::User;

    let instead = alternative
        .map(|a| format!(" Use {} instead.", label(a)))
        .unwrap_or_default();

    let (mut level, mut message) = match field.recommendation {
        Recommendation::Recommended | Recommendation::Acceptable if rank == Some(1) => (
            CheckLevel::Ok,
            format!(
                "{} is the best identifier for {vendor} {entity} records: {guidance}",
                label(field)
            ),
        ),
        Recommendation::Recommended => (
            CheckLevel::Ok,
            format!(
                "{} is a recommended identifier: {guidance}{}",
                label(field),
                better("To match across sources, prefer")
            ),
        ),
        Recommendation::Acceptable => (
            CheckLevel::Ok,
            format!(
                "{} is an acceptable identifier: {guidance}{}",
                label(field),
                better("Better:")
            ),
        ),
        Recommendation::Caution => {
            let unique = if field.unique {
                ""
            } else {
                " It is not guaranteed unique: run a health report on your data first."
            };
            (
                CheckLevel::Warn,
                format!(
                    "{} is usable only with caution: {guidance}{unique}{}",
                    label(field),
                    better("Better:")
                ),
            )
        }
        Recommendation::Avoid => (
            CheckLevel::Refused,
            format!(
                "{} must not be used as an identifier: {guidance}{instead}",
                label(field)
            ),
        ),
        Recommendation::Informational => (
            CheckLevel::Refused,
            format!(
                "{} is descriptive data, not an identifier: {guidance}{instead}",
                label(field)
            ),
        ),
    };
    if user_field_on_device && level == CheckLevel::Ok {
        level = CheckLevel::Warn;
        message = format!(
            "{} identifies the assigned user, not the {entity}: several devices can share it. \
             {guidance}{}",
            label(field),
            better("For devices, use")
        );
    }
    Ok(IdentifierCheck {
        field,
        level,
        rank,
        message,
        alternative,
    })
}

// ---------------------------------------------------------------------------
// Health report
// ---------------------------------------------------------------------------

/// Thresholds of a health report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HealthOptions {
    /// The share of records (0.0–1.0) that must carry a usable value for a
    /// candidate to be recommended. Default [`DEFAULT_MIN_FILL_RATE`].
    pub min_fill_rate: f64,
    /// How many duplicated values to list per key. Default [`DEFAULT_MAX_EXAMPLES`].
    pub max_examples: usize,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            min_fill_rate: DEFAULT_MIN_FILL_RATE,
            max_examples: DEFAULT_MAX_EXAMPLES,
        }
    }
}

/// A value shared by more than one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateExample {
    /// The value, in its comparison form (see [`comparison_value`]).
    pub value: String,
    /// How many records carry it.
    pub records: usize,
    /// Up to five of those records: their source id, or `#n` (1-based
    /// position) when the record has none.
    pub record_ids: Vec<String>,
}

/// The health of one identifier candidate in a data set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyHealth {
    /// Its place in [`ranked_identifiers`].
    pub rank: usize,
    /// The catalog key.
    pub key: &'static str,
    /// The display name.
    pub name: &'static str,
    /// The catalog recommendation.
    pub recommendation: Recommendation,
    /// Records looked at.
    pub records: usize,
    /// Records with a usable value.
    pub filled: usize,
    /// `filled / records` (0.0 when there are no records).
    pub fill_rate: f64,
    /// Records with no usable value (absent, blank, placeholder or invalid).
    pub missing: usize,
    /// Records whose only value is a placeholder (`N/A`, `Not Available`,
    /// `0`, … per [`normalize::is_placeholder_serial`]).
    pub placeholders: usize,
    /// Records whose only value cannot be read as the field's type (a MAC
    /// address that is not one, an email without `@`).
    pub invalid: usize,
    /// Distinct usable values.
    pub distinct: usize,
    /// Values carried by more than one record.
    pub duplicate_values: usize,
    /// Records that share a value with another record.
    pub duplicate_records: usize,
    /// The most shared values, most shared first.
    pub duplicates: Vec<DuplicateExample>,
    /// Filled on at least the minimum fill rate and free of duplicates.
    pub usable: bool,
}

/// Identifier health of a data set: one [`KeyHealth`] per candidate, in
/// rank order, and the identifier to use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// The vendor checked.
    pub vendor: Vendor,
    /// The record kind checked.
    pub entity: Entity,
    /// Records looked at.
    pub records: usize,
    /// Records skipped because they are of another vendor or record kind.
    pub ignored: usize,
    /// The fill rate a candidate needed.
    pub min_fill_rate: f64,
    /// Every candidate, best-ranked first.
    pub keys: Vec<KeyHealth>,
    /// The best-ranked usable candidate, if any.
    pub recommended: Option<&'static str>,
    /// One sentence: what is wrong with the other candidates and what to use.
    pub summary: String,
}

impl HealthReport {
    /// The health of one key.
    pub fn key(&self, key: &str) -> Option<&KeyHealth> {
        self.keys.iter().find(|k| k.key == key)
    }
}

/// The form in which identifier values are compared: the field's
/// normalization, then serials, IMEI/MEID lists and ids without whitespace
/// and in upper case, MAC addresses and emails in their normal form, other
/// text lower case with runs of whitespace collapsed. `None` when the raw
/// value is no usable value (blank, placeholder or unreadable).
pub fn comparison_value(value_type: ValueType, raw: &str) -> Option<String> {
    match observe(value_type, raw) {
        Observed::Value(v) => Some(v),
        _ => None,
    }
}

enum Observed {
    Empty,
    Placeholder,
    Invalid,
    Value(String),
}

fn squash_upper(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

fn observe(value_type: ValueType, raw: &str) -> Observed {
    if raw.trim().is_empty() {
        return Observed::Empty;
    }
    if normalize::is_placeholder_serial(raw) {
        return Observed::Placeholder;
    }
    let value = match value_type {
        ValueType::Serial => normalize::serial(raw),
        ValueType::MacAddress | ValueType::MacList => normalize::mac(raw),
        ValueType::Email => normalize::email(raw),
        ValueType::Id | ValueType::List => normalize::id(raw).map(|s| squash_upper(&s)),
        _ => normalize::text(raw).map(|s| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        }),
    };
    value.map_or(Observed::Invalid, Observed::Value)
}

/// One candidate's running counts.
#[derive(Debug, Clone)]
struct Counter {
    advice: IdentifierAdvice,
    filled: usize,
    placeholders: usize,
    invalid: usize,
    /// value → the records (indices) that carry it.
    values: BTreeMap<String, Vec<usize>>,
}

impl Counter {
    fn observe_record<'a>(&mut self, record: usize, raws: impl IntoIterator<Item = &'a str>) {
        let mut any_placeholder = false;
        let mut any_invalid = false;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for raw in raws {
            match observe(self.advice.field.value_type, raw) {
                Observed::Empty => {}
                Observed::Placeholder => any_placeholder = true,
                Observed::Invalid => any_invalid = true,
                Observed::Value(v) => {
                    seen.insert(v);
                }
            }
        }
        if !seen.is_empty() {
            self.filled += 1;
            for v in seen {
                self.values.entry(v).or_default().push(record);
            }
        } else if any_placeholder {
            self.placeholders += 1;
        } else if any_invalid {
            self.invalid += 1;
        }
    }
}

/// A health report built record by record, so a whole listing can be checked
/// page by page. Feed it [`SourceDevice`]s, raw vendor JSON records or raw
/// `(key, value)` pairs, then call [`HealthTally::report`].
///
/// Placeholders: the [`SourceDevice`] setters already drop placeholder
/// serials at intake, so a report over normalized records counts only the
/// placeholders that survive as text (an asset tag of `N/A`). To see every
/// placeholder the vendor sent, feed the raw records ([`HealthTally::add_json`]
/// or [`HealthTally::add_raw`]).
#[derive(Debug, Clone)]
pub struct HealthTally {
    vendor: Vendor,
    entity: Entity,
    options: HealthOptions,
    counters: Vec<Counter>,
    labels: Vec<String>,
    ignored: usize,
}

impl HealthTally {
    /// An empty tally for one record kind, with the default options.
    pub fn new(vendor: Vendor, entity: Entity) -> Self {
        HealthTally {
            vendor,
            entity,
            options: HealthOptions::default(),
            counters: ranked_identifiers(vendor, entity)
                .into_iter()
                .map(|advice| Counter {
                    advice,
                    filled: 0,
                    placeholders: 0,
                    invalid: 0,
                    values: BTreeMap::new(),
                })
                .collect(),
            labels: Vec::new(),
            ignored: 0,
        }
    }

    /// Replaces the thresholds.
    pub fn with_options(mut self, options: HealthOptions) -> Self {
        self.options = options;
        self
    }

    fn next_record(&mut self, label: Option<&str>) -> usize {
        let index = self.labels.len();
        self.labels.push(
            label
                .and_then(normalize::text)
                .unwrap_or_else(|| format!("#{}", index + 1)),
        );
        index
    }

    /// Adds a normalized record. Records of another vendor or record kind
    /// are counted as ignored. The source's own id key (see
    /// [`source_id_key`]) falls back to `source_id` when the fields lack it.
    pub fn add_device(&mut self, device: &SourceDevice) -> &mut Self {
        if device.vendor != self.vendor || device.entity != self.entity {
            self.ignored += 1;
            return self;
        }
        let record = self.next_record(Some(&device.source_id));
        let id_key = source_id_key(self.vendor, self.entity);
        for counter in &mut self.counters {
            let key = counter.advice.field.key;
            let raws: Vec<String> = match device.fields.get(key) {
                Some(Value::Text(s)) => vec![s.to_string()],
                Some(Value::List(l)) => l.clone(),
                Some(Value::Int(i)) => vec![i.to_string()],
                Some(_) => Vec::new(),
                None if Some(key) == id_key => vec![device.source_id.clone()],
                None => Vec::new(),
            };
            counter.observe_record(record, raws.iter().map(String::as_str));
        }
        self
    }

    /// Adds one raw vendor record, as the vendor sent it (a Jamf Pro
    /// `computers-inventory` result, a Kandji device, an ABM `orgDevices`
    /// resource), reading each candidate at its catalog `json_path`. Paths
    /// that need another request (a parenthesised note) read as absent.
    /// Records are labelled by the source's own id (ABM: the serial number).
    pub fn add_json(&mut self, payload: &serde_json::Value) -> &mut Self {
        // Label records by the source's own id, or by serial (ABM's record id).
        let label = source_id_key(self.vendor, self.entity)
            .or(Some("serial_number"))
            .and_then(|k| self.counters.iter().find(|c| c.advice.field.key == k))
            .and_then(|c| {
                resolve_path(payload, c.advice.field.json_path)
                    .into_iter()
                    .next()
            });
        let record = self.next_record(label.as_deref());
        for counter in &mut self.counters {
            let raws = resolve_path(payload, counter.advice.field.json_path);
            counter.observe_record(record, raws.iter().map(String::as_str));
        }
        self
    }

    /// Adds one record given as raw `(field, value)` pairs; the field is a
    /// catalog key or display name, the value as the vendor sent it (`None`
    /// or blank for no value). Fields that are not identifier candidates are
    /// skipped; a key given twice contributes both values.
    ///
    /// # Errors
    ///
    /// [`AdviceError`] naming the first field that is not in the catalog for
    /// this record kind; the record is then not counted at all.
    pub fn add_raw<'a, I>(
        &mut self,
        label: Option<&str>,
        values: I,
    ) -> Result<&mut Self, AdviceError>
    where
        I: IntoIterator<Item = (&'a str, Option<&'a str>)>,
    {
        let mut per_key: BTreeMap<&'static str, Vec<&'a str>> = BTreeMap::new();
        for (name, value) in values {
            let field = lookup(self.vendor, self.entity, name)?;
            let entry = per_key.entry(field.key).or_default();
            if let Some(v) = value {
                entry.push(v);
            }
        }
        let record = self.next_record(label);
        for counter in &mut self.counters {
            let raws = per_key
                .get(counter.advice.field.key)
                .cloned()
                .unwrap_or_default();
            counter.observe_record(record, raws);
        }
        Ok(self)
    }

    /// The report over every record added so far.
    pub fn report(&self) -> HealthReport {
        let records = self.labels.len();
        let keys: Vec<KeyHealth> = self
            .counters
            .iter()
            .map(|c| self.key_health(c, records))
            .collect();
        let recommended = keys.iter().find(|k| k.usable).map(|k| k.key);
        let summary = summarize(
            self.vendor,
            self.entity,
            records,
            &keys,
            recommended,
            &self.options,
        );
        HealthReport {
            vendor: self.vendor,
            entity: self.entity,
            records,
            ignored: self.ignored,
            min_fill_rate: self.options.min_fill_rate,
            keys,
            recommended,
            summary,
        }
    }

    fn key_health(&self, c: &Counter, records: usize) -> KeyHealth {
        let shared: Vec<(&String, &Vec<usize>)> =
            c.values.iter().filter(|(_, r)| r.len() > 1).collect();
        let duplicate_records = shared
            .iter()
            .flat_map(|(_, r)| r.iter().copied())
            .collect::<BTreeSet<usize>>()
            .len();
        let mut examples: Vec<(&String, &Vec<usize>)> = shared.clone();
        examples.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
        let duplicates = examples
            .into_iter()
            .take(self.options.max_examples)
            .map(|(value, recs)| DuplicateExample {
                value: value.clone(),
                records: recs.len(),
                record_ids: recs
                    .iter()
                    .take(MAX_EXAMPLE_IDS)
                    .filter_map(|i| self.labels.get(*i).cloned())
                    .collect(),
            })
            .collect();
        let fill_rate = if records == 0 {
            0.0
        } else {
            c.filled as f64 / records as f64
        };
        KeyHealth {
            rank: c.advice.rank,
            key: c.advice.field.key,
            name: c.advice.field.name,
            recommendation: c.advice.field.recommendation,
            records,
            filled: c.filled,
            fill_rate,
            missing: records.saturating_sub(c.filled),
            placeholders: c.placeholders,
            invalid: c.invalid,
            distinct: c.values.len(),
            duplicate_values: shared.len(),
            duplicate_records,
            duplicates,
            usable: records > 0 && fill_rate >= self.options.min_fill_rate && shared.is_empty(),
        }
    }
}

/// A percentage for people: whole numbers, but never rounded to 0 % or
/// 100 % when it is not exactly that.
fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    let rounded = p.round();
    if (rounded == 0.0 && p > 0.0) || (rounded == 100.0 && p < 100.0) {
        format!("{p:.1}%")
    } else {
        format!("{rounded:.0}%")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What is wrong with a candidate, as a clause; `None` when nothing is.
fn problem(k: &KeyHealth, min_fill_rate: f64) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if k.fill_rate < min_fill_rate {
        let mut empty = format!(
            "is empty on {} of records",
            percent(k.missing as f64 / k.records.max(1) as f64)
        );
        let mut notes = Vec::new();
        if k.placeholders > 0 {
            notes.push(plural(k.placeholders, "placeholder", "placeholders"));
        }
        if k.invalid > 0 {
            notes.push(plural(k.invalid, "invalid value", "invalid values"));
        }
        if !notes.is_empty() {
            empty.push_str(&format!(" ({})", notes.join(", ")));
        }
        parts.push(empty);
    }
    if k.duplicate_values > 0 {
        parts.push(format!(
            "duplicated: {} shared by {}",
            plural(k.duplicate_values, "value", "values"),
            plural(k.duplicate_records, "record", "records")
        ));
    }
    (!parts.is_empty()).then(|| format!("{} {}", k.key, parts.join(" and ")))
}

fn summarize(
    vendor: Vendor,
    entity: Entity,
    records: usize,
    keys: &[KeyHealth],
    recommended: Option<&str>,
    options: &HealthOptions,
) -> String {
    if records == 0 {
        return format!("no {vendor} {entity} records to check");
    }
    if keys.is_empty() {
        return format!("{vendor} {entity} records have no identifier candidates");
    }
    // Problems of the candidates that have some data (fully empty ones are
    // simply not used by this source), best-ranked first, at most three.
    let problems: Vec<String> = keys
        .iter()
        .filter(|k| k.filled > 0 && Some(k.key) != recommended)
        .filter_map(|k| problem(k, options.min_fill_rate))
        .take(3)
        .collect();
    match recommended.and_then(|r| keys.iter().find(|k| k.key == r)) {
        Some(pick) => {
            let stats = format!(
                "{} is filled on {} of {} with no duplicates",
                pick.key,
                percent(pick.fill_rate),
                plural(records, "record", "records")
            );
            if problems.is_empty() {
                format!("{stats}: use {}", pick.key)
            } else {
                format!("{}; {stats}: use {}", problems.join("; "), pick.key)
            }
        }
        None => {
            let best = keys.iter().filter(|k| k.filled > 0).max_by(|a, b| {
                (a.fill_rate - a.duplicate_records as f64 / records as f64)
                    .total_cmp(&(b.fill_rate - b.duplicate_records as f64 / records as f64))
                    .then_with(|| b.rank.cmp(&a.rank))
            });
            let head = format!(
                "no identifier is filled on at least {} of {} without duplicates",
                percent(options.min_fill_rate),
                plural(records, "record", "records")
            );
            let mut s = if problems.is_empty() {
                head
            } else {
                format!("{head}: {}", problems.join("; "))
            };
            match best {
                Some(b) => s.push_str(&format!(
                    "; fix the data, or match on {} with care (it may create duplicates)",
                    b.key
                )),
                None => s.push_str("; no candidate has any value"),
            }
            s
        }
    }
}

impl fmt::Display for HealthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "identifier health: {} {}, {} (usable: filled on >= {}, no duplicates)",
            self.vendor,
            self.entity,
            plural(self.records, "record", "records"),
            percent(self.min_fill_rate)
        )?;
        if self.ignored > 0 {
            writeln!(
                f,
                "({} of another vendor or record kind ignored)",
                plural(self.ignored, "record", "records")
            )?;
        }
        let width = self
            .keys
            .iter()
            .map(|k| k.key.len())
            .max()
            .unwrap_or(3)
            .max(3);
        writeln!(
            f,
            "{:>2}  {:<width$}  {:<13}  {:>11}  {:>6}  {:>6}  {:>7}  {:>8}  {:>10}  {:>11}  usable",
            "#",
            "key",
            "advice",
            "filled",
            "fill",
            "placeh",
            "invalid",
            "distinct",
            "dup values",
            "dup records",
        )?;
        for k in &self.keys {
            writeln!(
                f,
                "{:>2}  {:<width$}  {:<13}  {:>11}  {:>6}  {:>6}  {:>7}  {:>8}  {:>10}  {:>11}  {}",
                k.rank,
                k.key,
                k.recommendation.to_string(),
                format!("{}/{}", k.filled, k.records),
                percent(k.fill_rate),
                k.placeholders,
                k.invalid,
                k.distinct,
                k.duplicate_values,
                k.duplicate_records,
                if k.usable { "yes" } else { "no" },
            )?;
        }
        for k in self.keys.iter().filter(|k| !k.duplicates.is_empty()) {
            let shown: Vec<String> = k
                .duplicates
                .iter()
                .map(|d| format!("{:?} x{} ({})", d.value, d.records, d.record_ids.join(", ")))
                .collect();
            writeln!(f, "duplicated {}: {}", k.key, shown.join("; "))?;
        }
        write!(f, "=> {}", self.summary)
    }
}

/// Reads every string at a catalog `json_path` in a vendor record.
fn resolve_path(payload: &serde_json::Value, path: &str) -> Vec<String> {
    if path.contains('(') {
        return Vec::new();
    }
    for alternative in path.split(" | ") {
        let parts: Vec<Vec<String>> = alternative
            .split(" + ")
            .map(|p| resolve_simple(payload, p.trim()))
            .collect();
        let found = if parts.len() == 1 {
            parts.into_iter().flatten().collect::<Vec<_>>()
        } else {
            let joined: Vec<String> = parts
                .into_iter()
                .filter_map(|p| p.into_iter().next())
                .collect();
            if joined.is_empty() {
                Vec::new()
            } else {
                vec![joined.join(" ")]
            }
        };
        if found.iter().any(|s| !s.trim().is_empty()) {
            return found;
        }
    }
    Vec::new()
}

fn resolve_simple(payload: &serde_json::Value, path: &str) -> Vec<String> {
    use serde_json::Value as J;
    let mut current: Vec<&J> = vec![payload];
    for segment in path.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (segment, false),
        };
        let mut next = Vec::new();
        for v in current {
            let Some(child) = v.get(name) else { continue };
            match (each, child) {
                (true, J::Array(items)) => next.extend(items.iter()),
                (true, _) => {}
                (false, c) => next.push(c),
            }
        }
        current = next;
    }
    let mut out = Vec::new();
    for v in current {
        match v {
            J::String(s) => out.push(s.clone()),
            J::Number(n) => out.push(n.to_string()),
            J::Array(items) => out.extend(items.iter().filter_map(|i| match i {
                J::String(s) => Some(s.clone()),
                J::Number(n) => Some(n.to_string()),
                _ => None,
            })),
            _ => {}
        }
    }
    out
}

/// The identifier health of normalized records (see [`HealthTally`] for how
/// placeholders are counted). Records of another vendor or kind are ignored.
pub fn health_report(vendor: Vendor, entity: Entity, records: &[SourceDevice]) -> HealthReport {
    let mut tally = HealthTally::new(vendor, entity);
    for r in records {
        tally.add_device(r);
    }
    tally.report()
}

/// The identifier health of raw vendor records, read at the catalog's JSON
/// paths: counts every placeholder the vendor sent.
pub fn health_report_json(
    vendor: Vendor,
    entity: Entity,
    payloads: &[serde_json::Value],
) -> HealthReport {
    let mut tally = HealthTally::new(vendor, entity);
    for p in payloads {
        tally.add_json(p);
    }
    tally.report()
}

/// The identifier health of records given as raw `(field, value)` pairs
/// (a CSV export, a spreadsheet): see [`HealthTally::add_raw`].
///
/// # Errors
///
/// [`AdviceError`] naming the first field that is not in the catalog.
pub fn health_report_raw<'a, R, I>(
    vendor: Vendor,
    entity: Entity,
    records: R,
) -> Result<HealthReport, AdviceError>
where
    R: IntoIterator<Item = I>,
    I: IntoIterator<Item = (&'a str, Option<&'a str>)>,
{
    let mut tally = HealthTally::new(vendor, entity);
    for r in records {
        tally.add_raw(None, r)?;
    }
    Ok(tally.report())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("ip_adress", "ip_address"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn percent_never_rounds_to_the_ends() {
        assert_eq!(percent(0.38), "38%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(percent(0.001), "0.1%");
    }

    #[test]
    fn paths_resolve_alternatives_joins_and_lists() {
        let v = json!({
            "id": 7,
            "operatingSystem": {"name": "macOS", "version": "15.2.0"},
            "attributes": {"builtInEthernetMacAddress": ["a", "b"], "imei": "1"},
            "appleCareCoverage": {"data": [{"attributes": {"status": "ACTIVE"}}, {"attributes": {"status": "INACTIVE"}}]}
        });
        assert_eq!(resolve_path(&v, "id"), ["7"]);
        assert_eq!(
            resolve_path(&v, "operatingSystem.name + operatingSystem.version"),
            ["macOS 15.2.0"]
        );
        assert_eq!(
            resolve_path(
                &v,
                "attributes.ethernetMacAddress | attributes.builtInEthernetMacAddress"
            ),
            ["a", "b"]
        );
        assert_eq!(resolve_path(&v, "attributes.imei"), ["1"]);
        assert_eq!(
            resolve_path(&v, "appleCareCoverage.data[].attributes.status"),
            ["ACTIVE", "INACTIVE"]
        );
        assert!(resolve_path(&v, "users[].active (joined on user.id)").is_empty());
        assert!(resolve_path(&v, "missing.path").is_empty());
    }

    #[test]
    fn comparison_forms() {
        assert_eq!(
            comparison_value(ValueType::Serial, " c02x k1ab "),
            Some("C02XK1AB".into())
        );
        assert_eq!(comparison_value(ValueType::Serial, "Not Available"), None);
        assert_eq!(
            comparison_value(ValueType::List, "35 882334 083223 0"),
            Some("358823340832230".into())
        );
        assert_eq!(
            comparison_value(ValueType::Text, "  AT  0001 "),
            Some("at 0001".into())
        );
        assert_eq!(comparison_value(ValueType::MacAddress, "zz"), None);
    }
}
