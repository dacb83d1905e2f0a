//! Fetch benchmark: the three `DeviceSource`s against the loopback vendor
//! simulator. Prints tables; see BENCHMARKS.md at the repository root.
//!
//! `cargo bench -p mdm-examples --bench fetch`
//!
//! The simulator runs in a **separate process** (this binary, re-run as
//! `serve`), so the client and the server each have their own process on
//! the machine's cores; nothing is pinned. Each fleet's simulator is warmed
//! with one untimed pass before anything is measured: it keeps every page it
//! rendered, so the timed runs see a server that answers from memory and
//! what is left per page is latency plus the client's own work.
//!
//! - **Requests**: API requests per 1,000 devices for each vendor (token
//!   requests counted apart), from the simulator's own counters.
//! - **Throughput**: devices per second of the library's page stream, as a
//!   ratio to a bare reqwest + `serde_json::Value` loop over the same
//!   endpoints and pages (same process, same simulator, best of `FETCH_RUNS`).
//! - **Latency**: with 20 ms added to every response, wall time against
//!   `requests × latency ÷ concurrency`, where the concurrency is the most
//!   requests of the vendor the simulator held at once during the run (the
//!   clients keep the next pages in flight while a page is decoded), with
//!   the CPU time of the client (this process) and of the simulator process
//!   per page.
//! - **Memory**: peak RSS (`VmHWM`) of a child process (this binary, re-run)
//!   that streams 100,000 devices of one vendor without keeping them, and of
//!   a child that runs the full `sync` of a 100,000-device fleet into SQLite.
//!
//! Environment: `FETCH_DEVICES` (default 100000), `FETCH_SYNC_DEVICES`
//! (default 100000), `FETCH_LATENCY_MS` (default 20), `FETCH_RUNS` (default
//! 2; each figure is the best run), `FETCH_VENDORS` (default
//! `jamf,kandji,abm`), `FETCH_SYNC` (`0` skips the full sync),
//! `FETCH_SYNC_MODES` (default `collect,sync,resync,resync-in-process,sync-keep`: which
//! full-sync memory rows to run),
//! `FETCH_PREFETCH` (`1` adds an experiment at 20 ms: page prefetch in the
//! stream and speculative fetching in a client, written here, not in the
//! library; see `prefetch_rows`). Without `--bench` (as under `cargo test
//! --benches`) it runs a 1,000 device smoke version. Progress goes to
//! stderr, tables to stdout.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::error::Error as StdError;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt as _, StreamExt};
use mdm_examples::simulator::{FleetConfig, SimStats, Simulator, SimulatorConfig, VendorStats};
use mdm_mapping::{Cursor, DevicePage, DeviceSource, SourceError, Vendor};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

type BoxError = Box<dyn StdError + Send + Sync>;
type Res<T> = Result<T, BoxError>;

/// Set in a child process: what to do (`serve:FLEET` runs the simulator;
/// `stream:VENDOR`, `loop:VENDOR`, `collect`, `sync` measure memory).
const CHILD_ENV: &str = "MDM_FETCH_BENCH_CHILD";

fn main() -> Res<()> {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        if let Some(fleet) = mode.strip_prefix("serve:") {
            return serve(fleet);
        }
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
    vendors: Vec<Vendor>,
    sync: bool,
    prefetch: bool,
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
            vendors: match std::env::var("FETCH_VENDORS") {
                Ok(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(vendor_named)
                    .collect::<Res<Vec<_>>>()?,
                Err(_) => Vendor::ALL.to_vec(),
            },
            sync: num("FETCH_SYNC", 1)? != 0,
            prefetch: num("FETCH_PREFETCH", 0)? != 0,
        })
    }
}

// ------------------------------------------------------------------ sources

