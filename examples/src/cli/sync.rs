//! `mdm sync`: read sources, plan against the SQLite inventory, apply.

use std::io::Write;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use mdm_mapping::store::postgres::{PgStore, is_postgres_url};
use mdm_mapping::store::sqlite::SqliteStore;
use mdm_mapping::store::{MemoryStore, Store};
use mdm_mapping::upsert::{self, ApplyReport, Config, Plan, Projection, Staging};
use mdm_mapping::{DeviceSource, SourceDevice, SourceError, Vendor};

use super::plan::{PlanStream, print_plan_dropped};
use super::{CliError, SyncArgs};

pub(super) async fn run(
    args: &SyncArgs,
    setup: super::SyncSetup,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let super::SyncSetup {
        db,
        sources: built,
        mapping: config,
    } = setup;
    let dropped = mdm_mapping::DroppedValues::new();
    if args.dry_run {
        // A dry run never creates the database.
        let store = open_store_for_reading(&db).await?;
        let outcome = sync_sources(&built, &*store, &config, true, true).await?;
        built
            .iter()
            .for_each(|s| dropped.merge(&s.dropped_values()));
        print_plan_dropped(&outcome.plan, Some(&dropped), args.format, out)?;
        return outcome.into_result();
    }
    let store = open_store(&db).await?;
    // Actions are printed as batches are applied, not kept.
    let options = SyncOptions {
        progress: true,
        keep_actions: false,
        batch_records: usize::try_from(args.batch_size).unwrap_or(1024),
        ..SyncOptions::default()
    };
    let mut printer = PlanStream::new(args.format)?;
    let mut print_error = None;
    let outcome = sync_with(
        &built,
        &*store,
        &config,
        &options,
        |_| {},
        |batch| {
            if print_error.is_none()
                && let Err(e) = printer.add(&batch.actions)
            {
                print_error = Some(e);
            }
        },
    )
    .await?;
    if let Some(e) = print_error {
        return Err(e);
    }
    built
        .iter()
        .for_each(|s| dropped.merge(&s.dropped_values()));
    let retried = outcome.report.as_ref().map_or(0, |r| r.retried);
    printer.finish_with(&outcome.plan, Some(&dropped), retried, out)?;
    outcome.into_result()
}

/// Opens the inventory `db` names: a `postgres://` URL, or a SQLite file
/// (created on first use). A one-line error when it cannot be opened; a
/// PostgreSQL password never appears in it.
pub async fn open_store(db: &str) -> Result<Box<dyn Store>, CliError> {
    if db.trim().is_empty() {
        return Err(CliError::input(
            "--db is empty: give a SQLite file or a postgres:// URL",
        ));
    }
    if is_postgres_url(db) {
        let store = PgStore::connect(db)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        return Ok(Box::new(store));
    }
    let store = SqliteStore::open(db).map_err(|e| CliError::failure(e.to_string()))?;
    Ok(Box::new(store))
}

/// The inventory's name for messages: a PostgreSQL URL without its password.
pub fn redact_db(db: &str) -> String {
    if is_postgres_url(db) {
        mdm_mapping::store::postgres::redact_url(db)
    } else {
        db.to_string()
    }
}

/// [`open_store`] for reading only: a SQLite file that does not exist yet
/// is an empty inventory, and is not created.
pub async fn open_store_for_reading(db: &str) -> Result<Box<dyn Store>, CliError> {
    if !is_postgres_url(db) && !db.trim().is_empty() && !std::path::Path::new(db).exists() {
        return Ok(Box::new(MemoryStore::default()));
    }
    open_store(db).await
}

/// How [`sync_with`] runs.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Plan only; write nothing. A dry run plans every record in one pass,
    /// in memory (its plan is the output).
    pub dry_run: bool,
    /// Show progress bars on stderr.
    pub progress: bool,
    /// Keep every action in [`SyncOutcome::plan`] (to print the plan). Off,
    /// a sync holds one batch's actions at a time and the outcome's plan
    /// has the counts, employees, likely duplicates and lifecycle events.
    pub keep_actions: bool,
    /// Records (and assets) per batch: see [`upsert::apply_staged`].
    pub batch_records: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            progress: false,
            keep_actions: true,
            batch_records: 1024,
        }
    }
}

/// What a sync did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The plan that was applied (or would be, in a dry run); its actions
    /// only with [`SyncOptions::keep_actions`].
    pub plan: Plan,
    /// What apply did (`None` in a dry run).
    pub report: Option<ApplyReport>,
    /// Records read per source.
    pub read: Vec<(Vendor, usize)>,
    /// Sources that failed part way; their records up to the failure were synced.
    pub source_errors: Vec<SourceError>,
    /// How many batches were planned and applied (1 for a dry run).
    pub batches: usize,
}

impl SyncOutcome {
    /// `Ok` when every source was read in full and every write succeeded.
    pub fn into_result(self) -> Result<(), CliError> {
        if let Some(e) = self.source_errors.first() {
            return Err(CliError::failure(format!(
                "{e} (records read before the failure were synced; run again to resume)"
            )));
        }
        if let Some(r) = &self.report
            && let Some(f) = r.failures.first()
        {
            return Err(CliError::failure(format!(
                "{} of the writes failed, first: {f}",
                r.failures.len()
            )));
        }
        Ok(())
    }
}

