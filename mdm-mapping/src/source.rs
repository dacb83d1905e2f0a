//! The [`DeviceSource`] trait every vendor client implements, and the paged
//! stream built on it.
//!
//! A source yields [`DevicePage`]s one at a time. Each page carries the
//! [`Cursor`] of the page after it, so memory stays bounded by one page and a
//! sync that fails can resume from the last cursor it saw.
//!
//! ```
//! use mdm_mapping::{DeviceSource, DevicePage, Cursor, SourceError, SourceDevice, Vendor, Entity};
//! use futures::TryStreamExt;
//!
//! #[derive(Debug)]
//! struct TwoPages;
//!
//! #[async_trait::async_trait]
//! impl DeviceSource for TwoPages {
//!     fn vendor(&self) -> Vendor { Vendor::Kandji }
//!     async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
//!         let page = cursor.map(|c| c.as_str().parse::<u32>().unwrap_or(0)).unwrap_or(0);
//!         let devices = vec![SourceDevice::new(Vendor::Kandji, Entity::Device, format!("d{page}"))];
//!         let next = (page == 0).then(|| Cursor::new("1"));
//!         Ok(DevicePage { devices, next })
//!     }
//! }
//!
//! # tokio_test_block_on(async {
//! let source: Box<dyn DeviceSource> = Box::new(TwoPages);
//! let pages: Vec<DevicePage> = source.pages(None).try_collect().await.unwrap();
//! assert_eq!(pages.len(), 2);
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     futures::executor::block_on(f)
//! # }
//! ```

use std::collections::HashSet;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::dropped::DroppedValues;
use crate::record::{Entity, SourceDevice, Vendor};

/// Why a listing made no progress ([`NoProgress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoProgressReason {
    /// The page held only records earlier pages had listed (a server that
    /// ignores the offset or page number and serves the same page again).
    RepeatedRecords,
    /// The page named, as the next one, a cursor already read (a cursor
    /// that repeats or cycles).
    RepeatedCursor(Cursor),
    /// The page was empty yet named a next page.
    EmptyPage,
}

impl fmt::Display for NoProgressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoProgressReason::RepeatedRecords => {
                f.write_str("brought no record that earlier pages had not already listed")
            }
            NoProgressReason::RepeatedCursor(c) => {
                write!(
                    f,
                    "named as the next page cursor {c}, which was already read"
                )
            }
            NoProgressReason::EmptyPage => f.write_str("was empty yet named a next page"),
        }
    }
}

/// A listing stopped because the server's paging made no progress: which
/// vendor, endpoint and page, and why. Carried by a [`SourceError`] of kind
/// [`SourceErrorKind::NoProgress`]; [`guard_pages`] and the clients' own
/// page streams return it rather than request pages that bring nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoProgress {
    /// The vendor whose server misbehaved.
    pub vendor: Vendor,
    /// The endpoint that was listed (`GET /api/v1/devices`).
    pub endpoint: String,
    /// The page that brought nothing (`the page at cursor 600`).
    pub page: String,
    /// What was wrong with it.
    pub reason: NoProgressReason,
}

impl fmt::Display for NoProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} {}; stopped the listing there rather than request pages that bring nothing \
             (the server's paging is broken; the records listed before it were read; \
             try again later, or report it to {})",
            self.vendor, self.endpoint, self.page, self.reason, self.vendor
        )
    }
}

impl StdError for NoProgress {}

/// An opaque position in a source's listing: where the next page starts.
///
/// Each client defines what is inside (a page number, an offset, a vendor
/// cursor). Save it to resume a listing later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a client-defined position.
    pub fn new(s: impl Into<String>) -> Self {
        Cursor(s.into())
    }

    /// The position as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of normalized records.
#[derive(Debug, Clone, Default)]
pub struct DevicePage {
    /// The records on this page.
    pub devices: Vec<SourceDevice>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// What went wrong in a source, in terms a caller can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The client is misconfigured (bad URL, unreadable key).
    Config,
    /// Credentials were refused or lack a permission.
    Auth,
    /// The server asked us to slow down and retries ran out.
    RateLimited,
    /// The network failed (connection refused or reset, timeout).
    Transport,
    /// The server answered with an error status.
    Api,
    /// A response could not be decoded.
    Decode,
    /// The server's paging went nowhere: a page brought no record not
    /// already listed, or named a page already read. The listing stopped
    /// there instead of requesting forever ([`NoProgress`]).
    NoProgress,
    /// Anything else.
    Other,
}

