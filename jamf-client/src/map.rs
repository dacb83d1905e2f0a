//! Turning Jamf records into normalized [`SourceDevice`]s.
//!
//! Keys are the catalog keys of the Jamf fields (the display names of the
//! Jamf table, lower-cased with `_` for each run of other characters), and
//! every value goes through the normalizing setters of [`Fields`](mdm_mapping::Fields): serials
//! upper-cased, MACs in colon form, dates in RFC 3339 UTC, `-1` and (for
//! measured quantities) `0` sentinels dropped, blanks dropped.
//!
//! ```
//! use jamf_client::map::{self, SecurityReads};
//!
//! let computer: jamf_client::models::ComputerInventory = serde_json::from_str(r#"{
//!   "id": "42", "udid": "CA40F812-60A3-11E4-90B8-12DF261F2C7E",
//!   "general": {"name": "Ana's Mac", "site": {"id": "-1", "name": "None"}},
//!   "hardware": {"serialNumber": "c02xk1abjg5h", "processorSpeedMhz": 0, "coreCount": -1,
//!                "macAddress": "68-5B-35-CA-12-56"},
//!   "operatingSystem": {"name": "macOS", "version": "15.2.0"},
//!   "userAndLocation": {"email": "Ana@Example.com", "realname": "Ana Díaz", "username": "ana"}
//! }"#).unwrap();
//! let d = map::computer(&computer, &SecurityReads::none());
//! assert_eq!(d.source_id, "42");
//! assert_eq!(d.fields.get_str("serial_number"), Some("C02XK1ABJG5H"));
//! assert_eq!(d.fields.get_str("primary_mac_address"), Some("68:5b:35:ca:12:56"));
//! assert_eq!(d.fields.get_str("operating_system"), Some("macOS 15.2.0"));
//! assert!(!d.fields.contains("processor_speed")); // 0 MHz: not reported
//! assert!(!d.fields.contains("total_number_of_cores")); // -1: not reported
//! assert!(!d.fields.contains("site")); // {"id":"-1","name":"None"}
//! assert_eq!(d.assignee.unwrap().email.as_deref(), Some("ana@example.com"));
//! ```

use std::collections::HashMap;

use mdm_mapping::{Assignee, CompactString, Entity, SourceDevice, Vendor};

use crate::models::mapped::MappedComputer;
use crate::models::mapped_mobile::MappedMobileDevice;
use crate::models::{ComputerInventory, MobileDevice};

/// Which opt-in security reads a [`JamfDeviceSource`](crate::JamfDeviceSource)
/// makes. Each needs its own Jamf privilege, so each is off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityReads {
    /// Request the SECURITY section and fill `activation_lock_enabled` and
    /// (computers) `recovery_lock_enabled`.
    pub activation_lock: bool,
    /// Fill `applecare_id` from the purchasing section.
    pub applecare_id: bool,
    /// Read each computer's FileVault personal recovery key into
    /// `SourceDevice.secrets["recovery_key"]` (one request per computer;
    /// privilege "View Disk Encryption Recovery Key").
    pub filevault_recovery_key: bool,
    /// Read each computer's Recovery Lock password into
    /// `SourceDevice.secrets["recovery_lock_password"]` (one request per
    /// computer; privilege "View Recovery Lock").
    pub recovery_lock_password: bool,
}

impl SecurityReads {
    /// No security reads (the default).
    pub fn none() -> Self {
        SecurityReads::default()
    }

    /// Every security read.
    pub fn all() -> Self {
        SecurityReads {
            activation_lock: true,
            applecare_id: true,
            filevault_recovery_key: true,
            recovery_lock_password: true,
        }
    }

    /// Turns the Activation Lock / Recovery Lock status read on or off.
    pub fn with_activation_lock(mut self, on: bool) -> Self {
        self.activation_lock = on;
        self
    }

    /// Turns the AppleCare id on or off.
    pub fn with_applecare_id(mut self, on: bool) -> Self {
        self.applecare_id = on;
        self
    }

    /// Turns the FileVault recovery key read on or off.
    pub fn with_filevault_recovery_key(mut self, on: bool) -> Self {
        self.filevault_recovery_key = on;
        self
    }

    /// Turns the Recovery Lock password read on or off.
    pub fn with_recovery_lock_password(mut self, on: bool) -> Self {
        self.recovery_lock_password = on;
        self
    }

