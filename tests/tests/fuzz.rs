//! Bounded fuzzing with proptest (cargo-fuzz needs a nightly toolchain).
//!
//! Targets:
//! - every vendor decoder (Jamf computers, mobile devices and Classic users;
//!   Kandji devices, details and users; ABM devices, device lists and
//!   AppleCare coverage), fed arbitrary JSON and *mutated real payloads*
//!   (pages rendered by the vendor simulator, then values replaced, removed,
//!   retyped or made extreme), then the mappers to `SourceDevice`: decoding
//!   returns `Ok` or `Err`, never panics, and every mapped record keeps the
//!   normalized-record rules (no blank text, no empty list);
//! - the normalizers (arbitrary and date/MAC/serial-shaped strings, any
//!   number, any JSON value): no panic, outputs in canonical form and stable
//!   when normalized again;
//! - the model-name parser and the asset-type classifier;
//! - `upsert::plan` (and `apply` into the memory store) over arbitrary small
//!   inventories and batches: no panic, no hang (each plan must finish
//!   within 10 s), a summary that counts the actions, the same plan twice.
//!
//! Cases per target: `FUZZ_CASES` (default 64, which keeps this file to a
//! few seconds in a debug build). Run longer locally with
//! `FUZZ_CASES=20000 cargo test -p mdm-tests --release --test fuzz`.
//! Failing inputs are kept by proptest in `tests/fuzz.proptest-regressions`
//! and replayed first on every run.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::sync::OnceLock;
use std::time::Duration;

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
use mdm_mapping::store::{Asset, Employee, Inventory, MemoryStore};
use mdm_mapping::upsert::{self, Config};
use mdm_mapping::{
    Assignee, Entity, Fields, Listing, SourceDevice, Value as Field, Vendor, model, normalize,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

mod common;
use serde_json::{Map, Value, json};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(64)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------ seeds

/// Real payloads, rendered by the simulator: the shapes to mutate.
#[derive(Debug)]
struct Seeds {
    jamf_computers: Vec<Value>,
    jamf_mobile: Vec<Value>,
    jamf_classic_users: Vec<Value>,
    kandji_devices: Vec<Value>,
    kandji_details: Vec<Value>,
    kandji_users: Vec<Value>,
    abm_devices: Vec<Value>,
    abm_page: Value,
    abm_coverage: Vec<Value>,
    /// Every object key seen in any seed.
    keys: Vec<String>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(fetch_seeds())
    })
}