/// Where the simulated vendors are and what they accept: from the simulator
/// process's first line, and on to memory children through the environment
/// (the simulator's made-up credentials).
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
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// From the `{"BENCH_…": "…"}` object the simulator process prints.
    fn from_json(v: &Value) -> Res<Self> {
        Self::from_lookup(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
    }

    fn to_json(&self) -> Value {
        Value::Object(
            self.to_env()
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect(),
        )
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Res<Self> {
        let get = |k: &str| lookup(k).ok_or_else(|| format!("{k} is not set"));
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

/// Which Kandji source: the default (the device listing only) or with the
/// "User Active" join from the users list turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Default,
    KandjiUserActive,
}

fn variants(vendor: Vendor) -> &'static [Variant] {
    if vendor == Vendor::Kandji {
        &[Variant::Default, Variant::KandjiUserActive]
    } else {
        &[Variant::Default]
    }
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
                    .with_user_active(variant == Variant::KandjiUserActive),
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

/// The fleet a simulator process serves: `VENDOR:N` (see [`fleet_for`]) or
/// `sync:N` (the default shape: most devices in ABM, the managed ones in
/// Jamf or Kandji).
fn fleet_named(spec: &str) -> Res<FleetConfig> {
    let (what, n) = spec
        .split_once(':')
        .ok_or_else(|| format!("fleet {spec:?} is not WHAT:N"))?;
    let devices: usize = n
        .parse()
        .map_err(|_| format!("fleet {spec:?}: {n:?} is not a number"))?;
    Ok(if what == "sync" {
        FleetConfig {
            devices,
            seed: 7,
            ..FleetConfig::default()
        }
    } else {
        fleet_for(vendor_named(what)?, devices)
    })
}

// ------------------------------------------------------------------ simulator process

/// The simulator process: `serve:FLEET`. Prints one JSON line (endpoints,
/// counts), then answers one JSON line per command read from stdin:
/// `latency MS`, `reset`, `stats`; `quit` or the end of stdin stops it.
fn serve(spec: &str) -> Res<()> {
    let fleet = fleet_named(spec)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sim = rt.block_on(Simulator::start(SimulatorConfig {
        fleet,
        ..SimulatorConfig::default()
    }))?;
    let c = sim.fleet().counts();
    println!(
        "{}",
        json!({
            "endpoints": Endpoints::of(&sim).to_json(),
            "counts": {
                "jamf": c.jamf_computers + c.jamf_mobile_devices,
                "jamf_computers": c.jamf_computers,
                "kandji": c.kandji_devices,
                "abm": c.abm_devices,
                "records": c.abm_devices + c.jamf_computers + c.jamf_mobile_devices + c.kandji_devices,
            },
        })
    );
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let reply = match (words.next(), words.next()) {
            (Some("latency"), Some(ms)) => {
                let ms: u64 = ms.parse().map_err(|_| format!("latency {ms:?}"))?;
                sim.set_latency(Duration::from_millis(ms));
                json!({"ok": true})
            }
            (Some("reset"), None) => {
                sim.reset_stats();
                json!({"ok": true})
            }
            (Some("stats"), None) => stats_json(&sim.stats()),
            (Some("quit"), None) => break,
            _ => json!({"error": format!("unknown command {line:?}")}),
        };
        println!("{reply}");
    }
    rt.block_on(sim.shutdown());
    Ok(())
}

fn stats_json(stats: &SimStats) -> Value {
    let one = |v: &VendorStats| {
        json!({
            "requests": v.requests,
            "token_requests": v.token_requests,
            "endpoints": v.endpoints,
            "max_in_flight": v.max_in_flight,
        })
    };
    json!({
        "jamf": one(&stats.jamf),
        "kandji": one(&stats.kandji),
        "abm": one(&stats.abm),
    })
}

/// A simulator running in its own process (this binary as `serve:FLEET`).
#[derive(Debug)]
struct SimProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    endpoints: Endpoints,
    counts: Value,
}

impl SimProc {
    async fn start(fleet: &str) -> Res<SimProc> {
        let fleet = fleet.to_string();
        tokio::task::spawn_blocking(move || Self::start_blocking(&fleet)).await?
    }

