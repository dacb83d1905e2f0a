//! The `mdm` binary's library: the command line and the vendor simulator,
//! shared with the end-to-end tests and benchmarks. The stores live in
//! `mdm-mapping` (features `sqlite` and `postgres`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod cli;
pub mod simulator;

/// The async runtime `mdm` runs on (and the benchmarks measure) for a
/// command that lists devices: tokio's multi-threaded runtime with
/// [`LISTING_BLOCKING_THREADS`] blocking threads. See [`runtime_with`].
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    runtime_with(LISTING_BLOCKING_THREADS)
}

/// Blocking threads for a command whose work is decoding pages (`mdm
/// devices`): two keep both cores decoding while Jamf has two pages in
/// flight.
pub const LISTING_BLOCKING_THREADS: usize = 2;

/// Blocking threads for a command that stages and writes an inventory
/// (`mdm sync`, `plan`, `demo`, `dedupe`): one. Its time is staging,
/// planning and writing, not decoding: one blocking thread gave the same
/// wall time as two (first sync of 100,000 devices 8.3 s both) and a lower
/// peak (141–143 MiB against 157–166; BENCHMARKS.md, Memory).
pub const SYNC_BLOCKING_THREADS: usize = 1;

/// tokio's multi-threaded runtime with at most `blocking_threads` blocking
/// threads.
///
/// Decoding pages and writing SQLite run on blocking threads. glibc gives
/// each thread that allocates an arena of its own and keeps what is freed
/// there, so every extra blocking thread adds to the peak: a no-change
/// resync of 100,000 devices peaked at 160 MiB with tokio's default (up to
/// 512 blocking threads) and 142–147 MiB with two (BENCHMARKS.md, Memory).
pub fn runtime_with(blocking_threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(blocking_threads.max(1))
        .enable_all()
        .build()
}
