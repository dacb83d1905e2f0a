//! [`Client`] and its [`ClientBuilder`]: configuration, the retry loop,
//! re-authentication on 401, and the server version probe.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::Retryable;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use mdm_mapping::net::RetryPolicy;

use crate::auth::{Clock, Credentials, SharedClock, SystemClock, TokenCache};
use crate::error::{ConfigError, Error};
use crate::models::Page;
use crate::transport::{AuthHeader, Body, RawResponse, Transport};
use crate::version::{InventoryVersion, JamfProVersion};

/// The `User-Agent` sent by default: `jamf-client/VERSION`.
pub const DEFAULT_USER_AGENT: &str = concat!("jamf-client/", env!("CARGO_PKG_VERSION"));

/// Jamf's advice: no more than 5 concurrent connections.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 5;

/// The default per-attempt timeout. Large inventory pages take tens of
/// seconds to render; Jamf Cloud's gateway gives up at 90 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A lazy stream of pages; memory holds one page at a time.
pub type PageStream<T> = BoxStream<'static, Result<Page<T>, Error>>;

/// One page of a listing as the server sent it, not yet decoded: the
/// request is done (retries included) and decoding, which is CPU work, can
/// run elsewhere ([`tokio::task::spawn_blocking`]).
pub(crate) struct RawPage {
    pub(crate) response: RawResponse,
    pub(crate) page: u32,
    pub(crate) page_size: u32,
    /// Names the page in a decode error ("computer inventory page 3").
    pub(crate) context: String,
}

impl RawPage {
    /// Decodes the `{"totalCount", "results"}` envelope.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<Page<T>, Error> {
        let r: crate::models::SearchResults<T> = self.response.decode(&self.context)?;
        Ok(Page {
            page: self.page,
            page_size: self.page_size,
            total_count: crate::api::computers::total(r.total_count),
            items: r.results,
        })
    }
}

impl RawPage {
    /// Decodes the `{"totalCount", "results"}` envelope, giving each item
    /// to `map` as soon as it is decoded: the page's typed items never all
    /// exist at once, only their mapped records. Returns `totalCount` and
    /// the records. A body that does not decode fails as
    /// [`decode`](Self::decode) fails, naming the JSON path.
    pub(crate) fn decode_mapped<T, R>(
        &self,
        mut map: impl FnMut(T) -> R,
    ) -> Result<(Option<u64>, Vec<R>), Error>
    where
        T: DeserializeOwned,
    {
        let body = &self.response.body;
        let mapped = std::str::from_utf8(body).ok().and_then(|text| {
            let mut de = serde_json::Deserializer::from_str(text);
            let v = serde::de::DeserializeSeed::deserialize(
                MappedEnvelope::<T, _, R>::new(&mut map),
                &mut de,
            )
            .ok()?;
            de.end().ok().map(|()| v)
        });
        match mapped {
            Some((total, items)) => Ok((crate::api::computers::total(total), items)),
            None => {
                // Decoded again, typed, to say where it fails (the notes of
                // values dropped by the items read before are discarded).
                let _ = crate::de::take_dropped();
                let page = self.decode::<T>()?;
                Ok((page.total_count, page.items.into_iter().map(map).collect()))
            }
        }
    }
}

/// The listing envelope as [`crate::models::SearchResults`] reads it, each
/// item mapped as it is read.
struct MappedEnvelope<T, F, R> {
    map: F,
    _t: std::marker::PhantomData<fn() -> (T, R)>,
}

impl<T, F, R> MappedEnvelope<T, F, R> {
    fn new(map: F) -> Self {
        MappedEnvelope {
            map,
            _t: std::marker::PhantomData,
        }
    }
}

