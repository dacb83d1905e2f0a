//! Hostile numbers: every number a server sends (token lifetimes,
//! `Retry-After` and rate-limit headers, `totalCount`, page sizes and
//! totals, ids, dates) is fed extreme values (0, negative, `i64::MAX`,
//! `u64::MAX`, huge floats, strings where numbers belong) through the real
//! clients against wiremock. Whatever arrives: no panic, no overflow, every
//! listing ends within a bounded number of requests, and a failure is a
//! typed error.
//!
//! Retries are off (`RetryPolicy::none()`), so nothing sleeps: a
//! `Retry-After` is still parsed into the error, which is what is checked.
//! Cases: `HOSTILE_CASES` (default 24).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::StreamExt;
use mdm_examples::simulator::SimCredentials;
use mdm_mapping::DeviceSource;
use mdm_mapping::net::RetryPolicy;
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// At most this many requests per listing, whatever the server says (a
/// token, a page, the page that brings nothing, what was in flight).
const MAX_REQUESTS: usize = 12;

fn cases() -> u32 {
    std::env::var("HOSTILE_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(24)
}

/// A JSON value where a number belongs.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1)),
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(1.0e308)),
        Just(json!(-1.0e308)),
        Just(json!(0.5)),
        Just(json!("9223372036854775807")),
        Just(json!("18446744073709551616")),
        Just(json!("-5")),
        Just(json!("NaN")),
        Just(json!("soon")),
        Just(json!("")),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({})),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
    ]
}

/// A header value where a number of seconds or a date belongs.
fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just(i64::MAX.to_string()),
        Just(u64::MAX.to_string()),
        Just("340282366920938463463374607431768211456".to_string()),
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_string()),
        Just("Thu, 01 Jan 1970 00:00:00 GMT".to_string()),
        Just("soon".to_string()),
        Just(String::new()),
        any::<u64>().prop_map(|n| n.to_string()),
    ]
}

/// A value where a date belongs.
fn date() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("2024-01-26T16:15:36Z")),
        Just(json!("+275760-09-13T00:00:00Z")),
        Just(json!("-000001-01-01T00:00:00Z")),
        Just(json!("9999-12-31T23:59:59.999999999+14:00")),
        Just(json!("99999999999999")),
        Just(json!("not a date")),
        number(),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Drains a source's listing: it must end, and it never panics.
async fn drain(source: &dyn DeviceSource) -> (usize, Option<mdm_mapping::SourceError>) {
    let mut pages = source.pages(None);
    let mut devices = 0;
    let mut n = 0;
    while let Some(page) = pages.next().await {
        n += 1;
        assert!(n <= MAX_REQUESTS, "the listing does not end");
        match page {
            Ok(p) => devices += p.devices.len(),
            Err(e) => {
                // A failure names the vendor.
                assert!(e.to_string().starts_with(source.vendor().as_str()), "{e}");
                return (devices, Some(e));
            }
        }
    }
    (devices, None)
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Whatever `Retry-After` said, the wait a retry would take is capped.
fn retry_after_is_bounded(e: &mdm_mapping::SourceError) {
    let policy = RetryPolicy::default();
    let wait = policy.delay_for(e.retry_after(), Duration::from_secs(1));
    assert!(wait <= policy.max_retry_after, "{e}: {wait:?}");
}

#[derive(Debug, Clone)]
struct Hostile {
    expires_in: Value,
    total: Value,
    id: Value,
    other_id: Value,
    date: Value,
    retry_after: String,
    reset: String,
    limit: Value,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        number(),
        number(),
        number(),
        number(),
        date(),
        header(),
        header(),
        number(),
    )
        .prop_map(
            |(expires_in, total, id, other_id, date, retry_after, reset, limit)| Hostile {
                expires_in,
                total,
                id,
                other_id,
                date,
                retry_after,
                reset,
                limit,
            },
        )
}

