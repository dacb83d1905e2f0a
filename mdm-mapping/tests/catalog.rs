//! The catalog against the integration documents' tables (embedded here as
//! data, so the test does not depend on the reference directory) and the
//! design's contracts.

use std::collections::BTreeSet;

use mdm_mapping::catalog::{self, FieldSpec, Recommendation, ValueType};
use mdm_mapping::normalize::catalog_key;
use mdm_mapping::{Entity, Vendor};
use serde_json::json;

use Recommendation::{
    Acceptable as A, Avoid as V, Caution as W, Informational as I, Recommended as R,
};

/// Jamf Pro table: (Field Name, Mapping Guidance, expected recommendation).
const JAMF: &[(&str, &str, Recommendation)] = &[
    (
        "Active Directory Status",
        "Map for device compliance tracking, if needed",
        I,
    ),
    (
        "Architecture Type",
        "Map if you're categorizing by hardware type",
        I,
    ),
    (
        "Asset Tag",
        "Recommended for unique ID, if used consistently",
        // The seed's word; whether it is used consistently is the health
        // report's to say (fill rate, duplicates).
        R,
    ),
    (
        "Bar Code 1",
        "Map if barcoding is used in inventory tracking",
        I,
    ),
    ("Bar Code 2", "Map as a backup barcode or alternate tag", I),
    (
        "Bluetooth Low Energy Capability",
        "Map for tracking device features",
        I,
    ),
    ("Building ID", "Map to location field", I),
    ("Bus Speed", "Map if tracking hardware performance", I),
    ("Cache Size", "Map for detailed profiling", I),
    (
        "Computer Name",
        "Useful for display only; avoid as unique ID",
        V,
    ),
    ("Department ID", "Map for department-based filtering", I),
    ("Email Address", "Recommended unique ID for users", R),
    (
        "FileVault 2 Enabled Users",
        "Map for security compliance",
        I,
    ),
    ("Full Name", "Map for display; not a stable unique ID", V),
    ("IP Address", "Avoid – dynamic value", V),
    ("Is Leased", "Map for lifecycle tracking", I),
    ("Is Purchased", "Map for financial reporting", I),
    ("Jamf Binary Version", "Map to verify system coverage", I),
    ("Jamf Pro Computer ID", "Safe and stable unique ID", R),
    (
        "Lease Expiration",
        "Map for contract expiration tracking",
        I,
    ),
    ("Life Expectancy", "Map to plan replacements", I),
    ("Make", "Map to vendor field", I),
    ("Managed", "Map to indicate device compliance", I),
    ("MDM Capability", "Map for enrollment eligibility", I),
    ("Model", "Map to categorize asset types", I),
    ("Model Identifier", "Map for technical reference", I),
    ("NIC Speed", "Map if tracking network capabilities", I),
    (
        "Number of Processors",
        "Map for performance or hardware reports",
        I,
    ),
    (
        "Operating System",
        "Map for inventory or software compliance",
        I,
    ),
    (
        "Operating System Build",
        "Map to ensure version compliance",
        I,
    ),
    ("Optical Drive", "Map if relevant to asset profile", I),
    ("Phone Number", "Avoid – may change or duplicate", V),
    ("Platform", "Map to separate desktop vs. mobile assets", I),
    ("PO Date", "Map for procurement history", I),
    ("PO Number", "Map for financial linking", I),
    ("Position", "Map for HR alignment", I),
    ("Primary MAC Address", "Use with caution as unique ID", W),
    ("Processor Speed", "Map for hardware tracking", I),
    ("Processor Type", "Map to identify chipsets", I),
    (
        "Purchase Price",
        "Map for value and depreciation tracking",
        I,
    ),
    ("Room", "Map for precise asset location", I),
    (
        "Secondary MAC Address",
        "Use if primary MAC not available",
        W,
    ),
    ("Serial Number", "Highly recommended for device matching", R),
    ("SMC Version", "Map for Mac-specific auditing", I),
    ("Supervised", "Map for compliance tracking", I),
    ("Total Number of Cores", "Map for system spec reports", I),
    ("Total RAM", "Map for hardware profile", I),
    ("UDID", "Best for mobile/Apple devices", R),
    ("Username", "Not recommended as unique ID", V),
    ("Vendor", "Map for procurement reports", I),
    (
        "Warranty Expiration",
        "Map for renewal and support planning",
        I,
    ),
];

