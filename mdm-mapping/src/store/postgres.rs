//! [`PgStore`]: an inventory in PostgreSQL (feature `postgres`), for
//! inventories a team shares and several sync workers write at once.
//!
//! Built on [`tokio_postgres`] with a [`deadpool_postgres`] pool (a broken
//! connection is replaced, not fatal to a long-running scheduler) and TLS
//! through rustls ([`tokio_postgres_rustls`], the system's root
//! certificates): `sslmode=require` in the URL insists on it; the default
//! (`prefer`) uses it when the server offers it.
//!
//! # Schema
//!
//! The tables of the [SQLite store](super::sqlite), but for the fields:
//! each asset's fields are one JSON document, `assets.fields` (`JSONB`,
//! field name → value), written whole, so a sync writes one row per asset
//! rather than one per field. `asset_claims`, `employees`,
//! `employee_emails`, `email_claims`, `claim_duplicates`, `meta`,
//! `sync_runs` (version 2), `source_state` (version 3, the watermarks
//! of incremental syncs) and `name_claims` (version 4, the names of
//! employees, primary key `name`) are as in SQLite (the documents as `JSONB`),
//! and so are each asset's `rev` and `mark` (version 5, its
//! [`Revision`]). They live in the schema named by the
//! URL's `schema=` parameter (default `public`), created and migrated when
//! the store connects (under an advisory lock, so workers starting together
//! do not race). `asset_claims` has the primary key `(field, value)` and
//! `email_claims` the primary key `email`: the database itself refuses a
//! second holder.
//!
//! # Writes
//!
//! A [`WriteBatch`] is one transaction of a fixed number of round trips,
//! whatever its size: ids are drawn in one query, claims, fields and rows
//! are written with `unnest` arrays. Claims are inserted with
//! `ON CONFLICT DO NOTHING RETURNING`, so a claim another worker holds (or
//! is committing at this moment: PostgreSQL waits for it) is seen and the
//! record fails with [`StoreError::Claimed`]; that record's writes are
//! rolled back to a savepoint and the rest of the batch goes on. Assets
//! being updated are locked (`SELECT … FOR UPDATE`) before their fields are
//! compared with what the plan read. A deadlock or serialization failure
//! retries the whole transaction.
//!
//! The password in the URL never appears in a log, a `Debug` output or an
//! error: the store names its database by the URL with the password
//! replaced by `***`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::history::{read_source_state, write_source_state};
use super::{
    Asset, AssetWrite, Claim, EMAIL_CLAIM, Employee, FieldWrite, Holding, IdentifierRules,
    Inventory, NAME_CLAIM, REVISION_FIELD, Revision, RunGuard, RunRecord, SourceState, Store,
    StoreError, WriteBatch, WriteResults, check_expectations, describe_employee, resolve_employees,
};
use crate::record::{Fields, KeyCache, Value};

/// The schema version this code writes (kept in `meta`).
pub const SCHEMA_VERSION: i64 = 5;

/// How many times a transaction that hit a deadlock or a serialization
/// failure is tried again.
const TX_ATTEMPTS: usize = 5;

