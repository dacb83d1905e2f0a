//! Apple Business Manager: the OAuth token endpoint with ES256 client
//! assertions, and the JSON:API inventory (`orgDevices`, `mdmServers`,
//! `orgDeviceActivities`, AppleCare coverage). Cursor paging with
//! `limit` ≤ 1000; errors are JSON:API documents.

// Handler helpers return the finished HTTP error response, built once per request.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mdm_mapping::Vendor;
use serde_json::{Value, json};

use super::auth::{self, TokenKind};
use super::fleet::{Device, DeviceKind, Fleet, MdmServer, format_mac};
use super::render;
use super::{Guard, Params, SimState, guard, json_response, page_key};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
const ORG_DEVICE_FIELDS: &[&str] = &[
    "serialNumber",
    "addedToOrgDateTime",
    "releasedFromOrgDateTime",
    "updatedDateTime",
    "deviceModel",
    "productFamily",
    "productType",
    "deviceCapacity",
    "partNumber",
    "orderNumber",
    "color",
    "status",
    "orderDateTime",
    "imei",
    "meid",
    "eid",
    "purchaseSourceId",
    "purchaseSourceType",
    "wifiMacAddress",
    "bluetoothMacAddress",
    "ethernetMacAddress",
    "isMdmMigrationCapable",
    "assignedServer",
    "appleCareCoverage",
];
const MDM_SERVER_FIELDS: &[&str] = &[
    "serverName",
    "serverType",
    "createdDateTime",
    "updatedDateTime",
    "enableMdmDisownFlag",
    "defaultProductFamilies",
    "status",
    "deviceCount",
    "lastConnectedDateTime",
    "lastConnectedIp",
    "devices",
];
const ACTIVITY_TYPES: &[&str] = &[
    "ASSIGN_DEVICES",
    "UNASSIGN_DEVICES",
    "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
    "UPDATE_MDM_MIGRATION_DEADLINE",
    "CANCEL_MDM_MIGRATION",
    "RELEASE_DEVICES",
];

#[derive(Debug, Clone)]
struct Activity {
    created: i64,
    created_ms: u32,
    activity_type: String,
}

/// ABM-side state: the activities posted (they are recorded, not applied).
#[derive(Debug, Default)]
pub(crate) struct AbmState {
    activities: Mutex<HashMap<String, Activity>>,
}

/// A JSON:API error document.
pub(crate) fn error(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    error_with_source(status, code, title, detail, None)
}

fn error_with_source(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: &str,
    parameter: Option<&str>,
) -> Response {
    let mut e = json!({"id": uuid::Uuid::new_v4().to_string(), "status": status.as_u16().to_string(), "code": code, "title": title, "detail": detail});
    if let (Some(p), Some(obj)) = (parameter, e.as_object_mut()) {
        obj.insert("source".into(), json!({ "parameter": p }));
    }
    json_response(status, &json!({ "errors": [e] }))
}

fn bad_parameter(parameter: &str, detail: &str) -> Response {
    error_with_source(
        StatusCode::BAD_REQUEST,
        "PARAMETER_ERROR.INVALID",
        "A parameter has an invalid value",
        detail,
        Some(parameter),
    )
}

fn not_found(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The specified resource doesn't exist",
        &format!("There is no resource of type '{kind}' with id '{id}'"),
    )
}

/// Whether the `Accept` header lists `application/json`.
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|range| {
                range
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            })
        })
}

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}

