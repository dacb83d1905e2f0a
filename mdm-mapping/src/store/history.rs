//! What an inventory remembers about its syncs: the run history
//! ([`RunRecord`], [`Store::record_run`](super::Store::record_run)) and the
//! lock that keeps scheduled runs from overlapping
//! ([`Store::lock_runs`](super::Store::lock_runs)).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every source read in full, every write made.
    Ok,
    /// A source or a write failed; what was written is consistent.
    Failed,
    /// Stopped (a signal, a cancel); what was written is consistent.
    Cancelled,
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed => "failed",
            RunOutcome::Cancelled => "cancelled",
        })
    }
}

/// One sync run, as the inventory's history keeps it.
///
/// Stored as one JSON document per run, so fields can be added without a
/// schema change; [`id`](Self::id) is the store's (0 until recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The store's id of the run (increasing); 0 before it is recorded.
    #[serde(default)]
    pub id: i64,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// The sources it read (`jamf`, or a configured source's name).
    pub sources: Vec<String>,
    /// A full reading of every source (lifecycle could run), not an
    /// incremental one.
    pub full: bool,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Records read per source.
    #[serde(default)]
    pub read: BTreeMap<String, u64>,
    /// Counts per action: `create`, `update`, `unchanged`, `conflict`,
    /// `skip`, `employee_create`, and `retried` (writes planned again after
    /// another sync got to them first).
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    /// HTTP requests made per source, where the source counts them.
    #[serde(default)]
    pub requests: BTreeMap<String, u64>,
    /// The request rate each adaptively paced source learned, in requests
    /// a minute (ABM), as the run ended.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub learned_rates: BTreeMap<String, f64>,
    /// Values dropped as unreadable, per `vendor.field`.
    #[serde(default)]
    pub dropped: BTreeMap<String, u64>,
    /// What failed, one line each.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Users gone from their source's user directory whose employee is
    /// still in the inventory ([`SyncOutcome::users_gone`](crate::sync::SyncOutcome::users_gone)):
    /// reported, never deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users_gone: Vec<GoneUser>,
}

/// A user that a source's user directory (`users = true`) listed at the
/// last sync that read it completely and no longer lists, while an
/// employee of the inventory holds the user's email. The employee is
/// reported, never deleted nor changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoneUser {
    /// The source's name (`jamf`, or a configured source's name).
    pub source: String,
    /// The user's id in the source (qualified `NAME:ID` like the source's
    /// records, when the source qualifies its ids).
    pub user_id: String,
    /// The user's email (lower case), as the directory last listed it.
    pub email: String,
    /// The store's id of the employee holding the email.
    pub employee: String,
    /// The employee's name (`first last`), for people reading the report.
    #[serde(default)]
    pub employee_name: String,
}

/// Where the syncs of one source stand, kept in the inventory
/// ([`Store::source_state`](super::Store::source_state)): what an
/// incremental sync reads from, and when the last full one ran.
///
/// Stored as one JSON document per source name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// The watermark: the latest time the server says one of the source's
    /// records was updated, among the records a committed sync read (Jamf:
    /// the report date). Taken from the server's data, never from the local
    /// clock; an incremental sync reads from it, less an overlap.
    #[serde(default)]
    pub watermark: Option<DateTime<Utc>>,
    /// When the last full listing of the source was synced (local clock).
    #[serde(default)]
    pub last_full: Option<DateTime<Utc>>,
    /// Incremental syncs since then.
    #[serde(default)]
    pub incremental_runs: u32,
    /// A fingerprint of the mapping the last sync used: a sync under
    /// another mapping reads the source in full, so that every record is
    /// mapped the new way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// A fingerprint of the server the state was kept for
    /// ([`DeviceSource::server`](crate::source::DeviceSource::server)):
    /// state kept for another server under the same source name is not
    /// used (no watermark, no user directory to compare with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The users the source's user directory (`users = true`) listed at
    /// the last committed sync that read it completely: user id → email
    /// (lower case), users with an email only (as JSON, about 40 bytes a
    /// user with Jamf's numeric ids, 80 with Kandji's UUIDs: a few MB for
    /// 100,000 users). The next such sync reports the users gone since
    /// ([`GoneUser`]). `None`: the directory was never read completely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<BTreeMap<String, String>>,
}

/// Decodes a stored [`SourceState`] document, naming the source when it
/// cannot be read.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn read_source_state(source: &str, doc: &str) -> Result<SourceState, super::StoreError> {
    serde_json::from_str(doc).map_err(|e| super::StoreError::Rejected {
        record: format!("source {source}"),
        reason: format!("unreadable source state: {e}"),
    })
}

/// Encodes a [`SourceState`] for storage.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn write_source_state(
    source: &str,
    state: &SourceState,
) -> Result<String, super::StoreError> {
    serde_json::to_string(state).map_err(|e| super::StoreError::Rejected {
        record: format!("source {source}"),
        reason: e.to_string(),
    })
}

/// Holds the run lock of an inventory ([`Store::lock_runs`](super::Store::lock_runs))
/// until dropped or [released](Self::release).
///
/// Dropping always lets the lock go; [`release`](Self::release) also waits
/// until the store has let it go (a database lock is released by a query,
/// where a drop only closes the session and the server notices later).
pub struct RunGuard {
    held: Option<Box<dyn Send>>,
    release: Option<BoxFuture<'static, ()>>,
}

impl RunGuard {
    /// A guard holding `held` (a locked file, a flag to clear on drop) until
    /// dropped.
    pub fn new(held: impl Send + 'static) -> Self {
        RunGuard {
            held: Some(Box::new(held)),
            release: None,
        }
    }

    /// A guard released by running `release` (which owns what holds the
    /// lock, so dropping the guard unreleased still drops it).
    pub fn releasing(release: impl Future<Output = ()> + Send + 'static) -> Self {
        RunGuard {
            held: None,
            release: Some(Box::pin(release)),
        }
    }

    /// A guard for a store that does not lock (nothing is held).
    pub fn unlocked() -> Self {
        RunGuard {
            held: None,
            release: None,
        }
    }

    /// Lets the lock go, and waits until the store has.
    pub async fn release(mut self) {
        if let Some(release) = self.release.take() {
            release.await;
        }
        self.held = None;
    }
}

impl fmt::Debug for RunGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunGuard")
            .field("held", &(self.held.is_some() || self.release.is_some()))
            .finish()
    }
}