async fn get(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

fn items(v: &Value, key: Option<&str>, n: usize) -> Vec<Value> {
    let list = match key {
        Some(k) => &v[k],
        None => v,
    };
    list.as_array().unwrap().iter().take(n).cloned().collect()
}

async fn fetch_seeds() -> Seeds {
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 120,
            seed: 21,
            ..FleetConfig::default()
        },
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let c = sim.credentials().clone();
    let http = reqwest::Client::new();

    // Jamf: every inventory version's computer shape, mobile devices, Classic users.
    let token = get(http
        .post(format!("{}/api/v1/oauth/token", sim.jamf_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.jamf_client_id.as_str()),
            ("client_secret", c.jamf_client_secret.expose_secret()),
        ]))
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut jamf_computers = Vec::new();
    for version in ["v1", "v3", "v4"] {
        let mut q: Vec<(&str, &str)> = [
            "GENERAL",
            "HARDWARE",
            "OPERATING_SYSTEM",
            "USER_AND_LOCATION",
            "PURCHASING",
            "DISK_ENCRYPTION",
            "SECURITY",
        ]
        .iter()
        .map(|s| ("section", *s))
        .collect();
        q.push(("page-size", "6"));
        let page = get(http
            .get(format!(
                "{}/api/{version}/computers-inventory",
                sim.jamf_url()
            ))
            .query(&q)
            .bearer_auth(&token))
        .await;
        jamf_computers.extend(items(&page, Some("results"), 6));
    }
    let mut q: Vec<(&str, &str)> = [
        "GENERAL",
        "HARDWARE",
        "USER_AND_LOCATION",
        "PURCHASING",
        "NETWORK",
        "SECURITY",
    ]
    .iter()
    .map(|s| ("section", *s))
    .collect();
    q.extend([("page-size", "8"), ("exception-handling", "LENIENT")]);
    let page = get(http
        .get(format!("{}/api/v2/mobile-devices/detail", sim.jamf_url()))
        .query(&q)
        .bearer_auth(&token))
    .await;
    let jamf_mobile = items(&page, Some("results"), 8);
    let mut jamf_classic_users = Vec::new();
    for id in 1..=4 {
        let u = get(http
            .get(format!("{}/JSSResource/users/id/{id}", sim.jamf_url()))
            .header("Accept", "application/json")
            .bearer_auth(&token))
        .await;
        jamf_classic_users.push(u["user"].clone());
    }

    // Kandji: a device page, some details, users.
    let kt = c.kandji_token.expose_secret().to_string();
    let page = get(http
        .get(format!("{}/api/v1/devices", sim.kandji_url()))
        .query(&[("limit", "12")])
        .bearer_auth(&kt))
    .await;
    let kandji_devices = items(&page, None, 12);
    let mut kandji_details = Vec::new();
    for d in kandji_devices.iter().take(5) {
        let id = d["device_id"].as_str().unwrap();
        kandji_details.push(
            get(http
                .get(format!("{}/api/v1/devices/{id}/details", sim.kandji_url()))
                .bearer_auth(&kt))
            .await,
        );
    }
    let users = get(http
        .get(format!("{}/api/v1/users", sim.kandji_url()))
        .query(&[("limit", "8")])
        .bearer_auth(&kt))
    .await;
    let kandji_users = items(&users, Some("results"), 8);

    // ABM: a token from a client assertion, a page, AppleCare coverage.
    let key = abm_client::PrivateKey::from_pem(c.abm_private_key_pem.expose_secret()).unwrap();
    let creds = abm_client::Credentials::new(c.abm_client_id.clone(), c.abm_key_id.clone(), key);
    let assertion = creds
        .client_assertion(
            abm_client::auth::APPLE_TOKEN_AUDIENCE,
            std::time::SystemTime::now(),
            Duration::from_secs(3600),
        )
        .unwrap();
    let at = get(http.post(sim.abm_token_url()).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", c.abm_client_id.as_str()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.jwt().expose_secret()),
        ("scope", "business.api"),
    ]))
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let abm_page = get(http
        .get(format!("{}/v1/orgDevices", sim.abm_url()))
        .query(&[("limit", "12")])
        .header("Accept", "application/json")
        .bearer_auth(&at))
    .await;
    let abm_devices = items(&abm_page, Some("data"), 12);
    let mut abm_coverage = Vec::new();
    for d in abm_devices.iter().take(6) {
        let id = d["id"].as_str().unwrap();
        let cov = get(http
            .get(format!(
                "{}/v1/orgDevices/{id}/appleCareCoverage",
                sim.abm_url()
            ))
            .header("Accept", "application/json")
            .bearer_auth(&at))
        .await;
        abm_coverage.extend(items(&cov, Some("data"), 4));
    }
    sim.shutdown().await;

    let mut keys = std::collections::BTreeSet::new();
    let all = [
        &jamf_computers,
        &jamf_mobile,
        &jamf_classic_users,
        &kandji_devices,
        &kandji_details,
        &kandji_users,
        &abm_devices,
        &abm_coverage,
    ];
    for v in all.iter().flat_map(|l| l.iter()) {
        collect_keys(v, &mut keys);
    }
    assert!(!abm_coverage.is_empty(), "some ABM device has AppleCare");
    Seeds {
        jamf_computers,
        jamf_mobile,
        jamf_classic_users,
        kandji_devices,
        kandji_details,
        kandji_users,
        abm_devices,
        abm_page,
        abm_coverage,
        keys: keys.into_iter().collect(),
    }
}

fn collect_keys(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                collect_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_keys(x, out)),
        _ => {}
    }
}

// ------------------------------------------------------------------ JSON strategies

/// Strings that have broken parsers before: blanks, placeholders, sentinels,
/// malformed dates and MACs, odd Unicode, huge.
fn weird_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => select(vec![
            "", " ", "\t\n", "null", "None", "N/A", "Not Available", "-1", "0", "1", "True",
            "false", "Yes", "NO", "0000-00-00", "2024-13-45T99:99:99Z", "2024-01-26T16:15:36.0870163Z",
            "2024-01-26 16:15:36 +0000", "2024-01-26T16:15:36+2400", "9999999999999",
            "-9223372036854775808", "1e309", "NaN", "00:00:00:00:00:00", "zz:zz:zz:zz:zz:zz",
            "A4-83-E7-0B-1C-2D", "\u{0}", "\u{202e}abc", "ß", "İ", "９９", "🍏", "%2F..%2F",
            "../../etc/passwd", "{}", "[]", "\"", "\\",
        ])
        .prop_map(str::to_string),
        1 => "[+-]?[0-9]{4,6}[-/][0-9]{2}[-/][0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(\\.[0-9]{0,12})?( ?(Z|[+-][0-9]{2}:?[0-9]{2}|UTC))?)?",
        1 => "([0-9a-fA-F]{1,2}[:.-]?){5,7}",
        1 => " ?[A-Za-z0-9]{0,14} ?",
        1 => "[0-9]{1,20}",
        1 => Just("x".repeat(10_000)),
    ]
}

fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5),
            json!(-0.0),
            json!(1e300),
            json!(253402300800000i64),
        ]),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(seeds().keys.clone()),
        1 => "[a-zA-Z_]{1,12}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        weird_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One edit of a JSON document at a path chosen by `at`.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Value),
    Remove,
    Null,
    Retype,
    WrapInArray,
}

fn edit() -> impl Strategy<Value = (Index, Edit)> {
    let e = prop_oneof![
        4 => arb_json().prop_map(Edit::Replace),
        2 => Just(Edit::Remove),
        2 => Just(Edit::Null),
        2 => Just(Edit::Retype),
        1 => Just(Edit::WrapInArray),
    ];
    (any::<Index>(), e)
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    At(usize),
}

fn paths(v: &Value, here: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                here.push(Seg::Key(k.clone()));
                paths(x, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(Seg::At(i));
                paths(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::At(i) => v.get_mut(*i),
    })
}

fn retype(v: &Value) -> Value {
    match v {
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::Bool(s.len() % 2 == 0)),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(if *b { "True" } else { "no" }.into()),
        Value::Null => Value::String(String::new()),
        Value::Array(a) => a.first().cloned().unwrap_or_else(|| json!({})),
        Value::Object(_) => Value::String("[object]".into()),
    }
}

fn mutate(mut doc: Value, edits: &[(Index, Edit)]) -> Value {
    for (at, e) in edits {
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        let path = at.get(&all).clone();
        match e {
            Edit::Remove => {
                if let Some((last, parent)) = path.split_last()
                    && let Some(p) = at_mut(&mut doc, parent)
                {
                    match (p, last) {
                        (Value::Object(m), Seg::Key(k)) => {
                            m.remove(k);
                        }
                        (Value::Array(a), Seg::At(i)) if *i < a.len() => {
                            a.remove(*i);
                        }
                        _ => {}
                    }
                }
            }
            other => {
                if let Some(slot) = at_mut(&mut doc, &path) {
                    *slot = match other {
                        Edit::Replace(v) => v.clone(),
                        Edit::Null => Value::Null,
                        Edit::Retype => retype(slot),
                        Edit::WrapInArray => Value::Array(vec![slot.clone()]),
                        Edit::Remove => unreachable!(),
                    };
                }
            }
        }
    }
    doc
}

/// A seed from `pick`, mutated 1–4 times, or (one time in five) arbitrary JSON.
fn shaped(pick: fn(&Seeds) -> &[Value]) -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (any::<Index>(), prop::collection::vec(edit(), 1..=4))
            .prop_map(move |(i, edits)| mutate(i.get(pick(seeds())).clone(), &edits)),
        1 => arb_json(),
    ]
}

/// Decodes the JSON text like the clients do (`serde_path_to_error` over
/// `serde_json::from_slice`). Never panics; `None` on a decode error.
fn decode<T: DeserializeOwned>(v: &Value) -> Option<T> {
    let bytes = serde_json::to_vec(v).unwrap();
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let r: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    // The error names a path and formats without panicking.
    r.map_err(|e| format!("{} at {}", e.inner(), e.path())).ok()
}

/// The normalized-record rules every mapper must keep.
fn check_record(d: &SourceDevice) -> Result<(), TestCaseError> {
    use mdm_mapping::catalog::{self, ValueType};
    for (k, v) in d.fields.iter() {
        match v {
            Field::Text(s) => {
                prop_assert!(
                    !s.is_empty() && s.trim() == s,
                    "{}.{k} is blank or untrimmed: {s:?}",
                    d.vendor
                );
                // Values of the catalog's canonical types are in canonical form.
                let canonical = match catalog::field(d.vendor, k).map(|f| f.value_type) {
                    Some(ValueType::DateTime) => is_canonical_datetime(s),
                    Some(ValueType::Date) => {
                        s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
                    }
                    Some(ValueType::MacAddress) => normalize::mac(s).as_deref() == Some(s.as_str()),
                    Some(ValueType::Email) => normalize::email(s).as_deref() == Some(s.as_str()),
                    Some(ValueType::Serial) => normalize::serial(s).as_deref() == Some(s.as_str()),
                    _ => true,
                };
                prop_assert!(canonical, "{}.{k} is not canonical: {s:?}", d.vendor);
            }
            Field::List(l) => {
                prop_assert!(!l.is_empty(), "{}.{k} is an empty list", d.vendor);
                for item in l {
                    prop_assert!(
                        !item.is_empty() && item.trim() == item,
                        "{}.{k} has a blank item: {l:?}",
                        d.vendor
                    );
                }
            }
            Field::Float(f) => prop_assert!(f.is_finite(), "{}.{k} = {f}", d.vendor),
            Field::Bool(_) | Field::Int(_) => {}
        }
    }
    let json = serde_json::to_value(d).unwrap();
    prop_assert!(json["fields"].as_object().is_some());
    Ok(())
}

