//! No secret (client secret, password, token, recovery key or password)
//! appears in any Debug or Display: builder, client, credentials, errors
//! from the token endpoint, models, source records.

use std::sync::Arc;

use jamf_client::{Client, Credentials, Error, InventoryVersion, SecurityReads, SourceOptions};
use mdm_mapping::DeviceSource;
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestClock;

const SECRET: &str = "SECRET-client-secret-9f8e";
const PASSWORD: &str = "SECRET-password-7d6c";
const TOKEN: &str = "SECRET-token-eyJhbGciOiJIUzI1NiJ9";
const RECOVERY_KEY: &str = "SECRET-Z4A6-ONF8-KUHD-AVTG";
const LOCK_PASSWORD: &str = "SECRET-lock-password";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains("SECRET"), "{what} leaks a secret: {text}");
}

fn assert_error_clean(e: &Error) {
    assert_clean("error Display", &e.to_string());
    assert_clean("error Debug", &format!("{e:?}"));
    let se = mdm_mapping::SourceError::from(Error::InvalidArgument {
        name: "x",
        reason: e.to_string(),
    });
    assert_clean("source error", &format!("{se} {se:?}"));
}

#[tokio::test]
async fn builder_client_and_credentials_debug_show_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN, "token_type": "Bearer", "expires_in": 600
        })))
        .mount(&server)
        .await;
    let builder = Client::builder(server.uri())
        .client_credentials("client-id-1", SECRET)
        .clock(Arc::new(TestClock::new()));
    let shown = format!("{builder:?}");
    assert_clean("builder", &shown);
    assert!(
        shown.contains("client-id-1"),
        "the id is not secret: {shown}"
    );

    let client = builder.build().unwrap();
    assert_clean("client before auth", &format!("{client:?}"));
    client.authenticate().await.unwrap();
    assert_clean("client with a token", &format!("{client:?}"));

    for c in [
        Credentials::client_credentials("id", SECRET),
        Credentials::user_password("ana", PASSWORD),
        Credentials::bearer_token(TOKEN),
    ] {
        assert_clean("credentials", &format!("{c:?}"));
    }
    let user = Client::builder(server.uri())
        .user_password("ana", PASSWORD)
        .build()
        .unwrap();
    assert_clean("user client", &format!("{user:?}"));
}

#[tokio::test]
async fn token_endpoint_errors_show_no_secret() {
    // The token endpoint refuses, echoing nothing of ours.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "httpStatus": 401,
            "errors": [{"code": "USER_EXPIRED_PASSWORD", "description": "Password expired", "id": null, "field": null}]
        })))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_password("ana", PASSWORD)
        .build()
        .unwrap();
    let e = client.authenticate().await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
    assert!(e.to_string().contains("USER_EXPIRED_PASSWORD"), "{e}");
    assert_error_clean(&e);

    // A malformed token response that holds the token (cut short after
    // it): the decode error names the path but quotes no value. (An
    // unreadable `expires_in` alone is not an error: it is "not said".)
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"access_token":"{TOKEN}","expires_in":["#),
            "application/json",
        ))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .client_credentials("id", SECRET)
        .build()
        .unwrap();
    let e = client.authenticate().await.unwrap_err();
    match &e {
        Error::Decode(d) => assert!(d.path.contains("expires_in"), "{}", d.path),
        other => panic!("{other:?}"),
    }
    assert_error_clean(&e);

    // An access token that is not a string.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":{"value":"SECRET-nested"},"expires_in":60}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .client_credentials("id", SECRET)
        .build()
        .unwrap();
    assert_error_clean(&client.authenticate().await.unwrap_err());
}

#[tokio::test]
async fn recovery_secrets_only_on_opt_in_and_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 1, "results": [{"id": "1", "hardware": {"serialNumber": "C02XK1ABJG5H"}}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/computers-inventory/1/filevault"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "computerId": "1", "name": "Mac", "personalRecoveryKey": RECOVERY_KEY,
            "individualRecoveryKeyValidityStatus": "VALID"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/api/v1/computers-inventory/1/view-recovery-lock-password",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "recoveryLockPassword": LOCK_PASSWORD })),
        )
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .bearer_token(TOKEN)
        .inventory_version(InventoryVersion::V1)
        .build()
        .unwrap();

    let fv = client.computer_filevault("1").await.unwrap();
    assert_clean("FileVaultInfo", &format!("{fv:?}"));
    assert_eq!(
        fv.personal_recovery_key.as_ref().map(|k| k.expose_secret()),
        Some(RECOVERY_KEY)
    );

    // Without opt-in: no secret is read at all.
    let plain = client.device_source(SourceOptions::default().mobile_devices(false));
    let page = plain.fetch_page(None).await.unwrap();
    assert!(page.devices[0].secrets.is_empty());

    let opted = client.device_source(
        SourceOptions::default().mobile_devices(false).security(
            SecurityReads::none()
                .with_filevault_recovery_key(true)
                .with_recovery_lock_password(true),
        ),
    );
    let page = opted.fetch_page(None).await.unwrap();
    let d = &page.devices[0];
    assert_eq!(
        d.secrets.get("recovery_key").map(|s| s.expose_secret()),
        Some(RECOVERY_KEY)
    );
    assert_eq!(
        d.secrets
            .get("recovery_lock_password")
            .map(|s| s.expose_secret()),
        Some(LOCK_PASSWORD)
    );
    assert_clean("SourceDevice Debug", &format!("{d:?}"));
    assert_clean("SourceDevice JSON", &serde_json::to_string(d).unwrap());
    assert_clean("page Debug", &format!("{page:?}"));
    assert_clean("source Debug", &format!("{opted:?}"));
    // The secret reads were counted once each (plain source made none).
    let fv_reads = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/filevault"))
        .count();
    assert_eq!(
        fv_reads, 2,
        "one direct call above, one for the opted-in page"
    );
}
