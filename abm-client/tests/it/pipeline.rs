//! The pipelined `pages()` of the source: the next page is requested as soon
//! as a page arrives (not when the consumer asks for it), with exactly the
//! requests of a sequential listing, errors at their cursor, resume.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use mdm_mapping::{Cursor, DevicePage, DeviceSource, SourceErrorKind};
use tokio::sync::mpsc;
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::*;
use crate::paging::mount_pages;

/// The `cursor` of each `orgDevices` request the server received, in order.
async fn listing_cursors(server: &MockServer) -> Vec<Option<String>> {
    requests_to(server, "/v1/orgDevices")
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "cursor")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

fn ids(pages: &[DevicePage]) -> Vec<&str> {
    pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| d.source_id.as_str()))
        .collect()
}

/// Answers with `body` and reports each request it answers.
struct Signal {
    tx: mpsc::UnboundedSender<()>,
    body: ResponseTemplate,
}

impl Respond for Signal {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let _ = self.tx.send(());
        self.body.clone()
    }
}

#[tokio::test]
async fn pages_yield_every_device_once_in_order_with_the_sequential_requests() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_pages(&server, "1000").await; // each page exactly once
    mount_catch_all(&server).await;
    let source = client(&server).device_source();
    let pages: Vec<DevicePage> = source.pages(None).try_collect().await.expect("pages");
    assert_eq!(
        ids(&pages),
        [
            "PAGE1DEV1",
            "PAGE1DEV2",
            "PAGE2DEV1",
            "PAGE2DEV2",
            "PAGE3DEV1",
            "PAGE3DEV2"
        ]
    );
    let nexts: Vec<Option<&str>> = pages
        .iter()
        .map(|p| p.next.as_ref().map(Cursor::as_str))
        .collect();
    assert_eq!(nexts, [Some("CURSOR-PAGE-2"), Some("CURSOR-PAGE-3"), None]);
    // The requests of the sequential listing, in its order, nothing more.
    assert_eq!(
        listing_cursors(&server).await,
        [
            None,
            Some("CURSOR-PAGE-2".to_string()),
            Some("CURSOR-PAGE-3".to_string())
        ]
    );
}

/// A sequential `pages()` sends page 2's request only when the consumer
/// asks for page 2; this one sends it when page 1 arrives, so it reaches the
/// server while the consumer still holds page 1 and has not polled again.
#[tokio::test]
async fn the_next_page_is_requested_before_the_consumer_asks_for_it() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let (tx, mut page2_requested) = mpsc::unbounded_channel();
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(PAGE1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(Signal {
            tx,
            body: json(PAGE3),
        })
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let source = client(&server).device_source();
    let mut pages = source.pages(None);
    let first = pages.try_next().await.expect("page 1").expect("some");
    assert_eq!(
        ids(std::slice::from_ref(&first)),
        ["PAGE1DEV1", "PAGE1DEV2"]
    );
    // Not polling `pages`: only the pipeline can send page 2's request. (A
    // generous bound, so a slow machine cannot fail this; it is no timing.)
    tokio::time::timeout(Duration::from_secs(30), page2_requested.recv())
        .await
        .expect("page 2 was requested while page 1 was held")
        .expect("signal");
    let second = pages.try_next().await.expect("page 2").expect("some");
    assert_eq!(
        ids(std::slice::from_ref(&second)),
        ["PAGE3DEV1", "PAGE3DEV2"]
    );
    assert!(pages.try_next().await.expect("end").is_none());
}

