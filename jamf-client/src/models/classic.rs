//! Classic API (`/JSSResource/...`) documents: users, admin accounts and
//! groups with their access level and privilege set, and the basic
//! computer subset.
//!
//! The Classic API turns XML into JSON: numbers and booleans may be
//! strings, `""` means "not set", a list with one element may be a single
//! object, and an empty list may be `{"size":0}`. These models accept all of
//! it (see the crate's `de` module).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{JamfId, User};

/// A `{"id": 1, "name": "…"}` reference in the Classic API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClassicRef {
    /// The id (`-1` for "none").
    #[serde(default)]
    pub id: Option<JamfId>,
    /// The name.
    #[serde(default, deserialize_with = "crate::de::opt_nonempty")]
    pub name: Option<String>,
}

impl ClassicRef {
    /// The name, unless this is the "none" reference (`{"id":-1,"name":"None"}`).
    pub fn real_name(&self) -> Option<&str> {
        if self.id.as_ref().is_some_and(JamfId::is_none_sentinel) {
            return None;
        }
        self.name.as_deref()
    }
}

/// An inventory user from `GET /JSSResource/users/id/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClassicUser {
    /// The id.
    pub id: Option<JamfId>,
    /// The username.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub name: Option<String>,
    /// Full name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub full_name: Option<String>,
    /// Email (`email`).
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub email: Option<String>,
    /// Email (`email_address`; same value on current servers).
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub email_address: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub phone_number: Option<String>,
    /// Job title.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub position: Option<String>,
    /// Managed Apple ID.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub managed_apple_id: Option<String>,
    /// Whether a custom photo URL is used.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub enable_custom_photo_url: Option<bool>,
    /// The LDAP server (`{"id":-1,"name":"None"}` when none).
    pub ldap_server: Option<ClassicRef>,
    /// Sites the user belongs to.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub sites: Vec<ClassicRef>,
    /// User groups.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub user_groups: Vec<ClassicRef>,
}

impl ClassicUser {
    /// This user in the Jamf Pro API's [`User`] shape.
    pub fn to_user(&self) -> User {
        User {
            id: self.id.clone().unwrap_or_default(),
            username: self.name.clone(),
            realname: self.full_name.clone(),
            email: self.email.clone().or_else(|| self.email_address.clone()),
            phone: self.phone_number.clone(),
            position: self.position.clone(),
            managed_apple_id: self.managed_apple_id.clone(),
        }
    }
}

/// A Jamf Pro admin account's or group's access level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessLevel {
    /// `Full Access`: every site.
    FullAccess,
    /// `Site Access`: one site.
    SiteAccess,
    /// `Group Access`: the privileges of the groups the account is in.
    GroupAccess,
    /// A value this crate does not know, as sent.
    Other(String),
}

impl AccessLevel {
    /// Reads the Classic (`"Full Access"`) or Jamf Pro API (`"FullAccess"`,
    /// `"GroupBasedAccess"`) spelling.
    pub fn parse(raw: &str) -> AccessLevel {
        let squashed: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "fullaccess" => AccessLevel::FullAccess,
            "siteaccess" => AccessLevel::SiteAccess,
            "groupaccess" | "groupbasedaccess" => AccessLevel::GroupAccess,
            _ => AccessLevel::Other(raw.to_string()),
        }
    }

    /// The Classic API spelling (`"Full Access"`).
    pub fn as_str(&self) -> &str {
        match self {
            AccessLevel::FullAccess => "Full Access",
            AccessLevel::SiteAccess => "Site Access",
            AccessLevel::GroupAccess => "Group Access",
            AccessLevel::Other(s) => s,
        }
    }
}

/// An admin account's or group's privilege set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrivilegeSet {
    /// `Administrator`.
    Administrator,
    /// `Auditor` (read only).
    Auditor,
    /// `Enrollment Only`.
    EnrollmentOnly,
    /// `Custom`: the privileges listed with the account.
    Custom,
    /// A value this crate does not know, as sent.
    Other(String),
}

impl PrivilegeSet {
    /// Reads the Classic (`"Enrollment Only"`) or Jamf Pro API (`"ENROLLMENT"`) spelling.
    pub fn parse(raw: &str) -> PrivilegeSet {
        let squashed: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "administrator" => PrivilegeSet::Administrator,
            "auditor" => PrivilegeSet::Auditor,
            "enrollmentonly" | "enrollment" => PrivilegeSet::EnrollmentOnly,
            "custom" => PrivilegeSet::Custom,
            _ => PrivilegeSet::Other(raw.to_string()),
        }
    }

    /// The Classic API spelling (`"Administrator"`).
    pub fn as_str(&self) -> &str {
        match self {
            PrivilegeSet::Administrator => "Administrator",
            PrivilegeSet::Auditor => "Auditor",
            PrivilegeSet::EnrollmentOnly => "Enrollment Only",
            PrivilegeSet::Custom => "Custom",
            PrivilegeSet::Other(s) => s,
        }
    }
}

