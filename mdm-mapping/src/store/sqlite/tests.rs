//! Tests of the SQLite store.
use super::*;
use crate::store::FieldWrite;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// What a sync in batches reads: the identifier fields of every asset
/// (assets without any included) with every employee, then whole
/// assets by id, in the order asked, as `load` has them.
#[test]
fn partial_loads_agree_with_load() {
    rt().block_on(async {
        let store = SqliteStore::open_in_memory().expect("open");
        let a = store
            .create_asset(&[
                FieldWrite::set("serial_number", "C02XK1ABJG5H"),
                FieldWrite::set("os_version", "15.2"),
            ])
            .await
            .expect("a");
        let b = store
            .create_asset(&[FieldWrite::set("model", "iPad")])
            .await
            .expect("b");
        // After an asset without a matching field, one with two.
        let c = store
            .create_asset(&[
                FieldWrite::set("udid", "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"),
                FieldWrite::set("model", "iPhone"),
                FieldWrite::set("serial_number", "F9FZ3LLJMF3M"),
            ])
            .await
            .expect("c");
        store
            .create_employee(&NewEmployee {
                first_name: "Ana".into(),
                last_name: "Díaz".into(),
                emails: vec!["ana@example.com".into()],
            })
            .await
            .expect("e");
        let all = store.load().await.expect("load");
        let m = store
            .load_for_matching(&["serial_number", "udid"])
            .await
            .expect("matching");
        assert_eq!(m.employees, all.employees);
        let fields: Vec<(String, Vec<String>)> = m
            .assets
            .iter()
            .map(|x| {
                (
                    x.id.clone(),
                    x.fields.iter().map(|(k, _)| k.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(
            fields,
            [
                (a.clone(), vec!["serial_number".to_string()]),
                (b.clone(), vec![]),
                (c, vec!["serial_number".to_string(), "udid".to_string()])
            ]
        );
        let got = store
            .load_assets(&[b.as_str(), "999", "x", a.as_str()])
            .await
            .expect("assets");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], all.assets[1]);
        assert_eq!(got[1], all.assets[0]);
    });
}

/// Every statement a write runs finds its rows through an index on all
/// of its keys: a statement that scans every asset's identifiers made a
/// 100,000-device sync take many minutes (each write cost O(assets)).
#[test]
fn writes_use_an_index_on_every_key_they_filter_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path().join("inv.db")).expect("open");
    let conn = store.lock();
    for (sql, wanted) in [
        (
            "DELETE FROM asset_claims WHERE field = 'udid' AND value = 'x' AND asset_id = 1",
            "(field=? AND value=?)",
        ),
        (
            "SELECT field, value FROM asset_claims WHERE asset_id = 1",
            "(asset_id=?)",
        ),
        (
            "DELETE FROM asset_fields WHERE asset_id = 1 AND field = 'udid'",
            "(asset_id=? AND field=?)",
        ),
        (
            "SELECT asset_id FROM asset_claims WHERE field = 'udid' AND value = 'x'",
            "(field=? AND value=?)",
        ),
    ] {
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let plan: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan");
        assert!(plan.iter().any(|p| p.contains(wanted)), "{sql}: {plan:?}");
    }
}

