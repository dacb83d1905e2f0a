//! Mobile devices: the inventory listing with sections
//! (`/api/v2/mobile-devices/detail`), the summary list and one device.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::api::computers::{MAX_PAGE_SIZE, total};
use crate::client::{Client, PageStream, RawPage, check_id};
use crate::error::Error;
use crate::models::{MobileDevice, MobileDeviceDetail, MobileDeviceSummary, Page, SearchResults};
use crate::rsql;

/// A section of the mobile device inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MobileDeviceSection {
    /// `GENERAL`: name, UDID, OS, management, dates, site id.
    General,
    /// `HARDWARE`: serial number, model, MAC addresses.
    Hardware,
    /// `USER_AND_LOCATION`.
    UserAndLocation,
    /// `PURCHASING`.
    Purchasing,
    /// `SECURITY`: Activation Lock, passcode, Lost Mode.
    Security,
    /// `APPLICATIONS`.
    Applications,
    /// `EBOOKS`.
    Ebooks,
    /// `NETWORK`: IMEI, MEID, carrier.
    Network,
    /// `SERVICE_SUBSCRIPTIONS`.
    ServiceSubscriptions,
    /// `CERTIFICATES`.
    Certificates,
    /// `PROFILES`.
    Profiles,
    /// `USER_PROFILES`.
    UserProfiles,
    /// `PROVISIONING_PROFILES`.
    ProvisioningProfiles,
    /// `SHARED_USERS`.
    SharedUsers,
    /// `GROUPS`.
    Groups,
    /// `EXTENSION_ATTRIBUTES`.
    ExtensionAttributes,
}

impl MobileDeviceSection {
    /// The sections holding every catalog field of a mobile device.
    pub const INVENTORY: [MobileDeviceSection; 5] = [
        MobileDeviceSection::General,
        MobileDeviceSection::Hardware,
        MobileDeviceSection::UserAndLocation,
        MobileDeviceSection::Purchasing,
        MobileDeviceSection::Network,
    ];

    /// The wire name (`"USER_AND_LOCATION"`).
    pub fn as_str(self) -> &'static str {
        use MobileDeviceSection::*;
        match self {
            General => "GENERAL",
            Hardware => "HARDWARE",
            UserAndLocation => "USER_AND_LOCATION",
            Purchasing => "PURCHASING",
            Security => "SECURITY",
            Applications => "APPLICATIONS",
            Ebooks => "EBOOKS",
            Network => "NETWORK",
            ServiceSubscriptions => "SERVICE_SUBSCRIPTIONS",
            Certificates => "CERTIFICATES",
            Profiles => "PROFILES",
            UserProfiles => "USER_PROFILES",
            ProvisioningProfiles => "PROVISIONING_PROFILES",
            SharedUsers => "SHARED_USERS",
            Groups => "GROUPS",
            ExtensionAttributes => "EXTENSION_ATTRIBUTES",
        }
    }
}

impl fmt::Display for MobileDeviceSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to list from the mobile device inventory.
///
/// Defaults: section GENERAL, `sort=mobileDeviceId:asc`, 500 per page,
/// `exception-handling=LENIENT` (one device with broken data gets `null`
/// sections instead of failing the whole page with a 500).
#[derive(Debug, Clone, PartialEq)]
pub struct MobileDeviceQuery {
    sections: Vec<MobileDeviceSection>,
    filter: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    sort: String,
    page_size: u32,
    lenient: bool,
}

impl Default for MobileDeviceQuery {
    fn default() -> Self {
        MobileDeviceQuery::new()
    }
}

impl MobileDeviceQuery {
    /// GENERAL only, sorted by id, 500 per page, lenient.
    pub fn new() -> Self {
        MobileDeviceQuery {
            sections: Vec::new(),
            filter: None,
            updated_since: None,
            sort: "mobileDeviceId:asc".into(),
            page_size: 500,
            lenient: true,
        }
    }

    /// Adds a section.
    pub fn section(mut self, section: MobileDeviceSection) -> Self {
        if !self.sections.contains(&section) {
            self.sections.push(section);
        }
        self
    }

    /// Adds sections.
    pub fn sections(mut self, sections: impl IntoIterator<Item = MobileDeviceSection>) -> Self {
        for s in sections {
            self = self.section(s);
        }
        self
    }

    /// An RSQL filter (fields such as `serialNumber`, `username`, `managed`).
    pub fn filter(mut self, rsql: impl Into<String>) -> Self {
        let f = rsql.into();
        self.filter = (!f.trim().is_empty()).then_some(f);
        self
    }

