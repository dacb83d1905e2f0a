//! Chaos mode: a simulator that answers with broken paging and extreme
//! numbers, deterministically for a seed (`mdm simulate --chaos SEED`,
//! [`SimulatorConfig::chaos`](super::SimulatorConfig::chaos)).
//!
//! The data stays schema-valid (the fleet's own records, the vendors'
//! envelopes); what breaks is what a client must not trust:
//!
//! - **paging**, one way per vendor, chosen by the seed ([`PagingChaos`]):
//!   `totalCount` that lies (huge, negative, not a number), a page number,
//!   offset or cursor the server ignores (the first page again, forever),
//!   a cursor that repeats or cycles back, an empty page in the middle of a
//!   listing that still names a next page;
//! - **numbers**: token lifetimes (`expires_in` of `i64::MAX`, `0`, `-1`,
//!   `u64::MAX`, a string), rate-limit headers on every answer, and some
//!   numbers and dates inside records replaced by extreme values.
//!
//! Nothing here touches the fleet or the counters: every request is counted
//! as before ([`Simulator::stats`](super::Simulator::stats)), which is how a
//! test bounds what a client wasted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use mdm_mapping::Vendor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// How one vendor's paging is broken in a chaos run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingChaos {
    /// Paging as the vendor documents it.
    Honest,
    /// `totalCount` (Jamf) or `meta.paging.total` (ABM) lies: huge,
    /// negative or not a number.
    LyingTotal,
    /// The page number, offset or cursor is ignored: the first page again.
    IgnoreOffset,
    /// Each page names its own cursor as the next one (ABM), or a total
    /// that promises more than there is over repeated pages (others).
    RepeatCursor,
    /// The cursor cycles back to an earlier page (ABM), or the listing
    /// restarts at the first page after the second (others).
    CycleCursor,
    /// An empty page in the middle of the listing that still names a next
    /// page (ABM) or claims more rows (Jamf); Kandji ends early.
    EmptyMidListing,
}

impl PagingChaos {
    const ALL: [PagingChaos; 6] = [
        PagingChaos::Honest,
        PagingChaos::LyingTotal,
        PagingChaos::IgnoreOffset,
        PagingChaos::RepeatCursor,
        PagingChaos::CycleCursor,
        PagingChaos::EmptyMidListing,
    ];
}

/// The chaos of one simulator run.
#[derive(Debug)]
pub struct Chaos {
    seed: u64,
    modes: [PagingChaos; 3],
    requests: AtomicU64,
    /// ABM cursors served so far (for cycling back).
    abm_cursors: std::sync::Mutex<Vec<String>>,
}

fn index(vendor: Vendor) -> usize {
    match vendor {
        Vendor::Jamf => 0,
        Vendor::Kandji => 1,
        Vendor::Abm => 2,
    }
}