// ------------------------------------------------------------------ decoders

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jamf_computer_decode_and_map(doc in shaped(|s| &s.jamf_computers)) {
        if let Some(c) = decode::<jamf_client::models::ComputerInventory>(&doc) {
            check_record(&jamf_client::map::computer(&c, &jamf_client::SecurityReads::all()))?;
            check_record(&jamf_client::map::computer(&c, &jamf_client::SecurityReads::none()))?;
        }
    }

    #[test]
    fn jamf_mobile_decode_and_map(
        doc in shaped(|s| &s.jamf_mobile),
        sites in prop::collection::hash_map(weird_string(), weird_string(), 0..3),
    ) {
        if let Some(m) = decode::<jamf_client::models::MobileDevice>(&doc) {
            check_record(&jamf_client::map::mobile_device(&m, &sites, &jamf_client::SecurityReads::all()))?;
        }
    }

    #[test]
    fn jamf_classic_user_decode(doc in shaped(|s| &s.jamf_classic_users)) {
        let _ = decode::<jamf_client::models::ClassicUser>(&doc);
    }

    #[test]
    fn kandji_decode_and_map(
        device in shaped(|s| &s.kandji_devices),
        details in shaped(|s| &s.kandji_details),
        users in prop::collection::vec(shaped(|s| &s.kandji_users), 0..4),
    ) {
        let users: Vec<kandji_client::User> = users.iter().filter_map(decode).collect();
        let dir = kandji_client::UserDirectory::from_users(&users);
        let details = decode::<kandji_client::DeviceDetails>(&details);
        if let Some(d) = decode::<kandji_client::Device>(&device) {
            check_record(&kandji_client::to_source_device(&d, details.as_ref(), Some(&dir)))?;
            check_record(&kandji_client::to_source_device(&d, None, None))?;
        }
        if let Some(x) = &details {
            let _ = (x.udid(), x.mac_address());
        }
    }

    #[test]
    fn abm_decode_and_map(
        device in shaped(|s| &s.abm_devices),
        coverage in prop::collection::vec(shaped(|s| &s.abm_coverage), 0..4),
    ) {
        let coverage: Vec<abm_client::model::AppleCareCoverage> =
            coverage.iter().filter_map(decode).collect();
        if let Some(d) = decode::<abm_client::model::OrgDevice>(&device) {
            let _ = (d.serial_number(), d.assigned_server_id(), d.attributes.ethernet_mac_addresses());
            let mut record = abm_client::source::source_device(&d);
            check_record(&record)?;
            abm_client::source::apply_applecare(&mut record, &coverage);
            check_record(&record)?;
        }
    }

    #[test]
    fn abm_list_document_decode(edits in prop::collection::vec(edit(), 1..=6)) {
        let doc = mutate(seeds().abm_page.clone(), &edits);
        if let Some(page) = decode::<abm_client::model::ListDocument<abm_client::model::OrgDevice>>(&doc) {
            for d in &page.data {
                check_record(&abm_client::source::source_device(d))?;
            }
        }
    }

    /// Not even JSON: raw bytes into every decoder.
    #[test]
    fn decoders_take_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        fn try_all<T: DeserializeOwned>(b: &[u8]) {
            let mut de = serde_json::Deserializer::from_slice(b);
            let _: Result<T, _> = serde_path_to_error::deserialize(&mut de);
        }
        try_all::<jamf_client::models::ComputerInventory>(&bytes);
        try_all::<jamf_client::models::MobileDevice>(&bytes);
        try_all::<kandji_client::Device>(&bytes);
        try_all::<kandji_client::DeviceDetails>(&bytes);
        try_all::<abm_client::model::ListDocument<abm_client::model::OrgDevice>>(&bytes);
    }
}

// ------------------------------------------------------------------ normalizers

fn shaped_string() -> impl Strategy<Value = String> {
    weird_string()
}

