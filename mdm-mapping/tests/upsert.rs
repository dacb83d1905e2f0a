//! Scenario tests of the upsert engine: one behaviour per test, on small
//! hand-made inventories modeled on the vendors' real records.

mod common;

use common::{abm, jamf};

use mdm_mapping::store::{FailMode, Inventory, MemoryStore, Store};
use mdm_mapping::upsert::{
    self, ActionKind, ChangeValue, Config, EmployeeActionKind, LifecycleKind, Plan,
};
use mdm_mapping::{Assignee, Entity, Listing, SourceDevice, Value, Vendor};
use secrecy::SecretString;
use serde_json::json;

fn inv(json: serde_json::Value) -> Inventory {
    Inventory::from_json(&json.to_string()).unwrap()
}

fn kandji(id: &str, serial: &str) -> SourceDevice {
    let mut d = SourceDevice::new(Vendor::Kandji, Entity::Device, id);
    d.fields
        .serial("serial_number", Some(serial))
        .text("model", Some("MacBook Pro (13-inch, 2018)"))
        .text("platform", Some("Mac"))
        .text("os_version", Some("15.1"))
        .text("device_name", Some("Ana's MacBook Pro"));
    d
}

fn plan(i: &Inventory, incoming: &[SourceDevice]) -> Plan {
    upsert::plan(i, incoming, &Config::default(), &[]).unwrap()
}

fn to_str(p: &Plan, action: usize, field: &str) -> Option<String> {
    p.actions[action]
        .changes
        .get(field)
        .and_then(|c| c.to.as_ref())
        .map(ToString::to_string)
}

async fn run(store: &MemoryStore, incoming: &[SourceDevice], config: &Config) -> Plan {
    let p = upsert::plan(&store.load().await.unwrap(), incoming, config, &[]).unwrap();
    upsert::apply(&p, store).await.unwrap();
    p
}

#[tokio::test]
async fn create_then_rerun_is_unchanged() {
    let store = MemoryStore::default();
    let incoming = vec![jamf("42", "C02XK1ABJG5H"), kandji("k-1", "F9FXK2ABQ1GC")];
    let first = run(&store, &incoming, &Config::default()).await;
    assert_eq!(first.summary.create, 2);
    let second = run(&store, &incoming, &Config::default()).await;
    assert_eq!(second.summary.unchanged, 2, "{second:#?}");
    assert!(second.is_noop());
    assert_eq!(store.snapshot().assets.len(), 2);
}

#[test]
fn created_asset_carries_derived_fields() {
    let p = plan(&Inventory::default(), &[jamf("42", "c02xk1abjg5h")]);
    assert_eq!(p.actions[0].action, ActionKind::Create);
    for (field, want) in [
        ("serial_number", "C02XK1ABJG5H"),
        ("jamf_id", "42"),
        ("make", "Apple"),
        ("model", "MacBook Pro"),
        ("display_size", "13"),
        ("release_year", "2018"),
        ("asset_type", "laptop"),
        ("os_name", "macOS"),
        ("os_version", "15.2.0"),
        ("model_identifier", "MacBookPro15,2"),
        ("device_name", "ana-mbp"),
        ("status", "allocated"),
    ] {
        assert_eq!(to_str(&p, 0, field).as_deref(), Some(want), "{field}");
    }
    assert_eq!(
        p.actions[0].changes.get("release_year").unwrap().to,
        Some(ChangeValue::Value(Value::Int(2018)))
    );
}

#[test]
fn jamf_legacy_names_and_abm_identifiers_classify() {
    let mut d = jamf("7", "W8XXXXXXDH2G");
    d.fields.remove("model_identifier");
    d.fields.remove("model");
    d.fields
        .text("model", Some("13-inch MacBook Pro (Mid 2012)"));
    let mut a = SourceDevice::new(Vendor::Abm, Entity::Device, "H4TXK1ABQ05D");
    a.fields
        .serial("serial_number", Some("H4TXK1ABQ05D"))
        .text("product_type", Some("Mac14,3"))
        .text("device_model", Some("Mac mini"));
    let p = plan(&Inventory::default(), &[d, a]);
    assert_eq!(to_str(&p, 0, "display_size").as_deref(), Some("13"));
    assert_eq!(to_str(&p, 0, "release_year").as_deref(), Some("2012"));
    assert_eq!(to_str(&p, 1, "asset_type").as_deref(), Some("desktop"));
    assert_eq!(to_str(&p, 1, "model").as_deref(), Some("Mac mini"));
}

