//! `GET /api/v1/devices/{device_id}/details`.
//!
//! One document for every platform: each section is optional (an Apple TV
//! has no `lost_mode` or `cellular`, Windows has no `filevault`), each key
//! in a section is optional, and Windows/Android keys sit next to the Apple
//! ones. Sections sent as `{}` decode to a section with every key `None`.

use serde::{Deserialize, Serialize};

use super::{DeviceUser, Extra, Platform, flex, platform};

/// The details document. Unknown sections (Android's `security`, future
/// ones) are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeviceDetails {
    /// Identity, enrollment, OS and assignment.
    pub general: Option<General>,
    /// MDM state.
    pub mdm: Option<Mdm>,
    /// Activation Lock state (Apple).
    pub activation_lock: Option<ActivationLock>,
    /// FileVault state (Mac).
    pub filevault: Option<FileVault>,
    /// Automated Device Enrollment state.
    pub automated_device_enrollment: Option<AutomatedDeviceEnrollment>,
    /// The Kandji agent.
    pub kandji_agent: Option<KandjiAgent>,
    /// Hardware.
    pub hardware_overview: Option<HardwareOverview>,
    /// Volumes (Mac; iPad reports one).
    #[serde(deserialize_with = "flex::list")]
    pub volumes: Vec<Volume>,
    /// Network.
    pub network: Option<Network>,
    /// Recovery Lock and firmware password state (Mac).
    pub recovery_information: Option<RecoveryInformation>,
    /// Local user accounts (Mac).
    pub users: Option<LocalUsers>,
    /// Installed configuration profiles.
    #[serde(deserialize_with = "flex::list")]
    pub installed_profiles: Vec<InstalledProfile>,
    /// Apple Business Manager record, when the device came from ABM.
    pub apple_business_manager: Option<AppleBusinessManager>,
    /// Security settings.
    pub security_information: Option<SecurityInformation>,
    /// Cellular (iPhone/iPad; Android's IMEI/MEID).
    pub cellular: Option<Cellular>,
    /// Lost Mode (`{}` when never enabled; absent on Apple TV).
    pub lost_mode: Option<LostMode>,
    /// Android hardware.
    pub hardware: Option<AndroidHardware>,
    /// Android management mode and ownership.
    pub management: Option<AndroidManagement>,
    /// Tag names.
    #[serde(deserialize_with = "flex::strings")]
    pub tags: Vec<String>,
    /// Sections not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DeviceDetails {
    /// The hardware UDID: `hardware_overview.udid` (Mac), else
    /// `hardware_overview.uuid` (iPhone, iPad and Apple TV report their
    /// UDID under that name).
    pub fn udid(&self) -> Option<&str> {
        let hw = self.hardware_overview.as_ref()?;
        hw.udid.as_deref().or(hw.uuid.as_deref())
    }

    /// The Wi-Fi/primary MAC address: `network.mac_address`, else Android's
    /// `hardware.wifi_mac_address`.
    pub fn mac_address(&self) -> Option<&str> {
        self.network
            .as_ref()
            .and_then(|n| n.mac_address.as_deref())
            .or_else(|| {
                self.hardware
                    .as_ref()
                    .and_then(|h| h.wifi_mac_address.as_deref())
            })
    }
}

