//! The device listing (offset pages), single device, details, apps, ids in paths.

use futures::{StreamExt, TryStreamExt};
use kandji_client::{DeviceQuery, Platform, USER_AGENT_VALUE};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, TOKEN, catch_all, client, devices, fixture};

fn page(offset: u32, limit: u32) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("limit", limit.to_string()))
        .and(query_param("offset", offset.to_string()))
}

#[tokio::test]
async fn three_pages_last_short_with_the_documented_headers() {
    let server = MockServer::start().await;
    for (offset, range) in [(0, 0..300), (300, 300..600), (600, 600..617)] {
        page(offset, 300)
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("cache-control", "no-cache"))
            .and(header("user-agent", USER_AGENT_VALUE))
            .and(header("accept", "application/json"))
            .respond_with(common::json(devices("d", range)))
            .expect(1)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let c = client(&server);

    let pages: Vec<_> = c
        .device_pages(DeviceQuery::new())
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages.iter().map(|p| p.next_offset).collect::<Vec<_>>(),
        [Some(300), Some(600), None]
    );
    let total: usize = pages.iter().map(|p| p.devices.len()).sum();
    assert_eq!(total, 617);
    assert_eq!(pages[2].devices[16].device_id, "d-0616");
    assert_eq!(c.requests_sent(), 3);
    assert!(USER_AGENT_VALUE.starts_with("kandji-client/"));
}

#[tokio::test]
async fn an_offset_past_the_end_is_an_empty_page_and_ends_the_listing() {
    let server = MockServer::start().await;
    page(0, 2)
        .respond_with(common::json(devices("a", 0..2)))
        .expect(1)
        .mount(&server)
        .await;
    page(2, 2)
        .respond_with(common::json(devices("a", 2..4)))
        .expect(1)
        .mount(&server)
        .await;
    page(4, 2)
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;

    let ids: Vec<String> = client(&server)
        .devices(DeviceQuery::new().page_size(2))
        .map_ok(|d| d.device_id)
        .try_collect()
        .await
        .expect("devices");
    assert_eq!(ids, ["a-0000", "a-0001", "a-0002", "a-0003"]);
}

#[tokio::test]
async fn a_device_repeated_across_pages_is_listed_once() {
    let server = MockServer::start().await;
    let all = devices("r", 0..4);
    // Offset drift: a device was removed while listing, so page 2 starts one early.
    page(0, 2)
        .respond_with(common::json(&all[0..2]))
        .mount(&server)
        .await;
    page(2, 2)
        .respond_with(common::json(&all[1..3]))
        .mount(&server)
        .await;
    page(4, 2)
        .respond_with(common::json(&all[3..4]))
        .mount(&server)
        .await;
    catch_all(&server).await;

    let pages: Vec<_> = client(&server)
        .device_pages(DeviceQuery::new().page_size(2))
        .try_collect()
        .await
        .expect("pages");
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| d.device_id.as_str()))
        .collect();
    assert_eq!(ids, ["r-0000", "r-0001", "r-0002", "r-0003"]);
    assert_eq!(pages[1].repeats_dropped, 1);
}

#[tokio::test]
async fn a_server_ignoring_offset_does_not_loop_forever() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(common::json(devices("same", 0..2)))
        .expect(2)
        .mount(&server)
        .await;
    let results: Vec<_> = client(&server)
        .devices(DeviceQuery::new().page_size(2))
        .collect()
        .await;
    // The two devices, then the error that says why the listing stopped.
    assert_eq!(results.len(), 3);
    assert!(results[..2].iter().all(Result::is_ok));
    let err = results[2].as_ref().expect_err("NoProgress");
    assert!(
        matches!(err, kandji_client::Error::NoProgress(_)),
        "{err:?}"
    );
    assert_eq!(err.kind(), mdm_mapping::SourceErrorKind::NoProgress);
    assert_eq!(
        err.to_string(),
        "kandji GET /api/v1/devices: the page at offset 2 brought no record that earlier pages \
         had not already listed; stopped the listing there rather than request pages that bring \
         nothing (the server's paging is broken; the records listed before it were read; try \
         again later, or report it to kandji)"
    );
}

#[tokio::test]
async fn every_filter_and_the_ordering_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("platform", "iPad"))
        .and(query_param("user_email_exact", "ana@example.com"))
        .and(query_param("tag_name_in", "a b,c"))
        .and(query_param("filevault_enabled", "false"))
        .and(query_param("ordering", "-last_check_in"))
        .and(query_param("serial_number", "C02&X"))
        .and(query_param("limit", "300"))
        .and(query_param("offset", "0"))
        .respond_with(common::json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let q = DeviceQuery::new()
        .platform(Platform::IPad)
        .user_email_exact("ana@example.com")
        .tag_name_in(["a b", "c"])
        .filevault_enabled(false)
        .serial_number("C02&X")
        .ordering("-last_check_in");
    let got = client(&server).list_devices(&q, 0).await.expect("page");
    assert!(got.is_empty());
}

#[tokio::test]
async fn user_quirks_decode_empty_string_integer_null_list_and_missing() {
    let server = MockServer::start().await;
    let mut quirky = devices("q", 0..4);
    quirky[0] = fixture("device_legacy_integer_user.json");
    quirky[1]["user"] = json!(null);
    quirky[2]["user"] = json!([]);
    quirky[3].as_object_mut().expect("object").remove("user");
    let mut iphone = fixture("device_iphone_no_user.json");
    iphone["mdm_enabled"] = json!("True"); // a boolean as a string
    quirky.push(iphone);
    page(0, 300)
        .respond_with(common::json(quirky))
        .mount(&server)
        .await;

    let got = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect("page");
    assert_eq!(got.len(), 5);
    let legacy = got[0].user.as_ref().expect("user");
    assert_eq!(legacy.id.as_deref(), Some("1"));
    assert_eq!(legacy.email.as_deref(), Some("adam.w@example.dev"));
    assert!(got[1..].iter().all(|d| d.user.is_none()));
    assert_eq!(got[4].mdm_enabled, Some(true));
    assert_eq!(got[4].platform, Some(Platform::IPhone));
}

