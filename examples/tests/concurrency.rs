//! Overlapping syncs never duplicate the inventory: real `mdm sync`
//! processes at once (and tasks in one process), into SQLite and into
//! PostgreSQL (`MDM_TEST_POSTGRES_URL`), over one simulated fleet whose
//! devices are in Jamf, Kandji and ABM at once. The result must be the
//! inventory one sequential run leaves: one asset per physical device, one
//! employee per email. A sync killed with SIGKILL in the middle of its
//! batches converges when run again.

#[allow(dead_code)]
#[path = "../../tests/tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};
use std::time::Duration;

use mdm_examples::cli::demo::simulator_sources;
use mdm_mapping::store::Inventory;
use mdm_mapping::store::postgres::PgStore;
use mdm_mapping::store::sqlite::SqliteStore;
use mdm_mapping::upsert::Config;

use common::sim::{Env, env_for, simulator};
use common::{canonical, pg};

fn mdm_sync(env: &Env, db: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mdm"));
    c.args(["sync", "--db", db]).args(extra).env_clear();
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    c
}

/// Asserts two canonical inventories are equal, printing only what differs.
fn assert_same(got: &(Vec<String>, Vec<String>), want: &(Vec<String>, Vec<String>)) {
    let only = |a: &Vec<String>, b: &Vec<String>| -> Vec<String> {
        a.iter().filter(|x| !b.contains(x)).cloned().collect()
    };
    let (ga, wa) = (only(&got.0, &want.0), only(&want.0, &got.0));
    let (ge, we) = (only(&got.1, &want.1), only(&want.1, &got.1));
    // Field by field, for the first asset that differs.
    if let Some(g) = ga.first() {
        let g: serde_json::Map<String, serde_json::Value> = serde_json::from_str(g).expect("json");
        let serial = g.get("serial_number").cloned();
        if let Some(w) = wa.iter().find_map(|w| {
            let w: serde_json::Map<String, serde_json::Value> = serde_json::from_str(w).ok()?;
            (w.get("serial_number").cloned() == serial).then_some(w)
        }) {
            for k in g.keys().chain(w.keys()) {
                if g.get(k) != w.get(k) {
                    eprintln!(
                        "{serial:?} {k}: concurrent {:?} sequential {:?}",
                        g.get(k),
                        w.get(k)
                    );
                }
            }
        }
    }
    assert!(
        ga.is_empty() && wa.is_empty() && ge.is_empty() && we.is_empty(),
        "assets only in the concurrent run: {ga:#?}\nonly in the sequential run: {wa:#?}\nemployees only concurrent: {ge:?}\nonly sequential: {we:?}"
    );
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Drops a test's PostgreSQL schema (a SQLite file goes with its directory).
async fn drop_if_postgres(db: &str) {
    if db.starts_with("postgres") {
        PgStore::connect(db)
            .await
            .expect("connect")
            .drop_schema()
            .await
            .expect("drop");
    }
}

async fn load(db: &str) -> Inventory {
    let store = mdm_examples::cli::sync::open_store(db)
        .await
        .expect("open the inventory");
    store.load().await.expect("load")
}

/// One asset per physical device, one employee per email.
fn assert_no_duplicates(inv: &Inventory, physical: usize) {
    assert_eq!(inv.assets.len(), physical, "one asset per physical device");
    let mut serials: Vec<&str> = inv
        .assets
        .iter()
        .filter_map(|a| a.fields.get_str("serial_number"))
        .collect();
    serials.sort();
    let n = serials.len();
    serials.dedup();
    assert_eq!(serials.len(), n, "a serial on two assets");
    let mut emails: Vec<&String> = inv.employees.iter().flat_map(|e| &e.emails).collect();
    emails.sort();
    let n = emails.len();
    emails.dedup();
    assert_eq!(emails.len(), n, "an email on two employees");
}

/// Four `mdm sync` processes over the same three overlapping sources, at
/// once, into `db`; then the same sync alone into `reference`.
async fn four_processes_at_once(db: String, reference: String) {
    let sim = simulator(300, 21).await;
    let physical = sim.fleet().counts().physical_devices;
    let env = env_for(&sim);
    // Round 0 creates the fleet; round 1 finds it up to date and marks
    // the assets; round 2 skips the marked devices (README, "Resyncs skip
    // what did not change"). Each round is four processes at once.
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|_| {
                mdm_sync(&env, &db, &["--format", "json", "--batch-size", "64", "-v"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("mdm starts")
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|c| c.wait_with_output().expect("mdm ends"))
                .collect::<Vec<_>>()
        })
        .await
        .expect("join");
        let (mut created, mut retried, mut written) = (0, 0, 0);
        let mut skipped = Vec::new();
        for o in &outputs {
            ok(o);
            // `-v`'s line: "devices skipped as unchanged … skipped=N marked=M".
            let log = String::from_utf8_lossy(&o.stderr);
            skipped.push(
                log.split("skipped=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0),
            );
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            created += doc["summary"]["create"].as_u64().unwrap_or(0);
            written += doc["summary"]["update"].as_u64().unwrap_or(0);
            retried += doc["retried"]
                .as_u64()
                .expect("the outcome counts re-planned writes");
        }
        eprintln!(
            "round {round}: {retried} writes re-planned across the four runs; skipped {skipped:?} of {physical}"
        );
        if round == 0 {
            // Together they report each device created once: the losers of
            // a race report an update or unchanged, not a second create.
            assert_eq!(
                created as usize, physical,
                "creates reported across the four runs"
            );
        } else {
            // Resyncs of an unchanged fleet, marking or skipping at once,
            // create and change nothing.
            assert_eq!((created, written), (0, 0), "round {round}");
        }
        if round == 2 {
            // Each run skips nearly every device: the ones the marking round
            // found up to date (not those with a likely duplicate or a
            // superseded record to report, which are planned every time).
            for s in &skipped {
                assert!(
                    *s * 10 >= physical * 9,
                    "a run of the last round skipped {s} of {physical} devices"
                );
            }
        }
        let got = load(&db).await;
        assert_no_duplicates(&got, physical);
    }

    let env2 = env_for(&sim);
    let o = tokio::task::spawn_blocking(move || mdm_sync(&env2, &reference, &[]).output())
        .await
        .expect("join")
        .expect("mdm runs");
    ok(&o);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sync_processes_at_once_into_sqlite_leave_the_sequential_inventory() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("shared.db").display().to_string();
    let reference = dir.path().join("reference.db").display().to_string();
    four_processes_at_once(db.clone(), reference.clone()).await;
    assert_same(
        &canonical(&load(&db).await, &Inventory::default()),
        &canonical(&load(&reference).await, &Inventory::default()),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sync_processes_at_once_into_postgres_leave_the_sequential_inventory() {
    let Some(url) = pg::url() else {
        return;
    };
    let db = pg::url_with_fresh_schema(&url);
    let reference = pg::url_with_fresh_schema(&url);
    four_processes_at_once(db.clone(), reference.clone()).await;
    assert_same(
        &canonical(&load(&db).await, &Inventory::default()),
        &canonical(&load(&reference).await, &Inventory::default()),
    );
    for u in [db, reference] {
        drop_if_postgres(&u).await;
    }
}

/// Four syncs as tasks of one program, each with its own store handle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sync_tasks_at_once_leave_the_sequential_inventory() {
    let sim = simulator(200, 23).await;
    let physical = sim.fleet().counts().physical_devices;
    let dir = tempfile::tempdir().expect("tmp");
    let mut dbs = vec![dir.path().join("tasks.db").display().to_string()];
    if let Some(url) = pg::url() {
        dbs.push(pg::url_with_fresh_schema(&url));
    }
    let reference = dir.path().join("reference.db").display().to_string();
    {
        let store = SqliteStore::open(&reference).expect("db");
        let sources = simulator_sources(&sim).expect("sources");
        mdm_mapping::sync::run(&sources, &store, &Config::default(), &Default::default())
            .await
            .expect("reference sync");
    }
    let want = canonical(&load(&reference).await, &Inventory::default());
    for db in dbs {
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let sources = simulator_sources(&sim).expect("sources");
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let store = mdm_examples::cli::sync::open_store(&db)
                    .await
                    .expect("open");
                let options = mdm_mapping::sync::SyncOptions {
                    batch_records: 32,
                    ..Default::default()
                };
                let o = mdm_mapping::sync::run(&sources, &*store, &Config::default(), &options)
                    .await
                    .expect("sync");
                let r = o.report.expect("applied");
                assert!(r.failures.is_empty(), "{:?}", r.failures);
                (o.plan.summary.create, r.retried)
            }));
        }
        let mut created = 0;
        for t in tasks {
            created += t.await.expect("task").0;
        }
        assert_eq!(created, physical, "{db}");
        let got = load(&db).await;
        assert_no_duplicates(&got, physical);
        assert_same(&canonical(&got, &Inventory::default()), &want);
        drop_if_postgres(&db).await;
    }
    sim.shutdown().await;
}

