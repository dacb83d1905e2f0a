//! Resyncs skip the devices whose records the last sync found their asset
//! up to date with, when nothing wrote the asset since: never a device
//! that changed, whose asset another writer changed, or whose plan would
//! report something (a device gone from a full listing), and none once the
//! employees change.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Hook, Hooked, abm};
use mdm_mapping::store::{Asset, FieldWrite, MemoryStore, NewEmployee, Store};
use mdm_mapping::upsert::{
    ActionKind, Config, LifecycleKind, Plan, StagedOutcome, Staging, apply_staged,
};
use mdm_mapping::{Assignee, Entity, Listing, SourceDevice, Vendor};

/// Counts the assets a sync reads one by one.
#[derive(Default)]
struct Count(AtomicUsize);

#[async_trait::async_trait]
impl Hook for Count {
    async fn enter(&self, call: &'static str, items: usize) -> Option<Box<dyn Send + '_>> {
        if call == "assets" {
            self.0.fetch_add(items, Ordering::SeqCst);
        }
        None
    }
}

/// A [`MemoryStore`] that counts the assets a sync reads one by one.
type Counting<'a> = Hooked<'a, Count>;

fn counting(inner: &MemoryStore) -> Counting<'_> {
    Hooked {
        inner,
        hook: Count::default(),
    }
}

/// The assets read one by one since the last call.
fn take_read(store: &Counting<'_>) -> usize {
    store.hook.0.swap(0, Ordering::SeqCst)
}

/// A Jamf computer whose user is `email`.
fn jamf(id: &str, serial: &str, email: &str) -> SourceDevice {
    let mut d = common::jamf(id, serial);
    d.assignee = Some(Assignee {
        email: Some(email.into()),
        full_name: Some(format!("Ana {id}")),
        ..Assignee::default()
    });
    d
}

/// Six devices: Jamf alone, ABM alone, and both; one user each.
fn fleet() -> Vec<SourceDevice> {
    let mut out = Vec::new();
    for i in 1..=6 {
        let serial = format!("C02SKIP0000{i}");
        if i != 2 {
            out.push(jamf(
                &i.to_string(),
                &serial,
                &format!("user{i}@example.com"),
            ));
        }
        if i % 2 == 0 {
            out.push(abm(&serial));
        }
    }
    out
}

async fn sync(
    store: &Counting<'_>,
    records: &[SourceDevice],
    config: &Config,
    full: &[Listing],
) -> (StagedOutcome, Vec<Plan>) {
    let mut staging = Staging::new(config).unwrap();
    for r in records {
        staging.push(r.clone()).unwrap();
    }
    let mut staged = staging.finish().unwrap();
    let mut plans = Vec::new();
    // Batches of 4 records and assets: several batches, a skipped device
    // beside planned ones in one batch.
    let done = apply_staged(&mut staged, config, full, store, 4, |p, _| plans.push(p))
        .await
        .unwrap();
    (done, plans)
}

/// What a sync's unchanged actions name: (asset, its records).
fn unchanged(plans: &[Plan]) -> BTreeSet<(String, Vec<String>)> {
    plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter(|a| a.action == ActionKind::Unchanged)
        .map(|a| {
            let mut s: Vec<String> = a
                .sources
                .as_slice()
                .iter()
                .map(|s| format!("{} {:?} {}", s.vendor, s.entity, s.source_id.as_str()))
                .collect();
            s.sort();
            (a.target_id.as_deref().unwrap_or("").to_owned(), s)
        })
        .collect()
}

fn asset_with_serial(store: &Counting<'_>, serial: &str) -> Asset {
    store
        .inner
        .snapshot()
        .assets
        .into_iter()
        .find(|a| a.fields.get_str("serial_number") == Some(serial))
        .expect("the device's asset")
}

