//! [`KandjiSource`]: the [`DeviceSource`] over Kandji's device listing, and
//! the mapping from Kandji payloads to normalized [`SourceDevice`]s.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use mdm_mapping::DroppedValues;
use mdm_mapping::source::guard_pages;
use mdm_mapping::{
    Assignee, Cursor, DevicePage, DeviceSource, Entity, SourceDevice, SourceError, SourceErrorKind,
    Vendor,
};

use crate::client::{Dropped, KandjiClient, decode_device_list_noting, device_ids_of_list};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::models::{Device, DeviceDetails, DeviceUser, User};
use crate::query::{DeviceQuery, MAX_PAGE_SIZE, UserQuery};

/// The catalog keys this crate fills (`normalize::catalog_key` of the
/// Kandji field names).
pub mod keys {
    /// Agent Installed.
    pub const AGENT_INSTALLED: &str = "agent_installed";
    /// Agent Version.
    pub const AGENT_VERSION: &str = "agent_version";
    /// Asset Tag.
    pub const ASSET_TAG: &str = "asset_tag";
    /// Blueprint ID.
    pub const BLUEPRINT_ID: &str = "blueprint_id";
    /// Blueprint Name.
    pub const BLUEPRINT_NAME: &str = "blueprint_name";
    /// Device ID.
    pub const DEVICE_ID: &str = "device_id";
    /// Device Name.
    pub const DEVICE_NAME: &str = "device_name";
    /// First Enrollment.
    pub const FIRST_ENROLLMENT: &str = "first_enrollment";
    /// Is Missing.
    pub const IS_MISSING: &str = "is_missing";
    /// Is Removed.
    pub const IS_REMOVED: &str = "is_removed";
    /// Last Check In.
    pub const LAST_CHECK_IN: &str = "last_check_in";
    /// Last Enrollment.
    pub const LAST_ENROLLMENT: &str = "last_enrollment";
    /// Lost Mode Status.
    pub const LOST_MODE_STATUS: &str = "lost_mode_status";
    /// MDM Enabled.
    pub const MDM_ENABLED: &str = "mdm_enabled";
    /// Model.
    pub const MODEL: &str = "model";
    /// OS Version.
    pub const OS_VERSION: &str = "os_version";
    /// Platform.
    pub const PLATFORM: &str = "platform";
    /// Serial Number.
    pub const SERIAL_NUMBER: &str = "serial_number";
    /// Supplemental Build Version.
    pub const SUPPLEMENTAL_BUILD_VERSION: &str = "supplemental_build_version";
    /// Supplemental OS Version Extra.
    pub const SUPPLEMENTAL_OS_VERSION_EXTRA: &str = "supplemental_os_version_extra";
    /// Tags.
    pub const TAGS: &str = "tags";
    /// User Active (joined from `GET /api/v1/users`, opt-in:
    /// [`KandjiSource::with_user_active`](crate::KandjiSource::with_user_active)).
    pub const USER_ACTIVE: &str = "user_active";
    /// User Email.
    pub const USER_EMAIL: &str = "user_email";
    /// User ID.
    pub const USER_ID: &str = "user_id";
    /// User Is Archived.
    pub const USER_IS_ARCHIVED: &str = "user_is_archived";
    /// User Name.
    pub const USER_NAME: &str = "user_name";

    /// Model Identifier (details opt-in).
    pub const MODEL_IDENTIFIER: &str = "model_identifier";
    /// UDID (details opt-in).
    pub const UDID: &str = "udid";
    /// MAC Address (details opt-in).
    pub const MAC_ADDRESS: &str = "mac_address";
    /// Supervised (details opt-in).
    pub const SUPERVISED: &str = "supervised";
    /// Processor (details opt-in).
    pub const PROCESSOR: &str = "processor";
    /// Memory (details opt-in).
    pub const MEMORY: &str = "memory";
    /// FileVault Enabled (details opt-in).
    pub const FILEVAULT_ENABLED: &str = "filevault_enabled";
    /// Activation Lock Enabled (details opt-in).
    pub const ACTIVATION_LOCK_ENABLED: &str = "activation_lock_enabled";
    /// Recovery Lock Enabled (details opt-in).
    pub const RECOVERY_LOCK_ENABLED: &str = "recovery_lock_enabled";

