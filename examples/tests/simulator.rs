//! The vendor simulator over real HTTP (reqwest against 127.0.0.1).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mdm_examples::simulator::{
    FaultKind, FleetConfig, SimCredentials, Simulator, SimulatorConfig, TokenLifetimes,
};
use mdm_mapping::Vendor;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn config(devices: usize) -> SimulatorConfig {
    SimulatorConfig {
        fleet: FleetConfig {
            devices,
            seed: 11,
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn start(devices: usize) -> Simulator {
    Simulator::start(config(devices)).await.unwrap()
}

async fn jamf_token(c: &reqwest::Client, sim: &Simulator) -> String {
    let creds = sim.credentials();
    let resp = c
        .post(format!("{}/api/v1/oauth/token", sim.jamf_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.jamf_client_id.as_str()),
            ("client_secret", creds.jamf_client_secret.expose_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_string()
}

fn pkcs8_der(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).unwrap().contents().to_vec()
}

fn assertion(
    creds: &SimCredentials,
    key_der: &[u8],
    claims_patch: Value,
    kid: Option<&str>,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": creds.abm_client_id, "iss": creds.abm_client_id,
        "aud": "https://account.apple.com/auth/oauth2/v2/token",
        "iat": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
    });
    for (k, v) in claims_patch.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.unwrap_or(&creds.abm_key_id).to_string());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(key_der)).unwrap()
}

async fn abm_token_request(
    c: &reqwest::Client,
    sim: &Simulator,
    jwt: &str,
    scope: &str,
) -> reqwest::Response {
    c.post(sim.abm_token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim.credentials().abm_client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
}

async fn abm_token(c: &reqwest::Client, sim: &Simulator) -> String {
    let creds = sim.credentials();
    let jwt = assertion(
        creds,
        &pkcs8_der(creds.abm_private_key_pem.expose_secret()),
        json!({}),
        None,
    );
    let resp = abm_token_request(c, sim, &jwt, "business.api").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "business.api");
    body["access_token"].as_str().unwrap().to_string()
}

