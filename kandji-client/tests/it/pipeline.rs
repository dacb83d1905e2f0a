//! The pipelined `pages()` of the source: the next offset is in flight
//! while a page is read, with the requests of the sequential listing (and,
//! with a longer lookahead, the same offsets plus at most `n - 1` past the
//! end), errors at their cursor, resume.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kandji_client::{DeviceQuery, KandjiSource};
use mdm_mapping::{Cursor, DevicePage, DeviceSource, SourceErrorKind};
use serde_json::Value;
use tokio::sync::mpsc;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{self, catch_all, client, devices};

/// The `offset` of every device listing request the server received, in the
/// order received.
async fn offsets(server: &MockServer) -> Vec<u32> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/devices")
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .and_then(|(_, v)| v.parse().ok())
        })
        .collect()
}

/// Mounts the device listing at `offset` (page size 2), answered `times`.
async fn mount_page(server: &MockServer, offset: u32, page: Vec<Value>, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("limit", "2"))
        .and(query_param("offset", offset.to_string()))
        .respond_with(common::json(page))
        .expect(times)
        .named(format!("devices at offset {offset}"))
        .mount(server)
        .await;
}

/// An empty page past the end, which a speculative request may read once.
async fn mount_past_the_end(server: &MockServer, offset: u32) {
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("offset", offset.to_string()))
        .respond_with(common::json(Vec::<Value>::new()))
        .expect(0..=1)
        .named(format!("past the end at {offset}"))
        .mount(server)
        .await;
}