    /// Whether any per-computer secret is read.
    pub fn reads_secrets(&self) -> bool {
        self.filevault_recovery_key || self.recovery_lock_password
    }
}

/// Site id → site name, to name the site of mobile devices (their
/// inventory carries only `general.siteId`).
pub type SiteNames = HashMap<String, String>;

/// IMEI/MEID as one identifier: whitespace removed (as the upsert's
/// identifier matching does anyway) (`"59 105109 176278 3"`
/// → `"591051091762783"`).
fn device_identifier(raw: Option<&str>) -> Option<String> {
    raw.map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|s| !s.is_empty())
}

/// "macOS" + "15.2.0" → "macOS 15.2.0"; the name alone when there is no version.
fn os_string(name: Option<&str>, version: Option<&str>) -> Option<CompactString> {
    let name = name.map(str::trim).filter(|s| !s.is_empty())?;
    match version.map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) => Some(mdm_mapping::compact_str::format_compact!("{name} {v}")),
        None => Some(name.into()),
    }
}

/// The assignee named by a user-and-location section, taking its text:
/// already trimmed text moves in without a copy.
fn assignee(
    email: Option<String>,
    full_name: Option<String>,
    username: Option<String>,
    phone: Option<String>,
    position: Option<String>,
) -> Option<Assignee> {
    Assignee {
        email,
        full_name,
        username,
        phone_number: phone,
        position,
        ..Assignee::default()
    }
    .into_option()
}

/// A computer as a normalized [`SourceDevice`] (entity `computer`).
///
/// Security fields (`activation_lock_enabled`, `recovery_lock_enabled`,
/// `applecare_id`) are filled only when `security` opts in. Secrets are
/// never filled here (see [`JamfDeviceSource`](crate::JamfDeviceSource)).
pub fn computer(c: &ComputerInventory, security: &SecurityReads) -> SourceDevice {
    computer_owned(c.clone(), security)
}

/// [`computer`], taking the computer: its text moves into the record
/// instead of being copied.
pub fn computer_owned(c: ComputerInventory, security: &SecurityReads) -> SourceDevice {
    mapped_computer(MappedComputer::from(c), security)
}

