//! The client: configuration, the request loop (auth, rate limit, retries)
//! and every endpoint.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::Retryable;
use bytes::Bytes;
use futures::stream::BoxStream;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use mdm_mapping::net::{RetryPolicy, base_url, endpoint, parse_retry_after};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{
    APPLE_TOKEN_AUDIENCE, APPLE_TOKEN_URL, AccessToken, Clock, SystemClock, TokenConfig,
    TokenProvider,
};
use crate::error::{ConfigError, Error, ErrorDocument, ErrorResponse, MAX_BODY_CHARS, truncate};
use crate::key::Credentials;
use crate::model::{
    ActivationLockStatus, AppleCareCoverage, Document, ListDocument, MdmServer, MdmServerField,
    OrgDevice, OrgDeviceActivity, OrgDeviceActivityRequest, OrgDeviceField, ResourceId,
};
use crate::pacing::Pacer;
use crate::paging::{DeviceQuery, MAX_LIMIT, Page, ServerQuery, check_limit, paginate};
use crate::service::Service;
use crate::source::AbmSource;

/// The `User-Agent` this crate sends.
pub const USER_AGENT: &str = concat!("abm-client/", env!("CARGO_PKG_VERSION"));

/// A client-side request rate limit.
///
/// Apple publishes no limits; API users report about 20 GET requests a
/// minute before `429 Too Many Requests`. The default,
/// [`RateLimit::APPLE_OBSERVED`], is 20 requests a minute (one every 3 s)
/// with a burst of 3, so a small tenant's sync starts at once and a long
/// one settles at the observed rate. POSTs share the same budget (Apple is
/// reported to allow about 10 an hour; a 429 is waited out and retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per `period`.
    pub requests: NonZeroU32,
    /// The period.
    pub period: Duration,
    /// Requests that may go at once before the pacing starts.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// 20 requests a minute, burst of 3: the observed Apple limit.
    pub const APPLE_OBSERVED: RateLimit = RateLimit {
        requests: NonZeroU32::MIN.saturating_add(19),
        period: Duration::from_secs(60),
        burst: NonZeroU32::MIN.saturating_add(2),
    };

    /// `requests` per minute, burst 1 (`None` when `requests` is 0).
    pub fn per_minute(requests: u32) -> Option<RateLimit> {
        Some(RateLimit {
            requests: NonZeroU32::new(requests)?,
            period: Duration::from_secs(60),
            burst: NonZeroU32::MIN,
        })
    }

    /// The same rate with another burst (`0` is read as 1).
    pub fn with_burst(self, burst: u32) -> RateLimit {
        RateLimit {
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            ..self
        }
    }

    fn quota(&self) -> Result<Quota, ConfigError> {
        let interval = self.period / self.requests.get();
        Quota::with_period(interval)
            .map(|q| q.allow_burst(self.burst))
            .ok_or(ConfigError::RateLimit(
                "the period is too short for that many requests",
            ))
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::APPLE_OBSERVED
    }
}

/// Builds an [`AbmClient`]; see [`AbmClient::builder`].
pub struct AbmClientBuilder {
    credentials: Credentials,
    service: Option<Service>,
    base_url: Option<String>,
    token_url: Option<String>,
    audience: String,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    retry: RetryPolicy,
    rate_limit: Option<RateLimit>,
    adaptive: bool,
    clock: Arc<dyn Clock>,
    assertion_lifetime: Duration,
    refresh_margin: Duration,
}

impl fmt::Debug for AbmClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbmClientBuilder")
            .field("credentials", &self.credentials)
            .field("service", &self.service)
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("audience", &self.audience)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("assertion_lifetime", &self.assertion_lifetime)
            .finish_non_exhaustive()
    }
}