pub(crate) fn auth_router(state: Arc<SimState>) -> Router {
    let g = Guard {
        state: state.clone(),
        vendor: Vendor::Abm,
        token_endpoint: true,
    };
    Router::new()
        .route("/auth/oauth2/token", post(token))
        .route("/auth/oauth2/v2/token", post(token))
        .route_layer(axum::middleware::from_fn_with_state(g, guard))
        .with_state(state)
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    let g = Guard {
        state: state.clone(),
        vendor: Vendor::Abm,
        token_endpoint: false,
    };
    Router::new()
        .route("/v1/orgDevices", get(org_devices))
        .route("/v1/orgDevices/{id}", get(org_device))
        .route(
            "/v1/orgDevices/{id}/relationships/assignedServer",
            get(assigned_server_linkage),
        )
        .route("/v1/orgDevices/{id}/assignedServer", get(assigned_server))
        .route("/v1/orgDevices/{id}/appleCareCoverage", get(applecare))
        .route(
            "/v1/orgDevices/{id}/activationLockStatus",
            get(activation_lock),
        )
        .route("/v1/mdmServers", get(mdm_servers))
        .route("/v1/mdmServers/{id}", get(mdm_server))
        .route(
            "/v1/mdmServers/{id}/relationships/devices",
            get(mdm_server_devices),
        )
        .route(
            "/v1/mdmServers/{id}/devices",
            get(mdm_server_devices_forbidden),
        )
        .route("/v1/orgDeviceActivities", post(create_activity))
        .route("/v1/orgDeviceActivities/{id}", get(activity))
        .route_layer(axum::middleware::from_fn_with_state(g, guard))
        .with_state(state)
}

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn token(State(state): State<Arc<SimState>>, uri: Uri, body: String) -> Response {
    // Apple's curl example sends the parameters in the query string; clients send a form body.
    let mut form = Params::parse_str(&body);
    form.0.extend(Params::parse(&uri).0);
    let Some(grant) = form.get("grant_type") else {
        return oauth_error("invalid_request", "grant_type is required");
    };
    if grant != "client_credentials" {
        return oauth_error(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if form.get("client_assertion_type")
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return oauth_error(
            "invalid_request",
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        );
    }
    let creds = &state.creds;
    if form.get("client_id") != Some(creds.abm_client_id.as_str()) {
        return oauth_error("invalid_client", "unknown client_id");
    }
    let Some(assertion) = form.get("client_assertion") else {
        return oauth_error("invalid_request", "client_assertion is required");
    };
    if let Err(e) = auth::verify_client_assertion(
        assertion,
        &state.abm_key,
        &creds.abm_client_id,
        &creds.abm_key_id,
        now_epoch(),
    ) {
        return oauth_error("invalid_client", &e.to_string());
    }
    let scope = creds.abm_scope();
    if form.get("scope") != Some(scope) {
        return oauth_error(
            "invalid_scope",
            &format!("scope must be {scope} for this client"),
        );
    }
    let lifetime = state.lifetimes.abm;
    let (access_token, _) = state.tokens.issue(TokenKind::Abm, lifetime);
    json_response(
        StatusCode::OK,
        &json!({"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime.as_secs(), "scope": scope}),
    )
}

// ---------------------------------------------------------------- paging

fn limit(p: &Params) -> Result<usize, Response> {
    match p.number("limit") {
        Ok(None) => Ok(DEFAULT_LIMIT),
        Ok(Some(n)) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Ok(Some(n)) => Err(bad_parameter(
            "limit",
            &format!("The limit {n} is not within 1 and {MAX_LIMIT}."),
        )),
        Err(e) => Err(bad_parameter("limit", &e)),
    }
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "0:{offset}:{}:true:false",
        offset * 7 + 1_746_113_892
    ))
}

fn cursor(p: &Params) -> Result<usize, Response> {
    let Some(c) = p.get("cursor") else {
        return Ok(0);
    };
    let bad = || bad_parameter("cursor", "The cursor is not valid.");
    let text = URL_SAFE_NO_PAD
        .decode(c.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let mut parts = text.split(':');
    let (Some("0"), Some(off), Some(check)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let off: usize = off.parse().map_err(|_| bad())?;
    if check != (off * 7 + 1_746_113_892).to_string() {
        return Err(bad());
    }
    Ok(off)
}

fn fields(p: &Params, key: &str, allowed: &[&str]) -> Result<Option<Vec<String>>, Response> {
    let Some(v) = p.get(key) else { return Ok(None) };
    let mut out = Vec::new();
    for f in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !allowed.contains(&f) {
            return Err(bad_parameter(
                key,
                &format!(
                    "'{f}' is not a valid field name. Allowed: {}",
                    allowed.join(", ")
                ),
            ));
        }
        out.push(f.to_string());
    }
    Ok(Some(out))
}

fn request_url(state: &SimState, uri: &Uri) -> String {
    format!(
        "{}{}",
        state.base,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    )
}

fn next_url(state: &SimState, uri: &Uri, p: &Params, offset: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("cursor", &encode_cursor(offset));
    for (k, v) in p.0.iter().filter(|(k, _)| k != "cursor") {
        q.append_pair(k, v);
    }
    format!("{}{}?{}", abm_base(state), uri.path(), q.finish())
}

fn paged_document(
    state: &SimState,
    uri: &Uri,
    p: &Params,
    data: Vec<Value>,
    limit: usize,
    next: Option<usize>,
) -> Value {
    let mut links = json!({"self": request_url(state, uri)});
    let mut paging = json!({"limit": limit});
    if let Some(off) = next {
        links["next"] = json!(next_url(state, uri, p, off));
        paging["nextCursor"] = json!(encode_cursor(off));
    }
    json!({"data": data, "links": links, "meta": {"paging": paging}})
}

// ---------------------------------------------------------------- org devices

fn abm_base(state: &SimState) -> String {
    format!("{}/abm", state.base)
}

fn capacity(gb: u32) -> String {
    if gb >= 1000 {
        format!("{}TB", gb / 1000)
    } else {
        format!("{gb}GB")
    }
}

fn mac_value(mac: &[u8; 6], list: bool) -> Value {
    let s = format_mac(mac, false);
    if list { json!([s]) } else { json!(s) }
}

fn org_device_json(state: &SimState, d: &Device, wanted: Option<&[String]>) -> Value {
    let base = abm_base(state);
    let dd = render::dates(d);
    let q = d.quirks;
    let want = |f: &str| wanted.is_none_or(|w| w.iter().any(|x| x == f));
    let mut a = serde_json::Map::new();
    let mut put = |name: &str, key: &str, v: Value| {
        if want(name) {
            a.insert(key.to_string(), v);
        }
    };
    put("serialNumber", "serialNumber", json!(d.serial));
    put(
        "addedToOrgDateTime",
        "addedToOrgDateTime",
        json!(render::apple_ts(dd.added_to_org, Some(dd.ms))),
    );
    put(
        "releasedFromOrgDateTime",
        "releasedFromOrgDateTime",
        Value::Null,
    );
    put(
        "updatedDateTime",
        "updatedDateTime",
        json!(render::apple_ts(dd.enrolled, Some(dd.micros / 1000))),
    );
    put("deviceModel", "deviceModel", json!(d.model.abm_name));
    put(
        "productFamily",
        "productFamily",
        json!(d.model.kind.platform()),
    );
    put("productType", "productType", json!(d.model.identifier));
    put(
        "deviceCapacity",
        "deviceCapacity",
        json!(capacity(d.model.capacity_gb)),
    );
    put("partNumber", "partNumber", json!(d.model.part_number));
    put("orderNumber", "orderNumber", json!(render::order_number(d)));
    put(
        "color",
        "color",
        json!(if q.abm_empty_color { "" } else { d.color }),
    );
    put(
        "status",
        "status",
        json!(if d.abm_server().is_some() {
            "ASSIGNED"
        } else {
            "UNASSIGNED"
        }),
    );
    put(
        "orderDateTime",
        "orderDateTime",
        json!(render::apple_ts(dd.ordered - dd.ordered % 3600, None)),
    );
    if let Some(imei) = &d.imei {
        put("imei", "imei", json!([imei]));
        put("meid", "meid", json!([]));
        put(
            "eid",
            "eid",
            json!(format!(
                "8904903200{:022}",
                d.derive(0xE1D) % 10_000_000_000_000_000_000
            )),
        );
    }
    if let Some(source) = d.abm {
        if source != super::fleet::PurchaseSource::ManuallyAdded {
            let id = match source {
                super::fleet::PurchaseSource::Apple => {
                    format!("-{}", 2_085_650_007_946_880u64 + d.derive(0x9C) % 1000)
                }
                _ => format!("{}", 1_000_000 + d.derive(0x9C) % 9_000_000),
            };
            put(
                "purchaseSourceId",
                if q.abm_purchase_source_uid {
                    "purchaseSourceUid"
                } else {
                    "purchaseSourceId"
                },
                json!(id),
            );
        }
        put(
            "purchaseSourceType",
            "purchaseSourceType",
            json!(source.as_str()),
        );
    }
    put(
        "wifiMacAddress",
        "wifiMacAddress",
        mac_value(&d.wifi_mac, q.abm_mac_as_list),
    );
    put(
        "bluetoothMacAddress",
        "bluetoothMacAddress",
        mac_value(&d.bluetooth_mac, q.abm_mac_as_list),
    );
    if let Some(eth) = &d.ethernet_mac {
        let key = if q.abm_builtin_ethernet_key {
            "builtInEthernetMacAddress"
        } else {
            "ethernetMacAddress"
        };
        put("ethernetMacAddress", key, json!([format_mac(eth, false)]));
    }
    put(
        "isMdmMigrationCapable",
        "isMdmMigrationCapable",
        json!(d.model.kind != DeviceKind::Tv),
    );
    let self_url = format!("{base}/v1/orgDevices/{}", d.serial);
    let mut relationships = serde_json::Map::new();
    if want("assignedServer") {
        relationships.insert(
            "assignedServer".into(),
            json!({"links": {"self": format!("{self_url}/relationships/assignedServer"), "related": format!("{self_url}/assignedServer")}}),
        );
    }
    if want("appleCareCoverage") {
        relationships.insert(
            "appleCareCoverage".into(),
            json!({"links": {"related": format!("{self_url}/appleCareCoverage")}}),
        );
    }
    let mut obj =
        json!({"type": "orgDevices", "id": d.serial, "attributes": a, "links": {"self": self_url}});
    if !relationships.is_empty() {
        obj["relationships"] = Value::Object(relationships);
    }
    obj
}

fn find(fleet: &Fleet, id: &str) -> Option<Device> {
    fleet
        .device_by_serial(id.trim())
        .filter(|d| d.in_abm())
        .cloned()
}

async fn org_devices(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let (limit, offset, wanted) = match (
        limit(&p),
        cursor(&p),
        fields(&p, "fields[orgDevices]", ORG_DEVICE_FIELDS),
    ) {
        (Ok(l), Ok(o), Ok(w)) => (l, o, w),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    state.pages.page(
        || page_key("abm", &uri),
        || {
            let all = state.fleet.abm_devices();
            let data: Vec<Value> = all
                .iter()
                .skip(offset)
                .take(limit)
                .filter_map(|&i| state.fleet.device(i))
                .map(|d| org_device_json(&state, d, wanted.as_deref()))
                .collect();
            let next = (offset + limit < all.len()).then_some(offset + limit);
            Ok(paged_document(&state, &uri, &p, data, limit, next))
        },
    )
}

async fn org_device(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let p = Params::parse(&uri);
    let wanted = match fields(&p, "fields[orgDevices]", ORG_DEVICE_FIELDS) {
        Ok(w) => w,
        Err(r) => return r,
    };
    match find(&state.fleet, &id) {
        Some(d) => json_response(
            StatusCode::OK,
            &json!({"data": org_device_json(&state, &d, wanted.as_deref()), "links": {"self": request_url(&state, &uri)}}),
        ),
        None => not_found("orgDevices", &id),
    }
}

async fn assigned_server_linkage(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let Some(d) = find(&state.fleet, &id) else {
        return not_found("orgDevices", &id);
    };
    let data = d
        .abm_server()
        .map(|s| json!({"type": "mdmServers", "id": s.id()}))
        .unwrap_or(Value::Null);
    let related = format!(
        "{}/v1/orgDevices/{}/assignedServer",
        abm_base(&state),
        d.serial
    );
    json_response(
        StatusCode::OK,
        &json!({"data": data, "links": {"self": request_url(&state, &uri), "related": related}}),
    )
}

fn server_json(state: &SimState, s: MdmServer, wanted: Option<&[String]>) -> Value {
    let want = |f: &str| wanted.is_none_or(|w| w.iter().any(|x| x == f));
    let count = state.fleet.abm_server_devices(s).count();
    let families: Vec<&str> = match s {
        MdmServer::Jamf => vec!["MAC", "IPHONE", "IPAD", "APPLE_TV"],
        MdmServer::Kandji => vec!["MAC", "IPHONE", "IPAD"],
    };
    let all = json!({
        "serverName": s.name(),
        "serverType": "MDM",
        "createdDateTime": "2024-02-13T15:23:10.482Z",
        "updatedDateTime": "2026-08-30T09:12:44.021Z",
        "enableMdmDisownFlag": false,
        "defaultProductFamilies": families,
        "status": "ACTIVE",
        "deviceCount": count,
        "lastConnectedDateTime": "2026-09-01T11:58:02Z",
        "lastConnectedIp": null,
    });
    let mut attrs = serde_json::Map::new();
    if let Some(obj) = all.as_object() {
        for (k, v) in obj {
            if want(k) {
                attrs.insert(k.clone(), v.clone());
            }
        }
    }
    let self_url = format!("{}/v1/mdmServers/{}", abm_base(state), s.id());
    let mut obj = json!({"type": "mdmServers", "id": s.id(), "attributes": attrs, "links": {"self": self_url}});
    if want("devices") {
        obj["relationships"] =
            json!({"devices": {"links": {"self": format!("{self_url}/relationships/devices")}}});
    }
    obj
}

async fn assigned_server(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let p = Params::parse(&uri);
    let wanted = match fields(&p, "fields[mdmServers]", MDM_SERVER_FIELDS) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let Some(d) = find(&state.fleet, &id) else {
        return not_found("orgDevices", &id);
    };
    let data = d
        .abm_server()
        .map(|s| server_json(&state, s, wanted.as_deref()))
        .unwrap_or(Value::Null);
    json_response(
        StatusCode::OK,
        &json!({"data": data, "links": {"self": request_url(&state, &uri)}}),
    )
}

async fn applecare(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let p = Params::parse(&uri);
    let limit = match limit(&p) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some(d) = find(&state.fleet, &id) else {
        return not_found("orgDevices", &id);
    };
    let dd = render::dates(&d);
    let start = dd.ordered - dd.ordered % 86_400;
    let year = 365 * 86_400;
    let status = |end: i64| {
        if end > super::fleet::ANCHOR_EPOCH {
            "ACTIVE"
        } else {
            "INACTIVE"
        }
    };
    let mut data = vec![json!({
        "type": "appleCareCoverage",
        "id": d.serial,
        "attributes": {"contractCancelDateTime": null, "startDateTime": render::apple_ts(start, None), "isRenewable": false,
            "isCanceled": false, "description": "Limited Warranty", "agreementNumber": null,
            "endDateTime": render::apple_ts(start + year, None), "status": status(start + year), "paymentType": "NONE"},
    })];
    if d.quirks.applecare {
        let agreement = format!("{:010}", d.derive(0xACA) % 10_000_000_000);
        data.push(json!({
            "type": "appleCareCoverage",
            "id": agreement,
            "attributes": {"contractCancelDateTime": null, "startDateTime": render::apple_ts(start, None), "isRenewable": true,
                "isCanceled": false, "description": "AppleCare+ for Business", "agreementNumber": agreement,
                "endDateTime": render::apple_ts(start + 3 * year, None), "status": status(start + 3 * year), "paymentType": "PAID_UP_FRONT"},
        }));
    }
    data.truncate(limit);
    json_response(
        StatusCode::OK,
        &paged_document(&state, &uri, &p, data, limit, None),
    )
}

// ---------------------------------------------------------------- servers

async fn mdm_servers(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let (limit, offset, wanted) = match (
        limit(&p),
        cursor(&p),
        fields(&p, "fields[mdmServers]", MDM_SERVER_FIELDS),
    ) {
        (Ok(l), Ok(o), Ok(w)) => (l, o, w),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let all = MdmServer::ALL;
    let data: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| server_json(&state, *s, wanted.as_deref()))
        .collect();
    let next = (offset + limit < all.len()).then_some(offset + limit);
    json_response(
        StatusCode::OK,
        &paged_document(&state, &uri, &p, data, limit, next),
    )
}

async fn mdm_server(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let p = Params::parse(&uri);
    let wanted = match fields(&p, "fields[mdmServers]", MDM_SERVER_FIELDS) {
        Ok(w) => w,
        Err(r) => return r,
    };
    match MdmServer::from_id(id.trim()) {
        Some(s) => json_response(
            StatusCode::OK,
            &json!({"data": server_json(&state, s, wanted.as_deref()), "links": {"self": request_url(&state, &uri)}}),
        ),
        None => not_found("mdmServers", &id),
    }
}

async fn mdm_server_devices(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let p = Params::parse(&uri);
    let (limit, offset) = match (limit(&p), cursor(&p)) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let Some(server) = MdmServer::from_id(id.trim()) else {
        return not_found("mdmServers", &id);
    };
    let serials: Vec<&str> = state
        .fleet
        .abm_server_devices(server)
        .map(|d| d.serial.as_str())
        .collect();
    let data: Vec<Value> = serials
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| json!({"type": "orgDevices", "id": s}))
        .collect();
    let next = (offset + limit < serials.len()).then_some(offset + limit);
    let mut doc = paged_document(&state, &uri, &p, data, limit, next);
    doc["links"]["related"] = json!(format!(
        "{}/v1/mdmServers/{}/devices",
        abm_base(&state),
        server.id()
    ));
    json_response(StatusCode::OK, &doc)
}

/// Apple's 403: a `FORBIDDEN_ERROR` JSON:API error document.
pub(crate) fn forbidden(detail: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN_ERROR",
        "This request is forbidden for security reasons",
        detail,
    )
}

async fn mdm_server_devices_forbidden() -> Response {
    forbidden(
        "The resource 'mdmServers' does not allow 'GET_RELATED'. Allowed operations are: GET_COLLECTION, GET_INSTANCE",
    )
}

// ---------------------------------------------------------------- activities

fn entity_error(detail: &str, pointer: &str) -> Response {
    let body = json!({"errors": [{"id": uuid::Uuid::new_v4().to_string(), "status": "422", "code": "ENTITY_ERROR.ATTRIBUTE.INVALID",
        "title": "An attribute value is invalid.", "detail": detail, "source": {"pointer": pointer}}]});
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &body)
}

