//! `mdm plan`: what a sync would do to an inventory file, touching nothing.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use mdm_mapping::store::Inventory;
use mdm_mapping::upsert::{self, Action, ActionKind, Config, Plan};
use mdm_mapping::{DroppedValues, SourceDevice};

use super::{CliError, DocFormat, PlanArgs, Table};

pub(super) fn run(args: &PlanArgs, out: &mut impl Write) -> Result<(), CliError> {
    let inventory = read_inventory(&args.existing)?;
    let (incoming, bad) = read_incoming(&args.incoming)?;
    let mut plan = upsert::plan(&inventory, &incoming, &Config::default(), &[])
        .map_err(|e| CliError::input(format!("invalid configuration: {e}")))?;
    // Lines that are not records are skipped with their reason, like any bad record.
    for (line, reason) in bad {
        plan.actions.push(skip_line(&args.incoming, line, &reason));
        plan.summary.skip += 1;
    }
    print_plan(&plan, args.format, out)
}

fn skip_line(path: &Path, line: usize, reason: &str) -> Action {
    Action {
        action: ActionKind::Skip,
        sources: Default::default(),
        target_id: None,
        matched_on: None,
        changes: Default::default(),
        reason: format!("{}:{line}: {reason}", path.display()).into(),
        candidates: Vec::new(),
    }
}

/// The action's name as the JSON writes it.
pub fn action_name(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Create => "create",
        ActionKind::Update => "update",
        ActionKind::Unchanged => "unchanged",
        ActionKind::Conflict => "conflict",
        ActionKind::Skip => "skip",
    }
}

/// Reads `{"assets":[...],"employees":[...]}`.
pub fn read_inventory(path: &Path) -> Result<Inventory, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    Inventory::from_json(&text).map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

/// Lines of an incoming file that are not records: (1-based line number, reason).
pub type BadLines = Vec<(usize, String)>;

/// Reads one `SourceDevice` per line. Blank lines are ignored; a line that is
/// not a record is returned with its reason, so one bad line never aborts.
pub fn read_incoming(path: &Path) -> Result<(Vec<SourceDevice>, BadLines), CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    let mut devices = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line =
            line.map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<SourceDevice>(&line) {
            Ok(d) => devices.push(d),
            Err(e) => bad.push((i + 1, format!("not a device record: {e}"))),
        }
    }
    Ok((devices, bad))
}

/// Prints a plan as JSON or as a table.
pub fn print_plan(plan: &Plan, format: DocFormat, out: &mut impl Write) -> Result<(), CliError> {
    print_plan_dropped(plan, None, format, out)
}

/// Prints a plan as JSON or as a table, with the values the sources dropped
/// (a sync's): `"dropped": {"kandji.first_enrollment": 12}` in JSON,
/// `dropped: 12 values (kandji.first_enrollment: 12)` on the summary line.
pub fn print_plan_dropped(
    plan: &Plan,
    dropped: Option<&DroppedValues>,
    format: DocFormat,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    let encode = |e: serde_json::Error| CliError::failure(format!("cannot encode the plan: {e}"));
    match format {
        DocFormat::Json => {
            match dropped {
                None => serde_json::to_writer_pretty(&mut *out, plan).map_err(encode)?,
                Some(d) => {
                    // The plan's own key order, then `dropped` last.
                    let text = serde_json::to_string_pretty(plan).map_err(encode)?;
                    let body = text
                        .trim_end()
                        .strip_suffix('}')
                        .unwrap_or(&text)
                        .trim_end();
                    let dropped = serde_json::to_string(&d.to_json()).map_err(encode)?;
                    write!(out, "{body},\n  \"dropped\": {dropped}\n}}").map_err(io)?;
                }
            }
            writeln!(out).map_err(io)
        }
        DocFormat::Table => write!(
            out,
            "{}",
            render_table(&plan.summary, table_rows(&plan.actions), 0, dropped)
        )
        .map_err(io),
    }
}

