//! `mdm.toml`: named sources (several per vendor), the inventory and the
//! mapping in one file; `mdm config init` and `mdm config check`.
//!
//! Where the file comes from: `--config PATH`, else `MDM_CONFIG`, else
//! `./mdm.toml` when it exists. Precedence of each setting: a flag beats an
//! environment variable, which beats the file (`--db` / `MDM_DATABASE_URL`
//! over `db`; `--source VENDOR` keeps only that vendor's named sources).
//!
//! Errors name the file, the line and the key, and suggest the nearest
//! valid key for a misspelling. The `toml` crate (already used by
//! `mdm-mapping`) gives each error its byte span and, for an unknown key,
//! the list of valid keys; `strsim` (already in the build through `clap`)
//! picks the nearest one. A hand-written TOML walker would duplicate both.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use mdm_mapping::upsert::{Config, ConfigFile};
use mdm_mapping::{DeviceSource, Vendor};
use serde::{Deserialize, Serialize};

use super::sources::{Configured, OptIns, VendorClient};
use super::{CliError, ConfigArgs, ConfigCommand};

/// The default file name, read from the working directory when present.
pub const DEFAULT_FILE: &str = "mdm.toml";

/// A vendor name in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VendorName {
    /// Jamf Pro.
    Jamf,
    /// Kandji (Iru).
    Kandji,
    /// Apple Business Manager / Apple School Manager.
    Abm,
}

impl From<VendorName> for Vendor {
    fn from(v: VendorName) -> Self {
        match v {
            VendorName::Jamf => Vendor::Jamf,
            VendorName::Kandji => Vendor::Kandji,
            VendorName::Abm => Vendor::Abm,
        }
    }
}

/// The whole `mdm.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdmToml {
    /// The inventory: a SQLite file or a postgres:// URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// Named sources, e.g. `[sources.jamf-eu]`.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// The mapping: everything [`ConfigFile`] has.
    #[serde(default)]
    pub mapping: ConfigFile,
    /// How `mdm sync` runs: schedule and incremental reads.
    #[serde(default)]
    pub sync: SyncSection,
}

/// `[sync]`: when `mdm sync` runs and how much it reads. Durations are
/// written as `24h`, `30m`, `7days`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Run again and again, this long apart (as `--every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Delay each scheduled start by a random part of this (as `--jitter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// Read only what changed where the vendor allows it (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<bool>,
    /// A full reading after this many incremental ones (default 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_every: Option<u32>,
    /// A full reading when the last one is older than this (default 7days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_after: Option<String>,
    /// How far before the watermark an incremental reading starts (default 10m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<String>,
}

impl SyncSection {
    /// A duration key, read: `None` when absent; an error naming the key.
    pub fn duration(
        value: &Option<String>,
        key: &str,
    ) -> Result<Option<std::time::Duration>, CliError> {
        value
            .as_deref()
            .map(|v| {
                humantime::parse_duration(v).map_err(|e| {
                    CliError::input(format!(
                        "[sync] {key} = {v:?}: {e} (write a duration such as 24h, 30m or 7days)"
                    ))
                })
            })
            .transpose()
    }

    /// The incremental policy (`None` when `incremental = false`).
    pub fn incremental(&self) -> Result<Option<mdm_mapping::sync::Incremental>, CliError> {
        if self.incremental == Some(false) {
            return Ok(None);
        }
        let mut inc = mdm_mapping::sync::Incremental::default();
        if let Some(n) = self.full_every {
            inc.full_every = n;
        }
        if let Some(d) = Self::duration(&self.full_after, "full_after")? {
            inc.full_after = d;
        }
        if let Some(d) = Self::duration(&self.overlap, "overlap")? {
            inc.overlap = d;
        }
        Ok(Some(inc))
    }
}