/// The mapping of [`computer`]: what a source does with each computer of a
/// page it decodes (read into [`MappedComputer`], the fields mapped here
/// and no others).
pub(crate) fn mapped_computer(c: MappedComputer, security: &SecurityReads) -> SourceDevice {
    let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, c.id.as_str());
    // A section the server did not send reads as an empty one: each setter
    // given `None` stores nothing.
    let g = c.general.unwrap_or_default();
    let h = c.hardware.unwrap_or_default();
    let os = c.operating_system.unwrap_or_default();
    let p = c.purchasing.unwrap_or_default();
    let e = c.disk_encryption.unwrap_or_default();
    let s = c
        .security
        .filter(|_| security.activation_lock)
        .unwrap_or_default();
    let u = c.user_and_location.unwrap_or_default();
    let last_contact = g.last_contact_time();
    let operating_system = os_string(os.name.as_deref(), os.version.as_deref());

    // Keys in name order, so each is appended to the record's sorted
    // fields rather than inserted among them.
    let f = &mut d.fields;
    // A full computer fills up to about 55 fields: one allocation, no regrowth.
    f.reserve(56);
    f.bool("activation_lock_enabled", s.activation_lock_enabled)
        .text_owned("active_directory_status", os.active_directory_status)
        .text_owned(
            "applecare_id",
            p.apple_care_id.filter(|_| security.applecare_id),
        )
        .text_owned("architecture_type", h.processor_architecture)
        .text_owned("asset_tag", g.asset_tag)
        .text_owned("bar_code_1", g.barcode1)
        .text_owned("bar_code_2", g.barcode2)
        .bool("bluetooth_low_energy_capability", h.ble_capable)
        .id("building_id", u.building_id.as_deref())
        .measured("bus_speed", h.bus_speed_mhz)
        .measured("cache_size", h.cache_size_kilobytes)
        .text_owned("computer_name", g.name)
        .id("department_id", u.department_id.as_deref())
        .email("email_address", u.email.as_deref())
        .list(
            "filevault_2_enabled_users",
            e.file_vault2_enabled_user_names.iter().map(String::as_str),
        )
        .text("full_name", u.realname.as_deref())
        .text_owned("ip_address", g.last_ip_address)
        .bool("is_leased", p.leased)
        .bool("is_purchased", p.purchased)
        .text_owned("jamf_binary_version", g.jamf_binary_version)
        .id("jamf_pro_computer_id", Some(c.id.as_str()))
        .datetime_utc("last_contact_time", last_contact)
        .datetime_utc("last_enrolled_date", g.last_enrolled_date)
        .datetime_utc("last_inventory_update", g.report_date)
        .date_naive("lease_expiration", p.lease_date)
        .measured("life_expectancy", p.life_expectancy)
        .text_owned("make", h.make)
        .bool(
            "managed",
            g.remote_management.as_ref().and_then(|r| r.managed),
        )
        .bool(
            "mdm_capability",
            g.mdm_capable.as_ref().and_then(|m| m.capable),
        )
        .text_owned("model", h.model)
        .text_owned("model_identifier", h.model_identifier)
        .text_owned("nic_speed", h.nic_speed)
        .count("number_of_processors", h.processor_count)
        .text_owned("operating_system", operating_system)
        .text_owned("operating_system_build", os.build)
        .text_owned("operating_system_version", os.version)
        .text_owned("optical_drive", h.optical_drive)
        .text("phone_number", u.phone.as_deref())
        .text_owned("platform", g.platform)
        .date_naive("po_date", p.po_date)
        .text_owned("po_number", p.po_number)
        .text("position", u.position.as_deref())
        .mac("primary_mac_address", h.mac_address.as_deref())
        .measured("processor_speed", h.processor_speed_mhz)
        .text_owned("processor_type", h.processor_type)
        .text_owned("purchase_price", p.purchase_price)
        .bool("recovery_lock_enabled", s.recovery_lock_enabled)
        .text_owned("room", u.room)
        .mac("secondary_mac_address", h.alt_mac_address.as_deref())
        .serial("serial_number", h.serial_number.as_deref())
        .text("site", g.site.as_ref().and_then(|s| s.real_name()))
        .text_owned("smc_version", h.smc_version)
        .bool("supervised", g.supervised)
        .count("total_number_of_cores", h.core_count)
        .count("total_ram", h.total_ram_megabytes)
        .id("udid", c.udid.as_deref())
        .text("username", u.username.as_deref())
        .text_owned("vendor", p.vendor)
        .date_naive("warranty_expiration", p.warranty_date);
    // Its text moves into the assignee once the fields hold their copies.
    d.assignee = assignee(u.email, u.realname, u.username, u.phone, u.position);
    d
}

/// The site a mobile device names (`general.siteId`, trimmed), unless it
/// names none (blank, or Jamf's `-1`).
pub(crate) fn site_id(m: &MappedMobileDevice) -> Option<&str> {
    m.general
        .as_ref()
        .and_then(|g| g.site_id.as_deref())
        .map(str::trim)
        .filter(|id| !id.is_empty() && *id != "-1")
}

/// A mobile device as a normalized [`SourceDevice`] (entity `mobile_device`).
/// `sites` names the site of `general.siteId` (pass an empty map to leave
/// `site` out).
pub fn mobile_device(
    m: &MobileDevice,
    sites: &SiteNames,
    security: &SecurityReads,
) -> SourceDevice {
    mapped_mobile_device_in(MappedMobileDevice::from(m), sites, security)
}

/// [`mapped_mobile_device`] with its site named from `sites`.
pub(crate) fn mapped_mobile_device_in(
    m: MappedMobileDevice,
    sites: &SiteNames,
    security: &SecurityReads,
) -> SourceDevice {
    let site = site_id(&m).and_then(|id| sites.get(id));
    mapped_mobile_device(m, site.map(String::as_str), security)
}

