//! # jamf-client
//!
//! A typed async client for Jamf Pro: the Jamf Pro API (`/api/...`) and the
//! Classic API (`/JSSResource/...`), with a [`DeviceSource`](mdm_mapping::DeviceSource)
//! that yields every computer and mobile device as a normalized
//! [`SourceDevice`](mdm_mapping::SourceDevice).
//!
//! ```
//! use std::time::Duration;
//! use jamf_client::{Client, RetryPolicy};
//!
//! let client = Client::builder("https://jamf.example.com:8443") // or https://acme.jamfcloud.com
//!     .client_credentials("6cabf059-client-id", "client-secret")
//!     .timeout(Duration::from_secs(90))
//!     .retry_policy(RetryPolicy { max_retries: 3, ..RetryPolicy::default() })
//!     .build()?;
//! assert_eq!(client.max_concurrent_requests(), 5); // Jamf's advice
//! // Secrets never show up in Debug output.
//! assert!(!format!("{client:?}").contains("client-secret"));
//! # Ok::<(), jamf_client::Error>(())
//! ```
//!
//! Reading (needs a server, so not run here):
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use chrono::{Duration, Utc};
//! use futures::TryStreamExt;
//! use jamf_client::{Client, ComputerQuery, ComputerSection, SourceOptions};
//! use mdm_mapping::DeviceSource;
//!
//! let client = Client::builder("https://acme.jamfcloud.com")
//!     .user_password("api-reader", "password")
//!     .build()?;
//!
//! // Computers whose inventory changed in the last day, a page at a time.
//! let query = ComputerQuery::new()
//!     .sections(ComputerSection::INVENTORY)
//!     .updated_since(Utc::now() - Duration::days(1));
//! let mut pages = client.computers(query);
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} of {:?} computers", page.items.len(), page.total_count);
//! }
//!
//! // Everything, normalized, through the shared trait.
//! let source = client.device_source(SourceOptions::default());
//! let devices: Vec<_> = source.devices(None).try_collect().await?;
//! println!("{} devices", devices.len());
//! client.invalidate_token().await?;
//! # Ok(()) }
//! ```
//!
//! ## What it does
//!
//! - **Auth**: API client credentials (`POST /api/v1/oauth/token`, falling
//!   back to `/api/oauth/token` on a 404) or username and password
//!   (`POST /api/v1/auth/token`, keep-alive, invalidate). One token cache
//!   shared by clones, refreshed before expiry by one task at a time, and
//!   once more when a request answers 401. See [`auth`].
//! - **Transport**: at most 5 requests in flight (configurable), retries of
//!   429/502/503/504 and connection failures with jittered backoff and a
//!   capped `Retry-After`, no redirects followed, `Authorization` headers
//!   marked sensitive, JSON read whatever the Content-Type says.
//! - **Computers**: [`Client::computers`] (stream of pages with sections, RSQL
//!   filter, `sort=id:asc`, pages up to Jamf's 2000 cap, stopping on
//!   `totalCount` or an empty page, never on a short page),
//!   [`Client::computer`], [`Client::computer_detail`], and the opt-in
//!   [`Client::computer_filevault`] and [`Client::computer_recovery_lock_password`].
//!   The endpoint version (v1/v3/v4) follows the server's version.
//! - **Mobile devices**: [`Client::mobile_devices`] (`/api/v2/mobile-devices/detail`,
//!   lenient), [`Client::mobile_device_summaries`], [`Client::mobile_device`].
//! - **Organization**: [`Client::buildings`], [`Client::departments`],
//!   [`Client::sites`], [`Client::users`] (Jamf Pro API on 11.26+, Classic
//!   before), admin [`Client::accounts`], [`Client::account`] and
//!   [`Client::account_group`] with their [`AccessLevel`](models::AccessLevel).
//! - **Errors**: one [`Error`] with the HTTP status, the parsed Jamf, OAuth or
//!   Classic HTML error body and the raw text; decode errors name the JSON
//!   path and the page. Converts into [`SourceError`](mdm_mapping::SourceError).
//! - **DeviceSource**: [`JamfDeviceSource`] (cursor `computers:N`, then `mobile:N`;
//!   `pages` keeps [`DEFAULT_LOOKAHEAD`] pages in flight, see
//!   [`JamfDeviceSource::with_lookahead`]).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]
#![warn(missing_debug_implementations)]

pub mod api;
pub mod auth;
mod client;
mod de;
pub mod error;
pub mod map;
pub mod models;
pub mod rsql;
mod source;
mod transport;
pub mod version;

pub use api::computers::{ComputerQuery, ComputerSection, MAX_PAGE_SIZE};
pub use api::mobile::{MobileDeviceQuery, MobileDeviceSection};
pub use api::org::MAX_USERS_PAGE_SIZE;
pub use auth::{Clock, Credentials, SystemClock};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, PageStream,
};
pub use error::{
    ConfigError, DecodeError, Error, ErrorBody, HttpError, RedirectError, TransportError,
};
pub use map::SecurityReads;
pub use mdm_mapping::net::RetryPolicy;
pub use models::{JamfId, Page};
pub use source::{
    DEFAULT_LOOKAHEAD, DEFAULT_SOURCE_PAGE_SIZE, InvalidCursor, JamfDeviceSource, SourceOptions,
};
pub use version::{InventoryVersion, JamfProVersion};

/// The README's examples are doc-tested.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
