//! OAuth 2 client-credentials with an ES256 client assertion (RFC 7523), as
//! Apple documents it, and the access-token cache.
//!
//! - The client assertion is a JWT signed with the account's P-256 key:
//!   header `alg: ES256` + `kid`; claims `iss` = `sub` = the Client ID,
//!   `aud` = `https://account.apple.com/auth/oauth2/v2/token`, `iat`
//!   (back-dated 30 s against clock skew), `exp` (under 180 days) and a
//!   unique `jti`. It is reused until 5 minutes before it expires.
//! - It is exchanged at `POST https://account.apple.com/auth/oauth2/token`
//!   for an access token (one hour), which is cached and refreshed 5 minutes
//!   early (or halfway through, for short-lived tokens).
//! - One refresh at a time: the cache is a `tokio::sync::Mutex` held across
//!   the refresh and shared by every clone of the client, so concurrent
//!   callers wait and then use the new token.
//! - After a 401 the client drops the token it used and retries once with
//!   a fresh one.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::Retryable;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mdm_mapping::net::{RetryPolicy, parse_retry_after};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::{ConfigError, Error, TokenError, redact, truncate};
use crate::key::Credentials;
use crate::model::de;

/// Apple's token endpoint.
pub const APPLE_TOKEN_URL: &str = "https://account.apple.com/auth/oauth2/token";
/// The `aud` claim Apple requires (note the `/v2/`).
pub const APPLE_TOKEN_AUDIENCE: &str = "https://account.apple.com/auth/oauth2/v2/token";
/// The longest client-assertion lifetime this crate signs (Apple's limit is
/// under 180 days; one day of headroom covers the back-dated `iat`).
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(179 * 24 * 3600);
/// The shortest client-assertion lifetime accepted.
pub const MIN_ASSERTION_LIFETIME: Duration = Duration::from_secs(60);
/// How far `iat` is back-dated, against clock skew.
pub const ASSERTION_BACKDATE: Duration = Duration::from_secs(30);
/// The longest access-token lifetime believed, whatever the token endpoint
/// says (24 hours; Apple issues 1-hour tokens): a token is refreshed at
/// least this often, and no arithmetic on a server-given lifetime can
/// overflow.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The lifetime of an access token whose response said `expires_in`
/// seconds: 1 hour when it said nothing usable (absent, zero, negative, not
/// a number), at most [`MAX_TOKEN_LIFETIME`], at least 10 s.
pub(crate) fn access_token_lifetime(expires_in: Option<i64>) -> Duration {
    expires_in
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s.unsigned_abs()))
        .unwrap_or(Duration::from_secs(3600))
        .clamp(Duration::from_secs(10), MAX_TOKEN_LIFETIME)
}
const OAUTH_ERROR_MAX_CHARS: usize = 200;

/// The source of the current time, for token and assertion expiry.
///
/// The default is the system clock; tests inject their own to move time
/// without sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
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

/// A signed client assertion (a JWT). `Debug` never shows it.
#[derive(Clone)]
pub struct ClientAssertion {
    jwt: SecretString,
    issued_at: SystemTime,
    expires_at: SystemTime,
}

