//! The first failures a user meets, and what each message says to do next:
//! wrong credentials, a missing privilege (named), an expired ABM key, a
//! Kandji token for the wrong region, a TLS failure, a server that is down.
//! Each goes through the client's `DeviceSource`, as `mdm` prints it.
#![allow(clippy::unwrap_used)]

use futures::StreamExt;
use mdm_examples::simulator::SimCredentials;
use mdm_mapping::net::RetryPolicy;
use mdm_mapping::{DeviceSource, SourceError};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The first error of `source`'s listing, as `mdm` would print it.
async fn first_error(source: &dyn DeviceSource) -> String {
    let mut pages = source.pages(None);
    while let Some(page) = pages.next().await {
        if let Err(e) = page {
            return message(&e);
        }
    }
    panic!("the listing did not fail");
}

fn message(e: &SourceError) -> String {
    let m = e.to_string();
    assert!(e.hint().is_some(), "no hint: {m}");
    m
}

fn jamf(url: String, user: bool) -> jamf_client::JamfDeviceSource {
    let b = jamf_client::Client::builder(url);
    let b = if user {
        b.user_password("reader", "wrong")
    } else {
        b.client_credentials("client", "wrong-secret")
    };
    b.retry_policy(RetryPolicy::none())
        .inventory_version(jamf_client::InventoryVersion::V1)
        .build()
        .unwrap()
        .device_source(jamf_client::SourceOptions::default())
}

fn kandji(url: String) -> kandji_client::KandjiSource {
    kandji_client::KandjiClient::builder()
        .base_url(url)
        .token("00000000-0000-0000-0000-000000000000")
        .rate_limits(kandji_client::RateLimits::unlimited())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
        .device_source()
}

fn abm(url: &str) -> abm_client::AbmSource {
    let c = SimCredentials::generate();
    let key = abm_client::PrivateKey::from_pem(c.abm_private_key_pem.expose_secret()).unwrap();
    abm_client::AbmClient::builder(abm_client::Credentials::new(
        c.abm_client_id,
        c.abm_key_id,
        key,
    ))
    .base_url(url)
    .token_url(format!("{url}/token"))
    .rate_limit(None)
    .retry_policy(RetryPolicy::none())
    .build()
    .unwrap()
    .device_source()
}

#[tokio::test]
async fn wrong_jamf_credentials_say_which_settings_to_check() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "invalid_client", "error_description": "bad"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"httpStatus": 401, "errors": [{"code": "INVALID_CREDENTIALS"}]}),
            ),
        )
        .mount(&server)
        .await;
    let m = first_error(&jamf(server.uri(), false)).await;
    assert!(m.starts_with("jamf: authentication failed:"), "{m}");
    assert!(
        m.contains("check JAMF_CLIENT_ID and JAMF_CLIENT_SECRET: in Jamf Pro (Settings > API roles and clients)"),
        "{m}"
    );
    assert!(!m.contains("wrong-secret"), "{m}");
    let m = first_error(&jamf(server.uri(), true)).await;
    assert!(m.contains("check JAMF_USERNAME and JAMF_PASSWORD"), "{m}");
}

#[tokio::test]
async fn a_missing_jamf_privilege_is_named() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "expires_in": 600})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({"httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE"}]}),
            ),
        )
        .mount(&server)
        .await;
    let m = first_error(&jamf(server.uri(), false)).await;
    assert!(
        m.contains(
            "the API role or account lacks the \"Read Computers\" privilege: add it in Jamf Pro"
        ),
        "{m}"
    );
}

#[tokio::test]
async fn a_missing_kandji_permission_is_named() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"detail": "no"})))
        .mount(&server)
        .await;
    let source = kandji(server.uri());
    let mut pages = source.pages(None);
    let e = pages.next().await.unwrap().unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("the token lacks the 'Device list' permission"),
        "{m}"
    );
    assert!(
        m.contains("grant it in Kandji under Access > API tokens"),
        "{m}"
    );
}

#[tokio::test]
async fn an_expired_abm_key_says_to_make_a_new_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let m = first_error(&abm(&server.uri())).await;
    assert!(m.starts_with("abm: authentication failed:"), "{m}");
    assert!(
        m.contains("the API key may have expired or been revoked"),
        "{m}"
    );
    assert!(
        m.contains("Preferences > API, check the key's expiry date, create a new key"),
        "{m}"
    );
}

#[tokio::test]
async fn a_kandji_token_for_another_region_points_at_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token."})))
        .mount(&server)
        .await;
    let m = first_error(&kandji(server.uri())).await;
    assert!(
        m.contains("Kandji rejected the API token (HTTP 401)"),
        "{m}"
    );
    assert!(
        m.contains("works only on its own tenant and region: check that KANDJI_URL"),
        "{m}"
    );
    assert!(m.contains("SUBDOMAIN.api.eu.kandji.io in the EU"), "{m}");
}

/// An `https://` URL whose port speaks plain HTTP: the TLS handshake fails.
#[tokio::test]
async fn a_tls_failure_says_what_to_check() {
    let server = MockServer::start().await;
    let https = server.uri().replace("http://", "https://");
    let m = first_error(&jamf(https.clone(), false)).await;
    assert!(
        m.contains("the TLS connection failed: check that JAMF_URL"),
        "{m}"
    );
    assert!(m.contains("trust store"), "{m}");
    let m = first_error(&kandji(https)).await;
    assert!(
        m.contains("the TLS connection failed: check that KANDJI_URL"),
        "{m}"
    );
}

#[tokio::test]
async fn a_server_that_is_down_says_so() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for m in [
        first_error(&jamf(url.clone(), false)).await,
        first_error(&kandji(url.clone())).await,
        first_error(&abm(&url)).await,
    ] {
        assert!(
            m.contains("the server could not be reached: is the server up, and is"),
            "{m}"
        );
    }
    // And one that answers 503 until the retries run out.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let m = first_error(&kandji(server.uri())).await;
    assert!(
        m.contains("the server is down or overloaded: try again later"),
        "{m}"
    );
}
