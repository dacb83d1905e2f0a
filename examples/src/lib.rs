//! The `mdm` binary's library: the command line and the vendor simulator,
//! shared with the end-to-end tests and benchmarks. The stores live in
//! `mdm-mapping` (features `sqlite` and `postgres`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod cli;
pub mod simulator;
