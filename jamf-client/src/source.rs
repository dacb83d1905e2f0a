//! [`JamfDeviceSource`]: every computer, then every mobile device, as pages
//! of normalized [`SourceDevice`]s behind the shared [`DeviceSource`] trait.
//!
//! The cursor names the phase and the page: `computers:3` is the fourth
//! page of computers, `mobile:0` the first page of mobile devices. A sync
//! that failed can resume from the cursor of the page that failed.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use reqwest::StatusCode;

use mdm_mapping::{
    Cursor, DevicePage, DeviceSource, SourceDevice, SourceError, SourceErrorKind, Vendor,
};

use crate::api::computers::{ComputerQuery, ComputerSection, MAX_PAGE_SIZE};
use crate::api::mobile::{MobileDeviceQuery, MobileDeviceSection};
use crate::client::{Client, next_page};
use crate::error::Error;
use crate::map::{self, SecurityReads, SiteNames};

/// The default rows per page of a [`JamfDeviceSource`]: Jamf's maximum, so
/// a sync makes one request per 2,000 computers.
pub const DEFAULT_SOURCE_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

/// What a [`JamfDeviceSource`] reads.
///
/// ```
/// use jamf_client::{SourceOptions, SecurityReads};
///
/// let opts = SourceOptions::default()
///     .page_size(500) // smaller pages when the server is slow
///     .mobile_devices(false)
///     .security(SecurityReads::none().with_activation_lock(true));
/// assert_eq!(opts.get_page_size(), 500);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOptions {
    page_size: u32,
    computers: bool,
    mobile_devices: bool,
    updated_since: Option<DateTime<Utc>>,
    security: SecurityReads,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            page_size: DEFAULT_SOURCE_PAGE_SIZE,
            computers: true,
            mobile_devices: true,
            updated_since: None,
            security: SecurityReads::none(),
        }
    }
}

impl SourceOptions {
    /// Rows per page (1 to 2000; default 2000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// The rows per page.
    pub fn get_page_size(&self) -> u32 {
        self.page_size
    }

    /// Whether to list computers (default yes).
    pub fn computers(mut self, on: bool) -> Self {
        self.computers = on;
        self
    }

    /// Whether to list mobile devices (default yes).
    pub fn mobile_devices(mut self, on: bool) -> Self {
        self.mobile_devices = on;
        self
    }

    /// Only devices whose inventory was updated after `since`
    /// (`general.reportDate` for computers, `lastInventoryUpdateDate` for
    /// mobile devices): an incremental sync.
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// The opt-in security reads (default none).
    pub fn security(mut self, security: SecurityReads) -> Self {
        self.security = security;
        self
    }

    /// The security reads.
    pub fn get_security(&self) -> SecurityReads {
        self.security
    }
}

/// The listing phase of a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Computers,
    Mobile,
}

/// A parsed [`Cursor`]: phase, 0-based page, and the page size when it
/// differs from the configured one (a server that serves fewer rows than
/// asked: `computers:3:1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    phase: Phase,
    page: u32,
    size: Option<u32>,
}

impl Position {
    fn start(phase: Phase) -> Self {
        Position {
            phase,
            page: 0,
            size: None,
        }
    }

    fn cursor(self) -> Cursor {
        let phase = match self.phase {
            Phase::Computers => "computers",
            Phase::Mobile => "mobile",
        };
        match self.size {
            Some(size) => Cursor::new(format!("{phase}:{}:{size}", self.page)),
            None => Cursor::new(format!("{phase}:{}", self.page)),
        }
    }
}

/// A cursor this source did not write.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid Jamf cursor {0:?} (expected computers:N or mobile:N, optionally :SIZE)")]
pub struct InvalidCursor(String);

impl FromStr for Position {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidCursor(s.to_string());
        let mut parts = s.trim().split(':');
        let phase = match parts.next() {
            Some("computers") => Phase::Computers,
            Some("mobile") => Phase::Mobile,
            _ => return Err(bad()),
        };
        let page = parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .ok_or_else(bad)?;
        let size = match parts.next() {
            None => None,
            Some(n) => Some(
                n.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                    .ok_or_else(bad)?,
            ),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Position { phase, page, size })
    }
}

