//! `mdm check`: the connection test. Per source it authenticates, reads
//! the server version where the vendor has one, and probes each endpoint a
//! sync needs with the smallest request there is (a page of one), then
//! says what is missing and where, in the vendor's console, to grant it.
//! Nothing is written anywhere.
//!
//! | vendor | privilege (as the console names it) | probe | needed for |
//! |---|---|---|---|
//! | Jamf Pro | Read Computers | `GET /api/v{1,2,3}/computers-inventory?page-size=1` | sync |
//! | Jamf Pro | Read Mobile Devices | `GET /api/v2/mobile-devices?page-size=1` | sync |
//! | Jamf Pro | Read Users | `GET /api/v1/users?page-size=1` | sync |
//! | Jamf Pro | Read Buildings | `GET /api/v1/buildings` (first page) | sync |
//! | Jamf Pro | Read Departments | `GET /api/v1/departments` (first page) | sync |
//! | Jamf Pro | Read Sites | `GET /api/v1/sites` | site names (optional) |
//! | Jamf Pro | Read Accounts | `GET /JSSResource/accounts` | `mdm access` (optional) |
//! | Jamf Pro | Read Static / Smart User Groups | not probed | `mdm access` (optional) |
//! | Kandji | Device list | `GET /api/v1/devices?limit=1` | sync |
//! | Kandji | Device details | `GET /api/v1/devices/{id}/details` | `details = true` |
//! | Kandji | List users | `GET /api/v1/users?limit=1` | `user_active = true`, `users = true` |
//! | ABM/ASM | orgDevices | `GET /v1/orgDevices?limit=1` | sync |
//! | ABM/ASM | mdmServers | `GET /v1/mdmServers?limit=1` | assigned servers (optional) |
//! | ABM/ASM | appleCareCoverage | `GET /v1/orgDevices/{id}/appleCareCoverage` | `applecare = true` |
//! | ABM/ASM | activationLockStatus | `GET /v1/orgDevices/{id}/activationLockStatus` | `activation_lock = true` |
//!
//! The JSON (`--format json`) is one document, stable (fields are only
//! added): `{"version":1,"ready":bool,"sources":[{"source","vendor","url",
//! "reachable","authenticated","token_lifetime_seconds","server_version",
//! "ready","privileges":[{"name","endpoint","needed_for","required",
//! "status":"present|missing|failed|not_checked","detail"}],"problems":[..]}]}`.
//! The command exits 0 only when every source is ready.

use std::io::Write;
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use serde::Serialize;

use super::sources::{Configured, OptIns, VendorClient};
use super::{CliError, DocFormat, Table};

/// The version of the JSON document.
pub const CHECK_JSON_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// [`CHECK_JSON_VERSION`].
    pub version: u32,
    /// Every source is ready.
    pub ready: bool,
    /// One entry per source.
    pub sources: Vec<SourceCheck>,
}

/// One source's check.
#[derive(Debug, Serialize)]
pub struct SourceCheck {
    /// The source's name.
    pub source: String,
    /// Its vendor.
    pub vendor: mdm_mapping::Vendor,
    /// The API base URL.
    pub url: String,
    /// The server answered.
    pub reachable: bool,
    /// The credentials were accepted.
    pub authenticated: bool,
    /// How long the access token lasts (`None`: the vendor's tokens do not
    /// expire, or none was issued).
    pub token_lifetime_seconds: Option<u64>,
    /// The server's version, where the vendor says it.
    pub server_version: Option<String>,
    /// Every privilege required for the source's reads is present.
    pub ready: bool,
    /// One per privilege.
    pub privileges: Vec<PrivilegeCheck>,
    /// What to do, one sentence each.
    pub problems: Vec<String>,
}

/// One privilege (or scope) and its probe.
#[derive(Debug, Serialize)]
pub struct PrivilegeCheck {
    /// As the vendor's console names it.
    pub name: &'static str,
    /// The request that probed it.
    pub endpoint: &'static str,
    /// What needs it.
    pub needed_for: &'static str,
    /// A sync with this source's settings fails without it.
    pub required: bool,
    /// What the probe found.
    pub status: Status,
    /// The server's answer, when it was not a plain yes.
    pub detail: Option<String>,
}

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The request was answered.
    Present,
    /// The server answered 403.
    Missing,
    /// The request failed otherwise (see `detail`).
    Failed,
    /// Not probed (see `detail`).
    NotChecked,
}

/// What a failed request says: its HTTP status (if any) and its message.
struct Failure {
    status: Option<u16>,
    message: String,
}

fn jamf_failure(e: &jamf_client::Error) -> Failure {
    Failure {
        status: e.status().map(|s| s.as_u16()),
        message: e.to_string(),
    }
}

fn kandji_failure(e: &kandji_client::Error) -> Failure {
    Failure {
        status: e.status(),
        message: e.to_string(),
    }
}

