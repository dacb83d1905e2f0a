//! The client: construction, the request loop (rate limit, retries, error
//! mapping, decoding) and the endpoints.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use backon::Retryable;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use mdm_mapping::net::{self, RetryPolicy};
use reqwest::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, HeaderMap, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorBody};
use crate::models::{
    Blueprint, Device, DeviceApps, DeviceDetails, Paginated, Tag, User, UsersPage,
};
use crate::query::{DeviceQuery, UserQuery};
use crate::rate_limit::{RateLimiter, RateLimits};

/// The `User-Agent` every request carries.
pub const USER_AGENT_VALUE: &str = concat!("kandji-client/", env!("CARGO_PKG_VERSION"));

/// The default time limit for one HTTP attempt (backoff waits not included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time limit for opening a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a tenant's API lives. Kandji tenants answer on
/// `SUBDOMAIN.api.kandji.io` (US) or `SUBDOMAIN.api.eu.kandji.io` (EU);
/// since the rename to Iru, US tenants also answer on `SUBDOMAIN.api.iru.com`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Region {
    /// `https://SUBDOMAIN.api.kandji.io`
    #[default]
    Us,
    /// `https://SUBDOMAIN.api.eu.kandji.io`
    Eu,
    /// `https://SUBDOMAIN.api.iru.com`
    Iru,
}

impl Region {
    /// The API host for `subdomain` in this region.
    pub fn api_host(self, subdomain: &str) -> String {
        match self {
            Region::Us => format!("{subdomain}.api.kandji.io"),
            Region::Eu => format!("{subdomain}.api.eu.kandji.io"),
            Region::Iru => format!("{subdomain}.api.iru.com"),
        }
    }
}

impl FromStr for Region {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "us" | "" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            "iru" => Ok(Region::Iru),
            other => Err(Error::config(format!(
                "unknown Kandji region {other:?} (expected us, eu or iru)"
            ))),
        }
    }
}

/// The base URL of a tenant given as any of:
///
/// - a full URL: `https://acme.api.kandji.io` (https, or http to loopback only);
/// - a host: `acme.api.eu.kandji.io` (https is assumed);
/// - a subdomain: `acme`, placed in `region`.
///
/// ```
/// use kandji_client::{tenant_base_url, Region};
///
/// assert_eq!(tenant_base_url("acme", Region::Eu).unwrap().as_str(), "https://acme.api.eu.kandji.io/");
/// assert_eq!(tenant_base_url("acme.api.iru.com", Region::Us).unwrap().as_str(), "https://acme.api.iru.com/");
/// assert!(tenant_base_url("http://acme.api.kandji.io", Region::Us).is_err()); // not loopback
/// assert!(tenant_base_url("ac me", Region::Us).is_err());
/// ```
pub fn tenant_base_url(tenant: &str, region: Region) -> Result<Url, Error> {
    let t = tenant.trim();
    if t.contains("://") {
        return Ok(net::base_url(t)?);
    }
    if t.contains('.') || t.contains(':') || t.contains('/') {
        return Ok(net::base_url(&format!("https://{t}"))?);
    }
    let valid = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !t.starts_with('-')
        && !t.ends_with('-');
    if !valid {
        return Err(Error::config(format!(
            "invalid Kandji subdomain {t:?}: expected letters, digits and '-', as in SUBDOMAIN.api.kandji.io"
        )));
    }
    Ok(net::base_url(&format!("https://{}", region.api_host(t)))?)
}

#[derive(Debug, Clone)]
enum Target {
    Tenant(String),
    BaseUrl(String),
}

/// Builds a [`KandjiClient`]. Everything is checked in [`build`](Self::build).
///
/// ```
/// use kandji_client::{KandjiClient, RateLimits, Region};
/// use std::time::Duration;
///
/// let client = KandjiClient::builder()
///     .tenant("acme")
///     .region(Region::Eu)
///     .token("8a0d2a1c-0000-4000-8000-000000000000")
///     .timeout(Duration::from_secs(20))
///     .rate_limits(RateLimits::new(45, 9_500))
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url().as_str(), "https://acme.api.eu.kandji.io/");
/// assert!(!format!("{client:?}").contains("8a0d2a1c"));
/// ```
pub struct KandjiClientBuilder {
    target: Option<Target>,
    region: Region,
    token: Option<SecretString>,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    rate_limits: RateLimits,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryPolicy,
}

