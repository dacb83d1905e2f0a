//! What `mdm sync` prints: a screenful by default, however large the
//! fleet; every row on request; the summary alone on request.

#[allow(dead_code)]
#[path = "../../tests/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::sim::{Env, env_for, simulator};

fn sync(env: &Env, db: &str, extra: &[&str]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mdm"));
    c.args(["sync", "--db", db]).args(extra).env_clear();
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    let out = c
        .env("MDM_CLIENT_RATE_LIMITS", "off")
        .output()
        .expect("mdm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_of_2000_devices_prints_a_screenful_by_default() {
    let sim = simulator(2000, 53).await;
    let physical = sim.fleet().counts().physical_devices;
    let env = env_for(&sim);
    let dir = tempfile::tempdir().expect("tmp");
    let db = |name: &str| dir.path().join(name).display().to_string();

    let default = sync(&env, &db("default.db"), &[]);
    let lines: Vec<&str> = default.lines().collect();
    assert!(lines.len() <= 30, "{} lines:\n{default}", lines.len());
    assert!(
        lines[0].starts_with(&format!("create {physical}  ")),
        "{default}"
    );
    let more = lines.last().expect("a last line");
    let hidden: usize = more
        .strip_prefix("… and ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'and N more' line: {default}"));
    let shown = lines
        .iter()
        .filter(|l| l.starts_with("create ") && l.len() > 7 && !l.contains("  update "))
        .count();
    assert_eq!(shown, 20, "{default}");
    assert!(hidden + shown >= physical, "{default}");

    let all = sync(&env, &db("all.db"), &["--show", "all"]);
    assert!(all.lines().count() > physical, "--show all lists every row");
    assert!(!all.contains("… and "), "nothing hidden with --show all");

    let none = sync(&env, &db("none.db"), &["--show", "none"]);
    assert!(none.lines().count() <= 2, "{none}");
    assert!(none.starts_with(&format!("create {physical}  ")), "{none}");

    // A dry run plans without creating the inventory's file.
    let dry = db("dry.db");
    let planned = sync(&env, &dry, &["--dry-run"]);
    assert!(
        planned.starts_with(&format!("create {physical}  ")),
        "{planned}"
    );
    assert!(planned.lines().count() <= 30, "{planned}");
    assert!(!std::path::Path::new(&dry).exists());
}