    fn start_blocking(fleet: &str) -> Res<SimProc> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, format!("serve:{fleet}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let ready = match read_json_line(&mut stdout) {
            Ok(r) => r,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(SimProc {
            endpoints: Endpoints::from_json(&ready["endpoints"])?,
            counts: ready["counts"].clone(),
            child,
            stdin,
            stdout,
        })
    }

    /// One command, one reply (a quick exchange over pipes).
    fn ask(&mut self, command: &str) -> Res<Value> {
        tokio::task::block_in_place(|| {
            let stdin = self.stdin.as_mut().ok_or("simulator stdin closed")?;
            writeln!(stdin, "{command}")?;
            stdin.flush()?;
            let reply = read_json_line(&mut self.stdout)?;
            match reply.get("error") {
                Some(e) => Err(format!("simulator: {e}").into()),
                None => Ok(reply),
            }
        })
    }

    fn set_latency(&mut self, latency: Duration) -> Res<()> {
        self.ask(&format!("latency {}", latency.as_millis()))
            .map(drop)
    }

    fn reset_stats(&mut self) -> Res<()> {
        self.ask("reset").map(drop)
    }

    fn stats(&mut self, vendor: Vendor) -> Res<VendorStats> {
        let all = self.ask("stats")?;
        let v = &all[vendor.to_string()];
        Ok(VendorStats {
            requests: v["requests"].as_u64().unwrap_or(0),
            token_requests: v["token_requests"].as_u64().unwrap_or(0),
            endpoints: serde_json::from_value(v["endpoints"].clone())?,
            max_in_flight: v["max_in_flight"].as_u64().unwrap_or(1),
            ..VendorStats::default()
        })
    }

    fn count(&self, name: &str) -> usize {
        self.counts[name].as_u64().unwrap_or(0) as usize
    }

    /// The records `vendor` serves for this fleet.
    fn served(&self, vendor: Vendor) -> usize {
        self.count(&vendor.to_string())
    }

    /// CPU time (user + system) the simulator process has used so far.
    fn cpu(&self) -> Duration {
        cpu_of(&format!("/proc/{}/stat", self.child.id()))
    }

    async fn quit(mut self) {
        drop(self.stdin.take());
        let _ = tokio::task::block_in_place(|| self.child.wait());
    }
}

fn read_json_line(from: &mut BufReader<ChildStdout>) -> Res<Value> {
    let mut line = String::new();
    if from.read_line(&mut line)? == 0 {
        return Err("the simulator process ended".into());
    }
    Ok(serde_json::from_str(&line)?)
}