impl Default for KandjiClientBuilder {
    fn default() -> Self {
        KandjiClientBuilder {
            target: None,
            region: Region::Us,
            token: None,
            http: None,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            rate_limits: RateLimits::default(),
            limiter: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for KandjiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KandjiClientBuilder")
            .field("target", &self.target)
            .field("region", &self.region)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("custom_http_client", &self.http.is_some())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("rate_limits", &self.rate_limits)
            .field("retry", &self.retry)
            .finish()
    }
}

impl KandjiClientBuilder {
    /// A builder with the defaults: region US, 30 s per attempt, Kandji's
    /// rate limits, [`RetryPolicy::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The tenant: a subdomain (`acme`, placed in [`region`](Self::region)),
    /// an API host (`acme.api.eu.kandji.io`) or a full base URL. See
    /// [`tenant_base_url`].
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.target = Some(Target::Tenant(tenant.into()));
        self
    }

    /// The subdomain (`acme` of `acme.api.kandji.io`); same as [`tenant`](Self::tenant).
    pub fn subdomain(self, subdomain: impl Into<String>) -> Self {
        self.tenant(subdomain)
    }

    /// The region a bare subdomain is placed in (default [`Region::Us`]).
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Any full base URL: `https://…`, or `http://` to a loopback address
    /// (a local simulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.target = Some(Target::BaseUrl(url.into()));
        self
    }

    /// The API token (Access > API tokens in Kandji). Surrounding
    /// whitespace is ignored.
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Use this `reqwest::Client` (shared connection pool, proxies, TLS
    /// settings). [`connect_timeout`](Self::connect_timeout) then does not
    /// apply; the per-attempt [`timeout`](Self::timeout) still does.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The time limit of one HTTP attempt, response body included (default
    /// 30 s). Waiting between retries is not counted.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No per-attempt time limit.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// The time limit for opening a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Client-side rate limits (default 50/s and 10,000/h).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self.limiter = None;
        self
    }

    /// Share a [`RateLimiter`] with other clients of the same tenant.
    pub fn rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.rate_limits = limiter.limits();
        self.limiter = Some(limiter);
        self
    }

    /// How failed requests are retried (429, 502, 503, 504 and connection
    /// errors; `Retry-After` honoured up to `max_retry_after`).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without a tenant or token, or with a token that
    /// cannot be sent in a header; [`Error::Url`] for an unusable base URL.
    pub fn build(self) -> Result<KandjiClient, Error> {
        let base = match &self.target {
            Some(Target::Tenant(t)) => tenant_base_url(t, self.region)?,
            Some(Target::BaseUrl(u)) => net::base_url(u)?,
            None => {
                return Err(Error::config(
                    "no tenant: set a subdomain and region or a base URL (SUBDOMAIN.api.kandji.io)",
                ));
            }
        };
        let token = self.token.ok_or_else(|| Error::config("no API token"))?;
        let auth = auth_header(&token)?;
        let http = match self.http {
            Some(c) => c,
            None => reqwest::Client::builder()
                .user_agent(USER_AGENT_VALUE)
                .connect_timeout(self.connect_timeout)
                // Never carry the token to another host.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?,
        };
        let limiter = self
            .limiter
            .unwrap_or_else(|| Arc::new(RateLimiter::new(self.rate_limits)));
        Ok(KandjiClient {
            inner: Arc::new(Inner {
                base,
                auth,
                http,
                timeout: self.timeout,
                limiter,
                retry: self.retry,
                requests: AtomicU64::new(0),
            }),
        })
    }
}

/// `Bearer TOKEN`, marked sensitive so HTTP debugging never prints it.
fn auth_header(token: &SecretString) -> Result<HeaderValue, Error> {
    let t = token.expose_secret().trim();
    if t.is_empty() {
        return Err(Error::config("the API token is empty"));
    }
    let mut v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
        Error::config("the API token contains characters that cannot be sent in an HTTP header")
    })?;
    v.set_sensitive(true);
    Ok(v)
}

struct Inner {
    base: Url,
    auth: HeaderValue,
    http: reqwest::Client,
    timeout: Option<Duration>,
    limiter: Arc<RateLimiter>,
    retry: RetryPolicy,
    requests: AtomicU64,
}

