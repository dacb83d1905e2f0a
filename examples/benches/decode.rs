//! Decode benchmark: a 2,000-computer Jamf inventory page, a 1,000-device
//! ABM `orgDevices` page and a 300-device Kandji page decoded into the
//! clients' typed models, against `serde_json::Value` decoding of the same
//! bytes, in the same run.
//!
//! `cargo bench -p mdm-examples --bench decode`
//!
//! The payloads are rendered by the vendor simulator (started in-process on
//! loopback and asked once for each page), so they have the simulator's
//! quirks and the sections a sync requests. Criterion reports each case; a
//! summary at the end times the cases interleaved (`DECODE_ROUNDS` rounds,
//! default 200, each in a rotated order) and prints typed ÷ `Value` ratios
//! of the medians.
//! `DECODE_SAVE_DIR=dir` also writes the three payloads there.
//!
//! Before timing anything (and in the smoke run, `cargo test --benches`),
//! each typed page is checked to really hold what it is timed on: one
//! normalized record per item of the page, nearly all with a serial number.
//! A model that silently stopped reading its sections would otherwise look
//! fast here. Timings themselves are only reported, never asserted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The Jamf Pro listing envelope (the client's own is crate-private; this
/// one has the same shape).
#[derive(Debug, Deserialize)]
struct JamfEnvelope<T> {
    #[serde(rename = "totalCount", default)]
    _total_count: Option<i64>,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

/// As the clients decode: `serde_path_to_error` over `serde_json`, so a
/// failure names its JSON path.
/// Decodes as the clients do: plain `serde_json` first, and only a body that
/// fails again with `serde_path_to_error`, to say where.
fn typed<T: DeserializeOwned>(bytes: &[u8]) -> T {
    if let Ok(v) = mdm_mapping::lenient::from_json_bytes(bytes) {
        return v;
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => panic!("payload does not decode at {}: {}", e.path(), e.inner()),
    }
}

fn value(bytes: &[u8]) -> Value {
    match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => panic!("payload is not JSON: {e}"),
    }
}

struct Payloads {
    jamf: Vec<u8>,
    jamf_count: usize,
    abm: Vec<u8>,
    abm_count: usize,
    kandji: Vec<u8>,
    kandji_count: usize,
}

async fn body(req: reqwest::RequestBuilder) -> Result<Vec<u8>, BoxError> {
    let resp = req.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?.to_vec();
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(bytes)
}

