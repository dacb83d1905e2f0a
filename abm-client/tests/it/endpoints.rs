//! The single-resource and relationship endpoints.

use abm_client::ServerQuery;
use abm_client::model::{
    CoverageStatus, DeviceStatus, LockType, MdmServerField, PaymentType, ProductFamily,
    PurchaseSourceType, ServerStatus, ServerType,
};
use futures::TryStreamExt;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

use crate::common::*;

#[tokio::test]
async fn one_device_with_every_attribute() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .respond_with(json(include_str!("../fixtures/org_device_single.json")))
        .expect(1)
        .mount(&server)
        .await;
    let d = client(&server)
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect("device");
    let a = &d.attributes;
    assert_eq!(a.product_family, Some(ProductFamily::Mac));
    assert_eq!(a.status, Some(DeviceStatus::Unassigned));
    assert_eq!(a.purchase_source_type, Some(PurchaseSourceType::Apple));
    assert_eq!(a.purchase_source(), Some("-2085650007940001"));
    assert_eq!(a.imei.as_ref().map(Vec::len), Some(2));
    assert!(a.released_from_org_date_time.is_some());
    assert_eq!(a.color.as_deref(), Some(""));
}

#[tokio::test]
async fn ids_are_one_path_segment() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/..%2Fv1%2FmdmServers"))
        .respond_with(json(include_str!("../fixtures/org_device_single.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    client(&server)
        .org_device("../v1/mdmServers", &[])
        .await
        .expect("encoded");
    assert!(matches!(
        client(&server).org_device("  ", &[]).await,
        Err(abm_client::Error::Config(abm_client::ConfigError::BlankId(
            "device id"
        )))
    ));
}

#[tokio::test]
async fn assigned_server_id_and_server() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/orgDevices/XFIX123X0FIX123/relationships/assignedServer",
        ))
        .respond_with(json(include_str!(
            "../fixtures/assigned_server_relationship.json"
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIXNONE/relationships/assignedServer"))
        .respond_with(json(include_str!("../fixtures/assigned_server_none.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123/assignedServer"))
        .and(query_param("fields[mdmServers]", "serverName,serverType"))
        .respond_with(json(include_str!("../fixtures/assigned_server.json")))
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = client(&server);
    assert_eq!(
        client
            .assigned_server_id("XFIX123X0FIX123")
            .await
            .expect("rel")
            .as_deref(),
        Some("SERVER-A")
    );
    assert_eq!(
        client.assigned_server_id("XFIXNONE").await.expect("rel"),
        None
    );
    let s = client
        .assigned_server(
            "XFIX123X0FIX123",
            &[MdmServerField::ServerName, MdmServerField::ServerType],
        )
        .await
        .expect("server")
        .expect("assigned");
    assert_eq!(s.id, "SERVER-A");
    assert_eq!(
        s.attributes.server_type,
        Some(ServerType::AppleConfigurator)
    );
}

#[tokio::test]
async fn mdm_servers_one_server_and_its_devices() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers"))
        .and(query_param("limit", "1000"))
        .respond_with(json(include_str!("../fixtures/mdm_servers.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers/SERVER-A"))
        .respond_with(json(include_str!("../fixtures/mdm_server_single.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers/SERVER-A/relationships/devices"))
        .and(query_param("limit", "1000"))
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
    mount_catch_all(&server).await;
    let client = client(&server);

    let servers: Vec<_> = client
        .mdm_servers(ServerQuery::new(), None)
        .try_collect()
        .await
        .expect("servers");
    let all: Vec<_> = servers.into_iter().flat_map(|p| p.data).collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].attributes.server_type, Some(ServerType::Mdm));
    assert_eq!(
        all[1].attributes.server_type,
        Some(ServerType::Other("SOME_FUTURE_SERVER_TYPE".into()))
    );
    assert_eq!(all[1].attributes.device_count, Some(3), "a numeric string");

    let one = client.mdm_server("SERVER-A", &[]).await.expect("server");
    assert_eq!(one.attributes.status, Some(ServerStatus::Active));
    assert_eq!(one.attributes.device_count, Some(128));
    assert_eq!(one.attributes.last_connected_ip, None);

    // The page-1 links point at the typo host api-business.apple; only the
    // cursor is used.
    let ids: Vec<String> = client
        .mdm_server_device_ids("SERVER-A", 1000, None)
        .map_ok(|p| p.data.into_iter().map(|r| r.id).collect::<Vec<_>>())
        .try_concat()
        .await
        .expect("ids");
    assert_eq!(ids, ["PAGE1DEV1", "PAGE2DEV2", "PAGE3DEV1"]);
}

#[tokio::test]
async fn applecare_and_activation_lock() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/FIXPHONE001/appleCareCoverage"))
        .respond_with(json(include_str!("../fixtures/applecare_coverage.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123/activationLockStatus"))
        .respond_with(json(include_str!("../fixtures/activation_lock.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = client(&server);
    let cov = client
        .apple_care_coverage("FIXPHONE001")
        .await
        .expect("coverage");
    assert_eq!(cov.len(), 3);
    assert_eq!(cov[1].attributes.status, Some(CoverageStatus::Active));
    assert_eq!(
        cov[2].attributes.payment_type,
        Some(PaymentType::AbeSubscription)
    );
    assert_eq!(cov[2].attributes.end_date_time, None);
    let lock = client
        .activation_lock_status("XFIX123X0FIX123")
        .await
        .expect("lock");
    assert_eq!(lock.attributes.is_locked, Some(true));
    assert_eq!(lock.attributes.lock_type, Some(LockType::Mdm));
}