impl<'de, T, F, R> serde::de::DeserializeSeed<'de> for MappedEnvelope<T, F, R>
where
    T: DeserializeOwned,
    F: FnMut(T) -> R,
{
    type Value = (Option<i64>, Vec<R>);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T, F, R> serde::de::Visitor<'de> for MappedEnvelope<T, F, R>
where
    T: DeserializeOwned,
    F: FnMut(T) -> R,
{
    type Value = (Option<i64>, Vec<R>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a listing object with totalCount and results")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        mut self,
        mut m: A,
    ) -> Result<Self::Value, A::Error> {
        struct Total(Option<i64>);
        impl<'de> serde::Deserialize<'de> for Total {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::de::lenient_i64(d).map(Total)
            }
        }
        let (mut total, mut items) = (None, None);
        while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "totalCount" if total.is_none() => total = Some(m.next_value::<Total>()?.0),
                "results" if items.is_none() => {
                    items = Some(m.next_value_seed(MappedItems {
                        map: &mut self.map,
                        _t: std::marker::PhantomData,
                    })?)
                }
                "totalCount" | "results" => {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate field `{key}`"
                    )));
                }
                _ => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok((total.flatten(), items.unwrap_or_default()))
    }
}

/// `results`: `null` or a list, each item mapped as it is read.
struct MappedItems<'a, T, F, R> {
    map: &'a mut F,
    _t: std::marker::PhantomData<fn() -> (T, R)>,
}

impl<'de, T, F, R> serde::de::DeserializeSeed<'de> for MappedItems<'_, T, F, R>
where
    T: DeserializeOwned,
    F: FnMut(T) -> R,
{
    type Value = Vec<R>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T, F, R> serde::de::Visitor<'de> for MappedItems<'_, T, F, R>
where
    T: DeserializeOwned,
    F: FnMut(T) -> R,
{
    type Value = Vec<R>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of results or null")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        // Bounded by the body: each item is at least two bytes of it.
        let mut out = Vec::with_capacity(s.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = s.next_element::<T>()? {
            out.push((self.map)(item));
        }
        Ok(out)
    }
}

/// Configures and builds a [`Client`]. `Debug` never shows a secret.
///
/// ```
/// use std::time::Duration;
/// use jamf_client::Client;
///
/// let client = Client::builder("https://acme.jamfcloud.com")
///     .client_credentials("4f1c9a2e-client-id", "client-secret")
///     .timeout(Duration::from_secs(60))
///     .max_concurrent_requests(3)
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url().as_str(), "https://acme.jamfcloud.com/");
///
/// // Plain http:// is refused except to loopback addresses.
/// assert!(Client::builder("http://jamf.example.com:8080")
///     .user_password("api-reader", "password")
///     .build()
///     .is_err());
/// ```
#[must_use = "call .build() to get a Client"]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    max_concurrent: usize,
    clock: SharedClock,
    inventory_version: Option<InventoryVersion>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("custom_http_client", &self.http.is_some())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("max_concurrent", &self.max_concurrent)
            .field("clock", &self.clock)
            .field("inventory_version", &self.inventory_version)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder for the Jamf Pro server at `base_url`: Jamf Cloud
    /// (`https://acme.jamfcloud.com`) or on-premises with its port
    /// (`https://jamf.example.com:8443`), optionally with a path prefix.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: None,
            http: None,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            retry: RetryPolicy::default(),
            max_concurrent: DEFAULT_MAX_CONCURRENT_REQUESTS,
            clock: Arc::new(SystemClock),
            inventory_version: None,
        }
    }

    /// Authenticate as an API client (API Roles and Clients, OAuth client credentials).
    pub fn client_credentials(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        self.credentials(Credentials::client_credentials(client_id, client_secret))
    }

    /// Authenticate as a Jamf Pro user (username and password → bearer token).
    pub fn user_password(
        self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.credentials(Credentials::user_password(username, password))
    }

    /// Use a bearer token obtained elsewhere (never refreshed).
    pub fn bearer_token(self, token: impl Into<SecretString>) -> Self {
        self.credentials(Credentials::bearer_token(token))
    }

    /// Set the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Use this `reqwest::Client` for every request (proxies, custom root
    /// certificates). Build it with `redirect(reqwest::redirect::Policy::none())`:
    /// the client's own default never follows redirects, so credentials
    /// (including the token form body) can never be sent to another host.
    /// With a client that follows redirects, reqwest still drops the
    /// `Authorization` header across hosts, and this client refuses any
    /// response that comes from another origin. The connect timeout of this
    /// builder does not apply to an injected client.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The timeout of each attempt (default 120 s). Backoff waits between
    /// attempts are not counted.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No per-attempt timeout.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// The connect timeout (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `jamf-client/VERSION`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How requests are retried (default: [`RetryPolicy::default`], 5 retries
    /// with jittered exponential backoff, `Retry-After` honoured up to 60 s).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// At most this many requests in flight at once, across every clone of
    /// the client (default 5, as Jamf advises).
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent = n;
        self
    }

    /// The clock used for token expiry and `Retry-After` dates (default: the
    /// system clock). Tests inject their own.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Use this computers-inventory version instead of asking the server
    /// (`GET /api/v1/jamf-pro-version`).
    pub fn inventory_version(mut self, version: InventoryVersion) -> Self {
        self.inventory_version = Some(version);
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the base URL is not usable (`http://` to a
    /// host that is not loopback, a query, credentials in the URL), when no
    /// credentials were given, when a setting is out of range, or when the
    /// HTTP client cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let base = mdm_mapping::net::base_url(&self.base_url).map_err(ConfigError::Url)?;
        let credentials = self.credentials.ok_or(ConfigError::MissingCredentials)?;
        if self.max_concurrent == 0 {
            return Err(ConfigError::Invalid {
                name: "max_concurrent_requests",
                reason: "must be at least 1".into(),
            }
            .into());
        }
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| ConfigError::Invalid {
                name: "user_agent",
                reason: "not a valid HTTP header value".into(),
            })?;
        let http = match self.http {
            Some(c) => c,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(ConfigError::HttpClient)?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                transport: Transport {
                    http,
                    base,
                    semaphore: Semaphore::new(self.max_concurrent),
                    max_concurrent: self.max_concurrent,
                    timeout: self.timeout,
                    user_agent,
                    clock: self.clock,
                    requests: std::sync::atomic::AtomicU64::new(0),
                },
                tokens: TokenCache::new(credentials),
                retry: self.retry,
                server_version: tokio::sync::OnceCell::new(),
                inventory: tokio::sync::Mutex::new(self.inventory_version),
                pinned_inventory: self.inventory_version,
            }),
        })
    }
}

