//! Typed resources of the Apple School Manager and Apple Business API.
//!
//! Decoding is tolerant by design: every attribute is optional, values come
//! in the shapes seen in the wild (a MAC address as a string or a list, an
//! IMEI as a string or a list, `purchaseSourceUid` or `purchaseSourceId`,
//! `builtInEthernetMacAddress` or `ethernetMacAddress`), enum values Apple
//! adds later are kept in an `Other(String)` arm, and unknown attributes are
//! ignored.
//!
//! ```
//! use abm_client::model::{OrgDevice, ProductFamily};
//!
//! let device: OrgDevice = serde_json::from_str(r#"{
//!     "type": "orgDevices", "id": "SYNTH0001",
//!     "attributes": {
//!         "productFamily": "SomeNewFamily",
//!         "wifiMacAddress": ["AA:BB:CC:DD:EE:11"],
//!         "purchaseSourceUid": "-2085650007946880",
//!         "someFutureAttribute": {"x": 1}
//!     }
//! }"#).unwrap();
//! assert_eq!(device.attributes.product_family, Some(ProductFamily::Other("SomeNewFamily".into())));
//! assert_eq!(device.attributes.purchase_source(), Some("-2085650007946880"));
//! assert_eq!(device.serial_number(), "SYNTH0001");
//! ```

pub(crate) mod de;

mod activity;
mod coverage;
mod device;
mod jsonapi;
mod server;

pub use activity::{
    ActivityStatus, ActivitySubStatus, ActivityType, OrgDeviceActivity,
    OrgDeviceActivityAttributes, OrgDeviceActivityRequest,
};
pub use coverage::{
    ActivationLockAttributes, ActivationLockStatus, AppleCareCoverage, AppleCareCoverageAttributes,
    CoverageStatus, LockType, PaymentType,
};
pub use device::{
    DeviceStatus, MdmMigrationStatus, OrgDevice, OrgDeviceAttributes, OrgDeviceField,
    OrgDeviceRelationships, ProductFamily, PurchaseSourceType,
};
pub use jsonapi::{Document, DocumentLinks, ListDocument, Meta, Paging, Relationship, ResourceId};
pub use server::{
    MdmServer, MdmServerAttributes, MdmServerField, MdmServerRelationships, ServerStatus,
    ServerType,
};
