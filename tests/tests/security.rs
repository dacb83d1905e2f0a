//! Security checks across the three clients:
//!
//! - secrets never reach the logs, at any tracing level (a capturing
//!   subscriber at TRACE for every crate, the clients run against the
//!   simulator through auth, expired tokens, faults and refused
//!   credentials), nor the `Debug`/`Display` of clients and errors;
//! - credentials never follow a redirect to another host;
//! - ids are percent-encoded path segments: `../x` or `a/b` cannot change
//!   the request path.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use mdm_examples::simulator::{FleetConfig, SimCredentials, Simulator, SimulatorConfig};
use mdm_mapping::net::RetryPolicy;
use mdm_mapping::{Cursor, DevicePage, DeviceSource, SourceError, Vendor};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ------------------------------------------------------------------ log capture

/// Everything every test of this binary logged, at TRACE, from every crate
/// (and `log` records, through tracing-log).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .unwrap();
        buf
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
    }
}

/// Expires every token after each page: each source must authenticate again.
#[derive(Debug)]
struct ExpireAfterEachPage {
    inner: Box<dyn DeviceSource>,
    sim: Arc<Simulator>,
    pages: AtomicUsize,
}

#[async_trait]
impl DeviceSource for ExpireAfterEachPage {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        let page = self.inner.fetch_page(cursor).await;
        self.pages.fetch_add(1, Ordering::SeqCst);
        self.sim.expire_tokens();
        page
    }
}

fn jamf_client(url: &str, creds: jamf_client::Credentials) -> jamf_client::Client {
    jamf_client::Client::builder(url)
        .credentials(creds)
        .retry_policy(retry_policy())
        .build()
        .unwrap()
}

fn kandji_client(url: &str, token: &str) -> kandji_client::KandjiClient {
    kandji_client::KandjiClient::builder()
        .base_url(url)
        .token(token.to_string())
        .rate_limits(kandji_client::RateLimits::unlimited())
        .retry_policy(retry_policy())
        .build()
        .unwrap()
}

fn abm_client(
    api: &str,
    token_url: &str,
    client_id: &str,
    key_id: &str,
    pem: &str,
) -> abm_client::AbmClient {
    let key = abm_client::PrivateKey::from_pem(pem).unwrap();
    abm_client::AbmClient::builder(abm_client::Credentials::new(client_id, key_id, key))
        .base_url(api)
        .token_url(token_url)
        .rate_limit(None)
        .retry_policy(retry_policy())
        .build()
        .unwrap()
}

/// Every substring of `secret` that would give it away: the whole value,
/// and each base64 line of a PEM body.
fn tells(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    out.extend(
        secret
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .map(str::to_string),
    );
    out
}

