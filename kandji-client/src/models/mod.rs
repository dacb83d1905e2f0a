//! Typed Kandji payloads.
//!
//! Every model accepts Kandji's loose typing (see the crate docs): blank
//! strings are `None`, booleans come as `true` or `"True"` or `"Yes"`, ids
//! as strings or integers, lists may be `null`. Keys this crate does not
//! model are kept in each struct's `extra` map, so nothing the server sent
//! is lost.

mod apps;
mod details;
pub(crate) mod flex;
mod org;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use apps::{App, DeviceApps};
pub use details::{
    ActivationLock, AndroidHardware, AndroidManagement, AppleBusinessManager,
    AutomatedDeviceEnrollment, Cellular, DeviceDetails, FileVault, General, HardwareOverview,
    InstalledProfile, KandjiAgent, LocalUser, LocalUsers, Location, LostMode, Mdm, Network,
    RecoveryInformation, SecurityInformation, Volume,
};
pub use org::{Blueprint, EnrollmentCode, Integration, Paginated, Tag, User, UsersPage};

/// Keys Kandji sent that this crate does not model.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A device's platform. Unknown values (a future Vision Pro string, say)
/// are kept in [`Platform::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// `Mac`
    Mac,
    /// `iPhone`
    IPhone,
    /// `iPad`
    IPad,
    /// `AppleTV`
    AppleTv,
    /// `Windows` (Iru)
    Windows,
    /// `Android` (Iru)
    Android,
    /// Anything else, as sent.
    Other(String),
}

impl Platform {
    /// Kandji's spelling, as used in the `platform` filter.
    pub fn as_str(&self) -> &str {
        match self {
            Platform::Mac => "Mac",
            Platform::IPhone => "iPhone",
            Platform::IPad => "iPad",
            Platform::AppleTv => "AppleTV",
            Platform::Windows => "Windows",
            Platform::Android => "Android",
            Platform::Other(s) => s,
        }
    }

    /// Reads Kandji's spelling (any case; `macOS`, `Apple TV` and `tvOS`
    /// accepted too). Never fails: unknown names become [`Platform::Other`].
    pub fn parse(s: &str) -> Platform {
        let squashed: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "mac" | "macos" => Platform::Mac,
            "iphone" | "ios" => Platform::IPhone,
            "ipad" | "ipados" => Platform::IPad,
            "appletv" | "tvos" => Platform::AppleTv,
            "windows" => Platform::Windows,
            "android" => Platform::Android,
            _ => Platform::Other(s.trim().to_string()),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Platform::parse(&s))
    }
}

fn platform<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Platform>, D::Error> {
    Ok(flex::text(d)?.map(|s| Platform::parse(&s)))
}

/// The user a device is assigned to (`user` in the device list,
/// `general.assigned_user` in details).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeviceUser {
    /// The user's id: a UUID now; an integer in older tenants (as a string: `"1"`).
    #[serde(deserialize_with = "flex::text")]
    pub id: Option<String>,
    /// Email address.
    #[serde(deserialize_with = "flex::text")]
    pub email: Option<String>,
    /// Display name.
    #[serde(deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Whether the user is archived in Kandji.
    #[serde(deserialize_with = "flex::boolean")]
    pub is_archived: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One device, as `GET /api/v1/devices` lists it and