impl Chaos {
    /// The chaos of `seed`: each vendor's paging mode is drawn from it.
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut pick = || PagingChaos::ALL[rng.random_range(0..PagingChaos::ALL.len())];
        let modes = [pick(), pick(), pick()];
        Chaos {
            seed,
            modes,
            requests: AtomicU64::new(0),
            abm_cursors: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// How `vendor`'s paging is broken.
    pub fn paging(&self, vendor: Vendor) -> PagingChaos {
        self.modes[index(vendor)]
    }

    fn rng(&self) -> StdRng {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        StdRng::seed_from_u64(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n)
    }
}

/// An extreme whole number, still a valid 64-bit integer (the schema's
/// type): what a careless client would overflow on.
fn extreme_integer(rng: &mut StdRng) -> Value {
    match rng.random_range(0..7) {
        0 => json!(i64::MAX),
        1 => json!(i64::MIN),
        2 => json!(-1),
        3 => json!(0),
        4 => json!(i32::MAX),
        5 => json!(9_007_199_254_740_993_i64),
        _ => json!(rng.random::<i64>()),
    }
}

/// An extreme number where the schema has a float.
fn extreme_float(rng: &mut StdRng) -> Value {
    match rng.random_range(0..4) {
        0 => json!(1.0e300),
        1 => json!(-1.0e300),
        2 => json!(f64::MIN_POSITIVE),
        _ => json!(-0.5),
    }
}

/// An extreme number of the same kind as `n` (integer or float).
fn extreme_like(n: &serde_json::Number, rng: &mut StdRng) -> Value {
    if n.is_f64() {
        extreme_float(rng)
    } else {
        extreme_integer(rng)
    }
}

/// An extreme number for a hint the client must not trust (`total`,
/// `limit`): any JSON number.
fn extreme_number(rng: &mut StdRng) -> Value {
    match rng.random_range(0..3) {
        0 => json!(u64::MAX),
        1 => extreme_float(rng),
        _ => extreme_integer(rng),
    }
}

/// An extreme token lifetime.
fn extreme_lifetime(rng: &mut StdRng) -> Value {
    match rng.random_range(0..7) {
        0 => json!(i64::MAX),
        1 => json!(0),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!("3600"),
        5 => json!(1.5e308),
        _ => json!(1),
    }
}

/// A date a careless client would overflow on, or no date at all.
fn extreme_date(rng: &mut StdRng) -> Value {
    match rng.random_range(0..6) {
        0 => json!("+275760-09-13T00:00:00Z"),
        1 => json!("9999-12-31T23:59:59.999999999+14:00"),
        2 => json!("0000-01-01T00:00:00Z"),
        3 => json!("99999999999999"),
        4 => json!("not a date"),
        _ => json!("1970-01-01T00:00:00Z"),
    }
}

/// Keys never touched: identities the fleet's consistency depends on.
const KEEP: &[&str] = &[
    "id",
    "device_id",
    "mobileDeviceId",
    "udid",
    "serialNumber",
    "serial_number",
    "type",
    "nextCursor",
];

fn looks_like_date(s: &str) -> bool {
    s.len() >= 19 && s.as_bytes().get(4) == Some(&b'-') && s.contains(':')
}

/// Replaces some numbers and dates inside `v` with extreme ones.
fn scramble(v: &mut Value, rng: &mut StdRng, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if KEEP.contains(&k.as_str()) {
                    continue;
                }
                match x {
                    Value::Number(n) if rng.random_bool(0.2) => {
                        let extreme = extreme_like(n, rng);
                        *x = extreme;
                    }
                    Value::String(s) if looks_like_date(s) && rng.random_bool(0.2) => {
                        *x = extreme_date(rng)
                    }
                    _ => scramble(x, rng, depth + 1),
                }
            }
        }
        Value::Array(items) => {
            for x in items {
                scramble(x, rng, depth + 1);
            }
        }
        _ => {}
    }
}

/// What a request is, for chaos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    JamfListing,
    JamfOAuth,
    JamfUserToken,
    KandjiDevices,
    AbmDevices,
    AbmToken,
    Other,
}

fn target(path: &str) -> Target {
    if let Some(p) = path.strip_prefix("/jamf") {
        if p.contains("/computers-inventory") && !p.contains("-detail") && p.ends_with("inventory")
            || p == "/api/v2/mobile-devices/detail"
        {
            return Target::JamfListing;
        }
        if p.ends_with("/oauth/token") {
            return Target::JamfOAuth;
        }
        if p == "/api/v1/auth/token" || p == "/api/v1/auth/keep-alive" {
            return Target::JamfUserToken;
        }
    } else if path == "/kandji/api/v1/devices" {
        return Target::KandjiDevices;
    } else if path == "/abm/v1/orgDevices" {
        return Target::AbmDevices;
    } else if path.starts_with("/abm-auth/") {
        return Target::AbmToken;
    }
    Target::Other
}

/// A query parameter.
fn param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `query` with `name` set to `value` (or removed, for `None`).
fn with_param(query: &str, name: &str, value: Option<&str>) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != name {
            out.append_pair(&k, &v);
        }
    }
    if let Some(v) = value {
        out.append_pair(name, v);
    }
    out.finish()
}