/// [`mobile_device`] of the fields it reads, taking their text: text read
/// already trimmed moves into the record without a copy. `site` is the
/// name of the device's site ([`site_id`]), when known. The device source
/// decodes its pages into [`MappedMobileDevice`] and maps them here.
pub(crate) fn mapped_mobile_device(
    m: MappedMobileDevice,
    site: Option<&str>,
    security: &SecurityReads,
) -> SourceDevice {
    let mut d = SourceDevice::new(
        Vendor::Jamf,
        Entity::MobileDevice,
        m.mobile_device_id.as_str(),
    );
    // A section the server did not send reads as an empty one: each setter
    // given `None` stores nothing.
    let g = m.general.unwrap_or_default();
    let h = m.hardware.unwrap_or_default();
    let n = m.network.unwrap_or_default();
    let p = m.purchasing.unwrap_or_default();
    let s = m
        .security
        .filter(|_| security.activation_lock)
        .unwrap_or_default();
    let u = m.user_and_location.unwrap_or_default();
    let device_type = m.device_type.as_ref().map(|t| t.as_str());
    let imei = device_identifier(n.imei.as_deref());
    let meid = device_identifier(n.meid.as_deref());
    let operating_system = os_string(device_type, g.os_version.as_deref());

    // Keys in name order, so each is appended to the record's sorted
    // fields rather than inserted among them.
    let f = &mut d.fields;
    // A full device fills about 40 fields: one allocation, no regrowth.
    f.reserve(40);
    f.bool("activation_lock_enabled", s.activation_lock_enabled)
        .text_owned(
            "applecare_id",
            p.apple_care_id.filter(|_| security.applecare_id),
        )
        .text_owned("asset_tag", g.asset_tag)
        .mac("bluetooth_mac_address", h.bluetooth_mac_address.as_deref())
        .id("building_id", u.building_id.as_deref())
        .id("department_id", u.department_id.as_deref())
        .text_owned("device_name", g.display_name)
        .text("device_type", device_type)
        .text_owned("eid", n.eid)
        .email("email_address", u.email_address.as_deref())
        .text("full_name", u.real_name.as_deref())
        .list("imei", imei.as_deref())
        .text_owned("ip_address", g.ip_address)
        .bool("is_leased", p.leased)
        .bool("is_purchased", p.purchased)
        .id(
            "jamf_pro_mobile_device_id",
            Some(m.mobile_device_id.as_str()),
        )
        .datetime_utc("last_contact_time", g.last_contact_date)
        .datetime_utc("last_enrolled_date", g.last_enrolled_date)
        .datetime_utc("last_inventory_update", g.last_inventory_update_date)
        .date_naive("lease_expiration", p.lease_expires_date)
        .measured("life_expectancy", p.life_expectancy)
        .bool("managed", g.managed)
        .list("meid", meid.as_deref())
        .text_owned("model", h.model)
        .text_owned("model_identifier", h.model_identifier)
        .text_owned("operating_system", operating_system)
        .text_owned("operating_system_build", g.os_build)
        .text_owned("operating_system_version", g.os_version)
        .text("phone_number", u.phone_number.as_deref())
        .date_naive("po_date", p.po_date)
        .text_owned("po_number", p.po_number)
        .text("position", u.position.as_deref())
        .text_owned("purchase_price", p.purchase_price)
        .text_owned("room", u.room)
        .serial("serial_number", h.serial_number.as_deref())
        .text("site", site)
        .bool("supervised", g.supervised)
        .id("udid", g.udid.as_deref())
        .text("username", u.username.as_deref())
        .text_owned("vendor", p.vendor)
        .date_naive("warranty_expiration", p.warranty_expires_date)
        .mac("wifi_mac_address", h.wifi_mac_address.as_deref());
    // Its text moves into the assignee once the fields hold their copies.
    d.assignee = assignee(
        u.email_address,
        u.real_name,
        u.username,
        u.phone_number,
        u.position,
    );
    d
}

/// Every catalog key [`computer`] can fill (security keys included).
pub const COMPUTER_KEYS: &[&str] = &[
    "active_directory_status",
    "activation_lock_enabled",
    "applecare_id",
    "architecture_type",
    "asset_tag",
    "bar_code_1",
    "bar_code_2",
    "bluetooth_low_energy_capability",
    "building_id",
    "bus_speed",
    "cache_size",
    "computer_name",
    "department_id",
    "email_address",
    "filevault_2_enabled_users",
    "full_name",
    "ip_address",
    "is_leased",
    "is_purchased",
    "jamf_binary_version",
    "jamf_pro_computer_id",
    "last_contact_time",
    "last_enrolled_date",
    "last_inventory_update",
    "lease_expiration",
    "life_expectancy",
    "make",
    "managed",
    "mdm_capability",
    "model",
    "model_identifier",
    "nic_speed",
    "number_of_processors",
    "operating_system",
    "operating_system_build",
    "operating_system_version",
    "optical_drive",
    "phone_number",
    "platform",
    "po_date",
    "po_number",
    "position",
    "primary_mac_address",
    "processor_speed",
    "processor_type",
    "purchase_price",
    "recovery_lock_enabled",
    "room",
    "secondary_mac_address",
    "serial_number",
    "site",
    "smc_version",
    "supervised",
    "total_number_of_cores",
    "total_ram",
    "udid",
    "username",
    "vendor",
    "warranty_expiration",
];

