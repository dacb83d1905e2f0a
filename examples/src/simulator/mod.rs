//! A vendor simulator: one loopback HTTP server that speaks enough of Jamf Pro,
//! Kandji and Apple Business Manager for the three clients, over a generated
//! fleet.
//!
//! # URLs
//!
//! One server, bound to `127.0.0.1` (port 0 = any free port), serves the three
//! vendors under path prefixes. Give each client the URL from the handle:
//!
//! | what | URL | from |
//! |---|---|---|
//! | Jamf Pro base URL | `http://127.0.0.1:PORT/jamf` | [`Simulator::jamf_url`] |
//! | Kandji base URL | `http://127.0.0.1:PORT/kandji` | [`Simulator::kandji_url`] |
//! | ABM API base URL | `http://127.0.0.1:PORT/abm` | [`Simulator::abm_url`] |
//! | ABM token URL | `http://127.0.0.1:PORT/abm-auth/auth/oauth2/token` | [`Simulator::abm_token_url`] |
//!
//! The clients append the vendor paths (`/api/v1/...`, `/v1/...`) to these.
//! `GET /_counters` answers the request counters of [`Simulator::stats`] as
//! JSON (for a simulator in a process of its own, as `scripts/peer-bench.sh`
//! runs it).
//!
//! # Auth
//!
//! Real flows with the credentials of [`SimCredentials`] (random unless given):
//! - **Jamf**: OAuth client credentials at `POST /api/v1/oauth/token` and the
//!   older `/api/oauth/token` (form `grant_type=client_credentials`,
//!   `client_id`, `client_secret`; bad ones get 400 `invalid_client`), and
//!   `POST /api/v1/auth/token` with Basic auth (→ `{token, expires}`), with
//!   `keep-alive` (new token, the old one stops working) and
//!   `invalidate-token` (204). Tokens expire after [`TokenLifetimes`].
//! - **Kandji**: the static bearer token.
//! - **ABM**: `POST /abm-auth/auth/oauth2/token` (also `/auth/oauth2/v2/token`)
//!   with an ES256 client assertion checked against the public half of
//!   [`SimCredentials::abm_private_key_pem`] — see
//!   [`auth::verify_client_assertion`] for the rules — and `scope=business.api`
//!   (`school.api` for a `SCHOOLAPI.` client id). ABM API calls need the bearer
//!   and `Accept: application/json` (else 406).
//!
//! [`Simulator::expire_tokens`] expires every issued token at once, for tests.
//!
//! # The fleet
//!
//! See [`fleet`]: N deterministic devices, most in ABM, managed by Jamf or
//! Kandji, some in all three, one re-enrolled Mac with two Jamf records.
//! [`Fleet::counts`] gives the numbers each vendor serves.
//!
//! # Faults and latency
//!
//! [`SimulatorConfig::latency`] delays every response
//! ([`Simulator::set_latency`] changes it while serving). With
//! [`SimulatorConfig::fault_rate`] > 0, requests get 429 (`Retry-After: 1`),
//! 503, a connection reset, or an expired-token 401 — deterministically for
//! [`SimulatorConfig::fault_seed`]; see [`faults`]. Faults never touch data.
//! [`SimulatorConfig::mutate_kandji_between_pages`] adds one Kandji device and
//! removes another after every device-list page.
//!
//! # Rate limits
//!
//! Off by default. [`SimulatorConfig::abm_limit_per_minute`] (`mdm simulate
//! --abm-limit-per-minute N`) hides a limit behind the ABM API (not its
//! token endpoint): a token bucket of `N` requests a minute with a burst of
//! [`ABM_BURST`]; a request finding it empty gets Apple's 429
//! (`{"errors":[{"status":"429","code":"RATE_LIMIT_EXCEEDED",...}]}`) with
//! `Retry-After` = whole seconds until one would be allowed (rounded up).
//! [`SimulatorConfig::kandji_enforce_limits`] (`--kandji-limits`) enforces
//! Kandji's 50 requests a second and 10,000 an hour as fixed windows (each
//! whole second and hour since start, as Kandji's gateway counts), answering
//! `{"message":"API rate limit exceeded"}` 429s with `Retry-After`; its
//! `X-RateLimit-*` headers then report the real windows. Refused requests
//! count towards neither limit. [`VendorStats::throttled`] (`throttled` in
//! `GET /_counters`) counts these 429s.
//!
//! # Jamf changes between syncs
//!
//! The fleet is generated once, but a test can move Jamf on between two
//! syncs as a real server's inventory does: [`Simulator::touch_jamf`] (or
//! [`Simulator::touch_jamf_ids`]) gives records a new inventory report —
//! report date and last contact at the server's "now"
//! ([`Simulator::jamf_now`], later than every report date served before),
//! a newer OS version — and [`Simulator::remove_jamf`] deletes computers
//! (gone from every listing, 404 on their own endpoints);
//! [`Simulator::remove_jamf_users`] deletes users from the user directory. Every Jamf
//! endpoint, `filter` on `general.reportDate` / `lastInventoryUpdateDate`
//! and sort included, shows the changes at once; cached pages holding a
//! changed record (or filtering or sorting on a changed value) are dropped,
//! the others stay cached.
//!
//! # Denied privileges
//!
//! [`SimulatorConfig::denied`] (`mdm simulate --deny NAME`, repeatable) takes
//! privileges away, by the name the vendor's console gives them
//! (case-insensitive). A request with a valid token to an endpoint that
//! needs a denied privilege gets the vendor's 403; a missing or bad token
//! still gets 401 first, token endpoints and every other endpoint keep
//! working. An unknown name fails [`Simulator::start`], listing the valid
//! names. The mapping lives in one table per vendor in `privileges.rs`:
//!
//! | vendor | privilege | endpoints (`GET` unless marked) |
//! |---|---|---|
//! | Jamf Pro | `Read Computers` | `/api/v1`…`/api/v4/computers-inventory`, `…/computers-inventory/{id}`, `…/computers-inventory-detail/{id}`; `/JSSResource/computers`, `/JSSResource/computers/id/{id}`, `/JSSResource/computers/subset/basic` |
//! | Jamf Pro | `Read Mobile Devices` | `/api/v2/mobile-devices`, `…/detail`, `…/{id}`, `…/{id}/detail`; `/JSSResource/mobiledevices`, `/JSSResource/mobiledevices/id/{id}` |
//! | Jamf Pro | `Read Users` | `/api/v1/users`; `/JSSResource/users`, `/JSSResource/users/id/{id}` |
//! | Jamf Pro | `Read Buildings` | `/api/v1/buildings`, `/api/v1/buildings/{id}` |
//! | Jamf Pro | `Read Departments` | `/api/v1/departments`, `/api/v1/departments/{id}` |
//! | Jamf Pro | `Read Sites` | `/api/v1/sites` |
//! | Jamf Pro | `Read Accounts` | `/JSSResource/accounts`, `/JSSResource/accounts/userid/{id}`, `/JSSResource/accounts/groupid/{id}` |
//! | Jamf Pro | `Read Static User Groups`, `Read Smart User Groups` | none served (only left out of the account's privileges) |
//! | Kandji | `Device list` | `/api/v1/devices` |
//! | Kandji | `Device ID` | `/api/v1/devices/{id}` |
//! | Kandji | `Device details` | `/api/v1/devices/{id}/details` |
//! | Kandji | `Application list` (or `Device apps`) | `/api/v1/devices/{id}/apps` |
//! | Kandji | `List users` / `Get user` / `Users` (both) | `/api/v1/users` / `/api/v1/users/{id}` / both |
//! | Kandji | `List Blueprints` / `Get Blueprint` / `Blueprints` (both) | `/api/v1/blueprints` / `/api/v1/blueprints/{id}` / both |
//! | Kandji | `Tags` (or `Get Tags`) | `/api/v1/tags` |
//! | ABM/ASM | `orgDevices` | `/v1/orgDevices`, `/v1/orgDevices/{id}` and everything under it (`relationships/assignedServer`, `assignedServer`, `appleCareCoverage`, `activationLockStatus`) |
//! | ABM/ASM | `mdmServers` | `/v1/mdmServers`, `/v1/mdmServers/{id}`, `…/relationships/devices`, `…/devices` |
//! | ABM/ASM | `appleCareCoverage` | `/v1/orgDevices/{id}/appleCareCoverage` |
//! | ABM/ASM | `orgDeviceActivities` | `/v1/orgDeviceActivities` (`POST`), `/v1/orgDeviceActivities/{id}` |
//!
//! The 403 bodies:
//! - **Jamf Pro API**: `{"httpStatus":403,"errors":[{"code":"INVALID_PRIVILEGE","description":"Forbidden","id":"0","field":null}]}`.
//! - **Jamf Classic API** (`/JSSResource`): the Restlet HTML "Status page"
//!   (as for its 401 and 404) with "Forbidden" and "The server understood
//!   the request, but is refusing to fulfill it".
//! - **Kandji**: `{"detail":"You do not have permission to perform this action."}`.
//! - **ABM/ASM**: a JSON:API error document, `status` `"403"`, `code`
//!   `FORBIDDEN_ERROR`, title "This request is forbidden for security
//!   reasons", detail "This API account does not have access to 'NAME'.".
//!
//! Denied Jamf privileges are also left out of the privileges
//! `GET /JSSResource/accounts/userid/1` lists (`GET /api/v1/auth` lists none).
//!
//! # Cost per request
//!
//! The big listings (Jamf computer inventory and mobile devices, Kandji
//! devices and users, ABM `orgDevices`) render each page once and keep its
//! bytes, keyed by endpoint and query (and, for Kandji devices, the mutation
//! generation): asking for the same page again costs a copy of a few
//! pointers, not a render. [`SimulatorConfig::page_cache_bytes`] bounds the
//! memory held (oldest pages are dropped first); errors and faults are never
//! cached, and counters, faults and latency apply to every request as before.
//! A Jamf touch or removal drops the cached pages it changes (see "Jamf
//! changes between syncs").
//!
//! # Example
//!
//! ```no_run
//! use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
//!
//! # async fn demo() -> Result<(), mdm_examples::simulator::SimulatorError> {
//! let sim = Simulator::start(SimulatorConfig {
//!     fleet: FleetConfig { devices: 500, seed: 7, ..Default::default() },
//!     ..Default::default()
//! })
//! .await?;
//! println!("jamf at {} with client id {}", sim.jamf_url(), sim.credentials().jamf_client_id);
//! assert_eq!(sim.fleet().counts().physical_devices, 500);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod chaos;
pub mod faults;
pub mod fleet;

