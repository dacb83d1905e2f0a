//! The sync engine: read every source page by page, stage, plan and apply
//! in batches, in one call.
//!
//! [`run`] is what `mdm sync` runs; an embedding program calls it with its
//! own sources and store. Progress comes as [`SyncEvent`]s to a callback
//! ([`run_with`]); the result is a [`SyncOutcome`].
//!
//! - **Memory follows a page and a batch, not the fleet.** Each record is
//!   projected to the fields the plan reads and staged on disk as it
//!   arrives ([`Staging`]); then records are planned and applied in batches
//!   of whole components ([`upsert::apply_staged`]), which leaves the
//!   inventory one plan over every record would. Only a dry run (and
//!   [`SyncOptions::keep_actions`], for the actions) holds everything.
//! - **A failing source does not stop the others.** What it yielded is
//!   synced; a listing that did not finish is never treated as complete, so
//!   no lifecycle change follows from it; its error is in
//!   [`SyncOutcome::source_errors`].
//! - **Incremental syncs read what changed.** With
//!   [`SyncOptions::incremental`], a source whose API can filter on the
//!   server's update time ([`DeviceSource::changed_since`]: Jamf) is read
//!   from its watermark (kept in the store, [`Store::source_state`]) less
//!   an overlap; the others are read in full. A full reading runs every
//!   [`Incremental::full_every`] syncs, when the last one is older than
//!   [`Incremental::full_after`], or with [`Incremental::force_full`];
//!   only a full reading can report a device missing. The watermark is the
//!   latest update time the server gave a record that was read, and it
//!   moves only once the sync that read it is committed in full: a crash
//!   or a failed write repeats work, it never skips it.
//! - **A user gone from a user directory is reported, never deleted.** A
//!   source that lists its vendor's users ([`WithUsers`](crate::source::WithUsers))
//!   has them remembered at each committed sync that read them all; the
//!   next such sync reports those no longer listed whose employee is in
//!   the inventory ([`SyncOutcome::users_gone`]).
//! - **Cancellation leaves the inventory consistent.** With
//!   [`SyncOptions::cancel`], a cancel while reading writes nothing; while
//!   writing, the batch being written finishes and the rest is left for the
//!   next sync ([`SyncOutcome::cancelled`]). Dropping the future instead is
//!   safe too: every batch is one atomic write in the stores of this crate,
//!   and the next sync converges without a duplicate.
//!
//! ```
//! use mdm_mapping::store::{MemoryStore, Store};
//! use mdm_mapping::sync::{self, SyncEvent, SyncOptions};
//! use mdm_mapping::upsert::Config;
//! use mdm_mapping::{Cursor, DevicePage, DeviceSource, Entity, SourceDevice, SourceError, Vendor};
//!
//! /// A source with one page of two devices (a real program uses a vendor client).
//! #[derive(Debug)]
//! struct Fixed;
//! #[async_trait::async_trait]
//! impl DeviceSource for Fixed {
//!     fn vendor(&self) -> Vendor { Vendor::Jamf }
//!     async fn fetch_page(&self, _cursor: Option<&Cursor>) -> Result<DevicePage, SourceError> {
//!         let devices = ["C02XK1ABJG5H", "F2LXK1ABQ1GC"]
//!             .iter()
//!             .enumerate()
//!             .map(|(i, serial)| {
//!                 let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, i.to_string());
//!                 d.fields.serial("serial_number", Some(serial));
//!                 d
//!             })
//!             .collect();
//!         Ok(DevicePage { devices, next: None })
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let store = MemoryStore::default();
//! let sources: Vec<Box<dyn DeviceSource>> = vec![Box::new(Fixed)];
//! let mut pages = 0;
//! let outcome = sync::run_with(&sources, &store, &Config::default(), &SyncOptions::default(), |event| {
//!     if let SyncEvent::PageRead { .. } = event {
//!         pages += 1;
//!     }
//! })
//! .await
//! .unwrap();
//! assert_eq!((pages, outcome.plan.summary.create), (1, 2));
//! assert_eq!(store.load().await.unwrap().assets.len(), 2);
//!
//! // Again: nothing to do.
//! let again = sync::run(&sources, &store, &Config::default(), &SyncOptions::default()).await.unwrap();
//! assert_eq!(again.plan.summary.unchanged, 2);
//! # });
//! ```

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::{Either, select};
use tokio_util::sync::CancellationToken;

use crate::record::{SourceDevice, Vendor};
use crate::source::{DeviceSource, Listing, SourceError};
use crate::store::{GoneUser, SourceState, Store, StoreError};
use crate::upsert::{
    self, ApplyReport, Config, ConfigError, Plan, Projection, StagedError, Staging, StagingError,
};