impl fmt::Display for SourceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceErrorKind::Config => "configuration error",
            SourceErrorKind::Auth => "authentication failed",
            SourceErrorKind::RateLimited => "rate limited",
            SourceErrorKind::Transport => "network error",
            SourceErrorKind::Api => "API error",
            SourceErrorKind::Decode => "decode error",
            SourceErrorKind::NoProgress => "no progress",
            SourceErrorKind::Other => "error",
        })
    }
}

/// The error a [`DeviceSource`] returns: which vendor, what kind, where in
/// the listing it stopped, and the client's own typed error as its source.
#[derive(Debug)]
pub struct SourceError {
    vendor: Vendor,
    kind: SourceErrorKind,
    cursor: Option<Cursor>,
    retry_after: Option<Duration>,
    hint: Option<String>,
    source: Box<dyn StdError + Send + Sync + 'static>,
}

impl SourceError {
    /// Wraps a client error.
    pub fn new<E>(vendor: Vendor, kind: SourceErrorKind, source: E) -> Self
    where
        E: Into<Box<dyn StdError + Send + Sync + 'static>>,
    {
        SourceError {
            vendor,
            kind,
            cursor: None,
            retry_after: None,
            hint: None,
            source: source.into(),
        }
    }

    /// Records the cursor of the page that failed, so the caller can resume there.
    pub fn at_cursor(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Records how long the server asked us to wait.
    pub fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.retry_after = d;
        self
    }