impl AbmClientBuilder {
    /// Apple Business Manager or Apple School Manager. Default: the service
    /// the Client ID's prefix names (`BUSINESSAPI.` / `SCHOOLAPI.`), else
    /// Business. A prefix that names the other service is a
    /// [`ConfigError::ServiceMismatch`] at [`build`](Self::build).
    pub fn service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// The API base URL (default: the service's Apple host). `https://`, or
    /// `http://` to a loopback address (a simulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The token endpoint (default [`APPLE_TOKEN_URL`]); same rules as
    /// [`base_url`](Self::base_url).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// The assertion's `aud` claim (default [`APPLE_TOKEN_AUDIENCE`], also
    /// when the token URL is overridden).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Uses this `reqwest::Client` instead of building one. Its settings
    /// (redirects, proxies, TLS) are the caller's; the default client follows
    /// no redirects, so the bearer token is never sent elsewhere.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The time limit of each attempt (default 60 s; `None`: no limit).
    /// Backoff waits are not counted.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connect time limit of the built-in HTTP client (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed requests are retried (default [`RetryPolicy::default`]:
    /// 5 retries, `Retry-After` honoured up to 60 s). GETs are retried on
    /// 408/429/502/503/504 and network failures (a listing resumes at the
    /// same cursor); a POST only on 429.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// A fixed client-side rate limit instead of the default adaptive
    /// pacing (which starts at 20 GETs a minute, probes upward while
    /// requests are answered, drops on a 429 and honours `Retry-After`;
    /// POSTs keep their own budget of 10 an hour). `None` turns pacing off
    /// (tests, a simulator).
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self.adaptive = false;
        self
    }

    /// The clock for token and assertion expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long each client assertion is valid (default 24 hours; 1 minute
    /// to 179 days). It is reused until 5 minutes before it expires.
    pub fn assertion_lifetime(mut self, lifetime: Duration) -> Self {
        self.assertion_lifetime = lifetime;
        self
    }

    /// How long before its expiry an access token is replaced (default
    /// 5 minutes; at most half the token's lifetime).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty ID, a Client ID of the other service,
    /// an unacceptable URL, an out-of-range lifetime or rate limit.
    pub fn build(self) -> Result<AbmClient, Error> {
        let creds = self.credentials;
        if creds.client_id().is_empty() {
            return Err(ConfigError::EmptyClientId.into());
        }
        if creds.key_id().is_empty() {
            return Err(ConfigError::EmptyKeyId.into());
        }
        let from_prefix = Service::from_client_id(creds.client_id());
        let service = match (self.service, from_prefix) {
            (Some(s), Some(p)) if s != p => {
                return Err(ConfigError::ServiceMismatch {
                    client_id_service: p,
                    service: s,
                }
                .into());
            }
            (Some(s), _) => s,
            (None, Some(p)) => p,
            (None, None) => Service::Business,
        };
        let base = base_url(self.base_url.as_deref().unwrap_or(service.api_base()))
            .map_err(ConfigError::BaseUrl)?;
        let raw_token_url = self.token_url.as_deref().unwrap_or(APPLE_TOKEN_URL).trim();
        base_url(raw_token_url).map_err(ConfigError::TokenUrl)?;
        let token_url = Url::parse(raw_token_url).map_err(|e| {
            ConfigError::TokenUrl(mdm_mapping::net::UrlError::Invalid {
                url: raw_token_url.to_string(),
                reason: e.to_string(),
            })
        })?;
        if !(crate::auth::MIN_ASSERTION_LIFETIME..=crate::auth::MAX_ASSERTION_LIFETIME)
            .contains(&self.assertion_lifetime)
        {
            return Err(ConfigError::AssertionLifetime(self.assertion_lifetime).into());
        }
        let limiter = match self.rate_limit {
            Some(limit) if !self.adaptive => Some(Arc::new(RateLimiter::direct(limit.quota()?))),
            _ => None,
        };
        let (pacer, post_pacer) = if self.adaptive {
            (
                Some(Pacer::adaptive(crate::pacing::START_PER_MINUTE)),
                Some(Pacer::fixed(crate::pacing::POST_PER_MINUTE)),
            )
        } else {
            (None, None)
        };
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(ConfigError::HttpClient)?,
        };
        let auth = TokenProvider::new(TokenConfig {
            credentials: creds,
            scope: service.scope(),
            token_url,
            audience: self.audience,
            http: http.clone(),
            clock: self.clock.clone(),
            assertion_lifetime: self.assertion_lifetime,
            refresh_margin: self.refresh_margin,
            retry: self.retry.clone(),
            timeout: self.timeout,
        });
        Ok(AbmClient {
            inner: Arc::new(Inner {
                service,
                base,
                http,
                auth,
                limiter,
                pacer,
                post_pacer,
                rate_limit: self.rate_limit,
                retry: self.retry,
                clock: self.clock,
                timeout: self.timeout,
                requests: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }
}

struct Inner {
    service: Service,
    base: Url,
    http: reqwest::Client,
    auth: TokenProvider,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    rate_limit: Option<RateLimit>,
    pacer: Option<Pacer>,
    post_pacer: Option<Pacer>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    timeout: Option<Duration>,
    /// API requests sent (retries included; token exchanges are counted apart).
    requests: std::sync::atomic::AtomicU64,
}

/// A typed client of the Apple School Manager and Apple Business API.
///
/// Cheap to clone: clones share the connection pool, the token cache and
/// the rate limiter. `Debug` shows the configuration, never a secret.
#[derive(Clone)]
pub struct AbmClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for AbmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbmClient")
            .field("service", &self.inner.service)
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .field("rate_limit", &self.inner.rate_limit)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// One request as the retry loop sees it.
struct Call<'a> {
    method: Method,
    url: Url,
    body: Option<&'a serde_json::Value>,
    cursor: Option<&'a str>,
}

impl Call<'_> {
    fn label(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

/// A failed attempt, and whether the retry loop may try again.
struct Failed {
    error: Error,
    retryable: bool,
}

impl Failed {
    fn fatal(error: Error) -> Self {
        Failed {
            error,
            retryable: false,
        }
    }
}

impl AbmClient {
    /// Starts configuring a client for these credentials.
    pub fn builder(credentials: Credentials) -> AbmClientBuilder {
        AbmClientBuilder {
            credentials,
            service: None,
            base_url: None,
            token_url: None,
            audience: APPLE_TOKEN_AUDIENCE.to_string(),
            http: None,
            timeout: Some(Duration::from_secs(60)),
            connect_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: Some(RateLimit::APPLE_OBSERVED),
            adaptive: true,
            clock: Arc::new(SystemClock),
            assertion_lifetime: Duration::from_secs(24 * 3600),
            refresh_margin: Duration::from_secs(300),
        }
    }

    /// The service this client talks to.
    pub fn service(&self) -> Service {
        self.inner.service
    }

    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Exchanges the client assertion for an access token now (normally done
    /// on the first request), so that bad credentials show up early, and
    /// returns the lifetime the token endpoint gave it (`expires_in`).
    ///
    /// # Errors
    ///
    /// [`Error::Token`] when the token endpoint refuses; transport errors.
    pub async fn authenticate(&self) -> Result<Duration, Error> {
        self.inner.auth.token().await?;
        Ok(self.inner.auth.lifetime().await.unwrap_or_default())
    }

    /// API requests sent so far by this client and its clones (retries
    /// included; token exchanges are [`token_exchanges`](Self::token_exchanges)).
    pub fn requests_sent(&self) -> u64 {
        self.inner
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many token exchanges this client (and its clones) attempted.
    pub async fn token_exchanges(&self) -> u64 {
        self.inner.auth.exchanges().await
    }

    /// The GET rate the adaptive pacer has learned so far, in requests a
    /// minute (`None` when a fixed [`RateLimit`] or no pacing was chosen).
    /// It starts at 20, rises while requests are answered (×4 each until
    /// the first 429, then by 2 %) and drops on a 429 (see the `pacing`
    /// module); it is kept for the client's lifetime (clones share it).
    pub fn learned_rate(&self) -> Option<f64> {
        self.inner.pacer.as_ref().map(Pacer::per_minute)
    }

    /// 429s the adaptive pacer has seen on GETs (`None` without one).
    pub fn throttled(&self) -> Option<u64> {
        self.inner.pacer.as_ref().map(Pacer::throttled)
    }

    /// The rate device activities (POSTs) are paced at, in requests a
    /// minute: fixed and conservative (`None` when pacing is off).
    pub fn post_rate(&self) -> Option<f64> {
        self.inner.post_pacer.as_ref().map(Pacer::per_minute)
    }

    /// A [`DeviceSource`](mdm_mapping::DeviceSource) over this client's `orgDevices`.
    pub fn device_source(&self) -> AbmSource {
        AbmSource::new(self.clone())
    }

    fn url(&self, segments: &[&str]) -> Url {
        endpoint(&self.inner.base, segments)
    }

    fn id<'a>(what: &'static str, id: &'a str) -> Result<&'a str, Error> {
        let t = id.trim();
        if t.is_empty() {
            Err(ConfigError::BlankId(what).into())
        } else {
            Ok(t)
        }
    }

    // ---- the request loop -------------------------------------------------

    async fn execute<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T, Error> {
        let body = self.execute_raw(call).await?;
        decode_body(&body, &call.label(), call.cursor)
    }

    /// The request loop: sends `call` with auth, rate limit and retries, and
    /// returns the body of a 2xx response, not yet decoded (a decode error
    /// is never retried, so decoding can follow the loop).
    async fn execute_raw(&self, call: &Call<'_>) -> Result<Bytes, Error> {
        let idempotent = call.method != Method::POST;
        let policy = &self.inner.retry;
        (|| self.attempt(call))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|f| f.retryable && self.should_retry(&f.error, idempotent))
            .adjust(|f, backoff| backoff.map(|b| policy.delay_for(f.error.retry_after(), b)))
            .notify(|f, wait| {
                tracing::warn!(request = %call.label(), error = %f.error, ?wait, "request failed; retrying");
            })
            .await
            .map_err(|f| f.error)
    }

    fn should_retry(&self, e: &Error, idempotent: bool) -> bool {
        let policy = &self.inner.retry;
        match e {
            Error::Api(r) => policy.should_retry_status(r.status, idempotent),
            // A POST is retried only on 429: a reset after sending may have
            // created the activity already.
            Error::Transport { .. } => idempotent && policy.should_retry_transport(false, true),
            _ => false,
        }
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Bytes, Failed> {
        let auth = &self.inner.auth;
        let token = auth.token().await.map_err(Failed::fatal)?;
        let mut resp = self.send(call, &token).await?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            drop(resp);
            auth.invalidate(token.generation).await;
            let token = auth.token().await.map_err(Failed::fatal)?;
            resp = self.send(call, &token).await?;
        }
        self.read(call, resp).await
    }

    async fn send(
        &self,
        call: &Call<'_>,
        token: &AccessToken,
    ) -> Result<reqwest::Response, Failed> {
        if let Some(limiter) = &self.inner.limiter {
            limiter.until_ready().await;
        }
        if let Some(pacer) = self.pacer_for(call) {
            pacer.ready().await;
        }
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.secret.expose_secret()))
            .map_err(|_| {
                Failed::fatal(Error::Token(Box::new(crate::error::TokenError {
                    status: 200,
                    error: Some("invalid_response".into()),
                    description: Some("the access token is not a valid header value".into()),
                    retry_after: None,
                })))
            })?;
        bearer.set_sensitive(true);
        let mut req = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, bearer);
        if let Some(body) = call.body {
            req = req.json(body);
        }
        if let Some(t) = self.inner.timeout {
            req = req.timeout(t);
        }
        self.inner
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        req.send().await.map_err(|source| Failed {
            error: Error::Transport {
                request: call.label(),
                source,
            },
            retryable: true,
        })
    }

    async fn read(&self, call: &Call<'_>, resp: reqwest::Response) -> Result<Bytes, Failed> {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.inner.clock.now()));
        if let Some(pacer) = self.pacer_for(call) {
            if status == 429 {
                pacer.throttle(retry_after);
            } else {
                pacer.answered();
            }
        }
        let body = resp.bytes().await.map_err(|source| Failed {
            error: Error::Transport {
                request: call.label(),
                source,
            },
            retryable: true,
        })?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let errors = serde_json::from_slice::<ErrorDocument>(&body)
            .map(|d| d.errors)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let raw =
            (errors.is_empty() && !text.trim().is_empty()).then(|| truncate(&text, MAX_BODY_CHARS));
        Err(Failed {
            error: Error::Api(Box::new(ErrorResponse {
                method: call.method.to_string(),
                path: call.url.path().to_string(),
                status,
                errors,
                body: raw,
                retry_after,
            })),
            retryable: true,
        })
    }

    /// The pacer `call` goes through: POSTs keep their own, fixed budget.
    fn pacer_for(&self, call: &Call<'_>) -> Option<&Pacer> {
        if call.method == Method::POST {
            self.inner.post_pacer.as_ref()
        } else {
            self.inner.pacer.as_ref()
        }
    }

    /// `GET url`, decoded (errors name the request, the JSON path and
    /// `cursor`).
    async fn get<T: DeserializeOwned>(&self, url: Url, cursor: Option<&str>) -> Result<T, Error> {
        let request = format!("GET {}", url.path());
        let body = self.get_raw(url, cursor).await?;
        decode_body(&body, &request, cursor)
    }

    /// `GET url` through the one request path ([`execute_raw`](Self::execute_raw)),
    /// the body not yet decoded (a listing decodes off the async threads).
    async fn get_raw(&self, url: Url, cursor: Option<&str>) -> Result<Bytes, Error> {
        self.execute_raw(&Call {
            method: Method::GET,
            url,
            body: None,
            cursor,
        })
        .await
    }

    // ---- orgDevices -------------------------------------------------------

    /// One page of `GET /v1/orgDevices` at `cursor` (`None`: the first page).
    ///
    /// # Errors
    /// [`ConfigError::Limit`] for a page size outside 1–1000, otherwise an
    /// API, network or decode [`Error`] (decode errors name the JSON path and
    /// the cursor).
    pub async fn org_devices_page(
        &self,
        query: &DeviceQuery,
        cursor: Option<&str>,
    ) -> Result<Page<OrgDevice>, Error> {
        let body = self.org_devices_body(query, cursor).await?;
        self.decode_org_devices(&body, cursor)
    }

    /// Decodes an `orgDevices` page read at `cursor` (errors name the
    /// request, the JSON path and the cursor).
    pub(crate) fn decode_org_devices(
        &self,
        body: &[u8],
        cursor: Option<&str>,
    ) -> Result<Page<OrgDevice>, Error> {
        let request = format!("GET {}", self.url(&["v1", "orgDevices"]).path());
        let doc: ListDocument<OrgDevice> = decode_body(body, &request, cursor)?;
        Ok(Page::from_document(doc, cursor))
    }

    /// The undecoded body of one `orgDevices` page (auth, rate limit and
    /// retries as for every request); [`Self::decode_org_devices`] reads it.
    pub(crate) async fn org_devices_body(
        &self,
        query: &DeviceQuery,
        cursor: Option<&str>,
    ) -> Result<Bytes, Error> {
        let mut url = self.url(&["v1", "orgDevices"]);
        query.apply(&mut url, cursor)?;
        self.get_raw(url, cursor).await
    }

    /// Every page of `GET /v1/orgDevices` from `from` (a saved cursor) or the
    /// start, lazily: one request per page, one page in memory.
    pub fn org_devices(
        &self,
        query: DeviceQuery,
        from: Option<String>,
    ) -> BoxStream<'_, Result<Page<OrgDevice>, Error>> {
        let query = Arc::new(query);
        paginate("GET /v1/orgDevices", from, move |cursor| {
            let query = Arc::clone(&query);
            async move { self.org_devices_page(&query, cursor.as_deref()).await }
        })
    }

    /// `GET /v1/orgDevices/{id}`: one device (`id` is the serial number).
    /// `fields` empty: every attribute.
    ///
    /// # Errors
    /// A 404 [`Error::Api`] (see [`Error::is_not_found`]) when there is no
    /// such device.
    pub async fn org_device(
        &self,
        id: &str,
        fields: &[OrgDeviceField],
    ) -> Result<OrgDevice, Error> {
        let id = Self::id("device id", id)?;
        let mut url = self.url(&["v1", "orgDevices", id]);
        if !fields.is_empty() {
            let names: Vec<&str> = fields.iter().map(OrgDeviceField::as_str).collect();
            url.query_pairs_mut()
                .append_pair("fields[orgDevices]", &names.join(","));
        }
        let doc: Document<OrgDevice> = self.get(url, None).await?;
        Ok(doc.data)
    }

    /// `GET /v1/orgDevices/{id}/relationships/assignedServer`: the id of the
    /// MDM server a device is assigned to (`None`: unassigned).
    ///
    /// # Errors
    /// As [`org_device`](Self::org_device).
    pub async fn assigned_server_id(&self, device_id: &str) -> Result<Option<String>, Error> {
        let id = Self::id("device id", device_id)?;
        let url = self.url(&["v1", "orgDevices", id, "relationships", "assignedServer"]);
        let doc: Document<Option<ResourceId>> = self.get(url, None).await?;
        Ok(doc.data.map(|r| r.id))
    }

    /// `GET /v1/orgDevices/{id}/assignedServer`: the MDM server a device is
    /// assigned to (`None`: unassigned).
    ///
    /// # Errors
    /// As [`org_device`](Self::org_device).
    pub async fn assigned_server(
        &self,
        device_id: &str,
        fields: &[MdmServerField],
    ) -> Result<Option<MdmServer>, Error> {
        let id = Self::id("device id", device_id)?;
        let mut url = self.url(&["v1", "orgDevices", id, "assignedServer"]);
        if !fields.is_empty() {
            let names: Vec<&str> = fields.iter().map(MdmServerField::as_str).collect();
            url.query_pairs_mut()
                .append_pair("fields[mdmServers]", &names.join(","));
        }
        let doc: Document<Option<MdmServer>> = self.get(url, None).await?;
        Ok(doc.data)
    }

    /// `GET /v1/orgDevices/{id}/appleCareCoverage`: every coverage of a
    /// device (all pages). An opt-in read: one request per device.
    ///
    /// # Errors
    /// As [`org_device`](Self::org_device).
    pub async fn apple_care_coverage(
        &self,
        device_id: &str,
    ) -> Result<Vec<AppleCareCoverage>, Error> {
        use futures::TryStreamExt;
        let id = Self::id("device id", device_id)?.to_string();
        let pages = paginate(
            "GET /v1/orgDevices/{id}/appleCareCoverage",
            None,
            |cursor: Option<String>| {
                let id = id.clone();
                async move {
                    let mut url = self.url(&["v1", "orgDevices", &id, "appleCareCoverage"]);
                    url.query_pairs_mut()
                        .append_pair("limit", &MAX_LIMIT.to_string());
                    if let Some(c) = &cursor {
                        url.query_pairs_mut().append_pair("cursor", c);
                    }
                    let doc: ListDocument<AppleCareCoverage> =
                        self.get(url, cursor.as_deref()).await?;
                    Ok(Page::from_document(doc, cursor.as_deref()))
                }
            },
        );
        let pages: Vec<Page<AppleCareCoverage>> = pages.try_collect().await?;
        Ok(pages.into_iter().flat_map(|p| p.data).collect())
    }

    /// `GET /v1/orgDevices/{id}/activationLockStatus` (ABM 2.5+, ASM 1.7+):
    /// whether Activation Lock is on. An opt-in read.
    ///
    /// # Errors
    /// As [`org_device`](Self::org_device); services without this endpoint
    /// answer 404 or 403.
    pub async fn activation_lock_status(
        &self,
        device_id: &str,
    ) -> Result<ActivationLockStatus, Error> {
        let id = Self::id("device id", device_id)?;
        let url = self.url(&["v1", "orgDevices", id, "activationLockStatus"]);
        let doc: Document<ActivationLockStatus> = self.get(url, None).await?;
        Ok(doc.data)
    }

    // ---- mdmServers -------------------------------------------------------

    /// One page of `GET /v1/mdmServers`.
    ///
    /// # Errors
    /// As [`org_devices_page`](Self::org_devices_page).
    pub async fn mdm_servers_page(
        &self,
        query: &ServerQuery,
        cursor: Option<&str>,
    ) -> Result<Page<MdmServer>, Error> {
        let mut url = self.url(&["v1", "mdmServers"]);
        query.apply(&mut url, cursor)?;
        let doc: ListDocument<MdmServer> = self.get(url, cursor).await?;
        Ok(Page::from_document(doc, cursor))
    }

    /// Every page of `GET /v1/mdmServers`, lazily.
    pub fn mdm_servers(
        &self,
        query: ServerQuery,
        from: Option<String>,
    ) -> BoxStream<'_, Result<Page<MdmServer>, Error>> {
        let query = Arc::new(query);
        paginate("GET /v1/mdmServers", from, move |cursor| {
            let query = Arc::clone(&query);
            async move { self.mdm_servers_page(&query, cursor.as_deref()).await }
        })
    }

    /// `GET /v1/mdmServers/{id}` (ABM 2.1+, ASM 1.6+).
    ///
    /// # Errors
    /// A 404 [`Error::Api`] when there is no such server.
    pub async fn mdm_server(
        &self,
        id: &str,
        fields: &[MdmServerField],
    ) -> Result<MdmServer, Error> {
        let id = Self::id("server id", id)?;
        let mut url = self.url(&["v1", "mdmServers", id]);
        if !fields.is_empty() {
            let names: Vec<&str> = fields.iter().map(MdmServerField::as_str).collect();
            url.query_pairs_mut()
                .append_pair("fields[mdmServers]", &names.join(","));
        }
        let doc: Document<MdmServer> = self.get(url, None).await?;
        Ok(doc.data)
    }

    /// One page of `GET /v1/mdmServers/{id}/relationships/devices`: the ids
    /// of the devices assigned to a server.
    ///
    /// # Errors
    /// As [`org_devices_page`](Self::org_devices_page).
    pub async fn mdm_server_device_ids_page(
        &self,
        server_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<ResourceId>, Error> {
        let id = Self::id("server id", server_id)?;
        check_limit(limit)?;
        let mut url = self.url(&["v1", "mdmServers", id, "relationships", "devices"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &limit.to_string());
            if let Some(c) = cursor {
                q.append_pair("cursor", c);
            }
        }
        let doc: ListDocument<ResourceId> = self.get(url, cursor).await?;
        Ok(Page::from_document(doc, cursor))
    }

    /// Every page of a server's device ids, lazily.
    pub fn mdm_server_device_ids<'a>(
        &'a self,
        server_id: &'a str,
        limit: u32,
        from: Option<String>,
    ) -> BoxStream<'a, Result<Page<ResourceId>, Error>> {
        paginate(
            "GET /v1/mdmServers/{id}/relationships/devices",
            from,
            move |cursor| async move {
                self.mdm_server_device_ids_page(server_id, limit, cursor.as_deref())
                    .await
            },
        )
    }

    // ---- orgDeviceActivities ---------------------------------------------

    /// `POST /v1/orgDeviceActivities`: starts an activity. Never retried
    /// automatically except after a 429 (the server did not act on it).
    ///
    /// # Errors
    /// [`ConfigError::InvalidActivity`] for a request Apple would refuse,
    /// otherwise an API or network [`Error`]. After a network failure the
    /// activity may or may not exist: list the devices before resending.
    pub async fn create_org_device_activity(
        &self,
        request: &OrgDeviceActivityRequest,
    ) -> Result<OrgDeviceActivity, Error> {
        let body = request.to_json()?;
        let doc: Document<OrgDeviceActivity> = self
            .execute(&Call {
                method: Method::POST,
                url: self.url(&["v1", "orgDeviceActivities"]),
                body: Some(&body),
                cursor: None,
            })
            .await?;
        Ok(doc.data)
    }

    /// Assigns devices to an MDM server (`ASSIGN_DEVICES`).
    ///
    /// # Errors
    /// As [`create_org_device_activity`](Self::create_org_device_activity).
    pub async fn assign_devices<I, S>(
        &self,
        server_id: &str,
        device_ids: I,
    ) -> Result<OrgDeviceActivity, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.create_org_device_activity(&OrgDeviceActivityRequest::assign(server_id, device_ids))
            .await
    }

    /// Unassigns devices from an MDM server (`UNASSIGN_DEVICES`).
    ///
    /// # Errors
    /// As [`create_org_device_activity`](Self::create_org_device_activity).
    pub async fn unassign_devices<I, S>(
        &self,
        server_id: &str,
        device_ids: I,
    ) -> Result<OrgDeviceActivity, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.create_org_device_activity(&OrgDeviceActivityRequest::unassign(server_id, device_ids))
            .await
    }

    /// Releases devices from the organization (`RELEASE_DEVICES`, ABM 2.4+).
    /// This cannot be undone.
    ///
    /// # Errors
    /// As [`create_org_device_activity`](Self::create_org_device_activity).
    pub async fn release_devices<I, S>(&self, device_ids: I) -> Result<OrgDeviceActivity, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.create_org_device_activity(&OrgDeviceActivityRequest::release(device_ids))
            .await
    }

    /// `GET /v1/orgDeviceActivities/{id}`: an activity's state (activities
    /// of the last 30 days).
    ///
    /// # Errors
    /// A 404 [`Error::Api`] when Apple no longer knows the activity.
    pub async fn org_device_activity(&self, id: &str) -> Result<OrgDeviceActivity, Error> {
        let id = Self::id("activity id", id)?;
        let url = self.url(&["v1", "orgDeviceActivities", id]);
        let doc: Document<OrgDeviceActivity> = self.get(url, None).await?;
        Ok(doc.data)
    }
}

