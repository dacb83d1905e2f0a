//! Fetch benchmark: the three `DeviceSource`s against the loopback vendor
//! simulator. Prints tables; see BENCHMARKS.md at the repository root.
//!
//! `cargo bench -p mdm-examples --bench fetch`
//!
//! - **Requests**: API requests per 1,000 devices for each vendor (token
//!   requests counted apart), from the simulator's own counters.
//! - **Throughput**: devices per second of the library's page stream, as a
//!   ratio to a bare reqwest + `serde_json::Value` loop over the same
//!   endpoints and pages (same process, same simulator, best of `FETCH_RUNS`).
//! - **Latency**: with 20 ms added to every response, wall time against
//!   `requests × latency ÷ concurrency` (the page stream issues one request
//!   at a time, so the concurrency is 1).
//! - **Memory**: peak RSS (`VmHWM`) of a child process (this binary, re-run)
//!   that streams 100,000 devices of one vendor without keeping them, and of
//!   a child that runs the full `sync` of a 100,000-device fleet into SQLite.
//!
//! Environment: `FETCH_DEVICES` (default 100000), `FETCH_SYNC_DEVICES`
//! (default 100000), `FETCH_LATENCY_MS` (default 20), `FETCH_RUNS` (default
//! 2). Without `--bench` (as under `cargo test --benches`) it runs a 1,000
//! device smoke version.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mdm_examples::simulator::{FleetConfig, SimStats, Simulator, SimulatorConfig, VendorStats};
use mdm_mapping::{Cursor, DeviceSource, Vendor};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

type BoxError = Box<dyn StdError + Send + Sync>;
type Res<T> = Result<T, BoxError>;

/// Set in a child process: what to measure (`stream:VENDOR`, `loop:VENDOR`,
/// `collect`, `sync`).
const CHILD_ENV: &str = "MDM_FETCH_BENCH_CHILD";

fn main() -> Res<()> {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        return child(&mode);
    }
    let full = std::env::args().any(|a| a == "--bench");
    let opts = Options::from_env(full)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(parent(opts))
}

#[derive(Debug, Clone)]
struct Options {
    devices: usize,
    sync_devices: usize,
    latency: Duration,
    runs: usize,
}

impl Options {
    fn from_env(full: bool) -> Res<Self> {
        let num = |name: &str, default: usize| -> Res<usize> {
            match std::env::var(name) {
                Ok(v) => Ok(v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name}={v:?} is not a number"))?),
                Err(_) => Ok(default),
            }
        };
        let (devices, sync, runs) = if full {
            (100_000, 100_000, 2)
        } else {
            (1_000, 1_000, 1)
        };
        Ok(Options {
            devices: num("FETCH_DEVICES", devices)?.max(1),
            sync_devices: num("FETCH_SYNC_DEVICES", sync)?.max(1),
            latency: Duration::from_millis(num("FETCH_LATENCY_MS", 20)? as u64),
            runs: num("FETCH_RUNS", runs)?.max(1),
        })
    }
}

// ------------------------------------------------------------------ sources

/// Where the simulated vendors are and what they accept; passed to child
/// processes through the environment (the simulator's made-up credentials).
#[derive(Debug, Clone)]
struct Endpoints {
    jamf_url: String,
    jamf_client_id: String,
    jamf_client_secret: String,
    kandji_url: String,
    kandji_token: String,
    abm_url: String,
    abm_token_url: String,
    abm_client_id: String,
    abm_key_id: String,
    abm_key_pem: String,
}

const ENDPOINT_VARS: [&str; 10] = [
    "BENCH_JAMF_URL",
    "BENCH_JAMF_CLIENT_ID",
    "BENCH_JAMF_CLIENT_SECRET",
    "BENCH_KANDJI_URL",
    "BENCH_KANDJI_TOKEN",
    "BENCH_ABM_URL",
    "BENCH_ABM_TOKEN_URL",
    "BENCH_ABM_CLIENT_ID",
    "BENCH_ABM_KEY_ID",
    "BENCH_ABM_KEY_PEM",
];

