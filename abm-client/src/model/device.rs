//! `orgDevices`: the devices of the organization.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::{self, open_enum};
use super::jsonapi::{DocumentLinks, Relationship, required_id, string_or_empty};

/// A device of the organization (`orgDevices` resource).
///
/// `id` is the device's serial number in every example Apple publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrgDevice {
    /// Always `orgDevices`.
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub type_: String,
    /// The resource id (the serial number).
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// The device's attributes; a sparse fieldset leaves most of them out.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: OrgDeviceAttributes,
    /// Links to the assigned server and the AppleCare coverage.
    #[serde(default, deserialize_with = "null_as_default")]
    pub relationships: OrgDeviceRelationships,
    /// The resource's own link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<DocumentLinks>,
}

impl OrgDevice {
    /// The serial number: the `serialNumber` attribute, else the resource id
    /// (Apple uses the serial as the id).
    pub fn serial_number(&self) -> &str {
        self.attributes
            .serial_number
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.id)
    }

    /// The assigned MDM server's id, when the relationship data is included.
    pub fn assigned_server_id(&self) -> Option<&str> {
        self.relationships
            .assigned_server
            .as_ref()
            .and_then(|r| r.data.as_ref())
            .map(|d| d.id.as_str())
    }
}

pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The relationships of an [`OrgDevice`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrgDeviceRelationships {
    /// The MDM server the device is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_server: Option<Relationship>,
    /// The device's AppleCare coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_care_coverage: Option<Relationship>,
}

/// The attributes of an [`OrgDevice`] (`OrgDevice.Attributes`).
///
/// Every attribute is optional: sparse fieldsets leave attributes out, Apple
/// sends `null` for unknown values, and new attributes appear without notice
/// (unknown ones are ignored). Values are as Apple sent them; the
/// [`DeviceSource`](mdm_mapping::DeviceSource) normalizes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrgDeviceAttributes {
    /// Serial number.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub serial_number: Option<String>,
    /// When the device was added to the organization.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime_noted::<0, _>",
        skip_serializing_if = "Option::is_none"
    )]
    pub added_to_org_date_time: Option<DateTime<Utc>>,
    /// When the device was released from the organization (Apple fills it
    /// only when a single device is read).
    #[serde(
        default,
        deserialize_with = "de::opt_datetime_noted::<1, _>",
        skip_serializing_if = "Option::is_none"
    )]
    pub released_from_org_date_time: Option<DateTime<Utc>>,
    /// When the record last changed.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime_noted::<2, _>",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_date_time: Option<DateTime<Utc>>,
    /// Marketing model name (`iMac 21.5"`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_model: Option<String>,
    /// Product family (`iPhone`, `iPad`, `Mac`, `AppleTV`, `Watch`, `Vision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_family: Option<ProductFamily>,
    /// Model identifier (`iPhone14,3`, `MacBookPro14,2`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub product_type: Option<String>,
    /// Storage capacity (`750GB`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_capacity: Option<String>,
    /// Apple part number (`FD311LL/A`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub part_number: Option<String>,
    /// Order number.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub order_number: Option<String>,
    /// Color (may be `""`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub color: Option<String>,
    /// Assignment status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeviceStatus>,
    /// When the device was ordered.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime_noted::<3, _>",
        skip_serializing_if = "Option::is_none"
    )]
    pub order_date_time: Option<DateTime<Utc>>,
    /// IMEIs (a list; a single string is accepted).
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub imei: Option<Vec<String>>,
    /// MEIDs (a list; a single string is accepted).
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub meid: Option<Vec<String>>,
    /// eSIM identifier.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub eid: Option<String>,
    /// Wi-Fi MAC address(es): documented as a string, seen as a list.
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub wifi_mac_address: Option<Vec<String>>,
    /// Bluetooth MAC address(es): documented as a string, seen as a list.
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub bluetooth_mac_address: Option<Vec<String>>,
    /// Built-in Ethernet MAC addresses (macOS), as `ethernetMacAddress`.
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub ethernet_mac_address: Option<Vec<String>>,
    /// Built-in Ethernet MAC addresses under the name some tenants and
    /// clients use, `builtInEthernetMacAddress`. Read both through
    /// [`ethernet_mac_addresses`](Self::ethernet_mac_addresses).
    #[serde(
        default,
        deserialize_with = "de::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub built_in_ethernet_mac_address: Option<Vec<String>>,
    /// Purchase source id as the schema names it (`purchaseSourceId`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub purchase_source_id: Option<String>,
    /// Purchase source id as Apple's examples name it (`purchaseSourceUid`).
    /// Read both through [`purchase_source`](Self::purchase_source).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub purchase_source_uid: Option<String>,
    /// How the device was bought (`APPLE`, `RESELLER`, `MANUALLY_ADDED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_source_type: Option<PurchaseSourceType>,
    /// Whether the device can migrate to another MDM server (ABM 2.3+).
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_mdm_migration_capable: Option<bool>,
    /// Migration status, once a migration was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdm_migration_status: Option<MdmMigrationStatus>,
    /// Migration deadline.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub mdm_migration_deadline_date_time: Option<DateTime<Utc>>,
    /// Who released the device (documented by some clients, rarely returned).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub releaser_id: Option<String>,
    /// What kind of entity released the device.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub releaser_entity_type: Option<String>,
}