mod abm;
mod jamf;
mod jamf_touch;
mod kandji;
mod limits;
mod privileges;
mod render;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use mdm_mapping::Vendor;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

pub use auth::{AssertionError, SimCredentials, TokenLifetimes};
pub use chaos::{Chaos, PagingChaos};
pub use faults::{FaultConfig, FaultCounts, FaultKind};
pub use fleet::{Device, DeviceKind, Fleet, FleetConfig, FleetCounts, JamfRecord, MdmServer, User};
pub use jamf_touch::Touched;
pub use limits::{ABM_BURST, KANDJI_PER_HOUR, KANDJI_PER_SECOND};

use auth::{TokenKind, TokenRejection, TokenStore};
use faults::FaultInjector;

/// What can go wrong starting the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The ABM private key in the credentials is unusable.
    #[error("ABM private key: {0}")]
    AbmKey(String),
    /// A configuration value is out of range.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// Writing the ABM key file failed.
    #[error("cannot write the ABM key to {path}: {source}")]
    KeyFile {
        /// Where.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for Ctrl-C failed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(#[source] std::io::Error),
}

/// How to run the simulator. `SimulatorConfig { fault_rate: 0.1, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The fleet to serve.
    pub fleet: FleetConfig,
    /// Port on 127.0.0.1; 0 = any free port.
    pub port: u16,
    /// Delay added to every response (token endpoints included).
    pub latency: Duration,
    /// Probability that an API request is faulted, 0..=1.
    pub fault_rate: f64,
    /// Seed of the fault sequence.
    pub fault_seed: u64,
    /// The fault kinds drawn from (all four by default).
    pub fault_kinds: Vec<FaultKind>,
    /// Also fault the token endpoints.
    pub faults_on_token_endpoints: bool,
    /// After this many faults in a row at one URL the next attempt succeeds.
    pub max_consecutive_faults: u32,
    /// Add one Kandji device and remove another after every `/api/v1/devices` page.
    pub mutate_kandji_between_pages: bool,
    /// One Jamf mobile device has "data processing issues": with
    /// `exception-handling=STRICT` (the default) every `/api/v2/mobile-devices/detail`
    /// page holding it is a 500; with `LENIENT` its broken section is null.
    pub jamf_broken_mobile_device: bool,
    /// The accepted credentials.
    pub credentials: SimCredentials,
    /// Token lifetimes.
    pub token_lifetimes: TokenLifetimes,
    /// Memory for rendered list pages served again from memory (see "Cost
    /// per request" in the module docs); 0 renders every request.
    pub page_cache_bytes: usize,
    /// Chaos mode (`mdm simulate --chaos SEED`): broken paging and extreme
    /// numbers, deterministic for the seed ([`chaos`]). `None`: off.
    pub chaos: Option<u64>,
    /// Privileges to deny (`mdm simulate --deny NAME`), named as the vendor's
    /// console names them, case-insensitive: every endpoint that needs one
    /// answers the vendor's "forbidden" response; token endpoints and the
    /// rest keep working. See "Denied privileges" in the module docs for the
    /// names and their endpoints. An unknown name fails
    /// [`Simulator::start`] with [`SimulatorError::Config`] listing the
    /// valid names. Empty by default.
    pub denied: Vec<String>,
    /// A hidden ABM rate limit (`mdm simulate --abm-limit-per-minute N`):
    /// a token bucket of `N` API requests a minute with a burst of
    /// [`ABM_BURST`] (token endpoint not counted); over it, Apple's 429
    /// with `Retry-After`. See "Rate limits" in the module docs. `None`: no
    /// limit.
    pub abm_limit_per_minute: Option<u32>,
    /// Enforce Kandji's documented limits (`mdm simulate --kandji-limits`):
    /// [`KANDJI_PER_SECOND`] requests in each second and [`KANDJI_PER_HOUR`]
    /// in each hour; over either, Kandji's 429 with `Retry-After`, and the
    /// `X-RateLimit-*` headers report the real windows.
    pub kandji_enforce_limits: bool,
}

