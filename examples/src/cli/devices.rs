//! `mdm devices`: one source's devices as normalized records.

use std::io::Write;

use futures::StreamExt;
use mdm_mapping::{DeviceSource, SourceDevice};

use super::{CliError, DevicesArgs, ListFormat, Table, sources};

pub(super) async fn run(args: &DevicesArgs, out: &mut impl Write) -> Result<(), CliError> {
    let source = sources::build(args.vendor.into(), &args.creds)?.source;
    // Records go out in many small writes (each key and value); through
    // a locked stdout each write would look for a newline and each line
    // be written on its own. Buffered, a page goes out in large writes,
    // and each page is still flushed as soon as it is written.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let count = write_devices(source.as_ref(), args.format, &mut out).await?;
    tracing::info!(vendor = %source.vendor(), count, "listed devices");
    Ok(())
}

/// Streams every record of `source` to `out`, one page in memory at a time.
/// Returns how many records were written.
pub async fn write_devices(
    source: &dyn DeviceSource,
    format: ListFormat,
    out: &mut impl Write,
) -> Result<usize, CliError> {
    let mut pages = source.pages(None);
    let mut table = Table::new(["entity", "source_id", "serial_number", "model", "assignee"]);
    let mut count = 0usize;
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CliError::failure(e.to_string()))?;
        // Each record is dropped once written.
        for d in page.devices {
            count += 1;
            match format {
                ListFormat::Jsonl => {
                    serde_json::to_writer(&mut *out, &d)
                        .map_err(|e| CliError::failure(format!("cannot encode a record: {e}")))?;
                    writeln!(out).map_err(io)?;
                }
                ListFormat::Table => table.row(table_row(&d)),
            }
        }
        out.flush().map_err(io)?;
    }
    if format == ListFormat::Table {
        write!(out, "{table}").map_err(io)?;
        writeln!(out, "{count} records").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(count)
}

fn table_row(d: &SourceDevice) -> [String; 5] {
    let text = |k: &str| d.fields.get(k).map(|v| v.to_string()).unwrap_or_default();
    let model = ["model", "device_model"]
        .iter()
        .map(|k| text(k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let who = d
        .assignee
        .as_ref()
        .and_then(|a| a.email.clone().or_else(|| a.full_name.clone()))
        .unwrap_or_default();
    [
        d.entity.to_string(),
        d.source_id.clone(),
        text("serial_number"),
        model,
        who,
    ]
}
