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
use crate::models::mapped_mobile::MappedMobileDevice;

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
/// number and the first page of each phase says how many rows there are
/// (read from its body as soon as it is in, before it is decoded), so the
/// following pages are requested before the current one is decoded, and
/// pages decode on blocking threads ([`tokio::task::spawn_blocking`]),
/// each device mapped as soon as it is decoded. No page past the last one is ever
/// requested, pages come out in order, and dropping the stream cancels
/// what is in flight. [`fetch_page`](DeviceSource::fetch_page) reads one
/// page.
///
/// Of a computer or mobile device, only the fields the mapping reads are
/// decoded; the others (the reported IP addresses, battery health,
/// `initialEntryDate`, a mobile device's `managementId` and
/// `mdmProfileExpirationDate`, most of the security sections, …) are
/// skipped unread: one the server sends malformed neither fails the page
/// nor counts in [`dropped_values`](DeviceSource::dropped_values). The
/// fields read are read as
/// [`ComputerInventory`](crate::models::ComputerInventory) and
/// [`MobileDevice`](crate::models::MobileDevice) read them, and map to the
/// same records as [`map::computer`] and [`map::mobile_device`] give.
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
    /// Each phase's `totalCount` as its latest response said (`None`: not
    /// said yet, so the next page waits for a response before it). Kept
    /// per phase: a computers page answered after the first mobile page's
    /// count arrived must not make the mobile pages after it unpredicted.
    totals: Totals,
    /// The page nothing can be predicted after until its `totalCount` is
    /// known, and where that count arrives as soon as the response is in
    /// (before the page is decoded): see [`early_total`].
    awaited: Option<(Position, EarlyTotal)>,
    /// The predictions made for pages in flight from their early
    /// `totalCount` (one per listing phase at most): each page's own
    /// result is checked against its prediction, like any prediction.
    revised: Vec<(Position, Predicted)>,
    done: bool,
}

/// `totalCount` of each phase of the listing.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    computers: Option<u64>,
    mobile: Option<u64>,
}

impl Totals {
    fn get(&self, phase: Phase) -> Option<(Phase, u64)> {
        match phase {
            Phase::Computers => self.computers,
            Phase::Mobile => self.mobile,
        }
        .map(|t| (phase, t))
    }

    fn set(&mut self, phase: Phase, total: Option<u64>) {
        match phase {
            Phase::Computers => self.computers = total,
            Phase::Mobile => self.mobile = total,
        }
    }
}

/// Receives the `totalCount` a response states, read from its body as
/// soon as it is in ([`early_total`]); `None` when the body does not say
/// it plainly, and cancelled when the request fails.
type EarlyTotal = futures::channel::oneshot::Receiver<Option<u64>>;

/// What mapping a page of mobile devices needs, and the devices that name
/// a site the names read so far do not hold (by their index in the page).
struct MobileMapping {
    sites: Arc<SiteNames>,
    security: SecurityReads,
    unnamed: Vec<(usize, String)>,
    index: usize,
}

impl MobileMapping {
    fn map(&mut self, m: MappedMobileDevice) -> SourceDevice {
        let site = match map::site_id(&m) {
            Some(id) => {
                let name = self.sites.get(id);
                if name.is_none() {
                    self.unnamed.push((self.index, id.to_string()));
                }
                name.map(String::as_str)
            }
            None => None,
        };
        self.index += 1;
        map::mapped_mobile_device(m, site, &self.security)
    }
}

/// Sends the other half of an [`EarlyTotal`].
type EarlyTotalSender = futures::channel::oneshot::Sender<Option<u64>>;

/// Tells the pipeline a response's `totalCount` before the page is decoded,
/// when the page holds the rows that count says it holds (so the position
/// after it is what [`JamfDeviceSource::after`] will say once it is
/// decoded): a page cut short by a server's own lower page size, or an
/// empty page, is left to its decoded rows. `None` otherwise.
fn send_early_total(early: Option<EarlyTotalSender>, raw: &RawPage) {
    let Some(tx) = early else { return };
    let body = &raw.response.body;
    let total = early_total(body).filter(|&total| {
        let before = u64::from(raw.page) * u64::from(raw.page_size);
        let rows = total.saturating_sub(before).min(u64::from(raw.page_size));
        // Only a page with rows can be followed; an empty one ends the listing.
        rows > 0 && count_results(body).is_some_and(|n| n as u64 == rows)
    });
    // The pipeline may have stopped waiting (the stream was dropped).
    let _ = tx.send(total);
}

