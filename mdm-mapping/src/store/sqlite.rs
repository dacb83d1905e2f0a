//! [`SqliteStore`]: the embedded default inventory, a SQLite file (feature
//! `sqlite`).
//!
//! # Schema (version 6, `PRAGMA user_version`)
//!
//! | table | what it holds |
//! |---|---|
//! | `assets(id, created_at, updated_at, rev, mark)` | one row per asset; `id` is the asset id; `rev` and `mark` are its [`Revision`] (version 6): every write of its fields adds one to `rev` and clears `mark` in the same transaction |
//! | `asset_fields(asset_id, field, value)` | each field, the value as JSON; any mapping's field names fit; `WITHOUT ROWID` (version 5): stored once, in its primary key `(asset_id, field)` |
//! | `asset_claims(field, value, asset_id)` | the asset's identifier [`Claim`]s; **primary key `(field, value)`**: one holder per value |
//! | `employees(id, first_name, last_name)` | one row per employee |
//! | `employee_emails(employee_id, email)` | each email of an employee |
//! | `email_claims(email, employee_id)` | **primary key `email`**: one employee per email |
//! | `name_claims(name, employee_id)` | **primary key `name`** (first and last name, trimmed, lower case): an employee is not created under a name another holds (version 4; filled from every employee on migration) |
//! | `claim_duplicates(field, value, holder, other)` | claims found held twice when claims were (re)built: the inventory already held duplicates (see `mdm dedupe`) |
//! | `meta(key, value)` | `identifier_rules`: the [`IdentifierRules::fingerprint`] the claims were built with |
//! | `sync_runs(id, started, doc)` | the run history ([`RunRecord`] as JSON; version 2) |
//! | `source_state(source, doc)` | where each source's syncs stand: its watermark ([`SourceState`] as JSON; version 3) |
//!
//! The run lock ([`Store::lock_runs`]) is an exclusive lock on the file
//! `<database>.sync-lock` beside it, released when the guard drops or the
//! process ends.
//!
//! # Concurrency
//!
//! Every [`Store::write`] is one `BEGIN IMMEDIATE` transaction: it takes
//! the write lock before it reads anything, so a claim is checked and
//! written under one lock, and two processes writing one file take turns.
//! A busy database is waited for (the busy timeout, 60 s by default), not
//! a failure; two processes that create the same new file at once both
//! succeed. The file is in WAL mode, so readers do not block the writer.
//!
//! A file written by an earlier version (no `user_version`) is migrated in
//! place when opened; claims are built from its fields, and values already
//! held twice are kept and recorded in `claim_duplicates` rather than
//! failing the migration ([`SqliteStore::duplicates`]).
//!
//! ```
//! use mdm_mapping::store::sqlite::SqliteStore;
//! use mdm_mapping::store::{FieldWrite, Store, StoreError};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = SqliteStore::open_in_memory().unwrap();
//! let id = store.create_asset(&[FieldWrite::set("serial_number", "C02XK1ABJG5H")]).await.unwrap();
//! assert_eq!(store.find_by_identifier("serial_number", "C02XK1ABJG5H").unwrap(), vec![id]);
//! // The same serial, spelled another way, cannot become a second asset.
//! let again = store.create_asset(&[FieldWrite::set("serial_number", "c02xk1abjg5h")]).await;
//! assert!(matches!(again, Err(StoreError::Claimed { .. })));
//! # });
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::history::{read_source_state, write_source_state};
use super::{
    Asset, AssetWrite, Claim, EMAIL_CLAIM, Employee, FieldValue, FieldWrite, Holding,
    IdentifierRules, Inventory, NewEmployee, REVISION_FIELD, Revision, RunGuard, RunRecord,
    SourceState, Store, StoreError, WriteBatch, WriteResults, check_expectations,
    describe_employee, resolve_employees,
};
use crate::record::{Fields, Key, KeyCache, Value};

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = 6;

/// WAL pages written between two automatic checkpoints (64 MiB of 4 KiB
/// pages).
const WAL_CHECKPOINT_PAGES: i64 = 16_000;

/// What the WAL file is cut back to after a checkpoint.
const WAL_KEEP_BYTES: i64 = 16 << 20;