#[tokio::test]
async fn an_error_ends_the_stream_at_the_failing_cursor_after_the_earlier_pages() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(PAGE1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            include_str!("../fixtures/error_400_parameter.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let source = client(&server).device_source();
    let results: Vec<_> = source.pages(None).collect().await;
    assert_eq!(results.len(), 2, "{results:?}");
    let first = results[0].as_ref().expect("page 1");
    assert_eq!(first.devices.len(), 2);
    let e = results[1].as_ref().expect_err("page 2 fails");
    assert_eq!(e.cursor(), Some(&Cursor::new("CURSOR-PAGE-2")));
    assert_eq!(e.kind(), SourceErrorKind::Api);
    // Nothing was requested past the failing page.
    assert_eq!(
        listing_cursors(&server).await,
        [None, Some("CURSOR-PAGE-2".to_string())]
    );
}

/// Page 2's `meta` names page 3, so page 3 is requested while page 2 is
/// decoded; page 2 then fails to decode: the error (at page 2's cursor)
/// ends the stream and page 3 is never yielded.
#[tokio::test]
async fn a_page_that_fails_to_decode_ends_the_stream_even_with_the_next_in_flight() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(PAGE1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [
                {"type": "orgDevices", "id": "FINE0001"},
                {"type": "orgDevices", "attributes": {"serialNumber": "NOID"}}
            ],
            "meta": {"paging": {"limit": 2, "nextCursor": "CURSOR-PAGE-3"}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-3"))
        .respond_with(json(PAGE3))
        .expect(0..=1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let results: Vec<_> = client(&server).device_source().pages(None).collect().await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].is_ok());
    let e = results[1].as_ref().expect_err("decode");
    assert_eq!(e.kind(), SourceErrorKind::Decode);
    assert_eq!(e.cursor(), Some(&Cursor::new("CURSOR-PAGE-2")));
    assert!(e.to_string().contains("data[1]"), "{e}");
}

#[tokio::test]
async fn pages_resume_from_a_cursor() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(PAGE1))
        .expect(0)
        .named("the first page, not read on resume")
        .mount(&server)
        .await;
    for (cursor, body) in [("CURSOR-PAGE-2", PAGE2), ("CURSOR-PAGE-3", PAGE3)] {
        Mock::given(method("GET"))
            .and(path("/v1/orgDevices"))
            .and(query_param("cursor", cursor))
            .respond_with(json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    mount_catch_all(&server).await;
    let pages: Vec<DevicePage> = client(&server)
        .device_source()
        .pages(Some(Cursor::new("CURSOR-PAGE-2")))
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(
        ids(&pages),
        ["PAGE2DEV1", "PAGE2DEV2", "PAGE3DEV1", "PAGE3DEV2"]
    );
    assert_eq!(
        listing_cursors(&server).await,
        [
            Some("CURSOR-PAGE-2".to_string()),
            Some("CURSOR-PAGE-3".to_string())
        ]
    );
}

/// The cursor read ahead (from `meta`/`links` alone) is the one the full
/// decode finds, in the shapes that make it tricky: `meta` before `data`,
/// `nextCursor` keys inside resources, a blank `nextCursor` with the cursor
/// only in `links.next`. The stream follows exactly those cursors.
#[tokio::test]
async fn the_cursor_read_ahead_is_the_pages_own() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let page_a = r#"{
        "meta": {"paging": {"limit": 2, "nextCursor": "REAL-B"}},
        "links": {"next": "https://api-business.apple.com/v1/orgDevices?cursor=DECOY-LINK"},
        "data": [
            {"type": "orgDevices", "id": "A1",
             "attributes": {"serialNumber": "A1", "meta": {"paging": {"nextCursor": "DECOY-DATA"}}},
             "links": {"next": "https://x.example/?cursor=DECOY-RESOURCE"}},
            {"type": "orgDevices", "id": "A2", "attributes": {"nextCursor": "DECOY-ATTR"}}
        ]
    }"#;
    let page_b = r#"{
        "data": [{"type": "orgDevices", "id": "B1"}],
        "links": {"self": "https://api-business.apple.com/v1/orgDevices",
                  "next": "https://evil.example/v1/orgDevices?limit=2&cursor=FROM-LINK-C"},
        "meta": {"paging": {"limit": 2, "nextCursor": "  "}}
    }"#;
    let page_c = r#"{"data": null, "meta": {"paging": {"nextCursor": null}}}"#;
    for (cursor, body) in [
        (None, page_a),
        (Some("REAL-B"), page_b),
        (Some("FROM-LINK-C"), page_c),
    ] {
        let m = Mock::given(method("GET")).and(path("/v1/orgDevices"));
        let m = match cursor {
            Some(c) => m.and(query_param("cursor", c)),
            None => m.and(query_param_is_missing("cursor")),
        };
        m.respond_with(json(body)).expect(1).mount(&server).await;
    }
    mount_catch_all(&server).await;
    let pages: Vec<DevicePage> = client(&server)
        .device_source()
        .pages(None)
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(ids(&pages), ["A1", "A2", "B1"]);
    let nexts: Vec<Option<&str>> = pages
        .iter()
        .map(|p| p.next.as_ref().map(Cursor::as_str))
        .collect();
    assert_eq!(nexts, [Some("REAL-B"), Some("FROM-LINK-C"), None]);
    assert_eq!(
        listing_cursors(&server).await,
        [
            None,
            Some("REAL-B".to_string()),
            Some("FROM-LINK-C".to_string())
        ]
    );
}

/// A server that names a cursor it already named: the stream stops there,
/// and the repeated cursor is not requested ahead either.
#[tokio::test]
async fn a_repeated_cursor_is_not_requested_again() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(PAGE1))
        .expect(1)
        .mount(&server)
        .await;
    // Page 2 names itself as the next page.
    let looping = PAGE2.replace("CURSOR-PAGE-3", "CURSOR-PAGE-2");
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(json(&looping))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let source = client(&server).device_source();
    let results: Vec<_> = source.pages(None).collect().await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[1].as_ref().expect("page 2").next, None);
    let err = results[2].as_ref().expect_err("NoProgress");
    assert_eq!(err.kind(), mdm_mapping::SourceErrorKind::NoProgress);
    assert!(
        err.to_string()
            .contains("abm GET /v1/orgDevices: the page at cursor CURSOR-PAGE-2"),
        "{err}"
    );
    assert_eq!(listing_cursors(&server).await.len(), 2);
}

/// A server that ignores the cursor and serves the first page under ever
/// new cursors: the second request brings nothing new, and the guard ends
/// the listing there, without requesting the third page ahead.
#[tokio::test]
async fn a_server_that_ignores_the_cursor_costs_one_wasted_request() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = n.clone();
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(move |_: &wiremock::Request| {
            let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = PAGE1.replace("CURSOR-PAGE-2", &format!("FRESH-{i}"));
            wiremock::ResponseTemplate::new(200).set_body_raw(body, "application/json")
        })
        .expect(2)
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let results: Vec<_> = source.pages(None).collect().await;
    assert_eq!(results.len(), 2);
    let err = results[1].as_ref().expect_err("NoProgress");
    assert!(err.to_string().contains("brought no record"), "{err}");
    assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn applecare_is_read_for_every_device_of_every_page() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_pages(&server, "1000").await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/v1/orgDevices/PAGE[123]DEV[12]/appleCareCoverage$",
        ))
        .respond_with(json(include_str!("../fixtures/applecare_coverage.json")))
        .expect(6)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let pages: Vec<DevicePage> = client(&server)
        .device_source()
        .with_applecare(true)
        .pages(None)
        .try_collect()
        .await
        .expect("pages");
    let devices: Vec<_> = pages.iter().flat_map(|p| &p.devices).collect();
    assert_eq!(devices.len(), 6);
    for d in devices {
        assert_eq!(
            d.fields.get_str("applecare_status"),
            Some("ACTIVE"),
            "{}",
            d.source_id
        );
    }
}