mod users_gone;

/// How [`run`] runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Plan only; write nothing. A dry run plans every record in one pass,
    /// in memory (its plan is the output).
    pub dry_run: bool,
    /// Keep every action in [`SyncOutcome::plan`] (to print the whole plan
    /// at the end). Off, a sync holds one batch's actions at a time (see
    /// [`SyncEvent::Batch`]) and the outcome's plan has the counts,
    /// employees, likely duplicates and lifecycle events.
    pub keep_actions: bool,
    /// Records (and assets) per batch: see [`upsert::apply_staged`].
    pub batch_records: usize,
    /// Stops the sync when cancelled: see the [module docs](self).
    pub cancel: Option<CancellationToken>,
    /// Read only what changed where the source allows it (see the
    /// [module docs](self)); `None`: every source is read in full.
    pub incremental: Option<Incremental>,
}

/// When an incremental sync reads a source in full instead, and how far
/// back it reads. The defaults suit an hourly or daily schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incremental {
    /// A full reading after this many incremental ones (default 24).
    pub full_every: u32,
    /// A full reading when the last one is older than this (default 7 days).
    pub full_after: std::time::Duration,
    /// Read from the watermark less this, for records the server committed
    /// late or clocks that disagree (default 10 minutes).
    pub overlap: std::time::Duration,
    /// Read every source in full this time (`mdm sync --full`).
    pub force_full: bool,
}

impl Default for Incremental {
    fn default() -> Self {
        Incremental {
            full_every: 24,
            full_after: std::time::Duration::from_secs(7 * 24 * 3600),
            overlap: std::time::Duration::from_secs(600),
            force_full: false,
        }
    }
}

impl Incremental {
    /// The time to read `state`'s source from, or `None` for a full
    /// reading: no watermark yet, no full reading yet, too many incremental
    /// readings or too old a full one, or [`force_full`](Self::force_full).
    pub fn since(&self, state: Option<&SourceState>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.force_full {
            return None;
        }
        let state = state?;
        let (watermark, last_full) = (state.watermark?, state.last_full?);
        let age = now
            .signed_duration_since(last_full)
            .to_std()
            .unwrap_or_default();
        if state.incremental_runs >= self.full_every || age >= self.full_after {
            return None;
        }
        let overlap = chrono::Duration::from_std(self.overlap).unwrap_or(chrono::Duration::MAX);
        Some(watermark.checked_sub_signed(overlap).unwrap_or(watermark))
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            keep_actions: true,
            batch_records: 1024,
            cancel: None,
            incremental: None,
        }
    }
}

/// What a sync is doing, as it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncEvent<'a> {
    /// Reading a source begins.
    SourceStarted {
        /// The source's vendor.
        vendor: Vendor,
        /// The source's name ([`DeviceSource::name`]).
        source: &'a str,
    },
    /// One record as read, with all its fields (before it is projected to
    /// what the plan reads), e.g. for an identifier health report.
    Record(&'a SourceDevice),
    /// A page was read.
    PageRead {
        /// The source's vendor.
        vendor: Vendor,
        /// The source's name.
        source: &'a str,
        /// Records on the page.
        records: usize,
        /// Records read from this source so far.
        total: usize,
    },
    /// A source was read to its end.
    SourceDone {
        /// The source's vendor.
        vendor: Vendor,
        /// The source's name.
        source: &'a str,
        /// Records read from it.
        records: usize,
    },
    /// A source failed part way; what it yielded is synced.
    SourceFailed {
        /// The source's vendor.
        vendor: Vendor,
        /// The source's name.
        source: &'a str,
        /// Why.
        error: &'a SourceError,
    },
    /// Writing begins: every source has been read.
    Writing {
        /// Records staged, to be planned and applied.
        records: usize,
    },
    /// A batch was planned and applied (in a dry run: the one plan of
    /// every record, applied to nothing).
    Batch {
        /// The batch's plan, as carried out.
        plan: &'a Plan,
        /// Records the batch planned.
        records: usize,
    },
    /// A user gone from its source's user directory, whose employee is in
    /// the inventory: see [`SyncOutcome::users_gone`]. Comes after the
    /// sync's writes are committed.
    UserGone(&'a GoneUser),
}

/// What a sync did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The plan that was applied (or would be, in a dry run); its actions
    /// only with [`SyncOptions::keep_actions`].
    pub plan: Plan,
    /// What apply did (`None` in a dry run, or when cancelled before writing).
    pub report: Option<ApplyReport>,
    /// Records read per source, in the order of the sources.
    pub read: Vec<SourceRead>,
    /// Sources that failed part way; their records up to the failure were synced.
    pub source_errors: Vec<SourceError>,
    /// How many batches were planned and applied (1 for a dry run).
    pub batches: usize,
    /// The sync was cancelled ([`SyncOptions::cancel`]): what was written
    /// is consistent, and the next sync does the rest.
    pub cancelled: bool,
    /// Users that a source's user directory (`users = true`,
    /// [`WithUsers`](crate::source::WithUsers)) listed at the last sync
    /// that read it completely and no longer lists, whose email an
    /// employee of the inventory holds (matched as the planner matches
    /// emails). Reported once, by the first committed sync that reads the
    /// directory completely without them; the employee is never deleted
    /// nor changed. Empty in a dry run, and for a source whose directory
    /// was not read completely (error, cancel, no opt-in, an empty
    /// directory) or read for the first time. The list each source
    /// remembers is [`SourceState::users`].
    pub users_gone: Vec<GoneUser>,
    /// Devices neither read from the store nor planned, because the last
    /// sync found their asset up to date with the same records and nothing
    /// wrote the asset since ([`StagedOutcome::skipped`](crate::upsert::StagedOutcome::skipped));
    /// counted as unchanged in the plan. 0 in a dry run.
    pub skipped: usize,
}

