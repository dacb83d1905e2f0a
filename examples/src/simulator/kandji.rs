//! Kandji: devices (bare array, `limit` ≤ 300 + `offset`), device detail and
//! details, users (cursor paging whose `next` points at the console host),
//! blueprints, tags; Kong's rate-limit headers on every response.

// Handler helpers return the finished HTTP error response, built once per request.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mdm_mapping::Vendor;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fleet::{Device, DeviceKind, Fleet, format_mac, mix};
use super::render;
use super::{Guard, KandjiMutations, Params, SimState, guard, json_response, page_key};

const MAX_LIMIT: usize = 300;
/// The console host Kandji's users `next` links point at (not the API host).
const CONSOLE_HOST: &str = "https://example.kandji.io";

const BLUEPRINTS: &[(&str, &str, &str)] = &[
    (
        "ab102b9d-8e9c-420d-a498-f2a1123091c7",
        "Default Blueprint",
        "classic",
    ),
    (
        "9b1ce867-83dd-46bb-b79a-ba2b5c3a4acc",
        "Engineering Macs",
        "classic",
    ),
    (
        "b7b58cd8-7ca1-4883-9910-d6643c6e8578",
        "Mobile Devices",
        "map",
    ),
    (
        "19218946-0760-444f-ad9d-92916a721450",
        "Conference Rooms ATV",
        "classic",
    ),
];
const TAGS: &[(&str, &str)] = &[
    ("71dd53f1-104e-41a2-82ca-43a375b7f63d", "remote"),
    ("4fe23c39-7a9a-435c-bab3-d2e9fd1974c6", "engineering"),
    ("0c8d6f9e-2b1a-4c3d-9e8f-7a6b5c4d3e2f", "loaner"),
    ("5e4d3c2b-1a09-4f8e-a7d6-c5b4a3928170", "vip"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KRef {
    Base(usize),
    Added(usize),
}

#[derive(Debug, Default)]
struct Live {
    generation: u64,
    removed: HashSet<usize>,
    removed_order: Vec<usize>,
    added: Vec<Device>,
    cache: Option<(String, u64, Arc<Vec<KRef>>)>,
}

/// Kandji-side state: the mutation log, user device counts, request counter.
#[derive(Debug)]
pub(crate) struct KandjiState {
    mutate: bool,
    live: Mutex<Live>,
    user_devices: HashMap<usize, u32>,
    requests: AtomicU64,
}

impl KandjiState {
    pub(crate) fn new(fleet: &Fleet, mutate: bool) -> Self {
        let mut user_devices = HashMap::new();
        for &i in fleet.kandji_devices() {
            if let Some(u) = fleet.device(i).and_then(|d| d.user) {
                *user_devices.entry(u).or_insert(0) += 1;
            }
        }
        Self {
            mutate,
            live: Mutex::new(Live::default()),
            user_devices,
            requests: AtomicU64::new(0),
        }
    }

    pub(crate) fn mutations(&self, fleet: &Fleet) -> KandjiMutations {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        KandjiMutations {
            generation: live.generation,
            added: live.added.iter().map(|d| d.serial.clone()).collect(),
            removed: live
                .removed_order
                .iter()
                .filter_map(|&i| fleet.device(i).map(|d| d.serial.clone()))
                .collect(),
        }
    }

    /// One step: remove a present base device, add a new Mac.
    fn mutate(&self, fleet: &Fleet) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.generation += 1;
        let base = fleet.kandji_devices();
        if live.removed.len() < base.len() {
            let start =
                (mix(fleet.config().seed, 0x4E40 + live.generation) % base.len() as u64) as usize;
            if let Some(victim) = (0..base.len())
                .map(|k| (start + k) % base.len())
                .filter_map(|p| base.get(p).copied())
                .find(|i| !live.removed.contains(i))
            {
                live.removed.insert(victim);
                live.removed_order.push(victim);
            }
        }
        let k = live.added.len() as u64;
        live.added.push(fleet.kandji_added_device(k));
    }
}

/// The rate-limit headers of an enforcing simulator: the real windows
/// (`SimulatorConfig::kandji_enforce_limits`).
pub(crate) fn window_headers(w: &super::limits::KandjiWindowState, headers: &mut HeaderMap) {
    use super::limits::{KANDJI_PER_HOUR, KANDJI_PER_SECOND};
    for (name, value) in [
        ("x-ratelimit-limit-hour", u64::from(KANDJI_PER_HOUR)),
        ("x-ratelimit-remaining-hour", u64::from(w.remaining_hour)),
        ("x-ratelimit-limit-second", u64::from(KANDJI_PER_SECOND)),
        (
            "x-ratelimit-remaining-second",
            u64::from(w.remaining_second),
        ),
        ("ratelimit-limit", u64::from(KANDJI_PER_SECOND)),
        ("ratelimit-remaining", u64::from(w.remaining_second)),
        ("ratelimit-reset", w.reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// Made-up rate-limit headers when the limits are not enforced.
pub(crate) fn rate_limit_headers(state: &SimState, headers: &mut HeaderMap) {
    let n = state.kandji.requests.fetch_add(1, Ordering::Relaxed);
    // Never reports exhaustion: the simulator does not enforce Kandji's limits.
    let hour = 9_999 - (n % 5_000);
    let second = 49 - (n % 10);
    for (name, value) in [
        ("x-ratelimit-limit-hour", 10_000),
        ("x-ratelimit-remaining-hour", hour),
        ("x-ratelimit-limit-second", 50),
        ("x-ratelimit-remaining-second", second),
        ("ratelimit-limit", 50),
        ("ratelimit-remaining", second),
        ("ratelimit-reset", 1),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    let g = Guard {
        state: state.clone(),
        vendor: Vendor::Kandji,
        token_endpoint: false,
    };
    Router::new()
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/devices/{id}", get(device_one))
        .route("/api/v1/devices/{id}/details", get(device_details))
        .route("/api/v1/users", get(users))
        .route("/api/v1/users/{id}", get(user_one))
        .route("/api/v1/devices/{id}/apps", get(device_apps))
        .route("/api/v1/blueprints", get(blueprints))
        .route("/api/v1/blueprints/{id}", get(blueprint_one))
        .route("/api/v1/tags", get(tags))
        .route_layer(axum::middleware::from_fn_with_state(g, guard))
        .with_state(state)
}

fn drf_error(status: StatusCode, field: &str, message: &str) -> Response {
    json_response(status, &json!({ field: [message] }))
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"detail": "Not found."}))
}

fn resolve<'a>(fleet: &'a Fleet, live: &'a Live, r: KRef) -> Option<&'a Device> {
    match r {
        KRef::Base(i) => fleet.device(i),
        KRef::Added(k) => live.added.get(k),
    }
}

fn blueprint(d: &Device) -> (&'static str, &'static str) {
    let i = match d.model.kind {
        DeviceKind::Laptop | DeviceKind::Desktop => usize::from(d.derive(0xB1E).is_multiple_of(2)),
        DeviceKind::Phone | DeviceKind::Tablet => 2,
        DeviceKind::Tv => 3,
    };
    BLUEPRINTS.get(i).map(|b| (b.0, b.1)).unwrap_or(("", ""))
}

fn tag_names(d: &Device) -> Vec<&'static str> {
    let bits = d.derive(0x7A6);
    TAGS.iter()
        .enumerate()
        .filter(|(i, _)| bits >> (i * 3) & 7 == 0)
        .map(|(_, t)| t.1)
        .collect()
}

fn user_json(fleet: &Fleet, d: &Device) -> Value {
    match fleet.user_of(d) {
        Some(u) => json!({
            "email": u.email,
            "name": u.full_name(),
            "id": if d.quirks.kandji_integer_user_id { json!(u.legacy_id) } else { json!(u.kandji_id.to_string()) },
            "is_archived": false,
        }),
        None => json!(""),
    }
}

fn device_json(fleet: &Fleet, d: &Device) -> Value {
    let dd = render::dates(d);
    let (os, build) = d.os_version();
    let (bp_id, bp_name) = blueprint(d);
    let mac = d.model.kind.is_mac();
    let missing = d.derive(0x3155).is_multiple_of(25);
    json!({
        "device_id": d.kandji_id.map(|k| k.to_string()),
        "device_name": render::device_name(fleet, d),
        "model": d.model.name,
        "serial_number": d.serial,
        "platform": d.model.kind.platform(),
        "os_version": os,
        "supplemental_build_version": build,
        "supplemental_os_version_extra": "",
        "last_check_in": if d.quirks.kandji_empty_last_check_in { String::new() } else { render::micros_z(dd.contact, dd.micros) },
        "user": user_json(fleet, d),
        "asset_tag": if d.derive(0xA55).is_multiple_of(3) { format!("K{:05}", d.index + 1) } else { String::new() },
        "blueprint_id": bp_id,
        "mdm_enabled": true,
        "agent_installed": mac,
        "is_missing": missing,
        "is_removed": false,
        "agent_version": if mac { "4.5.9 (5160)" } else { "" },
        "first_enrollment": render::py_ts(dd.enrolled, dd.micros),
        "last_enrollment": render::py_ts(dd.last_enrolled, dd.micros),
        "blueprint_name": bp_name,
        "lost_mode_status": "",
        "tags": tag_names(d),
    })
}

fn details_json(fleet: &Fleet, d: &Device) -> Value {
    let dd = render::dates(d);
    let (os, build) = d.os_version();
    let (bp_id, bp_name) = blueprint(d);
    let kind = d.model.kind;
    let mac = kind.is_mac();
    let tv = kind == DeviceKind::Tv;
    let yes_no = |b: bool| if b { "True" } else { "False" };
    let user = fleet.user_of(d);
    let mut general = json!({
        "device_id": d.kandji_id.map(|k| k.to_string()),
        "device_name": render::device_name(fleet, d),
        "last_enrollment": render::py_ts(dd.last_enrolled, dd.micros),
        "first_enrollment": render::py_ts(dd.enrolled, dd.micros),
        "model": d.model.name,
        "platform": kind.platform(),
        "os_version": os,
        "supplemental_build_version": build,
        "supplemental_os_version_extra": "",
        "system_version": if mac { format!("{os} ({build})") } else { String::new() },
        "boot_volume": if mac { "Macintosh HD" } else { "" },
        "time_since_boot": if mac { "3 days ago" } else { "" },
        "last_user": user.filter(|_| mac).map(|u| u.username().to_string()).unwrap_or_default(),
        "asset_tag": if d.derive(0xA55).is_multiple_of(3) { format!("K{:05}", d.index + 1) } else { String::new() },
        "assigned_user": user_json(fleet, d),
        "blueprint_name": bp_name,
        "blueprint_uuid": bp_id,
    });
    if let Some(obj) = general.as_object_mut()
        && obj.get("assigned_user") == Some(&json!(""))
        && !tv
        && d.derive(0x4A11).is_multiple_of(2)
    {
        // Unassigned: sometimes "" and sometimes null.
        obj.insert("assigned_user".into(), Value::Null);
    }
    let mut mdm = json!({
        "mdm_enabled": "True",
        "supervised": yes_no(d.in_abm() || mac),
        "install_date": render::py_ts(dd.last_enrolled, dd.micros),
        "last_check_in": render::py_ts(dd.contact, dd.micros),
        "mdm_enabled_user": user.filter(|_| mac).map(|u| vec![u.username().to_string()]).unwrap_or_default(),
    });
    if tv && let Some(obj) = mdm.as_object_mut() {
        obj.remove("supervised");
    }
    let hardware = if mac {
        json!({
            "model_name": d.model.name.split(" (").next().unwrap_or(d.model.name),
            "model_identifier": d.model.identifier,
            "processor_name": d.model.processor,
            "processor_speed": if d.model.apple_silicon { String::new() } else { format!("{:.1} GHz", f64::from(d.model.processor_mhz) / 1000.0) },
            "number_of_processors": d.model.cores.to_string(),
            "total_number_of_cores": d.model.cores.to_string(),
            "memory": format!("{} GB", d.model.ram_mb / 1024),
            "udid": Uuid::from_u128(d.udid).to_string(),
            "serial_number": d.serial,
        })
    } else {
        json!({"uuid": d.udid_string().to_lowercase(), "serial_number": d.serial, "model_identifier": d.model.identifier})
    };
    let abm = if d.in_abm() {
        json!({
            "model": d.model.abm_name,
            "color": d.color,
            "description": format!("{} {}GB {}", d.model.abm_name.to_uppercase(), d.model.capacity_gb, d.color),
            "serial_number": d.serial,
            "device_family": kind.platform(),
            "os": match kind { DeviceKind::Laptop | DeviceKind::Desktop => "OSX", DeviceKind::Phone => "iOS", DeviceKind::Tablet => "iPadOS", DeviceKind::Tv => "tvOS" },
            "device_assigned_date": render::py_ts(dd.added_to_org, 0),
            "device_assigned_by": "it-admin@example.com",
        })
    } else {
        json!({})
    };
    let capacity = format!("{}.0 GB", d.model.capacity_gb);
    let mut body = json!({
        "general": general,
        "mdm": mdm,
        "activation_lock": {
            "bypass_code_failed": false,
            "user_activation_lock_enabled": if tv { Value::Null } else { json!(false) },
            "device_activation_lock_enabled": false,
            "activation_lock_allowed_while_supervised": if tv { Value::Null } else { json!(false) },
            "activation_lock_supported": !tv,
        },
        "filevault": {
            "filevault_enabled": if mac { json!(true) } else { Value::Null },
            "filevault_recoverykey_type": if mac { "Personal" } else { "" },
            "filevault_prk_escrowed": mac,
            "filevault_next_rotation": "",
            "filevault_regen_required": false,
        },
        "lost_mode": {},
        "automated_device_enrollment": if d.in_abm() { json!({"auto_enroll_eligible": true, "auto_enrolled": true}) } else { json!({}) },
        "kandji_agent": {
            "agent_installed": yes_no(mac),
            "install_date": if mac { render::py_ts(dd.last_enrolled + 600, 0) } else { String::new() },
            "last_check_in": render::micros_z(dd.contact, dd.micros),
            "agent_version": if mac { "4.5.9 (5160)" } else { "" },
        },
        "hardware_overview": hardware,
        "volumes": if tv { json!([]) } else { json!([{
            "name": if mac { "Macintosh HD" } else { "" }, "format": if mac { "APFS" } else { "" }, "percent_used": "19%",
            "identifier": if mac { "disk3s3s1" } else { "" }, "capacity": capacity, "available": format!("{:.2} GB", f64::from(d.model.capacity_gb) * 0.81),
            "encrypted": if mac { "Yes" } else { "" },
        }]) },
        "network": {
            "local_hostname": if mac { render::device_name(fleet, d).replace(['\u{2019}', '\'', ' '], "-") } else { String::new() },
            "mac_address": format_mac(&d.wifi_mac, false),
            "ip_address": render::ip(d),
            "public_ip": "",
        },
        "recovery_information": {
            "recovery_lock_enabled": mac && d.model.apple_silicon,
            "firmware_password_exist": false,
            "firmware_password_pending": false,
            "password_rotation_scheduled": Value::Null,
            "password_has_been_set": mac && d.model.apple_silicon,
        },
        "users": {
            "regular_users": user.filter(|_| mac).map(|u| vec![json!({"username": u.username(), "uid": "501", "path": format!("/Users/{}", u.username()), "admin": "Yes", "name": u.full_name()})]).unwrap_or_default(),
            "system_users": if mac { json!([{"username": "_lp", "uid": "26", "path": "/var/spool/cups", "admin": "No"}]) } else { json!([]) },
        },
        "installed_profiles": [{
            "name": "MDM Profile", "uuid": render::derived_uuid(d, 0x9F0).to_string(), "verified": "verified",
            "identifier": "com.kandji.profile.mdmprofile", "organization": "Kandji, Inc.",
            "payload_types": ["com.apple.mdm", "com.apple.security.scep"],
            "install_date": render::space_offset_ts(dd.last_enrolled),
        }],
        "apple_business_manager": abm,
        "security_information": {"remote_desktop_enabled": if mac { json!(false) } else { Value::Null }},
        "cellular": if d.imei.is_some() { json!({"voice_roaming": false, "data_roaming": false, "cellular_technology": 1, "subscriptions": null}) } else { json!({}) },
        "tags": tag_names(d),
    });
    if tv && let Some(obj) = body.as_object_mut() {
        obj.remove("lost_mode");
        obj.remove("cellular");
    }
    body
}

/// The current device list in `ordering` (cached per ordering and generation).
fn current(fleet: &Fleet, live: &mut Live, ordering: &str) -> Result<Arc<Vec<KRef>>, Response> {
    if let Some((key, generation, list)) = &live.cache
        && key == ordering
        && *generation == live.generation
    {
        return Ok(list.clone());
    }
    let mut list: Vec<KRef> = fleet
        .kandji_devices()
        .iter()
        .filter(|i| !live.removed.contains(i))
        .map(|&i| KRef::Base(i))
        .chain((0..live.added.len()).map(KRef::Added))
        .collect();
    let mut fields = Vec::new();
    for f in ordering.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (desc, name) = match f.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, f),
        };
        if ![
            "serial_number",
            "device_name",
            "device_id",
            "model",
            "platform",
            "os_version",
            "asset_tag",
            "blueprint_id",
            "user",
            "last_check_in",
        ]
        .contains(&name)
        {
            return Err(drf_error(
                StatusCode::BAD_REQUEST,
                "ordering",
                &format!("Invalid ordering field: {name}"),
            ));
        }
        fields.push((desc, name));
    }
    if !fields.is_empty() {
        let key = |r: &KRef, name: &str| -> String {
            let Some(d) = resolve(fleet, live, *r) else {
                return String::new();
            };
            match name {
                "serial_number" => d.serial.to_lowercase(),
                "device_id" => d.kandji_id.map(|k| k.to_string()).unwrap_or_default(),
                "device_name" => render::device_name(fleet, d).to_lowercase(),
                "model" => d.model.name.to_lowercase(),
                "platform" => d.model.kind.platform().to_lowercase(),
                "os_version" => d.os_version().0.to_string(),
                _ => match device_json(fleet, d).get(name) {
                    Some(Value::String(s)) => s.to_lowercase(),
                    Some(Value::Object(o)) => o
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_lowercase(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
            }
        };
        let mut keyed: Vec<(Vec<String>, KRef)> = list
            .iter()
            .map(|r| (fields.iter().map(|(_, n)| key(r, n)).collect(), *r))
            .collect();
        keyed.sort_by(|a, b| {
            for (i, (desc, _)) in fields.iter().enumerate() {
                let o = a.0.get(i).cmp(&b.0.get(i));
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        list = keyed.into_iter().map(|(_, r)| r).collect();
    }
    let list = Arc::new(list);
    live.cache = Some((ordering.to_string(), live.generation, list.clone()));
    Ok(list)
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

async fn devices(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let limit = match p.number("limit") {
        Ok(l) => l.unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
        Err(_) => {
            return drf_error(
                StatusCode::BAD_REQUEST,
                "limit",
                "A valid integer is required.",
            );
        }
    };
    let offset = match p.number("offset") {
        Ok(o) => o.unwrap_or(0),
        Err(_) => {
            return drf_error(
                StatusCode::BAD_REQUEST,
                "offset",
                "A valid integer is required.",
            );
        }
    };
    let fleet = &state.fleet;
    let resp = {
        // One lock for the list, the key and the render: a page is one
        // generation of the fleet.
        let mut live = state.kandji.live.lock().unwrap_or_else(|e| e.into_inner());
        let list = match current(fleet, &mut live, p.get("ordering").unwrap_or("")) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let live = &*live;
        let filters: Vec<(&str, &str)> = [
            "serial_number",
            "platform",
            "device_id",
            "device_name",
            "user_email",
            "user_email_exact",
            "model",
            "os_version",
            "blueprint_id",
            "asset_tag",
            "user_id",
        ]
        .into_iter()
        .filter_map(|k| p.get(k).map(|v| (k, v)))
        .collect();
        let keep = |d: &Device| -> bool {
            filters.iter().all(|(k, v)| {
                let user = fleet.user_of(d);
                match *k {
                    "serial_number" => contains_ci(&d.serial, v),
                    "platform" => d.model.kind.platform().eq_ignore_ascii_case(v),
                    "device_id" => d.kandji_id.is_some_and(|id| id.to_string() == *v),
                    "device_name" => contains_ci(&render::device_name(fleet, d), v),
                    "user_email" => user.is_some_and(|u| contains_ci(&u.email, v)),
                    "user_email_exact" => user.is_some_and(|u| u.email.eq_ignore_ascii_case(v)),
                    "user_id" => user.is_some_and(|u| u.kandji_id.to_string() == *v),
                    "model" => contains_ci(d.model.name, v),
                    "os_version" => contains_ci(d.os_version().0, v),
                    "blueprint_id" => blueprint(d).0 == *v,
                    "asset_tag" => {
                        d.derive(0xA55).is_multiple_of(3)
                            && contains_ci(&format!("K{:05}", d.index + 1), v)
                    }
                    _ => true,
                }
            })
        };
        let render = || -> Result<Value, Response> {
            let items: Vec<Value> = list
                .iter()
                .filter_map(|r| resolve(fleet, live, *r))
                .filter(|d| filters.is_empty() || keep(d))
                .skip(offset)
                .take(limit)
                .map(|d| device_json(fleet, d))
                .collect();
            Ok(Value::Array(items))
        };
        if state.kandji.mutate {
            // Every page is a new generation: nothing to serve again.
            match render() {
                Ok(body) => json_response(StatusCode::OK, &body),
                Err(r) => r,
            }
        } else {
            state.pages.page(
                || {
                    format!(
                        "{} generation={}",
                        page_key("kandji", &uri),
                        live.generation
                    )
                },
                render,
            )
        }
    };
    if state.kandji.mutate {
        state.kandji.mutate(fleet);
    }
    resp
}

fn find_device(state: &SimState, id: &str, f: impl FnOnce(&Device) -> Value) -> Option<Value> {
    let id = Uuid::parse_str(id.trim()).ok()?;
    let live = state.kandji.live.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = state
        .fleet
        .device_by_kandji_id(&id)
        .filter(|d| !live.removed.contains(&d.index))
    {
        return Some(f(d));
    }
    live.added.iter().find(|d| d.kandji_id == Some(id)).map(f)
}

async fn device_one(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let fleet = state.fleet.clone();
    match find_device(&state, &id, |d| device_json(&fleet, d)) {
        Some(v) => json_response(StatusCode::OK, &v),
        None => not_found(),
    }
}

async fn device_details(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let fleet = state.fleet.clone();
    match find_device(&state, &id, |d| details_json(&fleet, d)) {
        Some(v) => json_response(StatusCode::OK, &v),
        None => not_found(),
    }
}

/// Whether Kandji lists user `u` as archived: no device, and one in five.
fn user_archived(state: &SimState, u: usize) -> bool {
    state.kandji.user_devices.get(&u).copied().unwrap_or(0) == 0 && u.is_multiple_of(5)
}

fn kandji_user_json(state: &SimState, u: usize) -> Option<Value> {
    let user = state.fleet.user(u)?;
    let devices = state.kandji.user_devices.get(&u).copied().unwrap_or(0);
    let archived = user_archived(state, u);
    let created = 1_725_656_404 + (u as i64) * 37;
    Some(json!({
        "active": !archived,
        "archived": archived,
        "created_at": render::micros_z(created, (u as u32 * 7919) % 1_000_000),
        "department": null,
        "deprecated_user_id": user.legacy_id.to_string(),
        "email": user.email,
        "id": user.kandji_id.to_string(),
        "integration": {"id": 634, "name": "example", "uuid": "f7461096-4ef9-43aa-88e9-ca1967ba0b38", "type": "office365"},
        "job_title": user.position,
        "name": user.full_name(),
        "device_count": devices,
        "updated_at": render::micros_z(created + 3600, (u as u32 * 104_729) % 1_000_000),
    }))
}

fn encode_cursor(offset: usize) -> String {
    STANDARD.encode(format!("p={offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = STANDARD.decode(cursor.trim()).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("p=")?
        .parse()
        .ok()
}

async fn users(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let limit = match p
        .number("limit")
        .and_then(|l| Ok(l.or(p.number("sizePerPage")?)))
    {
        Ok(l) => l.unwrap_or(100).clamp(1, MAX_LIMIT),
        Err(_) => {
            return drf_error(
                StatusCode::BAD_REQUEST,
                "limit",
                "A valid integer is required.",
            );
        }
    };
    let offset = match p.get("cursor") {
        None => 0,
        Some(c) => match decode_cursor(c) {
            Some(o) => o,
            None => {
                return json_response(StatusCode::NOT_FOUND, &json!({"detail": "Invalid cursor"}));
            }
        },
    };
    state.pages.page(
        || page_key("kandji", &uri),
        || Ok(users_page(&state, &p, limit, offset)),
    )
}

/// One page of the users list: the filters are applied to the users, and
/// only the page is rendered.
fn users_page(state: &SimState, p: &Params, limit: usize, offset: usize) -> Value {
    let archived = p.get("archived").map(|v| v.eq_ignore_ascii_case("true"));
    let email = p.get("email");
    let id = p.get("id");
    let matching: Vec<usize> = state
        .fleet
        .kandji_users()
        .iter()
        .copied()
        .filter(|&u| {
            state.fleet.user(u).is_some_and(|user| {
                archived.is_none_or(|a| user_archived(state, u) == a)
                    && email.is_none_or(|e| contains_ci(&user.email, e))
                    && id.is_none_or(|i| user.kandji_id.to_string() == i)
            })
        })
        .collect();
    let link = |off: usize| -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in p.0.iter().filter(|(k, _)| k != "cursor") {
            q.append_pair(k, v);
        }
        q.append_pair("cursor", &encode_cursor(off));
        format!("{CONSOLE_HOST}/api/v1/users?{}", q.finish())
    };
    let next = (offset + limit < matching.len()).then(|| link(offset + limit));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(limit)));
    let results: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .filter_map(|u| kandji_user_json(state, u))
        .collect();
    json!({"next": next, "previous": previous, "results": results})
}

async fn user_one(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let found = state
        .fleet
        .kandji_users()
        .iter()
        .find(|&&u| {
            state
                .fleet
                .user(u)
                .is_some_and(|x| x.kandji_id.to_string() == id.trim())
        })
        .and_then(|&u| kandji_user_json(&state, u));
    match found {
        Some(v) => json_response(StatusCode::OK, &v),
        None => not_found(),
    }
}

fn drf_page(state: &SimState, path: &str, p: &Params, items: Vec<Value>) -> Response {
    let limit = p
        .number("limit")
        .ok()
        .flatten()
        .unwrap_or(100)
        .clamp(1, MAX_LIMIT);
    let offset = p.number("offset").ok().flatten().unwrap_or(0);
    let count = items.len();
    let url = |off: usize| format!("{}/kandji{path}?limit={limit}&offset={off}", state.base);
    let next = (offset + limit < count).then(|| url(offset + limit));
    let previous = (offset > 0).then(|| url(offset.saturating_sub(limit)));
    let results: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    json_response(
        StatusCode::OK,
        &json!({"count": count, "next": next, "previous": previous, "results": results}),
    )
}

async fn blueprints(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let name = p.get("name");
    let items = BLUEPRINTS
        .iter()
        .filter(|(id, n, _)| {
            name.is_none_or(|x| contains_ci(n, x)) && p.get("id").is_none_or(|x| x == *id)
        })
        .map(|b| blueprint_json(&state, *b))
        .collect();
    drf_page(&state, "/api/v1/blueprints", &p, items)
}

async fn tags(State(state): State<Arc<SimState>>, uri: Uri) -> Response {
    let p = Params::parse(&uri);
    let search = p.get("search");
    let items = TAGS
        .iter()
        .filter(|(_, n)| search.is_none_or(|s| contains_ci(n, s)))
        .map(|(id, n)| json!({"id": id, "name": n}))
        .collect();
    drf_page(&state, "/api/v1/tags", &p, items)
}

fn blueprint_json(state: &SimState, (id, name, kind): (&str, &str, &str)) -> Value {
    let count = state
        .fleet
        .kandji_devices()
        .iter()
        .filter_map(|&i| state.fleet.device(i))
        .filter(|d| blueprint(d).0 == id)
        .count();
    json!({"id": id, "name": name, "icon": "ss-files", "color": "aqua-500", "description": "", "params": {},
        "computers_count": count, "enrollment_code": {"code": "123456", "is_active": true}, "type": kind})
}

async fn blueprint_one(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    match BLUEPRINTS.iter().find(|b| b.0 == id.trim()) {
        Some(b) => json_response(StatusCode::OK, &blueprint_json(&state, *b)),
        None => not_found(),
    }
}

async fn device_apps(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let found = find_device(&state, &id, |d| {
        let dd = render::dates(d);
        let apps: Vec<Value> = if d.model.kind.is_mac() {
            [("Safari", "com.apple.Safari", "18.3"), ("Slack", "com.tinyspeck.slackmacgap", "4.41.105"), ("Google Chrome", "com.google.Chrome", "132.0.6834.160")]
                .iter()
                .enumerate()
                .map(|(i, (name, bundle, version))| json!({
                    "app_id": (4_000 + i).to_string(), "app_name": name, "bundle_id": bundle, "bundle_size": "284590080",
                    "app_store_vendable": "False", "device_based_vpp": "False", "source": "Kandji", "process": name,
                    "signature": "Developer ID Application", "creation_date": render::micros_z(dd.enrolled, 0),
                    "modification_date": render::micros_z(dd.last_enrolled, 0),
                    "path": format!("/Applications/{name}.app"), "version": version,
                }))
                .collect()
        } else {
            vec![
                json!({"app_id": render::derived_uuid(d, 0xA99).to_string(), "app_name": "Slack", "bundle_id": "com.tinyspeck.chatlyio",
                "bundle_size": "250000000", "app_store_vendable": "True", "device_based_vpp": "True", "source": "App Store",
                "process": "", "signature": "", "creation_date": "", "modification_date": "", "path": "", "version": "25.01.10"}),
            ]
        };
        json!({"device_id": d.kandji_id.map(|k| k.to_string()), "apps": apps})
    });
    match found {
        Some(v) => json_response(StatusCode::OK, &v),
        None => not_found(),
    }
}
