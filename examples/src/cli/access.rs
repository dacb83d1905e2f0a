//! `mdm access`: Jamf Pro's access model as one JSON document, for
//! access-review tools: the admin accounts (users), account groups, sites
//! and privilege sets with the privileges they grant, and what each account
//! can effectively do. Reads only; writes nothing.
//!
//! # Requests
//!
//! `GET /JSSResource/accounts` (the listing), then one
//! `GET /JSSResource/accounts/userid/{id}` per account and one
//! `GET /JSSResource/accounts/groupid/{id}` per group (at most
//! [`CONCURRENT_REQUESTS`] at a time, at most [`MAX_PRINCIPALS`] of each),
//! and `GET /api/v1/sites`. The API client needs "Read Accounts"; without
//! "Read Sites" the sites are those the accounts and groups name, and the
//! document says so in `warnings`.
//!
//! # The document
//!
//! Stable: fields are only ever added, and `version` changes if one ever
//! changes meaning. Lists are sorted by id (numerically), privileges by
//! name; a value Jamf does not give is `null`, never left out.
//!
//! ```json
//! {
//!   "version": 1,
//!   "complete": true,
//!   "warnings": [],
//!   "users": [
//!     {"id": "4", "name": "sara.site", "full_name": "Sara Site", "email": "sara.site@example.com",
//!      "enabled": true, "directory_user": false,
//!      "access_level": "Site Access", "privilege_set": "Custom", "privilege_set_id": "custom-de7ebfbb",
//!      "site": {"id": "2", "name": "Berlin Office"},
//!      "groups": [],
//!      "grants": [
//!        {"via": "account", "group": null, "access_level": "Site Access", "privilege_set": "Custom",
//!         "privilege_set_id": "custom-de7ebfbb", "site": {"id": "2", "name": "Berlin Office"}}
//!      ]},
//!     {"id": "6", "name": "gus.group", "full_name": "Gus Group", "email": "gus.group@example.com",
//!      "enabled": true, "directory_user": false,
//!      "access_level": "Group Access", "privilege_set": null, "privilege_set_id": null, "site": null,
//!      "groups": [{"id": "1", "name": "IT Admins"}],
//!      "grants": [
//!        {"via": "group", "group": {"id": "1", "name": "IT Admins"}, "access_level": "Full Access",
//!         "privilege_set": "Administrator", "privilege_set_id": "administrator-6070ea5b", "site": null}
//!      ]}
//!   ],
//!   "groups": [
//!     {"id": "1", "name": "IT Admins", "access_level": "Full Access", "privilege_set": "Administrator",
//!      "privilege_set_id": "administrator-6070ea5b", "site": null,
//!      "members": [{"id": "6", "name": "gus.group"}]}
//!   ],
//!   "sites": [{"id": "1", "name": "Headquarters"}, {"id": "2", "name": "Berlin Office"}],
//!   "privilege_sets": [
//!     {"id": "administrator-6070ea5b", "name": "Administrator",
//!      "privileges": {"jss_objects": ["Create Computers", "Read Computers"], "jss_settings": [],
//!                     "jss_actions": ["View Disk Encryption Recovery Key"], "recon": [], "casper_admin": []},
//!      "users": [], "groups": ["1"]}
//!   ]
//! }
//! ```
//!
//! - `access_level` is Jamf's: `"Full Access"` (every site), `"Site Access"`
//!   (one site), `"Group Access"` (whatever the account's groups grant), or
//!   another value exactly as Jamf sent it.
//! - `privilege_set` is Jamf's name: `"Administrator"`, `"Auditor"`,
//!   `"Enrollment Only"`, `"Custom"`, or another value as sent.
//! - `site` is `null` for "no site" (Jamf's `{"id":-1,"name":"None"}`).
//! - `grants` is the account's effective access, one entry per way it gets
//!   privileges: `"via": "account"` for its own access level and privileges
//!   (every access level but Group Access), `"via": "group"` for each group
//!   of a Group Access account. A Group Access account in no group has none.
//! - `privilege_sets` has one entry per distinct set of privileges held
//!   (Jamf has no privilege-set objects: a named set is whatever an account
//!   or group holds under that name, and every Custom set is its own).
//!   Its `id` is the name in kebab case and a hash of the privileges, so the
//!   same privileges under the same name get the same id on every run and
//!   every server. `users` and `groups` are the ids that hold it directly.
//! - `privileges` has Jamf's five areas, always all five, each sorted and
//!   without repeats.
//! - `complete` is `false` when something listed could not be read (an
//!   account deleted between the listing and its read, more than
//!   [`MAX_PRINCIPALS`]); `warnings` says what.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use futures::StreamExt as _;
use jamf_client::models::{Account, AccountGroup, ClassicRef, Privileges};
use jamf_client::{Client, Error, JamfId};
use serde::Serialize;

