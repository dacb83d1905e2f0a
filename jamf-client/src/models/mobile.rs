//! Mobile devices: `/api/v2/mobile-devices` (summary list),
//! `/api/v2/mobile-devices/detail` (inventory with sections) and
//! `/api/v2/mobile-devices/{id}/detail` (one device, a flatter shape).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{IdName, JamfId};

/// The kind of mobile device (`deviceType` in the inventory, `type` in the
/// summary and by-id detail). Unknown values are kept in
/// [`MobileDeviceType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MobileDeviceType {
    /// iPhone, iPad, iPod touch (`iOS`, `ios`).
    Ios,
    /// Apple TV (`tvOS`, `tvos`, `appleTv`).
    TvOs,
    /// Apple Watch (`watchOS`).
    WatchOs,
    /// Apple Vision Pro (`visionOS`).
    VisionOs,
    /// A value this crate does not know, as sent.
    Other(String),
}

impl MobileDeviceType {
    /// Reads Jamf's spelling of a device type (case-insensitive).
    pub fn parse(raw: &str) -> MobileDeviceType {
        let t = raw.trim();
        let is = |names: &[&str]| names.iter().any(|n| t.eq_ignore_ascii_case(n));
        if is(&["ios", "ipados"]) {
            MobileDeviceType::Ios
        } else if is(&["tvos", "appletv", "apple_tv"]) {
            MobileDeviceType::TvOs
        } else if is(&["watchos", "watch"]) {
            MobileDeviceType::WatchOs
        } else if is(&["visionos", "vision"]) {
            MobileDeviceType::VisionOs
        } else {
            MobileDeviceType::Other(raw.to_string())
        }
    }

    /// The canonical name (`"iOS"`, `"tvOS"`, `"watchOS"`, `"visionOS"`).
    pub fn as_str(&self) -> &str {
        match self {
            MobileDeviceType::Ios => "iOS",
            MobileDeviceType::TvOs => "tvOS",
            MobileDeviceType::WatchOs => "watchOS",
            MobileDeviceType::VisionOs => "visionOS",
            MobileDeviceType::Other(s) => s,
        }
    }
}

impl fmt::Display for MobileDeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MobileDeviceType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MobileDeviceType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DeviceTypeVisitor)
    }
}

/// Reads a [`MobileDeviceType`] from borrowed text (no `String` for the
/// known types).
struct DeviceTypeVisitor;

impl Visitor<'_> for DeviceTypeVisitor {
    type Value = MobileDeviceType;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<MobileDeviceType, E> {
        Ok(MobileDeviceType::parse(s))
    }
}

/// One device of `GET /api/v2/mobile-devices/detail` (iOS, tvOS, watchOS
/// or visionOS; the sections a device type lacks are `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MobileDevice {
    /// The Jamf Pro mobile device id.
    pub mobile_device_id: JamfId,
    /// The device type (`iOS`, `tvOS`, …).
    #[serde(default)]
    pub device_type: Option<MobileDeviceType>,
    /// Section GENERAL.
    #[serde(default)]
    pub general: Option<MobileDeviceGeneral>,
    /// Section HARDWARE.
    #[serde(default)]
    pub hardware: Option<MobileDeviceHardware>,
    /// Section USER_AND_LOCATION.
    #[serde(default)]
    pub user_and_location: Option<MobileDeviceUserAndLocation>,
    /// Section PURCHASING.
    #[serde(default)]
    pub purchasing: Option<MobileDevicePurchasing>,
    /// Section SECURITY (iOS, watchOS, visionOS).
    #[serde(default)]
    pub security: Option<MobileDeviceSecurity>,
    /// Section NETWORK (iOS).
    #[serde(default)]
    pub network: Option<MobileDeviceNetwork>,
}

