//! The token exchange: the documented form, reuse, refresh before expiry,
//! one refresh at a time, a fresh token after a 401, refusals.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use abm_client::model::OrgDeviceField;
use abm_client::{Error, Service};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::assertion::verify;
use crate::common::*;

const ONE_DEVICE: &str = include_str!("../fixtures/org_device_single.json");

async fn mount_device(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .respond_with(json(ONE_DEVICE))
        .mount(server)
        .await;
}

/// A token endpoint issuing `token-1`, `token-2`, ... in turn.
fn numbered_tokens(expires_in: u64) -> impl Fn(&Request) -> ResponseTemplate {
    let n = Arc::new(AtomicUsize::new(0));
    move |_req: &Request| {
        let i = n.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(token_body(
            &format!("token-{i}"),
            expires_in,
            "business.api",
        ))
    }
}

#[tokio::test]
async fn token_request_is_the_documented_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            ACCESS_TOKEN,
            3600,
            "business.api",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_TOKEN}").as_str(),
        ))
        .and(header("accept", "application/json"))
        .respond_with(json(ONE_DEVICE))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let key = TestKey::generate();
    let client = builder(&server, key.credentials(BUSINESS_CLIENT_ID))
        .build()
        .expect("builds");
    let device = client
        .org_device("XFIX123X0FIX123", &[OrgDeviceField::SerialNumber])
        .await
        .expect("device");
    assert_eq!(device.id, "XFIX123X0FIX123");

    let reqs = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(reqs.len(), 1);
    let f = form(&reqs[0]);
    let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "grant_type",
            "client_id",
            "client_assertion_type",
            "client_assertion",
            "scope"
        ]
    );
    assert_eq!(
        form_value(&reqs[0], "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        form_value(&reqs[0], "client_id").as_deref(),
        Some(BUSINESS_CLIENT_ID)
    );
    assert_eq!(
        form_value(&reqs[0], "client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(
        form_value(&reqs[0], "scope").as_deref(),
        Some("business.api")
    );
    assert!(reqs[0].url.query().is_none(), "nothing in the URL");
    let jwt = form_value(&reqs[0], "client_assertion").expect("assertion");
    let (header, claims) = verify(&jwt, &key.public_pem());
    assert_eq!(header.kid.as_deref(), Some(KEY_ID));
    assert_eq!(claims.sub, BUSINESS_CLIENT_ID);

    // The fields query reached the API percent-encoded.
    let api = requests_to(&server, "/v1/orgDevices/XFIX123X0FIX123").await;
    assert!(
        api[0]
            .url
            .as_str()
            .contains("fields%5BorgDevices%5D=serialNumber"),
        "{}",
        api[0].url
    );
}

#[tokio::test]
async fn school_clients_ask_for_the_school_scope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("scope=school.api"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            ACCESS_TOKEN,
            3600,
            "school.api",
        )))
        .expect(1)
        .mount(&server)
        .await;
    mount_device(&server).await;
    mount_catch_all(&server).await;
    let client = builder(&server, TestKey::generate().credentials(SCHOOL_CLIENT_ID))
        .build()
        .expect("builds");
    assert_eq!(client.service(), Service::School);
    client
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect("device");
}

#[tokio::test]
async fn token_and_assertion_are_reused_then_refreshed_early() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(numbered_tokens(3600))
        .mount(&server)
        .await;
    mount_device(&server).await;
    mount_catch_all(&server).await;
    let key = TestKey::generate();
    let clock = ManualClock::starting_now();
    let client = builder(&server, key.credentials(BUSINESS_CLIENT_ID))
        .clock(clock.clone())
        .build()
        .expect("builds");
    let get = || client.org_device("XFIX123X0FIX123", &[]);

    get().await.expect("1");
    clock.advance(Duration::from_secs(30 * 60));
    get().await.expect("2");
    assert_eq!(
        client.token_exchanges().await,
        1,
        "the token is reused within its hour"
    );

    // 56 minutes in: within the 5-minute margin, so a new token.
    clock.advance(Duration::from_secs(26 * 60));
    get().await.expect("3");
    assert_eq!(client.token_exchanges().await, 2);

    let api = requests_to(&server, "/v1/orgDevices/XFIX123X0FIX123").await;
    let used: Vec<String> = api.iter().filter_map(bearer).collect();
    assert_eq!(used, ["Bearer token-1", "Bearer token-1", "Bearer token-2"]);

    // The assertion (24 h by default) was reused for the second exchange...
    let tokens = requests_to(&server, TOKEN_PATH).await;
    let jti = |r: &Request| {
        verify(
            &form_value(r, "client_assertion").expect("a"),
            &key.public_pem(),
        )
        .1
        .jti
    };
    assert_eq!(jti(&tokens[0]), jti(&tokens[1]));

    // ...and replaced once it is about to expire.
    clock.advance(Duration::from_secs(24 * 3600));
    get().await.expect("4");
    let tokens = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(tokens.len(), 3);
    let claims = |r: &Request| {
        let jwt = form_value(r, "client_assertion").expect("a");
        // Decode without checking exp: the manual clock is a day ahead.
        jsonwebtoken::dangerous::insecure_decode::<crate::assertion::Claims>(&jwt)
            .expect("decodes")
            .claims
    };
    assert_ne!(claims(&tokens[2]).jti, claims(&tokens[0]).jti);
    assert!(claims(&tokens[2]).iat > claims(&tokens[0]).iat);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(ACCESS_TOKEN, 3600, "business.api"))
                .set_delay(Duration::from_millis(50)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .respond_with(json(ONE_DEVICE))
        .expect(8)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = client(&server);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.org_device("XFIX123X0FIX123", &[]).await.map(|d| d.id) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("joins").expect("ok"), "XFIX123X0FIX123");
    }
    assert_eq!(client.token_exchanges().await, 1);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(numbered_tokens(3600))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(json(ONE_DEVICE))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = client(&server);
    client
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect("after one refresh");
}

