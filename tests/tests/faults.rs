//! Fault injection end to end: the three sources against the vendor
//! simulator with 10% of API requests faulted (429 with `Retry-After`, 503,
//! connection resets, expired tokens), Kandji's device list changing between
//! pages, and every token expired mid-run. A full sync must read every
//! device exactly once and leave the SQLite inventory identical to a
//! fault-free run's.
//!
//! Small pages make many requests from a small fleet, so each vendor sees
//! faults; the clients' retry delays are a few milliseconds and the 1 s
//! `Retry-After` of the simulator's 429s is clamped to 10 ms, so no test
//! waits for real time.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mdm_examples::simulator::{
    FaultKind, FleetConfig, KandjiMutations, SimStats, Simulator, SimulatorConfig,
};
use mdm_mapping::net::RetryPolicy;
use mdm_mapping::store::Store;
use mdm_mapping::store::sqlite::SqliteStore;
use mdm_mapping::sync::{self, SyncEvent, SyncOptions, SyncOutcome};
use mdm_mapping::upsert::Config;
use mdm_mapping::{Cursor, DevicePage, DeviceSource, Entity, SourceError, Vendor};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const DEVICES: usize = 300;
const SEED: u64 = 1234;
/// Rows per page, small so that a 300-device fleet takes many requests
/// (Jamf has the fewest records, so the smallest pages; Kandji reads its
/// whole user list in one request of 300, so its device pages are small
/// too: about 30 requests per vendor, so that 10% faults hit each vendor).
const PAGE: u32 = 10;
const JAMF_PAGE: u32 = 5;
const KANDJI_PAGE: u32 = 5;

fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
    }
}

/// Calls `Simulator::expire_tokens` after every `every`-th page of the
/// wrapped source: tokens expire mid-run whatever the random faults do.
#[derive(Debug)]
struct ExpireTokensEvery {
    inner: Box<dyn DeviceSource>,
    sim: Arc<Simulator>,
    every: usize,
    pages: AtomicUsize,
}

#[async_trait]
impl DeviceSource for ExpireTokensEvery {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }

    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let page = self.inner.fetch_page(cursor).await;
        if (self.pages.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(self.every) {
            self.sim.expire_tokens();
        }
        page
    }
}

/// The sources, as `simulator_sources` builds them but with tiny retry
/// delays and small pages.
fn sources(sim: &Arc<Simulator>, expire_every: Option<usize>) -> Vec<Box<dyn DeviceSource>> {
    let c = sim.credentials();
    let jamf = jamf_client::Client::builder(sim.jamf_url())
        .client_credentials(
            c.jamf_client_id.clone(),
            c.jamf_client_secret.expose_secret().to_string(),
        )
        .retry_policy(retry_policy())
        .build()
        .unwrap();
    let kandji = kandji_client::KandjiClient::builder()
        .base_url(sim.kandji_url())
        .token(c.kandji_token.expose_secret().to_string())
        .rate_limits(kandji_client::RateLimits::unlimited())
        .retry_policy(retry_policy())
        .build()
        .unwrap();
    let key = abm_client::PrivateKey::from_pem(c.abm_private_key_pem.expose_secret()).unwrap();
    let abm = abm_client::AbmClient::builder(abm_client::Credentials::new(
        c.abm_client_id.clone(),
        c.abm_key_id.clone(),
        key,
    ))
    .base_url(sim.abm_url())
    .token_url(sim.abm_token_url())
    .rate_limit(None)
    .retry_policy(retry_policy())
    .build()
    .unwrap();
    let all: Vec<Box<dyn DeviceSource>> = vec![
        Box::new(abm.device_source().limit(PAGE)),
        Box::new(jamf.device_source(jamf_client::SourceOptions::default().page_size(JAMF_PAGE))),
        Box::new(
            kandji_client::KandjiSource::new(kandji)
                .with_user_active(true)
                .with_query(
                    kandji_client::DeviceQuery::new()
                        .ordering("device_id")
                        .page_size(KANDJI_PAGE),
                ),
        ),
    ];
    match expire_every {
        None => all,
        Some(every) => all
            .into_iter()
            .map(|inner| {
                Box::new(ExpireTokensEvery {
                    inner,
                    sim: sim.clone(),
                    every,
                    pages: AtomicUsize::new(0),
                }) as Box<dyn DeviceSource>
            })
            .collect(),
    }
}

