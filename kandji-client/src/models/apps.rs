//! `GET /api/v1/devices/{device_id}/apps`.
//!
//! Apple, Windows and Android apps use different keys; all are optional here.

use serde::{Deserialize, Serialize};

use super::{Extra, flex};

/// The apps installed on one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeviceApps {
    /// The device.
    #[serde(deserialize_with = "flex::text")]
    pub device_id: Option<String>,
    /// Its apps. (On iPhone and iPad the preinstalled Apple apps are not reported.)
    #[serde(deserialize_with = "flex::list")]
    pub apps: Vec<App>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One installed app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct App {
    /// App id (a numeric string on Mac, a UUID on iPad).
    #[serde(deserialize_with = "flex::text")]
    pub app_id: Option<String>,
    /// App name (Apple).
    #[serde(deserialize_with = "flex::text")]
    pub app_name: Option<String>,
    /// Bundle id (Apple).
    #[serde(deserialize_with = "flex::text")]
    pub bundle_id: Option<String>,
    /// Bundle size, as sent (a numeric string).
    #[serde(deserialize_with = "flex::text")]
    pub bundle_size: Option<String>,
    /// App Store vendable (sent as `"True"`/`"False"`/`""`).
    #[serde(deserialize_with = "flex::boolean")]
    pub app_store_vendable: Option<bool>,
    /// Device-based VPP (sent as `"True"`/`"False"`/`""`).
    #[serde(deserialize_with = "flex::boolean")]
    pub device_based_vpp: Option<bool>,
    /// Source ("Apple", "App Store", …).
    #[serde(deserialize_with = "flex::text")]
    pub source: Option<String>,
    /// Process name.
    #[serde(deserialize_with = "flex::text")]
    pub process: Option<String>,
    /// Code signature.
    #[serde(deserialize_with = "flex::text")]
    pub signature: Option<String>,
    /// Created, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub creation_date: Option<String>,
    /// Modified, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub modification_date: Option<String>,
    /// Install path (Mac).
    #[serde(deserialize_with = "flex::text")]
    pub path: Option<String>,
    /// Version (Apple, Windows).
    #[serde(deserialize_with = "flex::text")]
    pub version: Option<String>,
    /// Package name (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Display name (Windows, Android).
    #[serde(deserialize_with = "flex::text")]
    pub display_name: Option<String>,
    /// Publisher (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub publisher: Option<String>,
    /// Publisher display name (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub publisher_display_name: Option<String>,
    /// Architecture (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub architecture: Option<String>,
    /// Install path (Windows).
    #[serde(deserialize_with = "flex::text")]
    pub installed_path: Option<String>,
    /// Application type (Windows: "AppxMsix").
    #[serde(deserialize_with = "flex::text")]
    pub application_type: Option<String>,
    /// Package name (Android).
    #[serde(deserialize_with = "flex::text")]
    pub package_name: Option<String>,
    /// Version name (Android).
    #[serde(deserialize_with = "flex::text")]
    pub version_name: Option<String>,
    /// Application source (Android).
    #[serde(deserialize_with = "flex::text")]
    pub application_source: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl App {
    /// The app's name on any platform (`app_name`, else `display_name`, else `name`).
    pub fn best_name(&self) -> Option<&str> {
        self.app_name
            .as_deref()
            .or(self.display_name.as_deref())
            .or(self.name.as_deref())
    }
}
