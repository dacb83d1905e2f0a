//! The `mdm` command line, as a library so tests can drive it.
//!
//! The contract (subcommands, flags, JSON shapes, exit codes) is fixed by the
//! project design; see the README.

pub mod access;
mod catalog;
pub mod check;
pub mod config;
pub mod dedupe;
pub mod demo;
pub mod devices;
pub mod health;
mod history;
mod output;
pub mod plan;
mod schedule;
pub mod sources;
pub mod sync;

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mdm_mapping::Vendor;

pub use output::Table;

/// `mdm`: pull Apple device inventory from Jamf Pro, Kandji and ABM/ASM into
/// an asset inventory without duplicates.
#[derive(Debug, Parser)]
#[command(name = "mdm", version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The configuration file [env: MDM_CONFIG] (default: ./mdm.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// No credentials: start the simulator, sync all three sources into ./mdm-demo.db, print the summary.
    Demo(DemoArgs),
    /// List one source's devices as normalized records.
    Devices(DevicesArgs),
    /// List the field catalog.
    Catalog(CatalogArgs),
    /// Plan an upsert of records into an inventory file, touching nothing.
    Plan(PlanArgs),
    /// Sync sources into a SQLite inventory.
    Sync(SyncArgs),
    /// Serve the simulated vendor APIs on loopback.
    Simulate(SimulateArgs),
    /// Find assets that are the same device and merge them (with --apply).
    Dedupe(DedupeArgs),
    /// The sync runs the inventory remembers, newest first.
    History(HistoryArgs),
    /// Write or validate the configuration file (mdm.toml).
    Config(ConfigArgs),
    /// Identifier health of the sources' records: which identifier to match on.
    Health(HealthArgs),
    /// Test each source's connection, credentials and privileges (reads one record per endpoint).
    Check(CheckArgs),
    /// Jamf Pro's access model (accounts, groups, sites, privilege sets) as one document.
    Access(AccessArgs),
}

/// `mdm access`.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The Jamf source: a name from the configuration file, or `jamf`
    /// (default: the one Jamf source configured).
    #[arg(long = "source", value_name = "NAME")]
    pub source: Option<String>,
    /// Output format (the JSON document is described in the README).
    #[arg(long, value_enum, default_value = "json")]
    pub format: DocFormat,
    #[command(flatten)]
    /// Endpoint and credential overrides.
    pub creds: CredentialArgs,
}

/// `mdm check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A source to check (repeat for several): a name from the
    /// configuration file or a vendor. Default: every configured source.
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DocFormat,
    #[command(flatten)]
    /// Endpoint and credential overrides.
    pub creds: CredentialArgs,
}

/// `mdm health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// A source to read (repeat for several): a name from the configuration
    /// file or a vendor. Default: every configured source.
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Output format (the JSON document is described in the README).
    #[arg(long, value_enum, default_value = "table")]
    pub format: DocFormat,
    /// The share of records (0 to 1) an identifier must be filled on to be recommended.
    #[arg(long, default_value_t = mdm_mapping::advice::DEFAULT_MIN_FILL_RATE, value_parser = fill_rate)]
    pub min_fill_rate: f64,
    /// Duplicated values listed per identifier.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    #[command(flatten)]
    /// Endpoint and credential overrides.
    pub creds: CredentialArgs,
}

fn fill_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number from 0 to 1")),
    }
}

/// `mdm config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// What to do with the file.
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// `mdm config init|check`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented template with every key, its default and what it does.
    Init {
        /// Where to write it (default: --config, else ./mdm.toml).
        path: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate the file and print the effective configuration, secrets redacted.
    Check,
}

/// A vendor name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VendorArg {
    /// Jamf Pro.
    Jamf,
    /// Kandji (Iru).
    Kandji,
    /// Apple Business Manager / Apple School Manager.
    Abm,
}

impl From<VendorArg> for Vendor {
    fn from(v: VendorArg) -> Self {
        match v {
            VendorArg::Jamf => Vendor::Jamf,
            VendorArg::Kandji => Vendor::Kandji,
            VendorArg::Abm => Vendor::Abm,
        }
    }
}

/// Output format for lists of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// One JSON object per line.
    Jsonl,
    /// A human-readable table.
    Table,
}

/// Output format for documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    /// JSON.
    Json,
    /// A human-readable table.
    Table,
}

