//! The user's inventory: [`Asset`]s and [`Employee`]s, the async [`Store`]
//! the upsert engine writes through, and [`MemoryStore`], an in-memory store
//! with a failure-injection hook for tests.
//!
//! An asset is `{ "id": "...", "fields": { ... } }` keyed by inventory field
//! names; an employee is `{ "id", "first_name", "last_name", "emails": [...] }`.
//! [`Inventory`] reads the `{"assets":[...],"employees":[...]}` file shape of
//! `mdm plan --existing`.
//!
//! Ids are strings chosen by the store when it creates a record, so a SQL
//! store can hand out row ids and a SaaS store its own keys.
//!
//! ```
//! use mdm_mapping::store::{FieldWrite, Inventory, MemoryStore, Store};
//!
//! # futures::executor::block_on(async {
//! let inventory = Inventory::from_json(
//!     r#"{"assets":[{"id":"a1","fields":{"serial_number":"C02XK1ABJG5H","status":"allocated"}}],
//!         "employees":[{"id":"e1","first_name":"Ana","last_name":"Díaz","emails":["ana@example.com"]}]}"#,
//! )
//! .unwrap();
//! let store = MemoryStore::new(inventory);
//! let id = store
//!     .create_asset(&[FieldWrite::set("serial_number", "F9FXK2ABQ1GC")])
//!     .await
//!     .unwrap();
//! let snapshot = store.load().await.unwrap();
//! assert_eq!(snapshot.assets.len(), 2);
//! assert!(snapshot.asset(&id).is_some());
//! # });
//! ```

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use crate::record::{Fields, Value};

pub use history::{GoneUser, RunGuard, RunOutcome, RunRecord, SourceState};

pub mod contract;
mod history;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub use memory::{FailMode, MemoryStore};

/// Inventory field names whose values are secrets: never shown by `Debug`.
pub const SECRET_FIELDS: &[&str] = &["recovery_key", "recovery_lock_password"];

/// Whether an inventory field holds a secret (see [`SECRET_FIELDS`]).
pub fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}

/// One asset of the inventory.
///
/// Two assets are equal when their ids and fields are: the
/// [`revision`](Asset::revision) is the store's bookkeeping, not content.
#[derive(Clone, Serialize, Deserialize)]
pub struct Asset {
    /// The store's id for it.
    pub id: String,
    /// Inventory field name → value. On input, `null`, `""`, `[]` and
    /// objects are read as no value.
    #[serde(default, deserialize_with = "lenient_fields")]
    pub fields: Fields,
    /// Where the asset stands in the store's write history, for stores
    /// that keep it (all three of this crate's); `None` otherwise, and
    /// never read from or written to JSON.
    #[serde(skip)]
    pub revision: Option<Revision>,
}

impl PartialEq for Asset {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.fields == other.fields
    }
}

impl Asset {
    /// An asset with the given id and fields.
    pub fn new(id: impl Into<String>, fields: Fields) -> Self {
        Asset {
            id: id.into(),
            fields,
            revision: None,
        }
    }
}

/// The field a [`StoreError::Stale`] names when an [`AssetWrite::Seal`]
/// finds the asset written since it was read.
pub const REVISION_FIELD: &str = "(revision)";

/// An asset's place in the store's write history: what lets
/// [`apply_staged`](crate::upsert::apply_staged) skip the devices whose
/// records have not changed since the last sync found their asset up to
/// date, without reading or planning them.
///
/// - `rev` grows with every create, update or delete of the asset's
///   fields, by any writer.
/// - `mark` is the digest of the records a sync last found the asset up to
///   date with ([`AssetWrite::Seal`]); every write of the asset's fields
///   clears it, in the same transaction. A mark therefore always means:
///   "these records, planned against this asset, change nothing".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revision {
    /// Grows with each write of the asset's fields.
    pub rev: u64,
    /// The digest of the records the asset was last found up to date
    /// with, if no write came since.
    pub mark: Option<u64>,
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Asset")
            .field("id", &self.id)
            .field("fields", &RedactedFields(&self.fields))
            .field("revision", &self.revision)
            .finish()
    }
}