impl Drop for SimProc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// User + system CPU time from a `/proc/PID/stat` file (clock ticks of
/// 10 ms, Linux's `USER_HZ`); zero when it cannot be read.
fn cpu_of(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// CPU time this process (the client) has used so far.
fn cpu_self() -> Duration {
    cpu_of("/proc/self/stat")
}

// ------------------------------------------------------------------ runs

#[derive(Debug, Clone, Default)]
struct Run {
    devices: usize,
    pages: usize,
    wall: Duration,
    /// CPU time of this process (the client) during the run.
    client_cpu: Duration,
    /// CPU time of the simulator process during the run.
    server_cpu: Duration,
    stats: VendorStats,
}

/// Times `body` against `sim`: wall time, CPU of both processes, and the
/// simulator's request counters.
async fn timed<F>(sim: &mut SimProc, vendor: Vendor, body: F) -> Res<Run>
where
    F: Future<Output = Res<(usize, usize)>>,
{
    sim.reset_stats()?;
    let (client0, server0) = (cpu_self(), sim.cpu());
    let t = Instant::now();
    let (devices, pages) = body.await?;
    let wall = t.elapsed();
    let (client1, server1) = (cpu_self(), sim.cpu());
    Ok(Run {
        devices,
        pages,
        wall,
        client_cpu: client1.saturating_sub(client0),
        server_cpu: server1.saturating_sub(server0),
        stats: sim.stats(vendor)?,
    })
}

/// The library's page stream, counted and dropped page by page.
async fn library_run(sim: &mut SimProc, vendor: Vendor, variant: Variant) -> Res<Run> {
    let src = source(vendor, &sim.endpoints, variant)?;
    timed(sim, vendor, async {
        let mut pages = src.pages(None);
        let (mut devices, mut n) = (0, 0);
        while let Some(page) = pages.next().await {
            devices += page?.devices.len();
            n += 1;
        }
        Ok((devices, n))
    })
    .await
}

/// The naive way: reqwest and `serde_json::Value`, the same endpoints and
/// page sizes as the library's default source, no typing, no normalization.
async fn raw_run(sim: &mut SimProc, vendor: Vendor) -> Res<Run> {
    let e = sim.endpoints.clone();
    let http = reqwest::Client::new();
    timed(sim, vendor, async {
        match vendor {
            Vendor::Jamf => raw_jamf(&http, &e).await,
            Vendor::Kandji => raw_kandji(&http, &e).await,
            Vendor::Abm => raw_abm(&http, &e).await,
        }
    })
    .await
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

// ------------------------------------------------------------------ prefetch experiment

/// Per-page work of a consumer, for the experiment: `work` of busy CPU.
fn consume(page: &DevicePage, work: Duration) -> usize {
    let t = Instant::now();
    while t.elapsed() < work {
        std::hint::spin_loop();
    }
    page.devices.len()
}

type PageFuture<'a> = BoxFuture<'a, Result<DevicePage, SourceError>>;

/// Experiment A: the provided `pages()` stream (same de-duplication and
/// loop guard) plus one page of prefetch. As soon as page N arrives with
/// the cursor of page N+1, the fetch of N+1 is created and polled once
/// (its request goes out) before page N is handed to the consumer; the
/// rest of it runs when the consumer asks for the next page. Needs no
/// runtime (no spawn), as `mdm_mapping` has none.
fn prefetching_pages(src: &dyn DeviceSource) -> BoxStream<'_, Result<DevicePage, SourceError>> {
    struct St<'a> {
        inflight: Option<PageFuture<'a>>,
        next: Option<Option<Cursor>>,
        seen_ids: HashSet<(mdm_mapping::Entity, String)>,
        seen_cursors: HashSet<Cursor>,
    }
    fn fetch(src: &dyn DeviceSource, cursor: Option<Cursor>) -> PageFuture<'_> {
        async move { src.fetch_page(cursor.as_ref()).await }.boxed()
    }
    let st = St {
        inflight: None,
        next: Some(None),
        seen_ids: HashSet::new(),
        seen_cursors: HashSet::new(),
    };
    futures::stream::unfold(st, move |mut st| async move {
        let fut = match st.inflight.take() {
            Some(f) => f,
            None => fetch(src, st.next.take()?),
        };
        match fut.await {
            Ok(mut page) => {
                page.devices
                    .retain(|d| st.seen_ids.insert((d.entity, d.source_id.clone())));
                match page.next.clone() {
                    Some(c) if st.seen_cursors.insert(c.clone()) => {
                        let mut f = fetch(src, Some(c));
                        let waker = futures::task::noop_waker();
                        let mut cx = std::task::Context::from_waker(&waker);
                        st.inflight = Some(match f.as_mut().poll(&mut cx) {
                            std::task::Poll::Ready(r) => futures::future::ready(r).boxed(),
                            std::task::Poll::Pending => f,
                        });
                    }
                    Some(_) => page.next = None,
                    None => {}
                }
                Some((Ok(page), st))
            }
            Err(e) => Some((Err(e), st)),
        }
    })
    .boxed()
}