    /// The keys of the Kandji field table, read from the device listing
    /// ([`USER_ACTIVE`] only with the opt-in users join).
    pub const LIST: &[&str] = &[
        AGENT_INSTALLED,
        AGENT_VERSION,
        ASSET_TAG,
        BLUEPRINT_ID,
        BLUEPRINT_NAME,
        DEVICE_ID,
        DEVICE_NAME,
        FIRST_ENROLLMENT,
        IS_MISSING,
        IS_REMOVED,
        LAST_CHECK_IN,
        LAST_ENROLLMENT,
        LOST_MODE_STATUS,
        MDM_ENABLED,
        MODEL,
        OS_VERSION,
        PLATFORM,
        SERIAL_NUMBER,
        SUPPLEMENTAL_BUILD_VERSION,
        SUPPLEMENTAL_OS_VERSION_EXTRA,
        TAGS,
        USER_ACTIVE,
        USER_EMAIL,
        USER_ID,
        USER_IS_ARCHIVED,
        USER_NAME,
    ];

    /// The keys read only from `/details`, when the caller opts in.
    pub const DETAILS: &[&str] = &[
        MODEL_IDENTIFIER,
        UDID,
        MAC_ADDRESS,
        SUPERVISED,
        PROCESSOR,
        MEMORY,
        FILEVAULT_ENABLED,
        ACTIVATION_LOCK_ENABLED,
        RECOVERY_LOCK_ENABLED,
    ];
}

/// How many listing requests [`KandjiSource`]'s page stream keeps in flight
/// while it decodes a page, by default ([`KandjiSource::with_lookahead`]).
pub const DEFAULT_LOOKAHEAD: usize = 1;

/// What the users endpoint says about one user, for the "User Active" join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserStatus {
    /// Whether the user is active.
    pub active: Option<bool>,
    /// Whether the user is archived.
    pub archived: Option<bool>,
}

/// Users by id (and by legacy integer id), for joining "User Active" onto
/// devices. Built from one pass over `GET /api/v1/users`.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    by_id: HashMap<String, UserStatus>,
    users: usize,
}

impl UserDirectory {
    /// Indexes `users` by `id` and by `deprecated_user_id`.
    pub fn from_users<'a>(users: impl IntoIterator<Item = &'a User>) -> Self {
        let mut dir = UserDirectory::default();
        for u in users {
            dir.insert(u);
        }
        dir
    }

    fn insert(&mut self, u: &User) {
        let status = UserStatus {
            active: u.active,
            archived: u.archived,
        };
        self.users += 1;
        self.by_id.insert(u.id.trim().to_string(), status);
        if let Some(legacy) = u.deprecated_user_id.as_deref().map(str::trim) {
            self.by_id.entry(legacy.to_string()).or_insert(status);
        }
    }

    /// The user with this id (a UUID, or a legacy integer id as a string).
    pub fn get(&self, id: &str) -> Option<UserStatus> {
        self.by_id.get(id.trim()).copied()
    }

    /// How many users were indexed.
    pub fn len(&self) -> usize {
        self.users
    }

    /// Whether no user was indexed.
    pub fn is_empty(&self) -> bool {
        self.users == 0
    }
}

