//! The DeviceSource: computers then mobile devices, cursors, resume,
//! sections, security reads, sites, errors, and the request budget.

use futures::TryStreamExt;
use jamf_client::{SecurityReads, SourceOptions};
use mdm_mapping::{Cursor, DeviceSource, Entity, SourceErrorKind};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{builder, fixture_json, mount_version, query, query_all, requests_to};

/// Pages of `items` by the requested page size.
struct Pages {
    items: Vec<Value>,
}

impl Respond for Pages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let size: usize = query(req, "page-size")
            .and_then(|p| p.parse().ok())
            .unwrap_or(100)
            .min(2000);
        let results: Vec<Value> = self
            .items
            .iter()
            .skip(page * size)
            .take(size)
            .cloned()
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"totalCount": self.items.len(), "results": results}))
    }
}

fn computers() -> Vec<Value> {
    vec![
        fixture_json("computers/intel_mac_v1.json"),
        fixture_json("computers/apple_silicon_v4.json"),
        fixture_json("computers/sparse_v1.json"),
    ]
}

fn mobiles() -> Vec<Value> {
    vec![
        fixture_json("mobile/iphone.json"),
        fixture_json("mobile/apple_tv.json"),
    ]
}

async fn jamf(version: &str) -> MockServer {
    let server = MockServer::start().await;
    mount_version(&server, version).await;
    let v = if version.starts_with("11.3") {
        "v4"
    } else {
        "v1"
    };
    Mock::given(method("GET"))
        .and(path(format!("/api/{v}/computers-inventory")))
        .respond_with(Pages { items: computers() })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/mobile-devices/detail"))
        .respond_with(Pages { items: mobiles() })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "1", "name": "Eau Claire", "divisionId": null}
        ])))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn every_computer_then_every_mobile_device_with_cursors() {
    let server = jamf("11.30.1-t1784555528405").await;
    let client = builder(&server).build().unwrap();
    let source = client.device_source(SourceOptions::default().page_size(2));

    let pages: Vec<_> = source.pages(None).try_collect().await.unwrap();
    let cursors: Vec<Option<String>> = pages
        .iter()
        .map(|p| p.next.as_ref().map(|c| c.as_str().to_string()))
        .collect();
    assert_eq!(
        cursors,
        [
            Some("computers:1".to_string()),
            Some("mobile:0".to_string()),
            None
        ]
    );
    let ids: Vec<(Entity, String)> = pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| (d.entity, d.source_id.clone())))
        .collect();
    assert_eq!(
        ids,
        [
            (Entity::Computer, "95".to_string()),
            (Entity::Computer, "1042".to_string()),
            (Entity::Computer, "54".to_string()),
            (Entity::MobileDevice, "7".to_string()),
            (Entity::MobileDevice, "12".to_string()),
        ]
    );
    // The iPhone's site id 1 is named from /api/v1/sites, read once.
    let iphone = &pages[2].devices[0];
    assert_eq!(iphone.fields.get_str("site"), Some("Eau Claire"));
    assert_eq!(requests_to(&server, "/api/v1/sites").await.len(), 1);

    // Sections and parameters.
    let c = &requests_to(&server, "/api/v4/computers-inventory").await[0];
    assert_eq!(
        query_all(c, "section"),
        [
            "GENERAL",
            "HARDWARE",
            "OPERATING_SYSTEM",
            "USER_AND_LOCATION",
            "PURCHASING",
            "DISK_ENCRYPTION"
        ]
    );
    assert_eq!(query(c, "sort").as_deref(), Some("id:asc"));
    let m = &requests_to(&server, "/api/v2/mobile-devices/detail").await[0];
    assert_eq!(
        query_all(m, "section"),
        [
            "GENERAL",
            "HARDWARE",
            "USER_AND_LOCATION",
            "PURCHASING",
            "NETWORK"
        ]
    );
    assert_eq!(query(m, "exception-handling").as_deref(), Some("LENIENT"));
    assert_eq!(query(m, "sort").as_deref(), Some("mobileDeviceId:asc"));
    // Nothing security-related without opt-in.
    assert!(
        !pages[0].devices[1]
            .fields
            .contains("activation_lock_enabled")
    );
    assert!(!pages[0].devices[1].fields.contains("applecare_id"));
}

