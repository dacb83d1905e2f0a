//! Jamf Pro: OAuth and user tokens, computer inventory v1–v4, mobile devices,
//! buildings, departments, sites, users (Pro and Classic), and the access
//! model (admin accounts, account groups, privilege sets; see [`access`]).
//!
//! Paging is 0-based with `page-size` silently capped at 2000 and `totalCount`
//! in the envelope; sections not asked for are `null`; `filter` supports
//! `;`-joined comparisons on `general.reportDate`, `id`, `udid`,
//! `general.name`, `general.platform`, `hardware.serialNumber` and
//! `userAndLocation.email`/`username`.

// Handler helpers return the finished HTTP error response, built once per request.
#![allow(clippy::result_large_err)]

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use mdm_mapping::Vendor;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::auth::{self, TokenKind};
use super::fleet::{Device, DeviceKind, Fleet, JamfRecord, format_mac, mix};
use super::privileges;

pub(crate) mod access;
use super::render::{self, BUILDINGS, DEPARTMENTS};
use super::{Authed, Guard, Params, SimState, guard, json_bytes, json_response, page_key};

// Changes tests make between syncs (touches, removals).
use super::PageTag;
use super::jamf_touch::{Changes, JamfChanges, touched_os};

/// The version the simulator claims.
pub(crate) const JAMF_VERSION: &str = "11.30.1-t1784555528405";
const MAX_PAGE_SIZE: usize = 2000;

/// Jamf-side state: sort orders cached per key, the "broken" mobile device,
/// user → records, and the changes tests made (touches, removals).
#[derive(Debug)]
pub(crate) struct JamfState {
    broken_mobile: Option<u32>,
    sorted: Mutex<HashMap<String, Arc<Vec<usize>>>>,
    user_records: HashMap<usize, Vec<(bool, u32, usize)>>,
    pub(crate) changes: JamfChanges,
}

impl JamfState {
    pub(crate) fn new(fleet: &Fleet, broken: bool) -> Self {
        let mobiles = fleet.jamf_mobile_devices();
        let broken_mobile = (broken && !mobiles.is_empty())
            .then(|| {
                mobiles
                    .get((mix(fleet.config().seed, 0xB40C) % mobiles.len() as u64) as usize)
                    .map(|r| r.id)
            })
            .flatten();
        let mut user_records: HashMap<usize, Vec<(bool, u32, usize)>> = HashMap::new();
        for (computer, list) in [(true, fleet.jamf_computers()), (false, mobiles)] {
            for r in list {
                if let Some(u) = fleet.device(r.device).and_then(|d| d.user) {
                    user_records
                        .entry(u)
                        .or_default()
                        .push((computer, r.id, r.device));
                }
            }
        }
        Self {
            broken_mobile,
            sorted: Mutex::new(HashMap::new()),
            user_records,
            changes: JamfChanges::default(),
        }
    }

    /// Forgets the cached sort orders (after a touch, the report dates and
    /// OS versions they sorted by moved; orders are kept per generation of
    /// the changes, so older ones are of no more use).
    pub(crate) fn forget_orders(&self) {
        self.sorted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// A Jamf Pro API error: `{"httpStatus", "errors":[{code, description, id, field}]}`.
pub(crate) fn api_error(status: StatusCode, code: Option<&str>, description: &str) -> Response {
    json_response(
        status,
        &json!({"httpStatus": status.as_u16(), "errors": [{"code": code, "description": description, "id": "0", "field": null}]}),
    )
}

/// The Classic API's Restlet HTML status page.
pub(crate) fn classic_status_page(status: StatusCode, reason: &str, detail: &str) -> Response {
    let body = format!(
        "<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style=\"font-family: sans-serif;\">\n<p style=\"font-size: 1.2em;font-weight: bold;margin: 1em 0px;\">{reason}</p>\n<p>{detail}</p>\n<p>You can get technical details <a href=\"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html\">here</a>.<br>\nPlease continue your visit at our <a href=\"/\">home page</a>.\n</p>\n</body>\n</html>\n"
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=UTF-8"),
    );
    resp
}

fn classic_json(body: &Value) -> Response {
    // Real Jamf labels Classic JSON as text/plain.
    json_bytes(
        StatusCode::OK,
        body.to_string().into_bytes(),
        "text/plain;charset=UTF-8",
    )
}

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description, "error_uri": "https://datatracker.ietf.org/doc/html/rfc6749#section-5.2"}),
    )
}

fn iso_millis(t: SystemTime) -> String {
    let d: DateTime<Utc> = t.into();
    d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    let token_guard = Guard {
        state: state.clone(),
        vendor: Vendor::Jamf,
        token_endpoint: true,
    };
    let api_guard = Guard {
        state: state.clone(),
        vendor: Vendor::Jamf,
        token_endpoint: false,
    };
    let tokens = Router::new()
        .route("/api/v1/oauth/token", post(oauth_token))
        .route("/api/oauth/token", post(oauth_token))
        .route("/api/v1/auth/token", post(user_token))
        .route("/api/v1/auth/keep-alive", post(keep_alive))
        .route("/api/v1/auth/invalidate-token", post(invalidate))
        .route_layer(axum::middleware::from_fn_with_state(token_guard, guard));
    let mut api = Router::new()
        .route("/api/v1/jamf-pro-version", get(version))
        .route("/api/v1/auth", get(auth_details))
        .route("/api/v2/mobile-devices", get(mobile_list))
        .route("/api/v2/mobile-devices/detail", get(mobile_detail_list))
        .route("/api/v2/mobile-devices/{id}", get(mobile_one))
        .route("/api/v2/mobile-devices/{id}/detail", get(mobile_detail_one))
        .route("/api/v1/buildings", get(buildings))
        .route("/api/v1/buildings/{id}", get(building))
        .route("/api/v1/departments", get(departments))
        .route("/api/v1/departments/{id}", get(department))
        .route("/api/v1/sites", get(sites))
        .route("/api/v1/users", get(pro_users))
        .route("/JSSResource/users", get(classic_users))
        .route("/JSSResource/users/id/{id}", get(classic_user))
        .route("/JSSResource/accounts", get(classic_accounts))
        .route("/JSSResource/accounts/userid/{id}", get(classic_account))
        .route("/JSSResource/accounts/groupid/{id}", get(classic_group))
        .route(
            "/JSSResource/computers/subset/basic",
            get(classic_computers_basic),
        )
        .route("/JSSResource/computers", get(classic_computers))
        .route("/JSSResource/computers/id/{id}", get(classic_computer))
        .route("/JSSResource/mobiledevices", get(classic_mobiles))
        .route("/JSSResource/mobiledevices/id/{id}", get(classic_mobile));
    for version in 1u8..=4 {
        api = api
            .route(
                &format!("/api/v{version}/computers-inventory"),
                get(move |s: State<Arc<SimState>>, uri: Uri| computers_list(s, uri, version)),
            )
            .route(
                &format!("/api/v{version}/computers-inventory/{{id}}"),
                get(move |s: State<Arc<SimState>>, id: Path<String>, uri: Uri| {
                    computer_one(s, id, uri, version)
                }),
            )
            .route(
                &format!("/api/v{version}/computers-inventory-detail/{{id}}"),
                get(move |s: State<Arc<SimState>>, id: Path<String>| {
                    computer_detail(s, id, version)
                }),
            );
    }
    let api = api.route_layer(axum::middleware::from_fn_with_state(api_guard, guard));
    tokens.merge(api).with_state(state)
}

// ---------------------------------------------------------------- auth

async fn oauth_token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = Params::parse_str(&body);
    let basic = auth::basic(&headers);
    let Some(grant) = form.get("grant_type") else {
        return oauth_error("invalid_request", "OAuth 2.0 Parameter: grant_type");
    };
    if grant != "client_credentials" {
        return oauth_error("unsupported_grant_type", "OAuth 2.0 Parameter: grant_type");
    }
    let (id, secret) = match (form.get("client_id"), form.get("client_secret"), basic) {
        (Some(id), Some(secret), _) => (id.to_string(), secret.to_string()),
        (_, _, Some((id, secret))) => (id, secret),
        _ => return oauth_error("invalid_request", "OAuth 2.0 Parameter: client_id"),
    };
    if id != state.creds.jamf_client_id || secret != state.creds.jamf_client_secret.expose_secret()
    {
        return oauth_error("invalid_client", "Client authentication failed");
    }
    let lifetime = state.lifetimes.jamf_oauth;
    let (token, _) = state.tokens.issue(TokenKind::JamfOAuth, lifetime);
    json_response(
        StatusCode::OK,
        &json!({"access_token": token, "scope": "api-role:1", "token_type": "Bearer", "expires_in": lifetime.as_secs()}),
    )
}

async fn user_token(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    match auth::basic(&headers) {
        Some((user, pass))
            if user == state.creds.jamf_username
                && pass == state.creds.jamf_password.expose_secret() =>
        {
            let (token, expires) = state
                .tokens
                .issue(TokenKind::JamfUser, state.lifetimes.jamf_user);
            json_response(
                StatusCode::OK,
                &json!({"token": token, "expires": iso_millis(expires)}),
            )
        }
        _ => json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"httpStatus": 401, "errors": []}),
        ),
    }
}

async fn keep_alive(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    let token = auth::bearer(&headers);
    match state.tokens.check(token, Vendor::Jamf) {
        Ok(TokenKind::JamfUser) => {
            if let Some(old) = token {
                state.tokens.revoke(old);
            }
            let (token, expires) = state
                .tokens
                .issue(TokenKind::JamfUser, state.lifetimes.jamf_user);
            json_response(
                StatusCode::OK,
                &json!({"token": token, "expires": iso_millis(expires)}),
            )
        }
        Ok(_) => api_error(
            StatusCode::UNAUTHORIZED,
            Some("INVALID_TOKEN"),
            "Keep-alive is only supported for user bearer tokens",
        ),
        Err(_) => api_error(
            StatusCode::UNAUTHORIZED,
            Some("INVALID_TOKEN"),
            "Unauthorized",
        ),
    }
}