/// Connecting to, or setting up, the database failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The URL is not a PostgreSQL URL tokio-postgres accepts.
    #[error("invalid PostgreSQL URL {url}: {reason}")]
    Url {
        /// The URL, password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The schema name is not a plain identifier.
    #[error("invalid schema name {0:?}: use letters, digits and _")]
    Schema(String),
    /// Connecting or setting up the schema failed.
    #[error("PostgreSQL inventory {url}: {source}")]
    Db {
        /// The URL, password redacted.
        url: String,
        /// The error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// An inventory in PostgreSQL. Clones share one connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    schema: Arc<str>,
    url: Arc<str>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***` (and left as it is when it is
/// not a URL), for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // A password may also be given as a query parameter.
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".to_string(),
    }
}

/// Whether `s` looks like a PostgreSQL URL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(s: &str) -> bool {
    let l = s.trim_start().to_ascii_lowercase();
    l.starts_with("postgres://") || l.starts_with("postgresql://")
}

/// Accepts the server's certificate without checking who signed it or
/// for which name: libpq's `sslmode=prefer`/`require` for a server on this
/// machine, where the link never leaves the host. Signatures are still
/// checked, so the handshake itself is sound.
#[derive(Debug)]
struct LoopbackVerifier(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for LoopbackVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS set-up: for a remote server, the system's root certificates
/// (plus `sslrootcert`, a PEM file, when given) and the server's name are
/// checked; a server on a loopback address is encrypted without checks.
fn tls(
    loopback: bool,
    root_cert: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if loopback && root_cert.is_none() {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LoopbackVerifier(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // A system certificate rustls cannot read is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        if let Some(path) = root_cert {
            let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
            for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: rustls::pki_types::CertificateDer<'static> =
                    cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn all_loopback(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => true,
    })
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`,
    /// with libpq's parameters such as `sslmode=require`; `schema=NAME`
    /// picks the schema, default `public`; `sslrootcert=PATH` adds a CA
    /// certificate), and creates or migrates the schema.
    ///
    /// TLS: a remote server's certificate is checked against the system's
    /// roots (and `sslrootcert`) and its name; a server on a loopback
    /// address is encrypted but not checked, as libpq's `prefer` and
    /// `require` do.
    pub async fn connect(url: &str) -> Result<PgStore, PgError> {
        let redacted = redact_url(url);
        let (url_rest, schema) = split_param(url, "schema");
        let (url_rest, root_cert) = split_param(&url_rest, "sslrootcert");
        let schema = schema.unwrap_or_else(|| "public".to_string());
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(PgError::Schema(schema));
        }
        let mut config = tokio_postgres::Config::from_str(&url_rest).map_err(|e| PgError::Url {
            url: redacted.clone(),
            reason: e.to_string(),
        })?;
        config.options(format!("-c search_path={schema}"));
        if config.get_application_name().is_none() {
            config.application_name("mdm");
        }
        let tls =
            tls(all_loopback(&config), root_cert.as_deref()).map_err(|reason| PgError::Url {
                url: redacted.clone(),
                reason,
            })?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(4)
            .build()
            .map_err(|e| PgError::Db {
                url: redacted.clone(),
                source: Box::new(e),
            })?;
        let store = PgStore {
            pool,
            schema: Arc::from(schema.as_str()),
            url: Arc::from(redacted.as_str()),
        };
        store.migrate().await.map_err(|source| PgError::Db {
            url: redacted,
            source,
        })?;
        Ok(store)
    }

    /// The schema the store writes in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The database URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the store's schema with everything in it (tests; never the
    /// `public` schema).
    pub async fn drop_schema(&self) -> Result<(), PgError> {
        if &*self.schema == "public" {
            return Err(PgError::Schema("public".into()));
        }
        let client = self.pool.get().await.map_err(|e| self.db_error(e))?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .map_err(|e| self.db_error(e))
    }

    fn db_error(&self, e: impl std::error::Error + Send + Sync + 'static) -> PgError {
        PgError::Db {
            url: self.url.to_string(),
            source: Box::new(e),
        }
    }

    async fn migrate(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One migration at a time per schema, across processes.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('mdm-schema:' || $1::text))",
            &[&&*self.schema],
        )
        .await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
            s = self.schema
        ))
        .await?;
        let version: Option<String> = tx
            .query_opt(
                &format!(
                    "SELECT value FROM {}.meta WHERE key = 'schema_version'",
                    self.schema
                ),
                &[],
            )
            .await?
            .map(|r| r.get(0));
        let version: i64 = version.and_then(|v| v.parse().ok()).unwrap_or(0);
        if version < 1 {
            tx.batch_execute(&format!(
                "SET LOCAL search_path = {s};
                 CREATE TABLE IF NOT EXISTS assets (
                     id BIGSERIAL PRIMARY KEY,
                     fields JSONB NOT NULL DEFAULT '{{}}',
                     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                     updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
                 CREATE TABLE IF NOT EXISTS asset_claims (
                     field TEXT NOT NULL,
                     value TEXT NOT NULL,
                     asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
                     PRIMARY KEY (field, value));
                 CREATE INDEX IF NOT EXISTS asset_claims_by_asset ON asset_claims(asset_id);
                 CREATE TABLE IF NOT EXISTS employees (
                     id BIGSERIAL PRIMARY KEY,
                     first_name TEXT NOT NULL,
                     last_name TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS employee_emails (
                     employee_id BIGINT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
                     email TEXT NOT NULL,
                     PRIMARY KEY (employee_id, email));
                 CREATE INDEX IF NOT EXISTS employee_emails_by_email ON employee_emails(email);
                 CREATE TABLE IF NOT EXISTS email_claims (
                     email TEXT PRIMARY KEY,
                     employee_id BIGINT NOT NULL REFERENCES employees(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);
                 CREATE TABLE IF NOT EXISTS claim_duplicates (
                     field TEXT NOT NULL, value TEXT NOT NULL, holder TEXT NOT NULL, other TEXT NOT NULL);
                 INSERT INTO meta (key, value) VALUES ('schema_version', '{v}')
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                s = self.schema,
                v = SCHEMA_VERSION
            ))
            .await?;
        }
        if version < 2 {
            tx.batch_execute(&format!(
                "SET LOCAL search_path = {s};
                 CREATE TABLE IF NOT EXISTS sync_runs (
                     id BIGSERIAL PRIMARY KEY,
                     started TIMESTAMPTZ NOT NULL,
                     doc JSONB NOT NULL);
                 INSERT INTO meta (key, value) VALUES ('schema_version', '{v}')
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                s = self.schema,
                v = SCHEMA_VERSION
            ))
            .await?;
        }
        if version < 3 {
            tx.batch_execute(&format!(
                "SET LOCAL search_path = {s};
                 CREATE TABLE IF NOT EXISTS source_state (
                     source TEXT PRIMARY KEY,
                     doc JSONB NOT NULL);
                 INSERT INTO meta (key, value) VALUES ('schema_version', '{v}')
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                s = self.schema,
                v = SCHEMA_VERSION
            ))
            .await?;
        }
        if version < 4 {
            // Version 4 claims new employees' names: every employee's name
            // is claimed (the first of several sharing one keeps it).
            tx.batch_execute(&format!(
                "SET LOCAL search_path = {s};
                 CREATE TABLE IF NOT EXISTS name_claims (
                     name TEXT PRIMARY KEY,
                     employee_id BIGINT NOT NULL REFERENCES employees(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);",
                s = self.schema,
            ))
            .await?;
            let rows = tx
                .query(
                    "SELECT id, first_name, last_name FROM employees ORDER BY id",
                    &[],
                )
                .await?;
            let (mut names, mut ids) = (Vec::new(), Vec::new());
            for r in &rows {
                let (first, last): (String, String) = (r.get(1), r.get(2));
                if let Some(c) = IdentifierRules::name_claim(&first, &last) {
                    names.push(c.value);
                    ids.push(r.get::<_, i64>(0));
                }
            }
            tx.execute(
                "INSERT INTO name_claims (name, employee_id) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
                &[&names, &ids],
            )
            .await?;
            tx.batch_execute(&format!(
                "SET LOCAL search_path = {s};
                 INSERT INTO meta (key, value) VALUES ('schema_version', '{v}')
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                s = self.schema,
                v = SCHEMA_VERSION
            ))
            .await?;
        }
        if version < 5 {
            // Version 5 keeps each asset's revision (`rev`, `mark`): every
            // write of its fields adds one to `rev` and clears `mark`.
            tx.batch_execute(&format!(
                "SET LOCAL search_path = {s};
                 ALTER TABLE assets ADD COLUMN IF NOT EXISTS rev BIGINT NOT NULL DEFAULT 0,
                                    ADD COLUMN IF NOT EXISTS mark BIGINT;
                 INSERT INTO meta (key, value) VALUES ('schema_version', '{v}')
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                s = self.schema,
                v = SCHEMA_VERSION
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims found held by a second record when the claims were last
    /// built (see the SQLite store's `duplicates`).
    pub async fn duplicates(&self) -> Result<Vec<Holding>, PgError> {
        let client = self.pool.get().await.map_err(|e| self.db_error(e))?;
        let rows = client
            .query(
                "SELECT field, value, other FROM claim_duplicates ORDER BY field, value, other",
                &[],
            )
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(rows
            .iter()
            .map(|r| Holding {
                claim: Claim::new(r.get::<_, String>(0), r.get::<_, String>(1)),
                holder: r.get(2),
            })
            .collect())
    }

    /// How many assets and employees the inventory holds.
    pub async fn counts(&self) -> Result<(usize, usize), PgError> {
        let client = self.pool.get().await.map_err(|e| self.db_error(e))?;
        let row = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM assets), (SELECT COUNT(*) FROM employees)",
                &[],
            )
            .await
            .map_err(|e| self.db_error(e))?;
        let a: i64 = row.get(0);
        let e: i64 = row.get(1);
        Ok((
            usize::try_from(a).unwrap_or(0),
            usize::try_from(e).unwrap_or(0),
        ))
    }

    fn unavailable(
        &self,
        operation: &'static str,
        record: String,
    ) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> StoreError {
        move |source| StoreError::Unavailable {
            operation,
            record,
            source,
        }
    }

    async fn client(
        &self,
    ) -> Result<deadpool_postgres::Object, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.pool.get().await?)
    }

    /// Builds the claims anew under `rules` if they were built under others.
    async fn ensure_rules(&self, rules: &IdentifierRules) -> Result<(), BoxError> {
        let fp = rules.fingerprint();
        let client = self.client().await?;
        let current: Option<String> = client
            .query_opt("SELECT value FROM meta WHERE key = 'identifier_rules'", &[])
            .await?
            .map(|r| r.get(0));
        if current.as_deref() == Some(fp.as_str()) {
            return Ok(());
        }
        drop(client);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Writers take ROW EXCLUSIVE on asset_claims; this waits for them
        // and keeps them out while the claims are rebuilt.
        tx.batch_execute("LOCK TABLE asset_claims IN ACCESS EXCLUSIVE MODE")
            .await?;
        let current: Option<String> = tx
            .query_opt("SELECT value FROM meta WHERE key = 'identifier_rules'", &[])
            .await?
            .map(|r| r.get(0));
        if current.as_deref() == Some(fp.as_str()) {
            tx.commit().await?;
            return Ok(());
        }
        tracing::info!(rules = %fp, "identifier fields changed: rebuilding the inventory's claims");
        rebuild_claims(&tx, rules).await?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('identifier_rules', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&fp],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Splits a query parameter tokio-postgres does not take off the URL.
fn split_param(url: &str, name: &str) -> (String, Option<String>) {
    let Ok(mut u) = url::Url::parse(url) else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let rest: Vec<(String, String)> = u
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == name {
                schema = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if schema.is_some() {
        if rest.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(rest);
        }
    }
    (u.to_string(), schema)
}

async fn rebuild_claims(
    tx: &deadpool_postgres::Transaction<'_>,
    rules: &IdentifierRules,
) -> Result<(), BoxError> {
    tx.batch_execute("DELETE FROM asset_claims; DELETE FROM claim_duplicates;")
        .await?;
    let wanted: Vec<String> = rules
        .fields()
        .chain(["asset_type"])
        .map(str::to_string)
        .collect();
    let (sql, params) = subset_query(&wanted);
    let rows = tx.query(&sql, &params).await?;
    let mut by_asset: BTreeMap<i64, Fields> = BTreeMap::new();
    for r in &rows {
        let id: i64 = r.get(0);
        let doc: String = r.get(1);
        by_asset.insert(id, fields_of(&doc));
    }
    let mut holder: HashMap<Claim, i64> = HashMap::new();
    let (mut f, mut v, mut a) = (Vec::new(), Vec::new(), Vec::new());
    let mut dups: Vec<(Claim, i64, i64)> = Vec::new();
    for (id, fields) in &by_asset {
        for c in rules.claims(fields) {
            if let Some(h) = holder.get(&c) {
                dups.push((c, *h, *id));
                continue;
            }
            holder.insert(c.clone(), *id);
            f.push(c.field);
            v.push(c.value);
            a.push(*id);
        }
    }
    tx.execute(
        "INSERT INTO asset_claims (field, value, asset_id) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
        &[&f, &v, &a],
    )
    .await?;
    // Emails, too: the first employee keeps each.
    tx.batch_execute("DELETE FROM email_claims").await?;
    let rows = tx
        .query(
            "SELECT employee_id, email FROM employee_emails ORDER BY employee_id, email",
            &[],
        )
        .await?;
    let mut emails: HashMap<String, i64> = HashMap::new();
    let (mut e, mut ids) = (Vec::new(), Vec::new());
    for r in &rows {
        let id: i64 = r.get(0);
        let raw: String = r.get(1);
        let Some(email) = crate::normalize::email(&raw) else {
            continue;
        };
        match emails.get(&email) {
            Some(h) if *h != id => dups.push((Claim::new(EMAIL_CLAIM, email), *h, id)),
            Some(_) => {}
            None => {
                emails.insert(email.clone(), id);
                e.push(email);
                ids.push(id);
            }
        }
    }
    tx.execute(
        "INSERT INTO email_claims (email, employee_id) SELECT * FROM unnest($1::text[], $2::bigint[])",
        &[&e, &ids],
    )
    .await?;
    for (c, h, other) in dups {
        let kind = if c.field == EMAIL_CLAIM {
            "employee"
        } else {
            "asset"
        };
        tracing::warn!(field = %c.field, value = %c.value, holder = h, other, "the inventory already holds a duplicate (see mdm dedupe)");
        tx.execute(
            "INSERT INTO claim_duplicates (field, value, holder, other) VALUES ($1, $2, $3, $4)",
            &[
                &c.field,
                &c.value,
                &format!("{kind} {h}"),
                &format!("{kind} {other}"),
            ],
        )
        .await?;
    }
    Ok(())
}

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// Draws `n` ids from a table's sequence in one query.
async fn next_ids(
    tx: &deadpool_postgres::Transaction<'_>,
    table: &str,
    n: usize,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            &format!(
                "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1::bigint)"
            ),
            &[&n],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Inserts `(field, value, owner)` claims, returning those that landed
/// for their owner: a claim another record holds (or is committing right
/// now) does not.
async fn insert_claims(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    claims: &[(String, String, i64)],
) -> Result<HashSet<(String, String, i64)>, tokio_postgres::Error> {
    if claims.is_empty() {
        return Ok(HashSet::new());
    }
    // A fixed order: two writers claiming overlapping values lock them in
    // the same order, which keeps deadlocks away.
    let mut sorted: Vec<&(String, String, i64)> = claims.iter().collect();
    sorted.sort();
    let f: Vec<&str> = sorted.iter().map(|c| c.0.as_str()).collect();
    let v: Vec<&str> = sorted.iter().map(|c| c.1.as_str()).collect();
    let o: Vec<i64> = sorted.iter().map(|c| c.2).collect();
    let params: [&(dyn ToSql + Sync); 3] = [&f, &v, &o];
    let rows = tx.query(sql, &params).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, i64>(2),
            )
        })
        .collect())
}

/// Employee claims (`field`) of a batch that did not land: another
/// employee holds them, or one earlier in the batch.
struct LostClaims<'a> {
    field: &'static str,
    /// Reads `(value, employee_id)` of the holders of the values `$1`.
    holders_sql: &'static str,
    /// `(field, value, employee id)` as inserted.
    lost: Vec<&'a (String, String, i64)>,
}