struct Run {
    sim: Arc<Simulator>,
    outcome: SyncOutcome,
    /// (vendor, entity, source id) of every record, as read.
    read: Vec<(Vendor, Entity, String)>,
    inventory: Value,
    stats: SimStats,
    mutations: KandjiMutations,
}

/// How a run is faulted.
#[derive(Debug, Clone)]
struct Faults {
    rate: f64,
    kinds: Vec<FaultKind>,
    /// After this many faults in a row at one URL the next attempt succeeds.
    max_consecutive: u32,
    /// Expire every token after every n-th page of each source.
    expire_every: Option<usize>,
}

impl Faults {
    fn none() -> Self {
        Faults {
            rate: 0.0,
            kinds: Vec::new(),
            max_consecutive: 2,
            expire_every: None,
        }
    }

    fn ten_percent(kinds: &[FaultKind]) -> Self {
        Faults {
            rate: 0.1,
            kinds: kinds.to_vec(),
            // The clients authenticate again once per request after a 401
            // and take a fresh token refused at once for bad credentials, so
            // a run with expired-token faults allows one fault in a row per
            // URL; transient faults alone may come twice in a row.
            max_consecutive: if kinds.contains(&FaultKind::ExpiredToken) {
                1
            } else {
                2
            },
            expire_every: None,
        }
    }
}

async fn run(faults: Faults) -> Run {
    let sim = Arc::new(
        Simulator::start(SimulatorConfig {
            fleet: FleetConfig {
                devices: DEVICES,
                seed: SEED,
                ..FleetConfig::default()
            },
            fault_rate: faults.rate,
            fault_seed: 99,
            fault_kinds: faults.kinds.clone(),
            max_consecutive_faults: faults.max_consecutive,
            mutate_kandji_between_pages: true,
            ..SimulatorConfig::default()
        })
        .await
        .unwrap(),
    );
    let expire_every = faults.expire_every;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("inventory.db")).unwrap();
    let srcs = sources(&sim, expire_every);
    // Small batches, so that the staged apply runs many batches too.
    let options = SyncOptions {
        batch_records: 64,
        ..SyncOptions::default()
    };
    let mut read = Vec::new();
    let outcome = sync::run_with(&srcs, &store, &Config::default(), &options, |event| {
        if let SyncEvent::Record(d) = event {
            read.push((d.vendor, d.entity, d.source_id.clone()));
        }
    })
    .await
    .unwrap();
    assert!(
        outcome.source_errors.is_empty(),
        "a source failed: {}",
        outcome
            .source_errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let report = outcome.report.as_ref().unwrap();
    assert!(report.failures.is_empty(), "writes failed: {report:?}");
    let inventory = canonical(&store).await;
    Run {
        stats: sim.stats(),
        mutations: sim.kandji_mutations(),
        sim,
        outcome,
        read,
        inventory,
    }
}

/// The inventory without store ids: each asset's fields (its assignee as
/// the employee's emails), sorted; employees by name and emails, sorted.
async fn canonical(store: &SqliteStore) -> Value {
    let inv = store.load().await.unwrap();
    let emails: HashMap<&str, Vec<String>> = inv
        .employees
        .iter()
        .map(|e| {
            let mut m = e.emails.clone();
            m.sort();
            (e.id.as_str(), m)
        })
        .collect();
    let mut assets: Vec<String> = inv
        .assets
        .iter()
        .map(|a| {
            let fields: BTreeMap<&str, Value> = a
                .fields
                .iter()
                .map(|(k, v)| {
                    let v = match (k, v.as_str()) {
                        ("assignee_id", Some(id)) => json!({ "employee": emails.get(id) }),
                        _ => v.to_json(),
                    };
                    (k, v)
                })
                .collect();
            serde_json::to_string(&fields).unwrap()
        })
        .collect();
    assets.sort();
    let mut employees: Vec<String> = inv
        .employees
        .iter()
        .map(|e| {
            serde_json::to_string(&json!([
                e.first_name,
                e.last_name,
                emails.get(e.id.as_str())
            ]))
            .unwrap()
        })
        .collect();
    employees.sort();
    json!({ "assets": assets, "employees": employees })
}