use super::output::Table;

/// The version of the JSON document.
pub const ACCESS_JSON_VERSION: u32 = 1;

/// At most this many accounts, and this many groups, are read.
pub const MAX_PRINCIPALS: usize = 10_000;

/// Account and group reads in flight at once (Jamf advises at most 5
/// connections).
pub const CONCURRENT_REQUESTS: usize = 4;

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct AccessDocument {
    /// [`ACCESS_JSON_VERSION`].
    pub version: u32,
    /// Everything listed was read.
    pub complete: bool,
    /// What could not be read, or was read only in part.
    pub warnings: Vec<String>,
    /// Admin accounts.
    pub users: Vec<AccessUser>,
    /// Account groups.
    pub groups: Vec<AccessGroup>,
    /// Sites.
    pub sites: Vec<AccessRef>,
    /// Privilege sets with their privileges.
    pub privilege_sets: Vec<AccessPrivilegeSet>,
}

/// An id and a name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccessRef {
    /// The id.
    pub id: String,
    /// The name.
    pub name: Option<String>,
}

/// An admin account.
#[derive(Debug, Clone, Serialize)]
pub struct AccessUser {
    /// The id.
    pub id: String,
    /// The username.
    pub name: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Enabled (`null`: Jamf did not say).
    pub enabled: Option<bool>,
    /// A directory (LDAP) account.
    pub directory_user: Option<bool>,
    /// The account's access level, as Jamf names it.
    pub access_level: Option<String>,
    /// The account's privilege set, as Jamf names it.
    pub privilege_set: Option<String>,
    /// The entry of [`AccessDocument::privilege_sets`] with the account's
    /// own privileges (`null` for Group Access).
    pub privilege_set_id: Option<String>,
    /// The account's site (Site Access).
    pub site: Option<AccessRef>,
    /// The groups the account is in.
    pub groups: Vec<AccessRef>,
    /// The account's effective access.
    pub grants: Vec<AccessGrant>,
}

/// One way an account gets privileges.
#[derive(Debug, Clone, Serialize)]
pub struct AccessGrant {
    /// `"account"` or `"group"`.
    pub via: &'static str,
    /// The group, for `"via": "group"`.
    pub group: Option<AccessRef>,
    /// The access level that applies.
    pub access_level: Option<String>,
    /// The privilege set that applies.
    pub privilege_set: Option<String>,
    /// Its entry in [`AccessDocument::privilege_sets`].
    pub privilege_set_id: Option<String>,
    /// The site it is limited to (`null`: every site, or none given).
    pub site: Option<AccessRef>,
}

/// An account group.
#[derive(Debug, Clone, Serialize)]
pub struct AccessGroup {
    /// The id.
    pub id: String,
    /// The name.
    pub name: Option<String>,
    /// The access level it grants its members.
    pub access_level: Option<String>,
    /// Its privilege set, as Jamf names it.
    pub privilege_set: Option<String>,
    /// Its entry in [`AccessDocument::privilege_sets`].
    pub privilege_set_id: Option<String>,
    /// Its site (Site Access).
    pub site: Option<AccessRef>,
    /// The member accounts.
    pub members: Vec<AccessRef>,
}

/// A set of privileges held under one name.
#[derive(Debug, Clone, Serialize)]
pub struct AccessPrivilegeSet {
    /// Kebab-case name and a hash of the privileges (`custom-de7ebfbb`).
    pub id: String,
    /// Jamf's name for it (`null` when Jamf gave none).
    pub name: Option<String>,
    /// The privileges, by area.
    pub privileges: PrivilegeList,
    /// Accounts that hold it directly.
    pub users: Vec<String>,
    /// Groups that hold it.
    pub groups: Vec<String>,
}

