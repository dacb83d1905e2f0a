//! Jamf Pro's access model, simulated: admin accounts with every access
//! level, account groups with members, privilege sets and sites, served in
//! the Classic API's shapes (`/JSSResource/accounts`,
//! `/JSSResource/accounts/userid/{id}`, `/JSSResource/accounts/groupid/{id}`)
//! and the Jamf Pro API's bare sites array (`/api/v1/sites`).
//!
//! Everything here is fixed (no random ids, no fleet-dependent values), so a
//! document built from it is stable. The model:
//!
//! | account | access level | privilege set | site | groups | enabled |
//! |---|---|---|---|---|---|
//! | 1 the simulator's login (`api-reader`) | Full Access | Custom (every privilege the simulator knows, less the denied ones) | | | yes |
//! | 2 `ana.admin` | Full Access | Administrator | | | yes |
//! | 3 `olaf.auditor` | Full Access | Auditor | | | **no** |
//! | 4 `sara.site` | Site Access | Custom | Berlin Office | | yes |
//! | 5 `eli.enroll` | Site Access | Enrollment Only | London Office | | yes |
//! | 6 `gus.group` | Group Access | | | IT Admins | yes |
//! | 7 `gia.group` | Group Access | | | Berlin Helpdesk, London Enrollment | yes |
//!
//! | group | access level | privilege set | site | members |
//! |---|---|---|---|---|
//! | 1 IT Admins | Full Access | Administrator | | 6 |
//! | 2 Berlin Helpdesk | Site Access | Custom | Berlin Office | 7 |
//! | 3 London Enrollment | Site Access | Enrollment Only | London Office | 7 |
//! | 4 Auditors | Full Access | Auditor | | none |
//!
//! Sites: 1 Headquarters, 2 Berlin Office, 3 London Office.
//!
//! Shapes follow the real captures (Jamf Cloud 10.42.1): `enabled` is
//! `"Enabled"`/`"Disabled"`, "no site" is `{"id":-1,"name":"None"}`,
//! privileges are five lists of names, a group's `members` is a list of
//! `{"id","name"}`. An account in one group lists it the way the Classic
//! XML-to-JSON conversion writes a single element (`{"group":{...}}`); an
//! account in several lists them as an array.

use serde_json::{Value, json};

/// A site: id and name.
pub(crate) const SITES: &[(u32, &str)] = &[
    (1, "Headquarters"),
    (2, "Berlin Office"),
    (3, "London Office"),
];

/// A Custom privilege set's privileges, by area.
struct Set {
    jss_objects: &'static [&'static str],
    jss_settings: &'static [&'static str],
    jss_actions: &'static [&'static str],
    recon: &'static [&'static str],
    casper_admin: &'static [&'static str],
}

/// Objects with Create/Read/Update/Delete privileges in the simulated Jamf.
const OBJECTS: &[&str] = &[
    "Accounts",
    "Buildings",
    "Computers",
    "Departments",
    "Mobile Devices",
    "Policies",
    "Sites",
    "Smart Computer Groups",
    "Static User Groups",
    "User",
];

const ADMIN_SETTINGS: &[&str] = &[
    "Read Activation Code",
    "Update Activation Code",
    "Read SSO Settings",
    "Update SSO Settings",
];
const ADMIN_ACTIONS: &[&str] = &[
    "Enroll Computers and Mobile Devices",
    "Send Computer Remote Lock Command",
    "Send Computer Remote Wipe Command",
    "View Disk Encryption Recovery Key",
    "View Recovery Lock",
];
const RECON: &[&str] = &["Add Computers Remotely", "Create QuickAdd Packages"];
const CASPER_ADMIN: &[&str] = &["Use Casper Admin", "Save With Casper Admin"];

const AUDITOR_SETTINGS: &[&str] = &["Read Activation Code", "Read SSO Settings"];

const ENROLLMENT_OBJECTS: &[&str] = &[
    "Create Computer Enrollment Invitations",
    "Read Computer Enrollment Invitations",
    "Create Mobile Device Enrollment Invitations",
    "Read Mobile Device Enrollment Invitations",
    "Read Enrollment Profiles",
];
const ENROLLMENT_ACTIONS: &[&str] = &["Enroll Computers and Mobile Devices"];