/// The plan as a summary line and a table of the actions that do something.
pub fn plan_table(plan: &Plan) -> String {
    render_table(&plan.summary, table_rows(&plan.actions), 0, None)
}

/// One table row per action that does something.
/// Which rows of a plan a table shows (`--show`); JSON always holds every
/// action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Show {
    /// Every row that changes something.
    All,
    /// The first rows that change something (create, update, conflict,
    /// skip), then "and N more": a screenful, however large the fleet.
    #[default]
    Changes,
    /// The summary line only.
    None,
}

/// Rows a table shows with [`Show::Changes`].
pub const SHOWN_ROWS: usize = 20;

impl Show {
    /// How many rows to keep.
    fn limit(self) -> usize {
        match self {
            Show::All => usize::MAX,
            Show::Changes => SHOWN_ROWS,
            Show::None => 0,
        }
    }
}

fn table_rows(actions: &[Action]) -> Vec<[String; 5]> {
    let mut rows = Vec::new();
    for a in actions.iter().filter(|a| a.action != ActionKind::Unchanged) {
        let sources = a
            .sources
            .iter()
            .map(|r| format!("{}:{}", r.vendor, r.source_id))
            .collect::<Vec<_>>()
            .join(" ");
        let detail = if a.changes.is_empty() {
            a.reason.to_string()
        } else {
            let mut keys: Vec<String> = a.changes.iter().map(|(k, _)| k.to_string()).collect();
            if keys.len() > 6 {
                let more = keys.len() - 6;
                keys.truncate(6);
                keys.push(format!("+{more} more"));
            }
            keys.join(", ")
        };
        rows.push([
            action_name(a.action).to_string(),
            sources,
            a.target_id.as_deref().unwrap_or_default().to_string(),
            a.matched_on.as_deref().unwrap_or_default().to_string(),
            detail,
        ]);
    }
    rows
}

fn render_table(
    s: &upsert::Summary,
    rows: Vec<[String; 5]>,
    hidden: usize,
    dropped: Option<&DroppedValues>,
) -> String {
    let mut t = Table::new([
        "action",
        "sources",
        "target",
        "matched_on",
        "changes / reason",
    ]);
    let shown = rows.len();
    for r in rows {
        t.row(r);
    }
    let dropped = dropped
        .filter(|d| !d.is_empty())
        .map(|d| format!("  dropped: {}", d.summary()))
        .unwrap_or_default();
    let table = if shown == 0 && hidden > 0 {
        String::new()
    } else {
        format!("\n{t}")
    };
    let more = if hidden > 0 {
        format!("… and {hidden} more (--show all lists every row; --format json every action)\n")
    } else {
        String::new()
    };
    format!(
        "create {}  update {}  unchanged {}  conflict {}  skip {}  employee_create {}{dropped}\n{table}{more}",
        s.create, s.update, s.unchanged, s.conflict, s.skip, s.employee_create
    )
}

/// Prints a plan that arrives batch by batch (a sync in batches), holding
/// no action: as JSON, each action is written to a temporary file as it
/// comes and copied out at the end; as a table, only the rows are kept.
#[derive(Debug)]
pub struct PlanStream {
    format: DocFormat,
    spool: std::io::BufWriter<std::fs::File>,
    actions: usize,
    rows: Vec<[String; 5]>,
    show: Show,
    /// Rows not kept ([`Show`]).
    hidden: usize,
    /// A sync's users gone ([`with_users_gone`](Self::with_users_gone)).
    users_gone: Option<Vec<mdm_mapping::store::GoneUser>>,
    /// Employees not created because another holds their name
    /// ([`with_name_taken`](Self::with_name_taken)).
    name_taken: Option<Vec<(String, String)>>,
}

impl PlanStream {
    /// A printer for `format`, every row in a table.
    pub fn new(format: DocFormat) -> Result<PlanStream, CliError> {
        Self::showing(format, Show::All)
    }

