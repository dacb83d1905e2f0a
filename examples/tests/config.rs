//! `mdm.toml` end to end: the binary, a configuration file and simulators.
//! Several tenants of one vendor, the mapping's ownership and priority
//! settings, and the file's refusals (misspelled key, readable secret).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use common::{mdm, stderr, stdout_json};
use mdm_examples::simulator::Simulator;
use secrecy::ExposeSecret;

async fn simulator(devices: usize, seed: u64) -> Simulator {
    common::simulator(devices, seed, &[]).await
}

/// The JSON document of a run that succeeded.
fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    stdout_json(o)
}

/// A `[sources.NAME]` table for each vendor of `sim`, secrets by `*_env`;
/// the variables go into `env`.
fn jamf_source(name: &str, sim: &Simulator, env: &mut Vec<(String, String)>) -> String {
    let creds = sim.credentials();
    let var = format!("{}_SECRET", name.to_uppercase().replace('-', "_"));
    env.push((
        var.clone(),
        creds.jamf_client_secret.expose_secret().to_string(),
    ));
    format!(
        "[sources.{name}]\nvendor = \"jamf\"\nurl = \"{}\"\nclient_id = \"{}\"\nclient_secret_env = \"{var}\"\n\n",
        sim.jamf_url(),
        creds.jamf_client_id
    )
}

fn kandji_source(name: &str, sim: &Simulator, env: &mut Vec<(String, String)>) -> String {
    let var = format!("{}_TOKEN", name.to_uppercase().replace('-', "_"));
    env.push((
        var.clone(),
        sim.credentials().kandji_token.expose_secret().to_string(),
    ));
    format!(
        "[sources.{name}]\nvendor = \"kandji\"\nurl = \"{}\"\ntoken_env = \"{var}\"\n\n",
        sim.kandji_url()
    )
}

fn abm_source(name: &str, sim: &Simulator, dir: &Path) -> String {
    let key = dir.join(format!("{name}.pem"));
    sim.write_abm_key(&key).expect("key");
    let creds = sim.credentials();
    format!(
        "[sources.{name}]\nvendor = \"abm\"\nclient_id = \"{}\"\nkey_id = \"{}\"\nprivate_key_file = \"{}\"\nurl = \"{}\"\ntoken_url = \"{}\"\n\n",
        creds.abm_client_id,
        creds.abm_key_id,
        key.display(),
        sim.abm_url(),
        sim.abm_token_url()
    )
}

fn write_config(dir: &Path, text: &str) -> String {
    let p = dir.join("mdm.toml");
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

/// `field → value` of every asset, read from the SQLite inventory.
fn assets(db: &str) -> Vec<BTreeMap<String, serde_json::Value>> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare("SELECT asset_id, field, value FROM asset_fields ORDER BY asset_id")
        .expect("query");
    let mut by_asset: BTreeMap<i64, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .expect("rows");
    for row in rows {
        let (id, field, value) = row.expect("row");
        let value = serde_json::from_str(&value).expect("JSON value");
        by_asset.entry(id).or_default().insert(field, value);
    }
    by_asset.into_values().collect()
}

fn text(v: Option<&serde_json::Value>) -> Option<&str> {
    v.and_then(serde_json::Value::as_str)
}

