//! The DeviceSource: normalized records (snapshots), the "User Active" and
//! details opt-ins, cursors and the request budget.

use futures::TryStreamExt;
use kandji_client::{DeviceQuery, KandjiSource, keys};
use mdm_mapping::{Cursor, DevicePage, DeviceSource, SourceDevice, SourceErrorKind};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, catch_all, client, devices, fixture};

const MAC: &str = "5f0e8c2a-3b71-4d8e-9a64-1c2b3d4e5f60";
const IPHONE: &str = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9";
const TV: &str = "f25a87de-61e8-4ab2-9032-02f6678914a1";
const WINDOWS: &str = "3de7b283-1a44-47ef-bde1-2f556a8a32f7";
const LEGACY: &str = "d7532562-0fbd-47f5-9609-e41759bf01ef";

fn fleet() -> Vec<Value> {
    [
        "device_mac.json",
        "device_iphone_no_user.json",
        "device_appletv.json",
        "device_windows.json",
        "device_legacy_integer_user.json",
    ]
    .into_iter()
    .map(fixture)
    .collect()
}

/// The two users pages, asked for 300 at a time; page 1's `next` names the
/// console host, so page 2 only answers if its cursor is re-issued here.
async fn mount_users(server: &MockServer, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "300"))
        .and(query_param_is_missing("cursor"))
        .respond_with(common::json(fixture("users_page1.json")))
        .expect(times)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "300"))
        .and(query_param("cursor", "cD0yOTE0Mw=="))
        .respond_with(common::json(fixture("users_page2.json")))
        .expect(times)
        .mount(server)
        .await;
}

async fn mount_fleet(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("limit", "300"))
        .and(query_param("offset", "0"))
        .and(query_param("ordering", "device_id"))
        .respond_with(common::json(fleet()))
        .expect(1)
        .mount(server)
        .await;
}

async fn collect(source: &dyn DeviceSource) -> Vec<SourceDevice> {
    source.devices(None).try_collect().await.expect("devices")
}

fn by_id<'a>(records: &'a [SourceDevice], id: &str) -> &'a SourceDevice {
    records
        .iter()
        .find(|r| r.source_id == id)
        .unwrap_or_else(|| panic!("no record {id}"))
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!($name, $value);
        });
    };
}

#[tokio::test]
async fn normalized_records_of_every_platform() {
    let server = MockServer::start().await;
    mount_fleet(&server).await;
    mount_users(&server, 1).await;
    catch_all(&server).await;

    let source = client(&server).device_source().with_user_active(true);
    let records = collect(&source).await;
    assert_eq!(records.len(), 5);

    snapshot!("kandji_mac", by_id(&records, MAC));
    snapshot!("kandji_iphone_no_user", by_id(&records, IPHONE));
    snapshot!("kandji_appletv", by_id(&records, TV));
    snapshot!("kandji_windows", by_id(&records, WINDOWS));

    // The legacy integer user id joins the user's deprecated_user_id.
    let legacy = by_id(&records, LEGACY);
    assert_eq!(legacy.fields.get_str(keys::USER_ID), Some("1"));
    assert_eq!(
        legacy.field(keys::USER_ACTIVE).and_then(|v| v.as_bool()),
        Some(true)
    );
    assert_eq!(
        legacy.assignee.as_ref().and_then(|a| a.id.as_deref()),
        Some("1")
    );
    // No details requested: no details-only key.
    for r in &records {
        for k in keys::DETAILS {
            assert!(
                !r.fields.contains(k),
                "{k} without details on {}",
                r.source_id
            );
        }
        for (k, _) in r.fields.iter() {
            assert!(keys::LIST.contains(&k), "unexpected key {k}");
        }
    }
}

#[tokio::test]
async fn details_opt_in_fills_the_extra_rows() {
    let server = MockServer::start().await;
    mount_fleet(&server).await;
    mount_users(&server, 1).await;
    for (id, body) in [
        (MAC, Some("details_mac.json")),
        (TV, Some("details_appletv.json")),
        (WINDOWS, Some("details_windows.json")),
        (IPHONE, None), // deleted between the list and the details
        (LEGACY, None),
    ] {
        let template = match body {
            Some(f) => common::json(fixture(f)),
            None => ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})),
        };
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/devices/{id}/details")))
            .respond_with(template)
            .expect(1)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;

    let source = KandjiSource::new(client(&server))
        .with_details(true)
        .with_user_active(true);
    let records = collect(&source).await;
    let mac = by_id(&records, MAC);
    snapshot!("kandji_mac_with_details", mac);
    assert_eq!(
        mac.fields.get_str(keys::MAC_ADDRESS),
        Some("fc:e2:6c:27:1b:e4")
    );

    let tv = by_id(&records, TV);
    assert_eq!(
        tv.fields.get_str(keys::UDID),
        Some("6c8f9096198b54a03b17aa930204850091e616f8")
    );
    assert_eq!(
        tv.fields.get_str(keys::MODEL_IDENTIFIER),
        Some("AppleTV11,1")
    );
    assert!(
        !tv.fields.contains(keys::SUPERVISED),
        "Apple TV has no supervised key"
    );
    assert!(
        !tv.fields.contains(keys::FILEVAULT_ENABLED),
        "null is no value"
    );

    // Every key is a Kandji catalog key and its value already has the catalog's normal form.
    for r in &records {
        for (key, value) in r.fields.iter() {
            let spec = mdm_mapping::catalog::field(mdm_mapping::Vendor::Kandji, key)
                .unwrap_or_else(|| panic!("{key} is not in the Kandji catalog"));
            assert_eq!(
                spec.value_type.normalize(&value.to_json()).as_ref(),
                Some(value),
                "{key} of {}",
                r.source_id
            );
        }
    }

    let iphone = by_id(&records, IPHONE);
    assert_eq!(
        iphone.serial_number(),
        Some("FCLD57YLN70G"),
        "list fields kept after a details 404"
    );
    assert!(!iphone.fields.contains(keys::UDID));
}