struct RedactedFields<'a>(&'a Fields);

impl fmt::Debug for RedactedFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.0.iter() {
            if is_secret_field(k) {
                m.entry(&k, &"[redacted]");
            } else {
                m.entry(&k, v);
            }
        }
        m.finish()
    }
}

fn lenient_fields<'de, D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
    let raw: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| Value::from_json(&v).map(|v| (k, v)))
        .collect())
}

/// A person in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    /// The store's id.
    pub id: String,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Family name.
    #[serde(default)]
    pub last_name: String,
    /// Email addresses (work, personal, aliases).
    #[serde(default)]
    pub emails: Vec<String>,
}

/// A snapshot of the inventory: what [`Store::load`] returns and what
/// `mdm plan --existing` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Every asset.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// Every employee.
    #[serde(default)]
    pub employees: Vec<Employee>,
}

/// A file or string that is not an inventory.
#[derive(Debug, thiserror::Error)]
#[error("invalid inventory JSON at line {line}, column {column}: {source}")]
pub struct InventoryError {
    /// Line of the error (1-based).
    pub line: usize,
    /// Column of the error (1-based).
    pub column: usize,
    /// The decoder's error.
    #[source]
    pub source: serde_json::Error,
}

impl Inventory {
    /// Reads the `{"assets":[...],"employees":[...]}` shape.
    pub fn from_json(json: &str) -> Result<Inventory, InventoryError> {
        serde_json::from_str(json).map_err(|source| InventoryError {
            line: source.line(),
            column: source.column(),
            source,
        })
    }

    /// The asset with this id.
    pub fn asset(&self, id: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.id == id)
    }

    /// The employee with this id.
    pub fn employee(&self, id: &str) -> Option<&Employee> {
        self.employees.iter().find(|e| e.id == id)
    }
}

/// A value written to a field: plain, a secret the store must keep, or the
/// id of the employee who holds an email.
#[derive(Clone)]
pub enum FieldValue {
    /// A plain value.
    Value(Value),
    /// A secret (FileVault recovery key). Exposed only to the store.
    Secret(SecretString),
    /// The id of the employee holding this email (lower case), resolved by
    /// the store inside the write: an employee created earlier in the same
    /// [`WriteBatch`], or one that was already there (another sync may have
    /// created it a moment ago). With no such employee the field is not
    /// written.
    EmployeeWithEmail(String),
}

impl FieldValue {
    /// The value as a plain [`Value`], exposing a secret. For stores only.
    /// An [`EmployeeWithEmail`](FieldValue::EmployeeWithEmail) must be
    /// resolved first ([`resolve_employees`]); here it is the email.
    pub fn expose(&self) -> Value {
        match self {
            FieldValue::Value(v) => v.clone(),
            FieldValue::Secret(s) => Value::Text(s.expose_secret().into()),
            FieldValue::EmployeeWithEmail(e) => Value::Text(e.as_str().into()),
        }
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Value(v) => v.fmt(f),
            FieldValue::Secret(_) => f.write_str("[redacted]"),
            FieldValue::EmployeeWithEmail(e) => write!(f, "(employee {e})"),
        }
    }
}

impl PartialEq for FieldValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FieldValue::Value(a), FieldValue::Value(b)) => a == b,
            (FieldValue::Secret(a), FieldValue::Secret(b)) => {
                a.expose_secret() == b.expose_secret()
            }
            (FieldValue::EmployeeWithEmail(a), FieldValue::EmployeeWithEmail(b)) => a == b,
            _ => false,
        }
    }
}

/// One field to write: a value, or `None` to clear the field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldWrite {
    /// Inventory field name.
    pub field: String,
    /// The new value; `None` clears the field.
    pub value: Option<FieldValue>,
}

impl FieldWrite {
    /// Sets `field` to a plain value.
    pub fn set(field: impl Into<String>, value: impl Into<Value>) -> Self {
        FieldWrite {
            field: field.into(),
            value: Some(FieldValue::Value(value.into())),
        }
    }