async fn invalidate(State(state): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    let token = auth::bearer(&headers);
    match (state.tokens.check(token, Vendor::Jamf), token) {
        (Ok(_), Some(t)) => {
            state.tokens.revoke(t);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => api_error(
            StatusCode::UNAUTHORIZED,
            Some("INVALID_TOKEN"),
            "Unauthorized",
        ),
    }
}

async fn version() -> Response {
    json_response(StatusCode::OK, &json!({ "version": JAMF_VERSION }))
}

async fn auth_details(
    State(state): State<Arc<SimState>>,
    Extension(Authed(kind)): Extension<Authed>,
) -> Response {
    let (name, auth_type) = match kind {
        Some(TokenKind::JamfOAuth) => (state.creds.jamf_client_id.clone(), "CLIENT_CREDENTIALS"),
        _ => (state.creds.jamf_username.clone(), "JSS"),
    };
    json_response(
        StatusCode::OK,
        &json!({
            "account": {"id": "1", "username": name, "realName": "Inventory Reader", "email": null,
                "multiSiteAdmin": true, "accessLevel": "FullAccess", "privilegeSet": "CUSTOM",
                "privilegesBySite": {}, "groupIds": [], "currentSiteId": "-1"},
            "accountGroups": [],
            "sites": [{"id": "1", "name": "Headquarters", "divisionId": null}],
            "authenticationType": auth_type,
        }),
    )
}

// ---------------------------------------------------------------- paging helpers

struct Paging {
    page: usize,
    size: usize,
}

fn paging(p: &Params, default_size: usize, max: usize) -> Result<Paging, Response> {
    let bad = |m: String| api_error(StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER"), &m);
    let page = p.number("page").map_err(bad)?.unwrap_or(0);
    let size = p
        .number("page-size")
        .map_err(bad)?
        .unwrap_or(default_size)
        .min(max);
    Ok(Paging { page, size })
}

fn page_slice<T: Copy>(items: &[T], paging: &Paging) -> Vec<T> {
    let start = paging.page.saturating_mul(paging.size);
    items
        .iter()
        .skip(start)
        .take(paging.size)
        .copied()
        .collect()
}

fn envelope(total: usize, results: Vec<Value>) -> Value {
    json!({"totalCount": total, "results": results})
}

// ---------------------------------------------------------------- computers

const COMPUTER_SECTIONS: &[(&str, &str)] = &[
    ("GENERAL", "general"),
    ("DISK_ENCRYPTION", "diskEncryption"),
    ("PURCHASING", "purchasing"),
    ("APPLICATIONS", "applications"),
    ("STORAGE", "storage"),
    ("USER_AND_LOCATION", "userAndLocation"),
    ("CONFIGURATION_PROFILES", "configurationProfiles"),
    ("PRINTERS", "printers"),
    ("SERVICES", "services"),
    ("HARDWARE", "hardware"),
    ("LOCAL_USER_ACCOUNTS", "localUserAccounts"),
    ("CERTIFICATES", "certificates"),
    ("ATTACHMENTS", "attachments"),
    ("PACKAGE_RECEIPTS", "packageReceipts"),
    ("SECURITY", "security"),
    ("OPERATING_SYSTEM", "operatingSystem"),
    ("LICENSED_SOFTWARE", "licensedSoftware"),
    ("IBEACONS", "ibeacons"),
    ("SOFTWARE_UPDATES", "softwareUpdates"),
    ("EXTENSION_ATTRIBUTES", "extensionAttributes"),
    ("CONTENT_CACHING", "contentCaching"),
    ("GROUP_MEMBERSHIPS", "groupMemberships"),
];
const V1_ONLY_SECTIONS: &[(&str, &str)] = &[("PLUGINS", "plugins"), ("FONTS", "fonts")];

fn section_table(version: u8) -> Vec<(&'static str, &'static str)> {
    let mut all = COMPUTER_SECTIONS.to_vec();
    if version == 1 {
        all.extend_from_slice(V1_ONLY_SECTIONS);
    }
    all
}

fn parse_sections(
    p: &Params,
    table: &[(&'static str, &'static str)],
    default: &'static str,
) -> Result<HashSet<&'static str>, Response> {
    let mut wanted = HashSet::new();
    for value in p.all("section") {
        for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match table.iter().find(|(s, _)| s.eq_ignore_ascii_case(name)) {
                Some((_, key)) => {
                    wanted.insert(*key);
                }
                None => {
                    return Err(api_error(
                        StatusCode::BAD_REQUEST,
                        Some("INVALID_FIELD"),
                        &format!("Invalid section [{name}]"),
                    ));
                }
            }
        }
    }
    if wanted.is_empty()
        && let Some((_, key)) = table.iter().find(|(s, _)| *s == default)
    {
        wanted.insert(*key);
    }
    Ok(wanted)
}

/// The report date (`general.reportDate`, `lastInventoryUpdateDate`) in
/// epoch milliseconds: the touch's, else the generated one.
fn report_millis(ch: &Changes, rec: &JamfRecord, d: &Device) -> i64 {
    if let Some(t) = ch.touch(rec, d) {
        return t.at * 1000;
    }
    let dd = render::dates(d);
    let secs = if rec.stale {
        dd.enrolled + 5 * 86_400
    } else {
        dd.report
    };
    secs * 1000 + i64::from(dd.ms)
}

/// The last contact (check-in) time, epoch seconds and milliseconds.
fn contact_time(ch: &Changes, rec: &JamfRecord, d: &Device) -> (i64, u32) {
    if let Some(t) = ch.touch(rec, d) {
        return (t.at, 0);
    }
    let dd = render::dates(d);
    if rec.stale {
        (dd.enrolled + 5 * 86_400, dd.ms)
    } else {
        (dd.contact, dd.ms)
    }
}

/// (OS version, build): the touch's update, else the generated one.
fn os_version(ch: &Changes, rec: &JamfRecord, d: &Device) -> (&'static str, &'static str) {
    match ch.touch(rec, d) {
        Some(t) => touched_os(d, t.count),
        None => d.os_version(),
    }
}

/// Whether a page's `filter` or `sort` reads a value a touch changes.
fn volatile_query(p: &Params) -> bool {
    const TOUCHED_FIELDS: &[&str] = &[
        "reportDate",
        "lastContact",
        "lastCheckIn",
        "operatingSystem.version",
        "lastInventoryUpdateDate",
    ];
    [p.get("filter"), p.get("sort")]
        .into_iter()
        .flatten()
        .any(|q| TOUCHED_FIELDS.iter().any(|f| q.contains(f)))
}

fn computer_sort_value(
    fleet: &Fleet,
    ch: &Changes,
    rec: &JamfRecord,
    field: &str,
) -> Option<SortValue> {
    let d = fleet.device(rec.device)?;
    Some(match field {
        "id" => SortValue::Num(i64::from(rec.id)),
        "udid" => SortValue::Text(d.udid_string()),
        "general.name" => SortValue::Text(render::device_name(fleet, d).to_lowercase()),
        "general.reportDate"
        | "general.lastContactTime"
        | "general.lastContact"
        | "general.lastCheckIn" => SortValue::Num(report_millis(ch, rec, d)),
        "hardware.serialNumber" => SortValue::Text(d.serial.clone()),
        "hardware.model" => SortValue::Text(d.model.name.to_string()),
        "operatingSystem.version" => SortValue::Text(os_version(ch, rec, d).0.to_string()),
        _ => return None,
    })
}

fn mobile_sort_value(
    fleet: &Fleet,
    _ch: &Changes,
    rec: &JamfRecord,
    field: &str,
) -> Option<SortValue> {
    let d = fleet.device(rec.device)?;
    Some(match field {
        "id" | "mobileDeviceId" => SortValue::Num(i64::from(rec.id)),
        "name" | "displayName" => SortValue::Text(render::device_name(fleet, d).to_lowercase()),
        "serialNumber" => SortValue::Text(d.serial.clone()),
        "udid" => SortValue::Text(d.udid_string()),
        "model" => SortValue::Text(d.model.name.to_string()),
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Num(i64),
    Text(String),
}

type SortFn = fn(&Fleet, &Changes, &JamfRecord, &str) -> Option<SortValue>;

/// Positions of `records` in `sort` order (cached per key and generation of
/// the changes).
fn sorted(
    state: &SimState,
    ch: &Changes,
    what: &str,
    records: &[JamfRecord],
    sort: &str,
    value: SortFn,
) -> Result<Arc<Vec<usize>>, Response> {
    let key = format!("{what}|{sort}|{}", ch.generation);
    if let Some(hit) = state
        .jamf
        .sorted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Ok(hit.clone());
    }
    let mut fields = Vec::new();
    for part in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (field, dir) = part.split_once(':').unwrap_or((part, "asc"));
        let desc = match dir.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    Some("INVALID_SORT"),
                    &format!("Invalid sort direction [{dir}]"),
                ));
            }
        };
        if value(
            &state.fleet,
            ch,
            &JamfRecord {
                id: 0,
                device: 0,
                stale: false,
            },
            field,
        )
        .is_none()
            && !state.fleet.devices().is_empty()
        {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                Some("INVALID_SORT"),
                &format!("Sort field [{field}] is not supported"),
            ));
        }
        fields.push((field.to_string(), desc));
    }
    let keys: Vec<Vec<Option<SortValue>>> = records
        .iter()
        .map(|r| {
            fields
                .iter()
                .map(|(f, _)| value(&state.fleet, ch, r, f))
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| {
        for (i, (_, desc)) in fields.iter().enumerate() {
            let ka = keys.get(a).and_then(|k| k.get(i));
            let kb = keys.get(b).and_then(|k| k.get(i));
            let o = ka.cmp(&kb);
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        records
            .get(a)
            .map(|r| r.id)
            .cmp(&records.get(b).map(|r| r.id))
    });
    let order = Arc::new(order);
    state
        .jamf
        .sorted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, order.clone());
    Ok(order)
}