/// Privileges by Jamf's five areas, each sorted, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PrivilegeList {
    /// Object privileges (`"Read Computers"`).
    pub jss_objects: Vec<String>,
    /// Settings privileges.
    pub jss_settings: Vec<String>,
    /// Action privileges.
    pub jss_actions: Vec<String>,
    /// Recon privileges.
    pub recon: Vec<String>,
    /// Casper Admin privileges.
    pub casper_admin: Vec<String>,
}

impl PrivilegeList {
    fn from_jamf(p: &Privileges) -> Self {
        let clean = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        PrivilegeList {
            jss_objects: clean(&p.jss_objects),
            jss_settings: clean(&p.jss_settings),
            jss_actions: clean(&p.jss_actions),
            recon: clean(&p.recon),
            casper_admin: clean(&p.casper_admin),
        }
    }

    fn areas(&self) -> [(&'static str, &[String]); 5] {
        [
            ("jss_objects", &self.jss_objects),
            ("jss_settings", &self.jss_settings),
            ("jss_actions", &self.jss_actions),
            ("recon", &self.recon),
            ("casper_admin", &self.casper_admin),
        ]
    }

    /// The number of privileges over all areas.
    pub fn len(&self) -> usize {
        self.areas().iter().map(|(_, l)| l.len()).sum()
    }

    /// Whether no area has a privilege.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// FNV-1a, 64 bits: a hash that is the same on every platform and run.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn kebab(name: Option<&str>) -> String {
    let mut out = String::new();
    for c in name.unwrap_or("unnamed").chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "unnamed".to_owned()
    } else {
        out.to_owned()
    }
}

fn privilege_set_id(name: Option<&str>, privileges: &PrivilegeList) -> String {
    let mut text = String::new();
    text.push_str(name.unwrap_or(""));
    for (area, list) in privileges.areas() {
        text.push('\n');
        text.push_str(area);
        for p in list {
            text.push('\0');
            text.push_str(p);
        }
    }
    let h = fnv1a(text.bytes());
    // Fold to 32 bits: 8 hex digits are plenty for the sets of one server.
    format!("{}-{:08x}", kebab(name), (h ^ (h >> 32)) as u32)
}

/// Sort key for ids: numbers in numeric order, then anything else.
fn id_key(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_owned())
}

fn site_ref(site: Option<&ClassicRef>) -> Option<AccessRef> {
    let site = site?;
    let id = site.id.as_ref()?;
    if id.is_none_sentinel() || id.as_str().is_empty() {
        return None;
    }
    Some(AccessRef {
        id: id.as_str().to_owned(),
        name: site.name.clone(),
    })
}

fn some_ref(id: Option<&JamfId>, name: Option<&String>) -> Option<AccessRef> {
    let id = id?.as_str().trim();
    (!id.is_empty()).then(|| AccessRef {
        id: id.to_owned(),
        name: name.cloned(),
    })
}

/// Privilege sets collected while the document is built.
#[derive(Default)]
struct SetBook {
    sets: BTreeMap<String, AccessPrivilegeSet>,
}

impl SetBook {
    /// Records that `holder` holds `privileges` under `name`; its id.
    fn hold(
        &mut self,
        name: Option<&str>,
        privileges: &Privileges,
        user: Option<&str>,
        group: Option<&str>,
    ) -> String {
        let list = PrivilegeList::from_jamf(privileges);
        let id = privilege_set_id(name, &list);
        let entry = self
            .sets
            .entry(id.clone())
            .or_insert_with(|| AccessPrivilegeSet {
                id: id.clone(),
                name: name.map(str::to_owned),
                privileges: list,
                users: Vec::new(),
                groups: Vec::new(),
            });
        if let Some(u) = user {
            entry.users.push(u.to_owned());
        }
        if let Some(g) = group {
            entry.groups.push(g.to_owned());
        }
        id
    }
}

/// Whether an error is "not allowed" or "not there" (a 403 or a 404).
fn refused_or_missing(e: &Error) -> Option<u16> {
    e.status()
        .map(|s| s.as_u16())
        .filter(|s| *s == 403 || *s == 404)
}