/// `general`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct General {
    /// Device id.
    #[serde(deserialize_with = "flex::text")]
    pub device_id: Option<String>,
    /// Device name.
    #[serde(deserialize_with = "flex::text")]
    pub device_name: Option<String>,
    /// Last enrollment, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub last_enrollment: Option<String>,
    /// First enrollment, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub first_enrollment: Option<String>,
    /// Marketing model name.
    #[serde(deserialize_with = "flex::text")]
    pub model: Option<String>,
    /// Platform.
    #[serde(deserialize_with = "platform")]
    pub platform: Option<Platform>,
    /// OS version.
    #[serde(deserialize_with = "flex::text")]
    pub os_version: Option<String>,
    /// Supplemental build version.
    #[serde(deserialize_with = "flex::text")]
    pub supplemental_build_version: Option<String>,
    /// Supplemental OS version extra.
    #[serde(deserialize_with = "flex::text")]
    pub supplemental_os_version_extra: Option<String>,
    /// "14.4.1 (23E224)".
    #[serde(deserialize_with = "flex::text")]
    pub system_version: Option<String>,
    /// Boot volume name.
    #[serde(deserialize_with = "flex::text")]
    pub boot_volume: Option<String>,
    /// "1 month ago".
    #[serde(deserialize_with = "flex::text")]
    pub time_since_boot: Option<String>,
    /// Last logged-in user.
    #[serde(deserialize_with = "flex::text")]
    pub last_user: Option<String>,
    /// Asset tag.
    #[serde(deserialize_with = "flex::text")]
    pub asset_tag: Option<String>,
    /// Assigned user (object, `""` or `null`).
    #[serde(deserialize_with = "flex::user")]
    pub assigned_user: Option<DeviceUser>,
    /// Blueprint name.
    #[serde(deserialize_with = "flex::text")]
    pub blueprint_name: Option<String>,
    /// Blueprint id (named `blueprint_uuid` here, `blueprint_id` in the list).
    #[serde(deserialize_with = "flex::text")]
    pub blueprint_uuid: Option<String>,
    /// Manufacturer (Windows, Android).
    #[serde(deserialize_with = "flex::text")]
    pub manufacturer: Option<String>,
    /// Device model (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub device_model: Option<String>,
    /// Device type (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub device_type: Option<String>,
    /// Model name (Android).
    #[serde(deserialize_with = "flex::text")]
    pub model_name: Option<String>,
    /// Serial number (Android).
    #[serde(deserialize_with = "flex::text")]
    pub serial_number: Option<String>,
    /// OS name (Windows: "Windows 11").
    #[serde(deserialize_with = "flex::text")]
    pub os_name: Option<String>,
    /// OS build (Windows, Android).
    #[serde(deserialize_with = "flex::text")]
    pub os_build: Option<String>,
    /// OS edition (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub os_edition: Option<String>,
    /// Update build revision (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub update_build_revision: Option<String>,
    /// Language (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub language: Option<String>,
    /// API level (Android).
    #[serde(deserialize_with = "flex::text")]
    pub api_level: Option<String>,
    /// Security patch level (Android).
    #[serde(deserialize_with = "flex::text")]
    pub security_patch_level: Option<String>,
    /// Enterprise id (Android).
    #[serde(deserialize_with = "flex::text")]
    pub enterprise_id: Option<String>,
    /// Enterprise device id (Android).
    #[serde(deserialize_with = "flex::text")]
    pub enterprise_device_id: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `mdm`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Mdm {
    /// MDM enabled (sent as `"True"`/`"False"`).
    #[serde(deserialize_with = "flex::boolean")]
    pub mdm_enabled: Option<bool>,
    /// Supervised (sent as `"True"`/`"False"`; absent on Apple TV).
    #[serde(deserialize_with = "flex::boolean")]
    pub supervised: Option<bool>,
    /// MDM profile install date, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub install_date: Option<String>,
    /// Last MDM check-in, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub last_check_in: Option<String>,
    /// Users with MDM enabled.
    #[serde(deserialize_with = "flex::strings")]
    pub mdm_enabled_user: Vec<String>,
    /// Management client revision (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub management_client_revision: Option<String>,
    /// Windows device id (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub windows_device_id: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `activation_lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ActivationLock {
    /// Bypass code failed.
    #[serde(deserialize_with = "flex::boolean")]
    pub bypass_code_failed: Option<bool>,
    /// User Activation Lock enabled.
    #[serde(deserialize_with = "flex::boolean")]
    pub user_activation_lock_enabled: Option<bool>,
    /// Device Activation Lock enabled.
    #[serde(deserialize_with = "flex::boolean")]
    pub device_activation_lock_enabled: Option<bool>,
    /// Activation Lock allowed while supervised.
    #[serde(deserialize_with = "flex::boolean")]
    pub activation_lock_allowed_while_supervised: Option<bool>,
    /// Activation Lock supported.
    #[serde(deserialize_with = "flex::boolean")]
    pub activation_lock_supported: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `filevault`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FileVault {
    /// FileVault enabled (`null` on non-Macs).
    #[serde(deserialize_with = "flex::boolean")]
    pub filevault_enabled: Option<bool>,
    /// Recovery key type ("Personal").
    #[serde(deserialize_with = "flex::text")]
    pub filevault_recoverykey_type: Option<String>,
    /// Personal recovery key escrowed.
    #[serde(deserialize_with = "flex::boolean")]
    pub filevault_prk_escrowed: Option<bool>,
    /// Next key rotation, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub filevault_next_rotation: Option<String>,
    /// Key regeneration required.
    #[serde(deserialize_with = "flex::boolean")]
    pub filevault_regen_required: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `automated_device_enrollment` (`{}` when not enrolled through ADE).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AutomatedDeviceEnrollment {
    /// Eligible for automated enrollment.
    #[serde(deserialize_with = "flex::boolean")]
    pub auto_enroll_eligible: Option<bool>,
    /// Enrolled automatically.
    #[serde(deserialize_with = "flex::boolean")]
    pub auto_enrolled: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `kandji_agent`. Apple devices and Windows use different keys; use
/// [`KandjiAgent::installed`], [`KandjiAgent::version`] and
/// [`KandjiAgent::last_check_in`] for either.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct KandjiAgent {
    /// Agent installed (Apple; sent as `"True"`/`"False"`).
    #[serde(deserialize_with = "flex::boolean")]
    pub agent_installed: Option<bool>,
    /// Agent installed (Windows).
    #[serde(deserialize_with = "flex::boolean")]
    pub is_agent_installed: Option<bool>,
    /// Install date, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub install_date: Option<String>,
    /// Last agent check-in (Apple), as sent.
    #[serde(rename = "last_check_in", deserialize_with = "flex::text")]
    pub last_check_in_at: Option<String>,
    /// Last agent check-in (Windows), as sent.
    #[serde(deserialize_with = "flex::text")]
    pub last_check_in_datetime: Option<String>,
    /// Agent version (Apple).
    #[serde(deserialize_with = "flex::text")]
    pub agent_version: Option<String>,
    /// Agent version (Windows).
    #[serde(rename = "version", deserialize_with = "flex::text")]
    pub windows_version: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl KandjiAgent {
    /// Whether the agent is installed, from either platform's key.
    pub fn installed(&self) -> Option<bool> {
        self.agent_installed.or(self.is_agent_installed)
    }

    /// The agent version, from either platform's key.
    pub fn version(&self) -> Option<&str> {
        self.agent_version
            .as_deref()
            .or(self.windows_version.as_deref())
    }

    /// The last agent check-in, from either platform's key.
    pub fn last_check_in(&self) -> Option<&str> {
        self.last_check_in_at
            .as_deref()
            .or(self.last_check_in_datetime.as_deref())
    }
}

/// `hardware_overview`. Numbers come as strings ("8", "16384") and are kept so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HardwareOverview {
    /// Model name ("MacBook Air").
    #[serde(deserialize_with = "flex::text")]
    pub model_name: Option<String>,
    /// Model identifier ("MacBookAir10,1").
    #[serde(deserialize_with = "flex::text")]
    pub model_identifier: Option<String>,
    /// Processor name ("Apple M1").
    #[serde(deserialize_with = "flex::text")]
    pub processor_name: Option<String>,
    /// Processor speed, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub processor_speed: Option<String>,
    /// Number of processors ("8").
    #[serde(deserialize_with = "flex::text")]
    pub number_of_processors: Option<String>,
    /// Total number of cores ("8").
    #[serde(deserialize_with = "flex::text")]
    pub total_number_of_cores: Option<String>,
    /// Memory ("8 GB LPDDR4").
    #[serde(deserialize_with = "flex::text")]
    pub memory: Option<String>,
    /// UDID (Mac).
    #[serde(deserialize_with = "flex::text")]
    pub udid: Option<String>,
    /// UDID (iPhone, iPad, Apple TV call it `uuid`).
    #[serde(deserialize_with = "flex::text")]
    pub uuid: Option<String>,
    /// Serial number.
    #[serde(deserialize_with = "flex::text")]
    pub serial_number: Option<String>,
    /// BIOS version (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub bios_version: Option<String>,
    /// Processor architecture (Windows: "X64").
    #[serde(deserialize_with = "flex::text")]
    pub processor_architecture: Option<String>,
    /// SMBIOS serial number (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub smbios_serial_number: Option<String>,
    /// RAM in MB (Windows: "16384").
    #[serde(deserialize_with = "flex::text")]
    pub total_ram: Option<String>,
    /// Total capacity in MB (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub total_capacity: Option<String>,
    /// Free capacity in MB (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub free_capacity: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `volumes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Volume {
    /// Volume name.
    #[serde(deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// File system ("APFS").
    #[serde(deserialize_with = "flex::text")]
    pub format: Option<String>,
    /// Percent used ("19%").
    #[serde(deserialize_with = "flex::text")]
    pub percent_used: Option<String>,
    /// Disk identifier.
    #[serde(deserialize_with = "flex::text")]
    pub identifier: Option<String>,
    /// Capacity ("228.27 GB").
    #[serde(deserialize_with = "flex::text")]
    pub capacity: Option<String>,
    /// Available ("182.66 GB").
    #[serde(deserialize_with = "flex::text")]
    pub available: Option<String>,
    /// Encrypted (sent as `"Yes"`/`"No"`/`""`).
    #[serde(deserialize_with = "flex::boolean")]
    pub encrypted: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `network` (`{}` when unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Network {
    /// Local host name.
    #[serde(deserialize_with = "flex::text")]
    pub local_hostname: Option<String>,
    /// Primary MAC address.
    #[serde(deserialize_with = "flex::text")]
    pub mac_address: Option<String>,
    /// IP address.
    #[serde(deserialize_with = "flex::text")]
    pub ip_address: Option<String>,
    /// Public IP address.
    #[serde(deserialize_with = "flex::text")]
    pub public_ip: Option<String>,
    /// DNS computer name (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub dns_computer_name: Option<String>,
    /// Wi-Fi IPv4 address (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub wifi_ipv4_address: Option<String>,
    /// Wi-Fi IPv6 address (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub wifi_ipv6_address: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `recovery_information`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RecoveryInformation {
    /// Recovery Lock enabled.
    #[serde(deserialize_with = "flex::boolean")]
    pub recovery_lock_enabled: Option<bool>,
    /// A firmware password exists.
    #[serde(deserialize_with = "flex::boolean")]
    pub firmware_password_exist: Option<bool>,
    /// A firmware password change is pending.
    #[serde(deserialize_with = "flex::boolean")]
    pub firmware_password_pending: Option<bool>,
    /// Next password rotation, as sent (or `None`).
    #[serde(deserialize_with = "flex::text")]
    pub password_rotation_scheduled: Option<String>,
    /// The password has been set.
    #[serde(deserialize_with = "flex::boolean")]
    pub password_has_been_set: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `users`: local accounts on a Mac.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LocalUsers {
    /// Regular accounts.
    #[serde(deserialize_with = "flex::list")]
    pub regular_users: Vec<LocalUser>,
    /// System accounts.
    #[serde(deserialize_with = "flex::list")]
    pub system_users: Vec<LocalUser>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A local account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LocalUser {
    /// Short name.
    #[serde(deserialize_with = "flex::text")]
    pub username: Option<String>,
    /// Unix uid, as a string ("501").
    #[serde(deserialize_with = "flex::text")]
    pub uid: Option<String>,
    /// Home directory.
    #[serde(deserialize_with = "flex::text")]
    pub path: Option<String>,
    /// Administrator (sent as `"Yes"`/`"No"`).
    #[serde(deserialize_with = "flex::boolean")]
    pub admin: Option<bool>,
    /// Full name.
    #[serde(deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `installed_profiles`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InstalledProfile {
    /// Profile name.
    #[serde(deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Profile UUID.
    #[serde(deserialize_with = "flex::text")]
    pub uuid: Option<String>,
    /// Verification state ("verified").
    #[serde(deserialize_with = "flex::text")]
    pub verified: Option<String>,
    /// Payload identifier.
    #[serde(deserialize_with = "flex::text")]
    pub identifier: Option<String>,
    /// Organization.
    #[serde(deserialize_with = "flex::text")]
    pub organization: Option<String>,
    /// Payload types.
    #[serde(deserialize_with = "flex::strings")]
    pub payload_types: Vec<String>,
    /// Install date, as sent (`2024-05-13 20:09:23 +0000`).
    #[serde(deserialize_with = "flex::text")]
    pub install_date: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `apple_business_manager` (`{}` when the device is not from ABM).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AppleBusinessManager {
    /// Model as ABM names it.
    #[serde(deserialize_with = "flex::text")]
    pub model: Option<String>,
    /// Color ("SILVER").
    #[serde(deserialize_with = "flex::text")]
    pub color: Option<String>,
    /// Description ("IPAD WI-FI 128GB SILVER-USA").
    #[serde(deserialize_with = "flex::text")]
    pub description: Option<String>,
    /// Serial number.
    #[serde(deserialize_with = "flex::text")]
    pub serial_number: Option<String>,
    /// Device family ("iPad").
    #[serde(deserialize_with = "flex::text")]
    pub device_family: Option<String>,
    /// OS ("iPadOS").
    #[serde(deserialize_with = "flex::text")]
    pub os: Option<String>,
    /// When it was assigned to this MDM server, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub device_assigned_date: Option<String>,
    /// Who assigned it.
    #[serde(deserialize_with = "flex::text")]
    pub device_assigned_by: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `security_information`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SecurityInformation {
    /// Remote Desktop enabled.
    #[serde(deserialize_with = "flex::boolean")]
    pub remote_desktop_enabled: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `cellular` (`{}` without a modem).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Cellular {
    /// Voice roaming.
    #[serde(deserialize_with = "flex::boolean")]
    pub voice_roaming: Option<bool>,
    /// Data roaming.
    #[serde(deserialize_with = "flex::boolean")]
    pub data_roaming: Option<bool>,
    /// Cellular technology code.
    #[serde(deserialize_with = "flex::int")]
    pub cellular_technology: Option<i64>,
    /// Subscriptions, as sent.
    pub subscriptions: Option<serde_json::Value>,
    /// IMEI (Android).
    #[serde(deserialize_with = "flex::text")]
    pub imei: Option<String>,
    /// MEID (Android).
    #[serde(deserialize_with = "flex::text")]
    pub meid: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `lost_mode` (`{}` when never enabled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LostMode {
    /// Status ("ENABLED").
    #[serde(deserialize_with = "flex::text")]
    pub lost_mode_status: Option<String>,
    /// Who enabled it.
    #[serde(deserialize_with = "flex::text")]
    pub enabled_by: Option<String>,
    /// When it was enabled, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub enable_status_at: Option<String>,
    /// Lock screen message.
    #[serde(deserialize_with = "flex::text")]
    pub lock_screen_message: Option<String>,
    /// Lock screen phone number.
    #[serde(deserialize_with = "flex::text")]
    pub lock_screen_phone_number: Option<String>,
    /// Lock screen footnote.
    #[serde(deserialize_with = "flex::text")]
    pub lock_screen_footnote: Option<String>,
    /// Disable status.
    #[serde(deserialize_with = "flex::text")]
    pub disable_status: Option<String>,
    /// Who disabled it.
    #[serde(deserialize_with = "flex::text")]
    pub disabled_by: Option<String>,
    /// When it was disabled, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub disable_status_at: Option<String>,
    /// Last location request status.
    #[serde(deserialize_with = "flex::text")]
    pub last_location_status: Option<String>,
    /// When the last location was requested, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub last_location_status_at: Option<String>,
    /// Last location (coordinates are strings).
    pub last_location: Option<Location>,
    /// When the last location was taken, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub last_location_at: Option<String>,
    /// Sound request status.
    #[serde(deserialize_with = "flex::text")]
    pub sound_status: Option<String>,
    /// When the sound was requested, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub sound_status_at: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LostMode {
    /// Whether the section is empty (`{}`: Lost Mode never used).
    pub fn is_empty(&self) -> bool {
        self == &LostMode::default()
    }
}

/// A location; Kandji sends the coordinates as strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Location {
    /// Latitude.
    #[serde(deserialize_with = "flex::text")]
    pub latitude: Option<String>,
    /// Longitude.
    #[serde(deserialize_with = "flex::text")]
    pub longitude: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `hardware` (Android).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AndroidHardware {
    /// Available storage, as sent ("105.93").
    #[serde(deserialize_with = "flex::text")]
    pub available_capacity: Option<String>,
    /// Total storage, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub total_capacity: Option<String>,
    /// RAM, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub total_ram: Option<String>,
    /// Wi-Fi MAC address.
    #[serde(deserialize_with = "flex::text")]
    pub wifi_mac_address: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `management` (Android).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AndroidManagement {
    /// "PROFILE_OWNER", ….
    #[serde(deserialize_with = "flex::text")]
    pub management_mode: Option<String>,
    /// "COMPANY_OWNED", ….
    #[serde(deserialize_with = "flex::text")]
    pub ownership: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}