async fn create_activity(State(state): State<Arc<SimState>>, body: String) -> Response {
    let Ok(doc) = serde_json::from_str::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "PARAMETER_ERROR.INVALID",
            "The request body is not valid JSON",
            "Send a JSON:API document.",
        );
    };
    let data = &doc["data"];
    if data["type"].as_str() != Some("orgDeviceActivities") {
        return entity_error("data.type must be orgDeviceActivities", "/data/type");
    }
    let Some(kind) = data["attributes"]["activityType"]
        .as_str()
        .filter(|k| ACTIVITY_TYPES.contains(k))
    else {
        return entity_error(
            &format!("activityType must be one of {}", ACTIVITY_TYPES.join(", ")),
            "/data/attributes/activityType",
        );
    };
    let needs_server = kind.starts_with("ASSIGN_");
    let server = data["relationships"]["mdmServer"]["data"]["id"].as_str();
    match (needs_server, server) {
        (true, None) => {
            return entity_error("an mdmServer is required", "/data/relationships/mdmServer");
        }
        (_, Some(id)) if MdmServer::from_id(id).is_none() => return not_found("mdmServers", id),
        _ => {}
    }
    let devices = data["relationships"]["devices"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if devices.is_empty() {
        return entity_error(
            "at least one device is required",
            "/data/relationships/devices",
        );
    }
    let missing: Vec<&str> = devices
        .iter()
        .filter_map(|d| d["id"].as_str())
        .filter(|id| find(&state.fleet, id).is_none())
        .collect();
    if !missing.is_empty() || devices.iter().any(|d| d["id"].as_str().is_none()) {
        let body = json!({"errors": [{"id": uuid::Uuid::new_v4().to_string(), "status": "409", "code": "MISSING_RESOURCES",
            "title": "Some devices do not exist", "detail": format!("Unknown orgDevices: {}", missing.join(", "))}]});
        return json_response(StatusCode::CONFLICT, &body);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let activity = Activity {
        created: now.as_secs() as i64,
        created_ms: now.subsec_millis(),
        activity_type: kind.to_string(),
    };
    let created = render::apple_ts(activity.created, Some(activity.created_ms));
    state
        .abm
        .activities
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), activity);
    let base = abm_base(&state);
    json_response(
        StatusCode::CREATED,
        &json!({"data": {"type": "orgDeviceActivities", "id": id,
            "attributes": {"status": "IN_PROGRESS", "subStatus": "SUBMITTED", "createdDateTime": created},
            "links": {"self": format!("{base}/v1/orgDeviceActivities/{id}")}},
            "links": {"self": format!("{base}/v1/orgDeviceActivities")}}),
    )
}