/// Two Jamf tenants whose computers have the same Jamf ids (two
/// simulators, two fleets, ids from 1 in both), plus a Kandji and an ABM
/// source: every record is synced once, each tenant's `jamf_id` qualified
/// with its source name, no conflict, and a sync of one tenant reports
/// none of the other tenant's assets missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jamf_tenants_and_one_of_each_other_vendor_sync_every_record_once() {
    let eu = simulator(60, 101).await;
    let us = simulator(40, 202).await;
    let (ce, cu) = (eu.fleet().counts(), us.fleet().counts());
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    // The simulator is local: no client-side pacing (ABM starts at 20 a minute).
    let mut env = vec![("MDM_CLIENT_RATE_LIMITS".to_owned(), "off".to_owned())];
    let mut text_file = format!("db = \"{db}\"\n\n");
    text_file += &jamf_source("jamf-eu", &eu, &mut env);
    text_file += &jamf_source("jamf-us", &us, &mut env);
    text_file += &kandji_source("kandji", &eu, &mut env);
    text_file += &abm_source("abm", &eu, dir.path());
    // On missing devices, a status: the lifecycle check below sees it.
    text_file += "[mapping]\non_missing = \"missing\"\n";
    let config = write_config(dir.path(), &text_file);

    // The connection check reads the same file: four sources, all ready.
    let checked = json(&mdm(&["check", "--config", &config, "--format", "json"], &env).await);
    let names: Vec<&str> = checked["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["ready"] == true)
        .filter_map(|s| s["source"].as_str())
        .collect();
    assert_eq!(names, ["abm", "jamf-eu", "jamf-us", "kandji"], "{checked}");

    let first = json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    let s = &first["summary"];
    assert_eq!(s["conflict"], 0, "{s}");
    let all = assets(&db);
    let jamf_ids = |prefix: &str| {
        all.iter()
            .filter_map(|a| text(a.get("jamf_id")))
            .filter(|id| id.starts_with(prefix))
            .count()
    };
    // Every Jamf record of each tenant is planned exactly once, under its
    // qualified id: the same numeric ids in both tenants never met.
    let eu_jamf = ce.jamf_computers + ce.jamf_mobile_devices;
    let us_jamf = cu.jamf_computers + cu.jamf_mobile_devices;
    let mut planned: BTreeMap<String, usize> = BTreeMap::new();
    for a in first["actions"].as_array().expect("actions") {
        for r in a["sources"].as_array().into_iter().flatten() {
            if r["vendor"] == "jamf" {
                *planned
                    .entry(r["source_id"].as_str().unwrap_or("").to_owned())
                    .or_default() += 1;
            }
        }
    }
    // (Jamf numbers computers and mobile devices apart: an id may be both.)
    let planned_of = |p: &str| {
        planned
            .iter()
            .filter(|(id, _)| id.starts_with(p))
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert_eq!(planned_of("jamf-eu:"), eu_jamf);
    assert_eq!(planned_of("jamf-us:"), us_jamf);
    assert_eq!(planned_of(""), eu_jamf + us_jamf, "{planned:?}");
    // And the inventory holds each tenant's ids, qualified.
    assert!(jamf_ids("jamf-eu:") > 0 && jamf_ids("jamf-us:") > 0);
    assert_eq!(jamf_ids(""), jamf_ids("jamf-eu:") + jamf_ids("jamf-us:"));
    // The tenants' fleets are different devices: one asset per serial.
    let serials: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|a| text(a.get("serial_number")))
        .collect();
    assert_eq!(
        serials.len(),
        all.iter()
            .filter(|a| a.contains_key("serial_number"))
            .count(),
        "no serial on two assets"
    );
    // The Kandji and ABM records of the eu fleet joined its Jamf assets.
    let kandji_with_jamf = all
        .iter()
        .filter(|a| a.contains_key("kandji_id") && jamf_ids_of(a).starts_with("jamf-eu:"))
        .count();
    assert!(
        kandji_with_jamf > 0,
        "kandji records matched jamf-eu assets"
    );

    // The history names each source.
    let history = json(&mdm(&["history", "--db", &db, "--format", "json"], &env).await);
    let read = &history[0]["read"];
    assert_eq!(read["jamf-eu"], eu_jamf, "{history}");
    assert_eq!(read["jamf-us"], us_jamf, "{history}");

    // Again: nothing new, nothing missing.
    let again = json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    assert_eq!(again["summary"]["create"], 0, "{}", again["summary"]);
    assert_eq!(again["summary"]["conflict"], 0);
    assert_eq!(missing(&again), 0, "{}", again["lifecycle"]);

    // One tenant alone (by name): the other tenant's assets are not missing.
    let one = json(
        &mdm(
            &[
                "sync", "--config", &config, "--source", "jamf-us", "--format", "json",
            ],
            &env,
        )
        .await,
    );
    assert_eq!(missing(&one), 0, "{}", one["lifecycle"]);
    let history = json(&mdm(&["history", "--db", &db, "--format", "json"], &env).await);
    assert_eq!(history[0]["sources"], serde_json::json!(["jamf-us"]));

    // A misspelled source name is refused, with the nearest name.
    let o = mdm(&["sync", "--config", &config, "--source", "jamf-uss"], &env).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did you mean `jamf-us`"),
        "{}",
        stderr(&o)
    );

    eu.shutdown().await;
    us.shutdown().await;
}

