//! Broken and hostile servers: lifetimes that would overflow, totals that
//! lie, pages that repeat, and the token invalidated at the end of a run.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jamf_client::{Client, ComputerQuery, Error, SourceOptions};
use mdm_mapping::{DeviceSource, SourceErrorKind};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TestClock, TokenSeq, client, requests_to};

async fn mount_departments(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalCount": 1, "results": [{"id": "1", "name": "IT"}]})),
        )
        .mount(server)
        .await;
}

async fn departments(client: &Client) -> Result<usize, Error> {
    let pages: Vec<_> = client.departments().try_collect().await?;
    Ok(pages.len())
}

/// `expires_in: 9223372036854775807` once crashed `mdm devices` (exit 101,
/// "overflow when adding duration to instant"). Now it is capped at 24 h:
/// no panic, the token is reused, and a new one is fetched after a day.
#[tokio::test]
async fn an_oauth_lifetime_of_i64_max_is_capped_at_a_day() {
    let server = MockServer::start().await;
    let clock = TestClock::new();
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"tok","expires_in":9223372036854775807}"#,
            "application/json",
        ))
        .expect(2)
        .mount(&server)
        .await;
    mount_departments(&server).await;
    let client = Client::builder(server.uri())
        .client_credentials("id", "secret")
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    departments(&client).await.unwrap();
    clock.advance(Duration::from_secs(23 * 3600));
    departments(&client).await.unwrap(); // same token
    clock.advance(Duration::from_secs(2 * 3600));
    departments(&client).await.unwrap(); // past the 24 h cap: a new one
}

/// Lifetimes that are not numbers at all are "not said", not fatal.
#[tokio::test]
async fn unreadable_oauth_lifetimes_fall_back_to_the_default() {
    for expires_in in [
        json!(u64::MAX),
        json!(-5),
        json!(0),
        json!(1.5e300),
        json!("forever"),
        json!(null),
        json!([1]),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/oauth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "tok", "expires_in": expires_in})),
            )
            .expect(1)
            .mount(&server)
            .await;
        mount_departments(&server).await;
        let client = Client::builder(server.uri())
            .client_credentials("id", "secret")
            .build()
            .unwrap();
        departments(&client)
            .await
            .unwrap_or_else(|e| panic!("{expires_in}: {e}"));
    }
}

/// A server that claims millions of computers and serves the same page
/// whatever `page` says: the client-level stream stops at the first page
/// that brings nothing new, with a NoProgress error.
#[tokio::test]
async fn a_lying_total_count_over_a_repeated_page_stops_after_one_wasted_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 5_000_000,
            "results": [{"id": "1"}, {"id": "2"}],
        })))
        .expect(2)
        .mount(&server)
        .await;
    let results: Vec<_> = client(&server)
        .computers(ComputerQuery::new().page_size(2))
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    let err = results[1].as_ref().unwrap_err();
    assert!(matches!(err, Error::NoProgress(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "jamf GET /api/v1/computers-inventory: page 1 brought no record that earlier pages had \
         not already listed; stopped the listing there rather than request pages that bring \
         nothing (the server's paging is broken; the records listed before it were read; try \
         again later, or report it to jamf)"
    );
}

/// The same through the `DeviceSource` the CLI uses: with a lookahead of
/// one, exactly one wasted request; with the default lookahead, at most
/// the pages it had in flight.
#[tokio::test]
async fn the_device_source_does_not_trust_total_count() {
    // At most the first page and then the pipeline's depth (the lookahead
    // in flight and as many decoding; one at a time for 1).
    for (lookahead, most) in [(1, 2), (2, 5)] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/computers-inventory"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "totalCount": i64::MAX,
                "results": [{"id": "1"}, {"id": "2"}],
            })))
            .expect(2..=most)
            .mount(&server)
            .await;
        let source = client(&server)
            .device_source(SourceOptions::default().page_size(2).mobile_devices(false))
            .with_lookahead(lookahead);
        let results: Vec<_> = source.pages(None).collect().await;
        assert_eq!(results.len(), 2, "lookahead {lookahead}");
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(err.kind(), SourceErrorKind::NoProgress);
        assert!(
            err.to_string()
                .contains("the page at cursor computers:1 brought no record"),
            "{err}"
        );
    }
}

/// A tenant with no computers: the empty computers listing is not taken
/// for a page that makes no progress; the mobile devices follow.
#[tokio::test]
async fn no_computers_is_not_a_stalled_listing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalCount": 0, "results": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/mobile-devices/detail"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 1,
            "results": [{"mobileDeviceId": "7", "deviceType": "iOS"}],
        })))
        .mount(&server)
        .await;
    let source = client(&server).device_source(SourceOptions::default());
    let pages: Vec<_> = source.pages(None).collect().await;
    let ids: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().devices)
        .map(|d| d.source_id)
        .collect();
    assert_eq!(ids, ["7"]);
}