    /// Records what a person can do about it ("check JAMF_CLIENT_SECRET"),
    /// printed after the error.
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// What a person can do about it, when the client knows.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The vendor that failed.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// What kind of failure.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    /// The cursor of the page that failed (`None`: the first page).
    pub fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }

    /// How long the server asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether trying the same page again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            SourceErrorKind::RateLimited | SourceErrorKind::Transport
        )
    }

    /// The client's own error, to downcast to its concrete type.
    pub fn inner(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self.source.as_ref()
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.vendor, self.kind, self.source)?;
        if let Some(c) = &self.cursor {
            write!(f, " (at cursor {c})")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

impl StdError for SourceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

/// A source of normalized device records: one per vendor client.
///
/// Object safe, so a program can hold `Vec<Box<dyn DeviceSource>>` and sync
/// every source in one loop. Implementors write [`fetch_page`](Self::fetch_page);
/// [`pages`](Self::pages) and [`devices`](Self::devices) are built on it.
#[async_trait]
pub trait DeviceSource: Send + Sync + fmt::Debug {
    /// Which vendor this source reads.
    fn vendor(&self) -> Vendor;

    /// The source's name, for messages, progress and run history.
    /// Default: the vendor's name (`jamf`); a [`Named`] source has its own.
    fn name(&self) -> &str {
        self.vendor().as_str()
    }

    /// The prefix that qualifies this source's record ids (`NAME` in
    /// `NAME:ID`), so that two tenants of one vendor never share an id.
    /// Default: none, ids are the vendor's own. See [`Named`].
    fn id_qualifier(&self) -> Option<&str> {
        None
    }

    /// Which server (tenant) this source reads: its base URL, and for a
    /// vendor whose tenants share one URL, the account. No secret. A sync
    /// keeps what it learns about a source (the watermark, the user
    /// directory) for this server only: state kept under the same source
    /// name for another server is not used (a full reading instead), so two
    /// servers synced under one name never skip each other's records.
    /// Default: `None` (an unknown server matches only state kept for an
    /// unknown server).
    fn server(&self) -> Option<String> {
        None
    }

    /// A source reading only the records the server updated at or after
    /// `since` (the server's time), for an incremental sync: Jamf filters
    /// on the report date. `None` (the default) when the vendor's API
    /// cannot filter so: an incremental sync then reads everything.
    fn changed_since(&self, since: DateTime<Utc>) -> Option<Box<dyn DeviceSource>> {
        let _ = since;
        None
    }

    /// The catalog key that holds, on each record, when the server last
    /// updated it (`last_inventory_update` for Jamf), the field
    /// [`changed_since`](Self::changed_since) filters on. An incremental
    /// sync's watermark is the latest of these. Default: `None`.
    fn updated_key(&self) -> Option<&'static str> {
        None
    }

    /// Fetches the page at `cursor` (`None`: the first page). Retries,
    /// authentication and rate limits are the implementor's business; an
    /// error here means the page could not be had.
    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError>;

    /// The endpoint the page at `cursor` is read from, for messages
    /// (`GET /api/v1/devices`). Default: `device listing`.
    fn endpoint(&self, cursor: Option<&Cursor>) -> String {
        let _ = cursor;
        "device listing".to_string()
    }

    /// HTTP requests this source's client has sent so far (retries and
    /// token requests included), for a run's history; `None` when the
    /// source does not count them.
    fn requests_sent(&self) -> Option<u64> {
        None
    }

    /// The request rate this source's client has learned the server allows,
    /// in requests a minute (ABM's adaptive pacing), for a run's history;
    /// `None` when it paces at a fixed rate or not at all.
    fn learned_rate(&self) -> Option<f64> {
        None
    }

    /// The values this source dropped because they could not be read,
    /// counted per field over every page stream it built
    /// ([`crate::dropped`]). The default is a new, empty counter each call:
    /// a source that keeps counts returns a clone of the one it hands to
    /// [`guard_pages`].
    fn dropped_values(&self) -> DroppedValues {
        DroppedValues::default()
    }

    /// Ends the session: releases what the source holds on the server (a
    /// Jamf user token is invalidated). Call it once a run is done, also
    /// when it failed. Default: nothing to release.
    async fn close(&self) -> Result<(), SourceError> {
        Ok(())
    }

    /// A lazy stream of pages from `from` (or the start) to the end.
    ///
    /// Records seen on an earlier page of the same stream are dropped (offset
    /// paging over a changing list repeats records), so each record appears
    /// once. The stream ends after the first error; a page that brings no new
    /// record but names a next page, or names a cursor already named, ends
    /// it with a [`SourceErrorKind::NoProgress`] error (see [`guard_pages`]).
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        let fetched = stream::unfold(Some(from), move |next| async move {
            let cursor = next?;
            match self.fetch_page(cursor.as_ref()).await {
                Ok(page) => {
                    let next = page.next.clone().map(Some);
                    Some((Ok(page), next))
                }
                Err(e) => {
                    let e = if e.cursor().is_none() {
                        e.at_cursor(cursor)
                    } else {
                        e
                    };
                    Some((Err(e), None))
                }
            }
        });
        guard_pages(
            self.vendor(),
            move |c| self.endpoint(c),
            self.dropped_values(),
            fetched,
        )
    }

    /// A lazy stream of single records, flattening [`pages`](Self::pages).
    fn devices(&self, from: Option<Cursor>) -> BoxStream<'_, Result<SourceDevice, SourceError>> {
        self.pages(from)
            .flat_map(|page| match page {
                Ok(p) => stream::iter(p.devices.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .boxed()
    }
}

/// The guarantees of [`DeviceSource::pages`], over any stream of pages.
///
/// For a source that overrides `pages` (to keep the next request in flight
/// while a page is decoded, say): wrap the raw pages in this and the stream
/// keeps the same contract, whatever the server says:
///
/// - records seen on an earlier page are dropped;
/// - the stream ends after the first error;
/// - a page that names a next page but brings no record not already listed
///   (an empty page, or only repeats), or that names a cursor an earlier page
///   named, ends the stream with a [`SourceErrorKind::NoProgress`] error
///   ([`NoProgress`], naming `vendor`, `endpoint(cursor)` and the page). The
///   inner stream is dropped at once, so the guard, not the server, bounds
///   the wasted requests: the page that brought nothing, plus what the
///   source had already put in flight;
/// - the values each record dropped because they could not be read are
///   counted into `dropped` ([`crate::dropped`]).
///
/// Dropping the returned stream drops `pages`, which cancels whatever it had
/// in flight. Errors should carry their cursor ([`SourceError::at_cursor`]);
/// this cannot know which request failed.
pub fn guard_pages<'a>(
    vendor: Vendor,
    endpoint: impl Fn(Option<&Cursor>) -> String + Send + 'a,
    dropped: DroppedValues,
    pages: impl Stream<Item = Result<DevicePage, SourceError>> + Send + 'a,
) -> BoxStream<'a, Result<DevicePage, SourceError>> {
    struct Guard<S, E> {
        pages: std::pin::Pin<Box<S>>,
        endpoint: E,
        seen_ids: HashSet<(Entity, String)>,
        seen_cursors: HashSet<Cursor>,
        /// The cursor of the page to come (`None`: the first page).
        at: Option<Cursor>,
        /// An error to yield after the page that revealed it.
        then: Option<SourceError>,
    }
    let guard = Guard {
        pages: Box::pin(pages),
        endpoint,
        seen_ids: HashSet::new(),
        seen_cursors: HashSet::new(),
        at: None,
        then: None,
    };
    // `None` once the stream has ended: the inner stream is then dropped
    // and never polled again (no request past the end).
    stream::unfold(Some(guard), move |g| {
        let dropped = dropped.clone();
        async move {
            let mut g = g?;
            if let Some(e) = g.then.take() {
                return Some((Err(e), None));
            }
            let mut page = match g.pages.next().await? {
                Ok(page) => page,
                Err(e) => return Some((Err(e), None)),
            };
            let listed = page.devices.len();
            let ids = &mut g.seen_ids;
            page.devices
                .retain(|d| ids.insert((d.entity, d.source_id.clone())));
            for d in &mut page.devices {
                dropped.take_from(d);
            }
            let Some(next) = page.next.clone() else {
                return Some((Ok(page), None));
            };
            let stalled = |reason| {
                let page_name = match &g.at {
                    None => "the first page read".to_string(),
                    Some(c) => format!("the page at cursor {c}"),
                };
                let e = NoProgress {
                    vendor,
                    endpoint: (g.endpoint)(g.at.as_ref()),
                    page: page_name,
                    reason,
                };
                tracing::warn!(%e, "stopping a listing that makes no progress");
                SourceError::new(vendor, SourceErrorKind::NoProgress, e).at_cursor(g.at.clone())
            };
            if page.devices.is_empty() {
                let reason = if listed == 0 {
                    NoProgressReason::EmptyPage
                } else {
                    NoProgressReason::RepeatedRecords
                };
                return Some((Err(stalled(reason)), None));
            }
            if g.at.as_ref() == Some(&next) || !g.seen_cursors.insert(next.clone()) {
                let e = stalled(NoProgressReason::RepeatedCursor(next));
                page.next = None;
                g.then = Some(e);
                return Some((Ok(page), Some(g)));
            }
            g.at = Some(next);
            Some((Ok(page), Some(g)))
        }
    })
    .boxed()
}