/// Section GENERAL of a mobile device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDeviceGeneral {
    /// UDID.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub udid: Option<String>,
    /// Device name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub display_name: Option<String>,
    /// Asset tag.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub asset_tag: Option<String>,
    /// Site id (`"-1"` when none).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub site_id: Option<String>,
    /// Last inventory update.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<11, _>")]
    pub last_inventory_update_date: Option<DateTime<Utc>>,
    /// Last contact.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<12, _>")]
    pub last_contact_date: Option<DateTime<Utc>>,
    /// OS version (`"17.2"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub os_version: Option<String>,
    /// OS build.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub os_build: Option<String>,
    /// Supplemental OS build.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub os_supplemental_build_version: Option<String>,
    /// Rapid Security Response.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub os_rapid_security_response: Option<String>,
    /// IP address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub ip_address: Option<String>,
    /// Managed.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub managed: Option<bool>,
    /// Supervised.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub supervised: Option<bool>,
    /// Ownership (`"Institutional"`, `"PersonalDeviceProfile"`, …).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub device_ownership_type: Option<String>,
    /// Last enrollment.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<5, _>")]
    pub last_enrolled_date: Option<DateTime<Utc>>,
    /// MDM profile expiration.
    #[serde(deserialize_with = "crate::de::opt_datetime_noted::<13, _>")]
    pub mdm_profile_expiration_date: Option<DateTime<Utc>>,
    /// Time zone.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub time_zone: Option<String>,
    /// Management id (UUID).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub management_id: Option<String>,
}

/// Section HARDWARE of a mobile device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDeviceHardware {
    /// Serial number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub serial_number: Option<String>,
    /// Wi-Fi MAC address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub wifi_mac_address: Option<String>,
    /// Bluetooth MAC address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub bluetooth_mac_address: Option<String>,
    /// Model name (`"iPad 7th Generation (Wi-Fi)"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub model: Option<String>,
    /// Model identifier (`"iPad7,11"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub model_identifier: Option<String>,
    /// Model number (`"MW742LL"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub model_number: Option<String>,
    /// Capacity in MB.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub capacity_mb: Option<i64>,
    /// Available space in MB.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub available_space_mb: Option<i64>,
    /// Battery level percent.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub battery_level: Option<i64>,
    /// Battery health.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub battery_health: Option<String>,
    /// Modem firmware version.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub modem_firmware_version: Option<String>,
    /// Bluetooth Low Energy capable.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub bluetooth_low_energy_capable: Option<bool>,
    /// Device id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub device_id: Option<String>,
}

/// Section USER_AND_LOCATION of a mobile device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDeviceUserAndLocation {
    /// Username.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub username: Option<String>,
    /// Full name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub real_name: Option<String>,
    /// Email address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub email_address: Option<String>,
    /// Job title.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub position: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub phone_number: Option<String>,
    /// Department id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub department_id: Option<String>,
    /// Building id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub building_id: Option<String>,
    /// Room.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub room: Option<String>,
    /// Building name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub building: Option<String>,
    /// Department name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub department: Option<String>,
}

/// Section PURCHASING of a mobile device. Dates arrive as date-times here;
/// the model keeps their UTC date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDevicePurchasing {
    /// Purchased.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub purchased: Option<bool>,
    /// Leased.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub leased: Option<bool>,
    /// PO number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub po_number: Option<String>,
    /// Vendor.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub vendor: Option<String>,
    /// AppleCare id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub apple_care_id: Option<String>,
    /// Purchase price as entered (`"$399"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub purchase_price: Option<String>,
    /// Purchasing account.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub purchasing_account: Option<String>,
    /// PO date.
    #[serde(deserialize_with = "crate::de::opt_date_noted::<8, _>")]
    pub po_date: Option<NaiveDate>,
    /// Warranty expiration.
    #[serde(deserialize_with = "crate::de::opt_date_noted::<14, _>")]
    pub warranty_expires_date: Option<NaiveDate>,
    /// Lease expiration.
    #[serde(deserialize_with = "crate::de::opt_date_noted::<15, _>")]
    pub lease_expires_date: Option<NaiveDate>,
    /// Life expectancy in years.
    #[serde(deserialize_with = "crate::de::opt_i64")]
    pub life_expectancy: Option<i64>,
    /// Purchasing contact.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub purchasing_contact: Option<String>,
}

