//! The `mdm` command line: demo, devices, catalog, plan, sync, simulate.
//!
//! Exit codes: 0 success (conflicts are reported, not errors), 1 a failure,
//! 2 bad usage or bad input. A failure prints one line naming what failed and why.

use std::process::ExitCode;

use clap::Parser;
use mdm_examples::cli::{self, Cli, Command};

fn main() -> ExitCode {
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