impl OrgDeviceAttributes {
    /// The purchase source id under either name (`purchaseSourceId` first,
    /// then `purchaseSourceUid`), skipping blank values.
    pub fn purchase_source(&self) -> Option<&str> {
        [&self.purchase_source_id, &self.purchase_source_uid]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|s| !s.trim().is_empty())
    }

    /// The built-in Ethernet MAC addresses under either name, in order,
    /// without repeats.
    pub fn ethernet_mac_addresses(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for list in [
            &self.ethernet_mac_address,
            &self.built_in_ethernet_mac_address,
        ]
        .into_iter()
        .flatten()
        {
            for mac in list {
                if !out.contains(&mac.as_str()) {
                    out.push(mac);
                }
            }
        }
        out
    }
}

open_enum! {
    /// A device's product family.
    pub enum ProductFamily {
        /// iPhone.
        IPhone = "iPhone",
        /// iPad.
        IPad = "iPad",
        /// Mac.
        Mac = "Mac",
        /// Apple TV.
        AppleTv = "AppleTV",
        /// Apple Watch.
        Watch = "Watch",
        /// Apple Vision Pro.
        Vision = "Vision",
        /// iPod.
        IPod = "iPod",
    }
}

open_enum! {
    /// Whether a device is assigned to an MDM server.
    pub enum DeviceStatus {
        /// Assigned to an MDM server.
        Assigned = "ASSIGNED",
        /// Not assigned.
        Unassigned = "UNASSIGNED",
    }
}

open_enum! {
    /// How a device entered the organization.
    pub enum PurchaseSourceType {
        /// Bought from Apple.
        Apple = "APPLE",
        /// Bought from a reseller.
        Reseller = "RESELLER",
        /// Added by hand (Apple Configurator).
        ManuallyAdded = "MANUALLY_ADDED",
    }
}

open_enum! {
    /// The state of an MDM migration.
    pub enum MdmMigrationStatus {
        /// Requested.
        Requested = "REQUESTED",
        /// Started.
        Started = "STARTED",
        /// Finished successfully.
        Success = "SUCCESS",
        /// Failed.
        Failed = "FAILED",
    }
}

open_enum! {
    /// A name for `fields[orgDevices]`: which attributes (and relationships)
    /// a response includes.
    pub enum OrgDeviceField {
        /// `serialNumber`.
        SerialNumber = "serialNumber",
        /// `addedToOrgDateTime`.
        AddedToOrgDateTime = "addedToOrgDateTime",
        /// `releasedFromOrgDateTime`.
        ReleasedFromOrgDateTime = "releasedFromOrgDateTime",
        /// `updatedDateTime`.
        UpdatedDateTime = "updatedDateTime",
        /// `deviceModel`.
        DeviceModel = "deviceModel",
        /// `productFamily`.
        ProductFamily = "productFamily",
        /// `productType`.
        ProductType = "productType",
        /// `deviceCapacity`.
        DeviceCapacity = "deviceCapacity",
        /// `partNumber`.
        PartNumber = "partNumber",
        /// `orderNumber`.
        OrderNumber = "orderNumber",
        /// `color`.
        Color = "color",
        /// `status`.
        Status = "status",
        /// `orderDateTime`.
        OrderDateTime = "orderDateTime",
        /// `imei`.
        Imei = "imei",
        /// `meid`.
        Meid = "meid",
        /// `eid`.
        Eid = "eid",
        /// `purchaseSourceId`.
        PurchaseSourceId = "purchaseSourceId",
        /// `purchaseSourceType`.
        PurchaseSourceType = "purchaseSourceType",
        /// `wifiMacAddress`.
        WifiMacAddress = "wifiMacAddress",
        /// `bluetoothMacAddress`.
        BluetoothMacAddress = "bluetoothMacAddress",
        /// `ethernetMacAddress`.
        EthernetMacAddress = "ethernetMacAddress",
        /// `isMdmMigrationCapable`.
        IsMdmMigrationCapable = "isMdmMigrationCapable",
        /// `mdmMigrationStatus`.
        MdmMigrationStatus = "mdmMigrationStatus",
        /// `mdmMigrationDeadlineDateTime`.
        MdmMigrationDeadlineDateTime = "mdmMigrationDeadlineDateTime",
        /// The `assignedServer` relationship.
        AssignedServer = "assignedServer",
        /// The `appleCareCoverage` relationship.
        AppleCareCoverage = "appleCareCoverage",
    }
}
