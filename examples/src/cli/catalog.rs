//! `mdm catalog`.

use std::io::Write;

use mdm_mapping::catalog::{self, FieldSpec};

use super::{CatalogArgs, CliError, DocFormat, Table};

pub(super) fn run(args: &CatalogArgs, out: &mut impl Write) -> Result<(), CliError> {
    let fields: Vec<&FieldSpec> = match args.vendor {
        Some(v) => catalog::for_vendor(v.into()).collect(),
        None => catalog::all().iter().collect(),
    };
    let text = match args.format {
        DocFormat::Json => serde_json::to_string_pretty(&fields)
            .map_err(|e| CliError::failure(format!("cannot encode the catalog: {e}")))?,
        DocFormat::Table => {
            let mut t = Table::new(["vendor", "entity", "name", "key", "type", "recommendation"]);
            for f in &fields {
                let ty = serde_json::to_value(f.value_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                t.row([
                    f.vendor.to_string(),
                    f.entity.to_string(),
                    f.name.to_string(),
                    f.key.to_string(),
                    ty,
                    f.recommendation.to_string(),
                ]);
            }
            t.to_string()
        }
    };
    writeln!(out, "{}", text.trim_end())
        .map_err(|e| CliError::failure(format!("cannot write output: {e}")))
}
