//! `mdm dedupe`: find assets that are the same device and merge them.

use std::io::Write;

use mdm_mapping::upsert::{Config, DedupePlan, apply_dedupe, find_duplicates};

use super::sync::{open_store, open_store_for_reading, redact_db};
use super::{CliError, DedupeArgs, DocFormat, Table};

pub(super) async fn run(args: &DedupeArgs, out: &mut impl Write) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    let store = if args.apply {
        open_store(&args.db).await?
    } else {
        open_store_for_reading(&args.db).await?
    };
    let config = Config::default();
    let inventory = store
        .load()
        .await
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", redact_db(&args.db))))?;
    let plan = find_duplicates(&inventory, &config);
    let report = if args.apply && !plan.groups.is_empty() {
        Some(apply_dedupe(&plan, &*store, &config).await.map_err(|e| {
            CliError::failure(format!("dedupe stopped: {e}; run it again to go on"))
        })?)
    } else {
        None
    };
    match args.format {
        DocFormat::Json => {
            let mut doc = serde_json::to_value(&plan)
                .map_err(|e| CliError::failure(format!("cannot encode the plan: {e}")))?;
            doc["summary"] = serde_json::json!({
                "assets": inventory.assets.len(),
                "groups": plan.groups.len(),
                "assets_to_remove": plan.removals(),
            });
            doc["applied"] = serde_json::json!(report.is_some());
            if let Some(r) = &report {
                doc["result"] = serde_json::json!({
                    "merged": r.merged,
                    "removed": r.removed,
                    "skipped": r.skipped.iter().map(|(g, e)| serde_json::json!({"survivor": g, "reason": e.to_string()})).collect::<Vec<_>>(),
                });
            }
            serde_json::to_writer_pretty(&mut *out, &doc)
                .map_err(|e| CliError::failure(format!("cannot encode the plan: {e}")))?;
            writeln!(out).map_err(io)?;
        }
        DocFormat::Table => print_table(&plan, inventory.assets.len(), out).map_err(io)?,
    }
    if let Some(r) = &report {
        if args.format == DocFormat::Table {
            writeln!(
                out,
                "Merged {} groups: removed {} assets ({}).",
                r.merged,
                r.removed.len(),
                r.removed.join(", ")
            )
            .map_err(io)?;
        }
        if let Some((g, e)) = r.skipped.first() {
            return Err(CliError::failure(format!(
                "{} groups not merged (first: survivor {g}: {e}); run mdm dedupe again",
                r.skipped.len()
            )));
        }
    } else if args.format == DocFormat::Table && !plan.groups.is_empty() {
        writeln!(
            out,
            "Nothing written. Run with --apply to merge these groups."
        )
        .map_err(io)?;
    }
    Ok(())
}

fn print_table(plan: &DedupePlan, assets: usize, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} assets; {} devices with several assets; {} assets to merge away",
        assets,
        plan.groups.len(),
        plan.removals()
    )?;
    if plan.groups.is_empty() {
        return Ok(());
    }
    let mut t = Table::new([
        "survivor",
        "duplicates",
        "matched on",
        "survivor gains",
        "dropped",
    ]);
    for g in &plan.groups {
        t.row([
            g.survivor.clone(),
            g.duplicates.join(", "),
            g.matched_on
                .iter()
                .map(|c| format!("{} {}", c.field, c.value))
                .collect::<Vec<_>>()
                .join(", "),
            g.changes
                .iter()
                .map(|(f, v)| format!("{f}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            g.dropped
                .iter()
                .map(|d| format!("{}.{}={} (kept {})", d.asset, d.field, d.value, d.kept))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    write!(out, "{t}")
}
