//! Cursor paging: three pages, resume, own limit and fields, loop guard.

use abm_client::model::OrgDeviceField;
use abm_client::{ConfigError, DeviceQuery, Error, Page};
use futures::{StreamExt, TryStreamExt};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

/// Pages 1–3 of `/v1/orgDevices` at `limit`, each matched on its cursor.
pub async fn mount_pages(server: &MockServer, limit: &str) {
    for (cursor, body) in [
        (None, PAGE1),
        (Some("CURSOR-PAGE-2"), PAGE2),
        (Some("CURSOR-PAGE-3"), PAGE3),
    ] {
        let m = Mock::given(method("GET"))
            .and(path("/v1/orgDevices"))
            .and(query_param("limit", limit));
        let m = match cursor {
            Some(c) => m.and(query_param("cursor", c)),
            None => m.and(query_param_is_missing("cursor")),
        };
        m.respond_with(json(body))
            .expect(1)
            .named(format!("orgDevices page at {cursor:?}"))
            .mount(server)
            .await;
    }
}

fn ids<T>(pages: &[Page<T>], id: impl Fn(&T) -> &str) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.data.iter().map(&id))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn three_pages_by_next_cursor() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_pages(&server, "1000").await;
    mount_catch_all(&server).await;
    let client = client(&server);
    let pages: Vec<_> = client
        .org_devices(DeviceQuery::new(), None)
        .try_collect()
        .await
        .expect("three pages");
    assert_eq!(pages.len(), 3);
    assert_eq!(
        ids(&pages, |d| &d.id),
        [
            "PAGE1DEV1",
            "PAGE1DEV2",
            "PAGE2DEV1",
            "PAGE2DEV2",
            "PAGE3DEV1",
            "PAGE3DEV2"
        ]
    );
    assert_eq!(pages[0].cursor, None);
    assert_eq!(pages[0].next_cursor.as_deref(), Some("CURSOR-PAGE-2"));
    assert_eq!(pages[1].cursor.as_deref(), Some("CURSOR-PAGE-2"));
    assert_eq!(pages[2].next_cursor, None);
    // links.next pointed at evil.example and was never followed: every
    // request went to the mock server (the catch-all would have answered 500).
}

#[tokio::test]
async fn own_limit_and_fields_are_kept_on_every_page() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    for (cursor, body) in [
        (None, PAGE1),
        (Some("CURSOR-PAGE-2"), PAGE2),
        (Some("CURSOR-PAGE-3"), PAGE3),
    ] {
        let m = Mock::given(method("GET"))
            .and(path("/v1/orgDevices"))
            .and(query_param("limit", "2"))
            .and(query_param(
                "fields[orgDevices]",
                "serialNumber,status,wifiMacAddress",
            ));
        let m = match cursor {
            Some(c) => m.and(query_param("cursor", c)),
            None => m.and(query_param_is_missing("cursor")),
        };
        m.respond_with(json(body)).expect(1).mount(&server).await;
    }
    mount_catch_all(&server).await;
    let query = DeviceQuery::new().limit(2).fields([
        OrgDeviceField::SerialNumber,
        OrgDeviceField::Status,
        OrgDeviceField::WifiMacAddress,
    ]);
    let pages: Vec<_> = client(&server)
        .org_devices(query, None)
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3);
}

#[tokio::test]
async fn resumes_from_a_saved_cursor() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-3"))
        .respond_with(json(PAGE3))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let pages: Vec<_> = client(&server)
        .org_devices(DeviceQuery::new(), Some("CURSOR-PAGE-3".into()))
        .try_collect()
        .await
        .expect("last page");
    assert_eq!(ids(&pages, |d| &d.id), ["PAGE3DEV1", "PAGE3DEV2"]);
}

