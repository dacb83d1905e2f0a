//! `mdmServers`: the device management services devices are assigned to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::{self, open_enum};
use super::device::null_as_default;
use super::jsonapi::{DocumentLinks, Relationship, required_id, string_or_empty};

/// A device management service (`mdmServers` resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MdmServer {
    /// Always `mdmServers`.
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub type_: String,
    /// The server id.
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// The server's attributes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: MdmServerAttributes,
    /// The link to the server's devices.
    #[serde(default, deserialize_with = "null_as_default")]
    pub relationships: MdmServerRelationships,
    /// The resource's own link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<DocumentLinks>,
}

/// The relationships of an [`MdmServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MdmServerRelationships {
    /// The devices assigned to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Relationship>,
}

/// The attributes of an [`MdmServer`]; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MdmServerAttributes {
    /// The name shown in the portal.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_name: Option<String>,
    /// What kind of service it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_type: Option<ServerType>,
    /// When it was created.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_date_time: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_date_time: Option<DateTime<Utc>>,
    /// Whether devices may be released by the MDM (ABM 2.1+).
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_mdm_disown_flag: Option<bool>,
    /// Product families assigned to this server by default (ABM 2.1+).
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_product_families: Option<Vec<String>>,
    /// Server status (ABM 2.1+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ServerStatus>,
    /// How many devices are assigned (ABM 2.1+).
    #[serde(
        default,
        deserialize_with = "de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_count: Option<i64>,
    /// When the server last connected (ABM 2.1+).
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_connected_date_time: Option<DateTime<Utc>>,
    /// The address it last connected from (ABM 2.1+).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_connected_ip: Option<String>,
}

open_enum! {
    /// The kind of device management service.
    pub enum ServerType {
        /// A third-party MDM server.
        Mdm = "MDM",
        /// Apple Configurator.
        AppleConfigurator = "APPLE_CONFIGURATOR",
        /// Apple's own MDM (Apple Business Essentials).
        AppleMdm = "APPLE_MDM",
    }
}

open_enum! {
    /// The status of a device management service.
    pub enum ServerStatus {
        /// Active.
        Active = "ACTIVE",
        /// Inactive.
        Inactive = "INACTIVE",
        /// Deleted.
        Deleted = "DELETED",
    }
}

open_enum! {
    /// A name for `fields[mdmServers]`.
    pub enum MdmServerField {
        /// `serverName`.
        ServerName = "serverName",
        /// `serverType`.
        ServerType = "serverType",
        /// `createdDateTime`.
        CreatedDateTime = "createdDateTime",
        /// `updatedDateTime`.
        UpdatedDateTime = "updatedDateTime",
        /// `enableMdmDisownFlag`.
        EnableMdmDisownFlag = "enableMdmDisownFlag",
        /// `defaultProductFamilies`.
        DefaultProductFamilies = "defaultProductFamilies",
        /// `status`.
        Status = "status",
        /// `deviceCount`.
        DeviceCount = "deviceCount",
        /// `lastConnectedDateTime`.
        LastConnectedDateTime = "lastConnectedDateTime",
        /// `lastConnectedIp`.
        LastConnectedIp = "lastConnectedIp",
        /// The `devices` relationship.
        Devices = "devices",
    }
}