    /// Clears `field`.
    pub fn clear(field: impl Into<String>) -> Self {
        FieldWrite {
            field: field.into(),
            value: None,
        }
    }
}

/// What an update expects a field to hold when it is written: the value
/// the plan read (`None`: no value). A store writes the update only if
/// every expectation still holds, so a change another writer made since
/// is never overwritten blindly ([`StoreError::Stale`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Inventory field name.
    pub field: String,
    /// The value read; `None` for no value.
    pub value: Option<FieldValue>,
}

impl Expect {
    /// Whether `current` (what the store holds now) is what was read.
    pub fn holds(&self, current: Option<&Value>) -> bool {
        match (&self.value, current) {
            (None, None) => true,
            (Some(v), Some(c)) => v.expose() == *c,
            _ => false,
        }
    }
}

/// An employee to create. All three parts are required by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewEmployee {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Email addresses, lower case.
    pub emails: Vec<String>,
}

// ---------------------------------------------------------------------------
// Identifier claims.

/// One identifier value an asset holds (or an email an employee holds):
/// what a store keeps unique.
///
/// `value` is normalized as matching normalizes it (serials upper case
/// without spaces, MACs in colon form, placeholders never claimed). Values
/// of a field whose ids are numbered per kind of device (Jamf ids: computer
/// 42 and mobile device 42 are two devices) carry the kind:
/// `computer:42` or `mobile:42`; on an asset whose type is unknown such an
/// id claims nothing, since it may be either device's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Claim {
    /// Inventory field name (`email` for an employee's email).
    pub field: String,
    /// The normalized value.
    pub value: String,
}

impl Claim {
    /// A claim on `field`'s `value` (taken as given).
    pub fn new(field: impl Into<String>, value: impl Into<String>) -> Self {
        Claim {
            field: field.into(),
            value: value.into(),
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.field, self.value)
    }
}

/// The field name of an employee's email claims.
pub const EMAIL_CLAIM: &str = "email";

/// The field name of the claim an employee's name makes when the employee
/// is created ([`IdentifierRules::name_claim`]).
pub const NAME_CLAIM: &str = "name";

/// Which inventory fields are identifiers, and so unique: the fields the
/// upsert matches on ([`Config::identifier_rules`](crate::upsert::Config::identifier_rules)).
///
/// A store keeps, for every asset, the [`Claim`]s these rules give its
/// fields, and refuses a write that would give a claim to a second asset.
/// The rules travel with each [`Store::write`], so the engine and the store
/// never disagree on them; a store that persists claims rebuilds them when
/// the rules change ([`IdentifierRules::fingerprint`]).
///
/// ```
/// use mdm_mapping::store::{Claim, IdentifierRules};
/// use mdm_mapping::Fields;
///
/// let rules = IdentifierRules::default();
/// let mut f = Fields::new();
/// f.text("serial_number", Some(" c02xk1abjg5h"))
///     .text("jamf_id", Some("42"))
///     .text("asset_type", Some("laptop"))
///     .text("udid", Some("Not Available"));
/// assert_eq!(
///     rules.claims(&f),
///     [Claim::new("jamf_id", "computer:42"), Claim::new("serial_number", "C02XK1ABJG5H")]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierRules {
    /// (field, numbered per kind of device), sorted by field.
    fields: Vec<(String, bool)>,
}

impl Default for IdentifierRules {
    /// The default configuration's: `jamf_id` (per kind of device),
    /// `kandji_id`, `serial_number`, `udid`, `imei`.
    fn default() -> Self {
        IdentifierRules::new(["kandji_id", "serial_number", "udid", "imei"]).per_kind("jamf_id")
    }
}

impl IdentifierRules {
    /// Rules making these fields identifiers.
    pub fn new<S: Into<String>>(fields: impl IntoIterator<Item = S>) -> Self {
        let mut r = IdentifierRules { fields: Vec::new() };
        for f in fields {
            r.add(f.into(), false);
        }
        r
    }

    /// Adds `field` as an identifier whose values are numbered per kind of
    /// device (computer or mobile device), as Jamf ids are.
    pub fn per_kind(self, field: impl Into<String>) -> Self {
        self.with_field(field, true)
    }

