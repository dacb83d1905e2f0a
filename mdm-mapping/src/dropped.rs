//! [`DroppedValues`]: the values a source could not read, counted per vendor
//! and field instead of lost silently or logged once per record.
//!
//! A typed setter that cannot read a value (a date that is not a date, an
//! email without `@`) stores nothing and notes the raw text on the record
//! ([`Fields::take_dropped`](crate::Fields::take_dropped)). The page stream
//! of every [`DeviceSource`](crate::DeviceSource) takes those notes into the
//! source's `DroppedValues` ([`DeviceSource::dropped_values`](crate::DeviceSource::dropped_values)):
//! the first drop of a field is logged once (`warn`), the others only
//! counted, and a program reports the counts at the end of a run.
//!
//! ```
//! use mdm_mapping::dropped::DroppedValues;
//! use mdm_mapping::Vendor;
//!
//! let dropped = DroppedValues::new();
//! for _ in 0..12 {
//!     dropped.record(Vendor::Kandji, "first_enrollment", "not a date");
//! }
//! dropped.record(Vendor::Jamf, "user_email", "ana at example");
//! assert_eq!(dropped.total(), 13);
//! assert_eq!(
//!     dropped.summary(),
//!     "13 values (jamf.user_email: 1, kandji.first_enrollment: 12)"
//! );
//! assert_eq!(dropped.to_json()["kandji.first_enrollment"], 12);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::record::{SourceDevice, Vendor};

/// How many example values are kept per field.
pub const EXAMPLES_PER_FIELD: usize = 3;

/// The count and a few examples of the values dropped from one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DroppedField {
    /// How many values were dropped.
    pub count: u64,
    /// Up to [`EXAMPLES_PER_FIELD`] distinct raw values, as received (cut
    /// to 64 characters).
    pub examples: Vec<String>,
}

/// Values dropped because they could not be read, per `vendor.field`.
///
/// Cheap to clone: clones share one set of counts, so a source can hand its
/// counter to the stream it builds and to the caller that reports it.
#[derive(Clone, Default)]
pub struct DroppedValues(Arc<Mutex<BTreeMap<String, DroppedField>>>);

impl fmt::Debug for DroppedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the examples are vendor data.
        f.debug_map()
            .entries(self.counts().iter().map(|(k, v)| (k.clone(), *v)))
            .finish()
    }
}

impl DroppedValues {
    /// No drops yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, DroppedField>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one dropped value of `vendor`'s `field`. The first drop of a
    /// field is logged (`warn`, with the value); later ones are only counted.
    pub fn record(&self, vendor: Vendor, field: &str, raw: &str) {
        let key = format!("{vendor}.{field}");
        let mut map = self.lock();
        let entry = map.entry(key).or_default();
        if entry.count == 0 {
            tracing::warn!(
                field = %format_args!("{vendor}.{field}"),
                value = %raw,
                "dropped a value that could not be read; further drops of this field are counted and reported at the end of the run"
            );
        }
        entry.count = entry.count.saturating_add(1);
        if entry.examples.len() < EXAMPLES_PER_FIELD && !entry.examples.iter().any(|e| e == raw) {
            entry.examples.push(raw.to_string());
        }
    }

    /// Takes the dropped-value notes off `device`'s fields and counts them.
    pub fn take_from(&self, device: &mut SourceDevice) {
        for (field, raw) in device.fields.take_dropped() {
            self.record(device.vendor, &field, &raw);
        }
    }

    /// Adds every count and example of `other` to these.
    pub fn merge(&self, other: &DroppedValues) {
        if Arc::ptr_eq(&self.0, &other.0) {
            return;
        }
        let theirs = other.snapshot();
        let mut map = self.lock();
        for (k, v) in theirs {
            let entry = map.entry(k).or_default();
            entry.count = entry.count.saturating_add(v.count);
            for e in v.examples {
                if entry.examples.len() < EXAMPLES_PER_FIELD && !entry.examples.contains(&e) {
                    entry.examples.push(e);
                }
            }
        }
    }

    /// Every field with drops, by `vendor.field`.
    pub fn snapshot(&self) -> BTreeMap<String, DroppedField> {
        self.lock().clone()
    }

    /// The count per `vendor.field`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.count))
            .collect()
    }

    /// How many values were dropped, over every field.
    pub fn total(&self) -> u64 {
        self.lock()
            .values()
            .fold(0u64, |n, v| n.saturating_add(v.count))
    }

    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// One line for a run's summary: `12 values (kandji.first_enrollment: 12)`.
    pub fn summary(&self) -> String {
        let counts = self.counts();
        let total = counts.values().fold(0u64, |n, v| n.saturating_add(*v));
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let noun = if total == 1 { "value" } else { "values" };
        format!("{total} {noun} ({})", parts.join(", "))
    }

    /// The counts as a JSON object: `{"kandji.first_enrollment": 12}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.counts()
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::from(v)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entity;

    #[test]
    fn counts_examples_and_merges() {
        let a = DroppedValues::new();
        assert!(a.is_empty());
        let mut d = SourceDevice::new(Vendor::Abm, Entity::Device, "X");
        d.fields
            .datetime("added_to_org_date_time", Some("yesterday"))
            .email("user_email", Some("nobody"))
            .datetime("released_from_org_date_time", Some("2024-01-26T16:15:36Z"))
            .mac("wifi_mac_address", Some("  "));
        a.take_from(&mut d);
        a.take_from(&mut d); // taken once only
        assert_eq!(a.total(), 2);
        for raw in ["a", "b", "c", "d", "a"] {
            a.record(Vendor::Abm, "user_email", raw);
        }
        let snap = a.snapshot();
        assert_eq!(snap["abm.user_email"].count, 6);
        assert_eq!(snap["abm.user_email"].examples, ["nobody", "a", "b"]);
        let b = DroppedValues::new();
        b.record(Vendor::Abm, "user_email", "z");
        b.merge(&a);
        b.merge(&b.clone());
        assert_eq!(b.counts()["abm.user_email"], 7);
        assert_eq!(
            b.summary(),
            "8 values (abm.added_to_org_date_time: 1, abm.user_email: 7)"
        );
        assert!(!format!("{b:?}").contains("nobody"));
    }
}