    /// A printer for `format` whose table shows the rows `show` says (and
    /// holds only those).
    pub fn showing(format: DocFormat, show: Show) -> Result<PlanStream, CliError> {
        let file = tempfile::tempfile()
            .map_err(|e| CliError::failure(format!("cannot create a temporary file: {e}")))?;
        Ok(PlanStream {
            format,
            spool: std::io::BufWriter::new(file),
            actions: 0,
            rows: Vec::new(),
            show,
            hidden: 0,
            users_gone: None,
            name_taken: None,
        })
    }

    /// Adds a sync's users gone from their user directory to the JSON
    /// document (`"users_gone"`, last; see
    /// [`SyncOutcome::users_gone`](mdm_mapping::sync::SyncOutcome::users_gone)).
    /// A table leaves them to its caller.
    pub fn with_users_gone(mut self, gone: Vec<mdm_mapping::store::GoneUser>) -> Self {
        self.users_gone = Some(gone);
        self
    }

    /// Adds the employees a sync did not create because another employee
    /// took their name while it ran
    /// ([`ApplyReport::employees_name_taken`](mdm_mapping::upsert::ApplyReport::employees_name_taken)):
    /// `"employees_name_taken"` in the JSON (`[{"email", "holder"}]`), a
    /// line under a table's summary when there are any.
    pub fn with_name_taken(mut self, taken: Vec<(String, String)>) -> Self {
        self.name_taken = Some(taken);
        self
    }

    /// Takes one batch's actions.
    pub fn add(&mut self, actions: &[Action]) -> Result<(), CliError> {
        match self.format {
            DocFormat::Table => {
                for row in table_rows(actions) {
                    if self.rows.len() < self.show.limit() {
                        self.rows.push(row);
                    } else {
                        self.hidden += 1;
                    }
                }
            }
            DocFormat::Json => {
                for a in actions {
                    let sep: &[u8] = if self.actions == 0 {
                        b"\n    "
                    } else {
                        b",\n    "
                    };
                    self.spool.write_all(sep).map_err(spool_error)?;
                    serde_json::to_writer(&mut self.spool, a)
                        .map_err(|e| CliError::failure(format!("cannot encode the plan: {e}")))?;
                    self.actions += 1;
                }
            }
        }
        Ok(())
    }

    /// Prints the plan: `rest`'s summary, employees, likely duplicates and
    /// lifecycle events (its actions are ignored) with every action added.
    pub fn finish(self, rest: &Plan, out: &mut impl Write) -> Result<(), CliError> {
        self.finish_dropped(rest, None, out)
    }

    /// [`finish`](Self::finish), with the values the sources dropped (see
    /// [`print_plan_dropped`]).
    pub fn finish_dropped(
        self,
        rest: &Plan,
        dropped: Option<&DroppedValues>,
        out: &mut impl Write,
    ) -> Result<(), CliError> {
        self.finish_with(rest, dropped, 0, out)
    }