/// Unique ids of the listing, in order, at most [`MAX_PRINCIPALS`].
fn listed_ids<'a>(
    ids: impl Iterator<Item = Option<&'a JamfId>>,
    what: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut without_id = 0usize;
    let mut over = 0usize;
    for id in ids {
        let Some(id) = id.map(|i| i.as_str().trim()).filter(|i| !i.is_empty()) else {
            without_id += 1;
            continue;
        };
        if !seen.insert(id.to_owned()) {
            continue;
        }
        if out.len() >= MAX_PRINCIPALS {
            over += 1;
            continue;
        }
        out.push(id.to_owned());
    }
    if without_id > 0 {
        warnings.push(format!(
            "{without_id} {what} in the listing have no id and were skipped"
        ));
    }
    if over > 0 {
        warnings.push(format!(
            "only the first {MAX_PRINCIPALS} {what} were read; {over} more were listed"
        ));
    }
    out
}

/// Builds the access document: the account listing, one read per account
/// and per group, and the sites.
///
/// # Errors
///
/// The first error of the listing or of an account or group read (an
/// account or group that is gone by the time it is read, a 404, is a
/// warning instead), and any error of the sites read but a 403 or 404
/// (the sites are then those the accounts and groups name). A missing
/// "Read Accounts" privilege is a 403 whose [`Error::hint`] names it.
pub async fn access_document(client: &Client) -> Result<AccessDocument, Error> {
    let mut warnings = Vec::new();
    let listing = client.accounts().await?;
    let user_ids = listed_ids(
        listing.users.iter().map(|u| u.id.as_ref()),
        "accounts",
        &mut warnings,
    );
    let group_ids = listed_ids(
        listing.groups.iter().map(|g| g.id.as_ref()),
        "groups",
        &mut warnings,
    );
    let mut complete = warnings.is_empty();

    let accounts: Vec<(String, Result<Account, Error>)> =
        futures::stream::iter(user_ids.into_iter().map(|id| async move {
            let r = client.account(&id).await;
            (id, r)
        }))
        .buffered(CONCURRENT_REQUESTS)
        .collect()
        .await;
    let groups: Vec<(String, Result<AccountGroup, Error>)> =
        futures::stream::iter(group_ids.into_iter().map(|id| async move {
            let r = client.account_group(&id).await;
            (id, r)
        }))
        .buffered(CONCURRENT_REQUESTS)
        .collect()
        .await;

    let mut read_accounts = Vec::new();
    for (id, r) in accounts {
        match r {
            Ok(a) => read_accounts.push((id, a)),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => {
                complete = false;
                warnings.push(format!("account {id} was listed but not found: {e}"));
            }
            Err(e) => return Err(e),
        }
    }
    let mut read_groups = Vec::new();
    for (id, r) in groups {
        match r {
            Ok(g) => read_groups.push((id, g)),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => {
                complete = false;
                warnings.push(format!("group {id} was listed but not found: {e}"));
            }
            Err(e) => return Err(e),
        }
    }

    let sites = match client.sites().await {
        Ok(sites) => Some(sites),
        Err(e) if refused_or_missing(&e).is_some() => {
            let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
            warnings.push(format!(
                "the sites could not be listed, so they are those the accounts and groups name: {e}{hint}"
            ));
            None
        }
        Err(e) => return Err(e),
    };

    let mut book = SetBook::default();
    // Groups first: their refs are needed for the accounts' grants.
    let mut doc_groups: Vec<AccessGroup> = Vec::new();
    for (id, g) in &read_groups {
        let set_name = g.privilege_set.as_ref().map(|s| s.as_str().to_owned());
        let set_id = book.hold(set_name.as_deref(), &g.privileges, None, Some(id));
        let mut members: BTreeSet<(u64, String, AccessRef)> = BTreeSet::new();
        for m in &g.members {
            if let Some(r) = some_ref(m.id.as_ref(), m.name.as_ref()) {
                members.insert((id_key(&r.id).0, r.id.clone(), r));
            }
        }
        doc_groups.push(AccessGroup {
            id: id.clone(),
            name: g.name.clone().or_else(|| listed_group_name(&listing, id)),
            access_level: g.access_level.as_ref().map(|l| l.as_str().to_owned()),
            privilege_set: set_name,
            privilege_set_id: Some(set_id),
            site: site_ref(g.site.as_ref()),
            members: members.into_iter().map(|(_, _, r)| r).collect(),
        });
    }

    let mut users = Vec::new();
    for (id, a) in &read_accounts {
        let mut groups: BTreeSet<(u64, String)> = BTreeSet::new();
        for gid in a.groups.iter().filter_map(|g| g.id.as_ref()) {
            let gid = gid.as_str().trim();
            if !gid.is_empty() {
                groups.insert(id_key(gid));
            }
        }
        for g in &doc_groups {
            if g.members.iter().any(|m| m.id == *id) {
                groups.insert(id_key(&g.id));
            }
        }
        let name_of_group = |gid: &str| -> Option<String> {
            doc_groups
                .iter()
                .find(|g| g.id == gid)
                .and_then(|g| g.name.clone())
                .or_else(|| {
                    a.groups
                        .iter()
                        .find(|g| g.id.as_ref().is_some_and(|i| i.as_str() == gid))
                        .and_then(|g| g.name.clone())
                })
        };
        let group_refs: Vec<AccessRef> = groups
            .iter()
            .map(|(_, gid)| AccessRef {
                id: gid.clone(),
                name: name_of_group(gid),
            })
            .collect();
        let level = a.access_level.as_ref().map(|l| l.as_str().to_owned());
        let set_name = a.privilege_set.as_ref().map(|s| s.as_str().to_owned());
        let site = site_ref(a.site.as_ref());
        let group_access = matches!(
            a.access_level,
            Some(jamf_client::models::AccessLevel::GroupAccess)
        );
        let mut grants = Vec::new();
        let mut own_set = None;
        if group_access {
            for r in &group_refs {
                let g = doc_groups.iter().find(|g| g.id == r.id);
                grants.push(AccessGrant {
                    via: "group",
                    group: Some(r.clone()),
                    access_level: g.and_then(|g| g.access_level.clone()),
                    privilege_set: g.and_then(|g| g.privilege_set.clone()),
                    privilege_set_id: g.and_then(|g| g.privilege_set_id.clone()),
                    site: g.and_then(|g| g.site.clone()),
                });
            }
        } else {
            let set_id = book.hold(set_name.as_deref(), &a.privileges, Some(id), None);
            own_set = Some(set_id.clone());
            grants.push(AccessGrant {
                via: "account",
                group: None,
                access_level: level.clone(),
                privilege_set: set_name.clone(),
                privilege_set_id: Some(set_id),
                site: site.clone(),
            });
        }
        users.push(AccessUser {
            id: id.clone(),
            name: a.name.clone().or_else(|| listed_user_name(&listing, id)),
            full_name: a.full_name.clone(),
            email: a.email.clone().or_else(|| a.email_address.clone()),
            enabled: a.enabled,
            directory_user: a.directory_user,
            access_level: level,
            privilege_set: set_name,
            privilege_set_id: own_set,
            site,
            groups: group_refs,
            grants,
        });
    }

    // An account that lists a group its members do not: add it there too.
    for u in &users {
        for r in &u.groups {
            if let Some(g) = doc_groups.iter_mut().find(|g| g.id == r.id)
                && !g.members.iter().any(|m| m.id == u.id)
            {
                g.members.push(AccessRef {
                    id: u.id.clone(),
                    name: u.name.clone(),
                });
                g.members.sort_by_key(|m| id_key(&m.id));
            }
        }
    }

    // Sites: the listing (when readable) and every site named.
    let mut site_map: BTreeMap<(u64, String), AccessRef> = BTreeMap::new();
    for s in sites.iter().flatten() {
        let id = s.id.as_str().trim();
        if id.is_empty() || s.id.is_none_sentinel() {
            continue;
        }
        site_map.insert(
            id_key(id),
            AccessRef {
                id: id.to_owned(),
                name: s.name.clone(),
            },
        );
    }
    let named = users
        .iter()
        .filter_map(|u| u.site.clone())
        .chain(doc_groups.iter().filter_map(|g| g.site.clone()))
        .chain(
            listing
                .groups
                .iter()
                .filter_map(|g| site_ref(g.site.as_ref())),
        );
    for s in named {
        site_map.entry(id_key(&s.id)).or_insert(s);
    }

    users.sort_by_key(|u| id_key(&u.id));
    doc_groups.sort_by_key(|g| id_key(&g.id));
    let mut privilege_sets: Vec<AccessPrivilegeSet> = book.sets.into_values().collect();
    for s in &mut privilege_sets {
        s.users.sort_by_key(|u| id_key(u));
        s.groups.sort_by_key(|g| id_key(g));
    }
    privilege_sets.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));

    Ok(AccessDocument {
        version: ACCESS_JSON_VERSION,
        complete,
        warnings,
        users,
        groups: doc_groups,
        sites: site_map.into_values().collect(),
        privilege_sets,
    })
}