/// The plan's `missing` lifecycle events.
fn missing(plan: &serde_json::Value) -> usize {
    plan["lifecycle"]
        .as_array()
        .map_or(0, |l| l.iter().filter(|e| e["event"] == "missing").count())
}

fn jamf_ids_of(a: &BTreeMap<String, serde_json::Value>) -> &str {
    text(a.get("jamf_id")).unwrap_or("")
}

/// Each ownership setting of `[mapping.fields.NAME]` changes the inventory
/// as the README says: after a person edits `device_name` in the
/// inventory, `source` puts the source's value back, `inventory` and
/// `fill_if_empty` keep the edit, `fill_if_empty` fills a value the
/// inventory lacks, and `ignore` never writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ownership_setting_changes_the_inventory_as_documented() {
    let sim = simulator(30, 7).await;
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    let mut env = Vec::new();
    let source = kandji_source("kandji", &sim, &mut env);
    let with = |ownership: &str| {
        let mut t = format!("db = \"{db}\"\n\n{source}[mapping]\n");
        if !ownership.is_empty() {
            t += &format!("[mapping.fields.device_name]\nownership = \"{ownership}\"\n");
        }
        write_config(dir.path(), &t)
    };
    let sync = |config: String| {
        let env = env.clone();
        async move { json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await) }
    };
    let edit = |value: Option<&str>| {
        let conn = rusqlite::Connection::open(&db).expect("open");
        match value {
            Some(v) => conn.execute(
                "UPDATE asset_fields SET value = ?1 WHERE field = 'device_name'",
                [serde_json::Value::from(v).to_string()],
            ),
            None => conn.execute("DELETE FROM asset_fields WHERE field = 'device_name'", []),
        }
        .expect("edit");
    };
    let names = || -> Vec<Option<String>> {
        assets(&db)
            .iter()
            .map(|a| text(a.get("device_name")).map(str::to_owned))
            .collect()
    };
    let edited = Some("Edited by hand".to_string());

    // ignore: never written, not even on create.
    sync(with("ignore")).await;
    assert!(names().iter().all(Option::is_none), "{:?}", names());
    // fill_if_empty: the inventory has none, so it is filled.
    sync(with("fill_if_empty")).await;
    assert!(names().iter().all(Option::is_some), "{:?}", names());
    let from_source = names();
    // ... and an edit is kept.
    edit(edited.as_deref());
    sync(with("fill_if_empty")).await;
    assert!(names().iter().all(|n| *n == edited));
    // inventory: the edit is kept too.
    sync(with("inventory")).await;
    assert!(names().iter().all(|n| *n == edited));
    // source (the default): the source's values come back.
    let p = sync(with("")).await;
    assert_eq!(names(), from_source);
    assert!(p["summary"]["update"].as_u64().unwrap_or(0) > 0);
    sim.shutdown().await;
}

/// `priority` decides which source's value a field takes when several have
/// one: a field of the user's own fed by the Jamf id and by the Kandji id
/// holds the Kandji id with `priority = ["kandji", "jamf"]`, and the Jamf
/// id with the order turned round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_decides_which_source_a_field_follows() {
    let sim = simulator(30, 8).await;
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db").display().to_string();
    let mut env = Vec::new();
    let sources = jamf_source("jamf", &sim, &mut env) + &kandji_source("kandji", &sim, &mut env);
    let with = |priority: &str| {
        write_config(
            dir.path(),
            &format!(
                "db = \"{db}\"\n\n{sources}[mapping.fields.origin]\nfrom = {{ jamf = \"jamf_pro_computer_id\", kandji = \"device_id\" }}\npriority = {priority}\n"
            ),
        )
    };
    let origins = || -> Vec<(String, String, String)> {
        assets(&db)
            .iter()
            .filter(|a| a.contains_key("jamf_id") && a.contains_key("kandji_id"))
            .map(|a| {
                (
                    jamf_ids_of(a).to_owned(),
                    text(a.get("kandji_id")).unwrap_or("").to_owned(),
                    text(a.get("origin")).unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let config = with("[\"kandji\", \"jamf\"]");
    json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    let both = origins();
    assert!(!both.is_empty(), "some devices are in Jamf and Kandji");
    for (_, kandji, origin) in &both {
        assert_eq!(origin, kandji);
    }
    let config = with("[\"jamf\", \"kandji\"]");
    json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    for (jamf, _, origin) in origins() {
        assert_eq!(origin, jamf);
    }
    sim.shutdown().await;
}

/// A misspelled key fails `mdm sync` and `mdm config check` alike, naming
/// the file, the line, the key and the nearest valid key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelled_key_names_file_line_key_and_suggestion() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = write_config(
        dir.path(),
        "db = \"inv.db\"\n\n[sources.jamf-eu]\nvendor = \"jamf\"\nurl = \"http://127.0.0.1:1\"\nclient_id = \"x\"\nclient_secert_env = \"JAMF_SECRET\"\n",
    );
    for args in [
        vec!["sync", "--config", config.as_str()],
        vec!["config", "check", "--config", config.as_str()],
    ] {
        let o = mdm(&args, &[]).await;
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains("mdm.toml"), "{err}");
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("client_secert_env"), "{err}");
        assert!(err.contains("client_secret_env"), "suggestion: {err}");
    }
}