/// `(entity, source_id)` of every record read from `vendor`, asserting that
/// none was read twice.
fn read_once(run: &Run, vendor: Vendor) -> BTreeSet<(Entity, String)> {
    let mut seen = BTreeSet::new();
    for (_, entity, id) in run.read.iter().filter(|(v, _, _)| *v == vendor) {
        assert!(
            seen.insert((*entity, id.clone())),
            "{vendor} {entity} {id} was read twice",
        );
    }
    seen
}

/// What an offset-paged listing ordered by `device_id` returns when, after
/// each page, one device is removed and one added (the simulator's Kandji
/// mutation): the devices every page would hold, in the fleet's terms.
fn kandji_expected(sim: &Simulator, mutations: &KandjiMutations) -> (BTreeSet<String>, u64) {
    let fleet = sim.fleet();
    let id = |d: &mdm_examples::simulator::Device| d.kandji_id.map(|u| u.to_string()).unwrap();
    let base: Vec<String> = fleet
        .kandji_devices()
        .iter()
        .map(|&i| id(fleet.device(i).unwrap()))
        .collect();
    let removed: Vec<String> = mutations
        .removed
        .iter()
        .map(|s| id(fleet.device_by_serial(s).unwrap()))
        .collect();
    let added: Vec<String> = (0..mutations.generation)
        .map(|k| id(&fleet.kandji_added_device(k)))
        .collect();
    let page = KANDJI_PAGE as usize;
    let mut expected = BTreeSet::new();
    let mut offset = 0;
    let mut pages = 0u64;
    loop {
        let gone: HashSet<&String> = removed.iter().take(pages as usize).collect();
        let mut list: Vec<&String> = base
            .iter()
            .filter(|d| !gone.contains(d))
            .chain(added.iter().take(pages as usize))
            .collect();
        list.sort();
        let items: Vec<&String> = list.iter().skip(offset).take(page).copied().collect();
        pages += 1;
        expected.extend(items.iter().map(|s| s.to_string()));
        if items.len() < page {
            break;
        }
        offset += page;
    }
    (expected, pages)
}

/// Every device the fleet serves is read exactly once (Kandji: exactly the
/// devices its changing list showed, see [`kandji_expected`]).
fn assert_every_device_once(r: &Run) {
    let fleet = r.sim.fleet();
    let jamf = read_once(r, Vendor::Jamf);
    let want_jamf: BTreeSet<(Entity, String)> = fleet
        .jamf_computers()
        .iter()
        .map(|c| (Entity::Computer, c.id.to_string()))
        .chain(
            fleet
                .jamf_mobile_devices()
                .iter()
                .map(|m| (Entity::MobileDevice, m.id.to_string())),
        )
        .collect();
    assert_eq!(jamf, want_jamf, "Jamf records read ≠ the fleet's");

    let abm = read_once(r, Vendor::Abm);
    let want_abm: BTreeSet<(Entity, String)> = fleet
        .abm_devices()
        .iter()
        .map(|&i| (Entity::Device, fleet.device(i).unwrap().serial.clone()))
        .collect();
    assert_eq!(abm, want_abm, "ABM records read ≠ the fleet's");

    let kandji: BTreeSet<String> = read_once(r, Vendor::Kandji)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let (want_kandji, pages) = kandji_expected(&r.sim, &r.mutations);
    assert_eq!(
        r.mutations.generation, pages,
        "the Kandji device list was served {} times, the listing takes {pages} pages",
        r.mutations.generation
    );
    assert!(pages > 2, "the Kandji list must change under the sync");
    // Devices added mid-run are read, devices removed before their page are
    // not; every other device is read once.
    let added: BTreeSet<String> = (0..r.mutations.generation)
        .map(|k| {
            fleet
                .kandji_added_device(k)
                .kandji_id
                .map(|u| u.to_string())
                .unwrap()
        })
        .collect();
    assert!(
        kandji.intersection(&added).next().is_some(),
        "some device added mid-run is read"
    );
    assert_eq!(kandji, want_kandji, "Kandji records read ≠ the listing's");
}