#[tokio::test]
async fn a_repeated_cursor_ends_the_listing() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    // Page 2 points back at itself.
    let looping = PAGE2.replace("CURSOR-PAGE-3", "CURSOR-PAGE-2");
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
        .respond_with(json(&looping))
        .expect(1)
        .mount(&server)
        .await;
    let results: Vec<_> = client(&server)
        .org_devices(DeviceQuery::new(), None)
        .collect()
        .await;
    assert_eq!(results.len(), 3);
    let second = results[1].as_ref().expect("the second page is kept");
    assert_eq!(second.next_cursor, None);
    let err = results[2].as_ref().expect_err("then a NoProgress error");
    assert!(matches!(err, abm_client::Error::NoProgress(_)), "{err:?}");
    assert_eq!(err.kind(), mdm_mapping::SourceErrorKind::NoProgress);
    let msg = err.to_string();
    assert!(
        msg.contains("abm GET /v1/orgDevices: the page at cursor CURSOR-PAGE-2 named as the next page cursor CURSOR-PAGE-2"),
        "{msg}"
    );
}

#[tokio::test]
async fn empty_pages_that_name_a_next_page_end_the_listing_after_one_request() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(PAGE1))
        .expect(1)
        .mount(&server)
        .await;
    // Every later page is empty and names a new cursor: without the guard
    // the listing would never end.
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(json(
            r#"{"data": [], "meta": {"paging": {"nextCursor": "NEVER-1"}}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let results: Vec<_> = client(&server)
        .org_devices(DeviceQuery::new(), None)
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    let err = results[1].as_ref().expect_err("NoProgress");
    assert!(
        err.to_string()
            .contains("the page at cursor CURSOR-PAGE-2 was empty yet named a next page"),
        "{err}"
    );
}

#[tokio::test]
async fn a_cursor_only_in_links_next_is_still_rebuilt() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let doc = serde_json::json!({
        "data": [{"type": "orgDevices", "id": "ONLYLINK1"}],
        "links": {"self": "x", "next": "https://elsewhere.example/v1/orgDevices?cursor=FROM-LINK"}
    });
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "FROM-LINK"))
        .and(query_param("limit", "1000"))
        .respond_with(json(PAGE3))
        .expect(1)
        .mount(&server)
        .await;
    let pages: Vec<_> = client(&server)
        .org_devices(DeviceQuery::new(), None)
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 2);
}

#[tokio::test]
async fn page_size_is_checked_before_sending() {
    let server = MockServer::start().await;
    mount_catch_all(&server).await;
    let client = client(&server);
    for bad in [0, 1001] {
        let e = client
            .org_devices_page(&DeviceQuery::new().limit(bad), None)
            .await
            .expect_err("out of range");
        assert!(
            matches!(e, Error::Config(ConfigError::Limit(n)) if n == bad),
            "{e:?}"
        );
    }
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn pages_pass_through_the_rate_limiter() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_pages(&server, "1000").await;
    mount_catch_all(&server).await;
    // 100 requests a second, burst 1: paced, but quick enough for a test.
    let limit = abm_client::RateLimit::per_minute(6000).expect("nonzero");
    let client = builder(&server, TestKey::generate().credentials(BUSINESS_CLIENT_ID))
        .rate_limit(Some(limit))
        .build()
        .expect("builds");
    let pages: Vec<_> = client
        .org_devices(DeviceQuery::new(), None)
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3);
}

/// A server that ignores the cursor but names a new one on every page: the
/// second page lists nothing new, and the listing ends there.
#[tokio::test]
async fn the_same_devices_under_ever_new_cursors_end_the_listing() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = n.clone();
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(move |_: &wiremock::Request| {
            let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            json(&PAGE1.replace("CURSOR-PAGE-2", &format!("NEW-{i}")))
        })
        .expect(2)
        .mount(&server)
        .await;
    let results: Vec<_> = client(&server)
        .org_devices(DeviceQuery::new(), None)
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    let err = results[1].as_ref().expect_err("NoProgress");
    assert!(
        err.to_string().contains(
            "the page at cursor NEW-0 brought no record that earlier pages had not already listed"
        ),
        "{err}"
    );
}
