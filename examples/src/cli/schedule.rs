//! `mdm sync --every`: a sync that runs again and again until stopped.
//!
//! - Each run is a process of its own (this binary again, with the same
//!   arguments and [`ONE_RUN_ENV`] set): a run's memory is returned when it
//!   ends, and a run that crashes does not take the schedule with it.
//! - Runs never overlap, across processes too: each run takes the
//!   inventory's run lock ([`Store::lock_runs`](mdm_mapping::Store::lock_runs):
//!   a lock file beside a SQLite file, an advisory lock in PostgreSQL) and
//!   skips its turn when another run holds it.
//! - Each start is delayed by a random part of the jitter, so that many
//!   schedules started together spread out.
//! - SIGTERM or Ctrl-C finishes the batch in hand, records the run as
//!   cancelled and exits 0.
//! - A failed run does not stop the schedule: it is logged (one line on
//!   stderr) and retried after a backoff (1 minute, doubling, at most the
//!   interval).

use std::io::Write;
use std::time::Duration;

use futures::future::{Either, select};
use rand::Rng;
use tokio_util::sync::CancellationToken;

use super::sync::open_store;
use super::{CliError, SyncArgs};

/// Set in the environment of a scheduled run's process: it runs once.
pub(super) const ONE_RUN_ENV: &str = "MDM_SCHEDULED_RUN";

/// The first backoff after a failed run.
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
/// The default jitter is a tenth of the interval, at most this.
const MAX_DEFAULT_JITTER: Duration = Duration::from_secs(300);

pub(super) async fn run(
    args: &SyncArgs,
    db: &str,
    every: Duration,
    jitter: Option<Duration>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    if every.is_zero() {
        return Err(CliError::input("--every must be longer than 0s"));
    }
    if args.dry_run {
        return Err(CliError::input("--every and --dry-run do not go together"));
    }
    let jitter = jitter.unwrap_or_else(|| (every / 10).min(MAX_DEFAULT_JITTER));
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    let mut failures: u32 = 0;
    let mut run = 0u64;
    loop {
        let spread = random_part(jitter);
        if wait(spread, &stop).await {
            return Ok(());
        }
        run += 1;
        let failed = match one_run(db, out, &stop).await {
            Ok(true) => false,
            Ok(false) => {
                eprintln!("mdm: run {run} skipped: another sync holds the inventory's run lock");
                false
            }
            Err(e) => {
                eprintln!("mdm: run {run} failed: {e}");
                true
            }
        };
        if stop.is_cancelled() {
            return Ok(());
        }
        let next = if failed {
            failures = failures.saturating_add(1);
            backoff(failures, every)
        } else {
            failures = 0;
            every
        };
        if failed {
            eprintln!(
                "mdm: next run in {} (backoff after {failures} failed run{})",
                humantime::format_duration(next),
                if failures == 1 { "" } else { "s" }
            );
        }
        if wait(next, &stop).await {
            return Ok(());
        }
    }
}

/// One scheduled run under the run lock, in a process of its own:
/// `Ok(false)` when another run holds the lock.
async fn one_run(
    db: &str,
    out: &mut impl Write,
    stop: &CancellationToken,
) -> Result<bool, CliError> {
    let store = open_store(db).await?;
    let Some(guard) = store
        .lock_runs()
        .await
        .map_err(|e| CliError::failure(format!("cannot take the run lock: {e}")))?
    else {
        return Ok(false);
    };
    // The run prints to the same stdout; nothing of ours is buffered.
    out.flush()
        .map_err(|e| CliError::failure(format!("cannot write output: {e}")))?;
    let result = run_child(stop).await;
    guard.release().await;
    result.map(|()| true)
}

/// Runs this binary again with the same arguments, once; on `stop`, passes
/// SIGTERM on to it (it finishes its batch) and waits for it.
async fn run_child(stop: &CancellationToken) -> Result<(), CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::failure(format!("cannot find the mdm binary to run: {e}")))?;
    let mut child = tokio::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(ONE_RUN_ENV, "1")
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError::failure(format!("cannot start the run: {e}")))?;
    let pid = child.id();
    let finished = tokio::select! {
        status = child.wait() => Some(status),
        () = stop.cancelled() => None,
    };
    let status = match finished {
        Some(status) => status,
        None => {
            terminate(pid);
            child.wait().await
        }
    }
    .map_err(|e| CliError::failure(format!("the run could not be waited for: {e}")))?;
    if status.success() || stop.is_cancelled() {
        // A run stopped by a signal is not a failure of the schedule.
        return Ok(());
    }
    Err(CliError::failure(format!(
        "the run ended with {status} (its error is above)"
    )))
}

/// Sends SIGTERM to a run's process.
fn terminate(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// The wait before the next run after `failures` failed runs in a row.
fn backoff(failures: u32, every: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    FIRST_BACKOFF.saturating_mul(factor).min(every)
}

fn random_part(jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    jitter.mul_f64(rand::rng().random::<f64>())
}

/// Waits `d`; `true` when stopped meanwhile.
async fn wait(d: Duration, stop: &CancellationToken) -> bool {
    if d.is_zero() {
        return stop.is_cancelled();
    }
    matches!(
        select(Box::pin(tokio::time::sleep(d)), Box::pin(stop.cancelled())).await,
        Either::Right(_)
    )
}

/// Cancels `stop` on SIGTERM or Ctrl-C (SIGINT); a second one ends the
/// process at once (exit 130).
pub(super) async fn stop_on_signal(stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("mdm: stopping after the batch in hand (again to quit now)");
        stop.cancel();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        std::process::exit(130);
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("mdm: stopping after the batch in hand (again to quit now)");
            stop.cancel();
            let _ = tokio::signal::ctrl_c().await;
            std::process::exit(130);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_a_minute_up_to_the_interval() {
        let day = Duration::from_secs(86_400);
        let mins: Vec<u64> = (1..=8).map(|f| backoff(f, day).as_secs() / 60).collect();
        assert_eq!(mins, [1, 2, 4, 8, 16, 32, 64, 128]);
        assert_eq!(backoff(40, day), day);
        assert_eq!(backoff(3, Duration::from_secs(90)), Duration::from_secs(90));
    }

    #[test]
    fn jitter_is_a_part_of_its_bound() {
        let j = Duration::from_secs(10);
        for _ in 0..100 {
            assert!(random_part(j) <= j);
        }
        assert_eq!(random_part(Duration::ZERO), Duration::ZERO);
    }
}
