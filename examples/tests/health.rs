//! `mdm health` on the simulator: the JSON document (a snapshot: its shape
//! is documented and stable), and a source that cannot be read in full.

mod common;

use common::{mdm, sim_env, simulator, stderr, stdout_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_json_matches_the_snapshot() {
    let sim = simulator(40, 3, &[]).await;
    let (_key, env) = sim_env(&sim);
    let o = mdm(&["health", "--format", "json"], &env).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = stdout_json(&o);
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
    let sim = simulator(40, 3, &["Device list"]).await;
    let (_key, env) = sim_env(&sim);
    let o = mdm(&["health", "--format", "json"], &env).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("kandji could not be read in full"), "{err}");
    let doc = stdout_json(&o);
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
