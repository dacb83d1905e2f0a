//! The normalized record every source yields: [`SourceDevice`], its [`Fields`],
//! typed [`Value`]s and the [`Assignee`].
//!
//! The JSON form is fixed by the project design:
//!
//! ```json
//! {"vendor":"jamf","entity":"computer","source_id":"42",
//!  "fields":{"serial_number":"C02XK1ABJG5H","model":"MacBook Pro (13-inch, 2018)"},
//!  "assignee":{"email":"ana@example.com","full_name":"Ana Díaz","username":"ana"}}
//! ```
//!
//! A field with no value is absent, never `""` or `null`; `assignee` is absent
//! when the device has no user. The setters on [`Fields`] and [`Assignee`]
//! normalize as they store, so a record built through them always obeys
//! those rules.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use compact_str::CompactString;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::normalize;

/// A device-management source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    /// Jamf Pro.
    Jamf,
    /// Kandji (Iru Endpoint Management).
    Kandji,
    /// Apple Business Manager or Apple School Manager.
    Abm,
}

impl Vendor {
    /// Every vendor, in a stable order.
    pub const ALL: [Vendor; 3] = [Vendor::Jamf, Vendor::Kandji, Vendor::Abm];

    /// The lower-case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Jamf => "jamf",
            Vendor::Kandji => "kandji",
            Vendor::Abm => "abm",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Vendor {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jamf" => Ok(Vendor::Jamf),
            "kandji" | "iru" => Ok(Vendor::Kandji),
            "abm" | "asm" => Ok(Vendor::Abm),
            _ => Err(UnknownName {
                what: "vendor",
                name: s.to_string(),
                expected: "jamf, kandji, abm",
            }),
        }
    }
}

/// What kind of record a [`SourceDevice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A Jamf Pro computer.
    Computer,
    /// A Jamf Pro mobile device (iPhone, iPad, Apple TV, Vision Pro).
    MobileDevice,
    /// A Kandji or ABM device.
    Device,
    /// A user record.
    User,
}

impl Entity {
    /// The snake-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Computer => "computer",
            Entity::MobileDevice => "mobile_device",
            Entity::Device => "device",
            Entity::User => "user",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Entity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "computer" => Ok(Entity::Computer),
            "mobile_device" => Ok(Entity::MobileDevice),
            "device" => Ok(Entity::Device),
            "user" => Ok(Entity::User),
            _ => Err(UnknownName {
                what: "entity",
                name: s.to_string(),
                expected: "computer, mobile_device, device, user",
            }),
        }
    }
}

/// A name that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?} (expected one of: {expected})")]
pub struct UnknownName {
    /// What was being parsed ("vendor", "entity").
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The accepted names.
    pub expected: &'static str,
}

/// A normalized field value.
///
/// Serialized untagged: a JSON boolean, number, string or array of strings.
/// Date-times are [`Value::Text`] in RFC 3339 UTC (`2024-01-26T16:15:36Z`),
/// dates are `YYYY-MM-DD`; the catalog's value type says which is which.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A string (also date-times, dates, IDs, MAC addresses, serial numbers).
    ///
    /// A [`CompactString`]: text of up to 24 bytes (most values: serial
    /// numbers, dates, MAC addresses, versions, ids) is held inline, without
    /// an allocation of its own. Build one with `.into()` from a `&str` or a
    /// `String`; it derefs to `str`.
    Text(CompactString),
    /// A list of strings (IMEI, tags, FileVault users). Never empty.
    List(Vec<String>),
}

impl Value {
    /// The text, if this is a [`Value::Text`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is a [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The list, if this is a [`Value::List`].
    pub fn as_list(&self) -> Option<&[String]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Every string this value holds: one for text, each item for a list,
    /// none for booleans and numbers (their display form is not an identifier).
    pub fn strings(&self) -> Vec<&str> {
        match self {
            Value::Text(s) => vec![s.as_str()],
            Value::List(l) => l.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// This value as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => {
                serde_json::Value::Array(l.iter().cloned().map(serde_json::Value::String).collect())
            }
        }
    }

    /// Reads a value back from JSON. `null`, `""`, `[]`, objects, non-finite
    /// numbers and arrays holding non-strings are no value (`None`).
    pub fn from_json(v: &serde_json::Value) -> Option<Value> {
        match v {
            serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Value::Int(i)),
                None => n.as_f64().filter(|f| f.is_finite()).map(Value::Float),
            },
            serde_json::Value::String(s) => normalize::text_compact(s).map(Value::Text),
            serde_json::Value::Array(items) => {
                let strings: Option<Vec<&str>> = items.iter().map(|i| i.as_str()).collect();
                normalize::list(strings?).map(Value::List)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::List(l) => f.write_str(&l.join(", ")),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s.into())
    }
}
impl From<CompactString> for Value {
    fn from(s: CompactString) -> Self {
        Value::Text(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::Text(s) => serializer.serialize_str(s),
            Value::List(l) => l.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        Value::from_json(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a field value must be a boolean, a number, a non-empty string or a non-empty list of strings, got {raw}"
            ))
        })
    }
}