/// The default [`SimulatorConfig::page_cache_bytes`]: 512 MiB, every page of
/// a 100,000-device fleet of one vendor.
pub const DEFAULT_PAGE_CACHE_BYTES: usize = 512 << 20;

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            fleet: FleetConfig::default(),
            port: 0,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            fault_seed: 1,
            fault_kinds: FaultKind::ALL.to_vec(),
            faults_on_token_endpoints: false,
            max_consecutive_faults: 2,
            mutate_kandji_between_pages: false,
            jamf_broken_mobile_device: true,
            credentials: SimCredentials::generate(),
            token_lifetimes: TokenLifetimes::default(),
            page_cache_bytes: DEFAULT_PAGE_CACHE_BYTES,
            chaos: None,
            denied: Vec::new(),
            abm_limit_per_minute: None,
            kandji_enforce_limits: false,
        }
    }
}

/// Requests one vendor received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorStats {
    /// Every request (token endpoints included).
    pub requests: u64,
    /// Requests to token endpoints.
    pub token_requests: u64,
    /// Requests refused for a missing, unknown, expired or revoked token.
    pub unauthorized: u64,
    /// Requests per endpoint, keyed `"GET /api/v1/computers-inventory"` (route templates).
    pub endpoints: BTreeMap<String, u64>,
    /// Faults injected.
    pub faults: FaultCounts,
    /// The most requests of this vendor the simulator held at once (from
    /// arrival, latency included, to the response).
    pub max_in_flight: u64,
    /// 429s answered by an enforced rate limit
    /// ([`SimulatorConfig::abm_limit_per_minute`],
    /// [`SimulatorConfig::kandji_enforce_limits`]; injected faults are in
    /// `faults`).
    pub throttled: u64,
}

/// Request counters, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Jamf.
    pub jamf: VendorStats,
    /// Kandji.
    pub kandji: VendorStats,
    /// ABM (API and token endpoint).
    pub abm: VendorStats,
}

impl SimStats {
    /// One vendor's counters.
    pub fn vendor(&self, vendor: Vendor) -> &VendorStats {
        match vendor {
            Vendor::Jamf => &self.jamf,
            Vendor::Kandji => &self.kandji,
            Vendor::Abm => &self.abm,
        }
    }

    fn vendor_mut(&mut self, vendor: Vendor) -> &mut VendorStats {
        match vendor {
            Vendor::Jamf => &mut self.jamf,
            Vendor::Kandji => &mut self.kandji,
            Vendor::Abm => &mut self.abm,
        }
    }

    /// All requests.
    pub fn total_requests(&self) -> u64 {
        self.jamf.requests + self.kandji.requests + self.abm.requests
    }

    /// All faults injected.
    pub fn faults(&self) -> FaultCounts {
        let mut all = FaultCounts::default();
        for v in [&self.jamf, &self.kandji, &self.abm] {
            all.rate_limited += v.faults.rate_limited;
            all.unavailable += v.faults.unavailable;
            all.connection_reset += v.faults.connection_reset;
            all.expired_token += v.faults.expired_token;
        }
        all
    }
}

/// The Kandji page-to-page mutations done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KandjiMutations {
    /// Number of mutations (one per device-list page served).
    pub generation: u64,
    /// Serials added (new Macs, Kandji only), in order.
    pub added: Vec<String>,
    /// Serials removed, in order.
    pub removed: Vec<String>,
}

/// Shared state of a running simulator.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) fleet: Arc<Fleet>,
    pub(crate) creds: SimCredentials,
    pub(crate) abm_key: p256::ecdsa::VerifyingKey,
    pub(crate) lifetimes: TokenLifetimes,
    pub(crate) tokens: TokenStore,
    pub(crate) faults: FaultInjector,
    pub(crate) stats: Mutex<SimStats>,
    /// The response delay, in nanoseconds (changed by [`Simulator::set_latency`]).
    pub(crate) latency_nanos: AtomicU64,
    /// Requests being handled now, per vendor (Jamf, Kandji, ABM).
    pub(crate) in_flight: [AtomicU64; 3],
    pub(crate) pages: PageCache,
    pub(crate) base: String,
    pub(crate) jamf: jamf::JamfState,
    pub(crate) kandji: kandji::KandjiState,
    pub(crate) abm: abm::AbmState,
    pub(crate) chaos: Option<Arc<Chaos>>,
    pub(crate) denied: privileges::Denied,
    pub(crate) limits: limits::Limits,
}

