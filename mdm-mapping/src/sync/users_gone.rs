//! Users gone from a source's user directory (`users = true`): reported,
//! never deleted.
//!
//! A sync remembers, per source, the users its directory listed
//! ([`SourceState::users`](crate::store::SourceState::users): user id → email) at the last committed sync
//! that read the directory completely. The next such sync reports the
//! users listed then and not now, whose email an employee of the inventory
//! holds ([`GoneUser`]). A user still listed under another id with the same
//! email, or under the same id with another email, is not gone.
//!
//! The directory counts as read when the source was read to its end and
//! its stream brought user records (`entity: user`, the last page of
//! [`WithUsers`](crate::source::WithUsers)). A source that failed or was
//! cancelled, one without the opt-in, and one whose directory came back
//! empty (a vendor's glitch is likelier than every user gone) report
//! nothing and leave the remembered list as it was. The first read of a
//! directory has nothing to compare with: it only remembers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use crate::record::{Entity, SourceDevice};
use crate::store::{GoneUser, Store, StoreError};

use super::{SourceRead, SyncEvent};

/// The user directories a sync read, per source, as their records came
/// ([`observe`](Self::observe)).
#[derive(Debug, Default)]
pub(super) struct Directories {
    /// The source being read.
    current: Option<String>,
    by_source: HashMap<String, Listed>,
}

/// The users one directory listed.
#[derive(Debug, Default)]
struct Listed {
    /// Users with an email: id → email (normalized).
    with_email: BTreeMap<String, String>,
    /// Ids of the users without one.
    without_email: HashSet<String>,
}

impl Listed {
    fn lists(&self, id: &str) -> bool {
        self.with_email.contains_key(id) || self.without_email.contains(id)
    }
}

impl Directories {
    /// Takes note of the user records a sync's events carry.
    pub(super) fn observe(&mut self, event: &SyncEvent<'_>) {
        match event {
            SyncEvent::SourceStarted { source, .. } => self.current = Some((*source).to_owned()),
            SyncEvent::Record(d) if d.entity == Entity::User => self.add(d),
            _ => {}
        }
    }

    fn add(&mut self, d: &SourceDevice) {
        let Some(source) = &self.current else {
            return;
        };
        let listed = self.by_source.entry(source.clone()).or_default();
        let email = d
            .assignee
            .as_ref()
            .and_then(|a| a.email.as_deref())
            .and_then(crate::normalize::email);
        match email {
            Some(email) => {
                listed.with_email.insert(d.source_id.clone(), email);
            }
            None => {
                listed.without_email.insert(d.source_id.clone());
            }
        }
    }
}

/// [`Directories::observe`] through the lock a sync's event callback
/// holds them in (a sync's future is `Send`; a poisoned lock is as good).
pub(super) fn observe(directories: &Mutex<Directories>, event: &SyncEvent<'_>) {
    directories
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .observe(event);
}

/// The directories read, out of their lock.
pub(super) fn take(directories: &Mutex<Directories>) -> Directories {
    std::mem::take(&mut *directories.lock().unwrap_or_else(PoisonError::into_inner))
}

/// What a committed sync does with the directories it read: the list each
/// source keeps, and the users gone.
#[derive(Debug, Default)]
pub(super) struct Settled {
    lists: HashMap<String, Option<BTreeMap<String, String>>>,
    /// The users gone, source by source in the order of the sources, then
    /// by user id.
    pub(super) gone: Vec<GoneUser>,
}

impl Settled {
    /// Compares each source read to its end (`reads`) with the list its
    /// state kept (`kept`: source name → list, read before the sync read
    /// the source, for the server it reads now), matching employees in
    /// `store`. Call it once the sync's writes are committed, and keep
    /// [`list`](Self::list) in each such source's state.
    pub(super) async fn compare<S: Store + ?Sized>(
        store: &S,
        reads: &[SourceRead],
        mut read: Directories,
        mut kept: HashMap<String, Option<BTreeMap<String, String>>>,
    ) -> Result<Settled, StoreError> {
        let mut settled = Settled::default();
        // (source, user id, email) listed before and not now.
        let mut candidates: Vec<(String, String, String)> = Vec::new();
        for r in reads.iter().filter(|r| r.complete) {
            let before = kept.remove(&r.source).flatten();
            let Some(now) = read.by_source.remove(&r.source) else {
                settled.lists.insert(r.source.clone(), before);
                continue;
            };
            if let Some(before) = before {
                let emails: HashSet<&str> = now.with_email.values().map(String::as_str).collect();
                for (id, email) in before {
                    if !now.lists(&id) && !emails.contains(email.as_str()) {
                        candidates.push((r.source.clone(), id, email));
                    }
                }
            }
            settled.lists.insert(r.source.clone(), Some(now.with_email));
        }
        if candidates.is_empty() {
            return Ok(settled);
        }
        // The planner's match: an email held by exactly one employee.
        let inventory = store.load_for_matching(&[]).await?;
        let wanted: HashSet<&str> = candidates.iter().map(|c| c.2.as_str()).collect();
        let mut holder: HashMap<String, Option<usize>> = HashMap::new();
        for (i, e) in inventory.employees.iter().enumerate() {
            for email in e.emails.iter().filter_map(|m| crate::normalize::email(m)) {
                if !wanted.contains(email.as_str()) {
                    continue;
                }
                holder
                    .entry(email)
                    .and_modify(|h| {
                        if *h != Some(i) {
                            *h = None;
                        }
                    })
                    .or_insert(Some(i));
            }
        }
        for (source, user_id, email) in candidates {
            let Some(Some(i)) = holder.get(&email) else {
                continue;
            };
            let Some(e) = inventory.employees.get(*i) else {
                continue;
            };
            settled.gone.push(GoneUser {
                source,
                user_id,
                email,
                employee: e.id.clone(),
                employee_name: format!("{} {}", e.first_name.trim(), e.last_name.trim())
                    .trim()
                    .to_owned(),
            });
        }
        Ok(settled)
    }

    /// The list `source`'s state keeps from now on (what it kept before
    /// when its directory was not read).
    pub(super) fn list(&mut self, source: &str) -> Option<BTreeMap<String, String>> {
        self.lists.remove(source).flatten()
    }
}