impl LostClaims<'_> {
    /// Fails each employee whose claim was lost (its first loss is kept),
    /// naming the holder.
    async fn fail(
        self,
        tx: &deadpool_postgres::Transaction<'_>,
        emp_ids: &[i64],
        employees: &[super::NewEmployee],
        failed: &mut HashMap<usize, StoreError>,
    ) -> Result<(), tokio_postgres::Error> {
        let values: Vec<&str> = self.lost.iter().map(|c| c.1.as_str()).collect();
        let holders: HashMap<String, i64> = tx
            .query(self.holders_sql, &[&values])
            .await?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect();
        for (_, value, owner) in self.lost {
            let Some(i) = emp_ids.iter().position(|x| x == owner) else {
                continue;
            };
            let Some(employee) = employees.get(i) else {
                continue;
            };
            failed.entry(i).or_insert_with(|| StoreError::Claimed {
                record: describe_employee(employee),
                field: self.field.to_string(),
                value: value.clone(),
                holder: holders
                    .get(value)
                    .map(|h| format!("employee {h}"))
                    .unwrap_or_else(|| "another record of this batch".to_string()),
            });
        }
        Ok(())
    }
}

const ASSET_CLAIMS_INSERT: &str = "INSERT INTO asset_claims (field, value, asset_id) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING RETURNING field, value, asset_id";

/// Claims owners `of` wanted and did not get, with who holds each now.
async fn claim_losers(
    tx: &deadpool_postgres::Transaction<'_>,
    wanted: &[(String, String, i64)],
    landed: &HashSet<(String, String, i64)>,
) -> Result<HashMap<i64, (Claim, String)>, tokio_postgres::Error> {
    let lost: Vec<&(String, String, i64)> =
        wanted.iter().filter(|c| !landed.contains(*c)).collect();
    let mut out = HashMap::new();
    if lost.is_empty() {
        return Ok(out);
    }
    let f: Vec<&str> = lost.iter().map(|c| c.0.as_str()).collect();
    let v: Vec<&str> = lost.iter().map(|c| c.1.as_str()).collect();
    let rows = tx
        .query(
            "SELECT c.field, c.value, c.asset_id FROM asset_claims c JOIN unnest($1::text[], $2::text[]) AS w(field, value) ON c.field = w.field AND c.value = w.value",
            &[&f, &v],
        )
        .await?;
    let mut holders: HashMap<(String, String), i64> = rows
        .iter()
        .map(|r| {
            (
                (r.get::<_, String>(0), r.get::<_, String>(1)),
                r.get::<_, i64>(2),
            )
        })
        .collect();
    // Lost to another record of this batch, whose claim did land.
    for (field, value, owner) in landed {
        holders
            .entry((field.clone(), value.clone()))
            .or_insert(*owner);
    }
    for (field, value, owner) in lost {
        let holder = holders
            .get(&(field.clone(), value.clone()))
            .map(|h| format!("asset {h}"))
            // Lost to another record of this same batch.
            .unwrap_or_else(|| "another record of this batch".to_string());
        out.entry(*owner)
            .or_insert((Claim::new(field.clone(), value.clone()), holder));
    }
    Ok(out)
}

