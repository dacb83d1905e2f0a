//! The Jamf Pro server version and the API versions it implies.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Jamf Pro server version as `GET /api/v1/jamf-pro-version` reports it
/// (`"10.42.1-t1667311080"`, `"11.30.1-t1784555528405"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JamfProVersion {
    /// Major version (`11`).
    pub major: u32,
    /// Minor version (`30`).
    pub minor: u32,
    /// Patch version (`1`).
    pub patch: u32,
    /// The version string as the server sent it.
    pub raw: String,
}

impl JamfProVersion {
    /// Parses `major.minor.patch` followed by anything (`-t1667311080`,
    /// `-SNAPSHOT`). Missing minor or patch numbers are 0. `None` when the
    /// string does not start with a number.
    pub fn parse(raw: &str) -> Option<JamfProVersion> {
        let t = raw.trim();
        let numeric: &str = t
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .unwrap_or_default();
        let mut parts = numeric.split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(JamfProVersion {
            major,
            minor,
            patch,
            raw: t.to_string(),
        })
    }

    /// Whether this version is at least `major.minor.patch`.
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// Whether the server has the Jamf Pro API `GET /api/v1/users` (11.26 and later).
    pub fn has_pro_users_api(&self) -> bool {
        self.at_least(11, 26, 0)
    }
}

impl fmt::Display for JamfProVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Which `/api/vN/computers-inventory` the client uses.
///
/// The shapes are nearly the same; v4 replaces `general.lastContactTime`
/// with `general.lastContact` and `general.lastCheckIn` and drops
/// `general.lastReportedIp`. The client reads all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum InventoryVersion {
    /// `/api/v1/computers-inventory` (all Jamf Pro 10.x and early 11.x;
    /// deprecated 2025-06-30 but still served).
    V1,
    /// `/api/v3/computers-inventory` (Jamf Pro 11.23 to 11.29).
    V3,
    /// `/api/v4/computers-inventory` (Jamf Pro 11.30 and later).
    V4,
}

impl InventoryVersion {
    /// Every version, newest first: the order tried when one is missing.
    pub const NEWEST_FIRST: [InventoryVersion; 3] = [
        InventoryVersion::V4,
        InventoryVersion::V3,
        InventoryVersion::V1,
    ];

    /// The version a server of `version` serves as current.
    ///
    /// v4 arrived with 11.30.0. v3 replaced v2 when v2 was deprecated
    /// (2025-11-06, Jamf Pro 11.23); that release number is inferred from the
    /// deprecation date, so a server that answers 404 is asked the next older
    /// version instead.
    pub fn for_server(version: &JamfProVersion) -> InventoryVersion {
        if version.at_least(11, 30, 0) {
            InventoryVersion::V4
        } else if version.at_least(11, 23, 0) {
            InventoryVersion::V3
        } else {
            InventoryVersion::V1
        }
    }

    /// The path segment (`"v4"`).
    pub fn segment(self) -> &'static str {
        match self {
            InventoryVersion::V1 => "v1",
            InventoryVersion::V3 => "v3",
            InventoryVersion::V4 => "v4",
        }
    }

    /// The next older version to try when this one is missing (404).
    pub fn older(self) -> Option<InventoryVersion> {
        match self {
            InventoryVersion::V4 => Some(InventoryVersion::V3),
            InventoryVersion::V3 => Some(InventoryVersion::V1),
            InventoryVersion::V1 => None,
        }
    }
}

impl fmt::Display for InventoryVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.segment())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jamf_versions() {
        let v = JamfProVersion::parse("10.42.1-t1667311080").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (10, 42, 1));
        assert_eq!(v.to_string(), "10.42.1-t1667311080");
        let v = JamfProVersion::parse("11.30").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (11, 30, 0));
        assert!(JamfProVersion::parse("").is_none());
        assert!(JamfProVersion::parse("latest").is_none());
    }

    #[test]
    fn picks_inventory_version() {
        let pick = |s| InventoryVersion::for_server(&JamfProVersion::parse(s).unwrap());
        assert_eq!(pick("10.42.1-t1667311080"), InventoryVersion::V1);
        assert_eq!(pick("11.22.9"), InventoryVersion::V1);
        assert_eq!(pick("11.23.2-t1767621885710"), InventoryVersion::V3);
        assert_eq!(pick("11.29.1"), InventoryVersion::V3);
        assert_eq!(pick("11.30.1-t1784555528405"), InventoryVersion::V4);
        assert_eq!(pick("12.0.0"), InventoryVersion::V4);
        assert!(
            JamfProVersion::parse("11.26.1")
                .unwrap()
                .has_pro_users_api()
        );
        assert!(
            !JamfProVersion::parse("11.25.2")
                .unwrap()
                .has_pro_users_api()
        );
    }
}