/// A [`DeviceSource`] over a Jamf Pro server: every computer (entity
/// `computer`), then every mobile device (entity `mobile_device`).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use futures::TryStreamExt;
/// use jamf_client::{Client, JamfDeviceSource, SourceOptions};
/// use mdm_mapping::DeviceSource;
///
/// let client = Client::builder("https://acme.jamfcloud.com")
///     .client_credentials("client-id", "client-secret")
///     .build()?;
/// let source: Box<dyn DeviceSource> =
///     Box::new(JamfDeviceSource::new(client, SourceOptions::default()));
/// let mut devices = source.devices(None);
/// while let Some(d) = devices.try_next().await? {
///     println!("{}", serde_json::to_string(&d)?);
/// }
/// # Ok(()) }
/// ```
pub struct JamfDeviceSource {
    client: Client,
    options: SourceOptions,
    sites: tokio::sync::OnceCell<SiteNames>,
}

impl fmt::Debug for JamfDeviceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JamfDeviceSource")
            .field("client", &self.client)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A [`DeviceSource`] reading this server with `options`.
    pub fn device_source(&self, options: SourceOptions) -> JamfDeviceSource {
        JamfDeviceSource::new(self.clone(), options)
    }
}

impl JamfDeviceSource {
    /// A source over `client`.
    pub fn new(client: Client, options: SourceOptions) -> Self {
        JamfDeviceSource {
            client,
            options,
            sites: tokio::sync::OnceCell::new(),
        }
    }

    /// The options in use.
    pub fn options(&self) -> &SourceOptions {
        &self.options
    }

