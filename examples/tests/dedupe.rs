//! `mdm dedupe` on an inventory an older sync left with duplicates.

use std::process::{Command, Output};

fn mdm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdm"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("mdm runs")
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

/// A file in the layout of the version before claims (identifiers not
/// unique), as an older sync left it:
/// - assets 1, 2, 3: one Mac, its serial spelled three ways; 2 carries the
///   Jamf id and the assignee, 3 another location;
/// - assets 4, 5: two devices whose serial is the placeholder
///   `Not Available` (not the same device);
/// - asset 6: a device of its own.
fn seeded(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).expect("create");
    conn.execute_batch(
        r#"CREATE TABLE assets (id INTEGER PRIMARY KEY AUTOINCREMENT,
             created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
             updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));
           CREATE TABLE asset_fields (asset_id INTEGER NOT NULL REFERENCES assets(id), field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (asset_id, field));
           CREATE TABLE employees (id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT NOT NULL, last_name TEXT NOT NULL);
           CREATE TABLE employee_emails (employee_id INTEGER NOT NULL REFERENCES employees(id), email TEXT NOT NULL, PRIMARY KEY (employee_id, email));
           INSERT INTO assets DEFAULT VALUES; INSERT INTO assets DEFAULT VALUES; INSERT INTO assets DEFAULT VALUES;
           INSERT INTO assets DEFAULT VALUES; INSERT INTO assets DEFAULT VALUES; INSERT INTO assets DEFAULT VALUES;
           INSERT INTO asset_fields VALUES
             (1, 'serial_number', '"C02XK1ABJG5H"'), (1, 'location', '"Lab 3"'),
             (2, 'serial_number', '" c02xk1abjg5h "'), (2, 'jamf_id', '"42"'), (2, 'asset_type', '"laptop"'), (2, 'assignee_id', '"1"'),
             (3, 'serial_number', '"C02X K1AB JG5H"'), (3, 'location', '"Lab 9"'),
             (4, 'serial_number', '"Not Available"'), (4, 'model', '"iPad"'),
             (5, 'serial_number', '"Not Available"'), (5, 'model', '"iPhone"'),
             (6, 'serial_number', '"F9FXK2ABQ1GC"');
           INSERT INTO employees (first_name, last_name) VALUES ('Ana', 'Díaz');
           INSERT INTO employee_emails VALUES (1, 'ana@example.com');"#,
    )
    .expect("seed");
}

#[test]
fn dedupe_proposes_then_merges_the_duplicates_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("old.db");
    seeded(&path);
    let db = path.display().to_string();

    // The plan: one group, the lowest id surviving; placeholders link nothing.
    let plan = json(&mdm(&["dedupe", "--db", &db, "--format", "json"]));
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["summary"]["assets"], 6);
    let groups = plan["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{plan:#}");
    let g = &groups[0];
    assert_eq!(g["survivor"], "1");
    assert_eq!(g["duplicates"], serde_json::json!(["2", "3"]));
    assert_eq!(g["matched_on"][0]["value"], "C02XK1ABJG5H");
    assert_eq!(g["changes"]["jamf_id"], "42");
    assert_eq!(g["changes"]["assignee_id"], "1");
    // What the survivor does not take is reported: asset 3's location, and
    // the other spellings of the serial.
    let dropped = g["dropped"].as_array().expect("dropped");
    assert!(
        dropped
            .iter()
            .any(|d| d["asset"] == "3" && d["field"] == "location" && d["value"] == "Lab 9"),
        "{dropped:?}"
    );
    // Nothing was written without --apply.
    assert_eq!(
        json(&mdm(&["dedupe", "--db", &db, "--format", "json"]))["groups"],
        plan["groups"]
    );

    // The table says the same, and how to go on.
    let table = mdm(&["dedupe", "--db", &db]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("6 assets; 1 devices with several assets; 2 assets to merge away"),
        "{text}"
    );
    assert!(text.contains("--apply"), "{text}");

    // Merge.
    let done = json(&mdm(&[
        "dedupe", "--db", &db, "--apply", "--format", "json",
    ]));
    assert_eq!(done["applied"], true);
    assert_eq!(done["result"]["merged"], 1);
    assert_eq!(done["result"]["removed"], serde_json::json!(["2", "3"]));
    let conn = rusqlite::Connection::open(&path).expect("open");
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM assets ORDER BY id")
        .expect("q")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids");
    assert_eq!(ids, [1, 4, 5, 6], "only the merged duplicates are gone");
    let field = |id: i64, f: &str| -> Option<String> {
        conn.query_row(
            "SELECT value FROM asset_fields WHERE asset_id = ?1 AND field = ?2",
            rusqlite::params![id, f],
            |r| r.get(0),
        )
        .ok()
    };
    assert_eq!(field(1, "jamf_id").as_deref(), Some("\"42\""));
    assert_eq!(field(1, "assignee_id").as_deref(), Some("\"1\""));
    assert_eq!(field(1, "location").as_deref(), Some("\"Lab 3\""));
    // The serial is now the survivor's alone: a new asset cannot take it.
    let claims: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM asset_claims WHERE field = 'serial_number' AND value = 'C02XK1ABJG5H' AND asset_id = 1",
            [],
            |r| r.get(0),
        )
        .expect("claims");
    assert_eq!(claims, 1);
    let reported: i64 = conn
        .query_row("SELECT COUNT(*) FROM claim_duplicates", [], |r| r.get(0))
        .expect("duplicates");
    assert_eq!(
        reported, 0,
        "the duplicates found on opening are merged away"
    );
    drop(conn);

    // Nothing left to merge.
    let again = json(&mdm(&["dedupe", "--db", &db, "--format", "json"]));
    assert_eq!(again["groups"], serde_json::json!([]));
}

#[test]
fn dedupe_of_a_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("none.db");
    let o = json(&mdm(&[
        "dedupe",
        "--db",
        &path.display().to_string(),
        "--format",
        "json",
    ]));
    assert_eq!(o["groups"], serde_json::json!([]));
    assert!(!path.exists());
}

/// The database can come from `MDM_DATABASE_URL`, and a PostgreSQL
/// password in it never reaches the output, even at debug verbosity.
#[test]
fn the_database_comes_from_the_environment_and_its_password_stays_secret() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("env.db");
    seeded(&path);
    let o = Command::new(env!("CARGO_BIN_EXE_mdm"))
        .args(["dedupe", "--format", "json"])
        .env_clear()
        .env("MDM_DATABASE_URL", &path)
        .output()
        .expect("mdm runs");
    assert_eq!(json(&o)["groups"].as_array().map(Vec::len), Some(1));

    // Nothing listens on port 1: the connection fails, naming the server.
    let o = Command::new(env!("CARGO_BIN_EXE_mdm"))
        .args(["-vv", "dedupe", "--format", "json"])
        .env_clear()
        .env(
            "MDM_DATABASE_URL",
            "postgres://mdm:Sup3rSecretPw@127.0.0.1:1/inventory?sslmode=prefer",
        )
        .output()
        .expect("mdm runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("127.0.0.1:1"), "{all}");
    assert!(!all.contains("Sup3rSecretPw"), "{all}");
}
