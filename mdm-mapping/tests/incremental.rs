//! Incremental syncs in the engine: what is read, what the watermark
//! does, when a full reading comes, and what is never skipped.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::executor::block_on;
use mdm_mapping::store::{FailMode, MemoryStore, SourceState, Store};
use mdm_mapping::sync::{self, Incremental, SyncOptions, SyncOutcome};
use mdm_mapping::upsert::{Config, LifecycleKind};
use mdm_mapping::{Cursor, DevicePage, DeviceSource, Entity, SourceDevice, SourceError, Vendor};

/// One computer on the simulated server: id, serial, OS, report date.
#[derive(Debug, Clone)]
struct Computer {
    id: u32,
    os: String,
    reported: DateTime<Utc>,
}

/// A Jamf-like server: every listing is one page; it can filter on the
/// report date. Counts the records it hands out.
#[derive(Debug, Default)]
struct Server {
    computers: Mutex<Vec<Computer>>,
    handed_out: Mutex<usize>,
    /// Serial numbers are this and the id.
    serials: String,
}

impl Server {
    fn with(n: u32) -> Arc<Server> {
        Server::with_serials(n, "C02INC")
    }

    /// `n` computers whose serials start with `prefix` (another server's).
    fn with_serials(n: u32, prefix: &str) -> Arc<Server> {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        let s = Server {
            serials: prefix.to_owned(),
            ..Server::default()
        };
        *s.computers.lock().unwrap() = (1..=n)
            .map(|id| Computer {
                id,
                os: "15.1".into(),
                reported: t0 + Duration::minutes(i64::from(id)),
            })
            .collect();
        Arc::new(s)
    }

    /// `ids` report again at `at` with a new OS version.
    fn touch(&self, ids: &[u32], at: DateTime<Utc>) {
        for c in self.computers.lock().unwrap().iter_mut() {
            if ids.contains(&c.id) {
                c.os = "15.2".into();
                c.reported = at;
            }
        }
    }

    fn remove(&self, id: u32) {
        self.computers.lock().unwrap().retain(|c| c.id != id);
    }

    fn handed_out(&self) -> usize {
        std::mem::take(&mut *self.handed_out.lock().unwrap())
    }
}

/// A source over the server, optionally filtered `since`.
#[derive(Debug)]
struct Source {
    server: Arc<Server>,
    since: Option<DateTime<Utc>>,
    /// The server's URL ([`DeviceSource::server`]).
    url: &'static str,
}

#[async_trait]
impl DeviceSource for Source {
    fn vendor(&self) -> Vendor {
        Vendor::Jamf
    }

    fn changed_since(&self, since: DateTime<Utc>) -> Option<Box<dyn DeviceSource>> {
        Some(Box::new(Source {
            server: Arc::clone(&self.server),
            since: Some(since),
            url: self.url,
        }))
    }

    fn server(&self) -> Option<String> {
        Some(self.url.to_owned())
    }

    fn updated_key(&self) -> Option<&'static str> {
        Some("last_inventory_update")
    }

    async fn fetch_page(&self, _: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let devices: Vec<SourceDevice> = self
            .server
            .computers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| self.since.is_none_or(|t| c.reported >= t))
            .map(|c| {
                let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, c.id.to_string());
                d.fields
                    .serial(
                        "serial_number",
                        Some(&format!("{}{:05}", self.server.serials, c.id)),
                    )
                    .text("operating_system", Some(&format!("macOS {}", c.os)))
                    .datetime("last_inventory_update", Some(&c.reported.to_rfc3339()));
                d
            })
            .collect();
        *self.server.handed_out.lock().unwrap() += devices.len();
        Ok(DevicePage {
            devices,
            next: None,
        })
    }
}

fn sources(server: &Arc<Server>) -> Vec<Box<dyn DeviceSource>> {
    sources_at(server, "https://a.jamfcloud.example")
}

/// The source of `server`, found at `url`, named `jamf` whatever the URL.
fn sources_at(server: &Arc<Server>, url: &'static str) -> Vec<Box<dyn DeviceSource>> {
    vec![Box::new(Source {
        server: Arc::clone(server),
        since: None,
        url,
    })]
}

fn incremental(force_full: bool) -> SyncOptions {
    SyncOptions {
        incremental: Some(Incremental {
            force_full,
            ..Incremental::default()
        }),
        ..SyncOptions::default()
    }
}

