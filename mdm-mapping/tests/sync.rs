//! The library sync engine: events, cancellation, consistency.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::executor::block_on;
use mdm_mapping::store::{MemoryStore, Store};
use mdm_mapping::sync::{self, SyncEvent, SyncOptions};
use mdm_mapping::upsert::Config;
use mdm_mapping::{Cursor, DevicePage, DeviceSource, Entity, SourceDevice, SourceError, Vendor};
use tokio_util::sync::CancellationToken;

/// `pages` pages of `per_page` computers with distinct serials; cancels
/// `cancel_at_page` (when set) as that page is fetched.
#[derive(Debug)]
struct Paged {
    pages: usize,
    per_page: usize,
    fetched: Arc<AtomicUsize>,
    cancel: Option<(usize, CancellationToken)>,
}

impl Paged {
    fn new(pages: usize, per_page: usize) -> Self {
        Paged {
            pages,
            per_page,
            fetched: Arc::default(),
            cancel: None,
        }
    }
}

#[async_trait]
impl DeviceSource for Paged {
    fn vendor(&self) -> Vendor {
        Vendor::Jamf
    }

    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let page: usize = cursor.map_or(0, |c| c.as_str().parse().unwrap_or(0));
        self.fetched.fetch_add(1, Ordering::SeqCst);
        if let Some((at, token)) = &self.cancel
            && *at == page
        {
            token.cancel();
        }
        let devices = (0..self.per_page)
            .map(|i| {
                let n = page * self.per_page + i;
                let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, n.to_string());
                d.fields
                    .serial("serial_number", Some(&format!("C02SYNC{n:05}")));
                d
            })
            .collect();
        let next = (page + 1 < self.pages).then(|| Cursor::new((page + 1).to_string()));
        Ok(DevicePage { devices, next })
    }
}

fn sources(s: Paged) -> Vec<Box<dyn DeviceSource>> {
    vec![Box::new(s)]
}

fn assets(store: &MemoryStore) -> usize {
    block_on(store.load()).expect("load").assets.len()
}

#[test]
fn events_follow_the_sync_and_the_outcome_counts_it() {
    let store = MemoryStore::default();
    let mut events = Vec::new();
    let options = SyncOptions {
        batch_records: 10,
        ..SyncOptions::default()
    };
    let outcome = block_on(sync::run_with(
        &sources(Paged::new(3, 10)),
        &store,
        &Config::default(),
        &options,
        |e| {
            events.push(match e {
                SyncEvent::SourceStarted { .. } => "start".to_string(),
                SyncEvent::Record(_) => return,
                SyncEvent::PageRead { total, .. } => format!("page {total}"),
                SyncEvent::SourceDone { records, .. } => format!("done {records}"),
                SyncEvent::Writing { records } => format!("writing {records}"),
                SyncEvent::Batch { records, .. } => format!("batch {records}"),
                other => format!("{other:?}"),
            })
        },
    ))
    .expect("sync");
    assert_eq!(
        events,
        [
            "start",
            "page 10",
            "page 20",
            "page 30",
            "done 30",
            "writing 30",
            "batch 10",
            "batch 10",
            "batch 10"
        ]
    );
    assert!(outcome.is_complete());
    assert_eq!((outcome.plan.summary.create, outcome.batches), (30, 3));
    assert_eq!(
        outcome
            .read
            .iter()
            .map(|r| (r.vendor, r.source.as_str(), r.records))
            .collect::<Vec<_>>(),
        [(Vendor::Jamf, "jamf", 30)]
    );
    assert_eq!(assets(&store), 30);
}

#[test]
fn a_sync_cancelled_while_reading_writes_nothing_and_reads_no_further() {
    let store = MemoryStore::default();
    let token = CancellationToken::new();
    let mut source = Paged::new(5, 10);
    source.cancel = Some((1, token.clone()));
    let fetched = source.fetched.clone();
    let srcs = sources(source);
    let options = SyncOptions {
        cancel: Some(token),
        ..SyncOptions::default()
    };
    let outcome = block_on(sync::run(&srcs, &store, &Config::default(), &options)).expect("sync");
    assert!(outcome.cancelled && !outcome.is_complete());
    assert!(outcome.report.is_none());
    assert_eq!(assets(&store), 0);
    // The page being fetched when cancelled is the last one asked for.
    assert_eq!(fetched.load(Ordering::SeqCst), 2);
}

/// A store whose read of the inventory's identifiers never ends.
struct Stuck;

