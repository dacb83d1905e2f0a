//! Computer inventory (`/api/v1|v3|v4/computers-inventory`).
//!
//! One model reads every inventory version: v4's `general.lastContact` and
//! `general.lastCheckIn` and v1–v3's `general.lastContactTime` are all here
//! (see [`ComputerGeneral::last_contact_time`]). Sections that were not
//! requested are `None`; sections without a typed model here
//! (`applications`, `storage`, …) are skipped.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{IdName, JamfId};

/// One computer of a computers-inventory listing or detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ComputerInventory {
    /// The Jamf Pro computer id.
    pub id: JamfId,
    /// The UDID.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub udid: Option<String>,
    /// Section GENERAL.
    #[serde(default)]
    pub general: Option<ComputerGeneral>,
    /// Section HARDWARE (holds the serial number).
    #[serde(default)]
    pub hardware: Option<ComputerHardware>,
    /// Section OPERATING_SYSTEM.
    #[serde(default)]
    pub operating_system: Option<ComputerOperatingSystem>,
    /// Section USER_AND_LOCATION.
    #[serde(default)]
    pub user_and_location: Option<ComputerUserAndLocation>,
    /// Section PURCHASING.
    #[serde(default)]
    pub purchasing: Option<ComputerPurchasing>,
    /// Section DISK_ENCRYPTION.
    #[serde(default)]
    pub disk_encryption: Option<ComputerDiskEncryption>,
    /// Section SECURITY.
    #[serde(default)]
    pub security: Option<ComputerSecurity>,
}

/// Section GENERAL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerGeneral {
    /// Computer name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// The IP address the server saw.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub last_ip_address: Option<String>,
    /// The IP address the computer reported (v1–v3 only).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub last_reported_ip: Option<String>,
    /// The IPv4 address the computer reported.
    #[serde(
        rename = "lastReportedIpV4",
        deserialize_with = "crate::de::opt_string"
    )]
    pub last_reported_ip_v4: Option<String>,
    /// The IPv6 address the computer reported.
    #[serde(
        rename = "lastReportedIpV6",
        deserialize_with = "crate::de::opt_string"
    )]
    pub last_reported_ip_v6: Option<String>,
    /// The Jamf binary version (`"11.23.2-t1767621885710"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub jamf_binary_version: Option<String>,
    /// Platform (`"Mac"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub platform: Option<String>,
    /// Bar code 1.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub barcode1: Option<String>,
    /// Bar code 2.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub barcode2: Option<String>,
    /// Asset tag.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub asset_tag: Option<String>,
    /// Remote management (whether the computer is managed).
    pub remote_management: Option<RemoteManagement>,
    /// Whether the computer is supervised.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub supervised: Option<bool>,
    /// MDM capability.
    pub mdm_capable: Option<MdmCapable>,
    /// Last inventory report.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<0, _>")]
    pub report_date: Option<DateTime<Utc>>,
    /// Last contact (v1–v3 name).
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<1, _>")]
    pub last_contact_time: Option<DateTime<Utc>>,
    /// Last contact (v4 name).
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<2, _>")]
    pub last_contact: Option<DateTime<Utc>>,
    /// Last check-in (v4).
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<3, _>")]
    pub last_check_in: Option<DateTime<Utc>>,
    /// Last iCloud backup.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<4, _>")]
    pub last_cloud_backup_date: Option<DateTime<Utc>>,
    /// Last enrollment.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<5, _>")]
    pub last_enrolled_date: Option<DateTime<Utc>>,
    /// MDM profile expiration.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<6, _>")]
    pub mdm_profile_expiration: Option<DateTime<Utc>>,
    /// First seen (a date).
    #[serde(deserialize_with = "crate::de::opt_date_noted::<7, _>")]
    pub initial_entry_date: Option<NaiveDate>,
    /// Distribution point name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub distribution_point: Option<String>,
    /// The site (`{"id":"-1","name":"None"}` when none).
    pub site: Option<IdName>,
    /// Whether an iTunes Store account is active.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub itunes_store_account_active: Option<bool>,
    /// Enrolled through Automated Device Enrollment.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub enrolled_via_automated_device_enrollment: Option<bool>,
    /// User-approved MDM.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub user_approved_mdm: Option<bool>,
    /// Declarative device management enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub declarative_device_management_enabled: Option<bool>,
    /// Management id (UUID).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub management_id: Option<String>,
}