/// The mapping of these tests: missing devices get a status.
fn config() -> Config {
    Config::from_toml_str("on_missing = \"missing\"").unwrap()
}

fn sync_with(server: &Arc<Server>, store: &MemoryStore, options: &SyncOptions) -> SyncOutcome {
    block_on(sync::run(&sources(server), store, &config(), options)).expect("sync")
}

fn state(store: &MemoryStore) -> SourceState {
    block_on(store.source_state("jamf"))
        .unwrap()
        .expect("state kept")
}

/// The inventory as `serial → os_version`, ids aside.
fn inventory(store: &MemoryStore) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = block_on(store.load())
        .unwrap()
        .assets
        .iter()
        .map(|a| {
            let f = |k: &str| a.fields.get(k).map(|v| v.to_string()).unwrap_or_default();
            (f("serial_number"), f("os_version"))
        })
        .collect();
    v.sort();
    v
}

fn missing(o: &SyncOutcome) -> usize {
    o.plan
        .lifecycle
        .iter()
        .filter(|e| e.event == LifecycleKind::Missing)
        .count()
}

#[test]
fn a_second_sync_reads_only_what_changed_and_leaves_the_inventory_a_full_sync_would() {
    let server = Server::with(200);
    let store = MemoryStore::default();
    let first = sync_with(&server, &store, &incremental(false));
    assert!(first.read[0].full, "no watermark yet: a full reading");
    assert_eq!(server.handed_out(), 200);
    let s = state(&store);
    assert_eq!(s.incremental_runs, 0);
    assert_eq!(
        s.watermark,
        Some(Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + Duration::minutes(200)),
        "the watermark is the server's latest report date"
    );

    // Ten computers report again, later than every other.
    let later = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    server.touch(&(1..=10).collect::<Vec<_>>(), later);
    let second = sync_with(&server, &store, &incremental(false));
    assert!(!second.read[0].full);
    // The ten, plus what the overlap re-reads: the 11 computers reported
    // in the 10 minutes up to the old watermark (minutes 190 to 200).
    assert_eq!(server.handed_out(), 10 + 11);
    assert_eq!(second.plan.summary.update, 10);
    assert_eq!(state(&store).watermark, Some(later));
    assert_eq!(state(&store).incremental_runs, 1);

    // The same inventory as a full sync of the same server into a new store.
    let reference = MemoryStore::default();
    sync_with(&server, &reference, &SyncOptions::default());
    assert_eq!(inventory(&store), inventory(&reference));
}

#[test]
fn a_removed_device_is_reported_at_the_next_full_reading_not_before() {
    let server = Server::with(30);
    let store = MemoryStore::default();
    sync_with(&server, &store, &incremental(false));
    server.remove(7);
    let inc = sync_with(&server, &store, &incremental(false));
    assert!(!inc.read[0].full);
    assert_eq!(
        missing(&inc),
        0,
        "an incremental reading never reports missing"
    );
    let full = sync_with(&server, &store, &incremental(true));
    assert!(full.read[0].full);
    assert_eq!(missing(&full), 1);
    assert_eq!(state(&store).incremental_runs, 0);
}

#[test]
fn a_full_reading_comes_every_n_syncs_and_when_the_last_is_too_old() {
    let server = Server::with(5);
    let store = MemoryStore::default();
    let every_3 = SyncOptions {
        incremental: Some(Incremental {
            full_every: 3,
            ..Incremental::default()
        }),
        ..SyncOptions::default()
    };
    let kinds: Vec<bool> = (0..6)
        .map(|_| sync_with(&server, &store, &every_3).read[0].full)
        .collect();
    assert_eq!(kinds, [true, false, false, false, true, false]);

    // A last full reading older than full_after.
    let mut s = state(&store);
    s.last_full = Some(Utc::now() - Duration::days(8));
    block_on(store.set_source_state("jamf", &s)).unwrap();
    assert!(sync_with(&server, &store, &incremental(false)).read[0].full);
}