/// Sara's own privileges (Custom, Site Access to Berlin Office).
const SARA_OBJECTS: &[&str] = &[
    "Read Computers",
    "Update Computers",
    "Read Mobile Devices",
    "Read Policies",
];
const SARA_ACTIONS: &[&str] = &["Send Computer Remote Lock Command"];

/// The Berlin Helpdesk group's privileges (Custom).
const HELPDESK_OBJECTS: &[&str] = &["Read Computers", "Read Mobile Devices", "Read User"];
const HELPDESK_ACTIONS: &[&str] = &[
    "Send Mobile Device Lost Mode Command",
    "Send Mobile Device Remote Lock Command",
];

fn crud() -> Vec<String> {
    OBJECTS
        .iter()
        .flat_map(|o| ["Create", "Read", "Update", "Delete"].map(|verb| format!("{verb} {o}")))
        .collect()
}

fn reads() -> Vec<String> {
    OBJECTS.iter().map(|o| format!("Read {o}")).collect()
}

/// The privileges of a named set, as Jamf lists them.
fn privileges_json(set: &str) -> Value {
    match set {
        "Administrator" => json!({
            "jss_objects": crud(), "jss_settings": ADMIN_SETTINGS, "jss_actions": ADMIN_ACTIONS,
            "recon": RECON, "casper_admin": CASPER_ADMIN,
        }),
        "Auditor" => json!({
            "jss_objects": reads(), "jss_settings": AUDITOR_SETTINGS, "jss_actions": [],
            "recon": [], "casper_admin": [],
        }),
        "Enrollment Only" => json!({
            "jss_objects": ENROLLMENT_OBJECTS, "jss_settings": [], "jss_actions": ENROLLMENT_ACTIONS,
            "recon": RECON, "casper_admin": [],
        }),
        _ => empty_privileges(),
    }
}

fn custom(set: &Set) -> Value {
    json!({
        "jss_objects": set.jss_objects, "jss_settings": set.jss_settings,
        "jss_actions": set.jss_actions, "recon": set.recon, "casper_admin": set.casper_admin,
    })
}

fn empty_privileges() -> Value {
    json!({"jss_objects": [], "jss_settings": [], "jss_actions": [], "recon": [], "casper_admin": []})
}

const SARA: Set = Set {
    jss_objects: SARA_OBJECTS,
    jss_settings: &[],
    jss_actions: SARA_ACTIONS,
    recon: &[],
    casper_admin: &[],
};

const HELPDESK: Set = Set {
    jss_objects: HELPDESK_OBJECTS,
    jss_settings: &[],
    jss_actions: HELPDESK_ACTIONS,
    recon: &[],
    casper_admin: &[],
};

/// One admin account.
struct Account {
    id: u32,
    /// `None`: the simulator's login name.
    name: Option<&'static str>,
    full_name: &'static str,
    email: &'static str,
    enabled: bool,
    access_level: &'static str,
    /// `None` for Group Access (the privileges come from the groups).
    privilege_set: Option<&'static str>,
    /// Custom privileges (`None`: the set's, or the login's).
    custom: Option<&'static Set>,
    site: Option<u32>,
    groups: &'static [u32],
}