/// Normalizes one Kandji device into a [`SourceDevice`] (entity `device`,
/// `source_id` = `device_id`).
///
/// Fills every Kandji catalog key the data has, normalized (dates to
/// RFC 3339 UTC, serials upper case, blanks dropped); "User Active" comes
/// from `users` when given; the details-only keys (model identifier, UDID,
/// MAC address, supervised, processor, memory, FileVault, Activation Lock,
/// Recovery Lock) only when `details` is given.
///
/// ```
/// use kandji_client::{to_source_device, Device};
///
/// let device: Device = serde_json::from_str(r#"{
///     "device_id": "03f81208-2b6a-4a77-81f5-cf1633bcfb95",
///     "serial_number": "fvhhfkf7q6l4",
///     "platform": "Mac",
///     "first_enrollment": "2024-01-26 16:15:36.087016+00:00",
///     "asset_tag": "",
///     "user": {"id": 1, "email": "Ana@Example.com", "name": "Ana", "is_archived": false},
///     "mdm_enabled": true
/// }"#).unwrap();
/// let record = to_source_device(&device, None, None);
/// let json = serde_json::to_value(&record).unwrap();
/// assert_eq!(json["fields"]["serial_number"], "FVHHFKF7Q6L4");
/// assert_eq!(json["fields"]["first_enrollment"], "2024-01-26T16:15:36Z");
/// assert_eq!(json["fields"]["user_id"], "1");
/// assert_eq!(json["assignee"]["email"], "ana@example.com");
/// assert!(json["fields"].get("asset_tag").is_none());
/// ```
pub fn to_source_device(
    device: &Device,
    details: Option<&DeviceDetails>,
    users: Option<&UserDirectory>,
) -> SourceDevice {
    use keys::*;
    let d = device;
    let mut out = SourceDevice::new(Vendor::Kandji, Entity::Device, d.device_id.trim());
    let f = &mut out.fields;
    f.bool(AGENT_INSTALLED, d.agent_installed)
        .text(AGENT_VERSION, d.agent_version.as_deref())
        .text(ASSET_TAG, d.asset_tag.as_deref())
        .id(BLUEPRINT_ID, d.blueprint_id.as_deref())
        .text(BLUEPRINT_NAME, d.blueprint_name.as_deref())
        .id(DEVICE_ID, Some(&d.device_id))
        .text(DEVICE_NAME, d.device_name.as_deref())
        .datetime(FIRST_ENROLLMENT, d.first_enrollment.as_deref())
        .bool(IS_MISSING, d.is_missing)
        .bool(IS_REMOVED, d.is_removed)
        .datetime(LAST_CHECK_IN, d.last_check_in.as_deref())
        .datetime(LAST_ENROLLMENT, d.last_enrollment.as_deref())
        .text(LOST_MODE_STATUS, d.lost_mode_status.as_deref())
        .bool(MDM_ENABLED, d.mdm_enabled)
        .text(MODEL, d.model.as_deref())
        .text(OS_VERSION, d.os_version.as_deref())
        .text(PLATFORM, d.platform_str())
        .serial(SERIAL_NUMBER, d.serial_number.as_deref())
        .text(
            SUPPLEMENTAL_BUILD_VERSION,
            d.supplemental_build_version.as_deref(),
        )
        .text(
            SUPPLEMENTAL_OS_VERSION_EXTRA,
            d.supplemental_os_version_extra.as_deref(),
        )
        .list(TAGS, d.tags.iter().map(String::as_str));

    // The list's `user`; the details' `assigned_user` only when the list has none.
    let user: Option<&DeviceUser> = d.user.as_ref().or_else(|| {
        details
            .and_then(|x| x.general.as_ref())
            .and_then(|g| g.assigned_user.as_ref())
    });
    let mut assignee = None;
    if let Some(u) = user {
        let status =
            u.id.as_deref()
                .and_then(|id| users.and_then(|dir| dir.get(id)));
        let active = status.and_then(|s| s.active);
        f.email(USER_EMAIL, u.email.as_deref())
            .id(USER_ID, u.id.as_deref())
            .bool(USER_IS_ARCHIVED, u.is_archived)
            .text(USER_NAME, u.name.as_deref())
            .bool(USER_ACTIVE, active);
        assignee = Assignee {
            id: u.id.clone(),
            email: u.email.clone(),
            full_name: u.name.clone(),
            active,
            archived: u.is_archived.or(status.and_then(|s| s.archived)),
            ..Assignee::default()
        }
        .into_option();
    }
    out.assignee = assignee;

    if let Some(x) = details {
        let hw = x.hardware_overview.as_ref();
        let f = &mut out.fields;
        f.text(
            MODEL_IDENTIFIER,
            hw.and_then(|h| h.model_identifier.as_deref()),
        )
        .text(UDID, x.udid())
        .mac(MAC_ADDRESS, x.mac_address())
        .bool(SUPERVISED, x.mdm.as_ref().and_then(|m| m.supervised))
        .text(PROCESSOR, hw.and_then(|h| h.processor_name.as_deref()))
        .text(MEMORY, hw.and_then(|h| h.memory.as_deref()))
        .bool(
            FILEVAULT_ENABLED,
            x.filevault.as_ref().and_then(|v| v.filevault_enabled),
        )
        .bool(
            ACTIVATION_LOCK_ENABLED,
            x.activation_lock
                .as_ref()
                .and_then(|a| a.device_activation_lock_enabled),
        )
        .bool(
            RECOVERY_LOCK_ENABLED,
            x.recovery_information
                .as_ref()
                .and_then(|r| r.recovery_lock_enabled),
        );
        // Older list responses lack lost_mode_status; details always have the section.
        if !f.contains(LOST_MODE_STATUS) {
            f.text(
                LOST_MODE_STATUS,
                x.lost_mode
                    .as_ref()
                    .and_then(|l| l.lost_mode_status.as_deref()),
            );
        }
    }
    out
}