#[tokio::test]
async fn a_filtered_listing_sent_as_one_object_is_a_page_of_one() {
    let server = MockServer::start().await;
    page(0, 300)
        .and(query_param("serial_number", "C02FK3XYQ6L4"))
        .respond_with(common::json(fixture("device_mac.json")))
        .mount(&server)
        .await;
    let got = client(&server)
        .list_devices(&DeviceQuery::new().serial_number("C02FK3XYQ6L4"), 0)
        .await
        .expect("page");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].device_id, "5f0e8c2a-3b71-4d8e-9a64-1c2b3d4e5f60");
}

#[tokio::test]
async fn single_device_details_and_apps() {
    let server = MockServer::start().await;
    let id = "5f0e8c2a-3b71-4d8e-9a64-1c2b3d4e5f60";
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/devices/{id}")))
        .respond_with(common::json(fixture("device_mac.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/devices/{id}/details")))
        .and(header("cache-control", "no-cache"))
        .respond_with(common::json(fixture("details_mac.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/devices/{id}/apps")))
        .respond_with(common::json(fixture("apps_mac.json")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);

    let d = c.device(id).await.expect("device");
    assert_eq!(d.tags, ["engineering", "loaner"]);
    let x = c.device_details(id).await.expect("details");
    assert_eq!(x.udid(), Some("3C976D96-08A0-5014-89E4-66259AB79FE6"));
    assert_eq!(x.mdm.as_ref().and_then(|m| m.supervised), Some(true));
    let apps = c.device_apps(id).await.expect("apps");
    assert_eq!(apps.apps.len(), 2);
    assert_eq!(apps.apps[1].device_based_vpp, Some(true));
    assert_eq!(apps.apps[0].app_store_vendable, None);
}

#[tokio::test]
async fn ids_are_sent_as_one_encoded_path_segment() {
    let server = MockServer::start().await;
    for p in [
        "/api/v1/devices/..%2Fx",
        "/api/v1/devices/a%2Fb/details",
        "/api/v1/devices/%252E%252E/apps",
        "/api/v1/devices/x%3Fy%23z",
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
            .expect(1)
            .named(p)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let c = client(&server);
    for e in [
        c.device("../x").await.expect_err("404"),
        c.device_details("a/b").await.expect_err("404"),
        c.device_apps("..").await.map(|_| ()).expect_err("404"),
        c.device("x?y#z").await.expect_err("404"),
    ] {
        assert!(e.is_not_found(), "{e}");
    }
}

/// The `DeviceSource` path `mdm devices --vendor kandji` uses: a server that
/// ignores `offset` and serves the same full page every time costs exactly
/// one wasted request (with a lookahead of `n > 1`, at most the `n` pages
/// it had asked for ahead), then a NoProgress error.
#[tokio::test]
async fn the_device_source_stops_a_server_ignoring_offset_after_one_wasted_request() {
    use kandji_client::KandjiSource;
    use mdm_mapping::{DeviceSource, SourceErrorKind};
    for lookahead in [0, 1, 3] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/devices"))
            .respond_with(common::json(devices("same", 0..2)))
            .expect(2..=(lookahead.max(1) + 1) as u64)
            .mount(&server)
            .await;
        let source = KandjiSource::new(client(&server))
            .with_query(DeviceQuery::new().page_size(2).ordering("device_id"))
            .with_lookahead(lookahead);
        let results: Vec<_> = source.pages(None).collect().await;
        assert_eq!(results.len(), 2, "lookahead {lookahead}");
        assert_eq!(results[0].as_ref().expect("first page").devices.len(), 2);
        let err = results[1].as_ref().expect_err("NoProgress");
        assert_eq!(err.kind(), SourceErrorKind::NoProgress);
        assert!(
            err.to_string()
                .contains("kandji GET /api/v1/devices: the page at cursor 2 brought no record"),
            "{err}"
        );
        drop(results);
        server.verify().await;
    }
}

/// Values that cannot be read are counted per field, not dropped silently
/// and not logged once per record.
#[tokio::test]
async fn the_source_counts_dropped_values_per_field() {
    use kandji_client::KandjiSource;
    use mdm_mapping::DeviceSource;
    let server = MockServer::start().await;
    let mut listed = devices("d", 0..3);
    for d in &mut listed {
        d["first_enrollment"] = json!("the day before yesterday");
        d["user"] = json!("someone");
    }
    listed[0]["user"] = json!({"id": "u1", "email": "not-an-email"});
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(common::json(listed))
        .expect(1)
        .mount(&server)
        .await;
    let source = KandjiSource::new(client(&server));
    let pages: Vec<_> = source.pages(None).try_collect().await.expect("pages");
    assert_eq!(pages[0].devices.len(), 3);
    let dropped = source.dropped_values();
    assert_eq!(
        dropped.summary(),
        "6 values (kandji.first_enrollment: 3, kandji.user: 2, kandji.user_email: 1)"
    );
    assert_eq!(
        dropped.snapshot()["kandji.first_enrollment"].examples,
        ["the day before yesterday"]
    );
    assert_eq!(dropped.to_json()["kandji.user"], 2);
}