/// A secret written inline in a file others can read is refused before
/// anything is read or written; the same file readable by its owner
/// alone syncs.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_secret_in_a_world_readable_file_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let sim = simulator(10, 9).await;
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("inv.db");
    let token = sim.credentials().kandji_token.expose_secret().to_string();
    let config = write_config(
        dir.path(),
        &format!(
            "db = \"{}\"\n\n[sources.kandji]\nvendor = \"kandji\"\nurl = \"{}\"\ntoken = \"{token}\"\n",
            db.display(),
            sim.kandji_url()
        ),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = mdm(&["sync", "--config", &config], &[]).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("token") && err.contains("chmod 600"), "{err}");
    assert!(!err.contains(&token), "the secret is not printed: {err}");
    assert!(!db.exists(), "nothing was written");

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let o = mdm(&["sync", "--config", &config, "--format", "json"], &[]).await;
    json(&o);
    assert!(db.exists());
    sim.shutdown().await;
}

/// The opt-in reads are turned on in the file: ABM's AppleCare coverage
/// and Activation Lock fill `warranty_expiration` and
/// `activation_lock_enabled`, which a sync without them leaves empty; an
/// opt-in of another vendor is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_in_reads_are_turned_on_in_the_file() {
    let sim = simulator(12, 4).await;
    let dir = tempfile::tempdir().expect("tmp");
    let env = vec![("MDM_CLIENT_RATE_LIMITS".to_owned(), "off".to_owned())];
    let filled =
        |db: &str, field: &str| assets(db).iter().filter(|a| a.contains_key(field)).count();
    let mut counts = Vec::new();
    for opt_ins in ["", "applecare = true\nactivation_lock = true\n"] {
        let db = dir
            .path()
            .join(format!("inv-{}.db", opt_ins.len()))
            .display()
            .to_string();
        let config = write_config(
            dir.path(),
            &format!(
                "db = \"{db}\"\n\n{}{opt_ins}",
                abm_source("abm", &sim, dir.path())
            ),
        );
        json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
        counts.push((
            filled(&db, "activation_lock_enabled"),
            filled(&db, "warranty_expiration"),
        ));
    }
    assert_eq!(counts[0], (0, 0), "off by default");
    assert!(counts[1].0 > 0 && counts[1].1 > 0, "{counts:?}");

    let mut env = Vec::new();
    let config = write_config(
        dir.path(),
        &format!("{}applecare = true\n", jamf_source("jamf", &sim, &mut env)),
    );
    let o = mdm(&["config", "check", "--config", &config], &env).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`applecare` applies to abm sources only"),
        "{}",
        stderr(&o)
    );
    sim.shutdown().await;
}