/// The [`DeviceSource`] over Kandji's devices.
///
/// - Pages are `GET /api/v1/devices` pages of up to 300 (the cursor is the
///   offset, as a decimal string), ordered by `device_id` unless the query
///   says otherwise; the listing ends at a short or empty page. By default
///   that is the only request: about 3.4 requests per 1,000 devices.
/// - Two opt-ins add requests, each for catalog rows the listing lacks:
///   - [`with_user_active(true)`](Self::with_user_active): "User Active"
///     (and the assignee's `active`) joined from `GET /api/v1/users`, 1
///     request per 300 users, once per sync.
///   - [`with_details(true)`](Self::with_details): the details-only rows
///     from each device's `/details`, 1 request per device.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use futures::TryStreamExt;
/// use kandji_client::{KandjiClient, KandjiSource};
/// use mdm_mapping::DeviceSource;
///
/// let client = KandjiClient::builder()
///     .tenant("acme")
///     .token(std::env::var("KANDJI_TOKEN")?)
///     .build()?;
/// // The listing only; add `.with_user_active(true)` and/or `.with_details(true)`
/// // for the rows they fill, at their cost in requests.
/// let source: Box<dyn DeviceSource> = Box::new(KandjiSource::new(client));
/// let mut pages = source.pages(None);
/// while let Some(page) = pages.try_next().await? {
///     for device in &page.devices {
///         println!("{}", serde_json::to_string(device)?);
///     }
/// }
/// # Ok(()) }
/// ```
pub struct KandjiSource {
    client: KandjiClient,
    query: DeviceQuery,
    details: bool,
    user_active: bool,
    details_concurrency: usize,
    lookahead: usize,
    users: tokio::sync::Mutex<Option<Arc<UserDirectory>>>,
    dropped: DroppedValues,
}

impl fmt::Debug for KandjiSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KandjiSource")
            .field("client", &self.client)
            .field("query", &self.query)
            .field("details", &self.details)
            .field("user_active", &self.user_active)
            .field("details_concurrency", &self.details_concurrency)
            .field("lookahead", &self.lookahead)
            .finish_non_exhaustive()
    }
}

impl KandjiSource {
    /// Every device, ordered by `device_id`, list fields only: no "User
    /// Active" join, no details (see [`with_user_active`](Self::with_user_active)
    /// and [`with_details`](Self::with_details)).
    pub fn new(client: KandjiClient) -> Self {
        KandjiSource {
            client,
            query: DeviceQuery::new().ordering("device_id"),
            details: false,
            user_active: false,
            details_concurrency: 4,
            lookahead: DEFAULT_LOOKAHEAD,
            users: tokio::sync::Mutex::new(None),
            dropped: DroppedValues::new(),
        }
    }

    /// Also read `/details` for each device to fill the details-only catalog
    /// rows ([`keys::DETAILS`]). Default off.
    ///
    /// Cost: 1 request per device (1,000 per 1,000 devices), paced by the
    /// rate limiter. A device deleted between the listing and its details
    /// (404) keeps its list fields. Needs the *Device details* permission.
    pub fn with_details(mut self, details: bool) -> Self {
        self.details = details;
        self
    }

    /// Also fill "User Active" ([`keys::USER_ACTIVE`], and the assignee's
    /// `active`/`archived`) by joining each device's `user.id` (a UUID or a
    /// legacy integer id) to `GET /api/v1/users`, which the device listing
    /// does not carry. Default off.
    ///
    /// Cost: the whole user list is read once per sync (on the first page
    /// that has an assigned user; a sync starts when the cursor is `None`),
    /// in cursor pages of 300 (`limit=300`): 1 request per 300 users, e.g.
    /// 200 requests for 60,000 users, whatever the number of devices. Needs
    /// the *List users* permission: a token without it (401/403), or a 404
    /// from the users endpoint, only leaves "User Active" out (logged); other
    /// failures fail the page.
    pub fn with_user_active(mut self, user_active: bool) -> Self {
        self.user_active = user_active;
        self
    }

    /// Filters, ordering and page size of the listing. Without an ordering
    /// Kandji's default order is used; prefer a stable one (`device_id`).
    pub fn with_query(mut self, query: DeviceQuery) -> Self {
        self.query = query;
        self
    }

