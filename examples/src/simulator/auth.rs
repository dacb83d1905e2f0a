//! Credentials, issued tokens and the ABM client-assertion check.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mdm_mapping::Vendor;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

use super::SimulatorError;

/// The `aud` every ABM client assertion must carry.
pub const ABM_AUDIENCE: &str = "https://account.apple.com/auth/oauth2/v2/token";

/// The longest an ABM client assertion may live (`exp - iat`): 180 days.
pub const ABM_MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);

/// The credentials the simulator accepts. [`SimCredentials::generate`] (and
/// `Default`) make fresh random ones, including a P-256 key pair for ABM.
///
/// `Debug` prints no secret.
#[derive(Clone)]
pub struct SimCredentials {
    /// Jamf API client id (OAuth client credentials).
    pub jamf_client_id: String,
    /// Jamf API client secret.
    pub jamf_client_secret: SecretString,
    /// Jamf user name (Basic → bearer token).
    pub jamf_username: String,
    /// Jamf password.
    pub jamf_password: SecretString,
    /// Kandji API token (a UUID).
    pub kandji_token: SecretString,
    /// ABM client id, `BUSINESSAPI.<uuid>` (or `SCHOOLAPI.<uuid>` for a school).
    pub abm_client_id: String,
    /// ABM key id (a UUID).
    pub abm_key_id: String,
    /// ABM private key in Apple's form: a PKCS#8 body under an
    /// `EC PRIVATE KEY` label. The simulator verifies assertions with its
    /// public half.
    pub abm_private_key_pem: SecretString,
}

impl fmt::Debug for SimCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCredentials")
            .field("jamf_client_id", &self.jamf_client_id)
            .field("jamf_client_secret", &"[redacted]")
            .field("jamf_username", &self.jamf_username)
            .field("jamf_password", &"[redacted]")
            .field("kandji_token", &"[redacted]")
            .field("abm_client_id", &self.abm_client_id)
            .field("abm_key_id", &self.abm_key_id)
            .field("abm_private_key_pem", &"[redacted]")
            .finish()
    }
}

impl Default for SimCredentials {
    fn default() -> Self {
        Self::generate()
    }
}

fn random_secret_key() -> p256::SecretKey {
    let mut rng = rand::rng();
    loop {
        let bytes: [u8; 32] = rng.random();
        // Fails only for zero or a value ≥ the curve order (≈ 2^-128).
        if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
            return key;
        }
    }
}

fn alnum(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// Encodes a key the way Apple's download looks: `EC PRIVATE KEY` label, PKCS#8 body.
pub fn apple_style_pem(key: &p256::SecretKey) -> Result<SecretString, SimulatorError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| SimulatorError::AbmKey(e.to_string()))?;
    let pem = pem::Pem::new("EC PRIVATE KEY", der.as_bytes().to_vec());
    let text = pem::encode_config(
        &pem,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    Ok(SecretString::from(text))
}

/// Reads a P-256 private key from PEM whatever the label: PKCS#8 or SEC1 body.
pub fn parse_private_key_pem(text: &str) -> Result<p256::SecretKey, SimulatorError> {
    let block = pem::parse(text).map_err(|e| SimulatorError::AbmKey(format!("not PEM: {e}")))?;
    p256::SecretKey::from_pkcs8_der(block.contents())
        .or_else(|_| p256::SecretKey::from_sec1_der(block.contents()))
        .map_err(|_| {
            SimulatorError::AbmKey("the PEM body is neither a PKCS#8 nor a SEC1 P-256 key".into())
        })
}

impl SimCredentials {
    /// Fresh random credentials.
    pub fn generate() -> Self {
        let key = random_secret_key();
        let pem = apple_style_pem(&key).unwrap_or_else(|_| SecretString::from(String::new()));
        Self {
            jamf_client_id: uuid::Uuid::new_v4().to_string(),
            jamf_client_secret: SecretString::from(alnum(64)),
            jamf_username: "api-reader".to_string(),
            jamf_password: SecretString::from(alnum(24)),
            kandji_token: SecretString::from(uuid::Uuid::new_v4().to_string()),
            abm_client_id: format!("BUSINESSAPI.{}", uuid::Uuid::new_v4()),
            abm_key_id: uuid::Uuid::new_v4().to_string(),
            abm_private_key_pem: pem,
        }
    }