async fn payloads() -> Result<Payloads, BoxError> {
    // About 55% of devices are Macs and half of the managed ones are in
    // Jamf: 10,000 devices give well over 2,000 Jamf computers.
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 10_000,
            seed: 11,
            abm_share: 1.0,
            unmanaged_share: 0.0,
            jamf_share: 0.5,
            ..FleetConfig::default()
        },
        ..SimulatorConfig::default()
    })
    .await?;
    let c = sim.credentials();
    let http = reqwest::Client::new();

    // Jamf: OAuth client credentials, then page 0 of the inventory listing
    // with the sections a sync asks for, on the endpoint version the client
    // would pick for this server.
    let token: Value = serde_json::from_slice(
        &body(
            http.post(format!("{}/api/v1/oauth/token", sim.jamf_url()))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", c.jamf_client_id.as_str()),
                    ("client_secret", c.jamf_client_secret.expose_secret()),
                ]),
        )
        .await?,
    )?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let version: Value = serde_json::from_slice(
        &body(
            http.get(format!("{}/api/v1/jamf-pro-version", sim.jamf_url()))
                .bearer_auth(&token),
        )
        .await?,
    )?;
    let version = jamf_client::JamfProVersion::parse(version["version"].as_str().unwrap_or(""))
        .ok_or("the simulator sent no Jamf version")?;
    let segment = jamf_client::InventoryVersion::for_server(&version).segment();
    let mut q: Vec<(&str, String)> = jamf_client::ComputerSection::INVENTORY
        .iter()
        .map(|s| ("section", s.as_str().to_string()))
        .collect();
    q.extend([
        ("page", "0".to_string()),
        ("page-size", "2000".to_string()),
        ("sort", "id:asc".to_string()),
    ]);
    let jamf = body(
        http.get(format!(
            "{}/api/{segment}/computers-inventory",
            sim.jamf_url()
        ))
        .query(&q)
        .bearer_auth(&token),
    )
    .await?;

    // ABM: an ES256 client assertion for a bearer token, then one page of 1,000.
    let key = abm_client::PrivateKey::from_pem(c.abm_private_key_pem.expose_secret())?;
    let creds = abm_client::Credentials::new(c.abm_client_id.clone(), c.abm_key_id.clone(), key);
    let assertion = creds.client_assertion(
        abm_client::auth::APPLE_TOKEN_AUDIENCE,
        std::time::SystemTime::now(),
        Duration::from_secs(3600),
    )?;
    let token: Value = serde_json::from_slice(
        &body(http.post(sim.abm_token_url()).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.abm_client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.jwt().expose_secret()),
            ("scope", "business.api"),
        ]))
        .await?,
    )?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let abm = body(
        http.get(format!("{}/v1/orgDevices", sim.abm_url()))
            .query(&[("limit", "1000")])
            .header("Accept", "application/json")
            .bearer_auth(&token),
    )
    .await?;

    // Kandji: one device-list page of 300.
    let kandji = body(
        http.get(format!("{}/api/v1/devices", sim.kandji_url()))
            .query(&[("limit", "300"), ("offset", "0"), ("ordering", "device_id")])
            .bearer_auth(c.kandji_token.expose_secret()),
    )
    .await?;
    sim.shutdown().await;

    let jamf_count = value(&jamf)["results"].as_array().map_or(0, Vec::len);
    let abm_count = value(&abm)["data"].as_array().map_or(0, Vec::len);
    let kandji_count = value(&kandji).as_array().map_or(0, Vec::len);
    if jamf_count != 2000 || abm_count != 1000 || kandji_count != 300 {
        return Err(format!(
            "unexpected page sizes: jamf {jamf_count}, abm {abm_count}, kandji {kandji_count}"
        )
        .into());
    }
    Ok(Payloads {
        jamf,
        jamf_count,
        abm,
        abm_count,
        kandji,
        kandji_count,
    })
}

type Case<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// The cases of one page: typed (as the client), typed and normalized into
/// `SourceDevice`s, and `serde_json::Value`.
fn cases(p: &Payloads) -> Vec<(&'static str, &[u8], usize, Vec<Case<'_>>)> {
    let jamf = p.jamf.as_slice();
    let abm = p.abm.as_slice();
    let kandji = p.kandji.as_slice();
    vec![
        (
            "jamf_computers_page_2000",
            jamf,
            p.jamf_count,
            vec![
                (
                    "typed",
                    Box::new(move || {
                        black_box(
                            typed::<JamfEnvelope<jamf_client::models::ComputerInventory>>(
                                black_box(jamf),
                            ),
                        );
                    }),
                ),
                (
                    "typed_and_normalized",
                    Box::new(move || {
                        let page: JamfEnvelope<jamf_client::models::ComputerInventory> =
                            typed(black_box(jamf));
                        let security = jamf_client::SecurityReads::none();
                        // As the source maps a page: each computer taken.
                        let records: Vec<_> = page
                            .results
                            .into_iter()
                            .map(|c| jamf_client::map::computer_owned(c, &security))
                            .collect();
                        black_box(records);
                    }),
                ),
                (
                    "serde_json_value",
                    Box::new(move || {
                        black_box(value(black_box(jamf)));
                    }),
                ),
            ],
        ),
        (
            "abm_org_devices_page_1000",
            abm,
            p.abm_count,
            vec![
                (
                    "typed",
                    Box::new(move || {
                        black_box(typed::<
                            abm_client::model::ListDocument<abm_client::model::OrgDevice>,
                        >(black_box(abm)));
                    }),
                ),
                (
                    "typed_and_normalized",
                    Box::new(move || {
                        let page: abm_client::model::ListDocument<abm_client::model::OrgDevice> =
                            typed(black_box(abm));
                        let records: Vec<_> = page
                            .data
                            .iter()
                            .map(abm_client::source::source_device)
                            .collect();
                        black_box(records);
                    }),
                ),
                (
                    "serde_json_value",
                    Box::new(move || {
                        black_box(value(black_box(abm)));
                    }),
                ),
            ],
        ),
        (
            "kandji_devices_page_300",
            kandji,
            p.kandji_count,
            vec![
                (
                    "typed",
                    Box::new(move || {
                        black_box(typed::<Vec<kandji_client::Device>>(black_box(kandji)));
                    }),
                ),
                (
                    "typed_and_normalized",
                    Box::new(move || {
                        let page: Vec<kandji_client::Device> = typed(black_box(kandji));
                        let records: Vec<_> = page
                            .iter()
                            .map(|d| kandji_client::to_source_device(d, None, None))
                            .collect();
                        black_box(records);
                    }),
                ),
                (
                    "serde_json_value",
                    Box::new(move || {
                        black_box(value(black_box(kandji)));
                    }),
                ),
            ],
        ),
    ]
}

