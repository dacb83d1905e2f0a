//! Typed models of the Jamf Pro API and Classic API documents.
//!
//! Every field is optional (real responses are full of `null`s, and sections
//! that were not requested come back as `null`). Fields a model does not
//! name are skipped while decoding, without being buffered: a page of two
//! thousand computers decodes faster into these models than into
//! `serde_json::Value`. Models are `#[non_exhaustive]`: they are read from
//! Jamf, not built.

use std::fmt;

use mdm_mapping::CompactString;
use mdm_mapping::compact_str::ToCompactString as _;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod classic;
pub mod computer;
pub(crate) mod mapped;
pub(crate) mod mapped_mobile;
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
/// back as a string. Held inline (no allocation) up to 24 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JamfId(CompactString);

impl JamfId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        JamfId(id.into().into())
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
        JamfId(s.into())
    }
}

impl From<String> for JamfId {
    fn from(s: String) -> Self {
        JamfId(s.into())
    }
}

impl From<i64> for JamfId {
    fn from(i: i64) -> Self {
        JamfId(i.to_compact_string())
    }
}

impl Serialize for JamfId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for JamfId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JamfIdVisitor)
    }
}

/// Reads a [`JamfId`] straight from the input (no `serde_json::Value` on the
/// way): a string or an integer; anything else is an error that shows it.
struct JamfIdVisitor;

impl JamfIdVisitor {
    fn wrong<E: de::Error>(got: impl fmt::Display) -> E {
        E::custom(format_args!(
            "expected an id (a string or an integer), got {got}"
        ))
    }
}

impl<'de> Visitor<'de> for JamfIdVisitor {
    type Value = JamfId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id (a string or an integer)")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<JamfId, E> {
        Ok(JamfId(s.into()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<JamfId, E> {
        Ok(JamfId(s.into()))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<JamfId, E> {
        Ok(JamfId(i.to_compact_string()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<JamfId, E> {
        Ok(JamfId(u.to_compact_string()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<JamfId, E> {
        Err(match serde_json::Number::from_f64(f) {
            Some(n) => Self::wrong(n),
            None => Self::wrong(f),
        })
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<JamfId, E> {
        Err(Self::wrong(b))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JamfId, E> {
        Err(Self::wrong("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<JamfId, E> {
        Err(Self::wrong("null"))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<JamfId, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<JamfId, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Err(Self::wrong(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JamfId, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Err(Self::wrong(v))
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
    /// A hint only: a value that is not a usable number is no value.
    #[serde(default, deserialize_with = "crate::de::lenient_i64")]
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
        let e = serde_json::from_str::<JamfId>(r#"{"id": [1, true]}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(r#"expected an id (a string or an integer), got {"id":[1,true]}"#),
            "{e}"
        );
        let e = serde_json::from_str::<JamfId>("4.5").unwrap_err();
        assert!(e.to_string().contains("got 4.5"), "{e}");
        let big: JamfId = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(big.as_str(), "18446744073709551615");
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
