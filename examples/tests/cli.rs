//! The `mdm` binary as a user runs it: exit codes, one-line errors, JSON shapes.

use std::path::Path;
use std::process::{Command, Output};

use mdm_examples::simulator::{FleetConfig, Simulator, SimulatorConfig};
use secrecy::ExposeSecret;

fn mdm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdm"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("mdm runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_one_line_failure(o: &Output, code: i32, mentions: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("mdm: "), "{err}");
    assert!(err.contains(mentions), "{err} should mention {mentions}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

const EMPTY_INVENTORY: &str = r#"{"assets":[],"employees":[]}"#;

#[test]
fn catalog_json_has_the_design_keys() {
    let o = mdm(&["catalog", "--vendor", "kandji", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json array");
    let rows = v.as_array().expect("array");
    assert!(rows.len() >= 26);
    for key in [
        "vendor",
        "entity",
        "name",
        "key",
        "json_path",
        "value_type",
        "description",
        "guidance",
        "unique",
        "recommendation",
    ] {
        assert!(rows.iter().all(|r| r.get(key).is_some()), "missing {key}");
    }
    assert!(rows.iter().all(|r| r["vendor"] == "kandji"));
    let device_name = rows
        .iter()
        .find(|r| r["name"] == "Device Name")
        .expect("Device Name");
    assert_eq!(device_name["recommendation"], "caution");
}

#[test]
fn plan_on_a_missing_file_exits_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let incoming = write(dir.path(), "in.jsonl", "");
    let o = mdm(&[
        "plan",
        "--existing",
        "/nonexistent/inventory.json",
        "--incoming",
        &incoming,
    ]);
    assert_one_line_failure(&o, 2, "/nonexistent/inventory.json");
    assert!(o.stdout.is_empty());
}

#[test]
fn plan_on_broken_json_exits_2_naming_the_place() {
    let dir = tempfile::tempdir().expect("tmp");
    let existing = write(
        dir.path(),
        "inv.json",
        r#"{"assets":[{"id":"a1","fields":{"#,
    );
    let incoming = write(dir.path(), "in.jsonl", "");
    let o = mdm(&["plan", "--existing", &existing, "--incoming", &incoming]);
    assert_one_line_failure(&o, 2, "inv.json");
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn plan_skips_records_without_identifier_and_bad_lines_with_reasons() {
    let dir = tempfile::tempdir().expect("tmp");
    let existing = write(dir.path(), "inv.json", EMPTY_INVENTORY);
    let incoming = write(
        dir.path(),
        "in.jsonl",
        concat!(
            r#"{"vendor":"jamf","entity":"mobile_device","source_id":"7","fields":{"model":"iPhone 15"}}"#,
            "\n",
            "this is not json\n",
            "\n",
            r#"{"vendor":"kandji","entity":"device","source_id":"d1","fields":{"serial_number":"C02XK1ABJG5H","model":"MacBook Air (M2, 2022)"}}"#,
            "\n"
        ),
    );
    let o = mdm(&[
        "plan",
        "--existing",
        &existing,
        "--incoming",
        &incoming,
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan json");
    let s = &plan["summary"];
    for key in [
        "create",
        "update",
        "unchanged",
        "conflict",
        "skip",
        "employee_create",
    ] {
        assert!(s[key].is_u64(), "summary.{key}");
    }
    assert_eq!(s["create"], 1);
    assert_eq!(s["skip"], 2);
    let reasons: Vec<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["action"] == "skip")
        .map(|a| a["reason"].as_str().unwrap_or_default())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("identifier")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("in.jsonl:2")),
        "{reasons:?}"
    );
    for a in plan["actions"].as_array().expect("actions") {
        for key in [
            "action",
            "sources",
            "target_id",
            "matched_on",
            "changes",
            "reason",
        ] {
            assert!(a.get(key).is_some(), "action without {key}: {a}");
        }
    }
}

#[test]
fn bad_usage_exits_2() {
    let o = mdm(&["devices", "--vendor", "intune"]);
    assert_eq!(o.status.code(), Some(2));
    let o = mdm(&["sync", "--db", "/tmp/never-created-by-mdm-tests.db"]);
    assert_one_line_failure(&o, 2, "no source configured");
    let o = mdm(&["devices", "--vendor", "jamf"]);
    assert_one_line_failure(&o, 2, "JAMF_URL");
}

#[test]
fn insecure_url_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_mdm"))
        .args(["devices", "--vendor", "kandji"])
        .env_clear()
        .env("KANDJI_URL", "http://acme.api.kandji.io")
        .env("KANDJI_TOKEN", "00000000-1111-2222-3333-444444444444")
        .output()
        .expect("runs");
    assert_one_line_failure(&o, 2, "http");
    assert!(
        !stderr(&o).contains("00000000-1111"),
        "token leaked: {}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_jsonl_prints_one_record_per_simulated_jamf_device() {
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 150,
            seed: 21,
            ..FleetConfig::default()
        },
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator");
    let counts = sim.fleet().counts();
    let creds = sim.credentials();
    let jamf_url = sim.jamf_url();
    let id = creds.jamf_client_id.clone();
    let secret = creds.jamf_client_secret.expose_secret().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mdm"))
            .args(["devices", "--vendor", "jamf", "--format", "jsonl"])
            .env_clear()
            .env("JAMF_URL", jamf_url)
            .env("JAMF_CLIENT_ID", id)
            .env("JAMF_CLIENT_SECRET", &secret)
            .output()
            .map(|o| (o, secret))
    })
    .await
    .expect("join")
    .expect("mdm runs");
    let (o, secret) = out;
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout.clone()).expect("utf-8");
    let mut ids = std::collections::BTreeSet::new();
    for line in text.lines() {
        let d: mdm_mapping::SourceDevice =
            serde_json::from_str(line).expect("each line is a record");
        assert_eq!(d.vendor, mdm_mapping::Vendor::Jamf);
        assert!(
            ids.insert((d.entity, d.source_id.clone())),
            "repeated {line}"
        );
    }
    assert_eq!(
        ids.len(),
        counts.jamf_computers + counts.jamf_mobile_devices
    );
    assert!(!text.contains(&secret) && !stderr(&o).contains(&secret));
    sim.shutdown().await;
}