    /// How many `/details` requests run at once (default 4; the rate
    /// limiter still paces them).
    pub fn with_details_concurrency(mut self, n: usize) -> Self {
        self.details_concurrency = n.max(1);
        self
    }

    /// How many listing requests [`pages`](DeviceSource::pages) keeps in
    /// flight while it decodes and normalizes a page (default
    /// [`DEFAULT_LOOKAHEAD`], 1).
    ///
    /// - `1`: when a page arrives, its devices are counted (not decoded) and,
    ///   if it is full, the next offset is requested at once, while the page
    ///   is decoded and normalized. The requests are exactly the sequential
    ///   listing's, in its order, one at a time: nothing speculative.
    /// - `n > 1`: also the `n - 1` pages after that, before it is known they
    ///   exist: `n` requests at once (the server may serve them in any
    ///   order, which on a list that changes during the sync moves what
    ///   each page holds), at most `n - 1` requests past the end of each
    ///   listing, up to `n + 1` pages in memory.
    /// - `0`: the next page is requested only once a page is normalized.
    ///
    /// Either way the offsets asked for are those of the sequential
    /// listing. [`fetch_page`](DeviceSource::fetch_page) is not affected.
    pub fn with_lookahead(mut self, n: usize) -> Self {
        self.lookahead = n;
        self
    }

    /// The client.
    pub fn client(&self) -> &KandjiClient {
        &self.client
    }

    /// Counts the values a decode dropped; returns the devices.
    fn count_dropped(&self, (devices, dropped): (Vec<Device>, Dropped)) -> Vec<Device> {
        for (field, raw) in dropped {
            self.dropped.record(Vendor::Kandji, field, &raw);
        }
        devices
    }

    async fn directory(&self) -> Result<Option<Arc<UserDirectory>>, Error> {
        let mut slot = self.users.lock().await;
        if let Some(dir) = slot.as_ref() {
            return Ok(Some(dir.clone()));
        }
        let loaded: Result<Vec<User>, Error> = self
            .client
            .users(UserQuery::new().page_size(MAX_PAGE_SIZE))
            .try_collect()
            .await;
        let dir = match loaded {
            Ok(users) => UserDirectory::from_users(&users),
            Err(e) if e.is_auth() || e.is_not_found() => {
                tracing::warn!(error = %e, "cannot read Kandji users; \"User Active\" is left out of this sync");
                UserDirectory::default()
            }
            Err(e) => return Err(e),
        };
        let dir = Arc::new(dir);
        *slot = Some(dir.clone());
        Ok(Some(dir))
    }

    async fn page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, Error> {
        let offset = parse_offset(cursor)?;
        if cursor.is_none() {
            // A new sync: the next page with users reloads the directory.
            *self.users.lock().await = None;
        }
        let body = self.client.list_devices_body(&self.query, offset).await?;
        let listed = self.count_dropped(decode_device_list_noting(&body, offset)?);
        self.finish(offset, listed).await
    }

    /// The offset of the page after the one at `offset` that listed `got`
    /// devices: `None` after a short page (the end of the listing).
    fn next_offset(&self, offset: u32, got: usize) -> Option<u32> {
        let full = got >= self.query.effective_page_size() as usize;
        full.then(|| offset.checked_add(u32::try_from(got).unwrap_or(u32::MAX)))
            .flatten()
    }

    /// Turns the listing at `offset` into a page: drops repeats within it,
    /// joins the opt-in reads and normalizes.
    async fn finish(&self, offset: u32, listed: Vec<Device>) -> Result<DevicePage, Error> {
        let next = self.next_offset(offset, listed.len());
        let mut seen = HashSet::new();
        let devices: Vec<Device> = listed
            .into_iter()
            .filter(|d| seen.insert(d.device_id.clone()))
            .collect();

        let needs_users = self.user_active
            && devices
                .iter()
                .any(|d| d.user.as_ref().is_some_and(|u| u.id.is_some()));
        let users = if needs_users {
            self.directory().await?
        } else {
            None
        };

        let details: Vec<Option<DeviceDetails>> = if self.details {
            let ids: Vec<String> = devices.iter().map(|d| d.device_id.clone()).collect();
            futures::stream::iter(ids)
                .map(|id| async move { self.details_of(&id).await })
                .buffered(self.details_concurrency)
                .try_collect()
                .await?
        } else {
            vec![None; devices.len()]
        };

        let records = devices
            .iter()
            .zip(details.iter())
            .map(|(d, x)| to_source_device(d, x.as_ref(), users.as_deref()))
            .collect();
        Ok(DevicePage {
            devices: records,
            next: next.map(|n| Cursor::new(n.to_string())),
        })
    }