impl fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertion")
            .field("jwt", &"[redacted]")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ClientAssertion {
    /// The compact JWT (`header.claims.signature`).
    pub fn jwt(&self) -> &SecretString {
        &self.jwt
    }

    /// The `iat` claim.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// The `exp` claim.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Credentials {
    /// Signs a client assertion for `audience` ([`APPLE_TOKEN_AUDIENCE`]
    /// unless you talk to a stand-in), valid from `now` − 30 s to
    /// `now` + `lifetime`.
    ///
    /// # Errors
    /// [`ConfigError::AssertionLifetime`] when `lifetime` is under a minute
    /// or over [`MAX_ASSERTION_LIFETIME`].
    pub fn client_assertion(
        &self,
        audience: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<ClientAssertion, ConfigError> {
        if !(MIN_ASSERTION_LIFETIME..=MAX_ASSERTION_LIFETIME).contains(&lifetime) {
            return Err(ConfigError::AssertionLifetime(lifetime));
        }
        let now_secs = epoch_secs(now);
        let iat = now_secs.saturating_sub(ASSERTION_BACKDATE.as_secs());
        let exp = now_secs.saturating_add(lifetime.as_secs());
        let header = serde_json::json!({ "alg": "ES256", "kid": self.key_id() });
        let claims = serde_json::json!({
            "iss": self.client_id(),
            "sub": self.client_id(),
            "aud": audience,
            "iat": iat,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key().sign_es256(signing_input.as_bytes());
        let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        Ok(ClientAssertion {
            jwt: SecretString::from(jwt),
            issued_at: UNIX_EPOCH + Duration::from_secs(iat),
            expires_at: UNIX_EPOCH + Duration::from_secs(exp),
        })
    }
}

/// An access token handed to a request, with the cache generation it came
/// from (so a 401 invalidates only that token).
#[derive(Clone)]
pub(crate) struct AccessToken {
    pub(crate) secret: SecretString,
    pub(crate) generation: u64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("generation", &self.generation)
            .finish()
    }
}

struct CachedToken {
    token: AccessToken,
    refresh_at: SystemTime,
    lifetime: Duration,
}

#[derive(Default)]
struct TokenState {
    assertion: Option<ClientAssertion>,
    token: Option<CachedToken>,
    generation: u64,
    exchanges: u64,
}

/// Settings of the token provider.
pub(crate) struct TokenConfig {
    pub(crate) credentials: Credentials,
    pub(crate) scope: &'static str,
    pub(crate) token_url: Url,
    pub(crate) audience: String,
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) assertion_lifetime: Duration,
    pub(crate) refresh_margin: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
}

/// The access-token cache, shared by every clone of a client.
#[derive(Clone)]
pub(crate) struct TokenProvider {
    config: Arc<TokenConfig>,
    state: Arc<tokio::sync::Mutex<TokenState>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("client_id", &self.config.credentials.client_id())
            .field("token_url", &self.config.token_url.as_str())
            .field("scope", &self.config.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default, deserialize_with = "de::opt_string")]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    token_type: Option<String>,
    /// A lifetime that is not a usable number is "not said".
    #[serde(default, deserialize_with = "de::lenient_i64")]
    expires_in: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_string")]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    #[serde(default, deserialize_with = "de::opt_string")]
    error: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    error_description: Option<String>,
}

impl TokenProvider {
    pub(crate) fn new(config: TokenConfig) -> Self {
        TokenProvider {
            config: Arc::new(config),
            state: Arc::new(tokio::sync::Mutex::new(TokenState::default())),
        }
    }

    /// A valid access token: the cached one, or a new one (one refresh at a
    /// time; the lock is held across the exchange).
    pub(crate) async fn token(&self) -> Result<AccessToken, Error> {
        let mut state = self.state.lock().await;
        let now = self.config.clock.now();
        if let Some(cached) = &state.token
            && now < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        state.token = None;
        let assertion = self.assertion(&mut state, now)?;
        state.exchanges += 1;
        match self.exchange(&assertion).await {
            Ok((secret, expires_in)) => {
                state.generation += 1;
                let margin = self.config.refresh_margin.min(expires_in / 2);
                let now = self.config.clock.now();
                let token = AccessToken {
                    secret,
                    generation: state.generation,
                };
                state.token = Some(CachedToken {
                    token: token.clone(),
                    refresh_at: now
                        .checked_add(expires_in.saturating_sub(margin))
                        .unwrap_or(now),
                    lifetime: expires_in,
                });
                tracing::debug!(expires_in = ?expires_in, "obtained an access token");
                Ok(token)
            }
            Err(e) => {
                if matches!(&e, Error::Token(t) if (400..500).contains(&t.status) && t.status != 429)
                {
                    // A refused assertion is not reused (clock skew, a revoked key).
                    state.assertion = None;
                }
                Err(e)
            }
        }
    }

