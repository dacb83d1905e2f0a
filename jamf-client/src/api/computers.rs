//! Computer inventory: the paged listing with sections, filter and sort,
//! one computer, and the opt-in security reads (FileVault recovery key,
//! Recovery Lock password).

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::client::{Client, PageStream, RawPage, check_id};
use crate::error::Error;
use crate::models::computer::RecoveryLockPassword;
use crate::models::{ComputerInventory, FileVaultInfo, Page};
use crate::rsql;
use crate::version::InventoryVersion;

/// The most rows Jamf returns per page (larger `page-size`s are silently capped).
pub const MAX_PAGE_SIZE: u32 = 2000;

/// A section of the computer inventory (the `section` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ComputerSection {
    /// `GENERAL`: name, asset tag, management, dates, site.
    General,
    /// `DISK_ENCRYPTION`: FileVault state and enabled users.
    DiskEncryption,
    /// `PURCHASING`.
    Purchasing,
    /// `APPLICATIONS`.
    Applications,
    /// `STORAGE`.
    Storage,
    /// `USER_AND_LOCATION`.
    UserAndLocation,
    /// `CONFIGURATION_PROFILES`.
    ConfigurationProfiles,
    /// `PRINTERS`.
    Printers,
    /// `SERVICES`.
    Services,
    /// `HARDWARE`: serial number, model, processor, MAC addresses.
    Hardware,
    /// `LOCAL_USER_ACCOUNTS`.
    LocalUserAccounts,
    /// `CERTIFICATES`.
    Certificates,
    /// `ATTACHMENTS`.
    Attachments,
    /// `PACKAGE_RECEIPTS`.
    PackageReceipts,
    /// `SECURITY`: Activation Lock, Recovery Lock, SIP, Gatekeeper.
    Security,
    /// `OPERATING_SYSTEM`.
    OperatingSystem,
    /// `LICENSED_SOFTWARE`.
    LicensedSoftware,
    /// `IBEACONS`.
    Ibeacons,
    /// `SOFTWARE_UPDATES`.
    SoftwareUpdates,
    /// `EXTENSION_ATTRIBUTES`.
    ExtensionAttributes,
    /// `CONTENT_CACHING`.
    ContentCaching,
    /// `GROUP_MEMBERSHIPS`.
    GroupMemberships,
}

impl ComputerSection {
    /// The sections holding every catalog field of a computer.
    pub const INVENTORY: [ComputerSection; 6] = [
        ComputerSection::General,
        ComputerSection::Hardware,
        ComputerSection::OperatingSystem,
        ComputerSection::UserAndLocation,
        ComputerSection::Purchasing,
        ComputerSection::DiskEncryption,
    ];

    /// The wire name (`"USER_AND_LOCATION"`).
    pub fn as_str(self) -> &'static str {
        use ComputerSection::*;
        match self {
            General => "GENERAL",
            DiskEncryption => "DISK_ENCRYPTION",
            Purchasing => "PURCHASING",
            Applications => "APPLICATIONS",
            Storage => "STORAGE",
            UserAndLocation => "USER_AND_LOCATION",
            ConfigurationProfiles => "CONFIGURATION_PROFILES",
            Printers => "PRINTERS",
            Services => "SERVICES",
            Hardware => "HARDWARE",
            LocalUserAccounts => "LOCAL_USER_ACCOUNTS",
            Certificates => "CERTIFICATES",
            Attachments => "ATTACHMENTS",
            PackageReceipts => "PACKAGE_RECEIPTS",
            Security => "SECURITY",
            OperatingSystem => "OPERATING_SYSTEM",
            LicensedSoftware => "LICENSED_SOFTWARE",
            Ibeacons => "IBEACONS",
            SoftwareUpdates => "SOFTWARE_UPDATES",
            ExtensionAttributes => "EXTENSION_ATTRIBUTES",
            ContentCaching => "CONTENT_CACHING",
            GroupMemberships => "GROUP_MEMBERSHIPS",
        }
    }
}

impl fmt::Display for ComputerSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to list from the computer inventory.
///
/// Defaults: section GENERAL, `sort=id:asc` (stable, unlike Jamf's default
/// `general.name:asc`), 500 rows per page.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use jamf_client::{ComputerQuery, ComputerSection};
///
/// let q = ComputerQuery::new()
///     .sections(ComputerSection::INVENTORY)
///     .filter(r#"general.platform=="Mac""#)
///     .updated_since(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap())
///     .page_size(5000); // capped at Jamf's 2000
/// assert_eq!(q.get_page_size(), 2000);
/// assert_eq!(
///     q.effective_filter().as_deref(),
///     Some(r#"(general.platform=="Mac");(general.reportDate>"2024-01-01T00:00:00Z")"#)
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ComputerQuery {
    sections: Vec<ComputerSection>,
    filter: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    sort: String,
    page_size: u32,
}