#[async_trait::async_trait]
impl common::Hook for Stuck {
    async fn enter(&self, call: &'static str, _items: usize) -> Option<Box<dyn Send + '_>> {
        if call == "matching" {
            std::future::pending::<()>().await;
        }
        None
    }
}

/// The inventory is read while the sources are; a cancel while reading
/// ends that read too instead of waiting for it (here it would never end).
#[test]
fn a_cancel_while_reading_does_not_wait_for_the_inventory_read_ahead() {
    let inner = MemoryStore::default();
    let store = common::Hooked {
        inner: &inner,
        hook: Stuck,
    };
    let token = CancellationToken::new();
    let mut source = Paged::new(5, 10);
    source.cancel = Some((1, token.clone()));
    let srcs = sources(source);
    let options = SyncOptions {
        cancel: Some(token),
        ..SyncOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let outcome = rt
        .block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(30),
                sync::run(&srcs, &store, &Config::default(), &options),
            )
            .await
        })
        .expect("the cancelled sync waited for the inventory it was reading ahead")
        .expect("sync");
    assert!(outcome.cancelled && outcome.report.is_none());
    assert_eq!(assets(&inner), 0);
}

#[test]
fn a_sync_cancelled_while_writing_finishes_its_batch_and_the_next_sync_converges() {
    let store = MemoryStore::default();
    let token = CancellationToken::new();
    let options = SyncOptions {
        batch_records: 10,
        cancel: Some(token.clone()),
        ..SyncOptions::default()
    };
    let srcs = sources(Paged::new(4, 10));
    let outcome = block_on(sync::run_with(
        &srcs,
        &store,
        &Config::default(),
        &options,
        |e| {
            if let SyncEvent::Batch { .. } = e {
                token.cancel();
            }
        },
    ))
    .expect("sync");
    assert!(outcome.cancelled);
    assert_eq!(outcome.batches, 1);
    // Exactly the first batch is written, whole.
    assert_eq!(assets(&store), 10);
    assert_eq!(outcome.plan.summary.create, 10);
    // The next sync does the rest, with no duplicate.
    let again = block_on(sync::run(
        &srcs,
        &store,
        &Config::default(),
        &SyncOptions::default(),
    ))
    .expect("sync");
    assert!(again.is_complete());
    assert_eq!(
        (again.plan.summary.create, again.plan.summary.unchanged),
        (30, 10)
    );
    assert_eq!(assets(&store), 40);
}

#[test]
fn a_dry_run_plans_everything_and_writes_nothing() {
    let store = MemoryStore::default();
    let options = SyncOptions {
        dry_run: true,
        ..SyncOptions::default()
    };
    let mut batches = 0;
    let outcome = block_on(sync::run_with(
        &sources(Paged::new(2, 5)),
        &store,
        &Config::default(),
        &options,
        |e| {
            if let SyncEvent::Batch { records, .. } = e {
                assert_eq!(records, 10);
                batches += 1;
            }
        },
    ))
    .expect("dry run");
    assert_eq!((batches, outcome.plan.summary.create), (1, 10));
    assert_eq!(outcome.plan.actions.len(), 10);
    assert_eq!(assets(&store), 0);
}

/// Computers with assignees, then the vendor's user directory.
#[derive(Debug)]
struct WithUsers;

#[async_trait]
impl DeviceSource for WithUsers {
    fn vendor(&self) -> Vendor {
        Vendor::Jamf
    }

    async fn fetch_page(&self, _cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let person = |email: &str, first: &str, last: &str| mdm_mapping::Assignee {
            email: Some(email.into()),
            first_name: Some(first.into()),
            last_name: (!last.is_empty()).then(|| last.into()),
            ..mdm_mapping::Assignee::default()
        };
        let mut devices = Vec::new();
        for (i, (email, first, last)) in [
            ("ana@corp.example", "Ana", "Díaz"),
            ("ben@corp.example", "Ben", "Okafor"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, (i + 1).to_string());
            d.fields
                .serial("serial_number", Some(&format!("C02USERS{i:04}")));
            d.assignee = person(email, first, last).into_option();
            devices.push(d);
        }
        for (i, (email, first, last)) in [
            ("ANA@corp.example", "Ana", "Díaz"),
            ("cleo@corp.example", "Cleo", "Marsh"),
            ("ben.personal@mail.example", "Ben", "Okafor"),
            ("dee@corp.example", "Dee", ""),
            ("eve@corp.example", "Eve", "Stone"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut u = SourceDevice::new(Vendor::Jamf, Entity::User, (i + 1).to_string());
            u.assignee = person(email, first, last).into_option();
            devices.push(u);
        }
        Ok(DevicePage {
            devices,
            next: None,
        })
    }
}

#[test]
fn user_records_give_the_same_employees_in_batches_of_one_and_of_a_thousand() {
    let mut seen = Vec::new();
    for batch_records in [1, 1000] {
        let store = MemoryStore::default();
        let options = SyncOptions {
            batch_records,
            ..SyncOptions::default()
        };
        let sources: Vec<Box<dyn DeviceSource>> = vec![Box::new(WithUsers)];
        let outcome =
            block_on(sync::run(&sources, &store, &Config::default(), &options)).expect("sync");
        assert_eq!(outcome.plan.summary.create, 2, "{batch_records}");
        assert_eq!(outcome.plan.likely_duplicates.len(), 1, "{batch_records}");
        let inv = block_on(store.load()).expect("load");
        assert_eq!(inv.assets.len(), 2);
        let mut emails: Vec<String> = inv
            .employees
            .iter()
            .flat_map(|e| e.emails.clone())
            .collect();
        emails.sort();
        seen.push(emails);
        // A second sync creates none.
        let again =
            block_on(sync::run(&sources, &store, &Config::default(), &options)).expect("sync");
        assert_eq!(again.plan.summary.employee_create, 0);
    }
    assert_eq!(
        seen[0],
        [
            "ana@corp.example",
            "ben@corp.example",
            "cleo@corp.example",
            "eve@corp.example"
        ]
    );
    assert_eq!(seen[0], seen[1]);
}

/// A user directory whose users (id, email, first, last) a test changes
/// between syncs; `fail` makes it answer an error.
#[derive(Debug, Default)]
struct Directory {
    users: std::sync::Mutex<Vec<(&'static str, &'static str, &'static str, &'static str)>>,
    fail: std::sync::atomic::AtomicBool,
}

impl Directory {
    fn new(users: &[(&'static str, &'static str, &'static str, &'static str)]) -> Arc<Self> {
        Arc::new(Directory {
            users: std::sync::Mutex::new(users.to_vec()),
            fail: Default::default(),
        })
    }