/// Every catalog key [`mobile_device`] can fill (security keys included).
pub const MOBILE_DEVICE_KEYS: &[&str] = &[
    "activation_lock_enabled",
    "applecare_id",
    "asset_tag",
    "bluetooth_mac_address",
    "building_id",
    "department_id",
    "device_name",
    "device_type",
    "eid",
    "email_address",
    "full_name",
    "imei",
    "ip_address",
    "is_leased",
    "is_purchased",
    "jamf_pro_mobile_device_id",
    "last_contact_time",
    "last_enrolled_date",
    "last_inventory_update",
    "lease_expiration",
    "life_expectancy",
    "managed",
    "meid",
    "model",
    "model_identifier",
    "operating_system",
    "operating_system_build",
    "operating_system_version",
    "phone_number",
    "po_date",
    "po_number",
    "position",
    "purchase_price",
    "room",
    "serial_number",
    "site",
    "supervised",
    "udid",
    "username",
    "vendor",
    "warranty_expiration",
    "wifi_mac_address",
];

#[cfg(test)]
mod tests {
    use super::*;
    use mdm_mapping::normalize::catalog_key;

    /// The display names of the Jamf table and the extra catalog rows.
    const NAMES: &[&str] = &[
        "Active Directory Status",
        "Architecture Type",
        "Asset Tag",
        "Bar Code 1",
        "Bar Code 2",
        "Bluetooth Low Energy Capability",
        "Building ID",
        "Bus Speed",
        "Cache Size",
        "Computer Name",
        "Department ID",
        "Email Address",
        "FileVault 2 Enabled Users",
        "Full Name",
        "IP Address",
        "Is Leased",
        "Is Purchased",
        "Jamf Binary Version",
        "Jamf Pro Computer ID",
        "Lease Expiration",
        "Life Expectancy",
        "Make",
        "Managed",
        "MDM Capability",
        "Model",
        "Model Identifier",
        "NIC Speed",
        "Number of Processors",
        "Operating System",
        "Operating System Build",
        "Optical Drive",
        "Phone Number",
        "Platform",
        "PO Date",
        "PO Number",
        "Position",
        "Primary MAC Address",
        "Processor Speed",
        "Processor Type",
        "Purchase Price",
        "Room",
        "Secondary MAC Address",
        "Serial Number",
        "SMC Version",
        "Supervised",
        "Total Number of Cores",
        "Total RAM",
        "UDID",
        "Username",
        "Vendor",
        "Warranty Expiration",
        // CATALOG_EXTRAS.md
        "Operating System Version",
        "Last Contact Time",
        "Last Inventory Update",
        "Last Enrolled Date",
        "Site",
        "Activation Lock Enabled",
        "Recovery Lock Enabled",
        "AppleCare ID",
        "Jamf Pro Mobile Device ID",
        "Device Name",
        "WiFi MAC Address",
        "Bluetooth MAC Address",
        "IMEI",
        "MEID",
        "EID",
        "Device Type",
    ];

    #[test]
    fn every_key_is_a_catalog_key_of_a_display_name() {
        let known: Vec<String> = NAMES.iter().map(|n| catalog_key(n)).collect();
        assert_eq!(known.len(), 51 + 16);
        for key in COMPUTER_KEYS.iter().chain(MOBILE_DEVICE_KEYS) {
            assert!(known.iter().any(|k| k == key), "{key} is not a catalog key");
        }
        // Every name of the Jamf table is filled for computers.
        for name in &NAMES[..51] {
            assert!(
                COMPUTER_KEYS.contains(&catalog_key(name).as_str()),
                "{name}"
            );
        }
    }

    #[test]
    fn identifiers_lose_their_spaces() {
        assert_eq!(
            device_identifier(Some("59 105109 176278 3")).as_deref(),
            Some("591051091762783")
        );
        assert_eq!(device_identifier(Some("  ")), None);
        assert_eq!(
            os_string(Some("macOS"), Some(" ")).as_deref(),
            Some("macOS")
        );
        assert_eq!(os_string(None, Some("15.2")), None);
    }
}