/// `users = true` on a Jamf source: every user of Jamf's user directory is
/// an employee (created, or reported as a likely duplicate when another
/// user has the name), a second sync creates none; without it the user
/// directory is never read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_true_upserts_the_user_directory_as_employees() {
    let sim = simulator(30, 7).await;
    let dir = tempfile::tempdir().expect("tmp");
    let users_requests = |sim: &Simulator| {
        sim.stats()
            .jamf
            .endpoints
            .iter()
            .filter(|(k, _)| k.contains("/api/v1/users") || k.contains("/JSSResource/users"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };

    // Off (the default): not one request to the user directory.
    let mut env = vec![("MDM_CLIENT_RATE_LIMITS".to_owned(), "off".to_owned())];
    let db = dir.path().join("off.db").display().to_string();
    let config = write_config(
        dir.path(),
        &format!("db = \"{db}\"\n\n{}", jamf_source("jamf", &sim, &mut env)),
    );
    json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    assert_eq!(users_requests(&sim), 0);

    // On: every Jamf user is an employee or a reported likely duplicate.
    let db = dir.path().join("on.db").display().to_string();
    let config = write_config(
        dir.path(),
        &format!(
            "db = \"{db}\"\n\n{}users = true\n",
            jamf_source("jamf", &sim, &mut env)
        ),
    );
    let plan = json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    assert!(users_requests(&sim) > 0);
    let fleet = sim.fleet();
    let mut expected: Vec<String> = fleet
        .jamf_users()
        .iter()
        .filter_map(|&u| fleet.user(u))
        .map(|u| u.email.clone())
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    let mut got: Vec<String> = plan["employees"]
        .as_array()
        .expect("employees")
        .iter()
        .filter(|e| e["action"] == "create")
        .chain(plan["likely_duplicates"].as_array().expect("likely"))
        .map(|e| e["email"].as_str().expect("email").to_owned())
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(got, expected);
    assert_eq!(
        plan["summary"]["employee_create"].as_u64(),
        Some(
            plan["employees"]
                .as_array()
                .expect("employees")
                .iter()
                .filter(|e| e["action"] == "create")
                .count() as u64
        )
    );
    // Again: nothing to create.
    let again = json(&mdm(&["sync", "--config", &config, "--format", "json"], &env).await);
    assert_eq!(again["summary"]["employee_create"], 0);

    // Not on an ABM source.
    let config = write_config(
        dir.path(),
        &format!("{}users = true\n", abm_source("abm", &sim, dir.path())),
    );
    let o = mdm(&["config", "check", "--config", &config], &env).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`users` applies to jamf and kandji sources only"),
        "{}",
        stderr(&o)
    );
    sim.shutdown().await;
}

/// The inventory's employees as (first name, last name, emails), read
/// from the SQLite file.
fn employees(db: &str) -> Vec<(String, String, Vec<String>)> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT e.id, e.first_name, e.last_name, m.email FROM employees e
             LEFT JOIN employee_emails m ON m.employee_id = e.id ORDER BY e.id, m.email",
        )
        .expect("query");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .expect("rows");
    let mut by_id: BTreeMap<i64, (String, String, Vec<String>)> = BTreeMap::new();
    for row in rows {
        let (id, first, last, email) = row.expect("row");
        let e = by_id.entry(id).or_insert((first, last, Vec::new()));
        e.2.extend(email);
    }
    by_id.into_values().collect()
}

/// `users = true`: a user removed from Jamf's user directory between two
/// syncs is reported once (`users_gone` in the sync's JSON and in `mdm
/// history`), and its employee stays in the inventory, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_gone_from_the_jamf_directory_is_reported_and_its_employee_kept() {
    let sim = simulator(30, 7).await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut env = vec![("MDM_CLIENT_RATE_LIMITS".to_owned(), "off".to_owned())];
    let db = dir.path().join("inv.db").display().to_string();
    let config = write_config(
        dir.path(),
        &format!(
            "db = \"{db}\"\n\n{}users = true\n",
            jamf_source("jamf", &sim, &mut env)
        ),
    );
    let sync = ["sync", "--config", &config, "--format", "json"];
    // The first read only remembers the directory.
    let first = json(&mdm(&sync, &env).await);
    assert_eq!(first["users_gone"], serde_json::json!([]));
    let created: Vec<&str> = first["employees"]
        .as_array()
        .expect("employees")
        .iter()
        .filter(|e| e["action"] == "create")
        .filter_map(|e| e["email"].as_str())
        .collect();
    // A Jamf user who became an employee leaves Jamf.
    let fleet = sim.fleet();
    let (id, email) = fleet
        .jamf_users()
        .iter()
        .enumerate()
        .filter_map(|(pos, &u)| fleet.user(u).map(|u| (pos as u32 + 1, u.email.clone())))
        .find(|(_, email)| created.contains(&email.as_str()))
        .expect("a Jamf user created as an employee");
    assert_eq!(sim.remove_jamf_users(&[id]), [id]);
    let before = employees(&db);
    let holder = |emps: &[(String, String, Vec<String>)]| {
        emps.iter()
            .find(|e| e.2.contains(&email))
            .cloned()
            .expect("the employee is in the inventory")
    };
    let (first_name, last_name, _) = holder(&before);

    let second = json(&mdm(&sync, &env).await);
    let gone = second["users_gone"].as_array().expect("users_gone");
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(gone[0]["source"], "jamf");
    assert_eq!(gone[0]["user_id"], id.to_string());
    assert_eq!(gone[0]["email"], email.as_str());
    assert_eq!(
        gone[0]["employee_name"],
        format!("{first_name} {last_name}").as_str()
    );
    assert!(gone[0]["employee"].as_str().is_some_and(|e| !e.is_empty()));
    // Nothing deleted, nothing changed.
    assert_eq!(second["summary"]["employee_create"], 0);
    assert_eq!(employees(&db), before);

    // The history keeps the report with the run.
    let history = json(&mdm(&["history", "--db", &db, "--format", "json"], &env).await);
    let runs = history.as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["users_gone"], second["users_gone"]);
    assert!(runs[1].get("users_gone").is_none(), "{}", runs[1]);
    let table = mdm(&["history", "--db", &db], &env).await;
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("users gone"),
        "{}",
        String::from_utf8_lossy(&table.stdout)
    );

    // Reported once.
    let third = json(&mdm(&sync, &env).await);
    assert_eq!(third["users_gone"], serde_json::json!([]));
    assert_eq!(employees(&db), before);
    sim.shutdown().await;
}