    fn remove(&self, id: &str) {
        self.users.lock().expect("lock").retain(|u| u.0 != id);
    }
}

#[async_trait]
impl mdm_mapping::source::UserDirectory for Directory {
    async fn users(&self) -> Result<Vec<SourceDevice>, SourceError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(SourceError::new(
                Vendor::Jamf,
                mdm_mapping::SourceErrorKind::Auth,
                "GET /api/v1/users refused (403)",
            ));
        }
        Ok(self
            .users
            .lock()
            .expect("lock")
            .iter()
            .map(|(id, email, first, last)| {
                let mut u = SourceDevice::new(Vendor::Jamf, Entity::User, *id);
                u.assignee = mdm_mapping::Assignee {
                    email: Some((*email).into()),
                    first_name: Some((*first).into()),
                    last_name: Some((*last).into()),
                    ..mdm_mapping::Assignee::default()
                }
                .into_option();
                u
            })
            .collect())
    }
}

const PEOPLE: [(&str, &str, &str, &str); 3] = [
    ("1", "ana@corp.example", "Ana", "Díaz"),
    ("2", "Ben@Corp.example", "Ben", "Okafor"),
    ("3", "cleo@corp.example", "Cleo", "Marsh"),
];

/// One page of computers, then `directory`'s users (`users = true`).
fn with_directory(directory: &Arc<Directory>) -> Vec<Box<dyn DeviceSource>> {
    vec![Box::new(mdm_mapping::source::WithUsers::new(
        Box::new(Paged::new(1, 2)),
        directory.clone(),
    ))]
}

/// Syncs, returning the outcome and the users gone the events told.
fn sync_gone(
    sources: &[Box<dyn DeviceSource>],
    store: &MemoryStore,
) -> (sync::SyncOutcome, Vec<mdm_mapping::store::GoneUser>) {
    let mut told = Vec::new();
    let outcome = block_on(sync::run_with(
        sources,
        store,
        &Config::default(),
        &SyncOptions::default(),
        |e| {
            if let SyncEvent::UserGone(g) = e {
                told.push(g.clone());
            }
        },
    ))
    .expect("sync");
    (outcome, told)
}

/// The user list the store keeps for the `jamf` source.
fn remembered(store: &MemoryStore) -> Option<Vec<(String, String)>> {
    block_on(store.source_state("jamf"))
        .expect("state")
        .and_then(|s| s.users)
        .map(|u| u.into_iter().collect())
}

fn employee_with(store: &MemoryStore, email: &str) -> Option<mdm_mapping::Employee> {
    block_on(store.load())
        .expect("load")
        .employees
        .into_iter()
        .find(|e| e.emails.iter().any(|m| m.eq_ignore_ascii_case(email)))
}