const ACCOUNTS: &[Account] = &[
    Account {
        id: 1,
        name: None,
        full_name: "Inventory Reader",
        email: "",
        enabled: true,
        access_level: "Full Access",
        privilege_set: Some("Custom"),
        custom: None,
        site: None,
        groups: &[],
    },
    Account {
        id: 2,
        name: Some("ana.admin"),
        full_name: "Ana Admin",
        email: "ana.admin@example.com",
        enabled: true,
        access_level: "Full Access",
        privilege_set: Some("Administrator"),
        custom: None,
        site: None,
        groups: &[],
    },
    Account {
        id: 3,
        name: Some("olaf.auditor"),
        full_name: "Olaf Auditor",
        email: "olaf.auditor@example.com",
        enabled: false,
        access_level: "Full Access",
        privilege_set: Some("Auditor"),
        custom: None,
        site: None,
        groups: &[],
    },
    Account {
        id: 4,
        name: Some("sara.site"),
        full_name: "Sara Site",
        email: "sara.site@example.com",
        enabled: true,
        access_level: "Site Access",
        privilege_set: Some("Custom"),
        custom: Some(&SARA),
        site: Some(2),
        groups: &[],
    },
    Account {
        id: 5,
        name: Some("eli.enroll"),
        full_name: "Eli Enroll",
        email: "",
        enabled: true,
        access_level: "Site Access",
        privilege_set: Some("Enrollment Only"),
        custom: None,
        site: Some(3),
        groups: &[],
    },
    Account {
        id: 6,
        name: Some("gus.group"),
        full_name: "Gus Group",
        email: "gus.group@example.com",
        enabled: true,
        access_level: "Group Access",
        privilege_set: None,
        custom: None,
        site: None,
        groups: &[1],
    },
    Account {
        id: 7,
        name: Some("gia.group"),
        full_name: "Gia Group",
        email: "gia.group@example.com",
        enabled: true,
        access_level: "Group Access",
        privilege_set: None,
        custom: None,
        site: None,
        groups: &[2, 3],
    },
];

/// One account group.
struct Group {
    id: u32,
    name: &'static str,
    access_level: &'static str,
    privilege_set: &'static str,
    custom: Option<&'static Set>,
    site: Option<u32>,
}

const GROUPS: &[Group] = &[
    Group {
        id: 1,
        name: "IT Admins",
        access_level: "Full Access",
        privilege_set: "Administrator",
        custom: None,
        site: None,
    },
    Group {
        id: 2,
        name: "Berlin Helpdesk",
        access_level: "Site Access",
        privilege_set: "Custom",
        custom: Some(&HELPDESK),
        site: Some(2),
    },
    Group {
        id: 3,
        name: "London Enrollment",
        access_level: "Site Access",
        privilege_set: "Enrollment Only",
        custom: None,
        site: Some(3),
    },
    Group {
        id: 4,
        name: "Auditors",
        access_level: "Full Access",
        privilege_set: "Auditor",
        custom: None,
        site: None,
    },
];

fn site_json(site: Option<u32>) -> Value {
    site.and_then(|id| SITES.iter().find(|(i, _)| *i == id))
        .map_or_else(
            || json!({"id": -1, "name": "None"}),
            |(id, name)| json!({"id": id, "name": name}),
        )
}

fn account_name(a: &Account, login: &str) -> String {
    a.name.map_or_else(|| login.to_owned(), str::to_owned)
}

fn members(group: u32, login: &str) -> Vec<Value> {
    ACCOUNTS
        .iter()
        .filter(|a| a.groups.contains(&group))
        .map(|a| json!({"id": a.id, "name": account_name(a, login)}))
        .collect()
}

/// `GET /api/v1/sites`: the bare array of the Jamf Pro API.
pub(crate) fn sites() -> Value {
    SITES
        .iter()
        .map(|(id, name)| json!({"id": id.to_string(), "name": name, "divisionId": null}))
        .collect()
}

/// `GET /JSSResource/accounts`.
pub(crate) fn accounts(login: &str) -> Value {
    let users: Vec<Value> = ACCOUNTS
        .iter()
        .map(|a| json!({"id": a.id, "name": account_name(a, login)}))
        .collect();
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|g| json!({"id": g.id, "name": g.name, "site": site_json(g.site)}))
        .collect();
    json!({"accounts": {"users": users, "groups": groups}})
}

