//! Error bodies (Jamf JSON, Classic HTML, plain text), decode errors with
//! their JSON path, redirects, and bad arguments.

use futures::TryStreamExt;
use jamf_client::{ComputerQuery, Error, ErrorBody};
use mdm_mapping::SourceErrorKind;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{builder, client, fixture};

#[tokio::test]
async fn a_classic_html_status_page_keeps_status_reason_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/JSSResource/accounts/userid/3"))
        .respond_with(ResponseTemplate::new(409).set_body_raw(
            fixture("errors/classic_409.html"),
            "text/html;charset=UTF-8",
        ))
        .mount(&server)
        .await;
    let e = client(&server).account("3").await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(409));
    match &e {
        Error::Api(http) => {
            assert_eq!(
                http.body,
                ErrorBody::Html {
                    reason: Some("Error: Duplicate name".into())
                }
            );
            assert!(http.raw.contains("<title>Status page</title>"));
        }
        other => panic!("{other:?}"),
    }
    let shown = e.to_string();
    assert!(
        shown.contains("HTTP 409 Conflict: Error: Duplicate name"),
        "{shown}"
    );
    assert!(shown.contains("/JSSResource/accounts/userid/3"), "{shown}");
}

#[tokio::test]
async fn a_non_json_proxy_error_keeps_its_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let e = builder(&server)
        .retry_policy(crate::common::fast_retries(0))
        .build()
        .unwrap()
        .sites()
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(
        e.body(),
        Some(&ErrorBody::Html {
            reason: Some("502 Bad Gateway".into())
        })
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad things happened"))
        .mount(&server)
        .await;
    let e = client(&server).sites().await.unwrap_err();
    assert_eq!(
        e.body(),
        Some(&ErrorBody::Text("bad things happened".into()))
    );
}

#[tokio::test]
async fn a_jamf_error_body_is_parsed_with_its_null_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("errors/pro_400_invalid_filter.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let e = client(&server)
        .computers(ComputerQuery::new().filter("deviceOwnershipType==x"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match e.body() {
        Some(ErrorBody::Jamf(body)) => {
            assert_eq!(body.http_status, Some(400));
            assert_eq!(body.errors.len(), 1);
            assert_eq!(body.errors[0].code, None);
            assert_eq!(body.errors[0].field, None);
            assert!(
                body.errors[0]
                    .description
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with("Cannot filter by field [deviceOwnershipType]")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.source_kind(), SourceErrorKind::Api);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"httpStatus": 500, "errors": []})),
        )
        .mount(&server)
        .await;
    let e = client(&server)
        .computers_page(&ComputerQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    assert!(e.to_string().contains("no error details"), "{e}");
}

#[tokio::test]
async fn a_malformed_page_names_the_json_path_and_the_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 3,
            "results": [
                {"id": "1", "hardware": {"coreCount": 8}},
                {"id": "2", "hardware": {"coreCount": "eight"}},
                {"id": "3"}
            ]
        })))
        .mount(&server)
        .await;
    let e = client(&server)
        .computers_page(&ComputerQuery::new(), 4)
        .await
        .unwrap_err();
    match &e {
        Error::Decode(d) => {
            assert_eq!(d.path, "results[1].hardware.coreCount");
            assert_eq!(d.context, "computer inventory page 4");
            assert!(d.url.as_str().contains("page=4"), "{}", d.url);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("`results[1].hardware.coreCount`"),
        "{e}"
    );
    assert_eq!(e.source_kind(), SourceErrorKind::Decode);

    // A missing id is an error too, at its item.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 1, "results": [{"udid": "x"}]
        })))
        .mount(&server)
        .await;
    let e = client(&server)
        .computers_page(&ComputerQuery::new(), 0)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("results[0]") && e.to_string().contains("`id`"),
        "{e}"
    );
}

#[tokio::test]
async fn an_html_login_page_with_200_is_a_decode_error_that_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("<html><p>Sign in</p></html>", "text/html"),
        )
        .mount(&server)
        .await;
    let e = client(&server).sites().await.unwrap_err();
    assert!(matches!(e, Error::Decode(_)));
    assert!(e.to_string().contains("HTML page, not JSON"), "{e}");
}

#[tokio::test]
async fn redirects_are_not_followed_and_nothing_reaches_the_other_host() {
    let elsewhere = MockServer::start().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let client = jamf_client::Client::builder(server.uri())
        .client_credentials("id", "secret-value")
        .build()
        .unwrap();
    let e = client.authenticate().await.unwrap_err();
    match &e {
        Error::Redirect(r) => {
            assert_eq!(r.status.as_u16(), 307);
            assert!(
                r.location
                    .as_deref()
                    .unwrap_or_default()
                    .ends_with("/steal")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("redirects are not followed"), "{e}");
    assert_eq!(e.source_kind(), SourceErrorKind::Config);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn empty_ids_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let c = client(&server);
    for e in [
        c.computer(" ", &[]).await.unwrap_err(),
        c.mobile_device("").await.unwrap_err(),
        c.classic_user("").await.unwrap_err(),
    ] {
        assert!(
            matches!(e, Error::InvalidArgument { name: "id", .. }),
            "{e:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