macro_rules! string_enum_serde {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(|s| <$t>::parse(&s))
            }
        }
    };
}
string_enum_serde!(AccessLevel);
string_enum_serde!(PrivilegeSet);

fn opt_access_level<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AccessLevel>, D::Error> {
    Ok(crate::de::opt_nonempty(d)?.map(|s| AccessLevel::parse(&s)))
}

fn opt_privilege_set<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PrivilegeSet>, D::Error> {
    Ok(crate::de::opt_nonempty(d)?.map(|s| PrivilegeSet::parse(&s)))
}

/// The privileges of an account or group, by area (each a list of names
/// such as `"Read Computers"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Privileges {
    /// Object privileges (`"Read Computers"`).
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub jss_objects: Vec<String>,
    /// Settings privileges.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub jss_settings: Vec<String>,
    /// Action privileges.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub jss_actions: Vec<String>,
    /// Recon privileges.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub recon: Vec<String>,
    /// Casper Admin privileges.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub casper_admin: Vec<String>,
}

impl Privileges {
    /// The areas in Jamf's order, each with its Classic key
    /// (`"jss_objects"`) and its privileges as listed.
    pub fn areas(&self) -> [(&'static str, &[String]); 5] {
        [
            ("jss_objects", &self.jss_objects),
            ("jss_settings", &self.jss_settings),
            ("jss_actions", &self.jss_actions),
            ("recon", &self.recon),
            ("casper_admin", &self.casper_admin),
        ]
    }

    /// Whether no area lists any privilege.
    pub fn is_empty(&self) -> bool {
        self.areas().iter().all(|(_, list)| list.is_empty())
    }

    /// The number of privileges listed, over all areas (a name listed
    /// twice counts twice, as Jamf sometimes lists it).
    pub fn len(&self) -> usize {
        self.areas().iter().map(|(_, list)| list.len()).sum()
    }

    /// Whether any area lists `privilege` (case-insensitive).
    pub fn contains(&self, privilege: &str) -> bool {
        [
            &self.jss_objects,
            &self.jss_settings,
            &self.jss_actions,
            &self.recon,
            &self.casper_admin,
        ]
        .iter()
        .any(|area| area.iter().any(|p| p.eq_ignore_ascii_case(privilege)))
    }
}

/// `GET /JSSResource/accounts`: admin users and groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Accounts {
    /// Admin user accounts.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub users: Vec<ClassicRef>,
    /// Admin groups.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub groups: Vec<AccountGroupRef>,
}

/// A group in the accounts list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AccountGroupRef {
    /// The id.
    pub id: Option<JamfId>,
    /// The name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub name: Option<String>,
    /// The group's site.
    pub site: Option<ClassicRef>,
}

/// A Jamf Pro admin account (`GET /JSSResource/accounts/userid/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Account {
    /// The id.
    pub id: Option<JamfId>,
    /// The username.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub name: Option<String>,
    /// Whether the account comes from a directory (LDAP).
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub directory_user: Option<bool>,
    /// Full name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub full_name: Option<String>,
    /// Email (`email`).
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub email: Option<String>,
    /// Email (`email_address`).
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub email_address: Option<String>,
    /// Enabled (`"Enabled"` / `"Disabled"` on the wire).
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub enabled: Option<bool>,
    /// Must change the password at next login.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub force_password_change: Option<bool>,
    /// Access level.
    #[serde(deserialize_with = "opt_access_level")]
    pub access_level: Option<AccessLevel>,
    /// Privilege set.
    #[serde(deserialize_with = "opt_privilege_set")]
    pub privilege_set: Option<PrivilegeSet>,
    /// The site (for Site Access; `{"id":-1,"name":"None"}` or absent
    /// otherwise, see [`ClassicRef::real_name`]).
    pub site: Option<ClassicRef>,
    /// The directory (LDAP) server of a directory account.
    pub ldap_server: Option<ClassicRef>,
    /// The privileges the account itself holds (for Group Access, the
    /// groups' privileges apply instead).
    pub privileges: Privileges,
    /// Groups the account is in (for Group Access), with their sites.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub groups: Vec<AccountGroupRef>,
}