/// One transaction's attempt at a batch.
async fn write_once(
    tx: &deadpool_postgres::Transaction<'_>,
    rules: &IdentifierRules,
    batch: &WriteBatch,
) -> Result<Option<WriteResults>, tokio_postgres::Error> {
    // Keeps a claims rebuild (ACCESS EXCLUSIVE) out while this writes.
    tx.batch_execute("LOCK TABLE asset_claims IN ROW EXCLUSIVE MODE")
        .await?;
    let fp: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'identifier_rules'", &[])
        .await?
        .map(|r| r.get(0));
    if fp.as_deref() != Some(rules.fingerprint().as_str()) {
        // The rules changed in between: rebuild, then try again.
        return Ok(None);
    }
    let mut results = WriteResults {
        employees: Vec::with_capacity(batch.employees.len()),
        assets: Vec::with_capacity(batch.assets.len()),
    };

    // 1. Employees.
    let emp_ids = next_ids(tx, "employees", batch.employees.len()).await?;
    let mut emp_failed: HashMap<usize, StoreError> = HashMap::new();
    let emp_claims: Vec<Vec<Claim>> = batch
        .employees
        .iter()
        .map(|e| IdentifierRules::email_claims(&e.emails))
        .collect();
    let emp_names: Vec<Option<Claim>> = batch
        .employees
        .iter()
        .map(|e| IdentifierRules::name_claim(&e.first_name, &e.last_name))
        .collect();
    for _ in 0..=batch.employees.len() {
        let wanted: Vec<(String, String, i64)> = emp_claims
            .iter()
            .enumerate()
            .filter(|(i, _)| !emp_failed.contains_key(i))
            .flat_map(|(i, cs)| {
                let id = emp_ids[i];
                cs.iter()
                    .map(move |c| (EMAIL_CLAIM.to_string(), c.value.clone(), id))
            })
            .collect();
        tx.batch_execute("SAVEPOINT employees").await?;
        let landed = insert_claims(
            tx,
            "INSERT INTO email_claims (email, employee_id) SELECT w.email, w.id FROM unnest($1::text[], $2::text[], $3::bigint[]) AS w(f, email, id) ON CONFLICT DO NOTHING RETURNING 'email'::text, email, employee_id",
            &wanted,
        )
        .await?;
        let lost: Vec<&(String, String, i64)> =
            wanted.iter().filter(|c| !landed.contains(*c)).collect();
        if lost.is_empty() {
            // Then their names: an employee is not created under a name
            // another holds, nor twice in one batch.
            let names: Vec<(String, String, i64)> = emp_names
                .iter()
                .enumerate()
                .filter(|(i, _)| !emp_failed.contains_key(i))
                .filter_map(|(i, c)| {
                    Some((
                        NAME_CLAIM.to_string(),
                        c.as_ref()?.value.clone(),
                        emp_ids[i],
                    ))
                })
                .collect();
            let landed = insert_claims(
                tx,
                "INSERT INTO name_claims (name, employee_id) SELECT w.v, w.id FROM unnest($1::text[], $2::text[], $3::bigint[]) AS w(f, v, id) ON CONFLICT DO NOTHING RETURNING 'name'::text, name, employee_id",
                &names,
            )
            .await?;
            let lost: Vec<&(String, String, i64)> =
                names.iter().filter(|c| !landed.contains(*c)).collect();
            if lost.is_empty() {
                tx.batch_execute("RELEASE SAVEPOINT employees").await?;
                break;
            }
            tx.batch_execute("ROLLBACK TO SAVEPOINT employees").await?;
            let lost = LostClaims {
                field: NAME_CLAIM,
                holders_sql: "SELECT name, employee_id FROM name_claims WHERE name = ANY($1)",
                lost,
            };
            lost.fail(tx, &emp_ids, &batch.employees, &mut emp_failed)
                .await?;
            continue;
        }
        tx.batch_execute("ROLLBACK TO SAVEPOINT employees").await?;
        let lost = LostClaims {
            field: EMAIL_CLAIM,
            holders_sql: "SELECT email, employee_id FROM email_claims WHERE email = ANY($1)",
            lost,
        };
        lost.fail(tx, &emp_ids, &batch.employees, &mut emp_failed)
            .await?;
    }
    {
        let ok: Vec<usize> = (0..batch.employees.len())
            .filter(|i| !emp_failed.contains_key(i))
            .collect();
        let ids: Vec<i64> = ok.iter().map(|i| emp_ids[*i]).collect();
        let first: Vec<&str> = ok
            .iter()
            .map(|i| batch.employees[*i].first_name.as_str())
            .collect();
        let last: Vec<&str> = ok
            .iter()
            .map(|i| batch.employees[*i].last_name.as_str())
            .collect();
        if !ids.is_empty() {
            tx.execute(
                "INSERT INTO employees (id, first_name, last_name) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])",
                &[&ids, &first, &last],
            )
            .await?;
            let (mut eid, mut em) = (Vec::new(), Vec::new());
            for i in &ok {
                for e in &batch.employees[*i].emails {
                    eid.push(emp_ids[*i]);
                    em.push(e.to_lowercase());
                }
            }
            tx.execute(
                "INSERT INTO employee_emails (employee_id, email) SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING",
                &[&eid, &em],
            )
            .await?;
        }
        for (i, id) in emp_ids.iter().enumerate() {
            results.employees.push(match emp_failed.remove(&i) {
                Some(e) => Err(e),
                None => Ok(id.to_string()),
            });
        }
    }

    // Employees named by assets, resolved now (this batch's included).
    let named: Vec<String> = batch
        .assets
        .iter()
        .flat_map(|w| match w {
            AssetWrite::Create { fields } => fields.as_slice(),
            AssetWrite::Update { changes, .. } => changes.as_slice(),
            AssetWrite::Delete { .. } | AssetWrite::Seal { .. } => &[],
        })
        .filter_map(|w| match &w.value {
            Some(super::FieldValue::EmployeeWithEmail(e)) => Some(e.clone()),
            _ => None,
        })
        .collect();
    let employee_of: HashMap<String, i64> = if named.is_empty() {
        HashMap::new()
    } else {
        tx.query(
            "SELECT email, employee_id FROM email_claims WHERE email = ANY($1)",
            &[&named],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect()
    };
    let resolve = |writes: &[FieldWrite]| {
        resolve_employees(writes, |e| employee_of.get(e).map(|id| id.to_string()))
    };

    let mut asset_results: Vec<Option<Result<String, StoreError>>> =
        (0..batch.assets.len()).map(|_| None).collect();

    // 2. Creates.
    let creates: Vec<(usize, Vec<FieldWrite>)> = batch
        .assets
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            AssetWrite::Create { fields } => Some((i, resolve(fields))),
            _ => None,
        })
        .collect();
    let create_ids = next_ids(tx, "assets", creates.len()).await?;
    let create_claims: Vec<Vec<Claim>> = creates
        .iter()
        .map(|(_, writes)| {
            let mut f = Fields::new();
            for w in writes {
                f.set(&w.field, w.value.as_ref().map(|v| v.expose()));
            }
            rules.claims(&f)
        })
        .collect();
    let mut create_failed: HashMap<usize, StoreError> = HashMap::new();
    for _ in 0..=creates.len() {
        let wanted: Vec<(String, String, i64)> = create_claims
            .iter()
            .enumerate()
            .filter(|(k, _)| !create_failed.contains_key(k))
            .flat_map(|(k, cs)| {
                let id = create_ids[k];
                cs.iter()
                    .map(move |c| (c.field.clone(), c.value.clone(), id))
            })
            .collect();
        tx.batch_execute("SAVEPOINT creates").await?;
        let landed = insert_claims(tx, ASSET_CLAIMS_INSERT, &wanted).await?;
        if wanted.iter().all(|c| landed.contains(c)) {
            tx.batch_execute("RELEASE SAVEPOINT creates").await?;
            break;
        }
        tx.batch_execute("ROLLBACK TO SAVEPOINT creates").await?;
        for (owner, (c, holder)) in claim_losers(tx, &wanted, &landed).await? {
            let Some(k) = create_ids.iter().position(|x| *x == owner) else {
                continue;
            };
            let record = batch.assets[creates[k].0].describe();
            create_failed.entry(k).or_insert(StoreError::Claimed {
                record,
                field: c.field,
                value: c.value,
                holder,
            });
        }
    }
    {
        let ok: Vec<usize> = (0..creates.len())
            .filter(|k| !create_failed.contains_key(k))
            .collect();
        let ids: Vec<i64> = ok.iter().map(|k| create_ids[*k]).collect();
        let docs: Vec<String> = ok
            .iter()
            .map(|k| {
                // The last write of a field wins, as in the other stores.
                let mut f = Fields::new();
                for w in &creates[*k].1 {
                    f.remove(&w.field);
                    f.set(&w.field, w.value.as_ref().map(|v| v.expose()));
                }
                doc_of(&f)
            })
            .collect();
        if !ids.is_empty() {
            tx.execute(
                "INSERT INTO assets (id, fields) SELECT w.id, w.doc::jsonb FROM unnest($1::bigint[], $2::text[]) AS w(id, doc)",
                &[&ids, &docs],
            )
            .await?;
        }
        for (k, (i, _)) in creates.iter().enumerate() {
            asset_results[*i] = Some(match create_failed.remove(&k) {
                Some(e) => Err(e),
                None => Ok(create_ids[k].to_string()),
            });
        }
    }

    // 3. Updates and deletes, grouped by asset (a lifecycle status change
    // may follow an update of the same asset).
    let mut targets: Vec<i64> = Vec::new();
    for (i, w) in batch.assets.iter().enumerate() {
        let (AssetWrite::Update { id, .. } | AssetWrite::Delete { id, .. }) = w else {
            continue;
        };
        match id.trim().parse::<i64>() {
            Ok(n) => targets.push(n),
            Err(_) => asset_results[i] = Some(Err(StoreError::AssetNotFound { id: id.clone() })),
        }
    }
    targets.sort_unstable();
    targets.dedup();
    if !targets.is_empty() {
        let mut current: HashMap<i64, Fields> = HashMap::new();
        for r in tx
            .query(
                "SELECT id, fields::text FROM assets WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&targets],
            )
            .await?
        {
            let id: i64 = r.get(0);
            let doc: String = r.get(1);
            current.insert(id, fields_of(&doc));
        }
        let existing: HashSet<i64> = current.keys().copied().collect();
        // Per asset: its writes in order, the fields after them, deleted or not.
        struct Work {
            items: Vec<usize>,
            before: Fields,
            after: Fields,
            deleted: bool,
            failed: Option<(usize, StoreError)>,
            written: Vec<String>,
        }
        let mut work: BTreeMap<i64, Work> = BTreeMap::new();
        for (i, w) in batch.assets.iter().enumerate() {
            let (id, changes, expect, delete) = match w {
                AssetWrite::Update {
                    id,
                    changes,
                    expect,
                } => (id, changes.as_slice(), expect.as_slice(), false),
                AssetWrite::Delete { id, expect } => (id, &[][..], expect.as_slice(), true),
                AssetWrite::Create { .. } | AssetWrite::Seal { .. } => continue,
            };
            let Ok(n) = id.trim().parse::<i64>() else {
                continue;
            };
            if !existing.contains(&n) {
                asset_results[i] = Some(Err(StoreError::AssetNotFound { id: id.clone() }));
                continue;
            }
            let fields = current.get(&n).cloned().unwrap_or_default();
            let wk = work.entry(n).or_insert_with(|| Work {
                items: Vec::new(),
                before: fields.clone(),
                after: fields,
                deleted: false,
                failed: None,
                written: Vec::new(),
            });
            wk.items.push(i);
            if wk.failed.is_some() {
                continue;
            }
            if wk.deleted {
                wk.failed = Some((i, StoreError::AssetNotFound { id: id.clone() }));
                continue;
            }
            if let Err(e) = check_expectations(&w.describe(), &wk.after, expect) {
                wk.failed = Some((i, e));
                continue;
            }
            if delete {
                wk.deleted = true;
                continue;
            }
            for c in resolve(changes) {
                wk.after.remove(&c.field);
                wk.after.set(&c.field, c.value.as_ref().map(|v| v.expose()));
                wk.written.push(c.field);
            }
        }
        // Claims: release what is no longer held, then take the new ones.
        let mut release: Vec<(String, String, i64)> = Vec::new();
        let mut take: Vec<(String, String, i64)> = Vec::new();
        for (n, wk) in &work {
            if wk.failed.is_some() {
                continue;
            }
            let old = rules.claims(&wk.before);
            let new = if wk.deleted {
                Vec::new()
            } else {
                rules.claims(&wk.after)
            };
            release.extend(
                old.iter()
                    .filter(|c| !new.contains(c))
                    .map(|c| (c.field.clone(), c.value.clone(), *n)),
            );
            take.extend(
                new.iter()
                    .filter(|c| !old.contains(c))
                    .map(|c| (c.field.clone(), c.value.clone(), *n)),
            );
        }
        let mut lost_assets: HashSet<i64> = HashSet::new();
        for _ in 0..=work.len() {
            let wanted: Vec<(String, String, i64)> = take
                .iter()
                .filter(|c| !lost_assets.contains(&c.2))
                .cloned()
                .collect();
            let freed: Vec<(String, String, i64)> = release
                .iter()
                .filter(|c| !lost_assets.contains(&c.2))
                .cloned()
                .collect();
            tx.batch_execute("SAVEPOINT updates").await?;
            if !freed.is_empty() {
                let f: Vec<&str> = freed.iter().map(|c| c.0.as_str()).collect();
                let v: Vec<&str> = freed.iter().map(|c| c.1.as_str()).collect();
                let o: Vec<i64> = freed.iter().map(|c| c.2).collect();
                tx.execute(
                    "DELETE FROM asset_claims c USING unnest($1::text[], $2::text[], $3::bigint[]) AS w(field, value, asset_id) WHERE c.field = w.field AND c.value = w.value AND c.asset_id = w.asset_id",
                    &[&f, &v, &o],
                )
                .await?;
            }
            let landed = insert_claims(tx, ASSET_CLAIMS_INSERT, &wanted).await?;
            if wanted.iter().all(|c| landed.contains(c)) {
                tx.batch_execute("RELEASE SAVEPOINT updates").await?;
                break;
            }
            tx.batch_execute("ROLLBACK TO SAVEPOINT updates").await?;
            for (owner, (c, holder)) in claim_losers(tx, &wanted, &landed).await? {
                lost_assets.insert(owner);
                if let Some(wk) = work.get_mut(&owner)
                    && wk.failed.is_none()
                {
                    let i = *wk.items.last().unwrap_or(&0);
                    wk.failed = Some((
                        i,
                        StoreError::Claimed {
                            record: batch.assets[i].describe(),
                            field: c.field,
                            value: c.value,
                            holder,
                        },
                    ));
                }
            }
        }
        // Fields and rows.
        let (mut touched, mut docs, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
        for (n, wk) in &work {
            if wk.failed.is_some() {
                continue;
            }
            if wk.deleted {
                deleted.push(*n);
                continue;
            }
            if wk.written.is_empty() {
                continue;
            }
            touched.push(*n);
            docs.push(doc_of(&wk.after));
        }
        if !touched.is_empty() {
            tx.execute(
                "UPDATE assets SET fields = w.doc::jsonb, updated_at = now(), rev = assets.rev + 1, mark = NULL FROM unnest($1::bigint[], $2::text[]) AS w(id, doc) WHERE assets.id = w.id",
                &[&touched, &docs],
            )
            .await?;
        }
        if !deleted.is_empty() {
            // A duplicate merged away is no longer one to report.
            let names: Vec<String> = deleted.iter().map(|n| format!("asset {n}")).collect();
            tx.execute(
                "DELETE FROM claim_duplicates WHERE other = ANY($1)",
                &[&names],
            )
            .await?;
        }
        if !deleted.is_empty() {
            tx.execute("DELETE FROM assets WHERE id = ANY($1)", &[&deleted])
                .await?;
        }
        for (n, wk) in work {
            for i in &wk.items {
                if asset_results[*i].is_some() {
                    continue;
                }
                asset_results[*i] = Some(match &wk.failed {
                    Some((at, e)) if at == i => Err(clone_error(e)),
                    Some(_) => Err(StoreError::Aborted {
                        record: batch.assets[*i].describe(),
                    }),
                    None => Ok(n.to_string()),
                });
            }
        }
    }
    // 4. Seals, after the writes above (an asset this batch wrote has moved
    // on from the revision its seal names).
    let seals: Vec<(usize, i64, i64, i64)> = batch
        .assets
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            AssetWrite::Seal { id, rev, mark } => Some((i, id, *rev, *mark)),
            _ => None,
        })
        .filter_map(|(i, id, rev, mark)| match id.trim().parse::<i64>() {
            // Stored as PostgreSQL's signed BIGINT, bit for bit.
            Ok(n) => Some((i, n, rev as i64, mark as i64)),
            Err(_) => {
                asset_results[i] = Some(Err(StoreError::AssetNotFound { id: id.clone() }));
                None
            }
        })
        .collect();
    if !seals.is_empty() {
        let ids: Vec<i64> = seals.iter().map(|s| s.1).collect();
        let revs: Vec<i64> = seals.iter().map(|s| s.2).collect();
        let marks: Vec<i64> = seals.iter().map(|s| s.3).collect();
        let sealed: HashSet<i64> = tx
            .query(
                "UPDATE assets SET mark = w.mark FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS w(id, rev, mark) WHERE assets.id = w.id AND assets.rev = w.rev RETURNING assets.id",
                &[&ids, &revs, &marks],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let missed: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|n| !sealed.contains(n))
            .collect();
        let present: HashSet<i64> = if missed.is_empty() {
            HashSet::new()
        } else {
            tx.query("SELECT id FROM assets WHERE id = ANY($1)", &[&missed])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        for (i, n, _, _) in seals {
            let record = batch.assets[i].describe();
            asset_results[i] = Some(if sealed.contains(&n) {
                Ok(n.to_string())
            } else if present.contains(&n) {
                Err(StoreError::Stale {
                    record,
                    field: REVISION_FIELD.to_owned(),
                })
            } else {
                Err(StoreError::AssetNotFound { id: n.to_string() })
            });
        }
    }
    results.assets = asset_results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                Err(StoreError::Aborted {
                    record: batch.assets[i].describe(),
                })
            })
        })
        .collect();
    Ok(Some(results))
}