impl SimState {
    fn record(&self, vendor: Vendor, endpoint: String, token_endpoint: bool) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let v = stats.vendor_mut(vendor);
        v.requests += 1;
        if token_endpoint {
            v.token_requests += 1;
        }
        *v.endpoints.entry(endpoint).or_insert(0) += 1;
    }

    fn record_in_flight(&self, vendor: Vendor, now: u64) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let v = stats.vendor_mut(vendor);
        v.max_in_flight = v.max_in_flight.max(now);
    }

    fn in_flight(&self, vendor: Vendor) -> &AtomicU64 {
        &self.in_flight[match vendor {
            Vendor::Jamf => 0,
            Vendor::Kandji => 1,
            Vendor::Abm => 2,
        }]
    }

    fn record_fault(&self, vendor: Vendor, kind: FaultKind) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.vendor_mut(vendor).faults.add(kind);
    }

    fn record_throttled(&self, vendor: Vendor) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.vendor_mut(vendor).throttled += 1;
    }

    fn record_unauthorized(&self, vendor: Vendor) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.vendor_mut(vendor).unauthorized += 1;
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_nanos(self.latency_nanos.load(Ordering::Relaxed))
    }

    pub(crate) fn prefix(vendor: Vendor) -> &'static str {
        match vendor {
            Vendor::Jamf => "/jamf",
            Vendor::Kandji => "/kandji",
            Vendor::Abm => "/abm",
        }
    }
}

/// Query parameters in order (repeated keys kept).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(uri: &Uri) -> Self {
        Self::parse_str(uri.query().unwrap_or(""))
    }

    pub(crate) fn parse_str(query: &str) -> Self {
        Params(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A non-negative integer parameter; `Err` names the bad value.
    pub(crate) fn number(&self, key: &str) -> Result<Option<usize>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| format!("{key}={v:?} is not a non-negative integer")),
        }
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    json_bytes(status, to_json(body), "application/json")
}

/// Compact JSON, as `Value::to_string` writes it, straight into bytes.
fn to_json(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| body.to_string().into_bytes())
}

/// Rendered 200 bodies of list pages, by key, within a byte budget (the
/// oldest pages go first).
pub(crate) struct PageCache {
    budget: usize,
    inner: Mutex<PageCacheInner>,
}

#[derive(Debug, Default)]
struct PageCacheInner {
    pages: HashMap<String, CachedPage>,
    order: VecDeque<String>,
    bytes: usize,
}

#[derive(Debug)]
struct CachedPage {
    body: Bytes,
    tag: Option<PageTag>,
}

/// What a cached Jamf computer or mobile device page depends on, so that
/// [`Simulator::touch_jamf`] and [`Simulator::remove_jamf`] drop only the
/// pages they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageTag {
    /// Computers (else mobile devices).
    pub(crate) computers: bool,
    /// The record ids on the page.
    pub(crate) ids: Vec<u32>,
    /// The query filters or sorts on a value a touch changes (then any
    /// touch of the same kind may change the page).
    pub(crate) volatile: bool,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("PageCache")
            .field("budget", &self.budget)
            .field("pages", &inner.pages.len())
            .field("bytes", &inner.bytes)
            .finish()
    }
}

impl PageCache {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(PageCacheInner::default()),
        }
    }

    fn get(&self, key: &str) -> Option<Bytes> {
        if self.budget == 0 {
            return None;
        }
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.pages.get(key).map(|p| p.body.clone())
    }

    /// Keeps `body` at `key` unless over budget, already kept, or
    /// `current` (asked under the cache lock) says the data it was rendered
    /// from changed meanwhile.
    fn insert(&self, key: String, body: Bytes, tag: Option<PageTag>, current: &dyn Fn() -> bool) {
        if body.len() > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.pages.contains_key(&key) || !current() {
            return;
        }
        while inner.bytes + body.len() > self.budget {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(p) = inner.pages.remove(&old) {
                inner.bytes -= p.body.len();
            }
        }
        inner.bytes += body.len();
        inner.order.push_back(key.clone());
        inner.pages.insert(key, CachedPage { body, tag });
    }

    /// Drops every tagged page `stale` picks.
    pub(crate) fn invalidate(&self, stale: impl Fn(&PageTag) -> bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let PageCacheInner {
            pages,
            order,
            bytes,
        } = &mut *inner;
        pages.retain(|_, p| match &p.tag {
            Some(tag) if stale(tag) => {
                *bytes -= p.body.len();
                false
            }
            _ => true,
        });
        order.retain(|k| pages.contains_key(k));
    }

    /// The 200 JSON page at `key`: from memory, or rendered by `render` and
    /// kept. An `Err` from `render` is answered as is and not kept.
    pub(crate) fn page(
        &self,
        key: impl FnOnce() -> String,
        render: impl FnOnce() -> Result<Value, Response>,
    ) -> Response {
        if self.budget == 0 {
            return match render() {
                Ok(body) => json_response(StatusCode::OK, &body),
                Err(r) => r,
            };
        }
        let key = key();
        if let Some(body) = self.get(&key) {
            return json_body(body);
        }
        match render() {
            Ok(body) => {
                let body = Bytes::from(to_json(&body));
                self.insert(key, body.clone(), None, &|| true);
                json_body(body)
            }
            Err(r) => r,
        }
    }

    /// [`PageCache::page`] for a page that [`PageCache::invalidate`] may
    /// drop: `render` also says what the page depends on, and the page is
    /// kept only if `current()` still holds when it is stored (the data did
    /// not change while it was rendered).
    pub(crate) fn page_tagged(
        &self,
        key: impl FnOnce() -> String,
        render: impl FnOnce() -> Result<(Value, PageTag), Response>,
        current: impl Fn() -> bool,
    ) -> Response {
        if self.budget == 0 {
            return match render() {
                Ok((body, _)) => json_response(StatusCode::OK, &body),
                Err(r) => r,
            };
        }
        let key = key();
        if let Some(body) = self.get(&key) {
            return json_body(body);
        }
        match render() {
            Ok((body, tag)) => {
                let body = Bytes::from(to_json(&body));
                self.insert(key, body.clone(), Some(tag), &current);
                json_body(body)
            }
            Err(r) => r,
        }
    }
}

/// The cache key of a request: vendor, path and raw query.
pub(crate) fn page_key(vendor: &str, uri: &Uri) -> String {
    format!("{vendor} {}?{}", uri.path(), uri.query().unwrap_or(""))
}

fn json_body(body: Bytes) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn json_bytes(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Marker: the connection is to be reset instead of answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResetConnection;

/// The validated token kind, for handlers that care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authed(pub(crate) Option<TokenKind>);

#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub(crate) state: Arc<SimState>,
    pub(crate) vendor: Vendor,
    pub(crate) token_endpoint: bool,
}