/// One named source. Each secret may be inline (only in a file nobody
/// else can read), in an environment variable (`*_env`) or, for the ABM
/// key, in a file.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `jamf`, `kandji` or `abm`.
    pub vendor: Option<VendorName>,
    /// Base URL (Kandji: URL or subdomain; ABM: API base URL, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Jamf API client id / ABM client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Jamf API client secret, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Environment variable holding the Jamf API client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// Jamf user name (instead of an API client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Jamf password, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Environment variable holding the Jamf password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Kandji API token, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Environment variable holding the Kandji API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// ABM key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// ABM private key (.pem) file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    /// ABM token URL (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Jamf: FileVault recovery key, recovery lock, activation lock and
    /// AppleCare id reads (each needs its own privilege).
    #[serde(default, skip_serializing_if = "is_false")]
    pub security_reads: bool,
    /// ABM: AppleCare coverage (one request per device).
    #[serde(default, skip_serializing_if = "is_false")]
    pub applecare: bool,
    /// Kandji: `/details` per device (one request per device).
    #[serde(default, skip_serializing_if = "is_false")]
    pub details: bool,
    /// ABM: Activation Lock status (one request per device).
    #[serde(default, skip_serializing_if = "is_false")]
    pub activation_lock: bool,
    /// Kandji: "User Active" of each device's user (the user list, read once).
    #[serde(default, skip_serializing_if = "is_false")]
    pub user_active: bool,
    /// Jamf and Kandji: read the vendor's user directory (once per sync)
    /// and upsert its users as employees.
    #[serde(default, skip_serializing_if = "is_false")]
    pub users: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

const REDACTED: &str = "<redacted>";

impl SourceConfig {
    /// The inline secrets present, by key.
    fn inline_secrets(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.client_secret.is_some() {
            keys.push("client_secret");
        }
        if self.password.is_some() {
            keys.push("password");
        }
        if self.token.is_some() {
            keys.push("token");
        }
        keys
    }

    /// A copy with every inline secret replaced by a marker.
    pub fn redacted(&self) -> SourceConfig {
        let mut c = self.clone();
        for s in [&mut c.client_secret, &mut c.password, &mut c.token] {
            if s.is_some() {
                *s = Some(REDACTED.to_owned());
            }
        }
        c
    }
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.redacted();
        f.debug_struct("SourceConfig")
            .field("vendor", &r.vendor)
            .field("url", &r.url)
            .field("client_id", &r.client_id)
            .field("client_secret", &r.client_secret)
            .field("client_secret_env", &r.client_secret_env)
            .field("username", &r.username)
            .field("password", &r.password)
            .field("password_env", &r.password_env)
            .field("token", &r.token)
            .field("token_env", &r.token_env)
            .field("key_id", &r.key_id)
            .field("private_key_file", &r.private_key_file)
            .finish_non_exhaustive()
    }
}

/// A loaded configuration file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its contents.
    pub file: MdmToml,
    /// The mapping, validated.
    pub mapping: Config,
}

/// Which file to read: `explicit` (`--config`), else `MDM_CONFIG`, else
/// `./mdm.toml` when it exists; `None` when there is none.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Ok(p) = std::env::var("MDM_CONFIG")
        && !p.trim().is_empty()
    {
        return Some(PathBuf::from(p));
    }
    let default = PathBuf::from(DEFAULT_FILE);
    default.is_file().then_some(default)
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Loaded, CliError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("{shown}: cannot read the configuration: {e}")))?;
    let file = parse(&text).map_err(|e| CliError::input(format!("{shown}:{e}")))?;
    check_permissions(path, &file)?;
    for (name, source) in &file.sources {
        validate_source(name, source).map_err(|e| CliError::input(format!("{shown}: {e}")))?;
    }
    let mapping = Config::from_file_form(file.mapping.clone())
        .map_err(|e| CliError::input(format!("{shown}: [mapping]: {e}")))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        file,
        mapping,
    })
}

/// Loads the file [`locate`] finds, if any.
pub fn load_located(explicit: Option<&Path>) -> Result<Option<Loaded>, CliError> {
    locate(explicit).map(|p| load(&p)).transpose()
}

/// Parses `text`; an error reads `LINE: key `KEY`: MESSAGE (did you mean `X`?)`.
pub fn parse(text: &str) -> Result<MdmToml, String> {
    toml::from_str::<MdmToml>(text).map_err(|e| describe(text, &e))
}