/// Reads every source, plans against `store` and applies (unless `dry_run`),
/// keeping every action in the outcome. See [`sync_with`].
pub async fn sync_sources<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    dry_run: bool,
    progress: bool,
) -> Result<SyncOutcome, CliError> {
    let options = SyncOptions {
        dry_run,
        progress,
        ..SyncOptions::default()
    };
    sync_with(sources, store, config, &options, |_| {}, |_| {}).await
}

/// Reads every source, plans against `store` and applies (unless
/// `options.dry_run`), calling `observe` with every record as read, with all
/// its fields (e.g. for an identifier health report), and `on_batch` with
/// each batch's plan once it is applied (a dry run: once, with the plan).
///
/// A source that fails part way does not stop the others: what it yielded is
/// synced (a listing that did not finish is never treated as complete, so no
/// lifecycle change follows from it) and the error is returned in the outcome.
///
/// Memory stays bounded by a page and a batch, not the fleet: each record is
/// projected to the fields the plan reads and staged on disk as it arrives
/// ([`Staging`]), then the records are planned and applied in batches of
/// whole components ([`upsert::apply_staged`]), which leaves the inventory one
/// plan over every record would. Only a dry run (and
/// [`SyncOptions::keep_actions`], for the actions) holds everything.
pub async fn sync_with<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    options: &SyncOptions,
    mut observe: impl FnMut(&SourceDevice),
    mut on_batch: impl FnMut(&Plan),
) -> Result<SyncOutcome, CliError> {
    config
        .validate()
        .map_err(|e| CliError::input(format!("invalid configuration: {e}")))?;
    let staging_failed = |e: upsert::StagingError| CliError::failure(e.to_string());
    // A dry run keeps projected records in memory for one plan; a sync
    // stages them on disk.
    enum Collected<'c> {
        InMemory(Projection, Vec<SourceDevice>),
        Staged(Box<Staging<'c>>),
    }
    let mut collected = if options.dry_run {
        Collected::InMemory(Projection::new(config), Vec::new())
    } else {
        Collected::Staged(Box::new(Staging::new(config).map_err(staging_failed)?))
    };
    let mut read = Vec::new();
    let mut full = Vec::new();
    let mut source_errors = Vec::new();
    for source in sources {
        let vendor = source.vendor();
        let bar = if options.progress {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:>7} {pos} records ({per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(vendor.to_string());
        let mut count = 0usize;
        let mut pages = source.pages(None);
        let mut failed = false;
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => {
                    bar.inc(p.devices.len() as u64);
                    count += p.devices.len();
                    for mut d in p.devices {
                        observe(&d);
                        match &mut collected {
                            Collected::InMemory(projection, incoming) => {
                                projection.project(&mut d);
                                incoming.push(d);
                            }
                            Collected::Staged(staging) => {
                                staging.push(d).map_err(staging_failed)?
                            }
                        }
                    }
                }
                Err(e) => {
                    bar.abandon_with_message(format!("failed: {e}"));
                    source_errors.push(e);
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            full.push(vendor);
            bar.finish_with_message("done");
        }
        read.push((vendor, count));
    }
    let staging = match collected {
        Collected::Staged(staging) => *staging,
        Collected::InMemory(_, incoming) => {
            let inventory = store
                .load()
                .await
                .map_err(|e| CliError::failure(format!("cannot read the inventory: {e}")))?;
            let plan = upsert::plan(&inventory, &incoming, config, &full)
                .map_err(|e| CliError::input(format!("invalid configuration: {e}")))?;
            on_batch(&plan);
            return Ok(SyncOutcome {
                plan,
                report: None,
                read,
                source_errors,
                batches: 1,
            });
        }
    };
    let bar = if options.progress {
        ProgressBar::new(staging.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_message("writing the inventory");
    let mut staged = staging.finish().map_err(staging_failed)?;
    let mut merged = Plan::default();
    let keep = options.keep_actions;
    let done = upsert::apply_staged(
        &mut staged,
        config,
        &full,
        store,
        options.batch_records,
        |p, _| {
            bar.inc(p.actions.iter().map(|a| a.sources.len() as u64).sum());
            on_batch(&p);
            merge(&mut merged, p, keep);
        },
    )
    .await
    .map_err(|e| CliError::failure(format!("{e}; run the sync again to resume")))?;
    bar.finish_and_clear();
    merged.summary = done.summary;
    Ok(SyncOutcome {
        plan: merged,
        report: Some(done.report),
        read,
        source_errors,
        batches: done.batches,
    })
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

/// Formats the outcome's counts for people.
pub fn summary_line(o: &SyncOutcome) -> String {
    let s = &o.plan.summary;
    let mut line = format!(
        "create {}  update {}  unchanged {}  conflict {}  skip {}  employee_create {}",
        s.create, s.update, s.unchanged, s.conflict, s.skip, s.employee_create
    );
    if let Some(r) = &o.report
        && r.retried > 0
    {
        line.push_str(&format!(
            "  (re-planned {} writes another sync got to first)",
            r.retried
        ));
    }
    line
}