impl Default for ComputerQuery {
    fn default() -> Self {
        ComputerQuery::new()
    }
}

impl ComputerQuery {
    /// GENERAL only, sorted by id, 500 per page.
    pub fn new() -> Self {
        ComputerQuery {
            sections: Vec::new(),
            filter: None,
            updated_since: None,
            sort: "id:asc".into(),
            page_size: 500,
        }
    }

    /// Adds a section.
    pub fn section(mut self, section: ComputerSection) -> Self {
        if !self.sections.contains(&section) {
            self.sections.push(section);
        }
        self
    }

    /// Adds sections.
    pub fn sections(mut self, sections: impl IntoIterator<Item = ComputerSection>) -> Self {
        for s in sections {
            self = self.section(s);
        }
        self
    }

    /// An RSQL filter (see [`crate::rsql`] to build one safely).
    pub fn filter(mut self, rsql: impl Into<String>) -> Self {
        let f = rsql.into();
        self.filter = (!f.trim().is_empty()).then_some(f);
        self
    }

    /// Only computers whose last inventory report (`general.reportDate`) is
    /// after `since`: a daily sync reads what changed.
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// The sort (default `id:asc`); keep a unique key last so paging is stable.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = sort.into();
        self
    }

    /// Rows per page, 1 to 2000 (Jamf's cap). Use ~500 when requesting many
    /// sections: big pages take long to render.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// The rows per page requested.
    pub fn get_page_size(&self) -> u32 {
        self.page_size
    }

    /// The sections requested (GENERAL when none were added).
    pub fn get_sections(&self) -> Vec<ComputerSection> {
        if self.sections.is_empty() {
            vec![ComputerSection::General]
        } else {
            self.sections.clone()
        }
    }

    /// The filter sent: the caller's filter AND the `updated_since` clause.
    pub fn effective_filter(&self) -> Option<String> {
        let since = self
            .updated_since
            .map(|t| rsql::after("general.reportDate", t));
        let clauses: Vec<String> = self.filter.iter().cloned().chain(since).collect();
        (!clauses.is_empty()).then(|| rsql::and(clauses))
    }

    pub(crate) fn to_query(&self, page: u32) -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = self
            .get_sections()
            .into_iter()
            .map(|s| ("section".to_string(), s.as_str().to_string()))
            .collect();
        q.push(("page".into(), page.to_string()));
        q.push(("page-size".into(), self.page_size.to_string()));
        q.push(("sort".into(), self.sort.clone()));
        if let Some(f) = self.effective_filter() {
            q.push(("filter".into(), f));
        }
        q
    }
}

impl Client {
    /// Every computer matching `query`, as a lazy stream of pages (memory
    /// holds one page). Stops after `totalCount` rows or an empty page.
    ///
    /// ```no_run
    /// # async fn run(client: jamf_client::Client) -> Result<(), jamf_client::Error> {
    /// use futures::TryStreamExt;
    /// use jamf_client::{ComputerQuery, ComputerSection};
    ///
    /// let query = ComputerQuery::new().sections(ComputerSection::INVENTORY).page_size(1000);
    /// let mut pages = client.computers(query);
    /// while let Some(page) = pages.try_next().await? {
    ///     for c in &page.items {
    ///         println!("{} {:?}", c.id, c.hardware.as_ref().and_then(|h| h.serial_number.as_deref()));
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn computers(&self, query: ComputerQuery) -> PageStream<ComputerInventory> {
        let client = self.clone();
        Client::page_stream("GET /api/v1/computers-inventory", move |page| {
            let client = client.clone();
            let query = query.clone();
            async move { client.computers_page(&query, page).await }
        })
    }

    /// One page (0-based) of the computer inventory. The endpoint version
    /// is the server's (see [`Client::inventory_version`]); when it answers
    /// 404 the next older version is tried.
    ///
    /// Before the version is known, the first page is asked of the newest
    /// version at the same time as the server's version (one round trip,
    /// not two): a server that serves it is read from it; one that answers
    /// 404 is asked the version its release implies. An older server thus
    /// sees one request answered 404, once per client.
    ///
    /// # Errors
    ///
    /// API, authentication, transport and decode errors (the decode error
    /// names the JSON path and the page).
    pub async fn computers_page(
        &self,
        query: &ComputerQuery,
        page: u32,
    ) -> Result<Page<ComputerInventory>, Error> {
        self.computers_page_raw(query, page).await?.decode()
    }