impl Endpoints {
    fn of(sim: &Simulator) -> Self {
        let c = sim.credentials();
        Endpoints {
            jamf_url: sim.jamf_url(),
            jamf_client_id: c.jamf_client_id.clone(),
            jamf_client_secret: c.jamf_client_secret.expose_secret().to_string(),
            kandji_url: sim.kandji_url(),
            kandji_token: c.kandji_token.expose_secret().to_string(),
            abm_url: sim.abm_url(),
            abm_token_url: sim.abm_token_url(),
            abm_client_id: c.abm_client_id.clone(),
            abm_key_id: c.abm_key_id.clone(),
            abm_key_pem: c.abm_private_key_pem.expose_secret().to_string(),
        }
    }

    fn to_env(&self) -> Vec<(&'static str, String)> {
        let values = [
            &self.jamf_url,
            &self.jamf_client_id,
            &self.jamf_client_secret,
            &self.kandji_url,
            &self.kandji_token,
            &self.abm_url,
            &self.abm_token_url,
            &self.abm_client_id,
            &self.abm_key_id,
            &self.abm_key_pem,
        ];
        ENDPOINT_VARS
            .iter()
            .zip(values)
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    fn from_env() -> Res<Self> {
        let get = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
        Ok(Endpoints {
            jamf_url: get("BENCH_JAMF_URL")?,
            jamf_client_id: get("BENCH_JAMF_CLIENT_ID")?,
            jamf_client_secret: get("BENCH_JAMF_CLIENT_SECRET")?,
            kandji_url: get("BENCH_KANDJI_URL")?,
            kandji_token: get("BENCH_KANDJI_TOKEN")?,
            abm_url: get("BENCH_ABM_URL")?,
            abm_token_url: get("BENCH_ABM_TOKEN_URL")?,
            abm_client_id: get("BENCH_ABM_CLIENT_ID")?,
            abm_key_id: get("BENCH_ABM_KEY_ID")?,
            abm_key_pem: get("BENCH_ABM_KEY_PEM")?,
        })
    }
}

/// Which Kandji source: the default (joins "User Active" from the users
/// list) or with that join turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Default,
    KandjiNoUsers,
}

/// A vendor's source as a program would build it, with client-side rate
/// limits off (the simulator is local); retries and Jamf's concurrency
/// limit as in production.
fn source(vendor: Vendor, e: &Endpoints, variant: Variant) -> Res<Box<dyn DeviceSource>> {
    Ok(match vendor {
        Vendor::Jamf => {
            let client = jamf_client::Client::builder(e.jamf_url.clone())
                .client_credentials(e.jamf_client_id.clone(), e.jamf_client_secret.clone())
                .build()?;
            Box::new(client.device_source(jamf_client::SourceOptions::default()))
        }
        Vendor::Kandji => {
            let client = kandji_client::KandjiClient::builder()
                .base_url(e.kandji_url.clone())
                .token(e.kandji_token.clone())
                .rate_limits(kandji_client::RateLimits::unlimited())
                .build()?;
            Box::new(
                client
                    .device_source()
                    .with_user_active(variant != Variant::KandjiNoUsers),
            )
        }
        Vendor::Abm => {
            let key = abm_client::PrivateKey::from_pem(&e.abm_key_pem)?;
            let client = abm_client::AbmClient::builder(abm_client::Credentials::new(
                e.abm_client_id.clone(),
                e.abm_key_id.clone(),
                key,
            ))
            .base_url(e.abm_url.clone())
            .token_url(e.abm_token_url.clone())
            .rate_limit(None)
            .build()?;
            Box::new(client.device_source())
        }
    })
}

/// A fleet where every device is in `vendor` (ABM: every device; Jamf and
/// Kandji: every device managed by that MDM).
fn fleet_for(vendor: Vendor, devices: usize) -> FleetConfig {
    let base = FleetConfig {
        devices,
        seed: 7,
        ..FleetConfig::default()
    };
    match vendor {
        Vendor::Jamf => FleetConfig {
            abm_share: 0.0,
            unmanaged_share: 0.0,
            jamf_share: 1.0,
            migration_share: 0.0,
            ..base
        },
        Vendor::Kandji => FleetConfig {
            abm_share: 0.0,
            unmanaged_share: 0.0,
            jamf_share: 0.0,
            migration_share: 0.0,
            jamf_reenrolled: 0,
            ..base
        },
        Vendor::Abm => FleetConfig {
            abm_share: 1.0,
            unmanaged_share: 0.0,
            ..base
        },
    }
}

