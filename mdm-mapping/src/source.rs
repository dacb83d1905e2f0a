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
use futures::stream::{self, BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::record::{Entity, SourceDevice, Vendor};

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

    /// Fetches the page at `cursor` (`None`: the first page). Retries,
    /// authentication and rate limits are the implementor's business; an
    /// error here means the page could not be had.
    async fn fetch_page(&self, cursor: Option<&Cursor>) -> Result<DevicePage, SourceError>;

    /// A lazy stream of pages from `from` (or the start) to the end.
    ///
    /// Records seen on an earlier page of the same stream are dropped (offset
    /// paging over a changing list repeats records), so each record appears
    /// once. The stream ends after the first error, and stops if a source
    /// returns a cursor it already returned (a loop guard).
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
        guard_pages(self.vendor(), fetched)
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
/// keeps the same contract. Records seen on an earlier page are dropped; the
/// stream ends after the first error, and ends (with that page's `next`
/// cleared) when a page names a cursor an earlier page named. Dropping the
/// returned stream drops `pages`, which cancels whatever it had in flight.
///
/// Errors should carry their cursor ([`SourceError::at_cursor`]); this
/// cannot know which request failed.
pub fn guard_pages<'a>(
    vendor: Vendor,
    pages: impl Stream<Item = Result<DevicePage, SourceError>> + Send + 'a,
) -> BoxStream<'a, Result<DevicePage, SourceError>> {
    struct Guard<S> {
        pages: std::pin::Pin<Box<S>>,
        seen_ids: HashSet<(Entity, String)>,
        seen_cursors: HashSet<Cursor>,
    }
    let guard = Guard {
        pages: Box::pin(pages),
        seen_ids: HashSet::new(),
        seen_cursors: HashSet::new(),
    };
    // `None` once the stream has ended: the inner stream is then dropped
    // and never polled again (no request past the end).
    stream::unfold(Some(guard), move |g| async move {
        let mut g = g?;
        let page = g.pages.next().await?;
        let page = match page {
            Ok(mut page) => {
                let ids = &mut g.seen_ids;
                page.devices
                    .retain(|d| ids.insert((d.entity, d.source_id.clone())));
                if let Some(c) = &page.next
                    && !g.seen_cursors.insert(c.clone())
                {
                    tracing::warn!(vendor = %vendor, cursor = %c, "source repeated a cursor; stopping");
                    page.next = None;
                }
                page
            }
            Err(e) => return Some((Err(e), None)),
        };
        let next = page.next.is_some().then_some(g);
        Some((Ok(page), next))
    })
    .boxed()
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

    #[test]
    fn repeated_cursor_stops_the_loop() {
        let s = Scripted {
            pages: vec![
                Some((vec!["a"], Some("x"))),
                Some((vec!["b"], Some("x"))),
                Some((vec!["never"], None)),
            ],
            calls: Mutex::default(),
        };
        let pages: Vec<DevicePage> = block_on(s.pages(None).try_collect()).expect("ok");
        assert_eq!(pages.len(), 2);
        assert!(pages[1].next.is_none());
        // The repeated cursor is never requested.
        assert_eq!(s.calls.lock().expect("lock").len(), 2);
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
            block_on(guard_pages(Vendor::Jamf, stream::iter(pages)).collect::<Vec<_>>())
                .into_iter()
                .map(|p| {
                    p.map(|p| {
                        p.devices
                            .into_iter()
                            .map(|d| d.source_id)
                            .collect::<Vec<_>>()
                    })
                })
                .map(|r| r.unwrap_or_else(|_| vec!["ERR".to_string()]))
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
            [vec!["a".to_string()], vec!["ERR".to_string()]]
        );
        // A repeated cursor ends the stream at that page.
        assert_eq!(
            ids(vec![
                page(&["a"], Some("1")),
                page(&["b"], Some("1")),
                page(&["x"], None)
            ]),
            [vec!["a"], vec!["b"]]
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
