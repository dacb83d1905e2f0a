//! The plan's public shape: what a plan says it will do.

use super::*;

/// One source record an action is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SourceRef {
    /// The source.
    pub vendor: Vendor,
    /// The source's id of the record.
    pub source_id: Id,
    /// The kind of record (Jamf numbers computers and mobile devices
    /// apart, so `jamf 42` may be either). Not part of the JSON.
    #[serde(skip)]
    pub entity: crate::record::Entity,
}

impl SourceRef {
    pub(super) fn of(d: &SourceDevice) -> SourceRef {
        SourceRef {
            vendor: d.vendor,
            entity: d.entity,
            source_id: Id::from(d.source_id.as_str()),
        }
    }
}

/// An id in a plan: a source's id of a record, or an asset's id. Reads as a
/// `&str` (`Deref`, `as_str`) and compares with strings.
///
/// Ids of up to 24 bytes, which is most of them, are stored inline.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(CompactString);

impl Id {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Id {
        Id(CompactString::from(s))
    }
}

impl From<String> for Id {
    fn from(s: String) -> Id {
        Id(CompactString::from(s))
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0.into_string()
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_str()
    }
}

impl PartialEq<Id> for str {
    fn eq(&self, other: &Id) -> bool {
        self == other.0
    }
}

impl PartialEq<Id> for &str {
    fn eq(&self, other: &Id) -> bool {
        *self == other.0
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

/// The source records of an action: a slice of [`SourceRef`]s (`Deref`),
/// one stored inline (the common case), more on the heap.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SourceRefs(SmallVec<[SourceRef; 1]>);

impl SourceRefs {
    /// The source records.
    pub fn as_slice(&self) -> &[SourceRef] {
        &self.0
    }

    pub(super) fn one(s: SourceRef) -> SourceRefs {
        SourceRefs(smallvec::smallvec![s])
    }
}

impl std::ops::Deref for SourceRefs {
    type Target = [SourceRef];
    fn deref(&self) -> &[SourceRef] {
        &self.0
    }
}

impl FromIterator<SourceRef> for SourceRefs {
    fn from_iter<I: IntoIterator<Item = SourceRef>>(iter: I) -> SourceRefs {
        SourceRefs(iter.into_iter().collect())
    }
}

impl From<Vec<SourceRef>> for SourceRefs {
    fn from(v: Vec<SourceRef>) -> SourceRefs {
        SourceRefs(SmallVec::from_vec(v))
    }
}

impl<'a> IntoIterator for &'a SourceRefs {
    type Item = &'a SourceRef;
    type IntoIter = std::slice::Iter<'a, SourceRef>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for SourceRefs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for SourceRefs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

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
pub struct Changes(pub(super) Vec<(Arc<str>, Change)>);

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
    /// skips).
    pub target_id: Option<Id>,
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