#[test]
fn blank_source_value_never_erases_by_default() {
    let i = inv(json!({"assets":[{"id":"a1","fields":{
        "serial_number":"C02XK1ABJG5H","device_name":"keep-me","jamf_id":"42",
        "make":"Apple","model":"MacBook Pro","display_size":"13","release_year":2018,"asset_type":"laptop",
        "os_name":"macOS","os_version":"15.2.0","model_identifier":"MacBookPro15,2"}}]}));
    let mut d = jamf("42", "C02XK1ABJG5H");
    d.fields.remove("computer_name");
    let p = plan(&i, &[d.clone()]);
    assert_eq!(
        p.actions[0].action,
        ActionKind::Unchanged,
        "{:#?}",
        p.actions[0]
    );

    let config = Config::from_toml_str("[fields.device_name]\nclear_when_blank = true").unwrap();
    let p = upsert::plan(&i, &[d], &config, &[]).unwrap();
    let c = p.actions[0].changes.get("device_name").unwrap();
    assert_eq!(c.from, Some(ChangeValue::Value("keep-me".into())));
    assert_eq!(c.to, None);
}

#[test]
fn inventory_owned_fields_never_change_on_existing_assets() {
    let i = inv(json!({
        "assets":[{"id":"a1","fields":{"serial_number":"C02XK1ABJG5H","status":"in_repair","assignee_id":"e9","location":"HQ"}}],
        "employees":[{"id":"e1","first_name":"Ana","last_name":"Díaz","emails":["ana@example.com"]}]}));
    let mut d = jamf("42", "C02XK1ABJG5H");
    d.assignee = Assignee {
        email: Some("ana@example.com".into()),
        ..Assignee::default()
    }
    .into_option();
    let config =
        Config::from_toml_str("[fields.location]\nfrom = { jamf = \"building_id\" }\n").unwrap();
    d.fields.text("building_id", Some("Madrid"));
    let p = upsert::plan(&i, &[d], &config, &[]).unwrap();
    let a = &p.actions[0];
    assert_eq!(a.action, ActionKind::Update);
    for f in ["status", "assignee_id", "location"] {
        assert!(a.changes.get(f).is_none(), "{f} changed: {a:#?}");
    }
}

#[test]
fn fill_if_empty_fills_only_empty_fields() {
    let config =
        Config::from_toml_str("[fields.device_name]\nownership = \"fill_if_empty\"").unwrap();
    let i = inv(json!({"assets":[
        {"id":"a1","fields":{"serial_number":"S1","device_name":"mine"}},
        {"id":"a2","fields":{"serial_number":"S2"}}]}));
    let p = upsert::plan(&i, &[jamf("1", "S1"), jamf("2", "S2")], &config, &[]).unwrap();
    assert!(p.actions[0].changes.get("device_name").is_none());
    assert_eq!(to_str(&p, 1, "device_name").as_deref(), Some("ana-mbp"));
}

#[test]
fn duplicate_assets_in_inventory_are_a_conflict_naming_both() {
    let i = inv(json!({"assets":[
        {"id":"a1","fields":{"serial_number":"C02XK1ABJG5H"}},
        {"id":"a7","fields":{"serial_number":" c02xk1abjg5h "}}]}));
    let p = plan(&i, &[jamf("42", "C02XK1ABJG5H")]);
    let a = &p.actions[0];
    assert_eq!(a.action, ActionKind::Conflict);
    assert_eq!(a.candidates, vec!["a1", "a7"]);
    assert!(a.reason.contains("serial_number"), "{}", a.reason);
    assert_eq!(p.summary.conflict, 1);
    assert_eq!(p.summary.create, 0);
}