/// A field name: one of the names the crate knows (catalog keys and
/// inventory fields), stored as its index, or any other name.
///
/// Known names cost no allocation, compare without reading memory, and let
/// the planner look fields up by index instead of hashing their names.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// Index into [`known_names`] (sorted, so index order is name order).
    Known(u16),
    /// Any other name.
    Other(Box<str>),
}

/// The names the crate knows, sorted, and their index.
pub(crate) struct KnownNames {
    /// Sorted, distinct.
    pub(crate) names: Vec<&'static str>,
    index: std::collections::HashMap<&'static str, u16, crate::fast_hash::FastState>,
}

/// The known field names ([`crate::field_names::KNOWN`]) and their index.
pub(crate) fn known_names() -> &'static KnownNames {
    static KNOWN: std::sync::OnceLock<KnownNames> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        let names: Vec<&'static str> = crate::field_names::KNOWN.to_vec();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i as u16))
            .collect();
        KnownNames { names, index }
    })
}

impl Key {
    pub(crate) fn new(name: &str) -> Key {
        match known_names().index.get(name) {
            Some(i) => Key::Known(*i),
            None => Key::Other(name.into()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Known(i) => known_names()
                .names
                .get(usize::from(*i))
                .copied()
                .unwrap_or_default(),
            Key::Other(s) => s,
        }
    }

    /// The known name of index `i`, if there is one.
    pub(crate) fn known_index(i: u16) -> Option<Key> {
        (usize::from(i) < known_names().names.len()).then_some(Key::Known(i))
    }

    /// The index of a known name.
    pub(crate) fn known(&self) -> Option<u16> {
        match self {
            Key::Known(i) => Some(*i),
            Key::Other(_) => None,
        }
    }
}

/// A field name looked up once, borrowed: [`Key`] without the allocation
/// of a name the crate does not know.
#[derive(Clone, Copy)]
pub(crate) enum KeyRef<'a> {
    /// Index into [`known_names`].
    Known(u16),
    /// Any other name (never a known one).
    Other(&'a str),
}

impl<'a> KeyRef<'a> {
    /// `name`, looked up among the known names.
    pub(crate) fn of(name: &'a str) -> KeyRef<'a> {
        match known_names().index.get(name) {
            Some(i) => KeyRef::Known(*i),
            None => KeyRef::Other(name),
        }
    }

    fn as_str(self) -> &'a str {
        match self {
            KeyRef::Known(i) => known_names()
                .names
                .get(usize::from(i))
                .copied()
                .unwrap_or_default(),
            KeyRef::Other(s) => s,
        }
    }

    fn to_key(self) -> Key {
        match self {
            KeyRef::Known(i) => Key::Known(i),
            KeyRef::Other(s) => Key::Other(s.into()),
        }
    }
}

/// The keys of the fields read for the asset before, by position: an
/// inventory's assets mostly hold the same fields, and a store reads them
/// in name order, so a name is mostly the one at its position last time
/// and is taken from here with one comparison instead of a lookup.
// Used by the stores only.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
#[derive(Default)]
pub(crate) struct KeyCache(Vec<Key>);

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
impl KeyCache {
    /// The key of `name`, the field at `position` of the fields being read.
    pub(crate) fn key(&mut self, position: usize, name: &str) -> Key {
        if let Some(k) = self.0.get(position)
            && k.as_str() == name
        {
            return k.clone();
        }
        let k = Key::new(name);
        let len = self.0.len();
        match self.0.get_mut(position) {
            Some(slot) => *slot = k.clone(),
            None if position == len => self.0.push(k.clone()),
            None => {}
        }
        k
    }
}

impl Key {
    /// Orders as the names do. Two known names compare by index (index
    /// order is name order) without reading either; only a known name
    /// against another name compares text (they are never equal: a known
    /// name is always stored as its index).
    pub(crate) fn cmp_name(&self, other: KeyRef<'_>) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Known(a), KeyRef::Known(b)) => a.cmp(&b),
            (Key::Other(a), KeyRef::Other(b)) => (**a).cmp(b),
            (a, b) => a.as_str().cmp(b.as_str()),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The fields of a record, keyed by catalog key, in a stable (sorted) order.
///
/// The typed setters normalize their input and store nothing when the input
/// is no value, so `fields` never holds `""`, `null` or an empty list.
///
/// Stored as one sorted array: a record's fields sit together in memory, and
/// the names the crate knows (catalog keys, inventory fields) are small
/// indexes rather than strings of their own.
#[derive(Clone, Default, PartialEq)]
pub struct Fields(Vec<(Key, Value)>, DropNotes);

/// The values a typed setter dropped because they could not be read (a date
/// that is not a date, an email without `@`): the key and the raw text, until
/// a source takes them ([`Fields::take_dropped`]) to count them. Not part of
/// a record's value: two records that differ only here are equal.
#[derive(Clone, Default)]
struct DropNotes(Option<Box<[DropNote]>>);

/// One dropped value: its key and raw text.
type DropNote = (Key, Box<str>);

impl PartialEq for DropNotes {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// At most this many characters of a dropped value are kept as an example.
const DROPPED_EXAMPLE_CHARS: usize = 64;

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Map<'a>(&'a Fields);
        impl fmt::Debug for Map<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.iter()).finish()
            }
        }
        f.debug_tuple("Fields").field(&Map(self)).finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Value>::deserialize(d)?;
        let mut f = Fields(Vec::with_capacity(map.len()), DropNotes::default());
        for (k, v) in map {
            f.insert(&k, v);
        }
        Ok(f)
    }
}

