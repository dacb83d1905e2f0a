//! Users (cursor paging on a foreign `next` host), blueprints, tags.

use futures::{StreamExt, TryStreamExt};
use kandji_client::UserQuery;
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

use crate::common::{self, catch_all, client, fixture};

#[tokio::test]
async fn users_next_on_a_foreign_host_is_reissued_on_the_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param_is_missing("cursor"))
        .and(query_param("archived", "false"))
        .and(query_param("limit", "300"))
        .respond_with(common::json(fixture("users_page1.json")))
        .expect(1)
        .mount(&server)
        .await;
    // page 1's `next` is https://accuhive.kandji.io/api/v1/users?cursor=cD0yOTE0Mw%3D%3D
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("cursor", "cD0yOTE0Mw=="))
        .and(query_param("archived", "false"))
        .and(query_param("limit", "300"))
        .respond_with(common::json(fixture("users_page2.json")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;

    let c = client(&server);
    let users: Vec<_> = c
        .users(UserQuery::new().archived(false))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(users.len(), 3);
    assert_eq!(users[0].active, Some(true));
    assert_eq!(users[1].active, Some(false));
    assert_eq!(
        users[1]
            .integration
            .as_ref()
            .and_then(|i| i.kind.as_deref()),
        Some("office365")
    );
    assert_eq!(users[2].deprecated_user_id.as_deref(), Some("1"));
    assert_eq!(
        c.requests_sent(),
        2,
        "nothing was sent to accuhive.kandji.io"
    );
}

#[tokio::test]
async fn the_users_page_size_is_sent_as_limit_and_capped_at_300() {
    for (query, limit) in [
        (UserQuery::new(), "300"),
        (UserQuery::new().page_size(50), "50"),
        (UserQuery::new().page_size(5_000), "300"),
        (UserQuery::new().page_size(0), "1"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/users"))
            .and(query_param("limit", limit))
            .respond_with(common::json(fixture("users_page2.json")))
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let users: Vec<_> = client(&server)
            .users(query)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("limit {limit}: {e}"));
        assert_eq!(users.len(), 2, "limit {limit}");
    }
}

#[tokio::test]
async fn a_users_cursor_repeated_by_the_server_stops_the_listing() {
    let server = MockServer::start().await;
    let mut looping = fixture("users_page1.json");
    looping["next"] = json!("/api/v1/users?cursor=again");
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(common::json(looping))
        .expect(2)
        .mount(&server)
        .await;
    let results: Vec<_> = client(&server).users(UserQuery::new()).collect().await;
    // The one user, then the error (the repeated page is not followed).
    assert_eq!(results.len(), 2, "{results:?}");
    let err = results[1].as_ref().expect_err("NoProgress");
    assert_eq!(err.kind(), mdm_mapping::SourceErrorKind::NoProgress);
    assert!(
        err.to_string()
            .contains("kandji GET /api/v1/users: the page at cursor again brought no record"),
        "{err}"
    );
}

#[tokio::test]
async fn blueprints_follow_next_offsets_on_the_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/blueprints"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "300"))
        .respond_with(common::json(json!({
            "count": 2,
            "next": "https://elsewhere.example/api/v1/blueprints?limit=1&offset=1",
            "previous": null,
            "results": [{"id": "b1", "name": "Engineering", "params": {}, "computers_count": 3,
                         "enrollment_code": {"code": "123456", "is_active": true}, "type": "classic"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/blueprints"))
        .and(query_param("offset", "1"))
        .and(query_param("limit", "1"))
        .respond_with(common::json(json!({
            "count": 2, "next": null, "previous": "https://elsewhere.example/api/v1/blueprints?limit=1",
            "results": [{"id": "b2", "name": "Map", "type": "map", "computers_count": "0"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let bps: Vec<_> = client(&server)
        .blueprints()
        .try_collect()
        .await
        .expect("blueprints");
    assert_eq!(bps.len(), 2);
    assert_eq!(bps[0].kind.as_deref(), Some("classic"));
    assert_eq!(
        bps[0].enrollment_code.as_ref().and_then(|c| c.is_active),
        Some(true)
    );
    assert_eq!(bps[1].computers_count, Some(0));
}

#[tokio::test]
async fn tags_with_search() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tags"))
        .and(query_param("search", "loan"))
        .respond_with(common::json(json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": "4fe23c39-7a9a-435c-bab3-d2e9fd1974c6", "name": "loaner"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tags = client(&server).tags(Some("loan")).await.expect("tags");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].name.as_deref(), Some("loaner"));
}