fn clone_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::AssetNotFound { id } => StoreError::AssetNotFound { id: id.clone() },
        StoreError::Claimed {
            record,
            field,
            value,
            holder,
        } => StoreError::Claimed {
            record: record.clone(),
            field: field.clone(),
            value: value.clone(),
            holder: holder.clone(),
        },
        StoreError::Stale { record, field } => StoreError::Stale {
            record: record.clone(),
            field: field.clone(),
        },
        other => StoreError::Rejected {
            record: "asset".into(),
            reason: other.to_string(),
        },
    }
}

#[async_trait]
impl Store for PgStore {
    async fn record_run(&self, run: &RunRecord) -> Result<i64, StoreError> {
        let fail = self.unavailable("record_run", "sync run".into());
        let doc = serde_json::to_string(run).map_err(|e| StoreError::Rejected {
            record: "sync run".into(),
            reason: e.to_string(),
        })?;
        let run = async {
            let client = self.pool.get().await?;
            let row = client
                .query_one(
                    &format!(
                        "INSERT INTO {}.sync_runs (started, doc) VALUES ($1::text::timestamptz, $2::text::jsonb) RETURNING id",
                        self.schema
                    ),
                    &[&run.started.to_rfc3339(), &doc],
                )
                .await?;
            Ok::<i64, Box<dyn std::error::Error + Send + Sync>>(row.get(0))
        };
        run.await.map_err(fail)
    }

