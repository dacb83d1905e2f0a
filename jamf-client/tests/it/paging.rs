//! Paging: totalCount, the silent 2000 cap, short and empty pages, the
//! query parameters, incremental filters and the inventory version.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use jamf_client::{Client, ComputerQuery, ComputerSection, InventoryVersion, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{builder, client, mount_version, query, query_all, requests_to};

/// A computers-inventory endpoint over `total` computers (ids 1..=total)
/// that pages by `min(page-size, cap)`, like Jamf's silent cap.
struct Inventory {
    total: usize,
    cap: usize,
}

impl Respond for Inventory {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let size: usize = query(req, "page-size")
            .and_then(|p| p.parse().ok())
            .unwrap_or(100);
        let size = size.min(self.cap);
        let start = page * size;
        let end = ((page + 1) * size).min(self.total);
        let results: Vec<Value> = (start..end.max(start))
            .map(|i| json!({"id": (i + 1).to_string(), "udid": null, "general": {"name": format!("Mac {}", i + 1)}, "hardware": null}))
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"totalCount": self.total, "results": results}))
    }
}

async fn all_ids(client: &Client, query: ComputerQuery) -> Vec<String> {
    let pages: Vec<_> = client.computers(query).try_collect().await.unwrap();
    pages
        .into_iter()
        .flat_map(|p| p.items.into_iter().map(|c| c.id.to_string()))
        .collect()
}

fn expect_ids(ids: &[String], n: usize) {
    let want: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    assert_eq!(ids.len(), n, "every row once");
    assert_eq!(ids, want.as_slice(), "in order, none skipped");
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), n);
}

#[tokio::test]
async fn pages_until_total_count_with_the_requested_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(Inventory {
            total: 5,
            cap: 2000,
        })
        .mount(&server)
        .await;
    let q = ComputerQuery::new()
        .sections(ComputerSection::INVENTORY)
        .page_size(2);
    let ids = all_ids(&client(&server), q).await;
    expect_ids(&ids, 5);

    let reqs = requests_to(&server, "/api/v1/computers-inventory").await;
    let pages: Vec<String> = reqs.iter().filter_map(|r| query(r, "page")).collect();
    assert_eq!(
        pages,
        ["0", "1", "2"],
        "no request after totalCount is reached"
    );
    for r in &reqs {
        assert_eq!(query(r, "page-size").as_deref(), Some("2"));
        assert_eq!(query(r, "sort").as_deref(), Some("id:asc"));
        assert_eq!(
            query_all(r, "section"),
            [
                "GENERAL",
                "HARDWARE",
                "OPERATING_SYSTEM",
                "USER_AND_LOCATION",
                "PURCHASING",
                "DISK_ENCRYPTION"
            ]
        );
        assert_eq!(query(r, "filter"), None);
    }
}

#[tokio::test]
async fn asking_5000_gets_jamfs_2000_per_page_and_nothing_is_skipped() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(Inventory {
            total: 4500,
            cap: 2000,
        })
        .mount(&server)
        .await;
    let ids = all_ids(&client(&server), ComputerQuery::new().page_size(5000)).await;
    expect_ids(&ids, 4500);
    let reqs = requests_to(&server, "/api/v1/computers-inventory").await;
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter()
            .all(|r| query(r, "page-size").as_deref() == Some("2000"))
    );
}

#[tokio::test]
async fn a_short_page_from_a_lower_silent_cap_does_not_end_the_listing() {
    let server = MockServer::start().await;
    // The server silently serves 1000 rows per page although asked for 2000.
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(Inventory {
            total: 2500,
            cap: 1000,
        })
        .mount(&server)
        .await;
    let ids = all_ids(&client(&server), ComputerQuery::new().page_size(2000)).await;
    expect_ids(&ids, 2500);
}

#[tokio::test]
async fn an_empty_page_ends_the_listing_even_below_total_count() {
    let server = MockServer::start().await;
    // totalCount says 4, but two computers were deleted meanwhile.
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .and(query_param("page", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 4,
            "results": [{"id": "1"}, {"id": "2"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalCount": 4, "results": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let pages: Vec<_> = client(&server)
        .computers(ComputerQuery::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1, "the empty page is not yielded");
    assert_eq!(pages[0].total_count, Some(4));
    assert_eq!(pages[0].items.len(), 2);
}

#[tokio::test]
async fn updated_since_sends_a_quoted_report_date_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .and(query_param(
            "filter",
            r#"(general.platform=="Mac");(general.reportDate>"2024-01-01T00:00:00Z")"#,
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalCount": 1, "results": [{"id": "9"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let since = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let q = ComputerQuery::new()
        .filter(jamf_client::rsql::eq("general.platform", "Mac"))
        .updated_since(since);
    assert_eq!(all_ids(&client(&server), q).await, ["9"]);

    // Alone, the clause is sent without parentheses.
    let q = ComputerQuery::new().updated_since(since);
    assert_eq!(
        q.effective_filter().as_deref(),
        Some(r#"general.reportDate>"2024-01-01T00:00:00Z""#)
    );
}

/// A listing page holding one computer, id `"1"`, of a total of one.
fn one_computer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"totalCount": 1, "results": [{"id": "1"}]}))
}

async fn version_used(server_version: &str, missing: &[&str]) -> (InventoryVersion, Vec<String>) {
    let server = MockServer::start().await;
    mount_version(&server, server_version).await;
    for v in missing {
        Mock::given(method("GET"))
            .and(path(format!("/api/{v}/computers-inventory")))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "httpStatus": 404, "errors": [{"code": "NOT_FOUND", "description": "Not Found"}]
            })))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/api/v[134]/computers-inventory$",
        ))
        .respond_with(one_computer())
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let ids = all_ids(&client, ComputerQuery::new()).await;
    assert_eq!(ids, ["1"]);
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .filter(|p| p.ends_with("computers-inventory"))
        .collect();
    (client.inventory_version().await.unwrap(), paths)
}