/// The page after `cursor`, as the Jamf and Kandji sources write cursors
/// (`computers:N`/`mobile:N`, an offset), for experiment B; `None` for ABM
/// (opaque cursors).
fn predict(vendor: Vendor, cursor: Option<&Cursor>, kandji_page: u64) -> Option<Cursor> {
    match vendor {
        Vendor::Jamf => {
            let (phase, page) = match cursor {
                None => ("computers", 0),
                Some(c) => {
                    let (phase, page) = c.as_str().split_once(':')?;
                    (phase, page.parse::<u64>().ok()?)
                }
            };
            Some(Cursor::new(format!("{phase}:{}", page + 1)))
        }
        Vendor::Kandji => {
            let offset = match cursor {
                None => 0,
                Some(c) => c.as_str().parse::<u64>().ok()?,
            };
            Some(Cursor::new((offset + kandji_page).to_string()))
        }
        Vendor::Abm => None,
    }
}

/// Experiment B: what a client could do, knowing its own cursors: keep
/// `depth` fetches of the predicted next pages in flight (spawned, so they
/// decode on any core), use one when the real cursor matches, drop it when
/// not (a wasted request, counted by the simulator).
async fn speculative(
    src: Arc<dyn DeviceSource>,
    vendor: Vendor,
    depth: usize,
) -> Res<(usize, usize)> {
    type Task = tokio::task::JoinHandle<Result<DevicePage, SourceError>>;
    let spawn = |cursor: Option<Cursor>| -> Task {
        let src = src.clone();
        tokio::spawn(async move { src.fetch_page(cursor.as_ref()).await })
    };
    let mut ahead: VecDeque<(Cursor, Task)> = VecDeque::new();
    let mut current = spawn(None);
    let (mut devices, mut pages, mut kandji_page) = (0, 0, 0u64);
    loop {
        let page = current.await??;
        devices += page.devices.len();
        pages += 1;
        if pages == 1 {
            kandji_page = page.devices.len() as u64;
        }
        let Some(next) = page.next else {
            break;
        };
        current = match ahead.pop_front() {
            Some((c, task)) if c == next => task,
            other => {
                for (_, task) in other.into_iter().chain(ahead.drain(..)) {
                    task.abort();
                }
                spawn(Some(next.clone()))
            }
        };
        // Speculation starts after the first page (Kandji's page size is
        // the first page's length).
        let mut last = ahead.back().map_or(next, |(c, _)| c.clone());
        while ahead.len() < depth {
            let Some(p) = predict(vendor, Some(&last), kandji_page) else {
                break;
            };
            ahead.push_back((p.clone(), spawn(Some(p.clone()))));
            last = p;
        }
    }
    for (_, task) in ahead {
        task.abort();
    }
    Ok((devices, pages))
}