/// `mdm demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The inventory to write: a SQLite file or a postgres:// URL.
    #[arg(long, default_value = "mdm-demo.db")]
    pub db: String,
    /// Physical devices in the simulated fleet.
    #[arg(long, default_value_t = 500)]
    pub devices: usize,
}

/// `mdm devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Which source.
    #[arg(long, value_enum)]
    pub vendor: VendorArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ListFormat,
    #[command(flatten)]
    /// Endpoint and credential overrides.
    pub creds: CredentialArgs,
}

/// `mdm catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Only this vendor's fields.
    #[arg(long, value_enum)]
    pub vendor: Option<VendorArg>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: DocFormat,
}

/// `mdm plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The inventory: `{"assets":[...],"employees":[...]}`.
    #[arg(long)]
    pub existing: PathBuf,
    /// Incoming records, one `SourceDevice` JSON object per line.
    #[arg(long)]
    pub incoming: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: DocFormat,
}

/// `mdm sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The inventory: a SQLite file (created on first use) or a
    /// postgres:// URL (`?schema=NAME`, `sslmode=require`, … ).
    /// Overrides `db` in the configuration file.
    #[arg(long, env = "MDM_DATABASE_URL", hide_env_values = true)]
    pub db: Option<String>,
    /// A source to read (repeat for several): a source's name in the
    /// configuration file (`jamf-eu`), or a vendor (`jamf`, `kandji`,
    /// `abm`) for each of its sources. Default: every source of the
    /// configuration file, else every source with credentials in the environment.
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Plan only: print what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DocFormat,
    /// Which rows the table shows: `changes` (the first 20 rows that change
    /// something, then "and N more"), `all`, or `none` (the summary line).
    /// JSON always holds every action.
    #[arg(long, value_enum, default_value = "changes")]
    pub show: plan::Show,
    /// Read every source in full this time (incremental syncs read only
    /// what changed where the vendor allows it: Jamf). Only a full reading
    /// reports devices gone from a source.
    #[arg(long)]
    pub full: bool,
    /// Records and assets planned and written per transaction.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: u64,
    #[command(flatten)]
    /// Endpoint and credential overrides.
    pub creds: CredentialArgs,
    /// Sync again and again, every DURATION (`24h`, `30m`, `1h 30m`) until
    /// stopped. Runs never overlap, across processes too (the inventory's
    /// run lock); SIGTERM or Ctrl-C finishes the batch in hand and exits 0;
    /// a failed run is logged and retried sooner (1 minute, doubling, at
    /// most DURATION).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub every: Option<std::time::Duration>,
    /// With --every: each start is delayed by a random part of this, so
    /// that many schedules do not fire at once. Default: a tenth of
    /// --every, at most 5 minutes.
    #[arg(long, value_parser = humantime::parse_duration, requires = "every")]
    pub jitter: Option<std::time::Duration>,
}

/// `mdm history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The inventory: a SQLite file or a postgres:// URL.
    #[arg(long, env = "MDM_DATABASE_URL", hide_env_values = true)]
    pub db: String,
    /// How many runs, newest first.
    #[arg(long, default_value_t = 10)]
    pub last: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DocFormat,
}

/// `mdm dedupe`.
#[derive(Debug, Args)]
pub struct DedupeArgs {
    /// The inventory: a SQLite file or a postgres:// URL.
    #[arg(long, env = "MDM_DATABASE_URL", hide_env_values = true)]
    pub db: String,
    /// Merge the groups found (one transaction per group). Without it,
    /// only the merge plan is printed.
    #[arg(long)]
    pub apply: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DocFormat,
}

/// `mdm simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Physical devices in the simulated fleet.
    #[arg(long, default_value_t = 500)]
    pub devices: usize,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests that fail (429, 503, reset, expired token), 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Chaos mode: answer with broken paging (lying totals, ignored offsets,
    /// repeated or cycling cursors, empty pages mid-listing) and extreme
    /// numbers, deterministically for SEED.
    #[arg(long, value_name = "SEED")]
    pub chaos: Option<u64>,
    /// Seed of the generated fleet: different seeds give fleets with
    /// different devices (several tenants).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Jamf ids start after this number (a second simulated Jamf server
    /// whose ids do not overlap the first's).
    #[arg(long, default_value_t = 0)]
    pub jamf_first_id: u32,
    /// Deny a privilege, named as the vendor's console names it
    /// ("Read Users", "Device list", "orgDevices", ...): its endpoints answer
    /// the vendor's 403. Repeatable.
    #[arg(long = "deny", value_name = "NAME")]
    pub deny: Vec<String>,
    /// Hide an ABM rate limit of N API requests a minute (a token bucket
    /// with a burst of 3): over it, Apple's 429 with Retry-After.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub abm_limit_per_minute: Option<u32>,
    /// Enforce Kandji's limits (50 requests a second, 10,000 an hour): over
    /// them, Kandji's 429 with Retry-After.
    #[arg(long)]
    pub kandji_limits: bool,
}