    /// The client in use.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn first(&self) -> Option<Position> {
        if self.options.computers {
            Some(Position::start(Phase::Computers))
        } else if self.options.mobile_devices {
            Some(Position::start(Phase::Mobile))
        } else {
            None
        }
    }

    /// The position after a page of `items` rows of `total`.
    fn after(&self, at: Position, items: usize, total: Option<u64>) -> Option<Position> {
        let size = at.size.unwrap_or(self.options.page_size);
        match next_page(at.page, size, items, total) {
            Some((page, next_size)) => Some(Position {
                phase: at.phase,
                page,
                size: (next_size != self.options.page_size).then_some(next_size),
            }),
            None if at.phase == Phase::Computers && self.options.mobile_devices => {
                Some(Position::start(Phase::Mobile))
            }
            None => None,
        }
    }

    fn computer_query(&self, size: u32) -> ComputerQuery {
        let mut q = ComputerQuery::new()
            .sections(ComputerSection::INVENTORY)
            .page_size(size);
        if self.options.security.activation_lock {
            q = q.section(ComputerSection::Security);
        }
        if let Some(t) = self.options.updated_since {
            q = q.updated_since(t);
        }
        q
    }

    fn mobile_query(&self, size: u32) -> MobileDeviceQuery {
        let mut q = MobileDeviceQuery::new()
            .sections(MobileDeviceSection::INVENTORY)
            .page_size(size);
        if self.options.security.activation_lock {
            q = q.section(MobileDeviceSection::Security);
        }
        if let Some(t) = self.options.updated_since {
            q = q.updated_since(t);
        }
        q
    }

    async fn computers_page(&self, at: Position) -> Result<DevicePage, Error> {
        let size = at.size.unwrap_or(self.options.page_size);
        let result = self
            .client
            .computers_page(&self.computer_query(size), at.page)
            .await?;
        let next = self.after(at, result.items.len(), result.total_count);
        let security = self.options.security;
        let mut devices: Vec<SourceDevice> = result
            .items
            .iter()
            .map(|c| map::computer(c, &security))
            .collect();
        if security.reads_secrets() {
            self.add_secrets(&mut devices).await?;
        }
        Ok(DevicePage {
            devices,
            next: next.map(Position::cursor),
        })
    }

    async fn mobile_page(&self, at: Position) -> Result<DevicePage, Error> {
        let size = at.size.unwrap_or(self.options.page_size);
        let result = self
            .client
            .mobile_devices_page(&self.mobile_query(size), at.page)
            .await?;
        let needs_sites = result.items.iter().any(|m| {
            m.general
                .as_ref()
                .and_then(|g| g.site_id.as_deref())
                .is_some_and(|id| !id.trim().is_empty() && id.trim() != "-1")
        });
        let empty = SiteNames::new();
        let sites = if needs_sites {
            self.site_names().await
        } else {
            &empty
        };
        let devices = result
            .items
            .iter()
            .map(|m| map::mobile_device(m, sites, &self.options.security))
            .collect();
        let next = self.after(at, result.items.len(), result.total_count);
        Ok(DevicePage {
            devices,
            next: next.map(Position::cursor),
        })
    }

    /// Site names, read once (`GET /api/v1/sites`). Without the "Read Sites"
    /// privilege the site is left out rather than failing the sync.
    async fn site_names(&self) -> &SiteNames {
        self.sites
            .get_or_init(|| async {
                match self.client.sites().await {
                    Ok(sites) => sites
                        .into_iter()
                        .filter_map(|s| s.name.map(|n| (s.id.as_str().to_string(), n)))
                        .collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read Jamf sites; mobile devices will have no site");
                        SiteNames::new()
                    }
                }
            })
            .await
    }

    /// Reads the opted-in secrets of each computer, a few at a time. A 404
    /// means the computer has none; other errors (a missing privilege) fail
    /// the page, since the caller asked for them.
    async fn add_secrets(&self, devices: &mut [SourceDevice]) -> Result<(), Error> {
        let security = self.options.security;
        let client = &self.client;
        let ids: Vec<String> = devices.iter().map(|d| d.source_id.clone()).collect();
        let found: Vec<(
            usize,
            Option<secrecy::SecretString>,
            Option<secrecy::SecretString>,
        )> = futures::stream::iter(ids.into_iter().enumerate())
            .map(|(i, id)| async move {
                let key = if security.filevault_recovery_key {
                    not_found_is_none(client.computer_filevault(&id).await)?
                        .and_then(|fv| fv.personal_recovery_key)
                } else {
                    None
                };
                let password = if security.recovery_lock_password {
                    not_found_is_none(client.computer_recovery_lock_password(&id).await)?.flatten()
                } else {
                    None
                };
                Ok::<_, Error>((i, key, password))
            })
            .buffer_unordered(client.max_concurrent_requests())
            .try_collect()
            .await?;
        for (i, key, password) in found {
            if let Some(d) = devices.get_mut(i) {
                if let Some(k) = key {
                    d.secrets.insert("recovery_key", k);
                }
                if let Some(p) = password {
                    d.secrets.insert("recovery_lock_password", p);
                }
            }
        }
        Ok(())
    }
}

fn not_found_is_none<T>(r: Result<T, Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl DeviceSource for JamfDeviceSource {
    fn vendor(&self) -> Vendor {
        Vendor::Jamf
    }

    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let position = match cursor {
            None => match self.first() {
                Some(p) => p,
                None => return Ok(DevicePage::default()),
            },
            Some(c) => c.as_str().parse::<Position>().map_err(|e| {
                SourceError::new(Vendor::Jamf, SourceErrorKind::Config, e)
                    .at_cursor(Some(c.clone()))
            })?,
        };
        let result = match position.phase {
            Phase::Computers => self.computers_page(position).await,
            Phase::Mobile => self.mobile_page(position).await,
        };
        result.map_err(|e| SourceError::from(e).at_cursor(Some(position.cursor())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for s in [
            "computers:0",
            "computers:3",
            "mobile:0",
            "mobile:12",
            "computers:2:1000",
        ] {
            let p: Position = s.parse().unwrap();
            assert_eq!(p.cursor().as_str(), s);
        }
        for bad in [
            "",
            "computers",
            "computers:-1",
            "tablets:1",
            "mobile:x",
            "mobile:1:0",
            "mobile:1:5000",
            "mobile:1:2:3",
        ] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
    }
}
