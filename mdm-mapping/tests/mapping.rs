//! The mapping: default rules onto the design's inventory schema, derived
//! fields, user mappings from TOML and JSON, and ownership.

use std::collections::BTreeMap;

use mdm_mapping::mapping::{
    Derived, FieldRule, INVENTORY_OWNED_FIELDS, Mapping, Ownership, PURCHASING_FIELDS, SourceKey,
};
use mdm_mapping::store::Inventory;
use mdm_mapping::upsert::{self, ActionKind, Config, ConfigError};
use mdm_mapping::{Entity, SourceDevice, Value, Vendor};

/// The design's default inventory schema.
const SCHEMA: &[&str] = &[
    "serial_number",
    "asset_tag",
    "udid",
    "imei",
    "meid",
    "eid",
    "wifi_mac_address",
    "bluetooth_mac_address",
    "ethernet_mac_address",
    "jamf_id",
    "kandji_id",
    "make",
    "model",
    "model_identifier",
    "model_number",
    "display_size",
    "release_year",
    "color",
    "processor",
    "processor_speed_mhz",
    "processor_cores",
    "memory_mb",
    "storage",
    "storage_type",
    "keyboard_language",
    "asset_type",
    "platform",
    "product_family",
    "device_name",
    "os_name",
    "os_version",
    "os_build",
    "managed",
    "supervised",
    "last_check_in",
    "enrolled_at",
    "order_number",
    "po_number",
    "po_date",
    "vendor",
    "purchase_price",
    "warranty_expiration",
    "lease_expiration",
    "is_leased",
    "purchase_source",
    "activation_lock_enabled",
    "recovery_lock_enabled",
    "applecare_id",
    "recovery_key",
    "assignee_id",
    "location",
    "status",
    "condition",
];

#[test]
fn builtin_mapping_targets_only_the_schema_with_the_right_owners() {
    let m = Mapping::builtin();
    for (field, rule) in m.fields() {
        assert!(
            SCHEMA.contains(&field),
            "{field} is not in the default schema"
        );
        let want = if INVENTORY_OWNED_FIELDS.contains(&field) {
            Ownership::Inventory
        } else {
            Ownership::Source
        };
        assert_eq!(rule.ownership, want, "{field}");
        assert!(!rule.clear_when_blank, "{field}");
        let first = rule.vendor_order()[0];
        if PURCHASING_FIELDS.contains(&field) {
            assert_eq!(first, Vendor::Abm, "{field}");
        } else {
            assert_eq!(first, Vendor::Jamf, "{field}");
        }
    }
    // Every identifier and derived field of the schema has a source.
    for field in [
        "serial_number",
        "udid",
        "imei",
        "jamf_id",
        "kandji_id",
        "make",
        "model",
        "display_size",
        "release_year",
        "asset_type",
        "os_name",
        "os_version",
    ] {
        let rule = m.field(field).unwrap();
        assert!(rule.from.values().any(|k| !k.is_empty()), "{field}");
    }
}

#[test]
fn default_mapping_includes_catalog_targets() {
    // Whatever the catalog holds, its default targets are sources of the
    // default mapping, after the built-in ones.
    let m = Mapping::default();
    for spec in mdm_mapping::catalog::all() {
        let (Some(target), false) = (spec.default_target, spec.entity == Entity::User) else {
            continue;
        };
        let rule = m.field(target).unwrap();
        assert!(
            rule.from
                .get(&spec.vendor)
                .is_some_and(|ks| ks.contains(&SourceKey::Catalog(spec.key.to_string()))),
            "{} {}",
            spec.vendor,
            spec.key
        );
    }
}

fn kandji_ipad() -> SourceDevice {
    let mut d = SourceDevice::new(Vendor::Kandji, Entity::Device, "5c4b1a2e");
    d.fields
        .serial("serial_number", Some("DMPXK1ABQ1GC"))
        .text("model", Some("iPad Pro (12.9-inch) (6th generation)"))
        .text("platform", Some("iPad"))
        .text("os_version", Some("17.4.1"))
        .text("device_name", Some("Front desk"))
        .bool("mdm_enabled", Some(true));
    d
}