fn assert_no_secret(text: &str, what: &str, secrets: &[(&str, String)]) {
    for (name, secret) in secrets {
        for tell in tells(secret) {
            assert!(
                !text.contains(&tell),
                "{what} contains the {name} ({} bytes of text)",
                text.len()
            );
        }
    }
    // Every token the simulator issues and every ABM client assertion is a
    // JWT: base64url of `{"` starts with `eyJ`.
    assert!(
        !text.contains("eyJ"),
        "{what} contains a JWT (an issued token or assertion)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_or_errors() {
    logs();
    tracing::trace!(canary = "log-capture-canary", "the capture works");

    let sim = Arc::new(
        Simulator::start(SimulatorConfig {
            fleet: FleetConfig {
                devices: 80,
                seed: 5,
                ..FleetConfig::default()
            },
            fault_rate: 0.1,
            fault_seed: 3,
            max_consecutive_faults: 1,
            ..SimulatorConfig::default()
        })
        .await
        .unwrap(),
    );
    let c = sim.credentials().clone();
    let other = SimCredentials::generate(); // a key and secrets the simulator does not know
    let mut texts: Vec<String> = Vec::new();

    // Good credentials: full listings with a token expiry after every page
    // and 10% faults (429, 503, resets, expired tokens).
    let jamf_cc = jamf_client(
        &sim.jamf_url(),
        jamf_client::Credentials::client_credentials(
            c.jamf_client_id.clone(),
            c.jamf_client_secret.expose_secret().to_string(),
        ),
    );
    let jamf_user = jamf_client(
        &sim.jamf_url(),
        jamf_client::Credentials::user_password(
            c.jamf_username.clone(),
            c.jamf_password.expose_secret().to_string(),
        ),
    );
    let kandji = kandji_client(&sim.kandji_url(), c.kandji_token.expose_secret());
    let abm = abm_client(
        &sim.abm_url(),
        &sim.abm_token_url(),
        &c.abm_client_id,
        &c.abm_key_id,
        c.abm_private_key_pem.expose_secret(),
    );
    let sources: Vec<Box<dyn DeviceSource>> = vec![
        Box::new(jamf_cc.device_source(jamf_client::SourceOptions::default().page_size(10))),
        Box::new(jamf_user.device_source(jamf_client::SourceOptions::default().page_size(10))),
        Box::new(
            kandji_client::KandjiSource::new(kandji.clone())
                .with_query(kandji_client::DeviceQuery::new().page_size(10))
                .with_details(true)
                .with_user_active(true),
        ),
        Box::new(abm.device_source().limit(10).with_applecare(true)),
    ];
    for inner in sources {
        texts.push(format!("{inner:?}"));
        let s = ExpireAfterEachPage {
            inner,
            sim: sim.clone(),
            pages: AtomicUsize::new(0),
        };
        let pages: Vec<DevicePage> = s.pages(None).try_collect().await.unwrap();
        assert!(s.pages.load(Ordering::SeqCst) > 1);
        for p in &pages {
            for d in &p.devices {
                texts.push(format!("{d:?}"));
            }
        }
    }
    jamf_user.invalidate_token().await.unwrap();
    texts.push(format!("{jamf_cc:?} {jamf_user:?} {kandji:?} {abm:?}"));

    // Refused credentials: each error's Display and Debug, and the logs.
    let bad_secret = other.jamf_client_secret.expose_secret().to_string();
    let bad_password = other.jamf_password.expose_secret().to_string();
    let bad_token = other.kandji_token.expose_secret().to_string();
    let bad_pem = other.abm_private_key_pem.expose_secret().to_string();
    let e = jamf_client(
        &sim.jamf_url(),
        jamf_client::Credentials::client_credentials(c.jamf_client_id.clone(), bad_secret.clone()),
    )
    .authenticate()
    .await
    .unwrap_err();
    texts.push(format!("{e} {e:?}"));
    let e = jamf_client(
        &sim.jamf_url(),
        jamf_client::Credentials::user_password(c.jamf_username.clone(), bad_password.clone()),
    )
    .authenticate()
    .await
    .unwrap_err();
    texts.push(format!("{e} {e:?}"));
    let e = kandji_client(&sim.kandji_url(), &bad_token)
        .device("some-device")
        .await
        .unwrap_err();
    texts.push(format!("{e} {e:?}"));
    let bad_abm = abm_client(
        &sim.abm_url(),
        &sim.abm_token_url(),
        &c.abm_client_id,
        &c.abm_key_id,
        &bad_pem,
    );
    let e = bad_abm.device_source().fetch_page(None).await.unwrap_err();
    texts.push(format!("{e} {e:?} {bad_abm:?}"));

    let stats = sim.stats();
    assert!(stats.faults().total() > 0, "{stats:?}");
    for vendor in [Vendor::Jamf, Vendor::Abm] {
        assert!(stats.vendor(vendor).unauthorized > 0, "{vendor}: {stats:?}");
    }

    let secrets = [
        (
            "Jamf client secret",
            c.jamf_client_secret.expose_secret().to_string(),
        ),
        ("Jamf password", c.jamf_password.expose_secret().to_string()),
        ("Kandji token", c.kandji_token.expose_secret().to_string()),
        (
            "ABM private key",
            c.abm_private_key_pem.expose_secret().to_string(),
        ),
        ("refused Jamf client secret", bad_secret),
        ("refused Jamf password", bad_password),
        ("refused Kandji token", bad_token),
        ("refused ABM private key", bad_pem),
    ];
    for t in &texts {
        assert_no_secret(t, "a Debug or Display text", &secrets);
    }
    let log = captured();
    assert!(log.contains("log-capture-canary"), "the capture works");
    assert!(
        log.contains("TRACE") && log.len() > 10_000,
        "the clients' HTTP stack logged at TRACE ({} bytes)",
        log.len()
    );
    assert_no_secret(&log, "the TRACE log", &secrets);
}

/// Issued tokens with known values (wiremock), including the one issued
/// after a 401, never reach the logs.
#[tokio::test]
async fn issued_tokens_never_reach_logs() {
    logs();
    let server = MockServer::start().await;
    let first = "jamf-issued-token-0d1f6a7c";
    let second = "jamf-issued-token-93be55e2";
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": first, "token_type": "Bearer", "expires_in": 1200}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": second, "token_type": "Bearer", "expires_in": 1200}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    // The first bearer is refused once, then the building is served; the
    // department is a 500 whose body echoes nothing secret.
    Mock::given(method("GET"))
        .and(path("/api/v1/buildings/1"))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {first}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"httpStatus": 401, "errors": [{"code": "INVALID_TOKEN", "description": "Unauthorized"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/buildings/1"))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {second}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1", "name": "HQ"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments/2"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let client = jamf_client(
        &server.uri(),
        jamf_client::Credentials::client_credentials("id", "s3cret-client-secret-7f1b"),
    );
    let building = client.building("1").await.unwrap();
    let e = client.department("2").await.unwrap_err();
    let text = format!("{building:?} {e} {e:?} {client:?}");
    let secrets = [
        ("first issued token", first.to_string()),
        ("second issued token", second.to_string()),
        ("client secret", "s3cret-client-secret-7f1b".to_string()),
    ];
    assert_no_secret(&text, "a Debug or Display text", &secrets);
    let log = captured();
    assert!(log.contains("TRACE"));
    assert_no_secret(&log, "the TRACE log", &secrets);
    // Both tokens were really used.
    let used: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r.headers.get("authorization"))
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(used.contains(&format!("Bearer {first}")));
    assert!(used.contains(&format!("Bearer {second}")));
}

