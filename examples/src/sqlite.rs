//! A SQLite inventory implementing [`mdm_mapping::store::Store`]: the
//! embedded default target of `mdm sync` and `mdm demo`.
//!
//! Schema (created on first use):
//!
//! - `assets(id)`, with each field in `asset_fields(asset_id, field, value)`
//!   (value as JSON), so any mapping's field names fit;
//! - `asset_identifiers(field, value, asset_id)`: one row per identifier value
//!   (serial number, UDID, each IMEI, MACs, vendor ids, asset tag), indexed
//!   on `(field, value)`;
//! - `employees(id, first_name, last_name)` and `employee_emails(employee_id,
//!   email)`, indexed on the email.
//!
//! Every write is one transaction: an interrupted sync leaves whole records,
//! never half of one.
//!
//! ```
//! use mdm_examples::sqlite::SqliteStore;
//! use mdm_mapping::store::{FieldWrite, Store};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = SqliteStore::open_in_memory().unwrap();
//! let id = store.create_asset(&[FieldWrite::set("serial_number", "C02XK1ABJG5H")]).await.unwrap();
//! assert_eq!(store.find_by_identifier("serial_number", "C02XK1ABJG5H").unwrap(), vec![id]);
//! # });
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mdm_mapping::store::{Asset, Employee, FieldWrite, Inventory, NewEmployee, Store, StoreError};
use mdm_mapping::{Fields, Value};
use rusqlite::{Connection, OptionalExtension, params};

/// Inventory fields whose values are indexed as identifiers.
pub const IDENTIFIER_FIELDS: &[&str] = &[
    "serial_number",
    "asset_tag",
    "udid",
    "imei",
    "meid",
    "eid",
    "wifi_mac_address",
    "bluetooth_mac_address",
    "ethernet_mac_address",
    "jamf_id",
    "kandji_id",
];

const SCHEMA: &str = "
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS assets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS asset_fields (
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (asset_id, field)
);
CREATE TABLE IF NOT EXISTS asset_identifiers (
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    PRIMARY KEY (field, value, asset_id)
);
DROP INDEX IF EXISTS asset_identifiers_by_asset;
CREATE INDEX IF NOT EXISTS asset_identifiers_by_asset_field ON asset_identifiers(asset_id, field);
CREATE TABLE IF NOT EXISTS employees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS employee_emails (
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    email TEXT NOT NULL,
    PRIMARY KEY (employee_id, email)
);
CREATE INDEX IF NOT EXISTS employee_emails_by_email ON employee_emails(email);
";

/// A SQLite-backed inventory. Clones share one connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

/// Opening or querying the database failed.
#[derive(Debug, thiserror::Error)]
#[error("SQLite inventory {path}: {source}")]
pub struct SqliteError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

impl SqliteStore {
    /// Opens (or creates) the inventory at `path` and creates the schema if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SqliteError> {
        let path = path.as_ref().to_path_buf();
        let wrap = |source| SqliteError {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(&path).map_err(wrap)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(wrap)?;
        Self::init(conn, Some(path.clone())).map_err(wrap)
    }

    /// An inventory in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Self, SqliteError> {
        let conn = Connection::open_in_memory().map_err(|source| SqliteError {
            path: ":memory:".into(),
            source,
        })?;
        Self::init(conn, None).map_err(|source| SqliteError {
            path: ":memory:".into(),
            source,
        })
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Self, rusqlite::Error> {
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into())
    }

    /// The ids of the assets with `value` in identifier `field`.
    pub fn find_by_identifier(&self, field: &str, value: &str) -> Result<Vec<String>, SqliteError> {
        let conn = self.lock();
        let run = || -> Result<Vec<String>, rusqlite::Error> {
            let mut st = conn.prepare_cached(
                "SELECT asset_id FROM asset_identifiers WHERE field = ?1 AND value = ?2 ORDER BY asset_id",
            )?;
            let rows = st.query_map(params![field, value], |r| r.get::<_, i64>(0))?;
            rows.map(|r| r.map(|id| id.to_string())).collect()
        };
        run().map_err(|source| SqliteError {
            path: self.name(),
            source,
        })
    }

    /// How many assets and employees the inventory holds.
    pub fn counts(&self) -> Result<(usize, usize), SqliteError> {
        let conn = self.lock();
        let run = || -> Result<(usize, usize), rusqlite::Error> {
            let a: i64 = conn.query_row("SELECT COUNT(*) FROM assets", [], |r| r.get(0))?;
            let e: i64 = conn.query_row("SELECT COUNT(*) FROM employees", [], |r| r.get(0))?;
            Ok((
                usize::try_from(a).unwrap_or(0),
                usize::try_from(e).unwrap_or(0),
            ))
        };
        run().map_err(|source| SqliteError {
            path: self.name(),
            source,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half transaction
        // (rusqlite rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the connection in a blocking task.
    async fn with_conn<T, F>(
        &self,
        operation: &'static str,
        record: String,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, WriteError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let rec = record.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await;
        match joined {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(WriteError::NotFound(id))) => Err(StoreError::AssetNotFound { id }),
            Ok(Err(WriteError::Sql(e))) => Err(StoreError::Unavailable {
                operation,
                record: rec,
                source: Box::new(e),
            }),
            Err(join) => Err(StoreError::Unavailable {
                operation,
                record: rec,
                source: Box::new(join),
            }),
        }
    }
}

enum WriteError {
    NotFound(String),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Sql(e)
    }
}