    async fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        let fail = self.unavailable("source_state", format!("source {source}"));
        let doc = async {
            let client = self.pool.get().await?;
            let row = client
                .query_opt(
                    &format!(
                        "SELECT doc::text FROM {}.source_state WHERE source = $1",
                        self.schema
                    ),
                    &[&source],
                )
                .await?;
            Ok::<Option<String>, Box<dyn std::error::Error + Send + Sync>>(row.map(|r| r.get(0)))
        }
        .await
        .map_err(fail)?;
        doc.map(|d| read_source_state(source, &d)).transpose()
    }

    async fn set_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        let fail = self.unavailable("set_source_state", format!("source {source}"));
        let doc = write_source_state(source, state)?;
        let write = async {
            let client = self.pool.get().await?;
            client
                .execute(
                    &format!(
                        "INSERT INTO {}.source_state (source, doc) VALUES ($1, $2::text::jsonb)
                         ON CONFLICT (source) DO UPDATE SET doc = excluded.doc",
                        self.schema
                    ),
                    &[&source, &doc],
                )
                .await?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        };
        write.await.map_err(fail)
    }

    async fn runs(&self, last: usize) -> Result<Vec<RunRecord>, StoreError> {
        let fail = self.unavailable("runs", "sync runs".into());
        let last = i64::try_from(last).unwrap_or(i64::MAX);
        let rows = async {
            let client = self.pool.get().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT id, doc::text FROM {}.sync_runs ORDER BY id DESC LIMIT $1",
                        self.schema
                    ),
                    &[&last],
                )
                .await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(rows)
        }
        .await
        .map_err(fail)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let doc: String = r.get(1);
                let run: RunRecord =
                    serde_json::from_str(&doc).map_err(|e| StoreError::Rejected {
                        record: format!("sync run {id}"),
                        reason: format!("unreadable history row: {e}"),
                    })?;
                Ok(RunRecord { id, ..run })
            })
            .collect()
    }

    /// A session-level advisory lock on a connection taken out of the
    /// pool: dropping the guard closes that connection, and the server
    /// releases the lock (also when the process dies).
    async fn lock_runs(&self) -> Result<Option<RunGuard>, StoreError> {
        let fail = self.unavailable("lock_runs", self.url.to_string());
        let locked = async {
            let client = self.pool.get().await?;
            let got: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext('mdm-runs:' || $1::text))",
                    &[&&*self.schema],
                )
                .await?
                .get(0);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                got.then(|| deadpool_postgres::Object::take(client)),
            )
        }
        .await
        .map_err(fail)?;
        let schema = Arc::clone(&self.schema);
        Ok(locked.map(|client| {
            RunGuard::releasing(async move {
                // Unlocked now; or, should this fail, when the session
                // closes as `client` drops.
                let _ = client
                    .execute(
                        "SELECT pg_advisory_unlock(hashtext('mdm-runs:' || $1::text))",
                        &[&&*schema],
                    )
                    .await;
            })
        }))
    }

    async fn load(&self) -> Result<Inventory, StoreError> {
        let fail = self.unavailable("load", self.url.to_string());
        let run = async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, fields::text, rev, mark FROM assets ORDER BY id",
                    &[],
                )
                .await?;
            let assets = read_assets(&rows);
            let employees = read_employees(&client).await?;
            Ok::<_, BoxError>(Inventory { assets, employees })
        };
        run.await.map_err(fail)
    }

    async fn load_for_matching(&self, fields: &[&str]) -> Result<Inventory, StoreError> {
        let fail = self.unavailable("load", self.url.to_string());
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let run = async {
            let client = self.client().await?;
            // A sync starts here: make sure the planner's statistics know
            // how big the inventory is, or the per-batch lookups by id that
            // follow scan every field of every asset (a first sync of a
            // large fleet leaves the tables unanalyzed for a while).
            analyze_if_stale(&client).await?;
            let (sql, params) = subset_query(&fields);
            // Row by row: the rows of a large inventory are not all held
            // at once beside the assets made of them.
            let rows = client.query_raw(&sql, params.iter().copied()).await?;
            let mut rows = std::pin::pin!(rows);
            let mut assets = Vec::new();
            while let Some(r) = futures::TryStreamExt::try_next(&mut rows).await? {
                assets.push(asset_of(&r));
            }
            let employees = read_employees(&client).await?;
            Ok::<_, BoxError>(Inventory { assets, employees })
        };
        run.await.map_err(fail)
    }

    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let fail = self.unavailable("load", self.url.to_string());
        let wanted: Vec<i64> = ids.iter().filter_map(|i| i.trim().parse().ok()).collect();
        let run = async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, fields::text, rev, mark FROM assets WHERE id = ANY($1) ORDER BY id",
                    &[&wanted],
                )
                .await?;
            Ok::<_, BoxError>(read_assets(&rows))
        };
        let found = run.await.map_err(fail)?;
        let mut by_id: HashMap<String, Asset> =
            found.into_iter().map(|a| (a.id.clone(), a)).collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(*id)).collect())
    }

    async fn holders(
        &self,
        rules: &IdentifierRules,
        claims: &[Claim],
    ) -> Result<Vec<Holding>, StoreError> {
        let fail = self.unavailable("holders", self.url.to_string());
        let run = async {
            self.ensure_rules(rules).await?;
            let client = self.client().await?;
            let (emails, others): (Vec<&Claim>, Vec<&Claim>) =
                claims.iter().partition(|c| c.field == EMAIL_CLAIM);
            let mut out = Vec::new();
            if !others.is_empty() {
                let f: Vec<&str> = others.iter().map(|c| c.field.as_str()).collect();
                let v: Vec<&str> = others.iter().map(|c| c.value.as_str()).collect();
                for r in client
                    .query(
                        "SELECT c.field, c.value, c.asset_id FROM asset_claims c JOIN unnest($1::text[], $2::text[]) AS w(field, value) ON c.field = w.field AND c.value = w.value",
                        &[&f, &v],
                    )
                    .await?
                {
                    out.push(Holding {
                        claim: Claim::new(r.get::<_, String>(0), r.get::<_, String>(1)),
                        holder: r.get::<_, i64>(2).to_string(),
                    });
                }
            }
            if !emails.is_empty() {
                let v: Vec<&str> = emails.iter().map(|c| c.value.as_str()).collect();
                for r in client
                    .query(
                        "SELECT email, employee_id FROM email_claims WHERE email = ANY($1)",
                        &[&v],
                    )
                    .await?
                {
                    out.push(Holding {
                        claim: Claim::new(EMAIL_CLAIM, r.get::<_, String>(0)),
                        holder: r.get::<_, i64>(1).to_string(),
                    });
                }
            }
            Ok::<_, BoxError>(out)
        };
        run.await.map_err(fail)
    }

    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError> {
        let fail = self.unavailable("write", format!("a batch of {} records", batch.len()));
        let run = async {
            for attempt in 1..=TX_ATTEMPTS {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let results = match write_once(&tx, rules, batch).await {
                    // The claims were built under other rules (or not yet):
                    // rebuild them, then go again. The check is inside the
                    // transaction, so no round trip is spent on it per batch.
                    Ok(None) => {
                        tx.rollback().await?;
                        drop(client);
                        self.ensure_rules(rules).await?;
                        continue;
                    }
                    Ok(Some(results)) => results,
                    Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                        tracing::debug!(attempt, error = %e, "transaction retried");
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                if batch.atomic && !results.all_ok() {
                    tx.rollback().await?;
                    return Ok::<_, BoxError>(results.abort(batch));
                }
                match tx.commit().await {
                    Ok(()) => return Ok(results),
                    Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                        tracing::debug!(attempt, error = %e, "commit retried");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(format!(
                "gave up after {TX_ATTEMPTS} attempts (deadlocks, or identifier rules changing)"
            )
            .into())
        };
        run.await.map_err(fail)
    }
}

/// Every asset's id with only the named fields: `jsonb_build_object` over
/// the names (one cheap lookup each per row), or, past its 50 pairs, a
/// filter over every field.
#[allow(clippy::ptr_arg)] // a Vec is what binds as a text[] parameter
fn subset_query(fields: &Vec<String>) -> (String, Vec<&(dyn ToSql + Sync)>) {
    let params: Vec<&(dyn ToSql + Sync)> =
        fields.iter().map(|f| f as &(dyn ToSql + Sync)).collect();
    if fields.is_empty() {
        return (
            "SELECT id, '{}', rev, mark FROM assets ORDER BY id".to_string(),
            Vec::new(),
        );
    }
    if fields.len() > 50 {
        return (
            "SELECT id, (SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(fields) WHERE key = ANY($1))::text, rev, mark FROM assets ORDER BY id".to_string(),
            vec![fields as &(dyn ToSql + Sync)],
        );
    }
    let pairs: Vec<String> = (1..=fields.len())
        .map(|i| format!("${i}::text, fields -> ${i}::text"))
        .collect();
    (
        format!(
            "SELECT id, jsonb_strip_nulls(jsonb_build_object({}))::text, rev, mark FROM assets ORDER BY id",
            pairs.join(", ")
        ),
        params,
    )
}

/// Runs `ANALYZE` on the inventory's tables when a tenth or more of their
/// rows changed since they were last analyzed (or they never were).
async fn analyze_if_stale(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let stale: bool = client
        .query_one(
            "SELECT COALESCE(bool_or(last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 1000
                                     OR n_mod_since_analyze > GREATEST(1000, n_live_tup / 10)), false)
             FROM pg_stat_user_tables
             WHERE relid IN ('assets'::regclass, 'asset_claims'::regclass)",
            &[],
        )
        .await?
        .get(0);
    if stale {
        tracing::debug!("analyzing the inventory's tables");
        client.batch_execute("ANALYZE assets, asset_claims").await?;
    }
    Ok(())
}