#[test]
fn derived_fields_for_each_vendor() {
    let m = Mapping::builtin();
    let k = m.map_record(&kandji_ipad(), false);
    assert_eq!(k["model"], Value::from("iPad Pro (6th generation)"));
    assert_eq!(k["display_size"], Value::from("12.9"));
    assert!(!k.contains_key("release_year"));
    assert_eq!(k["asset_type"], Value::from("tablet"));
    assert_eq!(k["os_name"], Value::from("iPadOS"));
    assert_eq!(k["os_version"], Value::from("17.4.1"));
    assert_eq!(k["kandji_id"], Value::from("5c4b1a2e"));
    assert_eq!(k["managed"], Value::Bool(true));
    assert_eq!(k["make"], Value::from("Apple"));

    let mut a = SourceDevice::new(Vendor::Abm, Entity::Device, "H4TXK1ABQ05D");
    a.fields
        .serial("serial_number", Some("H4TXK1ABQ05D"))
        .text("device_model", Some("iMac 21.5\""))
        .text("product_type", Some("iMac16,2"))
        .text("part_number", Some("MK142LL/A"))
        .datetime("order_date_time", Some("2015-11-02T08:00:00Z"))
        .text("purchase_source_type", Some("APPLE"));
    let a = m.map_record(&a, false);
    assert_eq!(a["model"], Value::from("iMac"));
    assert_eq!(a["display_size"], Value::from("21.5"));
    assert_eq!(a["asset_type"], Value::from("desktop"));
    assert_eq!(a["model_identifier"], Value::from("iMac16,2"));
    assert_eq!(a["model_number"], Value::from("MK142LL/A"));
    assert_eq!(a["po_date"], Value::from("2015-11-02"));
    assert_eq!(a["purchase_source"], Value::from("APPLE"));
    assert!(!a.contains_key("jamf_id") && !a.contains_key("os_name"));

    // A Jamf model that is an identifier the table knows, a vendor-given make.
    let mut j = SourceDevice::new(Vendor::Jamf, Entity::Computer, "7");
    j.fields
        .text("model", Some("MacBookPro14,3"))
        .text("make", Some("Apple Inc."))
        .text("operating_system", Some("Mac OS X 10.15.7"));
    let j = m.map_record(&j, false);
    assert_eq!(j["model"], Value::from("MacBook Pro"));
    assert_eq!(j["release_year"], Value::Int(2017));
    assert_eq!(j["make"], Value::from("Apple Inc."));
    assert_eq!(j["os_name"], Value::from("macOS"));
    assert_eq!(j["os_version"], Value::from("10.15.7"));

    // Not an Apple name: kept as written, typed "other".
    let mut vm = SourceDevice::new(Vendor::Jamf, Entity::Computer, "8");
    vm.fields.text("model", Some("Virtual Machine"));
    let vm = m.map_record(&vm, false);
    assert_eq!(vm["model"], Value::from("Virtual Machine"));
    assert_eq!(vm["asset_type"], Value::from("other"));
    assert_eq!(vm["os_name"], Value::from("macOS"));
}

#[test]
fn user_mapping_from_toml_and_json_to_own_field_names() {
    let toml = r#"
        catalog_defaults = false
        match_on = ["serial"]

        [fields.serial]
        from = { jamf = "serial_number", kandji = "serial_number" }

        [fields.hostname]
        from = { kandji = "device_name" }
        ownership = "fill_if_empty"

        [fields.kind]
        from = { kandji = "@asset_type" }

        [fields.owner]
        ownership = "inventory"
    "#;
    let json = r#"{
        "catalog_defaults": false,
        "match_on": ["serial"],
        "fields": {
            "serial": {"from": {"jamf": "serial_number", "kandji": ["serial_number"]}},
            "hostname": {"from": {"kandji": "device_name"}, "ownership": "fill_if_empty"},
            "kind": {"from": {"kandji": "@asset_type"}},
            "owner": {"ownership": "inventory"}
        }
    }"#;
    let a = Config::from_toml_str(toml).unwrap();
    let b = Config::from_json_str(json).unwrap();
    assert_eq!(a, b);
    let names: Vec<&str> = a.mapping.fields().map(|(k, _)| k).collect();
    assert_eq!(names, vec!["hostname", "kind", "owner", "serial"]);

    let inv = Inventory::from_json(
        r#"{"assets":[{"id":"7","fields":{"serial":"dmpxk1abq1gc","hostname":"kept"}}]}"#,
    )
    .unwrap();
    let p = upsert::plan(&inv, &[kandji_ipad()], &a, &[]).unwrap();
    let act = &p.actions[0];
    assert_eq!(act.action, ActionKind::Update);
    assert_eq!(act.matched_on.as_deref(), Some("serial"));
    let changed: Vec<&str> = act.changes.iter().map(|(k, _)| k).collect();
    assert_eq!(changed, vec!["kind"]);
}

#[test]
fn ignore_drops_a_field_and_bad_configs_are_named() {
    let c = Config::from_toml_str("[fields.device_name]\nownership = \"ignore\"").unwrap();
    let p = upsert::plan(&Inventory::default(), &[kandji_ipad()], &c, &[]).unwrap();
    assert!(p.actions[0].changes.get("device_name").is_none());
    assert!(p.actions[0].changes.get("serial_number").is_some());

    for (bad, needle) in [
        ("[fields.x]\nfrom = { jamf = \"@bogus\" }", "@bogus"),
        ("[fields.x]\nfrom = { intune = \"a\" }", "intune"),
        ("[fields.x]\nownership = \"mine\"", "mine"),
        ("match_on = []", "empty"),
        ("catalog_defaults = false", "jamf_id"),
    ] {
        let e: ConfigError = Config::from_toml_str(bad).unwrap_err();
        assert!(e.to_string().contains(needle), "{bad}: {e}");
    }
}

#[test]
fn explicit_rules_can_be_built_in_code() {
    let mut m = Mapping::empty();
    let mut from = BTreeMap::new();
    from.insert(
        Vendor::Kandji,
        vec![SourceKey::Catalog("serial_number".into())],
    );
    m.set(
        "serial_number",
        FieldRule {
            from,
            ownership: Ownership::Source,
            priority: vec![Vendor::Kandji],
            clear_when_blank: false,
        },
    );
    let mut from = BTreeMap::new();
    from.insert(Vendor::Kandji, vec![SourceKey::Derived(Derived::OsName)]);
    m.set(
        "os",
        FieldRule {
            from,
            ownership: Ownership::Source,
            priority: Vec::new(),
            clear_when_blank: false,
        },
    );
    let config = Config {
        mapping: m,
        match_on: vec!["serial_number".into()],
        new_asset_status: None,
        ..Config::default()
    };
    let p = upsert::plan(&Inventory::default(), &[kandji_ipad()], &config, &[]).unwrap();
    let fields: Vec<&str> = p.actions[0].changes.iter().map(|(k, _)| k).collect();
    assert_eq!(fields, vec!["os", "serial_number"]);
}