async fn get_json(c: &reqwest::Client, url: &str, bearer: &str) -> (StatusCode, Value) {
    let resp = c
        .get(url)
        .bearer_auth(bearer)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

// ------------------------------------------------------------------ auth

#[tokio::test]
async fn jamf_oauth_both_paths_and_bad_secret() {
    let sim = start(20).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let (status, body) = get_json(
        &c,
        &format!("{}/api/v1/jamf-pro-version", sim.jamf_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["version"].as_str().unwrap().starts_with("11.30.1-t"));

    let creds = sim.credentials();
    let old_path = c
        .post(format!("{}/api/oauth/token", sim.jamf_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.jamf_client_id.as_str()),
            ("client_secret", creds.jamf_client_secret.expose_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(old_path.status(), StatusCode::OK);

    let bad = c
        .post(format!("{}/api/v1/oauth/token", sim.jamf_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.jamf_client_id.as_str()),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let (status, body) = get_json(
        &c,
        &format!("{}/api/v1/jamf-pro-version", sim.jamf_url()),
        "garbage",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["code"], "INVALID_TOKEN");
    let no_auth = c
        .get(format!("{}/api/v1/jamf-pro-version", sim.jamf_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sim.stats().jamf.unauthorized, 2);
}

#[tokio::test]
async fn jamf_basic_token_keep_alive_and_invalidate() {
    let sim = start(20).await;
    let c = client();
    let creds = sim.credentials();
    let url = |p: &str| format!("{}{p}", sim.jamf_url());
    let bad = c
        .post(url("/api/v1/auth/token"))
        .basic_auth(&creds.jamf_username, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let resp = c
        .post(url("/api/v1/auth/token"))
        .basic_auth(
            &creds.jamf_username,
            Some(creds.jamf_password.expose_secret()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let t1 = body["token"].as_str().unwrap().to_string();
    let expires = body["expires"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(expires).unwrap() > chrono::Utc::now());
    let (status, auth) = get_json(&c, &url("/api/v1/auth"), &t1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(auth["authenticationType"], "JSS");

    let resp = c
        .post(url("/api/v1/auth/keep-alive"))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let t2 = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(t1, t2);
    assert_eq!(
        get_json(&c, &url("/api/v1/jamf-pro-version"), &t1).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_json(&c, &url("/api/v1/jamf-pro-version"), &t2).await.0,
        StatusCode::OK
    );

    let resp = c
        .post(url("/api/v1/auth/invalidate-token"))
        .bearer_auth(&t2)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get_json(&c, &url("/api/v1/jamf-pro-version"), &t2).await.0,
        StatusCode::UNAUTHORIZED
    );

    // OAuth tokens cannot be kept alive.
    let oauth = jamf_token(&c, &sim).await;
    let resp = c
        .post(url("/api/v1/auth/keep-alive"))
        .bearer_auth(&oauth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_expire() {
    let sim = Simulator::start(SimulatorConfig {
        token_lifetimes: TokenLifetimes {
            jamf_oauth: Duration::ZERO,
            ..Default::default()
        },
        ..config(10)
    })
    .await
    .unwrap();
    let c = client();
    let token = jamf_token(&c, &sim).await;
    assert_eq!(
        get_json(
            &c,
            &format!("{}/api/v1/jamf-pro-version", sim.jamf_url()),
            &token
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );

    let sim = start(10).await;
    let token = jamf_token(&c, &sim).await;
    let abm = abm_token(&c, &sim).await;
    assert_eq!(
        get_json(
            &c,
            &format!("{}/api/v1/jamf-pro-version", sim.jamf_url()),
            &token
        )
        .await
        .0,
        StatusCode::OK
    );
    sim.expire_tokens();
    assert_eq!(
        get_json(
            &c,
            &format!("{}/api/v1/jamf-pro-version", sim.jamf_url()),
            &token
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = get_json(&c, &format!("{}/v1/orgDevices", sim.abm_url()), &abm).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["status"], "401");
}

#[tokio::test]
async fn kandji_bearer_token() {
    let sim = start(20).await;
    let c = client();
    let url = format!("{}/api/v1/devices", sim.kandji_url());
    let (status, body) = get_json(&c, &url, sim.credentials().kandji_token.expose_secret()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_array());
    let (status, body) = get_json(&c, &url, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "Invalid token.");
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["x-ratelimit-limit-hour"], "10000");
}

/// The simulator counts how many requests of a vendor it holds at once:
/// the fetch bench's concurrency. One after another is 1; four sent together
/// while each is held by a latency are more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_counts_concurrent_requests() {
    let sim = start(20).await;
    let c = client();
    let url = format!("{}/api/v1/devices", sim.kandji_url());
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    for _ in 0..3 {
        get_json(&c, &url, &token).await;
    }
    assert_eq!(sim.stats().kandji.max_in_flight, 1);
    assert_eq!(sim.stats().jamf.max_in_flight, 0);
    // A latency keeps each request in the simulator long enough to overlap.
    sim.set_latency(Duration::from_millis(200));
    sim.reset_stats();
    let four = (0..4).map(|_| get_json(&c, &url, &token));
    futures::future::join_all(four).await;
    let seen = sim.stats().kandji.max_in_flight;
    assert!((2..=4).contains(&seen), "{seen}");
}

#[tokio::test]
async fn abm_assertion_checked_against_the_configured_key() {
    let sim = start(20).await;
    let c = client();
    let creds = sim.credentials();
    let good_key = pkcs8_der(creds.abm_private_key_pem.expose_secret());
    let token = abm_token(&c, &sim).await;

    // Signed with another key.
    let other = SimCredentials::generate();
    let other_key = pkcs8_der(other.abm_private_key_pem.expose_secret());
    let resp = abm_token_request(
        &c,
        &sim,
        &assertion(creds, &other_key, json!({}), None),
        "business.api",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("signature")
    );

    let now = chrono::Utc::now().timestamp();
    for (patch, kid, scope) in [
        (
            json!({"aud": "https://account.apple.com/auth/oauth2/token"}),
            None,
            "business.api",
        ),
        (
            json!({"exp": now - 10, "iat": now - 100}),
            None,
            "business.api",
        ),
        (json!({"exp": now + 181 * 86_400}), None, "business.api"),
        (json!({"iss": "someone-else"}), None, "business.api"),
        (json!({}), Some("another-key-id"), "business.api"),
    ] {
        let resp = abm_token_request(
            &c,
            &sim,
            &assertion(creds, &good_key, patch.clone(), kid),
            scope,
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{patch} {kid:?}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_client",
            "{patch}"
        );
    }
    let resp = abm_token_request(
        &c,
        &sim,
        &assertion(creds, &good_key, json!({}), None),
        "school.api",
    )
    .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    // 180 days exactly is accepted.
    let resp = abm_token_request(
        &c,
        &sim,
        &assertion(creds, &good_key, json!({"exp": now + 180 * 86_400}), None),
        "business.api",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The API: bearer and Accept: application/json required.
    let url = format!("{}/v1/orgDevices", sim.abm_url());
    let resp = c.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
    let resp = c
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["errors"][0]["code"],
        "NOT_AUTHORIZED"
    );
    let (status, body) = get_json(&c, &url, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"].as_array().is_some_and(|d| !d.is_empty()));
}

// ------------------------------------------------------------------ paging

async fn jamf_collect(
    c: &reqwest::Client,
    url: &str,
    token: &str,
    page_size: usize,
) -> (usize, Vec<Value>, usize) {
    let mut all = Vec::new();
    let mut total = 0;
    let mut pages = 0;
    for page in 0.. {
        let sep = if url.contains('?') { '&' } else { '?' };
        let (status, body) = get_json(
            c,
            &format!("{url}{sep}page={page}&page-size={page_size}&sort=id:asc"),
            token,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        total = body["totalCount"].as_u64().unwrap() as usize;
        let results = body["results"].as_array().unwrap().clone();
        pages += 1;
        if results.is_empty() {
            break;
        }
        all.extend(results);
        if all.len() >= total {
            break;
        }
    }
    (total, all, pages)
}

#[tokio::test]
async fn jamf_paging_is_capped_at_2000_and_covers_every_record_once() {
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 7000,
            seed: 5,
            jamf_share: 0.9,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let counts = sim.fleet().counts();
    assert!(counts.jamf_computers > 2000, "{counts:?}");

    let url = format!(
        "{}/api/v3/computers-inventory?section=GENERAL&section=HARDWARE",
        sim.jamf_url()
    );
    let (status, body) = get_json(&c, &format!("{url}&page-size=5000"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"].as_array().unwrap().len(), 2000);
    assert_eq!(
        body["totalCount"].as_u64().unwrap() as usize,
        counts.jamf_computers
    );

    let (total, all, pages) = jamf_collect(&c, &url, &token, 5000).await;
    assert_eq!(total, counts.jamf_computers);
    assert_eq!(pages, counts.jamf_computers.div_ceil(2000));
    let ids: HashSet<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "no record twice");
    let expected: HashSet<String> = sim
        .fleet()
        .jamf_computers()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect());
    // Sections not asked for are null; asked for are present.
    assert!(all[0]["hardware"]["serialNumber"].is_string());
    assert!(all[0]["purchasing"].is_null());
    assert!(
        all[0]["general"]["lastContactTime"].is_string(),
        "v3 has lastContactTime"
    );

    // Mobile devices, list and detail.
    let (total, mobiles, _) = jamf_collect(
        &c,
        &format!("{}/api/v2/mobile-devices", sim.jamf_url()),
        &token,
        700,
    )
    .await;
    assert_eq!(total, counts.jamf_mobile_devices);
    let ids: HashSet<&str> = mobiles.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), counts.jamf_mobile_devices);
    let detail_url = format!(
        "{}/api/v2/mobile-devices/detail?section=HARDWARE&exception-handling=LENIENT",
        sim.jamf_url()
    );
    let (total, details, _) = jamf_collect(&c, &detail_url, &token, 1000).await;
    assert_eq!(total, counts.jamf_mobile_devices);
    let ids: HashSet<&str> = details
        .iter()
        .map(|r| r["mobileDeviceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), counts.jamf_mobile_devices);
}

#[tokio::test]
async fn kandji_paging_caps_limit_at_300_and_covers_every_device_once() {
    let sim = start(1500).await;
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let expected: HashSet<String> = sim
        .fleet()
        .kandji_devices()
        .iter()
        .map(|&i| {
            sim.fleet()
                .device(i)
                .unwrap()
                .kandji_id
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(expected.len() > 300);
    let (_, first) = get_json(
        &c,
        &format!("{}/api/v1/devices?limit=1000", sim.kandji_url()),
        &token,
    )
    .await;
    assert_eq!(first.as_array().unwrap().len(), 300);
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let (status, page) = get_json(
            &c,
            &format!(
                "{}/api/v1/devices?limit=300&offset={offset}&ordering=serial_number",
                sim.kandji_url()
            ),
            &token,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        seen.extend(
            page.into_iter()
                .map(|d| d["device_id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);
    let serial_sorted = {
        let (_, page) = get_json(
            &c,
            &format!(
                "{}/api/v1/devices?ordering=serial_number&limit=5",
                sim.kandji_url()
            ),
            &token,
        )
        .await;
        page.as_array()
            .unwrap()
            .iter()
            .map(|d| d["serial_number"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let mut sorted = serial_sorted.clone();
    sorted.sort();
    assert_eq!(serial_sorted, sorted);
    // Filters.
    let mac_count = sim
        .fleet()
        .kandji_devices()
        .iter()
        .filter(|&&i| sim.fleet().device(i).unwrap().model.kind.is_mac())
        .count();
    let mut macs = 0;
    let mut offset = 0;
    loop {
        let (_, page) = get_json(
            &c,
            &format!(
                "{}/api/v1/devices?platform=mac&offset={offset}",
                sim.kandji_url()
            ),
            &token,
        )
        .await;
        let n = page.as_array().unwrap().len();
        macs += n;
        offset += n;
        if n == 0 {
            break;
        }
    }
    assert_eq!(macs, mac_count);
}

#[tokio::test]
async fn kandji_users_next_link_points_at_another_host() {
    let sim = start(400).await;
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let mut url = format!("{}/api/v1/users?limit=50", sim.kandji_url());
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = get_json(&c, &url, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        ids.extend(
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        let Some(next) = body["next"].as_str() else {
            break;
        };
        let next = url::Url::parse(next).unwrap();
        assert_eq!(next.host_str(), Some("example.kandji.io"));
        let cursor = next
            .query_pairs()
            .find(|(k, _)| k == "cursor")
            .unwrap()
            .1
            .to_string();
        url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/users", sim.kandji_url()),
            &[("limit", "50"), ("cursor", &cursor)],
        )
        .unwrap()
        .to_string();
    }
    assert!(pages > 2);
    assert_eq!(ids.len(), sim.fleet().counts().kandji_users);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    let (status, _) = get_json(
        &c,
        &format!("{}/api/v1/users?cursor=bm9wZQ", sim.kandji_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn abm_serials(
    c: &reqwest::Client,
    sim: &Simulator,
    token: &str,
    limit: usize,
) -> (Vec<String>, usize) {
    let mut serials = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = reqwest::Url::parse(&format!("{}/v1/orgDevices", sim.abm_url())).unwrap();
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        if let Some(cur) = &cursor {
            url.query_pairs_mut().append_pair("cursor", cur);
        }
        let (status, body) = get_json(c, url.as_str(), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        serials.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_string()),
        );
        match body["meta"]["paging"]["nextCursor"].as_str() {
            Some(next) => {
                assert!(
                    body["links"]["next"]
                        .as_str()
                        .unwrap()
                        .starts_with(&sim.abm_url())
                );
                cursor = Some(next.to_string());
            }
            None => {
                assert!(body["links"].get("next").is_none());
                break;
            }
        }
    }
    (serials, pages)
}

#[tokio::test]
async fn abm_cursor_paging_covers_every_device_once() {
    let sim = start(2500).await;
    let c = client();
    let token = abm_token(&c, &sim).await;
    let expected = sim.fleet().counts().abm_devices;
    let (serials, pages) = abm_serials(&c, &sim, &token, 1000).await;
    assert_eq!(serials.len(), expected);
    assert_eq!(pages, expected.div_ceil(1000));
    assert_eq!(serials.iter().collect::<HashSet<_>>().len(), expected);

    let (status, body) = get_json(
        &c,
        &format!("{}/v1/orgDevices?limit=1001", sim.abm_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["source"]["parameter"], "limit");
    let (status, _) = get_json(
        &c,
        &format!("{}/v1/orgDevices?cursor=garbage", sim.abm_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = get_json(&c, &format!("{}/v1/orgDevices", sim.abm_url()), &token).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 100, "default limit");
}

// ------------------------------------------------------------------ fleet vs vendors

#[tokio::test]
async fn served_counts_match_the_fleet_and_serials_are_shared() {
    let sim = start(600).await;
    let c = client();
    let fleet = sim.fleet();
    let counts = fleet.counts();
    assert_eq!(counts.physical_devices, 600);
    assert!(counts.in_all_three >= 1);
    assert_eq!(counts.jamf_duplicate_records, 1);
    assert!(
        counts.abm_devices > 450 && counts.abm_devices < 600,
        "{counts:?}"
    );
    assert!(
        counts.kandji_devices > 150 && counts.jamf_physical_devices > 150,
        "{counts:?}"
    );
    assert!(counts.abm_only > 0);

    let jamf = jamf_token(&c, &sim).await;
    let (_, computers, _) = jamf_collect(
        &c,
        &format!(
            "{}/api/v1/computers-inventory?section=HARDWARE",
            sim.jamf_url()
        ),
        &jamf,
        2000,
    )
    .await;
    let (_, mobiles, _) = jamf_collect(
        &c,
        &format!("{}/api/v2/mobile-devices", sim.jamf_url()),
        &jamf,
        2000,
    )
    .await;
    assert_eq!(
        computers.len() + mobiles.len(),
        counts.jamf_computers + counts.jamf_mobile_devices
    );
    let mut jamf_serials: HashMap<String, usize> = HashMap::new();
    for s in computers
        .iter()
        .map(|r| r["hardware"]["serialNumber"].as_str().unwrap())
        .chain(mobiles.iter().map(|r| r["serialNumber"].as_str().unwrap()))
    {
        *jamf_serials.entry(s.to_string()).or_insert(0) += 1;
    }
    let twice: Vec<&String> = jamf_serials
        .iter()
        .filter(|(_, n)| **n == 2)
        .map(|(s, _)| s)
        .collect();
    assert_eq!(twice.len(), 1);
    assert_eq!(twice[0], fleet.jamf_reenrolled_serials()[0]);

    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let mut kandji_serials = HashSet::new();
    let mut offset = 0;
    loop {
        let (_, page) = get_json(
            &c,
            &format!("{}/api/v1/devices?offset={offset}", sim.kandji_url()),
            &token,
        )
        .await;
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        kandji_serials.extend(
            page.iter()
                .map(|d| d["serial_number"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(kandji_serials.len(), counts.kandji_devices);

    let abm = abm_token(&c, &sim).await;
    let (abm_serials, _) = abm_serials(&c, &sim, &abm, 1000).await;
    let abm_serials: HashSet<String> = abm_serials.into_iter().collect();
    assert_eq!(abm_serials.len(), counts.abm_devices);

    let jamf_set: HashSet<String> = jamf_serials.keys().cloned().collect();
    let union: HashSet<&String> = jamf_set
        .iter()
        .chain(&kandji_serials)
        .chain(&abm_serials)
        .collect();
    assert_eq!(union.len(), counts.physical_devices);
    let all_three: BTreeSet<&String> = jamf_set
        .iter()
        .filter(|s| kandji_serials.contains(*s) && abm_serials.contains(*s))
        .collect();
    let expected: BTreeSet<String> = fleet
        .serials_in_all_three()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        all_three.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    assert!(expected.contains(&fleet.migration_anchor().unwrap().serial));
    let shared = jamf_set
        .iter()
        .chain(&kandji_serials)
        .filter(|s| abm_serials.contains(*s))
        .count();
    assert!(shared > 0);
    assert_eq!(
        fleet.shared_serials().len(),
        fleet
            .devices()
            .iter()
            .filter(|d| d.vendor_count() >= 2)
            .count()
    );
}

// ------------------------------------------------------------------ quirks

#[tokio::test]
async fn jamf_quirks_filter_sections_and_classic() {
    let sim = start(300).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let base = sim.jamf_url();
    let (_, all, _) = jamf_collect(&c, &format!("{base}/api/v4/computers-inventory?section=GENERAL&section=PURCHASING&section=HARDWARE&section=USER_AND_LOCATION"), &token, 2000).await;
    assert!(
        all[0]["general"]["lastContact"].is_string(),
        "v4 has lastContact"
    );
    assert!(all[0]["general"].get("lastContactTime").is_none());
    assert!(all.iter().all(|r| r["operatingSystem"].is_null()));
    assert!(
        all.iter()
            .any(|r| r["general"]["site"] == json!({"id": "-1", "name": "None"}))
    );
    assert!(all.iter().any(|r| {
        r["purchasing"]["purchasePrice"]
            .as_str()
            .is_some_and(|p| p.starts_with('$'))
    }));
    assert!(
        all.iter()
            .any(|r| r["hardware"]["processorSpeedMhz"] == 0
                && r["hardware"]["smcVersion"].is_null())
    );
    let dates: Vec<&str> = all
        .iter()
        .map(|r| r["general"]["reportDate"].as_str().unwrap())
        .collect();
    let fractions: HashSet<usize> = dates
        .iter()
        .map(|d| d.split('.').nth(1).map_or(0, |f| f.len() - 1))
        .collect();
    assert!(fractions.len() >= 3, "variable fractions: {fractions:?}");
    assert!(
        all.iter()
            .any(|r| r["userAndLocation"]["username"].is_string()
                && r["userAndLocation"]["email"].is_null())
    );

    // Incremental filter on reportDate.
    let mut millis: Vec<i64> = dates
        .iter()
        .map(|d| {
            chrono::DateTime::parse_from_rfc3339(d)
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    millis.sort();
    let pivot = millis[millis.len() / 2];
    let expected = millis.iter().filter(|m| **m > pivot).count();
    let pivot_text = chrono::DateTime::from_timestamp_millis(pivot)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/api/v4/computers-inventory"),
        &[
            (
                "filter",
                format!("(general.platform==\"Mac\");(general.reportDate>\"{pivot_text}\")"),
            ),
            ("page-size", "2000".into()),
        ],
    )
    .unwrap();
    let (status, body) = get_json(&c, url.as_str(), &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalCount"].as_u64().unwrap() as usize, expected);
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/api/v4/computers-inventory"),
        &[("filter", "bogus.field==1")],
    )
    .unwrap();
    let (status, body) = get_json(&c, url.as_str(), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0]["description"]
            .as_str()
            .unwrap()
            .contains("Cannot filter by field")
    );

    // Detail, 404.
    let id = all[0]["id"].as_str().unwrap();
    let (status, detail) = get_json(
        &c,
        &format!("{base}/api/v1/computers-inventory-detail/{id}"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail["operatingSystem"]["version"].is_string() && detail["plugins"].is_array());
    let (status, body) = get_json(
        &c,
        &format!("{base}/api/v1/computers-inventory-detail/999999"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["httpStatus"], 404);

    // Mobile detail STRICT fails on the broken device; LENIENT nulls its section.
    let (status, body) = get_json(
        &c,
        &format!("{base}/api/v2/mobile-devices/detail?section=SECURITY&page-size=2000"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({"httpStatus": 500, "errors": []}));
    let (status, body) = get_json(&c, &format!("{base}/api/v2/mobile-devices/detail?section=SECURITY&page-size=2000&exception-handling=LENIENT"), &token).await;
    assert_eq!(status, StatusCode::OK);
    let results = body["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["deviceType"] == "iOS" && r["security"].is_null())
    );
    let mid = results.iter().find(|r| r["deviceType"] == "iOS").unwrap()["mobileDeviceId"]
        .as_str()
        .unwrap();
    let (status, one) = get_json(
        &c,
        &format!("{base}/api/v2/mobile-devices/{mid}/detail"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["type"], "ios");
    assert!(one["ios"]["model"].is_string());

    // Buildings, departments, sites.
    let (_, b) = get_json(&c, &format!("{base}/api/v1/buildings"), &token).await;
    assert_eq!(b["totalCount"], 4);
    let (_, s) = get_json(&c, &format!("{base}/api/v1/sites"), &token).await;
    assert!(s.is_array());

    // Classic users: JSON labelled text/plain.
    let resp = c
        .get(format!("{base}/JSSResource/users"))
        .bearer_auth(&token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let users: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    let first = users["users"][0]["id"].as_u64().unwrap();
    let resp = c
        .get(format!("{base}/JSSResource/users/id/{first}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let user: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(user["user"]["id"], first);
    assert_eq!(user["user"]["ldap_server"]["id"], -1);
    let resp = c
        .get(format!("{base}/JSSResource/computers/subset/basic"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let basic: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(
        basic["computers"].as_array().unwrap().len(),
        sim.fleet().counts().jamf_computers
    );
    assert!(
        basic["computers"][0]["report_date_utc"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    let resp = c
        .get(format!("{base}/JSSResource/accounts/userid/1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let account: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert!(
        account["account"]["privileges"]["jss_objects"]
            .as_array()
            .unwrap()
            .contains(&json!("Read Computers"))
    );
    let resp = c
        .get(format!("{base}/JSSResource/users/id/0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("Status page"));
}

#[tokio::test]
async fn kandji_quirks() {
    let sim = start(600).await;
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let (_, page) = get_json(
            &c,
            &format!("{}/api/v1/devices?offset={offset}", sim.kandji_url()),
            &token,
        )
        .await;
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        all.extend(page);
    }
    assert!(all.iter().any(|d| d["user"] == ""));
    assert!(all.iter().any(|d| d["user"]["id"].is_u64()));
    assert!(all.iter().any(|d| d["user"]["id"].is_string()));
    assert!(all.iter().any(|d| d["last_check_in"] == ""));
    assert!(all.iter().any(|d| {
        d["last_check_in"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    }));
    let fe = all[0]["first_enrollment"].as_str().unwrap();
    assert!(fe.contains(' ') && fe.ends_with("+00:00"), "{fe}");

    for platform in ["Mac", "iPhone", "iPad", "AppleTV"] {
        let d = all
            .iter()
            .find(|d| d["platform"] == platform)
            .unwrap_or_else(|| panic!("no {platform}"));
        let id = d["device_id"].as_str().unwrap();
        let (status, details) = get_json(
            &c,
            &format!("{}/api/v1/devices/{id}/details", sim.kandji_url()),
            &token,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(details["mdm"]["mdm_enabled"], "True");
        assert_eq!(
            details["hardware_overview"]["serial_number"],
            d["serial_number"]
        );
        match platform {
            "Mac" => assert!(
                details["hardware_overview"]["model_identifier"].is_string()
                    && details["hardware_overview"]["udid"].is_string()
            ),
            "AppleTV" => {
                assert!(details.get("lost_mode").is_none() && details.get("cellular").is_none());
                assert!(details["mdm"].get("supervised").is_none());
            }
            _ => assert!(details["hardware_overview"]["uuid"].is_string()),
        }
        let (status, one) = get_json(
            &c,
            &format!("{}/api/v1/devices/{id}", sim.kandji_url()),
            &token,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&one, d);
    }
    let (status, body) = get_json(
        &c,
        &format!(
            "{}/api/v1/devices/{}",
            sim.kandji_url(),
            uuid::Uuid::new_v4()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "Not found.");
    let mac = all.iter().find(|d| d["platform"] == "Mac").unwrap();
    let (status, apps) = get_json(
        &c,
        &format!(
            "{}/api/v1/devices/{}/apps",
            sim.kandji_url(),
            mac["device_id"].as_str().unwrap()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(apps["device_id"], mac["device_id"]);
    assert!(!apps["apps"].as_array().unwrap().is_empty());
    let (status, one_bp) = get_json(
        &c,
        &format!(
            "{}/api/v1/blueprints/{}",
            sim.kandji_url(),
            mac["blueprint_id"].as_str().unwrap()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one_bp["name"], mac["blueprint_name"]);
    let (_, bp) = get_json(
        &c,
        &format!("{}/api/v1/blueprints", sim.kandji_url()),
        &token,
    )
    .await;
    assert_eq!(bp["count"], 4);
    let (_, tags) = get_json(
        &c,
        &format!("{}/api/v1/tags?search=vip", sim.kandji_url()),
        &token,
    )
    .await;
    assert_eq!(tags["results"][0]["name"], "vip");
}

#[tokio::test]
async fn abm_quirks_and_endpoints() {
    let sim = start(800).await;
    let c = client();
    let token = abm_token(&c, &sim).await;
    let base = sim.abm_url();
    let (_, page) = get_json(&c, &format!("{base}/v1/orgDevices?limit=1000"), &token).await;
    let data = page["data"].as_array().unwrap();
    let attrs: Vec<&Value> = data.iter().map(|d| &d["attributes"]).collect();
    assert!(attrs.iter().any(|a| a.get("purchaseSourceUid").is_some()));
    assert!(attrs.iter().any(|a| a.get("purchaseSourceId").is_some()));
    assert!(attrs.iter().any(|a| a["wifiMacAddress"].is_array()));
    assert!(attrs.iter().any(|a| a["wifiMacAddress"].is_string()));
    assert!(attrs.iter().any(|a| a["color"] == ""));
    assert!(
        attrs.iter().any(|a| a["status"] == "ASSIGNED")
            && attrs.iter().any(|a| a["status"] == "UNASSIGNED")
    );
    assert!(attrs.iter().any(|a| a["imei"].is_array()));

    let (status, sparse) = get_json(
        &c,
        &format!("{base}/v1/orgDevices?fields%5BorgDevices%5D=serialNumber,status&limit=5"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let keys: BTreeSet<&str> = sparse["data"][0]["attributes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["serialNumber", "status"]));
    assert!(sparse["data"][0].get("relationships").is_none());
    let (status, _) = get_json(
        &c,
        &format!("{base}/v1/orgDevices?fields%5BorgDevices%5D=bogus"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let assigned = data
        .iter()
        .find(|d| d["attributes"]["status"] == "ASSIGNED")
        .unwrap();
    let serial = assigned["id"].as_str().unwrap();
    let (status, one) = get_json(&c, &format!("{base}/v1/orgDevices/{serial}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"]["id"], serial);
    let (_, link) = get_json(
        &c,
        &format!("{base}/v1/orgDevices/{serial}/relationships/assignedServer"),
        &token,
    )
    .await;
    let server_id = link["data"]["id"].as_str().unwrap().to_string();
    let (_, server) = get_json(
        &c,
        &format!("{base}/v1/orgDevices/{serial}/assignedServer"),
        &token,
    )
    .await;
    assert_eq!(server["data"]["id"], server_id.as_str());
    let (_, ac) = get_json(
        &c,
        &format!("{base}/v1/orgDevices/{serial}/appleCareCoverage"),
        &token,
    )
    .await;
    assert_eq!(
        ac["data"][0]["attributes"]["description"],
        "Limited Warranty"
    );
    let (status, lock) = get_json(
        &c,
        &format!("{base}/v1/orgDevices/{serial}/activationLockStatus"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(lock["data"]["attributes"]["isLocked"].is_boolean());
    let (status, nf) = get_json(&c, &format!("{base}/v1/orgDevices/NOPE123"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(nf["errors"][0]["code"], "NOT_FOUND");

    // Servers and their devices add up to the assigned devices.
    let (_, servers) = get_json(&c, &format!("{base}/v1/mdmServers"), &token).await;
    let mut assigned_total = 0;
    for s in servers["data"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(cur) => format!(
                    "{base}/v1/mdmServers/{id}/relationships/devices?limit=100&cursor={cur}"
                ),
                None => format!("{base}/v1/mdmServers/{id}/relationships/devices?limit=100"),
            };
            let (status, body) = get_json(&c, &url, &token).await;
            assert_eq!(status, StatusCode::OK);
            assigned_total += body["data"].as_array().unwrap().len();
            match body["meta"]["paging"]["nextCursor"].as_str() {
                Some(n) => cursor = Some(n.to_string()),
                None => break,
            }
        }
        let (status, _) = get_json(&c, &format!("{base}/v1/mdmServers/{id}/devices"), &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let expected = sim
        .fleet()
        .devices()
        .iter()
        .filter(|d| d.abm_server().is_some())
        .count();
    assert_eq!(assigned_total, expected);

    // Activities.
    let body = json!({"data": {"type": "orgDeviceActivities", "attributes": {"activityType": "ASSIGN_DEVICES"},
        "relationships": {"mdmServer": {"data": {"type": "mdmServers", "id": server_id}},
            "devices": {"data": [{"type": "orgDevices", "id": serial}]}}}});
    let resp = c
        .post(format!("{base}/v1/orgDeviceActivities"))
        .bearer_auth(&token)
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["data"]["attributes"]["status"], "IN_PROGRESS");
    let aid = created["data"]["id"].as_str().unwrap();
    let (status, act) = get_json(&c, &format!("{base}/v1/orgDeviceActivities/{aid}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(act["data"]["attributes"]["status"], "COMPLETED");
}

// ------------------------------------------------------------------ faults

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    TransportError,
}

/// Walks Kandji's device list with retries; returns every attempt's outcome and the pages.
async fn walk_with_retries(sim: &Simulator) -> (Vec<Outcome>, Vec<Value>) {
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let mut outcomes = Vec::new();
    let mut pages = Vec::new();
    let mut offset = 0;
    loop {
        let url = format!(
            "{}/api/v1/devices?limit=20&offset={offset}",
            sim.kandji_url()
        );
        let page = loop {
            match c.get(&url).bearer_auth(&token).send().await {
                Err(_) => outcomes.push(Outcome::TransportError),
                Ok(resp) => {
                    let status = resp.status();
                    outcomes.push(Outcome::Status(status.as_u16()));
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        assert_eq!(resp.headers()["retry-after"], "1");
                    }
                    if status == StatusCode::OK {
                        break resp.json::<Value>().await.unwrap();
                    }
                }
            }
            assert!(outcomes.len() < 10_000, "no progress");
        };
        let n = page.as_array().unwrap().len();
        pages.push(page);
        if n == 0 {
            break;
        }
        offset += n;
    }
    for i in 0..30 {
        let url = format!(
            "{}/api/v1/devices/{}",
            sim.kandji_url(),
            sim.fleet()
                .device(sim.fleet().kandji_devices()[i])
                .unwrap()
                .kandji_id
                .unwrap()
        );
        loop {
            match c.get(&url).bearer_auth(&token).send().await {
                Err(_) => outcomes.push(Outcome::TransportError),
                Ok(resp) => {
                    outcomes.push(Outcome::Status(resp.status().as_u16()));
                    if resp.status() == StatusCode::OK {
                        break;
                    }
                }
            }
        }
    }
    (outcomes, pages)
}

#[tokio::test]
async fn faults_are_deterministic_and_never_change_data() {
    let faulty = || SimulatorConfig {
        fault_rate: 0.3,
        fault_seed: 99,
        ..config(400)
    };
    let a = Simulator::start(faulty()).await.unwrap();
    let b = Simulator::start(faulty()).await.unwrap();
    let clean = start(400).await;
    let (outcomes_a, pages_a) = walk_with_retries(&a).await;
    let (outcomes_b, pages_b) = walk_with_retries(&b).await;
    let (outcomes_clean, pages_clean) = walk_with_retries(&clean).await;
    assert_eq!(outcomes_a, outcomes_b, "same seed, same faults");
    assert_eq!(pages_a, pages_clean, "faults never change data");
    assert_eq!(pages_a, pages_b);
    assert!(outcomes_clean.iter().all(|o| *o == Outcome::Status(200)));

    let faults = outcomes_a
        .iter()
        .filter(|o| **o != Outcome::Status(200))
        .count();
    let rate = faults as f64 / outcomes_a.len() as f64;
    assert!((0.15..0.45).contains(&rate), "observed fault rate {rate}");
    assert!(outcomes_a.contains(&Outcome::Status(429)));
    assert!(outcomes_a.contains(&Outcome::Status(503)));
    assert!(outcomes_a.contains(&Outcome::TransportError));
    assert!(
        !outcomes_a.contains(&Outcome::Status(401)),
        "Kandji tokens never expire"
    );
    let stats = a.stats();
    assert_eq!(stats.faults().total() as usize, faults);
    assert_eq!(
        stats.kandji.faults.connection_reset as usize,
        outcomes_a
            .iter()
            .filter(|o| **o == Outcome::TransportError)
            .count()
    );
    assert_eq!(stats.kandji.requests as usize, outcomes_a.len());
    assert_eq!(
        stats.vendor(Vendor::Kandji).endpoints["GET /api/v1/devices/{id}"] as usize,
        outcomes_a.len() - stats.kandji.endpoints["GET /api/v1/devices"] as usize
    );

    let other = Simulator::start(SimulatorConfig {
        fault_seed: 100,
        ..faulty()
    })
    .await
    .unwrap();
    let (outcomes_other, _) = walk_with_retries(&other).await;
    assert_ne!(outcomes_a, outcomes_other, "another seed, other faults");
}

#[tokio::test]
async fn connection_reset_drops_the_connection_without_a_response() {
    let sim = Simulator::start(SimulatorConfig {
        fault_rate: 1.0,
        fault_kinds: vec![FaultKind::ConnectionReset],
        max_consecutive_faults: 1,
        ..config(10)
    })
    .await
    .unwrap();
    let c = client();
    let url = format!("{}/api/v1/devices", sim.kandji_url());
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let err = c.get(&url).bearer_auth(&token).send().await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    let ok = c.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(sim.stats().kandji.faults.connection_reset, 1);
}

#[tokio::test]
async fn expired_token_fault_revokes_the_token_and_re_auth_works() {
    let sim = Simulator::start(SimulatorConfig {
        fault_rate: 1.0,
        fault_kinds: vec![FaultKind::ExpiredToken],
        max_consecutive_faults: 1,
        ..config(10)
    })
    .await
    .unwrap();
    let c = client();
    let url = format!("{}/api/v1/jamf-pro-version", sim.jamf_url());
    let t1 = jamf_token(&c, &sim).await;
    let (status, body) = get_json(&c, &url, &t1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["code"], "INVALID_TOKEN");
    // Re-authenticate and retry: the retry is not faulted (max 1 in a row).
    let t2 = jamf_token(&c, &sim).await;
    assert_eq!(get_json(&c, &url, &t2).await.0, StatusCode::OK);
    // The fault revoked t1 for good (token endpoints are never faulted by default).
    let resp = c
        .post(format!("{}/api/v1/auth/invalidate-token", sim.jamf_url()))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = c
        .post(format!("{}/api/v1/auth/invalidate-token", sim.jamf_url()))
        .bearer_auth(&t2)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let stats = sim.stats();
    assert_eq!(stats.jamf.faults.expired_token, 1);
    assert_eq!(stats.jamf.token_requests, 4);
}

#[tokio::test]
async fn kandji_mutation_adds_and_removes_between_pages() {
    let sim = Simulator::start(SimulatorConfig {
        mutate_kandji_between_pages: true,
        ..config(500)
    })
    .await
    .unwrap();
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let mut seen = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let (_, page) = get_json(
            &c,
            &format!(
                "{}/api/v1/devices?limit=50&offset={offset}",
                sim.kandji_url()
            ),
            &token,
        )
        .await;
        let page = page.as_array().unwrap().clone();
        pages += 1;
        if page.is_empty() {
            break;
        }
        offset += page.len();
        seen.extend(
            page.iter()
                .map(|d| d["serial_number"].as_str().unwrap().to_string()),
        );
    }
    let m = sim.kandji_mutations();
    assert_eq!(m.generation, pages);
    assert_eq!(m.added.len() as u64, pages);
    assert_eq!(m.removed.len() as u64, pages);
    // The walk saw added devices (appended at the end) that the fleet does not have.
    assert!(seen.iter().any(|s| m.added.contains(s)));
    assert!(
        seen.iter()
            .all(|s| sim.fleet().device_by_serial(s).is_some() || m.added.contains(s))
    );
    // A removed device is gone from the detail endpoint.
    let removed = sim.fleet().device_by_serial(&m.removed[0]).unwrap();
    let (status, _) = get_json(
        &c,
        &format!(
            "{}/api/v1/devices/{}",
            sim.kandji_url(),
            removed.kandji_id.unwrap()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without the option nothing moves.
    let still = start(50).await;
    let _ = get_json(
        &c,
        &format!("{}/api/v1/devices", still.kandji_url()),
        &token,
    )
    .await;
    assert_eq!(still.kandji_mutations().generation, 0);
}

// ------------------------------------------------------------------ handle

#[tokio::test]
async fn handle_urls_stats_exports_and_shutdown() {
    let sim = start(30).await;
    let port = sim.addr().port();
    assert!(sim.addr().ip().is_loopback());
    assert_eq!(sim.jamf_url(), format!("http://127.0.0.1:{port}/jamf"));
    assert_eq!(sim.kandji_url(), format!("http://127.0.0.1:{port}/kandji"));
    assert_eq!(sim.abm_url(), format!("http://127.0.0.1:{port}/abm"));
    assert_eq!(
        sim.abm_token_url(),
        format!("http://127.0.0.1:{port}/abm-auth/auth/oauth2/token")
    );
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let _ = get_json(
        &c,
        &format!("{}/api/v1/computers-inventory", sim.jamf_url()),
        &token,
    )
    .await;
    let _ = get_json(
        &c,
        &format!("{}/api/v1/computers-inventory", sim.jamf_url()),
        &token,
    )
    .await;
    let stats = sim.stats();
    assert_eq!(stats.jamf.requests, 3);
    assert_eq!(stats.jamf.token_requests, 1);
    assert_eq!(stats.jamf.endpoints["GET /api/v1/computers-inventory"], 2);
    assert_eq!(stats.jamf.endpoints["POST /api/v1/oauth/token"], 1);
    assert_eq!(stats.total_requests(), 3);
    sim.reset_stats();
    assert_eq!(sim.stats().total_requests(), 0);

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("abm.pem");
    sim.write_abm_key(&key).unwrap();
    let written = std::fs::read_to_string(&key).unwrap();
    assert!(written.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let exports = sim.env_exports(&key);
    for name in [
        "JAMF_URL",
        "JAMF_CLIENT_ID",
        "JAMF_CLIENT_SECRET",
        "KANDJI_URL",
        "KANDJI_TOKEN",
        "ABM_URL",
        "ABM_TOKEN_URL",
        "ABM_CLIENT_ID",
        "ABM_KEY_ID",
        "ABM_PRIVATE_KEY",
    ] {
        assert!(
            exports.contains(&format!("export {name}='")),
            "{name} missing in\n{exports}"
        );
    }
    assert!(
        !format!("{:?}", sim.credentials())
            .contains(sim.credentials().kandji_token.expose_secret())
    );

    let url = format!("{}/api/v1/jamf-pro-version", sim.jamf_url());
    sim.shutdown().await;
    let fresh = client();
    assert!(fresh.get(&url).send().await.is_err(), "server is gone");
}

#[tokio::test]
async fn latency_is_applied() {
    let sim = Simulator::start(SimulatorConfig {
        latency: Duration::from_millis(30),
        ..config(5)
    })
    .await
    .unwrap();
    let c = client();
    let started = std::time::Instant::now();
    let resp = c
        .get(format!("{}/api/v1/devices", sim.kandji_url()))
        .bearer_auth(sim.credentials().kandji_token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(30));
}

#[tokio::test]
async fn set_latency_changes_the_delay_while_serving() {
    let sim = start(5).await;
    assert_eq!(sim.latency(), Duration::ZERO);
    sim.set_latency(Duration::from_millis(30));
    assert_eq!(sim.latency(), Duration::from_millis(30));
    let c = client();
    let started = std::time::Instant::now();
    let (status, _) = get_json(
        &c,
        &format!("{}/api/v1/devices", sim.kandji_url()),
        sim.credentials().kandji_token.expose_secret(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(30));
}

/// GETs `url` with a bearer; status and body with the server's base URL
/// replaced, so two simulators' bodies compare.
async fn get_text(
    c: &reqwest::Client,
    sim: &Simulator,
    path: &str,
    bearer: &str,
) -> (StatusCode, String) {
    let resp = c
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(bearer)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, text.replace(&sim.base_url(), "http://BASE"))
}

/// Jamf, Kandji and ABM bearer tokens.
async fn all_tokens(sim: &Simulator) -> (String, String, String) {
    let c = client();
    (
        jamf_token(&c, sim).await,
        sim.credentials().kandji_token.expose_secret().to_string(),
        abm_token(&c, sim).await,
    )
}

#[tokio::test]
async fn pages_served_again_are_the_pages_rendered() {
    // The same fleet twice: one simulator keeps the pages it rendered, the
    // other renders every request.
    let kept = start(400).await;
    let fresh = Simulator::start(SimulatorConfig {
        page_cache_bytes: 0,
        ..config(400)
    })
    .await
    .unwrap();
    let c = client();
    let (kept_tokens, fresh_tokens) = (all_tokens(&kept).await, all_tokens(&fresh).await);
    let users_page_2 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode("p=50")
    };
    let paths = [
        (Vendor::Jamf, "/jamf/api/v1/computers-inventory?section=GENERAL&section=HARDWARE&page=0&page-size=50&sort=id:asc".to_string()),
        (Vendor::Jamf, "/jamf/api/v1/computers-inventory?section=GENERAL&section=HARDWARE&page=1&page-size=50&sort=id:asc".to_string()),
        (Vendor::Jamf, "/jamf/api/v4/computers-inventory?section=USER_AND_LOCATION&page=1&page-size=50&sort=id:asc".to_string()),
        (Vendor::Jamf, "/jamf/api/v2/mobile-devices/detail?section=GENERAL&page=0&page-size=40&exception-handling=LENIENT".to_string()),
        (Vendor::Jamf, "/jamf/api/v2/mobile-devices/detail?section=GENERAL&page=0&page-size=1000".to_string()),
        (Vendor::Jamf, "/jamf/api/v2/mobile-devices?page=1&page-size=20".to_string()),
        (Vendor::Kandji, "/kandji/api/v1/devices?limit=100&offset=0&ordering=device_id".to_string()),
        (Vendor::Kandji, "/kandji/api/v1/devices?limit=100&offset=100&ordering=device_id".to_string()),
        (Vendor::Kandji, "/kandji/api/v1/devices?limit=30&platform=Mac&ordering=-serial_number".to_string()),
        (Vendor::Kandji, "/kandji/api/v1/users?limit=50".to_string()),
        (Vendor::Kandji, format!("/kandji/api/v1/users?limit=50&cursor={users_page_2}")),
        (Vendor::Kandji, "/kandji/api/v1/users?archived=true".to_string()),
        (Vendor::Abm, "/abm/v1/orgDevices?limit=100".to_string()),
        (Vendor::Abm, "/abm/v1/orgDevices?limit=50&fields[orgDevices]=serialNumber,imei".to_string()),
    ];
    let bearer = |t: &(String, String, String), v: Vendor| match v {
        Vendor::Jamf => t.0.clone(),
        Vendor::Kandji => t.1.clone(),
        Vendor::Abm => t.2.clone(),
    };
    let mut statuses = BTreeSet::new();
    for (vendor, path) in &paths {
        let first = get_text(&c, &kept, path, &bearer(&kept_tokens, *vendor)).await;
        let again = get_text(&c, &kept, path, &bearer(&kept_tokens, *vendor)).await;
        let rendered = get_text(&c, &fresh, path, &bearer(&fresh_tokens, *vendor)).await;
        assert_eq!(first, again, "{path}");
        assert_eq!(first, rendered, "{path}");
        statuses.insert(first.0.as_u16());
    }
    // The strict mobile page holding the broken device is a 500 each time.
    assert_eq!(statuses, BTreeSet::from([200, 500]));
    // Every request was counted, served from memory or not.
    let stats = kept.stats();
    assert_eq!(stats.jamf.endpoints["GET /api/v1/computers-inventory"], 4);
    assert_eq!(stats.jamf.endpoints["GET /api/v2/mobile-devices/detail"], 4);
    assert_eq!(stats.kandji.endpoints["GET /api/v1/devices"], 6);
    assert_eq!(stats.kandji.endpoints["GET /api/v1/users"], 6);
    assert_eq!(stats.abm.endpoints["GET /v1/orgDevices"], 4);
}

#[tokio::test]
async fn serves_100k_devices() {
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 100_000,
            seed: 3,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let counts = sim.fleet().counts();
    assert_eq!(counts.physical_devices, 100_000);
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let (status, body) = get_json(
        &c,
        &format!(
            "{}/api/v1/computers-inventory?page=10&page-size=2000&sort=id:asc",
            sim.jamf_url()
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"].as_array().unwrap().len(), 2000);
    assert_eq!(
        body["totalCount"].as_u64().unwrap() as usize,
        counts.jamf_computers
    );
    let abm = abm_token(&c, &sim).await;
    let (_, body) = get_json(
        &c,
        &format!("{}/v1/orgDevices?limit=1000", sim.abm_url()),
        &abm,
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1000);
}

#[tokio::test]
async fn token_endpoints_are_faulted_only_when_asked() {
    let always_503 = || SimulatorConfig {
        fault_rate: 1.0,
        fault_kinds: vec![FaultKind::Unavailable],
        max_consecutive_faults: 100,
        ..config(5)
    };
    let sim = Simulator::start(always_503()).await.unwrap();
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let _ = abm_token(&c, &sim).await;
    let (status, _) = get_json(
        &c,
        &format!("{}/api/v1/jamf-pro-version", sim.jamf_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sim.stats().faults().unavailable, 1);

    let sim = Simulator::start(SimulatorConfig {
        faults_on_token_endpoints: true,
        ..always_503()
    })
    .await
    .unwrap();
    let creds = sim.credentials();
    let resp = c
        .post(format!("{}/api/v1/oauth/token", sim.jamf_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.jamf_client_id.as_str()),
            ("client_secret", creds.jamf_client_secret.expose_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sim.stats().jamf.faults.unavailable, 1);
}

// ------------------------------------------------------------------ Jamf Classic inventory (the jamf2snipe pattern)

/// GET with Basic auth and `Accept: application/json`, as jamf2snipe sends.
async fn get_basic(c: &reqwest::Client, url: &str, user: &str, pass: &str) -> (StatusCode, Value) {
    let resp = c
        .get(url)
        .basic_auth(user, Some(pass))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn jamf_classic_computers_and_mobile_devices_answer_with_bearer_or_basic() {
    let sim = start(300).await;
    let c = client();
    let base = sim.jamf_url();
    let creds = sim.credentials().clone();
    let (user, pass) = (
        creds.jamf_username.as_str(),
        creds.jamf_password.expose_secret(),
    );
    let token = jamf_token(&c, &sim).await;
    let counts = sim.fleet().counts();

    let (status, computers) = get_json(&c, &format!("{base}/JSSResource/computers"), &token).await;
    assert_eq!(status, StatusCode::OK);
    let computers = computers["computers"].as_array().unwrap().clone();
    assert_eq!(computers.len(), counts.jamf_computers);
    let (status, same) = get_basic(&c, &format!("{base}/JSSResource/computers"), user, pass).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["computers"].as_array().unwrap(), &computers);

    let (status, mobiles) =
        get_basic(&c, &format!("{base}/JSSResource/mobiledevices"), user, pass).await;
    assert_eq!(status, StatusCode::OK);
    let mobiles = mobiles["mobile_devices"].as_array().unwrap().clone();
    assert_eq!(mobiles.len(), counts.jamf_mobile_devices);
    assert!(counts.jamf_mobile_devices > 0 && counts.jamf_computers > 0);

    // By id, with either kind of auth.
    let cid = computers[0]["id"].as_u64().unwrap();
    let (status, one) = get_basic(
        &c,
        &format!("{base}/JSSResource/computers/id/{cid}"),
        user,
        pass,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["computer"]["general"]["id"], cid);
    let (status, again) = get_json(
        &c,
        &format!("{base}/JSSResource/computers/id/{cid}"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, one);
    let mid = mobiles[0]["id"].as_u64().unwrap();
    let (status, mobile) = get_json(
        &c,
        &format!("{base}/JSSResource/mobiledevices/id/{mid}"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mobile["mobile_device"]["general"]["id"], mid);
    assert_eq!(
        mobile["mobile_device"]["general"]["serial_number"],
        mobiles[0]["serial_number"]
    );
}

#[tokio::test]
async fn jamf_classic_inventory_refuses_missing_or_wrong_auth_and_404s_unknown_ids() {
    let sim = start(100).await;
    let c = client();
    let base = sim.jamf_url();
    let creds = sim.credentials().clone();
    let user = creds.jamf_username.as_str();
    let token = jamf_token(&c, &sim).await;
    for path in [
        "/JSSResource/computers",
        "/JSSResource/computers/id/1",
        "/JSSResource/mobiledevices",
        "/JSSResource/mobiledevices/id/1",
    ] {
        let resp = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{path} without auth"
        );
        assert!(resp.text().await.unwrap().contains("Status page"));
        let (status, _) = get_basic(&c, &format!("{base}{path}"), user, "wrong").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{path} with a wrong password"
        );
        let (status, _) = get_json(&c, &format!("{base}{path}"), "not-a-token").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{path} with an unknown token"
        );
    }
    // Basic auth is the Classic API's only: the Jamf Pro API wants a token.
    let (status, _) = get_basic(
        &c,
        &format!("{base}/api/v1/computers-inventory"),
        user,
        creds.jamf_password.expose_secret(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for path in [
        "/JSSResource/computers/id/999999",
        "/JSSResource/computers/id/abc",
        "/JSSResource/mobiledevices/id/999999",
        "/JSSResource/mobiledevices/id/0",
    ] {
        let resp = c
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(resp.text().await.unwrap().contains("Status page"));
    }
}

#[tokio::test]
async fn jamf_classic_inventory_agrees_with_the_jamf_pro_api() {
    let sim = start(300).await;
    let c = client();
    let base = sim.jamf_url();
    let token = jamf_token(&c, &sim).await;

    // Every computer: id, name, serial and UDID as the Pro API has them.
    let (_, pro) = get_json(
        &c,
        &format!("{base}/api/v1/computers-inventory?section=GENERAL,HARDWARE&page-size=2000"),
        &token,
    )
    .await;
    let pro: BTreeSet<(u64, String, String, String)> = pro["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().parse().unwrap(),
                r["general"]["name"].as_str().unwrap().to_string(),
                r["hardware"]["serialNumber"].as_str().unwrap().to_string(),
                r["udid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let (_, list) = get_json(&c, &format!("{base}/JSSResource/computers"), &token).await;
    let mut classic = BTreeSet::new();
    for item in list["computers"].as_array().unwrap() {
        let id = item["id"].as_u64().unwrap();
        let (_, one) = get_json(&c, &format!("{base}/JSSResource/computers/id/{id}"), &token).await;
        let g = &one["computer"]["general"];
        assert_eq!(g["name"], item["name"]);
        classic.insert((
            id,
            g["name"].as_str().unwrap().to_string(),
            g["serial_number"].as_str().unwrap().to_string(),
            g["udid"].as_str().unwrap().to_string(),
        ));
    }
    assert!(!pro.is_empty());
    assert_eq!(classic, pro);

    // Every mobile device, the same way.
    let (_, pro) = get_json(
        &c,
        &format!("{base}/api/v2/mobile-devices?page-size=2000"),
        &token,
    )
    .await;
    let pro: BTreeSet<(u64, String, String, String)> = pro["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().parse().unwrap(),
                r["name"].as_str().unwrap().to_string(),
                r["serialNumber"].as_str().unwrap().to_string(),
                r["udid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let (_, list) = get_json(&c, &format!("{base}/JSSResource/mobiledevices"), &token).await;
    let mut classic = BTreeSet::new();
    for item in list["mobile_devices"].as_array().unwrap() {
        let id = item["id"].as_u64().unwrap();
        let (_, one) = get_json(
            &c,
            &format!("{base}/JSSResource/mobiledevices/id/{id}"),
            &token,
        )
        .await;
        let g = &one["mobile_device"]["general"];
        assert_eq!(g["serial_number"], item["serial_number"]);
        classic.insert((
            id,
            g["name"].as_str().unwrap().to_string(),
            g["serial_number"].as_str().unwrap().to_string(),
            g["udid"].as_str().unwrap().to_string(),
        ));
    }
    assert!(!pro.is_empty());
    assert_eq!(classic, pro);
}

#[tokio::test]
async fn counters_endpoint_reports_the_requests_of_each_vendor() {
    let sim = start(50).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let (status, _) = get_json(
        &c,
        &format!("{}/JSSResource/computers", sim.jamf_url()),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let root = sim.jamf_url().trim_end_matches("/jamf").to_string();
    let counters: Value = c
        .get(format!("{root}/_counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stats = sim.stats();
    assert_eq!(counters["jamf"]["requests"], 2);
    assert_eq!(counters["jamf"]["requests"], stats.jamf.requests);
    assert_eq!(counters["jamf"]["token_requests"], 1);
    assert_eq!(
        counters["jamf"]["endpoints"]["GET /JSSResource/computers"],
        1
    );
    assert_eq!(counters["kandji"]["requests"], 0);
}

// ------------------------------------------------------------------ denied privileges

async fn start_denying(devices: usize, denied: &[&str]) -> Simulator {
    Simulator::start(SimulatorConfig {
        denied: denied.iter().map(|s| s.to_string()).collect(),
        ..config(devices)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn jamf_denied_privilege_answers_403_and_the_rest_works() {
    // Case-insensitive, as typed on the command line.
    let sim = start_denying(30, &["read users"]).await;
    let c = client();
    // Both token endpoints still issue tokens.
    let token = jamf_token(&c, &sim).await;
    let creds = sim.credentials();
    let resp = c
        .post(format!("{}/api/v1/auth/token", sim.jamf_url()))
        .basic_auth(
            &creds.jamf_username,
            Some(creds.jamf_password.expose_secret()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let user_token = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let base = sim.jamf_url();
    for bearer in [&token, &user_token] {
        let (status, body) = get_json(&c, &format!("{base}/api/v1/users"), bearer).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            body,
            json!({"httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE", "description": "Forbidden", "id": "0", "field": null}]})
        );
    }
    for path in ["/JSSResource/users", "/JSSResource/users/id/1"] {
        let (status, text) = get_text(&c, &sim, &format!("/jamf{path}"), &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            text.contains("Status page") && text.contains("Forbidden"),
            "{text}"
        );
    }
    // A missing token is still a 401, before the privilege.
    let resp = c.get(format!("{base}/api/v1/users")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Everything else answers.
    for path in [
        "/api/v1/buildings",
        "/api/v1/sites",
        "/api/v3/computers-inventory",
        "/api/v2/mobile-devices",
        "/JSSResource/computers",
    ] {
        let (status, _) = get_json(&c, &format!("{base}{path}"), &token).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    // The account no longer lists the denied privilege.
    let (status, text) = get_text(&c, &sim, "/jamf/JSSResource/accounts/userid/1", &token).await;
    assert_eq!(status, StatusCode::OK);
    let account: Value = serde_json::from_str(&text).unwrap();
    let privileges = account["account"]["privileges"]["jss_objects"]
        .as_array()
        .unwrap();
    assert!(privileges.contains(&json!("Read Computers")));
    assert!(!privileges.contains(&json!("Read Users")));
}

#[tokio::test]
async fn jamf_denied_computers_covers_every_inventory_version_and_classic() {
    let sim = start_denying(30, &["Read Computers"]).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let id = sim.fleet().jamf_computers()[0].id;
    for v in 1..=4 {
        for path in [
            format!("/api/v{v}/computers-inventory"),
            format!("/api/v{v}/computers-inventory/{id}"),
            format!("/api/v{v}/computers-inventory-detail/{id}"),
        ] {
            let (status, body) = get_json(&c, &format!("{}{path}", sim.jamf_url()), &token).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(body["errors"][0]["code"], "INVALID_PRIVILEGE");
        }
    }
    for path in [
        "/JSSResource/computers".to_string(),
        "/JSSResource/computers/subset/basic".to_string(),
        format!("/JSSResource/computers/id/{id}"),
    ] {
        let (status, _) = get_text(&c, &sim, &format!("/jamf{path}"), &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = get_json(&c, &format!("{}/api/v1/users", sim.jamf_url()), &token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn kandji_denied_permission_answers_403_and_the_rest_works() {
    let sim = start_denying(30, &["Device list"]).await;
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let base = sim.kandji_url();
    let (status, body) = get_json(&c, &format!("{base}/api/v1/devices"), &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"detail": "You do not have permission to perform this action."})
    );
    // The token itself is still good: a bad one is a 401, as before.
    let (status, body) = get_json(
        &c,
        &format!("{base}/api/v1/devices"),
        &uuid::Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "Invalid token.");
    for path in ["/api/v1/users", "/api/v1/blueprints", "/api/v1/tags"] {
        let (status, _) = get_json(&c, &format!("{base}{path}"), &token).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn abm_denied_scope_answers_403_and_the_rest_works() {
    let sim = start_denying(30, &["orgDevices"]).await;
    let c = client();
    // The token endpoint still issues tokens.
    let token = abm_token(&c, &sim).await;
    let base = sim.abm_url();
    let (status, body) = get_json(&c, &format!("{base}/v1/orgDevices"), &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let error = &body["errors"][0];
    assert_eq!(error["status"], "403");
    assert_eq!(error["code"], "FORBIDDEN_ERROR");
    assert_eq!(
        error["title"],
        "This request is forbidden for security reasons"
    );
    assert!(error["detail"].as_str().unwrap().contains("orgDevices"));
    assert!(error["id"].is_string());
    let (status, body) = get_json(&c, &format!("{base}/v1/mdmServers"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"].is_array());
}

#[tokio::test]
async fn abm_denied_applecare_leaves_the_devices_readable() {
    let sim = start_denying(30, &["appleCareCoverage"]).await;
    let c = client();
    let token = abm_token(&c, &sim).await;
    let base = sim.abm_url();
    let (status, page) = get_json(&c, &format!("{base}/v1/orgDevices?limit=1"), &token).await;
    assert_eq!(status, StatusCode::OK);
    let serial = page["data"][0]["id"].as_str().unwrap();
    let (status, body) = get_json(
        &c,
        &format!("{base}/v1/orgDevices/{serial}/appleCareCoverage"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["errors"][0]["code"], "FORBIDDEN_ERROR");
}

#[tokio::test]
async fn unknown_privilege_names_fail_to_start_and_list_the_valid_ones() {
    let err = Simulator::start(SimulatorConfig {
        denied: vec!["Read Users".into(), "Read Everything".into()],
        ..config(10)
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("\"Read Everything\""), "{err}");
    for valid in [
        "\"Read Computers\"",
        "\"Read Smart User Groups\"",
        "\"Device list\"",
        "\"Device details\"",
        "\"orgDevices\"",
        "\"mdmServers\"",
    ] {
        assert!(err.contains(valid), "{valid} missing from: {err}");
    }
}

// ------------------------------------------------------------------ Jamf changes between syncs

/// RFC 3339 UTC in whole seconds, as Jamf filters take it.
fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .to_utc()
}

/// `url` with `filter` (URL-encoded) appended.
fn filtered(url: &str, filter: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("{url}{sep}filter={encoded}")
}

/// The ids of a page's results under `key` (`id` or `mobileDeviceId`).
fn ids(body: &Value, key: &str) -> BTreeSet<u32> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn jamf_touch_gives_computers_a_new_report_seen_by_filters_and_cached_pages() {
    let sim = start(300).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let base = format!(
        "{}/api/v1/computers-inventory?section=GENERAL&section=OPERATING_SYSTEM",
        sim.jamf_url()
    );
    // Every computer before the touch; the first page by id is now cached.
    let (total, before_all, _) = jamf_collect(&c, &base, &token, 100).await;
    assert!(total > 20, "{total}");
    let latest = before_all
        .iter()
        .map(|r| parse_time(&r["general"]["reportDate"]))
        .max()
        .unwrap();
    let old: HashMap<String, Value> = before_all
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
        .collect();
    let first_page = format!("{base}&page=0&page-size=100&sort=id:asc");
    let by_date = format!("{base}&page=0&page-size=10&sort=general.reportDate:desc");
    let (_, date_sorted_before) = get_json(&c, &by_date, &token).await;
    let before = sim.jamf_now();
    assert!(before > latest, "{before} after {latest}");
    let since = filtered(
        &base,
        &format!("general.reportDate>=\"{}\"", rfc3339(before)),
    );
    let (status, none_yet) = get_json(&c, &since, &token).await;
    assert_eq!(status, StatusCode::OK, "{none_yet}");
    assert_eq!(none_yet["totalCount"], 0, "{none_yet}");

    let touched = sim.touch_jamf(10, 0);
    let mut first_ten: Vec<u32> = old.keys().map(|id| id.parse().unwrap()).collect();
    first_ten.sort_unstable();
    first_ten.truncate(10);
    assert_eq!(touched.computers, first_ten);
    assert!(touched.mobile_devices.is_empty());
    assert!(touched.at >= before && touched.at > latest);
    let at = rfc3339(touched.at);
    let touched_ids: BTreeSet<u32> = touched.computers.iter().copied().collect();

    let check = |r: &Value| {
        let id = r["id"].as_str().unwrap();
        let was = &old[id];
        if touched_ids.contains(&id.parse().unwrap()) {
            assert_eq!(r["general"]["reportDate"], at.as_str(), "{r}");
            assert_eq!(r["general"]["lastContactTime"], at.as_str(), "{r}");
            assert_eq!(r["operatingSystem"]["version"], "15.4", "{r}");
            assert_ne!(
                r["operatingSystem"]["version"],
                was["operatingSystem"]["version"]
            );
            assert_eq!(r["general"]["name"], was["general"]["name"]);
        } else {
            assert_eq!(r, was, "untouched computer {id} changed");
        }
    };
    // The filter the incremental sync sends returns exactly the touched ones
    // (also when the empty answer was served before the touch).
    for filter in [
        format!("general.reportDate>=\"{}\"", rfc3339(before)),
        format!(
            "(general.reportDate>\"{}\")",
            rfc3339(before - chrono::Duration::seconds(1))
        ),
    ] {
        let (status, body) = get_json(&c, &filtered(&base, &filter), &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["totalCount"], 10, "{filter}: {body}");
        assert_eq!(ids(&body, "id"), touched_ids, "{filter}");
        body["results"].as_array().unwrap().iter().for_each(check);
    }
    // The page cached before the touch shows the new values.
    let (_, page) = get_json(&c, &first_page, &token).await;
    assert!(ids(&page, "id").is_superset(&touched_ids));
    page["results"].as_array().unwrap().iter().for_each(check);
    // So does every other page, and every version.
    let (after_total, after_all, _) = jamf_collect(&c, &base, &token, 100).await;
    assert_eq!(after_total, total);
    after_all.iter().for_each(check);
    for version in [3, 4] {
        let url = format!(
            "{}/api/v{version}/computers-inventory?page=0&page-size=100&sort=id:asc",
            sim.jamf_url()
        );
        let (_, body) = get_json(
            &c,
            &filtered(&url, &format!("general.reportDate>=\"{at}\"")),
            &token,
        )
        .await;
        assert_eq!(ids(&body, "id"), touched_ids, "v{version}");
        let contact = if version == 4 {
            "lastContact"
        } else {
            "lastContactTime"
        };
        assert_eq!(body["results"][0]["general"][contact], at.as_str());
    }
    // Sorting by report date puts them first (that page was cached too).
    let (_, date_sorted) = get_json(&c, &by_date, &token).await;
    assert_ne!(date_sorted, date_sorted_before);
    assert_eq!(ids(&date_sorted, "id"), touched_ids);
    // A later time matches nothing.
    for filter in [
        format!(
            "general.reportDate>=\"{}\"",
            rfc3339(touched.at + chrono::Duration::seconds(1))
        ),
        format!("general.reportDate>\"{at}\""),
    ] {
        let (_, body) = get_json(&c, &filtered(&base, &filter), &token).await;
        assert_eq!(body["totalCount"], 0, "{filter}: {body}");
    }
    // Single-record endpoints, Pro and Classic.
    let id = touched.computers[0];
    for path in [
        format!("/api/v1/computers-inventory/{id}?section=GENERAL&section=OPERATING_SYSTEM"),
        format!("/api/v3/computers-inventory-detail/{id}"),
    ] {
        let (status, body) = get_json(&c, &format!("{}{path}", sim.jamf_url()), &token).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["general"]["reportDate"], at.as_str(), "{path}");
        assert_eq!(body["operatingSystem"]["version"], "15.4", "{path}");
    }
    let (_, classic) = get_json(
        &c,
        &format!("{}/JSSResource/computers/id/{id}", sim.jamf_url()),
        &token,
    )
    .await;
    let general = &classic["computer"]["general"];
    assert_eq!(general["report_date_epoch"], touched.at.timestamp_millis());
    assert_eq!(classic["computer"]["hardware"]["os_version"], "15.4");
    let (_, basic) = get_json(
        &c,
        &format!("{}/JSSResource/computers/subset/basic", sim.jamf_url()),
        &token,
    )
    .await;
    let row = basic["computers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    assert_eq!(row["report_date_epoch"], touched.at.timestamp_millis());

    // A second touch is later still and installs the next update.
    let again = sim.touch_jamf_ids(&[id, 999_999_999], &[]);
    assert_eq!(again.computers, [id]);
    assert!(again.at > touched.at);
    let (_, body) = get_json(
        &c,
        &filtered(
            &base,
            &format!("general.reportDate>=\"{}\"", rfc3339(again.at)),
        ),
        &token,
    )
    .await;
    assert_eq!(ids(&body, "id"), BTreeSet::from([id]));
    assert_eq!(body["results"][0]["operatingSystem"]["version"], "15.4.1");
}

#[tokio::test]
async fn jamf_touch_gives_mobile_devices_a_new_report_seen_by_the_detail_filter() {
    let sim = start(300).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let base = format!(
        "{}/api/v2/mobile-devices/detail?section=GENERAL&exception-handling=LENIENT",
        sim.jamf_url()
    );
    let first_page = format!("{base}&page=0&page-size=100&sort=mobileDeviceId:asc");
    let (_, page_before) = get_json(&c, &first_page, &token).await;
    let old: HashMap<String, Value> = page_before["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["mobileDeviceId"].as_str().unwrap().to_string(), r.clone()))
        .collect();
    assert!(old.len() > 10);
    let total = page_before["totalCount"].as_u64().unwrap();
    let before = sim.jamf_now();
    let since = filtered(
        &base,
        &format!("lastInventoryUpdateDate>=\"{}\"", rfc3339(before)),
    );
    let (status, none_yet) = get_json(&c, &since, &token).await;
    assert_eq!(status, StatusCode::OK, "{none_yet}");
    assert_eq!(none_yet["totalCount"], 0);
    // Every generated date is earlier than the clock.
    let (_, everything) = get_json(
        &c,
        &filtered(
            &base,
            &format!("lastInventoryUpdateDate<\"{}\"", rfc3339(before)),
        ),
        &token,
    )
    .await;
    assert_eq!(everything["totalCount"].as_u64(), Some(total));

    let touched = sim.touch_jamf(0, 5);
    assert!(touched.computers.is_empty());
    assert_eq!(touched.mobile_devices.len(), 5);
    let at = rfc3339(touched.at);
    let touched_ids: BTreeSet<u32> = touched.mobile_devices.iter().copied().collect();
    let check = |r: &Value| {
        let id = r["mobileDeviceId"].as_str().unwrap();
        if touched_ids.contains(&id.parse().unwrap()) {
            assert_eq!(r["general"]["lastInventoryUpdateDate"], at.as_str(), "{r}");
            assert_eq!(r["general"]["osVersion"], "18.4", "{r}");
            assert_ne!(r["general"]["osVersion"], old[id]["general"]["osVersion"]);
        } else {
            assert_eq!(r, &old[id], "untouched mobile device {id} changed");
        }
    };
    for filter in [
        format!("lastInventoryUpdateDate>=\"{}\"", rfc3339(before)),
        format!(
            "(lastInventoryUpdateDate>\"{}\")",
            rfc3339(before - chrono::Duration::seconds(1))
        ),
    ] {
        let (status, body) = get_json(&c, &filtered(&base, &filter), &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["totalCount"], 5, "{filter}: {body}");
        assert_eq!(ids(&body, "mobileDeviceId"), touched_ids);
        body["results"].as_array().unwrap().iter().for_each(check);
    }
    // The page cached before the touch shows the new values.
    let (_, page) = get_json(&c, &first_page, &token).await;
    assert_eq!(page["totalCount"].as_u64(), Some(total));
    assert!(ids(&page, "mobileDeviceId").is_superset(&touched_ids));
    page["results"].as_array().unwrap().iter().for_each(check);
    // A later time matches nothing.
    let later = filtered(
        &base,
        &format!(
            "lastInventoryUpdateDate>=\"{}\"",
            rfc3339(touched.at + chrono::Duration::seconds(1))
        ),
    );
    let (_, body) = get_json(&c, &later, &token).await;
    assert_eq!(body["totalCount"], 0, "{body}");
    // Single-record endpoints, Pro and Classic.
    let id = touched.mobile_devices[0];
    let (_, one) = get_json(
        &c,
        &format!("{}/api/v2/mobile-devices/{id}/detail", sim.jamf_url()),
        &token,
    )
    .await;
    assert_eq!(one["lastInventoryUpdateTimestamp"], at.as_str());
    assert_eq!(one["lastContactTimestamp"], at.as_str());
    assert_eq!(one["osVersion"], "18.4");
    let (_, classic) = get_json(
        &c,
        &format!("{}/JSSResource/mobiledevices/id/{id}", sim.jamf_url()),
        &token,
    )
    .await;
    assert_eq!(
        classic["mobile_device"]["general"]["last_inventory_update_epoch"],
        touched.at.timestamp_millis()
    );
    assert_eq!(classic["mobile_device"]["general"]["os_version"], "18.4");
    // Computers were not touched.
    let computers = format!(
        "{}/api/v1/computers-inventory?page=0&page-size=10",
        sim.jamf_url()
    );
    let (_, body) = get_json(
        &c,
        &filtered(
            &computers,
            &format!("general.reportDate>=\"{}\"", rfc3339(before)),
        ),
        &token,
    )
    .await;
    assert_eq!(body["totalCount"], 0);
}

#[tokio::test]
async fn jamf_removed_computer_leaves_every_listing_and_answers_404() {
    let sim = start(200).await;
    let c = client();
    let token = jamf_token(&c, &sim).await;
    let base = format!("{}/api/v1/computers-inventory", sim.jamf_url());
    let first_page = format!("{base}?page=0&page-size=100&sort=id:asc");
    let (_, before) = get_json(&c, &first_page, &token).await;
    let total = before["totalCount"].as_u64().unwrap();
    let gone: u32 = before["results"][3]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, _) = get_json(&c, &format!("{base}/{gone}"), &token).await;
    assert_eq!(status, StatusCode::OK);

    sim.remove_jamf(&[gone, 999_999_999]);
    // The cached page and the full listing lack it.
    let (_, page) = get_json(&c, &first_page, &token).await;
    assert_eq!(page["totalCount"].as_u64(), Some(total - 1));
    assert!(!ids(&page, "id").contains(&gone));
    let (listed_total, all, _) = jamf_collect(&c, &base, &token, 50).await;
    assert_eq!(listed_total as u64, total - 1);
    assert_eq!(all.len() as u64, total - 1);
    let gone_id = gone.to_string();
    assert!(all.iter().all(|r| r["id"] != gone_id.as_str()));
    // Its own endpoints answer 404.
    for path in [
        format!("/api/v1/computers-inventory/{gone}"),
        format!("/api/v3/computers-inventory/{gone}"),
        format!("/api/v1/computers-inventory-detail/{gone}"),
        format!("/JSSResource/computers/id/{gone}"),
    ] {
        let (status, _) = get_json(&c, &format!("{}{path}", sim.jamf_url()), &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Classic listings lack it too.
    for (path, key) in [
        ("/JSSResource/computers", "computers"),
        ("/JSSResource/computers/subset/basic", "computers"),
    ] {
        let (_, body) = get_json(&c, &format!("{}{path}", sim.jamf_url()), &token).await;
        let rows = body[key].as_array().unwrap();
        assert_eq!(rows.len() as u64, total - 1, "{path}");
        assert!(rows.iter().all(|r| r["id"] != gone), "{path}");
    }
    // A removed computer cannot be touched.
    assert!(sim.touch_jamf_ids(&[gone], &[]).computers.is_empty());
    let touched = sim.touch_jamf(100_000, 0);
    assert_eq!(touched.computers.len() as u64, total - 1);
}

#[tokio::test]
async fn jamf_client_updated_since_reads_exactly_the_touched_devices() {
    use jamf_client::{ComputerQuery, ComputerSection, MobileDeviceQuery};
    let sim = start(300).await;
    let creds = sim.credentials();
    let jamf = jamf_client::Client::builder(sim.jamf_url())
        .client_credentials(
            creds.jamf_client_id.clone(),
            creds.jamf_client_secret.expose_secret().to_string(),
        )
        .build()
        .unwrap();
    let touched = sim.touch_jamf(4, 3);
    // The sync's watermark: a second before the touch, after every
    // generated report date (the clock starts a second after the latest).
    let since = touched.at - chrono::Duration::seconds(1);
    let computers = jamf
        .computers_page(
            &ComputerQuery::new()
                .sections([ComputerSection::General, ComputerSection::OperatingSystem])
                .updated_since(since),
            0,
        )
        .await
        .unwrap();
    assert_eq!(computers.total_count, Some(4));
    let mut ids: Vec<u32> = computers
        .items
        .iter()
        .map(|c| c.id.to_string().parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, touched.computers);
    for c in &computers.items {
        let general = c.general.as_ref().unwrap();
        assert_eq!(general.report_date, Some(touched.at));
        let os = c.operating_system.as_ref().unwrap();
        assert_eq!(os.version.as_deref(), Some("15.4"));
    }
    let mobiles = jamf
        .mobile_devices_page(&MobileDeviceQuery::new().updated_since(since), 0)
        .await
        .unwrap();
    assert_eq!(mobiles.total_count, Some(3));
    let mut ids: Vec<u32> = mobiles
        .items
        .iter()
        .map(|m| m.mobile_device_id.to_string().parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, touched.mobile_devices);
    for m in &mobiles.items {
        let general = m.general.as_ref().unwrap();
        assert_eq!(general.last_inventory_update_date, Some(touched.at));
        assert_eq!(general.os_version.as_deref(), Some("18.4"));
    }
    // A watermark at the touch itself reads nothing.
    let none = jamf
        .computers_page(&ComputerQuery::new().updated_since(touched.at), 0)
        .await
        .unwrap();
    assert_eq!(none.total_count, Some(0));
}

// ------------------------------------------------------------------ enforced rate limits

#[tokio::test]
async fn abm_hidden_limit_answers_429_with_retry_after_then_serves_again() {
    let sim = Simulator::start(SimulatorConfig {
        abm_limit_per_minute: Some(60),
        ..config(20)
    })
    .await
    .unwrap();
    let c = client();
    let token = abm_token(&c, &sim).await;
    let url = format!("{}/v1/orgDevices?limit=1", sim.abm_url());
    // The burst (3 at 60 a minute), then 429.
    for i in 0..3 {
        assert_eq!(get_json(&c, &url, &token).await.0, StatusCode::OK, "{i}");
    }
    let resp = c
        .get(&url)
        .bearer_auth(&token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["status"], "429");
    assert_eq!(body["errors"][0]["code"], "RATE_LIMIT_EXCEEDED");
    // The token endpoint is not limited.
    let _ = abm_token(&c, &sim).await;
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(get_json(&c, &url, &token).await.0, StatusCode::OK);
    let stats = sim.stats();
    assert_eq!(stats.abm.throttled, 1);
    assert_eq!(stats.abm.faults.total(), 0);
    let counters: Value = c
        .get(format!("{}/_counters", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["abm"]["throttled"], 1);
    assert_eq!(counters["kandji"]["throttled"], 0);
}

#[tokio::test]
async fn kandji_limits_answer_429_over_50_a_second_with_honest_headers() {
    let sim = Simulator::start(SimulatorConfig {
        kandji_enforce_limits: true,
        ..config(20)
    })
    .await
    .unwrap();
    let c = client();
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let url = format!("{}/api/v1/tags", sim.kandji_url());
    let get = || c.get(&url).bearer_auth(&token).send();
    let first = get().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let h = first.headers();
    assert_eq!(h["x-ratelimit-limit-second"], "50");
    assert_eq!(h["x-ratelimit-limit-hour"], "10000");
    assert_eq!(h["x-ratelimit-remaining-hour"], "9999");
    assert_eq!(h["ratelimit-reset"], "1");
    let (mut ok, mut refused) = (1u64, 0u64);
    let mut last_refusal = None;
    // 120 requests as fast as they go: at most 50 in each whole second.
    for _ in 0..119 {
        let resp = get().await.unwrap();
        match resp.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                assert_eq!(resp.headers()["retry-after"], "1");
                assert_eq!(resp.headers()["x-ratelimit-remaining-second"], "0");
                last_refusal = Some(resp.json::<Value>().await.unwrap());
            }
            s => panic!("{s}"),
        }
    }
    assert!(refused >= 1, "ok {ok}");
    assert_eq!(
        last_refusal.unwrap(),
        json!({"message": "API rate limit exceeded"})
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = get().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.headers()["x-ratelimit-remaining-hour"],
        (10_000 - ok - 1).to_string().as_str()
    );
    assert_eq!(sim.stats().kandji.throttled, refused);
}