/// How many records a sync read from one source, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRead {
    /// The source's vendor.
    pub vendor: Vendor,
    /// The source's name ([`DeviceSource::name`]).
    pub source: String,
    /// Records read.
    pub records: usize,
    /// Read in full (`false`: only what changed since the watermark).
    pub full: bool,
    /// Read to its end (no error, no cancel).
    pub complete: bool,
}

impl SyncOutcome {
    /// Every source was read in full, every write succeeded and the sync
    /// was not cancelled.
    pub fn is_complete(&self) -> bool {
        !self.cancelled
            && self.source_errors.is_empty()
            && self.report.as_ref().is_none_or(|r| r.failures.is_empty())
    }
}

/// Why a sync stopped before its end. What was written before is
/// consistent: sync again to resume.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The configuration is not usable (nothing was read or written).
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// Records could not be staged on disk or read back.
    #[error("cannot stage the records: {0}")]
    Staging(#[from] StagingError),
    /// The inventory could not be read (a dry run).
    #[error("cannot read the inventory: {0}")]
    Load(#[source] StoreError),
    /// Planning or writing a batch failed; earlier batches are written.
    #[error("{0}; run the sync again to resume")]
    Apply(#[source] Box<StagedError>),
    /// A source's watermark or user list could not be read or kept (what
    /// was written is consistent; the next sync reads that source again).
    #[error("cannot read or keep a source's watermark: {0}")]
    State(#[source] StoreError),
}

/// [`run_with`] without events.
pub async fn run<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    options: &SyncOptions,
) -> Result<SyncOutcome, SyncError> {
    run_with(sources, store, config, options, |_| {}).await
}

/// Reads every source, plans against `store` and applies (unless
/// [`SyncOptions::dry_run`]), calling `on_event` as it goes. See the
/// [module docs](self).
pub async fn run_with<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    options: &SyncOptions,
    mut on_event: impl FnMut(SyncEvent<'_>),
) -> Result<SyncOutcome, SyncError> {
    config.validate()?;
    // The user directories read, from the records as they come.
    let directories = std::sync::Mutex::new(users_gone::Directories::default());
    let mut on_event = |event: SyncEvent<'_>| {
        users_gone::observe(&directories, &event);
        on_event(event);
    };
    // A dry run keeps projected records in memory for one plan; a sync
    // stages them on disk.
    enum Collected<'c> {
        InMemory(Box<Projection>, Vec<SourceDevice>),
        Staged(Box<Staging<'c>>),
    }
    let mut collected = if options.dry_run {
        Collected::InMemory(Box::new(Projection::new(config)), Vec::new())
    } else {
        Collected::Staged(Box::new(Staging::new(config)?))
    };
    let cancelled = || options.cancel.as_ref().is_some_and(|c| c.is_cancelled());
    let started = Utc::now();
    let fingerprint = mapping_fingerprint(config);
    let mut read = Vec::new();
    let mut full = Vec::new();
    let mut source_errors = Vec::new();
    /// Per source: the state kept for the server it reads (read once,
    /// before the source is), the latest update time read, and the
    /// fingerprint of its server.
    struct Progress {
        kept: Option<SourceState>,
        latest: Option<DateTime<Utc>>,
        server: Option<String>,
    }
    let mut progress: Vec<Progress> = Vec::new();
    // A sync reads the stored inventory's identifiers (to form its
    // batches) while the sources are read, rather than after: the two
    // overlap, and neither depends on the other.
    let matching: Option<Vec<String>> = match &collected {
        Collected::Staged(staging) => Some(
            staging
                .matching_fields()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ),
        Collected::InMemory(..) => None,
    };
    let preload = async {
        let fields: Vec<&str> = matching.iter().flatten().map(String::as_str).collect();
        matching.as_ref()?;
        let load = Box::pin(store.load_for_matching(&fields));
        // A cancel ends the read ahead too, rather than waiting for it.
        match &options.cancel {
            None => Some(load.await),
            Some(token) => match select(load, Box::pin(token.cancelled())).await {
                Either::Left((loaded, _)) => Some(loaded),
                Either::Right(_) => None,
            },
        }
    };
    let reading = async {
        'sources: for source in sources {
            let vendor = source.vendor();
            let name = source.name();
            let server = source.server().as_deref().map(fingerprint_of);
            // State kept for another server under the same name is not used.
            // An incremental sync reads from it; a sync that writes compares
            // its user directory with it.
            let kept = if options.incremental.is_some() || !options.dry_run {
                store
                    .source_state(name)
                    .await
                    .map_err(SyncError::State)?
                    .filter(|s| s.server == server)
            } else {
                None
            };
            let state = kept.as_ref().filter(|_| options.incremental.is_some());
            // A changed mapping needs every record mapped again: a full reading.
            let same_mapping =
                state.is_some_and(|s| s.mapping.as_deref() == Some(fingerprint.as_str()));
            let since = options
                .incremental
                .as_ref()
                .filter(|_| same_mapping)
                .and_then(|inc| inc.since(state, started));
            let changed = since.and_then(|t| source.changed_since(t));
            let reader: &dyn DeviceSource = changed.as_deref().unwrap_or(source.as_ref());
            let read_full = changed.is_none();
            let updated_key = source.updated_key();
            let mut latest: Option<DateTime<Utc>> = None;
            let tally = |records, complete| SourceRead {
                vendor,
                source: name.to_owned(),
                records,
                full: read_full,
                complete,
            };
            on_event(SyncEvent::SourceStarted {
                vendor,
                source: name,
            });
            let mut count = 0usize;
            let mut pages = reader.pages(None);
            loop {
                if cancelled() {
                    read.push(tally(count, false));
                    break 'sources;
                }
                // A cancel also ends a wait for a page.
                let next = match &options.cancel {
                    None => pages.next().await,
                    Some(token) => match select(pages.next(), Box::pin(token.cancelled())).await {
                        Either::Left((next, _)) => next,
                        Either::Right(_) => {
                            read.push(tally(count, false));
                            break 'sources;
                        }
                    },
                };
                match next {
                    None => {
                        if read_full {
                            full.push(Listing::of(source.as_ref()));
                        }
                        on_event(SyncEvent::SourceDone {
                            vendor,
                            source: name,
                            records: count,
                        });
                        read.push(tally(count, true));
                        break;
                    }
                    Some(Ok(page)) => {
                        let records = page.devices.len();
                        count += records;
                        for mut d in page.devices {
                            on_event(SyncEvent::Record(&d));
                            // A time far ahead of ours is a server's lie, not
                            // a watermark: it would hide every later change.
                            if let Some(t) = updated_key
                                .and_then(|k| updated_at(&d, k))
                                .filter(|t| *t <= started + chrono::Duration::days(1))
                            {
                                latest = latest.max(Some(t));
                            }
                            match &mut collected {
                                Collected::InMemory(projection, incoming) => {
                                    projection.project(&mut d);
                                    incoming.push(d);
                                }
                                Collected::Staged(staging) => staging.push(d)?,
                            }
                        }
                        on_event(SyncEvent::PageRead {
                            vendor,
                            source: name,
                            records,
                            total: count,
                        });
                    }
                    Some(Err(error)) => {
                        on_event(SyncEvent::SourceFailed {
                            vendor,
                            source: name,
                            error: &error,
                        });
                        source_errors.push(error);
                        read.push(tally(count, false));
                        break;
                    }
                }
            }
            progress.push(Progress {
                kept,
                latest,
                server,
            });
        }
        Ok::<(), SyncError>(())
    };
    let (reading, preloaded) = futures::future::join(reading, preload).await;
    reading?;
    // What each source's state becomes, once everything is committed.
    let reads = read.clone();
    let outcome = |plan, report, batches, cancelled| SyncOutcome {
        plan,
        report,
        read,
        source_errors,
        batches,
        cancelled,
        users_gone: Vec::new(),
        skipped: 0,
    };
    if cancelled() {
        // Nothing is written for a sync cancelled while reading.
        return Ok(outcome(Plan::default(), None, 0, true));
    }
    let staging = match collected {
        Collected::Staged(staging) => *staging,
        Collected::InMemory(_, incoming) => {
            let inventory = store.load().await.map_err(SyncError::Load)?;
            let plan = upsert::plan(&inventory, &incoming, config, &full)?;
            on_event(SyncEvent::Batch {
                plan: &plan,
                records: incoming.len(),
            });
            return Ok(outcome(plan, None, 1, false));
        }
    };
    on_event(SyncEvent::Writing {
        records: staging.len(),
    });
    let mut staged = staging.finish()?;
    let mut merged = Plan::default();
    let keep = options.keep_actions;
    let on_batch = |p: Plan, _: &upsert::ApplyReport| {
        let records = p.actions.iter().map(|a| a.sources.len()).sum();
        on_event(SyncEvent::Batch { plan: &p, records });
        merge(&mut merged, p, keep);
        if cancelled() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let batch_records = options.batch_records;
    let done = match preloaded {
        Some(Ok(skeleton)) => {
            upsert::apply_staged_loaded(
                &mut staged,
                skeleton,
                config,
                &full,
                store,
                batch_records,
                on_batch,
            )
            .await
        }
        Some(Err(error)) => Err(upsert::StagedError::Load { error }),
        // Cancelled while reading ahead (after the sources were read):
        // read now; the first batch stops it.
        None => {
            upsert::apply_staged_until(&mut staged, config, &full, store, batch_records, on_batch)
                .await
        }
    }
    .map_err(|e| SyncError::Apply(Box::new(e)))?;
    merged.summary = done.summary;
    let stopped = done.stopped;
    // Everything read is committed: each source read to its end moves on.
    let mut gone = users_gone::Settled::default();
    if !stopped && done.report.failures.is_empty() {
        // The user directories kept, per source.
        let kept_users = reads
            .iter()
            .zip(&mut progress)
            .map(|(r, p)| {
                (
                    r.source.clone(),
                    p.kept.as_mut().and_then(|s| s.users.take()),
                )
            })
            .collect();
        gone =
            users_gone::Settled::compare(store, &reads, users_gone::take(&directories), kept_users)
                .await
                .map_err(SyncError::State)?;
        for (
            r,
            Progress {
                kept,
                latest,
                server,
            },
        ) in reads.iter().zip(progress)
        {
            if !r.complete {
                continue;
            }
            let before = kept
                .filter(|_| options.incremental.is_some())
                .unwrap_or_default();
            let state = SourceState {
                watermark: before.watermark.max(latest),
                last_full: if r.full {
                    Some(started)
                } else {
                    before.last_full
                },
                incremental_runs: if r.full {
                    0
                } else {
                    before.incremental_runs.saturating_add(1)
                },
                mapping: Some(fingerprint.clone()),
                users: gone.list(&r.source),
                server,
            };
            store
                .set_source_state(&r.source, &state)
                .await
                .map_err(SyncError::State)?;
        }
    }
    for g in &gone.gone {
        on_event(SyncEvent::UserGone(g));
    }
    tracing::info!(
        skipped = done.skipped,
        marked = done.sealed,
        "devices skipped as unchanged since the last sync, and assets marked up to date for the next"
    );
    let mut outcome = outcome(merged, Some(done.report), done.batches, stopped);
    outcome.users_gone = gone.gone;
    outcome.skipped = done.skipped;
    Ok(outcome)
}

/// A fingerprint of everything in `config` that decides what a record
/// becomes in the inventory.
fn mapping_fingerprint(config: &Config) -> String {
    fingerprint_of(&format!("{config:?}"))
}

/// A short, stable fingerprint of `text` (kept in a source's state).
fn fingerprint_of(text: &str) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// When the server last updated `d`, from its `key` field.
fn updated_at(d: &SourceDevice, key: &str) -> Option<DateTime<Utc>> {
    crate::normalize::parse_datetime(d.fields.get_str(key)?)
}

/// Adds one batch's plan to the plan of the whole sync.
fn merge(total: &mut Plan, batch: Plan, keep_actions: bool) {
    if keep_actions {
        total.actions.extend(batch.actions);
    }
    total.employees.extend(batch.employees);
    total.likely_duplicates.extend(batch.likely_duplicates);
    total.lifecycle.extend(batch.lifecycle);
}