/// The records `vendor` serves for this fleet.
fn served(sim: &Simulator, vendor: Vendor) -> usize {
    let c = sim.fleet().counts();
    match vendor {
        Vendor::Jamf => c.jamf_computers + c.jamf_mobile_devices,
        Vendor::Kandji => c.kandji_devices,
        Vendor::Abm => c.abm_devices,
    }
}

async fn start(fleet: FleetConfig, latency: Duration) -> Res<Simulator> {
    Ok(Simulator::start(SimulatorConfig {
        fleet,
        latency,
        ..SimulatorConfig::default()
    })
    .await?)
}

// ------------------------------------------------------------------ runs

#[derive(Debug, Clone, Default)]
struct Run {
    devices: usize,
    pages: usize,
    wall: Duration,
    stats: VendorStats,
}

fn vendor_stats(stats: &SimStats, vendor: Vendor) -> VendorStats {
    stats.vendor(vendor).clone()
}

/// The library's page stream, counted and dropped page by page.
async fn library_run(sim: &Simulator, vendor: Vendor, variant: Variant) -> Res<Run> {
    let src = source(vendor, &Endpoints::of(sim), variant)?;
    sim.reset_stats();
    let t = Instant::now();
    let mut pages = src.pages(None);
    let (mut devices, mut n) = (0, 0);
    while let Some(page) = pages.next().await {
        let page = page?;
        devices += page.devices.len();
        n += 1;
    }
    let wall = t.elapsed();
    Ok(Run {
        devices,
        pages: n,
        wall,
        stats: vendor_stats(&sim.stats(), vendor),
    })
}

/// The naive way: reqwest and `serde_json::Value`, the same endpoints and
/// page sizes as the library, no typing, no normalization.
async fn raw_run(sim: &Simulator, vendor: Vendor) -> Res<Run> {
    let e = Endpoints::of(sim);
    let http = reqwest::Client::new();
    sim.reset_stats();
    let t = Instant::now();
    let (devices, pages) = match vendor {
        Vendor::Jamf => raw_jamf(&http, &e).await?,
        Vendor::Kandji => raw_kandji(&http, &e).await?,
        Vendor::Abm => raw_abm(&http, &e).await?,
    };
    let wall = t.elapsed();
    Ok(Run {
        devices,
        pages,
        wall,
        stats: vendor_stats(&sim.stats(), vendor),
    })
}

