//! `mdm history`: the runs the inventory remembers, and how `mdm sync`
//! records one.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use mdm_mapping::DroppedValues;
use mdm_mapping::store::{RunOutcome, RunRecord};
use mdm_mapping::sync::SyncOutcome;

use super::sync::open_store_for_reading;
use super::{CliError, DocFormat, HistoryArgs, Table};

/// Errors kept per run, at most.
const MAX_ERRORS: usize = 20;

/// The history row of a sync that started at `started` and ended now.
pub(super) fn record(
    started: DateTime<Utc>,
    sources: &[String],
    result: &Result<SyncOutcome, CliError>,
    dropped: &DroppedValues,
    requests: BTreeMap<String, u64>,
    learned_rates: BTreeMap<String, f64>,
) -> RunRecord {
    let mut run = RunRecord {
        id: 0,
        started,
        ended: Utc::now(),
        sources: sources.to_vec(),
        full: true,
        outcome: RunOutcome::Failed,
        read: BTreeMap::new(),
        counts: BTreeMap::new(),
        requests,
        learned_rates,
        dropped: dropped.counts(),
        errors: Vec::new(),
        users_gone: Vec::new(),
    };
    match result {
        Err(e) => run.errors.push(e.to_string()),
        Ok(o) => {
            run.outcome = if o.cancelled {
                RunOutcome::Cancelled
            } else if o.is_complete() {
                RunOutcome::Ok
            } else {
                RunOutcome::Failed
            };
            run.read = o
                .read
                .iter()
                .map(|r| (r.source.clone(), r.records as u64))
                .collect();
            run.full = o.read.iter().all(|r| r.full);
            let s = &o.plan.summary;
            run.counts = [
                ("create", s.create),
                ("update", s.update),
                ("unchanged", s.unchanged),
                ("conflict", s.conflict),
                ("skip", s.skip),
                ("employee_create", s.employee_create),
                ("retried", o.report.as_ref().map_or(0, |r| r.retried)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v as u64))
            .collect();
            run.errors
                .extend(o.source_errors.iter().map(|e| e.to_string()));
            if let Some(r) = &o.report {
                run.errors.extend(r.failures.iter().map(|f| f.to_string()));
            }
            run.errors.truncate(MAX_ERRORS);
            run.users_gone = o.users_gone.clone();
        }
    }
    run
}

pub(super) async fn run(args: &HistoryArgs, out: &mut impl Write) -> Result<(), CliError> {
    let store = open_store_for_reading(&args.db).await?;
    let runs = store
        .runs(args.last)
        .await
        .map_err(|e| CliError::failure(format!("cannot read the history: {e}")))?;
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    match args.format {
        DocFormat::Json => super::output::write_json(out, &runs, "the history"),
        DocFormat::Table => {
            let mut t = Table::new([
                "run",
                "started",
                "took",
                "outcome",
                "reading",
                "sources",
                "requests",
                "create",
                "update",
                "unchanged",
                "conflict",
                "users gone",
                "first error",
            ]);
            for r in &runs {
                let n = |k: &str| r.counts.get(k).copied().unwrap_or(0).to_string();
                let took = (r.ended - r.started).num_seconds().max(0);
                let mut error = r.errors.first().cloned().unwrap_or_default();
                if error.chars().count() > 60 {
                    error = error.chars().take(59).collect::<String>() + "…";
                }
                t.row([
                    r.id.to_string(),
                    r.started.format("%Y-%m-%d %H:%M:%S").to_string(),
                    format!("{took}s"),
                    r.outcome.to_string(),
                    if r.full { "full" } else { "incremental" }.to_string(),
                    r.sources.join(","),
                    r.requests.values().sum::<u64>().to_string(),
                    n("create"),
                    n("update"),
                    n("unchanged"),
                    n("conflict"),
                    r.users_gone.len().to_string(),
                    error,
                ]);
            }
            if runs.is_empty() {
                writeln!(
                    out,
                    "no runs recorded in {}",
                    super::sync::redact_db(&args.db)
                )
                .map_err(io)
            } else {
                write!(out, "{t}").map_err(io)
            }
        }
    }
}