    /// Adds `field` as an identifier, numbered per kind of device or not.
    pub fn with_field(mut self, field: impl Into<String>, per_kind: bool) -> Self {
        self.add(field.into(), per_kind);
        self
    }

    fn add(&mut self, field: String, per_kind: bool) {
        match self
            .fields
            .binary_search_by(|(f, _)| f.as_str().cmp(&field))
        {
            Ok(i) => self.fields[i].1 |= per_kind,
            Err(i) => self.fields.insert(i, (field, per_kind)),
        }
    }

    /// The identifier fields, sorted.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(f, _)| f.as_str())
    }

    /// Whether `field` is an identifier.
    pub fn is_identifier(&self, field: &str) -> bool {
        self.fields
            .binary_search_by(|(f, _)| f.as_str().cmp(field))
            .is_ok()
    }

    /// A text naming the rules, for a store to tell whether the claims it
    /// keeps were made by the same rules.
    pub fn fingerprint(&self) -> String {
        self.fields
            .iter()
            .map(|(f, k)| if *k { format!("{f}/kind") } else { f.clone() })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every claim an asset with these fields holds, sorted, without repeats.
    pub fn claims(&self, fields: &Fields) -> Vec<Claim> {
        self.claims_of(fields.iter())
    }

    /// [`claims`](Self::claims) over `(field, value)` pairs.
    pub fn claims_of<'a>(&self, fields: impl Iterator<Item = (&'a str, &'a Value)>) -> Vec<Claim> {
        let mut found: Vec<(&(String, bool), &Value)> = Vec::new();
        let mut kind = "any";
        for (k, v) in fields {
            if k == "asset_type" {
                kind = match v
                    .as_str()
                    .and_then(|s| s.parse::<crate::model::AssetType>().ok())
                    .and_then(crate::model::AssetType::is_computer)
                {
                    Some(true) => "computer",
                    Some(false) => "mobile",
                    None => "any",
                };
            }
            if let Ok(i) = self.fields.binary_search_by(|(f, _)| f.as_str().cmp(k)) {
                found.push((&self.fields[i], v));
            }
        }
        let mut out = Vec::new();
        for ((field, per_kind), value) in found {
            let norm = crate::ident::Norm::for_field(field);
            // A per-kind id on an asset of unknown kind may be either
            // device's: it claims nothing (its other identifiers do).
            if *per_kind && kind == "any" {
                continue;
            }
            crate::ident::for_each_id(norm, value, |id| {
                let value = if *per_kind {
                    format!("{kind}:{id}")
                } else {
                    id.into_owned()
                };
                out.push(Claim::new(field.clone(), value));
            });
        }
        out.sort();
        out.dedup();
        out
    }

    /// The claim a new employee's name makes: first and last name, each
    /// trimmed and in lower case (as the planner compares names), joined by
    /// U+001F. `None` when either is blank: such a name claims nothing.
    ///
    /// ```
    /// use mdm_mapping::store::{IdentifierRules, NAME_CLAIM};
    ///
    /// let c = IdentifierRules::name_claim(" Ana ", "DÍAZ").unwrap();
    /// assert_eq!((c.field.as_str(), c.value.as_str()), (NAME_CLAIM, "ana\u{1f}díaz"));
    /// assert_eq!(IdentifierRules::name_claim("Ana", " "), None);
    /// ```
    pub fn name_claim(first_name: &str, last_name: &str) -> Option<Claim> {
        let first = first_name.trim().to_lowercase();
        let last = last_name.trim().to_lowercase();
        (!first.is_empty() && !last.is_empty())
            .then(|| Claim::new(NAME_CLAIM, format!("{first}\u{1f}{last}")))
    }

    /// The claims of an employee's emails (trimmed, lower case), sorted.
    pub fn email_claims(emails: &[String]) -> Vec<Claim> {
        let mut out: Vec<Claim> = emails
            .iter()
            .filter_map(|e| crate::normalize::email(e))
            .map(|e| Claim::new(EMAIL_CLAIM, e))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Who holds a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The claim.
    pub claim: Claim,
    /// The id of the asset (or, for `email`, the employee) holding it.
    pub holder: String,
}