/// An async Jamf Pro client. Cheap to clone: clones share the connection
/// pool, the token cache and the concurrency limit.
///
/// Build one with [`Client::builder`]. See the crate docs for the methods by area.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) tokens: TokenCache,
    pub(crate) retry: RetryPolicy,
    server_version: tokio::sync::OnceCell<Option<JamfProVersion>>,
    inventory: tokio::sync::Mutex<Option<InventoryVersion>>,
    pinned_inventory: Option<InventoryVersion>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.transport.base.as_str())
            .field("auth", &self.inner.tokens)
            .field("transport", &self.inner.transport)
            .field("retry", &self.inner.retry)
            .field("server_version", &self.inner.server_version.get())
            .finish()
    }
}

#[derive(Deserialize)]
struct VersionBody {
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    version: Option<String>,
}

impl Client {
    /// Starts configuring a client for the server at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url)
    }

    /// The base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.transport.base
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The most requests this client (and its clones) keep in flight.
    pub fn max_concurrent_requests(&self) -> usize {
        self.inner.transport.max_concurrent
    }

    /// Gets a token now (normally done on the first request), so bad
    /// credentials show up early.
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] when the token endpoint refuses; transport errors.
    pub async fn authenticate(&self) -> Result<(), Error> {
        let op = || async {
            self.inner
                .tokens
                .token(&self.inner.transport)
                .await
                .map(|_| ())
        };
        self.with_retries(op, true, false).await
    }

    /// HTTP requests sent so far by this client and its clones (token
    /// requests and retries included).
    pub fn requests_sent(&self) -> u64 {
        self.inner
            .transport
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// When the cached token expires: `None` before the first request (or
    /// [`authenticate`](Self::authenticate)) and after
    /// [`invalidate_token`](Self::invalidate_token). A bearer token given
    /// to the builder is taken to last.
    pub async fn token_expires_at(&self) -> Option<std::time::SystemTime> {
        self.inner.tokens.expires_at().await
    }

    /// Forgets the cached token; for a user token also invalidates it on
    /// the server (`POST /api/v1/auth/invalidate-token`). Call when done.
    ///
    /// # Errors
    ///
    /// When the server refuses to invalidate the token.
    pub async fn invalidate_token(&self) -> Result<(), Error> {
        self.inner.tokens.invalidate(&self.inner.transport).await
    }

    /// The Jamf Pro version (`GET /api/v1/jamf-pro-version`), asked once and
    /// cached. `None` when the server has no such endpoint (very old servers).
    ///
    /// # Errors
    ///
    /// Authentication, transport and decode errors.
    pub async fn server_version(&self) -> Result<Option<JamfProVersion>, Error> {
        self.inner
            .server_version
            .get_or_try_init(|| async {
                let r: Result<VersionBody, Error> = self
                    .get_json(&["api", "v1", "jamf-pro-version"], &[], "Jamf Pro version")
                    .await;
                match r {
                    Ok(body) => Ok(body.version.as_deref().and_then(JamfProVersion::parse)),
                    Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
            .cloned()
    }

    /// The computers-inventory version used: the one given to the builder,
    /// else the one the server's version implies (v1 when unknown).
    ///
    /// # Errors
    ///
    /// Errors of [`server_version`](Self::server_version).
    pub async fn inventory_version(&self) -> Result<InventoryVersion, Error> {
        if let Some(v) = self.inner.pinned_inventory {
            return Ok(v);
        }
        let mut current = self.inner.inventory.lock().await;
        if let Some(v) = *current {
            return Ok(v);
        }
        let v = match self.server_version().await? {
            Some(sv) => InventoryVersion::for_server(&sv),
            None => InventoryVersion::V1,
        };
        tracing::debug!(inventory = %v, "chose the computers-inventory version");
        *current = Some(v);
        Ok(v)
    }

    /// The computers-inventory version when it is settled (given to the
    /// builder, or chosen already); `None` before the first choice.
    pub(crate) async fn settled_inventory(&self) -> Option<InventoryVersion> {
        match self.inner.pinned_inventory {
            Some(v) => Some(v),
            None => *self.inner.inventory.lock().await,
        }
    }

    /// `version` answered: it is the one used from now on.
    pub(crate) async fn settle_inventory(&self, version: InventoryVersion) {
        if self.inner.pinned_inventory.is_none() {
            *self.inner.inventory.lock().await = Some(version);
        }
    }

    /// After `failed` answered 404: the next older version to use, if any.
    pub(crate) async fn downgrade_inventory(
        &self,
        failed: InventoryVersion,
    ) -> Option<InventoryVersion> {
        if self.inner.pinned_inventory.is_some() {
            return None;
        }
        let mut current = self.inner.inventory.lock().await;
        if *current == Some(failed) {
            *current = failed.older();
            if let Some(v) = *current {
                tracing::info!(from = %failed, to = %v, "computers-inventory version missing on the server; using an older one");
            }
        }
        *current
    }

    /// `GET` an API path (segments are encoded one by one) and decode the JSON body.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(String, String)],
        context: &str,
    ) -> Result<T, Error> {
        let url = self.inner.transport.url(segments);
        let resp = self.get(&url, query).await?;
        resp.decode(context)
    }

    /// `GET` with retries and re-authentication; the response is a success.
    pub(crate) async fn get(
        &self,
        url: &Url,
        query: &[(String, String)],
    ) -> Result<RawResponse, Error> {
        let op = || self.attempt(Method::GET, url, query);
        let refreshable = self.inner.tokens.refreshable();
        self.with_retries(op, true, refreshable).await
    }

    /// Runs `op` under the retry policy. With `retry_unauthorized`, an API
    /// 401 (which [`attempt`](Self::attempt) only returns after it already
    /// fetched a new token once) is retried too: a token revoked or not yet
    /// known to every node of a Jamf Cloud cluster is worth another attempt,
    /// and each attempt re-authenticates at most once, so a persistent 401
    /// still ends after `max_retries`.
    async fn with_retries<T, F, Fut>(
        &self,
        op: F,
        idempotent: bool,
        retry_unauthorized: bool,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let policy = &self.inner.retry;
        op.retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|e: &Error| {
                should_retry(policy, e, idempotent)
                    || (retry_unauthorized
                        && idempotent
                        && matches!(e, Error::Api(h) if h.status == StatusCode::UNAUTHORIZED))
            })
            .adjust(|e: &Error, backoff: Option<Duration>| {
                backoff.map(|b| policy.delay_for(e.retry_after(), b))
            })
            .notify(|e: &Error, wait: Duration| {
                tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "Jamf request failed; retrying");
            })
            .await
    }

    /// One attempt: a token, the request, and once more with a new token if
    /// the server answers 401.
    async fn attempt(
        &self,
        method: Method,
        url: &Url,
        query: &[(String, String)],
    ) -> Result<RawResponse, Error> {
        let transport = &self.inner.transport;
        let mut reauthenticated = false;
        loop {
            let token = self.inner.tokens.token(transport).await?;
            let resp = transport
                .execute(
                    method.clone(),
                    url,
                    query,
                    AuthHeader::Bearer(&token.value),
                    Body::None,
                )
                .await?;
            if resp.status == StatusCode::UNAUTHORIZED && !reauthenticated {
                tracing::debug!(%url, "Jamf answered 401; getting a new token and trying once more");
                self.inner.tokens.discard(token.generation).await;
                reauthenticated = true;
                continue;
            }
            if !resp.status.is_success() {
                return Err(resp.into_error(method, url.clone(), false));
            }
            return Ok(resp);
        }
    }

    /// A lazy stream of pages from `fetch(page)`, stopping after an empty
    /// page or once `totalCount` items were seen (never on a short page:
    /// Jamf silently caps page sizes). `totalCount` is a hint, never a
    /// promise: a page that brings no item not already listed (a server
    /// that ignores `page` and claims millions) ends the stream with
    /// [`Error::NoProgress`] naming `endpoint` and the page, so at most one
    /// request brings nothing.
    pub(crate) fn page_stream<T, F, Fut>(endpoint: impl Into<String>, fetch: F) -> PageStream<T>
    where
        T: Keyed + Send + 'static,
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
    {
        struct State<F> {
            fetch: F,
            endpoint: String,
            page: u32,
            seen: u64,
            seen_ids: HashSet<String>,
            done: bool,
        }
        let state = State {
            fetch,
            endpoint: endpoint.into(),
            page: 0,
            seen: 0,
            seen_ids: HashSet::new(),
            done: false,
        };
        stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            match (st.fetch)(st.page).await {
                Ok(page) => {
                    let mut fresh = false;
                    for item in &page.items {
                        fresh |= st.seen_ids.insert(item.key());
                    }
                    if !page.items.is_empty() && !fresh {
                        st.done = true;
                        let e = mdm_mapping::NoProgress {
                            vendor: mdm_mapping::Vendor::Jamf,
                            endpoint: st.endpoint.clone(),
                            page: format!("page {}", st.page),
                            reason: mdm_mapping::NoProgressReason::RepeatedRecords,
                        };
                        tracing::warn!(%e, "stopping a listing that makes no progress");
                        return Some((Err(Error::NoProgress(Box::new(e))), st));
                    }
                    st.seen = st.seen.saturating_add(page.items.len() as u64);
                    st.done = page.items.is_empty()
                        || page.total_count.is_some_and(|t| st.seen >= t)
                        || st.page == u32::MAX;
                    st.page = st.page.saturating_add(1);
                    if page.items.is_empty() {
                        // An empty page ends the listing; do not yield it
                        // unless it is the only one.
                        if page.page > 0 {
                            return None;
                        }
                    }
                    Some((Ok(page), st))
                }
                Err(e) => {
                    st.done = true;
                    Some((Err(e), st))
                }
            }
        })
        .boxed()
    }
}

