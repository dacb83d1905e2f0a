//! Rate limits, Retry-After, server errors and connection resets.

use std::time::Duration;

use abm_client::{DeviceQuery, Error, RetryPolicy};
use futures::TryStreamExt;
use mdm_mapping::{DeviceSource, SourceErrorKind};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn first_page() -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
}

#[tokio::test]
async fn a_429_is_waited_out_then_retried() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    first_page()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    first_page()
        .respond_with(json(PAGE3))
        .expect(1)
        .mount(&server)
        .await;
    // Retry-After 30 s is capped by the policy (10 ms in tests).
    let page = client(&server)
        .org_devices_page(&DeviceQuery::new(), None)
        .await
        .expect("after the 429");
    assert_eq!(page.data.len(), 2);
}

#[tokio::test]
async fn retry_after_seconds_and_dates_are_read() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let clock = ManualClock::starting_now();
    use abm_client::Clock;
    let in_two_minutes = httpdate::fmt_http_date(clock.now() + Duration::from_secs(120));
    first_page()
        .respond_with(
            ResponseTemplate::new(429).insert_header("retry-after", in_two_minutes.as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/SECONDS"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "17"))
        .mount(&server)
        .await;
    let client = builder(&server, TestKey::generate().credentials(BUSINESS_CLIENT_ID))
        .retry_policy(RetryPolicy::none())
        .clock(clock.clone())
        .build()
        .expect("builds");
    let e = client
        .org_devices_page(&DeviceQuery::new(), None)
        .await
        .expect_err("429");
    assert_eq!(e.status(), Some(429));
    let wait = e.retry_after().expect("date parsed");
    assert!(
        wait <= Duration::from_secs(120) && wait >= Duration::from_secs(119),
        "{wait:?}"
    );
    let e = client.org_device("SECONDS", &[]).await.expect_err("429");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(17)));
}

#[tokio::test]
async fn persistent_429_becomes_a_rate_limited_source_error() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "45"))
        .expect(4) // the first try and three retries
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let cursor = mdm_mapping::Cursor::new("CURSOR-PAGE-2");
    let e = source
        .fetch_page(Some(&cursor))
        .await
        .expect_err("rate limited");
    assert_eq!(e.kind(), SourceErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(45)));
    assert_eq!(e.cursor(), Some(&cursor));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn gets_retry_503_but_not_500() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/BUSY"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/BUSY"))
        .respond_with(json(include_str!("../fixtures/org_device_single.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/BROKEN"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    client
        .org_device("BUSY", &[])
        .await
        .expect("after two 503s");
    let e = client.org_device("BROKEN", &[]).await.expect_err("500");
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn a_dropped_connection_mid_listing_is_retried_from_the_same_cursor() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    first_page()
        .respond_with(json(PAGE1))
        .expect(1)
        .mount(&server)
        .await;
    // The first request for page 2 dies with the connection.
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with_err(|_: &wiremock::Request| {
            std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )
        })
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(json(PAGE2))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-3"))
        .respond_with(json(PAGE3))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let devices: Vec<_> = client
        .device_source()
        .devices(None)
        .try_collect()
        .await
        .expect("every page despite the reset");
    assert_eq!(devices.len(), 6);
    let page2 = requests_to(&server, "/v1/orgDevices").await;
    let cursors: Vec<Option<String>> = page2
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "cursor")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(
        cursors,
        [
            None,
            Some("CURSOR-PAGE-2".into()),
            Some("CURSOR-PAGE-2".into()),
            Some("CURSOR-PAGE-3".into())
        ]
    );
}

#[tokio::test]
async fn a_connection_reset_without_recovery_is_a_transport_error_at_its_cursor() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with_err(|_: &wiremock::Request| {
            std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )
        })
        .expect(4)
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let cursor = mdm_mapping::Cursor::new("SAVED");
    let e = source
        .fetch_page(Some(&cursor))
        .await
        .expect_err("transport");
    assert_eq!(e.kind(), SourceErrorKind::Transport);
    assert_eq!(e.cursor(), Some(&cursor));
    let inner = e.inner().downcast_ref::<Error>().expect("abm error inside");
    assert!(matches!(inner, Error::Transport { .. }), "{inner:?}");
}

#[tokio::test]
async fn a_server_that_closes_the_socket_is_retried() {
    // A bare listener that closes the first connection without answering,
    // then serves the page: the lowest-level reset there is.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let api = tokio::spawn(async move {
        let mut served = Vec::new();
        for n in 0..2 {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 8192];
            let len = sock.read(&mut buf).await.expect("read");
            served.push(
                String::from_utf8_lossy(&buf[..len])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
            if n == 0 {
                drop(sock); // closed mid-request
                continue;
            }
            let body = PAGE3;
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(resp.as_bytes()).await.expect("write");
            sock.shutdown().await.ok();
        }
        served
    });
    let tokens = MockServer::start().await;
    mount_token(&tokens).await;
    let client =
        abm_client::AbmClient::builder(TestKey::generate().credentials(BUSINESS_CLIENT_ID))
            .base_url(format!("http://{addr}"))
            .token_url(format!("{}{TOKEN_PATH}", tokens.uri()))
            .rate_limit(None)
            .retry_policy(fast_retry())
            .build()
            .expect("builds");
    let page = client
        .org_devices_page(&DeviceQuery::new(), Some("CURSOR-PAGE-3"))
        .await
        .expect("second connection answers");
    assert_eq!(page.data.len(), 2);
    let served = api.await.expect("server task");
    assert_eq!(served.len(), 2);
    for line in served {
        assert!(
            line.starts_with("GET /v1/orgDevices?limit=1000&cursor=CURSOR-PAGE-3 "),
            "{line}"
        );
    }
}