// ----- RSQL filter (a subset)

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    Out,
}

#[derive(Debug, Clone)]
struct Clause {
    field: String,
    op: Cmp,
    values: Vec<String>,
}

fn split_top(text: &str, sep: char) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut depth) = (Vec::new(), String::new(), None::<char>, 0i32);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                cur.push(c);
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '(') => {
                depth += 1;
                cur.push(c);
            }
            (None, ')') => {
                depth -= 1;
                cur.push(c);
            }
            (None, c) if c == sep && depth == 0 => out.push(std::mem::take(&mut cur)),
            (None, c) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// `(a==1)` → `a==1`, when the parentheses enclose the whole clause.
fn strip_parens(part: &str) -> &str {
    let mut p = part.trim();
    while let Some(inner) = p.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        // Only if the opening parenthesis closes at the very end.
        if balanced(inner) {
            p = inner.trim();
        } else {
            break;
        }
    }
    p
}

fn balanced(text: &str) -> bool {
    let (mut depth, mut quote) = (0i32, None::<char>);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let inner = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
    match inner {
        None => v.to_string(),
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

fn parse_filter(text: &str, allowed: &[&str]) -> Result<Vec<Clause>, Response> {
    let bad = |m: String| api_error(StatusCode::BAD_REQUEST, None, &m);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut clauses = Vec::new();
    for part in split_top(text, ';') {
        let part = strip_parens(&part).to_string();
        if split_top(&part, ',').len() > 1 {
            return Err(bad(format!(
                "The simulator supports only ';' (AND) in filters, not ',' (OR): [{part}]"
            )));
        }
        const OPS: &[(&str, Cmp)] = &[
            ("=in=", Cmp::In),
            ("=out=", Cmp::Out),
            ("=gt=", Cmp::Gt),
            ("=ge=", Cmp::Ge),
            ("=lt=", Cmp::Lt),
            ("=le=", Cmp::Le),
            ("==", Cmp::Eq),
            ("!=", Cmp::Ne),
            (">=", Cmp::Ge),
            ("<=", Cmp::Le),
            (">", Cmp::Gt),
            ("<", Cmp::Lt),
        ];
        let found = OPS
            .iter()
            .filter_map(|(op, cmp)| part.find(op).map(|at| (at, *op, *cmp)))
            .min_by_key(|(at, op, _)| (*at, usize::MAX - op.len()));
        let Some((at, op, cmp)) = found else {
            return Err(bad(format!("Invalid RSQL expression [{part}]")));
        };
        let field = part.get(..at).unwrap_or_default().trim().to_string();
        let raw = part.get(at + op.len()..).unwrap_or_default().trim();
        if !allowed.contains(&field.as_str()) {
            return Err(bad(format!(
                "Cannot filter by field [{field}]. Fields that can be used for filtering: {}",
                allowed.join(", ")
            )));
        }
        let op = cmp;
        let values = if matches!(op, Cmp::In | Cmp::Out) {
            let inner = raw
                .strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .unwrap_or(raw);
            split_top(inner, ',').iter().map(|v| unquote(v)).collect()
        } else {
            vec![unquote(raw)]
        };
        clauses.push(Clause { field, op, values });
    }
    Ok(clauses)
}

enum FieldValue {
    Time(i64),
    Num(i64),
    Text(String),
}

fn wildcard_eq(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.to_lowercase(), value.to_lowercase());
    if !p.contains('*') {
        return p == v;
    }
    let parts: Vec<&str> = p.split('*').collect();
    let mut rest = v.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = rest.get(at + part.len()..).unwrap_or_default();
        } else {
            return false;
        }
    }
    true
}

fn clause_matches(clause: &Clause, actual: Option<FieldValue>) -> Result<bool, String> {
    let Some(actual) = actual else {
        return Ok(matches!(clause.op, Cmp::Ne | Cmp::Out));
    };
    let ord = |v: &str| -> Result<Ordering, String> {
        Ok(match &actual {
            FieldValue::Time(t) => {
                t.cmp(&render::parse_when(v).ok_or_else(|| format!("[{v}] is not a date-time"))?)
            }
            FieldValue::Num(n) => n.cmp(
                &v.parse::<i64>()
                    .map_err(|_| format!("[{v}] is not a number"))?,
            ),
            FieldValue::Text(s) => s.to_lowercase().cmp(&v.to_lowercase()),
        })
    };
    let eq = |v: &str| -> Result<bool, String> {
        match &actual {
            FieldValue::Text(s) => Ok(wildcard_eq(v, s)),
            _ => Ok(ord(v)? == Ordering::Equal),
        }
    };
    let first = clause
        .values
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    Ok(match clause.op {
        Cmp::Eq => eq(first)?,
        Cmp::Ne => !eq(first)?,
        Cmp::Gt => ord(first)? == Ordering::Greater,
        Cmp::Ge => ord(first)? != Ordering::Less,
        Cmp::Lt => ord(first)? == Ordering::Less,
        Cmp::Le => ord(first)? != Ordering::Greater,
        Cmp::In => {
            let mut any = false;
            for v in &clause.values {
                any |= eq(v)?;
            }
            any
        }
        Cmp::Out => {
            let mut any = false;
            for v in &clause.values {
                any |= eq(v)?;
            }
            !any
        }
    })
}

const COMPUTER_FILTER_FIELDS: &[&str] = &[
    "general.reportDate",
    "id",
    "udid",
    "general.name",
    "general.platform",
    "hardware.serialNumber",
    "hardware.model",
    "hardware.modelIdentifier",
    "userAndLocation.email",
    "userAndLocation.username",
];

fn computer_field(
    fleet: &Fleet,
    ch: &Changes,
    rec: &JamfRecord,
    field: &str,
) -> Option<FieldValue> {
    let d = fleet.device(rec.device)?;
    let user = fleet.user_of(d);
    Some(match field {
        "general.reportDate" => FieldValue::Time(report_millis(ch, rec, d)),
        "id" => FieldValue::Num(i64::from(rec.id)),
        "udid" => FieldValue::Text(d.udid_string()),
        "general.name" => FieldValue::Text(render::device_name(fleet, d)),
        "general.platform" => FieldValue::Text("Mac".into()),
        "hardware.serialNumber" => FieldValue::Text(d.serial.clone()),
        "hardware.model" => FieldValue::Text(d.model.name.to_string()),
        "hardware.modelIdentifier" => FieldValue::Text(d.model.identifier.to_string()),
        "userAndLocation.email" if !d.quirks.jamf_null_email => {
            FieldValue::Text(user?.email.clone())
        }
        "userAndLocation.username" => FieldValue::Text(user?.username().to_string()),
        _ => return None,
    })
}

type FieldFn = fn(&Fleet, &Changes, &JamfRecord, &str) -> Option<FieldValue>;

fn apply_filter(
    fleet: &Fleet,
    ch: &Changes,
    records: &[JamfRecord],
    order: &[usize],
    clauses: &[Clause],
    field: FieldFn,
) -> Result<Vec<usize>, Response> {
    if clauses.is_empty() {
        return Ok(order.to_vec());
    }
    let mut out = Vec::new();
    for &pos in order {
        let Some(rec) = records.get(pos) else {
            continue;
        };
        let mut keep = true;
        for c in clauses {
            match clause_matches(c, field(fleet, ch, rec, &c.field)) {
                Ok(true) => {}
                Ok(false) => {
                    keep = false;
                    break;
                }
                Err(m) => return Err(api_error(StatusCode::BAD_REQUEST, None, &m)),
            }
        }
        if keep {
            out.push(pos);
        }
    }
    Ok(out)
}

/// A cached page of `state`'s Jamf devices, dropped when a touch or
/// removal changes it.
fn jamf_page(
    state: &SimState,
    uri: &Uri,
    render: impl FnOnce(&Changes) -> Result<(Value, PageTag), Response>,
) -> Response {
    let ch = state.jamf.changes.snapshot();
    state.pages.page_tagged(
        || page_key("jamf", uri),
        || render(&ch),
        || state.jamf.changes.generation() == ch.generation,
    )
}

async fn computers_list(State(state): State<Arc<SimState>>, uri: Uri, version: u8) -> Response {
    jamf_page(&state, &uri, |ch| {
        computers_list_inner(&state, ch, &uri, version)
    })
}

fn computers_list_inner(
    state: &SimState,
    ch: &Changes,
    uri: &Uri,
    version: u8,
) -> Result<(Value, PageTag), Response> {
    let p = Params::parse(uri);
    let table = section_table(version);
    let sections = parse_sections(&p, &table, "GENERAL")?;
    let paging = paging(&p, 100, MAX_PAGE_SIZE)?;
    let records = state.fleet.jamf_computers();
    let order = sorted(
        state,
        ch,
        "computers",
        records,
        p.get("sort").unwrap_or("general.name:asc"),
        computer_sort_value,
    )?;
    let clauses = parse_filter(p.get("filter").unwrap_or(""), COMPUTER_FILTER_FIELDS)?;
    let mut matching = apply_filter(&state.fleet, ch, records, &order, &clauses, computer_field)?;
    matching.retain(|&pos| records.get(pos).is_some_and(|r| !ch.removed(r.id)));
    let page: Vec<&JamfRecord> = page_slice(&matching, &paging)
        .into_iter()
        .filter_map(|pos| records.get(pos))
        .collect();
    let tag = PageTag {
        computers: true,
        ids: page.iter().map(|r| r.id).collect(),
        volatile: volatile_query(&p),
    };
    let results = page
        .into_iter()
        .map(|rec| computer_json(&state.fleet, ch, rec, &sections, &table, version))
        .collect();
    Ok((envelope(matching.len(), results), tag))
}

