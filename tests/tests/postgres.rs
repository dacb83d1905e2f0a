//! The PostgreSQL store against a real server (`MDM_TEST_POSTGRES_URL`;
//! skipped, saying so, without it). Each test writes in a schema of its
//! own, so they run in parallel.

#[allow(dead_code)]
mod common;

use common::pg;
use mdm_mapping::store::postgres::{PgStore, redact_url};
use mdm_mapping::store::{
    AssetWrite, Claim, FieldWrite, IdentifierRules, Store, StoreError, WriteBatch, contract,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_store_contract() {
    let Some((store, url)) = pg::fresh().await else {
        return;
    };
    contract::check(&store).await.expect("contract");
    contract::check_history(&store).await.expect("history");
    // The run lock is the database's: another store on the same schema
    // (another process) is refused while it is held.
    let guard = store.lock_runs().await.expect("lock").expect("free");
    let other = mdm_mapping::store::postgres::PgStore::connect(&url)
        .await
        .expect("second store");
    assert!(other.lock_runs().await.expect("lock").is_none());
    // A guard dropped without release: the server lets the lock go when
    // its session closes, a moment later.
    drop(guard);
    let mut freed = false;
    for _ in 0..100 {
        if let Some(g) = other.lock_runs().await.expect("lock") {
            g.release().await;
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(freed, "the lock stayed held after its guard dropped");
    store.drop_schema().await.expect("drop");
}

/// Four workers, each with its own connection pool, create the same 200
/// devices at once: each serial ends up on exactly one asset, and every
/// loser is told who holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_never_duplicate_a_serial() {
    let Some((store, url)) = pg::fresh().await else {
        return;
    };
    let rules = IdentifierRules::default();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let url = url.clone();
        let rules = rules.clone();
        tasks.push(tokio::spawn(async move {
            let s = PgStore::connect(&url).await.expect("connect");
            let mut created = 0usize;
            let mut claimed = 0usize;
            for chunk in 0..4 {
                // Each worker walks the fleet in its own order.
                let batch = WriteBatch {
                    assets: (0..50)
                        .map(|i| {
                            let n = (chunk * 50 + (i + w * 13) % 50) as u32;
                            AssetWrite::Create {
                                fields: vec![
                                    FieldWrite::set(
                                        "serial_number",
                                        format!("C02PG{n:06}").as_str(),
                                    ),
                                    FieldWrite::set(
                                        "udid",
                                        format!("0000{n:04}-0000-0000-0000-00000000{w:04}")
                                            .as_str(),
                                    ),
                                ],
                            }
                        })
                        .collect(),
                    ..WriteBatch::default()
                };
                let r = s.write(&rules, &batch).await.expect("write");
                for a in r.assets {
                    match a {
                        Ok(_) => created += 1,
                        Err(StoreError::Claimed { field, holder, .. }) => {
                            assert_eq!(field, "serial_number");
                            assert!(holder.starts_with("asset "), "{holder}");
                            claimed += 1;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            (created, claimed)
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (c, _) = t.await.expect("task");
        created += c;
    }
    assert_eq!(created, 200);
    assert_eq!(store.counts().await.expect("counts").0, 200);
    let inv = store.load().await.expect("load");
    let mut serials: Vec<&str> = inv
        .assets
        .iter()
        .filter_map(|a| a.fields.get_str("serial_number"))
        .collect();
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 200);
    store.drop_schema().await.expect("drop");
}

/// Values already held twice (an identifier added to the rules later)
/// do not fail the rebuild: the first asset keeps the claim and the other
/// is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_found_when_claims_are_rebuilt_are_reported() {
    let Some((store, _)) = pg::fresh().await else {
        return;
    };
    for _ in 0..2 {
        store
            .create_asset(&[FieldWrite::set("asset_tag", "TAG-1")])
            .await
            .expect("asset tags are not identifiers by default");
    }
    let tags = IdentifierRules::default().with_field("asset_tag", false);
    let held = store
        .holders(&tags, &[Claim::new("asset_tag", "TAG-1")])
        .await
        .expect("holders");
    assert_eq!(held.len(), 1);
    let dups = store.duplicates().await.expect("dups");
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_ne!(dups[0].holder, format!("asset {}", held[0].holder));
    assert_eq!(
        store.counts().await.expect("counts").0,
        2,
        "nothing deleted"
    );
    store.drop_schema().await.expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_appears_in_errors_or_debug() {
    let Some(url) = pg::url() else {
        return;
    };
    // A port nobody listens on: the connection fails.
    let bad = "postgres://mdm:SuperSecretPw1@127.0.0.1:1/test?password=SuperSecretPw2";
    let err = PgStore::connect(bad)
        .await
        .expect_err("nothing listens there");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("SuperSecretPw"), "{text}");
    assert!(text.contains("127.0.0.1:1"), "names the server: {text}");
    assert!(!redact_url(bad).contains("SuperSecretPw"));

    let with_pw = url.replacen("://", "://postgres:AnotherSecret9@", 1);
    let with_pw = if url.contains('@') {
        url.clone()
    } else {
        with_pw
    };
    let store = PgStore::connect(&pg::url_with_fresh_schema(&with_pw))
        .await
        .expect("trust auth takes any password");
    assert!(!format!("{store:?}").contains("AnotherSecret9"));
    assert!(!store.url().contains("AnotherSecret9"));
    store.drop_schema().await.expect("drop");
}