/// An item of a Jamf listing with an identity, for the paging guard.
pub(crate) trait Keyed {
    /// The item's id.
    fn key(&self) -> String;
}

macro_rules! keyed {
    ($($t:ty => $f:ident),* $(,)?) => {
        $(impl Keyed for $t {
            fn key(&self) -> String {
                self.$f.to_string()
            }
        })*
    };
}

keyed!(
    crate::models::ComputerInventory => id,
    crate::models::MobileDevice => mobile_device_id,
    crate::models::MobileDeviceSummary => id,
    crate::models::Building => id,
    crate::models::Department => id,
    crate::models::User => id,
);

/// Where the listing goes after page `page`, requested at `size` rows,
/// returned `items` rows of `total`: `Some((next_page, next_size))`, or
/// `None` at the end. Computed from the page alone (the cursor carries the
/// size), so a `DeviceSource` can resume anywhere:
///
/// - an empty page ends the listing;
/// - a full page goes on while rows are left by `totalCount`;
/// - a short page ends the listing when it holds the last rows, which is
///   certain because the pages before it were full. A short *first* page
///   that does not reach `totalCount` reveals a lower silent cap: the
///   listing goes on at that size (Jamf numbers pages by the size it
///   served, so nothing is skipped). A short page is never taken as the end
///   on its own.
pub(crate) fn next_page(
    page: u32,
    size: u32,
    items: usize,
    total: Option<u64>,
) -> Option<(u32, u32)> {
    if items == 0 {
        return None;
    }
    let size = size.max(1);
    let items_u32 = u32::try_from(items).unwrap_or(u32::MAX);
    let next = page.checked_add(1)?;
    let seen = (u64::from(page) * u64::from(size)).saturating_add(items as u64);
    if items_u32 >= size {
        return match total {
            Some(t) if seen >= t => None,
            _ => Some((next, size)),
        };
    }
    match total {
        Some(t) if seen >= t => None,
        _ if page == 0 => Some((next, items_u32)),
        _ => Some((next, size)),
    }
}