/// Computer `id`, unless removed.
fn find_computer<'a>(fleet: &'a Fleet, ch: &Changes, id: &str) -> Option<&'a JamfRecord> {
    let id: u32 = id.trim().parse().ok()?;
    if ch.removed(id) {
        return None;
    }
    let recs = fleet.jamf_computers();
    recs.binary_search_by_key(&id, |r| r.id)
        .ok()
        .and_then(|i| recs.get(i))
}

fn not_found(what: &str) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        Some("INVALID_ID"),
        &format!("{what} not found"),
    )
}

async fn computer_one(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
    version: u8,
) -> Response {
    let p = Params::parse(&uri);
    let table = section_table(version);
    let sections = match parse_sections(&p, &table, "GENERAL") {
        Ok(s) => s,
        Err(r) => return r,
    };
    let ch = state.jamf.changes.snapshot();
    match find_computer(&state.fleet, &ch, &id) {
        Some(rec) => json_response(
            StatusCode::OK,
            &computer_json(&state.fleet, &ch, rec, &sections, &table, version),
        ),
        None => not_found("Computer"),
    }
}

async fn computer_detail(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    version: u8,
) -> Response {
    let table = section_table(version);
    let sections: HashSet<&str> = table.iter().map(|(_, k)| *k).collect();
    let ch = state.jamf.changes.snapshot();
    match find_computer(&state.fleet, &ch, &id) {
        Some(rec) => json_response(
            StatusCode::OK,
            &computer_json(&state.fleet, &ch, rec, &sections, &table, version),
        ),
        None => not_found("Computer"),
    }
}

fn location_json(fleet: &Fleet, d: &Device, mobile: bool) -> Value {
    let user = fleet.user_of(d);
    let (b, dep) = render::building_department(d);
    let email = user
        .filter(|_| !d.quirks.jamf_null_email)
        .map(|u| u.email.clone());
    if mobile {
        json!({
            "username": user.map(|u| u.username().to_string()),
            "realName": user.map(|u| u.full_name()),
            "emailAddress": email,
            "position": user.map(|u| u.position),
            "phoneNumber": user.map(|u| u.phone()),
            "departmentId": user.map(|_| dep.to_string()),
            "buildingId": user.map(|_| b.to_string()),
            "room": user.map(|_| format!("{}", 100 + d.index % 400)),
            "building": user.and_then(|_| BUILDINGS.get(b as usize - 1).map(|x| x.name)),
            "department": user.and_then(|_| DEPARTMENTS.get(dep as usize - 1).copied()),
            "extensionAttributes": [],
        })
    } else {
        json!({
            "username": user.map(|u| u.username().to_string()),
            "realname": user.map(|u| u.full_name()),
            "email": email,
            "position": user.map(|u| u.position),
            "phone": user.map(|u| u.phone()),
            "departmentId": user.map(|_| dep.to_string()),
            "buildingId": user.map(|_| b.to_string()),
            "room": user.map(|_| format!("{}", 100 + d.index % 400)),
            "extensionAttributes": [],
        })
    }
}

fn site_json(d: &Device) -> Value {
    if d.derive(0x517E).is_multiple_of(5) {
        json!({"id": "1", "name": "Headquarters"})
    } else {
        json!({"id": "-1", "name": "None"})
    }
}

fn purchasing_json(d: &Device, mobile: bool) -> Value {
    let dd = render::dates(d);
    let in_abm = d.in_abm();
    let warranty_years = if d.quirks.applecare { 3 } else { 1 };
    let warranty = dd.ordered + warranty_years * 365 * 86_400;
    let vendor = d.abm.map(|s| match s {
        super::fleet::PurchaseSource::Reseller => "CDW",
        _ => "Apple",
    });
    let price = (!d.derive(0x9A1).is_multiple_of(10))
        .then(|| format!("${}", render::price_usd(d.model.identifier)));
    let applecare_id = d
        .quirks
        .applecare
        .then(|| format!("{}", 900_000_000 + d.derive(0xAC) % 99_999_999));
    let leased = d.derive(0x1EA5).is_multiple_of(20);
    let po = in_abm.then(|| render::order_number(d));
    if mobile {
        json!({
            "purchased": !leased, "leased": leased, "poNumber": po, "vendor": vendor,
            "appleCareId": applecare_id, "purchasePrice": price, "purchasingAccount": in_abm.then_some("IT Budget"),
            "poDate": in_abm.then(|| render::jamf_ts(dd.ordered, 0)),
            "warrantyExpiresDate": in_abm.then(|| render::jamf_ts(warranty, 0)),
            "leaseExpiresDate": leased.then(|| render::jamf_ts(dd.ordered + 2 * 365 * 86_400, 0)),
            "lifeExpectancy": if in_abm { 3 } else { 0 },
            "purchasingContact": in_abm.then_some("IT Procurement"),
            "extensionAttributes": [],
        })
    } else {
        json!({
            "leased": leased, "purchased": !leased, "poNumber": po,
            "poDate": in_abm.then(|| render::date(dd.ordered)),
            "vendor": vendor,
            "warrantyDate": in_abm.then(|| render::date(warranty)),
            "appleCareId": applecare_id,
            "leaseDate": leased.then(|| render::date(dd.ordered + 2 * 365 * 86_400)),
            "purchasePrice": price,
            "lifeExpectancy": if in_abm { 3 } else { 0 },
            "purchasingAccount": in_abm.then_some("IT Budget"),
            "purchasingContact": in_abm.then_some("IT Procurement"),
            "extensionAttributes": [],
        })
    }
}