async fn get_value(req: reqwest::RequestBuilder) -> Res<Value> {
    let resp = req.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

async fn raw_jamf(http: &reqwest::Client, e: &Endpoints) -> Res<(usize, usize)> {
    let token = get_value(
        http.post(format!("{}/api/v1/oauth/token", e.jamf_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", e.jamf_client_id.as_str()),
                ("client_secret", e.jamf_client_secret.as_str()),
            ]),
    )
    .await?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let version = get_value(
        http.get(format!("{}/api/v1/jamf-pro-version", e.jamf_url))
            .bearer_auth(&token),
    )
    .await?;
    let version = jamf_client::JamfProVersion::parse(version["version"].as_str().unwrap_or(""))
        .ok_or("no Jamf version")?;
    let segment = jamf_client::InventoryVersion::for_server(&version).segment();
    let mut devices = 0;
    let mut pages = 0;
    let computer_sections: Vec<&str> = jamf_client::ComputerSection::INVENTORY
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mobile_sections: Vec<&str> = jamf_client::MobileDeviceSection::INVENTORY
        .iter()
        .map(|s| s.as_str())
        .collect();
    for (path, sections, sort, extra) in [
        (
            format!("api/{segment}/computers-inventory"),
            &computer_sections,
            "id:asc",
            None,
        ),
        (
            "api/v2/mobile-devices/detail".to_string(),
            &mobile_sections,
            "mobileDeviceId:asc",
            Some(("exception-handling", "LENIENT")),
        ),
    ] {
        let mut seen = 0u64;
        for page in 0.. {
            let mut q: Vec<(&str, String)> = sections
                .iter()
                .map(|s| ("section", s.to_string()))
                .collect();
            q.push(("page", page.to_string()));
            q.push(("page-size", "2000".into()));
            q.push(("sort", sort.into()));
            if let Some((k, v)) = extra {
                q.push((k, v.into()));
            }
            let body = get_value(
                http.get(format!("{}/{path}", e.jamf_url))
                    .query(&q)
                    .bearer_auth(&token),
            )
            .await?;
            pages += 1;
            let n = body["results"].as_array().map_or(0, Vec::len);
            devices += n;
            seen += n as u64;
            let total = body["totalCount"].as_u64().unwrap_or(0);
            if n == 0 || seen >= total {
                break;
            }
        }
    }
    Ok((devices, pages))
}

async fn raw_kandji(http: &reqwest::Client, e: &Endpoints) -> Res<(usize, usize)> {
    let (mut devices, mut pages) = (0, 0);
    let mut offset = 0;
    loop {
        let body = get_value(
            http.get(format!("{}/api/v1/devices", e.kandji_url))
                .query(&[
                    ("limit", "300".to_string()),
                    ("offset", offset.to_string()),
                    ("ordering", "device_id".into()),
                ])
                .bearer_auth(&e.kandji_token),
        )
        .await?;
        pages += 1;
        let n = body.as_array().map_or(0, Vec::len);
        devices += n;
        offset += n;
        if n < 300 {
            break;
        }
    }
    // The users list, as the library reads it for "User Active": only the
    // `cursor` of each `next` link, re-issued on our base URL (Kandji's
    // links can name another host).
    let mut cursor: Option<String> = None;
    loop {
        let mut req = http
            .get(format!("{}/api/v1/users", e.kandji_url))
            .bearer_auth(&e.kandji_token);
        if let Some(c) = cursor.take() {
            req = req.query(&[("cursor", c)]);
        }
        let body = get_value(req).await?;
        pages += 1;
        cursor = body["next"]
            .as_str()
            .and_then(|n| url::Url::parse(n).ok())
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "cursor")
                    .map(|(_, v)| v.into_owned())
            });
        if cursor.is_none() {
            break;
        }
    }
    Ok((devices, pages))
}

async fn raw_abm(http: &reqwest::Client, e: &Endpoints) -> Res<(usize, usize)> {
    let key = abm_client::PrivateKey::from_pem(&e.abm_key_pem)?;
    let creds = abm_client::Credentials::new(e.abm_client_id.clone(), e.abm_key_id.clone(), key);
    let assertion = creds.client_assertion(
        abm_client::auth::APPLE_TOKEN_AUDIENCE,
        std::time::SystemTime::now(),
        Duration::from_secs(3600),
    )?;
    let token = get_value(http.post(&e.abm_token_url).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", e.abm_client_id.as_str()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.jwt().expose_secret()),
        ("scope", "business.api"),
    ]))
    .await?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (mut devices, mut pages) = (0, 0);
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "1000".to_string())];
        if let Some(c) = cursor.take() {
            q.push(("cursor", c));
        }
        let body = get_value(
            http.get(format!("{}/v1/orgDevices", e.abm_url))
                .query(&q)
                .header("Accept", "application/json")
                .bearer_auth(&token),
        )
        .await?;
        pages += 1;
        devices += body["data"].as_array().map_or(0, Vec::len);
        match body["meta"]["paging"]["nextCursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    Ok((devices, pages))
}

fn best(runs: Vec<Run>) -> Run {
    runs.into_iter().min_by_key(|r| r.wall).unwrap_or_default()
}

// ------------------------------------------------------------------ children

/// Peak and current resident set of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn child(mode: &str) -> Res<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(child_run(mode))?;
    println!("{out}");
    Ok(())
}

fn vendor_named(name: &str) -> Res<Vendor> {
    Ok(name.parse::<Vendor>().map_err(|e| e.to_string())?)
}

