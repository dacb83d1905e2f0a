//! `mdm health` on the simulator: the JSON document (a snapshot: its shape
//! is documented and stable), and a source that cannot be read in full.

use std::process::{Command, Output};

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};

async fn simulator(denied: &[&str]) -> Simulator {
    Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 40,
            seed: 3,
            ..FleetConfig::default()
        },
        denied: denied.iter().map(|s| s.to_string()).collect(),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator")
}

/// `mdm health` with the simulator's three sources in the environment.
async fn health(sim: &Simulator, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("abm.pem");
    sim.write_abm_key(&key).expect("key");
    let exports = sim.env_exports(&key);
    let vars: Vec<(String, String)> = exports
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect();
    let args: Vec<String> = ["health"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mdm"))
            .args(&args)
            .env_clear()
            .envs(vars)
            .env("MDM_CLIENT_RATE_LIMITS", "off")
            .output()
            .expect("mdm runs")
    })
    .await
    .expect("join");
    drop(dir);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_json_matches_the_snapshot() {
    let sim = simulator(&[]).await;
    let o = health(&sim, &["--format", "json"]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["complete"], true);
    let names: Vec<&str> = doc["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["source"].as_str())
        .collect();
    assert_eq!(names, ["jamf", "kandji", "abm"]);
    insta::assert_json_snapshot!("health", doc);
    sim.shutdown().await;
}

/// A source whose listing is forbidden is reported as incomplete, with
/// the reason; the other sources' reports are still printed; exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_be_read_is_reported_and_fails_the_command() {
    let sim = simulator(&["Device list"]).await;
    let o = health(&sim, &["--format", "json"]).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("kandji could not be read in full"), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["complete"], false);
    let kandji = &doc["sources"][1];
    assert_eq!(kandji["source"], "kandji");
    assert_eq!(kandji["complete"], false);
    assert!(
        kandji["error"].as_str().is_some_and(|e| e.contains("403")),
        "{kandji}"
    );
    assert_eq!(doc["sources"][0]["complete"], true);
    assert!(doc["sources"][0]["records"].as_u64().unwrap_or(0) > 0);
    sim.shutdown().await;
}