/// What a complete listing covered: a vendor, and for a [`Named`] source
/// the qualifier of its ids. A plan reports as missing only the assets
/// whose id belongs to a listing ([`Listing::owns`]): a full read of tenant
/// `jamf-eu` says nothing of the assets of tenant `jamf-us`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listing {
    /// The vendor listed.
    pub vendor: Vendor,
    /// The qualifier of the listed ids ([`DeviceSource::id_qualifier`]);
    /// `None` for a source whose ids are the vendor's own.
    pub qualifier: Option<String>,
}

impl Listing {
    /// The complete listing of `source`.
    pub fn of(source: &(impl DeviceSource + ?Sized)) -> Listing {
        Listing {
            vendor: source.vendor(),
            qualifier: source.id_qualifier().map(str::to_owned),
        }
    }

    /// Whether a source id held by an asset (its `jamf_id`, say) is one
    /// this listing would have reported: `NAME:ID` for a qualified
    /// listing, an unqualified id (no `:`) otherwise.
    pub fn owns(&self, id: &str) -> bool {
        match &self.qualifier {
            Some(q) => id
                .strip_prefix(q.as_str())
                .is_some_and(|rest| rest.starts_with(QUALIFIER_SEPARATOR)),
            None => !id.contains(QUALIFIER_SEPARATOR),
        }
    }
}

impl From<Vendor> for Listing {
    /// The listing of a vendor's unnamed source.
    fn from(vendor: Vendor) -> Listing {
        Listing {
            vendor,
            qualifier: None,
        }
    }
}

/// Between a source's name and the vendor's id in a qualified id.
pub const QUALIFIER_SEPARATOR: char = ':';

/// A source name that [`Named::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid source name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.' (it becomes part of the ids in the inventory)"
)]
pub struct InvalidSourceName {
    /// The name refused.
    pub name: String,
}