/// The Jamf table's user fields (entity `user` in the catalog).
const JAMF_USER_FIELDS: &[&str] = &[
    "Email Address",
    "Full Name",
    "Phone Number",
    "Position",
    "Username",
];

/// Kandji table: (Kandji Field, Usage Recommendation, expected recommendation).
const KANDJI: &[(&str, &str, Recommendation)] = &[
    ("Agent Installed", "Informational; not unique", I),
    ("Agent Version", "Informational; not unique", I),
    ("Asset Tag", "Use if standardized and unique", W),
    ("Blueprint ID", "Not unique; group-level data", I),
    ("Blueprint Name", "Not unique; group-level data", I),
    ("Device ID", "Recommended unique identifier", R),
    ("Device Name", "Use only if standardized", W),
    ("First Enrollment", "Informational", I),
    ("Is Missing", "Not suitable as identifier", V),
    ("Is Removed", "Not suitable as identifier", V),
    ("Last Check In", "Informational", I),
    ("Last Enrollment", "Informational", I),
    ("Lost Mode Status", "Informational", I),
    ("MDM Enabled", "Informational", I),
    ("Model", "Not unique", I),
    ("OS Version", "Not unique", I),
    ("Platform", "Not unique", I),
    ("Serial Number", "Common and acceptable identifier", A),
    ("Supplemental Build Version", "Informational", I),
    ("Supplemental OS Version Extra", "Informational", I),
    ("Tags", "Not unique", I),
    ("User Active", "Informational", I),
    ("User Email", "Use only if guaranteed unique", W),
    ("User ID", "Acceptable if user-focused sync", A),
    ("User Is Archived", "Informational", I),
    ("User Name", "Use only if consistently formatted", W),
];

/// ABM table: (Field Name, Unique Per Device?, Recommended for Identifier, expected recommendation).
const ABM: &[(&str, &str, &str, Recommendation)] = &[
    ("Serial Number", "Yes", "Recommended", R),
    ("IMEI", "Yes (cellular only)", "For cellular devices", A),
    ("MEID", "Yes (cellular only)", "For cellular devices", A),
    ("EID", "Yes (eSIM only)", "Not all devices", W),
    ("Bluetooth MAC Address", "Yes", "Alternate", A),
    ("WiFi MAC Address", "Yes", "Alternate", A),
    ("Device Model", "No", "No", I),
    ("Product Type", "No", "No", I),
    ("Status", "No", "No", I),
    ("Color", "No", "No", I),
    ("Added to Org Date Time", "No", "No", I),
    ("Order Number", "No", "No", I),
    ("Part Number", "No", "No", I),
    ("Purchase Source ID/Type", "No", "No", I),
    ("Device Capacity", "No", "No", I),
    ("Product Family", "No", "No", I),
    ("Updated Date Time", "No", "No", I),
];

