//! Property tests of the upsert engine over random inventories and incoming
//! batches: shuffled order, case and whitespace noise in identifiers,
//! repeated and re-enrolled devices, several sources per device, users with
//! shared names, and interrupted applies.
//!
//! Properties:
//! 1. after apply, no two assets share an identifier;
//! 2. a second plan on the applied inventory writes nothing;
//! 3. inventory-owned fields never change on existing assets;
//! 4. an apply interrupted after any k writes, then planned and applied
//!    again, ends in the same inventory as an uninterrupted apply (modulo
//!    store-chosen ids).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mdm_mapping::store::{Asset, Employee, FailMode, Inventory, MemoryStore, Store};
use mdm_mapping::upsert::{self, Config};
use mdm_mapping::{Assignee, Entity, Fields, Listing, SourceDevice, Value, Vendor};
use proptest::prelude::*;

const MODELS: &[(&str, &str, bool)] = &[
    ("MacBook Pro (13-inch, 2018)", "MacBookPro15,2", true),
    ("MacBook Air (M2, 2022)", "Mac14,2", true),
    ("Mac mini (M2, 2023)", "Mac14,3", true),
    ("iPhone 15 Pro", "iPhone16,1", false),
    ("iPad Pro (12.9-inch) (6th generation)", "iPad14,5", false),
];
const NAMES: &[(&str, &str)] = &[("Ana", "Díaz"), ("Ben", "Okafor"), ("Cleo", "Marsh")];

/// One real device and how the world sees it.
#[derive(Debug, Clone)]
struct Device {
    n: usize,
    model: usize,
    has_udid: bool,
    has_imei: bool,
    /// Sources reporting it: Jamf, Kandji, ABM.
    jamf: bool,
    kandji: bool,
    abm: bool,
    /// Jamf reports it twice (re-enrolled: a second, newer Jamf id).
    reenrolled: bool,
    /// The same record appears twice in the batch.
    repeated: bool,
    /// Kandji marks it removed.
    removed: bool,
    /// User: (name index, email variant).
    user: Option<(usize, usize)>,
    os_minor: u8,
    /// In the inventory already: (noise in identifiers, with asset_type, stale os).
    existing: Option<(u8, bool, bool)>,
}

impl Device {
    fn computer(&self) -> bool {
        MODELS[self.model].2
    }
    fn serial(&self) -> String {
        format!("C02X{:04}ABCD", self.n)
    }
    fn udid(&self) -> String {
        format!("00008020-{:012}", self.n + 7)
    }
    fn imei(&self) -> String {
        format!("35{:013}", self.n)
    }
    fn jamf_id(&self, second: bool) -> String {
        // Computers and mobile devices have separate Jamf id spaces.
        let base = if self.computer() { 0 } else { 10_000 };
        (base + self.n * 2 + usize::from(second) + 1).to_string()
    }
    fn kandji_id(&self) -> String {
        format!("5c4b1a2e-0000-4000-8000-{:012}", self.n)
    }
    fn email(&self) -> Option<String> {
        self.user.map(|(name, variant)| {
            format!(
                "{}{}@corp.example",
                NAMES[name].0.to_lowercase(),
                if variant == 0 {
                    String::new()
                } else {
                    variant.to_string()
                }
            )
        })
    }
}

fn device(n: usize) -> impl Strategy<Value = Device> {
    (
        0..MODELS.len(),
        any::<bool>(),
        any::<bool>(),
        (0u8..8),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.8, (0..NAMES.len(), 0usize..2)),
        0u8..3,
        prop::option::weighted(0.5, (0u8..4, any::<bool>(), any::<bool>())),
    )
        .prop_map(
            move |(
                model,
                has_udid,
                has_imei,
                srcs,
                reenrolled,
                repeated,
                removed,
                user,
                os_minor,
                existing,
            )| {
                // At least one source.
                let srcs = if srcs == 0 { 1 } else { srcs };
                Device {
                    n,
                    model,
                    has_udid,
                    has_imei,
                    jamf: srcs & 1 != 0,
                    kandji: srcs & 2 != 0,
                    abm: srcs & 4 != 0,
                    reenrolled,
                    repeated,
                    removed,
                    user,
                    os_minor,
                    existing,
                }
            },
        )
}

/// Case and whitespace noise as an inventory or a careless source writes it.
fn noisy(s: &str, noise: u8) -> String {
    match noise {
        1 => s.to_lowercase(),
        2 => format!("  {s} "),
        3 => {
            let (a, b) = s.split_at(s.len() / 2);
            format!("{} {}", a.to_lowercase(), b)
        }
        _ => s.to_string(),
    }
}