/// How many items the top-level `"results"` array of a listing body holds,
/// counted without decoding them: strings are skipped with `memchr`, and
/// only the array's own commas are counted. `None` when the body has no
/// such array or is cut off. A few milliseconds for a page of 2,000
/// computers; only the first page of each listing is counted.
pub(crate) fn count_results(body: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut depth = 0usize;
    // Inside the top-level object, the key just read (when it was
    // "results"), waiting for its `:` and value.
    let mut key_is_results = false;
    let mut results_depth: Option<usize> = None;
    let mut count = 0usize;
    let mut empty = true;
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => {
                // Skip the string, escapes included.
                let start = i + 1;
                let mut j = start;
                loop {
                    let k = j + memchr::memchr2(b'"', b'\\', body.get(j..)?)?;
                    if body[k] == b'\\' {
                        j = k + 2;
                        continue;
                    }
                    j = k;
                    break;
                }
                if results_depth.is_some_and(|d| depth == d) && empty {
                    empty = false;
                    count = 1;
                }
                if depth == 1 && results_depth.is_none() {
                    key_is_results = body.get(start..j) == Some(b"results");
                }
                i = j + 1;
                continue;
            }
            b'{' | b'[' => {
                if results_depth.is_some_and(|d| depth == d) && empty {
                    empty = false;
                    count = 1;
                }
                depth += 1;
                if b == b'[' && depth == 2 && key_is_results && results_depth.is_none() {
                    results_depth = Some(depth);
                }
            }
            b'}' | b']' => {
                if results_depth == Some(depth) {
                    return Some(count);
                }
                depth = depth.checked_sub(1)?;
            }
            b',' => {
                if results_depth == Some(depth) {
                    count += 1;
                }
                if depth == 1 {
                    key_is_results = false;
                }
            }
            b':' | b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => {
                // A number, true, false or null.
                if results_depth.is_some_and(|d| depth == d) && empty {
                    empty = false;
                    count = 1;
                }
                if depth == 1 {
                    key_is_results = false;
                }
            }
        }
        i += 1;
    }
    None
}