#[test]
fn round_trips_assets_and_employees_and_indexes_identifiers() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("inv.db");
    rt().block_on(async {
        let store = SqliteStore::open(&path).expect("open");
        let id = store
            .create_asset(&[
                FieldWrite::set("serial_number", "C02XK1ABJG5H"),
                FieldWrite::set("imei", Value::List(vec!["3561".into(), "3562".into()])),
                FieldWrite::set("processor_cores", 8i64),
                FieldWrite::set("managed", true),
            ])
            .await
            .expect("create");
        store
            .update_asset(
                &id,
                &[
                    FieldWrite::set("serial_number", "F9FXK2ABQ1GC"),
                    FieldWrite::clear("managed"),
                ],
            )
            .await
            .expect("update");
        let eid = store
            .create_employee(&NewEmployee {
                first_name: "Ana".into(),
                last_name: "Díaz".into(),
                emails: vec!["Ana@Example.com".into(), "ana@home.example".into()],
            })
            .await
            .expect("employee");
        drop(store);

        // Reopen: everything persisted, schema creation is idempotent.
        let store = SqliteStore::open(&path).expect("reopen");
        let inv = store.load().await.expect("load");
        assert_eq!(inv.assets.len(), 1);
        let a = &inv.assets[0];
        assert_eq!(a.id, id);
        assert_eq!(a.fields.get_str("serial_number"), Some("F9FXK2ABQ1GC"));
        assert_eq!(a.fields.get("processor_cores"), Some(&Value::Int(8)));
        assert!(!a.fields.contains("managed"));
        assert_eq!(inv.employees.len(), 1);
        assert_eq!(inv.employees[0].id, eid);
        assert_eq!(
            inv.employees[0].emails,
            ["ana@example.com", "ana@home.example"]
        );
        assert!(
            store
                .find_by_identifier("serial_number", "C02XK1ABJG5H")
                .expect("q")
                .is_empty()
        );
        assert_eq!(
            store
                .find_by_identifier("serial_number", "F9FXK2ABQ1GC")
                .expect("q"),
            vec![id.clone()]
        );
        assert_eq!(
            store.find_by_identifier("imei", "3562").expect("q"),
            vec![id]
        );
        assert_eq!(store.counts().expect("counts"), (1, 1));
    });
}

#[test]
fn update_of_a_missing_asset_is_not_found() {
    rt().block_on(async {
        let store = SqliteStore::open_in_memory().expect("open");
        for id in ["42", "not-a-number"] {
            let err = store
                .update_asset(id, &[FieldWrite::set("status", "archived")])
                .await
                .expect_err("missing");
            assert!(matches!(err, StoreError::AssetNotFound { .. }), "{err}");
            assert!(!err.is_fatal());
        }
    });
}

#[test]
fn keeps_the_store_contract() {
    rt().block_on(async {
        let store = SqliteStore::open_in_memory().expect("open");
        crate::store::contract::check(&store)
            .await
            .expect("contract");
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path().join("inv.db")).expect("open");
        crate::store::contract::check(&store)
            .await
            .expect("contract on a file");
        crate::store::contract::check_history(&store)
            .await
            .expect("history on a file");
        // The run lock is the file's: a second store on it is refused too.
        let guard = store.lock_runs().await.expect("lock").expect("free");
        let other = SqliteStore::open(dir.path().join("inv.db")).expect("open");
        assert!(other.lock_runs().await.expect("lock").is_none());
        drop(guard);
        assert!(other.lock_runs().await.expect("lock").is_some());
        crate::store::contract::check_history(&SqliteStore::open_in_memory().expect("open"))
            .await
            .expect("history in memory");
    });
}