#[tokio::test]
async fn users_are_read_once_per_sync_across_pages() {
    let server = MockServer::start().await;
    let mut all = devices("p", 0..3);
    for d in &mut all {
        d["user"] =
            json!({"id": "7c1d2e3f-4a5b-4c6d-8e7f-901234567890", "email": "ana.diaz@example.com"});
    }
    for (offset, slice) in [(0, &all[0..2]), (2, &all[2..3])] {
        Mock::given(method("GET"))
            .and(path("/api/v1/devices"))
            .and(query_param("offset", offset.to_string()))
            .respond_with(common::json(slice))
            .expect(2)
            .mount(&server)
            .await;
    }
    mount_users(&server, 2).await; // two syncs, two reads
    catch_all(&server).await;

    let source = KandjiSource::new(client(&server))
        .with_user_active(true)
        .with_query(DeviceQuery::new().page_size(2));
    for _ in 0..2 {
        let records = collect(&source).await;
        assert_eq!(records.len(), 3);
        assert!(
            records
                .iter()
                .all(|r| r.field(keys::USER_ACTIVE).and_then(|v| v.as_bool()) == Some(true))
        );
    }
}

#[tokio::test]
async fn user_active_is_off_by_default() {
    type Build = fn(kandji_client::KandjiClient) -> KandjiSource;
    let sources: [(&str, Build); 4] = [
        ("device_source()", |c| c.device_source()),
        ("KandjiSource::new", KandjiSource::new),
        ("with_user_active(false)", |c| {
            KandjiSource::new(c).with_user_active(false)
        }),
        ("opt in then out", |c| {
            c.device_source()
                .with_user_active(true)
                .with_user_active(false)
        }),
    ];
    for (name, build) in sources {
        let server = MockServer::start().await;
        mount_fleet(&server).await;
        // Answers, but must never be asked.
        Mock::given(method("GET"))
            .and(path("/api/v1/users"))
            .respond_with(common::json(fixture("users_page2.json")))
            .expect(0)
            .named("users (not requested by default)")
            .mount(&server)
            .await;
        catch_all(&server).await;
        let source = build(client(&server));
        let records = collect(&source).await;
        assert_eq!(records.len(), 5, "{name}");
        assert!(
            records
                .iter()
                .all(|r| !r.fields.contains(keys::USER_ACTIVE)),
            "{name}"
        );
        let mac = by_id(&records, MAC);
        assert_eq!(
            mac.fields.get_str(keys::USER_EMAIL),
            Some("ana.diaz@example.com"),
            "{name}: list user fields are kept"
        );
        assert_eq!(mac.assignee.as_ref().and_then(|a| a.active), None, "{name}");
        assert_eq!(source.client().requests_sent(), 1, "{name}");
        server.verify().await;
    }
}