/// The `totalCount` of a listing body, read without decoding the body: the
/// first member of the top-level object (as Jamf Pro writes it,
/// `{"totalCount": 138, "results": [...]}`) or its last one
/// (`{..., "totalCount": 138}`). Anything else (another spelling, escapes,
/// a value that is not a plain whole number) is `None`, and the count is
/// taken from the decoded page as before.
///
/// This lets the pages after the first of a listing be requested while the
/// first is still being decoded. It is only a prediction: the decoded page
/// is checked against it like any other ([`JamfDeviceSource::pipelined`]).
pub(crate) fn early_total(body: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"totalCount\"";
    fn ws(b: &[u8]) -> &[u8] {
        b.trim_ascii_start()
    }
    fn ws_end(b: &[u8]) -> &[u8] {
        b.trim_ascii_end()
    }
    fn number(digits: &[u8]) -> Option<u64> {
        // At most 18 digits: no overflow, and no absurd count is believed.
        if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if digits.len() > 1 && digits[0] == b'0' {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
        )
    }
    let body = ws_end(ws(body));
    let inner = body.strip_prefix(b"{")?.strip_suffix(b"}")?;
    // First member: `"totalCount" : digits ,`
    if let Some(rest) = ws(inner).strip_prefix(KEY)
        && let Some(rest) = ws(rest).strip_prefix(b":")
    {
        let rest = ws(rest);
        let end = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(end);
        let after = ws(after);
        if after.is_empty() || after.starts_with(b",") {
            return number(digits);
        }
        return None;
    }
    // Last member: `, "totalCount" : digits`
    let rest = ws_end(inner);
    let start = rest
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let (before, digits) = rest.split_at(start);
    let before = ws_end(ws_end(before).strip_suffix(b":")?);
    let before = ws_end(before.strip_suffix(KEY)?);
    if before.ends_with(b",") {
        number(digits)
    } else {
        None
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
    /// `early` is given the response's `totalCount` as soon as the body is
    /// in ([`early_total`]).
    async fn fetch_at(
        &self,
        at: Position,
        requests: &tokio::sync::Semaphore,
        early: Option<EarlyTotalSender>,
    ) -> Result<Fetched, Error> {
        match at.phase {
            Phase::Computers => self.computers_page(at, requests, early).await,
            Phase::Mobile => self.mobile_page(at, requests, early).await,
        }
    }

    async fn computers_page(
        &self,
        at: Position,
        requests: &tokio::sync::Semaphore,
        early: Option<EarlyTotalSender>,
    ) -> Result<Fetched, Error> {
        let size = at.size.unwrap_or(self.options.page_size);
        let raw = {
            let _permit = requests.acquire().await;
            self.client
                .computers_page_raw(&self.computer_query(size), at.page)
                .await?
        };
        // Mapping a computer needs nothing beyond the page.
        let (mut fetched, _) = self
            .decode_page(at, raw, early, self.options.security, |security, c| {
                map::mapped_computer(c, security)
            })
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
        early: Option<EarlyTotalSender>,
    ) -> Result<Fetched, Error> {
        let size = at.size.unwrap_or(self.options.page_size);
        let raw = {
            let _permit = requests.acquire().await;
            self.client
                .mobile_devices_page_raw(&self.mobile_query(size), at.page)
                .await?
        };
        // Devices are mapped with the site names when they were read
        // before; a device naming a site they do not hold yet gets its site
        // once they are read (below).
        let state = MobileMapping {
            sites: self.sites.get().cloned().unwrap_or_default(),
            security: self.options.security,
            unnamed: Vec::new(),
            index: 0,
        };
        let (mut fetched, state) = self
            .decode_page(at, raw, early, state, MobileMapping::map)
            .await?;
        if !state.unnamed.is_empty() {
            // Read once, only when a device names a site.
            let sites = self.site_names(requests).await;
            for (i, id) in state.unnamed {
                if let Some(d) = fetched.devices.get_mut(i) {
                    d.fields.text("site", sites.get(&id).map(String::as_str));
                }
            }
        }
        Ok(fetched)
    }

    /// Decodes a listing page off the async threads, each item given to
    /// `map` (with `state`) as soon as it is decoded, so the page's typed
    /// items never all exist at once. The body's `totalCount` goes to
    /// `early` first ([`send_early_total`]); the values decoding dropped
    /// are counted. Returns the page, the position after it following
    /// [`after`](Self::after), and `state`.
    async fn decode_page<T, S>(
        &self,
        at: Position,
        raw: RawPage,
        early: Option<EarlyTotalSender>,
        mut state: S,
        map: fn(&mut S, T) -> SourceDevice,
    ) -> Result<(Fetched, S), Error>
    where
        T: serde::de::DeserializeOwned + 'static,
        S: Send + 'static,
    {
        let (devices, total, dropped, state) = off_thread(move || {
            send_early_total(early, &raw);
            let _ = crate::de::take_dropped();
            raw.decode_mapped(|item| map(&mut state, item))
                .map(|(total, devices)| (devices, total, crate::de::take_dropped(), state))
        })
        .await??;
        self.count_dropped(dropped);
        let items = devices.len();
        let fetched = Fetched {
            devices,
            next: self.after(at, items, total),
            total,
        };
        Ok((fetched, state))
    }

    /// Counts the values a decode dropped because it could not read them.
    fn count_dropped(&self, dropped: Vec<(&'static str, String)>) {
        for (field, raw) in dropped {
            self.dropped.record(Vendor::Jamf, field, &raw);
        }
    }

    /// Site names, read once (`GET /api/v1/sites`), the request taking a
    /// permit of `requests` like the pages, so the site names never go as
    /// a request beyond the listing's lookahead. Without the "Read Sites"
    /// privilege the site is left out rather than failing the sync.
    async fn site_names(&self, requests: &tokio::sync::Semaphore) -> Arc<SiteNames> {
        self.sites
            .get_or_init(|| async {
                let read = {
                    let _permit = requests.acquire().await;
                    self.client.sites().await
                };
                match read {
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
    /// how many follow; that count (and the page's row count) is read from
    /// the body as soon as it is in ([`early_total`], [`count_results`]),
    /// so the next pages are on the wire while the first is decoded. When
    /// a response disagrees with the prediction (rows
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
            totals: Totals::default(),
            awaited: None,
            revised: Vec::new(),
            done: false,
        };
        stream::unfold(state, move |mut st| async move {
            loop {
                if st.done {
                    return None;
                }
                while st.in_flight.len() < depth {
                    let Some(at) = st.frontier.take() else { break };
                    let predicted = self.predict(at, st.totals.get(at.phase));
                    let early = match predicted {
                        Predicted::Known(next) => {
                            st.frontier = next;
                            None
                        }
                        Predicted::Unknown => {
                            let (tx, rx) = futures::channel::oneshot::channel();
                            st.awaited = Some((at, rx));
                            Some(tx)
                        }
                    };
                    let requests = Arc::clone(&st.requests);
                    st.in_flight.push_back(
                        async move { (at, predicted, self.fetch_at(at, &requests, early).await) }
                            .boxed(),
                    );
                }
                // The next page in order, unless the awaited `totalCount`
                // comes first: then the pages after it are requested now.
                let next = match st.awaited.as_mut() {
                    Some((at, early)) => {
                        match futures::future::select(st.in_flight.next(), early).await {
                            futures::future::Either::Left((next, _)) => next,
                            futures::future::Either::Right((total, _)) => {
                                let at = *at;
                                st.awaited = None;
                                if let Ok(Some(total)) = total {
                                    let predicted = self.predict(at, Some((at.phase, total)));
                                    if let Predicted::Known(next) = predicted {
                                        st.totals.set(at.phase, Some(total));
                                        st.frontier = next;
                                        st.revised.push((at, predicted));
                                    }
                                }
                                continue;
                            }
                        }
                    }
                    None => st.in_flight.next().await,
                };
                let (at, predicted, result) = next?;
                st.awaited = st.awaited.take().filter(|(a, _)| *a != at);
                let predicted = match st.revised.iter().position(|(a, _)| *a == at) {
                    Some(i) => st.revised.swap_remove(i).1,
                    None => predicted,
                };
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
                st.totals.set(at.phase, fetched.total);
                if predicted != Predicted::Known(fetched.next) {
                    if predicted != Predicted::Unknown {
                        tracing::debug!(
                            cursor = %at.cursor(),
                            dropped = st.in_flight.len(),
                            "the Jamf listing changed while it was read; dropping the pages requested after this one"
                        );
                    }
                    st.in_flight = FuturesOrdered::new();
                    st.awaited = None;
                    st.revised.clear();
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
        self.fetch_at(position, &tokio::sync::Semaphore::new(1), None)
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

    /// What decoding the body says of `totalCount`.
    fn decoded_total(body: &str) -> Option<u64> {
        serde_json::from_str::<crate::models::SearchResults<serde::de::IgnoredAny>>(body)
            .ok()
            .and_then(|r| crate::api::computers::total(r.total_count))
    }

    /// What decoding the body says of the length of `results`.
    fn decoded_count(body: &str) -> Option<usize> {
        serde_json::from_str::<crate::models::SearchResults<serde::de::IgnoredAny>>(body)
            .ok()
            .map(|r| r.results.len())
    }

    #[test]
    fn results_are_counted_as_decoding_counts_them() {
        for (body, want) in [
            (
                r#"{"totalCount": 3, "results": [{"id": "1"}, {"id": "2", "a": [1, 2]}, {}]}"#,
                Some(3),
            ),
            (r#"{"results":[],"totalCount":0}"#, Some(0)),
            (r#"{ "results" : [ ] }"#, Some(0)),
            (
                r#"{"results":[{"s":"a,b]}[{\"\\"},{"n":null}],"totalCount":2}"#,
                Some(2),
            ),
            (
                r#"{"note":"results","x":[1,2,3],"results":[[1,2],[3]]}"#,
                Some(2),
            ),
            (r#"{"a":{"results":[1,2,3]},"results":[1]}"#, Some(1)),
            (r#"{"results":[1, true, null, "x", -2.5e3]}"#, Some(5)),
            (r#"{"results":null}"#, None),
            (r#"{"totalCount":2}"#, None),
            (r#"[1,2]"#, None),
        ] {
            assert_eq!(count_results(body.as_bytes()), want, "{body}");
            if want.is_some() {
                assert_eq!(decoded_count(body), want, "the decoded page agrees: {body}");
            }
        }
        // Never another count than the decoded page's, on any piece of a
        // real body; a body cut off before the array ends is not counted.
        let body = r#"{"totalCount": 3, "results": [{"id": "1", "n": "x\",y"}, {"l": [1, {"m": 2}]}, {"results": [1]}]}"#;
        for part in pieces(body) {
            if let (Some(counted), Some(decoded)) =
                (count_results(part.as_bytes()), decoded_count(part))
            {
                assert_eq!(counted, decoded, "{part}");
            }
        }
        let end = body.rfind(']').unwrap_or(0);
        for i in 0..=end {
            assert_eq!(count_results(&body.as_bytes()[..i]), None, "cut off at {i}");
        }
    }

    /// Every piece `body[i..j]` of an ASCII body.
    fn pieces(body: &str) -> impl Iterator<Item = &str> {
        (0..=body.len()).flat_map(move |i| (i..=body.len()).map(move |j| &body[i..j]))
    }

    #[test]
    fn early_totals_are_read_where_jamf_and_serializers_put_them() {
        for (body, want) in [
            // Jamf Pro's order, and a serializer's sorted order.
            (
                r#"{"totalCount": 138, "results": [{"id": "1"}]}"#,
                Some(138),
            ),
            (
                r#"{"results":[{"id":"1","x":{"totalCount":9}}],"totalCount":4}"#,
                Some(4),
            ),
            (" \n{ \"totalCount\" :\t0 ,\"results\":[]}\n ", Some(0)),
            (r#"{"results": [], "totalCount" : 12 } "#, Some(12)),
            (r#"{"totalCount":7}"#, Some(7)),
            (
                r#"{"totalCount":999999999999999999,"results":[]}"#,
                Some(999_999_999_999_999_999),
            ),
        ] {
            assert_eq!(early_total(body.as_bytes()), want, "{body}");
            assert_eq!(decoded_total(body), want, "the decoded page agrees: {body}");
        }
    }

    #[test]
    fn an_early_total_is_only_believed_when_it_is_plain() {
        for body in [
            // Not the first or last member of the top-level object.
            r#"{"results":[{"totalCount":5}]}"#,
            r#"{"results":[],"x":{"totalCount":5}}"#,
            r#"{"a":1,"totalCount":5,"results":[]}"#,
            r#"{"results":[{"id":"1"}], "note": "totalCount\":5"}"#,
            // Not a plain whole number.
            r#"{"totalCount":-1,"results":[]}"#,
            r#"{"totalCount":1.5,"results":[]}"#,
            r#"{"totalCount":1e3,"results":[]}"#,
            r#"{"totalCount":"12","results":[]}"#,
            r#"{"totalCount":012,"results":[]}"#,
            r#"{"totalCount":null,"results":[]}"#,
            r#"{"results":[],"totalCount":}"#,
            // Too many digits to be a count (and to fit).
            r#"{"totalCount":99999999999999999999,"results":[]}"#,
            // Not an object, escaped, cut off, empty.
            r#"[{"totalCount":5}]"#,
            r#"{"total\u0043ount":5,"results":[]}"#,
            r#"{"totalCount":5,"results":[{"#,
            "",
            "{}",
            "{",
            "}",
        ] {
            assert_eq!(early_total(body.as_bytes()), None, "{body}");
        }
        // Never another count than the decoded page's, on any piece of
        // real bodies (a piece that does not decode fails its page anyway).
        for body in [
            r#"{"totalCount": 138, "results": [{"id": "1", "totalCount": 3}]}"#,
            r#"{"results":[{"id":"1","general":{"totalCount":2}}],"totalCount":4}"#,
        ] {
            for part in pieces(body) {
                if let (Some(early), Some(decoded)) =
                    (early_total(part.as_bytes()), decoded_total(part))
                {
                    assert_eq!(early, decoded, "{part}");
                }
            }
        }
    }

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
