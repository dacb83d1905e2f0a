//! Changes a test makes to the Jamf records between two syncs, the way a
//! real Jamf Pro server's inventory moves on: touched records (a new
//! inventory report) and removed computers. The generated fleet stays
//! immutable; the Jamf renderers read these changes on top of it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::fleet::{ANCHOR_EPOCH, Device, DeviceKind, Fleet, JamfRecord};

/// What [`Simulator::touch_jamf`](super::Simulator::touch_jamf) and
/// [`Simulator::touch_jamf_ids`](super::Simulator::touch_jamf_ids) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// The new report date of every touched record (whole seconds, in the
    /// fleet's time frame).
    pub at: DateTime<Utc>,
    /// The Jamf ids of the touched computers, ascending.
    pub computers: Vec<u32>,
    /// The Jamf ids of the touched mobile devices, ascending.
    pub mobile_devices: Vec<u32>,
}

/// One touched record: when, and how many times so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Touch {
    /// The new report date, epoch seconds.
    pub(crate) at: i64,
    /// Touches so far (1 for the first): picks the OS update installed.
    pub(crate) count: u32,
}

/// A snapshot of the changes: one per request, so a page is rendered from
/// one consistent state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Changes {
    /// Bumped by every touch and removal.
    pub(crate) generation: u64,
    computers: HashMap<u32, Touch>,
    mobiles: HashMap<u32, Touch>,
    removed: HashSet<u32>,
    /// Jamf user ids removed from the user directory.
    removed_users: HashSet<u32>,
    /// The latest touch, epoch seconds (0: none yet).
    last: i64,
}

impl Changes {
    /// The touch of `rec` (a computer when `d` is a Mac, else a mobile device).
    pub(crate) fn touch(&self, rec: &JamfRecord, d: &Device) -> Option<Touch> {
        if self.computers.is_empty() && self.mobiles.is_empty() {
            return None;
        }
        if d.model.kind.is_mac() {
            self.computers.get(&rec.id).copied()
        } else {
            self.mobiles.get(&rec.id).copied()
        }
    }

    /// Whether computer `id` was removed.
    pub(crate) fn removed(&self, id: u32) -> bool {
        !self.removed.is_empty() && self.removed.contains(&id)
    }

    /// Whether user `id` (a position in the user directory, from 1) was removed.
    pub(crate) fn user_removed(&self, id: u32) -> bool {
        !self.removed_users.is_empty() && self.removed_users.contains(&id)
    }
}

/// The OS update a touched device installed: newer than both versions of
/// the fleet ([`Device::os_version`]), a step further for each touch.
pub(crate) fn touched_os(d: &Device, count: u32) -> (&'static str, &'static str) {
    let table: &[(&str, &str)] = match d.model.kind {
        DeviceKind::Laptop | DeviceKind::Desktop => &[
            ("15.4", "24E248"),
            ("15.4.1", "24E263"),
            ("15.5", "24F74"),
            ("15.6", "24G84"),
        ],
        DeviceKind::Phone | DeviceKind::Tablet => &[
            ("18.4", "22E240"),
            ("18.4.1", "22E252"),
            ("18.5", "22F76"),
            ("18.6", "22G86"),
        ],
        DeviceKind::Tv => &[("18.4", "22L255"), ("18.5", "22L572"), ("18.6", "22M84")],
    };
    let i = (count.max(1) as usize - 1).min(table.len() - 1);
    table.get(i).copied().unwrap_or(("0", "0"))
}

/// The changes of a running simulator and its Jamf clock.
#[derive(Debug)]
pub(crate) struct JamfChanges {
    started: Instant,
    current: RwLock<Arc<Changes>>,
}

impl Default for JamfChanges {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            current: RwLock::new(Arc::new(Changes::default())),
        }
    }
}

impl JamfChanges {
    /// The changes as they are now.
    pub(crate) fn snapshot(&self) -> Arc<Changes> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The current generation (see [`Changes::generation`]).
    pub(crate) fn generation(&self) -> u64 {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// The wall clock in the fleet's frame: one second after the fleet's
    /// anchor (every generated report date is at or before the anchor,
    /// milliseconds included) plus the whole seconds since the start.
    fn clock(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX / 2);
        ANCHOR_EPOCH + 1 + elapsed
    }

    fn now_of(&self, c: &Changes) -> i64 {
        self.clock().max(c.last + 1)
    }

    /// The server's "now", epoch seconds: later than every report date
    /// served so far; the next touch is stamped at or after it.
    pub(crate) fn now(&self) -> i64 {
        self.now_of(&self.snapshot())
    }

    /// Touches the given records (ids not in the fleet, or removed, are
    /// skipped). Returns the ids touched and the new report date.
    pub(crate) fn touch(
        &self,
        fleet: &Fleet,
        computers: &[u32],
        mobiles: &[u32],
    ) -> (i64, Vec<u32>, Vec<u32>) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Changes::clone(&guard);
        let at = self.now_of(&next);
        let pick = |ids: &[u32], records: &[JamfRecord], removed: &HashSet<u32>| {
            let mut out: Vec<u32> = ids
                .iter()
                .copied()
                .filter(|id| {
                    !removed.contains(id) && records.binary_search_by_key(id, |r| r.id).is_ok()
                })
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        let computers = pick(computers, fleet.jamf_computers(), &next.removed);
        let mobiles = pick(mobiles, fleet.jamf_mobile_devices(), &HashSet::new());
        for (ids, map) in [
            (&computers, &mut next.computers),
            (&mobiles, &mut next.mobiles),
        ] {
            for &id in ids {
                let count = map.get(&id).map_or(0, |t| t.count) + 1;
                map.insert(id, Touch { at, count });
            }
        }
        if !computers.is_empty() || !mobiles.is_empty() {
            next.last = at;
            next.generation += 1;
            *guard = Arc::new(next);
        }
        (at, computers, mobiles)
    }

