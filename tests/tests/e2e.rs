//! End to end: the three clients against the simulator, synced into SQLite.
//!
//! Each test starts its own loopback simulator; nothing leaves the machine.

use std::collections::{BTreeMap, BTreeSet};

mod common;

use common::sim::simulator;

use mdm_examples::cli::demo::simulator_sources;
use mdm_mapping::store::sqlite::SqliteStore;
use mdm_mapping::store::{FieldWrite, Store};
use mdm_mapping::sync::{self, SyncOptions};
use mdm_mapping::upsert::{ActionKind, Config};
use mdm_mapping::{Value, Vendor};

fn serial_of(fields: &mdm_mapping::Fields) -> Option<String> {
    fields.get_str("serial_number").map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_vendors_sync_into_one_asset_per_device_and_rerun_is_unchanged() {
    let sim = simulator(300, 11).await;
    let counts = sim.fleet().counts();
    assert!(
        counts.in_all_three > 0,
        "the fleet must exercise a three-way merge"
    );
    assert!(
        counts.jamf_duplicate_records > 0,
        "and a re-enrolled Jamf record"
    );
    let sources = simulator_sources(&sim).expect("sources");
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path().join("inv.db")).expect("db");

    let first = sync::run(
        &sources,
        &store,
        &Config::default(),
        &SyncOptions {
            dry_run: false,
            ..SyncOptions::default()
        },
    )
    .await
    .expect("first sync");
    assert!(first.source_errors.is_empty(), "{:?}", first.source_errors);
    let read: BTreeMap<Vendor, usize> = first.read.iter().map(|r| (r.vendor, r.records)).collect();
    assert_eq!(read[&Vendor::Abm], counts.abm_devices);
    assert_eq!(
        read[&Vendor::Jamf],
        counts.jamf_computers + counts.jamf_mobile_devices
    );
    assert_eq!(read[&Vendor::Kandji], counts.kandji_devices);
    assert_eq!(first.plan.summary.create, counts.physical_devices);
    assert_eq!(
        first.plan.summary.conflict,
        0,
        "{:#?}",
        first
            .plan
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Conflict)
            .collect::<Vec<_>>()
    );
    // The re-enrolled Mac's older Jamf record is collapsed, not a second asset.
    assert_eq!(first.plan.summary.skip, counts.jamf_duplicate_records);
    let report = first.report.as_ref().expect("applied");
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    // One asset per physical device: every fleet serial exactly once.
    let inv = store.load().await.expect("load");
    assert_eq!(inv.assets.len(), counts.physical_devices);
    let serials: Vec<String> = inv
        .assets
        .iter()
        .filter_map(|a| serial_of(&a.fields))
        .collect();
    let distinct: BTreeSet<&String> = serials.iter().collect();
    assert_eq!(distinct.len(), serials.len(), "a serial on two assets");
    let fleet: BTreeSet<String> = sim
        .fleet()
        .devices()
        .iter()
        .map(|d| d.serial.clone())
        .collect();
    assert_eq!(
        distinct.into_iter().cloned().collect::<BTreeSet<_>>(),
        fleet
    );

    // A device in all three sources carries each source's id and ABM's purchasing data.
    let shared = sim.fleet().serials_in_all_three()[0].to_string();
    let asset = inv
        .assets
        .iter()
        .find(|a| serial_of(&a.fields).as_deref() == Some(shared.as_str()))
        .expect("shared device");
    assert!(asset.fields.contains("jamf_id"), "{asset:?}");
    assert!(asset.fields.contains("kandji_id"), "{asset:?}");
    assert!(asset.fields.contains("purchase_source"), "{asset:?}");
    assert_eq!(asset.fields.get_str("status"), Some("allocated"));

    // Second run: every device unchanged, nothing written.
    let second = sync::run(
        &sources,
        &store,
        &Config::default(),
        &SyncOptions {
            dry_run: false,
            ..SyncOptions::default()
        },
    )
    .await
    .expect("second sync");
    let s = second.plan.summary;
    assert_eq!(
        (s.create, s.update, s.conflict, s.employee_create),
        (0, 0, 0, 0),
        "{:#?}",
        second
            .plan
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Update)
            .take(3)
            .collect::<Vec<_>>()
    );
    assert_eq!(s.unchanged, counts.physical_devices);
    assert_eq!(second.report.expect("applied").writes, 0);
    assert_eq!(
        store.load().await.expect("load").assets.len(),
        counts.physical_devices
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_owned_fields_stay_and_ambiguity_is_a_conflict() {
    let sim = simulator(120, 5).await;
    let fleet = sim.fleet();
    let devices = fleet.devices();
    let owned = &devices[0];
    let (a, b) = (&devices[1], &devices[2]);
    let store = SqliteStore::open_in_memory().expect("db");

    // An asset the inventory already tracks, with fields the inventory owns.
    let kept = store
        .create_asset(&[
            FieldWrite::set("serial_number", owned.serial.as_str()),
            FieldWrite::set("status", "in_repair"),
            FieldWrite::set("location", "Lab 3"),
            FieldWrite::set("condition", "cracked screen"),
        ])
        .await
        .expect("seed");
    // Two assets that both claim device `a`: one by serial, one by UDID of
    // `a` but with the serial of `b` — the engine must not guess.
    let by_serial = store
        .create_asset(&[FieldWrite::set("serial_number", a.serial.as_str())])
        .await
        .expect("seed");
    let by_udid = store
        .create_asset(&[
            FieldWrite::set("udid", a.udid_string().as_str()),
            FieldWrite::set("serial_number", b.serial.as_str()),
        ])
        .await
        .expect("seed");

    let sources = simulator_sources(&sim).expect("sources");
    let outcome = sync::run(
        &sources,
        &store,
        &Config::default(),
        &SyncOptions {
            dry_run: false,
            ..SyncOptions::default()
        },
    )
    .await
    .expect("sync");
    let inv = store.load().await.expect("load");
    let asset = inv.asset(&kept).expect("kept asset");
    assert_eq!(asset.fields.get_str("status"), Some("in_repair"));
    assert_eq!(asset.fields.get_str("location"), Some("Lab 3"));
    assert_eq!(asset.fields.get_str("condition"), Some("cracked screen"));
    assert!(
        asset.fields.contains("model"),
        "source-owned fields are filled: {asset:?}"
    );

    let conflict = outcome
        .plan
        .actions
        .iter()
        .find(|x| x.action == ActionKind::Conflict)
        .expect("a conflict is reported");
    assert!(
        conflict.candidates.contains(&by_serial) && conflict.candidates.contains(&by_udid),
        "{conflict:?}"
    );
    assert!(!conflict.reason.is_empty());
    // Nothing was written to either candidate, and no third asset was made for `a`.
    let inv_serials: Vec<String> = inv
        .assets
        .iter()
        .filter_map(|x| serial_of(&x.fields))
        .collect();
    assert_eq!(inv_serials.iter().filter(|s| **s == a.serial).count(), 1);
    assert_eq!(
        inv.asset(&by_udid)
            .and_then(|x| x.fields.get("udid"))
            .cloned(),
        Some(Value::Text(a.udid_string().into()))
    );
    assert!(outcome.is_complete(), "conflicts are reported, not errors");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing() {
    let sim = simulator(60, 3).await;
    let sources = simulator_sources(&sim).expect("sources");
    let store = SqliteStore::open_in_memory().expect("db");
    let outcome = sync::run(
        &sources,
        &store,
        &Config::default(),
        &SyncOptions {
            dry_run: true,
            ..SyncOptions::default()
        },
    )
    .await
    .expect("dry run");
    assert_eq!(
        outcome.plan.summary.create,
        sim.fleet().counts().physical_devices
    );
    assert!(outcome.report.is_none());
    assert_eq!(store.counts().expect("counts"), (0, 0));
    sim.shutdown().await;
}

/// A sync holds records with only the fields the plan reads: planning the
/// projected records gives exactly the plan of the full records, on an empty
/// inventory and on a synced one (updates, unchanged, merges, lifecycle).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projected_records_plan_exactly_like_full_records() {
    use futures::StreamExt;
    use mdm_mapping::upsert::{Projection, plan};

    let sim = simulator(300, 23).await;
    let sources = simulator_sources(&sim).expect("sources");
    let mut full = Vec::new();
    for source in &sources {
        let mut devices = source.devices(None);
        while let Some(d) = devices.next().await {
            full.push(d.expect("device"));
        }
    }
    // Some devices gone: released from the organisation in ABM, removed in
    // Kandji (the simulated fleet has none).
    let mut gone = (0usize, 0usize);
    for (i, d) in full.iter_mut().enumerate() {
        if i % 7 != 0 {
            continue;
        }
        match d.vendor {
            Vendor::Abm => {
                d.fields
                    .datetime("released_from_org_date_time", Some("2025-03-01T09:00:00Z"));
                gone.0 += 1;
            }
            Vendor::Kandji => {
                d.fields.set("is_removed", Some(Value::Bool(true)));
                gone.1 += 1;
            }
            Vendor::Jamf => {}
        }
    }
    assert!(gone.0 > 0 && gone.1 > 0, "{gone:?}");
    let config = Config::default();
    let projection = Projection::new(&config);
    let projected: Vec<_> = full
        .iter()
        .cloned()
        .map(|mut d| {
            projection.project(&mut d);
            d
        })
        .collect();
    let before: usize = full.iter().map(|d| d.fields.len()).sum();
    let after: usize = projected.iter().map(|d| d.fields.len()).sum();
    assert!(
        after < before,
        "the projection keeps {after} of {before} field values"
    );
    // Fields no mapping reads are gone (Jamf's IP address, Kandji's agent
    // version), fields the plan reads stay.
    for (d, p) in full.iter().zip(&projected) {
        for key in ["ip_address", "agent_version"] {
            assert!(!p.fields.contains(key), "{} kept {key}", p.source_id);
        }
        if let Some(serial) = d.fields.get("serial_number") {
            assert_eq!(p.fields.get("serial_number"), Some(serial));
        }
    }
    assert!(
        full.iter().any(|d| d.fields.contains("ip_address")),
        "the fleet has IP addresses to drop"
    );

    // Against an empty inventory, then against the inventory the full
    // records built, with one source's listing complete.
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path().join("inv.db")).expect("db");
    let empty = store.load().await.expect("load");
    let a = plan(&empty, &full, &config, &[]).expect("plan");
    let b = plan(&empty, &projected, &config, &[]).expect("plan");
    assert!(
        a.actions.iter().any(|x| x.reason.contains("released"))
            && a.actions.iter().any(|x| x.reason.contains("removed")),
        "gone devices are planned as such"
    );
    assert_same_plan(&a, &b);
    mdm_mapping::upsert::apply(&a, &store).await.expect("apply");
    let mut synced = store.load().await.expect("load");
    // Updates: every third asset lost a few source-owned values.
    for asset in synced.assets.iter_mut().step_by(3) {
        for field in ["os_version", "model", "device_name", "warranty_expiration"] {
            asset.fields.remove(field);
        }
    }
    // Change the fleet's view: drop a tenth of the records, so that some
    // assets are missing from the full Jamf listing.
    let keep = |i: &usize| i % 10 != 3;
    let full2: Vec<_> = (0..full.len())
        .filter(keep)
        .map(|i| full[i].clone())
        .collect();
    let proj2: Vec<_> = (0..projected.len())
        .filter(keep)
        .map(|i| projected[i].clone())
        .collect();
    let a = plan(&synced, &full2, &config, &[Vendor::Jamf.into()]).expect("plan");
    let b = plan(&synced, &proj2, &config, &[Vendor::Jamf.into()]).expect("plan");
    assert!(!a.lifecycle.is_empty(), "some assets are missing from Jamf");
    assert!(
        a.summary.update > 0 && a.summary.unchanged > 0,
        "{:?}",
        a.summary
    );
    assert_same_plan(&a, &b);
    sim.shutdown().await;
}

