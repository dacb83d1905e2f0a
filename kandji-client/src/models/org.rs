//! Users, blueprints, tags and the list envelopes they come in.

use serde::{Deserialize, Serialize};

use super::{Extra, flex};

/// A directory user (`GET /api/v1/users`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's id (UUID).
    #[serde(deserialize_with = "flex::id")]
    pub id: String,
    /// Email address.
    #[serde(default, deserialize_with = "flex::text")]
    pub email: Option<String>,
    /// Display name.
    #[serde(default, deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Whether the user is active.
    #[serde(default, deserialize_with = "flex::boolean")]
    pub active: Option<bool>,
    /// Whether the user is archived.
    #[serde(default, deserialize_with = "flex::boolean")]
    pub archived: Option<bool>,
    /// The legacy integer id, as a string ("29360"); devices of older
    /// tenants still point at it.
    #[serde(default, deserialize_with = "flex::text")]
    pub deprecated_user_id: Option<String>,
    /// Job title.
    #[serde(default, deserialize_with = "flex::text")]
    pub job_title: Option<String>,
    /// Department, as sent.
    #[serde(default)]
    pub department: Option<serde_json::Value>,
    /// Number of devices assigned.
    #[serde(default, deserialize_with = "flex::int")]
    pub device_count: Option<i64>,
    /// The directory integration the user comes from.
    #[serde(default)]
    pub integration: Option<Integration>,
    /// Created, as sent.
    #[serde(default, deserialize_with = "flex::text")]
    pub created_at: Option<String>,
    /// Updated, as sent.
    #[serde(default, deserialize_with = "flex::text")]
    pub updated_at: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user directory integration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Integration {
    /// Integration id (an integer, as a string).
    #[serde(deserialize_with = "flex::text")]
    pub id: Option<String>,
    /// Name.
    #[serde(deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// UUID.
    #[serde(deserialize_with = "flex::text")]
    pub uuid: Option<String>,
    /// Type ("office365", …).
    #[serde(rename = "type", deserialize_with = "flex::text")]
    pub kind: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One page of `GET /api/v1/users`: cursor paging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UsersPage {
    /// The next page's URL, as sent. It may name another host (the web
    /// console): the client takes only its `cursor` from it.
    #[serde(deserialize_with = "flex::text")]
    pub next: Option<String>,
    /// The previous page's URL, as sent.
    #[serde(deserialize_with = "flex::text")]
    pub previous: Option<String>,
    /// The users.
    #[serde(deserialize_with = "flex::list")]
    pub results: Vec<User>,
}

/// A Django REST framework page: `{count, next, previous, results}`
/// (blueprints, tags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>", serialize = "T: Serialize"))]
#[non_exhaustive]
pub struct Paginated<T> {
    /// Total count, when sent.
    #[serde(default)]
    pub count: Option<u64>,
    /// The next page's URL, as sent.
    #[serde(default, deserialize_with = "flex::text")]
    pub next: Option<String>,
    /// The previous page's URL, as sent.
    #[serde(default, deserialize_with = "flex::text")]
    pub previous: Option<String>,
    /// The records.
    #[serde(default = "Vec::new", deserialize_with = "flex::list")]
    pub results: Vec<T>,
}

/// A blueprint (`GET /api/v1/blueprints`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Blueprint {
    /// Blueprint id (UUID).
    #[serde(deserialize_with = "flex::id")]
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, deserialize_with = "flex::text")]
    pub description: Option<String>,
    /// Icon name.
    #[serde(default, deserialize_with = "flex::text")]
    pub icon: Option<String>,
    /// Color name.
    #[serde(default, deserialize_with = "flex::text")]
    pub color: Option<String>,
    /// Parameters, as sent.
    #[serde(default)]
    pub params: Option<serde_json::Value>,
    /// Number of devices on it.
    #[serde(default, deserialize_with = "flex::int")]
    pub computers_count: Option<i64>,
    /// Enrollment code.
    #[serde(default)]
    pub enrollment_code: Option<EnrollmentCode>,
    /// Blueprint type ("classic" or "map").
    #[serde(default, rename = "type", deserialize_with = "flex::text")]
    pub kind: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A blueprint's enrollment code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EnrollmentCode {
    /// The code.
    #[serde(deserialize_with = "flex::text")]
    pub code: Option<String>,
    /// Whether it is active.
    #[serde(deserialize_with = "flex::boolean")]
    pub is_active: Option<bool>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tag (`GET /api/v1/tags`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// Tag id (UUID).
    #[serde(deserialize_with = "flex::id")]
    pub id: String,
    /// Tag name (what devices list in `tags`).
    #[serde(default, deserialize_with = "flex::text")]
    pub name: Option<String>,
    /// Keys not modeled here.
    #[serde(flatten)]
    pub extra: Extra,
}