/// A Jamf Pro admin group (`GET /JSSResource/accounts/groupid/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AccountGroup {
    /// The id.
    pub id: Option<JamfId>,
    /// The name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub name: Option<String>,
    /// Access level.
    #[serde(deserialize_with = "opt_access_level")]
    pub access_level: Option<AccessLevel>,
    /// Privilege set.
    #[serde(deserialize_with = "opt_privilege_set")]
    pub privilege_set: Option<PrivilegeSet>,
    /// The site (`{"id":-1,"name":"None"}` when none).
    pub site: Option<ClassicRef>,
    /// The directory (LDAP) server of a directory group.
    pub ldap_server: Option<ClassicRef>,
    /// The privileges the group grants its members.
    pub privileges: Privileges,
    /// The member accounts.
    #[serde(deserialize_with = "crate::de::one_or_many")]
    pub members: Vec<ClassicRef>,
}

/// A computer of `GET /JSSResource/computers/subset/basic`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClassicComputer {
    /// The id (an integer in the Classic API).
    pub id: Option<JamfId>,
    /// Computer name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub name: Option<String>,
    /// Managed.
    #[serde(deserialize_with = "crate::de::opt_bool")]
    pub managed: Option<bool>,
    /// Username of the assigned user.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub username: Option<String>,
    /// Model identifier (`"MacBookPro13,3"`; the Classic list calls it `model`).
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub model: Option<String>,
    /// Department name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub department: Option<String>,
    /// Building name.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub building: Option<String>,
    /// Primary MAC address.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub mac_address: Option<String>,
    /// UDID.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub udid: Option<String>,
    /// Serial number.
    #[serde(deserialize_with = "crate::de::opt_nonempty")]
    pub serial_number: Option<String>,
    /// Last inventory report (`report_date_utc`, `…+0000`).
    #[serde(deserialize_with = "crate::de::opt_datetime")]
    pub report_date_utc: Option<DateTime<Utc>>,
    /// Last inventory report (`report_date_epoch`, milliseconds; `0` is none).
    #[serde(deserialize_with = "crate::de::opt_datetime")]
    pub report_date_epoch: Option<DateTime<Utc>>,
}

impl ClassicComputer {
    /// The last inventory report, from whichever encoding is present.
    pub fn report_date(&self) -> Option<DateTime<Utc>> {
        self.report_date_epoch.or(self.report_date_utc)
    }
}

/// `{"users":[...]}`.
#[derive(Deserialize)]
pub(crate) struct UsersEnvelope {
    #[serde(default, deserialize_with = "crate::de::one_or_many")]
    pub(crate) users: Vec<ClassicRef>,
}

/// `{"user":{...}}`.
#[derive(Deserialize)]
pub(crate) struct UserEnvelope {
    pub(crate) user: ClassicUser,
}

/// `{"accounts":{...}}`.
#[derive(Deserialize)]
pub(crate) struct AccountsEnvelope {
    #[serde(default)]
    pub(crate) accounts: Accounts,
}

/// `{"account":{...}}`.
#[derive(Deserialize)]
pub(crate) struct AccountEnvelope {
    pub(crate) account: Account,
}

/// `{"group":{...}}`.
#[derive(Deserialize)]
pub(crate) struct GroupEnvelope {
    pub(crate) group: AccountGroup,
}

/// `{"computers":[...]}`.
#[derive(Deserialize)]
pub(crate) struct ComputersEnvelope {
    #[serde(default, deserialize_with = "crate::de::one_or_many")]
    pub(crate) computers: Vec<ClassicComputer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_levels_and_privilege_sets() {
        assert_eq!(AccessLevel::parse("Full Access"), AccessLevel::FullAccess);
        assert_eq!(AccessLevel::parse("SiteAccess"), AccessLevel::SiteAccess);
        assert_eq!(AccessLevel::parse("Group Access"), AccessLevel::GroupAccess);
        assert_eq!(
            AccessLevel::parse("GroupBasedAccess"),
            AccessLevel::GroupAccess
        );
        assert_eq!(
            AccessLevel::parse("Planet Access"),
            AccessLevel::Other("Planet Access".into())
        );
        assert_eq!(
            PrivilegeSet::parse("ADMINISTRATOR"),
            PrivilegeSet::Administrator
        );
        assert_eq!(
            PrivilegeSet::parse("Enrollment Only"),
            PrivilegeSet::EnrollmentOnly
        );
        assert_eq!(
            serde_json::to_string(&AccessLevel::SiteAccess).unwrap(),
            "\"Site Access\""
        );
    }
}
