//! Integration tests of jamf-client against wiremock servers on loopback.
//! One test binary; each area is a module.

#![allow(clippy::unwrap_used)]

mod auth;
mod classic;
mod common;
mod concurrency;
mod errors;
mod fixtures;
mod hostile;
mod paging;
mod paths;
mod pipeline;
mod redaction;
mod retry;
mod source;
