//! Privileges the simulator can deny ([`SimulatorConfig::denied`]): the one
//! place, per vendor, that maps a privilege name, as the vendor's console
//! names it, to the routes that need it. The table in the module docs of
//! [`crate::simulator`] lists the same.
//!
//! Routes are the templates the routers declare, without the vendor prefix
//! (`/api/v1/users/{id}`); every one of them is a `GET`. Several names may
//! cover one route (Kandji's "Users" section holds "List users" and "Get
//! user"); denying any of them denies the route.
//!
//! [`SimulatorConfig::denied`]: super::SimulatorConfig::denied

use std::collections::{BTreeSet, HashMap};

use mdm_mapping::Vendor;

/// One privilege: its name, other names accepted for it, and its routes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Privilege {
    pub(crate) name: &'static str,
    pub(crate) aliases: &'static [&'static str],
    pub(crate) routes: &'static [&'static str],
}

const fn p(
    name: &'static str,
    aliases: &'static [&'static str],
    routes: &'static [&'static str],
) -> Privilege {
    Privilege {
        name,
        aliases,
        routes,
    }
}

/// Jamf Pro: privileges of an API role or of an account's privilege set.
pub(crate) const JAMF: &[Privilege] = &[
    p(
        "Read Computers",
        &[],
        &[
            "/api/v1/computers-inventory",
            "/api/v1/computers-inventory/{id}",
            "/api/v1/computers-inventory-detail/{id}",
            "/api/v2/computers-inventory",
            "/api/v2/computers-inventory/{id}",
            "/api/v2/computers-inventory-detail/{id}",
            "/api/v3/computers-inventory",
            "/api/v3/computers-inventory/{id}",
            "/api/v3/computers-inventory-detail/{id}",
            "/api/v4/computers-inventory",
            "/api/v4/computers-inventory/{id}",
            "/api/v4/computers-inventory-detail/{id}",
            "/JSSResource/computers",
            "/JSSResource/computers/id/{id}",
            "/JSSResource/computers/subset/basic",
        ],
    ),
    p(
        "Read Mobile Devices",
        &[],
        &[
            "/api/v2/mobile-devices",
            "/api/v2/mobile-devices/detail",
            "/api/v2/mobile-devices/{id}",
            "/api/v2/mobile-devices/{id}/detail",
            "/JSSResource/mobiledevices",
            "/JSSResource/mobiledevices/id/{id}",
        ],
    ),
    p(
        "Read Users",
        &[],
        &[
            "/api/v1/users",
            "/JSSResource/users",
            "/JSSResource/users/id/{id}",
        ],
    ),
    p(
        "Read Buildings",
        &[],
        &["/api/v1/buildings", "/api/v1/buildings/{id}"],
    ),
    p(
        "Read Departments",
        &[],
        &["/api/v1/departments", "/api/v1/departments/{id}"],
    ),
    p("Read Sites", &[], &["/api/v1/sites"]),
    p(
        "Read Accounts",
        &[],
        &[
            "/JSSResource/accounts",
            "/JSSResource/accounts/userid/{id}",
            "/JSSResource/accounts/groupid/{id}",
        ],
    ),
    // The simulator serves no user-group endpoint: denying these only takes
    // them out of the account's privileges.
    p("Read Static User Groups", &[], &[]),
    p("Read Smart User Groups", &[], &[]),
];

/// Kandji: the API token's permissions (one per endpoint, grouped in sections).
pub(crate) const KANDJI: &[Privilege] = &[
    p("Device list", &[], &["/api/v1/devices"]),
    p("Device ID", &[], &["/api/v1/devices/{id}"]),
    p("Device details", &[], &["/api/v1/devices/{id}/details"]),
    p(
        "Application list",
        &["Device apps"],
        &["/api/v1/devices/{id}/apps"],
    ),
    p("List users", &[], &["/api/v1/users"]),
    p("Get user", &[], &["/api/v1/users/{id}"]),
    p("Users", &[], &["/api/v1/users", "/api/v1/users/{id}"]),
    p("List Blueprints", &[], &["/api/v1/blueprints"]),
    p("Get Blueprint", &[], &["/api/v1/blueprints/{id}"]),
    p(
        "Blueprints",
        &[],
        &["/api/v1/blueprints", "/api/v1/blueprints/{id}"],
    ),
    p("Tags", &["Get Tags"], &["/api/v1/tags"]),
];

/// Apple Business / School Manager: the API account's scopes, by resource.
pub(crate) const ABM: &[Privilege] = &[
    p(
        "orgDevices",
        &[],
        &[
            "/v1/orgDevices",
            "/v1/orgDevices/{id}",
            "/v1/orgDevices/{id}/relationships/assignedServer",
            "/v1/orgDevices/{id}/assignedServer",
            "/v1/orgDevices/{id}/appleCareCoverage",
            "/v1/orgDevices/{id}/activationLockStatus",
        ],
    ),
    p(
        "mdmServers",
        &[],
        &[
            "/v1/mdmServers",
            "/v1/mdmServers/{id}",
            "/v1/mdmServers/{id}/relationships/devices",
            "/v1/mdmServers/{id}/devices",
        ],
    ),
    p(
        "appleCareCoverage",
        &[],
        &["/v1/orgDevices/{id}/appleCareCoverage"],
    ),
    p(
        "orgDeviceActivities",
        &[],
        &["/v1/orgDeviceActivities", "/v1/orgDeviceActivities/{id}"],
    ),
];

