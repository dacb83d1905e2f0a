//! [`JamfDeviceSource`]: every computer, then every mobile device, as pages
//! of normalized [`SourceDevice`]s behind the shared [`DeviceSource`] trait.
//!
//! The cursor names the phase and the page: `computers:3` is the fourth
//! page of computers, `mobile:0` the first page of mobile devices. A sync
//! that failed can resume from the cursor of the page that failed.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, FuturesOrdered};
use futures::{FutureExt, StreamExt, TryStreamExt};
use reqwest::StatusCode;

use mdm_mapping::DroppedValues;
use mdm_mapping::source::guard_pages;
use mdm_mapping::{
    Cursor, DevicePage, DeviceSource, SourceDevice, SourceError, SourceErrorKind, Vendor,
};

use crate::api::computers::{ComputerQuery, ComputerSection, MAX_PAGE_SIZE};
use crate::api::mobile::{MobileDeviceQuery, MobileDeviceSection};
use crate::client::{Client, RawPage, next_page};
use crate::error::Error;
use crate::map::{self, SecurityReads, SiteNames};
use crate::models::{MobileDevice, Page};

/// The default rows per page of a [`JamfDeviceSource`]: Jamf's maximum, so
/// a sync makes one request per 2,000 computers.
pub const DEFAULT_SOURCE_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

/// The default number of page requests a [`JamfDeviceSource`] has in
/// flight in [`DeviceSource::pages`]; as many pages again may be decoding
/// meanwhile, so the next requests are on their way while pages decode,
/// and two pages decode at once on a machine with two cores. See
/// [`JamfDeviceSource::with_lookahead`].
pub const DEFAULT_LOOKAHEAD: usize = 2;

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
///
/// [`pages`](DeviceSource::pages) keeps up to
/// [`lookahead`](JamfDeviceSource::lookahead) pages in flight: Jamf pages by
/// number and the first page of each phase says how many rows there are,
/// so the following pages are requested before the current one is decoded,
/// and pages decode on blocking threads
/// ([`tokio::task::spawn_blocking`]). No page past the last one is ever
/// requested, pages come out in order, and dropping the stream cancels
/// what is in flight. [`fetch_page`](DeviceSource::fetch_page) reads one
/// page.
pub struct JamfDeviceSource {
    client: Client,
    options: SourceOptions,
    lookahead: usize,
    sites: tokio::sync::OnceCell<Arc<SiteNames>>,
    dropped: DroppedValues,
}

impl fmt::Debug for JamfDeviceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JamfDeviceSource")
            .field("client", &self.client)
            .field("options", &self.options)
            .field("lookahead", &self.lookahead)
            .finish_non_exhaustive()
    }
}

/// A page read and mapped, and where the listing goes after it.
struct Fetched {
    devices: Vec<SourceDevice>,
    next: Option<Position>,
    /// `totalCount` of the page's phase, as this response said.
    total: Option<u64>,
}

impl Fetched {
    fn into_page(self) -> DevicePage {
        DevicePage {
            devices: self.devices,
            next: self.next.map(Position::cursor),
        }
    }
}

/// What is known of the position after a page before its response is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Predicted {
    /// Only the response can tell (no `totalCount` known for the phase yet).
    Unknown,
    /// The position after the page, `None` at the end of the listing.
    Known(Option<Position>),
}

/// A page in flight: its position, what was predicted to follow it, and
/// the read.
type InFlight<'a> = BoxFuture<'a, (Position, Predicted, Result<Fetched, Error>)>;