    /// Forgets the token of `generation` after the API refused it (401),
    /// unless another caller already replaced it.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|t| t.token.generation == generation)
        {
            tracing::debug!("the API refused the access token; it will be refreshed");
            state.token = None;
        }
    }

    /// The lifetime the token endpoint gave the cached token, if one is cached.
    pub(crate) async fn lifetime(&self) -> Option<Duration> {
        self.state.lock().await.token.as_ref().map(|t| t.lifetime)
    }

    /// How many token exchanges were attempted so far.
    pub(crate) async fn exchanges(&self) -> u64 {
        self.state.lock().await.exchanges
    }

    fn assertion(&self, state: &mut TokenState, now: SystemTime) -> Result<ClientAssertion, Error> {
        if let Some(a) = &state.assertion
            && now
                .checked_add(self.config.refresh_margin)
                .is_some_and(|t| t < a.expires_at())
        {
            return Ok(a.clone());
        }
        let a = self.config.credentials.client_assertion(
            &self.config.audience,
            now,
            self.config.assertion_lifetime,
        )?;
        state.assertion = Some(a.clone());
        Ok(a)
    }

    async fn exchange(
        &self,
        assertion: &ClientAssertion,
    ) -> Result<(SecretString, Duration), Error> {
        let policy = &self.config.retry;
        (|| self.exchange_once(assertion))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|e| match e {
                Error::Token(t) => policy.should_retry_status(t.status, true),
                Error::Transport { .. } => policy.should_retry_transport(false, true),
                _ => false,
            })
            .adjust(|e, backoff| backoff.map(|b| policy.delay_for(e.retry_after(), b)))
            .notify(|e, wait| tracing::warn!(error = %e, ?wait, "token request failed; retrying"))
            .await
    }

    async fn exchange_once(
        &self,
        assertion: &ClientAssertion,
    ) -> Result<(SecretString, Duration), Error> {
        let c = &self.config;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", c.credentials.client_id()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.jwt().expose_secret()),
            ("scope", c.scope),
        ];
        let mut req = c
            .http
            .post(c.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        if let Some(t) = c.timeout {
            req = req.timeout(t);
        }
        let transport = |source: reqwest::Error| Error::Transport {
            request: format!("POST {} (token request)", c.token_url.path()),
            source: source.without_url(),
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, c.clock.now()));
        let body = resp.bytes().await.map_err(transport)?;
        let secret = assertion.jwt().expose_secret();
        if !(200..300).contains(&status) {
            let parsed: Option<OAuthErrorBody> = serde_json::from_slice(&body).ok();
            let (error, description) = match parsed {
                Some(b) => (
                    b.error.filter(|e| {
                        !e.is_empty()
                            && e.len() <= 64
                            && e.chars()
                                .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
                    }),
                    b.error_description
                        .map(|d| truncate(&redact(&d, &[secret]), OAUTH_ERROR_MAX_CHARS)),
                ),
                None => {
                    let text = String::from_utf8_lossy(&body);
                    let text = truncate(&redact(&text, &[secret]), OAUTH_ERROR_MAX_CHARS);
                    (None, (!text.is_empty()).then_some(text))
                }
            };
            return Err(Error::Token(Box::new(TokenError {
                status,
                error,
                description,
                retry_after,
            })));
        }
        let invalid = |why: String| {
            Error::Token(Box::new(TokenError {
                status,
                error: Some("invalid_response".into()),
                description: Some(why),
                retry_after: None,
            }))
        };
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| invalid("the token response is not a JSON object".into()))?;
        let token = parsed
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| invalid("the token response has no access_token".into()))?;
        if let Some(tt) = parsed.token_type.as_deref()
            && !tt.eq_ignore_ascii_case("bearer")
        {
            return Err(invalid(format!(
                "unsupported token_type {:?} (expected Bearer)",
                truncate(tt, 32)
            )));
        }
        if let Some(scope) = parsed.scope.as_deref()
            && !scope.split_whitespace().any(|s| s == c.scope)
        {
            tracing::warn!(granted = %truncate(scope, 64), requested = c.scope, "the token endpoint granted another scope");
        }
        Ok((
            SecretString::from(token),
            access_token_lifetime(parsed.expires_in),
        ))
    }
}
