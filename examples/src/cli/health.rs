//! `mdm health`: the identifier health report on the sources' real data,
//! per source and record kind, with the identifier to match on. Reads
//! only; writes nothing.
//!
//! The JSON document (`--format json`) is stable; fields are only ever
//! added:
//!
//! ```json
//! {
//!   "version": 1,
//!   "min_fill_rate": 0.95,
//!   "complete": true,
//!   "sources": [
//!     {
//!       "source": "jamf-eu", "vendor": "jamf", "records": 1200,
//!       "complete": true, "error": null,
//!       "reports": [
//!         {
//!           "vendor": "jamf", "entity": "computer", "records": 1000, "ignored": 0,
//!           "min_fill_rate": 0.95, "recommended": "serial_number",
//!           "summary": "Use serial_number: ...",
//!           "keys": [
//!             {"rank": 1, "key": "serial_number", "name": "Serial Number",
//!              "recommendation": "recommended", "records": 1000, "filled": 998,
//!              "fill_rate": 0.998, "missing": 2, "placeholders": 1, "invalid": 0,
//!              "distinct": 997, "duplicate_values": 1, "duplicate_records": 2,
//!              "duplicates": [{"value": "C02XK1ABJG5H", "records": 2, "record_ids": ["12", "40"]}],
//!              "usable": false}
//!           ]
//!         }
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! A source that fails part way is reported with what it read and
//! `"complete": false` and its `error`; the command then exits 1.

use std::io::Write;

use futures::StreamExt as _;
use mdm_mapping::advice::{HealthOptions, HealthReport, HealthTally};
use mdm_mapping::{DeviceSource, Entity, Vendor};
use serde::Serialize;

use super::{CliError, DocFormat, HealthArgs};

/// The version of the JSON document.
pub const HEALTH_JSON_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct HealthDocument {
    /// [`HEALTH_JSON_VERSION`].
    pub version: u32,
    /// The fill rate an identifier needs to be recommended.
    pub min_fill_rate: f64,
    /// Every source was read to its end.
    pub complete: bool,
    /// One entry per source, in the order read.
    pub sources: Vec<SourceHealth>,
}

/// One source's reports.
#[derive(Debug, Serialize)]
pub struct SourceHealth {
    /// The source's name (`jamf-eu`; the vendor's name for an unnamed source).
    pub source: String,
    /// Its vendor.
    pub vendor: Vendor,
    /// Records read.
    pub records: usize,
    /// The source was read to its end.
    pub complete: bool,
    /// Why it was not, if it was not.
    pub error: Option<String>,
    /// One report per record kind the vendor has (Jamf: computers and
    /// mobile devices), in a fixed order, kinds without records left out.
    pub reports: Vec<HealthReport>,
}

/// The record kinds of a vendor's device listing, in report order.
fn kinds(vendor: Vendor) -> &'static [Entity] {
    match vendor {
        Vendor::Jamf => &[Entity::Computer, Entity::MobileDevice],
        Vendor::Kandji | Vendor::Abm => &[Entity::Device],
    }
}

/// Reads `source` to its end (or its first error) and tallies every record.
pub async fn source_health(source: &dyn DeviceSource, options: HealthOptions) -> SourceHealth {
    let vendor = source.vendor();
    let mut tallies: Vec<(Entity, HealthTally)> = kinds(vendor)
        .iter()
        .map(|e| (*e, HealthTally::new(vendor, *e).with_options(options)))
        .collect();
    let mut records = 0usize;
    let mut error = None;
    let mut pages = source.pages(None);
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                records += page.devices.len();
                for d in &page.devices {
                    if let Some((_, t)) = tallies.iter_mut().find(|(e, _)| *e == d.entity) {
                        t.add_device(d);
                    }
                }
            }
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    SourceHealth {
        source: source.name().to_owned(),
        vendor,
        records,
        complete: error.is_none(),
        error,
        reports: tallies
            .iter()
            .map(|(_, t)| t.report())
            .filter(|r| r.records > 0)
            .collect(),
    }
}

pub(super) async fn run(
    args: &HealthArgs,
    sources: Vec<Box<dyn DeviceSource>>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let options = HealthOptions {
        min_fill_rate: args.min_fill_rate,
        max_examples: args.examples,
    };
    let mut doc = HealthDocument {
        version: HEALTH_JSON_VERSION,
        min_fill_rate: options.min_fill_rate,
        complete: true,
        sources: Vec::new(),
    };
    for s in &sources {
        let h = source_health(s.as_ref(), options).await;
        doc.complete &= h.complete;
        doc.sources.push(h);
    }
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    match args.format {
        DocFormat::Json => {
            super::output::write_json(out, &doc, "the report")?;
        }
        DocFormat::Table => {
            for s in &doc.sources {
                writeln!(
                    out,
                    "== {} ({}, {} records)\n",
                    s.source, s.vendor, s.records
                )
                .map_err(io)?;
                for r in &s.reports {
                    writeln!(out, "{r}").map_err(io)?;
                }
                if let Some(e) = &s.error {
                    writeln!(out, "{}: read stopped part way: {e}\n", s.source).map_err(io)?;
                } else if s.reports.is_empty() {
                    writeln!(out, "{}: no records\n", s.source).map_err(io)?;
                }
            }
        }
    }
    if doc.complete {
        Ok(())
    } else {
        let failed: Vec<&str> = doc
            .sources
            .iter()
            .filter(|s| !s.complete)
            .map(|s| s.source.as_str())
            .collect();
        Err(CliError::failure(format!(
            "health: {} could not be read in full; the report covers what was read",
            failed.join(", ")
        )))
    }
}