/// Latency, counting, faults, the ABM `Accept` check and bearer auth, around
/// every vendor route.
pub(crate) async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    /// Counts a request out of flight however the handler ends.
    struct Leaving<'a>(&'a AtomicU64);
    impl Drop for Leaving<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let state = &g.state;
    let slot = state.in_flight(g.vendor);
    let now = slot.fetch_add(1, Ordering::SeqCst) + 1;
    let _leaving = Leaving(slot);
    state.record_in_flight(g.vendor, now);
    let latency = state.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let vendor = g.vendor;
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let template = match vendor {
        Vendor::Abm if template.starts_with("/abm-auth") => {
            template.trim_start_matches("/abm-auth").to_string()
        }
        _ => template
            .trim_start_matches(SimState::prefix(vendor))
            .to_string(),
    };
    state.record(
        vendor,
        format!("{} {}", req.method(), template),
        g.token_endpoint,
    );
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let classic = req.uri().path().contains("/JSSResource/");
    let verdict = match vendor {
        Vendor::Abm if !g.token_endpoint => state.limits.abm(),
        Vendor::Kandji => state.limits.kandji(),
        _ => limits::Verdict::Free,
    };

    let mut resp = if let limits::Verdict::Refused(wait, _) = verdict {
        state.record_throttled(vendor);
        let mut r = fault_response(vendor, FaultKind::RateLimited, classic);
        if let Ok(v) = HeaderValue::from_str(&limits::whole_seconds(wait).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    } else if let Some(kind) = state.faults.draw(
        vendor,
        req.method().as_str(),
        &path_and_query,
        g.token_endpoint,
    ) {
        state.record_fault(vendor, kind);
        if kind == FaultKind::ExpiredToken
            && let Some(token) = auth::bearer(req.headers())
        {
            state.tokens.revoke(token);
        }
        fault_response(vendor, kind, classic)
    } else if g.token_endpoint {
        next.run(req).await
    } else if vendor == Vendor::Abm && !abm::accepts_json(req.headers()) {
        abm::error(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "The requested media type is not acceptable",
            "Send Accept: application/json.",
        )
    } else {
        let token = auth::bearer(req.headers());
        let checked = match vendor {
            Vendor::Kandji => match token {
                None => Err(TokenRejection::Missing),
                Some(t) if t == state.creds.kandji_token.expose_secret() => Ok(None),
                Some(_) => Err(TokenRejection::Unknown),
            },
            Vendor::Jamf
                if classic
                    && token.is_none()
                    && auth::jamf_basic_ok(req.headers(), &state.creds) =>
            {
                Ok(Some(TokenKind::JamfUser))
            }
            _ => state.tokens.check(token, vendor).map(Some),
        };
        match checked {
            Ok(kind) => match state.denied.route(vendor, &template) {
                Some(privilege) => forbidden(vendor, privilege, classic),
                None => {
                    req.extensions_mut().insert(Authed(kind));
                    next.run(req).await
                }
            },
            Err(why) => {
                state.record_unauthorized(vendor);
                unauthorized(vendor, why, classic)
            }
        }
    };
    if vendor == Vendor::Kandji {
        match verdict {
            limits::Verdict::Allowed(Some(w)) | limits::Verdict::Refused(_, Some(w)) => {
                kandji::window_headers(&w, resp.headers_mut());
            }
            _ => kandji::rate_limit_headers(state, resp.headers_mut()),
        }
    }
    resp
}

fn unauthorized(vendor: Vendor, why: TokenRejection, classic: bool) -> Response {
    match vendor {
        Vendor::Jamf if classic => jamf::classic_status_page(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The request requires user authentication",
        ),
        Vendor::Jamf => jamf::api_error(
            StatusCode::UNAUTHORIZED,
            Some("INVALID_TOKEN"),
            "Unauthorized",
        ),
        Vendor::Kandji => {
            let detail = match why {
                TokenRejection::Missing => "Authentication credentials were not provided.",
                _ => "Invalid token.",
            };
            json_response(StatusCode::UNAUTHORIZED, &json!({ "detail": detail }))
        }
        Vendor::Abm => abm::error(
            StatusCode::UNAUTHORIZED,
            "NOT_AUTHORIZED",
            "Authentication credentials are missing or invalid.",
            match why {
                TokenRejection::Missing => "Provide a bearer token in the Authorization header.",
                TokenRejection::Expired | TokenRejection::Revoked => {
                    "The access token has expired. Request a new one."
                }
                TokenRejection::Unknown => "The access token is not valid.",
            },
        ),
    }
}

/// The vendor's answer to a request its token or account lacks `privilege` for.
fn forbidden(vendor: Vendor, privilege: &str, classic: bool) -> Response {
    match vendor {
        Vendor::Jamf if classic => jamf::classic_status_page(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The server understood the request, but is refusing to fulfill it",
        ),
        Vendor::Jamf => jamf::api_error(
            StatusCode::FORBIDDEN,
            Some("INVALID_PRIVILEGE"),
            "Forbidden",
        ),
        Vendor::Kandji => json_response(
            StatusCode::FORBIDDEN,
            &json!({"detail": "You do not have permission to perform this action."}),
        ),
        Vendor::Abm => abm::forbidden(&format!(
            "This API account does not have access to '{privilege}'."
        )),
    }
}