/// Whether `name` can name a source ([`Named::new`]): 1 to 64 ASCII
/// letters, digits, `-`, `_` or `.`.
pub fn check_name(name: &str) -> Result<(), InvalidSourceName> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(InvalidSourceName {
            name: name.to_owned(),
        })
    }
}

/// A source with a name of its own: one of several tenants of one vendor
/// (`jamf-eu`, `jamf-us`).
///
/// Its records' ids are qualified with the name, `jamf-eu:42`, so the
/// inventory's `jamf_id` of one tenant never matches a device of another,
/// and a full listing of one tenant reports only that tenant's assets as
/// missing ([`Listing`]). A source named after its vendor (`jamf`) keeps
/// the vendor's own ids, as an unnamed source does: an inventory written by
/// unnamed syncs carries on unchanged.
///
/// ```
/// use futures::TryStreamExt as _;
/// use mdm_mapping::source::Named;
/// # use async_trait::async_trait;
/// # use mdm_mapping::{Cursor, DevicePage, DeviceSource, Entity, SourceDevice, SourceError, Vendor};
/// # #[derive(Debug)]
/// # struct OnePage;
/// # #[async_trait]
/// # impl DeviceSource for OnePage {
/// #     fn vendor(&self) -> Vendor { Vendor::Jamf }
/// #     async fn fetch_page(&self, _: Option<&Cursor>) -> Result<DevicePage, SourceError> {
/// #         Ok(DevicePage { devices: vec![SourceDevice::new(Vendor::Jamf, Entity::Computer, "42")], next: None })
/// #     }
/// # }
/// let eu = Named::new("jamf-eu", Box::new(OnePage)).unwrap();
/// assert_eq!(eu.name(), "jamf-eu");
/// let ids: Vec<String> = futures::executor::block_on(
///     eu.devices(None).map_ok(|d| d.source_id).try_collect(),
/// )
/// .unwrap();
/// assert_eq!(ids, ["jamf-eu:42"]);
///
/// let plain = Named::new("jamf", Box::new(OnePage)).unwrap();
/// assert_eq!(plain.id_qualifier(), None);
/// assert!(Named::new("jamf eu", Box::new(OnePage)).is_err());
/// ```
#[derive(Debug)]
pub struct Named {
    name: String,
    qualify: bool,
    inner: Box<dyn DeviceSource>,
}

impl Named {
    /// Names `inner`. Fails for a name that is empty, longer than 64 bytes,
    /// or holds anything but ASCII letters, digits, `-`, `_` and `.`.
    pub fn new(
        name: impl Into<String>,
        inner: Box<dyn DeviceSource>,
    ) -> Result<Named, InvalidSourceName> {
        let name = name.into();
        check_name(&name)?;
        let qualify = name != inner.vendor().as_str();
        Ok(Named {
            name,
            qualify,
            inner,
        })
    }

    fn qualify(&self, mut page: DevicePage) -> DevicePage {
        if self.qualify {
            for d in &mut page.devices {
                d.source_id = format!("{}{QUALIFIER_SEPARATOR}{}", self.name, d.source_id);
            }
        }
        page
    }
}

#[async_trait]
impl DeviceSource for Named {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn id_qualifier(&self) -> Option<&str> {
        self.qualify.then_some(self.name.as_str())
    }
    fn server(&self) -> Option<String> {
        self.inner.server()
    }
    fn changed_since(&self, since: DateTime<Utc>) -> Option<Box<dyn DeviceSource>> {
        let inner = self.inner.changed_since(since)?;
        Some(Box::new(Named {
            name: self.name.clone(),
            qualify: self.qualify,
            inner,
        }))
    }
    fn updated_key(&self) -> Option<&'static str> {
        self.inner.updated_key()
    }
    fn requests_sent(&self) -> Option<u64> {
        self.inner.requests_sent()
    }
    fn learned_rate(&self) -> Option<f64> {
        self.inner.learned_rate()
    }
    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        self.inner.fetch_page(cursor).await.map(|p| self.qualify(p))
    }
    fn endpoint(&self, cursor: Option<&Cursor>) -> String {
        self.inner.endpoint(cursor)
    }
    fn dropped_values(&self) -> DroppedValues {
        self.inner.dropped_values()
    }
    async fn close(&self) -> Result<(), SourceError> {
        self.inner.close().await
    }
    /// The inner source's pages (with whatever it keeps in flight), ids qualified.
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        self.inner
            .pages(from)
            .map(move |p| p.map(|p| self.qualify(p)))
            .boxed()
    }
}

