//! [`AbmSource`]: the [`DeviceSource`] over `orgDevices`.
//!
//! Each `orgDevices` resource becomes one [`SourceDevice`] (vendor `abm`,
//! entity `device`, `source_id` = the resource id, no assignee: ABM knows no
//! users of devices). Its fields, keyed by catalog key:
//!
//! | key | from | normalized as |
//! |---|---|---|
//! | `serial_number` | `serialNumber` (else the id) | serial |
//! | `imei`, `meid` | `imei`, `meid` (string or list) | list |
//! | `eid` | `eid` | text |
//! | `wifi_mac_address`, `bluetooth_mac_address` | string or list (first valid) | MAC |
//! | `ethernet_mac_address` | `ethernetMacAddress` / `builtInEthernetMacAddress` | list of MACs |
//! | `device_model`, `product_type`, `product_family`, `color`, `device_capacity`, `part_number`, `order_number` | same names | text |
//! | `status`, `purchase_source_type` | same names | text, as Apple spells it (`ASSIGNED`, `RESELLER`) |
//! | `purchase_source_id` | `purchaseSourceId` / `purchaseSourceUid` | id |
//! | `added_to_org_date_time`, `updated_date_time`, `order_date_time`, `released_from_org_date_time` | same names | RFC 3339 UTC |
//! | `assigned_server_id` | the `assignedServer` relationship's id when included, or (opt-in) the servers' device lists | id |
//! | `applecare_status`, `applecare_end_date` | opt-in: `appleCareCoverage` | text, date |
//! | `activation_lock_enabled` | opt-in: `activationLockStatus` `isLocked` | boolean |
//!
//! The cursor is Apple's `nextCursor`; pages hold up to 1000 devices (one
//! request per 1000 devices).
//!
//! [`pages`](DeviceSource::pages) is pipelined: when a page's body arrives,
//! the next cursor is read from its `meta`/`links` alone (the resources are
//! skipped) and the next page is requested at once, while the page is
//! decoded and normalized on Tokio's blocking pool. One listing request is
//! in flight at a time, only for a cursor the server named: the requests are
//! those of a sequential listing. The full decode's cursor is checked
//! against the one read ahead; if they differ (they should not), the full
//! decode's wins and the other request is cancelled.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use futures::stream::{self, BoxStream};
use mdm_mapping::DroppedValues;
use mdm_mapping::source::guard_pages;
use mdm_mapping::{
    Cursor, DevicePage, DeviceSource, Entity, SourceDevice, SourceError, SourceErrorKind, Vendor,
};

use crate::client::AbmClient;
use crate::error::Error;
use crate::model::{AppleCareCoverage, CoverageStatus, OrgDevice};
use crate::paging::{DeviceQuery, MAX_LIMIT, ServerQuery, cursor_and_ids_of};

/// The catalog keys an [`AbmSource`] can fill.
pub const FIELD_KEYS: &[&str] = &[
    "serial_number",
    "imei",
    "meid",
    "eid",
    "bluetooth_mac_address",
    "wifi_mac_address",
    "ethernet_mac_address",
    "device_model",
    "product_type",
    "product_family",
    "status",
    "color",
    "device_capacity",
    "part_number",
    "order_number",
    "purchase_source_id",
    "purchase_source_type",
    "added_to_org_date_time",
    "updated_date_time",
    "order_date_time",
    "released_from_org_date_time",
    "assigned_server_id",
    "applecare_status",
    "applecare_end_date",
    "activation_lock_enabled",
];

/// A [`DeviceSource`] over `GET /v1/orgDevices`.
///
/// ```no_run
/// # async fn run(client: abm_client::AbmClient) -> Result<(), mdm_mapping::SourceError> {
/// use futures::TryStreamExt;
/// use mdm_mapping::DeviceSource;
///
/// let source = client.device_source().with_assigned_servers(true);
/// let mut devices = source.devices(None);
/// while let Some(device) = devices.try_next().await? {
///     println!("{}", serde_json::to_string(&device).unwrap_or_default());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AbmSource {
    client: AbmClient,
    limit: u32,
    applecare: bool,
    activation_lock: bool,
    assigned_servers: bool,
    server_map: Arc<tokio::sync::OnceCell<HashMap<String, String>>>,
    dropped: DroppedValues,
}