fn encode(v: &Value) -> String {
    v.to_json().to_string()
}

fn decode(s: &str) -> Option<Value> {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .as_ref()
        .and_then(Value::from_json)
}

fn parse_id(id: &str) -> Option<i64> {
    id.trim().parse().ok()
}

/// Writes `writes` onto asset `id` inside the open transaction.
fn write_fields(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    writes: &[FieldWrite],
) -> Result<(), rusqlite::Error> {
    for w in writes {
        tx.prepare_cached("DELETE FROM asset_fields WHERE asset_id = ?1 AND field = ?2")?
            .execute(params![id, w.field])?;
        if IDENTIFIER_FIELDS.contains(&w.field.as_str()) {
            tx.prepare_cached("DELETE FROM asset_identifiers WHERE asset_id = ?1 AND field = ?2")?
                .execute(params![id, w.field])?;
        }
        let Some(value) = w.value.as_ref().map(|v| v.expose()) else {
            continue;
        };
        tx.prepare_cached("INSERT INTO asset_fields (asset_id, field, value) VALUES (?1, ?2, ?3)")?
            .execute(params![id, w.field, encode(&value)])?;
        if IDENTIFIER_FIELDS.contains(&w.field.as_str()) {
            for s in value.strings() {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO asset_identifiers (field, value, asset_id) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![w.field, s, id])?;
            }
        }
    }
    Ok(())
}

fn describe(writes: &[FieldWrite]) -> String {
    writes
        .iter()
        .find(|w| IDENTIFIER_FIELDS.contains(&w.field.as_str()) && w.value.is_some())
        .and_then(|w| {
            w.value
                .as_ref()
                .map(|v| format!("new asset with {} {}", w.field, v.expose()))
        })
        .unwrap_or_else(|| "new asset".into())
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Inventory, StoreError> {
        self.with_conn("load", self.name(), |conn| {
            let mut st = conn.prepare_cached(
                "SELECT a.id, f.field, f.value FROM assets a LEFT JOIN asset_fields f ON f.asset_id = a.id ORDER BY a.id",
            )?;
            let assets = read_assets(st.query([])?)?;
            Ok(Inventory {
                assets,
                employees: read_employees(conn)?,
            })
        })
        .await
    }

    async fn load_for_matching(&self, fields: &[&str]) -> Result<Inventory, StoreError> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        self.with_conn("load", self.name(), move |conn| {
            // The fields become a temporary table to join on: one statement
            // for any number of fields.
            conn.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS matching_fields (field TEXT PRIMARY KEY); DELETE FROM matching_fields;",
            )?;
            {
                let mut ins =
                    conn.prepare_cached("INSERT OR IGNORE INTO matching_fields (field) VALUES (?1)")?;
                for f in &fields {
                    ins.execute(params![f])?;
                }
            }
            let mut st = conn.prepare_cached(
                "SELECT a.id, f.field, f.value FROM assets a LEFT JOIN asset_fields f ON f.asset_id = a.id AND f.field IN (SELECT field FROM matching_fields) ORDER BY a.id",
            )?;
            let assets = read_assets(st.query([])?)?;
            Ok(Inventory {
                assets,
                employees: read_employees(conn)?,
            })
        })
        .await
    }

    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        self.with_conn("load", self.name(), move |conn| {
            let mut exists = conn.prepare_cached("SELECT 1 FROM assets WHERE id = ?1")?;
            let mut st =
                conn.prepare_cached("SELECT field, value FROM asset_fields WHERE asset_id = ?1")?;
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                // Ids this store did not give (not a number) are not here.
                let Ok(n) = id.parse::<i64>() else { continue };
                if !exists.exists(params![n])? {
                    continue;
                }
                let mut fields = Fields::new();
                let mut rows = st.query(params![n])?;
                while let Some(row) = rows.next()? {
                    let field: String = row.get(0)?;
                    let value: String = row.get(1)?;
                    fields.set(&field, decode(&value));
                }
                out.push(Asset::new(id.clone(), fields));
            }
            Ok(out)
        })
        .await
    }

    async fn create_asset(&self, fields: &[FieldWrite]) -> Result<String, StoreError> {
        let writes = fields.to_vec();
        self.with_conn("create_asset", describe(fields), move |conn| {
            let tx = conn.transaction()?;
            tx.execute("INSERT INTO assets DEFAULT VALUES", [])?;
            let id = tx.last_insert_rowid();
            write_fields(&tx, id, &writes)?;
            tx.commit()?;
            Ok(id.to_string())
        })
        .await
    }

    async fn update_asset(&self, id: &str, changes: &[FieldWrite]) -> Result<(), StoreError> {
        let writes = changes.to_vec();
        let sid = id.to_string();
        self.with_conn("update_asset", format!("asset {id}"), move |conn| {
            let Some(n) = parse_id(&sid) else {
                return Err(WriteError::NotFound(sid));
            };
            let tx = conn.transaction()?;
            let exists = tx
                .query_row("SELECT 1 FROM assets WHERE id = ?1", params![n], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Err(WriteError::NotFound(sid));
            }
            write_fields(&tx, n, &writes)?;
            tx.execute(
                "UPDATE assets SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
                params![n],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_asset_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        self.update_asset(id, &[FieldWrite::set("status", status)])
            .await
    }

    async fn create_employee(&self, employee: &NewEmployee) -> Result<String, StoreError> {
        let e = employee.clone();
        let record = format!(
            "new employee {}",
            employee.emails.first().map(String::as_str).unwrap_or("")
        );
        self.with_conn("create_employee", record, move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO employees (first_name, last_name) VALUES (?1, ?2)",
                params![e.first_name, e.last_name],
            )?;
            let id = tx.last_insert_rowid();
            for email in &e.emails {
                tx.execute(
                    "INSERT OR IGNORE INTO employee_emails (employee_id, email) VALUES (?1, ?2)",
                    params![id, email.to_lowercase()],
                )?;
            }
            tx.commit()?;
            Ok(id.to_string())
        })
        .await
    }
}

