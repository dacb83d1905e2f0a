//! `mdm devices` and `mdm sync`, as real processes of the built binary,
//! against the simulator in chaos mode (broken paging, extreme numbers) for
//! many seeds: every run ends within a bounded number of requests (read
//! from the simulator's counters), exits 0 or 1 (never 101, a panic), and
//! says in one line why when it gives up.
//!
//! Seeds that once failed are in [`REGRESSIONS`] and run first.

use std::path::Path;
use std::process::{Command, Output};

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
use mdm_mapping::Vendor;
use secrecy::ExposeSecret;

/// Seeds per vendor (beyond the regressions); `CHAOS_SEEDS=N` for more.
fn seeds() -> u64 {
    std::env::var("CHAOS_SEEDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(20)
}
/// Seeds that once failed, kept as regression tests (run first). Against
/// the `mdm` of the commit this branch started from (`mdm devices` with the
/// default page sizes, `mdm simulate --chaos SEED --devices 40`):
/// - 6, 7, 8: Jamf exited 101 ("overflow when adding duration to instant":
///   an OAuth `expires_in` of `i64::MAX`), and ABM's page task panicked on
///   the same lifetime;
/// - 0: the Jamf OAuth answer's `expires_in` (`u64::MAX`) was a decode error,
///   so no token and exit 1; 5: a `totalCount` of `"lots"` failed the page.
const REGRESSIONS: &[u64] = &[6, 7, 8, 0, 5];
const DEVICES: usize = 40;

/// The page size every listing uses (`MDM_PAGE_SIZE`), small so that the
/// small fleet spans several pages: 7 for Jamf and Kandji, three pages for
/// ABM (whose client keeps to Apple's 20 requests a minute after a burst of
/// 3: more pages would make the test wait in real time).
fn page(sim: &Simulator, vendor: Vendor) -> usize {
    match vendor {
        Vendor::Abm => sim.fleet().counts().abm_devices.div_ceil(3).max(1),
        _ => 7,
    }
}

fn env_for(sim: &Simulator, vendor: Vendor, key: &Path) -> Vec<(&'static str, String)> {
    let c = sim.credentials();
    let mut env = vec![("MDM_PAGE_SIZE", page(sim, vendor).to_string())];
    match vendor {
        Vendor::Jamf => {
            env.push(("JAMF_URL", sim.jamf_url()));
            env.push(("JAMF_CLIENT_ID", c.jamf_client_id.clone()));
            env.push((
                "JAMF_CLIENT_SECRET",
                c.jamf_client_secret.expose_secret().to_string(),
            ));
        }
        Vendor::Kandji => {
            env.push(("KANDJI_URL", sim.kandji_url()));
            env.push(("KANDJI_TOKEN", c.kandji_token.expose_secret().to_string()));
        }
        Vendor::Abm => {
            env.push(("ABM_URL", sim.abm_url()));
            env.push(("ABM_TOKEN_URL", sim.abm_token_url()));
            env.push(("ABM_CLIENT_ID", c.abm_client_id.clone()));
            env.push(("ABM_KEY_ID", c.abm_key_id.clone()));
            env.push(("ABM_PRIVATE_KEY", key.display().to_string()));
        }
    }
    env
}

fn mdm(args: &[&str], env: &[(&'static str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mdm"));
    cmd.args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("mdm runs")
}

/// What a run must do whatever the server said; `true` when it gave up
/// because the server's paging made no progress.
fn check(o: &Output, what: &str) -> bool {
    let err = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{what}: exit {code:?}, never a panic (101): {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    if code == Some(1) {
        let last = err.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("mdm: "),
            "{what}: a one-line reason: {err}"
        );
        assert!(last.len() > 20, "{what}: {last}");
    }
    err.contains("stopped the listing")
}

/// The most requests an honest listing of the fleet needs, doubled, plus
/// tokens and lookups: what a run may spend at most, whatever chaos does.
fn request_bound(sim: &Simulator, vendor: Vendor) -> u64 {
    let c = sim.fleet().counts();
    let listed = match vendor {
        Vendor::Jamf => c.jamf_computers + c.jamf_mobile_devices,
        Vendor::Kandji => c.kandji_devices,
        Vendor::Abm => c.abm_devices,
    };
    let pages = (listed / page(sim, vendor) + 3) as u64;
    2 * pages + 20
}

async fn run_seed(vendor: Vendor, seed: u64) -> (bool, bool) {
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: DEVICES,
            seed: 3,
            ..FleetConfig::default()
        },
        chaos: Some(seed),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("abm.pem");
    sim.write_abm_key(&key).expect("key");
    let env = env_for(&sim, vendor, &key);
    let bound = request_bound(&sim, vendor);
    let mode = sim.chaos_paging(vendor);
    let v = vendor.to_string();

    let devices = {
        let (env, v) = (env.clone(), v.clone());
        tokio::task::spawn_blocking(move || mdm(&["devices", "--vendor", &v], &env))
            .await
            .expect("join")
    };
    let what = format!("devices --vendor {v}, chaos seed {seed} ({mode:?})");
    let gave_up = check(&devices, &what);
    let used = sim.stats().vendor(vendor).requests;
    assert!(used <= bound, "{what}: {used} requests > {bound}");

    sim.reset_stats();
    let db = dir.path().join("inv.db").display().to_string();
    let sync = tokio::task::spawn_blocking(move || {
        mdm(
            &["sync", "--db", &db, "--source", &v, "--format", "json"],
            &env,
        )
    })
    .await
    .expect("join");
    let what = format!("sync --source {vendor}, chaos seed {seed} ({mode:?})");
    let sync_gave_up = check(&sync, &what);
    let used = sim.stats().vendor(vendor).requests;
    assert!(used <= bound, "{what}: {used} requests > {bound}");
    if sync.status.success() {
        let plan: serde_json::Value = serde_json::from_slice(&sync.stdout).expect("JSON");
        assert!(plan["dropped"].is_object(), "{what}: {plan}");
    }
    sim.shutdown().await;
    (gave_up, sync_gave_up)
}

async fn chaos_for(vendor: Vendor) {
    let mut gave_up = 0;
    let rest: Vec<u64> = (0..seeds()).filter(|s| !REGRESSIONS.contains(s)).collect();
    for &seed in REGRESSIONS.iter().chain(&rest) {
        let (a, b) = run_seed(vendor, seed).await;
        gave_up += usize::from(a) + usize::from(b);
    }
    // The seeds do break paging: some runs must have been stopped by a guard.
    assert!(
        gave_up > 0,
        "{vendor}: no run was stopped by a paging guard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_jamf() {
    chaos_for(Vendor::Jamf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kandji() {
    chaos_for(Vendor::Kandji).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_abm() {
    chaos_for(Vendor::Abm).await;
}

/// A Jamf user/password session is ended (`POST /api/v1/auth/invalidate-token`)
/// when `mdm` finishes, after a run that succeeded and after one that gave
/// up on a server whose paging went nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jamf_user_tokens_are_invalidated_when_mdm_ends_also_after_a_failure() {
    // Seed 7 breaks Jamf's paging (the page number is ignored).
    for (chaos, code) in [(None, 0), (Some(7), 1)] {
        let sim = Simulator::start(SimulatorConfig {
            fleet: FleetConfig {
                devices: DEVICES,
                seed: 3,
                ..FleetConfig::default()
            },
            chaos,
            ..SimulatorConfig::default()
        })
        .await
        .expect("simulator");
        if chaos.is_some() {
            assert_eq!(
                sim.chaos_paging(Vendor::Jamf),
                Some(mdm_examples::simulator::PagingChaos::IgnoreOffset)
            );
        }
        let c = sim.credentials();
        let env = vec![
            ("MDM_PAGE_SIZE", "7".to_string()),
            ("JAMF_URL", sim.jamf_url()),
            ("JAMF_USERNAME", c.jamf_username.clone()),
            ("JAMF_PASSWORD", c.jamf_password.expose_secret().to_string()),
        ];
        let o = tokio::task::spawn_blocking(move || mdm(&["devices", "--vendor", "jamf"], &env))
            .await
            .expect("join");
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let stats = sim.stats();
        let invalidated: u64 = stats
            .jamf
            .endpoints
            .iter()
            .filter(|(k, _)| k.contains("invalidate-token"))
            .map(|(_, n)| *n)
            .sum();
        assert_eq!(invalidated, 1, "{:?}", stats.jamf.endpoints);
        sim.shutdown().await;
    }
}

/// Values dropped because they could not be read are counted: on the sync
/// summary line, as `"dropped"` in the JSON outcome, and with `-v` a few
/// examples per field on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_reports_dropped_values_on_its_summary_line_and_in_json() {
    use mdm_examples::simulator::PagingChaos;
    // A seed whose Kandji paging is intact (its extreme dates remain).
    let seed = (0..50)
        .find(|s| {
            matches!(
                mdm_examples::simulator::Chaos::new(*s).paging(Vendor::Kandji),
                PagingChaos::Honest | PagingChaos::LyingTotal | PagingChaos::RepeatCursor
            )
        })
        .expect("a seed");
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 120,
            seed: 3,
            ..FleetConfig::default()
        },
        chaos: Some(seed),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("tmp");
    let env = env_for(&sim, Vendor::Kandji, &dir.path().join("unused.pem"));
    let db = dir.path().join("inv.db").display().to_string();
    let run = move |args: Vec<&'static str>| {
        let (env, db) = (env.clone(), db.clone());
        move || {
            let mut all = vec!["sync", "--db", db.as_str(), "--source", "kandji"];
            all.extend(args);
            mdm(&all, &env)
        }
    };
    let json = tokio::task::spawn_blocking(run(vec!["--dry-run", "--format", "json"]))
        .await
        .expect("join");
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let dropped = plan["dropped"].as_object().expect("a dropped object");
    assert!(!dropped.is_empty(), "{plan}");
    assert!(
        dropped.keys().all(|k| k.starts_with("kandji.")),
        "{dropped:?}"
    );
    assert!(dropped.values().all(|n| n.as_u64().unwrap_or(0) > 0));
    // The warning is logged once per field, with the total at the end.
    let err = String::from_utf8_lossy(&json.stderr);
    for field in dropped.keys() {
        let first = format!("field={field} ");
        assert_eq!(err.matches(&first).count(), 1, "{field}: {err}");
    }
    assert!(err.contains("dropped: "), "{err}");

    let table = tokio::task::spawn_blocking(run(vec!["--format", "table", "-v"]))
        .await
        .expect("join");
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let out = String::from_utf8_lossy(&table.stdout);
    let summary = out.lines().next().unwrap_or_default();
    assert!(summary.starts_with("create "), "{out}");
    assert!(summary.contains("  dropped: "), "{summary}");
    assert!(summary.contains(" values (kandji."), "{summary}");
    let err = String::from_utf8_lossy(&table.stderr);
    assert!(err.contains("values that could not be read"), "{err}");
    assert!(err.contains("examples="), "{err}");
    sim.shutdown().await;
}
