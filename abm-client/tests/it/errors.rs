//! JSON:API error documents, non-JSON bodies and decode failures.

use abm_client::{DeviceQuery, Error, RetryPolicy};
use mdm_mapping::SourceErrorKind;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn a_json_api_error_is_kept_typed() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/NOPE0000000"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            include_str!("../fixtures/error_404.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .org_device("NOPE0000000", &[])
        .await
        .expect_err("404");
    assert!(e.is_not_found());
    assert_eq!(e.kind(), SourceErrorKind::Api);
    let Error::Api(resp) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(resp.status, 404);
    assert_eq!(resp.method, "GET");
    assert_eq!(resp.path, "/v1/orgDevices/NOPE0000000");
    assert_eq!(resp.body, None);
    let err = &e.api_errors()[0];
    assert_eq!(err.status.as_deref(), Some("404"));
    assert_eq!(err.code.as_deref(), Some("NOT_FOUND"));
    assert_eq!(
        err.id.as_deref(),
        Some("0b6e5d3c-1111-4222-8333-944455566677")
    );
    assert_eq!(
        e.to_string(),
        "GET /v1/orgDevices/NOPE0000000 returned HTTP 404: NOT_FOUND The specified resource doesn't exist \
         (There is no resource of type 'orgDevices' with id 'NOPE0000000')"
    );
}

#[tokio::test]
async fn a_parameter_error_names_the_parameter() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            include_str!("../fixtures/error_400_parameter.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .org_devices_page(&DeviceQuery::new(), None)
        .await
        .expect_err("400");
    let err = &e.api_errors()[0];
    assert_eq!(err.code.as_deref(), Some("PARAMETER_ERROR.INVALID"));
    assert_eq!(
        err.source.as_ref().and_then(|s| s.parameter.as_deref()),
        Some("fields[orgDevices]")
    );
    assert!(
        e.to_string().ends_with("[parameter fields[orgDevices]]"),
        "{e}"
    );
}

#[tokio::test]
async fn a_non_json_error_body_keeps_status_and_text() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let html = format!(
        "<html><body>502 Bad Gateway{}</body></html>",
        " padding".repeat(200)
    );
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/PROXY"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(html.clone(), "text/html"))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server, TestKey::generate().credentials(BUSINESS_CLIENT_ID))
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("builds");
    let e = client.org_device("PROXY", &[]).await.expect_err("502");
    let Error::Api(resp) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(resp.status, 502);
    assert!(resp.errors.is_empty());
    let body = resp.body.as_deref().expect("raw body kept");
    assert!(body.starts_with("<html><body>502 Bad Gateway"), "{body}");
    assert!(
        body.contains(&format!("[{} bytes in all]", html.len())),
        "shortened: {body}"
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_403_is_an_auth_error_with_a_hint() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/mdmServers"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "errors": [{"status": "403", "code": "FORBIDDEN_ERROR", "title": "This request is forbidden for security reasons", "detail": "allowed: GET_COLLECTION"}]
        })))
        .mount(&server)
        .await;
    let e = client(&server)
        .mdm_servers_page(&abm_client::ServerQuery::new(), None)
        .await
        .expect_err("403");
    assert_eq!(e.kind(), SourceErrorKind::Auth);
    assert!(e.to_string().contains("lacks the permission"), "{e}");
}

#[tokio::test]
async fn a_decode_error_names_the_json_path_and_the_cursor() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(query_param("cursor", "CURSOR-PAGE-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [
                {"type": "orgDevices", "id": "FINE0001"},
                {"type": "orgDevices", "attributes": {"serialNumber": "NOID"}}
            ]
        })))
        .expect(1) // decode errors are not retried
        .mount(&server)
        .await;
    let e = client(&server)
        .org_devices_page(&DeviceQuery::new(), Some("CURSOR-PAGE-2"))
        .await
        .expect_err("decode");
    let Error::Decode { path, cursor, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(path, "data[1]");
    assert_eq!(cursor.as_deref(), Some("CURSOR-PAGE-2"));
    assert_eq!(e.kind(), SourceErrorKind::Decode);
    assert!(
        e.to_string()
            .contains("at `data[1]` (page at cursor CURSOR-PAGE-2): missing field `id`"),
        "{e}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_at_all_is_a_decode_error() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/HTML"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    let e = client(&server)
        .org_device("HTML", &[])
        .await
        .expect_err("decode");
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}