// ------------------------------------------------------------------ redirects

/// Server B: answers everything, and tells what it saw.
async fn server_b() -> MockServer {
    let b = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "1", "access_token": "b-token", "token_type": "Bearer", "expires_in": 3600,
            "token": "b-token", "expires": "2099-01-01T00:00:00Z", "data": [], "results": []
        })))
        .mount(&b)
        .await;
    b
}

/// B saw no credentials: no `Authorization` header, no secret anywhere.
async fn assert_b_saw_no_credentials(b: &MockServer, secrets: &[&str]) {
    for r in b.received_requests().await.unwrap() {
        assert!(
            r.headers.get("authorization").is_none(),
            "{} {} was sent an Authorization header",
            r.method,
            r.url
        );
        let all = format!(
            "{} {:?} {}",
            r.url,
            r.headers,
            String::from_utf8_lossy(&r.body)
        );
        for s in secrets {
            assert!(!all.contains(s), "{} {} received a secret", r.method, r.url);
        }
    }
}

fn redirect_to(b: &MockServer, status: u16, to: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Location", format!("{}{to}", b.uri()).as_str())
}

#[tokio::test]
async fn jamf_sends_no_credentials_across_a_redirect() {
    let (a, b) = (MockServer::start().await, server_b().await);
    let secret = "jamf-secret-for-redirect-test";
    let password = "jamf-password-for-redirect-test";
    // Token requests redirected (307 keeps the method and the body).
    Mock::given(method("POST"))
        .and(path_regex("^/api/(v1/)?(oauth|auth)/token$"))
        .respond_with(redirect_to(&b, 307, "/token"))
        .mount(&a)
        .await;
    let e = jamf_client(
        &a.uri(),
        jamf_client::Credentials::client_credentials("id", secret),
    )
    .authenticate()
    .await;
    assert!(e.is_err(), "a redirected token request is not followed");
    let e = jamf_client(
        &a.uri(),
        jamf_client::Credentials::user_password("reader", password),
    )
    .authenticate()
    .await;
    assert!(e.is_err());
    // An API request redirected after a good token.
    let a2 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "a-token-for-redirect", "token_type": "Bearer", "expires_in": 1200}),
        ))
        .mount(&a2)
        .await;
    Mock::given(method("GET"))
        .respond_with(redirect_to(&b, 302, "/api/v1/buildings/1"))
        .mount(&a2)
        .await;
    let client = jamf_client(
        &a2.uri(),
        jamf_client::Credentials::client_credentials("id", secret),
    );
    let _ = client.building("1").await;
    assert_eq!(
        a2.received_requests().await.unwrap().len(),
        2,
        "token + the redirected GET"
    );
    assert_b_saw_no_credentials(&b, &[secret, password, "a-token-for-redirect"]).await;
}