    /// [`computers_page`](Self::computers_page) without the decoding.
    pub(crate) async fn computers_page_raw(
        &self,
        query: &ComputerQuery,
        page: u32,
    ) -> Result<RawPage, Error> {
        let raw = |response| RawPage {
            response,
            page,
            page_size: query.page_size,
            context: format!("computer inventory page {page}"),
        };
        let inventory_url = |version: InventoryVersion| {
            self.inner
                .transport
                .url(&["api", version.segment(), "computers-inventory"])
        };
        let params = query.to_query(page);
        // The answer of the version asked first, when it was asked before
        // the loop.
        let (mut version, mut first) = match self.settled_inventory().await {
            Some(version) => (version, None),
            None => {
                // The version is not known yet: the newest is asked beside
                // the server's version rather than after it (one round
                // trip, not two, before the first page). A server that
                // serves it needs nothing more; one that answers 404 is
                // asked the version its release implies (or the one
                // before the newest, if that was it), as before.
                let newest = InventoryVersion::NEWEST_FIRST[0];
                let url = inventory_url(newest);
                let (implied, answer) =
                    tokio::join!(self.inventory_version(), self.get(&url, &params));
                match &answer {
                    Ok(_) => self.settle_inventory(newest).await,
                    Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                        implied?;
                    }
                    Err(_) => {}
                }
                (newest, Some(answer))
            }
        };
        loop {
            let answer = match first.take() {
                Some(answer) => answer,
                None => self.get(&inventory_url(version), &params).await,
            };
            match answer {
                Ok(response) => return Ok(raw(response)),
                Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                    match self.downgrade_inventory(version).await {
                        Some(older) if older != version => version = older,
                        _ => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One computer with the given sections
    /// (`GET /api/vN/computers-inventory/{id}?section=…`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with status 404 when there is no such computer.
    pub async fn computer(
        &self,
        id: &str,
        sections: &[ComputerSection],
    ) -> Result<ComputerInventory, Error> {
        let id = check_id("id", id)?;
        let version = self.inventory_version().await?;
        let sections = if sections.is_empty() {
            vec![ComputerSection::General]
        } else {
            sections.to_vec()
        };
        let query: Vec<(String, String)> = sections
            .iter()
            .map(|s| ("section".to_string(), s.as_str().to_string()))
            .collect();
        self.get_json(
            &["api", version.segment(), "computers-inventory", id],
            &query,
            "computer",
        )
        .await
    }

    /// One computer with every section
    /// (`GET /api/vN/computers-inventory-detail/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with status 404 when there is no such computer.
    pub async fn computer_detail(&self, id: &str) -> Result<ComputerInventory, Error> {
        let id = check_id("id", id)?;
        let version = self.inventory_version().await?;
        self.get_json(
            &["api", version.segment(), "computers-inventory-detail", id],
            &[],
            "computer detail",
        )
        .await
    }

    /// A computer's FileVault information, including the personal recovery
    /// key (`GET /api/vN/computers-inventory/{id}/filevault`; Jamf privilege
    /// "View Disk Encryption Recovery Key").
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 when the computer has no FileVault information;
    /// 403 without the privilege.
    pub async fn computer_filevault(&self, id: &str) -> Result<FileVaultInfo, Error> {
        let id = check_id("id", id)?;
        let version = self.inventory_version().await?;
        let url = self.inner.transport.url(&[
            "api",
            version.segment(),
            "computers-inventory",
            id,
            "filevault",
        ]);
        let resp = self.get(&url, &[]).await?;
        resp.decode_secret("FileVault information")
    }

    /// A computer's Recovery Lock password
    /// (`GET /api/vN/computers-inventory/{id}/view-recovery-lock-password`;
    /// Jamf privilege "View Recovery Lock"). `None` when none is set.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 for an unknown computer; 403 without the privilege.
    pub async fn computer_recovery_lock_password(
        &self,
        id: &str,
    ) -> Result<Option<SecretString>, Error> {
        let id = check_id("id", id)?;
        let version = self.inventory_version().await?;
        let url = self.inner.transport.url(&[
            "api",
            version.segment(),
            "computers-inventory",
            id,
            "view-recovery-lock-password",
        ]);
        let resp = self.get(&url, &[]).await?;
        let body: RecoveryLockPassword = resp.decode_secret("Recovery Lock password")?;
        Ok(body.recovery_lock_password)
    }
}

/// `totalCount` as sent (absent or negative: unknown).
pub(crate) fn total(total_count: Option<i64>) -> Option<u64> {
    total_count.and_then(|t| u64::try_from(t).ok())
}