fn is_canonical_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && s.ends_with('Z')
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
        && b.get(10) == Some(&b'T')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normalizers_are_total_and_canonical(s in shaped_string()) {
        if let Some(x) = normalize::text(&s) {
            prop_assert!(!x.is_empty());
            prop_assert_eq!(normalize::text(&x), Some(x.clone()));
        }
        if let Some(x) = normalize::serial(&s) {
            prop_assert!(!x.is_empty() && !x.chars().any(char::is_whitespace), "{:?}", x);
            prop_assert_eq!(normalize::serial(&x), Some(x.clone()));
        }
        if let Some(x) = normalize::mac(&s) {
            prop_assert!(
                x.len() == 17
                    && x.split(':').count() == 6
                    && x.split(':').all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())),
                "{:?} → {:?}", s, x
            );
            prop_assert_eq!(normalize::mac(&x), Some(x.clone()));
        }
        if let Some(x) = normalize::email(&s) {
            prop_assert_eq!(normalize::email(&x), Some(x.clone()));
        }
        if let Some(x) = normalize::datetime(&s) {
            prop_assert!(is_canonical_datetime(&x), "{:?} → {:?}", s, x);
            prop_assert_eq!(normalize::datetime(&x), Some(x.clone()));
        }
        if let Some(x) = normalize::date(&s) {
            prop_assert!(chrono::NaiveDate::parse_from_str(&x, "%Y-%m-%d").is_ok(), "{:?} → {:?}", s, x);
            prop_assert_eq!(normalize::date(&x), Some(x.clone()));
        }
        if let Some(x) = normalize::id(&s) {
            prop_assert_eq!(normalize::id(&x), Some(x.clone()));
        }
        let _ = (normalize::boolean_str(&s), normalize::int_str(&s), normalize::is_placeholder_serial(&s));
        let key = normalize::catalog_key(&s);
        prop_assert!(key.chars().all(|c| c.is_alphanumeric() || c == '_'), "{:?}", key);
        prop_assert!(!key.starts_with('_') && !key.ends_with('_'), "{:?}", key);
        prop_assert_eq!(normalize::catalog_key(&key), key.clone());
        if let Some(l) = normalize::list([s.as_str(), " ", s.as_str()]) {
            prop_assert!(!l.is_empty());
        }
    }

    #[test]
    fn number_normalizers_are_total(n in any::<i64>()) {
        let _ = (normalize::count(n), normalize::measured(n));
        if let Some(x) = normalize::datetime_from_epoch_millis(n) {
            prop_assert!(is_canonical_datetime(&x), "{} → {:?}", n, x);
        }
    }

    #[test]
    fn json_normalizers_are_total(v in arb_json()) {
        let _ = (normalize::boolean_json(&v), normalize::int_json(&v));
        if let Some(id) = normalize::id_json(&v) {
            prop_assert!(!id.trim().is_empty());
        }
        let _ = Field::from_json(&v);
        let mut f = Fields::new();
        f.bool_json("b", Some(&v)).id_json("i", Some(&v));
        for (_, x) in f.iter() {
            if let Field::Text(t) = x {
                prop_assert!(!t.is_empty());
            }
        }
    }
}

// ------------------------------------------------------------------ model names

fn model_name() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        3 => "(Unreleased )?(MacBook|MacBook Pro|MacBook Air|iMac|iMac Pro|Mac mini|Mac Pro|Mac Studio|iPhone|iPad|iPad Pro|iPad Air|iPad mini|Apple TV|Apple Watch|Apple Vision Pro|Mac)( [0-9]{1,3})?( (Pro|Max|Plus|mini|SE|Ultra|Series [0-9]{1,2}|4K))*( \\(([0-9]{1,2}(\\.[0-9])?-inch|M[0-9]( Pro| Max)?|[0-9]{1,2}(st|nd|rd|th) generation|Early|Mid|Late|Nov|20[0-9]{2}|Wi-Fi|Wi-Fi \\+ Cellular|GPS|[0-9]{2}mm|Retina|Two Thunderbolt ports)(, ([0-9]{1,2}-inch|M[0-9]|20[0-9]{2}|Four Ports|Cellular|Late|[0-9]{1,3}mm))*\\))*",
        1 => "[A-Za-z]{2,10}[0-9]{1,3},[0-9]{1,3}",
        1 => select(vec![
            "MacBook Pro (13-inch, 2018)", "MacBook Pro (14-inch, M3 Pro or M3 Max, Nov 2023)",
            "iPad Pro (12.9-inch) (6th generation)", "Apple Watch Series 9 (45mm, GPS + Cellular)",
            "iMac (24-inch, M1, 2021, Four Ports)", "iPhone 15 Pro Max", "(", ")", "()", "( , )",
            "MacBook Pro (", "Mac (-inch, )", "iPad (99999999999999999999th generation)",
            "Apple Watch (99999999999mm)", "MacBook (2018, 2019, 2020)",
        ]).prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn model_name_parser_is_total(name in model_name(), platform in weird_string()) {
        if let Some(p) = model::parse_model_name(&name) {
            prop_assert!(p.release_year.is_none_or(|y| (1970..=2200).contains(&y)), "{:?} → {:?}", name, p);
            if let Some(size) = &p.display_size {
                prop_assert!(size.parse::<f64>().is_ok(), "{:?} → size {:?}", name, size);
            }
            let _ = (p.is_complete(), serde_json::to_string(&p).unwrap());
        }
        let _ = model::lookup_identifier(&name);
        let _ = model::asset_type_from_identifier_prefix(&name);
        let _ = model::looks_like_identifier(&name);
        let _ = model::asset_type_from_platform(&platform);
        let t = model::classify(Some(&name), Some(&name), Some(&platform), Some(&platform));
        let _ = (t.as_str(), t.is_computer());
    }
}

