//! `mdm check` against the simulator: ready with the right credentials;
//! not ready, naming the problem and where to fix it, with a wrong secret
//! or a missing privilege; an optional privilege missing is reported but
//! does not fail the check.

mod common;

use common::{mdm, sim_env, simulator, stderr, stdout_json};
use serde_json::Value;

fn source<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["source"] == name))
        .unwrap_or_else(|| panic!("{name} in {doc}"))
}

fn privilege<'a>(source: &'a Value, name: &str) -> &'a Value {
    source["privileges"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{name} in {source}"))
}

fn problems(source: &Value) -> String {
    source["problems"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_with_the_right_credentials() {
    let sim = simulator(20, 1, &[]).await;
    let (_key, env) = sim_env(&sim);
    let o = mdm(&["check", "--format", "json"], &env).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = stdout_json(&o);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ready"], true, "{doc}");
    for name in ["jamf", "kandji", "abm"] {
        let s = source(&doc, name);
        assert_eq!(s["ready"], true, "{s}");
        assert_eq!(
            (&s["reachable"], &s["authenticated"]),
            (&Value::Bool(true), &Value::Bool(true))
        );
        assert_eq!(s["problems"], serde_json::json!([]), "{s}");
    }
    let jamf = source(&doc, "jamf");
    assert!(
        jamf["server_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("11.")),
        "{jamf}"
    );
    assert!(
        jamf["token_lifetime_seconds"]
            .as_u64()
            .is_some_and(|s| s > 0),
        "{jamf}"
    );
    for p in [
        "Read Computers",
        "Read Mobile Devices",
        "Read Users",
        "Read Buildings",
        "Read Departments",
    ] {
        assert_eq!(privilege(jamf, p)["status"], "present", "{p}");
        assert_eq!(privilege(jamf, p)["required"], true, "{p}");
    }
    assert!(
        source(&doc, "abm")["token_lifetime_seconds"]
            .as_u64()
            .is_some_and(|s| s > 0)
    );
    // The table says the same.
    let o = mdm(&["check"], &env).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("Read Computers") && table.contains("present"),
        "{table}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_fails_naming_the_credentials_and_where_to_fix_them() {
    let sim = simulator(20, 1, &[]).await;
    let (_key, mut env) = sim_env(&sim);
    let wrong = "not-the-secret-0123456789";
    for (k, v) in &mut env {
        if k == "JAMF_CLIENT_SECRET" {
            *v = wrong.to_owned();
        }
    }
    let o = mdm(&["check", "--source", "jamf", "--format", "json"], &env).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not ready: jamf"), "{}", stderr(&o));
    let doc = stdout_json(&o);
    assert_eq!(
        doc["sources"].as_array().map(Vec::len),
        Some(1),
        "--source jamf only"
    );
    let jamf = source(&doc, "jamf");
    assert_eq!(jamf["reachable"], true);
    assert_eq!(jamf["authenticated"], false);
    assert_eq!(jamf["ready"], false);
    let p = problems(jamf);
    assert!(
        p.contains("credentials were refused") && p.contains("API roles and clients"),
        "{p}"
    );
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(!all.contains(wrong), "the secret is never printed");
    sim.shutdown().await;
}

/// A missing privilege of each vendor fails the check for that source only,
/// naming the privilege and the place in the vendor's console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_privilege_fails_naming_it_and_where_to_grant_it() {
    let sim = simulator(20, 1, &["Read Computers", "Device list", "orgDevices"]).await;
    let (_key, env) = sim_env(&sim);
    let o = mdm(&["check", "--format", "json"], &env).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc = stdout_json(&o);
    assert_eq!(doc["ready"], false);
    for (name, privilege_name, place) in [
        (
            "jamf",
            "Read Computers",
            "Settings > System > API roles and clients",
        ),
        ("kandji", "Device list", "Settings > Access > API Token"),
        ("abm", "orgDevices", "Preferences > API"),
    ] {
        let s = source(&doc, name);
        assert_eq!(s["authenticated"], true, "{s}");
        assert_eq!(s["ready"], false, "{s}");
        assert_eq!(privilege(s, privilege_name)["status"], "missing", "{s}");
        let p = problems(s);
        assert!(
            p.contains(&format!("grant \\\"{privilege_name}\\\"")) && p.contains(place),
            "{name}: {p}"
        );
    }
    // The others are still present.
    assert_eq!(
        privilege(source(&doc, "jamf"), "Read Mobile Devices")["status"],
        "present"
    );
    sim.shutdown().await;
}

/// An optional privilege missing (Read Accounts, for `mdm access`) is
/// reported, and the source is still ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_privilege_missing_is_reported_but_ready() {
    let sim = simulator(20, 1, &["Read Accounts"]).await;
    let (_key, env) = sim_env(&sim);
    let o = mdm(&["check", "--source", "jamf", "--format", "json"], &env).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let jamf = source(&stdout_json(&o), "jamf").clone();
    assert_eq!(jamf["ready"], true);
    assert_eq!(privilege(&jamf, "Read Accounts")["status"], "missing");
    assert!(problems(&jamf).contains("optional"), "{jamf}");
    sim.shutdown().await;
}