/// `mdm sync` prints the plan as it applies it, batch by batch: one JSON
/// object in the design's shape whose actions add up to its summary, the
/// same plan `--dry-run` prints first; and as a table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_prints_the_plan_it_applies_as_json_and_as_a_table() {
    let sim = Simulator::start(SimulatorConfig {
        fleet: FleetConfig {
            devices: 120,
            seed: 5,
            ..FleetConfig::default()
        },
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator");
    let creds = sim.credentials();
    let kandji_url = sim.kandji_url();
    let token = creds.kandji_token.expose_secret().to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    let run = move |extra: &'static [&'static str]| {
        let (url, token, db) = (kandji_url.clone(), token.clone(), db.clone());
        move || {
            let mut args = vec!["sync", "--db", db.as_str(), "--source", "kandji"];
            args.extend_from_slice(extra);
            Command::new(env!("CARGO_BIN_EXE_mdm"))
                .args(&args)
                .env_clear()
                .env("KANDJI_URL", url)
                .env("KANDJI_TOKEN", token)
                .output()
                .expect("mdm runs")
        }
    };
    let json = |o: &Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", stderr(o));
        serde_json::from_slice(&o.stdout).expect("one JSON object")
    };
    let dry = json(
        &tokio::task::spawn_blocking(run(&["--dry-run", "--format", "json"]))
            .await
            .expect("join"),
    );
    let wet = json(
        &tokio::task::spawn_blocking(run(&["--format", "json"]))
            .await
            .expect("join"),
    );
    let summary = &wet["summary"];
    let actions = wet["actions"].as_array().expect("actions");
    let count = |k: &str| actions.iter().filter(|a| a["action"] == k).count() as u64;
    assert!(summary["create"].as_u64().unwrap_or(0) > 50, "{summary}");
    for k in ["create", "update", "unchanged", "conflict", "skip"] {
        assert_eq!(summary[k].as_u64(), Some(count(k)), "{k}");
    }
    assert_eq!(wet["summary"], dry["summary"]);
    assert_eq!(wet["actions"], dry["actions"]);
    for k in ["employees", "likely_duplicates", "lifecycle"] {
        assert!(wet[k].is_array(), "{k}: {wet}");
    }
    // Again, as a table: everything is up to date now.
    let o = tokio::task::spawn_blocking(run(&["--format", "table"]))
        .await
        .expect("join");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("create 0  update 0  unchanged "), "{text}");
}

/// `mdm simulate` stopped by SIGTERM (what `kill`, `timeout` or a service
/// manager sends), not only by Ctrl-C, exits 0 and removes the ABM private
/// key it wrote to the temp directory.
#[cfg(unix)]
#[test]
fn simulate_stopped_by_sigterm_removes_its_key_file() {
    use std::io::BufRead as _;
    use std::process::Stdio;
    use std::time::Duration;

    let mut child = Command::new(env!("CARGO_BIN_EXE_mdm"))
        .args(["simulate", "--devices", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mdm simulate starts");
    // Kept open until it has stopped: what it prints after the exports
    // must not meet a closed pipe.
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let key = (&mut stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("export ABM_PRIVATE_KEY='")
                .and_then(|rest| rest.strip_suffix('\''))
                .map(std::path::PathBuf::from)
        })
        .expect("the export block names the key file");
    assert!(key.exists(), "{} written", key.display());

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM sent");
    // Waited for on a thread, so a simulator that ignores SIGTERM fails the
    // test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        (child, status)
    });
    let stopped = rx.recv_timeout(Duration::from_secs(30)).is_ok();
    if !stopped {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    let (_, status) = waiter.join().expect("waiter");
    assert!(stopped, "mdm simulate did not stop on SIGTERM");
    drop(stdout);
    let status = status.expect("waited");
    assert!(status.success(), "mdm simulate ended with {status}");
    assert!(!key.exists(), "{} left behind", key.display());
}
