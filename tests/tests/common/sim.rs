//! The vendor simulator, started in the test's process.

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};

/// A loopback simulator over a fleet of `devices` physical devices.
pub async fn simulator(devices: usize, seed: u64) -> Simulator {
    Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices,
            seed,
            ..FleetConfig::default()
        },
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}