/// A file of the version before claims (identifiers indexed but not
/// unique), holding a duplicate left by an older sync: it opens, is
/// migrated in place, keeps both assets, and reports the duplicate.
#[test]
fn a_file_of_the_previous_version_with_duplicates_is_migrated_and_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(
            "CREATE TABLE assets (id INTEGER PRIMARY KEY AUTOINCREMENT,
                 created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                 updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));
             CREATE TABLE asset_fields (asset_id INTEGER NOT NULL REFERENCES assets(id), field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (asset_id, field));
             CREATE TABLE asset_identifiers (field TEXT NOT NULL, value TEXT NOT NULL, asset_id INTEGER NOT NULL REFERENCES assets(id), PRIMARY KEY (field, value, asset_id));
             CREATE INDEX asset_identifiers_by_asset_field ON asset_identifiers(asset_id, field);
             CREATE TABLE employees (id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT NOT NULL, last_name TEXT NOT NULL);
             CREATE TABLE employee_emails (employee_id INTEGER NOT NULL REFERENCES employees(id), email TEXT NOT NULL, PRIMARY KEY (employee_id, email));
             INSERT INTO assets DEFAULT VALUES; INSERT INTO assets DEFAULT VALUES; INSERT INTO assets DEFAULT VALUES;
             INSERT INTO asset_fields VALUES (1, 'serial_number', '\"C02XK1ABJG5H\"'), (1, 'location', '\"Lab 3\"');
             INSERT INTO asset_fields VALUES (2, 'serial_number', '\" c02xk1abjg5h\"');
             INSERT INTO asset_fields VALUES (3, 'serial_number', '\"F9FXK2ABQ1GC\"');
             INSERT INTO asset_identifiers VALUES ('serial_number', 'C02XK1ABJG5H', 1), ('serial_number', 'C02XK1ABJG5H', 2);
             INSERT INTO employees (first_name, last_name) VALUES ('Ana', 'Díaz'), ('Ana', 'Diaz');
             INSERT INTO employee_emails VALUES (1, 'ana@example.com'), (2, 'ana@example.com');",
        )
        .expect("old schema");
    }
    let store = SqliteStore::open(&path).expect("migrated");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.counts().expect("counts"), (3, 2), "nothing lost");
    let dups = store.duplicates().expect("dups");
    let got: Vec<(String, String, String)> = dups
        .iter()
        .map(|h| {
            (
                h.claim.field.clone(),
                h.claim.value.clone(),
                h.holder.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "email".to_string(),
                "ana@example.com".to_string(),
                "employee 2".to_string()
            ),
            (
                "serial_number".to_string(),
                "C02XK1ABJG5H".to_string(),
                "asset 2".to_string()
            ),
        ]
    );
    rt().block_on(async {
        // The claim went to the first holder; a new asset cannot take it.
        let again = store
            .create_asset(&[FieldWrite::set("serial_number", "C02XK1ABJG5H")])
            .await;
        assert!(matches!(again, Err(StoreError::Claimed { holder, .. }) if holder == "asset 1"));
        assert_eq!(
            store
                .find_by_identifier("serial_number", "F9FXK2ABQ1GC")
                .expect("q"),
            ["3"]
        );
    });
    drop(store);
    // Opening again is a no-op.
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.duplicates().expect("dups").len(), 2);
}

/// A version 3 file whose employees already share a name (imported twice)
/// is migrated: both kept, the name claimed by the first, and a new
/// employee under that name refused while other names are created.
#[test]
fn a_version_3_file_with_employees_sharing_a_name_is_migrated() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("v3.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        drop(store);
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(
            "DROP TABLE name_claims;
             INSERT INTO employees (first_name, last_name) VALUES ('Ana', 'Díaz'), ('ANA ', 'díaz');
             PRAGMA user_version = 3;",
        )
        .expect("a version 3 file");
    }
    let store = SqliteStore::open(&path).expect("migrated");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.counts().expect("counts"), (0, 2), "nothing lost");
    rt().block_on(async {
        let new = |first: &str, last: &str, email: &str| NewEmployee {
            first_name: first.into(),
            last_name: last.into(),
            emails: vec![email.into()],
        };
        let again = store
            .create_employee(&new("ana", "DÍAZ", "ana.diaz@example.com"))
            .await;
        assert!(
            matches!(&again, Err(StoreError::Claimed { field, holder, .. }) if field == "name" && holder == "employee 1"),
            "{again:?}"
        );
        let other = store
            .create_employee(&new("Ana", "Díaz-Ruiz", "ana.ruiz@example.com"))
            .await;
        assert!(other.is_ok(), "{other:?}");
    });
    assert_eq!(store.counts().expect("counts"), (0, 3));
}

/// A version 4 file (fields in a rowid table beside their key's index) is
/// migrated to `WITHOUT ROWID` fields, every field kept.
#[test]
fn a_version_4_file_gets_its_fields_table_rebuilt_and_keeps_every_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("v4.db");
    let id = {
        let store = SqliteStore::open(&path).expect("create");
        let id = rt()
            .block_on(store.create_asset(&[
                FieldWrite::set("serial_number", "C02XK1ABJG5H"),
                FieldWrite::set("location", "Lab 3"),
            ]))
            .expect("create");
        drop(store);
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(
            "CREATE TABLE old_fields (asset_id INTEGER NOT NULL REFERENCES assets(id), field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (asset_id, field));
             INSERT INTO old_fields SELECT asset_id, field, value FROM asset_fields;
             DROP TABLE asset_fields;
             ALTER TABLE old_fields RENAME TO asset_fields;
             PRAGMA user_version = 4;",
        )
        .expect("a version 4 file");
        id
    };
    let store = SqliteStore::open(&path).expect("migrated");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let got = rt()
        .block_on(store.load_assets(&[id.as_str()]))
        .expect("load");
    assert_eq!(got[0].fields.get_str("location"), Some("Lab 3"));
    assert_eq!(got[0].fields.get_str("serial_number"), Some("C02XK1ABJG5H"));
    drop(store);
    let sql: String = Connection::open(&path)
        .expect("open")
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'asset_fields'",
            [],
            |r| r.get(0),
        )
        .expect("sql");
    assert!(sql.contains("WITHOUT ROWID"), "{sql}");
}