/// Assets from rows of `(asset id, field, value)` ordered by asset id
/// (field and value NULL for an asset without fields).
fn read_assets(mut rows: rusqlite::Rows<'_>) -> rusqlite::Result<Vec<Asset>> {
    let mut assets: Vec<Asset> = Vec::new();
    let mut current: Option<(i64, Fields)> = None;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let field: Option<String> = row.get(1)?;
        let value: Option<String> = row.get(2)?;
        if current.as_ref().map(|(c, _)| *c) != Some(id) {
            if let Some((cid, f)) = current.take() {
                assets.push(Asset::new(cid.to_string(), f));
            }
            current = Some((id, Fields::new()));
        }
        if let (Some((_, fields)), Some(field), Some(value)) = (current.as_mut(), field, value) {
            fields.set(&field, decode(&value));
        }
    }
    if let Some((cid, f)) = current {
        assets.push(Asset::new(cid.to_string(), f));
    }
    Ok(assets)
}

/// Every employee with their emails.
fn read_employees(conn: &Connection) -> rusqlite::Result<Vec<Employee>> {
    let mut employees: Vec<Employee> = Vec::new();
    let mut st = conn.prepare_cached(
        "SELECT e.id, e.first_name, e.last_name, m.email FROM employees e LEFT JOIN employee_emails m ON m.employee_id = e.id ORDER BY e.id, m.email",
    )?;
    let mut rows = st.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let email: Option<String> = row.get(3)?;
        let sid = id.to_string();
        if employees.last().map(|e| e.id != sid).unwrap_or(true) {
            employees.push(Employee {
                id: sid,
                first_name: row.get(1)?,
                last_name: row.get(2)?,
                emails: Vec::new(),
            });
        }
        if let (Some(e), Some(email)) = (employees.last_mut(), email) {
            e.emails.push(email);
        }
    }
    Ok(employees)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    (b.clone(), vec![])
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
                "DELETE FROM asset_identifiers WHERE asset_id = 1 AND field = 'udid'",
                "(asset_id=? AND field=?)",
            ),
            (
                "DELETE FROM asset_fields WHERE asset_id = 1 AND field = 'udid'",
                "(asset_id=? AND field=?)",
            ),
            (
                "SELECT asset_id FROM asset_identifiers WHERE field = 'udid' AND value = 'x'",
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
}
