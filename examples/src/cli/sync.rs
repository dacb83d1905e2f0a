//! `mdm sync`: read sources, plan against the SQLite inventory, apply.

use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use mdm_mapping::store::Store;
use mdm_mapping::upsert::{self, ApplyReport, Config, Plan, Projection};
use mdm_mapping::{DeviceSource, SourceDevice, SourceError, Vendor};

use super::plan::print_plan;
use super::{CliError, SyncArgs, sources};
use crate::sqlite::SqliteStore;

pub(super) async fn run(args: &SyncArgs, out: &mut impl Write) -> Result<(), CliError> {
    let vendors: Vec<Vendor> = if args.sources.is_empty() {
        Vendor::ALL
            .into_iter()
            .filter(|v| sources::configured(*v, &args.creds))
            .collect()
    } else {
        args.sources.iter().map(|v| (*v).into()).collect()
    };
    if vendors.is_empty() {
        return Err(CliError::input(
            "no source configured: set JAMF_URL, KANDJI_URL or ABM_CLIENT_ID (and their credentials), or pass --source",
        ));
    }
    let built = vendors
        .iter()
        .map(|v| sources::build(*v, &args.creds))
        .collect::<Result<Vec<_>, _>>()?;
    let store = open_store(&args.db)?;
    let outcome = sync_sources(&built, &store, &Config::default(), args.dry_run, true).await?;
    print_plan(&outcome.plan, args.format, out)?;
    outcome.into_result()
}

/// Opens the SQLite inventory, as a one-line error when it cannot be.
pub fn open_store(path: &Path) -> Result<SqliteStore, CliError> {
    SqliteStore::open(path).map_err(|e| CliError::failure(e.to_string()))
}

/// What a sync did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The plan that was applied (or would be, in a dry run).
    pub plan: Plan,
    /// What apply did (`None` in a dry run).
    pub report: Option<ApplyReport>,
    /// Records read per source.
    pub read: Vec<(Vendor, usize)>,
    /// Sources that failed part way; their records up to the failure were synced.
    pub source_errors: Vec<SourceError>,
    /// Every record read, with only the fields the plan reads
    /// ([`Projection`]); see [`sync_sources_with`] to see full records.
    pub incoming: Vec<SourceDevice>,
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

/// Reads every source, plans against `store` and applies (unless `dry_run`).
///
/// A source that fails part way does not stop the others: what it yielded is
/// synced (a listing that did not finish is never treated as complete, so no
/// lifecycle change follows from it) and the error is returned in the outcome.
///
/// Records are held until the plan, but only with the fields the plan reads
/// ([`Projection`]): the rest of each page is dropped as it arrives.
pub async fn sync_sources<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    dry_run: bool,
    progress: bool,
) -> Result<SyncOutcome, CliError> {
    sync_sources_with(sources, store, config, dry_run, progress, |_| {}).await
}

/// [`sync_sources`], calling `observe` with every record as read, with all
/// its fields, before it is projected (e.g. for an identifier health report).
pub async fn sync_sources_with<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    dry_run: bool,
    progress: bool,
    mut observe: impl FnMut(&SourceDevice),
) -> Result<SyncOutcome, CliError> {
    let projection = Projection::new(config);
    let mut incoming: Vec<SourceDevice> = Vec::new();
    let mut read = Vec::new();
    let mut full = Vec::new();
    let mut source_errors = Vec::new();
    for source in sources {
        let vendor = source.vendor();
        let bar = if progress {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:>7} {pos} records ({per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(vendor.to_string());
        let before = incoming.len();
        let mut pages = source.pages(None);
        let mut failed = false;
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => {
                    bar.inc(p.devices.len() as u64);
                    incoming.extend(p.devices.into_iter().map(|mut d| {
                        observe(&d);
                        projection.project(&mut d);
                        d
                    }));
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
        read.push((vendor, incoming.len() - before));
    }
    let inventory = store
        .load()
        .await
        .map_err(|e| CliError::failure(format!("cannot read the inventory: {e}")))?;
    let plan = upsert::plan(&inventory, &incoming, config, &full)
        .map_err(|e| CliError::input(format!("invalid configuration: {e}")))?;
    let report = if dry_run {
        None
    } else {
        let bar = if progress {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_message("writing the inventory");
        let r = upsert::apply(&plan, store)
            .await
            .map_err(|e| CliError::failure(format!("{e}; run the sync again to resume")))?;
        bar.finish_and_clear();
        Some(r)
    };
    Ok(SyncOutcome {
        plan,
        report,
        read,
        source_errors,
        incoming,
    })
}

/// Formats the outcome's counts for people.
pub fn summary_line(o: &SyncOutcome) -> String {
    let s = &o.plan.summary;
    format!(
        "create {}  update {}  unchanged {}  conflict {}  skip {}  employee_create {}",
        s.create, s.update, s.unchanged, s.conflict, s.skip, s.employee_create
    )
}