fn listed_user_name(listing: &jamf_client::models::Accounts, id: &str) -> Option<String> {
    listing
        .users
        .iter()
        .find(|u| u.id.as_ref().is_some_and(|i| i.as_str() == id))
        .and_then(|u| u.name.clone())
}

fn listed_group_name(listing: &jamf_client::models::Accounts, id: &str) -> Option<String> {
    listing
        .groups
        .iter()
        .find(|g| g.id.as_ref().is_some_and(|i| i.as_str() == id))
        .and_then(|g| g.name.clone())
}

fn show(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

fn show_ref(r: Option<&AccessRef>) -> String {
    r.map_or_else(
        || "-".to_owned(),
        |r| r.name.clone().unwrap_or_else(|| format!("#{}", r.id)),
    )
}

fn show_refs(refs: &[AccessRef]) -> String {
    if refs.is_empty() {
        return "-".to_owned();
    }
    refs.iter()
        .map(|r| show_ref(Some(r)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_grant(g: &AccessGrant) -> String {
    let mut s = format!(
        "{}, {}",
        show(g.access_level.as_deref()),
        show(g.privilege_set.as_deref())
    );
    if let Some(site) = &g.site {
        s.push_str(&format!(" at {}", show_ref(Some(site))));
    }
    if let Some(group) = &g.group {
        s.push_str(&format!(" via {}", show_ref(Some(group))));
    }
    s
}

/// Writes the document as plain-text tables: users with their effective
/// access, groups with their members, sites, privilege sets.
///
/// # Errors
///
/// Errors of `out`.
pub fn write_table(doc: &AccessDocument, out: &mut impl Write) -> io::Result<()> {
    let mut t = Table::new([
        "ID",
        "USER",
        "FULL NAME",
        "ENABLED",
        "ACCESS LEVEL",
        "PRIVILEGE SET",
        "SITE",
        "EFFECTIVE ACCESS",
    ]);
    for u in &doc.users {
        let enabled = match u.enabled {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let effective = if u.grants.is_empty() {
            "none".to_owned()
        } else {
            u.grants
                .iter()
                .map(show_grant)
                .collect::<Vec<_>>()
                .join("; ")
        };
        t.row([
            u.id.clone(),
            show(u.name.as_deref()),
            show(u.full_name.as_deref()),
            enabled.to_owned(),
            show(u.access_level.as_deref()),
            show(u.privilege_set.as_deref()),
            show_ref(u.site.as_ref()),
            effective,
        ]);
    }
    writeln!(out, "Users ({})\n{t}", doc.users.len())?;

    let mut t = Table::new([
        "ID",
        "GROUP",
        "ACCESS LEVEL",
        "PRIVILEGE SET",
        "SITE",
        "MEMBERS",
    ]);
    for g in &doc.groups {
        t.row([
            g.id.clone(),
            show(g.name.as_deref()),
            show(g.access_level.as_deref()),
            show(g.privilege_set.as_deref()),
            show_ref(g.site.as_ref()),
            show_refs(&g.members),
        ]);
    }
    writeln!(out, "Groups ({})\n{t}", doc.groups.len())?;

    let mut t = Table::new(["ID", "SITE"]);
    for s in &doc.sites {
        t.row([s.id.clone(), show(s.name.as_deref())]);
    }
    writeln!(out, "Sites ({})\n{t}", doc.sites.len())?;

    let mut t = Table::new(["ID", "PRIVILEGE SET", "PRIVILEGES", "USERS", "GROUPS"]);
    for s in &doc.privilege_sets {
        let ids = |ids: &[String]| {
            if ids.is_empty() {
                "-".to_owned()
            } else {
                ids.join(", ")
            }
        };
        t.row([
            s.id.clone(),
            show(s.name.as_deref()),
            s.privileges.len().to_string(),
            ids(&s.users),
            ids(&s.groups),
        ]);
    }
    writeln!(out, "Privilege sets ({})\n{t}", doc.privilege_sets.len())?;

    for w in &doc.warnings {
        writeln!(out, "warning: {w}")?;
    }
    if !doc.complete {
        writeln!(out, "incomplete: some accounts or groups could not be read")?;
    }
    Ok(())
}

/// `mdm access`: the document of the one Jamf source in `sources`.
pub(super) async fn run(
    format: super::DocFormat,
    sources: &[super::sources::Configured],
    out: &mut impl Write,
) -> Result<(), super::CliError> {
    use super::CliError;
    let jamf: Vec<&super::sources::Configured> = sources
        .iter()
        .filter(|s| matches!(s.client, super::sources::VendorClient::Jamf(_)))
        .collect();
    let [one] = jamf.as_slice() else {
        let names: Vec<&str> = jamf.iter().map(|s| s.name.as_str()).collect();
        return Err(CliError::input(if names.is_empty() {
            "mdm access reads a Jamf Pro source: configure one (JAMF_URL, or a jamf source in mdm.toml) or name it with --source".to_string()
        } else {
            format!(
                "several Jamf sources ({}): choose one with --source NAME",
                names.join(", ")
            )
        }));
    };
    let super::sources::VendorClient::Jamf(client) = &one.client else {
        return Err(CliError::input("mdm access reads a Jamf Pro source"));
    };
    let doc = access_document(client).await.map_err(|e| {
        let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
        CliError::failure(format!(
            "{}: cannot read the access model: {e}{hint}",
            one.name
        ))
    })?;
    let io = |e: io::Error| CliError::failure(format!("cannot write output: {e}"));
    match format {
        super::DocFormat::Json => super::output::write_json(out, &doc, "the document"),
        super::DocFormat::Table => write_table(&doc, out).map_err(io),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ids_are_stable_kebab_and_hash() {
        let p = PrivilegeList {
            jss_objects: vec!["Read Computers".into()],
            ..PrivilegeList::default()
        };
        let a = privilege_set_id(Some("Enrollment Only"), &p);
        assert!(a.starts_with("enrollment-only-"), "{a}");
        assert_eq!(a.len(), "enrollment-only-".len() + 8);
        assert_eq!(a, privilege_set_id(Some("Enrollment Only"), &p));
        assert_ne!(a, privilege_set_id(Some("Custom"), &p));
        assert_ne!(
            a,
            privilege_set_id(Some("Enrollment Only"), &PrivilegeList::default())
        );
        // Moving a privilege to another area is another set.
        let moved = PrivilegeList {
            jss_settings: vec!["Read Computers".into()],
            ..PrivilegeList::default()
        };
        assert_ne!(a, privilege_set_id(Some("Enrollment Only"), &moved));
        assert!(privilege_set_id(None, &p).starts_with("unnamed-"));
        assert_eq!(kebab(Some("  --  ")), "unnamed");
        assert_eq!(kebab(Some("Read-Only (EU)")), "read-only-eu");
    }

    #[test]
    fn privileges_are_sorted_without_repeats_or_blanks() {
        let p: Privileges = serde_json::from_value(serde_json::json!({
            "jss_objects": ["Read Sites", "Read Computers", "Read Sites", " "],
            "recon": "Add Computers Remotely"
        }))
        .unwrap();
        let l = PrivilegeList::from_jamf(&p);
        assert_eq!(l.jss_objects, ["Read Computers", "Read Sites"]);
        assert_eq!(l.recon, ["Add Computers Remotely"]);
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn ids_sort_numerically() {
        let mut ids = vec!["10", "2", "x", "1"];
        ids.sort_by_key(|i| id_key(i));
        assert_eq!(ids, ["1", "2", "10", "x"]);
    }
}