/// Processes that create one new file at the same moment all succeed
/// (threads with their own connections stand in for them here; the
/// end-to-end tests run real processes).
#[test]
fn connections_that_create_one_file_at_once_all_succeed_and_take_turns() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("new.db");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let store = SqliteStore::open(&path).expect("open at once");
                rt().block_on(async {
                    let mut created = 0;
                    for n in 0..50 {
                        // Every thread tries every serial: one wins each.
                        match store
                            .create_asset(&[FieldWrite::set(
                                "serial_number",
                                format!("C02RACE{n:05}").as_str(),
                            )])
                            .await
                        {
                            Ok(_) => created += 1,
                            Err(StoreError::Claimed { .. }) => {}
                            Err(e) => panic!("thread {i}: {e}"),
                        }
                    }
                    created
                })
            })
        })
        .collect();
    let created: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(created, 50);
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.counts().expect("counts").0, 50);
}

/// Field rows go in several to a statement; a field written twice in one
/// write (or written, then cleared) ends as its last write says.
#[test]
fn many_fields_and_repeated_fields_are_written_as_the_last_write_says() {
    rt().block_on(async {
        let store = SqliteStore::open_in_memory().expect("open");
        let mut writes: Vec<FieldWrite> = (0..19)
            .map(|i| FieldWrite::set(format!("field_{i:02}"), format!("value {i}")))
            .collect();
        writes.push(FieldWrite::set("field_03", "again"));
        writes.push(FieldWrite::clear("field_05"));
        writes.push(FieldWrite::set("note", "say \"hi\"\\n"));
        let id = store.create_asset(&writes).await.expect("create");
        let asset = store.load_assets(&[&id]).await.expect("load");
        let fields = &asset[0].fields;
        assert_eq!(fields.len(), 19);
        assert_eq!(fields.get_str("field_03"), Some("again"));
        assert_eq!(fields.get_str("field_05"), None);
        assert_eq!(fields.get_str("field_18"), Some("value 18"));
        assert_eq!(fields.get_str("note"), Some("say \"hi\"\\n"));
        store
            .update_asset(
                &id,
                &[
                    FieldWrite::set("field_00", "x"),
                    FieldWrite::set("field_00", "y"),
                    FieldWrite::clear("field_01"),
                ],
            )
            .await
            .expect("update");
        let asset = store
            .load_assets(&[&id, "nope", "999"])
            .await
            .expect("load");
        assert_eq!(asset.len(), 1);
        assert_eq!(asset[0].fields.get_str("field_00"), Some("y"));
        assert_eq!(asset[0].fields.get_str("field_01"), None);
        assert_eq!(asset[0].fields.len(), 18);
    });
}

/// A file is opened in WAL mode with its checkpoints spaced out and its
/// WAL cut back after them (the first sync's fsyncs, see `try_open`).
#[test]
fn a_file_checkpoints_every_sixty_four_mebibytes_of_wal() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path().join("inv.db")).expect("open");
    let conn = store.lock();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal_mode");
    let pages: i64 = conn
        .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
        .expect("wal_autocheckpoint");
    let limit: i64 = conn
        .pragma_query_value(None, "journal_size_limit", |r| r.get(0))
        .expect("journal_size_limit");
    assert_eq!((mode.as_str(), pages, limit), ("wal", 16_000, 16 << 20));
}
