//! Integration tests of abm-client, as one test binary.
//!
//! Network only to loopback (wiremock); keys are generated per test; time is
//! an injected clock, retry waits are a few milliseconds.

mod common;

mod activities;
mod assertion;
mod config;
mod endpoints;
mod errors;
mod keys;
mod paging;
mod pipeline;
mod redaction;
mod retry;
mod source;
mod token;
