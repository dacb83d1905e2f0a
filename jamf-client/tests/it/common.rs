//! Shared helpers: fixtures, a controllable clock, fast retry policies and
//! stock mocks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use jamf_client::{Client, ClientBuilder, Clock, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A fixture file under tests/fixtures, as text.
pub fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// A fixture file as JSON.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A clock the test moves by hand.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<SystemTime>>);

impl TestClock {
    pub fn new() -> Self {
        // 2025-01-15T08:00:00Z
        TestClock(Arc::new(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_736_928_000),
        )))
    }

    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }

    pub fn rfc3339_in(&self, d: Duration) -> String {
        let t = *self.0.lock().unwrap() + d;
        chrono::DateTime::<chrono::Utc>::from(t)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// Retries that wait milliseconds, not seconds.
pub fn fast_retries(max_retries: usize) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(20),
    }
}

/// A builder for `server` with a static bearer token and fast retries.
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(server.uri())
        .bearer_token("static-token")
        .retry_policy(fast_retries(3))
}

/// A client for `server` pinned to inventory v1 (no version probe).
pub fn client(server: &MockServer) -> Client {
    builder(server)
        .inventory_version(jamf_client::InventoryVersion::V1)
        .build()
        .unwrap()
}

/// Serves `GET /api/v1/jamf-pro-version`.
pub async fn mount_version(server: &MockServer, version: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v1/jamf-pro-version"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "version": version })))
        .mount(server)
        .await;
}

/// Issues `tok-1`, `tok-2`, … as OAuth tokens living `expires_in` seconds.
#[derive(Clone)]
pub struct TokenSeq {
    pub calls: Arc<AtomicUsize>,
    pub expires_in: u64,
    pub user_shape: Option<TestClock>,
    pub delay: Duration,
}

impl TokenSeq {
    pub fn oauth(expires_in: u64) -> Self {
        TokenSeq {
            calls: Arc::default(),
            expires_in,
            user_shape: None,
            delay: Duration::ZERO,
        }
    }

    /// `{"token","expires"}` bodies, `expires_in` after the clock's now.
    pub fn user(clock: TestClock, expires_in: u64) -> Self {
        TokenSeq {
            calls: Arc::default(),
            expires_in,
            user_shape: Some(clock),
            delay: Duration::ZERO,
        }
    }

    pub fn count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Respond for TokenSeq {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let body = match &self.user_shape {
            None => json!({
                "access_token": format!("tok-{n}"),
                "scope": "api-role:2",
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }),
            Some(clock) => json!({
                "token": format!("tok-{n}"),
                "expires": clock.rfc3339_in(Duration::from_secs(self.expires_in)),
            }),
        };
        // Jamf Cloud labels JSON as text/plain; the client must not care.
        ResponseTemplate::new(200)
            .set_body_raw(body.to_string(), "text/plain;charset=UTF-8")
            .set_delay(self.delay)
    }
}

/// The `Authorization` header of a request.
pub fn auth_header(req: &Request) -> String {
    req.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A query parameter of a request.
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Every value of a repeated query parameter.
pub fn query_all(req: &Request, name: &str) -> Vec<String> {
    req.url
        .query_pairs()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// The requests `server` received on `p`.
pub async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

/// Records when each request arrived and answers `GET /api/v1/sites`
/// (one site, id 1) after `delay`.
///
/// The client releases a permit only after it has the whole response, which
/// the server sends no earlier than `arrival + delay`. So at the arrival of
/// request k, the requests still in flight are exactly those j with
/// `arrival_j <= arrival_k < arrival_j + delay`: counting them needs no
/// timing assumption.
#[derive(Clone)]
pub struct Recorder {
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
    pub delay: Duration,
}

impl Respond for Recorder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(200)
            .set_body_json(json!([{"id": "1", "name": "Eau Claire"}]))
            .set_delay(self.delay)
    }
}