impl AbmSource {
    /// A source with pages of 1000 devices and no opt-in reads.
    pub fn new(client: AbmClient) -> Self {
        AbmSource {
            client,
            limit: MAX_LIMIT,
            applecare: false,
            activation_lock: false,
            assigned_servers: false,
            server_map: Arc::new(tokio::sync::OnceCell::new()),
            dropped: DroppedValues::new(),
        }
    }

    /// The page size, 1 to 1000 (default 1000; checked on the first fetch).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Opt-in: reads each device's AppleCare coverage to fill
    /// `applecare_status` and `applecare_end_date`. One extra request per
    /// device, so slow on a large tenant under Apple's rate limit.
    pub fn with_applecare(mut self, on: bool) -> Self {
        self.applecare = on;
        self
    }

    /// Opt-in: reads each device's Activation Lock status
    /// (`activationLockStatus`, ABM 2.5+ / ASM 1.7+) to fill
    /// `activation_lock_enabled`. One extra request per device; a device
    /// Apple has no status for (404) is left without the field.
    pub fn with_activation_lock(mut self, on: bool) -> Self {
        self.activation_lock = on;
        self
    }

    /// Opt-in: fills `assigned_server_id` for every device by listing the
    /// MDM servers and their device ids once (a few requests in all,
    /// whatever the fleet size), before the first page. The map is kept for
    /// the life of this source and its clones; make a new source for a
    /// fresh one. (A device whose resource includes the relationship's id
    /// keeps that id.)
    pub fn with_assigned_servers(mut self, on: bool) -> Self {
        self.assigned_servers = on;
        self
    }

    /// The client underneath.
    pub fn client(&self) -> &AbmClient {
        &self.client
    }

    async fn server_map(&self) -> Result<&HashMap<String, String>, Error> {
        self.server_map
            .get_or_try_init(|| async {
                let mut map = HashMap::new();
                let mut servers = self.client.mdm_servers(ServerQuery::new(), None);
                let mut ids = Vec::new();
                while let Some(page) = servers.try_next().await? {
                    ids.extend(page.data.into_iter().map(|s| s.id));
                }
                drop(servers);
                for server in ids {
                    let mut pages = self.client.mdm_server_device_ids(&server, MAX_LIMIT, None);
                    while let Some(page) = pages.try_next().await? {
                        for d in page.data {
                            map.entry(d.id).or_insert_with(|| server.clone());
                        }
                    }
                }
                Ok::<_, Error>(map)
            })
            .await
    }

    async fn fetch(&self, cursor: Option<&Cursor>) -> Result<DevicePage, Error> {
        let map = if self.assigned_servers {
            Some(self.server_map().await?)
        } else {
            None
        };
        let query = DeviceQuery::new().limit(self.limit);
        let _ = crate::model::de::take_dropped();
        let page = self
            .client
            .org_devices_page(&query, cursor.map(Cursor::as_str))
            .await?;
        // Decoded on this thread, in the poll that just returned.
        self.count_dropped(crate::model::de::take_dropped());
        let mut devices = records(&page.data, map);
        self.add_opt_ins(&mut devices).await?;
        Ok(DevicePage {
            devices,
            next: page.next_cursor.map(Cursor::new),
        })
    }