    /// Removes computers; returns the ids removed now (known, not removed before).
    pub(crate) fn remove(&self, fleet: &Fleet, computers: &[u32]) -> Vec<u32> {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Changes::clone(&guard);
        let records = fleet.jamf_computers();
        let mut removed = Vec::new();
        for &id in computers {
            if records.binary_search_by_key(&id, |r| r.id).is_ok() && next.removed.insert(id) {
                next.computers.remove(&id);
                removed.push(id);
            }
        }
        if !removed.is_empty() {
            next.generation += 1;
            *guard = Arc::new(next);
        }
        removed.sort_unstable();
        removed
    }

    /// Removes users from the user directory; returns the ids removed now
    /// (known, not removed before).
    pub(crate) fn remove_users(&self, fleet: &Fleet, ids: &[u32]) -> Vec<u32> {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Changes::clone(&guard);
        let known = fleet.jamf_users().len();
        let mut removed: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&id| id >= 1 && (id as usize) <= known && next.removed_users.insert(id))
            .collect();
        if !removed.is_empty() {
            next.generation += 1;
            *guard = Arc::new(next);
        }
        removed.sort_unstable();
        removed
    }

    /// The first `n` computers and mobile devices by id still in the fleet.
    pub(crate) fn first(&self, fleet: &Fleet, computers: usize, mobiles: usize) -> [Vec<u32>; 2] {
        let c = self.snapshot();
        [
            fleet
                .jamf_computers()
                .iter()
                .map(|r| r.id)
                .filter(|id| !c.removed(*id))
                .take(computers)
                .collect(),
            fleet
                .jamf_mobile_devices()
                .iter()
                .map(|r| r.id)
                .take(mobiles)
                .collect(),
        ]
    }
}

/// Epoch seconds as a UTC date-time.
pub(crate) fn utc(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::fleet::FleetConfig;

    fn fleet() -> Fleet {
        Fleet::generate(FleetConfig {
            devices: 120,
            seed: 5,
            ..Default::default()
        })
    }

    #[test]
    fn users_are_removed_once_and_unknown_ids_ignored() {
        let fleet = fleet();
        let changes = JamfChanges::default();
        let known = fleet.jamf_users().len() as u32;
        assert!(known >= 2);
        let generation = changes.generation();
        assert_eq!(changes.remove_users(&fleet, &[2, 0, known + 1, 2]), [2]);
        assert!(changes.snapshot().user_removed(2));
        assert!(!changes.snapshot().user_removed(1));
        assert_eq!(changes.generation(), generation + 1);
        assert!(changes.remove_users(&fleet, &[2]).is_empty());
        assert_eq!(changes.generation(), generation + 1);
    }

    #[test]
    fn touches_are_later_than_the_fleet_and_than_each_other() {
        let fleet = fleet();
        let changes = JamfChanges::default();
        let latest = fleet
            .jamf_computers()
            .iter()
            .chain(fleet.jamf_mobile_devices())
            .filter_map(|r| fleet.device(r.device))
            .map(|d| {
                let dd = super::super::render::dates(d);
                dd.report * 1000 + i64::from(dd.ms)
            })
            .max()
            .unwrap();
        let now = changes.now();
        assert!(now * 1000 > latest);
        let c = fleet.jamf_computers()[0].id;
        let m = fleet.jamf_mobile_devices()[0].id;
        let (first, computers, mobiles) = changes.touch(&fleet, &[c, c, 999_999_999], &[m]);
        assert!(first >= now);
        assert_eq!((computers, mobiles), (vec![c], vec![m]));
        let (second, computers, _) = changes.touch(&fleet, &[c], &[]);
        assert!(second > first && changes.now() > second);
        assert_eq!(computers, [c]);
        let snap = changes.snapshot();
        assert_eq!(snap.generation, 2);
        assert_eq!(
            snap.computers[&c],
            Touch {
                at: second,
                count: 2
            }
        );
        assert_eq!(
            snap.mobiles[&m],
            Touch {
                at: first,
                count: 1
            }
        );
        // Nothing to touch: no new generation.
        let _ = changes.touch(&fleet, &[999_999_999], &[]);
        assert_eq!(changes.generation(), 2);
        // A removed computer is no longer touched, nor removed again.
        assert_eq!(changes.remove(&fleet, &[c, 999_999_999]), [c]);
        assert!(changes.remove(&fleet, &[c]).is_empty());
        assert!(changes.touch(&fleet, &[c], &[]).1.is_empty());
        assert!(changes.snapshot().removed(c));
        assert!(!changes.first(&fleet, 5, 0)[0].contains(&c));
    }

    #[test]
    fn the_os_update_is_newer_than_the_fleet_and_moves_on() {
        for d in fleet().devices() {
            let (first, _) = touched_os(d, 1);
            let (second, _) = touched_os(d, 2);
            assert_ne!(first, second);
            assert_ne!(first, d.os_version().0);
            let major = |v: &str| v.split('.').next().unwrap().parse::<u32>().unwrap();
            assert!(major(first) >= major(d.os_version().0));
            assert_eq!(touched_os(d, 99), touched_os(d, 100));
        }
    }
}