fn computer_section(
    fleet: &Fleet,
    ch: &Changes,
    rec: &JamfRecord,
    d: &Device,
    key: &str,
    version: u8,
) -> Value {
    let dd = render::dates(d);
    let m = d.model;
    let user = fleet.user_of(d);
    let report = report_millis(ch, rec, d);
    let report_ts = render::jamf_ts(report.div_euclid(1000), report.rem_euclid(1000) as u32);
    let (contact, contact_ms) = contact_time(ch, rec, d);
    let management_id = render::derived_uuid(d, 0x3A1D ^ u64::from(rec.id));
    match key {
        "general" => {
            let mut g = json!({
                "name": render::device_name(fleet, d),
                "lastIpAddress": render::ip(d),
                "lastReportedIpV4": render::ip(d),
                "lastReportedIpV6": null,
                "jamfBinaryVersion": JAMF_VERSION,
                "platform": "Mac",
                "barcode1": null,
                "barcode2": null,
                "assetTag": d.derive(0xA55).is_multiple_of(3).then(|| format!("A{:05}", d.index + 1)),
                "remoteManagement": {"managed": !rec.stale, "managementUsername": null},
                "supervised": d.in_abm(),
                "mdmCapable": {"capable": !rec.stale, "capableUsers": user.map(|u| vec![u.username().to_string()]).unwrap_or_default(), "userManagementInfo": []},
                "reportDate": report_ts,
                "lastCloudBackupDate": null,
                "lastEnrolledDate": render::jamf_ts(if rec.stale { dd.enrolled } else { dd.last_enrolled }, dd.ms),
                "mdmProfileExpiration": render::jamf_ts(dd.last_enrolled + 2 * 365 * 86_400, 0),
                "initialEntryDate": render::date(dd.enrolled),
                "distributionPoint": null,
                "enrollmentMethod": if d.in_abm() { json!({"id": "1", "objectName": "Company Macs", "objectType": "Automated Device Enrollment"}) } else { Value::Null },
                "site": site_json(d),
                "itunesStoreAccountActive": false,
                "enrolledViaAutomatedDeviceEnrollment": d.in_abm(),
                "userApprovedMdm": true,
                "declarativeDeviceManagementEnabled": version >= 3,
                "extensionAttributes": [],
                "managementId": management_id.to_string(),
                "lastLoggedInUsernameSelfService": null,
                "lastLoggedInUsernameSelfServiceTimestamp": null,
                "lastLoggedInUsernameBinary": user.map(|u| u.username().to_string()),
                "lastLoggedInUsernameBinaryTimestamp": user.map(|_| render::jamf_ts(contact, 0)),
            });
            if let Some(obj) = g.as_object_mut() {
                if version >= 4 {
                    obj.insert(
                        "lastContact".into(),
                        json!(render::jamf_ts(contact, contact_ms)),
                    );
                    obj.insert(
                        "lastCheckIn".into(),
                        json!(render::jamf_ts(contact, contact_ms)),
                    );
                } else {
                    obj.insert(
                        "lastContactTime".into(),
                        json!(render::jamf_ts(contact, contact_ms)),
                    );
                    obj.insert("lastReportedIp".into(), json!(render::ip(d)));
                }
            }
            g
        }
        "hardware" => {
            let no_report = d.quirks.jamf_no_hardware_report;
            let sentinel = |v: i64| if no_report { json!(-1) } else { json!(v) };
            let laptop = m.kind == DeviceKind::Laptop;
            let (primary, alt) = match d.ethernet_mac {
                Some(eth) => (format_mac(&eth, true), Some(format_mac(&d.wifi_mac, true))),
                None => (format_mac(&d.wifi_mac, true), None),
            };
            json!({
                "make": "Apple",
                "model": m.name,
                "modelIdentifier": m.identifier,
                "serialNumber": d.serial,
                "processorSpeedMhz": sentinel(i64::from(m.processor_mhz)),
                "processorCount": sentinel(1),
                "coreCount": sentinel(i64::from(m.cores)),
                "processorType": m.processor,
                "processorArchitecture": if m.apple_silicon { "arm64" } else { "x86_64" },
                "busSpeedMhz": if no_report { -1 } else if m.apple_silicon { 0 } else { 400 },
                "cacheSizeKilobytes": if m.apple_silicon { 0 } else { 8192 },
                "networkAdapterType": if d.ethernet_mac.is_some() { "Ethernet" } else { "IEEE80211" },
                "macAddress": primary,
                "altNetworkAdapterType": alt.as_ref().map(|_| "IEEE80211"),
                "altMacAddress": alt,
                "totalRamMegabytes": sentinel(i64::from(m.ram_mb)),
                "openRamSlots": 0,
                "batteryCapacityPercent": if laptop { json!(80 + d.derive(0xBA7) % 20) } else { json!(-1) },
                "batteryHealth": if laptop { "NORMAL" } else { "UNSUPPORTED" },
                "smcVersion": if m.apple_silicon { Value::Null } else { json!("2.54f3") },
                "nicSpeed": if d.ethernet_mac.is_some() { "1 Gbps" } else { "n/a" },
                "opticalDrive": null,
                "bootRom": if m.apple_silicon { "11881.140.96" } else { "2020.41.1.0.0 (iBridge: 22.16.10353.0.0,0)" },
                "bleCapable": true,
                "supportsIosAppInstalls": m.apple_silicon,
                "appleSilicon": m.apple_silicon,
                "provisioningUdid": m.apple_silicon.then(|| d.udid_string()),
                "extensionAttributes": [],
            })
        }
        "operatingSystem" => {
            let (v, build) = os_version(ch, rec, d);
            json!({
                "name": "macOS", "version": v, "build": build, "supplementalBuildVersion": null,
                "rapidSecurityResponse": null, "activeDirectoryStatus": "Not Bound",
                "fileVault2Status": "ALL_ENCRYPTED", "softwareUpdateDeviceId": null, "extensionAttributes": [],
            })
        }
        "userAndLocation" => location_json(fleet, d, false),
        "purchasing" => purchasing_json(d, false),
        "diskEncryption" => json!({
            "bootPartitionEncryptionDetails": {"partitionName": "Macintosh HD (Boot Partition)", "partitionFileVault2State": "ENCRYPTED", "partitionFileVault2Percent": 100},
            "individualRecoveryKeyValidityStatus": "VALID",
            "institutionalRecoveryKeyPresent": false,
            "diskEncryptionConfigurationName": "FileVault",
            "fileVault2Enabled": true,
            "fileVault2EnabledUserNames": user.map(|u| vec![u.username().to_string()]).unwrap_or_default(),
            "fileVault2EligibilityMessage": "Eligible",
        }),
        "security" => json!({
            "sipStatus": "ENABLED", "gatekeeperStatus": "APP_STORE_AND_IDENTIFIED_DEVELOPERS", "xprotectVersion": "5287",
            "autoLoginDisabled": true, "remoteDesktopEnabled": false, "activationLockEnabled": false,
            "recoveryLockEnabled": m.apple_silicon && d.derive(0x5EC).is_multiple_of(2), "firewallEnabled": true,
            "secureBootLevel": "FULL_SECURITY", "externalBootLevel": "NOT_SUPPORTED", "bootstrapTokenAllowed": true,
            "bootstrapTokenEscrowedStatus": "ESCROWED", "lastAttestationAttempt": null, "lastSuccessfulAttestation": null,
            "attestationStatus": "PENDING",
        }),
        "storage" => json!({
            "bootDriveAvailableSpaceMegabytes": u64::from(m.capacity_gb) * 1024 / 2,
            "disks": [{"id": "1", "device": "disk0", "model": "APPLE SSD", "revision": "1", "serialNumber": null,
                "sizeMegabytes": u64::from(m.capacity_gb) * 1024, "smartStatus": "Verified", "type": "SSD", "partitions": []}],
        }),
        "packageReceipts" => {
            json!({"installedByJamfPro": [], "installedByInstallerSwu": [], "cached": []})
        }
        "contentCaching" => Value::Null,
        _ => json!([]),
    }
}

fn computer_json(
    fleet: &Fleet,
    ch: &Changes,
    rec: &JamfRecord,
    sections: &HashSet<&str>,
    table: &[(&'static str, &'static str)],
    version: u8,
) -> Value {
    let Some(d) = fleet.device(rec.device) else {
        return Value::Null;
    };
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), json!(rec.id.to_string()));
    obj.insert("udid".into(), json!(d.udid_string()));
    for (_, key) in table {
        let value = if sections.contains(key) {
            computer_section(fleet, ch, rec, d, key, version)
        } else {
            Value::Null
        };
        obj.insert((*key).to_string(), value);
    }
    Value::Object(obj)
}

// ---------------------------------------------------------------- mobile devices

fn find_mobile<'a>(fleet: &'a Fleet, id: &str) -> Option<&'a JamfRecord> {
    let id: u32 = id.trim().parse().ok()?;
    let recs = fleet.jamf_mobile_devices();
    recs.binary_search_by_key(&id, |r| r.id)
        .ok()
        .and_then(|i| recs.get(i))
}

fn mobile_type(d: &Device) -> &'static str {
    if d.model.kind == DeviceKind::Tv {
        "tvos"
    } else {
        "ios"
    }
}

fn mobile_v2_json(fleet: &Fleet, rec: &JamfRecord, d: &Device) -> Value {
    let user = fleet.user_of(d);
    json!({
        "id": rec.id.to_string(),
        "name": render::device_name(fleet, d),
        "serialNumber": d.serial,
        "wifiMacAddress": format_mac(&d.wifi_mac, true),
        "udid": d.udid_string(),
        "phoneNumber": (d.model.kind == DeviceKind::Phone).then(|| format!("+1 555 02{:02} {:04}", d.index % 100, d.derive(0x9E) % 10_000)),
        "model": d.model.name,
        "modelIdentifier": d.model.identifier,
        "username": user.map(|u| u.username().to_string()),
        "type": mobile_type(d),
        "managementId": render::derived_uuid(d, 0x3A1D ^ u64::from(rec.id)).to_string(),
        "softwareUpdateDeviceId": null,
    })
}

async fn mobile_list(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    jamf_page(&state, &uri, |ch| mobile_list_inner(&state, ch, &uri))
}

fn mobile_list_inner(
    state: &SimState,
    ch: &Changes,
    uri: &Uri,
) -> Result<(Value, PageTag), Response> {
    let p = Params::parse(uri);
    let paging = paging(&p, 100, MAX_PAGE_SIZE)?;
    let records = state.fleet.jamf_mobile_devices();
    let order = sorted(
        state,
        ch,
        "mobile",
        records,
        p.get("sort").unwrap_or("id:asc"),
        mobile_sort_value,
    )?;
    let page: Vec<&JamfRecord> = page_slice(&order, &paging)
        .into_iter()
        .filter_map(|pos| records.get(pos))
        .collect();
    let tag = PageTag {
        computers: false,
        ids: page.iter().map(|r| r.id).collect(),
        volatile: volatile_query(&p),
    };
    let results = page
        .into_iter()
        .filter_map(|rec| {
            state
                .fleet
                .device(rec.device)
                .map(|d| mobile_v2_json(&state.fleet, rec, d))
        })
        .collect();
    Ok((envelope(records.len(), results), tag))
}

async fn mobile_one(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    match find_mobile(&state.fleet, &id).and_then(|r| state.fleet.device(r.device).map(|d| (r, d)))
    {
        Some((rec, d)) => json_response(StatusCode::OK, &mobile_v2_json(&state.fleet, rec, d)),
        None => not_found("Mobile device"),
    }
}

const MOBILE_SECTIONS: &[(&str, &str)] = &[
    ("GENERAL", "general"),
    ("HARDWARE", "hardware"),
    ("USER_AND_LOCATION", "userAndLocation"),
    ("PURCHASING", "purchasing"),
    ("SECURITY", "security"),
    ("APPLICATIONS", "applications"),
    ("EBOOKS", "ebooks"),
    ("NETWORK", "network"),
    ("SERVICE_SUBSCRIPTIONS", "serviceSubscriptions"),
    ("CERTIFICATES", "certificates"),
    ("PROFILES", "profiles"),
    ("USER_PROFILES", "userProfiles"),
    ("PROVISIONING_PROFILES", "provisioningProfiles"),
    ("SHARED_USERS", "sharedUsers"),
    ("GROUPS", "groups"),
    ("EXTENSION_ATTRIBUTES", "extensionAttributes"),
];

const MOBILE_FILTER_FIELDS: &[&str] = &[
    "mobileDeviceId",
    "serialNumber",
    "udid",
    "displayName",
    "lastInventoryUpdateDate",
];

fn mobile_field(fleet: &Fleet, ch: &Changes, rec: &JamfRecord, field: &str) -> Option<FieldValue> {
    let d = fleet.device(rec.device)?;
    Some(match field {
        "mobileDeviceId" => FieldValue::Num(i64::from(rec.id)),
        "serialNumber" => FieldValue::Text(d.serial.clone()),
        "udid" => FieldValue::Text(d.udid_string()),
        "displayName" => FieldValue::Text(render::device_name(fleet, d)),
        "lastInventoryUpdateDate" => FieldValue::Time(report_millis(ch, rec, d)),
        _ => return None,
    })
}

fn mobile_security(d: &Device) -> Value {
    json!({
        "dataProtected": true, "blockLevelEncryptionCapable": true, "fileLevelEncryptionCapable": true,
        "passcodePresent": true, "passcodeCompliant": true, "passcodeCompliantWithProfile": true,
        "hardwareEncryption": 3, "activationLockEnabled": d.derive(0xAC7).is_multiple_of(4), "jailBreakDetected": false,
        "attestationStatus": "SUCCESS", "lastAttestationAttemptDate": null, "lastSuccessfulAttestationDate": null,
        "lostModeEnabled": false, "lostModePersistent": false, "bootstrapTokenEscrowed": "NOT_SUPPORTED",
    })
}