fn abm_failure(e: &abm_client::Error) -> Failure {
    Failure {
        status: e.status(),
        message: e.to_string(),
    }
}

/// Checks every source, one after the other.
pub async fn check(sources: &[Configured]) -> CheckReport {
    let mut out = Vec::new();
    for s in sources {
        out.push(check_one(s).await);
    }
    CheckReport {
        version: CHECK_JSON_VERSION,
        ready: out.iter().all(|s| s.ready),
        sources: out,
    }
}

struct Probe {
    name: &'static str,
    endpoint: &'static str,
    needed_for: &'static str,
    required: bool,
}

impl SourceCheck {
    fn record(&mut self, p: Probe, result: Result<(), Failure>) {
        let (status, detail) = match result {
            Ok(()) => (Status::Present, None),
            Err(f) if f.status == Some(403) => (Status::Missing, Some(f.message)),
            Err(f) => (Status::Failed, Some(f.message)),
        };
        self.privileges.push(PrivilegeCheck {
            name: p.name,
            endpoint: p.endpoint,
            needed_for: p.needed_for,
            required: p.required,
            status,
            detail,
        });
    }

    fn not_checked(&mut self, p: Probe, why: &str) {
        self.privileges.push(PrivilegeCheck {
            name: p.name,
            endpoint: p.endpoint,
            needed_for: p.needed_for,
            required: p.required,
            status: Status::NotChecked,
            detail: Some(why.to_owned()),
        });
    }

    /// The first request failed: unreachable, or refused credentials.
    fn refused(&mut self, f: Failure, credentials_hint: &str) {
        match f.status {
            None => {
                self.problems
                    .push(format!("cannot reach {}: {}", self.url, f.message));
            }
            Some(status) => {
                self.reachable = true;
                self.problems.push(format!(
                    "the credentials were refused (HTTP {status}): {credentials_hint}"
                ));
            }
        }
    }
}

fn lifetime(expires_at: Option<SystemTime>) -> Option<u64> {
    let left = expires_at?.duration_since(SystemTime::now()).ok()?;
    // Whole seconds, rounded up: a token issued just now for 1800 s reads 1800.
    Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

async fn check_one(c: &Configured) -> SourceCheck {
    let mut s = SourceCheck {
        source: c.name.clone(),
        vendor: c.source.vendor(),
        url: String::new(),
        reachable: false,
        authenticated: false,
        token_lifetime_seconds: None,
        server_version: None,
        ready: false,
        privileges: Vec::new(),
        problems: Vec::new(),
    };
    match &c.client {
        VendorClient::Jamf(client) => jamf(&mut s, client).await,
        VendorClient::Kandji(client) => kandji(&mut s, client, c.opt_ins).await,
        VendorClient::Abm(client) => abm(&mut s, client, c.opt_ins).await,
    }
    let missing: Vec<&PrivilegeCheck> = s
        .privileges
        .iter()
        .filter(|p| p.required && p.status != Status::Present)
        .collect();
    s.ready = s.reachable && s.authenticated && missing.is_empty();
    if s.authenticated {
        let grant: Vec<String> = s
            .privileges
            .iter()
            .filter(|p| p.status == Status::Missing)
            .map(|p| format!("\"{}\"", p.name))
            .collect();
        if !grant.is_empty() {
            let optional = s
                .privileges
                .iter()
                .filter(|p| p.status == Status::Missing)
                .all(|p| !p.required);
            s.problems.push(format!(
                "grant {} {}{}",
                grant.join(", "),
                where_to_grant(s.vendor),
                if optional {
                    " (optional: a sync works without them)"
                } else {
                    ""
                }
            ));
        }
        for p in s.privileges.iter().filter(|p| p.status == Status::Failed) {
            s.problems.push(format!(
                "{} could not be checked: {}",
                p.endpoint,
                p.detail.as_deref().unwrap_or("no answer")
            ));
        }
    }
    s
}

fn where_to_grant(vendor: mdm_mapping::Vendor) -> &'static str {
    match vendor {
        mdm_mapping::Vendor::Jamf => {
            "in Jamf Pro > Settings > System > API roles and clients (the API role of this client), or, for a user account, in Settings > System > User accounts and groups (its privilege set)"
        }
        mdm_mapping::Vendor::Kandji => {
            "in Kandji > Settings > Access > API Token: open the token and add the permission under Manage API permissions"
        }
        mdm_mapping::Vendor::Abm => {
            "to the API account in Apple Business Manager (or School Manager) > Preferences > API; a role without access to devices needs an administrator's account"
        }
    }
}