    /// Only devices whose last inventory update is after `since`.
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// The sort (default `mobileDeviceId:asc`).
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = sort.into();
        self
    }

    /// Rows per page, 1 to 2000.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// `exception-handling=STRICT` instead of `LENIENT`.
    pub fn strict(mut self) -> Self {
        self.lenient = false;
        self
    }

    /// The rows per page requested.
    pub fn get_page_size(&self) -> u32 {
        self.page_size
    }

    /// The filter sent: the caller's AND the `updated_since` clause.
    pub fn effective_filter(&self) -> Option<String> {
        let since = self
            .updated_since
            .map(|t| rsql::after("lastInventoryUpdateDate", t));
        let clauses: Vec<String> = self.filter.iter().cloned().chain(since).collect();
        (!clauses.is_empty()).then(|| rsql::and(clauses))
    }

    pub(crate) fn to_query(&self, page: u32) -> Vec<(String, String)> {
        let sections = if self.sections.is_empty() {
            vec![MobileDeviceSection::General]
        } else {
            self.sections.clone()
        };
        let mut q: Vec<(String, String)> = sections
            .into_iter()
            .map(|s| ("section".to_string(), s.as_str().to_string()))
            .collect();
        q.push(("page".into(), page.to_string()));
        q.push(("page-size".into(), self.page_size.to_string()));
        q.push(("sort".into(), self.sort.clone()));
        if let Some(f) = self.effective_filter() {
            q.push(("filter".into(), f));
        }
        let mode = if self.lenient { "LENIENT" } else { "STRICT" };
        q.push(("exception-handling".into(), mode.into()));
        q
    }
}

impl Client {
    /// Every mobile device matching `query` (`GET /api/v2/mobile-devices/detail`),
    /// as a lazy stream of pages.
    pub fn mobile_devices(&self, query: MobileDeviceQuery) -> PageStream<MobileDevice> {
        let client = self.clone();
        Client::page_stream("GET /api/v2/mobile-devices/detail", move |page| {
            let client = client.clone();
            let query = query.clone();
            async move { client.mobile_devices_page(&query, page).await }
        })
    }

    /// One page (0-based) of `GET /api/v2/mobile-devices/detail`.
    ///
    /// # Errors
    ///
    /// API, authentication, transport and decode errors.
    pub async fn mobile_devices_page(
        &self,
        query: &MobileDeviceQuery,
        page: u32,
    ) -> Result<Page<MobileDevice>, Error> {
        self.mobile_devices_page_raw(query, page).await?.decode()
    }

    /// [`mobile_devices_page`](Self::mobile_devices_page) without the decoding.
    pub(crate) async fn mobile_devices_page_raw(
        &self,
        query: &MobileDeviceQuery,
        page: u32,
    ) -> Result<RawPage, Error> {
        let url = self
            .inner
            .transport
            .url(&["api", "v2", "mobile-devices", "detail"]);
        let response = self.get(&url, &query.to_query(page)).await?;
        Ok(RawPage {
            response,
            page,
            page_size: query.page_size,
            context: format!("mobile device inventory page {page}"),
        })
    }

    /// The short list of mobile devices (`GET /api/v2/mobile-devices`,
    /// sorted by id), as a lazy stream of pages of `page_size` (1–2000).
    pub fn mobile_device_summaries(&self, page_size: u32) -> PageStream<MobileDeviceSummary> {
        let client = self.clone();
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        Client::page_stream("GET /api/v2/mobile-devices", move |page| {
            let client = client.clone();
            async move {
                let query = vec![
                    ("page".to_string(), page.to_string()),
                    ("page-size".to_string(), page_size.to_string()),
                    ("sort".to_string(), "id:asc".to_string()),
                ];
                let r: SearchResults<MobileDeviceSummary> = client
                    .get_json(
                        &["api", "v2", "mobile-devices"],
                        &query,
                        &format!("mobile device list page {page}"),
                    )
                    .await?;
                Ok(Page {
                    page,
                    page_size,
                    total_count: total(r.total_count),
                    items: r.results,
                })
            }
        })
    }

    /// One mobile device (`GET /api/v2/mobile-devices/{id}/detail`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 when there is no such device.
    pub async fn mobile_device(&self, id: &str) -> Result<MobileDeviceDetail, Error> {
        let id = check_id("id", id)?;
        self.get_json(
            &["api", "v2", "mobile-devices", id, "detail"],
            &[],
            "mobile device detail",
        )
        .await
    }
}
