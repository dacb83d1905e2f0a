//! Building each vendor's [`DeviceSource`] from the environment (flags override).
//!
//! | vendor | variables |
//! |---|---|
//! | Jamf Pro | `JAMF_URL`, `JAMF_CLIENT_ID` + `JAMF_CLIENT_SECRET`, or `JAMF_USERNAME` + `JAMF_PASSWORD` |
//! | Kandji | `KANDJI_URL` (URL or subdomain), `KANDJI_TOKEN` |
//! | ABM / ASM | `ABM_CLIENT_ID`, `ABM_KEY_ID`, `ABM_PRIVATE_KEY` (path to the .pem), `ABM_URL`, `ABM_TOKEN_URL` |
//!
//! Plain `http://` URLs are refused unless the host is a loopback address.

use std::path::PathBuf;

use mdm_mapping::{DeviceSource, Vendor};

use super::{CliError, CredentialArgs};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn need(name: &str, vendor: Vendor) -> Result<String, CliError> {
    env(name).ok_or_else(|| {
        CliError::input(format!(
            "{vendor}: {name} is not set (see `mdm --help` or the README for the variables each source needs)"
        ))
    })
}

/// Whether the environment (or flags) name credentials for `vendor`.
pub fn configured(vendor: Vendor, creds: &CredentialArgs) -> bool {
    match vendor {
        Vendor::Jamf => creds.jamf_url.is_some() || env("JAMF_URL").is_some(),
        Vendor::Kandji => creds.kandji_url.is_some() || env("KANDJI_URL").is_some(),
        Vendor::Abm => env("ABM_CLIENT_ID").is_some(),
    }
}

/// Builds the source for `vendor` from flags and environment.
pub fn build(vendor: Vendor, creds: &CredentialArgs) -> Result<Box<dyn DeviceSource>, CliError> {
    let config = |e: &dyn std::fmt::Display| CliError::input(format!("{vendor}: {e}"));
    match vendor {
        Vendor::Jamf => {
            let url = match &creds.jamf_url {
                Some(u) => u.clone(),
                None => need("JAMF_URL", vendor)?,
            };
            let builder = jamf_client::Client::builder(url);
            let builder = match (env("JAMF_CLIENT_ID"), env("JAMF_USERNAME")) {
                (Some(id), _) => {
                    builder.client_credentials(id, need("JAMF_CLIENT_SECRET", vendor)?)
                }
                (None, Some(user)) => builder.user_password(user, need("JAMF_PASSWORD", vendor)?),
                (None, None) => {
                    return Err(CliError::input(
                        "jamf: set JAMF_CLIENT_ID and JAMF_CLIENT_SECRET (API client) or JAMF_USERNAME and JAMF_PASSWORD",
                    ));
                }
            };
            let client = builder.build().map_err(|e| config(&e))?;
            Ok(Box::new(
                client.device_source(jamf_client::SourceOptions::default()),
            ))
        }
        Vendor::Kandji => {
            let url = match &creds.kandji_url {
                Some(u) => u.clone(),
                None => need("KANDJI_URL", vendor)?,
            };
            let client = kandji_client::KandjiClient::builder()
                .tenant(url)
                .token(need("KANDJI_TOKEN", vendor)?)
                .build()
                .map_err(|e| config(&e))?;
            Ok(Box::new(client.device_source()))
        }
        Vendor::Abm => {
            let key: PathBuf = match &creds.abm_private_key {
                Some(p) => p.clone(),
                None => need("ABM_PRIVATE_KEY", vendor)?.into(),
            };
            let credentials = abm_client::Credentials::from_pem_file(
                need("ABM_CLIENT_ID", vendor)?,
                need("ABM_KEY_ID", vendor)?,
                &key,
            )
            .map_err(|e| config(&e))?;
            let mut builder = abm_client::AbmClient::builder(credentials);
            if let Some(u) = creds.abm_url.clone().or_else(|| env("ABM_URL")) {
                builder = builder.base_url(u);
            }
            if let Some(u) = creds.abm_token_url.clone().or_else(|| env("ABM_TOKEN_URL")) {
                builder = builder.token_url(u);
            }
            let client = builder.build().map_err(|e| config(&e))?;
            Ok(Box::new(client.device_source()))
        }
    }
}
