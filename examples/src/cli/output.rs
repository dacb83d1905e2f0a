//! Plain-text tables for `--format table`, and JSON documents for
//! `--format json`.

use std::fmt;
use std::io::Write;

use super::CliError;

/// Writes `doc` as one pretty-printed JSON document and a newline; `what`
/// names it in an error ("the report").
pub(super) fn write_json(
    out: &mut impl Write,
    doc: &impl serde::Serialize,
    what: &str,
) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(doc)
        .map_err(|e| CliError::failure(format!("cannot encode {what}: {e}")))?;
    writeln!(out, "{json}").map_err(|e| CliError::failure(format!("cannot write output: {e}")))
}

/// A simple left-aligned text table.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut r: Vec<String> = cells
            .into_iter()
            .map(|c| c.into().replace(['\n', '\r', '\t'], " "))
            .collect();
        r.resize(self.header.len(), String::new());
        self.rows.push(r);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.extend(std::iter::repeat_n(' ', w - c.chars().count()));
                }
            }
            writeln!(f, "{}", s.trim_end())
        };
        line(f, &self.header)?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(f, &rule)?;
        for r in &self.rows {
            line(f, r)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(["a", "long header"]);
        t.row(["wide cell", "x"]);
        t.row(["y"]);
        let s = t.to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "a          long header");
        assert_eq!(lines[2], "wide cell  x");
        assert_eq!(lines[3], "y");
    }
}