/// The extra rows of CATALOG_EXTRAS: (vendor, entity, name).
const EXTRAS: &[(Vendor, Entity, &str)] = &[
    (Vendor::Jamf, Entity::Computer, "Operating System Version"),
    (Vendor::Jamf, Entity::Computer, "Last Contact Time"),
    (Vendor::Jamf, Entity::Computer, "Last Inventory Update"),
    (Vendor::Jamf, Entity::Computer, "Last Enrolled Date"),
    (Vendor::Jamf, Entity::Computer, "Site"),
    (Vendor::Jamf, Entity::Computer, "Activation Lock Enabled"),
    (Vendor::Jamf, Entity::Computer, "Recovery Lock Enabled"),
    (Vendor::Jamf, Entity::Computer, "AppleCare ID"),
    (Vendor::Jamf, Entity::MobileDevice, "Serial Number"),
    (Vendor::Jamf, Entity::MobileDevice, "UDID"),
    (Vendor::Jamf, Entity::MobileDevice, "Asset Tag"),
    (Vendor::Jamf, Entity::MobileDevice, "Model"),
    (Vendor::Jamf, Entity::MobileDevice, "Model Identifier"),
    (Vendor::Jamf, Entity::MobileDevice, "Managed"),
    (Vendor::Jamf, Entity::MobileDevice, "Supervised"),
    (Vendor::Jamf, Entity::MobileDevice, "Operating System"),
    (Vendor::Jamf, Entity::MobileDevice, "Operating System Build"),
    (
        Vendor::Jamf,
        Entity::MobileDevice,
        "Operating System Version",
    ),
    (Vendor::Jamf, Entity::MobileDevice, "IP Address"),
    (Vendor::Jamf, Entity::MobileDevice, "Building ID"),
    (Vendor::Jamf, Entity::MobileDevice, "Department ID"),
    (Vendor::Jamf, Entity::MobileDevice, "Room"),
    (Vendor::Jamf, Entity::MobileDevice, "PO Number"),
    (Vendor::Jamf, Entity::MobileDevice, "PO Date"),
    (Vendor::Jamf, Entity::MobileDevice, "Vendor"),
    (Vendor::Jamf, Entity::MobileDevice, "Purchase Price"),
    (Vendor::Jamf, Entity::MobileDevice, "Is Leased"),
    (Vendor::Jamf, Entity::MobileDevice, "Is Purchased"),
    (Vendor::Jamf, Entity::MobileDevice, "Lease Expiration"),
    (Vendor::Jamf, Entity::MobileDevice, "Warranty Expiration"),
    (Vendor::Jamf, Entity::MobileDevice, "Life Expectancy"),
    (Vendor::Jamf, Entity::MobileDevice, "Last Inventory Update"),
    (Vendor::Jamf, Entity::MobileDevice, "Site"),
    (
        Vendor::Jamf,
        Entity::MobileDevice,
        "Jamf Pro Mobile Device ID",
    ),
    (Vendor::Jamf, Entity::MobileDevice, "Device Name"),
    (Vendor::Jamf, Entity::MobileDevice, "WiFi MAC Address"),
    (Vendor::Jamf, Entity::MobileDevice, "Bluetooth MAC Address"),
    (Vendor::Jamf, Entity::MobileDevice, "IMEI"),
    (Vendor::Jamf, Entity::MobileDevice, "MEID"),
    (Vendor::Jamf, Entity::MobileDevice, "Device Type"),
    (
        Vendor::Jamf,
        Entity::MobileDevice,
        "Activation Lock Enabled",
    ),
    (Vendor::Kandji, Entity::Device, "Model Identifier"),
    (Vendor::Kandji, Entity::Device, "UDID"),
    (Vendor::Kandji, Entity::Device, "MAC Address"),
    (Vendor::Kandji, Entity::Device, "Supervised"),
    (Vendor::Kandji, Entity::Device, "Processor"),
    (Vendor::Kandji, Entity::Device, "Memory"),
    (Vendor::Kandji, Entity::Device, "FileVault Enabled"),
    (Vendor::Kandji, Entity::Device, "Activation Lock Enabled"),
    (Vendor::Kandji, Entity::Device, "Recovery Lock Enabled"),
    (Vendor::Abm, Entity::Device, "Order Date Time"),
    (Vendor::Abm, Entity::Device, "Released From Org Date Time"),
    (Vendor::Abm, Entity::Device, "Ethernet MAC Address"),
    (Vendor::Abm, Entity::Device, "Assigned Server ID"),
    (Vendor::Abm, Entity::Device, "AppleCare Status"),
    (Vendor::Abm, Entity::Device, "AppleCare End Date"),
    (Vendor::Abm, Entity::Device, "Activation Lock Enabled"),
];