async fn jamf(s: &mut SourceCheck, client: &jamf_client::Client) {
    s.url = client.base_url().to_string();
    if let Err(e) = client.authenticate().await {
        s.refused(
            jamf_failure(&e),
            "check the client ID and secret in Jamf Pro > Settings > System > API roles and clients (is the client enabled? generate a new secret), or the user name and password",
        );
        return;
    }
    s.reachable = true;
    s.authenticated = true;
    s.token_lifetime_seconds = lifetime(client.token_expires_at().await);
    s.server_version = client
        .server_version()
        .await
        .ok()
        .flatten()
        .map(|v| v.to_string());
    let sync = |name, endpoint| Probe {
        name,
        endpoint,
        needed_for: "sync",
        required: true,
    };
    let r = client
        .computers_page(&jamf_client::ComputerQuery::new().page_size(1), 0)
        .await;
    s.record(
        sync(
            "Read Computers",
            "GET /api/v1/computers-inventory?page-size=1",
        ),
        r.map(drop).map_err(|e| jamf_failure(&e)),
    );
    let r = client
        .mobile_devices_page(&jamf_client::MobileDeviceQuery::new().page_size(1), 0)
        .await;
    s.record(
        sync(
            "Read Mobile Devices",
            "GET /api/v2/mobile-devices?page-size=1",
        ),
        r.map(drop).map_err(|e| jamf_failure(&e)),
    );
    let r = client.users_page(0, 1).await;
    s.record(
        sync("Read Users", "GET /api/v1/users?page-size=1"),
        r.map(drop).map_err(|e| jamf_failure(&e)),
    );
    let r = first_page(client.buildings().next().await);
    s.record(sync("Read Buildings", "GET /api/v1/buildings"), r);
    let r = first_page(client.departments().next().await);
    s.record(sync("Read Departments", "GET /api/v1/departments"), r);
    let r = client.sites().await;
    s.record(
        Probe {
            name: "Read Sites",
            endpoint: "GET /api/v1/sites",
            needed_for: "site names of mobile devices",
            required: false,
        },
        r.map(drop).map_err(|e| jamf_failure(&e)),
    );
    let r = client.accounts().await;
    s.record(
        Probe {
            name: "Read Accounts",
            endpoint: "GET /JSSResource/accounts",
            needed_for: "mdm access",
            required: false,
        },
        r.map(drop).map_err(|e| jamf_failure(&e)),
    );
    for name in ["Read Static User Groups", "Read Smart User Groups"] {
        s.not_checked(
            Probe {
                name,
                endpoint: "GET /JSSResource/usergroups",
                needed_for: "mdm access",
                required: false,
            },
            "mdm reads no user groups yet; grant it for an access review",
        );
    }
}

async fn kandji(s: &mut SourceCheck, client: &kandji_client::KandjiClient, opt_ins: OptIns) {
    s.url = client.base_url().to_string();
    // Kandji API tokens are bearer tokens without a lifetime: the first
    // request is the authentication.
    let listed = client
        .list_devices(&kandji_client::DeviceQuery::new().page_size(1), 0)
        .await;
    let devices = match listed {
        Err(e) if matches!(e.status(), None | Some(401)) => {
            s.refused(
                kandji_failure(&e),
                "the API token is wrong, expired or revoked: create one in Kandji > Settings > Access > API Token",
            );
            return;
        }
        other => other,
    };
    s.reachable = true;
    s.authenticated = true;
    let first_id = devices
        .as_ref()
        .ok()
        .and_then(|d| d.first())
        .map(|d| d.device_id.clone());
    s.record(
        Probe {
            name: "Device list",
            endpoint: "GET /api/v1/devices?limit=1",
            needed_for: "sync",
            required: true,
        },
        devices.map(drop).map_err(|e| kandji_failure(&e)),
    );
    let details_probe = Probe {
        name: "Device details",
        endpoint: "GET /api/v1/devices/{id}/details",
        needed_for: "details = true",
        required: opt_ins.details,
    };
    match first_id {
        Some(id) => {
            let r = client.device_details(&id).await;
            s.record(details_probe, r.map(drop).map_err(|e| kandji_failure(&e)));
        }
        None => s.not_checked(details_probe, "no device to ask about"),
    }
    let r = client
        .users_page(&kandji_client::UserQuery::new().page_size(1), None)
        .await;
    s.record(
        Probe {
            name: "List users",
            endpoint: "GET /api/v1/users?limit=1",
            needed_for: "user_active = true, users = true",
            required: opt_ins.user_active || opt_ins.users,
        },
        r.map(drop).map_err(|e| kandji_failure(&e)),
    );
}

