//! Integration tests of kandji-client: one binary, one module per concern.
//! Network only to wiremock servers on loopback.

mod common;
mod devices;
mod errors;
mod models;
mod org;
mod pipeline;
mod rate_limit;
mod retry;
mod secrets;
mod source;