/// DESIGN.md's default inventory schema.
const INVENTORY_FIELDS: &[&str] = &[
    // identity
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
    // hardware
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
    // management
    "device_name",
    "os_name",
    "os_version",
    "os_build",
    "managed",
    "supervised",
    "last_check_in",
    "enrolled_at",
    // purchasing
    "order_number",
    "po_number",
    "po_date",
    "vendor",
    "purchase_price",
    "warranty_expiration",
    "lease_expiration",
    "is_leased",
    "purchase_source",
    // security
    "activation_lock_enabled",
    "recovery_lock_enabled",
    "applecare_id",
    "recovery_key",
    // inventory-owned
    "assignee_id",
    "location",
    "status",
    "condition",
];

fn rows(vendor: Vendor, name: &str) -> Vec<&'static FieldSpec> {
    catalog::for_vendor(vendor)
        .filter(|f| f.name == name)
        .collect()
}

/// The table row of that name: Jamf Pro computer or user, Kandji/ABM device.
fn table_row(vendor: Vendor, name: &str) -> &'static FieldSpec {
    let entity = match vendor {
        Vendor::Jamf if JAMF_USER_FIELDS.contains(&name) => Entity::User,
        Vendor::Jamf => Entity::Computer,
        _ => Entity::Device,
    };
    let found: Vec<_> = rows(vendor, name)
        .into_iter()
        .filter(|f| f.entity == entity)
        .collect();
    assert_eq!(found.len(), 1, "{vendor} {entity} {name:?}: {found:?}");
    found[0]
}

#[test]
fn jamf_table_rows_are_all_there_verbatim() {
    assert_eq!(JAMF.len(), 51);
    for (name, guidance, rec) in JAMF {
        let f = table_row(Vendor::Jamf, name);
        assert_eq!(f.guidance, *guidance, "{name}");
        assert_eq!(f.recommendation, *rec, "{name}");
        assert_eq!(f.key, catalog_key(name), "{name}");
    }
    // Curly apostrophes in descriptions are kept as the table writes them.
    assert_eq!(
        table_row(Vendor::Jamf, "Full Name").description,
        "User\u{2019}s full name"
    );
    assert_eq!(
        table_row(Vendor::Jamf, "Email Address").description,
        "User's email address"
    );
}

#[test]
fn kandji_table_rows_are_all_there_verbatim() {
    assert_eq!(KANDJI.len(), 26);
    for (name, guidance, rec) in KANDJI {
        let f = table_row(Vendor::Kandji, name);
        assert_eq!(f.guidance, *guidance, "{name}");
        assert_eq!(f.recommendation, *rec, "{name}");
        assert_eq!(f.key, catalog_key(name), "{name}");
    }
}

#[test]
fn abm_table_rows_are_all_there_with_the_purchase_source_split() {
    assert_eq!(ABM.len(), 17);
    for (name, unique, recommended, rec) in ABM {
        let found: Vec<&FieldSpec> = if *name == "Purchase Source ID/Type" {
            vec![
                table_row(Vendor::Abm, "Purchase Source ID"),
                table_row(Vendor::Abm, "Purchase Source Type"),
            ]
        } else {
            vec![table_row(Vendor::Abm, name)]
        };
        for f in found {
            assert_eq!(f.recommendation, *rec, "{name}");
            assert!(f.guidance.contains(unique), "{name}: {}", f.guidance);
            assert!(f.guidance.contains(recommended), "{name}: {}", f.guidance);
            assert_eq!(f.unique, unique.starts_with("Yes"), "{name}");
        }
    }
    assert_eq!(
        table_row(Vendor::Abm, "Purchase Source ID").key,
        "purchase_source_id"
    );
    assert_eq!(
        table_row(Vendor::Abm, "Purchase Source Type").key,
        "purchase_source_type"
    );
    assert!(rows(Vendor::Abm, "Purchase Source ID/Type").is_empty());
    assert_eq!(
        table_row(Vendor::Abm, "Serial Number").description,
        "Device\u{2019}s Apple serial"
    );
}