// ------------------------------------------------------------------ plan

const KEYS: &[&str] = &[
    "serial_number",
    "udid",
    "imei",
    "meid",
    "wifi_mac_address",
    "bluetooth_mac_address",
    "ethernet_mac_address",
    "asset_tag",
    "jamf_id",
    "kandji_id",
    "model",
    "model_identifier",
    "device_name",
    "os_version",
    "last_check_in",
    "status",
    "assignee_id",
    "asset_type",
    "is_removed",
    "device_id",
    "jamf_pro_computer_id",
    "product_family",
    "user_email",
    "first_enrollment",
];

/// Values from a small pool, so identifiers collide across records and
/// assets, plus arbitrary ones.
fn field_value() -> impl Strategy<Value = Field> {
    let pool = select(vec![
        "C02XK1ABJG5H",
        "c02xk1abjg5h ",
        "F9FZ3LLJMF3M",
        "A4:83:E7:0B:1C:2D",
        "a4-83-e7-0b-1c-2d",
        "35 209900 176148 1",
        "352099001761481",
        "1",
        "42",
        "MacBook Pro (13-inch, 2018)",
        "MacBookPro15,2",
        "iPhone16,1",
        "14.2",
        "2024-01-26T16:15:36Z",
        "allocated",
        "retired",
        "ana@example.com",
        "Ana@Example.com",
        "",
        " ",
        "Not Available",
    ])
    .prop_map(|s| Field::Text(s.into()));
    prop_oneof![
        5 => pool,
        2 => weird_string().prop_map(Field::from),
        1 => any::<bool>().prop_map(Field::Bool),
        1 => any::<i64>().prop_map(Field::Int),
        1 => prop::collection::vec(prop_oneof![Just("352099001761481".to_string()), weird_string()], 0..3).prop_map(Field::List),
    ]
}

fn fields() -> impl Strategy<Value = Fields> {
    prop::collection::vec((select(KEYS), field_value()), 0..8).prop_map(|kv| {
        let mut f = Fields::new();
        for (k, v) in kv {
            f.set(k, Some(v));
        }
        f
    })
}

fn assignee() -> impl Strategy<Value = Option<Assignee>> {
    prop::option::of(
        (
            prop::option::of(select(vec!["u1", "u2", "7"])),
            prop::option::of(select(vec![
                "ana@example.com",
                "ANA@example.com ",
                "ben@example.com",
                "",
                "not-an-email",
            ])),
            prop::option::of(select(vec!["Ana Díaz", "Ben", "", "Díaz, Ana", "  "])),
        )
            .prop_map(|(id, email, name)| {
                Assignee {
                    id: id.map(str::to_string),
                    email: email.map(str::to_string),
                    full_name: name.map(str::to_string),
                    ..Assignee::default()
                }
                .into_option()
            }),
    )
    .prop_map(Option::flatten)
}

fn record() -> impl Strategy<Value = SourceDevice> {
    let source = select(vec![
        (Vendor::Jamf, Entity::Computer),
        (Vendor::Jamf, Entity::MobileDevice),
        (Vendor::Kandji, Entity::Device),
        (Vendor::Abm, Entity::Device),
        (Vendor::Kandji, Entity::User),
    ]);
    (
        source,
        select(vec!["1", "2", "3", "C02XK1ABJG5H", "x"]),
        fields(),
        assignee(),
    )
        .prop_map(|((vendor, entity), id, fields, assignee)| {
            let mut d = SourceDevice::new(vendor, entity, id);
            d.fields = fields;
            d.assignee = assignee;
            d
        })
}

