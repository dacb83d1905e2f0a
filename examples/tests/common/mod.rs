//! What several test files share: a simulator with a fleet, its
//! environment variables, and `mdm` run off the test's runtime threads.

#![allow(dead_code)] // each test file uses its own part

use std::process::{Command, Output};

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};

/// A loopback simulator of `devices` devices from `seed`, with `denied`
/// privileges ([`SimulatorConfig::denied`]).
pub async fn simulator(devices: usize, seed: u64, denied: &[&str]) -> Simulator {
    Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices,
            seed,
            ..FleetConfig::default()
        },
        denied: denied.iter().map(|s| s.to_string()).collect(),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator")
}

/// The variables `mdm` reads for all three of `sim`'s sources (what
/// `mdm simulate` prints), the ABM key written under the returned
/// directory, client-side rate limits off.
pub fn sim_env(sim: &Simulator) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("abm.pem");
    sim.write_abm_key(&key).expect("key");
    let mut vars: Vec<(String, String)> = sim
        .env_exports(&key)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect();
    vars.push(("MDM_CLIENT_RATE_LIMITS".into(), "off".into()));
    (dir, vars)
}

/// Runs `mdm` with only `env` (and PATH) in its environment, on a
/// blocking thread (the simulators answer on the runtime's threads).
pub async fn mdm(args: &[&str], env: &[(String, String)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mdm"))
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .output()
            .expect("mdm runs")
    })
    .await
    .expect("join")
}

/// Its standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Its standard output as one JSON document.
pub fn stdout_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}); stderr: {}", stderr(o)))
}