    /// The opt-in AppleCare read, one request per device, in page order.
    /// Counts the values a decode dropped because it could not read them.
    fn count_dropped(&self, dropped: Vec<(&'static str, String)>) {
        for (field, raw) in dropped {
            self.dropped.record(Vendor::Abm, field, &raw);
        }
    }

    async fn add_opt_ins(&self, devices: &mut [SourceDevice]) -> Result<(), Error> {
        if !self.applecare && !self.activation_lock {
            return Ok(());
        }
        for record in devices {
            if self.applecare {
                // A device Apple has no coverage record for is not an error.
                let coverage = match self.client.apple_care_coverage(&record.source_id).await {
                    Err(e) if e.is_not_found() => Vec::new(),
                    other => other?,
                };
                apply_applecare(record, &coverage);
            }
            if self.activation_lock {
                match self.client.activation_lock_status(&record.source_id).await {
                    Ok(status) => {
                        record
                            .fields
                            .bool("activation_lock_enabled", status.attributes.is_locked);
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

/// Normalizes a page's devices, filling `assigned_server_id` from the
/// servers' device lists (`map`, the opt-in) where the resource has none.
fn records(data: &[OrgDevice], map: Option<&HashMap<String, String>>) -> Vec<SourceDevice> {
    data.iter()
        .map(|device| {
            let mut record = source_device(device);
            if let Some(map) = map
                && !record.fields.contains("assigned_server_id")
            {
                record.fields.id(
                    "assigned_server_id",
                    map.get(&device.id).map(String::as_str),
                );
            }
            record
        })
        .collect()
}

/// A spawned task that is aborted when dropped: dropping a page stream
/// cancels the request it had in flight.
type Task<T> = tokio_util::task::AbortOnDropHandle<T>;

/// A page's body as it arrived, with the cursor read cheaply from it.
struct Fetched {
    body: Bytes,
    /// The next cursor from `meta`/`links` alone (`None`: that cheap read
    /// failed; the full decode says why).
    next: Option<Option<String>>,
    /// The page's resource ids (`None`: the cheap read failed).
    ids: Option<Vec<String>>,
}

/// The `orgDevices` request in flight: the page at `cursor`.
struct InFlight {
    cursor: Option<String>,
    task: Task<Result<Fetched, Error>>,
}

/// The state of [`AbmSource`]'s pipelined page stream: at most one
/// `orgDevices` request in flight, sent as soon as the previous page's body
/// arrived, while that page is decoded on the blocking pool.
struct Pipeline<'a> {
    source: &'a AbmSource,
    query: Arc<DeviceQuery>,
    /// The cursor to start from, until the first step.
    start: Option<Option<String>>,
    inflight: Option<InFlight>,
    /// Cursors requested so far: the loop guard, which also keeps a
    /// repeated cursor from being requested ahead.
    seen: HashSet<String>,
    /// The device ids listed so far: a page with none new is not followed.
    seen_ids: HashSet<String>,
}

fn at(e: SourceError, cursor: &Option<String>) -> SourceError {
    e.at_cursor(cursor.clone().map(Cursor::new))
}

fn runtime() -> Result<tokio::runtime::Handle, SourceError> {
    tokio::runtime::Handle::try_current()
        .map_err(|e| SourceError::new(Vendor::Abm, SourceErrorKind::Config, e))
}

fn join_error(e: tokio::task::JoinError) -> SourceError {
    SourceError::new(Vendor::Abm, SourceErrorKind::Other, e)
}

impl<'a> Pipeline<'a> {
    fn new(source: &'a AbmSource, from: Option<String>) -> Self {
        Pipeline {
            source,
            query: Arc::new(DeviceQuery::new().limit(source.limit)),
            start: Some(from),
            inflight: None,
            seen: HashSet::new(),
            seen_ids: HashSet::new(),
        }
    }

    /// Sends the request for the page at `cursor` on the runtime; the next
    /// cursor is read from its body as soon as it arrives.
    fn request(&self, cursor: Option<String>) -> Result<InFlight, SourceError> {
        let client = self.source.client.clone();
        let query = Arc::clone(&self.query);
        let at_cursor = cursor.clone();
        let task = runtime()?.spawn(async move {
            let body = client
                .org_devices_body(&query, at_cursor.as_deref())
                .await?;
            let (next, ids) = match cursor_and_ids_of(&body) {
                Ok((next, ids)) => (Some(next), Some(ids)),
                Err(_) => (None, None),
            };
            Ok(Fetched { body, next, ids })
        });
        Ok(InFlight {
            cursor,
            task: Task::new(task),
        })
    }

    /// The next page, or `None` after the last page or an error.
    async fn step(&mut self) -> Option<Result<DevicePage, SourceError>> {
        if let Some(from) = self.start.take()
            && let Err(e) = self.begin(&from).await
        {
            return Some(Err(at(e, &from)));
        }
        let InFlight { cursor, task } = self.inflight.take()?;
        let result = self.page(&cursor, task).await;
        if result.is_err() {
            // Nothing follows an error: cancel what is in flight.
            self.inflight = None;
        }
        Some(result.map_err(|e| at(e, &cursor)))
    }

    async fn begin(&mut self, from: &Option<String>) -> Result<(), SourceError> {
        if self.source.assigned_servers {
            self.source.server_map().await?;
        }
        if let Some(c) = from {
            self.seen.insert(c.clone());
        }
        self.inflight = Some(self.request(from.clone())?);
        Ok(())
    }

    async fn page(
        &mut self,
        cursor: &Option<String>,
        task: Task<Result<Fetched, Error>>,
    ) -> Result<DevicePage, SourceError> {
        let fetched = task.await.map_err(join_error)??;
        // A page that lists no device not already listed is not followed:
        // the guard ends the listing there, with nothing more requested.
        let mut progress = true;
        if let Some(ids) = &fetched.ids {
            let mut fresh = false;
            for id in ids {
                fresh |= self.seen_ids.insert(id.clone());
            }
            progress = fresh;
        }
        // Ask for the next page now, before this one is decoded.
        if progress
            && let Some(Some(next)) = &fetched.next
            && !self.seen.contains(next)
        {
            self.inflight = Some(self.request(Some(next.clone()))?);
        }
        let client = self.source.client.clone();
        let map = self
            .source
            .assigned_servers
            .then(|| Arc::clone(&self.source.server_map));
        let at_cursor = cursor.clone();
        let decode = runtime()?.spawn_blocking(move || {
            let _ = crate::model::de::take_dropped();
            let page = client.decode_org_devices(&fetched.body, at_cursor.as_deref())?;
            let dropped = crate::model::de::take_dropped();
            let map = map.as_ref().and_then(|m| m.get());
            Ok::<_, Error>((records(&page.data, map), page.next_cursor, dropped))
        });
        let (mut devices, next, dropped) = Task::new(decode).await.map_err(join_error)??;
        self.source.count_dropped(dropped);
        let repeated = next.as_ref().is_some_and(|n| !self.seen.insert(n.clone()));
        if repeated || !progress || devices.is_empty() {
            // A cursor already read, or a page with nothing new: the page
            // keeps its `next` for the guard to end the listing with a
            // NoProgress error; nothing more is requested.
            self.inflight = None;
            self.source.add_opt_ins(&mut devices).await?;
            return Ok(DevicePage {
                devices,
                next: next.map(Cursor::new),
            });
        }
        // The full decode's cursor is the one that counts: a request sent
        // for any other (the cheap read disagreed, which it should not) is
        // cancelled and the right one sent.
        let ahead = self.inflight.as_ref().and_then(|f| f.cursor.as_deref());
        if ahead != next.as_deref() {
            if let Some(ahead) = ahead {
                tracing::warn!(ahead, next = ?next, "the cursor read ahead disagreed with the page; requesting the page's own");
            }
            self.inflight = None;
            if let Some(n) = &next {
                self.inflight = Some(self.request(Some(n.clone()))?);
            }
        }
        self.source.add_opt_ins(&mut devices).await?;
        Ok(DevicePage {
            devices,
            next: next.map(Cursor::new),
        })
    }
}

#[async_trait]
impl DeviceSource for AbmSource {
    fn vendor(&self) -> Vendor {
        Vendor::Abm
    }

    /// The API's base URL (every organization shares it; ABM keeps no
    /// watermark and no user directory, so nothing depends on telling two
    /// organizations apart here).
    fn server(&self) -> Option<String> {
        Some(self.client.base_url().to_string())
    }

    fn requests_sent(&self) -> Option<u64> {
        Some(self.client.requests_sent())
    }

    fn learned_rate(&self) -> Option<f64> {
        self.client.learned_rate()
    }

    fn endpoint(&self, _cursor: Option<&Cursor>) -> String {
        "GET /v1/orgDevices".to_string()
    }

    /// The values dropped because they could not be read, over every page
    /// stream of this source.
    fn dropped_values(&self) -> DroppedValues {
        self.dropped.clone()
    }

    // `close` is the default no-op: Apple's OAuth 2 token endpoint has no
    // revocation endpoint; the access token expires on its own (1 hour).

    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        self.fetch(cursor)
            .await
            .map_err(|e| SourceError::from(e).at_cursor(cursor.cloned()))
    }

    /// Every page from `from`, pipelined: as soon as a page's body arrives,
    /// its next cursor is read from `meta`/`links` alone and the next page is
    /// requested, while this page is decoded and normalized on the blocking
    /// pool. One `orgDevices` request is in flight at a time, and only for a
    /// cursor the server named, so no request is wasted. The contract is
    /// [`DeviceSource::pages`]'s (through [`guard_pages`]); an error carries
    /// the cursor of the page that failed. Poll it inside a Tokio runtime.
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        let pipeline = Pipeline::new(self, from.map(|c| c.as_str().to_string()));
        let pages = stream::unfold(pipeline, |mut p| async move {
            let page = p.step().await?;
            Some((page, p))
        });
        guard_pages(
            Vendor::Abm,
            move |c| self.endpoint(c),
            self.dropped.clone(),
            pages,
        )
    }
}

fn rfc3339(dt: &Option<DateTime<Utc>>) -> Option<String> {
    dt.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Normalizes one `orgDevices` resource into a [`SourceDevice`] (see the
/// [module docs](self) for the field table).
pub fn source_device(device: &OrgDevice) -> SourceDevice {
    let a = &device.attributes;
    let mut d = SourceDevice::new(Vendor::Abm, Entity::Device, device.id.trim());
    let f = &mut d.fields;
    f.serial("serial_number", Some(device.serial_number()));
    f.list("imei", a.imei.iter().flatten().map(String::as_str));
    f.list("meid", a.meid.iter().flatten().map(String::as_str));
    f.text("eid", a.eid.as_deref());
    let first_mac = |list: &Option<Vec<String>>| {
        list.iter()
            .flatten()
            .find_map(|m| mdm_mapping::normalize::mac(m))
    };
    f.mac(
        "wifi_mac_address",
        first_mac(&a.wifi_mac_address).as_deref(),
    );
    f.mac(
        "bluetooth_mac_address",
        first_mac(&a.bluetooth_mac_address).as_deref(),
    );
    let ethernet: Vec<String> = a
        .ethernet_mac_addresses()
        .into_iter()
        .filter_map(mdm_mapping::normalize::mac)
        .collect();
    f.list("ethernet_mac_address", ethernet.iter().map(String::as_str));
    f.text("device_model", a.device_model.as_deref());
    f.text("product_type", a.product_type.as_deref());
    f.text(
        "product_family",
        a.product_family.as_ref().map(|p| p.as_str()),
    );
    f.text("status", a.status.as_ref().map(|s| s.as_str()));
    f.text("color", a.color.as_deref());
    f.text("device_capacity", a.device_capacity.as_deref());
    f.text("part_number", a.part_number.as_deref());
    f.text("order_number", a.order_number.as_deref());
    f.id("purchase_source_id", a.purchase_source());
    f.text(
        "purchase_source_type",
        a.purchase_source_type.as_ref().map(|p| p.as_str()),
    );
    f.datetime(
        "added_to_org_date_time",
        rfc3339(&a.added_to_org_date_time).as_deref(),
    );
    f.datetime(
        "updated_date_time",
        rfc3339(&a.updated_date_time).as_deref(),
    );
    f.datetime("order_date_time", rfc3339(&a.order_date_time).as_deref());
    f.datetime(
        "released_from_org_date_time",
        rfc3339(&a.released_from_org_date_time).as_deref(),
    );
    f.id("assigned_server_id", device.assigned_server_id());
    d
}

/// Fills `applecare_status` and `applecare_end_date` from a device's
/// coverages.
///
/// The status is `ACTIVE` when any coverage is active, otherwise the first
/// coverage's status. The end date is the latest `endDateTime` among the
/// active coverages (among all, when none is active), as `YYYY-MM-DD`; an
/// open-ended subscription (no end date) sets none.
pub fn apply_applecare(device: &mut SourceDevice, coverages: &[AppleCareCoverage]) {
    let active: Vec<&AppleCareCoverage> = coverages
        .iter()
        .filter(|c| c.attributes.status == Some(CoverageStatus::Active))
        .collect();
    let status = if active.is_empty() {
        coverages
            .iter()
            .find_map(|c| c.attributes.status.as_ref())
            .map(|s| s.as_str().to_string())
    } else {
        Some(CoverageStatus::Active.as_str().to_string())
    };
    let pool: Vec<&AppleCareCoverage> = if active.is_empty() {
        coverages.iter().collect()
    } else {
        active
    };
    let end = pool
        .iter()
        .filter_map(|c| c.attributes.end_date_time)
        .max()
        .map(|d| d.format("%Y-%m-%d").to_string());
    device.fields.text("applecare_status", status.as_deref());
    device.fields.date("applecare_end_date", end.as_deref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_a_task_cancels_it() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = Task::new(tokio::spawn(async move {
            // Holds the sender until it is cancelled.
            let _tx = tx;
            std::future::pending::<()>().await;
        }));
        drop(task);
        // The sender is dropped only when the task is aborted.
        assert!(rx.await.is_err());
    }

    /// The cursor read ahead and the full decode's cannot disagree on a real
    /// body (same types, same rules), so this hands the pipeline a body with
    /// a wrong cursor "read ahead": the page's own cursor wins, the request
    /// sent for the wrong one is cancelled and the right one is sent.
    #[tokio::test]
    async fn a_cursor_read_ahead_that_disagrees_gives_way_to_the_pages_own() {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        use wiremock::matchers::{method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "t", "token_type": "Bearer", "expires_in": 3600
            })))
            .mount(&server)
            .await;
        let page = |id: &str| {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "data": [{"type": "orgDevices", "id": id}], "meta": {"paging": {}}
            }))
        };
        Mock::given(method("GET"))
            .and(path("/v1/orgDevices"))
            .and(query_param("cursor", "RIGHT"))
            .respond_with(page("R1"))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/orgDevices"))
            .and(query_param("cursor", "WRONG"))
            .respond_with(page("W1"))
            .expect(0..=1)
            .mount(&server)
            .await;
        let key = p256::SecretKey::random(&mut rand_core::OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pem");
        let key = crate::PrivateKey::from_pem(key.as_bytes()).expect("key");
        let client = AbmClient::builder(crate::Credentials::new("BUSINESSAPI.x", "k", key))
            .base_url(server.uri())
            .token_url(format!("{}/token", server.uri()))
            .rate_limit(None)
            .build()
            .expect("client");
        let source = AbmSource::new(client);
        let mut pipeline = Pipeline::new(&source, None);
        pipeline.start = None;
        let body = Bytes::from_static(
            br#"{"data": [{"type": "orgDevices", "id": "P1"}],
                 "meta": {"paging": {"nextCursor": "RIGHT"}}}"#,
        );
        let arrived = Task::new(tokio::spawn(async move {
            Ok(Fetched {
                body,
                next: Some(Some("WRONG".to_string())),
                ids: Some(vec!["P1".to_string()]),
            })
        }));
        let first = pipeline.page(&None, arrived).await.expect("page");
        assert_eq!(first.devices[0].source_id, "P1");
        assert_eq!(first.next, Some(Cursor::new("RIGHT")));
        let second = pipeline.step().await.expect("a page").expect("ok");
        assert_eq!(second.devices[0].source_id, "R1");
        assert_eq!(second.next, None);
        assert!(pipeline.step().await.is_none());
    }

    #[tokio::test]
    async fn a_task_yields_its_output() {
        let task = Task::new(tokio::spawn(async { 7 }));
        assert_eq!(task.await.expect("joined"), 7);
    }
}
