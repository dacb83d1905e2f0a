//! Credentials, the shared token cache and the injectable [`Clock`].
//!
//! Jamf Pro issues bearer tokens two ways:
//!
//! - **API clients** (OAuth client credentials, Jamf Pro 10.49+):
//!   `POST /api/v1/oauth/token` (older servers: `/api/oauth/token`, used when
//!   the first answers 404) with `grant_type=client_credentials`,
//!   `client_id` and `client_secret` as form fields. The token lives
//!   `expires_in` seconds (configured per API client, often 60–600 s) and has
//!   no refresh token: a new one is requested before the old one expires.
//! - **User accounts**: `POST /api/v1/auth/token` with HTTP Basic
//!   credentials. The token lives 30 minutes and is extended with
//!   `POST /api/v1/auth/keep-alive`, which returns a new token.
//!
//! One cache is shared by every clone of a [`Client`](crate::Client). It is a
//! `tokio::sync::Mutex` held across the refresh, so when a token is due only
//! one task fetches a new one while the others wait and then use it (no
//! thundering herd). Tokens are refreshed ahead of expiry — half the
//! lifetime, at most 60 s early — and once more when a request answers 401.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::Error;
use crate::transport::{AuthHeader, Body, Transport};

/// How the client authenticates. `Debug` never shows a secret.
///
/// ```
/// use jamf_client::Credentials;
///
/// let creds = Credentials::client_credentials("b1c2-client-id", "s3cr3t-value");
/// assert!(!format!("{creds:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct Credentials(Kind);

#[derive(Clone)]
enum Kind {
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    UserPassword {
        username: String,
        password: SecretString,
    },
    Bearer(SecretString),
}

impl Credentials {
    /// An API client (API Roles and Clients): client id and client secret.
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Credentials(Kind::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }

    /// A Jamf Pro user account: username and password, exchanged for a
    /// 30-minute bearer token.
    pub fn user_password(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Credentials(Kind::UserPassword {
            username: username.into(),
            password: password.into(),
        })
    }

    /// A bearer token obtained elsewhere. It is never refreshed.
    pub fn bearer_token(token: impl Into<SecretString>) -> Self {
        Credentials(Kind::Bearer(token.into()))
    }

    /// What kind of credentials these are, for messages.
    pub fn kind(&self) -> &'static str {
        match self.0 {
            Kind::ClientCredentials { .. } => "API client credentials",
            Kind::UserPassword { .. } => "username and password",
            Kind::Bearer(_) => "bearer token",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
            Kind::UserPassword { username, .. } => f
                .debug_struct("UserPassword")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Kind::Bearer(_) => f.debug_tuple("BearerToken").field(&"[redacted]").finish(),
        }
    }
}

/// The source of "now" for token expiry and `Retry-After` dates.
///
/// The default is the system clock. Tests inject their own to move time
/// forward without sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Which OAuth token path the server answers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OAuthPath {
    /// `/api/v1/oauth/token` (current).
    V1,
    /// `/api/oauth/token` (older servers).
    Legacy,
}

impl OAuthPath {
    fn segments(self) -> &'static [&'static str] {
        match self {
            OAuthPath::V1 => &["api", "v1", "oauth", "token"],
            OAuthPath::Legacy => &["api", "oauth", "token"],
        }
    }
}

struct Token {
    value: SecretString,
    expires_at: SystemTime,
    refresh_at: SystemTime,
}

impl TokenCache {
    /// When the cached token expires, if one is cached.
    pub(crate) async fn expires_at(&self) -> Option<SystemTime> {
        self.state
            .lock()
            .await
            .current
            .as_ref()
            .map(|t| t.expires_at)
    }
}

struct TokenState {
    current: Option<Token>,
    /// Bumped on every new token, so a 401 only discards the token it was sent with.
    generation: u64,
    oauth_path: OAuthPath,
}

/// A token handed to a request, with the generation to name it on a 401.
pub(crate) struct IssuedToken {
    pub(crate) value: SecretString,
    pub(crate) generation: u64,
}