#[test]
fn jamf_entities_follow_the_design() {
    for (name, _, _) in JAMF {
        let f = table_row(Vendor::Jamf, name);
        let want = if JAMF_USER_FIELDS.contains(name) {
            Entity::User
        } else {
            Entity::Computer
        };
        assert_eq!(f.entity, want, "{name}");
    }
    for f in catalog::for_vendor(Vendor::Kandji).chain(catalog::for_vendor(Vendor::Abm)) {
        assert_eq!(f.entity, Entity::Device, "{} {}", f.vendor, f.name);
    }
}

#[test]
fn extra_rows_are_there() {
    for (vendor, entity, name) in EXTRAS {
        let found: Vec<_> = rows(*vendor, name)
            .into_iter()
            .filter(|f| f.entity == *entity)
            .collect();
        assert_eq!(found.len(), 1, "{vendor} {entity} {name:?}");
        assert_eq!(found[0].key, catalog_key(name));
    }
}

#[test]
fn every_key_is_the_catalog_key_of_its_name_except_the_abm_split() {
    for f in catalog::all() {
        if f.vendor == Vendor::Abm && f.name.starts_with("Purchase Source ") {
            continue;
        }
        assert_eq!(f.key, catalog_key(f.name), "{} {}", f.vendor, f.name);
    }
}

#[test]
fn no_duplicate_vendor_entity_key() {
    let mut seen = BTreeSet::new();
    for f in catalog::all() {
        assert!(
            seen.insert((f.vendor, f.entity, f.key)),
            "duplicate {} {} {}",
            f.vendor,
            f.entity,
            f.key
        );
    }
    let mut names = BTreeSet::new();
    for f in catalog::all() {
        assert!(
            names.insert((f.vendor, f.entity, f.name)),
            "duplicate name {} {} {}",
            f.vendor,
            f.entity,
            f.name
        );
    }
}

#[test]
fn every_row_is_complete() {
    for f in catalog::all() {
        let at = format!("{} {} {}", f.vendor, f.entity, f.name);
        assert!(!f.json_path.trim().is_empty(), "{at}");
        assert!(!f.description.trim().is_empty(), "{at}");
        assert!(!f.guidance.trim().is_empty(), "{at}");
        assert_eq!(f.name, f.name.trim(), "{at}");
    }
}

#[test]
fn counts_per_vendor_and_entity() {
    let count = |v: Vendor, e: Entity| catalog::for_entity(v, e).count();
    // 46 table rows + 8 extras; 5 user rows; the mobile-device rows.
    assert_eq!(count(Vendor::Jamf, Entity::Computer), 46 + 8);
    assert_eq!(count(Vendor::Jamf, Entity::User), 5);
    // 33 from CATALOG_EXTRAS, plus Last Contact Time, Last Enrolled Date,
    // AppleCare ID and EID, which the mobile-device detail also reports.
    assert_eq!(count(Vendor::Jamf, Entity::MobileDevice), 33 + 4);
    assert_eq!(count(Vendor::Kandji, Entity::Device), 26 + 9);
    assert_eq!(count(Vendor::Abm, Entity::Device), 18 + 7);
    assert_eq!(
        catalog::all().len(),
        catalog::for_vendor(Vendor::Jamf).count()
            + catalog::for_vendor(Vendor::Kandji).count()
            + catalog::for_vendor(Vendor::Abm).count()
    );
}