/// [`normalize::text`] of text the caller owns: text that is already
/// trimmed (and not empty) is kept as it is, without a copy.
fn keep_trimmed<T: AsRef<str> + for<'a> From<&'a str>>(s: T) -> Option<T> {
    if is_trimmed(s.as_ref()) {
        Some(s)
    } else {
        normalize::text_compact(s.as_ref()).map(|t| T::from(&t))
    }
}

/// Whether `s` is not empty and `str::trim` would leave it as it is. Most
/// text is: an ASCII character that is not whitespace at each end says so
/// without walking `trim`'s Unicode checks.
#[inline]
fn is_trimmed(s: &str) -> bool {
    // Unicode's ASCII White_Space: tab, line feed, vertical tab, form feed,
    // carriage return, space.
    let plain = |b: u8| b.is_ascii() && !matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ');
    match s.as_bytes() {
        [] => false,
        [first, .., last] | [first @ last] if plain(*first) && plain(*last) => true,
        _ => s.trim().len() == s.len(),
    }
}

impl Fields {
    /// An empty set of fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves room for `additional` more fields (a mapper that knows
    /// about how many fields a record gets saves the array's regrowth).
    pub fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }

    /// Where `key` is (or would go): the name is looked up once, then the
    /// search compares indexes (see [`Key::cmp_name`]).
    fn position(&self, key: &str) -> Result<usize, usize> {
        let key = KeyRef::of(key);
        self.0.binary_search_by(|(k, _)| k.cmp_name(key))
    }

    /// `key` looked up. Mappers set keys in name order, and a record's
    /// next key is mostly one of the few known names just after its last
    /// one: those are compared first (most differ in length), and only a
    /// name not among them is hashed ([`KeyRef::of`]).
    fn key_ref<'k>(&self, key: &'k str) -> KeyRef<'k> {
        /// How many known names after the last key are compared.
        const NEXT: usize = 8;
        let start = match self.0.last() {
            Some((Key::Known(i), _)) => usize::from(*i) + 1,
            Some((Key::Other(_), _)) => return KeyRef::of(key),
            None => 0,
        };
        let names = &known_names().names;
        let next = names.get(start..).unwrap_or_default();
        match next.iter().take(NEXT).position(|n| *n == key) {
            // Known names number far fewer than `u16::MAX` (a test checks).
            Some(i) => KeyRef::Known((start + i) as u16),
            None => KeyRef::of(key),
        }
    }

    /// Stores `value` under `key` as it is.
    fn insert(&mut self, key: &str, value: Value) {
        let name = self.key_ref(key);
        // Mappers mostly set keys in order: appending needs no search.
        let after_last = self
            .0
            .last()
            .is_none_or(|(k, _)| k.cmp_name(name) == std::cmp::Ordering::Less);
        if after_last {
            self.0.push((name.to_key(), value));
            return;
        }
        match self.0.binary_search_by(|(k, _)| k.cmp_name(name)) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = value;
                }
            }
            Err(i) => self.0.insert(i, (name.to_key(), value)),
        }
    }

    /// Stores `value` under `key` as it is: for values that are already
    /// normalized (read back from where a `Fields` was written), in key
    /// order, so each is appended without a name lookup.
    pub(crate) fn insert_key(&mut self, key: Key, value: Value) {
        let place = {
            let name = match &key {
                Key::Known(i) => KeyRef::Known(*i),
                Key::Other(s) => KeyRef::Other(s),
            };
            let after_last = self
                .0
                .last()
                .is_none_or(|(k, _)| k.cmp_name(name) == std::cmp::Ordering::Less);
            if after_last {
                None
            } else {
                Some(self.0.binary_search_by(|(k, _)| k.cmp_name(name)))
            }
        };
        match place {
            None => self.0.push((key, value)),
            Some(Ok(i)) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = value;
                }
            }
            Some(Err(i)) => self.0.insert(i, (key, value)),
        }
    }

    /// The fields with their keys, in key order (for the planner).
    pub(crate) fn entries(&self) -> &[(Key, Value)] {
        &self.0
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| v)
    }

    /// The text value of `key`, if present and text.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Whether `key` has a value.
    pub fn contains(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Number of fields with a value.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no field has a value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.position(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps only the fields for which `keep(key, value)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Value) -> bool) {
        self.0.retain(|(k, v)| keep(k.as_str(), v));
    }

    /// Keeps only the fields whose key `keep` is true of (a known name by
    /// its index, without reading the name).
    pub(crate) fn retain_keys(&mut self, mut keep: impl FnMut(&Key) -> bool) {
        self.0.retain(|(k, _)| keep(k));
    }

    /// Stores an already-normalized value; `None` removes nothing and stores nothing.
    /// Text is trimmed and an empty text or list is dropped, so the "no empty
    /// values" rule holds even for callers that skip the typed setters.
    pub fn set(&mut self, key: &str, value: Option<Value>) -> &mut Self {
        if let Some(v) = Self::settled(value) {
            self.insert(key, v);
        }
        self
    }

    /// [`set`](Self::set) of a key already looked up (stores reading rows
    /// of fields in key order, with a [`KeyCache`]).
    /// Returns whether it stored anything.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn set_key(&mut self, key: Key, value: Option<Value>) -> bool {
        match Self::settled(value) {
            Some(v) => {
                self.insert_key(key, v);
                true
            }
            None => false,
        }
    }

    /// What [`set`](Self::set) stores of `value`, if anything.
    #[inline]
    fn settled(value: Option<Value>) -> Option<Value> {
        match value {
            Some(Value::Text(s)) => keep_trimmed(s).map(Value::Text),
            Some(Value::List(l)) => normalize::list(l.iter().map(String::as_str)).map(Value::List),
            Some(Value::Float(f)) if !f.is_finite() => None,
            other => other,
        }
    }

    /// Stores `parse(raw)`. A raw value that is not blank but does not
    /// parse is noted as dropped (see [`take_dropped`](Self::take_dropped)),
    /// so a source can count it instead of losing it silently.
    fn parsed<V: Into<CompactString>>(
        &mut self,
        key: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Option<V>,
    ) -> &mut Self {
        let Some(raw) = raw else { return self };
        match parse(raw) {
            Some(v) => self.put_text(key, Some(v.into())),
            None => {
                let t = raw.trim();
                if !t.is_empty() {
                    let example: String = t.chars().take(DROPPED_EXAMPLE_CHARS).collect();
                    // Rare: a slice (two words in every record) rather than a Vec.
                    let mut notes = self.1.0.take().map(Vec::from).unwrap_or_default();
                    notes.push((Key::new(key), example.into_boxed_str()));
                    self.1.0 = Some(notes.into_boxed_slice());
                }
                self
            }
        }
    }

    /// Takes the values the typed setters dropped because they could not be
    /// read (a date-time, date, email or MAC address that is not one), as
    /// `(key, raw text)` pairs (the text cut to 64 characters). Blanks and
    /// placeholders are no value, not dropped values, and are not listed.
    ///
    /// ```
    /// let mut f = mdm_mapping::Fields::new();
    /// f.datetime("first_enrollment", Some("last tuesday")).email("user_email", Some(""));
    /// assert!(!f.contains("first_enrollment"));
    /// assert_eq!(f.take_dropped(), [("first_enrollment".to_string(), "last tuesday".to_string())]);
    /// assert!(f.take_dropped().is_empty());
    /// ```
    pub fn take_dropped(&mut self) -> Vec<(String, String)> {
        self.1
            .0
            .take()
            .map(|notes| {
                Vec::from(notes)
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.into_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stores text a normalizer wrote (trimmed, not empty), without
    /// [`set`](Self::set)'s checks.
    fn put_text(&mut self, key: &str, value: Option<CompactString>) -> &mut Self {
        if let Some(v) = value {
            debug_assert!(is_trimmed(&v), "{key}: {v:?}");
            self.insert(key, Value::Text(v));
        }
        self
    }

    /// Stores trimmed text.
    pub fn text(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.put_text(key, raw.and_then(normalize::text_compact))
    }

    /// [`text`](Self::text), taking the text (anything that converts into a
    /// [`CompactString`]: a `String`, a `CompactString`, a `&str`): already
    /// trimmed text moves in without a copy. A bare `None` needs its type
    /// named (`None::<String>`).
    pub fn text_owned<S: Into<CompactString>>(&mut self, key: &str, raw: Option<S>) -> &mut Self {
        self.put_text(key, raw.map(Into::into).and_then(keep_trimmed))
    }

    /// Stores a serial number ([`normalize::serial`]).
    pub fn serial(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.put_text(key, raw.and_then(normalize::serial_compact))
    }

    /// Stores a MAC address ([`normalize::mac`]).
    pub fn mac(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.parsed(key, raw, normalize::mac_compact)
    }

    /// Stores an email address ([`normalize::email`]).
    pub fn email(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.parsed(key, raw, normalize::email_compact)
    }

    /// Stores a date-time in any vendor format ([`normalize::datetime`]).
    pub fn datetime(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.parsed(key, raw, normalize::datetime_compact)
    }

    /// Stores a date-time given as epoch milliseconds ([`normalize::datetime_from_epoch_millis`]).
    pub fn datetime_millis(&mut self, key: &str, raw: Option<i64>) -> &mut Self {
        match raw {
            // 0 and negative values are Jamf's "not set", not a failure.
            Some(ms) if ms > 0 => {
                let text = ms.to_string();
                self.parsed(key, Some(&text), |_| {
                    normalize::datetime_from_epoch_millis(ms)
                })
            }
            _ => self,
        }
    }

    /// Stores a date ([`normalize::date`]).
    pub fn date(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.parsed(key, raw, normalize::date_compact)
    }

    /// Stores a date-time a typed model already read, as
    /// [`datetime`](Self::datetime) stores its RFC 3339 text (whole seconds,
    /// UTC), without writing it out and reading it back. A year RFC 3339
    /// cannot write is noted as dropped, as its text would be.
    pub fn datetime_utc(&mut self, key: &str, raw: Option<DateTime<Utc>>) -> &mut Self {
        match raw {
            None => self,
            Some(t) => match normalize::format_datetime_checked(t) {
                Some(text) => self.put_text(key, Some(text)),
                None => {
                    let text = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    self.datetime(key, Some(&text))
                }
            },
        }
    }

    /// Stores a date a typed model already read, as [`date`](Self::date)
    /// stores its text (`YYYY-MM-DD`). A year outside 0000–9999 is noted as
    /// dropped, as its text would be.
    pub fn date_naive(&mut self, key: &str, raw: Option<NaiveDate>) -> &mut Self {
        match raw {
            None => self,
            Some(d) => match normalize::format_date_checked(d) {
                Some(text) => self.put_text(key, Some(text)),
                None => {
                    let text = d.format("%Y-%m-%d").to_string();
                    self.date(key, Some(&text))
                }
            },
        }
    }

    /// Stores a boolean.
    pub fn bool(&mut self, key: &str, raw: Option<bool>) -> &mut Self {
        self.set(key, raw.map(Value::Bool))
    }

    /// Stores a boolean given as text (`"True"`, `"no"`, `"1"`, …, [`normalize::boolean_str`]).
    pub fn bool_str(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.set(key, raw.and_then(normalize::boolean_str).map(Value::Bool))
    }

    /// Stores a boolean from any JSON value ([`normalize::boolean_json`]).
    pub fn bool_json(&mut self, key: &str, raw: Option<&serde_json::Value>) -> &mut Self {
        self.set(key, raw.and_then(normalize::boolean_json).map(Value::Bool))
    }

    /// Stores a count or quantity; negative values (the `-1` "not reported"
    /// sentinel) are no value ([`normalize::count`]).
    pub fn count(&mut self, key: &str, raw: Option<i64>) -> &mut Self {
        self.set(key, raw.and_then(normalize::count).map(Value::Int))
    }

    /// Stores a measured hardware quantity; `0` and negative values are no
    /// value ([`normalize::measured`]).
    pub fn measured(&mut self, key: &str, raw: Option<i64>) -> &mut Self {
        self.set(key, raw.and_then(normalize::measured).map(Value::Int))
    }

    /// Stores an identifier from a JSON string or number ([`normalize::id_json`]).
    pub fn id_json(&mut self, key: &str, raw: Option<&serde_json::Value>) -> &mut Self {
        self.set(key, raw.and_then(normalize::id_json).map(Value::from))
    }

    /// Stores an identifier given as text ([`normalize::id`]).
    pub fn id(&mut self, key: &str, raw: Option<&str>) -> &mut Self {
        self.put_text(key, raw.and_then(normalize::id_compact))
    }

    /// Stores a list of strings ([`normalize::list`]).
    pub fn list<'a, I>(&mut self, key: &str, raw: I) -> &mut Self
    where
        I: IntoIterator<Item = &'a str>,
    {
        self.set(key, normalize::list(raw).map(Value::List))
    }
}

impl FromIterator<(String, Value)> for Fields {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut f = Fields::new();
        for (k, v) in iter {
            f.set(&k, Some(v));
        }
        f
    }
}

/// The person a device is assigned to, as the source reports them.
///
/// Every field is optional and normalized; a field with no value is absent
/// from the JSON form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// The source's own user id (always a string: Kandji's old integer ids become `"1"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Email address, trimmed and lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Given name, when the source reports it separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name, when the source reports it separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Whether the user is active in the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Whether the user is archived in the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

impl Assignee {
    /// Builds an assignee, normalizing every value (trimmed text, lower-case email).
    pub fn normalized(self) -> Assignee {
        let t = |s: Option<String>| s.and_then(keep_trimmed);
        Assignee {
            id: self.id.as_deref().and_then(normalize::id),
            email: self.email.and_then(normalize::email_owned),
            full_name: t(self.full_name),
            first_name: t(self.first_name),
            last_name: t(self.last_name),
            username: t(self.username),
            phone_number: t(self.phone_number),
            position: t(self.position),
            active: self.active,
            archived: self.archived,
        }
    }

    /// Whether the assignee carries anything that identifies a person
    /// (id, email, name or username). Flags alone do not make a user.
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.email.is_none()
            && self.full_name.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
            && self.username.is_none()
    }

    /// Normalizes and returns `Some` only when the assignee identifies someone.
    pub fn into_option(self) -> Option<Assignee> {
        let a = self.normalized();
        (!a.is_empty()).then_some(a)
    }

    /// First and last name: the separate fields when present, otherwise
    /// `full_name` split at its last space ("Ana María Díaz" → "Ana María", "Díaz").
    pub fn split_name(&self) -> (Option<String>, Option<String>) {
        if self.first_name.is_some() || self.last_name.is_some() {
            return (self.first_name.clone(), self.last_name.clone());
        }
        match self.full_name.as_deref().map(str::trim) {
            Some(full) => match full.rsplit_once(char::is_whitespace) {
                Some((first, last)) => (normalize::text(first), normalize::text(last)),
                None => (normalize::text(full), None),
            },
            None => (None, None),
        }
    }
}

/// Secret values of a record, by name (`recovery_key`, `recovery_lock_password`).
///
/// `Debug` shows only the names; the values are reachable only through
/// [`secrecy::ExposeSecret`].
#[derive(Clone, Default)]
pub struct Secrets(BTreeMap<String, SecretString>);

impl Secrets {
    /// Stores a secret; blank values are not stored.
    pub fn insert(&mut self, name: &str, value: SecretString) {
        use secrecy::ExposeSecret;
        if !value.expose_secret().trim().is_empty() {
            self.0.insert(name.to_string(), value);
        }
    }

    /// The secret called `name`.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    /// The names of the secrets held.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether no secret is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for Secrets {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|((ka, va), (kb, vb))| ka == kb && va.expose_secret() == vb.expose_secret())
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[redacted]")))
            .finish()
    }
}

/// One normalized device (or user) record from a source.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceDevice {
    /// Which source reported it.
    pub vendor: Vendor,
    /// What kind of record it is.
    pub entity: Entity,
    /// The source's own id for it (Jamf id, Kandji device_id, ABM id).
    pub source_id: String,
    /// Catalog key → normalized value.
    #[serde(default)]
    pub fields: Fields,
    /// The assigned user, absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
    /// Secret values read on opt-in (FileVault recovery key, recovery lock
    /// password). Never serialized, never printed by `Debug`.
    #[serde(skip)]
    pub secrets: Secrets,
}

