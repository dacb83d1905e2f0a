//! No Debug or Display output shows the private key, a client assertion or
//! an access token.

use std::time::{Duration, SystemTime};

use abm_client::auth::APPLE_TOKEN_AUDIENCE;
use abm_client::{AbmClient, PrivateKey};
use secrecy::ExposeSecret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn assert_clean(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "leaked {s:?} in {text}");
    }
}

#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let k = TestKey::generate();
    let creds = k.credentials(BUSINESS_CLIENT_ID);
    let assertion = creds
        .client_assertion(
            APPLE_TOKEN_AUDIENCE,
            SystemTime::now(),
            Duration::from_secs(600),
        )
        .expect("signs");
    let jwt = assertion.jwt().expose_secret().to_string();
    let body = k.pem_body();
    let scalar = k.scalar_hex();
    let secrets = [
        &body[..32],
        &body[body.len() - 32..],
        &scalar,
        &jwt,
        ACCESS_TOKEN,
    ];

    let b = builder(&server, creds.clone());
    let builder_dbg = format!("{b:?}");
    let client = b.build().expect("builds");
    let err = client
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect_err("404");
    let key = PrivateKey::from_pem(k.sec1_pem()).expect("loads");

    for text in [
        format!("{creds:?}"),
        format!("{key:?}"),
        format!("{assertion:?}"),
        builder_dbg,
        format!("{client:?}"),
        format!("{err:?}"),
        err.to_string(),
        format!("{:?}", client.device_source()),
    ] {
        assert_clean(&text, &secrets);
    }
    assert_eq!(format!("{key:?}"), "PrivateKey([redacted])");
    assert!(
        format!("{creds:?}").contains(BUSINESS_CLIENT_ID),
        "IDs are not secret"
    );
    assert!(format!("{assertion:?}").contains("[redacted]"));
}

#[tokio::test]
async fn a_transport_error_never_carries_the_token() {
    let tokens = MockServer::start().await;
    mount_token(&tokens).await;
    let client = AbmClient::builder(TestKey::generate().credentials(BUSINESS_CLIENT_ID))
        .base_url("http://127.0.0.1:9") // nothing listens on the discard port
        .token_url(format!("{}{TOKEN_PATH}", tokens.uri()))
        .rate_limit(None)
        .retry_policy(abm_client::RetryPolicy::none())
        .build()
        .expect("builds");
    let e = client.org_device("X", &[]).await.expect_err("refused");
    let text = format!("{e} {e:?}");
    assert!(matches!(e, abm_client::Error::Transport { .. }), "{text}");
    assert_clean(&text, &[ACCESS_TOKEN]);
}
