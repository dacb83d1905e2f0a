//! Run history and scheduled syncs, through the `mdm` binary against the
//! simulator: `mdm history` shows what each sync did; two `mdm sync
//! --every` schedulers on one inventory never run at the same time (SQLite,
//! and PostgreSQL when `MDM_TEST_POSTGRES_URL` is set); SIGTERM stops a
//! scheduler with exit 0 and the run recorded.

#[allow(dead_code)]
#[path = "../../tests/tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::pg;
use common::sim::{Env, env_for, simulator};
use serde_json::Value;

fn mdm(env: &Env, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mdm"));
    c.args(args).env_clear();
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    c.env("MDM_CLIENT_RATE_LIMITS", "off");
    c
}

fn history(env: &Env, db: &str) -> Vec<Value> {
    let out = mdm(
        env,
        &["history", "--db", db, "--last", "100", "--format", "json"],
    )
    .output()
    .expect("history runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("history JSON")
}

/// Runs `cmd` (an `mdm sync`) to success.
fn sync_ok(mut cmd: Command) {
    let out = cmd.output().expect("sync runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn count(run: &Value, key: &str) -> u64 {
    run["counts"][key].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_what_each_sync_did() {
    let sim = simulator(150, 41).await;
    let physical = sim.fleet().counts().physical_devices as u64;
    let env = env_for(&sim);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    // No history yet: a file that does not exist is not created.
    let empty = mdm(&env, &["history", "--db", &db]).output().expect("runs");
    assert!(String::from_utf8_lossy(&empty.stdout).starts_with("no runs recorded"));
    assert!(!std::path::Path::new(&db).exists());
    for _ in 0..2 {
        sync_ok(mdm(&env, &["sync", "--db", &db, "--format", "json"]));
    }
    let runs = history(&env, &db);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let (second, first) = (&runs[0], &runs[1]);
    assert!(second["id"].as_i64() > first["id"].as_i64());
    assert_eq!(first["outcome"], "ok");
    assert_eq!(count(first, "create"), physical);
    assert_eq!((count(second, "create"), count(second, "update")), (0, 0));
    // The first reading is full; the second reads Jamf incrementally (only
    // the overlap before the watermark), Kandji and ABM in full.
    assert_eq!(
        (&first["full"], &second["full"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    let read = |r: &Value, s: &str| r["read"][s].as_u64().unwrap_or(0);
    let requests = |r: &Value, s: &str| r["requests"][s].as_u64().unwrap_or(0);
    assert!(read(second, "jamf") < read(first, "jamf"), "{second}");
    assert_eq!(read(second, "kandji"), read(first, "kandji"));
    assert!(
        requests(first, "jamf") > 0 && requests(first, "kandji") > 0 && requests(first, "abm") > 0,
        "{first}"
    );
    assert!(
        requests(second, "jamf") <= requests(first, "jamf"),
        "{second}"
    );
    assert!(count(second, "unchanged") <= physical);
    let counts = sim.fleet().counts();
    assert_eq!(
        first["read"]["jamf"].as_u64(),
        Some((counts.jamf_computers + counts.jamf_mobile_devices) as u64)
    );
    assert_eq!(
        first["read"]["kandji"].as_u64(),
        Some(counts.kandji_devices as u64)
    );
    assert_eq!(
        first["read"]["abm"].as_u64(),
        Some(counts.abm_devices as u64)
    );
    assert_eq!(
        first["sources"],
        serde_json::json!(["jamf", "kandji", "abm"])
    );
    let started = |r: &Value| r["started"].as_str().expect("started").to_string();
    assert!(started(first) <= started(second));

    // The table names the outcome and the counts.
    let table = mdm(&env, &["history", "--db", &db]).output().expect("runs");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().count() >= 3, "{text}");
    assert!(text.contains(" ok "), "{text}");
}

/// SIGTERM, as a service manager stops a scheduler.
fn terminate(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

async fn two_schedulers_never_overlap(db: &str) {
    let sim = simulator(400, 43).await;
    let env = env_for(&sim);
    let start = || {
        mdm(
            &env,
            &[
                "sync",
                "--db",
                db,
                "--every",
                "300ms",
                "--jitter",
                "0s",
                "--batch-size",
                "16",
                "--format",
                "json",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scheduler starts")
    };
    let (a, b) = (start(), start());
    // Real processes, real time: long enough for several runs each.
    tokio::time::sleep(Duration::from_secs(6)).await;
    terminate(&a);
    terminate(&b);
    for child in [a, b] {
        let out = child.wait_with_output().expect("scheduler ends");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a scheduler did not exit 0: {err}");
        assert!(!err.contains("failed"), "{err}");
    }
    let mut runs = history(&env, db);
    assert!(runs.len() >= 3, "too few runs to show anything: {runs:#?}");
    runs.sort_by_key(|r| r["started"].as_str().map(str::to_string));
    for pair in runs.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        let ended = chrono::DateTime::parse_from_rfc3339(earlier["ended"].as_str().expect("ended"))
            .expect("time");
        let started =
            chrono::DateTime::parse_from_rfc3339(later["started"].as_str().expect("started"))
                .expect("time");
        assert!(
            ended <= started,
            "runs {} and {} overlap: {earlier:#} {later:#}",
            earlier["id"],
            later["id"]
        );
    }
    for r in &runs {
        assert!(r["outcome"] == "ok" || r["outcome"] == "cancelled", "{r:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_one_sqlite_file_never_overlap() {
    let dir = tempfile::tempdir().expect("tmp");
    two_schedulers_never_overlap(&dir.path().join("inv.db").display().to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_one_postgres_database_never_overlap() {
    let Some(url) = pg::url() else {
        return;
    };
    let db = pg::url_with_fresh_schema(&url);
    two_schedulers_never_overlap(&db).await;
    // The schema is the test's own: dropped, so runs leave none behind.
    mdm_mapping::store::postgres::PgStore::connect(&db)
        .await
        .expect("connect")
        .drop_schema()
        .await
        .expect("drop");
}

/// SIGTERM in the middle of writing: the batch in hand is finished, the
/// run is recorded as cancelled, and the next sync does the rest without a
/// duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_batch_in_hand_and_the_next_sync_does_the_rest() {
    let sim = simulator(3000, 47).await;
    let physical = sim.fleet().counts().physical_devices as u64;
    let env = env_for(&sim);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    let child = mdm(
        &env,
        &["sync", "--db", &db, "--batch-size", "4", "--format", "json"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("sync starts");
    // Wait until it writes (the file grows past its empty schema), then stop it.
    let wal = format!("{db}-wal");
    for _ in 0..600 {
        let written = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if written > 256 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    terminate(&child);
    let out = child.wait_with_output().expect("sync ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stopping after the batch in hand"), "{err}");
    assert!(err.contains("stopped before the end"), "{err}");
    let runs = history(&env, &db);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["outcome"], "cancelled", "{:#}", runs[0]);
    let created = count(&runs[0], "create");
    assert!(created > 0 && created < physical, "{:#}", runs[0]);

    let again = mdm(&env, &["sync", "--db", &db, "--format", "json"])
        .output()
        .expect("sync runs");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let runs = history(&env, &db);
    assert_eq!(runs[0]["outcome"], "ok");
    assert_eq!(
        count(&runs[0], "create") + created,
        physical,
        "{:#}",
        runs[0]
    );
    assert_eq!(count(&runs[0], "unchanged"), created, "{:#}", runs[0]);
}

/// The rate ABM's adaptive pacing learned is kept in the run's history
/// (client-side pacing on, as in production).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_keeps_the_learned_abm_rate() {
    let sim = simulator(30, 43).await;
    let env = env_for(&sim);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    let mut sync = mdm(
        &env,
        &["sync", "--db", &db, "--source", "abm", "--format", "json"],
    );
    sync.env_remove("MDM_CLIENT_RATE_LIMITS");
    sync_ok(sync);
    let runs = history(&env, &db);
    let rate = runs[0]["learned_rates"]["abm"].as_f64();
    assert!(rate.is_some_and(|r| r >= 20.0), "{}", runs[0]);
    assert_eq!(runs[0]["requests"]["abm"].as_u64(), Some(1), "{}", runs[0]);
    sim.shutdown().await;
}