/// Decodes a 2xx body, naming the JSON path, the request and the cursor of
/// what failed.
fn decode_body<T: DeserializeOwned>(
    body: &[u8],
    request: &str,
    cursor: Option<&str>,
) -> Result<T, Error> {
    // Plain serde_json first (tracking the path costs a share of a large
    // page's decoding); only a body that fails is decoded again to say where.
    if let Ok(v) = mdm_mapping::lenient::from_json_bytes(body) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Decode {
        request: request.to_string(),
        path: e.path().to_string(),
        cursor: cursor.map(str::to_string),
        source: e.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rate_limit_paces_after_a_small_burst() {
        let quota = RateLimit::APPLE_OBSERVED.quota().expect("valid");
        assert_eq!(quota.replenish_interval(), Duration::from_secs(3));
        assert_eq!(quota.burst_size().get(), 3);
        let limiter = RateLimiter::direct(quota);
        assert!(limiter.check().is_ok());
        assert!(limiter.check().is_ok());
        assert!(limiter.check().is_ok());
        // The fourth request within 3 s must wait.
        assert!(limiter.check().is_err());
    }

    #[test]
    fn rate_limit_constructors() {
        assert_eq!(RateLimit::per_minute(0), None);
        let r = RateLimit::per_minute(120).expect("nonzero").with_burst(0);
        assert_eq!(r.burst.get(), 1);
        assert_eq!(
            r.quota().expect("valid").replenish_interval(),
            Duration::from_millis(500)
        );
        let absurd = RateLimit {
            requests: NonZeroU32::MAX,
            period: Duration::from_nanos(1),
            burst: NonZeroU32::MIN,
        };
        assert!(absurd.quota().is_err());
    }
}
