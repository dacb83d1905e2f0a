//! Building each vendor's [`DeviceSource`] from the environment (flags override).
//!
//! | vendor | variables |
//! |---|---|
//! | Jamf Pro | `JAMF_URL`, `JAMF_CLIENT_ID` + `JAMF_CLIENT_SECRET`, or `JAMF_USERNAME` + `JAMF_PASSWORD` |
//! | Kandji | `KANDJI_URL` (URL or subdomain), `KANDJI_TOKEN` |
//! | ABM / ASM | `ABM_CLIENT_ID`, `ABM_KEY_ID`, `ABM_PRIVATE_KEY` (path to the .pem), `ABM_URL`, `ABM_TOKEN_URL` |
//!
//! Plain `http://` URLs are refused unless the host is a loopback address.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::stream::BoxStream;
use mdm_mapping::{
    Cursor, DevicePage, DeviceSource, DroppedValues, SourceDevice, SourceError, Vendor,
};

use super::{CliError, CredentialArgs};

tokio::task_local! {
    static OPEN: Sessions;
}

/// The sources one command built, so that the command's end (success or
/// failure alike) can close them (a Jamf user token is invalidated) and
/// report what they dropped. [`build`] registers each source it builds with
/// the `Sessions` of the command it runs in ([`Sessions::scope`]).
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<Vec<Arc<dyn DeviceSource>>>>);

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("open", &self.sources().len())
            .finish()
    }
}

impl Sessions {
    /// Runs `f` with these sessions as the ones [`build`] registers with.
    pub async fn scope<F: std::future::Future>(&self, f: F) -> F::Output {
        OPEN.scope(self.clone(), f).await
    }

    fn sources(&self) -> Vec<Arc<dyn DeviceSource>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What every source built in the scope dropped because it could not be read.
    pub fn dropped(&self) -> DroppedValues {
        let all = DroppedValues::new();
        for s in self.sources() {
            all.merge(&s.dropped_values());
        }
        all
    }

    /// Ends the command: reports the dropped values (one warning line with
    /// the counts; with `-v`, a few examples per field) and closes every
    /// source. A source that fails to close is logged, not fatal: the run's
    /// own outcome is what the command reports.
    pub async fn finish(&self) {
        let dropped = self.dropped();
        if !dropped.is_empty() {
            tracing::warn!("dropped: {}", dropped.summary());
            for (field, d) in dropped.snapshot() {
                tracing::info!(%field, count = d.count, examples = ?d.examples, "values that could not be read");
            }
        }
        let open = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        for s in open {
            if let Err(e) = s.close().await {
                tracing::warn!(error = %e, "could not end the {} session", s.vendor());
            }
        }
    }
}

/// A source shared with the command's [`Sessions`].
#[derive(Debug)]
struct Shared(Arc<dyn DeviceSource>);

#[async_trait]
impl DeviceSource for Shared {
    fn vendor(&self) -> Vendor {
        self.0.vendor()
    }
    fn name(&self) -> &str {
        self.0.name()
    }
    fn id_qualifier(&self) -> Option<&str> {
        self.0.id_qualifier()
    }
    fn server(&self) -> Option<String> {
        self.0.server()
    }
    fn changed_since(&self, since: chrono::DateTime<chrono::Utc>) -> Option<Box<dyn DeviceSource>> {
        self.0.changed_since(since)
    }
    fn updated_key(&self) -> Option<&'static str> {
        self.0.updated_key()
    }
    fn requests_sent(&self) -> Option<u64> {
        self.0.requests_sent()
    }
    fn learned_rate(&self) -> Option<f64> {
        self.0.learned_rate()
    }
    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        self.0.fetch_page(cursor).await
    }
    fn endpoint(&self, cursor: Option<&Cursor>) -> String {
        self.0.endpoint(cursor)
    }
    fn dropped_values(&self) -> DroppedValues {
        self.0.dropped_values()
    }
    async fn close(&self) -> Result<(), SourceError> {
        self.0.close().await
    }
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        self.0.pages(from)
    }
    fn devices(&self, from: Option<Cursor>) -> BoxStream<'_, Result<SourceDevice, SourceError>> {
        self.0.devices(from)
    }
}

/// Registers `source` with the command's sessions (when there are any).
pub(super) fn register(source: Box<dyn DeviceSource>) -> Box<dyn DeviceSource> {
    let source: Arc<dyn DeviceSource> = Arc::from(source);
    let _ = OPEN.try_with(|s| {
        s.0.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&source))
    });
    Box::new(Shared(source))
}

/// `MDM_CLIENT_RATE_LIMITS=off`: no client-side pacing of Kandji and ABM
/// requests, for a local simulator or a benchmark. A real tenant still
/// enforces its own limits (and answers 429, which is honoured).
pub(super) fn client_limits_off() -> bool {
    env("MDM_CLIENT_RATE_LIMITS").is_some_and(|v| v.eq_ignore_ascii_case("off"))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn need(name: &str, vendor: Vendor) -> Result<String, CliError> {
    env(name).ok_or_else(|| {
        CliError::input(format!(
            "{vendor}: {name} is not set (see `mdm --help` or the README for the variables each source needs)"
        ))
    })
}

/// Whether the environment (or flags) name credentials for `vendor`.
pub fn configured(vendor: Vendor, creds: &CredentialArgs) -> bool {
    match vendor {
        Vendor::Jamf => creds.jamf_url.is_some() || env("JAMF_URL").is_some(),
        Vendor::Kandji => creds.kandji_url.is_some() || env("KANDJI_URL").is_some(),
        Vendor::Abm => env("ABM_CLIENT_ID").is_some(),
    }
}

/// A vendor client as configured: what `mdm check` probes.
#[derive(Debug, Clone)]
pub enum VendorClient {
    /// Jamf Pro.
    Jamf(jamf_client::Client),
    /// Kandji.
    Kandji(kandji_client::KandjiClient),
    /// Apple Business Manager / Apple School Manager.
    Abm(abm_client::AbmClient),
}

/// The opt-in reads of a source, which need privileges of their own.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptIns {
    /// Jamf security reads (FileVault, recovery lock, ...).
    pub security_reads: bool,
    /// Kandji device details.
    pub details: bool,
    /// Kandji "User Active" (the user list).
    pub user_active: bool,
    /// ABM AppleCare coverage.
    pub applecare: bool,
    /// ABM Activation Lock status.
    pub activation_lock: bool,
    /// Jamf or Kandji user directory as employees.
    pub users: bool,
}