async fn jamf(h: &Hostile) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "expires_in": h.expires_in})),
        )
        .mount(&server)
        .await;
    // The same page every time, with the hostile total and ids.
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": h.total,
            "results": [
                {"id": h.id, "general": {"lastContactTime": h.date, "reportDate": h.date}},
                {"id": h.other_id, "general": {"initialEntryDate": h.date}},
            ],
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/mobile-devices/detail"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", h.retry_after.as_str())
                .set_body_string("slow down"),
        )
        .mount(&server)
        .await;
    let client = jamf_client::Client::builder(server.uri())
        .client_credentials("id", "secret")
        .retry_policy(RetryPolicy::none())
        .inventory_version(jamf_client::InventoryVersion::V1)
        .build()
        .unwrap();
    let source = client.device_source(jamf_client::SourceOptions::default().page_size(2));
    let (_, err) = drain(&source).await;
    if let Some(e) = &err {
        retry_after_is_bounded(e);
    }
    source.close().await.unwrap();
    assert!(requests(&server).await <= MAX_REQUESTS);
}

async fn kandji(h: &Hostile) {
    let server = MockServer::start().await;
    let device = |id: &Value| {
        json!({"device_id": id, "serial_number": "C02XK1ABJG5H",
               "first_enrollment": h.date, "last_check_in": h.date,
               "user": {"id": h.other_id, "email": "ana@example.com"}})
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([device(&h.id), device(&h.other_id)])),
        )
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", h.retry_after.as_str())
                .insert_header("ratelimit-reset", h.reset.as_str()),
        )
        .mount(&server)
        .await;
    let client = kandji_client::KandjiClient::builder()
        .base_url(server.uri())
        .token("t")
        .rate_limits(kandji_client::RateLimits::unlimited())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let source = kandji_client::KandjiSource::new(client)
        .with_query(kandji_client::DeviceQuery::new().page_size(2));
    let (_, err) = drain(&source).await;
    if let Some(e) = &err {
        retry_after_is_bounded(e);
    }
    assert!(requests(&server).await <= MAX_REQUESTS);
}

async fn abm(h: &Hostile, creds: &SimCredentials) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "t", "token_type": "Bearer",
            "expires_in": h.expires_in, "scope": "business.api",
        })))
        .mount(&server)
        .await;
    let device = |id: &Value| {
        json!({"type": "orgDevices", "id": id, "attributes": {
            "serialNumber": "C02XK1ABJG5H", "addedToOrgDateTime": h.date,
            "updatedDateTime": h.date, "deviceCapacity": h.total}})
    };
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [device(&h.id), device(&h.other_id)],
            "meta": {"paging": {"nextCursor": "again", "limit": h.limit, "total": h.total}},
        })))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(
            ResponseTemplate::new(503).insert_header("retry-after", h.retry_after.as_str()),
        )
        .mount(&server)
        .await;
    let key = abm_client::PrivateKey::from_pem(creds.abm_private_key_pem.expose_secret()).unwrap();
    let client = abm_client::AbmClient::builder(abm_client::Credentials::new(
        creds.abm_client_id.clone(),
        creds.abm_key_id.clone(),
        key,
    ))
    .base_url(server.uri())
    .token_url(format!("{}/token", server.uri()))
    .rate_limit(None)
    .retry_policy(RetryPolicy::none())
    .build()
    .unwrap();
    let source = client.device_source();
    let (_, err) = drain(&source).await;
    if let Some(e) = &err {
        retry_after_is_bounded(e);
    }
    assert!(requests(&server).await <= MAX_REQUESTS);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn extreme_numbers_from_the_network_never_panic_and_every_listing_ends(h in hostile()) {
        static CREDS: std::sync::OnceLock<SimCredentials> = std::sync::OnceLock::new();
        let creds = CREDS.get_or_init(SimCredentials::generate);
        runtime().block_on(async {
            jamf(&h).await;
            kandji(&h).await;
            abm(&h, creds).await;
        });
    }
}

/// The number reading the clients share, on the same extremes.
#[test]
fn retry_after_never_overflows() {
    let now = std::time::SystemTime::now();
    for v in [
        "0",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "1e308",
        "NaN",
        "inf",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        let d = mdm_mapping::net::parse_retry_after(v, now);
        let capped = RetryPolicy::default().delay_for(d, Duration::from_secs(1));
        assert!(capped <= Duration::from_secs(60), "{v}: {capped:?}");
    }
}
