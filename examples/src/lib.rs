//! The `mdm` binary's library: the command line and the vendor simulator,
//! shared with the end-to-end tests and benchmarks. The stores live in
//! `mdm-mapping` (features `sqlite` and `postgres`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod cli;
pub mod simulator;

/// The async runtime `mdm` runs on (and the benchmarks measure): tokio's
/// multi-threaded runtime with at most two blocking threads.
///
/// Decoding pages and writing SQLite run on blocking threads. glibc gives
/// each thread that allocates an arena of its own and keeps what is freed
/// there, so every extra blocking thread adds to the peak: a no-change
/// resync of 100,000 devices peaked at 160 MiB with tokio's default (up to
/// 512 blocking threads) and 142–147 MiB with two (BENCHMARKS.md, Memory).
/// Two keep both cores busy decoding while Jamf has two pages in flight.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(2)
        .enable_all()
        .build()
}