fn mobile_network(d: &Device) -> Value {
    json!({
        "cellularTechnology": if d.imei.is_some() { "GSM" } else { "Unknown" },
        "voiceRoamingEnabled": false,
        "imei": d.imei.as_deref().map(render::spaced_imei),
        "iccid": d.imei.as_ref().map(|_| format!("8901 2605 {:04} {:04} {:03}", d.index % 10_000, d.derive(0x1CC) % 10_000, d.derive(0x1CD) % 1000)),
        "meid": null,
        "eid": d.imei.as_ref().map(|_| format!("8904903200{:022}", d.derive(0xE1D) % 10_000_000_000_000_000_000)),
        "carrierSettingsVersion": d.imei.as_ref().map(|_| "60.0"),
        "currentCarrierNetwork": d.imei.as_ref().map(|_| "T-Mobile"),
        "homeCarrierNetwork": d.imei.as_ref().map(|_| "T-Mobile"),
        "dataRoamingEnabled": false,
        "roaming": false,
        "personalHotspotEnabled": false,
        "phoneNumber": (d.model.kind == DeviceKind::Phone).then(|| format!("+1 555 02{:02} {:04}", d.index % 100, d.derive(0x9E) % 10_000)),
    })
}

fn mobile_detail_json(
    state: &SimState,
    ch: &Changes,
    rec: &JamfRecord,
    d: &Device,
    sections: &HashSet<&str>,
) -> Value {
    let fleet = &state.fleet;
    let dd = render::dates(d);
    let tv = d.model.kind == DeviceKind::Tv;
    let broken = state.jamf.broken_mobile == Some(rec.id);
    let (os, build) = os_version(ch, rec, d);
    let report = report_millis(ch, rec, d);
    let mut obj = serde_json::Map::new();
    obj.insert("mobileDeviceId".into(), json!(rec.id.to_string()));
    obj.insert("deviceType".into(), json!(if tv { "tvOS" } else { "iOS" }));
    for (_, key) in MOBILE_SECTIONS {
        let value = if !sections.contains(key) {
            Value::Null
        } else {
            match *key {
                "general" => json!({
                    "udid": d.udid_string(),
                    "displayName": render::device_name(fleet, d),
                    "assetTag": d.derive(0xA55).is_multiple_of(3).then(|| format!("M{:05}", d.index + 1)),
                    "siteId": "-1",
                    "lastInventoryUpdateDate": render::jamf_ts(report.div_euclid(1000), report.rem_euclid(1000) as u32),
                    "osVersion": os,
                    "osRapidSecurityResponse": null,
                    "osBuild": build,
                    "osSupplementalBuildVersion": null,
                    "softwareUpdateDeviceId": null,
                    "ipAddress": render::ip(d),
                    "managed": true,
                    "supervised": d.in_abm(),
                    "deviceOwnershipType": "Institutional",
                    "enrollmentMethodPrestage": if d.in_abm() { json!({"mobileDevicePrestageId": "1", "profileName": "Company Devices"}) } else { Value::Null },
                    "enrollmentSessionTokenValid": false,
                    "lastEnrolledDate": render::jamf_ts(dd.last_enrolled, dd.ms),
                    "mdmProfileExpirationDate": render::jamf_ts(dd.last_enrolled + 2 * 365 * 86_400, 0),
                    "timeZone": "America/Los_Angeles",
                    "declarativeDeviceManagementEnabled": true,
                    "managementId": render::derived_uuid(d, 0x3A1D ^ u64::from(rec.id)).to_string(),
                    "extensionAttributes": [],
                    "sharedIpad": false,
                    "diagnosticAndUsageReportingEnabled": false,
                    "appAnalyticsEnabled": false,
                    "residentUsers": 0,
                    "lastBackupDate": null,
                    "deviceLocatorServiceEnabled": !tv,
                    "doNotDisturbEnabled": false,
                    "cloudBackupEnabled": false,
                    "lastCloudBackupDate": null,
                    "itunesStoreAccountActive": false,
                }),
                "hardware" => json!({
                    "capacityMb": u64::from(d.model.capacity_gb) * 1000,
                    "availableSpaceMb": u64::from(d.model.capacity_gb) * 600,
                    "usedSpacePercentage": 40,
                    "batteryLevel": if tv { Value::Null } else { json!(20 + d.derive(0xBA7) % 80) },
                    "batteryHealth": if tv { "UNSUPPORTED" } else { "NORMAL" },
                    "serialNumber": d.serial,
                    "wifiMacAddress": format_mac(&d.wifi_mac, false),
                    "bluetoothMacAddress": format_mac(&d.bluetooth_mac, false),
                    "modemFirmwareVersion": d.imei.as_ref().map(|_| "2.04.01"),
                    "model": d.model.name,
                    "modelIdentifier": d.model.identifier,
                    "modelNumber": d.model.model_number(),
                    "bluetoothLowEnergyCapable": true,
                    "deviceId": render::derived_uuid(d, 0xDE71).to_string(),
                    "extensionAttributes": [],
                }),
                "userAndLocation" => location_json(fleet, d, true),
                "purchasing" => purchasing_json(d, true),
                "security" if tv || broken => Value::Null,
                "security" => mobile_security(d),
                "network" if tv => Value::Null,
                "network" => mobile_network(d),
                _ => json!([]),
            }
        };
        obj.insert((*key).to_string(), value);
    }
    Value::Object(obj)
}

async fn mobile_detail_list(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    jamf_page(&state, &uri, |ch| {
        mobile_detail_list_inner(&state, ch, &uri)
    })
}

fn mobile_detail_list_inner(
    state: &SimState,
    ch: &Changes,
    uri: &Uri,
) -> Result<(Value, PageTag), Response> {
    let p = Params::parse(uri);
    let sections = parse_sections(&p, MOBILE_SECTIONS, "GENERAL")?;
    let paging = paging(&p, 100, MAX_PAGE_SIZE)?;
    let strict = match p
        .get("exception-handling")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("STRICT") => true,
        Some("LENIENT") => false,
        Some(other) => {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                Some("INVALID_PARAMETER"),
                &format!("Invalid exception-handling [{other}]"),
            ));
        }
    };
    let records = state.fleet.jamf_mobile_devices();
    let order = sorted(
        state,
        ch,
        "mobile",
        records,
        p.get("sort").unwrap_or("displayName:asc"),
        mobile_sort_value,
    )?;
    let clauses = parse_filter(p.get("filter").unwrap_or(""), MOBILE_FILTER_FIELDS)?;
    let matching = apply_filter(&state.fleet, ch, records, &order, &clauses, mobile_field)?;
    let page: Vec<&JamfRecord> = page_slice(&matching, &paging)
        .into_iter()
        .filter_map(|pos| records.get(pos))
        .collect();
    if strict
        && state.jamf.broken_mobile.is_some()
        && page.iter().any(|r| Some(r.id) == state.jamf.broken_mobile)
    {
        return Err(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"httpStatus": 500, "errors": []}),
        ));
    }
    let tag = PageTag {
        computers: false,
        ids: page.iter().map(|r| r.id).collect(),
        volatile: volatile_query(&p),
    };
    let results = page
        .into_iter()
        .filter_map(|rec| {
            state
                .fleet
                .device(rec.device)
                .map(|d| mobile_detail_json(state, ch, rec, d, &sections))
        })
        .collect();
    Ok((envelope(matching.len(), results), tag))
}

async fn mobile_detail_one(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let fleet = &state.fleet;
    let Some((rec, d)) =
        find_mobile(fleet, &id).and_then(|r| fleet.device(r.device).map(|d| (r, d)))
    else {
        return not_found("Mobile device");
    };
    let ch = state.jamf.changes.snapshot();
    let dd = render::dates(d);
    let (os, build) = os_version(&ch, rec, d);
    let report = report_millis(&ch, rec, d);
    let (contact, _) = contact_time(&ch, rec, d);
    let tv = d.model.kind == DeviceKind::Tv;
    let location = location_json(fleet, d, true);
    let mut platform = json!({
        "model": d.model.name,
        "modelIdentifier": d.model.identifier,
        "modelNumber": d.model.model_number(),
        "supervised": d.in_abm(),
        "purchasing": purchasing_json(d, true),
    });
    if !tv && let Some(obj) = platform.as_object_mut() {
        obj.insert("batteryLevel".into(), json!(20 + d.derive(0xBA7) % 80));
        obj.insert(
            "capacityMb".into(),
            json!(u64::from(d.model.capacity_gb) * 1000),
        );
        obj.insert("security".into(), mobile_security(d));
        obj.insert("network".into(), mobile_network(d));
    }
    let mut body = json!({
        "id": rec.id.to_string(),
        "name": render::device_name(fleet, d),
        "enforceName": false,
        "assetTag": d.derive(0xA55).is_multiple_of(3).then(|| format!("M{:05}", d.index + 1)),
        "lastInventoryUpdateTimestamp": render::jamf_ts(report.div_euclid(1000), report.rem_euclid(1000) as u32),
        "lastContactTimestamp": render::jamf_ts(contact, 0),
        "osVersion": os,
        "osBuild": build,
        "serialNumber": d.serial,
        "udid": d.udid_string(),
        "ipAddress": render::ip(d),
        "wifiMacAddress": format_mac(&d.wifi_mac, false),
        "bluetoothMacAddress": format_mac(&d.bluetooth_mac, false),
        "managed": true,
        "timeZone": "America/Los_Angeles",
        "initialEntryTimestamp": render::jamf_ts(dd.enrolled, dd.ms),
        "lastEnrollmentTimestamp": render::jamf_ts(dd.last_enrolled, dd.ms),
        "deviceOwnershipLevel": "institutional",
        "enrollmentMethod": if d.in_abm() { "Automated Device Enrollment" } else { "User-initiated - no invitation" },
        "site": site_json(d),
        "extensionAttributes": [],
        "location": {
            "username": location["username"], "realName": location["realName"], "emailAddress": location["emailAddress"],
            "position": location["position"], "phoneNumber": location["phoneNumber"], "departmentId": location["departmentId"],
            "buildingId": location["buildingId"], "room": location["room"],
        },
        "type": mobile_type(d),
        "managementId": render::derived_uuid(d, 0x3A1D ^ u64::from(rec.id)).to_string(),
        "groups": [],
    });
    if let Some(obj) = body.as_object_mut() {
        obj.insert(mobile_type(d).into(), platform);
    }
    json_response(StatusCode::OK, &body)
}