fn read_assets(rows: &[tokio_postgres::Row]) -> Vec<Asset> {
    rows.iter().map(asset_of).collect()
}

/// An asset from a row of its id, its field document and its revision.
fn asset_of(r: &tokio_postgres::Row) -> Asset {
    let id: i64 = r.get(0);
    let mut a = Asset::new(id.to_string(), fields_of(r.get::<_, &str>(1)));
    // Stored as PostgreSQL's signed BIGINT, bit for bit.
    a.revision = Some(Revision {
        rev: r.get::<_, i64>(2) as u64,
        mark: r.get::<_, Option<i64>>(3).map(|m| m as u64),
    });
    a
}

/// An asset's fields as the JSON object kept in `assets.fields`.
fn doc_of(fields: &Fields) -> String {
    // Fields are in key order, distinct: the object a map of them gives.
    serde_json::to_string(fields).unwrap_or_else(|_| {
        let map: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect();
        serde_json::Value::Object(map).to_string()
    })
}

/// The fields of `assets.fields`; values that are no value are left out
/// (as [`Value::from_json`] reads them).
fn fields_of(doc: &str) -> Fields {
    match serde_json::from_str::<Doc>(doc) {
        Ok(Doc(fields)) => fields,
        Err(e) => {
            tracing::warn!(error = %e, "an asset's fields are not a JSON object; read as empty");
            Fields::new()
        }
    }
}

