//! Incremental syncs through `mdm` against the simulator: after 10 Jamf
//! computers change, the next sync reads only those (and the overlap) and
//! leaves the inventory a full sync would; a computer removed between runs
//! is reported missing at the next full reading, not before.

mod common;

use std::collections::BTreeMap;

use common::{mdm, sim_env, simulator, stderr, stdout_json};
use mdm_mapping::Vendor;
use serde_json::Value;

/// Every asset as `serial → fields` (ids aside), read through the library.
async fn inventory(db: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    use mdm_mapping::store::Store as _;
    let store = mdm_mapping::store::sqlite::SqliteStore::open(db).expect("open");
    let inv = store.load().await.expect("load");
    inv.assets
        .iter()
        .map(|a| {
            let fields: BTreeMap<String, String> = a
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (
                fields.get("serial_number").cloned().unwrap_or_default(),
                fields,
            )
        })
        .collect()
}

fn run_json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    stdout_json(o)
}

/// `mdm sync --db DB --source jamf --format json EXTRA…`, its JSON plan.
async fn sync_jamf(env: &[(String, String)], db: &str, extra: &[&str]) -> Value {
    let mut args = vec!["sync", "--db", db, "--source", "jamf", "--format", "json"];
    args.extend_from_slice(extra);
    run_json(&mdm(&args, env).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_after_10_changes_reads_only_those_and_matches_a_full_sync() {
    let sim = simulator(400, 17, &[]).await;
    let (_key, mut env) = sim_env(&sim);
    // Pages of 10: a full reading takes many requests, as on a large fleet.
    env.push(("MDM_PAGE_SIZE".into(), "10".into()));
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    sim.reset_stats();
    sync_jamf(&env, &db, &[]).await;
    let full_requests = sim.stats().vendor(Vendor::Jamf).requests;

    let touched = sim.touch_jamf(10, 0);
    sim.reset_stats();
    let second = sync_jamf(&env, &db, &[]).await;
    let incremental_requests = sim.stats().vendor(Vendor::Jamf).requests;
    assert_eq!(second["summary"]["update"], 10, "{}", second["summary"]);
    assert_eq!(second["summary"]["create"], 0);

    let history = run_json(&mdm(&["history", "--db", &db, "--format", "json"], &env).await);
    let (last, first) = (&history[0], &history[1]);
    assert_eq!(last["full"], false);
    let read = last["read"]["jamf"].as_u64().expect("read");
    let all = first["read"]["jamf"].as_u64().expect("read");
    // The 10, and the few the overlap (10 minutes before the watermark) reads again.
    assert!(read >= 10 && read < all / 4, "read {read} of {all}");
    assert!(
        incremental_requests * 2 <= full_requests,
        "{incremental_requests} requests against {full_requests} for a full reading"
    );
    assert_eq!(
        last["requests"]["jamf"].as_u64(),
        Some(incremental_requests),
        "the history counts what the server saw"
    );

    // The same inventory as a full sync of the same server into a new file.
    let reference = dir.path().join("ref.db").display().to_string();
    sync_jamf(&env, &reference, &[]).await;
    let (got, want) = (inventory(&db).await, inventory(&reference).await);
    assert_eq!(got.len(), want.len());
    for (serial, fields) in &want {
        assert_eq!(got.get(serial), Some(fields), "{serial}");
    }
    assert!(touched.computers.len() == 10);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_computer_is_missing_at_the_next_full_reading_not_before() {
    let sim = simulator(120, 18, &[]).await;
    let (_key, env) = sim_env(&sim);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    let missing = |plan: &Value| {
        plan["lifecycle"]
            .as_array()
            .map_or(0, |l| l.iter().filter(|e| e["event"] == "missing").count())
    };
    sync_jamf(&env, &db, &[]).await;
    let gone = sim.fleet().jamf_computers()[2].id;
    sim.remove_jamf(&[gone]);
    assert_eq!(
        missing(&sync_jamf(&env, &db, &[]).await),
        0,
        "an incremental sync reports none"
    );
    let full = sync_jamf(&env, &db, &["--full"]).await;
    assert_eq!(missing(&full), 1, "{}", full["lifecycle"]);
    sim.shutdown().await;
}