fn fault_response(vendor: Vendor, kind: FaultKind, classic: bool) -> Response {
    let mut resp = match kind {
        FaultKind::ConnectionReset => {
            let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            r.extensions_mut().insert(ResetConnection);
            return r;
        }
        FaultKind::ExpiredToken => unauthorized(vendor, TokenRejection::Expired, classic),
        FaultKind::RateLimited => match vendor {
            Vendor::Jamf => jamf::api_error(
                StatusCode::TOO_MANY_REQUESTS,
                Some("RATE_LIMIT_EXCEEDED"),
                "Rate limit exceeded",
            ),
            Vendor::Kandji => json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"message": "API rate limit exceeded"}),
            ),
            Vendor::Abm => abm::error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_EXCEEDED",
                "The request rate limit has been reached.",
                "Wait before sending more requests.",
            ),
        },
        FaultKind::Unavailable => match vendor {
            Vendor::Abm => abm::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable.",
                "Try again later.",
            ),
            _ => {
                let mut r = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1><p>No server is available to handle this request.</p></body></html>",
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                r
            }
        },
    };
    if kind == FaultKind::RateLimited {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn build_router(state: Arc<SimState>) -> Router {
    let chaos = state.chaos.clone();
    let router = Router::new()
        .nest("/jamf", jamf::router(state.clone()))
        .nest("/kandji", kandji::router(state.clone()))
        .nest("/abm", abm::router(state.clone()))
        .nest("/abm-auth", abm::auth_router(state.clone()))
        .route(
            "/_counters",
            axum::routing::get(counters).with_state(state.clone()),
        )
        .route("/", axum::routing::get(index).with_state(state));
    match chaos {
        Some(c) => router.layer(axum::middleware::from_fn_with_state(c, chaos::layer)),
        None => router,
    }
}

/// `GET /_counters`: the request counters of [`Simulator::stats`] as JSON,
/// for benchmarks that run the simulator in a process of its own (not
/// counted, no auth: the simulator only listens on loopback).
async fn counters(State(state): State<Arc<SimState>>) -> Response {
    let stats = state
        .stats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let vendor = |v: &VendorStats| {
        json!({
            "requests": v.requests,
            "token_requests": v.token_requests,
            "unauthorized": v.unauthorized,
            "endpoints": v.endpoints,
            "throttled": v.throttled,
            "faults": {
                "rate_limited": v.faults.rate_limited,
                "unavailable": v.faults.unavailable,
                "connection_reset": v.faults.connection_reset,
                "expired_token": v.faults.expired_token,
            },
        })
    };
    json_response(
        StatusCode::OK,
        &json!({
            "jamf": vendor(&stats.jamf),
            "kandji": vendor(&stats.kandji),
            "abm": vendor(&stats.abm),
        }),
    )
}

async fn index(State(state): State<Arc<SimState>>) -> Response {
    let b = &state.base;
    json_response(
        StatusCode::OK,
        &json!({
            "simulator": "mdm vendor simulator",
            "jamf_url": format!("{b}/jamf"),
            "kandji_url": format!("{b}/kandji"),
            "abm_url": format!("{b}/abm"),
            "abm_token_url": format!("{b}/abm-auth/auth/oauth2/token"),
            "devices": state.fleet.devices().len(),
        }),
    )
}

#[derive(Debug)]
struct ResetError;

impl std::fmt::Display for ResetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the fault injector")
    }
}

