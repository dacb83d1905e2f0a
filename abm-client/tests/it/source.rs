//! The DeviceSource: normalized records (snapshots), paging through the
//! trait, opt-in reads, and agreement with the field catalog.

use abm_client::model::{AppleCareCoverage, ListDocument, OrgDevice};
use abm_client::source::{FIELD_KEYS, apply_applecare, source_device};
use futures::TryStreamExt;
use mdm_mapping::catalog::{self, ValueType};
use mdm_mapping::{DeviceSource, Entity, SourceDevice, Vendor};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

use crate::common::*;
use crate::paging::mount_pages;

/// JSON snapshots live in the crate's `tests/snapshots/`.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!($name, $value);
        })
    };
}

fn devices(doc: &str) -> Vec<OrgDevice> {
    serde_json::from_str::<ListDocument<OrgDevice>>(doc)
        .expect("fixture decodes")
        .data
}

fn normalized(doc: &str) -> Vec<SourceDevice> {
    devices(doc).iter().map(source_device).collect()
}

#[test]
fn edge_cases_normalize() {
    let records = normalized(EDGE_CASES);
    snapshot!("normalized_edge_cases", records);

    // The odd shapes, spelled out.
    let mac = &records[0];
    assert_eq!(mac.serial_number(), Some("FIXMAC00001"));
    assert_eq!(
        mac.fields.get_str("bluetooth_mac_address"),
        Some("aa:bb:cc:dd:ee:02")
    );
    assert_eq!(mac.fields.get_str("assigned_server_id"), Some("SERVER-A"));
    let phone = &records[1];
    assert_eq!(
        phone.fields.get_str("wifi_mac_address"),
        Some("aa:bb:cc:dd:ee:11"),
        "from a list, skipping junk"
    );
    assert_eq!(
        phone.fields.get_str("purchase_source_id"),
        Some("-2085650007946880"),
        "purchaseSourceUid"
    );
    assert!(!phone.fields.contains("color"), "empty color is no value");
    assert!(
        !phone.fields.contains("ethernet_mac_address"),
        "empty list is no value"
    );
    assert_eq!(
        phone
            .fields
            .get("meid")
            .and_then(|v| v.as_list())
            .map(<[String]>::to_vec),
        Some(vec!["35000000000001".to_string()]),
        "a single string becomes a list"
    );
    let watch = &records[2];
    assert_eq!(
        watch.fields.get_str("product_family"),
        Some("SomeNewFamily")
    );
    assert_eq!(watch.fields.get_str("status"), Some("SOME_NEW_STATUS"));
    assert_eq!(
        watch.fields.get_str("released_from_org_date_time"),
        Some("2026-02-10T09:30:15Z")
    );
    let sparse = &records[3];
    assert_eq!(
        sparse.serial_number(),
        Some("FIXSPARSE01"),
        "serial from the id"
    );
    assert_eq!(sparse.fields.get_str("device_capacity"), Some("256"));
    assert_eq!(
        sparse.fields.get_str("purchase_source_id"),
        Some("998877"),
        "blank id skipped"
    );
    assert!(!sparse.fields.contains("added_to_org_date_time"));
    let bare = &records[4];
    assert_eq!(bare.fields.len(), 1, "{bare:?}");
    for r in &records {
        assert_eq!((r.vendor, r.entity), (Vendor::Abm, Entity::Device));
        assert!(r.assignee.is_none());
    }
}

#[test]
fn list_pages_normalize() {
    let records: Vec<SourceDevice> = [PAGE1, PAGE2, PAGE3]
        .iter()
        .flat_map(|p| normalized(p))
        .collect();
    snapshot!("normalized_list_pages", records);
}

#[test]
fn single_device_normalizes() {
    let doc: abm_client::model::Document<OrgDevice> =
        serde_json::from_str(include_str!("../fixtures/org_device_single.json")).expect("decodes");
    snapshot!("normalized_single_device", source_device(&doc.data));
}

#[test]
fn applecare_fields() {
    let doc: ListDocument<AppleCareCoverage> =
        serde_json::from_str(include_str!("../fixtures/applecare_coverage.json")).expect("decodes");
    let mut d = SourceDevice::new(Vendor::Abm, Entity::Device, "FIXPHONE001");
    apply_applecare(&mut d, &doc.data);
    assert_eq!(d.fields.get_str("applecare_status"), Some("ACTIVE"));
    assert_eq!(
        d.fields.get_str("applecare_end_date"),
        Some("2027-04-17"),
        "latest active end"
    );
    let mut none = SourceDevice::new(Vendor::Abm, Entity::Device, "X");
    apply_applecare(&mut none, &doc.data[..1]);
    assert_eq!(none.fields.get_str("applecare_status"), Some("INACTIVE"));
    assert_eq!(
        none.fields.get_str("applecare_end_date"),
        Some("2026-02-02")
    );
}