#[tokio::test]
async fn a_listing_resumes_from_a_cursor() {
    let server = jamf("10.42.1-t1667311080").await;
    let client = builder(&server).build().unwrap();
    let source = client.device_source(SourceOptions::default());
    let devices: Vec<_> = source
        .devices(Some(Cursor::new("mobile:0")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d.entity == Entity::MobileDevice));
    assert!(
        requests_to(&server, "/api/v1/computers-inventory")
            .await
            .is_empty()
    );

    let e = source
        .fetch_page(Some(&Cursor::new("printers:2")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SourceErrorKind::Config);
    assert!(e.to_string().contains("printers:2"), "{e}");
}

#[tokio::test]
async fn security_reads_add_the_security_section_and_fields() {
    let server = jamf("10.42.1").await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/api/v1/computers-inventory/[^/]+/filevault$",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "httpStatus": 404, "errors": [{"code": "NOT_FOUND", "description": "no FileVault"}]
        })))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let source = client.device_source(
        SourceOptions::default().security(
            SecurityReads::none()
                .with_activation_lock(true)
                .with_applecare_id(true)
                .with_filevault_recovery_key(true),
        ),
    );
    let devices: Vec<_> = source.devices(None).try_collect().await.unwrap();
    let silicon = devices.iter().find(|d| d.source_id == "1042").unwrap();
    assert_eq!(
        silicon
            .fields
            .get("activation_lock_enabled")
            .and_then(|v| v.as_bool()),
        Some(true)
    );
    assert_eq!(
        silicon
            .fields
            .get("recovery_lock_enabled")
            .and_then(|v| v.as_bool()),
        Some(false)
    );
    assert_eq!(silicon.fields.get_str("applecare_id"), Some("AC-99431"));
    // 404 from the FileVault endpoint: no key, no failure.
    assert!(devices.iter().all(|d| d.secrets.is_empty()));
    let c = &requests_to(&server, "/api/v1/computers-inventory").await[0];
    assert!(query_all(c, "section").contains(&"SECURITY".to_string()));
    let m = &requests_to(&server, "/api/v2/mobile-devices/detail").await[0];
    assert!(query_all(m, "section").contains(&"SECURITY".to_string()));
    let iphone = devices.iter().find(|d| d.source_id == "7").unwrap();
    assert_eq!(
        iphone
            .fields
            .get("activation_lock_enabled")
            .and_then(|v| v.as_bool()),
        Some(true)
    );
}

#[tokio::test]
async fn a_missing_privilege_for_an_opted_in_secret_fails_the_page() {
    let server = jamf("10.42.1").await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/api/v1/computers-inventory/[^/]+/view-recovery-lock-password$",
        ))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE", "description": "Forbidden"}]
        })))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let source = client.device_source(
        SourceOptions::default().security(SecurityReads::none().with_recovery_lock_password(true)),
    );
    let e = source.fetch_page(None).await.unwrap_err();
    assert_eq!(e.kind(), SourceErrorKind::Auth);
    assert_eq!(e.cursor().map(|c| c.as_str()), Some("computers:0"));
    assert!(e.to_string().contains("INVALID_PRIVILEGE"), "{e}");
}

#[tokio::test]
async fn a_failing_page_reports_its_cursor() {
    let server = MockServer::start().await;
    mount_version(&server, "10.42.1").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .and(query_param("page", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalCount": 3, "results": [{"id": "1"}, {"id": "2"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(crate::common::fast_retries(1))
        .build()
        .unwrap();
    let source = client.device_source(SourceOptions::default().page_size(2));
    let results: Vec<_> = futures::StreamExt::collect(source.pages(None)).await;
    assert_eq!(results.len(), 2);
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.cursor().map(|c| c.as_str()), Some("computers:1"));
    assert_eq!(e.kind(), SourceErrorKind::Api);
    assert!(e.inner().to_string().contains("HTTP 503"), "{e}");
}

/// 4,000 computers and 1,000 mobile devices at the default page size:
/// two computer requests and one mobile request beyond auth and the version
/// probe — under one request per 1,000 computers.
#[tokio::test]
async fn the_default_page_size_keeps_requests_few() {
    let server = MockServer::start().await;
    mount_version(&server, "11.30.1").await;
    let computers: Vec<Value> = (1..=4000).map(|i| json!({"id": i.to_string()})).collect();
    let mobiles: Vec<Value> = (1..=1000)
        .map(|i| json!({"mobileDeviceId": i.to_string(), "deviceType": "iOS"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v4/computers-inventory"))
        .respond_with(Pages { items: computers })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/mobile-devices/detail"))
        .respond_with(Pages { items: mobiles })
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let source = client.device_source(SourceOptions::default());
    let devices: Vec<_> = source.devices(None).try_collect().await.unwrap();
    assert_eq!(devices.len(), 5000);
    assert_eq!(
        requests_to(&server, "/api/v4/computers-inventory")
            .await
            .len(),
        2
    );
    assert_eq!(
        requests_to(&server, "/api/v2/mobile-devices/detail")
            .await
            .len(),
        1
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

/// A server that silently serves 1000 rows although asked 2000: the source
/// notices on the first page, goes on at 1000 (the cursor says so), and
/// reads every computer once with no extra request.
#[tokio::test]
async fn a_lower_silent_cap_is_followed_through_the_cursor() {
    struct Capped(usize);
    impl Respond for Capped {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(0);
            let size: usize = query(req, "page-size")
                .and_then(|p| p.parse().ok())
                .unwrap_or(100)
                .min(1000);
            let results: Vec<Value> = (page * size..((page + 1) * size).min(self.0))
                .map(|i| json!({"id": (i + 1).to_string()}))
                .collect();
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalCount": self.0, "results": results}))
        }
    }
    let server = MockServer::start().await;
    mount_version(&server, "10.42.1").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(Capped(3000))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let source = client.device_source(SourceOptions::default().mobile_devices(false));
    let pages: Vec<_> = source.pages(None).try_collect().await.unwrap();
    let cursors: Vec<_> = pages
        .iter()
        .map(|p| p.next.as_ref().map(|c| c.as_str().to_string()))
        .collect();
    assert_eq!(
        cursors,
        [
            Some("computers:1:1000".to_string()),
            Some("computers:2:1000".to_string()),
            None
        ]
    );
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| d.source_id.clone()))
        .collect();
    let want: Vec<String> = (1..=3000).map(|i| i.to_string()).collect();
    assert_eq!(ids, want);
    assert_eq!(
        requests_to(&server, "/api/v1/computers-inventory")
            .await
            .len(),
        3
    );
}