/// The token cache shared (through the client's `Arc`) by every clone.
pub(crate) struct TokenCache {
    credentials: Credentials,
    state: tokio::sync::Mutex<TokenState>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .state
            .try_lock()
            .map(|s| if s.current.is_some() { "yes" } else { "no" })
            .unwrap_or("refreshing");
        f.debug_struct("TokenCache")
            .field("credentials", &self.credentials)
            .field("token_cached", &cached)
            .finish()
    }
}

#[derive(Deserialize)]
struct OAuthTokenResponse {
    #[serde(deserialize_with = "crate::de::secret")]
    access_token: SecretString,
    /// Any JSON: a lifetime that is not a usable number is "not said".
    #[serde(default, deserialize_with = "crate::de::lenient_i64")]
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct AuthTokenResponse {
    #[serde(deserialize_with = "crate::de::secret")]
    token: SecretString,
    #[serde(default, deserialize_with = "crate::de::opt_datetime")]
    expires: Option<DateTime<Utc>>,
}

/// A user token's lifetime when the server does not say.
const USER_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// An OAuth token's lifetime when the server does not say.
const OAUTH_DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime believed, whatever the server says (24 hours): a
/// token is refreshed at least this often, and no arithmetic on a
/// server-given lifetime can overflow.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The shortest lifetime believed (a server saying `1` would otherwise make
/// every request fetch a token).
const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(10);

impl TokenCache {
    pub(crate) fn new(credentials: Credentials) -> Self {
        TokenCache {
            credentials,
            state: tokio::sync::Mutex::new(TokenState {
                current: None,
                generation: 0,
                oauth_path: OAuthPath::V1,
            }),
        }
    }

    /// Whether a new token can be had (not a fixed bearer token).
    pub(crate) fn refreshable(&self) -> bool {
        !matches!(self.credentials.0, Kind::Bearer(_))
    }

    /// A token that is not due for refresh, fetching one if needed. The lock
    /// is held across the fetch: concurrent callers wait for one refresh.
    pub(crate) async fn token(&self, transport: &Transport) -> Result<IssuedToken, Error> {
        let mut st = self.state.lock().await;
        let now = transport.clock.now();
        if let Some(t) = &st.current
            && now < t.refresh_at
        {
            return Ok(IssuedToken {
                value: t.value.clone(),
                generation: st.generation,
            });
        }
        let token = match &self.credentials.0 {
            Kind::Bearer(value) => Token {
                value: value.clone(),
                expires_at: far_future(now),
                refresh_at: far_future(now),
            },
            Kind::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let mut path = st.oauth_path;
                let t = fetch_oauth(transport, client_id, client_secret, &mut path).await?;
                st.oauth_path = path;
                t
            }
            Kind::UserPassword { username, password } => {
                let still_valid = st
                    .current
                    .as_ref()
                    .filter(|t| now < t.expires_at)
                    .map(|t| t.value.clone());
                match still_valid {
                    Some(old) => match keep_alive(transport, &old).await {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::debug!(error = %e, "Jamf keep-alive failed; requesting a new token");
                            fetch_user_token(transport, username, password).await?
                        }
                    },
                    None => fetch_user_token(transport, username, password).await?,
                }
            }
        };
        st.generation = st.generation.wrapping_add(1);
        let issued = IssuedToken {
            value: token.value.clone(),
            generation: st.generation,
        };
        st.current = Some(token);
        Ok(issued)
    }

    /// Forgets the token of `generation` after the server refused it (401),
    /// unless another task already replaced it.
    pub(crate) async fn discard(&self, generation: u64) {
        let mut st = self.state.lock().await;
        if st.generation == generation {
            st.current = None;
        }
    }

    /// Forgets the cached token; for user tokens also tells the server to
    /// invalidate it. The next request authenticates again.
    pub(crate) async fn invalidate(&self, transport: &Transport) -> Result<(), Error> {
        let mut st = self.state.lock().await;
        let Some(token) = st.current.take() else {
            return Ok(());
        };
        if let Kind::UserPassword { .. } = self.credentials.0 {
            let url = transport.url(&["api", "v1", "auth", "invalidate-token"]);
            let resp = transport
                .execute(
                    Method::POST,
                    &url,
                    &[],
                    AuthHeader::Bearer(&token.value),
                    Body::None,
                )
                .await?;
            // 401: the token had already expired, which is what we wanted.
            if !resp.status.is_success() && resp.status != StatusCode::UNAUTHORIZED {
                return Err(resp.into_error(Method::POST, url, true));
            }
        }
        Ok(())
    }
}