#[test]
fn a_failed_write_keeps_the_watermark_so_the_next_sync_repeats_the_work() {
    let server = Server::with(20);
    let store = MemoryStore::default();
    sync_with(&server, &store, &incremental(false));
    let before = state(&store);
    let later = Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap();
    server.touch(&[3, 4], later);
    store.fail_after(0, FailMode::BeforeWrite);
    let failed = block_on(sync::run(
        &sources(&server),
        &store,
        &Config::default(),
        &incremental(false),
    ));
    assert!(failed.is_err() || !failed.as_ref().unwrap().is_complete());
    assert_eq!(
        state(&store),
        before,
        "nothing committed: the watermark stays"
    );
    store.heal();
    let again = sync_with(&server, &store, &incremental(false));
    assert_eq!(
        again.plan.summary.update, 2,
        "the work is done, not skipped"
    );
    assert_eq!(state(&store).watermark, Some(later));
}

/// A sync that stops after its first batch is committed (the next write
/// fails, as a crash would end it) keeps the watermark: the next sync
/// reads the same changes again and writes what was not written; nothing
/// is skipped.
#[test]
fn a_sync_stopped_after_a_committed_batch_resumes_without_skipping() {
    let server = Server::with(60);
    let store = MemoryStore::default();
    sync_with(&server, &store, &incremental(false));
    let before = state(&store);
    let later = Utc.with_ymd_and_hms(2026, 11, 4, 9, 0, 0).unwrap();
    let touched: Vec<u32> = (1..=30).collect();
    server.touch(&touched, later);
    let batches = SyncOptions {
        batch_records: 5,
        ..incremental(false)
    };
    // Writes are counted per asset: the batches holding the first 12 are
    // committed, the one holding the 13th is not.
    store.fail_after(12, FailMode::BeforeWrite);
    let stopped = block_on(sync::run(&sources(&server), &store, &config(), &batches));
    assert!(stopped.is_err() || !stopped.as_ref().unwrap().is_complete());
    let written = inventory(&store)
        .iter()
        .filter(|(_, os)| os.contains("15.2"))
        .count();
    assert!(
        written > 0 && written < 30,
        "some batches committed, not all: {written}"
    );
    assert_eq!(
        state(&store),
        before,
        "the watermark waits for the whole sync"
    );
    store.heal();
    let resumed =
        block_on(sync::run(&sources(&server), &store, &config(), &batches)).expect("sync");
    assert!(!resumed.read[0].full);
    assert_eq!(
        inventory(&store)
            .iter()
            .filter(|(_, os)| os.contains("15.2"))
            .count(),
        30,
        "every change is in, none skipped"
    );
    assert_eq!(state(&store).watermark, Some(later));
}

#[test]
fn a_report_date_far_in_the_future_does_not_become_the_watermark() {
    let server = Server::with(10);
    let store = MemoryStore::default();
    server.touch(&[1], Utc.with_ymd_and_hms(2999, 1, 1, 0, 0, 0).unwrap());
    sync_with(&server, &store, &incremental(false));
    let w = state(&store).watermark.expect("watermark");
    assert!(w < Utc::now(), "{w}");
}

#[test]
fn a_dry_run_keeps_no_state_and_a_sync_without_the_policy_reads_everything() {
    let server = Server::with(10);
    let store = MemoryStore::default();
    sync_with(&server, &store, &incremental(false));
    let before = state(&store);
    server.touch(&[1], Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap());
    let dry = sync_with(
        &server,
        &store,
        &SyncOptions {
            dry_run: true,
            ..incremental(false)
        },
    );
    assert!(
        !dry.read[0].full,
        "a dry run plans what the sync would read"
    );
    assert_eq!(state(&store), before, "a dry run keeps nothing");
    server.handed_out();
    let plain = sync_with(&server, &store, &SyncOptions::default());
    assert!(plain.read[0].full);
    assert_eq!(server.handed_out(), 10);
}

/// A Kandji-like source, always read in full, naming every computer of
/// the Jamf server differently.
#[derive(Debug)]
struct Kandji {
    server: Arc<Server>,
}

#[async_trait]
impl DeviceSource for Kandji {
    fn vendor(&self) -> Vendor {
        Vendor::Kandji
    }

