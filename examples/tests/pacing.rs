//! The clients' own pacing against a simulator that enforces rate limits:
//! ABM's adaptive pacer under a hidden limit, Kandji's documented quotas.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
use mdm_mapping::DeviceSource as _;
use secrecy::ExposeSecret as _;

fn config(devices: usize) -> SimulatorConfig {
    SimulatorConfig {
        fleet: FleetConfig {
            devices,
            seed: 5,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// An ABM client as `mdm` builds one for the simulator, but with its
/// default adaptive pacing.
fn abm(sim: &Simulator) -> abm_client::AbmClient {
    let creds = sim.credentials();
    let key = abm_client::PrivateKey::from_pem(creds.abm_private_key_pem.expose_secret()).unwrap();
    abm_client::AbmClient::builder(abm_client::Credentials::new(
        creds.abm_client_id.clone(),
        creds.abm_key_id.clone(),
        key,
    ))
    .base_url(sim.abm_url())
    .token_url(sim.abm_token_url())
    .build()
    .unwrap()
}

#[tokio::test]
async fn the_adaptive_pacer_lists_every_device_under_a_hidden_limit() {
    const LIMIT: u32 = 600;
    const PAGE: u32 = 10;
    let sim = Simulator::start(SimulatorConfig {
        abm_limit_per_minute: Some(LIMIT),
        ..config(600)
    })
    .await
    .unwrap();
    let expected = sim.fleet().counts().abm_devices;
    let pages = expected.div_ceil(PAGE as usize) as f64;
    let client = abm(&sim);
    let start = Instant::now();
    let devices: Vec<_> = client
        .device_source()
        .limit(PAGE)
        .devices(None)
        .try_collect()
        .await
        .unwrap();
    let wall = start.elapsed();
    assert_eq!(devices.len(), expected);
    let throttled = sim.stats().abm.throttled;
    assert_eq!(client.throttled(), Some(throttled));
    let learned = client.learned_rate().unwrap();
    let bound = Duration::from_secs_f64(pages * 60.0 / f64::from(LIMIT));
    eprintln!(
        "{pages} pages, bound {bound:?}, wall {wall:?}, 429s {throttled}, learned {learned:.0}/min"
    );
    assert!(throttled <= 6, "{throttled} 429s");
    assert!(
        (f64::from(LIMIT) * 0.4..=f64::from(LIMIT) * 2.0).contains(&learned),
        "learned {learned}/min against a limit of {LIMIT}"
    );
}

#[tokio::test]
async fn kandji_default_limits_never_meet_the_enforced_ones() {
    let sim = Simulator::start(SimulatorConfig {
        kandji_enforce_limits: true,
        ..config(800)
    })
    .await
    .unwrap();
    let expected = sim.fleet().counts().kandji_devices;
    let creds = sim.credentials();
    let kandji = kandji_client::KandjiClient::builder()
        .base_url(sim.kandji_url())
        .token(creds.kandji_token.expose_secret().to_string())
        .build()
        .unwrap();
    // Pages of 3: well over 50 requests, so the per-second limit matters.
    let devices: Vec<_> = kandji
        .device_source()
        .with_query(
            kandji_client::DeviceQuery::new()
                .ordering("device_id")
                .page_size(3),
        )
        .devices(None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(devices.len(), expected);
    let stats = sim.stats().kandji;
    assert!(stats.requests > 60, "{} requests", stats.requests);
    assert_eq!(stats.throttled, 0);
}
