//! List a Jamf Pro inventory: every computer and mobile device, normalized.
//!
//! ```sh
//! JAMF_URL=https://example.jamfcloud.com JAMF_CLIENT_ID=… JAMF_CLIENT_SECRET=… \
//!     cargo run -p mdm-examples --example list_jamf
//! ```
//!
//! The API client needs the privileges "Read Computers" and "Read Mobile
//! Devices". Try it against the simulator: `mdm simulate` prints the
//! variables to export.

use futures::TryStreamExt;
use jamf_client::{Client, SourceOptions};
use mdm_mapping::{DeviceSource, Entity};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let client = Client::builder(&var("JAMF_URL")?)
        .client_credentials(var("JAMF_CLIENT_ID")?, var("JAMF_CLIENT_SECRET")?)
        .build()?;
    let source = client.device_source(SourceOptions::default());

    // Pages are read as the stream is polled; each record is normalized.
    let devices: Vec<_> = source.devices(None).try_collect().await?;
    source.close().await?;

    let count = |e: Entity| devices.iter().filter(|d| d.entity == e).count();
    println!(
        "{} computers, {} mobile devices",
        count(Entity::Computer),
        count(Entity::MobileDevice)
    );
    for d in devices.iter().take(5) {
        let field = |k: &str| d.fields.get(k).map_or("-".to_string(), |v| v.to_string());
        println!(
            "{:>6} {:<14} {:<13} {}",
            d.source_id,
            d.entity.to_string(),
            field("serial_number"),
            field("model")
        );
    }
    Ok(())
}
