//! Error bodies in every shape seen, auth messages, decode errors.

use std::collections::BTreeMap;

use kandji_client::{DeviceQuery, Endpoint, Error, ErrorBody};
use mdm_mapping::{DeviceSource, SourceErrorKind};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{catch_all, client, devices};

const ID: &str = "5f0e8c2a-3b71-4d8e-9a64-1c2b3d4e5f60";

async fn error_for(template: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/devices/{ID}")))
        .respond_with(template)
        .expect(1) // none of these is retried
        .mount(&server)
        .await;
    catch_all(&server).await;
    client(&server).device(ID).await.expect_err("error status")
}

#[tokio::test]
async fn every_error_body_shape_is_parsed_and_kept() {
    let cases: Vec<(u16, &str, &str, ErrorBody, &str)> = vec![
        (
            404,
            "application/json",
            r#"{"detail": "Not found."}"#,
            ErrorBody::Detail("Not found.".into()),
            "HTTP 404: Not found.",
        ),
        (
            400,
            "application/json",
            r#"{"dep_account": ["Enter a valid UUID."]}"#,
            ErrorBody::Fields(BTreeMap::from([(
                "dep_account".to_string(),
                vec!["Enter a valid UUID.".to_string()],
            )])),
            "dep_account: Enter a valid UUID.",
        ),
        (
            400,
            "application/json",
            r#""This device is already locked.""#,
            ErrorBody::String("This device is already locked.".into()),
            "This device is already locked.",
        ),
        (
            400,
            "application/json",
            r#"["Device is not in lost mode."]"#,
            ErrorBody::List(vec!["Device is not in lost mode.".into()]),
            "Device is not in lost mode.",
        ),
        (
            404,
            "text/html",
            "<!doctype html><html lang=\"en\"><head><title>Not Found</title></head><body><h1>Not Found</h1><p>The requested resource was not found on this server.</p></body></html>",
            ErrorBody::Html {
                title: Some("Not Found".into()),
            },
            "HTML page \"Not Found\"",
        ),
        (
            500,
            "text/plain",
            "",
            ErrorBody::Empty,
            "failed with HTTP 500",
        ),
    ];
    for (status, mime, body, want, shown) in cases {
        let e =
            error_for(ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), mime))
                .await;
        assert_eq!(e.status(), Some(status), "{body}");
        assert_eq!(e.body(), Some(&want), "{body}");
        assert_eq!(e.raw_body(), Some(body), "raw body kept");
        assert_eq!(e.endpoint(), Some(Endpoint::GetDevice));
        let msg = e.to_string();
        assert!(msg.contains("GET /api/v1/devices/{device_id}"), "{msg}");
        assert!(msg.contains(shown), "{msg}");
        assert!(matches!(e, Error::Api { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn forbidden_names_the_missing_permission() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({"detail": "You do not have permission to perform this action."}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("403");
    assert!(e.is_auth());
    let msg = e.to_string();
    assert!(
        msg.contains("token lacks the 'Device list' permission (GET /api/v1/devices)"),
        "{msg}"
    );
    assert!(
        msg.ends_with("You do not have permission to perform this action."),
        "{msg}"
    );
    assert_eq!(e.kind(), SourceErrorKind::Auth);
}

#[tokio::test]
async fn unauthorized_says_bad_token_or_missing_permission() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/devices/{ID}/details")))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let e = client(&server).device_details(ID).await.expect_err("401");
    let msg = e.to_string();
    assert!(msg.contains("HTTP 401"), "{msg}");
    assert!(msg.contains("wrong, revoked or expired"), "{msg}");
    assert!(
        msg.contains(
            "token lacks the 'Device details' permission (GET /api/v1/devices/{device_id}/details)"
        ),
        "{msg}"
    );
    assert!(matches!(e, Error::Auth { status: 401, .. }));
}

#[tokio::test]
async fn auth_errors_reach_the_device_source_as_auth() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let source = client(&server).device_source();
    let e = source.fetch_page(None).await.expect_err("403");
    assert_eq!(e.kind(), SourceErrorKind::Auth);
    assert!(e.to_string().contains("'Device list'"), "{e}");
    let inner = e
        .inner()
        .downcast_ref::<Error>()
        .expect("typed inner error");
    assert_eq!(inner.status(), Some(403));
}

#[tokio::test]
async fn decode_errors_name_the_json_path_and_the_offset() {
    let server = MockServer::start().await;
    let mut bad = devices("x", 0..3);
    bad[1]["tags"] = json!({"not": "a list"});
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bad))
        .mount(&server)
        .await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 600)
        .await
        .expect_err("bad tags");
    let msg = e.to_string();
    assert!(msg.contains("at JSON path `[1].tags`"), "{msg}");
    assert!(msg.contains("(offset 600)"), "{msg}");
    match e {
        Error::Decode { path, page, .. } => {
            assert_eq!(path, "[1].tags");
            assert_eq!(page.as_deref(), Some("offset 600"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_missing_device_id_is_a_decode_error_at_its_path() {
    let server = MockServer::start().await;
    let mut bad = devices("x", 0..2);
    bad[1].as_object_mut().expect("object").remove("device_id");
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bad))
        .mount(&server)
        .await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("no id");
    let msg = e.to_string();
    assert!(msg.contains("`[1]`") && msg.contains("device_id"), "{msg}");
    assert_eq!(e.kind(), SourceErrorKind::Decode);
}

#[tokio::test]
async fn an_html_200_points_at_the_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            b"<!doctype html><html><body>Sign in</body></html>".to_vec(),
            "text/html",
        ))
        .mount(&server)
        .await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("html");
    assert!(e.to_string().contains("SUBDOMAIN.api.kandji.io"), "{e}");
}

#[tokio::test]
async fn a_404_on_the_listing_hints_at_subdomain_or_region() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let e = client(&server)
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("404");
    assert!(e.to_string().contains("wrong subdomain or region"), "{e}");
}