// ---------------------------------------------------------------------------
// Batches.

/// One asset write of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq)]
pub enum AssetWrite {
    /// Create an asset with these fields. Fails with
    /// [`StoreError::Claimed`] if one of its claims is held.
    Create {
        /// The fields.
        fields: Vec<FieldWrite>,
    },
    /// Write these fields of an existing asset, if every expectation holds
    /// ([`StoreError::Stale`] otherwise) and the asset's new claims are
    /// free ([`StoreError::Claimed`] otherwise).
    Update {
        /// The asset id.
        id: String,
        /// The fields to write.
        changes: Vec<FieldWrite>,
        /// What the fields must still hold.
        expect: Vec<Expect>,
    },
    /// Delete an asset (merging duplicates: `mdm dedupe`), if every
    /// expectation holds. Its claims are released.
    Delete {
        /// The asset id.
        id: String,
        /// What the fields must still hold.
        expect: Vec<Expect>,
    },
    /// Mark an asset as up to date with the records of digest `mark`
    /// ([`Revision::mark`]), if its fields were not written since it was
    /// read at revision `rev` ([`StoreError::Stale`] otherwise). Changes
    /// no field and does not move the revision.
    Seal {
        /// The asset id.
        id: String,
        /// The revision the asset was read at.
        rev: u64,
        /// The digest of the records planned against it.
        mark: u64,
    },
}

impl AssetWrite {
    /// Names the record, for errors (`asset 12`, `new asset with serial_number C02…`).
    pub fn describe(&self) -> String {
        match self {
            AssetWrite::Create { fields } => describe_new(fields),
            AssetWrite::Update { id, .. }
            | AssetWrite::Delete { id, .. }
            | AssetWrite::Seal { id, .. } => format!("asset {id}"),
        }
    }
}

/// Writes a store carries out in one transaction: employees first, then
/// assets, in order.
///
/// Each write succeeds or fails on its own: a failed write leaves nothing
/// behind and the others go on, unless the batch is
/// [`atomic`](WriteBatch::atomic), when any failure leaves nothing written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    /// Employees to create.
    pub employees: Vec<NewEmployee>,
    /// Assets to create, update or delete.
    pub assets: Vec<AssetWrite>,
    /// All or nothing: if one write fails, none is kept (the others fail
    /// with [`StoreError::Aborted`]).
    pub atomic: bool,
}

impl WriteBatch {
    /// How many writes the batch holds.
    pub fn len(&self) -> usize {
        self.employees.len() + self.assets.len()
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`Store::write`] did with each write of a batch, in batch order:
/// the id written, or why not.
#[derive(Debug, Default)]
pub struct WriteResults {
    /// Per employee: the new id.
    pub employees: Vec<Result<String, StoreError>>,
    /// Per asset write: the asset id (new on create).
    pub assets: Vec<Result<String, StoreError>>,
}

impl WriteResults {
    /// The results of an atomic batch in which some write failed: nothing
    /// was kept, so each write that succeeded becomes
    /// [`StoreError::Aborted`]; the failures keep their own errors.
    pub fn abort(self, batch: &WriteBatch) -> WriteResults {
        let employees = self
            .employees
            .into_iter()
            .zip(&batch.employees)
            .map(|(r, e)| {
                r.and_then(|_| {
                    Err(StoreError::Aborted {
                        record: describe_employee(e),
                    })
                })
            })
            .collect();
        let assets = self
            .assets
            .into_iter()
            .zip(&batch.assets)
            .map(|(r, a)| {
                r.and_then(|_| {
                    Err(StoreError::Aborted {
                        record: a.describe(),
                    })
                })
            })
            .collect();
        WriteResults { employees, assets }
    }