/// A Kandji API client. Cheap to clone: clones share the connection pool,
/// the rate limiter and the request counter.
///
/// Every request carries `Authorization: Bearer …` (marked sensitive),
/// `Cache-Control: no-cache` (Kandji's cache can serve stale reads) and
/// `User-Agent: kandji-client/VERSION`; waits for the client-side rate
/// limiter; and is retried on 429, 502, 503, 504 and connection errors,
/// honouring `Retry-After` (else `Ratelimit-Reset`), capped by the
/// [`RetryPolicy`].
#[derive(Clone)]
pub struct KandjiClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for KandjiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KandjiClient")
            .field("base_url", &self.inner.base.as_str())
            .field("token", &"[redacted]")
            .field("timeout", &self.inner.timeout)
            .field("rate_limits", &self.inner.limiter.limits())
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// One page of the device listing.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeviceListPage {
    /// The offset this page was requested at.
    pub offset: u32,
    /// The devices on it, without those already seen on an earlier page of
    /// the same listing.
    pub devices: Vec<Device>,
    /// How many repeats were dropped.
    pub repeats_dropped: usize,
    /// The next page's offset; `None` after a short or empty page.
    pub next_offset: Option<u32>,
}

impl KandjiClient {
    /// A builder.
    pub fn builder() -> KandjiClientBuilder {
        KandjiClientBuilder::new()
    }

    /// The API base URL (ends in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// HTTP requests sent so far by this client and its clones (retries
    /// included).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The client-side rate limiter.
    pub fn rate_limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    fn url(&self, segments: &[&str]) -> Url {
        net::endpoint(&self.inner.base, segments)
    }

    // ---- devices ---------------------------------------------------------

    /// One page of `GET /api/v1/devices`: up to `query`'s page size (≤ 300)
    /// devices from `offset`. An offset past the end is an empty page.
    ///
    /// # Errors
    ///
    /// Any [`Error`]; a decode error names the offset and the JSON path.
    pub async fn list_devices(
        &self,
        query: &DeviceQuery,
        offset: u32,
    ) -> Result<Vec<Device>, Error> {
        let body = self.list_devices_body(query, offset).await?;
        decode_device_list(&body, offset)
    }