#[test]
fn identifiers_pointing_at_different_assets_are_a_conflict() {
    let i = inv(json!({"assets":[
        {"id":"a1","fields":{"jamf_id":"42","asset_type":"laptop"}},
        {"id":"a2","fields":{"serial_number":"C02XK1ABJG5H"}}]}));
    let p = plan(&i, &[jamf("42", "C02XK1ABJG5H")]);
    assert_eq!(p.actions[0].action, ActionKind::Conflict);
    assert_eq!(p.actions[0].candidates, vec!["a1", "a2"]);
    assert!(
        p.actions[0].reason.contains("jamf_id"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn one_asset_claimed_by_two_devices_is_a_conflict() {
    // The asset carries the serial of one device and the Kandji id of another.
    let i = inv(json!({"assets":[{"id":"a1","fields":{"serial_number":"S1","kandji_id":"k-2"}}]}));
    let p = plan(&i, &[jamf("1", "S1"), kandji("k-2", "S2")]);
    assert_eq!(p.summary.conflict, 2, "{p:#?}");
    assert!(p.actions.iter().all(|a| a.candidates == vec!["a1"]));
}

#[test]
fn vendor_id_first_then_serial() {
    // The serial changed in Jamf (logic board swap): the Jamf id still finds the asset.
    let i = inv(
        json!({"assets":[{"id":"a1","fields":{"jamf_id":"42","serial_number":"OLD123","asset_type":"laptop"}}]}),
    );
    let p = plan(&i, &[jamf("42", "NEW456")]);
    let a = &p.actions[0];
    assert_eq!(a.action, ActionKind::Update);
    assert_eq!(a.matched_on.as_deref(), Some("jamf_id"));
    assert_eq!(to_str(&p, 0, "serial_number").as_deref(), Some("NEW456"));
}

#[test]
fn jamf_computer_and_mobile_ids_do_not_mix() {
    let i = inv(
        json!({"assets":[{"id":"a1","fields":{"jamf_id":"42","serial_number":"MAC1","asset_type":"laptop"}}]}),
    );
    let mut phone = SourceDevice::new(Vendor::Jamf, Entity::MobileDevice, "42");
    phone
        .fields
        .serial("serial_number", Some("PHONE1"))
        .text("model", Some("iPhone 15 Pro"));
    let p = plan(&i, &[phone]);
    assert_eq!(p.actions[0].action, ActionKind::Create, "{p:#?}");
    assert_eq!(to_str(&p, 0, "asset_type").as_deref(), Some("phone"));
}

#[test]
fn three_sources_one_device_one_asset_with_priorities() {
    let mut j = jamf("42", "C02XK1ABJG5H");
    j.fields
        .text("po_number", Some("PO-JAMF"))
        .date("po_date", Some("2018-08-01"));
    let k = kandji("k-1", "c02xk1abjg5h");
    let a = abm("C02XK1ABJG5H");
    let incoming = vec![k, a, j];
    let p = plan(&Inventory::default(), &incoming);
    assert_eq!(p.summary.create, 1, "{p:#?}");
    let act = &p.actions[0];
    assert_eq!(act.sources.len(), 3);
    // Hardware and management: the MDM (Jamf before Kandji).
    assert_eq!(to_str(&p, 0, "os_version").as_deref(), Some("15.2.0"));
    assert_eq!(to_str(&p, 0, "device_name").as_deref(), Some("ana-mbp"));
    // Purchasing: ABM.
    assert_eq!(to_str(&p, 0, "po_date").as_deref(), Some("2018-07-20"));
    assert_eq!(to_str(&p, 0, "order_number").as_deref(), Some("ORD-1"));
    assert_eq!(to_str(&p, 0, "po_number").as_deref(), Some("PO-JAMF"));
    // Every source's identifiers are carried.
    assert_eq!(to_str(&p, 0, "jamf_id").as_deref(), Some("42"));
    assert_eq!(to_str(&p, 0, "kandji_id").as_deref(), Some("k-1"));

    let config = Config::from_toml_str(
        "[fields.os_version]\npriority = [\"kandji\", \"jamf\"]\n[fields.po_date]\npriority = [\"jamf\"]",
    )
    .unwrap();
    let p = upsert::plan(&Inventory::default(), &incoming, &config, &[]).unwrap();
    assert_eq!(to_str(&p, 0, "os_version").as_deref(), Some("15.1"));
    assert_eq!(to_str(&p, 0, "po_date").as_deref(), Some("2018-08-01"));
}

#[test]
fn reenrolled_device_collapses_to_newest_and_reports_the_older() {
    let mut old = jamf("41", "DMPXK1ABQ1GC");
    old.fields
        .datetime("last_contact_time", Some("2024-01-01T00:00:00Z"));
    old.fields.text("computer_name", Some("old-name"));
    let mut new = jamf("43", "DMPXK1ABQ1GC");
    new.fields
        .datetime("last_contact_time", Some("2024-06-01T00:00:00Z"));
    let i = inv(
        json!({"assets":[{"id":"a1","fields":{"serial_number":"DMPXK1ABQ1GC","jamf_id":"41","asset_type":"laptop"}}]}),
    );
    for incoming in [
        vec![new.clone(), old.clone()],
        vec![old.clone(), new.clone()],
    ] {
        let p = plan(&i, &incoming);
        let main = p
            .actions
            .iter()
            .find(|a| a.action == ActionKind::Update)
            .expect("update");
        assert_eq!(main.sources[0].source_id, "43");
        assert_eq!(main.target_id.as_deref(), Some("a1"));
        assert_eq!(
            to_str(
                &p,
                p.actions
                    .iter()
                    .position(|a| a.action == ActionKind::Update)
                    .unwrap(),
                "jamf_id"
            )
            .as_deref(),
            Some("43")
        );
        let skip = p
            .actions
            .iter()
            .find(|a| a.action == ActionKind::Skip)
            .expect("skip");
        assert_eq!(skip.sources[0].source_id, "41");
        assert!(skip.reason.contains("superseded"), "{}", skip.reason);
        assert_eq!(p.summary.skip, 1);
        assert_eq!(p.summary.create, 0);
    }
}

#[test]
fn record_without_identifier_is_skipped_and_the_rest_goes_on() {
    let mut byod = SourceDevice::new(Vendor::Jamf, Entity::MobileDevice, "900");
    byod.fields.text("model", Some("iPhone 15"));
    byod.fields.serial("serial_number", Some("Not Available"));
    let p = plan(&Inventory::default(), &[byod, jamf("42", "C02XK1ABJG5H")]);
    assert_eq!(p.actions[0].action, ActionKind::Skip);
    assert!(
        p.actions[0].reason.contains("no identifier"),
        "{}",
        p.actions[0].reason
    );
    assert_eq!(p.actions[1].action, ActionKind::Create);
    assert_eq!((p.summary.skip, p.summary.create), (1, 1));
}

#[test]
fn asset_tag_matches_only_on_opt_in() {
    let i = inv(json!({"assets":[{"id":"a1","fields":{"asset_tag":"IT-0042"}}]}));
    let mut d = jamf("42", "C02XK1ABJG5H");
    d.fields.text("asset_tag", Some("it-0042"));
    let p = plan(&i, std::slice::from_ref(&d));
    assert_eq!(p.actions[0].action, ActionKind::Create);
    let config = Config::from_toml_str("match_asset_tag = true").unwrap();
    let p = upsert::plan(&i, &[d], &config, &[]).unwrap();
    assert_eq!(p.actions[0].action, ActionKind::Update);
    assert_eq!(p.actions[0].matched_on.as_deref(), Some("asset_tag"));
}

#[tokio::test]
async fn recovery_key_only_on_opt_in_and_never_in_a_plan() {
    let secret = "ABCD-EFGH-SECRET-1234";
    let mut d = jamf("42", "C02XK1ABJG5H");
    d.secrets.insert("recovery_key", SecretString::from(secret));
    let p = plan(&Inventory::default(), std::slice::from_ref(&d));
    assert!(p.actions[0].changes.get("recovery_key").is_none());

    let config = Config::from_toml_str("store_recovery_key = true").unwrap();
    let store = MemoryStore::default();
    let p = upsert::plan(
        &Inventory::default(),
        std::slice::from_ref(&d),
        &config,
        &[],
    )
    .unwrap();
    let json = serde_json::to_string(&p).unwrap();
    let dbg = format!("{p:?}");
    assert!(
        !json.contains("SECRET") && !dbg.contains("SECRET"),
        "{json}"
    );
    assert!(
        json.contains("\"recovery_key\":{\"from\":null,\"to\":\"[redacted]\"}"),
        "{json}"
    );
    upsert::apply(&p, &store).await.unwrap();
    let snap = store.snapshot();
    assert_eq!(snap.assets[0].fields.get_str("recovery_key"), Some(secret));
    assert!(!format!("{snap:?}").contains("SECRET"));

    // Same key: unchanged. New key: an update that still shows nothing.
    let again = upsert::plan(&snap, std::slice::from_ref(&d), &config, &[]).unwrap();
    assert_eq!(again.actions[0].action, ActionKind::Unchanged);
    d.secrets
        .insert("recovery_key", SecretString::from("WXYZ-NEW-SECRET"));
    let again = upsert::plan(&snap, &[d], &config, &[]).unwrap();
    let json = serde_json::to_string(&again).unwrap();
    assert!(!json.contains("SECRET"), "{json}");
    assert!(
        json.contains("{\"from\":\"[redacted]\",\"to\":\"[redacted]\"}"),
        "{json}"
    );
}

fn with_user(mut d: SourceDevice, email: &str, name: &str) -> SourceDevice {
    d.assignee = Assignee {
        email: Some(email.into()),
        full_name: Some(name.into()),
        ..Assignee::default()
    }
    .into_option();
    d
}

#[tokio::test]
async fn employees_matched_by_email_created_or_reported() {
    let store = MemoryStore::new(inv(json!({"employees":[
        {"id":"e1","first_name":"Ana","last_name":"Díaz","emails":["ana.diaz@corp.example","ANA@Example.com"]},
        {"id":"e2","first_name":"Ben","last_name":"Okafor","emails":["ben@corp.example"]}]})));
    let incoming = vec![
        with_user(jamf("1", "S1"), " Ana@example.com ", "Ana Díaz"),
        // Same name as an employee, personal address: likely duplicate.
        with_user(jamf("2", "S2"), "benji.okafor@gmail.example", "Ben Okafor"),
        // Nobody: created once, even with two devices.
        with_user(jamf("3", "S3"), "cleo@corp.example", "Cleo Marsh"),
        with_user(kandji("k-4", "S4"), "Cleo@corp.example", "Cleo Marsh"),
        // No last name: not created.
        with_user(jamf("5", "S5"), "cher@corp.example", "Cher"),
    ];
    let p = upsert::plan(
        &store.load().await.unwrap(),
        &incoming,
        &Config::default(),
        &[],
    )
    .unwrap();
    assert_eq!(to_str(&p, 0, "assignee_id").as_deref(), Some("e1"));
    assert!(p.actions[1].changes.get("assignee_id").is_none());
    assert_eq!(p.likely_duplicates.len(), 1);
    assert_eq!(p.likely_duplicates[0].employee_id, "e2");
    assert_eq!(p.summary.employee_create, 1);
    let cleo = p
        .employees
        .iter()
        .find(|e| e.action == EmployeeActionKind::Create)
        .unwrap();
    assert_eq!(cleo.email, "cleo@corp.example");
    assert_eq!(cleo.sources.len(), 2);
    assert_eq!(
        to_str(&p, 2, "assignee_id").as_deref(),
        Some("(new employee cleo@corp.example)")
    );
    assert!(
        p.employees
            .iter()
            .any(|e| e.action == EmployeeActionKind::Skip && e.email == "cher@corp.example")
    );

    let report = upsert::apply(&p, &store).await.unwrap();
    assert_eq!(report.employees_created.len(), 1);
    let snap = store.snapshot();
    let cleo_id = &report.employees_created[0].1;
    let assigned: Vec<_> = snap
        .assets
        .iter()
        .filter(|a| a.fields.get_str("assignee_id") == Some(cleo_id))
        .collect();
    assert_eq!(assigned.len(), 2);
    assert!(
        snap.assets
            .iter()
            .all(|a| a.fields.get_str("status") == Some("allocated"))
    );
    let again = upsert::plan(&snap, &incoming, &Config::default(), &[]).unwrap();
    assert!(again.is_noop(), "{again:#?}");
}

/// A full listing of one named tenant reports only that tenant's assets
/// missing: not the other tenant's (`NAME:ID`), nor the unnamed source's.
#[test]
fn a_named_listing_reports_only_its_own_tenants_assets_missing() {
    let i = inv(json!({"assets":[
        {"id":"eu","fields":{"serial_number":"S1","jamf_id":"jamf-eu:1","asset_type":"laptop"}},
        {"id":"us","fields":{"serial_number":"S2","jamf_id":"jamf-us:1","asset_type":"laptop"}},
        {"id":"plain","fields":{"serial_number":"S3","jamf_id":"1","asset_type":"laptop"}}]}));
    let missing = |listing: Listing| -> Vec<String> {
        let p = upsert::plan(&i, &[], &Config::default(), &[listing]).unwrap();
        p.lifecycle
            .iter()
            .filter(|e| e.event == LifecycleKind::Missing)
            .map(|e| e.target_id.as_deref().unwrap_or("").to_owned())
            .collect()
    };
    let named = |q: &str| Listing {
        vendor: Vendor::Jamf,
        qualifier: Some(q.to_owned()),
    };
    assert_eq!(missing(named("jamf-eu")), ["eu"]);
    assert_eq!(missing(named("jamf-us")), ["us"]);
    assert_eq!(missing(Vendor::Jamf.into()), ["plain"]);
    // A prefix of another name is not that name.
    assert!(missing(named("jamf")).is_empty());
}

#[test]
fn lifecycle_removed_released_and_missing() {
    let i = inv(json!({"assets":[
        {"id":"a1","fields":{"serial_number":"S1","kandji_id":"k-1","status":"allocated"}},
        {"id":"a2","fields":{"serial_number":"S2","jamf_id":"2","asset_type":"laptop","status":"allocated"}},
        {"id":"a3","fields":{"serial_number":"S3","status":"allocated"}},
        {"id":"a4","fields":{"serial_number":"S4","jamf_id":"4","asset_type":"laptop","status":"archived"}}]}));
    let mut removed = kandji("k-1", "S1");
    removed.fields.bool("is_removed", Some(true));
    let mut released = abm("S3");
    released
        .fields
        .datetime("released_from_org_date_time", Some("2025-01-01T00:00:00Z"));
    let mut gone_new = kandji("k-9", "S9");
    gone_new.fields.bool("is_removed", Some(true));
    let incoming = vec![removed, released, gone_new];

    // Reported, status untouched by default.
    let p = upsert::plan(&i, &incoming, &Config::default(), &[Vendor::Jamf.into()]).unwrap();
    assert_eq!(p.summary.skip, 3, "{p:#?}");
    assert_eq!(p.summary.create, 0);
    let kinds: Vec<_> = p
        .lifecycle
        .iter()
        .map(|e| (e.target_id.clone().unwrap(), e.event, e.status.is_some()))
        .collect();
    assert!(
        kinds.contains(&("a1".into(), LifecycleKind::Removed, false)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("a3".into(), LifecycleKind::Released, false)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("a2".into(), LifecycleKind::Missing, false)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("a4".into(), LifecycleKind::Missing, false)),
        "{kinds:?}"
    );
    assert!(p.is_noop());

    // Configured: archived, except what already is.
    let config = Config::from_toml_str("on_missing = \"archived\"").unwrap();
    let p = upsert::plan(&i, &incoming, &config, &[Vendor::Jamf.into()]).unwrap();
    let changed: Vec<_> = p
        .lifecycle
        .iter()
        .filter(|e| e.status.is_some())
        .map(|e| e.target_id.clone().unwrap())
        .collect();
    let mut sorted = changed.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["a1", "a2", "a3"]);

    // Not a full listing: nothing is missing.
    let p = upsert::plan(&i, &incoming, &config, &[]).unwrap();
    assert!(
        p.lifecycle
            .iter()
            .all(|e| e.event != LifecycleKind::Missing)
    );
}

#[tokio::test]
async fn lifecycle_status_applied_and_nothing_deleted() {
    let store = MemoryStore::new(inv(json!({"assets":[
        {"id":"a2","fields":{"serial_number":"S2","jamf_id":"2","asset_type":"laptop","status":"allocated"}}]})));
    let config = Config::from_toml_str("on_missing = \"archived\"").unwrap();
    let p = upsert::plan(
        &store.load().await.unwrap(),
        &[],
        &config,
        &[Vendor::Jamf.into()],
    )
    .unwrap();
    let r = upsert::apply(&p, &store).await.unwrap();
    assert_eq!(
        r.status_changed,
        vec![("a2".to_string(), "archived".to_string())]
    );
    let snap = store.snapshot();
    assert_eq!(snap.assets.len(), 1);
    assert_eq!(snap.assets[0].fields.get_str("status"), Some("archived"));
    let p = upsert::plan(&snap, &[], &config, &[Vendor::Jamf.into()]).unwrap();
    assert!(p.is_noop());
}

#[tokio::test]
async fn interrupted_apply_converges_without_duplicates() {
    let incoming: Vec<SourceDevice> = (0..6)
        .map(|i| {
            with_user(
                jamf(&i.to_string(), &format!("SER{i}")),
                &format!("u{i}@corp.example"),
                &format!("User N{i}"),
            )
        })
        .collect();
    let reference = MemoryStore::default();
    run(&reference, &incoming, &Config::default()).await;
    let want = reference.snapshot();
    for mode in [FailMode::BeforeWrite, FailMode::AfterWrite] {
        for k in 0..12 {
            let store = MemoryStore::default();
            store.fail_after(k, mode);
            let p = upsert::plan(
                &store.load().await.unwrap(),
                &incoming,
                &Config::default(),
                &[],
            )
            .unwrap();
            let err = upsert::apply(&p, &store).await.unwrap_err();
            assert!(err.error.is_fatal());
            store.heal();
            run(&store, &incoming, &Config::default()).await;
            let got = store.snapshot();
            assert_eq!(got.assets.len(), want.assets.len(), "{mode:?} k={k}");
            assert_eq!(got.employees.len(), want.employees.len(), "{mode:?} k={k}");
            let again = upsert::plan(&got, &incoming, &Config::default(), &[]).unwrap();
            assert!(again.is_noop(), "{mode:?} k={k}: {again:#?}");
        }
    }
}

#[tokio::test]
async fn one_rejected_record_does_not_stop_the_run() {
    let store = MemoryStore::default();
    store.reject_when("serial_number", "BAD1");
    let p = upsert::plan(
        &Inventory::default(),
        &[jamf("1", "BAD1"), jamf("2", "GOOD2")],
        &Config::default(),
        &[],
    )
    .unwrap();
    let r = upsert::apply(&p, &store).await.unwrap();
    assert_eq!(r.created.len(), 1);
    assert_eq!(r.failures.len(), 1);
    assert!(
        r.failures[0].to_string().contains("jamf 1"),
        "{}",
        r.failures[0]
    );
}

#[test]
fn dry_run_is_the_plan_and_touches_nothing() {
    let store = MemoryStore::default();
    let snapshot = store.snapshot();
    let p = plan(&snapshot, &[jamf("1", "S1")]);
    assert_eq!(p.summary.create, 1);
    assert_eq!(store.writes(), 0);
    assert!(store.snapshot().assets.is_empty());
}

#[test]
fn plan_json_shape() {
    let i = inv(json!({
        "assets":[
            {"id":"a1","fields":{"serial_number":"C02XK1ABJG5H","os_version":"14.1","status":"in_repair"}},
            {"id":"a2","fields":{"serial_number":"DUP1"}},
            {"id":"a3","fields":{"serial_number":"DUP1"}}],
        "employees":[{"id":"e1","first_name":"Ana","last_name":"Díaz","emails":["ana@example.com"]}]}));
    let mut phone = SourceDevice::new(
        Vendor::Kandji,
        Entity::Device,
        "5c4b1a2e-7c2b-4a8e-9a51-0f2a3c4d5e6f",
    );
    phone
        .fields
        .serial("serial_number", Some("F2LXK1ABQ1GC"))
        .text("model", Some("iPhone 15 Pro"))
        .text("platform", Some("iPhone"))
        .text("os_version", Some("17.4"));
    let phone = with_user(phone, "ana@example.com", "Ana Díaz");
    let mut byod = SourceDevice::new(Vendor::Jamf, Entity::MobileDevice, "900");
    byod.fields.text("model", Some("iPhone 15"));
    let p = plan(
        &i,
        &[jamf("42", "C02XK1ABJG5H"), phone, jamf("43", "DUP1"), byod],
    );
    insta::assert_json_snapshot!("plan_shape", p);
    let v = serde_json::to_value(&p).unwrap();
    let keys: Vec<&str> = v["summary"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6);
    for k in [
        "create",
        "update",
        "unchanged",
        "conflict",
        "skip",
        "employee_create",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    for a in v["actions"].as_array().unwrap() {
        for k in [
            "action",
            "sources",
            "target_id",
            "matched_on",
            "changes",
            "reason",
        ] {
            assert!(a.get(k).is_some(), "{k} missing in {a}");
        }
    }
}

#[test]
fn jamf_id_on_asset_of_unknown_kind_needs_no_contradiction() {
    // The asset's kind is unknown: Jamf computer 42 and mobile device 42 could
    // both be meant. A serial that contradicts the asset keeps a phone off it.
    let i = inv(json!({"assets":[{"id":"a1","fields":{"jamf_id":"42","serial_number":"MAC1"}}]}));
    let mut phone = SourceDevice::new(Vendor::Jamf, Entity::MobileDevice, "42");
    phone
        .fields
        .serial("serial_number", Some("PHONE1"))
        .text("model", Some("iPhone 15 Pro"));
    let p = plan(&i, &[phone.clone()]);
    assert_eq!(p.actions[0].action, ActionKind::Create, "{p:#?}");
    // Without a contradicting serial on the asset, the Jamf id matches.
    let i = inv(json!({"assets":[{"id":"a1","fields":{"jamf_id":"42"}}]}));
    let p = plan(&i, &[phone]);
    assert_eq!(p.actions[0].action, ActionKind::Update, "{p:#?}");
    assert_eq!(p.actions[0].matched_on.as_deref(), Some("jamf_id"));
}

/// A user record of a vendor's user directory (`users = true`).
fn user(vendor: Vendor, id: &str, email: Option<&str>, first: &str, last: &str) -> SourceDevice {
    let mut d = SourceDevice::new(vendor, Entity::User, id);
    d.assignee = Assignee {
        email: email.map(Into::into),
        first_name: (!first.is_empty()).then(|| first.into()),
        last_name: (!last.is_empty()).then(|| last.into()),
        username: Some(format!("user{id}")),
        ..Assignee::default()
    }
    .into_option();
    d
}

#[tokio::test]
async fn user_records_are_employees_only() {
    let store = MemoryStore::new(inv(json!({
        "assets":[{"id":"a5","fields":{"jamf_id":"5","serial_number":"S5"}}],
        "employees":[
        {"id":"e1","first_name":"Ana","last_name":"Díaz","emails":["ana@example.com"]},
        {"id":"e2","first_name":"Ben","last_name":"Okafor","emails":["ben@corp.example"]}]})));
    let incoming = vec![
        // Matched by email, whatever its case.
        user(Vendor::Jamf, "1", Some(" ANA@Example.com "), "Ana", "Díaz"),
        // Same name as e2 under another email: a likely duplicate.
        user(
            Vendor::Jamf,
            "2",
            Some("benji@gmail.example"),
            "Ben",
            "Okafor",
        ),
        // Created.
        user(
            Vendor::Jamf,
            "3",
            Some("cleo@corp.example"),
            "Cleo",
            "Marsh",
        ),
        // No last name, no email: never created.
        user(Vendor::Jamf, "4", Some("cher@corp.example"), "Cher", ""),
        user(Vendor::Kandji, "k-6", None, "Dee", "Nolan"),
        // The same id as an asset's jamf_id: still no asset action.
        user(Vendor::Jamf, "5", Some("eve@corp.example"), "Eve", "Stone"),
    ];
    let p = upsert::plan(
        &store.load().await.unwrap(),
        &incoming,
        &Config::default(),
        &[Listing::from(Vendor::Jamf)],
    )
    .unwrap();
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    // User 5 is not computer 5: the asset is missing from the full listing,
    // and no lifecycle event names a user record.
    assert_eq!(p.lifecycle.len(), 1, "{:?}", p.lifecycle);
    assert_eq!(p.lifecycle[0].target_id.as_deref(), Some("a5"));
    assert!(p.lifecycle[0].sources.is_empty());
    let created: Vec<&str> = p
        .employees
        .iter()
        .filter(|e| e.action == EmployeeActionKind::Create)
        .map(|e| e.email.as_str())
        .collect();
    assert_eq!(created, ["cleo@corp.example", "eve@corp.example"]);
    assert_eq!(p.summary.employee_create, 2);
    assert_eq!(p.likely_duplicates.len(), 1);
    assert_eq!(p.likely_duplicates[0].employee_id, "e2");
    assert_eq!(p.likely_duplicates[0].email, "benji@gmail.example");
    assert!(
        p.employees
            .iter()
            .any(|e| e.action == EmployeeActionKind::Skip && e.email == "cher@corp.example")
    );
    upsert::apply(&p, &store).await.unwrap();
    let again = upsert::plan(
        &store.load().await.unwrap(),
        &incoming,
        &Config::default(),
        &[],
    )
    .unwrap();
    assert_eq!(again.summary.employee_create, 0);
    assert_eq!(store.load().await.unwrap().employees.len(), 4);
}

/// Serializes every call of a store behind one lock held across an await
/// point (a store on one connection), logging what each call was.
#[derive(Default)]
struct Serial {
    lock: tokio::sync::Mutex<()>,
    log: std::sync::Mutex<Vec<&'static str>>,
}

#[async_trait::async_trait]
impl common::Hook for Serial {
    async fn enter(&self, call: &'static str, _items: usize) -> Option<Box<dyn Send + '_>> {
        let guard = self.lock.lock().await;
        self.log.lock().unwrap().push(call);
        tokio::task::yield_now().await;
        Some(Box::new(guard))
    }
}

/// A staged sync asks for the next batch's assets before this batch's
/// writes, and still finishes against a store that serializes its calls:
/// the read ahead is awaited beside the writes, never left unpolled while
/// a write waits for the lock it holds.
#[tokio::test]
async fn staged_batches_read_the_next_assets_ahead_without_deadlocking_a_serial_store() {
    let serials: Vec<String> = (0..4).map(|i| format!("C02XK1ABJG{i:02}")).collect();
    let assets: Vec<serde_json::Value> = serials
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"id": format!("a{i}"), "fields": {"serial_number": s, "device_name": "old"}}))
        .collect();
    let inner = MemoryStore::new(inv(json!({ "assets": assets })));
    let store = common::Hooked {
        inner: &inner,
        hook: Serial::default(),
    };
    let config = Config::default();
    let mut staging = upsert::Staging::new(&config).unwrap();
    for (i, s) in serials.iter().enumerate() {
        staging.push(jamf(&(i + 1).to_string(), s)).unwrap();
    }
    let mut staged = staging.finish().unwrap();
    // One record and its asset per batch: four batches, each an update.
    let run = upsert::apply_staged(&mut staged, &config, &[], &store, 1, |_, _| {});
    let done = tokio::time::timeout(std::time::Duration::from_secs(30), run)
        .await
        .expect("the staged sync deadlocked against a store that serializes its calls")
        .unwrap();
    assert_eq!((done.batches, done.summary.update), (4, 4));
    let names: Vec<Option<String>> = store
        .inner
        .snapshot()
        .assets
        .iter()
        .map(|a| a.fields.get_str("device_name").map(str::to_owned))
        .collect();
    assert_eq!(names, vec![Some("ana-mbp".to_string()); 4]);
    let log = store.hook.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "matching", "assets", "assets", "write", "assets", "write", "assets", "write", "write"
        ],
        "each batch's assets are asked for before the previous batch's writes"
    );
}

