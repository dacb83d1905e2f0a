//! Both auth modes, refresh before expiry, re-auth on 401, the OAuth path
//! fallback and single-flight refresh.

use std::sync::Arc;
use std::time::Duration;

use jamf_client::{Client, Error, ErrorBody, InventoryVersion};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{TestClock, TokenSeq, auth_header, fast_retries, fixture, requests_to};

fn departments() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "totalCount": 1,
        "results": [{"id": "1", "name": "Field Ops"}]
    }))
}

async fn mount_departments(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(departments())
        .mount(server)
        .await;
}

async fn first_department(client: &Client) -> Result<String, Error> {
    use futures::TryStreamExt;
    let pages: Vec<_> = client.departments().try_collect().await?;
    Ok(pages[0].items[0].id.to_string())
}

fn oauth_client(server: &MockServer, clock: &TestClock) -> Client {
    Client::builder(server.uri())
        .client_credentials("my-client-id", "s3cr3t&value=1")
        .clock(Arc::new(clock.clone()))
        .retry_policy(fast_retries(2))
        .inventory_version(InventoryVersion::V1)
        .build()
        .unwrap()
}

#[tokio::test]
async fn oauth_sends_form_fields_and_uses_the_bearer_token() {
    let server = MockServer::start().await;
    let tokens = TokenSeq::oauth(600);
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=my-client-id"))
        // The secret is form-encoded: `&` and `=` must not split fields.
        .and(body_string_contains("client_secret=s3cr3t%26value%3D1"))
        .respond_with(tokens.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .and(header("authorization", "Bearer tok-1"))
        .and(header("accept", "application/json"))
        .and(header(
            "user-agent",
            concat!("jamf-client/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(departments())
        .expect(2)
        .mount(&server)
        .await;

    let client = oauth_client(&server, &TestClock::new());
    assert_eq!(first_department(&client).await.unwrap(), "1");
    // The token is cached: a second call does not fetch another.
    assert_eq!(first_department(&client).await.unwrap(), "1");
    assert_eq!(tokens.count(), 1);
}

#[tokio::test]
async fn user_password_uses_basic_auth_then_keep_alive_then_invalidate() {
    let server = MockServer::start().await;
    let clock = TestClock::new();
    let tokens = TokenSeq::user(clock.clone(), 60);
    // base64("api-reader:pa:ss wörd")
    let basic = "Basic YXBpLXJlYWRlcjpwYTpzcyB3w7ZyZA==";
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .and(header("authorization", basic))
        .respond_with(tokens.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/keep-alive"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(tokens.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/invalidate-token"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    mount_departments(&server).await;

    let client = Client::builder(server.uri())
        .user_password("api-reader", "pa:ss wörd")
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    first_department(&client).await.unwrap();
    // 35 s into a 60 s token: past the refresh point (30 s), still valid,
    // so the token is extended with keep-alive rather than re-requested.
    clock.advance(Duration::from_secs(35));
    first_department(&client).await.unwrap();
    client.invalidate_token().await.unwrap();

    let seen: Vec<String> = requests_to(&server, "/api/v1/departments")
        .await
        .iter()
        .map(auth_header)
        .collect();
    assert_eq!(seen, ["Bearer tok-1", "Bearer tok-2"]);
}

#[tokio::test]
async fn oauth_token_is_refreshed_before_it_expires() {
    let server = MockServer::start().await;
    let clock = TestClock::new();
    let tokens = TokenSeq::oauth(60);
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(tokens.clone())
        .mount(&server)
        .await;
    mount_departments(&server).await;
    let client = oauth_client(&server, &clock);

    first_department(&client).await.unwrap();
    clock.advance(Duration::from_secs(20));
    first_department(&client).await.unwrap();
    assert_eq!(tokens.count(), 1, "a 60 s token is reused for 30 s");
    // 40 s in: not expired yet, but inside the refresh margin.
    clock.advance(Duration::from_secs(20));
    first_department(&client).await.unwrap();
    assert_eq!(tokens.count(), 2);

    let seen: Vec<String> = requests_to(&server, "/api/v1/departments")
        .await
        .iter()
        .map(auth_header)
        .collect();
    assert_eq!(seen, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);
}

#[tokio::test]
async fn a_401_gets_a_new_token_and_one_more_try() {
    let server = MockServer::start().await;
    let tokens = TokenSeq::oauth(600);
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(tokens.clone())
        .mount(&server)
        .await;
    // tok-1 was revoked on the server; tok-2 works.
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            fixture("errors/pro_401_invalid_token.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(departments())
        .mount(&server)
        .await;

    let client = oauth_client(&server, &TestClock::new());
    assert_eq!(first_department(&client).await.unwrap(), "1");
    assert_eq!(tokens.count(), 2);
}

#[tokio::test]
async fn a_persistent_401_ends_after_the_retries_with_one_new_token_per_attempt() {
    let server = MockServer::start().await;
    let tokens = TokenSeq::oauth(600);
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(tokens.clone())
        .mount(&server)
        .await;
    // fast_retries(2): three attempts, each re-authenticating once.
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            fixture("errors/pro_401_invalid_token.json"),
            "application/json",
        ))
        .expect(6)
        .mount(&server)
        .await;

    let client = oauth_client(&server, &TestClock::new());
    let e = first_department(&client).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(e.is_auth(), "{e}");
    match &e {
        Error::Api(http) => assert_eq!(http.codes(), ["INVALID_TOKEN"]),
        other => panic!("{other:?}"),
    }
    // tok-1; then one new token per attempt: tok-2, tok-3, tok-4.
    assert_eq!(tokens.count(), 4);
    let seen: Vec<String> = requests_to(&server, "/api/v1/departments")
        .await
        .iter()
        .map(auth_header)
        .collect();
    assert_eq!(
        seen,
        [
            "Bearer tok-1",
            "Bearer tok-2",
            "Bearer tok-2",
            "Bearer tok-3",
            "Bearer tok-3",
            "Bearer tok-4"
        ]
    );
    let se = mdm_mapping::SourceError::from(e);
    assert_eq!(se.kind(), mdm_mapping::SourceErrorKind::Auth);
}

#[tokio::test]
async fn a_401_with_a_fixed_bearer_token_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .bearer_token("fixed")
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let e = first_department(&client).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn oauth_falls_back_to_the_old_path_on_404_and_remembers_it() {
    let server = MockServer::start().await;
    let clock = TestClock::new();
    let tokens = TokenSeq::oauth(60);
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .and(body_string_contains("client_id=my-client-id"))
        .respond_with(tokens.clone())
        .expect(2)
        .mount(&server)
        .await;
    mount_departments(&server).await;
    let client = oauth_client(&server, &clock);

    first_department(&client).await.unwrap();
    clock.advance(Duration::from_secs(120));
    first_department(&client).await.unwrap();
    assert_eq!(tokens.count(), 2);
}

#[tokio::test]
async fn token_endpoint_refusal_is_an_auth_error_with_the_oauth_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            fixture("errors/oauth_400_invalid_client.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, &TestClock::new());
    let e = client.authenticate().await.unwrap_err();
    match &e {
        Error::Auth(http) => {
            assert_eq!(http.status.as_u16(), 401);
            match &http.body {
                ErrorBody::OAuth(o) => {
                    assert_eq!(o.error, "invalid_client");
                    assert_eq!(
                        o.error_description.as_deref(),
                        Some("Client authentication failed")
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("invalid_client: Client authentication failed"),
        "{e}"
    );
    assert_eq!(e.source_kind(), mdm_mapping::SourceErrorKind::Auth);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_refresh() {
    let server = MockServer::start().await;
    let mut tokens = TokenSeq::oauth(600);
    // A slow token endpoint makes the callers pile up on the refresh.
    tokens.delay = Duration::from_millis(150);
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(tokens.clone())
        .mount(&server)
        .await;
    mount_departments(&server).await;
    let client = oauth_client(&server, &TestClock::new());

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { first_department(&c).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        tokens.count(),
        1,
        "one refresh for sixteen concurrent callers"
    );
    let all_tok1 = requests_to(&server, "/api/v1/departments")
        .await
        .iter()
        .all(|r: &Request| auth_header(r) == "Bearer tok-1");
    assert!(all_tok1);
}