fn inventory() -> impl Strategy<Value = Inventory> {
    (
        prop::collection::vec(fields(), 0..12),
        prop::collection::vec(
            (
                select(vec!["Ana", "Ben", ""]),
                select(vec!["Díaz", "Okafor", ""]),
                prop::collection::vec(
                    select(vec!["ana@example.com", "ben@example.com", "x@y", ""]),
                    0..3,
                ),
            ),
            0..4,
        ),
    )
        .prop_map(|(assets, employees)| Inventory {
            assets: assets
                .into_iter()
                .enumerate()
                .map(|(i, f)| Asset::new(format!("a{i}"), f))
                .collect(),
            employees: employees
                .into_iter()
                .enumerate()
                .map(|(i, (first, last, emails))| Employee {
                    id: format!("e{i}"),
                    first_name: first.to_string(),
                    last_name: last.to_string(),
                    emails: emails.into_iter().map(str::to_string).collect(),
                })
                .collect(),
        })
}

/// `plan` on another thread: a hang fails the case instead of the run.
fn plan_within(
    inv: &Inventory,
    batch: &[SourceDevice],
    full: &[Vendor],
) -> Result<upsert::Plan, TestCaseError> {
    let full: Vec<Listing> = full.iter().map(|v| (*v).into()).collect();
    let (inv, batch) = (inv.clone(), batch.to_vec());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(upsert::plan(&inv, &batch, &Config::default(), &full));
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(TestCaseError::fail(format!("default config refused: {e}"))),
        Err(_) => Err(TestCaseError::fail("plan did not finish within 10 s")),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn plan_is_total_bounded_and_deterministic(
        inv in inventory(),
        batch in prop::collection::vec(record(), 0..16),
        full in prop::sample::subsequence(Vendor::ALL.to_vec(), 0..=3),
    ) {
        let p = plan_within(&inv, &batch, &full)?;
        let s = &p.summary;
        let count = |k: upsert::ActionKind| p.actions.iter().filter(|a| a.action == k).count();
        prop_assert_eq!(s.create, count(upsert::ActionKind::Create));
        prop_assert_eq!(s.update, count(upsert::ActionKind::Update));
        prop_assert_eq!(s.unchanged, count(upsert::ActionKind::Unchanged));
        prop_assert_eq!(s.conflict, count(upsert::ActionKind::Conflict));
        prop_assert_eq!(s.skip, count(upsert::ActionKind::Skip));
        let again = plan_within(&inv, &batch, &full)?;
        prop_assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::to_value(&again).unwrap(),
            "the same input planned twice differs"
        );

        // Applying it never panics either.
        let store = MemoryStore::new(inv.clone());
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let applied = rt.block_on(upsert::apply(&p, &store));

        // Staged in batches of whole components, it plans and writes alike,
        // conflicts and ambiguous identifiers included.
        if applied.is_ok() {
            let listings: Vec<Listing> = full.iter().map(|v| (*v).into()).collect();
            for size in [1, 3] {
                let config = Config::default();
                let mut staging = upsert::Staging::new(&config).unwrap();
                for d in &batch {
                    staging.push(d.clone()).unwrap();
                }
                let mut staged = staging.finish().unwrap();
                let batched = MemoryStore::new(inv.clone());
                let done = rt
                    .block_on(upsert::apply_staged(
                        &mut staged, &config, &listings, &batched, size, |_, _| {},
                    ))
                    .unwrap();
                prop_assert_eq!(done.summary, p.summary, "batches of {}", size);
                prop_assert_eq!(
                    common::canonical(&batched.snapshot(), &inv),
                    common::canonical(&store.snapshot(), &inv),
                    "batches of {}", size
                );
            }
        }
    }
}

#[test]
fn seeds_cover_every_decoder() {
    let s = seeds();
    assert!(s.jamf_computers.len() >= 12, "three inventory versions");
    for (name, list) in [
        ("jamf mobile", &s.jamf_mobile),
        ("jamf classic users", &s.jamf_classic_users),
        ("kandji devices", &s.kandji_devices),
        ("kandji details", &s.kandji_details),
        ("kandji users", &s.kandji_users),
        ("abm devices", &s.abm_devices),
        ("abm coverage", &s.abm_coverage),
    ] {
        assert!(!list.is_empty(), "{name}");
    }
    // The unmutated seeds decode: the mutations start from valid payloads.
    for c in &s.jamf_computers {
        assert!(decode::<jamf_client::models::ComputerInventory>(c).is_some());
    }
    for m in &s.jamf_mobile {
        assert!(decode::<jamf_client::models::MobileDevice>(m).is_some());
    }
    for u in &s.jamf_classic_users {
        assert!(decode::<jamf_client::models::ClassicUser>(u).is_some());
    }
    for d in &s.kandji_devices {
        assert!(decode::<kandji_client::Device>(d).is_some());
    }
    for d in &s.kandji_details {
        assert!(decode::<kandji_client::DeviceDetails>(d).is_some());
    }
    for u in &s.kandji_users {
        assert!(decode::<kandji_client::User>(u).is_some());
    }
    for d in &s.abm_devices {
        assert!(decode::<abm_client::model::OrgDevice>(d).is_some());
    }
    for c in &s.abm_coverage {
        assert!(decode::<abm_client::model::AppleCareCoverage>(c).is_some());
    }
}