/// Reads a vendor's user directory, all of it, as user records
/// (`entity: user`, `source_id` the user id, `assignee` the person).
#[async_trait]
pub trait UserDirectory: Send + Sync + fmt::Debug {
    /// Every user of the directory. An error is an error of the source that
    /// reads it (say, the privilege to read users is missing).
    async fn users(&self) -> Result<Vec<SourceDevice>, SourceError>;
}

/// A source that lists its devices, then its vendor's user directory
/// ([`UserDirectory`], read once per page stream) as one last page of user
/// records. The planner treats user records as employees only (`users =
/// true` in `mdm.toml`).
#[derive(Debug)]
pub struct WithUsers {
    inner: Box<dyn DeviceSource>,
    users: std::sync::Arc<dyn UserDirectory>,
}

impl WithUsers {
    /// `inner`'s devices, then the users of `users`.
    pub fn new(inner: Box<dyn DeviceSource>, users: std::sync::Arc<dyn UserDirectory>) -> Self {
        WithUsers { inner, users }
    }
}

#[async_trait]
impl DeviceSource for WithUsers {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn id_qualifier(&self) -> Option<&str> {
        self.inner.id_qualifier()
    }
    fn server(&self) -> Option<String> {
        self.inner.server()
    }
    fn changed_since(&self, since: DateTime<Utc>) -> Option<Box<dyn DeviceSource>> {
        let inner = self.inner.changed_since(since)?;
        Some(Box::new(WithUsers {
            inner,
            users: self.users.clone(),
        }))
    }
    fn updated_key(&self) -> Option<&'static str> {
        self.inner.updated_key()
    }
    fn requests_sent(&self) -> Option<u64> {
        self.inner.requests_sent()
    }
    /// The inner source's pages; the user directory comes only through
    /// [`pages`](DeviceSource::pages).
    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
        self.inner.fetch_page(cursor).await
    }
    fn endpoint(&self, cursor: Option<&Cursor>) -> String {
        self.inner.endpoint(cursor)
    }
    fn dropped_values(&self) -> DroppedValues {
        self.inner.dropped_values()
    }
    async fn close(&self) -> Result<(), SourceError> {
        self.inner.close().await
    }
    /// The inner source's pages, then (when they ended without an error)
    /// one page of user records.
    fn pages(&self, from: Option<Cursor>) -> BoxStream<'_, Result<DevicePage, SourceError>> {
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = failed.clone();
        let devices = self.inner.pages(from).inspect(move |p| {
            if p.is_err() {
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let users = stream::once(async move {
            if failed.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            Some(self.users.users().await.map(|devices| {
                DevicePage {
                    devices: devices
                        .into_iter()
                        .filter(|d| d.entity == Entity::User)
                        .collect(),
                    next: None,
                }
            }))
        })
        .filter_map(|p| async move { p });
        devices.chain(users).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use futures::executor::block_on;
    use std::sync::Mutex;

    /// Pages from a script; `None` in the script is an error.
    #[derive(Debug)]
    struct Scripted {
        pages: Vec<Option<(Vec<&'static str>, Option<&'static str>)>>,
        calls: Mutex<Vec<Option<String>>>,
    }

    #[async_trait]
    impl DeviceSource for Scripted {
        fn vendor(&self) -> Vendor {
            Vendor::Kandji
        }
        async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
            let mut calls = self.calls.lock().expect("lock");
            calls.push(cursor.map(|c| c.as_str().to_string()));
            let i = calls.len() - 1;
            match self.pages.get(i).cloned().flatten() {
                Some((ids, next)) => Ok(DevicePage {
                    devices: ids
                        .into_iter()
                        .map(|id| SourceDevice::new(Vendor::Kandji, Entity::Device, id))
                        .collect(),
                    next: next.map(Cursor::new),
                }),
                None => Err(SourceError::new(
                    Vendor::Kandji,
                    SourceErrorKind::Transport,
                    "connection reset",
                )),
            }
        }
    }

    #[test]
    fn pages_drop_repeats_and_follow_cursors() {
        let s = Scripted {
            pages: vec![
                Some((vec!["a", "b"], Some("2"))),
                Some((vec!["b", "c"], Some("4"))),
                Some((vec!["d"], None)),
            ],
            calls: Mutex::default(),
        };
        let ids: Vec<String> =
            block_on(s.devices(None).map_ok(|d| d.source_id).try_collect()).expect("no error");
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(
            *s.calls.lock().expect("lock"),
            [None, Some("2".into()), Some("4".into())]
        );
    }

    #[test]
    fn error_carries_the_failing_cursor_and_ends_the_stream() {
        let s = Scripted {
            pages: vec![Some((vec!["a"], Some("2"))), None, Some((vec!["z"], None))],
            calls: Mutex::default(),
        };
        let results: Vec<_> = block_on(s.pages(None).collect::<Vec<_>>());
        assert_eq!(results.len(), 2);
        let err = results[1].as_ref().expect_err("second page fails");
        assert_eq!(err.cursor(), Some(&Cursor::new("2")));
        assert!(err.is_retryable());
        assert!(
            err.to_string()
                .contains("kandji: network error: connection reset")
        );
    }

    #[test]
    fn resume_from_cursor() {
        let s = Scripted {
            pages: vec![Some((vec!["c"], None))],
            calls: Mutex::default(),
        };
        let pages: Vec<DevicePage> =
            block_on(s.pages(Some(Cursor::new("7"))).try_collect()).expect("ok");
        assert_eq!(pages[0].devices[0].source_id, "c");
        assert_eq!(*s.calls.lock().expect("lock"), [Some("7".into())]);
    }

    fn no_progress(e: &SourceError) -> &NoProgress {
        assert_eq!(e.kind(), SourceErrorKind::NoProgress);
        assert!(!e.is_retryable());
        e.inner()
            .downcast_ref::<NoProgress>()
            .expect("a NoProgress")
    }

    #[test]
    fn repeated_cursor_stops_the_loop_with_a_no_progress_error() {
        let s = Scripted {
            pages: vec![
                Some((vec!["a"], Some("x"))),
                Some((vec!["b"], Some("x"))),
                Some((vec!["never"], None)),
            ],
            calls: Mutex::default(),
        };
        let results: Vec<_> = block_on(s.pages(None).collect::<Vec<_>>());
        assert_eq!(results.len(), 3);
        let second = results[1].as_ref().expect("the second page is kept");
        assert_eq!(second.devices[0].source_id, "b");
        assert!(second.next.is_none());
        let e = results[2].as_ref().expect_err("then the error");
        let np = no_progress(e);
        assert_eq!(
            np.reason,
            NoProgressReason::RepeatedCursor(Cursor::new("x"))
        );
        assert_eq!(np.page, "the page at cursor x");
        assert_eq!(np.endpoint, "device listing");
        assert_eq!(e.cursor(), Some(&Cursor::new("x")));
        // The repeated cursor is never requested.
        assert_eq!(s.calls.lock().expect("lock").len(), 2);
    }

    #[test]
    fn a_page_of_repeats_or_an_empty_page_with_a_next_cursor_stops_after_one_request() {
        // A server that ignores the cursor: the same page under new cursors.
        let s = Scripted {
            pages: vec![
                Some((vec!["a", "b"], Some("1"))),
                Some((vec!["b", "a"], Some("2"))),
                Some((vec!["a", "b"], Some("3"))),
                Some((vec!["c"], None)),
            ],
            calls: Mutex::default(),
        };
        let results: Vec<_> = block_on(s.pages(None).collect::<Vec<_>>());
        assert_eq!(results.len(), 2);
        let e = results[1].as_ref().expect_err("no progress");
        assert_eq!(no_progress(e).reason, NoProgressReason::RepeatedRecords);
        let msg = e.to_string();
        assert!(
            msg.contains("kandji device listing: the page at cursor 1 brought no record"),
            "{msg}"
        );
        assert!(msg.contains("stopped the listing"), "{msg}");
        assert_eq!(s.calls.lock().expect("lock").len(), 2);

        // Empty pages that keep naming new cursors.
        let s = Scripted {
            pages: vec![
                Some((vec!["a"], Some("1"))),
                Some((vec![], Some("2"))),
                Some((vec![], Some("3"))),
            ],
            calls: Mutex::default(),
        };
        let results: Vec<_> = block_on(s.pages(None).collect::<Vec<_>>());
        let e = results[1].as_ref().expect_err("no progress");
        assert_eq!(no_progress(e).reason, NoProgressReason::EmptyPage);
        assert_eq!(s.calls.lock().expect("lock").len(), 2);

        // An empty first page that names a next page.
        let s = Scripted {
            pages: vec![Some((vec![], Some("1"))), Some((vec!["a"], None))],
            calls: Mutex::default(),
        };
        let results: Vec<_> = block_on(s.pages(None).collect::<Vec<_>>());
        assert_eq!(
            no_progress(results[0].as_ref().expect_err("stop")).page,
            "the first page read"
        );
        assert_eq!(s.calls.lock().expect("lock").len(), 1);

        // A last page of repeats (no next) is just the end.
        let s = Scripted {
            pages: vec![Some((vec!["a"], Some("1"))), Some((vec!["a"], None))],
            calls: Mutex::default(),
        };
        let pages: Vec<DevicePage> = block_on(s.pages(None).try_collect()).expect("ok");
        assert_eq!(pages.len(), 2);
    }

    #[test]
    fn guard_pages_counts_dropped_values_of_the_records_it_keeps() {
        let dropped = DroppedValues::new();
        let page = |id: &str, next: Option<&str>| {
            let mut d = SourceDevice::new(Vendor::Kandji, Entity::Device, id);
            d.fields
                .datetime("first_enrollment", Some("garbage"))
                .email("user_email", Some("ana@example.com"));
            Ok(DevicePage {
                devices: vec![d],
                next: next.map(Cursor::new),
            })
        };
        let pages = vec![page("a", Some("1")), page("b", Some("2")), page("b", None)];
        let got: Vec<DevicePage> = block_on(
            guard_pages(
                Vendor::Kandji,
                |_| "GET /x".into(),
                dropped.clone(),
                stream::iter(pages),
            )
            .try_collect(),
        )
        .expect("ok");
        assert_eq!(got.len(), 3);
        assert_eq!(dropped.counts()["kandji.first_enrollment"], 2);
        assert_eq!(dropped.total(), 2);
        assert_eq!(
            dropped.snapshot()["kandji.first_enrollment"].examples,
            ["garbage"]
        );
    }

    #[test]
    fn guard_pages_ends_at_the_last_page_error_or_repeat_even_if_more_follow() {
        let page = |ids: &[&str], next: Option<&str>| {
            Ok(DevicePage {
                devices: ids
                    .iter()
                    .map(|id| SourceDevice::new(Vendor::Jamf, Entity::Computer, *id))
                    .collect(),
                next: next.map(Cursor::new),
            })
        };
        let err = || {
            Err(SourceError::new(
                Vendor::Jamf,
                SourceErrorKind::Transport,
                "reset",
            ))
        };
        let ids = |pages: Vec<Result<DevicePage, SourceError>>| {
            block_on(
                guard_pages(
                    Vendor::Jamf,
                    |_| "GET /x".into(),
                    DroppedValues::new(),
                    stream::iter(pages),
                )
                .collect::<Vec<_>>(),
            )
            .into_iter()
            .map(|p| {
                p.map(|p| {
                    p.devices
                        .into_iter()
                        .map(|d| d.source_id)
                        .collect::<Vec<_>>()
                })
            })
            .map(|r| r.unwrap_or_else(|e| vec![format!("ERR {:?}", e.kind())]))
            .collect::<Vec<_>>()
        };
        // A speculative page after the last one is never yielded.
        assert_eq!(
            ids(vec![
                page(&["a", "b"], Some("1")),
                page(&["b", "c"], None),
                page(&["x"], None)
            ]),
            [vec!["a", "b"], vec!["c"]]
        );
        // Nothing after an error.
        assert_eq!(
            ids(vec![page(&["a"], Some("1")), err(), page(&["x"], None)]),
            [vec!["a".to_string()], vec!["ERR Transport".to_string()]]
        );
        // A repeated cursor ends the stream at that page, with an error.
        assert_eq!(
            ids(vec![
                page(&["a"], Some("1")),
                page(&["b"], Some("1")),
                page(&["x"], None)
            ]),
            [vec!["a"], vec!["b"], vec!["ERR NoProgress"]]
        );
    }

    #[test]
    fn trait_is_object_safe() {
        let sources: Vec<Box<dyn DeviceSource>> = vec![Box::new(Scripted {
            pages: vec![Some((vec!["a"], None))],
            calls: Mutex::default(),
        })];
        assert_eq!(sources[0].vendor(), Vendor::Kandji);
    }
}