async fn child_run(mode: &str) -> Res<Value> {
    let e = Endpoints::from_env()?;
    let (_, baseline) = rss_kib();
    let t = Instant::now();
    let mut out = match mode.split_once(':') {
        // The library's `pages()` stream, each page dropped after counting.
        Some(("stream", v)) => {
            let src = source(vendor_named(v)?, &e, Variant::Default)?;
            let mut pages = src.pages(None);
            let (mut devices, mut n, mut largest) = (0usize, 0usize, 0usize);
            while let Some(page) = pages.next().await {
                let page = page?;
                devices += page.devices.len();
                largest = largest.max(page.devices.len());
                n += 1;
            }
            json!({"devices": devices, "pages": n, "largest_page": largest})
        }
        // `fetch_page` in a loop: what the client itself holds, without the
        // stream's set of seen ids.
        Some(("loop", v)) => {
            let src = source(vendor_named(v)?, &e, Variant::Default)?;
            let mut cursor: Option<Cursor> = None;
            let (mut devices, mut n) = (0usize, 0usize);
            loop {
                let page = src.fetch_page(cursor.as_ref()).await?;
                devices += page.devices.len();
                n += 1;
                match page.next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            json!({"devices": devices, "pages": n})
        }
        _ if mode == "collect" || mode == "sync" => {
            let sources = vec![
                source(Vendor::Abm, &e, Variant::Default)?,
                source(Vendor::Jamf, &e, Variant::Default)?,
                source(Vendor::Kandji, &e, Variant::Default)?,
            ];
            if mode == "collect" {
                // Every record of every source in one Vec: what a sync holds
                // before it plans.
                let mut all = Vec::new();
                for s in &sources {
                    let mut pages = s.pages(None);
                    while let Some(page) = pages.next().await {
                        all.extend(page?.devices);
                    }
                }
                json!({"records": all.len()})
            } else {
                let dir = tempfile::tempdir()?;
                let store = mdm_examples::sqlite::SqliteStore::open(dir.path().join("bench.db"))?;
                let outcome = mdm_examples::cli::sync::sync_sources(
                    &sources,
                    &store,
                    &mdm_mapping::upsert::Config::default(),
                    false,
                    false,
                )
                .await
                .map_err(|e| format!("sync failed: {e:?}"))?;
                let (assets, employees) = store.counts()?;
                let s = &outcome.plan.summary;
                json!({
                    "records": outcome.incoming.len(),
                    "assets": assets,
                    "employees": employees,
                    "create": s.create, "update": s.update, "conflict": s.conflict, "skip": s.skip,
                    "source_errors": outcome.source_errors.len(),
                })
            }
        }
        _ => return Err(format!("unknown child mode {mode:?}").into()),
    };
    let (hwm, rss) = rss_kib();
    if let Some(o) = out.as_object_mut() {
        o.insert("baseline_kib".into(), json!(baseline));
        o.insert("hwm_kib".into(), json!(hwm));
        o.insert("rss_end_kib".into(), json!(rss));
        o.insert("wall_ms".into(), json!(t.elapsed().as_millis() as u64));
    }
    Ok(out)
}

/// Runs this binary again as a child measuring `mode` against `sim`.
async fn spawn_child(sim: &Simulator, mode: &str) -> Res<Value> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.env(CHILD_ENV, mode).envs(Endpoints::of(sim).to_env());
    let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
    if !out.status.success() {
        return Err(format!(
            "child {mode} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().ok_or("child printed nothing")?;
    Ok(serde_json::from_str(line)?)
}

// ------------------------------------------------------------------ report

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn num(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

fn per_thousand(requests: u64, devices: usize) -> f64 {
    if devices == 0 {
        0.0
    } else {
        requests as f64 * 1000.0 / devices as f64
    }
}

fn endpoint_sum(stats: &VendorStats, needle: &str) -> u64 {
    stats
        .endpoints
        .iter()
        .filter(|(k, _)| k.contains(needle))
        .map(|(_, v)| *v)
        .sum()
}

fn api_requests(stats: &VendorStats) -> u64 {
    stats.requests - stats.token_requests
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    line(header.iter().map(|s| s.to_string()).collect());
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in rows {
        line(r.clone());
    }
    println!();
}

async fn parent(o: Options) -> Res<()> {
    println!(
        "fetch benchmark: {} devices per vendor, {} ms latency runs, full sync of {} devices, best of {} runs",
        o.devices,
        o.latency.as_millis(),
        o.sync_devices,
        o.runs
    );
    println!(
        "machine: {} CPUs\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut request_rows = Vec::new();
    let mut speed_rows = Vec::new();
    let mut latency_rows = Vec::new();
    let mut memory_rows = Vec::new();
    let mut endpoints_rows = Vec::new();
    let lat_ms = o.latency.as_secs_f64() * 1000.0;

    for vendor in Vendor::ALL {
        let variants: &[Variant] = if vendor == Vendor::Kandji {
            &[Variant::Default, Variant::KandjiNoUsers]
        } else {
            &[Variant::Default]
        };
        // ---- 0 ms: requests, throughput vs raw, memory.
        let sim = start(fleet_for(vendor, o.devices), Duration::ZERO).await?;
        let expected = served(&sim, vendor);
        let counts = sim.fleet().counts();
        let mut zero_wall: BTreeMap<&str, Duration> = BTreeMap::new();
        for &variant in variants {
            let label = label(vendor, variant);
            let mut lib = Vec::new();
            let mut raw = Vec::new();
            for _ in 0..o.runs {
                lib.push(library_run(&sim, vendor, variant).await?);
                if variant == Variant::Default {
                    raw.push(raw_run(&sim, vendor).await?);
                }
            }
            let lib = best(lib);
            if lib.devices != expected {
                return Err(format!(
                    "{label}: the library read {} records, the simulator serves {expected}",
                    lib.devices
                )
                .into());
            }
            zero_wall.insert(label, lib.wall);
            let api = api_requests(&lib.stats);
            let (listing, listed, target) = match vendor {
                Vendor::Jamf => (
                    endpoint_sum(&lib.stats, "computers-inventory"),
                    counts.jamf_computers,
                    "≤ 1 per 1,000 computers",
                ),
                Vendor::Kandji => (
                    endpoint_sum(&lib.stats, "GET /api/v1/devices"),
                    expected,
                    "≤ 4 per 1,000 (no details)",
                ),
                Vendor::Abm => (
                    endpoint_sum(&lib.stats, "orgDevices"),
                    expected,
                    "≤ 1 per 1,000",
                ),
            };
            request_rows.push(vec![
                label.to_string(),
                lib.devices.to_string(),
                lib.stats.token_requests.to_string(),
                api.to_string(),
                format!("{:.2}", per_thousand(api, lib.devices)),
                format!("{listing} / {listed}"),
                format!("{:.2}", per_thousand(listing, listed)),
                target.to_string(),
            ]);
            endpoints_rows.push(vec![
                label.to_string(),
                lib.stats
                    .endpoints
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]);
            let lib_rate = lib.devices as f64 / lib.wall.as_secs_f64();
            if variant == Variant::Default {
                let raw = best(raw);
                let raw_rate = raw.devices as f64 / raw.wall.as_secs_f64();
                speed_rows.push(vec![
                    label.to_string(),
                    lib.devices.to_string(),
                    format!("{lib_rate:.0}"),
                    format!("{raw_rate:.0}"),
                    format!("{:.2}", lib_rate / raw_rate),
                    format!("{} / {}", lib.stats.requests, raw.stats.requests),
                ]);
            }
        }
        for mode in ["loop", "stream"] {
            let r = spawn_child(&sim, &format!("{mode}:{vendor}")).await?;
            memory_rows.push(vec![
                format!("{vendor} {mode}"),
                num(&r, "devices").to_string(),
                format!("{:.1}", mib(num(&r, "baseline_kib"))),
                format!("{:.1}", mib(num(&r, "hwm_kib"))),
                format!(
                    "{:.1}",
                    mib(num(&r, "hwm_kib").saturating_sub(num(&r, "baseline_kib")))
                ),
                format!("{:.1}", num(&r, "wall_ms") as f64 / 1000.0),
                "< 150 MiB".to_string(),
            ]);
        }
        sim.shutdown().await;

        // ---- latency.
        if !o.latency.is_zero() {
            let sim = start(fleet_for(vendor, o.devices), o.latency).await?;
            for &variant in variants {
                let label = label(vendor, variant);
                let run = library_run(&sim, vendor, variant).await?;
                let requests = run.stats.requests;
                let bound = o.latency.mul_f64(requests as f64);
                let zero = zero_wall.get(label).copied().unwrap_or_default();
                latency_rows.push(vec![
                    label.to_string(),
                    requests.to_string(),
                    "1".to_string(),
                    format!("{:.2}", bound.as_secs_f64()),
                    format!("{:.2}", run.wall.as_secs_f64()),
                    format!("{:.2}", run.wall.as_secs_f64() / bound.as_secs_f64()),
                    format!(
                        "{:.2}",
                        (run.wall.saturating_sub(zero)).as_secs_f64() / bound.as_secs_f64()
                    ),
                    format!(
                        "{:.1}",
                        zero.as_secs_f64() * 1000.0 / run.pages.max(1) as f64
                    ),
                ]);
            }
            sim.shutdown().await;
        }
    }

    // ---- full sync into SQLite, default fleet shape.
    let sim = start(
        FleetConfig {
            devices: o.sync_devices,
            seed: 7,
            ..FleetConfig::default()
        },
        Duration::ZERO,
    )
    .await?;
    let c = sim.fleet().counts();
    let records = c.abm_devices + c.jamf_computers + c.jamf_mobile_devices + c.kandji_devices;
    for mode in ["collect", "sync"] {
        let r = spawn_child(&sim, mode).await?;
        let what = if mode == "collect" {
            "all sources, records collected in one Vec (before plan)".to_string()
        } else {
            format!(
                "full sync into SQLite ({} assets, {} employees written)",
                num(&r, "assets"),
                num(&r, "employees")
            )
        };
        memory_rows.push(vec![
            what,
            format!("{} ({records} records)", o.sync_devices),
            format!("{:.1}", mib(num(&r, "baseline_kib"))),
            format!("{:.1}", mib(num(&r, "hwm_kib"))),
            format!(
                "{:.1}",
                mib(num(&r, "hwm_kib").saturating_sub(num(&r, "baseline_kib")))
            ),
            format!("{:.1}", num(&r, "wall_ms") as f64 / 1000.0),
            "< 150 MiB".to_string(),
        ]);
    }
    sim.shutdown().await;

    println!("## API requests (0 ms latency)\n");
    table(
        &[
            "source",
            "records",
            "token req",
            "API req",
            "API req / 1,000",
            "listing req / listed",
            "listing req / 1,000",
            "target",
        ],
        &request_rows,
    );
    println!("## Throughput (0 ms latency; library vs bare reqwest + serde_json::Value)\n");
    table(
        &[
            "source",
            "records",
            "library devices/s",
            "bare devices/s",
            "library ÷ bare",
            "requests (library / bare)",
        ],
        &speed_rows,
    );
    if !latency_rows.is_empty() {
        println!(
            "## Latency ({lat_ms:.0} ms per response; bound = requests × latency ÷ concurrency)\n"
        );
        table(
            &[
                "source",
                "requests",
                "concurrency",
                "bound s",
                "wall s",
                "wall ÷ bound",
                "(wall − wall at 0 ms) ÷ bound",
                "ms of CPU per page at 0 ms",
            ],
            &latency_rows,
        );
    }
    println!("## Peak memory (VmHWM of a child process)\n");
    table(
        &[
            "run",
            "devices",
            "baseline MiB",
            "peak MiB",
            "peak − baseline MiB",
            "wall s",
            "target",
        ],
        &memory_rows,
    );
    println!("## Requests by endpoint\n");
    table(&["source", "endpoints"], &endpoints_rows);
    Ok(())
}

fn label(vendor: Vendor, variant: Variant) -> &'static str {
    match (vendor, variant) {
        (Vendor::Jamf, _) => "jamf",
        (Vendor::Kandji, Variant::Default) => "kandji",
        (Vendor::Kandji, Variant::KandjiNoUsers) => "kandji (user_active off)",
        (Vendor::Abm, _) => "abm",
    }
}