    /// Whether every write succeeded.
    pub fn all_ok(&self) -> bool {
        self.employees.iter().all(Result::is_ok) && self.assets.iter().all(Result::is_ok)
    }
}

/// What a store failed at, naming the record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The asset to update does not exist (any more).
    #[error("asset {id:?} not found")]
    AssetNotFound {
        /// The asset id.
        id: String,
    },
    /// The write would give an identifier value (or an email) that another
    /// asset (or employee) holds. Nothing was written for this record; plan
    /// it again against the holder.
    #[error("{record}: {field} {value:?} is already held by {holder}")]
    Claimed {
        /// The record being written.
        record: String,
        /// The identifier field (`email` for an employee).
        field: String,
        /// The normalized value.
        value: String,
        /// Who holds it: `asset 12`, `employee 3`.
        holder: String,
    },
    /// The record changed since it was read (another writer): nothing was
    /// written for it; plan it again.
    #[error("{record} changed since it was read: {field} no longer holds what the plan read")]
    Stale {
        /// The record being written.
        record: String,
        /// The first field that differs.
        field: String,
    },
    /// Not written because another write of the same atomic batch failed.
    #[error("{record} not written: another write of its batch failed")]
    Aborted {
        /// The record.
        record: String,
    },
    /// The store refused this one record (validation). The engine reports
    /// it and goes on with the other records.
    #[error("{record} rejected by the store: {reason}")]
    Rejected {
        /// The record, e.g. `asset a12` or `new asset with serial_number C02…`.
        record: String,
        /// Why.
        reason: String,
    },
    /// The store cannot be used (connection lost, disk full). The engine stops.
    #[error("store unavailable during {operation} of {record}: {source}")]
    Unavailable {
        /// The operation (`create_asset`, `update_asset`, …).
        operation: &'static str,
        /// The record being written.
        record: String,
        /// The backend's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A failure injected by [`MemoryStore::fail_after`].
    #[error("injected failure at write {write} ({operation} of {record})")]
    Injected {
        /// The 1-based number of the write that failed.
        write: usize,
        /// The operation.
        operation: &'static str,
        /// The record.
        record: String,
    },
}

impl StoreError {
    /// Whether the engine must stop: the store as a whole failed, rather
    /// than one record.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. } | StoreError::Injected { .. }
        )
    }

    /// Whether another writer got there first ([`Claimed`](StoreError::Claimed),
    /// [`Stale`](StoreError::Stale), a vanished asset): planning the record
    /// again against what the store holds now resolves it.
    pub fn is_race(&self) -> bool {
        matches!(
            self,
            StoreError::Claimed { .. }
                | StoreError::Stale { .. }
                | StoreError::AssetNotFound { .. }
        )
    }
}