#[test]
fn json_paths_follow_the_vendor_notes() {
    let path = |v: Vendor, e: Entity, key: &str| {
        catalog::for_entity(v, e)
            .find(|f| f.key == key)
            .map(|f| f.json_path)
            .unwrap_or_else(|| panic!("{v} {e} {key}"))
    };
    assert_eq!(
        path(Vendor::Jamf, Entity::Computer, "serial_number"),
        "hardware.serialNumber"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::Computer, "jamf_pro_computer_id"),
        "id"
    );
    assert_eq!(path(Vendor::Jamf, Entity::Computer, "udid"), "udid");
    assert_eq!(
        path(Vendor::Jamf, Entity::Computer, "asset_tag"),
        "general.assetTag"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::Computer, "ip_address"),
        "general.lastIpAddress"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::User, "email_address"),
        "userAndLocation.email"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::User, "full_name"),
        "userAndLocation.realname"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::Computer, "filevault_2_enabled_users"),
        "diskEncryption.fileVault2EnabledUserNames"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::Computer, "operating_system"),
        "operatingSystem.name + operatingSystem.version"
    );
    assert_eq!(
        path(
            Vendor::Jamf,
            Entity::MobileDevice,
            "jamf_pro_mobile_device_id"
        ),
        "mobileDeviceId"
    );
    assert_eq!(
        path(Vendor::Jamf, Entity::MobileDevice, "imei"),
        "network.imei"
    );
    assert_eq!(
        path(Vendor::Kandji, Entity::Device, "serial_number"),
        "serial_number"
    );
    assert_eq!(
        path(Vendor::Kandji, Entity::Device, "user_email"),
        "user.email"
    );
    assert_eq!(
        path(Vendor::Kandji, Entity::Device, "user_active"),
        "users[].active (joined on user.id)"
    );
    assert_eq!(
        path(Vendor::Abm, Entity::Device, "serial_number"),
        "attributes.serialNumber"
    );
    assert_eq!(path(Vendor::Abm, Entity::Device, "imei"), "attributes.imei");
}

#[test]
fn value_types_fit_the_values() {
    let ty = |v: Vendor, e: Entity, key: &str| {
        catalog::for_entity(v, e)
            .find(|f| f.key == key)
            .map(|f| f.value_type)
            .unwrap_or_else(|| panic!("{v} {e} {key}"))
    };
    use Entity::{Computer, Device, MobileDevice};
    use Vendor::{Abm, Jamf, Kandji};
    for (v, e, key, want) in [
        (Jamf, Computer, "serial_number", ValueType::Serial),
        (Jamf, Computer, "primary_mac_address", ValueType::MacAddress),
        (
            Jamf,
            Computer,
            "secondary_mac_address",
            ValueType::MacAddress,
        ),
        (Jamf, Computer, "processor_speed", ValueType::Measured),
        (Jamf, Computer, "bus_speed", ValueType::Measured),
        (Jamf, Computer, "cache_size", ValueType::Measured),
        (Jamf, Computer, "total_number_of_cores", ValueType::Integer),
        (Jamf, Computer, "number_of_processors", ValueType::Integer),
        (Jamf, Computer, "total_ram", ValueType::Integer),
        (Jamf, Computer, "purchase_price", ValueType::Money),
        (Jamf, Computer, "jamf_pro_computer_id", ValueType::Id),
        (Jamf, Computer, "po_date", ValueType::Date),
        (Jamf, Computer, "warranty_expiration", ValueType::Date),
        (Jamf, Computer, "lease_expiration", ValueType::Date),
        (Jamf, Computer, "last_contact_time", ValueType::DateTime),
        (Jamf, Computer, "managed", ValueType::Boolean),
        (Jamf, Computer, "filevault_2_enabled_users", ValueType::List),
        (Jamf, MobileDevice, "imei", ValueType::List),
        (Jamf, MobileDevice, "meid", ValueType::List),
        (Kandji, Device, "tags", ValueType::List),
        (Kandji, Device, "device_id", ValueType::Id),
        (Kandji, Device, "user_id", ValueType::Id),
        (Kandji, Device, "first_enrollment", ValueType::DateTime),
        (Kandji, Device, "is_missing", ValueType::Boolean),
        (Kandji, Device, "user_email", ValueType::Email),
        (Abm, Device, "imei", ValueType::List),
        (Abm, Device, "meid", ValueType::List),
        (Abm, Device, "wifi_mac_address", ValueType::MacAddress),
        (Abm, Device, "ethernet_mac_address", ValueType::MacList),
        (Abm, Device, "added_to_org_date_time", ValueType::DateTime),
    ] {
        assert_eq!(ty(v, e, key), want, "{v} {e} {key}");
    }
    for f in catalog::all() {
        if f.key.ends_with("mac_address") {
            assert!(
                matches!(f.value_type, ValueType::MacAddress | ValueType::MacList),
                "{} {}",
                f.vendor,
                f.key
            );
        }
        if f.key.contains("serial") {
            assert_eq!(f.value_type, ValueType::Serial, "{} {}", f.vendor, f.key);
        }
    }
}