/// `GET /JSSResource/accounts/userid/{id}`, `None` when there is no such
/// account. `login_privileges` are the login account's (id 1) object
/// privileges.
pub(crate) fn account(id: &str, login: &str, login_privileges: &[&str]) -> Option<Value> {
    let id: u32 = id.trim().parse().ok()?;
    let a = ACCOUNTS.iter().find(|a| a.id == id)?;
    let privileges = match (a.id, a.custom, a.privilege_set) {
        (1, _, _) => json!({
            "jss_objects": login_privileges, "jss_settings": [], "jss_actions": [],
            "recon": [], "casper_admin": [],
        }),
        (_, Some(set), _) => custom(set),
        (_, None, Some(set)) => privileges_json(set),
        (_, None, None) => empty_privileges(),
    };
    let mut doc = json!({
        "id": a.id,
        "name": account_name(a, login),
        "directory_user": false,
        "full_name": a.full_name,
        "email": a.email,
        "email_address": a.email,
        "enabled": if a.enabled { "Enabled" } else { "Disabled" },
        "ldap_server": {"id": -1, "name": "None"},
        "force_password_change": false,
        "access_level": a.access_level,
    });
    if let Some(obj) = doc.as_object_mut() {
        if let Some(set) = a.privilege_set {
            obj.insert("privilege_set".into(), json!(set));
        }
        if a.site.is_some() {
            obj.insert("site".into(), site_json(a.site));
        }
        let groups: Vec<Value> = a
            .groups
            .iter()
            .filter_map(|gid| GROUPS.iter().find(|g| g.id == *gid))
            .map(|g| json!({"id": g.id, "name": g.name, "site": site_json(g.site)}))
            .collect();
        match groups.as_slice() {
            [] => {}
            [one] => {
                obj.insert("groups".into(), json!({"group": one}));
            }
            _ => {
                obj.insert("groups".into(), Value::Array(groups));
            }
        }
        obj.insert("privileges".into(), privileges);
    }
    Some(json!({ "account": doc }))
}

/// `GET /JSSResource/accounts/groupid/{id}`, `None` when there is no such group.
pub(crate) fn group(id: &str, login: &str) -> Option<Value> {
    let id: u32 = id.trim().parse().ok()?;
    let g = GROUPS.iter().find(|g| g.id == id)?;
    let privileges = g
        .custom
        .map_or_else(|| privileges_json(g.privilege_set), custom);
    Some(json!({"group": {
        "id": g.id,
        "name": g.name,
        "access_level": g.access_level,
        "privilege_set": g.privilege_set,
        "site": site_json(g.site),
        "privileges": privileges,
        "members": members(g.id, login),
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_access_level_and_privilege_set_is_modelled() {
        for level in ["Full Access", "Site Access", "Group Access"] {
            assert!(ACCOUNTS.iter().any(|a| a.access_level == level), "{level}");
        }
        for set in ["Administrator", "Auditor", "Enrollment Only", "Custom"] {
            assert!(
                ACCOUNTS.iter().any(|a| a.privilege_set == Some(set))
                    && GROUPS.iter().any(|g| g.privilege_set == set),
                "{set}"
            );
        }
        assert!(ACCOUNTS.iter().any(|a| !a.enabled));
        // Group Access accounts, and only they, are group members.
        for a in ACCOUNTS {
            assert_eq!(a.access_level == "Group Access", !a.groups.is_empty());
        }
    }

    #[test]
    fn shapes() {
        let one = account("6", "api-reader", &[]).unwrap();
        assert_eq!(one["account"]["groups"]["group"]["name"], "IT Admins");
        let two = account("7", "api-reader", &[]).unwrap();
        assert_eq!(two["account"]["groups"].as_array().unwrap().len(), 2);
        assert!(two["account"].get("privilege_set").is_none());
        let login = account("1", "api-reader", &["Read Computers"]).unwrap();
        assert_eq!(login["account"]["name"], "api-reader");
        assert_eq!(
            login["account"]["privileges"]["jss_objects"],
            json!(["Read Computers"])
        );
        assert!(login["account"].get("site").is_none());
        let site = account("4", "x", &[]).unwrap();
        assert_eq!(site["account"]["site"]["name"], "Berlin Office");
        let g = group("2", "x").unwrap();
        assert_eq!(
            g["group"]["members"],
            json!([{"id": 7, "name": "gia.group"}])
        );
        assert_eq!(group("4", "x").unwrap()["group"]["members"], json!([]));
        assert!(group("5", "x").is_none() && account("0", "x", &[]).is_none());
        assert!(account("a/b", "x", &[]).is_none());
        assert_eq!(accounts("x")["accounts"]["groups"][0]["site"]["id"], -1);
    }
}
