//! The catalog rows. Kept apart from the catalog's types so the data reads as a table.

use crate::catalog::{FieldSpec, Recommendation as R, ValueType as T};
use crate::record::{Entity, Vendor};

/// Every catalog row.
pub(crate) static CATALOG: &[FieldSpec] = &[FieldSpec {
    vendor: Vendor::Jamf,
    entity: Entity::Computer,
    name: "Serial Number",
    key: "serial_number",
    json_path: "hardware.serialNumber",
    value_type: T::Serial,
    description: "Manufacturer serial number",
    guidance: "Highly recommended for device matching",
    unique: true,
    recommendation: R::Recommended,
    default_target: Some("serial_number"),
}];