async fn activity(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let found = state
        .abm
        .activities
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id.trim())
        .cloned();
    let Some(a) = found else {
        return not_found("orgDeviceActivities", &id);
    };
    json_response(
        StatusCode::OK,
        &json!({"data": {"type": "orgDeviceActivities", "id": id,
            "attributes": {"status": "COMPLETED", "subStatus": "COMPLETED_WITH_SUCCESS", "activityType": a.activity_type,
                "createdDateTime": render::apple_ts(a.created, Some(a.created_ms)),
                "completedDateTime": render::apple_ts(a.created + 11, Some(a.created_ms)),
                "downloadUrl": format!("{}/abm/activity-logs/{id}.csv", state.base)},
            "links": {"self": request_url(&state, &uri)}},
            "links": {"self": request_url(&state, &uri)}}),
    )
}

async fn activation_lock(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let Some(d) = find(&state.fleet, &id) else {
        return not_found("orgDevices", &id);
    };
    let locked = d.abm_server().is_some() && d.derive(0xAC7).is_multiple_of(4);
    json_response(
        StatusCode::OK,
        &json!({"data": {"type": "activationLockStatus", "id": d.serial,
            "attributes": {"isLocked": locked, "lockType": if locked { "MDM" } else { "NONE" }}},
            "links": {"self": request_url(&state, &uri)}}),
    )
}