/// Endpoint and credential flags; each overrides its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct CredentialArgs {
    /// Jamf Pro base URL [env: JAMF_URL].
    #[arg(long)]
    pub jamf_url: Option<String>,
    /// Kandji API base URL [env: KANDJI_URL].
    #[arg(long)]
    pub kandji_url: Option<String>,
    /// ABM/ASM API base URL [env: ABM_URL].
    #[arg(long)]
    pub abm_url: Option<String>,
    /// ABM/ASM token URL [env: ABM_TOKEN_URL].
    #[arg(long)]
    pub abm_token_url: Option<String>,
    /// Path to the ABM/ASM private key (.pem) [env: ABM_PRIVATE_KEY].
    #[arg(long)]
    pub abm_private_key: Option<PathBuf>,
}

/// A command failure: a one-line message and its exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// Bad usage or bad input (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }

    /// A failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the inner errors printed.
        f.write_str(&self.message.replace(['\n', '\r'], " "))
    }
}

impl std::error::Error for CliError {}

/// Sets up logging to stderr; `RUST_LOG` overrides the verbosity.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: logs piped to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// Runs one parsed command. However it ends, the sources it built are
/// then closed (a Jamf user token is invalidated) and the values they
/// dropped reported ([`sources::Sessions::finish`]).
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let sessions = sources::Sessions::default();
    let result = sessions
        .scope(async {
            let mut out = std::io::stdout().lock();
            match cli.command {
                Command::Catalog(args) => catalog::run(&args, &mut out),
                Command::Devices(args) => devices::run(&args, &mut out).await,
                Command::Plan(args) => plan::run(&args, &mut out),
                Command::Sync(args) => {
                    let setup = sync_setup(&args, cli.config.as_deref())?;
                    sync::run(&args, setup, &mut out).await
                }
                Command::Config(args) => config::run(&args, cli.config.as_deref(), &mut out),
                Command::Demo(args) => demo::run(&args, &mut out).await,
                Command::Dedupe(args) => dedupe::run(&args, &mut out).await,
                Command::History(args) => history::run(&args, &mut out).await,
                Command::Check(args) => {
                    let sources = configured(cli.config.as_deref(), &args.sources, &args.creds)?;
                    check::run(args.format, &sources, &mut out).await
                }
                Command::Access(args) => {
                    let wanted = [args.source.clone().unwrap_or_else(|| "jamf".into())];
                    let sources = configured(cli.config.as_deref(), &wanted, &args.creds)?;
                    access::run(args.format, &sources, &mut out).await
                }
                Command::Health(args) => {
                    let sources = configured(cli.config.as_deref(), &args.sources, &args.creds)?;
                    let sources = sources.into_iter().map(|c| c.source).collect();
                    health::run(&args, sources, &mut out).await
                }
                Command::Simulate(args) => {
                    drop(out);
                    demo::simulate(&args).await
                }
            }
        })
        .await;
    sessions.finish().await;
    result
}

/// The sources a command reads: those of the configuration file (each a
/// [`Named`](mdm_mapping::source::Named) source) whose name or vendor is
/// in `wanted` (all when `wanted` is empty); without a configuration file,
/// each vendor with credentials in the environment (or each vendor in
/// `wanted`).
pub(crate) fn select_sources(
    loaded: Option<&config::Loaded>,
    wanted: &[String],
    creds: &CredentialArgs,
) -> Result<Vec<Box<dyn mdm_mapping::DeviceSource>>, CliError> {
    Ok(select(loaded, wanted, creds)?
        .into_iter()
        .map(|c| c.source)
        .collect())
}