#[tokio::test]
async fn a_second_401_is_an_auth_error() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/XFIX123X0FIX123"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let e = client
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect_err("401");
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.kind(), mdm_mapping::SourceErrorKind::Auth);
    assert_eq!(client.token_exchanges().await, 2);
}

#[tokio::test]
async fn invalid_client_is_a_token_error_without_the_assertion() {
    let server = MockServer::start().await;
    // An endpoint that echoes the assertion back, in the description.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(|req: &Request| {
            let jwt = form_value(req, "client_assertion").unwrap_or_default();
            ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "invalid_client",
                "error_description": format!("client_assertion {jwt} is not valid"),
            }))
        })
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let e = client
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect_err("refused");
    let Error::Token(t) = &e else {
        panic!("expected a token error, got {e:?}")
    };
    assert_eq!(t.status, 400);
    assert_eq!(t.error.as_deref(), Some("invalid_client"));
    let jwt = form_value(
        &requests_to(&server, TOKEN_PATH).await[0],
        "client_assertion",
    )
    .expect("sent");
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(&jwt), "{text}");
        assert!(
            !text.contains(&jwt[jwt.len() - 20..]),
            "signature leaked: {text}"
        );
        assert!(text.contains("invalid_client"), "{text}");
    }
    assert!(e.to_string().contains("[redacted]"));
    assert_eq!(e.kind(), mdm_mapping::SourceErrorKind::Auth);
}

#[tokio::test]
async fn non_json_token_errors_are_redacted_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(|req: &Request| {
            let jwt = form_value(req, "client_assertion").unwrap_or_default();
            ResponseTemplate::new(400)
                .set_body_string(format!("<html>bad request for {jwt}</html>"))
        })
        .mount(&server)
        .await;
    let client = client(&server);
    let e = client.org_device("X", &[]).await.expect_err("refused");
    let text = format!("{e} {e:?}");
    assert!(
        text.contains("<html>bad request for [redacted]</html>"),
        "{text}"
    );
}

#[tokio::test]
async fn token_endpoint_throttling_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_token(&server).await;
    mount_device(&server).await;
    let client = client(&server);
    client
        .org_device("XFIX123X0FIX123", &[])
        .await
        .expect("after a retry");
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_token_response_without_a_token_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token_type": "Bearer"})),
        )
        .mount(&server)
        .await;
    let e = client(&server)
        .org_device("X", &[])
        .await
        .expect_err("no token");
    assert!(e.to_string().contains("no access_token"), "{e}");
}

/// A token endpoint that says `expires_in: i64::MAX` (or anything that is
/// not a usable number) makes no arithmetic overflow: the lifetime is
/// capped at 24 h (or taken as the 1-hour default), and a new token is
/// fetched once it has passed.
#[tokio::test]
async fn extreme_token_lifetimes_are_capped_not_overflowed() {
    for (expires_in, hours) in [
        (serde_json::json!(i64::MAX), 24),
        (serde_json::json!(u64::MAX), 24),
        (serde_json::json!(1e300), 24),
        (serde_json::json!(-7), 1),
        (serde_json::json!("an hour"), 1),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "t", "token_type": "Bearer",
                "expires_in": expires_in, "scope": "business.api",
            })))
            .mount(&server)
            .await;
        mount_device(&server).await;
        mount_catch_all(&server).await;
        let key = TestKey::generate();
        let clock = ManualClock::starting_now();
        let client = builder(&server, key.credentials(BUSINESS_CLIENT_ID))
            .clock(clock.clone())
            .build()
            .expect("builds");
        client
            .org_device("XFIX123X0FIX123", &[])
            .await
            .unwrap_or_else(|e| panic!("{expires_in}: {e}"));
        clock.advance(Duration::from_secs(hours * 3600 - 600));
        client.org_device("XFIX123X0FIX123", &[]).await.expect("2");
        assert_eq!(client.token_exchanges().await, 1, "{expires_in}");
        clock.advance(Duration::from_secs(1200));
        client.org_device("XFIX123X0FIX123", &[]).await.expect("3");
        assert_eq!(client.token_exchanges().await, 2, "{expires_in}");
    }
}