#[test]
fn shared_jamf_keys_agree_between_computers_and_mobile_devices() {
    for m in catalog::for_entity(Vendor::Jamf, Entity::MobileDevice) {
        if let Some(c) =
            catalog::for_entity(Vendor::Jamf, Entity::Computer).find(|c| c.key == m.key)
        {
            assert_eq!(m.name, c.name, "{}", m.key);
            assert_eq!(m.value_type, c.value_type, "{}", m.key);
            assert_eq!(m.default_target, c.default_target, "{}", m.key);
            assert_eq!(m.recommendation, c.recommendation, "{}", m.key);
        }
    }
}

/// The default target the brief assigns to (vendor, entity, key).
fn expected_target(vendor: Vendor, entity: Entity, key: &str) -> Option<&'static str> {
    if entity == Entity::User {
        return None;
    }
    let common = match key {
        "serial_number"
        | "asset_tag"
        | "udid"
        | "imei"
        | "meid"
        | "eid"
        | "wifi_mac_address"
        | "bluetooth_mac_address"
        | "make"
        | "model"
        | "model_identifier"
        | "platform"
        | "managed"
        | "supervised"
        | "po_number"
        | "po_date"
        | "vendor"
        | "purchase_price"
        | "lease_expiration"
        | "is_leased"
        | "activation_lock_enabled"
        | "recovery_lock_enabled"
        | "applecare_id"
        | "warranty_expiration"
        | "order_number"
        | "color"
        | "product_family"
        | "os_version" => INVENTORY_FIELDS.iter().copied().find(|f| *f == key),
        "jamf_pro_computer_id" | "jamf_pro_mobile_device_id" => Some("jamf_id"),
        "processor_type" | "processor" => Some("processor"),
        "processor_speed" => Some("processor_speed_mhz"),
        "total_number_of_cores" => Some("processor_cores"),
        "total_ram" => Some("memory_mb"),
        "computer_name" | "device_name" => Some("device_name"),
        "operating_system" => Some("os_name"),
        "operating_system_version" => Some("os_version"),
        "operating_system_build" => Some("os_build"),
        "building_id" => Some("location"),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match (vendor, key) {
        (Vendor::Jamf, "primary_mac_address") => Some("ethernet_mac_address"),
        (Vendor::Jamf, "last_contact_time") => Some("last_check_in"),
        (Vendor::Jamf, "last_enrolled_date") => Some("enrolled_at"),
        (Vendor::Kandji, "device_id") => Some("kandji_id"),
        (Vendor::Kandji, "last_check_in") => Some("last_check_in"),
        (Vendor::Kandji, "first_enrollment") => Some("enrolled_at"),
        (Vendor::Abm, "ethernet_mac_address") => Some("ethernet_mac_address"),
        (Vendor::Abm, "device_model") => Some("model"),
        (Vendor::Abm, "product_type") => Some("model_identifier"),
        (Vendor::Abm, "part_number") => Some("model_number"),
        (Vendor::Abm, "device_capacity") => Some("storage"),
        (Vendor::Abm, "added_to_org_date_time") => Some("enrolled_at"),
        (Vendor::Abm, "purchase_source_type") => Some("purchase_source"),
        (Vendor::Abm, "applecare_end_date") => Some("warranty_expiration"),
        _ => None,
    }
}

