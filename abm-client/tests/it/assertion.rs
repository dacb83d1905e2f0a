//! The ES256 client assertion: signed with a throwaway key, verified with
//! its public key, every header field and claim checked.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use abm_client::ConfigError;
use abm_client::auth::{APPLE_TOKEN_AUDIENCE, MAX_ASSERTION_LIFETIME};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::common::{BUSINESS_CLIENT_ID, KEY_ID, TestKey};

#[derive(Debug, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Verifies `jwt` with the public key and returns its header and claims.
pub fn verify(jwt: &str, public_pem: &str) -> (jsonwebtoken::Header, Claims) {
    let key = DecodingKey::from_ec_pem(public_pem.as_bytes()).expect("public key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[APPLE_TOKEN_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "sub", "iss"]);
    let data = jsonwebtoken::decode::<Claims>(jwt, &key, &validation).expect("signature verifies");
    (data.header, data.claims)
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after epoch").as_secs()
}

#[test]
fn assertion_verifies_and_carries_every_claim() {
    let k = TestKey::generate();
    let creds = k.credentials(BUSINESS_CLIENT_ID);
    let now = SystemTime::now();
    let lifetime = Duration::from_secs(24 * 3600);
    let a = creds
        .client_assertion(APPLE_TOKEN_AUDIENCE, now, lifetime)
        .expect("signs");
    let (header, claims) = verify(a.jwt().expose_secret(), &k.public_pem());

    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some(KEY_ID));
    assert_eq!(claims.iss, BUSINESS_CLIENT_ID);
    assert_eq!(claims.sub, BUSINESS_CLIENT_ID);
    assert_eq!(claims.aud, "https://account.apple.com/auth/oauth2/v2/token");
    assert_eq!(claims.iat, secs(now) - 30, "iat is back-dated 30 s");
    assert_eq!(claims.exp, secs(now) + lifetime.as_secs());
    assert!(claims.exp - claims.iat < 180 * 24 * 3600);
    let jti = uuid::Uuid::parse_str(&claims.jti).expect("jti is a UUID");
    assert_eq!(jti.get_version_num(), 4);
    assert_eq!(secs(a.issued_at()), claims.iat);
    assert_eq!(secs(a.expires_at()), claims.exp);
}

#[test]
fn header_is_exactly_apples_and_signature_is_raw_r_s() {
    use base64::Engine;
    let k = TestKey::generate();
    let a = k
        .credentials(BUSINESS_CLIENT_ID)
        .client_assertion(
            APPLE_TOKEN_AUDIENCE,
            SystemTime::now(),
            Duration::from_secs(600),
        )
        .expect("signs");
    let jwt = a.jwt().expose_secret().to_string();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[0]).expect("b64")).expect("json");
    assert_eq!(header, serde_json::json!({"alg": "ES256", "kid": KEY_ID}));
    assert_eq!(
        b64.decode(parts[2]).expect("b64").len(),
        64,
        "JWS r||s, not DER"
    );
}

#[test]
fn every_assertion_has_its_own_jti() {
    let k = TestKey::generate();
    let creds = k.credentials(BUSINESS_CLIENT_ID);
    let now = SystemTime::now();
    let jti = |_| {
        let a = creds
            .client_assertion(APPLE_TOKEN_AUDIENCE, now, Duration::from_secs(600))
            .expect("signs");
        verify(a.jwt().expose_secret(), &k.public_pem()).1.jti
    };
    let a: Vec<String> = (0..3).map(jti).collect();
    assert_ne!(a[0], a[1]);
    assert_ne!(a[1], a[2]);
}

#[test]
fn a_different_key_does_not_verify() {
    let k = TestKey::generate();
    let other = TestKey::generate();
    let a = k
        .credentials(BUSINESS_CLIENT_ID)
        .client_assertion(
            APPLE_TOKEN_AUDIENCE,
            SystemTime::now(),
            Duration::from_secs(600),
        )
        .expect("signs");
    let key = DecodingKey::from_ec_pem(other.public_pem().as_bytes()).expect("public key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[APPLE_TOKEN_AUDIENCE]);
    assert!(jsonwebtoken::decode::<Claims>(a.jwt().expose_secret(), &key, &validation).is_err());
}

#[test]
fn lifetime_must_stay_under_180_days() {
    let creds = TestKey::generate().credentials(BUSINESS_CLIENT_ID);
    let now = SystemTime::now();
    assert!(
        creds
            .client_assertion(APPLE_TOKEN_AUDIENCE, now, MAX_ASSERTION_LIFETIME)
            .is_ok()
    );
    for bad in [
        Duration::from_secs(180 * 24 * 3600),
        Duration::from_secs(10),
    ] {
        assert!(matches!(
            creds.client_assertion(APPLE_TOKEN_AUDIENCE, now, bad),
            Err(ConfigError::AssertionLifetime(_))
        ));
    }
}
