//! The `mdm` binary's library: the command line, the vendor simulator and the
//! SQLite store, shared with the end-to-end tests and benchmarks.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod cli;
pub mod simulator;
pub mod sqlite;
