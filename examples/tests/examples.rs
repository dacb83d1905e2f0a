//! The programs under `examples/examples/` run against the simulator and
//! print what the fleet holds. `cargo test` builds them (a run of only this
//! test file does not: `cargo build -p mdm-examples --examples` first).

#[allow(dead_code)]
#[path = "../../tests/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::sim::{Env, env_for, simulator};

/// `target/debug/examples/NAME`, beside this test's own `deps/` directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build -p mdm-examples --examples` (cargo test builds it)",
        path.display()
    );
    path
}

fn run(name: &str, env: &Env, args: &[&str]) -> Output {
    let mut c = Command::new(example(name));
    c.args(args).env_clear();
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{name} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_programs_read_the_simulated_fleet() {
    let sim = simulator(120, 31).await;
    let counts = sim.fleet().counts();
    let env = env_for(&sim);
    let dir = tempfile::tempdir().expect("tmp");

    let list = stdout(&run("list_jamf", &env, &[]));
    assert!(
        list.starts_with(&format!(
            "{} computers, {} mobile devices\n",
            counts.jamf_computers, counts.jamf_mobile_devices
        )),
        "{list}"
    );

    let three = stdout(&run("three_vendors", &env, &[]));
    let jamf = counts.jamf_computers + counts.jamf_mobile_devices;
    let all = jamf + counts.kandji_devices + counts.abm_devices;
    assert!(
        three.contains(&format!("   jamf: {jamf} records")),
        "{three}"
    );
    assert!(
        three.contains(&format!("    all: {all} records")),
        "{three}"
    );

    // One asset already in the inventory, with a Jamf device's serial.
    let serial = list
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("a device line")
        .to_string();
    let inventory = dir.path().join("inventory.json");
    std::fs::write(
        &inventory,
        format!(
            r#"{{"assets":[{{"id":"a1","fields":{{"serial_number":"{serial}"}}}}],"employees":[]}}"#
        ),
    )
    .expect("write");
    let planned = run("plan_json", &env, &[&inventory.display().to_string()]);
    let plan: serde_json::Value = serde_json::from_slice(&planned.stdout).expect("plan JSON");
    let summary = &plan["summary"];
    assert_eq!(
        summary["update"].as_u64().unwrap_or(0) + summary["unchanged"].as_u64().unwrap_or(0),
        1,
        "{summary}"
    );
    assert!(
        summary["create"].as_u64().expect("create") >= 1,
        "{summary}"
    );

    let file = dir.path().join("custom.json");
    let custom = stdout(&run("custom_store", &env, &[&file.display().to_string()]));
    let lines: Vec<&str> = custom.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"the store keeps the Store contract"),
        "{custom}"
    );
    let created: usize = lines[1]
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .expect("first sync counts");
    assert!(created > 0, "{custom}");
    assert!(
        lines[2].starts_with("second sync: create 0  update 0  unchanged"),
        "{custom}"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("json");
    assert_eq!(stored["assets"].as_array().map(Vec::len), Some(created));
}
