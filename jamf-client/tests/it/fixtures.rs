//! Fixture records normalized into SourceDevices, snapshotted with insta,
//! and a check that decoding keeps every field the models name (and skips
//! only the listed sections and fields they do not).

use std::collections::BTreeSet;

use jamf_client::map::{self, SecurityReads, SiteNames};
use jamf_client::models::{ComputerInventory, MobileDevice};
use mdm_mapping::SourceDevice;
use serde_json::Value;

use crate::common::{fixture, fixture_json};

fn computer(name: &str, security: SecurityReads) -> SourceDevice {
    let c: ComputerInventory = serde_json::from_str(&fixture(name)).unwrap();
    map::computer(&c, &security)
}

fn mobile(name: &str, security: SecurityReads) -> SourceDevice {
    let m: MobileDevice = serde_json::from_str(&fixture(name)).unwrap();
    let sites: SiteNames = [("1".to_string(), "Eau Claire".to_string())].into();
    map::mobile_device(&m, &sites, &security)
}

#[test]
fn intel_mac() {
    let d = computer("computers/intel_mac_v1.json", SecurityReads::none());
    // Quirks: bus speed 0 and cores -1 dropped, "Not Bound" kept, the room's
    // tabs and newlines trimmed at the ends, the email lower-cased.
    assert!(!d.fields.contains("bus_speed"));
    assert!(!d.fields.contains("total_number_of_cores"));
    assert!(!d.fields.contains("site"));
    assert!(!d.fields.contains("department_id"), "-1 is no id");
    insta::assert_json_snapshot!("intel_mac", d);
}

#[test]
fn apple_silicon_mac_with_security_reads() {
    let d = computer("computers/apple_silicon_v4.json", SecurityReads::all());
    assert!(
        !d.fields.contains("processor_speed"),
        "0 MHz on Apple Silicon"
    );
    assert!(!d.fields.contains("cache_size"));
    assert!(!d.fields.contains("smc_version"));
    assert_eq!(d.fields.get_str("purchase_price"), Some("$500"));
    // v4's lastContact, not v1's lastContactTime.
    assert_eq!(
        d.fields.get_str("last_contact_time"),
        Some("2025-01-15T07:45:00Z")
    );
    insta::assert_json_snapshot!("apple_silicon_mac", d);
}

#[test]
fn sparse_record_with_nulls() {
    let d = computer("computers/sparse_v1.json", SecurityReads::all());
    assert!(d.assignee.is_none());
    assert!(!d.fields.contains("serial_number"), "Not Available");
    assert!(!d.fields.contains("primary_mac_address"), "all-zero MAC");
    insta::assert_json_snapshot!("sparse_computer", d);
}

#[test]
fn iphone() {
    let d = mobile("mobile/iphone.json", SecurityReads::all());
    assert_eq!(
        d.fields.get("imei").and_then(|v| v.as_list()),
        Some(&["358823340832230".to_string()][..])
    );
    assert_eq!(d.fields.get_str("po_date"), Some("2024-09-20"));
    insta::assert_json_snapshot!("iphone", d);
}

#[test]
fn apple_tv() {
    let d = mobile("mobile/apple_tv.json", SecurityReads::none());
    assert!(d.assignee.is_none());
    assert!(!d.fields.contains("site"), "site id -1");
    insta::assert_json_snapshot!("apple_tv", d);
}

