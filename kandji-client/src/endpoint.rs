//! The Kandji API operations this client calls, with the token permission
//! each one needs.

use std::fmt;

/// One Kandji API operation. Errors name the operation they came from, and
/// auth errors name the token permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /api/v1/devices`
    ListDevices,
    /// `GET /api/v1/devices/{device_id}`
    GetDevice,
    /// `GET /api/v1/devices/{device_id}/details`
    DeviceDetails,
    /// `GET /api/v1/devices/{device_id}/apps`
    DeviceApps,
    /// `GET /api/v1/users`
    ListUsers,
    /// `GET /api/v1/users/{user_id}`
    GetUser,
    /// `GET /api/v1/blueprints`
    ListBlueprints,
    /// `GET /api/v1/blueprints/{blueprint_id}`
    GetBlueprint,
    /// `GET /api/v1/tags`
    ListTags,
}

impl Endpoint {
    /// The HTTP method.
    pub fn method(self) -> &'static str {
        "GET"
    }

    /// The path, with ids as `{placeholders}` (as Kandji's docs and the
    /// token-permission screen write them).
    pub fn path_template(self) -> &'static str {
        match self {
            Endpoint::ListDevices => "/api/v1/devices",
            Endpoint::GetDevice => "/api/v1/devices/{device_id}",
            Endpoint::DeviceDetails => "/api/v1/devices/{device_id}/details",
            Endpoint::DeviceApps => "/api/v1/devices/{device_id}/apps",
            Endpoint::ListUsers => "/api/v1/users",
            Endpoint::GetUser => "/api/v1/users/{user_id}",
            Endpoint::ListBlueprints => "/api/v1/blueprints",
            Endpoint::GetBlueprint => "/api/v1/blueprints/{blueprint_id}",
            Endpoint::ListTags => "/api/v1/tags",
        }
    }

    /// The name of the API-token permission this operation needs, as the
    /// Kandji console lists it (Access > API tokens > permissions).
    ///
    /// Permissions are granted one endpoint at a time. "Get User" and
    /// "Get Tags" are the names of the operations in Kandji's API reference;
    /// the console's labels for them were not confirmed.
    pub fn permission(self) -> &'static str {
        match self {
            Endpoint::ListDevices => "Device list",
            Endpoint::GetDevice => "Device ID",
            Endpoint::DeviceDetails => "Device details",
            Endpoint::DeviceApps => "Application list",
            Endpoint::ListUsers => "List users",
            Endpoint::GetUser => "Get User",
            Endpoint::ListBlueprints => "List Blueprints",
            Endpoint::GetBlueprint => "Get Blueprint",
            Endpoint::ListTags => "Get Tags",
        }
    }

    /// Whether repeating the request is harmless (every read is).
    pub fn is_idempotent(self) -> bool {
        true
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method(), self.path_template())
    }
}