#[tokio::test]
async fn kandji_sends_no_credentials_across_a_redirect() {
    let (a, b) = (MockServer::start().await, server_b().await);
    let token = "kandji-token-for-redirect-test";
    Mock::given(method("GET"))
        .and(path("/api/v1/devices/d1"))
        .respond_with(redirect_to(&b, 302, "/api/v1/devices/d1"))
        .mount(&a)
        .await;
    // A users page whose `next` link names host B: only its cursor is used.
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(wiremock::matchers::query_param("cursor", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"next": null, "previous": null, "results": [{"id": "u2", "email": "b@example.com"}]}),
        ))
        .with_priority(1)
        .mount(&a)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "next": format!("{}/api/v1/users?cursor=abc", b.uri()),
            "previous": null,
            "results": [{"id": "u1", "email": "a@example.com"}]
        })))
        .with_priority(2)
        .mount(&a)
        .await;
    let client = kandji_client(&a.uri(), token);
    assert!(
        client.device("d1").await.is_err(),
        "the redirect is not followed"
    );
    let users: Vec<_> = client
        .users(kandji_client::UserQuery::new())
        .collect::<Vec<_>>()
        .await;
    assert_eq!(users.len(), 2, "both user pages read from A: {users:?}");
    assert!(users.iter().all(Result::is_ok));
    assert_b_saw_no_credentials(&b, &[token]).await;
    assert!(
        b.received_requests().await.unwrap().len() <= 1,
        "at most the redirected GET reached B"
    );
}

#[tokio::test]
async fn abm_sends_no_credentials_across_a_redirect() {
    let (a, b) = (MockServer::start().await, server_b().await);
    let creds = SimCredentials::generate();
    let pem = creds.abm_private_key_pem.expose_secret().to_string();
    // The token request redirected: the client assertion must not go to B.
    let redirected_token = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(redirect_to(&b, 307, "/auth/oauth2/token"))
        .mount(&redirected_token)
        .await;
    let client = abm_client(
        &a.uri(),
        &format!("{}/auth/oauth2/token", redirected_token.uri()),
        &creds.abm_client_id,
        &creds.abm_key_id,
        &pem,
    );
    assert!(client.org_device("SERIAL1", &[]).await.is_err());
    // Good token from A; an API request redirected; a list whose
    // `links.next` names host B.
    Mock::given(method("POST"))
        .and(path("/auth/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "abm-token-for-redirect", "token_type": "Bearer",
            "expires_in": 3600, "scope": "business.api"
        })))
        .mount(&a)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices/SERIAL1"))
        .respond_with(redirect_to(&b, 302, "/v1/orgDevices/SERIAL1"))
        .mount(&a)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .and(wiremock::matchers::query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [], "links": {"self": "x"}, "meta": {"paging": {"limit": 1000}}
        })))
        .with_priority(1)
        .mount(&a)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/orgDevices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            // One device: an empty page that names a next one would end the
            // listing as a server making no progress.
            "data": [{"type": "orgDevices", "id": "SERIAL1"}],
            "links": {"self": "x", "next": format!("{}/v1/orgDevices?cursor=c2", b.uri())},
            "meta": {"paging": {"limit": 1000, "nextCursor": "c2"}}
        })))
        .with_priority(2)
        .mount(&a)
        .await;
    let client = abm_client(
        &a.uri(),
        &format!("{}/auth/oauth2/token", a.uri()),
        &creds.abm_client_id,
        &creds.abm_key_id,
        &pem,
    );
    assert!(client.org_device("SERIAL1", &[]).await.is_err());
    let pages: Vec<_> = client
        .org_devices(abm_client::DeviceQuery::new(), None)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(pages.len(), 2, "both pages read from A");
    assert!(pages.iter().all(Result::is_ok));
    let bodies: Vec<String> = b
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        bodies.iter().all(|body| !body.contains("client_assertion")),
        "the client assertion went to B"
    );
    let key_lines: Vec<String> = tells(&pem);
    let key_refs: Vec<&str> = key_lines.iter().map(String::as_str).collect();
    let mut secrets = vec!["abm-token-for-redirect", "eyJ"];
    secrets.extend(key_refs);
    assert_b_saw_no_credentials(&b, &secrets).await;
}

// ------------------------------------------------------------------ path segments

/// Ids that would change the path if pasted into it, and the one segment
/// each must become.
const NASTY_IDS: &[(&str, &str)] = &[
    ("../x", "..%2Fx"),
    ("a/b", "a%2Fb"),
    ("..", "%252E%252E"),
    (".", "%252E"),
    ("a?b=c#d", "a%3Fb=c%23d"),
    ("%2e%2e", "%252e%252e"),
    ("x y", "x%20y"),
];