/// A vendor's privileges.
pub(crate) fn of(vendor: Vendor) -> &'static [Privilege] {
    match vendor {
        Vendor::Jamf => JAMF,
        Vendor::Kandji => KANDJI,
        Vendor::Abm => ABM,
    }
}

const VENDORS: [(Vendor, &str); 3] = [
    (Vendor::Jamf, "Jamf Pro"),
    (Vendor::Kandji, "Kandji"),
    (Vendor::Abm, "ABM/ASM"),
];

/// The denied privileges of a running simulator.
#[derive(Debug, Default)]
pub(crate) struct Denied {
    /// (vendor, route template) → the privilege name that denies it.
    routes: HashMap<(Vendor, &'static str), &'static str>,
    /// The names denied, per vendor.
    names: HashMap<Vendor, BTreeSet<&'static str>>,
}

impl Denied {
    /// Resolves the names (case-insensitive; surrounding blanks ignored).
    /// `Err` names the unknown ones and lists the valid names.
    pub(crate) fn new(names: &[String]) -> Result<Self, String> {
        let mut denied = Denied::default();
        let mut unknown = Vec::new();
        for raw in names {
            let wanted = raw.trim();
            let mut found = false;
            for (vendor, _) in VENDORS {
                for privilege in of(vendor) {
                    let matches = std::iter::once(&privilege.name)
                        .chain(privilege.aliases)
                        .any(|n| n.eq_ignore_ascii_case(wanted));
                    if !matches {
                        continue;
                    }
                    found = true;
                    denied
                        .names
                        .entry(vendor)
                        .or_default()
                        .insert(privilege.name);
                    for route in privilege.routes {
                        denied
                            .routes
                            .entry((vendor, route))
                            .or_insert(privilege.name);
                    }
                }
            }
            if !found {
                unknown.push(format!("{raw:?}"));
            }
        }
        if unknown.is_empty() {
            Ok(denied)
        } else {
            Err(format!(
                "unknown privilege name(s) to deny: {}; valid names (case-insensitive): {}",
                unknown.join(", "),
                valid_names()
            ))
        }
    }

    /// The privilege that denies `route` (a route template without the vendor
    /// prefix), if one does.
    pub(crate) fn route(&self, vendor: Vendor, route: &str) -> Option<&'static str> {
        self.routes.get(&(vendor, route)).copied()
    }

    /// Whether the privilege named `name` (its main name) is denied.
    pub(crate) fn has(&self, vendor: Vendor, name: &str) -> bool {
        self.names.get(&vendor).is_some_and(|n| n.contains(name))
    }
}

/// Every valid name, per vendor: `Jamf Pro: "Read Computers", …; Kandji: …`.
pub(crate) fn valid_names() -> String {
    VENDORS
        .iter()
        .map(|(vendor, label)| {
            let names: Vec<String> = of(*vendor)
                .iter()
                .map(|p| {
                    let mut s = format!("{:?}", p.name);
                    for alias in p.aliases {
                        s.push_str(&format!(" (or {alias:?})"));
                    }
                    s
                })
                .collect();
            format!("{label}: {}", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively_to_their_routes() {
        let d = Denied::new(&["read users".into(), " Device apps ".into()]).unwrap();
        assert_eq!(d.route(Vendor::Jamf, "/api/v1/users"), Some("Read Users"));
        assert_eq!(
            d.route(Vendor::Jamf, "/JSSResource/users/id/{id}"),
            Some("Read Users")
        );
        assert_eq!(d.route(Vendor::Jamf, "/api/v1/sites"), None);
        assert_eq!(
            d.route(Vendor::Kandji, "/api/v1/devices/{id}/apps"),
            Some("Application list")
        );
        assert_eq!(d.route(Vendor::Kandji, "/api/v1/users"), None);
        assert!(d.has(Vendor::Jamf, "Read Users"));
        assert!(!d.has(Vendor::Jamf, "Read Sites"));
    }

    #[test]
    fn unknown_names_are_refused_with_the_valid_ones() {
        let e = Denied::new(&["Read Computers".into(), "Read Everything".into()]).unwrap_err();
        assert!(e.contains("\"Read Everything\""), "{e}");
        assert!(
            e.starts_with("unknown privilege name(s) to deny: \"Read Everything\";"),
            "{e}"
        );
        for name in ["\"Read Computers\"", "\"Device list\"", "\"orgDevices\""] {
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn every_route_named_is_a_route_the_routers_declare() {
        // The routers' templates, from the source: a typo here would deny nothing.
        let sources = [
            (Vendor::Jamf, include_str!("jamf.rs")),
            (Vendor::Kandji, include_str!("kandji.rs")),
            (Vendor::Abm, include_str!("abm.rs")),
        ];
        for (vendor, source) in sources {
            for privilege in of(vendor) {
                for route in privilege.routes {
                    // Jamf's computer routes are built per version in a loop.
                    let versioned =
                        route
                            .strip_prefix("/api/v")
                            .and_then(|r| r.get(1..))
                            .map(|rest| {
                                format!(
                                    "/api/v{{version}}{}",
                                    rest.replace('{', "{{").replace('}', "}}")
                                )
                            });
                    let declared = source.contains(&format!("\"{route}\""))
                        || versioned.is_some_and(|v| source.contains(&format!("\"{v}\"")));
                    assert!(declared, "{vendor:?} {route} is not declared");
                }
            }
        }
    }
}