    async fn details_of(&self, device_id: &str) -> Result<Option<DeviceDetails>, Error> {
        match self.client.device_details(device_id).await {
            Ok(x) => Ok(Some(x)),
            Err(e) if e.is_not_found() => {
                tracing::warn!(
                    device_id,
                    "device vanished before its details were read; keeping its list fields"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl DeviceSource for KandjiSource {
    fn vendor(&self) -> Vendor {
        Vendor::Kandji
    }

    /// The tenant's API URL (`https://SUBDOMAIN.api.kandji.io`).
    fn server(&self) -> Option<String> {
        Some(self.client.base_url().to_string())
    }

    fn requests_sent(&self) -> Option<u64> {
        Some(self.client.requests_sent())
    }

    fn endpoint(&self, _cursor: Option<&Cursor>) -> String {
        Endpoint::ListDevices.to_string()
    }

    /// The values dropped because they could not be read, over every page
    /// stream of this source.
    fn dropped_values(&self) -> DroppedValues {
        self.dropped.clone()
    }

    // `close` is the default no-op: a Kandji API token is long-lived and
    // managed in the Kandji web app; there is no session to end.

    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        self.page(cursor)
            .await
            .map_err(|e| SourceError::from(e).at_cursor(cursor.cloned()))
    }

    /// Every page from `from`, pipelined: when a page arrives, its devices
    /// are counted without decoding them and, if it is full, the next
    /// offset is requested at once, while the page is decoded (on Tokio's
    /// blocking pool) and normalized (see
    /// [`with_lookahead`](KandjiSource::with_lookahead)). The offsets, and by
    /// default the requests, are exactly those of the sequential listing.
    /// The contract is [`DeviceSource::pages`]'s (through [`guard_pages`]);
    /// an error carries the cursor of the page that failed. Poll it inside a
    /// Tokio runtime.
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        let pipeline = Pipeline::new(self, from);
        let pages = stream::unfold(pipeline, |mut p| async move {
            let page = p.step().await?;
            Some((page, p))
        });
        guard_pages(
            Vendor::Kandji,
            move |c| self.endpoint(c),
            self.dropped.clone(),
            pages,
        )
    }
}

/// The offset a cursor names (`None`: 0, the start).
fn parse_offset(cursor: Option<&Cursor>) -> Result<u32, Error> {
    match cursor {
        None => Ok(0),
        Some(c) => c.as_str().trim().parse::<u32>().map_err(|_| {
            Error::config(format!(
                "invalid Kandji cursor {:?}: expected a device offset",
                c.as_str()
            ))
        }),
    }
}

/// A spawned task that is aborted when dropped: dropping a page stream
/// cancels the requests it had in flight.
type Task<T> = tokio_util::task::AbortOnDropHandle<T>;

/// A page's listing as it arrived, with its devices counted (not decoded).
struct Listed {
    body: Bytes,
    /// The devices' ids, read without decoding them (`None`: not a
    /// listing; the decode says why).
    ids: Option<Vec<String>>,
    /// How many devices it holds (`None`: not a listing; the decode says why).
    count: Option<usize>,
}

/// A listing request in flight: the page at `offset`, named `cursor`.
struct Listing {
    offset: u32,
    cursor: Option<Cursor>,
    task: Task<Result<Listed, Error>>,
}

/// The state of [`KandjiSource`]'s pipelined page stream: the listing
/// requests in flight, in offset order, the first being the page to yield
/// next.
struct Pipeline<'a> {
    source: &'a KandjiSource,
    query: Arc<DeviceQuery>,
    /// The cursor to start from, until the first step.
    start: Option<Option<Cursor>>,
    queue: VecDeque<Listing>,
    /// The device ids listed so far: a page with none new is not followed.
    seen_ids: HashSet<String>,
}

fn runtime() -> Result<tokio::runtime::Handle, SourceError> {
    tokio::runtime::Handle::try_current()
        .map_err(|e| SourceError::new(Vendor::Kandji, SourceErrorKind::Config, e))
}

fn join_error(e: tokio::task::JoinError) -> SourceError {
    SourceError::new(Vendor::Kandji, SourceErrorKind::Other, e)
}

impl<'a> Pipeline<'a> {
    fn new(source: &'a KandjiSource, from: Option<Cursor>) -> Self {
        Pipeline {
            source,
            query: Arc::new(source.query.clone()),
            start: Some(from),
            queue: VecDeque::new(),
            seen_ids: HashSet::new(),
        }
    }

    /// Sends the listing request at `offset` on the runtime; its devices
    /// are counted as soon as it arrives.
    fn request(&self, offset: u32, cursor: Option<Cursor>) -> Result<Listing, SourceError> {
        let client = self.source.client.clone();
        let query = Arc::clone(&self.query);
        let task = runtime()?.spawn(async move {
            let body = client.list_devices_body(&query, offset).await?;
            let ids = device_ids_of_list(&body);
            let count = ids.as_ref().map(Vec::len);
            Ok(Listed { body, ids, count })
        });
        Ok(Listing {
            offset,
            cursor,
            task: Task::new(task),
        })
    }

    /// Makes the page at `next` (`None`: there is none) the next in flight,
    /// then asks for pages past it, speculatively, until `lookahead`
    /// requests are in flight.
    fn schedule(&mut self, next: Option<u32>) -> Result<(), SourceError> {
        match next {
            None => self.queue.clear(),
            Some(n) if self.queue.front().is_some_and(|l| l.offset == n) => {}
            Some(n) => {
                // Not in flight yet, or what was asked for ahead is at the
                // wrong offsets (a page longer than the page size).
                self.queue.clear();
                let listing = self.request(n, Some(Cursor::new(n.to_string())))?;
                self.queue.push_back(listing);
            }
        }
        self.fill()
    }

    fn fill(&mut self) -> Result<(), SourceError> {
        let step = self.query.effective_page_size();
        while self.queue.len() < self.source.lookahead {
            let Some(offset) = self.queue.back().and_then(|l| l.offset.checked_add(step)) else {
                break;
            };
            let listing = self.request(offset, Some(Cursor::new(offset.to_string())))?;
            self.queue.push_back(listing);
        }
        Ok(())
    }

    /// The next page, or `None` after the last page or an error.
    async fn step(&mut self) -> Option<Result<DevicePage, SourceError>> {
        if let Some(from) = self.start.take()
            && let Err(e) = self.begin(from.as_ref()).await
        {
            return Some(Err(e.at_cursor(from)));
        }
        let Listing {
            offset,
            cursor,
            task,
        } = self.queue.pop_front()?;
        let result = self.page(offset, task).await;
        if result.is_err() {
            // Nothing follows an error: cancel what is in flight.
            self.queue.clear();
        }
        Some(result.map_err(|e| e.at_cursor(cursor)))
    }

    async fn begin(&mut self, from: Option<&Cursor>) -> Result<(), SourceError> {
        let offset = parse_offset(from)?;
        if from.is_none() {
            // A new sync: the next page with users reloads the directory.
            *self.source.users.lock().await = None;
        }
        let first = self.request(offset, from.cloned())?;
        self.queue.push_back(first);
        self.fill()
    }

    async fn page(
        &mut self,
        offset: u32,
        task: Task<Result<Listed, Error>>,
    ) -> Result<DevicePage, SourceError> {
        let Listed { body, ids, count } = task.await.map_err(join_error)??;
        // A page with no device not already listed (a server that ignores
        // `offset`) is not followed: nothing more is requested, and the
        // guard ends the listing with a NoProgress error.
        let mut progress = true;
        if let Some(ids) = ids {
            let mut fresh = false;
            for id in ids {
                fresh |= self.seen_ids.insert(id);
            }
            progress = fresh;
        }
        if !progress {
            self.queue.clear();
            let decode =
                runtime()?.spawn_blocking(move || decode_device_list_noting(&body, offset));
            let listed = Task::new(decode).await.map_err(join_error)??;
            let listed = self.source.count_dropped(listed);
            return Ok(self.source.finish(offset, listed).await?);
        }
        let lookahead = self.source.lookahead > 0;
        // The offset the sequential listing asks for next, asked for now,
        // before this page is decoded.
        let counted = count.and_then(|c| self.source.next_offset(offset, c));
        if lookahead {
            self.schedule(counted)?;
        }
        let decode = runtime()?.spawn_blocking(move || decode_device_list_noting(&body, offset));
        let listed = Task::new(decode).await.map_err(join_error)??;
        let listed = self.source.count_dropped(listed);
        let next = self.source.next_offset(offset, listed.len());
        if lookahead && next != counted {
            // The decode's length is the one that counts (a count that
            // disagrees should not happen).
            if count.is_some() {
                tracing::warn!(
                    offset,
                    ?counted,
                    ?next,
                    "the counted page disagreed with its decode"
                );
            }
            self.schedule(next)?;
        }
        let page = self.source.finish(offset, listed).await?;
        if !lookahead {
            self.schedule(next)?;
        }
        Ok(page)
    }
}

impl KandjiClient {
    /// A [`KandjiSource`] over this client: list fields only, no "User
    /// Active" join, no details ([`KandjiSource::new`]).
    pub fn device_source(&self) -> KandjiSource {
        KandjiSource::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdm_mapping::normalize::catalog_key;

    #[test]
    fn keys_are_the_catalog_keys_of_the_kandji_table_names() {
        let names = [
            "Agent Installed",
            "Agent Version",
            "Asset Tag",
            "Blueprint ID",
            "Blueprint Name",
            "Device ID",
            "Device Name",
            "First Enrollment",
            "Is Missing",
            "Is Removed",
            "Last Check In",
            "Last Enrollment",
            "Lost Mode Status",
            "MDM Enabled",
            "Model",
            "OS Version",
            "Platform",
            "Serial Number",
            "Supplemental Build Version",
            "Supplemental OS Version Extra",
            "Tags",
            "User Active",
            "User Email",
            "User ID",
            "User Is Archived",
            "User Name",
        ];
        let want: Vec<String> = names.iter().map(|n| catalog_key(n)).collect();
        assert_eq!(keys::LIST, want.as_slice());
        let extras = [
            "Model Identifier",
            "UDID",
            "MAC Address",
            "Supervised",
            "Processor",
            "Memory",
            "FileVault Enabled",
            "Activation Lock Enabled",
            "Recovery Lock Enabled",
        ];
        let want: Vec<String> = extras.iter().map(|n| catalog_key(n)).collect();
        assert_eq!(keys::DETAILS, want.as_slice());
    }

    #[test]
    fn keys_match_the_kandji_catalog_both_ways() {
        let ours: HashSet<&str> = keys::LIST.iter().chain(keys::DETAILS).copied().collect();
        let catalog: HashSet<&str> = mdm_mapping::catalog::for_vendor(Vendor::Kandji)
            .map(|f| f.key)
            .collect();
        assert_eq!(ours, catalog);
    }

    /// A count and a decode cannot disagree on a real body, so this hands
    /// the pipeline a full page "counted" as short: the decode's length wins
    /// and the next offset is requested after all.
    #[tokio::test]
    async fn a_count_that_disagrees_gives_way_to_the_decode() {
        use wiremock::matchers::{method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/devices"))
            .and(query_param("offset", "2"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!([{"device_id": "c"}])),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = KandjiClient::builder()
            .base_url(server.uri())
            .token("t")
            .rate_limits(crate::RateLimits::unlimited())
            .build()
            .expect("client");
        let source = KandjiSource::new(client).with_query(DeviceQuery::new().page_size(2));
        let mut pipeline = Pipeline::new(&source, None);
        pipeline.start = None;
        let body = bytes::Bytes::from_static(br#"[{"device_id": "a"}, {"device_id": "b"}]"#);
        let arrived = Task::new(tokio::spawn(async move {
            Ok(Listed {
                body,
                ids: Some(vec!["a".to_string()]),
                count: Some(1),
            })
        }));
        let first = pipeline.page(0, arrived).await.expect("page");
        assert_eq!(first.devices.len(), 2);
        assert_eq!(first.next, Some(Cursor::new("2")));
        let second = pipeline.step().await.expect("a page").expect("ok");
        assert_eq!(second.devices[0].source_id, "c");
        assert_eq!(second.next, None);
        assert!(pipeline.step().await.is_none());
    }

    #[test]
    fn directory_indexes_legacy_ids() {
        let users: Vec<User> = serde_json::from_str(
            r#"[{"id":"69c009ca","active":false,"deprecated_user_id":"1"},{"id":"u2","active":true}]"#,
        )
        .expect("users");
        let dir = UserDirectory::from_users(&users);
        assert_eq!(dir.len(), 2);
        assert_eq!(dir.get("1").and_then(|s| s.active), Some(false));
        assert_eq!(dir.get("u2").and_then(|s| s.active), Some(true));
        assert_eq!(dir.get("nope"), None);
    }
}
