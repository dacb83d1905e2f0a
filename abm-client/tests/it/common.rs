//! Shared test helpers: throwaway keys, a manual clock, a configured client.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use abm_client::{AbmClient, AbmClientBuilder, Clock, Credentials, PrivateKey, RetryPolicy};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const BUSINESS_CLIENT_ID: &str = "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152";
pub const SCHOOL_CLIENT_ID: &str = "SCHOOLAPI.1c0ffee0-10ce-4876-8f59-e78e5e23a152";
pub const KEY_ID: &str = "d136aa66-0c3b-4bd4-9892-c20e8db024ab";
pub const TOKEN_PATH: &str = "/auth/oauth2/token";
pub const ACCESS_TOKEN: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..FIXTURE-ACCESS-TOKEN.tag";

/// A throwaway P-256 key.
pub struct TestKey {
    pub secret: p256::SecretKey,
}

impl TestKey {
    pub fn generate() -> Self {
        TestKey {
            secret: p256::SecretKey::random(&mut rand_core::OsRng),
        }
    }

    /// PKCS#8 under `BEGIN PRIVATE KEY`.
    pub fn pkcs8_pem(&self) -> String {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pkcs8")
            .to_string()
    }

    /// SEC1 under `BEGIN EC PRIVATE KEY`.
    pub fn sec1_pem(&self) -> String {
        self.secret
            .to_sec1_pem(LineEnding::LF)
            .expect("sec1")
            .to_string()
    }

    /// A PKCS#8 body under the `EC PRIVATE KEY` label, as Apple ships it.
    pub fn apple_style_pem(&self) -> String {
        let der = self.secret.to_pkcs8_der().expect("der");
        pem::encode(&pem::Pem::new("EC PRIVATE KEY", der.as_bytes().to_vec()))
    }

    /// The base64 body of the PKCS#8 PEM (what must never leak).
    pub fn pem_body(&self) -> String {
        self.pkcs8_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("")
    }

    /// The private scalar in hex (what must never leak either).
    pub fn scalar_hex(&self) -> String {
        self.secret
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn private_key(&self) -> PrivateKey {
        PrivateKey::from_pem(self.apple_style_pem()).expect("loads")
    }

    pub fn public_pem(&self) -> String {
        use p256::pkcs8::EncodePublicKey;
        self.secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("spki")
    }

    pub fn credentials(&self, client_id: &str) -> Credentials {
        Credentials::new(client_id, KEY_ID, self.private_key())
    }
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub fn starting_now() -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(SystemTime::now())))
    }

    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().expect("clock");
        *t += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().expect("clock")
    }
}

/// Retries that wait milliseconds, and cap `Retry-After` at 10 ms.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
    }
}

/// A builder pointed at `server` for both the API and the token endpoint,
/// with no rate limit and fast retries.
pub fn builder(server: &MockServer, creds: Credentials) -> AbmClientBuilder {
    AbmClient::builder(creds)
        .base_url(server.uri())
        .token_url(format!("{}{TOKEN_PATH}", server.uri()))
        .rate_limit(None)
        .retry_policy(fast_retry())
        .timeout(Some(Duration::from_secs(30)))
}

/// A Business client against `server` with a fresh key.
pub fn client(server: &MockServer) -> AbmClient {
    builder(server, TestKey::generate().credentials(BUSINESS_CLIENT_ID))
        .build()
        .expect("client builds")
}

pub fn token_body(token: &str, expires_in: u64, scope: &str) -> serde_json::Value {
    serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope,
    })
}

/// Mounts a token endpoint that always issues [`ACCESS_TOKEN`].
pub async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            ACCESS_TOKEN,
            3600,
            "business.api",
        )))
        .named("token endpoint")
        .mount(server)
        .await;
}

/// A catch-all 500 registered last, so unmatched calls fail loudly.
pub async fn mount_catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unmatched request in test"))
        .with_priority(u8::MAX)
        .named("catch-all")
        .mount(server)
        .await;
}

pub fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// The form fields of a token request.
pub fn form(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn form_value(req: &Request, key: &str) -> Option<String> {
    form(req)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

pub fn bearer(req: &Request) -> Option<String> {
    req.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Requests the server received on `path`.
pub async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

pub const EDGE_CASES: &str = include_str!("../fixtures/org_devices_edge_cases.json");
pub const PAGE1: &str = include_str!("../fixtures/org_devices_page1.json");
pub const PAGE2: &str = include_str!("../fixtures/org_devices_page2.json");
pub const PAGE3: &str = include_str!("../fixtures/org_devices_page3.json");