/// The chaos middleware, outermost on the simulator's router.
pub(crate) async fn layer(State(chaos): State<Arc<Chaos>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let what = target(&path);
    let query = req.uri().query().unwrap_or("").to_string();
    let mut rng = chaos.rng();
    let mut req = req;

    // Requests the server "ignores": the first page again.
    let rewritten = match what {
        Target::JamfListing if chaos.paging(Vendor::Jamf) == PagingChaos::IgnoreOffset => {
            Some(with_param(&query, "page", Some("0")))
        }
        Target::JamfListing
            if chaos.paging(Vendor::Jamf) == PagingChaos::CycleCursor
                && param(&query, "page").is_some_and(|p| p != "0" && p != "1") =>
        {
            Some(with_param(&query, "page", Some("0")))
        }
        Target::KandjiDevices if chaos.paging(Vendor::Kandji) == PagingChaos::IgnoreOffset => {
            Some(with_param(&query, "offset", Some("0")))
        }
        Target::KandjiDevices
            if chaos.paging(Vendor::Kandji) == PagingChaos::CycleCursor
                && param(&query, "offset").is_some_and(|o| o.parse::<u64>().unwrap_or(0) > 0) =>
        {
            // The second page is served for every later offset.
            let limit = param(&query, "limit").unwrap_or_else(|| "300".into());
            Some(with_param(&query, "offset", Some(&limit)))
        }
        Target::AbmDevices if chaos.paging(Vendor::Abm) == PagingChaos::IgnoreOffset => {
            Some(with_param(&query, "cursor", None))
        }
        _ => None,
    };
    if let Some(q) = rewritten {
        let pq = if q.is_empty() {
            path.clone()
        } else {
            format!("{path}?{q}")
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }

    let resp = next.run(req).await;
    if what == Target::Other || resp.status() != StatusCode::OK {
        return with_rate_headers(resp, &mut rng);
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut doc) = serde_json::from_slice::<Value>(&bytes) else {
        return with_rate_headers(Response::from_parts(parts, Body::from(bytes)), &mut rng);
    };
    mutate(&chaos, what, &query, &mut doc, &mut rng);
    let body = serde_json::to_vec(&doc).map(Bytes::from).unwrap_or(bytes);
    parts.headers.remove(header::CONTENT_LENGTH);
    with_rate_headers(Response::from_parts(parts, Body::from(body)), &mut rng)
}

/// Extreme rate-limit headers on every answer (a client must only read them).
fn with_rate_headers(mut resp: Response, rng: &mut StdRng) -> Response {
    if rng.random_bool(0.5) {
        let v = match rng.random_range(0..4) {
            0 => u64::MAX.to_string(),
            1 => "-1".to_string(),
            2 => "1e308".to_string(),
            _ => "soon".to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&v) {
            let h = resp.headers_mut();
            h.insert("ratelimit-reset", v.clone());
            h.insert("ratelimit-remaining", v.clone());
            h.insert("x-ratelimit-limit", v);
        }
    }
    resp
}

fn mutate(chaos: &Chaos, what: Target, query: &str, doc: &mut Value, rng: &mut StdRng) {
    match what {
        Target::JamfOAuth => doc["expires_in"] = extreme_lifetime(rng),
        Target::AbmToken => doc["expires_in"] = extreme_lifetime(rng),
        Target::JamfUserToken => {
            if rng.random_bool(0.5) {
                doc["expires"] = json!("9999-12-31T23:59:59.999Z");
            }
        }
        Target::JamfListing => {
            let page: u64 = param(query, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            match chaos.paging(Vendor::Jamf) {
                PagingChaos::LyingTotal | PagingChaos::IgnoreOffset | PagingChaos::RepeatCursor => {
                    doc["totalCount"] = match rng.random_range(0..4) {
                        0 => json!(i64::MAX),
                        1 => json!(-7),
                        2 => json!("lots"),
                        _ => json!(5_000_000),
                    };
                }
                PagingChaos::CycleCursor => doc["totalCount"] = json!(i64::MAX),
                PagingChaos::EmptyMidListing if page == 1 => {
                    doc["results"] = json!([]);
                    doc["totalCount"] = json!(1_000_000);
                }
                _ => {}
            }
            if let Some(items) = doc.get_mut("results") {
                scramble(items, rng, 0);
            }
        }
        Target::KandjiDevices => {
            let offset: u64 = param(query, "offset")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            if chaos.paging(Vendor::Kandji) == PagingChaos::EmptyMidListing && offset > 0 {
                *doc = json!([]);
            }
            scramble(doc, rng, 0);
        }
        Target::AbmDevices => {
            let cursor = param(query, "cursor");
            let next = doc
                .pointer("/meta/paging/nextCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut seen = chaos
                .abm_cursors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = &next {
                seen.push(n.clone());
            }
            let set_next = |doc: &mut Value, c: Value| {
                if let Some(p) = doc.pointer_mut("/meta/paging") {
                    p["nextCursor"] = c;
                }
            };
            match chaos.paging(Vendor::Abm) {
                PagingChaos::LyingTotal => {
                    if let Some(p) = doc.pointer_mut("/meta/paging") {
                        p["total"] = extreme_number(rng);
                        p["limit"] = extreme_number(rng);
                    }
                }
                PagingChaos::RepeatCursor if cursor.is_some() => {
                    set_next(doc, json!(cursor));
                }
                PagingChaos::CycleCursor if cursor.is_some() && seen.len() > 1 => {
                    let back = seen[rng.random_range(0..seen.len() - 1)].clone();
                    set_next(doc, json!(back));
                }
                PagingChaos::EmptyMidListing if cursor.is_some() && next.is_some() => {
                    doc["data"] = json!([]);
                }
                _ => {}
            }
            if let Some(items) = doc.get_mut("data") {
                scramble(items, rng, 0);
            }
        }
        Target::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_values_are_deterministic_per_seed() {
        for seed in 0..50 {
            let a = Chaos::new(seed);
            let b = Chaos::new(seed);
            for v in [Vendor::Jamf, Vendor::Kandji, Vendor::Abm] {
                assert_eq!(a.paging(v), b.paging(v));
            }
            let mut x = json!([{"id": "1", "n": 5, "when": "2024-01-26T16:15:36Z"}]);
            let mut y = x.clone();
            scramble(&mut x, &mut a.rng(), 0);
            scramble(&mut y, &mut b.rng(), 0);
            assert_eq!(x, y);
            assert_eq!(x[0]["id"], "1", "identities are kept");
        }
        // Every mode turns up over a few seeds.
        let modes: std::collections::HashSet<_> = (0..60)
            .map(|s| format!("{:?}", Chaos::new(s).paging(Vendor::Abm)))
            .collect();
        assert_eq!(modes.len(), PagingChaos::ALL.len());
    }

    #[test]
    fn targets_and_params() {
        assert_eq!(
            target("/jamf/api/v1/computers-inventory"),
            Target::JamfListing
        );
        assert_eq!(
            target("/jamf/api/v3/computers-inventory"),
            Target::JamfListing
        );
        assert_eq!(
            target("/jamf/api/v2/mobile-devices/detail"),
            Target::JamfListing
        );
        assert_eq!(
            target("/jamf/api/v1/computers-inventory-detail/4"),
            Target::Other
        );
        assert_eq!(target("/kandji/api/v1/devices"), Target::KandjiDevices);
        assert_eq!(target("/abm/v1/orgDevices"), Target::AbmDevices);
        assert_eq!(target("/abm-auth/auth/oauth2/token"), Target::AbmToken);
        assert_eq!(
            with_param("page=3&page-size=10", "page", Some("0")),
            "page-size=10&page=0"
        );
        assert_eq!(with_param("limit=5&cursor=x", "cursor", None), "limit=5");
    }
}