    /// The public key the simulator checks ABM assertions against.
    pub fn abm_verifying_key(&self) -> Result<VerifyingKey, SimulatorError> {
        let secret = parse_private_key_pem(self.abm_private_key_pem.expose_secret())?;
        Ok(VerifyingKey::from(&p256::ecdsa::SigningKey::from(secret)))
    }

    /// The ABM scope that matches the client id: `school.api` for
    /// `SCHOOLAPI.…`, else `business.api`.
    pub fn abm_scope(&self) -> &'static str {
        if self.abm_client_id.starts_with("SCHOOLAPI.") {
            "school.api"
        } else {
            "business.api"
        }
    }
}

/// How long issued tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Jamf OAuth (client credentials) tokens; Jamf's docs show 60 s to 600 s.
    pub jamf_oauth: Duration,
    /// Jamf user (Basic → bearer) tokens: 30 minutes on a real server.
    pub jamf_user: Duration,
    /// ABM access tokens: one hour.
    pub abm: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            jamf_oauth: Duration::from_secs(600),
            jamf_user: Duration::from_secs(1800),
            abm: Duration::from_secs(3600),
        }
    }
}

/// What kind of token a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    JamfOAuth,
    JamfUser,
    Abm,
}

impl TokenKind {
    pub(crate) fn vendor(self) -> Vendor {
        match self {
            TokenKind::JamfOAuth | TokenKind::JamfUser => Vendor::Jamf,
            TokenKind::Abm => Vendor::Abm,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct TokenInfo {
    kind: TokenKind,
    expires_at: Instant,
    revoked: bool,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

/// Tokens the simulator issued (opaque random strings, never logged).
#[derive(Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, TokenInfo>>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.tokens.lock().map(|t| t.len()).unwrap_or(0);
        f.debug_struct("TokenStore").field("tokens", &n).finish()
    }
}

impl TokenStore {
    /// Issues a token; returns it with its wall-clock expiry.
    pub(crate) fn issue(&self, kind: TokenKind, lifetime: Duration) -> (String, SystemTime) {
        let mut rng = rand::rng();
        let body: [u8; 24] = rng.random();
        let sig: [u8; 32] = rng.random();
        let token = match kind {
            TokenKind::Abm => format!(
                "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjpudWxsfQ..{}.{}",
                URL_SAFE_NO_PAD.encode(body),
                URL_SAFE_NO_PAD.encode(sig)
            ),
            _ => format!(
                "eyJhbGciOiJIUzI1NiJ9.{}.{}",
                URL_SAFE_NO_PAD.encode(body),
                URL_SAFE_NO_PAD.encode(sig)
            ),
        };
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() > 10_000 {
            tokens.retain(|_, t| !t.revoked && t.expires_at > now);
        }
        tokens.insert(
            token.clone(),
            TokenInfo {
                kind,
                expires_at: now + lifetime,
                revoked: false,
            },
        );
        (token, SystemTime::now() + lifetime)
    }

    /// Checks a bearer token for a vendor.
    pub(crate) fn check(
        &self,
        token: Option<&str>,
        vendor: Vendor,
    ) -> Result<TokenKind, TokenRejection> {
        let token = token.ok_or(TokenRejection::Missing)?;
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let info = tokens
            .get(token)
            .filter(|t| t.kind.vendor() == vendor)
            .ok_or(TokenRejection::Unknown)?;
        if info.revoked {
            Err(TokenRejection::Revoked)
        } else if Instant::now() >= info.expires_at {
            Err(TokenRejection::Expired)
        } else {
            Ok(info.kind)
        }
    }

    /// Revokes a token (invalidate, keep-alive, or an expired-token fault).
    pub(crate) fn revoke(&self, token: &str) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        match tokens.get_mut(token) {
            Some(t) if !t.revoked => {
                t.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// Makes every issued token expired now.
    pub(crate) fn expire_all(&self) {
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        for t in tokens.values_mut() {
            t.expires_at = now;
        }
    }
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The `user:password` of a Basic `Authorization` header.
pub(crate) fn basic(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Whether a request carries Basic auth with the Jamf user and password of
/// `creds` (the Classic API, `/JSSResource/...`, takes it as well as a
/// bearer token, as servers that still allow Basic auth do).
pub(crate) fn jamf_basic_ok(headers: &axum::http::HeaderMap, creds: &SimCredentials) -> bool {
    basic(headers).is_some_and(|(user, pass)| {
        user == creds.jamf_username && pass == creds.jamf_password.expose_secret()
    })
}

/// Why an ABM client assertion was refused (the `error_description`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not three base64url parts of JSON.
    #[error("client_assertion is not a compact JWS: {0}")]
    Malformed(String),
    /// `alg` is not ES256.
    #[error("client_assertion header alg must be ES256, got {0:?}")]
    Algorithm(String),
    /// `kid` is not the configured key id.
    #[error("client_assertion header kid does not name this client's key")]
    KeyId,
    /// The signature does not verify with the client's public key.
    #[error("client_assertion signature does not verify with the client's public key")]
    Signature,
    /// A claim is missing or wrong.
    #[error("client_assertion claim {claim}: {reason}")]
    Claim {
        /// The claim.
        claim: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn b64_json(part: &str, what: &str) -> Result<Value, AssertionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| AssertionError::Malformed(format!("{what} is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AssertionError::Malformed(format!("{what} is not JSON: {e}")))
}

fn claim_i64(claims: &Value, name: &'static str) -> Result<i64, AssertionError> {
    claims
        .get(name)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .ok_or(AssertionError::Claim {
            claim: name,
            reason: "missing or not a number".into(),
        })
}

fn claim_eq(claims: &Value, name: &'static str, expected: &str) -> Result<(), AssertionError> {
    match claims.get(name) {
        Some(Value::String(s)) if s == expected => Ok(()),
        Some(Value::Array(a))
            if name == "aud" && a.iter().any(|v| v.as_str() == Some(expected)) =>
        {
            Ok(())
        }
        Some(other) => Err(AssertionError::Claim {
            claim: name,
            reason: format!("must be {expected:?}, got {other}"),
        }),
        None => Err(AssertionError::Claim {
            claim: name,
            reason: "missing".into(),
        }),
    }
}

/// Verifies an ABM client assertion: ES256 signature by `key`, `kid`,
/// `iss` = `sub` = `client_id`, `aud`, `exp` in the future and at most 180
/// days after `iat`, `iat` not in the future (60 s of clock skew allowed).
pub fn verify_client_assertion(
    jwt: &str,
    key: &VerifyingKey,
    client_id: &str,
    key_id: &str,
    now_epoch: i64,
) -> Result<(), AssertionError> {
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AssertionError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    let header = b64_json(h, "header")?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if alg != "ES256" {
        return Err(AssertionError::Algorithm(alg.to_string()));
    }
    if header.get("kid").and_then(Value::as_str) != Some(key_id) {
        return Err(AssertionError::KeyId);
    }
    let sig_bytes = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| AssertionError::Malformed(format!("signature is not base64url: {e}")))?;
    let sig = Signature::from_slice(&sig_bytes).map_err(|_| AssertionError::Signature)?;
    let signing_input = format!("{h}.{c}");
    key.verify(signing_input.as_bytes(), &sig)
        .map_err(|_| AssertionError::Signature)?;

    let claims = b64_json(c, "payload")?;
    claim_eq(&claims, "sub", client_id)?;
    claim_eq(&claims, "iss", client_id)?;
    claim_eq(&claims, "aud", ABM_AUDIENCE)?;
    let exp = claim_i64(&claims, "exp")?;
    let iat = claim_i64(&claims, "iat")?;
    if exp <= now_epoch {
        return Err(AssertionError::Claim {
            claim: "exp",
            reason: "the assertion has expired".into(),
        });
    }
    if iat > now_epoch + 60 {
        return Err(AssertionError::Claim {
            claim: "iat",
            reason: "issued in the future".into(),
        });
    }
    if exp <= iat {
        return Err(AssertionError::Claim {
            claim: "exp",
            reason: "not after iat".into(),
        });
    }
    if (exp - iat) as u64 > ABM_MAX_ASSERTION_LIFETIME.as_secs() {
        return Err(AssertionError::Claim {
            claim: "exp",
            reason: "more than 180 days after iat".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(key: &p256::SecretKey, header: &Value, claims: &Value) -> String {
        use p256::ecdsa::signature::Signer as _;
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let sig: Signature = p256::ecdsa::SigningKey::from(key).sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    #[test]
    fn assertion_rules() {
        let creds = SimCredentials::generate();
        let key = parse_private_key_pem(creds.abm_private_key_pem.expose_secret()).unwrap();
        let vk = creds.abm_verifying_key().unwrap();
        let now = 1_800_000_000;
        let header = serde_json::json!({"alg":"ES256","kid":creds.abm_key_id,"typ":"JWT"});
        let good = serde_json::json!({"sub":creds.abm_client_id,"iss":creds.abm_client_id,
            "aud":ABM_AUDIENCE,"iat":now,"exp":now + 180*86400,"jti":"x"});
        let check = |h: &Value, c: &Value| {
            verify_client_assertion(
                &sign(&key, h, c),
                &vk,
                &creds.abm_client_id,
                &creds.abm_key_id,
                now,
            )
        };
        assert_eq!(check(&header, &good), Ok(()));
        let mut bad = good.clone();
        bad["exp"] = (now + 180 * 86400 + 1).into();
        assert!(matches!(
            check(&header, &bad),
            Err(AssertionError::Claim { claim: "exp", .. })
        ));
        bad = good.clone();
        bad["exp"] = (now - 1).into();
        bad["iat"] = (now - 100).into();
        assert!(matches!(
            check(&header, &bad),
            Err(AssertionError::Claim { claim: "exp", .. })
        ));
        bad = good.clone();
        bad["aud"] = "https://account.apple.com/auth/oauth2/token".into();
        assert!(matches!(
            check(&header, &bad),
            Err(AssertionError::Claim { claim: "aud", .. })
        ));
        bad = good.clone();
        bad["iss"] = "someone".into();
        assert!(matches!(
            check(&header, &bad),
            Err(AssertionError::Claim { claim: "iss", .. })
        ));
        let mut h2 = header.clone();
        h2["kid"] = "other".into();
        assert_eq!(check(&h2, &good), Err(AssertionError::KeyId));
        h2 = header.clone();
        h2["alg"] = "HS256".into();
        assert!(matches!(
            check(&h2, &good),
            Err(AssertionError::Algorithm(_))
        ));
        let other = random_secret_key();
        let forged = sign(&other, &header, &good);
        assert_eq!(
            verify_client_assertion(&forged, &vk, &creds.abm_client_id, &creds.abm_key_id, now),
            Err(AssertionError::Signature)
        );
    }

    #[test]
    fn apple_style_pem_has_ec_label_and_pkcs8_body() {
        let creds = SimCredentials::generate();
        let text = creds.abm_private_key_pem.expose_secret();
        assert!(text.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        let block = pem::parse(text).unwrap();
        assert!(p256::SecretKey::from_pkcs8_der(block.contents()).is_ok());
        assert!(p256::SecretKey::from_sec1_der(block.contents()).is_err());
    }

    #[test]
    fn debug_redacts() {
        let creds = SimCredentials::generate();
        let dbg = format!("{creds:?}");
        assert!(!dbg.contains(creds.jamf_client_secret.expose_secret()));
        assert!(!dbg.contains(creds.jamf_password.expose_secret()));
        assert!(!dbg.contains(creds.kandji_token.expose_secret()));
        assert!(!dbg.contains("PRIVATE KEY"));
        assert!(dbg.contains(&creds.abm_client_id));
    }
}