fn records(d: &Device) -> Vec<SourceDevice> {
    let (model, ident, computer) = MODELS[d.model];
    let mut out = Vec::new();
    let assignee = |d: &Device| {
        d.user.and_then(|(name, _)| {
            Assignee {
                email: d.email().map(|e| noisy(&e, 1)),
                full_name: Some(format!("{} {}", NAMES[name].0, NAMES[name].1)),
                ..Assignee::default()
            }
            .into_option()
        })
    };
    if d.jamf {
        let entity = if computer {
            Entity::Computer
        } else {
            Entity::MobileDevice
        };
        for second in [false, true] {
            if second && !d.reenrolled {
                continue;
            }
            let mut r = SourceDevice::new(Vendor::Jamf, entity, d.jamf_id(second));
            r.fields
                .text("serial_number", Some(&noisy(&d.serial(), (d.n % 4) as u8)))
                .text("model", Some(model))
                .text("model_identifier", Some(ident))
                .text(
                    "operating_system",
                    Some(&format!("macOS 15.{}.0", d.os_minor)),
                )
                .datetime(
                    "last_contact_time",
                    Some(if second {
                        "2025-03-01T00:00:00Z"
                    } else {
                        "2024-03-01T00:00:00Z"
                    }),
                );
            if d.has_udid {
                r.fields.text("udid", Some(&d.udid()));
            }
            if d.has_imei && !computer {
                r.fields.list("imei", [d.imei().as_str()]);
            }
            r.assignee = assignee(d);
            out.push(r);
        }
    }
    if d.kandji {
        let mut r = SourceDevice::new(Vendor::Kandji, Entity::Device, d.kandji_id());
        r.fields
            .serial("serial_number", Some(&d.serial()))
            .text("model", Some(model))
            .text("platform", Some(if computer { "Mac" } else { "iPhone" }))
            .text("os_version", Some(&format!("15.{}", d.os_minor)))
            .text("device_name", Some(&format!("device-{}", d.n)));
        if d.has_udid {
            r.fields.text("udid", Some(&noisy(&d.udid(), 1)));
        }
        if d.removed {
            r.fields.bool("is_removed", Some(true));
        }
        r.assignee = assignee(d);
        out.push(r);
    }
    if d.abm {
        let mut r = SourceDevice::new(Vendor::Abm, Entity::Device, d.serial());
        r.fields
            .serial("serial_number", Some(&d.serial()))
            .text("device_model", Some(model))
            .text("product_type", Some(ident))
            .text("order_number", Some(&format!("ORD-{}", d.n)));
        if d.has_imei && !computer {
            r.fields.list("imei", [noisy(&d.imei(), 2).as_str()]);
        }
        out.push(r);
    }
    if d.repeated
        && let Some(first) = out.first().cloned()
    {
        out.push(first);
    }
    out
}

fn existing_asset(d: &Device, id: String) -> Option<Asset> {
    let (noise, with_type, stale) = d.existing?;
    let mut f = Fields::new();
    f.text("serial_number", Some(&noisy(&d.serial(), noise)));
    if d.jamf && noise % 2 == 0 {
        f.text("jamf_id", Some(&d.jamf_id(false)));
    }
    if d.has_udid && noise == 3 {
        f.text("udid", Some(&noisy(&d.udid(), 1)));
    }
    if with_type {
        f.text(
            "asset_type",
            Some(if d.computer() { "laptop" } else { "phone" }),
        );
    }
    f.text("os_version", Some(if stale { "14.0" } else { "15.0.0" }));
    f.text(
        "status",
        Some(["allocated", "in_repair", "spare"][usize::from(noise % 3)]),
    );
    f.text("location", Some("HQ"));
    if noise == 1 {
        f.text("assignee_id", Some("e-existing"));
    }
    Some(Asset::new(id, f))
}

#[derive(Debug, Clone)]
struct Case {
    inventory: Inventory,
    incoming: Vec<SourceDevice>,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..10)
        .prop_flat_map(|n| (0..n).map(device).collect::<Vec<_>>())
        .prop_flat_map(|devices| {
            let mut inventory = Inventory::default();
            for d in &devices {
                if let Some(a) = existing_asset(d, format!("x{}", d.n)) {
                    inventory.assets.push(a);
                }
            }
            // One employee known by a second address.
            inventory.employees.push(Employee {
                id: "e-existing".into(),
                first_name: "Ana".into(),
                last_name: "Díaz".into(),
                emails: vec!["ANA@corp.example".into(), "ana.diaz@home.example".into()],
            });
            let incoming: Vec<SourceDevice> = devices.iter().flat_map(records).collect();
            (Just(inventory), Just(incoming).prop_shuffle())
        })
        .prop_map(|(inventory, incoming)| Case {
            inventory,
            incoming,
        })
}