/// Catches every request on `server` with a 404, so each getter fails fast.
async fn not_found_server() -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "t", "token_type": "Bearer", "expires_in": 3600, "scope": "business.api"
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .mount(&s)
        .await;
    s
}

/// The paths and queries of the GETs `server` received.
async fn gets(server: &MockServer) -> Vec<(String, Option<String>)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r: &&Request| r.method.as_str() == "GET")
        .map(|r| (r.url.path().to_string(), r.url.query().map(str::to_string)))
        .collect()
}

/// Calls a getter with each nasty id: every GET it sends has `template`'s
/// path with the id as one encoded segment, and nothing in the query.
async fn check_paths<F, Fut>(server: &MockServer, template: &str, call: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for (id, segment) in NASTY_IDS {
        let before = gets(server).await.len();
        call(id.to_string()).await;
        let after = gets(server).await;
        let sent = after.get(before..).unwrap_or_default();
        assert!(!sent.is_empty(), "{template}: no request for id {id:?}");
        for (got, query) in sent {
            assert_eq!(got, &template.replace("{}", segment), "id {id:?}");
            assert!(
                query.as_deref().is_none_or(|q| !q.contains("b=c")),
                "id {id:?} leaked into the query: {query:?}"
            );
        }
    }
}

#[tokio::test]
async fn jamf_ids_are_one_path_segment() {
    let s = not_found_server().await;
    let client = jamf_client::Client::builder(s.uri())
        .client_credentials("id", "secret")
        .inventory_version(jamf_client::InventoryVersion::V1)
        .retry_policy(retry_policy())
        .build()
        .unwrap();
    let c = &client;
    check_paths(
        &s,
        "/api/v1/computers-inventory-detail/{}",
        |id| async move {
            let _ = c.computer_detail(&id).await;
        },
    )
    .await;
    check_paths(&s, "/api/v1/computers-inventory/{}", |id| async move {
        let _ = c.computer(&id, &[]).await;
    })
    .await;
    check_paths(&s, "/api/v2/mobile-devices/{}/detail", |id| async move {
        let _ = c.mobile_device(&id).await;
    })
    .await;
    check_paths(&s, "/api/v1/buildings/{}", |id| async move {
        let _ = c.building(&id).await;
    })
    .await;
    check_paths(&s, "/JSSResource/users/id/{}", |id| async move {
        let _ = c.classic_user(&id).await;
    })
    .await;
}

#[tokio::test]
async fn kandji_ids_are_one_path_segment() {
    let s = not_found_server().await;
    let client = kandji_client(&s.uri(), "token");
    let c = &client;
    check_paths(&s, "/api/v1/devices/{}", |id| async move {
        let _ = c.device(&id).await;
    })
    .await;
    check_paths(&s, "/api/v1/devices/{}/details", |id| async move {
        let _ = c.device_details(&id).await;
    })
    .await;
    check_paths(&s, "/api/v1/devices/{}/apps", |id| async move {
        let _ = c.device_apps(&id).await;
    })
    .await;
    check_paths(&s, "/api/v1/users/{}", |id| async move {
        let _ = c.user(&id).await;
    })
    .await;
}

#[tokio::test]
async fn abm_ids_are_one_path_segment() {
    let s = not_found_server().await;
    let creds = SimCredentials::generate();
    let client = abm_client(
        &s.uri(),
        &format!("{}/auth/oauth2/token", s.uri()),
        &creds.abm_client_id,
        &creds.abm_key_id,
        creds.abm_private_key_pem.expose_secret(),
    );
    let c = &client;
    check_paths(&s, "/v1/orgDevices/{}", |id| async move {
        let _ = c.org_device(&id, &[]).await;
    })
    .await;
    check_paths(
        &s,
        "/v1/orgDevices/{}/activationLockStatus",
        |id| async move {
            let _ = c.activation_lock_status(&id).await;
        },
    )
    .await;
    check_paths(&s, "/v1/orgDevices/{}/appleCareCoverage", |id| async move {
        let _ = c.apple_care_coverage(&id).await;
    })
    .await;
    check_paths(&s, "/v1/mdmServers/{}", |id| async move {
        let _ = c.mdm_server(&id, &[]).await;
    })
    .await;
}