#[test]
fn default_targets_are_inventory_fields_as_assigned() {
    for f in catalog::all() {
        if let Some(t) = f.default_target {
            assert!(
                INVENTORY_FIELDS.contains(&t),
                "{} {} -> {t}",
                f.vendor,
                f.key
            );
        }
        assert_eq!(
            f.default_target,
            expected_target(f.vendor, f.entity, f.key),
            "{} {} {}",
            f.vendor,
            f.entity,
            f.key
        );
    }
    // Kandji's MAC address names no interface: no default target.
    assert_eq!(
        catalog::field(Vendor::Kandji, "mac_address").map(|f| f.default_target),
        Some(None)
    );
}

#[test]
fn every_value_type_normalizes_samples_without_panicking() {
    let samples = [
        json!(null),
        json!(""),
        json!("  "),
        json!("Not Available"),
        json!(" c02xk1abjg5h "),
        json!("A4-83-E7-0B-1C-2D"),
        json!("2024-01-26 16:15:36.087016+00:00"),
        json!("2019-02-04"),
        json!("True"),
        json!("$500"),
        json!(-1),
        json!(0),
        json!(2400),
        json!(1.5),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(true),
        json!(["a", " b ", "", 1]),
        json!([]),
        json!({"a": 1}),
    ];
    for f in catalog::all() {
        for s in &samples {
            let _ = f.value_type.normalize(s);
        }
    }
    // And the normalizations the types promise.
    assert_eq!(
        ValueType::Serial
            .normalize(&json!(" c02xk1abjg5h "))
            .map(|v| v.to_string()),
        Some("C02XK1ABJG5H".into())
    );
    assert_eq!(ValueType::Serial.normalize(&json!("Not Available")), None);
    assert_eq!(ValueType::Measured.normalize(&json!(0)), None);
    assert_eq!(ValueType::Integer.normalize(&json!(-1)), None);
    assert_eq!(
        ValueType::Date
            .normalize(&json!("2019-02-04T21:09:31.661Z"))
            .map(|v| v.to_string()),
        Some("2019-02-04".into())
    );
}

#[test]
fn catalog_serializes_with_exactly_the_design_keys() {
    let json = serde_json::to_value(catalog::all()).expect("serializes");
    let items = json.as_array().expect("an array");
    assert_eq!(items.len(), catalog::all().len());
    let want: BTreeSet<&str> = [
        "vendor",
        "entity",
        "name",
        "key",
        "json_path",
        "value_type",
        "description",
        "guidance",
        "unique",
        "recommendation",
        "default_target",
    ]
    .into_iter()
    .collect();
    let recommendations = [
        "recommended",
        "acceptable",
        "caution",
        "avoid",
        "informational",
    ];
    for item in items {
        let obj = item.as_object().expect("an object");
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys, want);
        assert!(["jamf", "kandji", "abm"].contains(&obj["vendor"].as_str().expect("vendor")));
        assert!(
            ["computer", "mobile_device", "device", "user"]
                .contains(&obj["entity"].as_str().expect("entity"))
        );
        assert!(recommendations.contains(&obj["recommendation"].as_str().expect("rec")));
        assert!(obj["unique"].is_boolean());
    }
    let ip = items
        .iter()
        .find(|i| i["vendor"] == "jamf" && i["key"] == "ip_address")
        .expect("ip_address");
    assert_eq!(ip["guidance"], "Avoid – dynamic value");
    assert_eq!(ip["recommendation"], "avoid");
    assert_eq!(ip["default_target"], serde_json::Value::Null);
}

#[test]
fn lookups_by_name_and_key() {
    assert_eq!(
        catalog::find(Vendor::Jamf, "ip address").map(|f| f.key),
        Some("ip_address")
    );
    assert_eq!(
        catalog::find(Vendor::Jamf, "IP_ADDRESS").map(|f| f.key),
        Some("ip_address")
    );
    assert_eq!(
        catalog::find(Vendor::Kandji, "Device ID").map(|f| f.key),
        Some("device_id")
    );
    assert!(catalog::find(Vendor::Abm, "Jamf Pro Computer ID").is_none());
    assert_eq!(
        catalog::field(Vendor::Jamf, "serial_number").map(|f| f.entity),
        Some(Entity::Computer)
    );
}