impl SourceDevice {
    /// A record with no fields yet.
    pub fn new(vendor: Vendor, entity: Entity, source_id: impl Into<String>) -> Self {
        SourceDevice {
            vendor,
            entity,
            source_id: source_id.into(),
            fields: Fields::new(),
            assignee: None,
            secrets: Secrets::default(),
        }
    }

    /// The normalized serial number, if the record has one.
    pub fn serial_number(&self) -> Option<&str> {
        self.fields.get_str("serial_number")
    }

    /// The value of a catalog key.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }
}

impl fmt::Debug for SourceDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceDevice")
            .field("vendor", &self.vendor)
            .field("entity", &self.entity)
            .field("source_id", &self.source_id)
            .field("fields", &self.fields)
            .field("assignee", &self.assignee)
            .field("secrets", &self.secrets)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn json_form_round_trips() {
        let json = r#"{"vendor":"jamf","entity":"computer","source_id":"42","fields":{"managed":true,"model":"MacBook Pro (13-inch, 2018)","serial_number":"C02XK1ABJG5H","tags":["a","b"],"total_ram":16384},"assignee":{"email":"ana@example.com","full_name":"Ana Díaz","username":"ana"}}"#;
        let d: SourceDevice = serde_json::from_str(json).expect("decodes");
        assert_eq!(d.serial_number(), Some("C02XK1ABJG5H"));
        assert_eq!(d.field("total_ram"), Some(&Value::Int(16384)));
        assert_eq!(serde_json::to_string(&d).expect("encodes"), json);
    }

    #[test]
    fn empty_values_are_rejected_on_decode() {
        for bad in [r#""""#, "null", "[]", "{}", r#"["a",1]"#] {
            let json = format!(
                r#"{{"vendor":"abm","entity":"device","source_id":"X","fields":{{"color":{bad}}}}}"#
            );
            let err = serde_json::from_str::<SourceDevice>(&json).expect_err(bad);
            assert!(err.to_string().contains("field value"), "{bad}: {err}");
        }
    }

    proptest::proptest! {
        /// A `KeyCache` gives the key a lookup would, whatever names come
        /// at whatever positions (the same order again, another order,
        /// names the crate does not know, positions past the end).
        #[test]
        fn a_key_cache_gives_what_a_lookup_gives(reads in proptest::collection::vec(
            proptest::collection::vec((0usize..8, 0usize..6), 0..12), 0..6)
        ) {
            const NAMES: [&str; 6] = ["serial_number", "model", "x_custom", "udid", "zz other", "asset_tag"];
            let mut cache = KeyCache::default();
            for asset in &reads {
                for &(position, n) in asset {
                    let got = cache.key(position, NAMES[n]);
                    proptest::prop_assert_eq!(got.as_str(), NAMES[n]);
                    proptest::prop_assert!(got == Key::new(NAMES[n]));
                }
            }
        }
    }

    proptest::proptest! {
        /// The quick check of already trimmed text agrees with `str::trim`.
        #[test]
        fn is_trimmed_agrees_with_trim(s in "[ \t\n\x0B\x0C\r\u{85}\u{A0}\u{2003}a-z\u{E9}\u{1F600}]{0,6}") {
            proptest::prop_assert_eq!(is_trimmed(&s), !s.is_empty() && s.trim() == s);
        }
    }

    proptest::proptest! {
        /// Whatever the order keys are set in (known names, other names,
        /// repeats, removals), the fields are a map in name order: as a
        /// `BTreeMap` given the same operations.
        #[test]
        fn fields_are_a_sorted_map(ops in proptest::collection::vec((0usize..12, proptest::bool::ANY, 0i64..100), 0..40)) {
            // Known names (catalog and inventory keys) and others, interleaved in name order.
            const NAMES: [&str; 12] = [
                "aaa_other", "asset_tag", "b_other", "model", "model_other", "serial_number",
                "site", "site_other", "udid", "udid_x", "zz_other", "computer_name",
            ];
            let mut f = Fields::new();
            let mut model = std::collections::BTreeMap::new();
            for (i, remove, v) in ops {
                let name = NAMES[i];
                if remove {
                    proptest::prop_assert_eq!(f.remove(name), model.remove(name).map(Value::Int));
                } else {
                    f.set(name, Some(Value::Int(v)));
                    model.insert(name, v);
                }
                for n in NAMES {
                    let want = model.get(n).map(|v| Value::Int(*v));
                    proptest::prop_assert_eq!(f.get(n), want.as_ref());
                }
            }
            let got: Vec<(&str, &Value)> = f.iter().collect();
            let want: Vec<(&str, Value)> = model.iter().map(|(k, v)| (*k, Value::Int(*v))).collect();
            proptest::prop_assert_eq!(got.len(), want.len());
            for ((gk, gv), (wk, wv)) in got.iter().zip(&want) {
                proptest::prop_assert_eq!(gk, wk);
                proptest::prop_assert_eq!(*gv, wv);
            }
        }
    }

    /// A known name set after another is stored under its own name,
    /// whether it is one of the names just after the last key (compared
    /// first) or any other: every pair of known names, in both orders.
    #[test]
    fn each_known_name_after_another_keeps_its_name() {
        let names = &known_names().names;
        for (i, first) in names.iter().enumerate() {
            let single = {
                let mut f = Fields::new();
                f.set(first, Some(Value::Int(1)));
                f
            };
            assert_eq!(single.iter().map(|(k, _)| k).collect::<Vec<_>>(), [*first]);
            for (j, second) in names.iter().enumerate() {
                if i == j {
                    continue;
                }
                let mut f = single.clone();
                f.set(second, Some(Value::Int(2)));
                let got: Vec<&str> = f.iter().map(|(k, _)| k).collect();
                let want = if i < j {
                    [*first, *second]
                } else {
                    [*second, *first]
                };
                assert_eq!(got, want, "{first} then {second}");
                assert_eq!(f.get(second), Some(&Value::Int(2)), "{first} then {second}");
            }
        }
    }

    /// The typed date setters store what the text setters store for the
    /// same instant written out, dropped notes included.
    #[test]
    fn typed_dates_store_what_their_text_would() {
        let times = [
            "2024-01-26T16:15:36.987654Z",
            "1999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "-0001-06-01T12:00:00Z",
        ];
        for raw in times {
            let t: DateTime<Utc> = match raw.parse() {
                Ok(t) => t,
                Err(_) => chrono::DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|_| {
                        let year: i32 = if raw.starts_with('+') { 10000 } else { -1 };
                        NaiveDate::from_ymd_opt(year, 1, 1)
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|n| n.and_utc())
                            .expect("a date")
                    }),
            };
            let (mut typed, mut text) = (Fields::new(), Fields::new());
            typed.datetime_utc("last_contact_time", Some(t));
            text.datetime(
                "last_contact_time",
                Some(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
            assert_eq!(typed, text, "{raw}");
            assert_eq!(typed.take_dropped(), text.take_dropped(), "{raw}");

            let d = t.date_naive();
            let (mut typed, mut text) = (Fields::new(), Fields::new());
            typed.date_naive("po_date", Some(d));
            text.date("po_date", Some(&d.format("%Y-%m-%d").to_string()));
            assert_eq!(typed, text, "{raw}");
            assert_eq!(typed.take_dropped(), text.take_dropped(), "{raw}");
        }
        let mut f = Fields::new();
        f.datetime_utc("a", None).date_naive("b", None);
        assert!(f.is_empty());
        let d = NaiveDate::from_ymd_opt(7, 3, 9).expect("a date");
        assert_eq!(f.date_naive("b", Some(d)).get_str("b"), Some("0007-03-09"));
    }

    #[test]
    fn setters_drop_no_value() {
        let mut f = Fields::new();
        f.text("a", Some("  "))
            .text("b", None)
            .list("c", ["", " "])
            .count("d", Some(-1))
            .measured("e", Some(0))
            .serial("f", Some("Not Available"))
            .set("g", Some(Value::Text(" ".into())))
            .set("h", Some(Value::Float(f64::NAN)));
        assert!(f.is_empty(), "{f:?}");
        f.text("a", Some(" x "));
        assert_eq!(f.get_str("a"), Some("x"));
    }

    #[test]
    fn assignee_absent_when_it_names_nobody() {
        let a = Assignee {
            email: Some("  ".into()),
            active: Some(true),
            ..Assignee::default()
        };
        assert_eq!(a.into_option(), None);
        let a = Assignee {
            email: Some(" Ana@Example.COM ".into()),
            ..Assignee::default()
        }
        .into_option()
        .expect("has email");
        assert_eq!(a.email.as_deref(), Some("ana@example.com"));
    }

    #[test]
    fn split_name_uses_last_space() {
        let a = Assignee {
            full_name: Some("Ana María Díaz".into()),
            ..Assignee::default()
        };
        assert_eq!(
            a.split_name(),
            (Some("Ana María".into()), Some("Díaz".into()))
        );
        let a = Assignee {
            full_name: Some("Cher".into()),
            ..Assignee::default()
        };
        assert_eq!(a.split_name(), (Some("Cher".into()), None));
    }

    #[test]
    fn secrets_never_serialized_or_debugged() {
        let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, "1");
        d.secrets
            .insert("recovery_key", SecretString::from("ABCD-SECRET-KEY-1234"));
        let json = serde_json::to_string(&d).expect("encodes");
        let dbg = format!("{d:?}");
        assert!(!json.contains("SECRET"), "{json}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("recovery_key"));
        assert_eq!(
            d.secrets.get("recovery_key").map(|s| s.expose_secret()),
            Some("ABCD-SECRET-KEY-1234")
        );
    }

    #[test]
    fn vendor_and_entity_parse() {
        assert_eq!("Jamf".parse::<Vendor>(), Ok(Vendor::Jamf));
        assert!("intune".parse::<Vendor>().is_err());
        assert_eq!("mobile_device".parse::<Entity>(), Ok(Entity::MobileDevice));
    }
}