impl ComputerGeneral {
    /// The last contact time, whichever inventory version sent it
    /// (v4 `lastContact`, else v1–v3 `lastContactTime`).
    pub fn last_contact_time(&self) -> Option<DateTime<Utc>> {
        self.last_contact.or(self.last_contact_time)
    }
}

/// `general.remoteManagement`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct RemoteManagement {
    /// Whether Jamf manages the computer.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub managed: Option<bool>,
    /// Deprecated; always null on current servers.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub management_username: Option<String>,
}

/// `general.mdmCapable`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MdmCapable {
    /// Whether the computer is MDM capable.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub capable: Option<bool>,
    /// The MDM-capable users.
    #[serde(deserialize_with = "crate::de::vec_or_null")]
    pub capable_users: Vec<String>,
}

/// Section HARDWARE. Apple Silicon reports `0` for processor speed, bus
/// speed and cache size; unreported counts are `-1`. The model keeps what
/// was sent; the normalized record drops the sentinels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerHardware {
    /// Manufacturer (`"Apple"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub make: Option<String>,
    /// Model name (`"13-inch MacBook Pro (Mid 2012)"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub model: Option<String>,
    /// Model identifier (`"MacBookPro9,2"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub model_identifier: Option<String>,
    /// Serial number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub serial_number: Option<String>,
    /// Processor speed in MHz (`0` on Apple Silicon).
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub processor_speed_mhz: Option<i64>,
    /// Number of processors.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub processor_count: Option<i64>,
    /// Total number of cores.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub core_count: Option<i64>,
    /// Processor type (`"Apple M1 Ultra"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub processor_type: Option<String>,
    /// Architecture (`"arm64"`, `"x86_64"`, `"i386"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub processor_architecture: Option<String>,
    /// Bus speed in MHz.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub bus_speed_mhz: Option<i64>,
    /// Cache size in KB.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub cache_size_kilobytes: Option<i64>,
    /// Primary network adapter type.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub network_adapter_type: Option<String>,
    /// Primary MAC address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub mac_address: Option<String>,
    /// Secondary network adapter type.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub alt_network_adapter_type: Option<String>,
    /// Secondary MAC address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub alt_mac_address: Option<String>,
    /// Installed RAM in MB.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub total_ram_megabytes: Option<i64>,
    /// Open RAM slots.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub open_ram_slots: Option<i64>,
    /// Battery capacity percent (`-1` on desktops).
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub battery_capacity_percent: Option<i64>,
    /// Battery health.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub battery_health: Option<String>,
    /// SMC version (null on Apple Silicon).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub smc_version: Option<String>,
    /// NIC speed (`"1 Gbps"`, `"n/a"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub nic_speed: Option<String>,
    /// Optical drive.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub optical_drive: Option<String>,
    /// Boot ROM version.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub boot_rom: Option<String>,
    /// Bluetooth Low Energy capable.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub ble_capable: Option<bool>,
    /// Can install iOS apps.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub supports_ios_app_installs: Option<bool>,
    /// Apple Silicon.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub apple_silicon: Option<bool>,
    /// Provisioning UDID.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub provisioning_udid: Option<String>,
}

/// Section OPERATING_SYSTEM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerOperatingSystem {
    /// OS name (`"macOS"`, `"Mac OS X"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// OS version (`"15.2.0"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub version: Option<String>,
    /// OS build (`"24C101"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub build: Option<String>,
    /// Supplemental (Rapid Security Response) build.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub supplemental_build_version: Option<String>,
    /// Rapid Security Response (`"(a)"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub rapid_security_response: Option<String>,
    /// Active Directory status (`"Not Bound"` or a domain).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub active_directory_status: Option<String>,
    /// FileVault 2 status (`"ALL_ENCRYPTED"`, …).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub file_vault2_status: Option<String>,
    /// Software update device id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub software_update_device_id: Option<String>,
}

/// Section USER_AND_LOCATION.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerUserAndLocation {
    /// Username.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub username: Option<String>,
    /// Full name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub realname: Option<String>,
    /// Email address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub email: Option<String>,
    /// Job title.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub position: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub phone: Option<String>,
    /// Department id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub department_id: Option<String>,
    /// Building id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub building_id: Option<String>,
    /// Room (free text).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub room: Option<String>,
}