/// A staged sync plans batch i + 1 while batch i is written: the employee
/// batch 0 creates is still being written when batch 1 is planned, so
/// batch 1 names it by email (the store finds it inside its write, after
/// batch 0's), and batch 2, planned once batch 0 was written, by its id.
/// Either way there is one employee and every device gets it.
#[tokio::test]
async fn staged_batches_plan_the_next_batch_while_this_one_is_written() {
    let store = MemoryStore::default();
    let config = Config::default();
    let mut staging = upsert::Staging::new(&config).unwrap();
    for i in 0..3 {
        let d = jamf(&(i + 1).to_string(), &format!("C02XK1ABJG{i:02}"));
        staging
            .push(with_user(d, "ana@example.com", "Ana Díaz"))
            .unwrap();
    }
    let mut staged = staging.finish().unwrap();
    let mut seen: Vec<(String, usize)> = Vec::new();
    let done = upsert::apply_staged(&mut staged, &config, &[], &store, 1, |p, _| {
        let json = serde_json::to_value(&p).unwrap();
        seen.push((
            json["actions"][0]["changes"]["assignee_id"]["to"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            p.employees.len(),
        ));
    })
    .await
    .unwrap();
    assert_eq!((done.batches, done.summary.create), (3, 3));
    let inv = store.snapshot();
    assert_eq!(inv.employees.len(), 1, "{:?}", inv.employees);
    let id = inv.employees[0].id.clone();
    for a in &inv.assets {
        assert_eq!(a.fields.get_str("assignee_id"), Some(id.as_str()), "{a:?}");
    }
    assert_eq!(
        seen,
        [
            ("(new employee ana@example.com)".to_string(), 1),
            ("(new employee ana@example.com)".to_string(), 0),
            (id, 0),
        ],
        "batch 1 is planned before batch 0's write is done, batch 2 after"
    );
}