/// Where the upsert engine reads and writes the inventory.
///
/// # The contract
///
/// - **A claim belongs to one record.** Every identifier value an asset
///   holds (its [`Claim`]s under the batch's [`IdentifierRules`]) belongs
///   to at most one asset, and every email to at most one employee,
///   whoever writes at the same time: a write that would break this fails
///   with [`StoreError::Claimed`], naming the field, the value and the
///   holder. The store enforces it atomically (a unique index, or a lock
///   held across check and write), never from an earlier snapshot.
/// - **Updates are conditional** on what the plan read ([`Expect`]): a
///   field someone else changed since fails with [`StoreError::Stale`],
///   so no concurrent change is overwritten blindly; fields an update does
///   not write are left as they are.
/// - **Batches**: [`write`](Store::write) carries out a [`WriteBatch`] in
///   one transaction.
///
/// - **A name is created once.** Creating an employee whose name (first and
///   last, trimmed, any case: [`IdentifierRules::name_claim`]) another
///   employee holds fails with [`StoreError::Claimed`] on
///   [`NAME_CLAIM`], atomically as for emails. The planner never creates
///   such an employee (it reports a likely duplicate instead), so two
///   syncs at once create what one after the other would. Employees that
///   already shared a name (imported) are left as they are; only a create
///   is refused.
///
/// The engine ([`crate::upsert::apply_staged`]) answers `Claimed` and
/// `Stale` by reading the records again and planning them anew (bounded),
/// so a create that lost a race becomes an update of the asset the other
/// writer made.
///
/// Implementations choose ids on create and return them. Only
/// [`load`](Store::load) and [`write`](Store::write) are required; the
/// others have defaults built on them.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads the whole inventory.
    async fn load(&self) -> Result<Inventory, StoreError>;

    /// Carries out `batch` in one transaction, claims computed with `rules`,
    /// and says what became of each write. `Err` means the store failed as
    /// a whole and nothing of the batch was written.
    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError>;

    /// Reads every asset with only the named fields (what matching reads),
    /// and every employee: what a sync planned in batches holds for the
    /// whole inventory ([`crate::upsert::apply_staged`]).
    ///
    /// The default reads everything ([`load`](Self::load)) and drops the
    /// other fields; a store that can select fields should.
    async fn load_for_matching(&self, fields: &[&str]) -> Result<Inventory, StoreError> {
        let mut inventory = self.load().await?;
        for a in &mut inventory.assets {
            a.fields.retain(|k, _| fields.contains(&k));
        }
        Ok(inventory)
    }

    /// Reads the assets with these ids, with every field, in the order
    /// asked; ids the store does not have are left out.
    ///
    /// The default reads everything ([`load`](Self::load)) on each call;
    /// a store holding many assets should look them up instead.
    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let mut by_id: std::collections::HashMap<String, Asset> = self
            .load()
            .await?
            .assets
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(*id)).collect())
    }

    /// The assets holding any of `claims` (made with `rules`), and the
    /// employees holding any `email` claim among them.
    ///
    /// The default reads everything; a store that keeps its claims
    /// indexed should look them up.
    async fn holders(
        &self,
        rules: &IdentifierRules,
        claims: &[Claim],
    ) -> Result<Vec<Holding>, StoreError> {
        let wanted: std::collections::HashSet<&Claim> = claims.iter().collect();
        let inventory = self.load().await?;
        let mut out = Vec::new();
        for a in &inventory.assets {
            for c in rules.claims(&a.fields) {
                if wanted.contains(&c) {
                    out.push(Holding {
                        claim: c,
                        holder: a.id.clone(),
                    });
                }
            }
        }
        for e in &inventory.employees {
            for c in IdentifierRules::email_claims(&e.emails) {
                if wanted.contains(&c) {
                    out.push(Holding {
                        claim: c,
                        holder: e.id.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Creates an asset with these fields (claims under the default
    /// [`IdentifierRules`]) and returns its new id.
    async fn create_asset(&self, fields: &[FieldWrite]) -> Result<String, StoreError> {
        let batch = WriteBatch {
            assets: vec![AssetWrite::Create {
                fields: fields.to_vec(),
            }],
            ..WriteBatch::default()
        };
        one(self
            .write(&IdentifierRules::default(), &batch)
            .await?
            .assets)
    }

    /// Writes these fields of an existing asset, whatever they hold now
    /// (claims under the default [`IdentifierRules`]).
    async fn update_asset(&self, id: &str, changes: &[FieldWrite]) -> Result<(), StoreError> {
        let batch = WriteBatch {
            assets: vec![AssetWrite::Update {
                id: id.to_string(),
                changes: changes.to_vec(),
                expect: Vec::new(),
            }],
            ..WriteBatch::default()
        };
        one(self
            .write(&IdentifierRules::default(), &batch)
            .await?
            .assets)
        .map(drop)
    }

    /// Sets an asset's `status` field (lifecycle: `archived`, …).
    async fn set_asset_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        self.update_asset(id, &[FieldWrite::set("status", status)])
            .await
    }

    /// Creates an employee and returns the new id.
    async fn create_employee(&self, employee: &NewEmployee) -> Result<String, StoreError> {
        let batch = WriteBatch {
            employees: vec![employee.clone()],
            ..WriteBatch::default()
        };
        one(self
            .write(&IdentifierRules::default(), &batch)
            .await?
            .employees)
    }

    /// Adds a run to the inventory's history and returns its id. Default:
    /// the store keeps no history ([`StoreError::Rejected`]).
    async fn record_run(&self, run: &RunRecord) -> Result<i64, StoreError> {
        let _ = run;
        Err(StoreError::Rejected {
            record: "sync run".into(),
            reason: "this store keeps no run history".into(),
        })
    }

    /// The last `last` runs of the history, newest first. Default: none.
    async fn runs(&self, last: usize) -> Result<Vec<RunRecord>, StoreError> {
        let _ = last;
        Ok(Vec::new())
    }

    /// Where the syncs of the source named `source` stand (its watermark),
    /// if the store keeps it. Default: nothing is kept, so every sync is a
    /// full one.
    async fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        let _ = source;
        Ok(None)
    }

    /// Keeps `state` for the source named `source`, replacing what was
    /// kept. Call it only once what the state describes is committed.
    /// Default: nothing is kept.
    async fn set_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        let _ = (source, state);
        Ok(())
    }

    /// Takes the inventory's run lock, held until the guard drops, so that
    /// scheduled syncs never overlap, across processes too: `None` when
    /// another run holds it. Default: nothing is locked.
    async fn lock_runs(&self) -> Result<Option<RunGuard>, StoreError> {
        Ok(Some(RunGuard::unlocked()))
    }
}

fn one(mut results: Vec<Result<String, StoreError>>) -> Result<String, StoreError> {
    results.pop().unwrap_or_else(|| {
        Err(StoreError::Rejected {
            record: "write".into(),
            reason: "the store returned no result".into(),
        })
    })
}

/// Replaces each [`FieldValue::EmployeeWithEmail`] in `writes` by the id
/// `lookup` gives for the email, dropping the write when there is none:
/// what every store does before writing an asset.
pub fn resolve_employees(
    writes: &[FieldWrite],
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Vec<FieldWrite> {
    writes
        .iter()
        .filter_map(|w| match &w.value {
            Some(FieldValue::EmployeeWithEmail(email)) => Some(FieldWrite {
                field: w.field.clone(),
                value: Some(FieldValue::Value(Value::Text(lookup(email)?.into()))),
            }),
            _ => Some(w.clone()),
        })
        .collect()
}

/// Checks an update's or a delete's expectations against what the store
/// holds now: [`StoreError::Stale`], naming `record` and the first field
/// that differs, when one does not hold. What every store does before it
/// writes an asset it was given expectations for.
pub fn check_expectations(
    record: &str,
    current: &Fields,
    expect: &[Expect],
) -> Result<(), StoreError> {
    match expect.iter().find(|x| !x.holds(current.get(&x.field))) {
        Some(x) => Err(StoreError::Stale {
            record: record.to_string(),
            field: x.field.clone(),
        }),
        None => Ok(()),
    }
}

/// Names an employee, for errors.
pub(crate) fn describe_employee(e: &NewEmployee) -> String {
    format!(
        "new employee {}",
        e.emails.first().map(String::as_str).unwrap_or("")
    )
}

/// Names a new asset by its first identifier-like field, for errors.
pub fn describe_new(fields: &[FieldWrite]) -> String {
    for key in ["serial_number", "udid", "imei", "jamf_id", "kandji_id"] {
        if let Some(w) = fields.iter().find(|w| w.field == key)
            && let Some(FieldValue::Value(v)) = &w.value
        {
            return format!("new asset with {key} {v}");
        }
    }
    "new asset".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_inventory() {
        let inv = Inventory::from_json(
            r#"{"assets":[{"id":"a1","fields":{"serial_number":"X1","asset_tag":"","location":null,"imei":[],"meta":{}}}]}"#,
        )
        .unwrap();
        assert_eq!(inv.assets[0].fields.len(), 1);
        assert!(inv.employees.is_empty());
        let err = Inventory::from_json("{\"assets\":[{\"fields\":{}}]}").unwrap_err();
        assert!(err.to_string().contains("id"), "{err}");
    }

    #[test]
    fn secrets_redacted_in_debug() {
        let mut f = Fields::new();
        f.text("recovery_key", Some("ABCD-SECRET"));
        let a = Asset::new("a1", f);
        assert!(!format!("{a:?}").contains("SECRET"));
        let w = FieldWrite {
            field: "recovery_key".into(),
            value: Some(FieldValue::Secret(SecretString::from("ABCD-SECRET"))),
        };
        assert!(!format!("{w:?}").contains("SECRET"));
    }
}