/// A field document read straight into [`Fields`]: no `serde_json::Value`
/// per value, keys borrowed from the text when they have no escapes.
struct Doc(Fields);

impl<'de> serde::Deserialize<'de> for Doc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Doc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
                thread_local! {
                    // Documents are read one after another, their keys in
                    // the same order: see `KeyCache`.
                    static KEYS: std::cell::RefCell<KeyCache> = std::cell::RefCell::default();
                }
                let mut fields = Fields::new();
                while let Some(DocKey(key)) = map.next_key()? {
                    let DocValue(value) = map.next_value()?;
                    // A key given twice: the last value, as a JSON map reads it.
                    let k = KEYS.with(|c| c.borrow_mut().key(fields.len(), &key));
                    if !fields.set_key(k, value) {
                        fields.remove(&key);
                    }
                }
                Ok(Doc(fields))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A key of a field document, borrowed from the text when it can be.
struct DocKey<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for DocKey<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = DocKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<DocKey<'de>, E> {
                Ok(DocKey(std::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<DocKey<'de>, E> {
                Ok(DocKey(std::borrow::Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// One value of a field document, as [`Value::from_json`] reads it.
struct DocValue(Option<Value>);

impl<'de> serde::Deserialize<'de> for DocValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = DocValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<DocValue, E> {
                Ok(DocValue(Some(Value::Bool(b))))
            }
            fn visit_i64<E>(self, i: i64) -> Result<DocValue, E> {
                Ok(DocValue(Some(Value::Int(i))))
            }
            fn visit_u64<E>(self, u: u64) -> Result<DocValue, E> {
                Ok(DocValue(Some(match i64::try_from(u) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::Float(u as f64),
                })))
            }
            fn visit_f64<E>(self, f: f64) -> Result<DocValue, E> {
                Ok(DocValue(f.is_finite().then_some(Value::Float(f))))
            }
            fn visit_str<E>(self, s: &str) -> Result<DocValue, E> {
                Ok(DocValue(crate::normalize::text_compact(s).map(Value::Text)))
            }
            fn visit_unit<E>(self) -> Result<DocValue, E> {
                Ok(DocValue(None))
            }
            fn visit_none<E>(self) -> Result<DocValue, E> {
                Ok(DocValue(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DocValue, A::Error> {
                let mut items: Vec<String> = Vec::new();
                let mut all_strings = true;
                while let Some(item) = seq.next_element::<serde_json::Value>()? {
                    match item {
                        serde_json::Value::String(s) if all_strings => items.push(s),
                        _ => all_strings = false,
                    }
                }
                Ok(DocValue(if all_strings {
                    crate::normalize::list(items.iter().map(String::as_str)).map(Value::List)
                } else {
                    None
                }))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DocValue, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(DocValue(None))
            }
        }
        d.deserialize_any(Visit)
    }
}

async fn read_employees(
    client: &tokio_postgres::Client,
) -> Result<Vec<Employee>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT e.id, e.first_name, e.last_name, m.email FROM employees e LEFT JOIN employee_emails m ON m.employee_id = e.id ORDER BY e.id, m.email",
            &[],
        )
        .await?;
    let mut employees: Vec<Employee> = Vec::new();
    for row in &rows {
        let id: i64 = row.get(0);
        let email: Option<String> = row.get(3);
        let sid = id.to_string();
        if employees.last().map(|e| e.id != sid).unwrap_or(true) {
            employees.push(Employee {
                id: sid,
                first_name: row.get(1),
                last_name: row.get(2),
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

    /// What `fields_of` read before it read documents straight into fields.
    fn through_values(doc: &str) -> Fields {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(doc)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Value::from_json(v).map(|v| (k.clone(), v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn documents_read_as_json_values_read_them() {
        for doc in [
            r#"{"serial_number": "C02XK1ABJG5H", "os_version": " 14.1 ", "blank": "", "none": null}"#,
            r#"{"n": 42, "big": 18446744073709551615, "neg": -3, "f": 1.5, "whole": 2.0, "b": true}"#,
            r#"{"imei": ["a", " a ", "", "b"], "mixed": ["a", 1], "empty": [], "obj": {"x": [1]}}"#,
            r#"{"esc\"aped": "tab\tand \u00e9", "z": "last", "a": "first"}"#,
            r#"{}"#,
            // A key given twice: the last value, even when it is no value.
            r#"{"model": "a", "serial_number": "S1", "model": "b"}"#,
            r#"{"model": "a", "serial_number": "S1", "model": null, "udid": "U"}"#,
            r#"{"model": "a", "model": [], "zz": "z", "zz": "y"}"#,
        ] {
            assert_eq!(fields_of(doc), through_values(doc), "{doc}");
            let f = fields_of(doc);
            assert_eq!(fields_of(&doc_of(&f)), f, "{doc}");
        }
        assert!(fields_of("[1, 2]").is_empty());
        assert!(fields_of("not json").is_empty());
    }
}
