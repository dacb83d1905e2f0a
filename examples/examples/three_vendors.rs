//! Stream Jamf Pro, Kandji and Apple Business Manager into one `Vec` of
//! normalized records, reading the three at once.
//!
//! ```sh
//! # the variables `mdm simulate` prints, or your tenants':
//! # JAMF_URL JAMF_CLIENT_ID JAMF_CLIENT_SECRET KANDJI_URL KANDJI_TOKEN
//! # ABM_CLIENT_ID ABM_KEY_ID ABM_PRIVATE_KEY (a .pem path) [ABM_URL ABM_TOKEN_URL]
//! cargo run -p mdm-examples --example three_vendors
//! ```

use futures::TryStreamExt;
use futures::future::try_join_all;
use mdm_mapping::{DeviceSource, SourceDevice};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let jamf = jamf_client::Client::builder(&var("JAMF_URL")?)
        .client_credentials(var("JAMF_CLIENT_ID")?, var("JAMF_CLIENT_SECRET")?)
        .build()?;
    let kandji = kandji_client::KandjiClient::builder()
        .base_url(&var("KANDJI_URL")?)
        .token(var("KANDJI_TOKEN")?)
        .build()?;
    let pem = std::fs::read_to_string(var("ABM_PRIVATE_KEY")?)?;
    let mut abm = abm_client::AbmClient::builder(abm_client::Credentials::new(
        var("ABM_CLIENT_ID")?,
        var("ABM_KEY_ID")?,
        abm_client::PrivateKey::from_pem(&pem)?,
    ));
    // Only to point at a simulator; Apple's URLs are the default.
    if let (Ok(url), Ok(token_url)) = (var("ABM_URL"), var("ABM_TOKEN_URL")) {
        abm = abm.base_url(&url).token_url(&token_url);
    }
    let abm = abm.build()?;

    let sources: Vec<Box<dyn DeviceSource>> = vec![
        Box::new(jamf.device_source(jamf_client::SourceOptions::default())),
        Box::new(kandji.device_source()),
        Box::new(abm.device_source()),
    ];
    // One stream per source, read concurrently; any error stops the lot.
    let per_source = try_join_all(
        sources
            .iter()
            .map(|s| s.devices(None).try_collect::<Vec<SourceDevice>>()),
    )
    .await?;
    for s in &sources {
        s.close().await?;
    }
    let all: Vec<SourceDevice> = per_source.into_iter().flatten().collect();

    for s in &sources {
        let n = all.iter().filter(|d| d.vendor == s.vendor()).count();
        println!("{:>7}: {n} records", s.vendor().to_string());
    }
    println!("{:>7}: {} records", "all", all.len());
    Ok(())
}