/// `users = true` on a Kandji source: every user of Kandji's user
/// directory (`GET /api/v1/users`) becomes an employee with its first
/// name, last name and email, or is reported as a likely duplicate when an
/// employee already has the name; a second sync creates none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_true_on_kandji_upserts_its_user_directory_as_employees() {
    let sim = simulator(30, 11).await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut env = vec![("MDM_CLIENT_RATE_LIMITS".to_owned(), "off".to_owned())];
    let users_requests = |sim: &Simulator| {
        sim.stats()
            .kandji
            .endpoints
            .iter()
            .filter(|(k, _)| k.contains("/api/v1/users"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let db = dir.path().join("inv.db").display().to_string();
    let config = write_config(
        dir.path(),
        &format!(
            "db = \"{db}\"\n\n{}users = true\n",
            kandji_source("kandji", &sim, &mut env)
        ),
    );
    let sync = ["sync", "--config", &config, "--format", "json"];
    let plan = json(&mdm(&sync, &env).await);
    assert!(users_requests(&sim) > 0);
    let fleet = sim.fleet();
    let users: BTreeMap<String, (&str, &str)> = fleet
        .kandji_users()
        .iter()
        .filter_map(|&u| fleet.user(u))
        .map(|u| (u.email.clone(), (u.first_name, u.last_name)))
        .collect();
    assert!(!users.is_empty());
    let emails = |key: &str, create_only: bool| -> Vec<String> {
        plan[key]
            .as_array()
            .expect(key)
            .iter()
            .filter(|e| !create_only || e["action"] == "create")
            .map(|e| e["email"].as_str().expect("email").to_owned())
            .collect()
    };
    let created = emails("employees", true);
    let likely = emails("likely_duplicates", false);
    let mut got: Vec<&String> = created.iter().chain(&likely).collect();
    got.sort();
    got.dedup();
    assert_eq!(got, users.keys().collect::<Vec<_>>());
    assert!(!created.is_empty());
    assert_eq!(
        plan["summary"]["employee_create"].as_u64(),
        Some(created.len() as u64)
    );
    // Each employee as the directory names the user: first and last name,
    // and the email.
    let inventory = employees(&db);
    assert_eq!(inventory.len(), created.len());
    for (first, last, mails) in &inventory {
        assert_eq!(mails.len(), 1, "{first} {last}: {mails:?}");
        let (f, l) = users.get(&mails[0]).expect("a Kandji user's email");
        assert_eq!((first.as_str(), last.as_str()), (*f, *l));
        assert!(created.contains(&mails[0]));
    }
    // Again: nothing to create, nobody gone.
    let again = json(&mdm(&sync, &env).await);
    assert_eq!(again["summary"]["employee_create"], 0);
    assert_eq!(again["users_gone"], serde_json::json!([]));
    assert_eq!(employees(&db), inventory);
    sim.shutdown().await;
}