async fn user_password_server(tokens: &TokenSeq) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .respond_with(tokens.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/invalidate-token"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// `DeviceSource::close` ends a user/password session on the server, after
/// a run that succeeded and after one that failed.
#[tokio::test]
async fn closing_the_source_invalidates_a_user_token_also_after_an_error() {
    for fail in [false, true] {
        let clock = TestClock::new();
        let tokens = TokenSeq::user(clock.clone(), 1200);
        let server = user_password_server(&tokens).await;
        let listing = if fail {
            ResponseTemplate::new(500).set_body_string("boom")
        } else {
            ResponseTemplate::new(200).set_body_json(json!({"totalCount": 0, "results": []}))
        };
        Mock::given(method("GET"))
            .and(path("/api/v1/computers-inventory"))
            .respond_with(listing)
            .mount(&server)
            .await;
        let client = Client::builder(server.uri())
            .user_password("reader", "pw")
            .clock(Arc::new(clock))
            .inventory_version(jamf_client::InventoryVersion::V1)
            .build()
            .unwrap();
        let source = client.device_source(SourceOptions::default().mobile_devices(false));
        let results: Vec<_> = source.pages(None).collect().await;
        assert_eq!(results.iter().any(Result::is_err), fail);
        source.close().await.unwrap();
        // Closing twice sends nothing more (`expect(1)` above).
        source.close().await.unwrap();
        assert_eq!(
            requests_to(&server, "/api/v1/auth/invalidate-token")
                .await
                .len(),
            1
        );
    }
}

/// OAuth has no revocation endpoint: closing only forgets the token.
#[tokio::test]
async fn closing_an_oauth_source_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(TokenSeq::oauth(600))
        .mount(&server)
        .await;
    mount_departments(&server).await;
    let client = Client::builder(server.uri())
        .client_credentials("id", "secret")
        .build()
        .unwrap();
    departments(&client).await.unwrap();
    client
        .device_source(SourceOptions::default())
        .close()
        .await
        .unwrap();
    assert!(
        requests_to(&server, "/api/v1/auth/invalidate-token")
            .await
            .is_empty()
    );
}

/// Dates that cannot be read are dropped from the record and counted per
/// field, not lost silently. A field the record does not hold
/// (`initialEntryDate`, `itunesStoreAccountActive`) is not read at all: an
/// unreadable one is neither counted nor a reason to fail the page.
#[tokio::test]
async fn unreadable_dates_are_counted_per_field() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 2,
            "results": [
                {"id": "1", "general": {"lastContactTime": "last week", "reportDate": "2024-01-26T16:15:36Z"}},
                {"id": "2", "general": {"lastContactTime": true, "reportDate": "",
                                        "initialEntryDate": "the 32nd",
                                        "itunesStoreAccountActive": [1]}},
            ],
        })))
        .mount(&server)
        .await;
    let source = client(&server).device_source(SourceOptions::default().mobile_devices(false));
    let pages: Vec<_> = source.pages(None).try_collect().await.unwrap();
    assert_eq!(pages[0].devices.len(), 2);
    assert_eq!(
        source.dropped_values().summary(),
        "2 values (jamf.last_contact_time: 2)"
    );
    assert_eq!(
        source.dropped_values().snapshot()["jamf.last_contact_time"].examples,
        ["last week", "true"]
    );
}

/// As for computers: of a mobile device, an unreadable date the record
/// holds is dropped and counted, and a field the record does not hold
/// (`managementId`, `mdmProfileExpirationDate`, `network.roaming`) is not
/// read at all, so a malformed one fails nothing and counts nowhere.
#[tokio::test]
async fn a_malformed_mobile_field_the_record_does_not_hold_fails_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/mobile-devices/detail"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 2,
            "results": [
                {"mobileDeviceId": "1", "deviceType": "iOS",
                 "general": {"lastContactDate": "last week", "managementId": {"a": 1},
                             "mdmProfileExpirationDate": "the 32nd"},
                 "network": {"roaming": [1], "imei": "35 209900 176148 1"}},
                {"mobileDeviceId": "2", "general": {"lastContactDate": "2024-01-26T16:15:36Z"}},
            ],
        })))
        .mount(&server)
        .await;
    let source = client(&server).device_source(SourceOptions::default().computers(false));
    let pages: Vec<_> = source.pages(None).try_collect().await.unwrap();
    let devices: Vec<_> = pages.iter().flat_map(|p| &p.devices).collect();
    assert_eq!(devices.len(), 2);
    assert_eq!(
        devices[0].fields.get("imei").and_then(|v| v.as_list()),
        Some(&["352099001761481".to_string()][..])
    );
    assert_eq!(
        source.dropped_values().summary(),
        "1 value (jamf.last_contact_date: 1)"
    );
}
