//! `mdm demo` and `mdm simulate`: the simulated vendors, end to end.

use std::io::Write;
use std::time::Duration;

use mdm_mapping::advice::{HealthOptions, HealthTally};
use mdm_mapping::upsert::Config;
use mdm_mapping::{DeviceSource, Entity, Vendor};
use secrecy::ExposeSecret;

use mdm_mapping::sync::{SyncEvent, SyncOptions, SyncOutcome};

use super::sync::{open_store, outcome_result, redact_db, summary_line, sync_with_progress};
use super::{CliError, DemoArgs, SimulateArgs, Table};
use crate::simulator::{FleetConfig, Simulator, SimulatorConfig};

/// The three sources, pointed at a running simulator with its credentials.
///
/// Client-side rate limits are off (the simulator is local); retries and
/// Jamf's concurrency limit stay as in production.
pub fn simulator_sources(sim: &Simulator) -> Result<Vec<Box<dyn DeviceSource>>, CliError> {
    let creds = sim.credentials();
    let fail = |what: &str, e: &dyn std::fmt::Display| CliError::failure(format!("{what}: {e}"));
    let jamf = jamf_client::Client::builder(sim.jamf_url())
        .client_credentials(
            creds.jamf_client_id.clone(),
            creds.jamf_client_secret.expose_secret().to_string(),
        )
        .build()
        .map_err(|e| fail("jamf", &e))?;
    let kandji = kandji_client::KandjiClient::builder()
        .base_url(sim.kandji_url())
        .token(creds.kandji_token.expose_secret().to_string())
        .rate_limits(kandji_client::RateLimits::unlimited())
        .build()
        .map_err(|e| fail("kandji", &e))?;
    let key = abm_client::PrivateKey::from_pem(creds.abm_private_key_pem.expose_secret())
        .map_err(|e| fail("abm key", &e))?;
    let abm = abm_client::AbmClient::builder(abm_client::Credentials::new(
        creds.abm_client_id.clone(),
        creds.abm_key_id.clone(),
        key,
    ))
    .base_url(sim.abm_url())
    .token_url(sim.abm_token_url())
    .rate_limit(None)
    .build()
    .map_err(|e| fail("abm", &e))?;
    Ok(vec![
        Box::new(abm.device_source()),
        Box::new(jamf.device_source(jamf_client::SourceOptions::default())),
        Box::new(kandji.device_source().with_user_active(true)),
    ])
}

pub(super) async fn run(args: &DemoArgs, out: &mut impl Write) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::failure(format!("cannot write output: {e}"));
    if args.devices == 0 {
        return Err(CliError::input("--devices must be at least 1"));
    }
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: args.devices,
            ..FleetConfig::default()
        },
        ..SimulatorConfig::default()
    })
    .await
    .map_err(|e| CliError::failure(format!("cannot start the simulator: {e}")))?;
    let counts = sim.fleet().counts();
    writeln!(
        out,
        "Simulated fleet: {} physical devices (ABM {}, Jamf {} computers + {} mobile, Kandji {}; {} in two or more sources)",
        counts.physical_devices,
        counts.abm_devices,
        counts.jamf_computers,
        counts.jamf_mobile_devices,
        counts.kandji_devices,
        counts.shared_devices
    )
    .map_err(io)?;

    let sources = simulator_sources(&sim)?;
    let store = open_store(&args.db).await?;
    // The identifier health report reads every record in full, as it is read.
    let kinds = [
        (Vendor::Jamf, Entity::Computer),
        (Vendor::Jamf, Entity::MobileDevice),
        (Vendor::Kandji, Entity::Device),
        (Vendor::Abm, Entity::Device),
    ];
    let mut tallies: Vec<HealthTally> = kinds
        .iter()
        .map(|(vendor, entity)| {
            HealthTally::new(*vendor, *entity).with_options(HealthOptions {
                max_examples: 1,
                ..HealthOptions::default()
            })
        })
        .collect();
    let options = SyncOptions {
        keep_actions: false,
        ..SyncOptions::default()
    };
    let observe = |event: &SyncEvent<'_>| {
        if let SyncEvent::Record(d) = event
            && let Some(i) = kinds
                .iter()
                .position(|(v, e)| *v == d.vendor && *e == d.entity)
            && let Some(tally) = tallies.get_mut(i)
        {
            tally.add_device(d);
        }
    };
    let outcome = sync_with_progress(
        &sources,
        &*store,
        &Config::default(),
        &options,
        true,
        observe,
    )
    .await?;
    sim.shutdown().await;
    let held = store
        .load_for_matching(&[])
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let (assets, employees) = (held.assets.len(), held.employees.len());

    write!(out, "\n{}", read_table(&outcome)).map_err(io)?;
    writeln!(out, "\nPlan: {}", summary_line(&outcome)).map_err(io)?;
    writeln!(
        out,
        "Inventory {}: {assets} assets (simulated: {} physical devices), {employees} employees",
        redact_db(&args.db),
        counts.physical_devices
    )
    .map_err(io)?;
    if outcome.plan.summary.create == 0 && outcome.plan.summary.update == 0 {
        writeln!(out, "Every device was already up to date: nothing written.").map_err(io)?;
    }
    writeln!(out, "\nIdentifier health").map_err(io)?;
    for ((vendor, entity), tally) in kinds.iter().zip(&tallies) {
        let report = tally.report();
        if report.records == 0 {
            continue;
        }
        writeln!(out, "\n{vendor} {entity}\n{report}").map_err(io)?;
    }
    outcome_result(&outcome)
}

fn read_table(o: &SyncOutcome) -> Table {
    let mut t = Table::new(["source", "records read"]);
    for r in &o.read {
        t.row([r.source.clone(), r.records.to_string()]);
    }
    t
}

pub(super) async fn simulate(args: &SimulateArgs) -> Result<(), CliError> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(CliError::input(format!(
            "--fault-rate must be between 0 and 1, got {}",
            args.fault_rate
        )));
    }
    if args.devices == 0 {
        return Err(CliError::input("--devices must be at least 1"));
    }
    let config = SimulatorConfig {
        fleet: FleetConfig {
            devices: args.devices,
            seed: args.seed.unwrap_or(FleetConfig::default().seed),
            jamf_first_id: args.jamf_first_id,
            ..FleetConfig::default()
        },
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        chaos: args.chaos,
        denied: args.deny.clone(),
        abm_limit_per_minute: args.abm_limit_per_minute,
        kandji_enforce_limits: args.kandji_limits,
        ..SimulatorConfig::default()
    };
    crate::simulator::run_forever(config, args.port)
        .await
        .map_err(|e| CliError::failure(format!("simulator: {e}")))
}
