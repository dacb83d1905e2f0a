//! # kandji-client
//!
//! A typed async client for the Kandji (Iru Endpoint Management) API, and a
//! [`DeviceSource`](mdm_mapping::DeviceSource) that turns Kandji's devices
//! into normalized [`SourceDevice`](mdm_mapping::SourceDevice) records.
//!
//! - **Construction**: [`KandjiClient::builder`] from a subdomain and
//!   [`Region`] (`SUB.api.kandji.io`, `SUB.api.eu.kandji.io`,
//!   `SUB.api.iru.com`) or any base URL (https, or http to loopback); an API
//!   token kept in a [`secrecy::SecretString`] and never printed; an
//!   optional injected `reqwest::Client`; timeouts.
//! - **Endpoints**: devices (offset pages of 300 with every documented
//!   filter, as a stream that drops repeats), one device, its details and
//!   apps; users (cursor pages of 300, each `next`'s cursor re-issued on
//!   your base URL);
//!   blueprints; tags.
//! - **Kandji's quirks** are absorbed by the models: `user` as an object,
//!   `""`, `null` or `[]`; integer or UUID user ids; `"True"`/`"Yes"`
//!   booleans; numbers as strings; `lost_mode: {}`; missing sections;
//!   Windows and Android shapes. Unknown keys are kept in each model's
//!   `extra` map.
//! - **Rate limits**: 50 requests/s and 10,000/h enforced client-side
//!   ([`RateLimiter`]); 429s are retried after `Retry-After` (else
//!   `Ratelimit-Reset`, else a jittered backoff), as are 502/503/504 and
//!   connection errors, within a [`RetryPolicy`].
//! - **Errors** ([`Error`]) keep the status, the parsed body ([`ErrorBody`])
//!   and the raw body; 401/403 name the token permission the endpoint needs;
//!   decode errors name the JSON path and the page.
//!
//! ## Parsing and normalizing a device
//!
//! ```
//! use kandji_client::{to_source_device, Device};
//!
//! // A device as `GET /api/v1/devices` lists it, with Kandji's quirks.
//! let devices: Vec<Device> = serde_json::from_str(r#"[{
//!     "device_id": "1db874b1-f480-4974-8f2b-c3abf972824e",
//!     "device_name": "Front desk iPhone",
//!     "model": "iPhone 11 Pro Max",
//!     "serial_number": "FCLD57YLN70G",
//!     "platform": "iPhone",
//!     "last_check_in": "2022-07-12T22:55:35.440699Z",
//!     "user": "",
//!     "asset_tag": "",
//!     "mdm_enabled": true,
//!     "first_enrollment": "2022-07-12 22:54:49.521027+00:00",
//!     "tags": []
//! }]"#).unwrap();
//! assert!(devices[0].user.is_none());
//!
//! let record = to_source_device(&devices[0], None, None);
//! assert_eq!(record.source_id, "1db874b1-f480-4974-8f2b-c3abf972824e");
//! assert_eq!(record.fields.get_str("last_check_in"), Some("2022-07-12T22:55:35Z"));
//! assert_eq!(record.fields.get_str("first_enrollment"), Some("2022-07-12T22:54:49Z"));
//! assert!(!record.fields.contains("asset_tag")); // "" is no value
//! assert!(record.assignee.is_none());
//! ```
//!
//! ## Building a client
//!
//! ```
//! use kandji_client::{KandjiClient, Region};
//!
//! let client = KandjiClient::builder()
//!     .subdomain("accuhive")
//!     .region(Region::Us)
//!     .token("00000000-0000-4000-8000-000000000000")
//!     .build()
//!     .unwrap();
//! assert_eq!(client.base_url().as_str(), "https://accuhive.api.kandji.io/");
//! ```
//!
//! ## Listing devices
//!
//! ```no_run
//! # async fn run() -> Result<(), kandji_client::Error> {
//! use futures::TryStreamExt;
//! use kandji_client::{DeviceQuery, KandjiClient, Platform};
//!
//! let client = KandjiClient::builder()
//!     .tenant("accuhive.api.eu.kandji.io")
//!     .token(std::env::var("KANDJI_TOKEN").unwrap_or_default())
//!     .build()?;
//! let mut devices = client.devices(DeviceQuery::new().platform(Platform::Mac).ordering("serial_number"));
//! while let Some(device) = devices.try_next().await? {
//!     println!("{} {:?}", device.device_id, device.serial_number);
//! }
//! let details = client.device_details("03f81208-2b6a-4a77-81f5-cf1633bcfb95").await?;
//! println!("{:?}", details.udid());
//! # Ok(()) }
//! ```
//!
//! ## As a `DeviceSource`
//!
//! See [`KandjiSource`]: the cursor is the device offset. By default only
//! the device listing is read (about 3.4 requests per 1,000 devices). Two
//! opt-ins add rows at a cost: "User Active"
//! ([`with_user_active`](KandjiSource::with_user_active), the user list read
//! once per sync: 1 request per 300 users) and the details-only rows
//! ([`with_details`](KandjiSource::with_details): 1 request per device).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

mod client;
mod endpoint;
mod error;
pub mod models;
mod query;
pub mod rate_limit;
mod source;

pub use client::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, DeviceListPage, KandjiClient, KandjiClientBuilder,
    Region, USER_AGENT_VALUE, cursor_from_next, tenant_base_url,
};
pub use endpoint::Endpoint;
pub use error::{Error, ErrorBody};
pub use models::{Device, DeviceApps, DeviceDetails, DeviceUser, Platform, User};
pub use query::{DeviceQuery, MAX_PAGE_SIZE, UserQuery};
pub use rate_limit::{RateLimiter, RateLimits, TokioClock};
pub use source::{
    DEFAULT_LOOKAHEAD, KandjiSource, UserDirectory, UserStatus, keys, to_source_device,
};

/// Re-exported so callers can tune retries without depending on `mdm-mapping` directly.
pub use mdm_mapping::net::RetryPolicy;

/// The README's examples are doc-tested.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
