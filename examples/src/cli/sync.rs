//! `mdm sync`: a shell over [`mdm_mapping::sync`]: arguments in, progress
//! bars and the plan out.

use std::io::Write;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mdm_mapping::DeviceSource;
use mdm_mapping::store::postgres::{PgStore, is_postgres_url};
use mdm_mapping::store::sqlite::SqliteStore;
use mdm_mapping::store::{MemoryStore, Store};
use mdm_mapping::sync::{self, SyncError, SyncEvent, SyncOptions, SyncOutcome};
use mdm_mapping::upsert::Config;

use super::plan::{PlanStream, print_plan_dropped};
use super::{CliError, SyncArgs, SyncSetup, history};

pub(super) async fn run(
    args: &SyncArgs,
    setup: SyncSetup,
    out: &mut impl Write,
) -> Result<(), CliError> {
    match setup.every {
        Some(every) if std::env::var_os(super::schedule::ONE_RUN_ENV).is_none() => {
            super::schedule::run(args, &setup.db, every, setup.jitter, out).await
        }
        _ => {
            // SIGTERM or Ctrl-C: finish the batch in hand, record the run
            // as cancelled; a second Ctrl-C quits at once.
            let stop = tokio_util::sync::CancellationToken::new();
            tokio::spawn(super::schedule::stop_on_signal(stop.clone()));
            once(args, setup, out, Some(stop)).await
        }
    }
}