async fn count(db: &str) -> usize {
    if db.starts_with("postgres") {
        PgStore::connect(db)
            .await
            .expect("connect")
            .counts()
            .await
            .map(|c| c.0)
            .unwrap_or(0)
    } else {
        SqliteStore::open(db)
            .and_then(|s| s.counts())
            .map(|c| c.0)
            .unwrap_or(0)
    }
}

/// SIGKILL part way through the batches, then the same sync again: no
/// duplicate, nothing lost, the inventory of one uninterrupted run.
async fn killed_mid_batch_converges(db: String, reference: String) {
    let sim = simulator(1500, 29).await;
    let physical = sim.fleet().counts().physical_devices;
    let env = env_for(&sim);
    let mut child = mdm_sync(&env, &db, &["--batch-size", "16", "--format", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mdm starts");
    // Wait for some batches to be committed, then kill it mid-run.
    let mut seen = 0;
    for _ in 0..6000 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        seen = count(&db).await;
        if seen > 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(
        seen > 0 && seen < physical,
        "the kill came part way through ({seen} of {physical} assets written)"
    );
    let o = tokio::task::spawn_blocking({
        let (env, db) = (env_for(&sim), db.clone());
        move || mdm_sync(&env, &db, &[]).output()
    })
    .await
    .expect("join")
    .expect("mdm runs");
    ok(&o);
    let env2 = env_for(&sim);
    let r = reference.clone();
    let o = tokio::task::spawn_blocking(move || mdm_sync(&env2, &r, &[]).output())
        .await
        .expect("join")
        .expect("mdm runs");
    ok(&o);
    let got = load(&db).await;
    assert_no_duplicates(&got, physical);
    assert_same(
        &canonical(&got, &Inventory::default()),
        &canonical(&load(&reference).await, &Inventory::default()),
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_batch_converges_in_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    killed_mid_batch_converges(
        dir.path().join("killed.db").display().to_string(),
        dir.path().join("reference.db").display().to_string(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_batch_converges_in_postgres() {
    let Some(url) = pg::url() else {
        return;
    };
    let db = pg::url_with_fresh_schema(&url);
    let reference = pg::url_with_fresh_schema(&url);
    killed_mid_batch_converges(db.clone(), reference.clone()).await;
    for u in [db, reference] {
        drop_if_postgres(&u).await;
    }
}

/// Tenant `t`'s records: one computer per user, each user named
/// `Person N Shared` under an email of the tenant's own domain, so every
/// name is in both tenants under two emails.
fn tenant_records(t: usize, users: usize) -> Vec<mdm_mapping::SourceDevice> {
    use mdm_mapping::{Assignee, Entity, SourceDevice, Vendor};
    (0..users)
        .map(|i| {
            let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, format!("{t}{i:04}"));
            d.fields
                .serial("serial_number", Some(&format!("C02T{t}X{i:05}")));
            d.assignee = Assignee {
                email: Some(format!("person{i}@tenant{t}.example")),
                full_name: Some(format!("Person{i} Shared")),
                ..Assignee::default()
            }
            .into_option();
            d
        })
        .collect()
}

async fn stage_and_apply(
    store: &dyn mdm_mapping::store::Store,
    records: Vec<mdm_mapping::SourceDevice>,
) {
    let config = Config::default();
    let mut staging = mdm_mapping::upsert::Staging::new(&config).expect("staging");
    for d in records {
        staging.push(d).expect("stage");
    }
    let mut staged = staging.finish().expect("staged");
    let done = mdm_mapping::upsert::apply_staged(&mut staged, &config, &[], store, 4, |_, _| {})
        .await
        .expect("apply");
    assert!(
        done.report.failures.is_empty(),
        "{:?}",
        done.report.failures
    );
}

/// The employees' names, sorted (case as stored).
fn employee_names(inv: &Inventory) -> Vec<String> {
    let mut names: Vec<String> = inv
        .employees
        .iter()
        .map(|e| format!("{} {}", e.first_name, e.last_name))
        .collect();
    names.sort();
    names
}

/// Two tenants whose users share names under other emails, synced at once
/// into one inventory, leave the employees a sequential run leaves: each
/// name once (the second email is a likely duplicate, not an employee).
/// The store refuses a create under a name another employee holds; without
/// that, both writers plan from snapshots in which the name is free and
/// both create it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_sharing_names_synced_at_once_create_each_name_once() {
    let users = 60;
    let dir = tempfile::tempdir().expect("tmp");
    let mut dbs = vec![(
        dir.path().join("names.db").display().to_string(),
        dir.path().join("names-seq.db").display().to_string(),
    )];
    if let Some(url) = pg::url() {
        dbs.push((
            pg::url_with_fresh_schema(&url),
            pg::url_with_fresh_schema(&url),
        ));
    }
    for (db, reference) in dbs {
        {
            let store = mdm_examples::cli::sync::open_store(&reference)
                .await
                .expect("open");
            for t in 0..2 {
                stage_and_apply(&*store, tenant_records(t, users)).await;
            }
        }
        let tasks: Vec<_> = (0..2)
            .map(|t| {
                let db = db.clone();
                tokio::spawn(async move {
                    let store = mdm_examples::cli::sync::open_store(&db)
                        .await
                        .expect("open");
                    stage_and_apply(&*store, tenant_records(t, users)).await;
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let (got, want) = (load(&db).await, load(&reference).await);
        assert_eq!(
            want.employees.len(),
            users,
            "the sequential run: one employee per name"
        );
        assert_eq!(employee_names(&got), employee_names(&want), "{db}");
        assert_eq!(got.assets.len(), 2 * users);
        for u in [db, reference] {
            drop_if_postgres(&u).await;
        }
    }
}
