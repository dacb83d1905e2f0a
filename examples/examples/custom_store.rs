//! Implement `Store` for your own database: here, one JSON file.
//!
//! The store is the part of an inventory that must never hold a duplicate,
//! whoever writes at the same time. This one keeps the whole inventory in
//! a JSON file, takes an exclusive file lock for every write, and lets the
//! library's `MemoryStore` check and apply the batch (claims, conditional
//! updates, atomic batches) on what it read under the lock. The store is
//! the first 60 lines; the rest checks it against the library's contract
//! and syncs Jamf into it twice.
//!
//! ```sh
//! JAMF_URL=… JAMF_CLIENT_ID=… JAMF_CLIENT_SECRET=… \
//!     cargo run -p mdm-examples --example custom_store -- inventory.json
//! ```

use std::fs::File;
use std::path::PathBuf;

use async_trait::async_trait;
use mdm_mapping::store::{IdentifierRules, Inventory, MemoryStore, Store, StoreError};
use mdm_mapping::store::{WriteBatch, WriteResults};

/// An inventory in one JSON file; `path.lock` serializes writers, across
/// processes too.
struct JsonFileStore {
    path: PathBuf,
}

fn unavailable(
    operation: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::Unavailable {
        operation,
        record: "the inventory file".into(),
        source: Box::new(e),
    }
}

impl JsonFileStore {
    fn read(&self) -> Result<Inventory, StoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(json) => Inventory::from_json(&json).map_err(|e| unavailable("read", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Inventory::default()),
            Err(e) => Err(unavailable("read", e)),
        }
    }
}

#[async_trait]
impl Store for JsonFileStore {
    async fn load(&self) -> Result<Inventory, StoreError> {
        self.read()
    }

    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError> {
        let lock =
            File::create(self.path.with_extension("lock")).map_err(|e| unavailable("lock", e))?;
        lock.lock().map_err(|e| unavailable("lock", e))?; // held until `lock` drops
        let memory = MemoryStore::new(self.read()?);
        let results = memory.write(rules, batch).await?;
        // Write a new file and rename it over the old: a crash leaves one or the other.
        let json = serde_json::to_vec(&memory.snapshot()).map_err(|e| unavailable("encode", e))?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, json).map_err(|e| unavailable("write", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| unavailable("write", e))?;
        Ok(results)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: custom_store INVENTORY.json")?;

    // First, the contract every store must keep, on an empty scratch file.
    let scratch = tempfile::tempdir()?;
    let check = JsonFileStore {
        path: scratch.path().join("contract.json"),
    };
    mdm_mapping::store::contract::check(&check).await?;
    println!("the store keeps the Store contract");

    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let jamf = jamf_client::Client::builder(&var("JAMF_URL")?)
        .client_credentials(var("JAMF_CLIENT_ID")?, var("JAMF_CLIENT_SECRET")?)
        .build()?;
    let sources: Vec<Box<dyn mdm_mapping::DeviceSource>> = vec![Box::new(
        jamf.device_source(jamf_client::SourceOptions::default()),
    )];
    let store = JsonFileStore { path: path.into() };
    let config = mdm_mapping::upsert::Config::default();
    for run in ["first", "second"] {
        let o = mdm_mapping::sync::run(&sources, &store, &config, &Default::default()).await?;
        let s = &o.plan.summary;
        println!(
            "{run} sync: create {}  update {}  unchanged {}",
            s.create, s.update, s.unchanged
        );
    }
    Ok(())
}