/// Every (identifier field, normalized value) of the inventory, with the
/// assets holding it.
fn identifier_owners(inv: &Inventory) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for a in &inv.assets {
        for field in ["jamf_id", "kandji_id", "serial_number", "udid", "imei"] {
            let values: Vec<String> = match a.fields.get(field) {
                Some(Value::Text(s)) => vec![s.to_string()],
                Some(Value::List(l)) => l.clone(),
                _ => continue,
            };
            for v in values {
                let norm: String = v
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .flat_map(char::to_uppercase)
                    .collect();
                out.entry((field.to_string(), norm))
                    .or_default()
                    .insert(a.id.clone());
            }
        }
    }
    out
}

/// The inventory without store-chosen ids: assets as field maps with the
/// assignee replaced by that employee's emails, employees without ids.
fn canonical(inv: &Inventory) -> (Vec<String>, Vec<String>) {
    let emails: HashMap<&str, Vec<String>> = inv
        .employees
        .iter()
        .map(|e| {
            let mut em = e.emails.clone();
            em.sort();
            (e.id.as_str(), em)
        })
        .collect();
    let mut assets: Vec<String> = inv
        .assets
        .iter()
        .map(|a| {
            let mut m: BTreeMap<String, serde_json::Value> = a
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect();
            if let Some(serde_json::Value::String(id)) = m.get("assignee_id").cloned() {
                m.insert(
                    "assignee_id".into(),
                    serde_json::json!(emails.get(id.as_str()).cloned().unwrap_or(vec![id])),
                );
            }
            // Pre-existing assets keep their ids: compare those too.
            if a.id.starts_with('x') {
                m.insert("id".into(), serde_json::json!(a.id));
            }
            serde_json::to_string(&m).unwrap()
        })
        .collect();
    assets.sort();
    let mut employees: Vec<String> = inv
        .employees
        .iter()
        .map(|e| {
            let mut em = e.emails.clone();
            em.sort();
            format!("{} {} {:?}", e.first_name, e.last_name, em)
        })
        .collect();
    employees.sort();
    (assets, employees)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

async fn plan_and_apply(
    store: &MemoryStore,
    incoming: &[SourceDevice],
    config: &Config,
) -> upsert::Plan {
    let p = upsert::plan(&store.load().await.unwrap(), incoming, config, &[]).unwrap();
    upsert::apply(&p, store).await.unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn apply_is_duplicate_free_idempotent_and_respects_ownership(c in case()) {
        let config = Config::default();
        let store = MemoryStore::new(c.inventory.clone());
        let first = block_on(plan_and_apply(&store, &c.incoming, &config));
        let after = store.snapshot();

        // 1. No two assets share an identifier.
        for ((field, value), owners) in identifier_owners(&after) {
            prop_assert!(owners.len() == 1, "{field} {value} on {owners:?}\n{first:#?}");
        }
        // No conflicts arise from clean data.
        prop_assert_eq!(first.summary.conflict, 0, "{:#?}", first);

        // 2. A second plan writes nothing.
        let second = upsert::plan(&after, &c.incoming, &config, &[]).unwrap();
        prop_assert!(second.is_noop(), "{:#?}", second);
        prop_assert_eq!(second.summary.create + second.summary.update, 0);

        // 3. Inventory-owned fields of existing assets never change.
        for before in &c.inventory.assets {
            let now = after.asset(&before.id).expect("assets are never deleted");
            for f in ["status", "assignee_id", "location", "condition"] {
                prop_assert_eq!(before.fields.get(f), now.fields.get(f), "{} {}", before.id, f);
            }
        }
        // Every device that has an identifier and is not removed has an asset.
        prop_assert!(after.assets.len() >= c.inventory.assets.len());
    }

    #[test]
    fn interrupted_apply_converges(c in case(), k_seed in any::<usize>(), after_write in any::<bool>()) {
        let config = Config::default();
        let reference = MemoryStore::new(c.inventory.clone());
        block_on(plan_and_apply(&reference, &c.incoming, &config));
        let want = canonical(&reference.snapshot());
        // Interrupt somewhere within the writes the full apply makes.
        let k = k_seed % (reference.writes() + 1);

        let store = MemoryStore::new(c.inventory.clone());
        let mode = if after_write { FailMode::AfterWrite } else { FailMode::BeforeWrite };
        store.fail_after(k, mode);
        let p = upsert::plan(&block_on(store.load()).unwrap(), &c.incoming, &config, &[]).unwrap();
        let interrupted = block_on(upsert::apply(&p, &store));
        store.heal();
        if let Err(e) = &interrupted {
            prop_assert!(e.error.is_fatal());
        }
        block_on(plan_and_apply(&store, &c.incoming, &config));
        let got = canonical(&store.snapshot());
        prop_assert_eq!(got, want);
    }
}

/// Lifecycle events without store-chosen ids, sorted.
fn events(plans: &[upsert::Plan]) -> Vec<String> {
    let mut out: Vec<String> = plans
        .iter()
        .flat_map(|p| &p.lifecycle)
        .map(|e| {
            format!(
                "{:?} {} {:?} {:?} {:?}",
                e.event, e.vendor, e.target_id, e.sources, e.status
            )
        })
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Planning and applying in batches of whole components leaves the
    /// inventory (and the counts, and the lifecycle events) that one plan
    /// over everything leaves, for any batch size and on a second run.
    #[test]
    fn staged_batches_apply_like_one_plan(c in case(), batch in 1usize..8, full in any::<bool>()) {
        let config = Config::default();
        let listings: &[Listing] = &if full {
            Vendor::ALL.map(Listing::from).to_vec()
        } else {
            Vec::new()
        };
        let reference = MemoryStore::new(c.inventory.clone());
        let inv = block_on(reference.load()).unwrap();
        let one = upsert::plan(&inv, &c.incoming, &config, listings).unwrap();
        block_on(upsert::apply(&one, &reference)).unwrap();

        let store = MemoryStore::new(c.inventory.clone());
        let mut staging = upsert::Staging::new(&config).unwrap();
        for d in &c.incoming {
            staging.push(d.clone()).unwrap();
        }
        let mut staged = staging.finish().unwrap();
        let mut plans = Vec::new();
        let done = block_on(upsert::apply_staged(
            &mut staged, &config, listings, &store, batch,
            |p, _| plans.push(p),
        )).unwrap();
        prop_assert_eq!(done.summary, one.summary);
        prop_assert_eq!(done.batches, plans.len());
        prop_assert_eq!(canonical(&store.snapshot()), canonical(&reference.snapshot()));
        prop_assert_eq!(events(&plans), events(std::slice::from_ref(&one)));

        // A second staged run over the synced inventory writes nothing.
        let mut again = upsert::Staging::new(&config).unwrap();
        for d in &c.incoming {
            again.push(d.clone()).unwrap();
        }
        let mut again = again.finish().unwrap();
        let second = block_on(upsert::apply_staged(
            &mut again, &config, listings, &store, batch, |_, _| {},
        )).unwrap();
        prop_assert_eq!(second.summary.create + second.summary.update, 0, "{:?}", second.summary);
        prop_assert_eq!(second.report.writes, 0);
    }
}

/// Hands each call to a [`MemoryStore`] only after yielding a number of
/// times drawn from a seed, so that two writers polled together interleave
/// their reads and writes step by step, differently per seed.
struct Stepper {
    rng: std::sync::Mutex<u64>,
}

#[async_trait::async_trait]
impl common::Hook for Stepper {
    async fn enter(&self, _call: &'static str, _items: usize) -> Option<Box<dyn Send + '_>> {
        let n = {
            let mut s = self.rng.lock().unwrap();
            *s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*s >> 60) as usize
        };
        for _ in 0..n {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    std::task::Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        None
    }
}

async fn staged_sync(
    store: &(dyn Store + '_),
    incoming: &[SourceDevice],
    config: &Config,
    batch: usize,
) -> upsert::StagedOutcome {
    let mut staging = upsert::Staging::new(config).unwrap();
    for d in incoming {
        staging.push(d.clone()).unwrap();
    }
    let mut staged = staging.finish().unwrap();
    upsert::apply_staged(&mut staged, config, &[], store, batch, |_, _| {})
        .await
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Two syncs of the same records, their reads and writes interleaved
    /// step by step (each seed a different order), leave exactly the
    /// inventory one sync leaves: no identifier on two assets, no email on
    /// two employees, nothing lost; and between them they create each new
    /// asset once.
    #[test]
    fn two_writers_interleaved_leave_the_inventory_of_one(
        c in case(), seed in any::<u64>(), batch in 1usize..6,
    ) {
        let config = Config::default();
        let reference = MemoryStore::new(c.inventory.clone());
        let one = block_on(staged_sync(&reference, &c.incoming, &config, batch));

        let shared = MemoryStore::new(c.inventory.clone());
        let a = common::Hooked { inner: &shared, hook: Stepper { rng: std::sync::Mutex::new(seed) } };
        let b = common::Hooked {
            inner: &shared,
            hook: Stepper { rng: std::sync::Mutex::new(seed.rotate_left(17) ^ 0x9e37) },
        };
        let (ra, rb) = block_on(async {
            futures::join!(
                staged_sync(&a, &c.incoming, &config, batch),
                staged_sync(&b, &c.incoming, &config, batch),
            )
        });
        let after = shared.snapshot();
        for ((field, value), owners) in identifier_owners(&after) {
            prop_assert!(owners.len() == 1, "{field} {value} on {owners:?}");
        }
        let mut emails: Vec<&String> = after.employees.iter().flat_map(|e| &e.emails).collect();
        emails.sort();
        let n = emails.len();
        emails.dedup();
        prop_assert_eq!(emails.len(), n, "an email on two employees");
        prop_assert!(ra.report.failures.is_empty(), "{:?}", ra.report.failures);
        prop_assert!(rb.report.failures.is_empty(), "{:?}", rb.report.failures);
        prop_assert_eq!(canonical(&after), canonical(&reference.snapshot()));
        prop_assert_eq!(ra.summary.create + rb.summary.create, one.summary.create);
    }
}

/// Lost update: two writers plan from the same snapshot and change
/// different fields of one asset; both changes land. When they change
/// the same field, the second is planned again, never written blindly.
#[test]
fn two_writers_of_one_asset_lose_no_update() {
    let store = MemoryStore::new(Inventory::from_json(
        r#"{"assets":[{"id":"a1","fields":{"serial_number":"C02XK1ABJG5H","os_version":"14.0","location":"Lab 3"}}]}"#,
    ).unwrap());
    let config = Config::default();
    let snapshot = block_on(store.load()).unwrap();
    let mut jamf = SourceDevice::new(Vendor::Jamf, Entity::Computer, "42");
    jamf.fields
        .serial("serial_number", Some("C02XK1ABJG5H"))
        .text("operating_system", Some("macOS 15.1"));
    let mut abm = SourceDevice::new(Vendor::Abm, Entity::Device, "C02XK1ABJG5H");
    abm.fields
        .serial("serial_number", Some("C02XK1ABJG5H"))
        .text("order_number", Some("MX123"));
    let p1 = upsert::plan(&snapshot, std::slice::from_ref(&jamf), &config, &[]).unwrap();
    let p2 = upsert::plan(&snapshot, std::slice::from_ref(&abm), &config, &[]).unwrap();
    let r1 = block_on(upsert::apply(&p1, &store)).unwrap();
    assert!(r1.failures.is_empty(), "{:?}", r1.failures);
    // Planned from the same snapshot: a field both write (the ones both
    // sources derive, such as the make) is refused as stale, never
    // overwritten blindly; the write as a whole waits to be planned again.
    let r2 = block_on(upsert::apply(&p2, &store)).unwrap();
    for f in &r2.failures {
        assert!(
            matches!(f.error, mdm_mapping::StoreError::Stale { .. }),
            "{f}"
        );
    }
    // Planned again (what a sync does), the ABM record lands beside Jamf's.
    let done = block_on(staged_sync(&store, std::slice::from_ref(&abm), &config, 4));
    assert!(
        done.report.failures.is_empty(),
        "{:?}",
        done.report.failures
    );
    let a = store.snapshot().assets[0].clone();
    assert_eq!(a.fields.get_str("os_version"), Some("15.1"));
    assert_eq!(a.fields.get_str("order_number"), Some("MX123"));
    assert_eq!(a.fields.get_str("location"), Some("Lab 3"));
    assert_eq!(store.snapshot().assets.len(), 1);

    // The same field, from a stale snapshot: refused, not overwritten.
    let mut older = jamf.clone();
    older.fields.text("operating_system", Some("macOS 14.9"));
    let p3 = upsert::plan(&snapshot, std::slice::from_ref(&older), &config, &[]).unwrap();
    let r3 = block_on(upsert::apply(&p3, &store)).unwrap();
    assert!(matches!(
        r3.failures[0].error,
        mdm_mapping::StoreError::Stale { .. }
    ));
    assert_eq!(
        store.snapshot().assets[0].fields.get_str("os_version"),
        Some("15.1")
    );
    // A staged sync plans it again against what the store holds now.
    let done = block_on(staged_sync(
        &store,
        std::slice::from_ref(&older),
        &config,
        4,
    ));
    assert!(done.report.failures.is_empty());
    assert_eq!(
        store.snapshot().assets[0].fields.get_str("os_version"),
        Some("14.9")
    );
}