/// The state of [`JamfDeviceSource::pipelined`].
struct Pipeline<'a> {
    /// Pages requested or decoding, oldest first.
    in_flight: FuturesOrdered<InFlight<'a>>,
    /// One permit per request that may be on the wire at once
    /// ([`lookahead`](JamfDeviceSource::lookahead)): a page holds one from
    /// its request until its body is in, not while it decodes.
    requests: Arc<tokio::sync::Semaphore>,
    /// The next position to request, once it is certain to be needed.
    frontier: Option<Position>,
    /// `(phase, totalCount)` as the latest response said (`None`: it did
    /// not say, so the next page waits for the response before it).
    total: Option<(Phase, u64)>,
    done: bool,
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
            lookahead: DEFAULT_LOOKAHEAD,
            sites: tokio::sync::OnceCell::new(),
            dropped: DroppedValues::new(),
        }
    }

    /// Keep up to `n` page requests in flight in
    /// [`pages`](DeviceSource::pages) (default [`DEFAULT_LOOKAHEAD`]), and
    /// up to `n` more pages decoding meanwhile: a page holds its request
    /// only until its body is in. `1` reads one page at a time (request,
    /// decode, then the next). Capped at the client's
    /// [`max_concurrent_requests`](Client::max_concurrent_requests) (Jamf
    /// advises at most 5 connections); 0 counts as 1. Each page requested
    /// or decoding holds its body and records in memory (about 7 MB of
    /// JSON for 2,000 computers).
    ///
    /// ```
    /// use jamf_client::{Client, SourceOptions};
    ///
    /// let client = Client::builder("https://acme.jamfcloud.com")
    ///     .client_credentials("client-id", "client-secret")
    ///     .max_concurrent_requests(3)
    ///     .build()
    ///     .unwrap();
    /// let source = client.device_source(SourceOptions::default()).with_lookahead(4);
    /// assert_eq!(source.lookahead(), 3);
    /// ```
    pub fn with_lookahead(mut self, n: usize) -> Self {
        self.lookahead = n;
        self
    }

    /// The most page requests [`pages`](DeviceSource::pages) keeps in
    /// flight: the
    /// configured lookahead, at least 1 and at most the client's
    /// [`max_concurrent_requests`](Client::max_concurrent_requests).
    pub fn lookahead(&self) -> usize {
        self.lookahead
            .min(self.client.max_concurrent_requests())
            .max(1)
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
        if items == 0
            && let Some(t) = total
            && u64::from(at.page).saturating_mul(u64::from(size)) < t
        {
            // `totalCount` is a hint: an empty page ends the listing even
            // when it promised more, but not silently.
            tracing::warn!(
                cursor = %at.cursor(),
                total_count = t,
                "Jamf answered an empty page before totalCount was reached; taking it as the end of the listing"
            );
        }
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

    /// The position after `at` when its page holds the rows `total` says
    /// it holds: what [`after`](Self::after) will say once the page is in,
    /// unless the listing changes meanwhile.
    fn predict(&self, at: Position, total: Option<(Phase, u64)>) -> Predicted {
        match total {
            Some((phase, total)) if phase == at.phase => {
                let size = at.size.unwrap_or(self.options.page_size);
                let before = u64::from(at.page) * u64::from(size);
                let rows = total.saturating_sub(before).min(u64::from(size));
                let rows = usize::try_from(rows).unwrap_or(usize::MAX);
                Predicted::Known(self.after(at, rows, Some(total)))
            }
            _ => Predicted::Unknown,
        }
    }

    /// Reads, decodes and maps the page at `at`; the request waits for a
    /// permit of `requests`, held until the body is in.
    async fn fetch_at(
        &self,
        at: Position,
        requests: &tokio::sync::Semaphore,
    ) -> Result<Fetched, Error> {
        match at.phase {
            Phase::Computers => self.computers_page(at, requests).await,
            Phase::Mobile => self.mobile_page(at, requests).await,
        }
    }

    async fn computers_page(
        &self,
        at: Position,
        requests: &tokio::sync::Semaphore,
    ) -> Result<Fetched, Error> {
        let size = at.size.unwrap_or(self.options.page_size);
        let raw = {
            let _permit = requests.acquire().await;
            self.client
                .computers_page_raw(&self.computer_query(size), at.page)
                .await?
        };
        let mut fetched = self
            .listing_page(
                at,
                raw,
                |_| async {},
                |c, (), security| map::computer_owned(c, security),
            )
            .await?;
        if self.options.security.reads_secrets() {
            self.add_secrets(&mut fetched.devices).await?;
        }
        Ok(fetched)
    }

    async fn mobile_page(
        &self,
        at: Position,
        requests: &tokio::sync::Semaphore,
    ) -> Result<Fetched, Error> {
        let size = at.size.unwrap_or(self.options.page_size);
        let raw = {
            let _permit = requests.acquire().await;
            self.client
                .mobile_devices_page_raw(&self.mobile_query(size), at.page)
                .await?
        };
        self.listing_page(
            at,
            raw,
            |page: &Page<MobileDevice>| {
                // Site names, read once, only when a device names a site.
                let needs_sites = page.items.iter().any(|m| {
                    m.general
                        .as_ref()
                        .and_then(|g| g.site_id.as_deref())
                        .is_some_and(|id| !id.trim().is_empty() && id.trim() != "-1")
                });
                async move {
                    if needs_sites {
                        self.site_names().await
                    } else {
                        Arc::default()
                    }
                }
            },
            |m, sites: &Arc<SiteNames>, security| map::mobile_device(&m, sites, security),
        )
        .await
    }

    /// One page of a Jamf listing, computers or mobile devices alike: the
    /// body is decoded off the async threads (noting the values it dropped),
    /// `context` reads what mapping needs beyond the page (the site names),
    /// and each item is mapped off the async threads too. The position
    /// after it follows [`after`](Self::after).
    async fn listing_page<T, C, Ctx, Fut>(
        &self,
        at: Position,
        raw: RawPage,
        context: C,
        map: fn(T, &Ctx, &SecurityReads) -> SourceDevice,
    ) -> Result<Fetched, Error>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
        C: FnOnce(&Page<T>) -> Fut,
        Fut: std::future::Future<Output = Ctx>,
        Ctx: Send + 'static,
    {
        let (page, dropped) = off_thread(move || {
            let _ = crate::de::take_dropped();
            let page = raw.decode::<T>();
            page.map(|p| (p, crate::de::take_dropped()))
        })
        .await??;
        self.count_dropped(dropped);
        let ctx = context(&page).await;
        let security = self.options.security;
        let items = page.items.len();
        let total = page.total_count;
        let devices = off_thread(move || {
            page.items
                .into_iter()
                .map(|item| map(item, &ctx, &security))
                .collect::<Vec<_>>()
        })
        .await?;
        Ok(Fetched {
            devices,
            next: self.after(at, items, total),
            total,
        })
    }

    /// Site names, read once (`GET /api/v1/sites`). Without the "Read Sites"
    /// privilege the site is left out rather than failing the sync.
    /// Counts the values a decode dropped because it could not read them.
    fn count_dropped(&self, dropped: Vec<(&'static str, String)>) {
        for (field, raw) in dropped {
            self.dropped.record(Vendor::Jamf, field, &raw);
        }
    }

    async fn site_names(&self) -> Arc<SiteNames> {
        self.sites
            .get_or_init(|| async {
                match self.client.sites().await {
                    Ok(sites) => Arc::new(
                        sites
                            .into_iter()
                            .filter_map(|s| s.name.map(|n| (s.id.as_str().to_string(), n)))
                            .collect(),
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read Jamf sites; mobile devices will have no site");
                        Arc::default()
                    }
                }
            })
            .await
            .clone()
    }

    /// The page stream of [`DeviceSource::pages`] from `start`, before
    /// [`guard_pages`]: up to [`lookahead`](Self::lookahead) requests in
    /// flight and as many pages again decoding, yielded in order.
    ///
    /// A page is requested only once it is certain to be needed: the
    /// position after a page in flight is predicted from the phase's
    /// `totalCount` with the rules the response itself will be read by
    /// ([`after`](Self::after)), so an unchanged listing makes exactly the
    /// requests of a page-by-page read. The first page of each phase (or
    /// of a resumed listing) goes alone, since only its `totalCount` tells
    /// how many follow. When a response disagrees with the prediction (rows
    /// were added or deleted meanwhile), the pages in flight after it are
    /// dropped (cancelled) and the listing goes on from what the response
    /// says.
    fn pipelined(&self, start: Position) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        let lookahead = self.lookahead();
        // Pages requested or decoding: a page that is decoding no longer
        // holds a request, so the next ones are on the wire meanwhile.
        // One at a time stays one at a time.
        let depth = if lookahead == 1 { 1 } else { lookahead * 2 };
        let state = Pipeline {
            in_flight: FuturesOrdered::new(),
            requests: Arc::new(tokio::sync::Semaphore::new(lookahead)),
            frontier: Some(start),
            total: None,
            done: false,
        };
        stream::unfold(state, move |mut st| async move {
            loop {
                if st.done {
                    return None;
                }
                while st.in_flight.len() < depth {
                    let Some(at) = st.frontier.take() else { break };
                    let predicted = self.predict(at, st.total);
                    st.frontier = match predicted {
                        Predicted::Known(next) => next,
                        Predicted::Unknown => None,
                    };
                    let requests = Arc::clone(&st.requests);
                    st.in_flight.push_back(
                        async move { (at, predicted, self.fetch_at(at, &requests).await) }
                            .boxed(),
                    );
                }
                let (at, predicted, result) = st.in_flight.next().await?;
                let fetched = match result {
                    Ok(f) => f,
                    Err(e) => {
                        st.done = true;
                        st.in_flight = FuturesOrdered::new();
                        return Some((
                            Err(SourceError::from(e).at_cursor(Some(at.cursor()))),
                            st,
                        ));
                    }
                };
                st.total = fetched.total.map(|t| (at.phase, t));
                if predicted != Predicted::Known(fetched.next) {
                    if predicted != Predicted::Unknown {
                        tracing::debug!(
                            cursor = %at.cursor(),
                            dropped = st.in_flight.len(),
                            "the Jamf listing changed while it was read; dropping the pages requested after this one"
                        );
                    }
                    st.in_flight = FuturesOrdered::new();
                    st.frontier = fetched.next;
                }
                st.done = fetched.next.is_none();
                if fetched.devices.is_empty()
                    && fetched.next.is_some_and(|next| next.phase != at.phase)
                {
                    // No computers (or none left): the mobile devices follow
                    // in the same step. An empty page that names a next one
                    // would read, to the guard, as a server making no progress.
                    continue;
                }
                return Some((Ok(fetched.into_page()), st));
            }
        })
        .boxed()
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

    /// The Jamf Pro server's base URL.
    fn server(&self) -> Option<String> {
        Some(self.client.base_url().to_string())
    }

    /// The same listing, filtered on the report date (computers'
    /// `general.reportDate`, mobile devices' `lastInventoryUpdateDate`);
    /// dropped values are counted with this source's.
    fn changed_since(&self, since: chrono::DateTime<chrono::Utc>) -> Option<Box<dyn DeviceSource>> {
        Some(Box::new(JamfDeviceSource {
            client: self.client.clone(),
            options: self.options.clone().updated_since(since),
            lookahead: self.lookahead,
            sites: tokio::sync::OnceCell::new(),
            dropped: self.dropped.clone(),
        }))
    }

    fn updated_key(&self) -> Option<&'static str> {
        Some("last_inventory_update")
    }

    fn requests_sent(&self) -> Option<u64> {
        Some(self.client.requests_sent())
    }

    fn endpoint(&self, cursor: Option<&Cursor>) -> String {
        let phase = match cursor {
            None => self.first().map(|p| p.phase),
            Some(c) => c.as_str().parse::<Position>().ok().map(|p| p.phase),
        };
        match phase {
            Some(Phase::Mobile) => "GET /api/v2/mobile-devices/detail",
            _ => "GET /api/v{1,3,4}/computers-inventory",
        }
        .to_string()
    }

    /// The values dropped because they could not be read, over every page
    /// stream of this source.
    fn dropped_values(&self) -> DroppedValues {
        self.dropped.clone()
    }

    /// Invalidates a user token on the server
    /// (`POST /api/v1/auth/invalidate-token`) and forgets the cached token.
    /// For API client (OAuth) credentials it only forgets the token: Jamf
    /// has no revocation endpoint for those; they expire on their own.
    async fn close(&self) -> Result<(), SourceError> {
        self.client
            .invalidate_token()
            .await
            .map_err(SourceError::from)
    }

    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let position = match cursor {
            None => match self.first() {
                Some(p) => p,
                None => return Ok(DevicePage::default()),
            },
            Some(c) => parse_cursor(c)?,
        };
        // One page alone: nothing else to share the request permit with.
        self.fetch_at(position, &tokio::sync::Semaphore::new(1))
            .await
            .map(Fetched::into_page)
            .map_err(|e| SourceError::from(e).at_cursor(Some(position.cursor())))
    }

    /// Up to [`lookahead`](JamfDeviceSource::lookahead) requests in flight
    /// and as many pages again decoding on blocking threads, yielded in order, with the guarantees
    /// of [`DeviceSource::pages`] (see [`guard_pages`]).
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        let start = match &from {
            None => self.first().ok_or(None),
            Some(c) => parse_cursor(c).map_err(Some),
        };
        let raw = match start {
            Ok(position) => self.pipelined(position),
            // Nothing to read: one empty last page, as fetch_page gives.
            Err(None) => stream::iter([Ok(DevicePage::default())]).boxed(),
            Err(Some(e)) => stream::iter([Err(e)]).boxed(),
        };
        guard_pages(
            Vendor::Jamf,
            move |c| self.endpoint(c),
            self.dropped.clone(),
            raw,
        )
    }
}

fn parse_cursor(c: &Cursor) -> Result<Position, SourceError> {
    c.as_str().parse::<Position>().map_err(|e| {
        SourceError::new(Vendor::Jamf, SourceErrorKind::Config, e).at_cursor(Some(c.clone()))
    })
}

/// Runs CPU work (decoding a page, mapping its records) on a blocking
/// thread, so the async threads keep other requests moving meanwhile.
async fn off_thread<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Ok(v),
        Err(e) => match e.try_into_panic() {
            // Decoding does not panic; if it ever does, as it would inline.
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(Error::InvalidArgument {
                name: "runtime",
                reason: "the Tokio runtime shut down while a page was decoded".into(),
            }),
        },
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
