//! # abm-client
//!
//! A typed async client for the Apple School Manager and Apple Business API
//! (Apple Business Manager = ABM, Apple School Manager = ASM), and a
//! [`DeviceSource`](mdm_mapping::DeviceSource) that turns the organization's
//! devices into normalized [`SourceDevice`](mdm_mapping::SourceDevice)s.
//!
//! - **Credentials** ([`Credentials`], [`PrivateKey`]): the Client ID, the
//!   Key ID and the `.pem` the portal downloads, in any of its known forms
//!   (PKCS#8, SEC1, or a PKCS#8 body under an `EC PRIVATE KEY` label).
//! - **Auth** ([`auth`]): an ES256 client assertion exchanged for an access
//!   token; both cached, one refresh at a time, a fresh token after a 401.
//! - **Endpoints** ([`AbmClient`]): `orgDevices` (list with cursor paging,
//!   resumable; one device; its assigned server; AppleCare coverage;
//!   Activation Lock status), `mdmServers` (list, one, device ids) and
//!   `orgDeviceActivities` (assign, unassign, release; read).
//! - **Tolerant models** ([`model`]): every attribute optional, shape
//!   variants accepted, unknown enum values kept.
//! - **Errors** ([`Error`]): typed, with the HTTP status, Apple's JSON:API
//!   errors (or the raw body), the JSON path and cursor of decode failures;
//!   never a secret.
//! - **Limits**: adaptive pacing by default (GETs start at 20 a minute, the
//!   rate rises while requests are answered (fast until the first 429,
//!   slowly after) and drops on a 429, see
//!   [`AbmClient::learned_rate`]; POSTs keep a fixed 10 an hour), or a fixed
//!   [`RateLimit`]; `Retry-After` honoured and capped, network failures
//!   retried from the same cursor; a POST is retried only after a 429.
//!
//! ## Example
//!
//! Loading a key and building a client sends nothing (this example makes a
//! throwaway key; a real one comes from the portal):
//!
//! ```
//! use abm_client::{AbmClient, Credentials, PrivateKey, Service};
//! use p256::pkcs8::{EncodePrivateKey, LineEnding};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let throwaway = p256::SecretKey::random(&mut rand_core::OsRng);
//! let pem = throwaway.to_pkcs8_pem(LineEnding::LF)?;
//!
//! let key = PrivateKey::from_pem(pem.as_bytes())?;
//! let creds = Credentials::new(
//!     "SCHOOLAPI.9703f56c-10ce-4876-8f59-e78e5e23a152",
//!     "d136aa66-0c3b-4bd4-9892-c20e8db024ab",
//!     key,
//! );
//! let client = AbmClient::builder(creds).build()?;
//! assert_eq!(client.service(), Service::School); // from the Client ID prefix
//! assert_eq!(client.base_url().as_str(), "https://api-school.apple.com/");
//! assert!(!format!("{client:?}").contains("PRIVATE"));
//! # Ok(()) }
//! ```
//!
//! Reading devices (network, so not run here):
//!
//! ```no_run
//! use abm_client::{AbmClient, Credentials, DeviceQuery, model::OrgDeviceField};
//! use futures::TryStreamExt;
//!
//! # async fn run() -> Result<(), abm_client::Error> {
//! let creds = Credentials::from_env()?; // ABM_CLIENT_ID, ABM_KEY_ID, ABM_PRIVATE_KEY
//! let client = AbmClient::builder(creds).build()?;
//!
//! let query = DeviceQuery::new().fields([OrgDeviceField::SerialNumber, OrgDeviceField::Status]);
//! let mut pages = client.org_devices(query, None);
//! while let Some(page) = pages.try_next().await? {
//!     for device in &page.data {
//!         println!("{} {:?}", device.serial_number(), device.attributes.status);
//!     }
//!     // Save page.next_cursor to resume here later.
//! }
//!
//! let activity = client.assign_devices("1F97349736CF4614A94F624E705841AD", ["XABC123X0ABC123X0"]).await?;
//! println!("activity {} is {:?}", activity.id, activity.attributes.status);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]
#![warn(clippy::missing_errors_doc)]

pub mod auth;
mod client;
mod error;
mod key;
pub mod model;
mod pacing;
mod paging;
mod service;
pub mod source;

pub use auth::{ClientAssertion, Clock, SystemClock};
pub use client::{AbmClient, AbmClientBuilder, RateLimit, USER_AGENT};
pub use error::{ApiError, ApiErrorSource, ConfigError, Error, ErrorResponse, TokenError};
pub use key::{Credentials, KeyError, PrivateKey};
pub use mdm_mapping::net::RetryPolicy;
pub use paging::{DeviceQuery, FieldName, ListQuery, MAX_LIMIT, Page, ServerQuery};
pub use service::Service;
pub use source::AbmSource;

/// The README's examples are doc-tested.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