/// The prefetch experiment at the latency of `sim`: the plain stream, A
/// (prefetch in the stream), the same two with 20 ms of consumer work per
/// page, and B (client-side speculation, 1 and 2 pages ahead). One row per
/// case: requests, wall, wall ÷ bound.
async fn prefetch_rows(
    sim: &mut SimProc,
    vendor: Vendor,
    latency: Duration,
    runs: usize,
) -> Res<Vec<Vec<String>>> {
    let work = Duration::from_millis(20);
    let mut rows = Vec::new();
    let cases: [(&str, u8, Duration); 6] = [
        ("pages() as provided", 0, Duration::ZERO),
        (
            "A: pages() + prefetch of the next cursor",
            1,
            Duration::ZERO,
        ),
        ("pages() as provided, consumer works 20 ms/page", 0, work),
        ("A, consumer works 20 ms/page", 1, work),
        ("B: client speculation, 1 page ahead", 2, Duration::ZERO),
        ("B: client speculation, 2 pages ahead", 3, Duration::ZERO),
    ];
    for (what, how, work) in cases {
        if how >= 2 && vendor == Vendor::Abm {
            continue;
        }
        let mut best_run: Option<Run> = None;
        for _ in 0..runs {
            let src: Arc<dyn DeviceSource> =
                Arc::from(source(vendor, &sim.endpoints, Variant::Default)?);
            let run = timed(sim, vendor, async {
                match how {
                    0 | 1 => {
                        let mut pages = if how == 0 {
                            src.pages(None)
                        } else {
                            prefetching_pages(src.as_ref())
                        };
                        let (mut devices, mut n) = (0, 0);
                        while let Some(page) = pages.next().await {
                            devices += consume(&page?, work);
                            n += 1;
                        }
                        Ok((devices, n))
                    }
                    _ => speculative(src.clone(), vendor, usize::from(how - 1)).await,
                }
            })
            .await?;
            if best_run.as_ref().is_none_or(|b| run.wall < b.wall) {
                best_run = Some(run);
            }
        }
        let run = best_run.unwrap_or_default();
        let pages = run.pages.max(1) as f64;
        let bound = latency.as_secs_f64() * pages;
        rows.push(vec![
            vendor.to_string(),
            what.to_string(),
            run.devices.to_string(),
            format!("{} / {}", run.stats.requests, run.pages),
            format!("{:.2}", run.wall.as_secs_f64()),
            format!("{:.2}", run.wall.as_secs_f64() / bound),
            ms_per_page(run.client_cpu, run.pages),
        ]);
    }
    Ok(rows)
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
    // The runtime `mdm` runs the same work on, so the figures are the
    // binary's: a sync's blocking threads for the sync rows.
    let syncs = ["sync", "sync-keep", "resync", "resync-in-process"];
    let rt = if syncs.contains(&mode) {
        mdm_examples::runtime_with(mdm_examples::SYNC_BLOCKING_THREADS)?
    } else {
        mdm_examples::runtime()?
    };
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
        _ if [
            "collect",
            "sync",
            "sync-keep",
            "resync",
            "resync-in-process",
        ]
        .contains(&mode) =>
        {
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
                // `FETCH_DB`: an inventory an earlier child wrote (`resync`).
                let db = std::env::var_os("FETCH_DB")
                    .map_or_else(|| dir.path().join("bench.db"), std::path::PathBuf::from);
                let store = mdm_mapping::store::sqlite::SqliteStore::open(db)?;
                // `sync`: as `mdm demo` and an embedding program run it (one
                // batch of actions at a time); `sync-keep`: as `mdm sync`,
                // which keeps every action to print the plan.
                let options = mdm_mapping::sync::SyncOptions {
                    keep_actions: mode == "sync-keep",
                    ..Default::default()
                };
                // `resync-in-process`: a second sync over the inventory the
                // first wrote, in the same process (as a long-running
                // program would); `resync` is the second `mdm sync`, a
                // process of its own over the file an earlier child wrote.
                let runs = if mode == "resync-in-process" { 2 } else { 1 };
                let mut outcome = None;
                for _ in 0..runs {
                    // A program would not hold the last outcome meanwhile.
                    drop(outcome.take());
                    outcome = Some(
                        mdm_mapping::sync::run(
                            &sources,
                            &store,
                            &mdm_mapping::upsert::Config::default(),
                            &options,
                        )
                        .await
                        .map_err(|e| format!("sync failed: {e:?}"))?,
                    );
                }
                let outcome = outcome.ok_or("no sync ran")?;
                let (assets, employees) = store.counts()?;
                let s = &outcome.plan.summary;
                json!({
                    "records": outcome.read.iter().map(|r| r.records).sum::<usize>(),
                    "batches": outcome.batches,
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
async fn spawn_child(sim: &SimProc, mode: &str) -> Res<Value> {
    spawn_child_env(sim, mode, &[]).await
}

/// [`spawn_child`] with more environment variables.
async fn spawn_child_env(sim: &SimProc, mode: &str, env: &[(&str, &str)]) -> Res<Value> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.env(CHILD_ENV, mode)
        .envs(sim.endpoints.to_env())
        .envs(env.iter().copied());
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

/// Progress on stderr, with the time since the start.
fn progress(t0: Instant, what: &str) {
    eprintln!("[fetch {:>6.1} s] {what}", t0.elapsed().as_secs_f64());
}

fn ms_per_page(d: Duration, pages: usize) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0 / pages.max(1) as f64)
}

async fn parent(o: Options) -> Res<()> {
    let t0 = Instant::now();
    println!(
        "fetch benchmark: {} devices per vendor, {} ms latency runs, full sync of {} devices, best of {} runs",
        o.devices,
        o.latency.as_millis(),
        o.sync_devices,
        o.runs
    );
    println!(
        "machine: {} CPUs; the simulator runs in its own process, warmed with one untimed pass (it serves every page from memory)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut request_rows = Vec::new();
    let mut speed_rows = Vec::new();
    let mut latency_rows = Vec::new();
    let mut memory_rows = Vec::new();
    let mut endpoints_rows = Vec::new();
    let mut prefetch_table = Vec::new();
    let lat_ms = o.latency.as_secs_f64() * 1000.0;

    for vendor in o.vendors.iter().copied() {
        progress(t0, &format!("{vendor}: starting the simulator process"));
        let mut sim = SimProc::start(&format!("{vendor}:{}", o.devices)).await?;
        let expected = sim.served(vendor);
        let computers = sim.count("jamf_computers");

        // ---- warm-up: the simulator renders and keeps every page.
        for &variant in variants(vendor) {
            let warm = library_run(&mut sim, vendor, variant).await?;
            progress(
                t0,
                &format!(
                    "{}: warm-up pass {:.1} s ({:.1} s of simulator CPU)",
                    label(vendor, variant),
                    warm.wall.as_secs_f64(),
                    warm.server_cpu.as_secs_f64()
                ),
            );
        }

        // ---- 0 ms: requests, throughput vs raw.
        let mut zero: BTreeMap<&str, Run> = BTreeMap::new();
        for &variant in variants(vendor) {
            let label = label(vendor, variant);
            let mut lib = Vec::new();
            let mut raw = Vec::new();
            for _ in 0..o.runs {
                lib.push(library_run(&mut sim, vendor, variant).await?);
                if variant == Variant::Default {
                    raw.push(raw_run(&mut sim, vendor).await?);
                }
            }
            let lib = best(lib);
            progress(
                t0,
                &format!("{label}: 0 ms, best {:.1} s", lib.wall.as_secs_f64()),
            );
            if lib.devices != expected {
                return Err(format!(
                    "{label}: the library read {} records, the simulator serves {expected}",
                    lib.devices
                )
                .into());
            }
            let api = api_requests(&lib.stats);
            let (listing, listed, target) = match vendor {
                Vendor::Jamf => (
                    endpoint_sum(&lib.stats, "computers-inventory"),
                    computers,
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
                    ms_per_page(lib.client_cpu, lib.pages),
                    ms_per_page(raw.client_cpu, raw.pages),
                    ms_per_page(lib.server_cpu, lib.pages),
                    format!("{} / {}", lib.stats.requests, raw.stats.requests),
                ]);
            }
            zero.insert(label, lib);
        }

        // ---- memory: children read from this simulator.
        for mode in ["loop", "stream"] {
            let r = spawn_child(&sim, &format!("{mode}:{vendor}")).await?;
            progress(t0, &format!("{vendor} {mode}: memory child done"));
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

        // ---- latency: the same simulator, now delaying every response.
        if !o.latency.is_zero() {
            sim.set_latency(o.latency)?;
            for &variant in variants(vendor) {
                let label = label(vendor, variant);
                let mut runs = Vec::new();
                for _ in 0..o.runs {
                    runs.push(library_run(&mut sim, vendor, variant).await?);
                }
                let run = best(runs);
                progress(
                    t0,
                    &format!(
                        "{label}: {} ms, best {:.1} s",
                        o.latency.as_millis(),
                        run.wall.as_secs_f64()
                    ),
                );
                let requests = run.stats.requests;
                // The concurrency the stream used: the most requests the
                // simulator held at once.
                let concurrency = run.stats.max_in_flight.max(1);
                let bound = o
                    .latency
                    .mul_f64(requests as f64 / concurrency as f64)
                    .as_secs_f64();
                let wall = run.wall.as_secs_f64();
                let zero_wall = zero.get(label).map_or(0.0, |z| z.wall.as_secs_f64());
                latency_rows.push(vec![
                    label.to_string(),
                    requests.to_string(),
                    concurrency.to_string(),
                    format!("{bound:.2}"),
                    format!("{wall:.2}"),
                    format!("{:.2}", wall / bound),
                    format!("{:.2}", (wall - zero_wall) / bound),
                    format!("{:.2}", wall / (zero_wall + bound)),
                    format!("{:.1}", zero_wall * 1000.0 / run.pages.max(1) as f64),
                    ms_per_page(run.client_cpu, run.pages),
                    ms_per_page(run.server_cpu, run.pages),
                ]);
            }
            if o.prefetch {
                prefetch_table.extend(prefetch_rows(&mut sim, vendor, o.latency, o.runs).await?);
                progress(t0, &format!("{vendor}: prefetch experiment done"));
            }
        }
        sim.quit().await;
    }

    // ---- full sync into SQLite, default fleet shape.
    if o.sync {
        progress(t0, "sync: starting the simulator process");
        let sim = SimProc::start(&format!("sync:{}", o.sync_devices)).await?;
        let records = sim.count("records");
        let modes = std::env::var("FETCH_SYNC_MODES")
            .unwrap_or_else(|_| "collect,sync,resync,resync-in-process,sync-keep".to_string());
        for mode in modes.split(',').filter(|m| !m.is_empty()) {
            // `resync`: an unmeasured first sync writes the inventory, then
            // the measured child syncs again over it.
            let db = tempfile::tempdir()?;
            let env = if mode == "resync" {
                let path = db.path().join("bench.db").display().to_string();
                spawn_child_env(&sim, "sync", &[("FETCH_DB", path.as_str())]).await?;
                vec![("FETCH_DB", path)]
            } else {
                Vec::new()
            };
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = spawn_child_env(&sim, mode, &env).await?;
            progress(t0, &format!("{mode}: child done"));
            let what = match mode {
                "collect" => "all sources, records collected in one Vec (before plan)".to_string(),
                "sync" => format!(
                    "full sync into an empty SQLite inventory ({} assets, {} employees written; {} batches)",
                    num(&r, "assets"),
                    num(&r, "employees"),
                    num(&r, "batches")
                ),
                "resync" => format!(
                    "the same sync again, a process of its own (as a second `mdm sync`), over the {} assets the first wrote (updated {})",
                    num(&r, "assets"),
                    num(&r, "update")
                ),
                "resync-in-process" => format!(
                    "the same sync twice in one process (a long-running program): the second over the {} assets the first wrote (updated {})",
                    num(&r, "assets"),
                    num(&r, "update")
                ),
                _ => "full sync into an empty inventory, keeping every action in the outcome (`SyncOptions::keep_actions`)".to_string(),
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
        sim.quit().await;
    }

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
            "library CPU ms/page",
            "bare CPU ms/page",
            "simulator CPU ms/page",
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
                "wall ÷ (wall at 0 ms + bound)",
                "ms per page at 0 ms",
                "client CPU ms/page",
                "simulator CPU ms/page",
            ],
            &latency_rows,
        );
    }
    if !prefetch_table.is_empty() {
        println!(
            "## Prefetch experiment ({lat_ms:.0} ms per response; bound = pages × latency; not the library's behaviour)\n"
        );
        table(
            &[
                "source",
                "how",
                "records",
                "requests / pages",
                "wall s",
                "wall ÷ bound",
                "client CPU ms/page",
            ],
            &prefetch_table,
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
    progress(t0, "done");
    Ok(())
}

fn label(vendor: Vendor, variant: Variant) -> &'static str {
    match (vendor, variant) {
        (Vendor::Jamf, _) => "jamf",
        (Vendor::Kandji, Variant::Default) => "kandji",
        (Vendor::Kandji, Variant::KandjiUserActive) => "kandji (user_active on)",
        (Vendor::Abm, _) => "abm",
    }
}