fn source(server: &MockServer) -> KandjiSource {
    client(server)
        .device_source()
        .with_query(DeviceQuery::new().ordering("device_id").page_size(2))
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

/// Seven devices in pages of 2, the list shifting under the listing: the
/// page at offset 2 repeats the last device of the page at 0.
async fn mount_shifting_list(server: &MockServer) {
    let all = devices("s", 0..7);
    mount_page(server, 0, all[0..2].to_vec(), 1).await;
    mount_page(server, 2, all[1..3].to_vec(), 1).await;
    mount_page(server, 4, all[3..5].to_vec(), 1).await;
    mount_page(server, 6, all[5..6].to_vec(), 1).await;
}

#[tokio::test]
async fn pages_yield_every_device_once_in_order_with_the_sequential_requests() {
    let server = MockServer::start().await;
    mount_shifting_list(&server).await;
    catch_all(&server).await;
    let source = source(&server);
    let pages: Vec<DevicePage> = source.pages(None).try_collect().await.expect("pages");
    assert_eq!(
        ids(&pages),
        ["s-0000", "s-0001", "s-0002", "s-0003", "s-0004", "s-0005"]
    );
    let nexts: Vec<Option<&str>> = pages
        .iter()
        .map(|p| p.next.as_ref().map(Cursor::as_str))
        .collect();
    assert_eq!(nexts, [Some("2"), Some("4"), Some("6"), None]);
    // The sequential requests, in order, nothing past the end.
    assert_eq!(offsets(&server).await, [0, 2, 4, 6]);
    assert_eq!(source.client().requests_sent(), 4);
}

#[tokio::test]
async fn a_longer_lookahead_keeps_the_offsets_and_stops_one_past_the_end() {
    for (lookahead, past) in [(0, 0), (2, 1)] {
        let server = MockServer::start().await;
        mount_shifting_list(&server).await;
        mount_past_the_end(&server, 8).await;
        catch_all(&server).await;
        let pages: Vec<DevicePage> = source(&server)
            .with_lookahead(lookahead)
            .pages(None)
            .try_collect()
            .await
            .expect("pages");
        assert_eq!(ids(&pages).len(), 6);
        let mut asked = offsets(&server).await;
        asked.sort_unstable();
        assert!(
            asked[..4] == [0, 2, 4, 6] && asked.len() <= 4 + past,
            "lookahead {lookahead}: {asked:?}"
        );
    }
}

/// A sequential `pages()` asks for offset 2 only when the consumer asks for
/// the second page; this one has it in flight while the first is read, so
/// it reaches the server while the consumer holds page 1 without polling.
#[tokio::test]
async fn the_next_offset_is_requested_before_the_consumer_asks_for_it() {
    for lookahead in [0, 1, 2] {
        let server = MockServer::start().await;
        let all = devices("n", 0..3);
        mount_page(&server, 0, all[0..2].to_vec(), 1).await;
        let (tx, mut second_requested) = mpsc::unbounded_channel();
        Mock::given(method("GET"))
            .and(path("/api/v1/devices"))
            .and(query_param("offset", "2"))
            .respond_with(Signal {
                tx,
                body: common::json(all[2..3].to_vec()),
            })
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let source = source(&server).with_lookahead(lookahead);
        let mut pages = source.pages(None);
        let first = pages.try_next().await.expect("page 1").expect("some");
        assert_eq!(ids(std::slice::from_ref(&first)), ["n-0000", "n-0001"]);
        // Not polling `pages`: only the pipeline can send offset 2. (A
        // generous bound so a slow machine cannot fail this; no timing.)
        tokio::time::timeout(Duration::from_secs(30), second_requested.recv())
            .await
            .unwrap_or_else(|_| panic!("lookahead {lookahead}: offset 2 not requested ahead"))
            .expect("signal");
        let second = pages.try_next().await.expect("page 2").expect("some");
        assert_eq!(ids(std::slice::from_ref(&second)), ["n-0002"]);
        assert!(pages.try_next().await.expect("end").is_none());
    }
}

#[tokio::test]
async fn an_error_ends_the_stream_at_the_failing_offset_after_the_earlier_pages() {
    let server = MockServer::start().await;
    let all = devices("e", 0..2);
    mount_page(&server, 0, all, 1).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("offset", "2"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"detail": "bad"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let results: Vec<_> = source(&server).pages(None).collect().await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().expect("page 1").devices.len(), 2);
    let e = results[1].as_ref().expect_err("offset 2 fails");
    assert_eq!(e.cursor(), Some(&Cursor::new("2")));
    assert_eq!(e.kind(), SourceErrorKind::Api);
    assert_eq!(offsets(&server).await, [0, 2]);
}

#[tokio::test]
async fn pages_resume_from_a_cursor() {
    let server = MockServer::start().await;
    let all = devices("r", 0..7);
    mount_page(&server, 0, all[0..2].to_vec(), 0).await;
    mount_page(&server, 2, all[2..4].to_vec(), 0).await;
    mount_page(&server, 4, all[4..6].to_vec(), 1).await;
    mount_page(&server, 6, all[6..7].to_vec(), 1).await;
    catch_all(&server).await;
    let pages: Vec<DevicePage> = source(&server)
        .pages(Some(Cursor::new("4")))
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(ids(&pages), ["r-0004", "r-0005", "r-0006"]);
    assert_eq!(pages[0].next, Some(Cursor::new("6")));
    assert_eq!(offsets(&server).await, [4, 6]);

    // A bad cursor is an error at that cursor, before any request.
    let results: Vec<_> = source(&server)
        .pages(Some(Cursor::new("page-two")))
        .collect()
        .await;
    assert_eq!(results.len(), 1);
    let e = results[0].as_ref().expect_err("bad cursor");
    assert_eq!(e.kind(), SourceErrorKind::Config);
    assert_eq!(e.cursor(), Some(&Cursor::new("page-two")));
}

/// A server that answers a full page longer than asked for: the next
/// offset follows what was listed, as in the sequential listing.
#[tokio::test]
async fn a_page_longer_than_asked_moves_the_next_offset() {
    let server = MockServer::start().await;
    let all = devices("l", 0..4);
    mount_page(&server, 0, all[0..3].to_vec(), 1).await;
    mount_page(&server, 3, all[3..4].to_vec(), 1).await;
    catch_all(&server).await;
    let pages: Vec<DevicePage> = source(&server)
        .pages(None)
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(ids(&pages), ["l-0000", "l-0001", "l-0002", "l-0003"]);
    assert_eq!(pages[0].next, Some(Cursor::new("3")));
    assert_eq!(offsets(&server).await, [0, 3]);
}