    async fn fetch_page(&self, _: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let devices = self
            .server
            .computers
            .lock()
            .unwrap()
            .iter()
            .map(|c| {
                let mut d =
                    SourceDevice::new(Vendor::Kandji, Entity::Device, format!("k-{}", c.id));
                d.fields
                    .serial("serial_number", Some(&format!("C02INC{:05}", c.id)))
                    .text("device_name", Some(&format!("kandji name {}", c.id)));
                d
            })
            .collect();
        Ok(DevicePage {
            devices,
            next: None,
        })
    }
}

/// A field Jamf outranks Kandji on keeps Jamf's value when an incremental
/// sync reads no Jamf record for the device (Jamf's record is unchanged):
/// the second sync changes nothing. A changed mapping reads in full.
#[test]
fn an_unchanged_jamf_record_keeps_the_fields_jamf_outranks_kandji_on() {
    // 100 computers reported a minute apart: an incremental reading (10
    // minutes of overlap) reads 11 of them, and no Jamf record of the 89 others.
    let server = Server::with(100);
    for c in server.computers.lock().unwrap().iter_mut() {
        c.os = format!("15.{}", c.id);
    }
    let store = MemoryStore::default();
    let sources: Vec<Box<dyn DeviceSource>> = vec![
        Box::new(Source {
            server: Arc::clone(&server),
            since: None,
            url: "https://a.jamfcloud.example",
        }),
        Box::new(Kandji {
            server: Arc::clone(&server),
        }),
    ];
    let config = Config::from_toml_str(
        "[fields.device_name]\npriority = [\"jamf\", \"kandji\"]\nfrom = { jamf = \"operating_system\", kandji = \"device_name\" }\n",
    )
    .unwrap();
    let run = |config: &Config| {
        block_on(sync::run(&sources, &store, config, &incremental(false))).expect("sync")
    };
    let first = run(&config);
    assert!(first.read.iter().all(|r| r.full));
    let names = |store: &MemoryStore| -> Vec<String> {
        block_on(store.load())
            .unwrap()
            .assets
            .iter()
            .map(|a| {
                a.fields
                    .get("device_name")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    assert!(
        names(&store).iter().all(|n| n.starts_with("macOS 15.")),
        "{:?}",
        names(&store)
    );
    let second = run(&config);
    assert!(!second.read[0].full && second.read[1].full);
    assert_eq!(second.read[0].records, 11);
    assert_eq!(second.plan.summary.update, 0, "{:?}", second.plan.summary);
    assert!(names(&store).iter().all(|n| n.starts_with("macOS 15.")));

    // Another mapping: every source is read in full again.
    let other = Config::from_toml_str("new_asset_status = \"in stock\"").unwrap();
    let third = run(&other);
    assert!(third.read.iter().all(|r| r.full), "{:?}", third.read);
}

/// Two servers synced under one source name (two Jamf servers configured
/// alike, one after the other, into one inventory): what the sync kept for
/// one (its watermark) is not used for the other, so the other is read in
/// full and none of its records is skipped. Without the server in the
/// state, the second server was read from the first one's watermark and
/// its computers reported before it were never created.
#[test]
fn state_kept_for_one_server_is_not_used_for_another() {
    let a = Server::with(20);
    // Reported at the same times as A's: 9 of them before A's watermark
    // less the overlap.
    let b = Server::with_serials(30, "C02OTH");
    let store = MemoryStore::default();
    let run = |server: &Arc<Server>, url: &'static str| {
        block_on(sync::run(
            &sources_at(server, url),
            &store,
            &config(),
            &incremental(false),
        ))
        .expect("sync")
    };
    let first = run(&a, "https://a.jamfcloud.example");
    assert_eq!((first.plan.summary.create, a.handed_out()), (20, 20));

    let other = run(&b, "https://b.jamfcloud.example");
    assert!(other.read[0].full, "another server is read in full");
    assert_eq!(b.handed_out(), 30);
    assert_eq!(
        other.plan.summary.create, 30,
        "every computer of B is created"
    );

    // Back to A: the state is B's now, so A is read in full again ...
    let again = run(&a, "https://a.jamfcloud.example");
    assert!(again.read[0].full);
    assert_eq!((again.plan.summary.create, a.handed_out()), (0, 20));
    // ... and then incrementally, from its own watermark.
    let then = run(&a, "https://a.jamfcloud.example");
    assert!(!then.read[0].full);
    assert!(a.handed_out() < 20);
    assert_eq!(block_on(store.load()).unwrap().assets.len(), 50);
}