#[tokio::test]
async fn the_inventory_version_follows_the_server_version() {
    // Each server serves the versions of its release. The newest is asked
    // beside the server's version; a server without it is asked the one
    // its release implies, not every older one in turn.
    let (v, paths) = version_used("10.42.1-t1667311080", &["v4", "v3"]).await;
    assert_eq!(v, InventoryVersion::V1);
    assert_eq!(
        paths,
        ["/api/v4/computers-inventory", "/api/v1/computers-inventory"]
    );

    let (v, paths) = version_used("11.25.2-t1772925731845", &["v4"]).await;
    assert_eq!(v, InventoryVersion::V3);
    assert_eq!(
        paths,
        ["/api/v4/computers-inventory", "/api/v3/computers-inventory"]
    );

    let (v, paths) = version_used("11.30.1-t1784555528405", &[]).await;
    assert_eq!(v, InventoryVersion::V4);
    assert_eq!(paths, ["/api/v4/computers-inventory"]);
}

#[tokio::test]
async fn the_first_page_is_asked_beside_the_server_version() {
    // The version probe fails until the first page has been asked for: a
    // client that waits for the version before asking for a page never
    // gets one (the probe's 100 retries end first).
    let server = MockServer::start().await;
    let page_asked = Arc::new(AtomicBool::new(false));
    let seen = page_asked.clone();
    Mock::given(method("GET"))
        .and(path("/api/v1/jamf-pro-version"))
        .respond_with(move |_: &wiremock::Request| {
            if seen.load(Ordering::SeqCst) {
                ResponseTemplate::new(200).set_body_json(json!({ "version": "11.30.1" }))
            } else {
                ResponseTemplate::new(503)
            }
        })
        .mount(&server)
        .await;
    let asked = page_asked.clone();
    Mock::given(method("GET"))
        .and(path("/api/v4/computers-inventory"))
        .respond_with(move |_: &wiremock::Request| {
            asked.store(true, Ordering::SeqCst);
            one_computer()
        })
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .bearer_token("static-token")
        .retry_policy(RetryPolicy {
            max_retries: 100,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_millis(10),
        })
        .build()
        .unwrap();
    assert_eq!(all_ids(&client, ComputerQuery::new()).await, ["1"]);
    assert_eq!(
        client.inventory_version().await.unwrap(),
        InventoryVersion::V4
    );
    assert!(page_asked.load(Ordering::SeqCst));
}

/// `GET /api/v1/jamf-pro-version` answers 403.
async fn refuse_version(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/jamf-pro-version"))
        .respond_with(ResponseTemplate::new(403))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_server_serving_the_newest_version_needs_no_version() {
    // The version endpoint refuses (a role without it, a proxy): the
    // newest inventory answered, so the listing does not depend on it.
    let server = MockServer::start().await;
    refuse_version(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v4/computers-inventory"))
        .respond_with(one_computer())
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    assert_eq!(all_ids(&client, ComputerQuery::new()).await, ["1"]);
    // A server without the newest still needs the version: its error is
    // the listing's.
    let server = MockServer::start().await;
    refuse_version(&server).await;
    let client = builder(&server).build().unwrap();
    let err = client
        .computers(ComputerQuery::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::FORBIDDEN), "{err}");
}

#[tokio::test]
async fn a_missing_inventory_version_falls_back_to_older_ones() {
    let (v, paths) = version_used("11.30.1", &["v4", "v3"]).await;
    assert_eq!(v, InventoryVersion::V1);
    assert_eq!(
        paths,
        [
            "/api/v4/computers-inventory",
            "/api/v3/computers-inventory",
            "/api/v1/computers-inventory"
        ]
    );
}

#[tokio::test]
async fn no_version_endpoint_means_v1() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/jamf-pro-version"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    assert_eq!(client.server_version().await.unwrap(), None);
    assert_eq!(
        client.inventory_version().await.unwrap(),
        InventoryVersion::V1
    );
    // Asked once, then cached.
    assert_eq!(
        client.inventory_version().await.unwrap(),
        InventoryVersion::V1
    );
}
