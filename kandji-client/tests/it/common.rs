//! Shared helpers: fixtures, a fast-retrying client, the catch-all mock.

use std::time::Duration;

use kandji_client::{KandjiClient, RateLimits, RetryPolicy};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A token that must never appear in any Debug or Display output.
pub const TOKEN: &str = "0a1b2c3d-SECRET-4e5f-8a9b-TOKEN0123456";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Retries with millisecond waits; `Retry-After` clamped to 10 ms.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        max_retry_after: Duration::from_millis(10),
    }
}

pub fn client(server: &MockServer) -> KandjiClient {
    KandjiClient::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .rate_limits(RateLimits::unlimited())
        .retry_policy(fast_retry())
        .build()
        .expect("client")
}

/// Registered with the lowest priority: any request no test expected fails
/// loudly with a 500 (not retried).
pub async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// `n` list records cloned from the Mac fixture, ids `{prefix}-{i}`.
pub fn devices(prefix: &str, range: std::ops::Range<usize>) -> Vec<Value> {
    let template = fixture("device_mac.json");
    range
        .map(|i| {
            let mut d = template.clone();
            d["device_id"] = Value::from(format!("{prefix}-{i:04}"));
            d["serial_number"] = Value::from(format!("SN{prefix}{i:04}"));
            d["user"] = Value::from("");
            d
        })
        .collect()
}

pub fn json(v: impl serde::Serialize) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}