async fn abm(s: &mut SourceCheck, client: &abm_client::AbmClient, opt_ins: OptIns) {
    s.url = client.base_url().to_string();
    match client.authenticate().await {
        Ok(lifetime) => {
            s.reachable = true;
            s.authenticated = true;
            s.token_lifetime_seconds = Some(lifetime.as_secs()).filter(|n| *n > 0);
        }
        Err(e) => {
            s.refused(
                abm_failure(&e),
                "check the client ID, the key ID and the private key (.pem) of the API account in Apple Business Manager > Preferences > API; a revoked key needs a new one",
            );
            return;
        }
    }
    let listed = client
        .org_devices_page(&abm_client::DeviceQuery::new().limit(1), None)
        .await;
    let first_id = listed
        .as_ref()
        .ok()
        .and_then(|p| p.data.first())
        .map(|d| d.id.clone());
    s.record(
        Probe {
            name: "orgDevices",
            endpoint: "GET /v1/orgDevices?limit=1",
            needed_for: "sync",
            required: true,
        },
        listed.map(drop).map_err(|e| abm_failure(&e)),
    );
    let r = client
        .mdm_servers_page(&abm_client::ServerQuery::new().limit(1), None)
        .await;
    s.record(
        Probe {
            name: "mdmServers",
            endpoint: "GET /v1/mdmServers?limit=1",
            needed_for: "assigned MDM servers",
            required: false,
        },
        r.map(drop).map_err(|e| abm_failure(&e)),
    );
    let probe = Probe {
        name: "appleCareCoverage",
        endpoint: "GET /v1/orgDevices/{id}/appleCareCoverage",
        needed_for: "applecare = true",
        required: opt_ins.applecare,
    };
    match &first_id {
        Some(id) => {
            let r = client.apple_care_coverage(id).await;
            s.record(probe, r.map(drop).map_err(|e| abm_failure(&e)));
        }
        None => s.not_checked(probe, "no device to ask about"),
    }
    let probe = Probe {
        name: "activationLockStatus",
        endpoint: "GET /v1/orgDevices/{id}/activationLockStatus",
        needed_for: "activation_lock = true",
        required: opt_ins.activation_lock,
    };
    if !opt_ins.activation_lock {
        s.not_checked(probe, "activation_lock is off");
    } else if let Some(id) = &first_id {
        // A device without a status (404) still shows the endpoint answers.
        let r = match client.activation_lock_status(id).await {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop).map_err(|e| abm_failure(&e)),
        };
        s.record(probe, r);
    } else {
        s.not_checked(probe, "no device to ask about");
    }
}

/// The first page of a stream: there (or an empty listing), or its error.
fn first_page<T>(r: Option<Result<T, jamf_client::Error>>) -> Result<(), Failure> {
    match r {
        None | Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(jamf_failure(&e)),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn human(seconds: Option<u64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) => humantime::format_duration(Duration::from_secs(s)).to_string(),
    }
}

pub(super) async fn run(
    format: DocFormat,
    sources: &[Configured],
    out: &mut impl Write,
) -> Result<(), CliError> {
    let report = check(sources).await;
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    match format {
        DocFormat::Json => {
            super::output::write_json(out, &report, "the report")?;
        }
        DocFormat::Table => {
            let mut t = Table::new([
                "source",
                "vendor",
                "reachable",
                "authenticated",
                "token lifetime",
                "version",
                "ready",
            ]);
            for s in &report.sources {
                t.row([
                    s.source.clone(),
                    s.vendor.to_string(),
                    yes(s.reachable).to_owned(),
                    yes(s.authenticated).to_owned(),
                    human(s.token_lifetime_seconds),
                    s.server_version.clone().unwrap_or_else(|| "-".to_owned()),
                    yes(s.ready).to_owned(),
                ]);
            }
            write!(out, "{t}").map_err(io)?;
            for s in &report.sources {
                if s.privileges.is_empty() && s.problems.is_empty() {
                    continue;
                }
                writeln!(out, "\n{}:", s.source).map_err(io)?;
                let mut p = Table::new(["privilege", "status", "needed for", "probe"]);
                for c in &s.privileges {
                    let status = match c.status {
                        Status::Present => "present",
                        Status::Missing if c.required => "MISSING",
                        Status::Missing => "missing",
                        Status::Failed => "failed",
                        Status::NotChecked => "not checked",
                    };
                    p.row([
                        c.name.to_owned(),
                        status.to_owned(),
                        c.needed_for.to_owned(),
                        c.endpoint.to_owned(),
                    ]);
                }
                if !s.privileges.is_empty() {
                    write!(out, "{p}").map_err(io)?;
                }
                for problem in &s.problems {
                    writeln!(out, "  => {problem}").map_err(io)?;
                }
            }
        }
    }
    if report.ready {
        Ok(())
    } else {
        let not: Vec<&str> = report
            .sources
            .iter()
            .filter(|s| !s.ready)
            .map(|s| s.source.as_str())
            .collect();
        Err(CliError::failure(format!(
            "check: not ready: {} (see above for what to grant and where)",
            not.join(", ")
        )))
    }
}
