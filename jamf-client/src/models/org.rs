//! Buildings, departments, sites and (inventory) users.

use serde::{Deserialize, Serialize};

use super::JamfId;

/// A building (`GET /api/v1/buildings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Building {
    /// The id.
    pub id: JamfId,
    /// The name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// Street address, line 1.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub street_address1: Option<String>,
    /// Street address, line 2.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub street_address2: Option<String>,
    /// City.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub state_province: Option<String>,
    /// Postal code.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub zip_postal_code: Option<String>,
    /// Country.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub country: Option<String>,
}

/// A department (`GET /api/v1/departments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Department {
    /// The id.
    pub id: JamfId,
    /// The name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
}

/// A site (`GET /api/v1/sites`, a bare array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Site {
    /// The id.
    pub id: JamfId,
    /// The name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// The Jamf Platform division, if any.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub division_id: Option<String>,
}

/// An inventory user (a person devices are assigned to; not a Jamf Pro
/// admin account). Read from `GET /api/v1/users` on Jamf Pro 11.26+, or from
/// the Classic API on older servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The id.
    pub id: JamfId,
    /// Username.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub username: Option<String>,
    /// Full name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub realname: Option<String>,
    /// Email address.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub phone: Option<String>,
    /// Job title.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub position: Option<String>,
    /// Managed Apple ID.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub managed_apple_id: Option<String>,
}

/// The `/api/v1/users` envelope (different from `totalCount`/`results` alone).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserPage {
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub(crate) total_count: Option<i64>,
    #[serde(default, deserialize_with = "crate::de::opt_bool")]
    pub(crate) has_next: Option<bool>,
    #[serde(default = "Vec::new", deserialize_with = "crate::de::vec_or_null")]
    pub(crate) results: Vec<User>,
}