impl std::error::Error for ResetError {}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    #[cfg(unix)]
    let dup = {
        use std::os::fd::AsFd as _;
        stream
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(socket2::Socket::from)
    };
    let reset = Arc::new(AtomicBool::new(false));
    let flag = reset.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        let flag = flag.clone();
        async move {
            let resp = match router.oneshot(req.map(Body::new)).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            if resp.extensions().get::<ResetConnection>().is_some() {
                flag.store(true, Ordering::SeqCst);
                return Err(ResetError);
            }
            Ok(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    let _ = conn.await;
    #[cfg(unix)]
    if reset.load(Ordering::SeqCst)
        && let Some(sock) = &dup
    {
        // Linger 0: closing the last descriptor sends a TCP RST.
        let _ = sock.set_linger(Some(Duration::ZERO));
    }
    #[cfg(unix)]
    drop(dup);
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_connection(stream, router.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    conns.shutdown().await;
}

/// A running simulator. Dropping it stops the server; [`Simulator::shutdown`]
/// also waits for it.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Generates the fleet, binds 127.0.0.1:`config.port` and starts serving.
    pub async fn start(config: SimulatorConfig) -> Result<Simulator, SimulatorError> {
        if !(0.0..=1.0).contains(&config.fault_rate) {
            return Err(SimulatorError::Config(format!(
                "fault_rate must be within 0..=1, got {}",
                config.fault_rate
            )));
        }
        let denied = privileges::Denied::new(&config.denied).map_err(SimulatorError::Config)?;
        let abm_key = config.credentials.abm_verifying_key()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| SimulatorError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimulatorError::Bind {
                port: config.port,
                source,
            })?;
        let fleet_config = config.fleet.clone();
        let fleet = tokio::task::spawn_blocking(move || Fleet::generate(fleet_config))
            .await
            .map_err(|e| SimulatorError::Config(format!("fleet generation failed: {e}")))?;
        let fleet = Arc::new(fleet);
        let state = Arc::new(SimState {
            jamf: jamf::JamfState::new(&fleet, config.jamf_broken_mobile_device),
            kandji: kandji::KandjiState::new(&fleet, config.mutate_kandji_between_pages),
            abm: abm::AbmState::default(),
            fleet,
            creds: config.credentials,
            abm_key,
            lifetimes: config.token_lifetimes,
            tokens: TokenStore::default(),
            faults: FaultInjector::new(FaultConfig {
                rate: config.fault_rate,
                seed: config.fault_seed,
                kinds: config.fault_kinds,
                on_token_endpoints: config.faults_on_token_endpoints,
                max_consecutive: config.max_consecutive_faults,
            }),
            stats: Mutex::new(SimStats::default()),
            latency_nanos: AtomicU64::new(nanos(config.latency)),
            in_flight: Default::default(),
            pages: PageCache::new(config.page_cache_bytes),
            base: format!("http://{addr}"),
            chaos: config.chaos.map(|seed| Arc::new(Chaos::new(seed))),
            denied,
            limits: limits::Limits::new(config.abm_limit_per_minute, config.kandji_enforce_limits),
        });
        let router = build_router(state.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, rx));
        Ok(Simulator {
            addr,
            state,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// The bound address (127.0.0.1:PORT).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.state.base.clone()
    }

    /// Jamf Pro base URL: `http://127.0.0.1:PORT/jamf`.
    pub fn jamf_url(&self) -> String {
        format!("{}/jamf", self.state.base)
    }

    /// Kandji base URL: `http://127.0.0.1:PORT/kandji`.
    pub fn kandji_url(&self) -> String {
        format!("{}/kandji", self.state.base)
    }

    /// ABM API base URL: `http://127.0.0.1:PORT/abm`.
    pub fn abm_url(&self) -> String {
        format!("{}/abm", self.state.base)
    }

    /// ABM token URL: `http://127.0.0.1:PORT/abm-auth/auth/oauth2/token`.
    pub fn abm_token_url(&self) -> String {
        format!("{}/abm-auth/auth/oauth2/token", self.state.base)
    }

    /// The credentials the simulator accepts.
    pub fn credentials(&self) -> &SimCredentials {
        &self.state.creds
    }

    /// How chaos mode breaks `vendor`'s paging (`None`: chaos is off).
    pub fn chaos_paging(&self, vendor: Vendor) -> Option<PagingChaos> {
        self.state.chaos.as_ref().map(|c| c.paging(vendor))
    }

    /// The fleet being served.
    pub fn fleet(&self) -> &Fleet {
        &self.state.fleet
    }

    /// A shared handle on the fleet.
    pub fn fleet_arc(&self) -> Arc<Fleet> {
        self.state.fleet.clone()
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> SimStats {
        self.state
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        *self.state.stats.lock().unwrap_or_else(|e| e.into_inner()) = SimStats::default();
    }

    /// Changes the delay added to every response from now on
    /// ([`SimulatorConfig::latency`] at start).
    pub fn set_latency(&self, latency: Duration) {
        self.state
            .latency_nanos
            .store(nanos(latency), Ordering::Relaxed);
    }

    /// The delay added to every response.
    pub fn latency(&self) -> Duration {
        self.state.latency()
    }

    /// Expires every token issued so far (the next API call with one gets 401).
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    /// The Jamf server's clock, in the fleet's time frame: one second after
    /// the fleet's anchor (every generated report date is earlier) plus the
    /// whole seconds since [`Simulator::start`], and always later than the
    /// last touch. The next [`Simulator::touch_jamf`] is stamped at or after
    /// it, so `filter=general.reportDate>="T"` with `T` read here just before
    /// a touch returns exactly the records touched since.
    pub fn jamf_now(&self) -> chrono::DateTime<chrono::Utc> {
        jamf_touch::utc(self.state.jamf.changes.now())
    }

    /// Touches the first `computers` Jamf computers and the first
    /// `mobile_devices` mobile devices by id (removed computers skipped);
    /// see [`Simulator::touch_jamf_ids`].
    pub fn touch_jamf(&self, computers: usize, mobile_devices: usize) -> Touched {
        let [c, m] = self
            .state
            .jamf
            .changes
            .first(&self.state.fleet, computers, mobile_devices);
        self.touch_jamf_ids(&c, &m)
    }

    /// Gives Jamf computers and mobile devices a new inventory report, as if
    /// they had just checked in with an update installed:
    /// - report date (`general.reportDate`; mobile `lastInventoryUpdateDate`
    ///   and `lastInventoryUpdateTimestamp`; Classic `report_date*` /
    ///   `last_inventory_update*`) and last contact (`general.lastContactTime`
    ///   or `lastContact`/`lastCheckIn`; mobile `lastContactTimestamp`) become
    ///   [`Simulator::jamf_now`], in whole seconds: strictly later than every
    ///   report date in the fleet and than any earlier touch;
    /// - the OS version and build (`operatingSystem.version`/`build`; mobile
    ///   `osVersion`/`osBuild`; Classic `os_version`/`os_build`) become a
    ///   newer release than any in the fleet, a step further on each touch
    ///   of the same record.
    ///
    /// Every endpoint that renders the records shows the new values at once;
    /// filters and sorts on these fields see them. Cached list pages holding
    /// a touched record, or filtering or sorting on a touched field, are
    /// dropped; other pages stay cached. Unknown or removed ids are skipped;
    /// [`Touched`] lists the ids touched and their new report date.
    pub fn touch_jamf_ids(&self, computer_ids: &[u32], mobile_ids: &[u32]) -> Touched {
        let (at, computers, mobile_devices) =
            self.state
                .jamf
                .changes
                .touch(&self.state.fleet, computer_ids, mobile_ids);
        if !computers.is_empty() || !mobile_devices.is_empty() {
            self.state.jamf.forget_orders();
            self.state.pages.invalidate(|tag| {
                let touched = if tag.computers {
                    &computers
                } else {
                    &mobile_devices
                };
                !touched.is_empty()
                    && (tag.volatile || tag.ids.iter().any(|id| touched.binary_search(id).is_ok()))
            });
        }
        Touched {
            at: jamf_touch::utc(at),
            computers,
            mobile_devices,
        }
    }

    /// Deletes Jamf computers, as if removed from Jamf Pro between two
    /// syncs: they disappear from every listing (Pro API
    /// `computers-inventory` pages and their `totalCount`, Classic
    /// `/JSSResource/computers`, `…/subset/basic`, a user's links) and their
    /// own endpoints (`computers-inventory/{id}`,
    /// `computers-inventory-detail/{id}`, `/JSSResource/computers/id/{id}`)
    /// answer 404. Unknown ids are ignored. Every cached computer page is
    /// dropped (the pages after a removed record shift); mobile pages stay.
    pub fn remove_jamf(&self, computer_ids: &[u32]) {
        let removed = self
            .state
            .jamf
            .changes
            .remove(&self.state.fleet, computer_ids);
        if !removed.is_empty() {
            self.state.jamf.forget_orders();
            self.state.pages.invalidate(|tag| tag.computers);
        }
    }

    /// Deletes users from Jamf's user directory, as if removed from Jamf
    /// Pro between two syncs, by their Jamf user id (the `id` that
    /// `GET /api/v1/users` gives: a position in
    /// [`Fleet::jamf_users`], from 1). They disappear from
    /// `/api/v1/users` (and its `totalCount`) and `/JSSResource/users`;
    /// `/JSSResource/users/id/{id}` answers 404. Their devices keep them
    /// as their user. Unknown ids are ignored; returns the ids removed now.
    pub fn remove_jamf_users(&self, user_ids: &[u32]) -> Vec<u32> {
        self.state
            .jamf
            .changes
            .remove_users(&self.state.fleet, user_ids)
    }

    /// The Kandji mutations done so far (empty unless `mutate_kandji_between_pages`).
    pub fn kandji_mutations(&self) -> KandjiMutations {
        self.state.kandji.mutations(&self.state.fleet)
    }

    /// Writes the ABM private key (Apple's form) to `path`, readable by the owner only.
    pub fn write_abm_key(&self, path: &Path) -> Result<(), SimulatorError> {
        let err = |source| SimulatorError::KeyFile {
            path: path.to_path_buf(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(err)?;
        std::io::Write::write_all(
            &mut file,
            self.state
                .creds
                .abm_private_key_pem
                .expose_secret()
                .as_bytes(),
        )
        .map_err(err)
    }

    /// A copy-pasteable `export NAME='value'` block for the `mdm` command line
    /// (the simulator's own made-up credentials; `abm_key_path` is where
    /// [`Simulator::write_abm_key`] put the key).
    pub fn env_exports(&self, abm_key_path: &Path) -> String {
        let c = &self.state.creds;
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# mdm vendor simulator on {} ({} devices)",
            self.state.base,
            self.state.fleet.devices().len()
        );
        let _ = writeln!(out, "export JAMF_URL={}", q(&self.jamf_url()));
        let _ = writeln!(out, "export JAMF_CLIENT_ID={}", q(&c.jamf_client_id));
        let _ = writeln!(
            out,
            "export JAMF_CLIENT_SECRET={}",
            q(c.jamf_client_secret.expose_secret())
        );
        let _ = writeln!(out, "# or user/password auth instead of the API client:");
        let _ = writeln!(out, "# export JAMF_USERNAME={}", q(&c.jamf_username));
        let _ = writeln!(
            out,
            "# export JAMF_PASSWORD={}",
            q(c.jamf_password.expose_secret())
        );
        let _ = writeln!(out, "export KANDJI_URL={}", q(&self.kandji_url()));
        let _ = writeln!(
            out,
            "export KANDJI_TOKEN={}",
            q(c.kandji_token.expose_secret())
        );
        let _ = writeln!(out, "export ABM_URL={}", q(&self.abm_url()));
        let _ = writeln!(out, "export ABM_TOKEN_URL={}", q(&self.abm_token_url()));
        let _ = writeln!(out, "export ABM_CLIENT_ID={}", q(&c.abm_client_id));
        let _ = writeln!(out, "export ABM_KEY_ID={}", q(&c.abm_key_id));
        let _ = writeln!(
            out,
            "export ABM_PRIVATE_KEY={}",
            q(&abm_key_path.display().to_string())
        );
        out
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs the simulator on 127.0.0.1:`port` until Ctrl-C (or, on Unix,
/// SIGTERM): writes the ABM key to a file in the temp directory, prints the
/// `export` block on stdout, and removes the key file when stopped. Used by
/// `mdm simulate`.
pub async fn run_forever(mut config: SimulatorConfig, port: u16) -> Result<(), SimulatorError> {
    config.port = port;
    let sim = Simulator::start(config).await?;
    let key_path =
        std::env::temp_dir().join(format!("mdm-simulator-{}-abm-key.pem", sim.addr().port()));
    // Listened for before anything is printed: a signal sent as soon as
    // the exports are read must find the handler in place.
    let stop = match StopSignals::listen() {
        Ok(stop) => stop,
        Err(e) => {
            sim.shutdown().await;
            return Err(SimulatorError::Signal(e));
        }
    };
    sim.write_abm_key(&key_path)?;
    {
        // A reader that closed stdout after the exports (`| head`) leaves
        // the simulator serving, not panicking on the next line.
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", sim.env_exports(&key_path));
        let _ = writeln!(out, "# Ctrl-C to stop");
        let _ = out.flush();
    }
    let waited = stop.wait().await;
    sim.shutdown().await;
    let _ = std::fs::remove_file(&key_path);
    waited.map_err(SimulatorError::Signal)
}

/// Ctrl-C or, on Unix, SIGTERM (what `kill`, a shell's job control or a
/// service manager sends): either stops the simulator the same way, its
/// key file removed. Listened for from [`listen`](Self::listen) on.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    async fn wait(mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Ok(()),
                _ = self.terminate.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    }
}

#[cfg(test)]
// Renderers return the finished HTTP error response, as the handlers do.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    fn body(n: usize) -> Result<Value, Response> {
        Ok(json!("x".repeat(n)))
    }

    fn text(r: Response) -> Vec<u8> {
        futures::executor::block_on(axum::body::to_bytes(r.into_body(), usize::MAX))
            .unwrap()
            .to_vec()
    }

    #[test]
    fn page_cache_serves_kept_pages_and_drops_the_oldest_over_budget() {
        let cache = PageCache::new(20);
        // "xxxxxx" with quotes: 8 bytes per page.
        let mut renders = 0;
        for key in ["a", "b", "a", "b"] {
            let r = cache.page(
                || key.to_string(),
                || {
                    renders += 1;
                    body(6)
                },
            );
            assert_eq!(text(r), b"\"xxxxxx\"");
        }
        assert_eq!(renders, 2, "a and b rendered once each");
        // A third page goes over 20 bytes: "a", the oldest, is dropped.
        let _ = cache.page(|| "c".to_string(), || body(6));
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
        // A page larger than the budget is served but not kept.
        let big = cache.page(|| "big".to_string(), || body(30));
        assert_eq!(text(big).len(), 32);
        assert!(cache.get("big").is_none());
        assert!(cache.get("b").is_some());
        // Errors are answered, not kept.
        let err = cache.page(
            || "e".to_string(),
            || Err(json_response(StatusCode::BAD_REQUEST, &json!({"e": 1}))),
        );
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(cache.get("e").is_none());
        assert!(format!("{cache:?}").contains("pages: 2"));
    }

    #[test]
    fn invalidate_drops_only_the_tagged_pages_it_picks() {
        let cache = PageCache::new(1000);
        let tag = |computers, ids: &[u32], volatile| PageTag {
            computers,
            ids: ids.to_vec(),
            volatile,
        };
        let tagged = |key: &str, t: PageTag| {
            let _ = cache.page_tagged(|| key.to_string(), || Ok((json!(key), t)), || true);
        };
        tagged("c1", tag(true, &[1, 2], false));
        tagged("c2", tag(true, &[3, 4], false));
        tagged("cv", tag(true, &[5], true));
        tagged("m1", tag(false, &[1, 2], false));
        let _ = cache.page(|| "plain".to_string(), || body(3));
        // What touching computer 2 drops: its page and the volatile one.
        cache.invalidate(|t| t.computers && (t.volatile || t.ids.contains(&2)));
        assert!(cache.get("c1").is_none() && cache.get("cv").is_none());
        for kept in ["c2", "m1", "plain"] {
            assert!(cache.get(kept).is_some(), "{kept}");
        }
        let inner = cache.inner.lock().unwrap();
        assert_eq!(inner.order.len(), 3);
        assert_eq!(
            inner.bytes,
            inner.pages.values().map(|p| p.body.len()).sum::<usize>()
        );
    }

    #[test]
    fn a_page_rendered_from_outdated_data_is_served_but_not_kept() {
        let cache = PageCache::new(1000);
        let t = PageTag {
            computers: true,
            ids: vec![1],
            volatile: false,
        };
        let r = cache.page_tagged(|| "a".to_string(), || Ok((json!(1), t.clone())), || false);
        assert_eq!(text(r), b"1");
        assert!(cache.get("a").is_none());
        let _ = cache.page_tagged(|| "a".to_string(), || Ok((json!(2), t)), || true);
        assert_eq!(cache.get("a").as_deref(), Some(&b"2"[..]));
    }

    #[test]
    fn a_zero_budget_renders_every_time() {
        let cache = PageCache::new(0);
        let mut renders = 0;
        for _ in 0..3 {
            let r = cache.page(
                || "a".to_string(),
                || {
                    renders += 1;
                    body(1)
                },
            );
            assert_eq!(text(r), b"\"x\"");
        }
        assert_eq!(renders, 3);
    }
}
