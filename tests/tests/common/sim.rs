//! The vendor simulator, started in the test's process.

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
use secrecy::ExposeSecret;

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

/// The environment `mdm` reads, pointing all three sources at `sim`.
pub struct Env {
    /// The variables and their values.
    pub vars: Vec<(&'static str, String)>,
    _key: tempfile::TempDir,
}

pub fn env_for(sim: &Simulator) -> Env {
    let creds = sim.credentials();
    let key = tempfile::tempdir().expect("tmp");
    let pem = key.path().join("abm.pem");
    std::fs::write(&pem, creds.abm_private_key_pem.expose_secret()).expect("key");
    Env {
        vars: vec![
            ("JAMF_URL", sim.jamf_url()),
            ("JAMF_CLIENT_ID", creds.jamf_client_id.clone()),
            (
                "JAMF_CLIENT_SECRET",
                creds.jamf_client_secret.expose_secret().to_string(),
            ),
            ("KANDJI_URL", sim.kandji_url()),
            (
                "KANDJI_TOKEN",
                creds.kandji_token.expose_secret().to_string(),
            ),
            ("ABM_CLIENT_ID", creds.abm_client_id.clone()),
            ("ABM_KEY_ID", creds.abm_key_id.clone()),
            ("ABM_PRIVATE_KEY", pem.display().to_string()),
            ("ABM_URL", sim.abm_url()),
            ("ABM_TOKEN_URL", sim.abm_token_url()),
        ],
        _key: key,
    }
}
