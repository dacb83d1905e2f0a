//! Typed models of the Jamf Pro API and Classic API documents.
//!
//! Every field is optional (real responses are full of `null`s, and sections
//! that were not requested come back as `null`), and every object keeps the
//! fields it does not name in `extra`, so new Jamf fields survive a round
//! trip. Models are `#[non_exhaustive]`: they are read from Jamf, not built.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod classic;
pub mod computer;
pub mod mobile;
pub mod org;

pub use classic::{
    AccessLevel, Account, AccountGroup, AccountGroupRef, Accounts, ClassicComputer, ClassicRef,
    ClassicUser, PrivilegeSet, Privileges,
};
pub use computer::{
    ComputerDiskEncryption, ComputerGeneral, ComputerHardware, ComputerInventory,
    ComputerOperatingSystem, ComputerPurchasing, ComputerSecurity, ComputerUserAndLocation,
    FileVaultInfo, MdmCapable, RemoteManagement,
};
pub use mobile::{
    MobileDevice, MobileDeviceDetail, MobileDeviceGeneral, MobileDeviceHardware,
    MobileDeviceLocation, MobileDeviceNetwork, MobileDevicePurchasing, MobileDeviceSecurity,
    MobileDeviceSummary, MobileDeviceType, MobileDeviceUserAndLocation,
};
pub use org::{Building, Department, Site, User};

/// A Jamf object id. The Jamf Pro API sends ids as strings (`"42"`), the
/// Classic API as numbers (`42`); both read into this, and it is written
/// back as a string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JamfId(String);

impl JamfId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        JamfId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is Jamf's "none" id (`-1`, as in `{"id":"-1","name":"None"}`) or empty.
    pub fn is_none_sentinel(&self) -> bool {
        let t = self.0.trim();
        t.is_empty() || t == "-1"
    }
}

impl fmt::Display for JamfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JamfId {
    fn from(s: &str) -> Self {
        JamfId(s.to_string())
    }
}

impl From<String> for JamfId {
    fn from(s: String) -> Self {
        JamfId(s)
    }
}

impl From<i64> for JamfId {
    fn from(i: i64) -> Self {
        JamfId(i.to_string())
    }
}

impl Serialize for JamfId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for JamfId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(JamfId(s)),
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(JamfId(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected an id (a string or an integer), got {other}"
            ))),
        }
    }
}

/// A reference to a named object in the Jamf Pro API (`{"id":"1","name":"Eau Claire"}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdName {
    /// The id (`"-1"` for "none").
    #[serde(default)]
    pub id: Option<JamfId>,
    /// The name (`"None"` for "none").
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
}

impl IdName {
    /// The name, unless this is Jamf's "none" reference (`{"id":"-1","name":"None"}`).
    pub fn real_name(&self) -> Option<&str> {
        if self.id.as_ref().is_some_and(JamfId::is_none_sentinel) {
            return None;
        }
        self.name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    }
}

/// One page of a paginated Jamf Pro API listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The 0-based page number.
    pub page: u32,
    /// The page size that was requested.
    pub page_size: u32,
    /// The total number of items the server reports for the whole listing
    /// (`None` when it did not say).
    pub total_count: Option<u64>,
    /// The items on this page.
    pub items: Vec<T>,
}

/// The `{"totalCount": N, "results": [...]}` envelope.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct SearchResults<T> {
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub(crate) total_count: Option<i64>,
    #[serde(default = "Vec::new", deserialize_with = "crate::de::vec_or_null")]
    pub(crate) results: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_from_strings_and_numbers() {
        let a: JamfId = serde_json::from_str("\"42\"").unwrap();
        let b: JamfId = serde_json::from_str("42").unwrap();
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"42\"");
        assert!(serde_json::from_str::<JamfId>("4.5").is_err());
        assert!(serde_json::from_str::<JamfId>("null").is_err());
        assert!(JamfId::from(-1).is_none_sentinel());
    }

    #[test]
    fn none_site_has_no_name() {
        let s: IdName = serde_json::from_str(r#"{"id":"-1","name":"None"}"#).unwrap();
        assert_eq!(s.real_name(), None);
        let s: IdName = serde_json::from_str(r#"{"id":1,"name":"Eau Claire"}"#).unwrap();
        assert_eq!(s.real_name(), Some("Eau Claire"));
    }
}