    /// [`finish_dropped`](Self::finish_dropped), saying how many writes lost
    /// a race with another sync and were planned again (`"retried"` in the
    /// JSON, a line under the table's summary when there were any).
    pub fn finish_with(
        self,
        rest: &Plan,
        dropped: Option<&DroppedValues>,
        retried: usize,
        out: &mut impl Write,
    ) -> Result<(), CliError> {
        let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
        match self.format {
            DocFormat::Table => {
                let table = render_table(&rest.summary, self.rows, self.hidden, dropped);
                let taken = self.name_taken.as_ref().map_or(0, Vec::len);
                let mut notes = String::new();
                if retried > 0 {
                    notes.push_str(&format!(
                        "re-planned {retried} writes another sync got to first\n"
                    ));
                }
                if taken > 0 {
                    notes.push_str(&format!(
                        "{taken} employees not created: another sync created an employee of the same name meanwhile (the next sync reports them as likely duplicates)\n"
                    ));
                }
                if notes.is_empty() {
                    return write!(out, "{table}").map_err(io);
                }
                // Under the summary line, before the rows.
                let (first, rows) = table.split_once('\n').unwrap_or((table.as_str(), ""));
                write!(out, "{first}\n{notes}{rows}").map_err(io)
            }
            DocFormat::Json => {
                let encode = |e: serde_json::Error| {
                    CliError::failure(format!("cannot encode the plan: {e}"))
                };
                let mut file = self
                    .spool
                    .into_inner()
                    .map_err(|e| spool_error(e.into_error()))?;
                write!(out, "{{\n  \"summary\": ").map_err(io)?;
                serde_json::to_writer(&mut *out, &rest.summary).map_err(encode)?;
                write!(out, ",\n  \"actions\": [").map_err(io)?;
                use std::io::Seek;
                file.seek(std::io::SeekFrom::Start(0))
                    .map_err(spool_error)?;
                std::io::copy(&mut file, out).map_err(io)?;
                write!(out, "{}]", if self.actions == 0 { "" } else { "\n  " }).map_err(io)?;
                // The other parts in key order, each written as it is
                // encoded: a large fleet's likely duplicates would take
                // several times their size as one `serde_json::Value`.
                let mut part = |key: &str, value: &dyn erased::Encode| -> Result<(), CliError> {
                    write!(out, ",\n  \"{key}\": ").map_err(io)?;
                    value.encode(&mut *out).map_err(encode)
                };
                if let Some(d) = dropped {
                    part("dropped", &d.to_json())?;
                }
                part("employees", &rest.employees)?;
                if let Some(taken) = &self.name_taken {
                    let taken: Vec<serde_json::Value> = taken
                        .iter()
                        .map(
                            |(email, holder)| serde_json::json!({"email": email, "holder": holder}),
                        )
                        .collect();
                    part("employees_name_taken", &taken)?;
                }
                part("lifecycle", &rest.lifecycle)?;
                part("likely_duplicates", &rest.likely_duplicates)?;
                part("retried", &retried)?;
                if let Some(gone) = &self.users_gone {
                    part("users_gone", gone)?;
                }
                writeln!(out, "\n}}").map_err(io)
            }
        }
    }
}

fn spool_error(e: std::io::Error) -> CliError {
    CliError::failure(format!("cannot write the plan to a temporary file: {e}"))
}

/// Encoding a value of any `Serialize` type through one `&dyn`.
mod erased {
    /// A value that writes itself as JSON.
    pub trait Encode {
        /// Writes the value as compact JSON.
        fn encode(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()>;
    }

    impl<T: serde::Serialize> Encode for T {
        fn encode(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
            serde_json::to_writer(out, self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Employees a sync did not create because another took their name
    /// meanwhile are in the JSON, and under a table's summary.
    #[test]
    fn employees_whose_name_was_taken_are_reported() {
        let taken = vec![("bo@example.com".to_string(), "employee 7".to_string())];
        let mut json = Vec::new();
        PlanStream::new(DocFormat::Json)
            .unwrap()
            .with_name_taken(taken.clone())
            .finish(&Plan::default(), &mut json)
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            doc["employees_name_taken"],
            serde_json::json!([{"email": "bo@example.com", "holder": "employee 7"}])
        );
        let mut table = Vec::new();
        PlanStream::new(DocFormat::Table)
            .unwrap()
            .with_name_taken(taken)
            .finish(&Plan::default(), &mut table)
            .unwrap();
        let table = String::from_utf8(table).unwrap();
        let second = table.lines().nth(1).unwrap_or_default();
        assert!(
            second.starts_with(
                "1 employees not created: another sync created an employee of the same name"
            ),
            "{table}"
        );
        // Nothing taken: no key, no line.
        let mut json = Vec::new();
        PlanStream::new(DocFormat::Json)
            .unwrap()
            .finish(&Plan::default(), &mut json)
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert!(doc.get("employees_name_taken").is_none(), "{doc}");
    }
}
