//! A PostgreSQL store of its own for each test, in its own schema.

use std::sync::atomic::{AtomicUsize, Ordering};

use mdm_mapping::store::postgres::PgStore;

/// The server's URL from `MDM_TEST_POSTGRES_URL`; `None` (and a line on
/// stderr saying so) when it is not set. When it is set, the tests expect
/// the server to answer and fail if it does not.
pub fn url() -> Option<String> {
    match std::env::var("MDM_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped: MDM_TEST_POSTGRES_URL is not set, so this PostgreSQL test did not run"
            );
            None
        }
    }
}

/// `url` pointed at a new schema, unique to this test.
pub fn url_with_fresh_schema(url: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!(
        "mdm_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}schema={schema}")
}

/// A store in a fresh schema, or `None` when PostgreSQL tests are off.
pub async fn fresh() -> Option<(PgStore, String)> {
    let url = url_with_fresh_schema(&url()?);
    let store = PgStore::connect(&url).await.unwrap_or_else(|e| {
        panic!("MDM_TEST_POSTGRES_URL is set but the server cannot be used: {e}")
    });
    Some((store, url))
}