    /// The undecoded body of one device listing page (rate limit and
    /// retries as for every request); [`decode_device_list`] reads it.
    pub(crate) async fn list_devices_body(
        &self,
        query: &DeviceQuery,
        offset: u32,
    ) -> Result<Bytes, Error> {
        let mut url = self.url(&["api", "v1", "devices"]);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query.to_query_pairs() {
                q.append_pair(k, &v);
            }
            q.append_pair("limit", &query.effective_page_size().to_string());
            q.append_pair("offset", &offset.to_string());
        }
        self.execute(Endpoint::ListDevices, &url).await
    }

    /// The device listing as a lazy stream of pages, from `offset` 0 until a
    /// short or empty page. Devices already seen on an earlier page (offset
    /// drift while the list changes) are dropped. A full page of nothing but
    /// repeats (a server ignoring `offset`) ends the listing with
    /// [`Error::NoProgress`]: whatever the server does, the stream ends, and
    /// only that one request is wasted.
    pub fn device_pages(
        &self,
        query: DeviceQuery,
    ) -> BoxStream<'static, Result<DeviceListPage, Error>> {
        struct State {
            client: KandjiClient,
            query: DeviceQuery,
            next: Option<u32>,
            seen: HashSet<String>,
        }
        let state = State {
            client: self.clone(),
            query,
            next: Some(0),
            seen: HashSet::new(),
        };
        stream::unfold(state, |mut st| async move {
            let offset = st.next.take()?;
            match st.client.list_devices(&st.query, offset).await {
                Ok(devices) => {
                    let got = devices.len();
                    let size = st.query.effective_page_size() as usize;
                    let fresh: Vec<Device> = devices
                        .into_iter()
                        .filter(|d| st.seen.insert(d.device_id.clone()))
                        .collect();
                    let repeats = got - fresh.len();
                    let full = got >= size;
                    if full && fresh.is_empty() {
                        let e = Error::no_progress(
                            Endpoint::ListDevices,
                            format!("the page at offset {offset}"),
                            mdm_mapping::NoProgressReason::RepeatedRecords,
                        );
                        return Some((Err(e), st));
                    }
                    st.next = if full {
                        offset.checked_add(u32::try_from(got).unwrap_or(u32::MAX))
                    } else {
                        None
                    };
                    if repeats > 0 {
                        tracing::debug!(offset, repeats, "dropped devices already listed");
                    }
                    let page = DeviceListPage {
                        offset,
                        devices: fresh,
                        repeats_dropped: repeats,
                        next_offset: st.next,
                    };
                    Some((Ok(page), st))
                }
                Err(e) => Some((Err(e), st)),
            }
        })
        .boxed()
    }

    /// Every device matching `query`, once each, as a lazy stream (memory
    /// bounded by one page).
    ///
    /// ```no_run
    /// # async fn run(client: kandji_client::KandjiClient) -> Result<(), kandji_client::Error> {
    /// use futures::TryStreamExt;
    /// use kandji_client::{DeviceQuery, Platform};
    ///
    /// let macs: Vec<_> = client
    ///     .devices(DeviceQuery::new().platform(Platform::Mac).ordering("device_id"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn devices(&self, query: DeviceQuery) -> BoxStream<'static, Result<Device, Error>> {
        self.device_pages(query)
            .flat_map(|page| match page {
                Ok(p) => stream::iter(p.devices.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .boxed()
    }

    /// `GET /api/v1/devices/{device_id}`.
    ///
    /// # Errors
    ///
    /// Any [`Error`]; an unknown id is [`Error::Api`] with status 404.
    pub async fn device(&self, device_id: &str) -> Result<Device, Error> {
        let url = self.url(&["api", "v1", "devices", device_id]);
        self.get_json(Endpoint::GetDevice, &url, None).await
    }

    /// `GET /api/v1/devices/{device_id}/details`.
    ///
    /// # Errors
    ///
    /// Any [`Error`].
    pub async fn device_details(&self, device_id: &str) -> Result<DeviceDetails, Error> {
        let url = self.url(&["api", "v1", "devices", device_id, "details"]);
        self.get_json(Endpoint::DeviceDetails, &url, None).await
    }

    /// `GET /api/v1/devices/{device_id}/apps`.
    ///
    /// # Errors
    ///
    /// Any [`Error`].
    pub async fn device_apps(&self, device_id: &str) -> Result<DeviceApps, Error> {
        let url = self.url(&["api", "v1", "devices", device_id, "apps"]);
        self.get_json(Endpoint::DeviceApps, &url, None).await
    }

    // ---- users -----------------------------------------------------------

    /// One page of `GET /api/v1/users` (up to the query's page size, sent as
    /// `limit`; 300 by default). `cursor` is the `cursor` value of the
    /// previous page's `next` URL ([`cursor_from_next`]).
    ///
    /// # Errors
    ///
    /// Any [`Error`].
    pub async fn users_page(
        &self,
        query: &UserQuery,
        cursor: Option<&str>,
    ) -> Result<UsersPage, Error> {
        let mut pairs: Vec<(String, String)> = query
            .to_query_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        pairs.push(("limit".into(), query.effective_page_size().to_string()));
        if let Some(c) = cursor {
            pairs.push(("cursor".into(), c.to_string()));
        }
        let url = self.url_with(&["api", "v1", "users"], &pairs);
        let page = Some(match cursor {
            Some(c) => format!("cursor {c}"),
            None => "first page".to_string(),
        });
        self.get_json(Endpoint::ListUsers, &url, page).await
    }

    /// Every user matching `query`, as a lazy stream over the cursor pages
    /// (one request per [`UserQuery::page_size`] users, 300 by default).
    ///
    /// Only the `cursor` value of each `next` link is used, re-issued on
    /// this client's base URL: Kandji's `next` links can name the web
    /// console's host, and the token is never sent anywhere else.
    pub fn users(&self, query: UserQuery) -> BoxStream<'static, Result<User, Error>> {
        struct State {
            client: KandjiClient,
            query: UserQuery,
            next: Option<Option<String>>,
            seen: HashSet<String>,
            seen_ids: HashSet<String>,
            then: Option<Error>,
        }
        let state = State {
            client: self.clone(),
            query,
            next: Some(None),
            seen: HashSet::new(),
            seen_ids: HashSet::new(),
            then: None,
        };
        stream::unfold(state, |mut st| async move {
            if let Some(e) = st.then.take() {
                return Some((Err(e), st));
            }
            let cursor = st.next.take()?;
            let page_name = match &cursor {
                None => "the first page read".to_string(),
                Some(c) => format!("the page at cursor {c}"),
            };
            match st.client.users_page(&st.query, cursor.as_deref()).await {
                Ok(page) => {
                    let mut fresh = false;
                    for u in &page.results {
                        fresh |= st.seen_ids.insert(u.id.clone());
                    }
                    match page.next.as_deref().map(cursor_from_next) {
                        Some(_) if !fresh => {
                            // Empty, or only users already listed, yet a next page.
                            let reason = if page.results.is_empty() {
                                mdm_mapping::NoProgressReason::EmptyPage
                            } else {
                                mdm_mapping::NoProgressReason::RepeatedRecords
                            };
                            let e = Error::no_progress(Endpoint::ListUsers, page_name, reason);
                            return Some((Err(e), st));
                        }
                        Some(Some(c)) if st.seen.insert(c.clone()) => st.next = Some(Some(c)),
                        Some(Some(c)) => {
                            st.then = Some(Error::no_progress(
                                Endpoint::ListUsers,
                                page_name,
                                mdm_mapping::NoProgressReason::RepeatedCursor(
                                    mdm_mapping::Cursor::new(c),
                                ),
                            ));
                        }
                        Some(None) => {
                            tracing::warn!(next = ?page.next, "users `next` link has no cursor; stopping");
                        }
                        None => {}
                    }
                    Some((Ok(page.results), st))
                }
                Err(e) => Some((Err(e), st)),
            }
        })
        .flat_map(|r| match r {
            Ok(users) => stream::iter(users.into_iter().map(Ok).collect::<Vec<_>>()),
            Err(e) => stream::iter(vec![Err(e)]),
        })
        .boxed()
    }

    /// `GET /api/v1/users/{user_id}`.
    ///
    /// # Errors
    ///
    /// Any [`Error`].
    pub async fn user(&self, user_id: &str) -> Result<User, Error> {
        let url = self.url(&["api", "v1", "users", user_id]);
        self.get_json(Endpoint::GetUser, &url, None).await
    }

    // ---- blueprints and tags ---------------------------------------------

    /// Every blueprint, as a lazy stream over the `limit`/`offset` pages.
    pub fn blueprints(&self) -> BoxStream<'static, Result<Blueprint, Error>> {
        self.drf_stream(
            Endpoint::ListBlueprints,
            &["api", "v1", "blueprints"],
            vec![
                ("limit".into(), "300".into()),
                ("offset".into(), "0".into()),
            ],
            |b: &Blueprint| &b.id,
        )
    }

    /// `GET /api/v1/blueprints/{blueprint_id}`.
    ///
    /// # Errors
    ///
    /// Any [`Error`].
    pub async fn blueprint(&self, blueprint_id: &str) -> Result<Blueprint, Error> {
        let url = self.url(&["api", "v1", "blueprints", blueprint_id]);
        self.get_json(Endpoint::GetBlueprint, &url, None).await
    }

    /// Every tag, or those whose name contains `search`.
    ///
    /// # Errors
    ///
    /// Any [`Error`].
    pub async fn tags(&self, search: Option<&str>) -> Result<Vec<Tag>, Error> {
        use futures::TryStreamExt;
        let initial = search
            .map(|s| vec![("search".to_string(), s.to_string())])
            .unwrap_or_default();
        self.drf_stream(
            Endpoint::ListTags,
            &["api", "v1", "tags"],
            initial,
            |t: &Tag| &t.id,
        )
        .try_collect()
        .await
    }

    /// A `{count, next, previous, results}` listing: each `next` link's
    /// query is re-issued on this client's base URL.
    fn drf_stream<T>(
        &self,
        endpoint: Endpoint,
        segments: &[&str],
        initial: Vec<(String, String)>,
        key: fn(&T) -> &str,
    ) -> BoxStream<'static, Result<T, Error>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        struct State<T> {
            client: KandjiClient,
            url: Url,
            next: Option<Vec<(String, String)>>,
            seen: HashSet<Vec<(String, String)>>,
            seen_ids: HashSet<String>,
            endpoint: Endpoint,
            key: fn(&T) -> &str,
        }
        let state = State {
            client: self.clone(),
            url: self.url(segments),
            next: Some(initial),
            seen: HashSet::new(),
            seen_ids: HashSet::new(),
            endpoint,
            key,
        };
        stream::unfold(state, |mut st| async move {
            let pairs = st.next.take()?;
            let mut url = st.url.clone();
            if !pairs.is_empty() {
                url.query_pairs_mut().extend_pairs(pairs.iter());
            }
            let page_label = describe_pairs(&pairs);
            st.seen.insert(pairs);
            let result: Result<Paginated<T>, Error> = st
                .client
                .get_json(st.endpoint, &url, page_label.clone())
                .await;
            match result {
                Ok(page) => {
                    let mut fresh = false;
                    for item in &page.results {
                        fresh |= st.seen_ids.insert((st.key)(item).to_string());
                    }
                    if let Some(next) = page.next.as_deref() {
                        let page_name = page_label
                            .map(|l| format!("the page at {l}"))
                            .unwrap_or_else(|| "the first page read".to_string());
                        let reason = match query_of(next) {
                            _ if page.results.is_empty() => {
                                Some(mdm_mapping::NoProgressReason::EmptyPage)
                            }
                            _ if !fresh => Some(mdm_mapping::NoProgressReason::RepeatedRecords),
                            Some(q) if !st.seen.contains(&q) => {
                                st.next = Some(q);
                                None
                            }
                            _ => Some(mdm_mapping::NoProgressReason::RepeatedCursor(
                                mdm_mapping::Cursor::new(next),
                            )),
                        };
                        if let Some(reason) = reason {
                            let e = Error::no_progress(st.endpoint, page_name, reason);
                            return Some((Err(e), st));
                        }
                    }
                    Some((Ok(page.results), st))
                }
                Err(e) => Some((Err(e), st)),
            }
        })
        .flat_map(|r| match r {
            Ok(items) => stream::iter(items.into_iter().map(Ok).collect::<Vec<_>>()),
            Err(e) => stream::iter(vec![Err(e)]),
        })
        .boxed()
    }

    fn url_with(&self, segments: &[&str], pairs: &[(String, String)]) -> Url {
        let mut url = self.url(segments);
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs.iter());
        }
        url
    }

    // ---- the request loop ------------------------------------------------

    async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        url: &Url,
        page: Option<String>,
    ) -> Result<T, Error> {
        let body = self.execute(endpoint, url).await?;
        decode(endpoint, page, &body)
    }

    /// Sends a GET with rate limiting and retries; returns the body of a 2xx.
    async fn execute(&self, endpoint: Endpoint, url: &Url) -> Result<Bytes, Error> {
        let attempts = AtomicU32::new(0);
        let policy = &self.inner.retry;
        let idempotent = endpoint.is_idempotent();
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(endpoint, url).await
        })
        .retry(policy.backoff())
        .sleep(tokio::time::sleep)
        .when(|e| should_retry(policy, e, idempotent))
        .adjust(|e, backoff| backoff.map(|d| policy.delay_for(e.retry_after(), d)))
        .notify(|e, wait| {
            tracing::warn!(%endpoint, ?wait, error = %e, "Kandji request failed; retrying");
        })
        .await;
        result.map_err(|e| match e {
            Error::RateLimited {
                endpoint,
                retry_after,
                body,
                raw,
                ..
            } => Error::RateLimited {
                endpoint,
                retry_after,
                attempts: attempts.load(Ordering::Relaxed),
                body,
                raw,
            },
            other => other,
        })
    }

    async fn attempt(&self, endpoint: Endpoint, url: &Url) -> Result<Bytes, Error> {
        self.inner.limiter.acquire().await;
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%endpoint, url = %url, "GET");
        let mut req = self
            .inner
            .http
            .get(url.clone())
            .header(AUTHORIZATION, self.inner.auth.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(CACHE_CONTROL, HeaderValue::from_static("no-cache"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if let Some(t) = self.inner.timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await.map_err(|e| Error::Transport {
            endpoint,
            before_send: e.is_connect(),
            source: e,
        })?;
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        let body = resp.bytes().await.map_err(|e| Error::Transport {
            endpoint,
            before_send: false,
            source: e,
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let raw = String::from_utf8_lossy(&body).into_owned();
        let parsed = ErrorBody::parse(&raw);
        Err(match status.as_u16() {
            s @ (401 | 403) => Error::Auth {
                status: s,
                endpoint,
                body: parsed,
                raw,
            },
            429 => Error::RateLimited {
                endpoint,
                retry_after,
                attempts: 1,
                body: parsed,
                raw,
            },
            s => Error::Api {
                status: s,
                endpoint,
                retry_after,
                body: parsed,
                raw,
            },
        })
    }
}

fn should_retry(policy: &RetryPolicy, e: &Error, idempotent: bool) -> bool {
    match e {
        Error::RateLimited { .. } => policy.should_retry_status(429, idempotent),
        Error::Api { status, .. } => policy.should_retry_status(*status, idempotent),
        Error::Transport { before_send, .. } => {
            policy.should_retry_transport(*before_send, idempotent)
        }
        _ => false,
    }
}

/// `Retry-After` (seconds or an HTTP date), else the gateway's
/// `Ratelimit-Reset` (seconds).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let now = SystemTime::now();
    ["retry-after", "ratelimit-reset"].iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| net::parse_retry_after(v, now))
    })
}

fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Decodes a device listing page read at `offset`.
pub(crate) fn decode_device_list(body: &[u8], offset: u32) -> Result<Vec<Device>, Error> {
    decode_device_list_noting(body, offset).map(|(devices, dropped)| {
        if !dropped.is_empty() {
            tracing::debug!(
                offset,
                dropped = dropped.len(),
                "values that cannot be read were dropped"
            );
        }
        devices
    })
}

/// Values a decode dropped: (field, raw value).
pub(crate) type Dropped = Vec<(&'static str, String)>;

/// [`decode_device_list`], with the values the decode dropped because it
/// could not read them (field, raw value), for a source to count.
pub(crate) fn decode_device_list_noting(
    body: &[u8],
    offset: u32,
) -> Result<(Vec<Device>, Dropped), Error> {
    let _ = crate::models::flex::take_dropped();
    let devices = decode_device_list_inner(body, offset)?;
    Ok((devices, crate::models::flex::take_dropped()))
}

fn decode_device_list_inner(body: &[u8], offset: u32) -> Result<Vec<Device>, Error> {
    let page = Some(format!("offset {offset}"));
    // Kandji's docs once showed a filtered listing as a single object:
    // accept it as a page of one.
    if first_byte(body) == Some(b'{') {
        decode::<Device>(Endpoint::ListDevices, page, body).map(|d| vec![d])
    } else {
        decode(Endpoint::ListDevices, page, body)
    }
}

/// How many devices a listing body holds, counted without decoding them
/// (`None`: the body is not a listing; its decode says why). The count is
/// the length [`decode_device_list`] returns when it succeeds.
#[cfg(test)]
pub(crate) fn count_device_list(body: &[u8]) -> Option<usize> {
    device_ids_of_list(body).map(|ids| ids.len())
}

/// The `device_id`s of a listing body, in order, read without decoding the
/// devices (`None`: the body is not a listing; its decode says why). A
/// device without a readable id counts as `""`. The length is the length
/// [`decode_device_list`] returns when it succeeds.
pub(crate) fn device_ids_of_list(body: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(default)]
        device_id: Option<serde_json::Value>,
    }
    fn id(d: IdOnly) -> String {
        match d.device_id {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }
    if first_byte(body) == Some(b'{') {
        serde_json::from_slice::<IdOnly>(body)
            .ok()
            .map(|d| vec![id(d)])
    } else {
        serde_json::from_slice::<Vec<IdOnly>>(body)
            .ok()
            .map(|v| v.into_iter().map(id).collect())
    }
}

