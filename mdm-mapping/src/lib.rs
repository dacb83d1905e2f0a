//! # mdm-mapping
//!
//! The shared vocabulary of the MDM device sources, and the logic built on it.
//! No HTTP lives here: the vendor clients (`jamf-client`, `kandji-client`,
//! `abm-client`) do the I/O and speak this crate's types.
//!
//! - [`DeviceSource`]: the object-safe, paged trait every client implements.
//! - [`SourceDevice`]: the normalized record, with [`Fields`] of typed [`Value`]s
//!   and an optional [`Assignee`].
//! - [`normalize`]: the rules every value goes through (serials, MACs, emails,
//!   date-times, booleans, sentinels, ids, lists).
//! - [`catalog`]: every vendor field with its JSON path, type, guidance and
//!   identifier recommendation.
//! - [`advice`]: ranked identifiers, validation of a chosen identifier, and an
//!   identifier health report over real records.
//! - [`net`]: the HTTP-free parts the clients share (URL checks, retry decision,
//!   `Retry-After` parsing).
//! - [`model`]: Apple model-name parsing ("MacBook Pro (13-inch, 2018)" → model,
//!   display size, year) and asset type from a model-identifier table.
//! - [`mapping`]: vendor catalog keys → inventory fields, with per-field
//!   ownership (source, inventory, fill-if-empty, ignore) and source priority.
//! - [`store`]: the inventory ([`Asset`], [`Employee`]), the async [`Store`]
//!   trait and an in-memory [`MemoryStore`].
//! - [`upsert`]: the duplicate-safe `plan` (pure) and `apply` (through a store).
//! - [`sync`]: the sync engine: every source, page by page, staged, planned
//!   and applied in batches, in one call.
//!
//! ## Layers
//!
//! The modules are built in layers; each uses only its own layer and the
//! ones below it, never one above (checked by `tests/layers.rs`, which parses
//! the source and fails on a path that reaches up).
//!
//! | layer | modules | what it is |
//! |---|---|---|
//! | 3 engine | [`upsert`], [`sync`] | planning, applying, staging; the sync engine |
//! | 2 interpretation | [`mapping`], [`advice`], [`store`] (and its backends) | vendor keys → inventory fields; identifier advice; the inventory and its stores |
//! | 1 knowledge | [`catalog`] (with its data), [`model`] | what each vendor field is; Apple model names and asset types |
//! | 0 vocabulary | [`normalize`], [`lenient`], [`record`], [`dropped`], [`source`], [`net`]; internal: the field-name index, the fast hasher, identifier normalization | the types and rules every crate speaks |
//!
//! The record's fast field index (known field names stored as small
//! indexes) is a fixed list of the bottom layer; the layers above register
//! nothing into it, and a test of the top layer checks that it holds every
//! name they read.
//!
//! ```
//! use mdm_mapping::{Entity, SourceDevice, Vendor};
//!
//! let mut device = SourceDevice::new(Vendor::Jamf, Entity::Computer, "42");
//! device
//!     .fields
//!     .serial("serial_number", Some(" c02xk1abjg5h "))
//!     .mac("primary_mac_address", Some("A4-83-E7-0B-1C-2D"))
//!     .datetime("last_inventory_update", Some("2024-01-26 16:15:36.087016+00:00"))
//!     .count("total_number_of_cores", Some(-1)); // "not reported": no value
//!
//! let json = serde_json::to_value(&device).unwrap();
//! assert_eq!(json["fields"]["serial_number"], "C02XK1ABJG5H");
//! assert_eq!(json["fields"]["primary_mac_address"], "a4:83:e7:0b:1c:2d");
//! assert!(json["fields"].get("total_number_of_cores").is_none());
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod advice;
pub mod catalog;
mod catalog_data;
pub mod dropped;
mod fast_hash;
mod field_names;
mod ident;
pub mod lenient;
pub mod mapping;
pub mod model;
pub mod net;
pub mod normalize;
pub mod record;
pub mod source;
pub mod store;
pub mod sync;
pub mod upsert;

pub use compact_str::{self, CompactString};
pub use dropped::DroppedValues;
pub use record::{Assignee, Entity, Fields, Secrets, SourceDevice, UnknownName, Value, Vendor};
pub use source::{
    Cursor, DevicePage, DeviceSource, Listing, NoProgress, NoProgressReason, SourceError,
    SourceErrorKind,
};
pub use store::{Asset, Employee, Inventory, MemoryStore, Store, StoreError};

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