// ---------------------------------------------------------------- buildings, departments, sites, users

fn building_json(i: usize) -> Option<Value> {
    let b = BUILDINGS.get(i)?;
    Some(
        json!({"id": (i + 1).to_string(), "name": b.name, "streetAddress1": b.street, "streetAddress2": null,
        "city": b.city, "stateProvince": b.state, "zipPostalCode": b.zip, "country": b.country}),
    )
}

async fn buildings(uri: Uri) -> Response {
    let p = Params::parse(&uri);
    match paging(&p, 100, MAX_PAGE_SIZE) {
        Ok(pg) => {
            let all: Vec<usize> = (0..BUILDINGS.len()).collect();
            json_response(
                StatusCode::OK,
                &envelope(
                    all.len(),
                    page_slice(&all, &pg)
                        .into_iter()
                        .filter_map(building_json)
                        .collect(),
                ),
            )
        }
        Err(r) => r,
    }
}

async fn building(Path(id): Path<String>) -> Response {
    match id
        .parse::<usize>()
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(building_json)
    {
        Some(b) => json_response(StatusCode::OK, &b),
        None => not_found("Building"),
    }
}

async fn departments(uri: Uri) -> Response {
    let p = Params::parse(&uri);
    match paging(&p, 100, MAX_PAGE_SIZE) {
        Ok(pg) => {
            let all: Vec<usize> = (0..DEPARTMENTS.len()).collect();
            let results = page_slice(&all, &pg)
                .into_iter()
                .filter_map(|i| {
                    DEPARTMENTS
                        .get(i)
                        .map(|n| json!({"id": (i + 1).to_string(), "name": n}))
                })
                .collect();
            json_response(StatusCode::OK, &envelope(all.len(), results))
        }
        Err(r) => r,
    }
}

async fn department(Path(id): Path<String>) -> Response {
    let found = id
        .parse::<usize>()
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| DEPARTMENTS.get(i).map(|n| (i, n)));
    match found {
        Some((i, n)) => json_response(
            StatusCode::OK,
            &json!({"id": (i + 1).to_string(), "name": n}),
        ),
        None => not_found("Department"),
    }
}

async fn sites() -> Response {
    json_response(StatusCode::OK, &access::sites())
}

async fn pro_users(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let pg = match paging(&p, 100, 1000) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let users = state.fleet.jamf_users();
    let ch = state.jamf.changes.snapshot();
    let positions: Vec<usize> = (0..users.len())
        .filter(|pos| !ch.user_removed(*pos as u32 + 1))
        .collect();
    let results: Vec<Value> = page_slice(&positions, &pg)
        .into_iter()
        .filter_map(|pos| users.get(pos).and_then(|&u| state.fleet.user(u)).map(|u| (pos, u)))
        .map(|(pos, u)| {
            json!({"id": (pos + 1).to_string(), "username": u.username(), "realname": u.full_name(), "email": u.email,
                "phone": u.phone(), "position": u.position, "enableCustomPhotoUrl": false, "customPhotoUrl": null, "managedAppleId": null})
        })
        .collect();
    let total = positions.len();
    let pages = if pg.size == 0 {
        0
    } else {
        total.div_ceil(pg.size)
    };
    json_response(
        StatusCode::OK,
        &json!({"page": pg.page, "pageSize": pg.size, "totalCount": total, "totalPages": pages,
            "hasNext": pg.page + 1 < pages, "hasPrevious": pg.page > 0, "results": results}),
    )
}

async fn classic_users(State(state): State<Arc<SimState>>) -> Response {
    let ch = state.jamf.changes.snapshot();
    let users: Vec<Value> = state
        .fleet
        .jamf_users()
        .iter()
        .enumerate()
        .filter(|(pos, _)| !ch.user_removed(*pos as u32 + 1))
        .filter_map(|(pos, &u)| {
            state
                .fleet
                .user(u)
                .map(|u| json!({"id": pos + 1, "name": u.username()}))
        })
        .collect();
    classic_json(&json!({ "users": users }))
}

async fn classic_user(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let fleet = &state.fleet;
    let found = id
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|i| i.checked_sub(1))
        .filter(|pos| !state.jamf.changes.snapshot().user_removed(*pos as u32 + 1))
        .and_then(|pos| fleet.jamf_users().get(pos).map(|&u| (pos, u)))
        .and_then(|(pos, u)| fleet.user(u).map(|user| (pos, user)));
    let Some((pos, u)) = found else {
        return classic_status_page(
            StatusCode::NOT_FOUND,
            "Not Found",
            "The server has not found anything matching the request URI",
        );
    };
    let records = state
        .jamf
        .user_records
        .get(&u.index)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let ch = state.jamf.changes.snapshot();
    let link = |computer: bool| -> Vec<Value> {
        records
            .iter()
            .filter(|(c, id, _)| *c == computer && !(computer && ch.removed(*id)))
            .filter_map(|(_, id, dev)| {
                fleet
                    .device(*dev)
                    .map(|d| json!({"id": id, "name": render::device_name(fleet, d)}))
            })
            .collect()
    };
    let email = if pos % 7 == 3 {
        String::new()
    } else {
        u.email.clone()
    };
    classic_json(&json!({"user": {
        "id": pos + 1,
        "name": u.username(),
        "full_name": u.full_name(),
        "email": email,
        "email_address": email,
        "phone_number": u.phone(),
        "position": u.position,
        "managed_apple_id": "",
        "enable_custom_photo_url": false,
        "custom_photo_url": "",
        "ldap_server": {"id": -1, "name": "None"},
        "extension_attributes": [],
        "sites": [],
        "links": {"computers": link(true), "peripherals": [], "mobile_devices": link(false), "vpp_assignments": [], "total_vpp_code_count": 0},
        "user_groups": {"size": 0},
    }}))
}

async fn classic_not_found() -> Response {
    classic_status_page(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The server has not found anything matching the request URI",
    )
}

async fn classic_accounts(State(state): State<Arc<SimState>>) -> Response {
    classic_json(&access::accounts(&state.creds.jamf_username))
}

/// The privileges of the simulator's login account (id 1, the
/// user/password login; an API client's privileges come from its role
/// instead): every Jamf privilege the simulator knows, less the denied ones.
fn read_privileges(state: &SimState) -> Vec<&'static str> {
    privileges::JAMF
        .iter()
        .map(|p| p.name)
        .filter(|name| !state.denied.has(Vendor::Jamf, name))
        .collect()
}

async fn classic_account(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    match access::account(&id, &state.creds.jamf_username, &read_privileges(&state)) {
        Some(doc) => classic_json(&doc),
        None => classic_not_found().await,
    }
}

async fn classic_group(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    match access::group(&id, &state.creds.jamf_username) {
        Some(doc) => classic_json(&doc),
        None => classic_not_found().await,
    }
}

async fn classic_computers_basic(State(state): State<Arc<SimState>>) -> Response {
    let fleet = &state.fleet;
    let ch = state.jamf.changes.snapshot();
    let computers: Vec<Value> = fleet
        .jamf_computers()
        .iter()
        .filter(|rec| !ch.removed(rec.id))
        .filter_map(|rec| fleet.device(rec.device).map(|d| (rec, d)))
        .map(|(rec, d)| {
            let report = report_millis(&ch, rec, d);
            let utc = chrono::DateTime::from_timestamp_millis(report)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
                .unwrap_or_default();
            let user = fleet.user_of(d);
            json!({
                "id": rec.id,
                "name": render::device_name(fleet, d),
                "managed": !rec.stale,
                "username": user.map(|u| u.username().to_string()).unwrap_or_default(),
                "model": d.model.identifier,
                "department": "",
                "building": "",
                "mac_address": format_mac(d.ethernet_mac.as_ref().unwrap_or(&d.wifi_mac), true),
                "udid": d.udid_string(),
                "serial_number": d.serial,
                "report_date_utc": utc,
                "report_date_epoch": report,
            })
        })
        .collect();
    classic_json(&json!({ "computers": computers }))
}

// ---------------------------------------------------------------- Classic computers and mobile devices

/// A Classic date triple (`x`, `x_epoch`, `x_utc`) from epoch milliseconds.
fn classic_dates(obj: &mut serde_json::Map<String, Value>, key: &str, millis: i64) {
    let t = chrono::DateTime::from_timestamp_millis(millis);
    obj.insert(
        key.to_string(),
        json!(
            t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        ),
    );
    obj.insert(format!("{key}_epoch"), json!(millis));
    obj.insert(
        format!("{key}_utc"),
        json!(
            t.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
                .unwrap_or_default()
        ),
    );
}