fn far_future(now: SystemTime) -> SystemTime {
    later(now, Duration::from_secs(100 * 365 * 24 * 3600))
}

/// `now + d`, or `now` itself if that is past what `SystemTime` can hold
/// (never a panic).
fn later(now: SystemTime, d: Duration) -> SystemTime {
    now.checked_add(d).unwrap_or(now)
}

/// The lifetime of an OAuth token whose response said `expires_in`
/// seconds: the default when it said nothing usable (absent, zero,
/// negative), and never more than [`MAX_TOKEN_LIFETIME`] nor less than 10 s.
pub(crate) fn oauth_lifetime(expires_in: Option<i64>) -> Duration {
    expires_in
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s.unsigned_abs()))
        .unwrap_or(OAUTH_DEFAULT_LIFETIME)
        .clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME)
}

/// A token of `lifetime` (capped at [`MAX_TOKEN_LIFETIME`]) issued at
/// `now`, refreshed half its lifetime (at most 60 s) before it expires.
fn token_for(value: SecretString, now: SystemTime, lifetime: Duration) -> Token {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    let early = (lifetime / 2).min(Duration::from_secs(60));
    Token {
        value,
        expires_at: later(now, lifetime),
        refresh_at: later(now, lifetime.saturating_sub(early)),
    }
}

async fn fetch_oauth(
    transport: &Transport,
    client_id: &str,
    client_secret: &SecretString,
    path: &mut OAuthPath,
) -> Result<Token, Error> {
    let candidates: &[OAuthPath] = match path {
        OAuthPath::V1 => &[OAuthPath::V1, OAuthPath::Legacy],
        OAuthPath::Legacy => &[OAuthPath::Legacy],
    };
    let mut last_404 = None;
    for &candidate in candidates {
        let url = transport.url(candidate.segments());
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
        ];
        let resp = transport
            .execute(Method::POST, &url, &[], AuthHeader::None, Body::Form(&form))
            .await?;
        if resp.status == StatusCode::NOT_FOUND && candidate == OAuthPath::V1 {
            tracing::debug!(%url, "no /api/v1/oauth/token on this server; trying /api/oauth/token");
            last_404 = Some(resp.into_error(Method::POST, url, true));
            continue;
        }
        if !resp.status.is_success() {
            return Err(resp.into_error(Method::POST, url, true));
        }
        let now = transport.clock.now();
        let body: OAuthTokenResponse = resp.decode_secret("OAuth token response")?;
        let lifetime = oauth_lifetime(body.expires_in);
        *path = candidate;
        return Ok(token_for(body.access_token, now, lifetime));
    }
    Err(last_404.unwrap_or_else(|| Error::InvalidArgument {
        name: "oauth",
        reason: "no OAuth token endpoint to try".into(),
    }))
}

async fn fetch_user_token(
    transport: &Transport,
    username: &str,
    password: &SecretString,
) -> Result<Token, Error> {
    let url = transport.url(&["api", "v1", "auth", "token"]);
    let resp = transport
        .execute(
            Method::POST,
            &url,
            &[],
            AuthHeader::Basic(username, password),
            Body::None,
        )
        .await?;
    user_token_from(transport, resp, url)
}

async fn keep_alive(transport: &Transport, token: &SecretString) -> Result<Token, Error> {
    let url = transport.url(&["api", "v1", "auth", "keep-alive"]);
    let resp = transport
        .execute(
            Method::POST,
            &url,
            &[],
            AuthHeader::Bearer(token),
            Body::None,
        )
        .await?;
    user_token_from(transport, resp, url)
}