/// The two plans are the same, naming the first part that differs.
fn assert_same_plan(a: &mdm_mapping::upsert::Plan, b: &mdm_mapping::upsert::Plan) {
    let (a, b) = (
        serde_json::to_value(a).expect("json"),
        serde_json::to_value(b).expect("json"),
    );
    for part in [
        "summary",
        "actions",
        "employees",
        "likely_duplicates",
        "lifecycle",
    ] {
        match (&a[part], &b[part]) {
            (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{part}: lengths differ");
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    assert_eq!(p, q, "{part}[{i}] differs");
                }
            }
            (x, y) => assert_eq!(x, y, "{part} differs"),
        }
    }
    assert_eq!(a, b);
}

/// The inventory in `store`, without the ids it chose.
async fn canonical(store: &SqliteStore) -> (Vec<String>, Vec<String>) {
    let inv = store.load().await.expect("load");
    common::canonical(&inv, &Default::default())
}

/// A sync staged on disk and applied in small batches writes the inventory
/// one batch over everything writes, first and second time, with the same
/// counts and lifecycle events; and the outcome keeps no action when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_batches_sync_like_one_batch() {
    let sim = simulator(400, 23).await;
    let sources = simulator_sources(&sim).expect("sources");
    let dir = tempfile::tempdir().expect("tmp");
    let mut results = Vec::new();
    for (name, batch_records, keep_actions) in [("one", usize::MAX, true), ("small", 16, false)] {
        let store = SqliteStore::open(dir.path().join(format!("{name}.db"))).expect("db");
        let options = SyncOptions {
            batch_records,
            keep_actions,
            ..SyncOptions::default()
        };
        let mut runs = Vec::new();
        for run in 0..2 {
            if run == 1 {
                // A device Jamf no longer lists: missing on the second sync.
                store
                    .create_asset(&[
                        FieldWrite::set("jamf_id", "999999"),
                        FieldWrite::set("serial_number", "GONE00000001"),
                    ])
                    .await
                    .expect("create");
            }
            let o = sync::run(&sources, &store, &Config::default(), &options)
                .await
                .expect("sync");
            assert!(o.source_errors.is_empty(), "{:?}", o.source_errors);
            assert_eq!(o.plan.actions.is_empty(), !keep_actions);
            let mut lifecycle: Vec<String> = o
                .plan
                .lifecycle
                .iter()
                .map(|e| format!("{:?} {} {:?}", e.event, e.vendor, e.sources))
                .collect();
            lifecycle.sort();
            runs.push((
                o.plan.summary,
                o.batches,
                lifecycle,
                canonical(&store).await,
            ));
        }
        results.push(runs);
    }
    let (one, small) = (&results[0], &results[1]);
    assert_eq!(one[0].1, 1, "usize::MAX records per batch is one batch");
    assert!(
        small[0].1 > 20,
        "16 per batch: many batches ({})",
        small[0].1
    );
    assert!(one[0].0.create > 300 && one[0].0.employee_create > 0);
    assert!(
        one[1].2.iter().any(|e| e.starts_with("Missing jamf")),
        "the asset Jamf stopped listing is missing: {:?}",
        one[1].2
    );
    for run in 0..2 {
        assert_eq!(small[run].0, one[run].0, "summary of sync {run}");
        assert_eq!(small[run].2, one[run].2, "lifecycle of sync {run}");
        assert_eq!(small[run].3, one[run].3, "inventory after sync {run}");
    }
    assert_eq!(
        one[1].0.create + one[1].0.update,
        0,
        "the rerun writes nothing"
    );
}