/// The Classic `location` of a computer or mobile device (names, not ids;
/// empty strings where the Pro API has null).
fn classic_location(fleet: &Fleet, d: &Device) -> Value {
    let user = fleet.user_of(d);
    let (b, dep) = render::building_department(d);
    let text = |v: Option<String>| v.unwrap_or_default();
    let email = text(
        user.filter(|_| !d.quirks.jamf_null_email)
            .map(|u| u.email.clone()),
    );
    json!({
        "username": text(user.map(|u| u.username().to_string())),
        "realname": text(user.map(|u| u.full_name())),
        "real_name": text(user.map(|u| u.full_name())),
        "email_address": email,
        "position": text(user.map(|u| u.position.to_string())),
        "phone": text(user.map(|u| u.phone())),
        "phone_number": text(user.map(|u| u.phone())),
        "department": text(user.and_then(|_| DEPARTMENTS.get(dep as usize - 1).map(|x| x.to_string()))),
        "building": text(user.and_then(|_| BUILDINGS.get(b as usize - 1).map(|x| x.name.to_string()))),
        "room": text(user.map(|_| format!("{}", 100 + d.index % 400))),
    })
}

/// `GET /JSSResource/computers`: every computer, `{id, name}` (the shape of
/// the real list, which has no paging).
async fn classic_computers(State(state): State<Arc<SimState>>) -> Response {
    let fleet = &state.fleet;
    let ch = state.jamf.changes.snapshot();
    let computers: Vec<Value> = fleet
        .jamf_computers()
        .iter()
        .filter(|rec| !ch.removed(rec.id))
        .filter_map(|rec| fleet.device(rec.device).map(|d| (rec, d)))
        .map(|(rec, d)| json!({"id": rec.id, "name": render::device_name(fleet, d)}))
        .collect();
    classic_json(&json!({ "size": computers.len(), "computers": computers }))
}

/// `GET /JSSResource/computers/id/{id}`: one computer, modelled on
/// `classic_computers_id.real-jamfcloud-10.42.1.json` (general, location,
/// purchasing, hardware and security; the long software lists empty).
async fn classic_computer(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let fleet = &state.fleet;
    let ch = state.jamf.changes.snapshot();
    let Some((rec, d)) =
        find_computer(fleet, &ch, &id).and_then(|rec| fleet.device(rec.device).map(|d| (rec, d)))
    else {
        return classic_not_found().await;
    };
    let dd = render::dates(d);
    let (os, build) = os_version(&ch, rec, d);
    let mut general = serde_json::Map::new();
    for (k, v) in [
        ("id", json!(rec.id)),
        ("name", json!(render::device_name(fleet, d))),
        ("network_adapter_type", json!("")),
        (
            "mac_address",
            json!(format_mac(
                d.ethernet_mac.as_ref().unwrap_or(&d.wifi_mac),
                true
            )),
        ),
        ("alt_network_adapter_type", json!("")),
        (
            "alt_mac_address",
            json!(if d.ethernet_mac.is_some() {
                format_mac(&d.wifi_mac, true)
            } else {
                String::new()
            }),
        ),
        ("ip_address", json!(render::ip(d))),
        ("last_reported_ip", json!(render::ip(d))),
        ("serial_number", json!(d.serial)),
        ("udid", json!(d.udid_string())),
        ("jamf_version", json!(JAMF_VERSION)),
        ("platform", json!("Mac")),
        ("barcode_1", json!("")),
        ("barcode_2", json!("")),
        ("asset_tag", json!("")),
        (
            "remote_management",
            json!({"managed": !rec.stale, "management_username": ""}),
        ),
        ("supervised", json!(d.in_abm())),
        ("mdm_capable", json!(!rec.stale)),
    ] {
        general.insert(k.to_string(), v);
    }
    classic_dates(&mut general, "report_date", report_millis(&ch, rec, d));
    classic_dates(&mut general, "initial_entry_date", dd.enrolled * 1000);
    general.insert("site".into(), json!({"id": -1, "name": "None"}));
    classic_json(&json!({"computer": {
        "general": general,
        "location": classic_location(fleet, d),
        "purchasing": {"is_purchased": true, "is_leased": false, "po_number": "", "vendor": "", "applecare_id": "", "purchase_price": "", "life_expectancy": 0, "attachments": []},
        "peripherals": [],
        "hardware": {
            "make": "Apple",
            "model": d.model.name,
            "model_identifier": d.model.identifier,
            "os_name": "macOS",
            "os_version": os,
            "os_build": build,
        },
        "certificates": [],
        "security": {"activation_lock": false, "recovery_lock_enabled": false, "secure_boot_level": "full", "external_boot_level": "not_supported", "firewall_enabled": true},
        "software": {"applications": []},
        "extension_attributes": [],
        "groups_accounts": {"computer_group_memberships": [], "local_accounts": []},
        "iphones": [],
        "configuration_profiles": [],
    }}))
}

/// `GET /JSSResource/mobiledevices`: every mobile device with the list
/// fields of the real Classic API.
async fn classic_mobiles(State(state): State<Arc<SimState>>) -> Response {
    let fleet = &state.fleet;
    let devices: Vec<Value> = fleet
        .jamf_mobile_devices()
        .iter()
        .filter_map(|rec| fleet.device(rec.device).map(|d| (rec, d)))
        .map(|(rec, d)| {
            let name = render::device_name(fleet, d);
            json!({
                "id": rec.id,
                "name": name,
                "device_name": name,
                "udid": d.udid_string(),
                "serial_number": d.serial,
                "phone_number": "",
                "wifi_mac_address": format_mac(&d.wifi_mac, true),
                "managed": true,
                "supervised": d.in_abm(),
                "model": d.model.name,
                "model_identifier": d.model.identifier,
                "modelDisplay": d.model.name,
                "model_display": d.model.name,
                "username": fleet.user_of(d).map(|u| u.username().to_string()).unwrap_or_default(),
            })
        })
        .collect();
    classic_json(&json!({ "size": devices.len(), "mobile_devices": devices }))
}

/// `GET /JSSResource/mobiledevices/id/{id}`: one mobile device (general,
/// location, purchasing).
async fn classic_mobile(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let fleet = &state.fleet;
    let Some((rec, d)) =
        find_mobile(fleet, &id).and_then(|rec| fleet.device(rec.device).map(|d| (rec, d)))
    else {
        return classic_not_found().await;
    };
    let ch = state.jamf.changes.snapshot();
    let dd = render::dates(d);
    let (os, build) = os_version(&ch, rec, d);
    let name = render::device_name(fleet, d);
    let mut general = serde_json::Map::new();
    for (k, v) in [
        ("id", json!(rec.id)),
        ("display_name", json!(name)),
        ("device_name", json!(name)),
        ("name", json!(name)),
        ("asset_tag", json!("")),
        ("capacity", json!(0)),
        (
            "os_type",
            json!(if mobile_type(d) == "tvos" {
                "tvOS"
            } else {
                "iOS"
            }),
        ),
        ("os_version", json!(os)),
        ("os_build", json!(build)),
        ("serial_number", json!(d.serial)),
        ("udid", json!(d.udid_string())),
        ("phone_number", json!("")),
        ("ip_address", json!(render::ip(d))),
        ("wifi_mac_address", json!(format_mac(&d.wifi_mac, true))),
        (
            "bluetooth_mac_address",
            json!(format_mac(&d.bluetooth_mac, true)),
        ),
        ("model", json!(d.model.name)),
        ("model_identifier", json!(d.model.identifier)),
        ("model_display", json!(d.model.name)),
        ("managed", json!(true)),
        ("supervised", json!(d.in_abm())),
    ] {
        general.insert(k.to_string(), v);
    }
    classic_dates(
        &mut general,
        "last_inventory_update",
        report_millis(&ch, rec, d),
    );
    classic_dates(&mut general, "initial_entry_date", dd.enrolled * 1000);
    general.insert("site".into(), json!({"id": -1, "name": "None"}));
    classic_json(&json!({"mobile_device": {
        "general": general,
        "location": classic_location(fleet, d),
        "purchasing": {"is_purchased": true, "is_leased": false, "po_number": "", "vendor": "", "applecare_id": "", "purchase_price": "", "life_expectancy": 0, "attachments": []},
        "applications": [],
        "security": {"data_protection": true, "passcode_present": true},
        "network": {"imei": d.imei.clone().unwrap_or_default()},
        "extension_attributes": [],
        "configuration_profiles": [],
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_parsing() {
        let f = parse_filter(
            r#"(general.platform=="Mac");(general.reportDate>"2024-01-01T00:00:00Z")"#,
            COMPUTER_FILTER_FIELDS,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].field, "general.platform");
        assert_eq!(f[1].field, "general.reportDate");
        assert_eq!(f[1].values, ["2024-01-01T00:00:00Z"]);
        let f = parse_filter(r#"general.name=="Ana's \"Mac\"""#, COMPUTER_FILTER_FIELDS).unwrap();
        assert_eq!(f[0].values, [r#"Ana's "Mac""#]);
        let f = parse_filter("hardware.serialNumber=in=(A1,B2)", COMPUTER_FILTER_FIELDS).unwrap();
        assert_eq!(f[0].values, ["A1", "B2"]);
        let f = parse_filter("general.reportDate>=2024-01-01", COMPUTER_FILTER_FIELDS).unwrap();
        assert!(matches!(f[0].op, Cmp::Ge));
        assert!(parse_filter("id==1,id==2", COMPUTER_FILTER_FIELDS).is_err());
        assert!(parse_filter("bogus==1", COMPUTER_FILTER_FIELDS).is_err());
        assert!(parse_filter("(id==1", COMPUTER_FILTER_FIELDS).is_err());
        assert!(wildcard_eq("Mac*", "MacBook Pro"));
        assert!(wildcard_eq("*book*", "MacBook Pro"));
        assert!(!wildcard_eq("iPad*", "MacBook Pro"));
    }
}