/// A source as configured: its name, its client and opt-ins, and the
/// device source a sync reads (registered with the command's [`Sessions`]).
#[derive(Debug)]
pub struct Configured {
    /// The source's name (`jamf-eu`; the vendor for an unnamed source).
    pub name: String,
    /// Its client.
    pub client: VendorClient,
    /// Its opt-in reads.
    pub opt_ins: OptIns,
    /// What a sync reads.
    pub source: Box<dyn DeviceSource>,
}

/// Builds the source for `vendor` from flags and environment, registered
/// with the running command's [`Sessions`] (closed when the command ends).
pub fn build(vendor: Vendor, creds: &CredentialArgs) -> Result<Configured, CliError> {
    let (client, source) = build_source(vendor, creds)?;
    Ok(Configured {
        name: vendor.as_str().to_owned(),
        client,
        opt_ins: OptIns::default(),
        source: register(source),
    })
}

/// `MDM_PAGE_SIZE`: the page size of every listing, when set (tuning and
/// tests; each client keeps it within its vendor's range).
pub(super) fn page_size() -> Result<Option<u32>, CliError> {
    env("MDM_PAGE_SIZE")
        .map(|v| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    CliError::input(format!("MDM_PAGE_SIZE={v:?} is not a positive number"))
                })
        })
        .transpose()
}

fn build_source(
    vendor: Vendor,
    creds: &CredentialArgs,
) -> Result<(VendorClient, Box<dyn DeviceSource>), CliError> {
    let page_size = page_size()?;
    let config = |e: &dyn std::fmt::Display| CliError::input(format!("{vendor}: {e}"));
    match vendor {
        Vendor::Jamf => {
            let url = match &creds.jamf_url {
                Some(u) => u.clone(),
                None => need("JAMF_URL", vendor)?,
            };
            let builder = jamf_client::Client::builder(url);
            let builder = match (env("JAMF_CLIENT_ID"), env("JAMF_USERNAME")) {
                (Some(id), _) => {
                    builder.client_credentials(id, need("JAMF_CLIENT_SECRET", vendor)?)
                }
                (None, Some(user)) => builder.user_password(user, need("JAMF_PASSWORD", vendor)?),
                (None, None) => {
                    return Err(CliError::input(
                        "jamf: set JAMF_CLIENT_ID and JAMF_CLIENT_SECRET (API client) or JAMF_USERNAME and JAMF_PASSWORD",
                    ));
                }
            };
            let client = builder.build().map_err(|e| config(&e))?;
            let mut options = jamf_client::SourceOptions::default();
            if let Some(n) = page_size {
                options = options.page_size(n);
            }
            let source = Box::new(client.device_source(options));
            Ok((VendorClient::Jamf(client), source))
        }
        Vendor::Kandji => {
            let url = match &creds.kandji_url {
                Some(u) => u.clone(),
                None => need("KANDJI_URL", vendor)?,
            };
            let mut builder = kandji_client::KandjiClient::builder()
                .tenant(url)
                .token(need("KANDJI_TOKEN", vendor)?);
            if client_limits_off() {
                builder = builder.rate_limits(kandji_client::RateLimits::unlimited());
            }
            let client = builder.build().map_err(|e| config(&e))?;
            let mut source = client.device_source();
            if let Some(n) = page_size {
                source = source.with_query(
                    kandji_client::DeviceQuery::new()
                        .ordering("device_id")
                        .page_size(n),
                );
            }
            Ok((VendorClient::Kandji(client), Box::new(source)))
        }
        Vendor::Abm => {
            let key: PathBuf = match &creds.abm_private_key {
                Some(p) => p.clone(),
                None => need("ABM_PRIVATE_KEY", vendor)?.into(),
            };
            let credentials = abm_client::Credentials::from_pem_file(
                need("ABM_CLIENT_ID", vendor)?,
                need("ABM_KEY_ID", vendor)?,
                &key,
            )
            .map_err(|e| config(&e))?;
            let mut builder = abm_client::AbmClient::builder(credentials);
            if let Some(u) = creds.abm_url.clone().or_else(|| env("ABM_URL")) {
                builder = builder.base_url(u);
            }
            if let Some(u) = creds.abm_token_url.clone().or_else(|| env("ABM_TOKEN_URL")) {
                builder = builder.token_url(u);
            }
            if client_limits_off() {
                builder = builder.rate_limit(None);
            }
            let client = builder.build().map_err(|e| config(&e))?;
            let mut source = client.device_source();
            if let Some(n) = page_size {
                source = source.limit(n.min(abm_client::MAX_LIMIT));
            }
            Ok((VendorClient::Abm(client), Box::new(source)))
        }
    }
}