/// One sync: reads the sources, writes the inventory, prints the plan and
/// records the run in the inventory's history. `cancel` stops it after
/// the batch in hand.
pub(super) async fn once(
    args: &SyncArgs,
    setup: SyncSetup,
    out: &mut impl Write,
    cancel: Option<tokio_util::sync::CancellationToken>,
) -> Result<(), CliError> {
    let SyncSetup {
        db,
        sources: built,
        mapping: config,
        incremental,
        ..
    } = setup;
    let names: Vec<String> = built.iter().map(|s| s.name().to_owned()).collect();
    let dropped = mdm_mapping::DroppedValues::new();
    if args.dry_run {
        // A dry run never creates the database.
        let store = open_store_for_reading(&db).await?;
        let options = SyncOptions {
            dry_run: true,
            incremental: incremental.clone(),
            ..SyncOptions::default()
        };
        let outcome = sync_with_progress(&built, &*store, &config, &options, true, |_| {}).await?;
        built
            .iter()
            .for_each(|s| dropped.merge(&s.dropped_values()));
        if args.format == super::DocFormat::Table {
            // The rows `--show` asks for, as a sync prints them.
            let mut printer = PlanStream::showing(args.format, args.show)?;
            printer.add(&outcome.plan.actions)?;
            printer.finish_with(&outcome.plan, Some(&dropped), 0, out)?;
        } else {
            print_plan_dropped(&outcome.plan, Some(&dropped), args.format, out)?;
        }
        return outcome_result(&outcome);
    }
    let started = chrono::Utc::now();
    let store = open_store(&db).await?;
    // Actions are printed as batches are applied, not kept.
    let options = SyncOptions {
        keep_actions: false,
        batch_records: usize::try_from(args.batch_size).unwrap_or(1024),
        cancel,
        incremental,
        ..SyncOptions::default()
    };
    let sent_before: Vec<Option<u64>> = built.iter().map(|s| s.requests_sent()).collect();
    let mut printer = PlanStream::showing(args.format, args.show)?;
    let mut print_error = None;
    let result = sync_with_progress(&built, &*store, &config, &options, true, |event| {
        if let SyncEvent::Batch { plan, .. } = event
            && print_error.is_none()
            && let Err(e) = printer.add(&plan.actions)
        {
            print_error = Some(e);
        }
    })
    .await;
    built
        .iter()
        .for_each(|s| dropped.merge(&s.dropped_values()));
    // The history keeps every run, the failed ones too.
    let mut requests = std::collections::BTreeMap::new();
    for ((name, s), before) in names.iter().zip(&built).zip(sent_before) {
        if let (Some(before), Some(after)) = (before, s.requests_sent()) {
            *requests.entry(name.clone()).or_default() += after.saturating_sub(before);
        }
    }
    let learned: std::collections::BTreeMap<String, f64> = names
        .iter()
        .zip(&built)
        .filter_map(|(name, s)| s.learned_rate().map(|r| (name.clone(), r)))
        .collect();
    let record = history::record(started, &names, &result, &dropped, requests, learned);
    if let Err(e) = store.record_run(&record).await {
        tracing::warn!("the run was not added to the inventory's history: {e}");
    }
    let outcome = result?;
    if let Some(e) = print_error {
        return Err(e);
    }
    let retried = outcome.report.as_ref().map_or(0, |r| r.retried);
    let table = args.format == super::DocFormat::Table;
    let taken = outcome
        .report
        .as_ref()
        .map(|r| r.employees_name_taken.clone())
        .unwrap_or_default();
    printer
        .with_users_gone(outcome.users_gone.clone())
        .with_name_taken(taken)
        .finish_with(&outcome.plan, Some(&dropped), retried, out)?;
    if table && !outcome.users_gone.is_empty() {
        write!(out, "\n{}", users_gone_table(&outcome.users_gone))
            .map_err(|e| CliError::failure(format!("cannot write output: {e}")))?;
    }
    outcome_result(&outcome)
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

/// `Ok` when every source was read in full and every write succeeded; a
/// one-line error saying what failed otherwise.
pub fn outcome_result(o: &SyncOutcome) -> Result<(), CliError> {
    if let Some(e) = o.source_errors.first() {
        return Err(CliError::failure(format!(
            "{e} (records read before the failure were synced; run again to resume)"
        )));
    }
    if let Some(r) = &o.report
        && let Some(f) = r.failures.first()
    {
        return Err(CliError::failure(format!(
            "{} of the writes failed, first: {f}",
            r.failures.len()
        )));
    }
    if o.cancelled {
        return Err(CliError::failure(
            "stopped before the end; what was written is consistent, run again to finish",
        ));
    }
    Ok(())
}

/// Runs [`mdm_mapping::sync::run_with`] with progress bars on a terminal
/// (pages and records per source, then batches applied; nothing on a
/// pipe), passing every event on to `on_event`.
pub async fn sync_with_progress<S: Store + ?Sized>(
    sources: &[Box<dyn DeviceSource>],
    store: &S,
    config: &Config,
    options: &SyncOptions,
    progress: bool,
    mut on_event: impl FnMut(&SyncEvent<'_>),
) -> Result<SyncOutcome, CliError> {
    let mut bars = Progress::new(progress);
    let outcome = sync::run_with(sources, store, config, options, |event| {
        bars.show(&event);
        on_event(&event);
    })
    .await;
    bars.finish();
    outcome.map_err(|e| match e {
        SyncError::Config(_) => CliError::input(e.to_string()),
        e => CliError::failure(e.to_string()),
    })
}

/// Progress bars fed by the engine's events. Hidden unless asked for, and
/// indicatif draws nothing when stderr is not a terminal.
struct Progress {
    on: bool,
    bars: MultiProgress,
    source: Option<ProgressBar>,
    writing: Option<ProgressBar>,
}

impl Progress {
    fn new(on: bool) -> Self {
        let bars = MultiProgress::new();
        if !on {
            bars.set_draw_target(ProgressDrawTarget::hidden());
        }
        Progress {
            on,
            bars,
            source: None,
            writing: None,
        }
    }

    fn show(&mut self, event: &SyncEvent<'_>) {
        if !self.on {
            return;
        }
        match event {
            SyncEvent::SourceStarted { source, .. } => {
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix:>7} {pos} records, {msg} ({per_sec})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(source.to_string());
                bar.set_message("0 pages");
                self.source = Some(bar);
            }
            SyncEvent::PageRead { records, .. } => {
                if let Some(bar) = &self.source {
                    bar.inc(*records as u64);
                    let pages = bar.message().trim_end_matches(" pages").parse::<u64>();
                    bar.set_message(format!("{} pages", pages.unwrap_or(0) + 1));
                }
            }
            SyncEvent::SourceDone { .. } => {
                if let Some(bar) = self.source.take() {
                    bar.finish();
                }
            }
            SyncEvent::SourceFailed { error, .. } => {
                if let Some(bar) = self.source.take() {
                    bar.abandon_with_message(format!("failed: {error}"));
                }
            }
            SyncEvent::Writing { records } => {
                let bar = self.bars.add(ProgressBar::new(*records as u64));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} records written, {msg} ({eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message("0 batches");
                self.writing = Some(bar);
            }
            SyncEvent::Batch { records, .. } => {
                if let Some(bar) = &self.writing {
                    bar.inc(*records as u64);
                    let batches = bar.message().trim_end_matches(" batches").parse::<u64>();
                    bar.set_message(format!("{} batches", batches.unwrap_or(0) + 1));
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.source.take() {
            bar.abandon();
        }
        if let Some(bar) = self.writing.take() {
            bar.finish_and_clear();
        }
    }
}

/// The users gone from their source's user directory whose employees are
/// kept: a title line and a table, for `--format table`.
pub fn users_gone_table(gone: &[mdm_mapping::store::GoneUser]) -> String {
    let mut t = super::Table::new(["source", "user id", "email", "employee", "name"]);
    for g in gone {
        t.row([
            g.source.as_str(),
            g.user_id.as_str(),
            g.email.as_str(),
            g.employee.as_str(),
            g.employee_name.as_str(),
        ]);
    }
    format!(
        "{} users gone from their user directory (their employees are kept, nothing is deleted):\n{t}",
        gone.len()
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_gone_table_names_the_user_and_the_employee() {
        let gone = [mdm_mapping::store::GoneUser {
            source: "jamf-eu".into(),
            user_id: "jamf-eu:42".into(),
            email: "ana@corp.example".into(),
            employee: "7".into(),
            employee_name: "Ana Díaz".into(),
        }];
        let text = users_gone_table(&gone);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("1 users gone"), "{text}");
        assert!(lines[0].contains("nothing is deleted"), "{text}");
        assert_eq!(
            lines[1],
            "source   user id     email             employee  name"
        );
        assert_eq!(
            lines[3],
            "jamf-eu  jamf-eu:42  ana@corp.example  7         Ana Díaz"
        );
    }
}
