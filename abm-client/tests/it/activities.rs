//! orgDeviceActivities: the documented body, and no automatic retry of a
//! POST except after a 429.

use abm_client::model::{
    ActivityStatus, ActivitySubStatus, ActivityType, OrgDeviceActivityRequest,
};
use abm_client::{ConfigError, Error};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const CREATED: &str = include_str!("../fixtures/activity_created.json");

fn created() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_raw(CREATED, "application/json")
}

#[tokio::test]
async fn assign_posts_the_documented_body() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(body_json(serde_json::json!({
            "data": {
                "type": "orgDeviceActivities",
                "attributes": {"activityType": "ASSIGN_DEVICES"},
                "relationships": {
                    "mdmServer": {"data": {"type": "mdmServers", "id": "SERVER-A"}},
                    "devices": {"data": [
                        {"type": "orgDevices", "id": "PAGE1DEV1"},
                        {"type": "orgDevices", "id": "PAGE1DEV2"}
                    ]}
                }
            }
        })))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let activity = client(&server)
        .assign_devices("SERVER-A", ["PAGE1DEV1", "PAGE1DEV2"])
        .await
        .expect("created");
    assert_eq!(activity.id, "5c1e8f0a-7d44-4b1b-9b0e-0a1b2c3d4e5f");
    assert_eq!(activity.attributes.status, Some(ActivityStatus::InProgress));
    assert_eq!(
        activity.attributes.sub_status,
        Some(ActivitySubStatus::Submitted)
    );
}

#[tokio::test]
async fn unassign_and_release_bodies() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .and(body_json(serde_json::json!({"data": {
        "type": "orgDeviceActivities",
        "attributes": {"activityType": "UNASSIGN_DEVICES"},
        "relationships": {
            "mdmServer": {"data": {"type": "mdmServers", "id": "SERVER-A"}},
            "devices": {"data": [{"type": "orgDevices", "id": "D1"}]}
        }}})))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .and(body_json(serde_json::json!({"data": {
            "type": "orgDeviceActivities",
            "attributes": {"activityType": "RELEASE_DEVICES"},
            "relationships": {"devices": {"data": [{"type": "orgDevices", "id": "D2"}]}}}})))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = client(&server);
    client
        .unassign_devices("SERVER-A", ["D1"])
        .await
        .expect("unassign");
    client.release_devices(["D2"]).await.expect("release");
}

#[tokio::test]
async fn a_post_is_not_retried_on_500() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .assign_devices("SERVER-A", ["D1"])
        .await
        .expect_err("500");
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn a_post_is_not_retried_on_503_or_a_reset() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .and(body_json(serde_json::json!({"data": {
            "type": "orgDeviceActivities",
            "attributes": {"activityType": "RELEASE_DEVICES"},
            "relationships": {"devices": {"data": [{"type": "orgDevices", "id": "BUSY"}]}}}})))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .respond_with_err(|_: &wiremock::Request| {
            std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset")
        })
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let e = client.release_devices(["BUSY"]).await.expect_err("503");
    assert_eq!(e.status(), Some(503));
    let e = client.release_devices(["RESET"]).await.expect_err("reset");
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
}

#[tokio::test]
async fn a_post_is_retried_after_a_429() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/orgDeviceActivities"))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .assign_devices("SERVER-A", ["D1"])
        .await
        .expect("created after the 429");
}

#[tokio::test]
async fn an_invalid_activity_is_refused_before_sending() {
    let server = MockServer::start().await;
    mount_catch_all(&server).await;
    let client = client(&server);
    let none: [&str; 0] = [];
    let e = client
        .assign_devices("SERVER-A", none)
        .await
        .expect_err("no devices");
    assert!(
        matches!(e, Error::Config(ConfigError::InvalidActivity(_))),
        "{e:?}"
    );
    let req = OrgDeviceActivityRequest::new(ActivityType::AssignDevices, None, ["D1"]);
    assert!(client.create_org_device_activity(&req).await.is_err());
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn reads_an_activity() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/orgDeviceActivities/5c1e8f0a-7d44-4b1b-9b0e-0a1b2c3d4e5f",
        ))
        .respond_with(json(include_str!("../fixtures/activity_completed.json")))
        .expect(1)
        .mount(&server)
        .await;
    let a = client(&server)
        .org_device_activity("5c1e8f0a-7d44-4b1b-9b0e-0a1b2c3d4e5f")
        .await
        .expect("activity");
    assert_eq!(a.attributes.status, Some(ActivityStatus::Completed));
    assert_eq!(
        a.attributes.sub_status,
        Some(ActivitySubStatus::CompletedWithError)
    );
    assert!(a.attributes.completed_date_time.is_some());
    assert!(
        a.attributes
            .download_url
            .as_deref()
            .is_some_and(|u| u.contains("activity-log.csv"))
    );
}