/// The sources `wanted` of the configuration file the command names
/// (`--config`, `MDM_CONFIG`, `./mdm.toml`), else of the environment: see
/// [`select`].
fn configured(
    config_path: Option<&std::path::Path>,
    wanted: &[String],
    creds: &CredentialArgs,
) -> Result<Vec<sources::Configured>, CliError> {
    let loaded = config::load_located(config_path)?;
    select(loaded.as_ref(), wanted, creds)
}

/// The sources of [`select_sources`], with each source's client and opt-ins.
pub(crate) fn select(
    loaded: Option<&config::Loaded>,
    wanted: &[String],
    creds: &CredentialArgs,
) -> Result<Vec<sources::Configured>, CliError> {
    let file_sources = loaded.map(|l| &l.file.sources).filter(|s| !s.is_empty());
    if let Some(named) = file_sources {
        for w in wanted {
            let known = named.contains_key(w) || w.parse::<Vendor>().is_ok();
            if !known {
                let names: Vec<&str> = named.keys().map(String::as_str).collect();
                let hint = config::nearest(w, &names)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(CliError::input(format!(
                    "--source {w}: no such source in the configuration file{hint}; its sources: {}",
                    names.join(", ")
                )));
            }
        }
        let mut built = Vec::new();
        for (name, s) in named {
            let vendor = s.vendor.map(Vendor::from);
            let chosen = wanted.is_empty()
                || wanted
                    .iter()
                    .any(|w| w == name || (vendor.is_some() && w.parse::<Vendor>().ok() == vendor));
            if chosen {
                built.push(config::build(name, s)?);
            }
        }
        return Ok(built);
    }
    let mut vendors = Vec::new();
    for w in wanted {
        let v: Vendor = w.parse().map_err(|_| {
            CliError::input(format!(
                "--source {w}: not a vendor (jamf, kandji, abm); source names come from a configuration file (mdm.toml), and none was found"
            ))
        })?;
        if !vendors.contains(&v) {
            vendors.push(v);
        }
    }
    if vendors.is_empty() {
        vendors = Vendor::ALL
            .into_iter()
            .filter(|v| sources::configured(*v, creds))
            .collect();
    }
    if vendors.is_empty() {
        return Err(CliError::input(
            "no source configured: set JAMF_URL, KANDJI_URL or ABM_CLIENT_ID (and their credentials), pass --source, or write mdm.toml (`mdm config init`)",
        ));
    }
    vendors.iter().map(|v| sources::build(*v, creds)).collect()
}

/// What `mdm sync` runs with: the inventory, the sources and the mapping,
/// from flags, environment and configuration file (in that precedence).
pub(crate) struct SyncSetup {
    db: String,
    sources: Vec<Box<dyn mdm_mapping::DeviceSource>>,
    mapping: mdm_mapping::upsert::Config,
    /// `--every`, else `[sync] schedule`.
    every: Option<std::time::Duration>,
    /// `--jitter`, else `[sync] jitter`.
    jitter: Option<std::time::Duration>,
    /// `[sync]`'s incremental policy (`--full` forces a full reading).
    incremental: Option<mdm_mapping::sync::Incremental>,
}

fn sync_setup(args: &SyncArgs, explicit: Option<&std::path::Path>) -> Result<SyncSetup, CliError> {
    let loaded = config::load_located(explicit)?;
    let db = args
        .db
        .clone()
        .or_else(|| loaded.as_ref().and_then(|l| l.file.db.clone()))
        .ok_or_else(|| {
            CliError::input(
                "no inventory: pass --db, set MDM_DATABASE_URL, or set `db` in mdm.toml",
            )
        })?;
    let sources = select_sources(loaded.as_ref(), &args.sources, &args.creds)?;
    let section = loaded
        .as_ref()
        .map(|l| l.file.sync.clone())
        .unwrap_or_default();
    let mapping = loaded.map(|l| l.mapping).unwrap_or_default();
    // A dry run is one run, whatever the file's schedule.
    let every = match args.every {
        Some(e) => Some(e),
        None if args.dry_run => None,
        None => config::SyncSection::duration(&section.schedule, "schedule")?,
    };
    let jitter = match args.jitter {
        Some(j) => Some(j),
        None => config::SyncSection::duration(&section.jitter, "jitter")?,
    };
    let mut incremental = section.incremental()?;
    if let Some(inc) = &mut incremental {
        inc.force_full = args.full;
    }
    Ok(SyncSetup {
        db,
        sources,
        mapping,
        every,
        jitter,
        incremental,
    })
}