#[tokio::test]
async fn a_token_without_the_users_permission_only_loses_user_active() {
    for status in [401u16, 403, 404] {
        let server = MockServer::start().await;
        mount_fleet(&server).await;
        Mock::given(method("GET"))
            .and(path("/api/v1/users"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let source = client(&server).device_source().with_user_active(true);
        let records = collect(&source).await;
        assert_eq!(records.len(), 5, "{status}");
        assert!(
            records
                .iter()
                .all(|r| !r.fields.contains(keys::USER_ACTIVE))
        );
    }
}

#[tokio::test]
async fn other_users_failures_fail_the_page() {
    let server = MockServer::start().await;
    mount_fleet(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .device_source()
        .with_user_active(true)
        .fetch_page(None)
        .await
        .expect_err("users 500");
    assert_eq!(e.kind(), SourceErrorKind::Api);
    assert!(e.to_string().contains("GET /api/v1/users"), "{e}");
}

/// 1,000 devices, each assigned one of 600 users (the 0.6 users per device
/// of the benchmark fleet), in device pages of 300.
async fn mount_thousand_assigned_devices(server: &MockServer) {
    for (offset, range) in [
        (0, 0..300),
        (300, 300..600),
        (600, 600..900),
        (900, 900..1000),
    ] {
        let mut page = devices("b", range);
        for d in &mut page {
            let i = d["serial_number"]
                .as_str()
                .and_then(|s| s.strip_prefix("SNb"))
                .and_then(|n| n.parse::<usize>().ok())
                .expect("index");
            d["user"] =
                json!({"id": user_id(i % 600), "email": format!("u{}@example.com", i % 600)});
        }
        Mock::given(method("GET"))
            .and(path("/api/v1/devices"))
            .and(query_param("limit", "300"))
            .and(query_param("offset", offset.to_string()))
            .respond_with(common::json(page))
            .expect(1)
            .mount(server)
            .await;
    }
}

fn user_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

async fn thousand_devices_requests(source: &KandjiSource) -> (Vec<SourceDevice>, u64) {
    let pages: Vec<DevicePage> = source.pages(None).try_collect().await.expect("pages");
    assert_eq!(
        pages.iter().map(|p| p.next.clone()).collect::<Vec<_>>(),
        [
            Some(Cursor::new("300")),
            Some(Cursor::new("600")),
            Some(Cursor::new("900")),
            None
        ]
    );
    let records: Vec<SourceDevice> = pages.into_iter().flat_map(|p| p.devices).collect();
    assert_eq!(records.len(), 1000);
    (records, source.client().requests_sent())
}

#[tokio::test]
async fn at_most_four_requests_per_thousand_devices_by_default() {
    let server = MockServer::start().await;
    mount_thousand_assigned_devices(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(common::json(
            json!({"next": null, "previous": null, "results": []}),
        ))
        .expect(0)
        .named("users (not requested by default)")
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (records, requests) = thousand_devices_requests(&client(&server).device_source()).await;
    assert!(records.iter().all(|r| r.assignee.is_some()));
    // 4 device pages for 1,000 devices, nothing else (target: at most 4).
    assert_eq!(requests, 4, "{requests} requests for 1,000 devices");
}

#[tokio::test]
async fn the_user_active_join_reads_users_300_at_a_time_on_the_base_url() {
    let server = MockServer::start().await;
    mount_thousand_assigned_devices(&server).await;
    let user = |i: usize| json!({"id": user_id(i), "email": format!("u{i}@example.com"), "active": i.is_multiple_of(2), "archived": false});
    // 600 users: two full pages of 300. The `next` link names the console
    // host (Kandji's quirk) and repeats `limit`; only its cursor is used.
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "300"))
        .and(query_param_is_missing("cursor"))
        .respond_with(common::json(json!({
            "next": "https://accuhive.kandji.io/api/v1/users?limit=300&cursor=cD0zMDA%3D",
            "previous": null,
            "results": (0..300).map(user).collect::<Vec<_>>(),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "300"))
        .and(query_param("cursor", "cD0zMDA="))
        .respond_with(common::json(json!({
            "next": null,
            "previous": "https://accuhive.kandji.io/api/v1/users?limit=300",
            "results": (300..600).map(user).collect::<Vec<_>>(),
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let source = client(&server).device_source().with_user_active(true);
    let (records, requests) = thousand_devices_requests(&source).await;
    for r in &records {
        let i = r
            .fields
            .get_str(keys::USER_ID)
            .and_then(|id| id.rsplit('-').next())
            .and_then(|n| n.parse::<usize>().ok())
            .expect("user id");
        assert_eq!(
            r.field(keys::USER_ACTIVE).and_then(|v| v.as_bool()),
            Some(i.is_multiple_of(2)),
            "{}",
            r.source_id
        );
    }
    // 4 device pages + 2 users pages (600 users / 300): 6 per 1,000 devices
    // here; the users pages do not grow with the devices.
    assert_eq!(requests, 6);
}

#[tokio::test]
async fn a_sync_resumes_from_a_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("offset", "300"))
        .respond_with(common::json(devices("z", 0..1)))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let source = client(&server).device_source();
    let pages: Vec<DevicePage> = source
        .pages(Some(Cursor::new("300")))
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].devices[0].source_id, "z-0000");

    let e = source
        .fetch_page(Some(&Cursor::new("not-an-offset")))
        .await
        .expect_err("bad cursor");
    assert_eq!(e.kind(), SourceErrorKind::Config);
    assert_eq!(e.cursor(), Some(&Cursor::new("not-an-offset")));
}

#[tokio::test]
async fn a_failing_page_reports_its_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("offset", "0"))
        .respond_with(common::json(devices("f", 0..300)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(query_param("offset", "300"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let results: Vec<_> = futures::StreamExt::collect::<Vec<_>>(source.pages(None)).await;
    assert_eq!(results.len(), 2);
    let e = results[1].as_ref().expect_err("503");
    assert_eq!(e.cursor(), Some(&Cursor::new("300")));
    assert_eq!(e.kind(), SourceErrorKind::Api);
}