/// `GET /api/v1/devices/{device_id}` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Device {
    /// The device's Kandji id (UUID), stable for the life of the enrollment.
    #[serde(deserialize_with = "flex::id")]
    pub device_id: String,
    /// Device name.
    #[serde(default, deserialize_with = "flex::text")]
    pub device_name: Option<String>,
    /// Marketing model name ("MacBook Air (M1, 2020)").
    #[serde(default, deserialize_with = "flex::text")]
    pub model: Option<String>,
    /// Serial number.
    #[serde(default, deserialize_with = "flex::text")]
    pub serial_number: Option<String>,
    /// Platform.
    #[serde(default, deserialize_with = "platform")]
    pub platform: Option<Platform>,
    /// OS version ("14.4.1"; Windows "24H2", Android "15").
    #[serde(default, deserialize_with = "flex::text")]
    pub os_version: Option<String>,
    /// Supplemental (Rapid Security Response) build version.
    #[serde(default, deserialize_with = "flex::text")]
    pub supplemental_build_version: Option<String>,
    /// Supplemental OS version extra.
    #[serde(default, deserialize_with = "flex::text")]
    pub supplemental_os_version_extra: Option<String>,
    /// Last check-in, as sent (`2024-07-23T14:11:37.150080Z`; `""` → `None`).
    #[serde(default, deserialize_with = "flex::text")]
    pub last_check_in: Option<String>,
    /// The assigned user (`None` for `""`, `null`, `[]` or a missing key).
    #[serde(default, deserialize_with = "flex::user")]
    pub user: Option<DeviceUser>,
    /// Asset tag.
    #[serde(default, deserialize_with = "flex::text")]
    pub asset_tag: Option<String>,
    /// Blueprint id (UUID).
    #[serde(default, deserialize_with = "flex::text")]
    pub blueprint_id: Option<String>,
    /// Blueprint name.
    #[serde(default, deserialize_with = "flex::text")]
    pub blueprint_name: Option<String>,
    /// Whether MDM is enabled.
    #[serde(default, deserialize_with = "flex::boolean")]
    pub mdm_enabled: Option<bool>,
    /// Whether the Kandji agent is installed.
    #[serde(default, deserialize_with = "flex::boolean")]
    pub agent_installed: Option<bool>,
    /// Whether the device is marked missing.
    #[serde(default, deserialize_with = "flex::boolean")]
    pub is_missing: Option<bool>,
    /// Whether the device is marked removed.
    #[serde(default, deserialize_with = "flex::boolean")]
    pub is_removed: Option<bool>,
    /// Kandji agent version ("4.5.9 (5160)").
    #[serde(default, deserialize_with = "flex::text")]
    pub agent_version: Option<String>,
    /// First enrollment, as sent (`2024-01-26 16:15:36.087016+00:00`).
    #[serde(default, deserialize_with = "flex::text")]
    pub first_enrollment: Option<String>,
    /// Last enrollment, as sent.
    #[serde(default, deserialize_with = "flex::text")]
    pub last_enrollment: Option<String>,
    /// Lost Mode status (`"ENABLED"`; blank when off). Absent in older responses.
    #[serde(default, deserialize_with = "flex::text")]
    pub lost_mode_status: Option<String>,
    /// Tag names.
    #[serde(default, deserialize_with = "flex::strings")]
    pub tags: Vec<String>,
    /// Android API level (Iru; blank elsewhere).
    #[serde(default, deserialize_with = "flex::text")]
    pub api_level: Option<String>,
    /// Android security patch level, a date (Iru; blank elsewhere).
    #[serde(default, deserialize_with = "flex::text")]
    pub security_patch_level: Option<String>,
    /// Full software version (Iru Windows: "10.0.26100.6584").
    #[serde(default, deserialize_with = "flex::text")]
    pub full_software_version: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Device {
    /// The platform, as Kandji spells it.
    pub fn platform_str(&self) -> Option<&str> {
        self.platform.as_ref().map(Platform::as_str)
    }

    /// The last check-in as UTC, whatever format it came in.
    pub fn last_check_in_utc(&self) -> Option<String> {
        self.last_check_in
            .as_deref()
            .and_then(mdm_mapping::normalize::datetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_round_trip_and_unknowns() {
        for p in ["Mac", "iPhone", "iPad", "AppleTV", "Windows", "Android"] {
            assert_eq!(Platform::parse(p).as_str(), p);
        }
        assert_eq!(Platform::parse("appletv"), Platform::AppleTv);
        assert_eq!(Platform::parse("Apple TV"), Platform::AppleTv);
        assert_eq!(
            Platform::parse("VisionPro"),
            Platform::Other("VisionPro".into())
        );
    }

    #[test]
    fn device_keeps_unknown_keys_and_reads_quirks() {
        let d: Device = serde_json::from_str(
            r#"{"device_id":"d1","user":"","mdm_enabled":"True","tags":null,"new_key":{"a":1},"platform":"Windows"}"#,
        )
        .expect("decodes");
        assert_eq!(d.device_id, "d1");
        assert!(d.user.is_none());
        assert_eq!(d.mdm_enabled, Some(true));
        assert!(d.tags.is_empty());
        assert_eq!(d.platform, Some(Platform::Windows));
        assert_eq!(d.extra["new_key"]["a"], 1);
    }

    #[test]
    fn device_id_is_required() {
        let e = serde_json::from_str::<Device>(r#"{"device_name":"x"}"#).expect_err("no id");
        assert!(e.to_string().contains("id"), "{e}");
    }
}