fn should_retry(policy: &RetryPolicy, e: &Error, idempotent: bool) -> bool {
    match e {
        Error::Api(h) | Error::Auth(h) => policy.should_retry_status(h.status.as_u16(), idempotent),
        Error::Transport(t) => {
            let e = &t.source;
            policy.should_retry_transport(e.is_connect(), idempotent)
                && (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body())
        }
        _ => false,
    }
}

/// Checks an id argument: not empty. (Path characters are encoded, so
/// `a/b` or `..` stay one path segment.)
pub(crate) fn check_id<'a>(name: &'static str, id: &'a str) -> Result<&'a str, Error> {
    if id.trim().is_empty() {
        return Err(Error::InvalidArgument {
            name,
            reason: "must not be empty".into(),
        });
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_page(body: &str) -> RawPage {
        RawPage {
            response: RawResponse {
                status: StatusCode::OK,
                url: Url::parse("https://jamf.example.com/api/v1/computers-inventory").unwrap(),
                headers: Default::default(),
                body: bytes::Bytes::from(body.to_string()),
                retry_after: None,
            },
            page: 0,
            page_size: 100,
            context: "computer inventory page 0".into(),
        }
    }

    /// Decoding and mapping item by item reads what decoding the page and
    /// then mapping its items reads, and fails where it fails.
    #[test]
    fn decode_mapped_reads_what_decode_reads() {
        let id = |c: crate::models::ComputerInventory| c.id.as_str().to_string();
        for body in [
            r#"{"totalCount": 2, "results": [{"id": "1"}, {"id": "2", "udid": null}]}"#,
            r#"{"results": [{"id": "7"}], "totalCount": "3", "extra": {"results": 1}}"#,
            r#"{"totalCount": 5, "results": null}"#,
            r#"{"totalCount": -1}"#,
            r#"{"totalCount": 1.5, "results": []}"#,
            r#"{}"#,
            r#"{"results": [{"id": "1"}, {"general": {}}]}"#,
            r#"{"results": [{"id": "1"}], "results": []}"#,
            r#"{"totalCount": 1, "totalCount": 2, "results": []}"#,
            r#"{"results": {"id": "1"}}"#,
            r#"{"results": [{"id": "1", "general": {"supervised": "maybe"}}]}"#,
            r#"{"results": [{"id": "1"}]} trailing"#,
            r#"[]"#,
            "",
        ] {
            let raw = raw_page(body);
            let want = raw.decode::<crate::models::ComputerInventory>().map(|p| {
                (
                    p.total_count,
                    p.items.into_iter().map(id).collect::<Vec<_>>(),
                )
            });
            let got = raw.decode_mapped(id);
            match (&want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "{body}"),
                (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string(), "{body}"),
                _ => panic!("{body}: decode {want:?}, decode_mapped {got:?}"),
            }
        }
    }

    #[test]
    fn next_page_never_stops_early_and_rarely_asks_twice() {
        // 4500 rows at 2000 per page: three pages, no extra request.
        assert_eq!(next_page(0, 2000, 2000, Some(4500)), Some((1, 2000)));
        assert_eq!(next_page(1, 2000, 2000, Some(4500)), Some((2, 2000)));
        assert_eq!(next_page(2, 2000, 500, Some(4500)), None);
        // Exact fit: no extra request.
        assert_eq!(next_page(1, 2000, 2000, Some(4000)), None);
        assert_eq!(next_page(0, 2, 1, Some(1)), None);
        // Empty page: the end, whatever totalCount says.
        assert_eq!(next_page(3, 2000, 0, Some(9000)), None);
        // A server that silently serves 1000 although asked 2000: carry on
        // at 1000, even when page*asked+rows happens to equal totalCount.
        assert_eq!(next_page(0, 2000, 1000, Some(3000)), Some((1, 1000)));
        assert_eq!(next_page(1, 1000, 1000, Some(3000)), Some((2, 1000)));
        assert_eq!(next_page(2, 1000, 1000, Some(3000)), None);
        // A short page after full ones (rows deleted meanwhile): go on.
        assert_eq!(next_page(1, 2000, 1500, Some(5000)), Some((2, 2000)));
        // Unknown total: on until an empty page.
        assert_eq!(next_page(7, 10, 10, None), Some((8, 10)));
        assert_eq!(next_page(0, 10, 4, None), Some((1, 4)));
    }

    #[test]
    fn builder_refuses_bad_configuration() {
        let e = Client::builder("http://jamf.example.com")
            .user_password("u", "p")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config(ConfigError::Url(_))), "{e}");
        let e = Client::builder("https://jamf.example.com:8443")
            .build()
            .unwrap_err();
        assert!(
            matches!(e, Error::Config(ConfigError::MissingCredentials)),
            "{e}"
        );
        let e = Client::builder("https://jamf.example.com")
            .bearer_token("t")
            .max_concurrent_requests(0)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("max_concurrent_requests"), "{e}");
        let c = Client::builder("https://jamf.example.com:8443/jss")
            .bearer_token("t")
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "https://jamf.example.com:8443/jss/");
        assert_eq!(c.max_concurrent_requests(), 5);
        assert!(
            Client::builder("http://127.0.0.1:9")
                .bearer_token("t")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn ids_must_not_be_empty() {
        assert!(check_id("id", " ").is_err());
        assert_eq!(check_id("id", "a/b").unwrap(), "a/b");
    }
}
