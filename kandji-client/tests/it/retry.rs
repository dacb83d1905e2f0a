//! Retries: 429 with Retry-After / Ratelimit-Reset, 502/503/504, connection
//! errors; what is not retried.

use std::time::{Duration, Instant};

use kandji_client::{DeviceQuery, Error, KandjiClient, RateLimits, RetryPolicy};
use mdm_mapping::{DeviceSource, SourceErrorKind};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, TOKEN, catch_all, client, devices, fast_retry};

fn devices_path() -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path("/api/v1/devices"))
}

#[tokio::test]
async fn a_429_then_success() {
    let server = MockServer::start().await;
    devices_path()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    devices_path()
        .respond_with(common::json(devices("ok", 0..3)))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let got = c
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect("retried");
    assert_eq!(got.len(), 3);
    assert_eq!(c.requests_sent(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_over_the_backoff() {
    let server = MockServer::start().await;
    devices_path()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0.3"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    devices_path()
        .respond_with(common::json(json!([])))
        .with_priority(2)
        .mount(&server)
        .await;
    let c = KandjiClient::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .rate_limits(RateLimits::unlimited())
        .retry_policy(RetryPolicy {
            max_retry_after: Duration::from_secs(5),
            ..fast_retry()
        })
        .build()
        .expect("client");
    let started = Instant::now();
    c.list_devices(&DeviceQuery::new(), 0)
        .await
        .expect("retried");
    // The backoff alone is ≤ 4 ms; only the server's 0.3 s explains this.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_that_never_ends_is_rate_limited_with_the_servers_wait() {
    let server = MockServer::start().await;
    devices_path()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "5")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .expect(4) // 1 + max_retries (3)
        .mount(&server)
        .await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("429");
    match &e {
        Error::RateLimited {
            retry_after,
            attempts,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(5)));
            assert_eq!(*attempts, 4);
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("429") && msg.contains("API rate limit exceeded"),
        "{msg}"
    );
    assert_eq!(e.kind(), SourceErrorKind::RateLimited);
}

#[tokio::test]
async fn ratelimit_reset_is_used_without_retry_after() {
    let server = MockServer::start().await;
    devices_path()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Ratelimit-Reset", "7")
                .insert_header("X-Ratelimit-Remaining-Second", "0"),
        )
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let e = source.fetch_page(None).await.expect_err("429");
    assert_eq!(e.kind(), SourceErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn gateway_errors_are_retried_and_500_is_not() {
    for status in [502u16, 503, 504] {
        let server = MockServer::start().await;
        devices_path()
            .respond_with(ResponseTemplate::new(status).set_body_string("upstream"))
            .up_to_n_times(2)
            .expect(2)
            .with_priority(1)
            .mount(&server)
            .await;
        devices_path()
            .respond_with(common::json(json!([])))
            .expect(1)
            .with_priority(2)
            .mount(&server)
            .await;
        client(&server)
            .list_devices(&DeviceQuery::new(), 0)
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
    }
    let server = MockServer::start().await;
    devices_path()
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("500");
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    devices_path()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"detail": "bad filter"})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("400");
    assert_eq!(e.status(), Some(400));
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    // A port nothing listens on: bind, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let c = KandjiClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .token(TOKEN)
        .rate_limits(RateLimits::unlimited())
        .retry_policy(fast_retry())
        .build()
        .expect("client");
    let e = c
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            e,
            Error::Transport {
                before_send: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(c.requests_sent(), 4, "1 attempt + 3 retries");
    assert_eq!(e.kind(), SourceErrorKind::Transport);
}

#[tokio::test]
async fn no_retries_with_the_none_policy() {
    let server = MockServer::start().await;
    devices_path()
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let c = KandjiClient::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let e = c
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("503");
    assert_eq!(e.status(), Some(503));
}