/// Section PURCHASING.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerPurchasing {
    /// Leased.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub leased: Option<bool>,
    /// Purchased.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub purchased: Option<bool>,
    /// PO number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub po_number: Option<String>,
    /// PO date.
    #[serde(deserialize_with = "crate::de::opt_date_noted::<8, _>")]
    pub po_date: Option<NaiveDate>,
    /// Vendor.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub vendor: Option<String>,
    /// Warranty expiration.
    #[serde(deserialize_with = "crate::de::opt_date_noted::<9, _>")]
    pub warranty_date: Option<NaiveDate>,
    /// AppleCare id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub apple_care_id: Option<String>,
    /// Lease expiration.
    #[serde(deserialize_with = "crate::de::opt_date_noted::<10, _>")]
    pub lease_date: Option<NaiveDate>,
    /// Purchase price as entered (`"$500"`): text, not a number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub purchase_price: Option<String>,
    /// Life expectancy in years (`0` when unset).
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub life_expectancy: Option<i64>,
    /// Purchasing account.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub purchasing_account: Option<String>,
    /// Purchasing contact.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub purchasing_contact: Option<String>,
}

/// Section DISK_ENCRYPTION.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerDiskEncryption {
    /// FileVault 2 enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub file_vault2_enabled: Option<bool>,
    /// Users FileVault 2 is enabled for.
    #[serde(deserialize_with = "crate::de::vec_or_null")]
    pub file_vault2_enabled_user_names: Vec<String>,
    /// Personal recovery key validity (`"VALID"`, `"UNKNOWN"`, …).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub individual_recovery_key_validity_status: Option<String>,
    /// Whether an institutional recovery key is present.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub institutional_recovery_key_present: Option<bool>,
    /// Disk encryption configuration name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub disk_encryption_configuration_name: Option<String>,
    /// FileVault 2 eligibility message.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub file_vault2_eligibility_message: Option<String>,
}

/// Section SECURITY.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ComputerSecurity {
    /// Activation Lock enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub activation_lock_enabled: Option<bool>,
    /// Recovery Lock enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub recovery_lock_enabled: Option<bool>,
    /// System Integrity Protection status.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub sip_status: Option<String>,
    /// Gatekeeper status.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub gatekeeper_status: Option<String>,
    /// XProtect version.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub xprotect_version: Option<String>,
    /// Automatic login disabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub auto_login_disabled: Option<bool>,
    /// Remote desktop enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub remote_desktop_enabled: Option<bool>,
    /// Firewall enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub firewall_enabled: Option<bool>,
    /// Secure boot level.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub secure_boot_level: Option<String>,
    /// External boot level.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub external_boot_level: Option<String>,
    /// Bootstrap token allowed.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub bootstrap_token_allowed: Option<bool>,
    /// Bootstrap token escrow status.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub bootstrap_token_escrowed_status: Option<String>,
}

/// `GET /api/vN/computers-inventory/{id}/filevault`. Needs the Jamf
/// privilege "View Disk Encryption Recovery Key". The personal recovery key
/// is a secret: `Debug` redacts it and it is not serialized.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct FileVaultInfo {
    /// The computer id.
    pub computer_id: Option<JamfId>,
    /// The computer name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// The FileVault personal recovery key.
    #[serde(deserialize_with = "crate::de::opt_secret")]
    pub personal_recovery_key: Option<SecretString>,
    /// Personal recovery key validity (`"VALID"`, …).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub individual_recovery_key_validity_status: Option<String>,
    /// Whether an institutional recovery key is present.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub institutional_recovery_key_present: Option<bool>,
    /// Disk encryption configuration name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub disk_encryption_configuration_name: Option<String>,
}

impl fmt::Debug for FileVaultInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileVaultInfo")
            .field("computer_id", &self.computer_id)
            .field("name", &self.name)
            .field(
                "personal_recovery_key",
                &self.personal_recovery_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "individual_recovery_key_validity_status",
                &self.individual_recovery_key_validity_status,
            )
            .field(
                "institutional_recovery_key_present",
                &self.institutional_recovery_key_present,
            )
            .field(
                "disk_encryption_configuration_name",
                &self.disk_encryption_configuration_name,
            )
            .finish()
    }
}

/// `GET /api/vN/computers-inventory/{id}/view-recovery-lock-password`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecoveryLockPassword {
    #[serde(default, deserialize_with = "crate::de::opt_secret")]
    pub(crate) recovery_lock_password: Option<SecretString>,
}