/// Each typed page, normalized, has one record per item of the page and a
/// serial number in at least 90% of them (the simulator gives every device
/// one; the margin leaves room for placeholder serials).
fn check_typed(p: &Payloads) -> Result<(), BoxError> {
    let jamf: JamfEnvelope<jamf_client::models::ComputerInventory> = typed(&p.jamf);
    let security = jamf_client::SecurityReads::none();
    let jamf: Vec<_> = jamf
        .results
        .iter()
        .map(|c| jamf_client::map::computer(c, &security))
        .collect();
    let abm: abm_client::model::ListDocument<abm_client::model::OrgDevice> = typed(&p.abm);
    let abm: Vec<_> = abm
        .data
        .iter()
        .map(abm_client::source::source_device)
        .collect();
    let kandji: Vec<kandji_client::Device> = typed(&p.kandji);
    let kandji: Vec<_> = kandji
        .iter()
        .map(|d| kandji_client::to_source_device(d, None, None))
        .collect();
    for (page, records, count) in [
        ("jamf", &jamf, p.jamf_count),
        ("abm", &abm, p.abm_count),
        ("kandji", &kandji, p.kandji_count),
    ] {
        let serials = records
            .iter()
            .filter(|d| d.fields.contains("serial_number"))
            .count();
        if records.len() != count || serials * 10 < count * 9 {
            return Err(format!(
                "{page}: typed decoding gave {} records ({serials} with a serial number) for {count} items",
                records.len()
            )
            .into());
        }
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<(), BoxError> {
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let p = rt.block_on(payloads())?;
    drop(rt);
    if let Ok(dir) = std::env::var("DECODE_SAVE_DIR") {
        // For profiling elsewhere: the exact bytes benchmarked.
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("jamf_computers_page_2000.json"), &p.jamf)?;
        std::fs::write(dir.join("abm_org_devices_page_1000.json"), &p.abm)?;
        std::fs::write(dir.join("kandji_devices_page_300.json"), &p.kandji)?;
    }
    check_typed(&p)?;
    let all = cases(&p);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30)
        .configure_from_args();
    for (group, bytes, _, cases) in &all {
        let mut g = c.benchmark_group(*group);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        for (name, f) in cases {
            g.bench_function(*name, |b| b.iter(f));
        }
        g.finish();
    }
    c.final_summary();

    // Interleaved summary: each round runs every case once, so drift in the
    // machine's speed hits all cases alike.
    let rounds: usize = if full {
        std::env::var("DECODE_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200)
    } else {
        3
    };
    println!("\nInterleaved medians over {rounds} rounds (ratio < 1: typed is faster)\n");
    println!(
        "| page | bytes | records | typed µs | typed+normalized µs | Value µs | typed ÷ Value | typed+normalized ÷ Value |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (group, bytes, count, cases) in &all {
        let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); cases.len()];
        for round in 0..rounds {
            // Rotate the order so that no case always runs after the same one.
            for k in 0..cases.len() {
                let i = (round + k) % cases.len();
                let Some((_, f)) = cases.get(i) else { continue };
                let t = Instant::now();
                f();
                if let Some(v) = times.get_mut(i) {
                    v.push(t.elapsed());
                }
            }
        }
        let m: Vec<f64> = times
            .into_iter()
            .map(|v| median(v).as_secs_f64() * 1e6)
            .collect();
        let (t, tn, v) = (
            m.first().copied().unwrap_or(0.0),
            m.get(1).copied().unwrap_or(0.0),
            m.get(2).copied().unwrap_or(f64::NAN),
        );
        println!(
            "| {group} | {} | {count} | {t:.0} | {tn:.0} | {v:.0} | {:.2} | {:.2} |",
            bytes.len(),
            t / v,
            tn / v
        );
    }
    Ok(())
}