/// Every key the source fills is an ABM catalog key, every ABM catalog key
/// is filled by the source, and each value equals what the catalog's own
/// value type makes of the raw JSON at the catalog's path.
#[test]
fn fields_agree_with_the_catalog() {
    let abm: Vec<&str> = catalog::for_vendor(Vendor::Abm).map(|f| f.key).collect();
    let mut ours = FIELD_KEYS.to_vec();
    ours.sort_unstable();
    let mut theirs = abm.clone();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);

    let raw: serde_json::Value = serde_json::from_str(EDGE_CASES).expect("json");
    let single: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/org_device_single.json")).expect("json");
    let mut resources: Vec<serde_json::Value> = raw["data"].as_array().expect("list").clone();
    resources.push(single["data"].clone());
    let mut compared = 0;
    for resource in &resources {
        let device: OrgDevice = serde_json::from_value(resource.clone()).expect("decodes");
        let record = source_device(&device);
        for spec in catalog::for_vendor(Vendor::Abm) {
            if spec.json_path.starts_with("appleCareCoverage") {
                continue;
            }
            // `a | b`: the first alternative with a usable value.
            let expected = spec.json_path.split(" | ").find_map(|p| {
                let v = p.split('.').try_fold(resource, |v, k| v.get(k))?;
                spec.value_type.normalize(v)
            });
            let expected = match (spec.key, expected) {
                ("serial_number", None) => ValueType::Serial.normalize(&resource["id"]),
                (_, e) => e,
            };
            assert_eq!(
                record.fields.get(spec.key),
                expected.as_ref(),
                "{} of {}",
                spec.key,
                device.id
            );
            compared += 1;
        }
    }
    assert!(compared > 100);
}

#[tokio::test]
async fn the_source_pages_through_every_device() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_pages(&server, "1000").await;
    mount_catch_all(&server).await;
    let source: Box<dyn DeviceSource> = Box::new(client(&server).device_source());
    assert_eq!(source.vendor(), Vendor::Abm);
    let pages: Vec<_> = source.pages(None).try_collect().await.expect("pages");
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[0].next.as_ref().map(|c| c.as_str()),
        Some("CURSOR-PAGE-2")
    );
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| d.source_id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            "PAGE1DEV1",
            "PAGE1DEV2",
            "PAGE2DEV1",
            "PAGE2DEV2",
            "PAGE3DEV1",
            "PAGE3DEV2"
        ]
    );
}

#[tokio::test]
async fn the_source_resumes_and_honours_its_page_size() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("limit", "2"))
        .and(query_param("cursor", "CURSOR-PAGE-3"))
        .respond_with(json(PAGE3))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let source = client(&server).device_source().limit(2);
    let devices: Vec<_> = source
        .devices(Some(mdm_mapping::Cursor::new("CURSOR-PAGE-3")))
        .try_collect()
        .await
        .expect("devices");
    assert_eq!(devices.len(), 2);
}

#[tokio::test]
async fn opt_in_reads_fill_assigned_server_and_applecare() {
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
        .and(path("/v1/mdmServers"))
        .respond_with(json(include_str!("../fixtures/mdm_servers.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers/SERVER-A/relationships/devices"))
        .and(query_param_is_missing("cursor"))
        .respond_with(json(include_str!(
            "../fixtures/server_a_devices_page1.json"
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers/SERVER-A/relationships/devices"))
        .and(query_param("cursor", "SERVER-A-CURSOR-2"))
        .respond_with(json(include_str!(
            "../fixtures/server_a_devices_page2.json"
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers/SERVER-B/relationships/devices"))
        .respond_with(json(include_str!("../fixtures/server_b_devices.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/PAGE1DEV1/appleCareCoverage"))
        .respond_with(json(include_str!("../fixtures/applecare_coverage.json")))
        .expect(1)
        .mount(&server)
        .await;
    // No coverage record at all: a 404 is "no coverage", not a failed page.
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/PAGE1DEV2/appleCareCoverage"))
        .respond_with(wiremock::ResponseTemplate::new(404).set_body_raw(
            include_str!("../fixtures/error_404.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let source = client(&server)
        .device_source()
        .with_assigned_servers(true)
        .with_applecare(true);
    let page = source.fetch_page(None).await.expect("page");
    let servers: Vec<Option<&str>> = page
        .devices
        .iter()
        .map(|d| d.fields.get_str("assigned_server_id"))
        .collect();
    assert_eq!(servers, [Some("SERVER-A"), Some("SERVER-B")]);
    let covered = &page.devices[0];
    assert_eq!(covered.fields.get_str("applecare_status"), Some("ACTIVE"));
    assert_eq!(
        covered.fields.get_str("applecare_end_date"),
        Some("2027-04-17")
    );
    let uncovered = &page.devices[1];
    assert!(!uncovered.fields.contains("applecare_status"));
    assert!(!uncovered.fields.contains("applecare_end_date"));
}

/// A date that is not a date is dropped from the record and counted per
/// field, through the pipelined stream and through `fetch_page`.
#[tokio::test]
async fn dates_that_do_not_parse_are_counted_per_field() {
    use mdm_mapping::DeviceSource;
    let server = wiremock::MockServer::start().await;
    mount_token(&server).await;
    let doc = serde_json::json!({
        "data": [
            {"type": "orgDevices", "id": "A1", "attributes": {"serialNumber": "A1",
              "addedToOrgDateTime": "yesterday", "orderDateTime": "2024-01-26T16:15:36Z"}},
            {"type": "orgDevices", "id": "A2", "attributes": {"serialNumber": "A2",
              "addedToOrgDateTime": "31/31/2024", "updatedDateTime": "soon"}}
        ],
        "meta": {"paging": {"limit": 1000}}
    });
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/orgDevices"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(doc))
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let pages: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(source.pages(None))
        .await
        .expect("pages");
    assert_eq!(pages[0].devices.len(), 2);
    assert!(
        !pages[0].devices[0]
            .fields
            .contains("added_to_org_date_time")
    );
    assert_eq!(
        source.dropped_values().summary(),
        "3 values (abm.added_to_org_date_time: 2, abm.updated_date_time: 1)"
    );
    source.fetch_page(None).await.expect("page");
    assert_eq!(source.dropped_values().total(), 6);
}