// ------------------------------------------------------------------ regressions found by these targets

/// `İ` lower-cases to `i` + U+0307 (a combining mark, not alphanumeric):
/// the key kept the mark and was not stable under a second pass.
#[test]
fn catalog_key_of_a_capital_that_lowercases_to_two_chars() {
    assert_eq!(normalize::catalog_key("İ"), "i");
    assert_eq!(normalize::catalog_key("Serial İD"), "serial_i_d");
    assert_eq!(
        normalize::catalog_key("FileVault 2 Enabled Users"),
        "filevault_2_enabled_users"
    );
}

/// Sets every value whose key names a date or time to `to`.
fn set_dates(v: &mut Value, to: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let k = k.to_ascii_lowercase();
                let datey = ["date", "time", "check_in", "enrollment", "contact", "expir"]
                    .iter()
                    .any(|w| k.contains(w));
                if datey && !x.is_object() && !x.is_array() {
                    *x = to.clone();
                } else {
                    set_dates(x, to);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| set_dates(x, to)),
        _ => {}
    }
}

/// Year 10000 and later cannot be written in RFC 3339: epoch milliseconds
/// and date strings that far out are no value, not `+10000-01-01T00:00:00Z`.
/// (Found by `number_normalizers_are_total`.)
#[test]
fn dates_after_year_9999_are_no_value() {
    assert_eq!(
        normalize::datetime_from_epoch_millis(253_402_300_800_000),
        None
    );
    assert_eq!(
        normalize::datetime_from_epoch_millis(253_402_300_799_000).as_deref(),
        Some("9999-12-31T23:59:59Z")
    );
    assert_eq!(normalize::datetime("+10000-01-01T00:00:00Z"), None);
    assert_eq!(normalize::datetime("10000-01-01 00:00:00 +0000"), None);
    assert!(normalize::parse_datetime("+10000-01-01T00:00:00Z").is_none());
}

const FAR_DATES: [&str; 5] = [
    "253402300800000",
    "+10000-01-01T00:00:00Z",
    "+10000-01-01T00:00:00.000Z",
    "10000-01-01 00:00:00 +0000",
    "+275760-09-13T00:00:00Z",
];

/// Every mapper, with every date of a real payload set to year 10000 or
/// later (as JSON numbers of epoch milliseconds and as strings): each
/// record still holds only canonical values. Returns the violations.
fn far_date_violations(s: &Seeds) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |what: &str, far: &Value, r: Result<(), TestCaseError>| {
        if let Err(e) = r {
            out.push(format!("{what} with dates {far}: {e}"));
        }
    };
    let fars = FAR_DATES
        .iter()
        .map(|f| json!(f))
        .chain([json!(253_402_300_800_000i64)]);
    for far in fars {
        for seed in &s.jamf_computers {
            let mut v = seed.clone();
            set_dates(&mut v, &far);
            if let Some(c) = decode::<jamf_client::models::ComputerInventory>(&v) {
                let r = check_record(&jamf_client::map::computer(
                    &c,
                    &jamf_client::SecurityReads::all(),
                ));
                note("jamf computer", &far, r);
            }
        }
        for seed in &s.jamf_mobile {
            let mut v = seed.clone();
            set_dates(&mut v, &far);
            if let Some(m) = decode::<jamf_client::models::MobileDevice>(&v) {
                let r = check_record(&jamf_client::map::mobile_device(
                    &m,
                    &Default::default(),
                    &jamf_client::SecurityReads::all(),
                ));
                note("jamf mobile device", &far, r);
            }
        }
        for seed in &s.kandji_devices {
            let mut v = seed.clone();
            set_dates(&mut v, &far);
            if let Some(d) = decode::<kandji_client::Device>(&v) {
                note(
                    "kandji device",
                    &far,
                    check_record(&kandji_client::to_source_device(&d, None, None)),
                );
            }
        }
        for seed in &s.abm_devices {
            let mut v = seed.clone();
            set_dates(&mut v, &far);
            if let Some(d) = decode::<abm_client::model::OrgDevice>(&v) {
                note(
                    "abm device",
                    &far,
                    check_record(&abm_client::source::source_device(&d)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// (Found with Jamf's mobile lease date sent as epoch milliseconds: the
/// model read year 10000 and `normalize::date` wrote `+10000-01-01`.)
#[test]
fn mappers_drop_dates_after_year_9999() {
    let bad = far_date_violations(seeds());
    assert!(bad.is_empty(), "{bad:#?}");
}