#[tokio::test]
async fn unchanged_devices_are_skipped_from_the_second_resync_on() {
    let inner = MemoryStore::default();
    let store = counting(&inner);
    let config = Config::default();
    let records = fleet();

    let (first, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!(
        (first.summary.create, first.skipped, first.sealed),
        (6, 0, 0)
    );
    take_read(&store);

    // The first resync plans every device, finds each up to date and
    // marks its asset.
    let (again, plans) = sync(&store, &records, &config, &[]).await;
    assert_eq!(
        (again.summary.unchanged, again.skipped, again.sealed),
        (6, 0, 6)
    );
    assert_eq!(take_read(&store), 6, "the first resync reads every asset");
    let planned = unchanged(&plans);
    let inventory = store.inner.snapshot();

    // The next one reads and plans none of them, and says the same.
    let (skipping, plans) = sync(&store, &records, &config, &[]).await;
    assert_eq!(
        (
            skipping.summary.unchanged,
            skipping.skipped,
            skipping.sealed
        ),
        (6, 6, 0)
    );
    assert_eq!(skipping.summary.update + skipping.summary.create, 0);
    assert_eq!(take_read(&store), 0, "no asset read one by one");
    assert_eq!(
        unchanged(&plans),
        planned,
        "the same devices, the same assets"
    );
    assert_eq!(store.inner.snapshot(), inventory);
}

#[tokio::test]
async fn an_asset_another_writer_changed_is_planned_again_and_put_back() {
    let inner = MemoryStore::default();
    let store = counting(&inner);
    let config = Config::default();
    let records = fleet();
    sync(&store, &records, &config, &[]).await;
    sync(&store, &records, &config, &[]).await;

    // Someone edits the model of one asset by hand.
    let asset = asset_with_serial(&store, "C02SKIP00003");
    let model = asset.fields.get_str("model").expect("a model").to_owned();
    store
        .update_asset(&asset.id, &[FieldWrite::set("model", "Edited by hand")])
        .await
        .unwrap();

    let (done, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!((done.skipped, done.summary.update), (5, 1));
    let now = asset_with_serial(&store, "C02SKIP00003");
    assert_eq!(now.fields.get_str("model"), Some(model.as_str()));
}

#[tokio::test]
async fn a_changed_record_is_planned_again() {
    let inner = MemoryStore::default();
    let store = counting(&inner);
    let config = Config::default();
    let mut records = fleet();
    sync(&store, &records, &config, &[]).await;
    sync(&store, &records, &config, &[]).await;

    records[0]
        .fields
        .text("operating_system", Some("macOS 15.3.0"));
    let (done, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!((done.skipped, done.summary.update), (5, 1));
    // Written, so its mark is gone; found up to date next time, marked
    // again, and skipped after that.
    let (done, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!((done.skipped, done.sealed), (5, 1));
    let (done, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!(done.skipped, 6);
}

#[tokio::test]
async fn a_device_gone_from_a_full_listing_is_reported_though_its_asset_was_marked() {
    let inner = MemoryStore::default();
    let store = counting(&inner);
    let config = Config::default();
    let mut records = fleet();
    // Device 4's Jamf record names no user, so that leaving Jamf changes
    // no user of the fleet (which would have every device planned again).
    let four = records
        .iter_mut()
        .find(|d| d.vendor == Vendor::Jamf && d.source_id == "4")
        .unwrap();
    four.assignee = None;
    sync(&store, &records, &config, &[]).await;
    // Marked by a sync that read Jamf in part (an incremental one).
    let (done, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!(done.sealed, 6);

    // Device 4 (Jamf and ABM) leaves Jamf; Jamf is read in full.
    records.retain(|d| !(d.vendor == Vendor::Jamf && d.source_id == "4"));
    let full = [Listing {
        vendor: Vendor::Jamf,
        qualifier: None,
    }];
    let (done, plans) = sync(&store, &records, &config, &full).await;
    let gone = asset_with_serial(&store, "C02SKIP00004");
    let missing: Vec<&str> = plans
        .iter()
        .flat_map(|p| &p.lifecycle)
        .filter(|e| e.event == LifecycleKind::Missing)
        .filter_map(|e| e.target_id.as_deref())
        .collect();
    assert_eq!(missing, [gone.id.as_str()]);
    // Device 2 (ABM alone) has no Jamf record either: a full Jamf
    // listing is part of its digest, so it is planned, not skipped; the
    // devices Jamf reports are skipped.
    assert_eq!(done.skipped, 4);
}

#[tokio::test]
async fn a_new_employee_has_every_device_planned_again_once() {
    let inner = MemoryStore::default();
    let store = counting(&inner);
    let config = Config::default();
    let records = fleet();
    sync(&store, &records, &config, &[]).await;
    sync(&store, &records, &config, &[]).await;
    assert_eq!(sync(&store, &records, &config, &[]).await.0.skipped, 6);

    // An employee another program adds may change what a plan says of a
    // user (a likely duplicate by name): every device is planned again.
    store
        .create_employee(&NewEmployee {
            first_name: "Ana".into(),
            last_name: "9".into(),
            emails: vec!["ana.9@example.com".into()],
        })
        .await
        .unwrap();
    let (done, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!((done.skipped, done.sealed), (0, 6));
    assert_eq!(sync(&store, &records, &config, &[]).await.0.skipped, 6);
}

#[tokio::test]
async fn a_jamf_computer_and_a_mobile_device_of_one_id_number_are_skipped_apart() {
    let inner = MemoryStore::default();
    let store = counting(&inner);
    let config = Config::default();
    // Jamf numbers computers and mobile devices apart: computer 7 and
    // mobile device 7 are two devices, with two assets of known kinds.
    let mut phone = SourceDevice::new(Vendor::Jamf, Entity::MobileDevice, "7");
    phone
        .fields
        .serial("serial_number", Some("F9FZSKIP0007"))
        .text("model", Some("iPhone 15"))
        .text("model_identifier", Some("iPhone15,4"))
        .text("os_version", Some("18.1"));
    let records = vec![jamf("7", "C02SKIP00007", "user7@example.com"), phone];

    let (first, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!(first.summary.create, 2);
    let types: BTreeSet<String> = store
        .inner
        .snapshot()
        .assets
        .iter()
        .filter_map(|a| a.fields.get_str("asset_type").map(str::to_owned))
        .collect();
    assert_eq!(types.len(), 2, "two assets of two known kinds: {types:?}");

    // Each is a device of its own: marked, then skipped.
    let (again, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!((again.summary.unchanged, again.sealed), (2, 2));
    let (skipping, _) = sync(&store, &records, &config, &[]).await;
    assert_eq!((skipping.summary.unchanged, skipping.skipped), (2, 2));
    assert_eq!(take_read(&store), 2, "only the first resync read them");
}
