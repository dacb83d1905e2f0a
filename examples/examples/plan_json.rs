//! Plan a Jamf Pro sync against an inventory kept as JSON, and print the
//! plan: what would be created, updated, left alone, or is a conflict.
//! Nothing is written.
//!
//! ```sh
//! JAMF_URL=… JAMF_CLIENT_ID=… JAMF_CLIENT_SECRET=… \
//!     cargo run -p mdm-examples --example plan_json -- inventory.json
//! ```
//!
//! `inventory.json` is `{"assets": [{"id": "a1", "fields": {"serial_number": "…"}}],
//! "employees": [{"id": "e1", "first_name": "…", "last_name": "…", "emails": ["…"]}]}`.

use futures::TryStreamExt;
use mdm_mapping::store::Inventory;
use mdm_mapping::upsert::{Config, plan};
use mdm_mapping::{DeviceSource, Listing};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: plan_json INVENTORY.json")?;
    let inventory = Inventory::from_json(&std::fs::read_to_string(&path)?)?;

    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let jamf = jamf_client::Client::builder(&var("JAMF_URL")?)
        .client_credentials(var("JAMF_CLIENT_ID")?, var("JAMF_CLIENT_SECRET")?)
        .build()?;
    let source = jamf.device_source(jamf_client::SourceOptions::default());
    let records: Vec<_> = source.devices(None).try_collect().await?;
    source.close().await?;

    // The listing was read in full, so devices missing from it may be
    // reported as such (lifecycle): pass the vendor as a full listing.
    let p = plan(
        &inventory,
        &records,
        &Config::default(),
        &[Listing::of(&source)],
    )?;
    let s = &p.summary;
    eprintln!(
        "{} records against {} assets: create {}, update {}, unchanged {}, conflict {}, skip {}",
        records.len(),
        inventory.assets.len(),
        s.create,
        s.update,
        s.unchanged,
        s.conflict,
        s.skip
    );
    println!("{}", serde_json::to_string_pretty(&p)?);
    Ok(())
}