#[test]
fn a_user_gone_from_the_directory_is_reported_once_and_the_employee_kept() {
    let store = MemoryStore::default();
    let directory = Directory::new(&PEOPLE);
    let srcs = with_directory(&directory);
    let (first, told) = sync_gone(&srcs, &store);
    assert_eq!(first.plan.summary.employee_create, 3);
    assert!(first.users_gone.is_empty() && told.is_empty());
    assert_eq!(
        remembered(&store).expect("list kept").len(),
        3,
        "ids and lower-case emails"
    );
    let ben = employee_with(&store, "ben@corp.example").expect("ben is an employee");

    // Ben leaves; Cleo's account is made anew under another id (same email):
    // she has not gone.
    directory.remove("2");
    directory.remove("3");
    directory
        .users
        .lock()
        .expect("lock")
        .push(("30", "cleo@corp.example", "Cleo", "Marsh"));
    let (second, told) = sync_gone(&srcs, &store);
    assert!(second.is_complete());
    let want = vec![mdm_mapping::store::GoneUser {
        source: "jamf".into(),
        user_id: "2".into(),
        email: "ben@corp.example".into(),
        employee: ben.id.clone(),
        employee_name: "Ben Okafor".into(),
    }];
    assert_eq!(second.users_gone, want);
    assert_eq!(told, want);
    // Never deleted nor changed.
    assert_eq!(employee_with(&store, "ben@corp.example"), Some(ben));
    assert_eq!(block_on(store.load()).expect("load").employees.len(), 3);
    assert_eq!(
        remembered(&store),
        Some(vec![
            ("1".to_string(), "ana@corp.example".to_string()),
            ("30".to_string(), "cleo@corp.example".to_string()),
        ])
    );

    // Reported once.
    let (third, told) = sync_gone(&srcs, &store);
    assert!(third.users_gone.is_empty() && told.is_empty());
}

#[test]
fn an_incomplete_read_reports_nothing_and_keeps_the_list() {
    let store = MemoryStore::default();
    let directory = Directory::new(&PEOPLE);
    let srcs = with_directory(&directory);
    sync_gone(&srcs, &store);
    let kept = remembered(&store);
    assert_eq!(kept.as_ref().map(Vec::len), Some(3));
    directory.remove("2");

    // The directory fails.
    directory.fail.store(true, Ordering::SeqCst);
    let (failed, told) = sync_gone(&srcs, &store);
    assert_eq!(failed.source_errors.len(), 1);
    assert!(failed.users_gone.is_empty() && told.is_empty());
    assert_eq!(remembered(&store), kept);
    directory.fail.store(false, Ordering::SeqCst);

    // A cancelled sync.
    let token = CancellationToken::new();
    token.cancel();
    let options = SyncOptions {
        cancel: Some(token),
        ..SyncOptions::default()
    };
    let cancelled = block_on(sync::run(&srcs, &store, &Config::default(), &options)).expect("sync");
    assert!(cancelled.cancelled && cancelled.users_gone.is_empty());
    assert_eq!(remembered(&store), kept);

    // The same source without the opt-in (no user records).
    let plain = sources(Paged::new(1, 2));
    let (without, told) = sync_gone(&plain, &store);
    assert!(without.is_complete());
    assert!(without.users_gone.is_empty() && told.is_empty());
    assert_eq!(remembered(&store), kept);

    // A directory that comes back empty is not taken as everyone gone.
    let empty = Directory::new(&[]);
    let (emptied, _) = sync_gone(&with_directory(&empty), &store);
    assert!(emptied.users_gone.is_empty());
    assert_eq!(remembered(&store), kept);

    // A dry run reports nothing and keeps nothing.
    let options = SyncOptions {
        dry_run: true,
        ..SyncOptions::default()
    };
    let dry = block_on(sync::run(&srcs, &store, &Config::default(), &options)).expect("dry");
    assert!(dry.users_gone.is_empty());
    assert_eq!(remembered(&store), kept);

    // The first complete read since reports Ben.
    let (read, _) = sync_gone(&srcs, &store);
    assert_eq!(
        read.users_gone
            .iter()
            .map(|g| (g.user_id.as_str(), g.email.as_str()))
            .collect::<Vec<_>>(),
        [("2", "ben@corp.example")]
    );
}

#[test]
fn the_first_read_of_a_directory_reports_nothing() {
    let store = MemoryStore::default();
    // An employee no directory lists, and a sync without the opt-in.
    block_on(store.create_employee(&mdm_mapping::store::NewEmployee {
        first_name: "Zoe".into(),
        last_name: "Quinn".into(),
        emails: vec!["zoe@corp.example".into()],
    }))
    .expect("employee");
    sync_gone(&sources(Paged::new(1, 2)), &store);
    assert_eq!(remembered(&store), None);
    // The opt-in turned on: the directory is read, nothing is gone yet.
    let directory = Directory::new(&PEOPLE);
    let (first, told) = sync_gone(&with_directory(&directory), &store);
    assert_eq!(first.plan.summary.employee_create, 3);
    assert!(first.users_gone.is_empty() && told.is_empty());
    assert_eq!(remembered(&store).map(|u| u.len()), Some(3));
    assert!(employee_with(&store, "zoe@corp.example").is_some());
}
