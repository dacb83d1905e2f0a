//! Retries: 429 with Retry-After, exhausted 503s, connection failures,
//! and what is not retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use jamf_client::{Client, Error, RetryPolicy};
use mdm_mapping::SourceErrorKind;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{builder, fast_retries};

/// Answers with `failures` in turn, then 200.
#[derive(Clone)]
struct FailThenOk {
    failures: Vec<ResponseTemplate>,
    calls: Arc<AtomicUsize>,
}

impl Respond for FailThenOk {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.failures.get(n).cloned().unwrap_or_else(|| {
            ResponseTemplate::new(200).set_body_json(json!([{"id": "1", "name": "Eau Claire"}]))
        })
    }
}

fn responder(failures: Vec<ResponseTemplate>) -> FailThenOk {
    FailThenOk {
        failures,
        calls: Arc::default(),
    }
}

async fn sites_server(r: FailThenOk) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(r)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_then_succeeds() {
    let r = responder(vec![
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    ]);
    let server = sites_server(r.clone()).await;
    // max_retry_after of 20 ms keeps the test fast; the 1 s is capped.
    let client = builder(&server).build().unwrap();
    let sites = client.sites().await.unwrap();
    assert_eq!(sites[0].name.as_deref(), Some("Eau Claire"));
    assert_eq!(r.calls.load(Ordering::SeqCst), 2);
}

/// A client whose backoff is 1 ms, so any longer wait is the server's.
fn paused_client(server: &MockServer, max_retry_after: Duration) -> Client {
    builder(server)
        .retry_policy(RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_retry_after,
        })
        // No timers but the retry wait: the paused clock jumps to it.
        .no_timeout()
        .http_client(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_are_honoured() {
    let r = responder(vec![
        ResponseTemplate::new(429).insert_header("Retry-After", "7"),
    ]);
    let server = sites_server(r.clone()).await;
    let client = paused_client(&server, Duration::from_secs(60));
    let started = tokio::time::Instant::now();
    client.sites().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "waited {:?} of virtual time",
        started.elapsed()
    );
    assert_eq!(r.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_is_capped() {
    let r = responder(vec![
        ResponseTemplate::new(503).insert_header("Retry-After", "86400"),
    ]);
    let server = sites_server(r.clone()).await;
    let client = paused_client(&server, Duration::from_secs(30));
    let started = tokio::time::Instant::now();
    client.sites().await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(30), "{waited:?}");
    assert!(waited < Duration::from_secs(3600), "{waited:?}");
}

#[tokio::test]
async fn exhausted_503s_give_a_typed_error_with_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .expect(3)
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let e = client.sites().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert!(e.is_retryable());
    match &e {
        Error::Api(http) => {
            assert_eq!(http.raw, "upstream unavailable");
            assert_eq!(http.url.path(), "/api/v1/sites");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("HTTP 503"), "{e}");
    assert_eq!(e.source_kind(), SourceErrorKind::Api);
}

#[tokio::test]
async fn errors_that_cannot_improve_are_not_retried() {
    for status in [400_u16, 403, 404, 500] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/sites"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let e = builder(&server).build().unwrap().sites().await.unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
        assert!(!e.is_retryable());
    }
}

#[tokio::test]
async fn rate_limited_after_retries_is_a_rate_limit_source_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .expect(2)
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let e = client
        .departments()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    let se = mdm_mapping::SourceError::from(e);
    assert_eq!(se.kind(), SourceErrorKind::RateLimited);
    assert_eq!(se.retry_after(), Some(Duration::ZERO));
    assert!(se.is_retryable());
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported_as_transport_errors() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .bearer_token("t")
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let e = client.sites().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.to_string().contains("could not connect"), "{e}");
    assert_eq!(e.source_kind(), SourceErrorKind::Transport);
}