fn describe(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    let message = e.message().trim();
    // serde's unknown-field message: "unknown field `x`, expected one of `a`, `b`"
    // (or "expected `a`").
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let mut out = String::new();
    if let Some(l) = line {
        let _ = write!(out, "line {l}: ");
    }
    if message.starts_with("unknown field")
        && let Some((key, valid)) = quoted.split_first()
    {
        let _ = write!(out, "unknown key `{key}`");
        if let Some(best) = nearest(key, valid) {
            let _ = write!(out, " (did you mean `{best}`?)");
        }
        let _ = write!(out, "; valid keys here: {}", valid.join(", "));
        return out;
    }
    out.push_str(message);
    out
}

/// The valid key closest to `key`, when it is close enough to be a typo.
pub fn nearest<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (strsim::damerau_levenshtein(key, v), *v))
        .filter(|(d, v)| *d <= 3.max(v.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// An inline secret is accepted only when nobody but the owner can read
/// the file.
fn check_permissions(path: &Path, file: &MdmToml) -> Result<(), CliError> {
    let inline: Vec<String> = file
        .sources
        .iter()
        .flat_map(|(name, s)| {
            s.inline_secrets()
                .into_iter()
                .map(move |k| format!("[sources.{name}] {k}"))
        })
        .collect();
    if inline.is_empty() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CliError::input(format!(
                "{p}: refusing an inline secret ({keys}) in a file others can read (mode {m:03o}): run `chmod 600 {p}`, or move the secret to an environment variable (client_secret_env, password_env, token_env)",
                p = path.display(),
                keys = inline.join(", "),
                m = mode & 0o777,
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn validate_source(name: &str, s: &SourceConfig) -> Result<(), String> {
    let at = format!("[sources.{name}]");
    mdm_mapping::source::check_name(name).map_err(|e| format!("{at}: {e}"))?;
    let Some(vendor) = s.vendor else {
        return Err(format!(
            "{at}: key `vendor` is missing (jamf, kandji or abm)"
        ));
    };
    let need = |v: &Option<String>, key: &str| {
        v.as_ref()
            .filter(|v| !v.trim().is_empty())
            .map(|_| ())
            .ok_or_else(|| format!("{at}: key `{key}` is missing ({vendor:?} source)"))
    };
    match vendor {
        VendorName::Jamf => {
            need(&s.url, "url")?;
            if s.client_id.is_none() && s.username.is_none() {
                return Err(format!(
                    "{at}: set `client_id` with `client_secret_env` (API client), or `username` with `password_env`"
                ));
            }
        }
        VendorName::Kandji => need(&s.url, "url")?,
        VendorName::Abm => {
            need(&s.client_id, "client_id")?;
            need(&s.key_id, "key_id")?;
            if s.private_key_file.is_none() {
                return Err(format!("{at}: key `private_key_file` is missing"));
            }
        }
    }
    // An opt-in of another vendor is a mistake, not a no-op.
    let opt_ins = [
        ("security_reads", s.security_reads, VendorName::Jamf),
        ("details", s.details, VendorName::Kandji),
        ("user_active", s.user_active, VendorName::Kandji),
        ("applecare", s.applecare, VendorName::Abm),
        ("activation_lock", s.activation_lock, VendorName::Abm),
    ];
    if s.users && vendor == VendorName::Abm {
        return Err(format!(
            "{at}: key `users` applies to jamf and kandji sources only (this one is abm)"
        ));
    }
    for (key, on, of) in opt_ins {
        if on && of != vendor {
            return Err(format!(
                "{at}: key `{key}` applies to {} sources only (this one is {})",
                Vendor::from(of),
                Vendor::from(vendor)
            ));
        }
    }
    Ok(())
}

/// A secret from the file (inline) or from the environment variable it names.
fn secret(
    name: &str,
    inline: &Option<String>,
    env: &Option<String>,
    key: &str,
) -> Result<String, CliError> {
    if let Some(s) = inline {
        return Ok(s.clone());
    }
    let Some(var) = env else {
        return Err(CliError::input(format!(
            "[sources.{name}]: set `{key}_env` to the environment variable holding the {key}"
        )));
    };
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            CliError::input(format!(
                "[sources.{name}]: {var} (named by `{key}_env`) is not set"
            ))
        })
}

/// Builds the named source.
pub fn build(name: &str, s: &SourceConfig) -> Result<Configured, CliError> {
    validate_source(name, s).map_err(CliError::input)?;
    let bad = |e: &dyn std::fmt::Display| CliError::input(format!("[sources.{name}]: {e}"));
    let page_size = super::sources::page_size()?;
    let (client, source): (VendorClient, Box<dyn DeviceSource>) = match s.vendor.map(Vendor::from) {
        Some(Vendor::Jamf) => {
            let builder = jamf_client::Client::builder(s.url.clone().unwrap_or_default());
            let builder = match (&s.client_id, &s.username) {
                (Some(id), _) => builder.client_credentials(
                    id.clone(),
                    secret(
                        name,
                        &s.client_secret,
                        &s.client_secret_env,
                        "client_secret",
                    )?,
                ),
                (None, Some(user)) => builder.user_password(
                    user.clone(),
                    secret(name, &s.password, &s.password_env, "password")?,
                ),
                (None, None) => unreachable_config(name)?,
            };
            let client = builder.build().map_err(|e| bad(&e))?;
            let mut options = jamf_client::SourceOptions::default();
            if let Some(n) = page_size {
                options = options.page_size(n);
            }
            if s.security_reads {
                options = options.security(jamf_client::SecurityReads::all());
            }
            let mut source: Box<dyn DeviceSource> = Box::new(client.device_source(options));
            if s.users {
                source = Box::new(mdm_mapping::source::WithUsers::new(
                    source,
                    std::sync::Arc::new(JamfUsers(client.clone())),
                ));
            }
            (VendorClient::Jamf(client), source)
        }
        Some(Vendor::Kandji) => {
            let mut builder = kandji_client::KandjiClient::builder()
                .tenant(s.url.clone().unwrap_or_default())
                .token(secret(name, &s.token, &s.token_env, "token")?);
            if super::sources::client_limits_off() {
                builder = builder.rate_limits(kandji_client::RateLimits::unlimited());
            }
            let client = builder.build().map_err(|e| bad(&e))?;
            let mut source = client
                .device_source()
                .with_details(s.details)
                .with_user_active(s.user_active);
            if let Some(n) = page_size {
                source = source.with_query(
                    kandji_client::DeviceQuery::new()
                        .ordering("device_id")
                        .page_size(n),
                );
            }
            let mut source: Box<dyn DeviceSource> = Box::new(source);
            if s.users {
                source = Box::new(mdm_mapping::source::WithUsers::new(
                    source,
                    std::sync::Arc::new(KandjiUsers(client.clone())),
                ));
            }
            (VendorClient::Kandji(client), source)
        }
        _ => {
            let credentials = abm_client::Credentials::from_pem_file(
                s.client_id.clone().unwrap_or_default(),
                s.key_id.clone().unwrap_or_default(),
                s.private_key_file.as_deref().unwrap_or(Path::new("")),
            )
            .map_err(|e| bad(&e))?;
            let mut builder = abm_client::AbmClient::builder(credentials);
            if let Some(u) = &s.url {
                builder = builder.base_url(u.clone());
            }
            if let Some(u) = &s.token_url {
                builder = builder.token_url(u.clone());
            }
            if super::sources::client_limits_off() {
                builder = builder.rate_limit(None);
            }
            let client = builder.build().map_err(|e| bad(&e))?;
            let mut source = client
                .device_source()
                .with_applecare(s.applecare)
                .with_activation_lock(s.activation_lock);
            if let Some(n) = page_size {
                source = source.limit(n.min(abm_client::MAX_LIMIT));
            }
            (VendorClient::Abm(client), Box::new(source))
        }
    };
    let named = mdm_mapping::source::Named::new(name, source).map_err(|e| bad(&e))?;
    Ok(Configured {
        name: name.to_owned(),
        client,
        opt_ins: OptIns {
            security_reads: s.security_reads,
            details: s.details,
            user_active: s.user_active,
            applecare: s.applecare,
            activation_lock: s.activation_lock,
            users: s.users,
        },
        source: super::sources::register(Box::new(named)),
    })
}

/// A user record (`entity: user`) of a vendor's user directory.
fn user_record(
    vendor: Vendor,
    id: String,
    email: Option<String>,
    full_name: Option<String>,
    username: Option<String>,
) -> mdm_mapping::SourceDevice {
    let mut d = mdm_mapping::SourceDevice::new(vendor, mdm_mapping::Entity::User, id);
    d.assignee = mdm_mapping::Assignee {
        email,
        full_name,
        username,
        ..mdm_mapping::Assignee::default()
    }
    .into_option();
    d
}

/// A 403 on the users endpoint names the privilege it needs.
fn users_error(
    vendor: Vendor,
    status: Option<u16>,
    privilege: &str,
    e: mdm_mapping::SourceError,
) -> mdm_mapping::SourceError {
    if status == Some(403) {
        mdm_mapping::SourceError::new(
            vendor,
            mdm_mapping::SourceErrorKind::Auth,
            format!(
                "GET /api/v1/users refused (403): the API client needs the \"{privilege}\" privilege for `users = true`"
            ),
        )
    } else {
        e
    }
}

/// Jamf's user directory (`GET /api/v1/users`, or the Classic API on
/// servers before 11.26).
#[derive(Debug)]
struct JamfUsers(jamf_client::Client);

#[async_trait::async_trait]
impl mdm_mapping::source::UserDirectory for JamfUsers {
    async fn users(&self) -> Result<Vec<mdm_mapping::SourceDevice>, mdm_mapping::SourceError> {
        use futures::TryStreamExt;
        let mut out = Vec::new();
        let mut pages = self.0.users();
        loop {
            match pages.try_next().await {
                Ok(Some(page)) => out.extend(page.items.into_iter().map(|u| {
                    user_record(
                        Vendor::Jamf,
                        u.id.as_str().to_string(),
                        u.email,
                        u.realname,
                        u.username,
                    )
                })),
                Ok(None) => return Ok(out),
                Err(e) => {
                    let status = e.status().map(|s| s.as_u16());
                    return Err(users_error(Vendor::Jamf, status, "Read Users", e.into()));
                }
            }
        }
    }
}

/// Kandji's user directory (`GET /api/v1/users`).
#[derive(Debug)]
struct KandjiUsers(kandji_client::KandjiClient);

#[async_trait::async_trait]
impl mdm_mapping::source::UserDirectory for KandjiUsers {
    async fn users(&self) -> Result<Vec<mdm_mapping::SourceDevice>, mdm_mapping::SourceError> {
        use futures::TryStreamExt;
        let mut out = Vec::new();
        let mut users = self.0.users(kandji_client::UserQuery::new());
        loop {
            match users.try_next().await {
                Ok(Some(u)) => out.push(user_record(Vendor::Kandji, u.id, u.email, u.name, None)),
                Ok(None) => return Ok(out),
                Err(e) => {
                    let status = e.status();
                    return Err(users_error(Vendor::Kandji, status, "List users", e.into()));
                }
            }
        }
    }
}

fn unreachable_config<T>(name: &str) -> Result<T, CliError> {
    Err(CliError::input(format!(
        "[sources.{name}]: no credentials (client_id or username)"
    )))
}

/// The commented template `mdm config init` writes: every key, its
/// default and what it does.
pub const TEMPLATE: &str = r#"# mdm.toml: the sources, the inventory and the mapping for `mdm`.
#
# Where mdm looks: --config PATH, else $MDM_CONFIG, else ./mdm.toml.
# Precedence: flags > environment variables > this file.
# Secrets: prefer *_env (the name of an environment variable). A secret
# written inline is accepted only if this file is readable by you alone
# (chmod 600 mdm.toml); otherwise mdm refuses to start.

# The inventory: a SQLite file (created on first sync) or a postgres:// URL.
# Overridden by --db and MDM_DATABASE_URL. Default: none (required by sync).
db = "inventory.db"

# One table per source; the name (after "sources.") is yours. Several
# sources of one vendor are fine (two Jamf tenants, twenty Kandji ones).

[sources.jamf-main]
vendor = "jamf"                           # jamf | kandji | abm
url = "https://example.jamfcloud.com"     # the Jamf Pro base URL
client_id = "00000000-0000-0000-0000-000000000000"  # API client (Jamf Pro > Settings > API roles and clients)
client_secret_env = "JAMF_MAIN_SECRET"    # environment variable with the client secret
# client_secret = "..."                   # inline instead (chmod 600 required)
# username = "api-user"                   # or a user account ...
# password_env = "JAMF_MAIN_PASSWORD"     # ... and its password
security_reads = false                    # FileVault key, recovery lock, activation lock, AppleCare id (each needs its privilege)
# users = false                           # upsert Jamf's users as employees (reads the user list once; "Read Users")

# [sources.kandji-main]
# vendor = "kandji"
# url = "acme"                            # the tenant subdomain or the API URL
# token_env = "KANDJI_TOKEN"              # API token (Kandji > Settings > Access)
# details = false                         # read /details per device (1 request per device)
# user_active = false                     # "User Active" of each device's user (reads the user list once)
# users = false                           # upsert Kandji's users as employees (reads the user list once; "List users")

# [sources.abm]
# vendor = "abm"
# client_id = "BUSINESSAPI.00000000-0000-0000-0000-000000000000"
# key_id = "00000000-0000-0000-0000-000000000000"
# private_key_file = "abm-key.pem"        # the .pem downloaded from ABM/ASM
# applecare = false                       # AppleCare coverage (1 request per device)
# activation_lock = false                 # Activation Lock status (1 request per device; ABM 2.5+ / ASM 1.7+)
# url = "https://api-business.apple.com"  # default
# token_url = "https://account.apple.com/auth/oauth2/token"  # default

# How `mdm sync` runs (every key optional; defaults shown).
[sync]
# schedule = "24h"                        # run again and again this long apart (as --every); default: once
# jitter = "5m"                           # delay each start by a random part of this (default: a tenth of schedule, at most 5m)
# incremental = true                      # read only what changed where the vendor allows it (Jamf: report date)
# full_every = 24                         # a full reading after this many incremental ones (only a full one reports devices gone)
# full_after = "7days"                    # a full reading when the last one is older than this
# overlap = "10m"                         # an incremental reading starts this long before the watermark

# The mapping (every key optional; defaults shown).
[mapping]
# match_on = ["jamf_id", "kandji_id", "serial_number", "udid", "imei"]  # identifiers tried in order to find an existing asset
# match_asset_tag = false                 # also match on the asset tag
# new_asset_status = "allocated"          # status of new assets ("" leaves it unset)
# on_missing = ""                         # status for devices gone from every source ("" = leave them)
# store_recovery_key = false              # keep FileVault recovery keys in the inventory
# assign_employees = true                 # link devices to employees by user
# create_employees = true                 # create employees that do not exist (first name, last name and email needed)
# catalog_defaults = true                 # start from the default field mapping (false: only [mapping.fields])
#
# [mapping.fields.location]
# ownership = "fill_if_empty"             # source | inventory | fill_if_empty | ignore
# from = { jamf = "building_id" }
#
# [mapping.fields.po_date]
# priority = ["jamf", "abm"]              # which source wins when several have a value
"#;

/// `mdm config init|check`.
pub(super) fn run(
    args: &ConfigArgs,
    explicit: Option<&Path>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::failure(format!("cannot write the output: {e}"));
    match &args.command {
        ConfigCommand::Init { path, force } => {
            let path = path
                .clone()
                .or_else(|| explicit.map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
            if path.exists() && !force {
                return Err(CliError::input(format!(
                    "{} exists; pass --force to overwrite it",
                    path.display()
                )));
            }
            write_private(&path, TEMPLATE)
                .map_err(|e| CliError::failure(format!("{}: cannot write: {e}", path.display())))?;
            writeln!(out, "wrote {}", path.display()).map_err(io)
        }
        ConfigCommand::Check => {
            let Some(path) = locate(explicit) else {
                return Err(CliError::input(
                    "no configuration: pass --config PATH, set MDM_CONFIG, or run `mdm config init`",
                ));
            };
            let loaded = load(&path)?;
            let mut effective = loaded.file.clone();
            for s in effective.sources.values_mut() {
                *s = s.redacted();
            }
            if let Ok(db) = std::env::var("MDM_DATABASE_URL")
                && !db.trim().is_empty()
            {
                effective.db = Some(db);
            }
            if let Some(db) = &mut effective.db {
                *db = redact_url(db);
            }
            let text = toml::to_string(&effective)
                .map_err(|e| CliError::failure(format!("cannot print the configuration: {e}")))?;
            writeln!(
                out,
                "# {}: ok ({} sources)",
                path.display(),
                effective.sources.len()
            )
            .map_err(io)?;
            out.write_all(text.as_bytes()).map_err(io)
        }
    }
}

/// A URL with its password replaced.
fn redact_url(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some(REDACTED));
            u.to_string()
        }
        _ => s.to_owned(),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses() {
        let f = parse(TEMPLATE).expect("template");
        assert_eq!(f.sources.len(), 1);
        assert!(Config::from_file_form(f.mapping).is_ok());
    }

    /// The README's walk-through file is a valid file.
    #[test]
    fn the_readme_example_is_valid() {
        let readme = include_str!("../../../README.md");
        let from = readme.find("**1. Write the file.**").expect("walk-through");
        let block = readme[from..]
            .split("```toml\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a toml block");
        let f = parse(block).expect("parses");
        assert_eq!(f.sources.len(), 4);
        for (name, s) in &f.sources {
            validate_source(name, s).expect("valid source");
        }
        Config::from_file_form(f.mapping).expect("valid mapping");
    }

    /// The defaults the template shows, uncommented, are the defaults.
    #[test]
    fn the_template_shows_the_true_defaults() {
        let mapping = TEMPLATE.split("\n[mapping]\n").nth(1).expect("[mapping]");
        let shown: String = mapping
            .lines()
            .take_while(|l| !l.starts_with("# [mapping.fields"))
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = "))
            .map(|l| format!("{}\n", l))
            .collect();
        assert!(shown.lines().count() >= 8, "{shown}");
        let from_template = Config::from_toml_str(&shown).expect("shown defaults parse");
        assert_eq!(from_template, Config::default(), "{shown}");

        // [sync]: the incremental defaults shown are the engine's.
        let section = TEMPLATE.split("\n[sync]\n").nth(1).expect("[sync]");
        let shown: String = section
            .lines()
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                ["incremental", "full_every", "full_after", "overlap"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(|l| format!("{}\n", l))
            .collect();
        assert_eq!(shown.lines().count(), 4, "{shown}");
        let sync: SyncSection = toml::from_str(&shown).expect("shown [sync] parses");
        assert_eq!(
            sync.incremental().expect("valid").expect("on"),
            mdm_mapping::sync::Incremental::default()
        );
    }

    #[test]
    fn misspelled_key_names_line_key_and_suggestion() {
        let e =
            parse("db = \"x\"\n\n[sources.a]\nvendor = \"jamf\"\nclent_id = \"x\"\n").unwrap_err();
        assert!(e.starts_with("line 5: "), "{e}");
        assert!(e.contains("`clent_id`"), "{e}");
        assert!(e.contains("did you mean `client_id`?"), "{e}");
    }

    #[test]
    fn misspelled_mapping_key_is_suggested() {
        let e = parse("[mapping]\nmatch_onn = []\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("did you mean `match_on`?"), "{e}");
    }

    #[test]
    fn debug_hides_secrets() {
        let s = SourceConfig {
            client_secret: Some("hunter2".into()),
            ..SourceConfig::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