fn api_requests(stats: &SimStats, vendor: Vendor) -> u64 {
    let v = stats.vendor(vendor);
    v.requests - v.token_requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_faults_read_every_device_once_and_sync_the_same_inventory() {
    let clean = run(Faults::none()).await;
    assert_eq!(clean.stats.faults().total(), 0);
    assert_every_device_once(&clean);

    let faulty = run(Faults::ten_percent(&FaultKind::ALL)).await;
    let faults = faulty.stats.faults();
    eprintln!(
        "faulted run: {} requests ({} fault-free), faults {faults:?}",
        faulty.stats.total_requests(),
        clean.stats.total_requests()
    );
    for vendor in Vendor::ALL {
        let v = faulty.stats.vendor(vendor);
        assert!(
            v.faults.total() > 0,
            "{vendor}: no fault injected in {} requests",
            v.requests
        );
    }
    assert!(
        faults.rate_limited > 0
            && faults.unavailable > 0
            && faults.connection_reset > 0
            && faults.expired_token > 0,
        "every fault kind is injected: {faults:?}"
    );
    // A new token was issued after each expiry (Jamf and ABM; Kandji's
    // static token never expires).
    for vendor in [Vendor::Jamf, Vendor::Abm] {
        let v = faulty.stats.vendor(vendor);
        assert!(v.token_requests > v.faults.expired_token, "{vendor}: {v:?}");
    }
    assert_every_device_once(&faulty);

    // The same Kandji churn, the same records, the same inventory.
    assert_eq!(faulty.mutations, clean.mutations);
    assert_eq!(faulty.outcome.read, clean.outcome.read);
    assert_eq!(faulty.outcome.plan.summary, clean.outcome.plan.summary);
    assert!(faulty.outcome.plan.summary.create > 0);
    assert_eq!(faulty.inventory, clean.inventory);
    assert!(faulty.inventory["assets"].as_array().unwrap().len() > DEVICES / 2);

    // Faults cost retries, never extra pages: the fault-free run's requests
    // plus one per fault (and the re-authentications).
    for vendor in Vendor::ALL {
        let extra = api_requests(&faulty.stats, vendor) - api_requests(&clean.stats, vendor);
        let injected = faulty.stats.vendor(vendor).faults.total();
        let unauthorized = faulty.stats.vendor(vendor).unauthorized;
        assert!(
            extra <= injected + unauthorized,
            "{vendor}: {extra} extra requests for {injected} faults and {unauthorized} 401s"
        );
    }
}

/// Each fault kind alone, at 10%: the run still reads everything and ends
/// with the fault-free inventory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_kind_alone_is_absorbed() {
    let clean = run(Faults::none()).await;
    for kind in FaultKind::ALL {
        let r = run(Faults::ten_percent(&[kind])).await;
        let f = r.stats.faults();
        let hits = match kind {
            FaultKind::RateLimited => f.rate_limited,
            FaultKind::Unavailable => f.unavailable,
            FaultKind::ConnectionReset => f.connection_reset,
            // Kandji tokens never expire: the simulator sends a 503 instead.
            FaultKind::ExpiredToken => f.expired_token + f.unavailable,
        };
        assert!(hits > 0, "{kind:?}: not injected ({f:?})");
        assert_every_device_once(&r);
        assert_eq!(r.inventory, clean.inventory, "{kind:?}");
    }
}

/// Every token expires after every third page of each source, without any
/// other fault: each source authenticates again and reads on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_mid_run_are_renewed() {
    let clean = run(Faults::none()).await;
    let r = run(Faults {
        expire_every: Some(3),
        ..Faults::none()
    })
    .await;
    for vendor in [Vendor::Jamf, Vendor::Abm] {
        let v = r.stats.vendor(vendor);
        assert!(v.unauthorized > 0, "{vendor}: no token was refused: {v:?}");
        assert!(
            v.token_requests > clean.stats.vendor(vendor).token_requests,
            "{vendor}: no new token: {v:?}"
        );
    }
    assert_every_device_once(&r);
    assert_eq!(r.inventory, clean.inventory);
}