/// Every JSON path (objects descended, arrays by their first element) of `v`.
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                paths(child, &p, out);
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(1) {
                paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// What the models do not name and decoding skips: whole paths, or (ending
/// in `.`) a field of that name in any section.
const SKIPPED_BY_COMPUTERS: &[&str] = &[
    ".applications",
    ".attachments",
    ".certificates",
    ".configurationProfiles",
    ".contentCaching",
    ".diskEncryption.bootPartitionEncryptionDetails",
    ".general.enrollmentMethod",
    ".general.lastLoggedInUsernameBinary",
    ".general.lastLoggedInUsernameBinaryTimestamp",
    ".general.lastLoggedInUsernameMdm",
    ".general.lastLoggedInUsernameMdmTimestamp",
    ".general.lastLoggedInUsernameSelfService",
    ".general.lastLoggedInUsernameSelfServiceTimestamp",
    ".general.mdmCapable.userManagementInfo",
    ".groupMemberships",
    ".ibeacons",
    ".licensedSoftware",
    ".localUserAccounts",
    ".packageReceipts",
    ".printers",
    ".security.attestationStatus",
    ".security.lastAttestationAttempt",
    ".security.lastSuccessfulAttestation",
    ".services",
    ".softwareUpdates",
    ".storage",
    "extensionAttributes.",
];

/// As [`SKIPPED_BY_COMPUTERS`], for mobile devices.
const SKIPPED_BY_MOBILE_DEVICES: &[&str] = &[
    ".applications",
    ".certificates",
    ".general.airPlayPassword",
    ".general.declarativeDeviceManagementEnabled",
    ".general.enrollmentMethodPrestage",
    ".general.enrollmentSessionTokenValid",
    ".general.itunesStoreAccountActive",
    ".general.languages",
    ".general.lastBackupDate",
    ".general.locales",
    ".general.residentUsers",
    ".general.sharedIpad",
    ".general.softwareUpdateDeviceId",
    ".general.tethered",
    ".groups",
    ".hardware.usedSpacePercentage",
    ".network.carrierSettingsVersion",
    ".network.currentMobileCountryCode",
    ".network.currentMobileNetworkCode",
    ".network.dataRoamingEnabled",
    ".network.homeCarrierNetwork",
    ".network.homeMobileCountryCode",
    ".network.homeMobileNetworkCode",
    ".network.personalHotspotEnabled",
    ".network.preferredVoiceNumber",
    ".network.voiceRoamingEnabled",
    ".profiles",
    ".security.blockLevelEncryptionCapable",
    ".security.bootstrapTokenEscrowed",
    ".security.fileLevelEncryptionCapable",
    ".security.hardwareEncryption",
    ".security.lostModeLocation",
    ".security.passcodeCompliantWithProfile",
    ".userProfiles",
    "extensionAttributes.",
];

fn skipped(path: &str, list: &[&str]) -> bool {
    list.iter().any(|s| match s.strip_suffix('.') {
        // A field of this name anywhere, and what is under it.
        Some(field) => path
            .split('.')
            .any(|seg| seg.trim_end_matches("[]") == field),
        None => {
            path == *s
                || path
                    .strip_prefix(s)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        }
    })
}

/// Decoding (from the bytes, as the client does) and writing the model back
/// keeps every path of the fixture except the listed ones the models do not
/// name, and every listed one is really skipped: a field the models name
/// that stopped being read, or a new field in a fixture, fails here.
#[test]
fn decoding_keeps_every_named_field() {
    fn check<T: serde::de::DeserializeOwned + serde::Serialize>(
        name: &str,
        skip: &[&str],
    ) -> usize {
        let text = fixture(name);
        let original: Value = serde_json::from_str(&text).unwrap();
        let mut de = serde_json::Deserializer::from_str(&text);
        let decoded: T = serde_path_to_error::deserialize(&mut de).unwrap();
        let again = serde_json::to_value(&decoded).unwrap();
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        paths(&original, "", &mut a);
        paths(&again, "", &mut b);
        let lost: Vec<_> = a.difference(&b).filter(|p| !skipped(p, skip)).collect();
        assert!(lost.is_empty(), "{name} lost {lost:?}");
        let kept_but_listed: Vec<_> = b.iter().filter(|p| skipped(p, skip)).collect();
        assert!(
            kept_but_listed.is_empty(),
            "{name}: the models name {kept_but_listed:?}"
        );
        a.intersection(&b).count()
    }
    let c = SKIPPED_BY_COMPUTERS;
    let m = SKIPPED_BY_MOBILE_DEVICES;
    let kept = check::<ComputerInventory>("computers/intel_mac_v1.json", c)
        + check::<ComputerInventory>("computers/apple_silicon_v4.json", c)
        + check::<ComputerInventory>("computers/sparse_v1.json", c)
        + check::<MobileDevice>("mobile/iphone.json", m)
        + check::<MobileDevice>("mobile/apple_tv.json", m);
    assert!(kept > 300, "only {kept} paths kept");
    assert!(skipped(".general.extensionAttributes[].name", c));
    assert!(skipped(".storage.disks[].device", c));
    assert!(!skipped(".storageX", c));
    assert!(!skipped(".hardware.serialNumber", c));
}

#[test]
fn the_reference_shapes_decode() {
    // The by-id mobile detail and the summary list have their own shapes.
    let detail: jamf_client::models::MobileDeviceDetail = serde_json::from_value(serde_json::json!({
        "id": "1", "name": "Jon's iPad", "serialNumber": "DMQVGC0DHLF0",
        "lastInventoryUpdateTimestamp": "2018-10-15T16:39:56Z",
        "site": {"id": "1", "divisionId": null, "name": "Eau Claire"},
        "location": {"username": "admin", "realName": "IT Bob", "emailAddress": "ITBob@jamf.com"},
        "type": "ios", "ios": {"model": "iPad 5th Generation (Wi-Fi)", "supervised": true}
    }))
    .unwrap();
    assert_eq!(detail.device_type.as_ref().map(|t| t.as_str()), Some("iOS"));
    assert_eq!(
        detail.site.as_ref().and_then(|s| s.real_name()),
        Some("Eau Claire")
    );
    let summary: jamf_client::models::MobileDeviceSummary =
        serde_json::from_value(serde_json::json!({
            "id": "1", "name": "iPad", "type": "tvos", "softwareUpdateDeviceId": "J132AP"
        }))
        .unwrap();
    assert_eq!(
        summary.device_type.as_ref().map(|t| t.as_str()),
        Some("tvOS")
    );
}

/// The value at a dotted path (`general.site.name`) of a JSON document.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

/// Every key a record carries is a Jamf catalog key of its entity (or of
/// the user rows), and where the catalog names one JSON path, normalizing
/// the fixture's raw value with the catalog's value type gives the value
/// the client stored: the client and the catalog agree.
#[test]
fn records_agree_with_the_catalog() {
    use mdm_mapping::catalog;
    use mdm_mapping::{Entity, Vendor};

    let cases: Vec<(&str, SourceDevice)> = vec![
        (
            "computers/intel_mac_v1.json",
            computer("computers/intel_mac_v1.json", SecurityReads::all()),
        ),
        (
            "computers/apple_silicon_v4.json",
            computer("computers/apple_silicon_v4.json", SecurityReads::all()),
        ),
        (
            "computers/sparse_v1.json",
            computer("computers/sparse_v1.json", SecurityReads::all()),
        ),
        (
            "mobile/iphone.json",
            mobile("mobile/iphone.json", SecurityReads::all()),
        ),
        (
            "mobile/apple_tv.json",
            mobile("mobile/apple_tv.json", SecurityReads::all()),
        ),
    ];
    let mut checked = 0;
    for (name, d) in &cases {
        let raw = fixture_json(name);
        for (key, value) in d.fields.iter() {
            let spec = catalog::all()
                .iter()
                .find(|f| f.vendor == Vendor::Jamf && f.key == key && f.entity == d.entity)
                .or_else(|| {
                    catalog::all().iter().find(|f| {
                        f.vendor == Vendor::Jamf && f.key == key && f.entity == Entity::User
                    })
                });
            let spec = spec.unwrap_or_else(|| panic!("{name}: `{key}` is not a Jamf catalog key"));
            let single_path = !spec.json_path.contains(['+', '|', ' ']);
            let same_document = spec.entity == d.entity || d.entity == Entity::Computer;
            if !single_path || !same_document || key == "site" {
                continue;
            }
            let Some(raw_value) = at(&raw, spec.json_path) else {
                panic!("{name}: `{key}` has no value at {}", spec.json_path)
            };
            let expected = spec.value_type.normalize(raw_value);
            // IMEI/MEID lose their inner spaces in the client.
            if matches!(key, "imei" | "meid") {
                continue;
            }
            assert_eq!(
                expected.as_ref(),
                Some(value),
                "{name}: `{key}` from {raw_value}"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} values checked");
}
