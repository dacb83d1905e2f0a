//! Every fixture decodes: Mac, iPad (Lost Mode), Apple TV, Windows, Android
//! details, with their quirks.

use kandji_client::{Device, DeviceApps, DeviceDetails, Platform};

use crate::common::fixture;

fn details(name: &str) -> DeviceDetails {
    serde_json::from_value(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn mac_details() {
    let x = details("details_mac.json");
    let g = x.general.as_ref().expect("general");
    assert_eq!(g.platform, Some(Platform::Mac));
    assert_eq!(
        g.blueprint_uuid.as_deref(),
        Some("ab102b9d-8e9c-420d-a498-f2a1123091c7")
    );
    assert_eq!(
        g.assigned_user.as_ref().and_then(|u| u.name.as_deref()),
        Some("Ana Díaz")
    );
    let mdm = x.mdm.as_ref().expect("mdm");
    assert_eq!((mdm.mdm_enabled, mdm.supervised), (Some(true), Some(true)));
    assert_eq!(mdm.mdm_enabled_user, ["ana"]);
    assert!(x.lost_mode.as_ref().expect("lost_mode {}").is_empty());
    let agent = x.kandji_agent.as_ref().expect("agent");
    assert_eq!(agent.installed(), Some(true));
    assert_eq!(agent.version(), Some("4.5.9 (5160)"));
    assert_eq!(
        x.volumes.iter().map(|v| v.encrypted).collect::<Vec<_>>(),
        [Some(false), Some(true)]
    );
    let users = x.users.as_ref().expect("users");
    assert_eq!(users.regular_users[0].admin, Some(true));
    assert_eq!(users.system_users[0].uid.as_deref(), Some("26"));
    assert_eq!(x.installed_profiles[0].payload_types.len(), 2);
    assert_eq!(x.mac_address(), Some("FC-E2-6C-27-1B-E4"));
    assert_eq!(
        x.filevault.as_ref().and_then(|f| f.filevault_enabled),
        Some(true)
    );
    assert!(
        x.apple_business_manager
            .as_ref()
            .expect("abm {}")
            .model
            .is_none()
    );
}

#[test]
fn appletv_details_lack_sections() {
    let x = details("details_appletv.json");
    assert!(x.lost_mode.is_none());
    assert!(x.cellular.is_none());
    assert!(x.general.as_ref().expect("general").assigned_user.is_none());
    assert_eq!(x.mdm.as_ref().and_then(|m| m.supervised), None);
    assert_eq!(x.udid(), Some("6c8f9096198b54a03b17aa930204850091e616f8"));
    assert_eq!(x.filevault.as_ref().and_then(|f| f.filevault_enabled), None);
    assert!(x.volumes.is_empty());
    assert!(
        x.network
            .as_ref()
            .expect("network {}")
            .mac_address
            .is_none()
    );
}

#[test]
fn ipad_in_lost_mode() {
    let x = details("details_ipad_lost_mode.json");
    let lm = x.lost_mode.as_ref().expect("lost mode");
    assert_eq!(lm.lost_mode_status.as_deref(), Some("ENABLED"));
    assert_eq!(
        lm.last_location
            .as_ref()
            .and_then(|l| l.latitude.as_deref()),
        Some("39.93410519355257")
    );
    assert_eq!(x.mdm.as_ref().and_then(|m| m.supervised), Some(false));
    assert_eq!(
        x.cellular.as_ref().and_then(|c| c.cellular_technology),
        Some(0)
    );
    assert_eq!(x.udid(), Some("00008020-0015308c11a1402e"));
}

#[test]
fn windows_details() {
    let x = details("details_windows.json");
    let g = x.general.as_ref().expect("general");
    assert_eq!(g.platform, Some(Platform::Windows));
    assert_eq!(g.os_name.as_deref(), Some("Windows 11"));
    let agent = x.kandji_agent.as_ref().expect("agent");
    assert_eq!(agent.installed(), Some(true));
    assert_eq!(agent.version(), Some("1.0.00002.0002"));
    assert_eq!(agent.last_check_in(), Some("2025-10-09T21:56:53.569715Z"));
    let hw = x.hardware_overview.as_ref().expect("hw");
    assert_eq!(hw.total_ram.as_deref(), Some("16384"));
    assert_eq!(hw.extra["commercialization_operator"], "Not Present");
    assert_eq!(
        x.network.as_ref().expect("net").extra["volte_service_setting"],
        "False"
    );
    assert!(x.filevault.is_none());
}

#[test]
fn android_details_keep_unknown_sections() {
    let x = details("details_android.json");
    let g = x.general.as_ref().expect("general");
    assert_eq!(g.platform, Some(Platform::Android));
    assert!(g.assigned_user.is_none(), "assigned_user: null");
    assert_eq!(x.mac_address(), Some("98:98:fb:12:44:68"));
    assert_eq!(
        x.cellular.as_ref().and_then(|c| c.imei.as_deref()),
        Some("355624192947256")
    );
    assert_eq!(x.cellular.as_ref().and_then(|c| c.meid.as_deref()), None);
    assert_eq!(x.extra["security"]["device_posture"], "SECURE");
    assert_eq!(
        x.management.as_ref().and_then(|m| m.ownership.as_deref()),
        Some("COMPANY_OWNED")
    );
}

#[test]
fn list_records_of_every_platform() {
    for (name, platform) in [
        ("device_mac.json", Platform::Mac),
        ("device_iphone_no_user.json", Platform::IPhone),
        ("device_appletv.json", Platform::AppleTv),
        ("device_windows.json", Platform::Windows),
        ("device_legacy_integer_user.json", Platform::Mac),
    ] {
        let d: Device =
            serde_json::from_value(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.platform, Some(platform), "{name}");
    }
    let w: Device = serde_json::from_value(fixture("device_windows.json")).expect("windows");
    assert_eq!(w.full_software_version.as_deref(), Some("10.0.26100.6584"));
    assert_eq!(w.api_level, None, "blank is None");
    let tv: Device = serde_json::from_value(fixture("device_appletv.json")).expect("tv");
    assert_eq!(tv.last_check_in, None, "\"\" is None");
    assert!(tv.tags.is_empty(), "tags missing");
}

#[test]
fn devices_round_trip_without_losing_unknown_keys() {
    let mut raw = fixture("device_mac.json");
    raw["a_future_key"] = serde_json::json!({"nested": [1, 2]});
    let d: Device = serde_json::from_value(raw).expect("decode");
    let back = serde_json::to_value(&d).expect("encode");
    assert_eq!(back["a_future_key"]["nested"][1], 2);
    assert_eq!(back["device_id"], "5f0e8c2a-3b71-4d8e-9a64-1c2b3d4e5f60");
}

#[test]
fn apps_of_a_mac() {
    let apps: DeviceApps = serde_json::from_value(fixture("apps_mac.json")).expect("apps");
    assert_eq!(apps.apps[0].best_name(), Some("Activity Monitor"));
    assert_eq!(apps.apps[0].bundle_size.as_deref(), Some("1"));
}