/// Section SECURITY of a mobile device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDeviceSecurity {
    /// Activation Lock enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub activation_lock_enabled: Option<bool>,
    /// Data protection on.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub data_protected: Option<bool>,
    /// Passcode present.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub passcode_present: Option<bool>,
    /// Passcode compliant.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub passcode_compliant: Option<bool>,
    /// Jailbreak detected.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub jail_break_detected: Option<bool>,
    /// Lost Mode enabled.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub lost_mode_enabled: Option<bool>,
}

/// Section NETWORK of a mobile device (cellular identifiers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDeviceNetwork {
    /// IMEI (`"59 105109 176278 3"`).
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub imei: Option<String>,
    /// MEID.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub meid: Option<String>,
    /// EID.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub eid: Option<String>,
    /// ICCID.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub iccid: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub phone_number: Option<String>,
    /// Cellular technology.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub cellular_technology: Option<String>,
    /// Current carrier network.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub current_carrier_network: Option<String>,
    /// Roaming.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub roaming: Option<bool>,
}

/// One device of the summary list `GET /api/v2/mobile-devices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MobileDeviceSummary {
    /// The id.
    pub id: JamfId,
    /// Device name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// Serial number.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub serial_number: Option<String>,
    /// Wi-Fi MAC address.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub wifi_mac_address: Option<String>,
    /// UDID.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub udid: Option<String>,
    /// Phone number.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub phone_number: Option<String>,
    /// Model name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub model: Option<String>,
    /// Model identifier.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub model_identifier: Option<String>,
    /// Username of the assigned user.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub username: Option<String>,
    /// Device type (`ios`, `tvos`, `watchos`, `visionos`, `unknown`).
    #[serde(default, rename = "type")]
    pub device_type: Option<MobileDeviceType>,
    /// Management id.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub management_id: Option<String>,
}

/// One device from `GET /api/v2/mobile-devices/{id}/detail` (a flatter
/// shape than the inventory listing; the type-specific parts are kept as
/// JSON in `ios`, `apple_tv`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MobileDeviceDetail {
    /// The id.
    pub id: JamfId,
    /// Device name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// Asset tag.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub asset_tag: Option<String>,
    /// Serial number.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub serial_number: Option<String>,
    /// UDID.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub udid: Option<String>,
    /// IP address.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub ip_address: Option<String>,
    /// Wi-Fi MAC address.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub wifi_mac_address: Option<String>,
    /// Bluetooth MAC address.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub bluetooth_mac_address: Option<String>,
    /// Managed.
    #[serde(default, deserialize_with = "crate::de::opt_bool")]
    pub managed: Option<bool>,
    /// OS version.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub os_version: Option<String>,
    /// OS build.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub os_build: Option<String>,
    /// Last inventory update.
    #[serde(default, deserialize_with = "crate::de::opt_datetime")]
    pub last_inventory_update_timestamp: Option<DateTime<Utc>>,
    /// Last contact.
    #[serde(default, deserialize_with = "crate::de::opt_datetime")]
    pub last_contact_timestamp: Option<DateTime<Utc>>,
    /// The site.
    #[serde(default)]
    pub site: Option<IdName>,
    /// The assigned user and location.
    #[serde(default)]
    pub location: Option<MobileDeviceLocation>,
    /// Device type (`ios`, `appleTv`, …).
    #[serde(default, rename = "type")]
    pub device_type: Option<MobileDeviceType>,
    /// iOS/iPadOS details (model, supervision, purchasing, security, network).
    #[serde(default)]
    pub ios: Option<Value>,
    /// tvOS details.
    #[serde(default)]
    pub apple_tv: Option<Value>,
}

/// `location` of a by-id mobile device detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct MobileDeviceLocation {
    /// Username.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub username: Option<String>,
    /// Full name.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub real_name: Option<String>,
    /// Email address.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub email_address: Option<String>,
    /// Job title.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub position: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub phone_number: Option<String>,
    /// Department id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub department_id: Option<String>,
    /// Building id.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub building_id: Option<String>,
    /// Room.
    #[serde(deserialize_with = "crate::de::opt_string")]
    pub room: Option<String>,
}
