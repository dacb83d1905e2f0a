//! The `mdm` command line: demo, devices, catalog, plan, sync, simulate.
//!
//! Exit codes: 0 success (conflicts are reported, not errors), 1 a failure,
//! 2 bad usage or bad input. A failure prints one line naming what failed and why.

use std::process::ExitCode;

use clap::Parser;
use mdm_examples::cli::{self, Cli, Command};

/// mimalloc: faster than glibc's allocator for what `mdm` does (a
/// string per decoded value, freed on another thread than the one that
/// decoded it), and with [`tune_allocator`] a lower peak than glibc's
/// arenas without any environment variable (BENCHMARKS.md, Memory).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3.3's `include/mimalloc.h` (the
/// version pinned in Cargo.toml; a test checks it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The purge delay `mdm` sets, in milliseconds: see [`tune_allocator`].
const PURGE_DELAY_MS: std::ffi::c_long = 20;

/// Freed memory goes back to the system after 20 ms (mimalloc's default
/// waits a second): a sync frees each batch's records before it builds the
/// next. A no-change `--full` resync of 100,000 devices into SQLite
/// (without transparent huge pages: the `no_thp` feature, Cargo.toml):
///
/// | purge delay | wall | peak RSS |
/// |---|---|---|
/// | 0 ms | 3.4–4.0 s | 116 MiB |
/// | 20 ms (this) | 2.9–3.0 s | 130–136 MiB |
/// | 100 ms | 2.7–2.8 s | 148–149 MiB |
/// | 1,000 ms (default) | 2.7–2.8 s | 162–189 MiB |
///
/// glibc's allocator took 4.1–4.6 s and 127–133 MiB (BENCHMARKS.md,
/// Memory). At 0 ms a seventh of the CPU went to page faults: memory given
/// back and touched again.
/// `MIMALLOC_PURGE_DELAY` in the environment (mimalloc's own setting)
/// still wins.
#[allow(unsafe_code)]
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mi_option_set only stores a number in mimalloc's option
    // table; it is called once, before the runtime starts any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

fn main() -> ExitCode {
    tune_allocator();
    let args = Cli::parse();
    cli::init_logging(args.verbose);
    // A command that writes an inventory gets one blocking thread, one that
    // lists devices two (see `mdm_examples::SYNC_BLOCKING_THREADS`).
    let blocking = match args.command {
        Command::Sync(_) | Command::Plan(_) | Command::Demo(_) | Command::Dedupe(_) => {
            mdm_examples::SYNC_BLOCKING_THREADS
        }
        _ => mdm_examples::LISTING_BLOCKING_THREADS,
    };
    let runtime = match mdm_examples::runtime_with(blocking) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mdm: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mdm: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    /// The option number is mimalloc 3.3's `mi_option_purge_delay`: the
    /// library is that version, the option's default is 1,000 ms, and the
    /// setting takes.
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and writes of mimalloc's option table.
        let (version, before, after) = unsafe {
            let version = libmimalloc_sys::mi_version();
            let before = libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY);
            super::tune_allocator();
            let after = libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY);
            (version, before, after)
        };
        assert_eq!(
            version / 100,
            303,
            "mimalloc {version}: check the option's number"
        );
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(before, 1000, "mimalloc's default purge delay (ms)");
            assert_eq!(after, super::PURGE_DELAY_MS);
        }
    }
}