fn decode<T: DeserializeOwned>(
    endpoint: Endpoint,
    page: Option<String>,
    body: &[u8],
) -> Result<T, Error> {
    // Plain serde_json first (tracking the path costs a share of a large
    // page's decoding); only a body that fails is decoded again to say where.
    if let Ok(v) = mdm_mapping::lenient::from_json_bytes(body) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => de.end().map(|()| v).map_err(|e| (".".to_string(), e)),
        Err(e) => Err((e.path().to_string(), e.into_inner())),
    };
    result.map_err(|(path, source)| Error::Decode {
        endpoint,
        page,
        path,
        html: first_byte(body) == Some(b'<'),
        source,
    })
}

/// The `cursor` value of a users `next` link, whatever host the link names.
///
/// ```
/// assert_eq!(
///     kandji_client::cursor_from_next("https://accuhive.kandji.io/api/v1/users?cursor=cD0yOTE0Mw%3D%3D").as_deref(),
///     Some("cD0yOTE0Mw==")
/// );
/// assert_eq!(kandji_client::cursor_from_next("/api/v1/users?email=a&cursor=xyz").as_deref(), Some("xyz"));
/// assert_eq!(kandji_client::cursor_from_next("https://x.example/api/v1/users"), None);
/// ```
pub fn cursor_from_next(next: &str) -> Option<String> {
    query_of(next)?
        .into_iter()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The decoded query pairs of a (possibly relative) link.
fn query_of(link: &str) -> Option<Vec<(String, String)>> {
    let url = Url::parse(link)
        .or_else(|_| Url::parse("http://placeholder.invalid/").and_then(|b| b.join(link)))
        .ok()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    (!pairs.is_empty()).then_some(pairs)
}

fn describe_pairs(pairs: &[(String, String)]) -> Option<String> {
    let find = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(o) = find("offset") {
        Some(format!("offset {o}"))
    } else if let Some(c) = find("cursor") {
        Some(format!("cursor {c}"))
    } else if let Some(p) = find("page") {
        Some(format!("page {p}"))
    } else {
        Some("first page".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_is_sensitive_and_trimmed() {
        let v = auth_header(&SecretString::from(" tok-123 \n")).expect("valid");
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().expect("ascii"), "Bearer tok-123");
        assert!(!format!("{v:?}").contains("tok-123"));
        assert!(auth_header(&SecretString::from("  ")).is_err());
        let e = auth_header(&SecretString::from("bad\u{7}token")).expect_err("control char");
        assert!(!e.to_string().contains("bad"), "{e}");
    }

    #[test]
    fn regions_and_tenants() {
        assert_eq!(
            tenant_base_url("acme", Region::Us).expect("ok").as_str(),
            "https://acme.api.kandji.io/"
        );
        assert_eq!(
            tenant_base_url("acme", Region::Iru).expect("ok").as_str(),
            "https://acme.api.iru.com/"
        );
        assert_eq!(
            tenant_base_url("http://127.0.0.1:9/kandji", Region::Us)
                .expect("loopback")
                .as_str(),
            "http://127.0.0.1:9/kandji/"
        );
        assert!(tenant_base_url("", Region::Us).is_err());
        assert!(tenant_base_url("-acme", Region::Us).is_err());
        assert_eq!("EU".parse::<Region>().expect("eu"), Region::Eu);
        assert!("mars".parse::<Region>().is_err());
    }

    #[test]
    fn build_requires_tenant_and_token() {
        let e = KandjiClient::builder()
            .token("t")
            .build()
            .expect_err("no tenant");
        assert!(e.to_string().contains("no tenant"), "{e}");
        let e = KandjiClient::builder()
            .tenant("acme")
            .build()
            .expect_err("no token");
        assert!(e.to_string().contains("no API token"), "{e}");
        let e = KandjiClient::builder()
            .base_url("http://acme.example")
            .token("t")
            .build()
            .expect_err("insecure");
        assert!(matches!(e, Error::Url(_)), "{e:?}");
    }

    #[test]
    fn retry_after_prefers_retry_after_then_ratelimit_reset() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("ratelimit-reset", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn the_cheap_count_is_the_decoded_length() {
        let one = r#"{"device_id": "a", "serial_number": "X"}"#;
        let bodies = [
            "[]".to_string(),
            " [ ] ".to_string(),
            one.to_string(),
            format!("[{one}]"),
            format!("[{one}, {one}, {one}]"),
            // nested lists and objects inside a device do not count
            r#"[{"device_id": "a", "tags": ["x", "y"], "odd": {"k": [1, {"j": []}]}}]"#.to_string(),
        ];
        for body in &bodies {
            let decoded = decode_device_list(body.as_bytes(), 0)
                .expect("decodes")
                .len();
            assert_eq!(count_device_list(body.as_bytes()), Some(decoded), "{body}");
        }
        for bad in ["<html>", "", "[1, 2", "[] x", "null"] {
            assert_eq!(count_device_list(bad.as_bytes()), None, "{bad}");
            assert!(decode_device_list(bad.as_bytes(), 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn decode_errors_name_the_path_and_page() {
        let e = decode::<Vec<Device>>(
            Endpoint::ListDevices,
            Some("offset 300".into()),
            br#"[{"device_id":"a"},{"device_id":{"x":1}}]"#,
        )
        .expect_err("bad id");
        let msg = e.to_string();
        assert!(msg.contains("`[1].device_id`"), "{msg}");
        assert!(msg.contains("(offset 300)"), "{msg}");
        let e = decode::<Vec<Device>>(Endpoint::ListDevices, None, b"<!doctype html><html></html>")
            .expect_err("html");
        assert!(e.to_string().contains("HTML page"), "{e}");
        let e = decode::<Vec<Device>>(Endpoint::ListDevices, None, b"[] x").expect_err("trailing");
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    }

    #[test]
    fn query_of_handles_relative_and_absolute_links() {
        assert_eq!(
            query_of("https://h.example/api/v1/blueprints?limit=100&offset=100"),
            Some(vec![
                ("limit".into(), "100".into()),
                ("offset".into(), "100".into())
            ])
        );
        assert_eq!(query_of("?page=2"), Some(vec![("page".into(), "2".into())]));
        assert_eq!(query_of("https://h.example/x"), None);
    }
}