/// How long a write waits for another process's transaction by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS assets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    rev INTEGER NOT NULL DEFAULT 0,
    mark INTEGER
);
CREATE TABLE IF NOT EXISTS asset_fields (
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (asset_id, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS asset_claims (
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    PRIMARY KEY (field, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_claims_by_asset ON asset_claims(asset_id);
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
CREATE TABLE IF NOT EXISTS email_claims (
    email TEXT PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees(id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS name_claims (
    name TEXT PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees(id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claim_duplicates (
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    holder TEXT NOT NULL,
    other TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_state (
    source TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
";

/// A SQLite-backed inventory. Clones share one connection; several
/// processes may open the same file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
    /// The run lock of an in-memory database.
    running: Arc<std::sync::atomic::AtomicBool>,
}

/// The run lock of a store that lives in one process: a flag, cleared when
/// the guard drops.
fn in_process_lock(
    flag: &Arc<std::sync::atomic::AtomicBool>,
) -> Result<Option<RunGuard>, StoreError> {
    use std::sync::atomic::Ordering;
    struct Clear(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Clear {
        fn drop(&mut self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }
    if flag.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    Ok(Some(RunGuard::new(Clear(Arc::clone(flag)))))
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
    /// Opens (or creates) the inventory at `path`, creating or migrating
    /// the schema. Waits up to [`DEFAULT_BUSY_TIMEOUT`] for other writers.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SqliteError> {
        Self::open_with_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// [`open`](Self::open), waiting at most `busy` for other writers on
    /// each statement.
    pub fn open_with_timeout(path: impl AsRef<Path>, busy: Duration) -> Result<Self, SqliteError> {
        let path = path.as_ref().to_path_buf();
        let wrap = |source| SqliteError {
            path: path.display().to_string(),
            source,
        };
        // Connections that create one new file at once can get SQLITE_BUSY
        // at once, without the busy handler (switching to WAL, or
        // upgrading a read lock while another creates the schema): such an
        // open is tried again, until `busy` has passed.
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match Self::try_open(&path, busy) {
                Err(e) if is_busy(&e) && started.elapsed() < busy => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                other => return other.map_err(wrap),
            }
        }
    }

    fn try_open(path: &Path, busy: Duration) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(busy)?;
        // Switching to WAL takes the lock; the busy handler waits for it.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A checkpoint (the WAL copied into the file, with two fsyncs) after
        // every WAL_CHECKPOINT_PAGES pages written rather than SQLite's 1,000:
        // a first sync of 100,000 devices made 269 fsyncs, now 29, and a
        // page written by many batches is copied once per checkpoint. The
        // WAL is cut back to WAL_KEEP_BYTES after a checkpoint.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES)?;
        Self::init(conn, Some(path.to_path_buf()))
    }

    /// An inventory in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Self, SqliteError> {
        let wrap = |source| SqliteError {
            path: ":memory:".into(),
            source,
        };
        let conn = Connection::open_in_memory().map_err(wrap)?;
        Self::init(conn, None).map_err(wrap)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, rusqlite::Error> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < SCHEMA_VERSION {
            migrate(&tx, version)?;
        }
        tx.commit()?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            running: Arc::default(),
        })
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into())
    }

    fn error(&self, source: rusqlite::Error) -> SqliteError {
        SqliteError {
            path: self.name(),
            source,
        }
    }

    /// The ids of the assets holding `value` (as claimed: normalized, and
    /// `computer:42` for Jamf ids) in identifier `field`.
    pub fn find_by_identifier(&self, field: &str, value: &str) -> Result<Vec<String>, SqliteError> {
        let conn = self.lock();
        let run = || -> Result<Vec<String>, rusqlite::Error> {
            let mut st = conn.prepare_cached(
                "SELECT asset_id FROM asset_claims WHERE field = ?1 AND value = ?2 ORDER BY asset_id",
            )?;
            let rows = st.query_map(params![field, value], |r| r.get::<_, i64>(0))?;
            rows.map(|r| r.map(|id| id.to_string())).collect()
        };
        run().map_err(|e| self.error(e))
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
        run().map_err(|e| self.error(e))
    }

    /// Claims found held by a second record when the claims were last
    /// built (an inventory that already held duplicates): the claim, and
    /// the record that could not have it (`asset 7`, `employee 3`).
    pub fn duplicates(&self) -> Result<Vec<Holding>, SqliteError> {
        let conn = self.lock();
        let run = || -> Result<Vec<Holding>, rusqlite::Error> {
            let mut st = conn.prepare_cached(
                "SELECT field, value, other FROM claim_duplicates ORDER BY field, value, other",
            )?;
            let rows = st.query_map([], |r| {
                Ok(Holding {
                    claim: Claim::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    holder: r.get(2)?,
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| self.error(e))
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<i64, SqliteError> {
        self.lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.error(e))
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
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await;
        match joined {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError::Unavailable {
                operation,
                record,
                source: Box::new(e),
            }),
            Err(join) => Err(StoreError::Unavailable {
                operation,
                record,
                source: Box::new(join),
            }),
        }
    }
}

/// Whether `e` is SQLite's "database is busy/locked".
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Brings a file from `from` to [`SCHEMA_VERSION`], inside the open
/// (immediate) transaction.
fn migrate(tx: &rusqlite::Transaction<'_>, from: i64) -> rusqlite::Result<()> {
    tx.execute_batch(SCHEMA)?;
    if from < 1 {
        // Version 0 (before claims) indexed identifiers without making them
        // unique; claims are built from the fields instead.
        tx.execute_batch("DROP INDEX IF EXISTS asset_identifiers_by_asset_field; DROP INDEX IF EXISTS asset_identifiers_by_asset; DROP TABLE IF EXISTS asset_identifiers;")?;
        rebuild_email_claims(tx)?;
        rebuild_claims(tx, &IdentifierRules::default())?;
    }
    if from < 4 {
        // Version 4 claims new employees' names: every employee's name is
        // claimed (the first of several sharing one keeps it).
        rebuild_name_claims(tx)?;
    }
    let fields_table: String = tx.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'asset_fields'",
        [],
        |r| r.get(0),
    )?;
    if from < 6 {
        // Version 6 keeps each asset's revision (`rev`, `mark`). The
        // columns are added to a file created before it; `SCHEMA` just made
        // them in a new one.
        let mut have = Vec::new();
        {
            let mut st = tx.prepare("SELECT name FROM pragma_table_info('assets')")?;
            for name in st.query_map([], |r| r.get::<_, String>(0))? {
                have.push(name?);
            }
        }
        if !have.iter().any(|c| c == "rev") {
            tx.execute_batch("ALTER TABLE assets ADD COLUMN rev INTEGER NOT NULL DEFAULT 0")?;
        }
        if !have.iter().any(|c| c == "mark") {
            tx.execute_batch("ALTER TABLE assets ADD COLUMN mark INTEGER")?;
        }
    }
    if from < 5 && !fields_table.contains("WITHOUT ROWID") {
        // Version 5 keeps fields in their primary key's tree alone
        // (`WITHOUT ROWID`): before, each field was stored twice, in the
        // table and in its key's index, and read through both.
        tx.execute_batch(
            "CREATE TABLE asset_fields_v5 (
                 asset_id INTEGER NOT NULL REFERENCES assets(id),
                 field TEXT NOT NULL,
                 value TEXT NOT NULL,
                 PRIMARY KEY (asset_id, field)
             ) WITHOUT ROWID;
             INSERT INTO asset_fields_v5 (asset_id, field, value)
                 SELECT asset_id, field, value FROM asset_fields;
             DROP TABLE asset_fields;
             ALTER TABLE asset_fields_v5 RENAME TO asset_fields;",
        )?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

fn rebuild_name_claims(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM name_claims", [])?;
    let rows: Vec<(i64, String, String)> = {
        let mut st = tx.prepare("SELECT id, first_name, last_name FROM employees ORDER BY id")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, first, last) in rows {
        if let Some(c) = IdentifierRules::name_claim(&first, &last) {
            tx.execute(
                "INSERT OR IGNORE INTO name_claims (name, employee_id) VALUES (?1, ?2)",
                params![c.value, id],
            )?;
        }
    }
    Ok(())
}

fn rebuild_email_claims(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM email_claims", [])?;
    tx.execute(
        "DELETE FROM claim_duplicates WHERE field = ?1",
        [EMAIL_CLAIM],
    )?;
    let rows: Vec<(i64, String)> = {
        let mut st = tx.prepare(
            "SELECT employee_id, email FROM employee_emails ORDER BY employee_id, email",
        )?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, email) in rows {
        let Some(email) = crate::normalize::email(&email) else {
            continue;
        };
        let n = tx.execute(
            "INSERT OR IGNORE INTO email_claims (email, employee_id) VALUES (?1, ?2)",
            params![email, id],
        )?;
        if n == 0 {
            let holder: i64 = tx.query_row(
                "SELECT employee_id FROM email_claims WHERE email = ?1",
                [&email],
                |r| r.get(0),
            )?;
            if holder != id {
                record_duplicate(
                    tx,
                    EMAIL_CLAIM,
                    &email,
                    &format!("employee {holder}"),
                    &format!("employee {id}"),
                )?;
            }
        }
    }
    Ok(())
}

fn record_duplicate(
    tx: &rusqlite::Transaction<'_>,
    field: &str,
    value: &str,
    holder: &str,
    other: &str,
) -> rusqlite::Result<()> {
    tracing::warn!(
        field,
        value,
        holder,
        other,
        "the inventory already holds a duplicate (see mdm dedupe)"
    );
    tx.execute(
        "INSERT INTO claim_duplicates (field, value, holder, other) VALUES (?1, ?2, ?3, ?4)",
        params![field, value, holder, other],
    )?;
    Ok(())
}

/// Builds every asset's claims under `rules` anew (the rules changed, or a
/// file is migrated), recording values held twice instead of failing.
fn rebuild_claims(tx: &rusqlite::Transaction<'_>, rules: &IdentifierRules) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM asset_claims", [])?;
    tx.execute(
        "DELETE FROM claim_duplicates WHERE field <> ?1",
        [EMAIL_CLAIM],
    )?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS claim_fields (field TEXT PRIMARY KEY); DELETE FROM claim_fields;",
    )?;
    for f in rules.fields().chain(["asset_type"]) {
        tx.execute(
            "INSERT OR IGNORE INTO claim_fields (field) VALUES (?1)",
            [f],
        )?;
    }
    let rows: Vec<(i64, String, String)> = {
        let mut st = tx.prepare(
            "SELECT asset_id, field, value FROM asset_fields WHERE field IN (SELECT field FROM claim_fields) ORDER BY asset_id",
        )?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut i = 0;
    while i < rows.len() {
        let id = rows[i].0;
        let mut fields = Fields::new();
        while i < rows.len() && rows[i].0 == id {
            fields.set(&rows[i].1, decode(&rows[i].2));
            i += 1;
        }
        for c in rules.claims(&fields) {
            let n = tx.execute(
                "INSERT OR IGNORE INTO asset_claims (field, value, asset_id) VALUES (?1, ?2, ?3)",
                params![c.field, c.value, id],
            )?;
            if n == 0 {
                let holder: i64 = tx.query_row(
                    "SELECT asset_id FROM asset_claims WHERE field = ?1 AND value = ?2",
                    params![c.field, c.value],
                    |r| r.get(0),
                )?;
                record_duplicate(
                    tx,
                    &c.field,
                    &c.value,
                    &format!("asset {holder}"),
                    &format!("asset {id}"),
                )?;
            }
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('identifier_rules', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [rules.fingerprint()],
    )?;
    Ok(())
}

/// Rebuilds the claims if they were built under other rules.
fn ensure_rules(tx: &rusqlite::Transaction<'_>, rules: &IdentifierRules) -> rusqlite::Result<()> {
    let current: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'identifier_rules'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if current.as_deref() != Some(rules.fingerprint().as_str()) {
        tracing::info!(rules = %rules.fingerprint(), "identifier fields changed: rebuilding the inventory's claims");
        rebuild_claims(tx, rules)?;
    }
    Ok(())
}

fn encode(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_json().to_string())
}

fn decode(s: &str) -> Option<Value> {
    // Most values are strings without escapes: read those without a parse.
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
        && !inner.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20)
    {
        return crate::normalize::text_compact(inner).map(Value::Text);
    }
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .as_ref()
        .and_then(Value::from_json)
}

/// A write's failure that is the record's, not the store's.
enum ItemError {
    Store(StoreError),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for ItemError {
    fn from(e: rusqlite::Error) -> Self {
        ItemError::Sql(e)
    }
}

fn asset_fields(tx: &rusqlite::Transaction<'_>, id: i64) -> rusqlite::Result<Fields> {
    let mut st = tx.prepare_cached("SELECT field, value FROM asset_fields WHERE asset_id = ?1")?;
    let mut rows = st.query(params![id])?;
    let mut fields = Fields::new();
    while let Some(row) = rows.next()? {
        let field = row.get_ref(0)?.as_str()?;
        let value = row.get_ref(1)?.as_str()?;
        fields.set(field, decode(value));
    }
    Ok(fields)
}

fn email_holder(tx: &rusqlite::Transaction<'_>, email: &str) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("SELECT employee_id FROM email_claims WHERE email = ?1")?
        .query_row([email], |r| r.get(0))
        .optional()
}

fn claim_holder(tx: &rusqlite::Transaction<'_>, c: &Claim) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("SELECT asset_id FROM asset_claims WHERE field = ?1 AND value = ?2")?
        .query_row(params![c.field, c.value], |r| r.get(0))
        .optional()
}

/// The first of `claims` held by an asset other than `me`.
fn taken(
    tx: &rusqlite::Transaction<'_>,
    claims: &[Claim],
    me: Option<i64>,
) -> rusqlite::Result<Option<(Claim, i64)>> {
    for c in claims {
        if let Some(h) = claim_holder(tx, c)?
            && Some(h) != me
        {
            return Ok(Some((c.clone(), h)));
        }
    }
    Ok(None)
}

fn claimed(record: String, c: Claim, holder: i64) -> ItemError {
    ItemError::Store(StoreError::Claimed {
        record,
        field: c.field,
        value: c.value,
        holder: format!("asset {holder}"),
    })
}

fn resolve(
    tx: &rusqlite::Transaction<'_>,
    writes: &[FieldWrite],
) -> rusqlite::Result<Vec<FieldWrite>> {
    let mut err = None;
    let out = resolve_employees(writes, |email| match email_holder(tx, email) {
        Ok(h) => h.map(|id| id.to_string()),
        Err(e) => {
            err = Some(e);
            None
        }
    });
    err.map_or(Ok(out), Err)
}

/// Writes `writes` onto asset `id` inside the open transaction; `fresh`:
/// the asset was just created (no field to replace). A field written
/// twice takes the last value.
fn write_fields(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    writes: &[FieldWrite],
    fresh: bool,
) -> rusqlite::Result<()> {
    if !fresh {
        let mut delete =
            tx.prepare_cached("DELETE FROM asset_fields WHERE asset_id = ?1 AND field = ?2")?;
        for w in writes {
            delete.execute(params![id, w.field])?;
        }
    }
    // The last write of each field, by field.
    let mut order: Vec<usize> = (0..writes.len()).collect();
    order.sort_by(|&a, &b| writes[a].field.cmp(&writes[b].field));
    let mut rows: Vec<(&str, String)> = Vec::with_capacity(writes.len());
    for (k, &i) in order.iter().enumerate() {
        let w = &writes[i];
        if order
            .get(k + 1)
            .is_some_and(|&n| writes[n].field == w.field)
        {
            continue;
        }
        // A plain value is encoded where it is, without a copy.
        let encoded = match &w.value {
            Some(FieldValue::Value(v)) => Some(encode(v)),
            Some(other) => Some(encode(&other.expose())),
            None => None,
        };
        if let Some(e) = encoded {
            rows.push((w.field.as_str(), e));
        }
    }
    // Several rows a statement: each statement run costs about what a row does.
    let mut chunks = rows.chunks_exact(FIELD_ROWS);
    if chunks.len() > 0 {
        let mut many = tx.prepare_cached(insert_fields_sql())?;
        for chunk in &mut chunks {
            let mut bound: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(FIELD_ROWS * 3);
            for (field, value) in chunk {
                bound.extend([&id as &dyn rusqlite::ToSql, field, value]);
            }
            many.execute(rusqlite::params_from_iter(bound))?;
        }
    }
    let mut one =
        tx.prepare_cached("INSERT INTO asset_fields (asset_id, field, value) VALUES (?1, ?2, ?3)")?;
    for (field, value) in chunks.remainder() {
        one.execute(params![id, field, value])?;
    }
    Ok(())
}

/// Field rows inserted by one statement of [`write_fields`].
const FIELD_ROWS: usize = 8;

/// `INSERT INTO asset_fields … VALUES` with [`FIELD_ROWS`] rows.
fn insert_fields_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let rows: Vec<&str> = vec!["(?, ?, ?)"; FIELD_ROWS];
        format!(
            "INSERT INTO asset_fields (asset_id, field, value) VALUES {}",
            rows.join(", ")
        )
    })
}

fn set_claims(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    old: &[Claim],
    new: &[Claim],
) -> rusqlite::Result<()> {
    for c in old.iter().filter(|c| !new.contains(c)) {
        tx.prepare_cached(
            "DELETE FROM asset_claims WHERE field = ?1 AND value = ?2 AND asset_id = ?3",
        )?
        .execute(params![c.field, c.value, id])?;
    }
    for c in new.iter().filter(|c| !old.contains(c)) {
        tx.prepare_cached("INSERT INTO asset_claims (field, value, asset_id) VALUES (?1, ?2, ?3)")?
            .execute(params![c.field, c.value, id])?;
    }
    Ok(())
}

fn create_employee(tx: &rusqlite::Transaction<'_>, e: &NewEmployee) -> Result<String, ItemError> {
    let claims = IdentifierRules::email_claims(&e.emails);
    for c in &claims {
        if let Some(h) = email_holder(tx, &c.value)? {
            return Err(ItemError::Store(StoreError::Claimed {
                record: describe_employee(e),
                field: c.field.clone(),
                value: c.value.clone(),
                holder: format!("employee {h}"),
            }));
        }
    }
    let name = IdentifierRules::name_claim(&e.first_name, &e.last_name);
    if let Some(name) = &name {
        let holder: Option<i64> = tx
            .prepare_cached("SELECT employee_id FROM name_claims WHERE name = ?1")?
            .query_row([&name.value], |r| r.get(0))
            .optional()?;
        if let Some(h) = holder {
            return Err(ItemError::Store(StoreError::Claimed {
                record: describe_employee(e),
                field: name.field.clone(),
                value: name.value.clone(),
                holder: format!("employee {h}"),
            }));
        }
    }
    tx.prepare_cached("INSERT INTO employees (first_name, last_name) VALUES (?1, ?2)")?
        .execute(params![e.first_name, e.last_name])?;
    let id = tx.last_insert_rowid();
    if let Some(name) = &name {
        tx.prepare_cached("INSERT INTO name_claims (name, employee_id) VALUES (?1, ?2)")?
            .execute(params![name.value, id])?;
    }
    for email in &e.emails {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO employee_emails (employee_id, email) VALUES (?1, ?2)",
        )?
        .execute(params![id, email.to_lowercase()])?;
    }
    for c in &claims {
        tx.prepare_cached("INSERT INTO email_claims (email, employee_id) VALUES (?1, ?2)")?
            .execute(params![c.value, id])?;
    }
    Ok(id.to_string())
}

fn exists(tx: &rusqlite::Transaction<'_>, id: &str) -> rusqlite::Result<Option<i64>> {
    let Ok(n) = id.trim().parse::<i64>() else {
        return Ok(None);
    };
    Ok(tx
        .prepare_cached("SELECT 1 FROM assets WHERE id = ?1")?
        .exists(params![n])?
        .then_some(n))
}

fn write_asset(
    tx: &rusqlite::Transaction<'_>,
    rules: &IdentifierRules,
    w: &AssetWrite,
) -> Result<String, ItemError> {
    let record = w.describe();
    match w {
        AssetWrite::Create { fields } => {
            let writes = resolve(tx, fields)?;
            let mut f = Fields::new();
            for w in &writes {
                f.set(&w.field, w.value.as_ref().map(|v| v.expose()));
            }
            let claims = rules.claims(&f);
            tx.prepare_cached("INSERT INTO assets DEFAULT VALUES")?
                .execute([])?;
            let id = tx.last_insert_rowid();
            // Each claim is taken as it is inserted: one statement, not a
            // look-up and an insert. A claim another asset holds undoes
            // this asset (nothing else was written for it yet) and names
            // the holder; the write lock is held, so nobody else writes
            // in between.
            let mut claim = tx.prepare_cached(
                "INSERT INTO asset_claims (field, value, asset_id) VALUES (?1, ?2, ?3) ON CONFLICT (field, value) DO NOTHING",
            )?;
            for c in &claims {
                if claim.execute(params![c.field, c.value, id])? == 0
                    && let Some(h) = claim_holder(tx, c)?
                    && h != id
                {
                    tx.prepare_cached("DELETE FROM asset_claims WHERE asset_id = ?1")?
                        .execute(params![id])?;
                    tx.prepare_cached("DELETE FROM assets WHERE id = ?1")?
                        .execute(params![id])?;
                    return Err(claimed(record, c.clone(), h));
                }
            }
            write_fields(tx, id, &writes, true)?;
            Ok(id.to_string())
        }
        AssetWrite::Update {
            id,
            changes,
            expect,
        } => {
            let Some(n) = exists(tx, id)? else {
                return Err(ItemError::Store(StoreError::AssetNotFound {
                    id: id.clone(),
                }));
            };
            let writes = resolve(tx, changes)?;
            let current = asset_fields(tx, n)?;
            check_expectations(&record, &current, expect).map_err(ItemError::Store)?;
            let old = rules.claims(&current);
            let mut f = current;
            for w in &writes {
                f.remove(&w.field);
                f.set(&w.field, w.value.as_ref().map(|v| v.expose()));
            }
            let new = rules.claims(&f);
            if let Some((c, h)) = taken(tx, &new, Some(n))? {
                return Err(claimed(record, c, h));
            }
            write_fields(tx, n, &writes, false)?;
            set_claims(tx, n, &old, &new)?;
            tx.prepare_cached(
                "UPDATE assets SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now'), rev = rev + 1, mark = NULL WHERE id = ?1",
            )?
            .execute(params![n])?;
            Ok(id.clone())
        }
        AssetWrite::Seal { id, rev, mark } => {
            // One statement for a seal that holds; why it did not, only
            // when it did not. The digest is stored as SQLite's signed
            // integer, bit for bit.
            let n = id.trim().parse::<i64>().ok();
            let sealed = match n {
                Some(n) => tx
                    .prepare_cached("UPDATE assets SET mark = ?2 WHERE id = ?1 AND rev = ?3")?
                    .execute(params![n, *mark as i64, *rev as i64])?,
                None => 0,
            };
            if sealed > 0 {
                return Ok(id.clone());
            }
            Err(ItemError::Store(if exists(tx, id)?.is_some() {
                StoreError::Stale {
                    record,
                    field: REVISION_FIELD.to_owned(),
                }
            } else {
                StoreError::AssetNotFound { id: id.clone() }
            }))
        }
        AssetWrite::Delete { id, expect } => {
            let Some(n) = exists(tx, id)? else {
                return Err(ItemError::Store(StoreError::AssetNotFound {
                    id: id.clone(),
                }));
            };
            let current = asset_fields(tx, n)?;
            check_expectations(&record, &current, expect).map_err(ItemError::Store)?;
            tx.execute("DELETE FROM asset_claims WHERE asset_id = ?1", params![n])?;
            // A duplicate merged away is no longer one to report.
            tx.execute(
                "DELETE FROM claim_duplicates WHERE other = ?1",
                params![format!("asset {n}")],
            )?;
            tx.execute("DELETE FROM asset_fields WHERE asset_id = ?1", params![n])?;
            tx.execute("DELETE FROM assets WHERE id = ?1", params![n])?;
            Ok(id.clone())
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn record_run(&self, run: &RunRecord) -> Result<i64, StoreError> {
        let doc = serde_json::to_string(run).map_err(|e| StoreError::Rejected {
            record: "sync run".into(),
            reason: e.to_string(),
        })?;
        let started = run.started.to_rfc3339();
        self.with_conn("record_run", "sync run".into(), move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO sync_runs (started, doc) VALUES (?1, ?2)",
                params![started, doc],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn runs(&self, last: usize) -> Result<Vec<RunRecord>, StoreError> {
        let last = i64::try_from(last).unwrap_or(i64::MAX);
        let rows = self
            .with_conn("runs", "sync runs".into(), move |conn| {
                let mut st =
                    conn.prepare_cached("SELECT id, doc FROM sync_runs ORDER BY id DESC LIMIT ?1")?;
                let rows = st.query_map(params![last], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .await?;
        rows.into_iter()
            .map(|(id, doc)| {
                let run: RunRecord =
                    serde_json::from_str(&doc).map_err(|e| StoreError::Rejected {
                        record: format!("sync run {id}"),
                        reason: format!("unreadable history row: {e}"),
                    })?;
                Ok(RunRecord { id, ..run })
            })
            .collect()
    }

    async fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        let name = source.to_owned();
        let doc: Option<String> = self
            .with_conn("source_state", format!("source {source}"), move |conn| {
                conn.query_row(
                    "SELECT doc FROM source_state WHERE source = ?1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        doc.map(|d| read_source_state(source, &d)).transpose()
    }

    async fn set_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        let doc = write_source_state(source, state)?;
        let name = source.to_owned();
        self.with_conn(
            "set_source_state",
            format!("source {source}"),
            move |conn| {
                conn.execute(
                    "INSERT INTO source_state (source, doc) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET doc = excluded.doc",
                    params![name, doc],
                )
                .map(drop)
            },
        )
        .await
    }

    async fn lock_runs(&self) -> Result<Option<RunGuard>, StoreError> {
        let Some(path) = &self.path else {
            return in_process_lock(&self.running);
        };
        let mut name = path.clone().into_os_string();
        name.push(".sync-lock");
        let unavailable = |e: std::io::Error| StoreError::Unavailable {
            operation: "lock_runs",
            record: self.name(),
            source: Box::new(e),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(unavailable)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunGuard::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(unavailable(e)),
        }
    }

    async fn load(&self) -> Result<Inventory, StoreError> {
        self.with_conn("load", self.name(), |conn| {
            let mut st = conn.prepare_cached(
                "SELECT a.id, a.rev, a.mark, f.field, f.value FROM assets a LEFT JOIN asset_fields f ON f.asset_id = a.id ORDER BY a.id",
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
            // One read transaction: the assets and their fields from one
            // snapshot. Two scans in id order, joined here: a scan of the
            // fields that skips the others takes about half the time of a
            // seek per asset and field.
            let tx = conn.transaction()?;
            let assets = {
                let mut heads = tx.prepare_cached("SELECT id, rev, mark FROM assets ORDER BY id")?;
                let mut fields = tx.prepare_cached(
                    "SELECT asset_id, field, value FROM asset_fields WHERE field IN (SELECT field FROM matching_fields) ORDER BY asset_id",
                )?;
                read_assets_merged(heads.query([])?, fields.query([])?)?
            };
            let employees = read_employees(&tx)?;
            tx.commit()?;
            Ok(Inventory { assets, employees })
        })
        .await
    }

    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        self.with_conn("load", self.name(), move |conn| {
            // One read transaction: one snapshot, and the file's lock taken
            // once rather than per statement.
            let tx = conn.transaction()?;
            let mut out = Vec::with_capacity(ids.len());
            {
                // A row of NULLs for an asset without fields, none for no asset.
                let mut st = tx.prepare_cached(
                    "SELECT a.id, a.rev, a.mark, f.field, f.value FROM assets a LEFT JOIN asset_fields f ON f.asset_id = a.id WHERE a.id = ?1",
                )?;
                for id in &ids {
                    // Ids this store did not give (not a number) are not here.
                    let Ok(n) = id.parse::<i64>() else { continue };
                    for mut asset in read_assets(st.query(params![n])?)? {
                        asset.id.clone_from(id);
                        out.push(asset);
                    }
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn holders(
        &self,
        rules: &IdentifierRules,
        claims: &[Claim],
    ) -> Result<Vec<Holding>, StoreError> {
        let rules = rules.clone();
        let claims = claims.to_vec();
        self.with_conn("holders", self.name(), move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            ensure_rules(&tx, &rules)?;
            let mut out = Vec::new();
            for c in claims {
                let holder = if c.field == EMAIL_CLAIM {
                    email_holder(&tx, &c.value)?
                } else {
                    claim_holder(&tx, &c)?
                };
                if let Some(h) = holder {
                    out.push(Holding {
                        claim: c,
                        holder: h.to_string(),
                    });
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError> {
        let rules = rules.clone();
        let batch = batch.clone();
        let record = format!("a batch of {} records", batch.len());
        self.with_conn("write", record, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            ensure_rules(&tx, &rules)?;
            let mut results = WriteResults::default();
            let settle = |r: Result<String, ItemError>| match r {
                Ok(id) => Ok(Ok(id)),
                Err(ItemError::Store(e)) => Ok(Err(e)),
                Err(ItemError::Sql(e)) => Err(e),
            };
            for e in &batch.employees {
                results.employees.push(settle(create_employee(&tx, e))?);
            }
            for w in &batch.assets {
                results.assets.push(settle(write_asset(&tx, &rules, w))?);
            }
            if batch.atomic && !results.all_ok() {
                // Dropping the transaction rolls it back.
                return Ok(results.abort(&batch));
            }
            tx.commit()?;
            Ok(results)
        })
        .await
    }
}

/// Assets from rows of `(asset id, rev, mark, field, value)` ordered by
/// asset id (field and value NULL for an asset without fields).
fn read_assets(mut rows: rusqlite::Rows<'_>) -> rusqlite::Result<Vec<Asset>> {
    let mut assets: Vec<Asset> = Vec::new();
    let mut current: Option<(i64, Revision, Fields)> = None;
    // Assets of one inventory hold about as many fields as each other:
    // each reserves what the one before held, rather than growing.
    let mut last_len = 0;
    let mut keys = KeyCache::default();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let field = row.get_ref(3)?.as_str_or_null()?;
        let value = row.get_ref(4)?.as_str_or_null()?;
        if current.as_ref().map(|(c, _, _)| *c) != Some(id) {
            if let Some((cid, r, f)) = current.take() {
                last_len = f.len();
                assets.push(asset_at(cid, r, f));
            }
            let mut fields = Fields::new();
            fields.reserve(last_len);
            current = Some((id, revision_at(row)?, fields));
        }
        if let (Some((_, _, fields)), Some(field), Some(value)) = (current.as_mut(), field, value) {
            fields.set_key(keys.key(fields.len(), field), decode(value));
        }
    }
    if let Some((cid, r, f)) = current {
        assets.push(asset_at(cid, r, f));
    }
    Ok(assets)
}

/// The assets of `heads` (`id, rev, mark`, by id) with their fields from
/// `fields` (`asset_id, field, value`, by asset id): a merge of two scans.
/// A field of no asset in `heads` is passed over.
fn read_assets_merged(
    mut heads: rusqlite::Rows<'_>,
    mut fields: rusqlite::Rows<'_>,
) -> rusqlite::Result<Vec<Asset>> {
    let mut assets: Vec<Asset> = Vec::new();
    let mut keys = KeyCache::default();
    // Assets of one inventory hold about as many fields as each other.
    let mut last_len = 0;
    // The field row read ahead of the asset it belongs to.
    let mut ahead: Option<(i64, Key, Option<Value>)> = None;
    let mut fields_done = false;
    while let Some(row) = heads.next()? {
        let id: i64 = row.get(0)?;
        let revision = revision_at(row)?;
        let mut f = Fields::new();
        f.reserve(last_len);
        loop {
            if ahead.is_none() && !fields_done {
                match fields.next()? {
                    None => fields_done = true,
                    Some(r) => {
                        let fid: i64 = r.get(0)?;
                        // The key cache guesses by position in the asset.
                        let position = if fid == id { f.len() } else { 0 };
                        let key = keys.key(position, r.get_ref(1)?.as_str()?);
                        ahead = Some((fid, key, decode(r.get_ref(2)?.as_str()?)));
                    }
                }
            }
            match ahead.take() {
                Some((fid, key, value)) if fid == id => {
                    f.set_key(key, value);
                }
                // A field of no asset: passed over.
                Some((fid, _, _)) if fid < id => {}
                later => {
                    ahead = later;
                    break;
                }
            }
        }
        last_len = f.len();
        assets.push(asset_at(id, revision, f));
    }
    Ok(assets)
}

/// The revision in columns 1 (`rev`) and 2 (`mark`) of an asset row, stored
/// as SQLite's signed integers, bit for bit.
fn revision_at(row: &rusqlite::Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        rev: row.get::<_, i64>(1)? as u64,
        mark: row.get::<_, Option<i64>>(2)?.map(|m| m as u64),
    })
}

fn asset_at(id: i64, revision: Revision, fields: Fields) -> Asset {
    let mut a = Asset::new(id.to_string(), fields);
    a.revision = Some(revision);
    a
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
mod tests;