fn user_token_from(
    transport: &Transport,
    resp: crate::transport::RawResponse,
    url: url::Url,
) -> Result<Token, Error> {
    if !resp.status.is_success() {
        return Err(resp.into_error(Method::POST, url, true));
    }
    let now = transport.clock.now();
    let body: AuthTokenResponse = resp.decode_secret("auth token response")?;
    // The server's clock may differ from ours: use the lifetime it implies,
    // kept within sane bounds, rather than its absolute time.
    let lifetime = body
        .expires
        .and_then(|exp| SystemTime::from(exp).duration_since(now).ok())
        .map(|d| d.clamp(Duration::from_secs(30), MAX_TOKEN_LIFETIME))
        .unwrap_or(USER_TOKEN_LIFETIME);
    Ok(token_for(body.token, now, lifetime))
}

/// A shared, cloneable clock handle.
pub(crate) type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_ahead_of_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let t = token_for(SecretString::from("x"), now, Duration::from_secs(60));
        assert_eq!(t.refresh_at, now + Duration::from_secs(30));
        let t = token_for(SecretString::from("x"), now, Duration::from_secs(1800));
        assert_eq!(t.refresh_at, now + Duration::from_secs(1740));
        assert_eq!(t.expires_at, now + Duration::from_secs(1800));
    }

    #[test]
    fn oauth_lifetimes_are_capped_and_never_overflow() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(oauth_lifetime(Some(i64::MAX)), day);
        assert_eq!(oauth_lifetime(Some(86_401)), day);
        assert_eq!(oauth_lifetime(Some(1200)), Duration::from_secs(1200));
        assert_eq!(oauth_lifetime(Some(1)), Duration::from_secs(10));
        for nothing in [None, Some(0), Some(-1), Some(i64::MIN)] {
            assert_eq!(oauth_lifetime(nothing), OAUTH_DEFAULT_LIFETIME);
        }
        // At the far end of what SystemTime holds, no overflow either.
        let now = SystemTime::now();
        let t = token_for(SecretString::from("x"), now, Duration::MAX);
        assert_eq!(t.expires_at, now + day);
        assert_eq!(t.refresh_at, now + day - Duration::from_secs(60));
        let _ = far_future(now);
        assert_eq!(later(now, Duration::MAX), now);
    }

    #[test]
    fn lenient_numbers_never_fail() {
        use mdm_mapping::net::whole_number as lenient_i64_of;
        use serde_json::json;
        assert_eq!(
            lenient_i64_of(&json!(9223372036854775807_i64)),
            Some(i64::MAX)
        );
        assert_eq!(lenient_i64_of(&json!(u64::MAX)), Some(i64::MAX));
        assert_eq!(lenient_i64_of(&json!(1.0e300)), Some(i64::MAX));
        assert_eq!(lenient_i64_of(&json!(-1.0e300)), Some(i64::MIN));
        assert_eq!(lenient_i64_of(&json!(12.7)), Some(12));
        assert_eq!(lenient_i64_of(&json!("3600")), Some(3600));
        assert_eq!(
            lenient_i64_of(&json!("18446744073709551615")),
            Some(i64::MAX)
        );
        assert_eq!(lenient_i64_of(&json!("soon")), None);
        assert_eq!(lenient_i64_of(&json!({"a": 1})), None);
        assert_eq!(lenient_i64_of(&json!(null)), None);
    }

    #[test]
    fn credentials_debug_is_redacted() {
        for c in [
            Credentials::client_credentials("id-1", "hunter2-secret"),
            Credentials::user_password("ana", "hunter2-secret"),
            Credentials::bearer_token("hunter2-secret"),
        ] {
            let d = format!("{c:?}");
            assert!(!d.contains("hunter2"), "{d}");
            assert!(d.contains("[redacted]"), "{d}");
        }
    }
}
