//! Client-side rate limiting: Kandji's documented 10,000 requests per hour
//! and the 50 requests per second its gateway reports in `X-Ratelimit-*`
//! headers.
//!
//! Each quota is a [`governor`] GCRA limiter shaped so that **no window of
//! the quota's period ever holds more than the quota**: a short burst, then
//! requests evenly spaced. (A plain "50 per second with a burst of 50" lets
//! up to 99 requests through in one second, which a fixed-window gateway
//! answers with 429.)
//!
//! The limiter reads time from tokio's clock ([`TokioClock`]) and waits with
//! [`tokio::time::sleep`], so a paused test clock drives it.
//!
//! ```
//! use kandji_client::{RateLimiter, RateLimits};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limiter = RateLimiter::new(RateLimits::new(50, 10_000));
//! limiter.acquire().await; // returns at once: the first request is free
//! # }
//! ```

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};

/// How many requests the client may send: per second and per hour.
///
/// `0` turns a quota off. The default is Kandji's: 50 per second, 10,000 per
/// hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per second (the gateway's `X-Ratelimit-Limit-Second`); `0`: no limit.
    pub per_second: u32,
    /// Requests per hour (the documented tenant quota); `0`: no limit.
    pub per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_second: 50,
            per_hour: 10_000,
        }
    }
}

impl RateLimits {
    /// Limits of `per_second` and `per_hour` requests (`0` turns one off).
    pub fn new(per_second: u32, per_hour: u32) -> Self {
        RateLimits {
            per_second,
            per_hour,
        }
    }

    /// No client-side limit at all (the server's 429s are still honoured).
    pub fn unlimited() -> Self {
        RateLimits::new(0, 0)
    }
}

/// A [`governor`] clock that reads tokio's clock, so `tokio::time::pause()`
/// and `#[tokio::test(start_paused = true)]` drive the limiter.
///
/// (governor's own clocks read the OS clock, which a paused tokio runtime
/// does not control.)
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        TokioClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let elapsed = self.start.elapsed().as_nanos();
        Nanos::new(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }
}

type Gcra = governor::RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// One quota: at most `max` requests in any window of `period`.
struct Window {
    max: u32,
    period: Duration,
    gcra: Gcra,
}

impl Window {
    /// `burst` requests at once, then one every `period / (max - burst)`:
    /// any window of `period` then holds at most `burst + (max - burst) = max`.
    fn new(max: u32, period: Duration, burst: u32, clock: TokioClock) -> Option<Window> {
        let max_nz = NonZeroU32::new(max)?;
        let burst = burst.clamp(1, max.saturating_sub(1).max(1));
        let spaced = max.saturating_sub(burst).max(1);
        let interval = (period / spaced).max(Duration::from_nanos(1));
        let quota =
            Quota::with_period(interval)?.allow_burst(NonZeroU32::new(burst).unwrap_or(max_nz));
        Some(Window {
            max,
            period,
            gcra: governor::RateLimiter::direct_with_clock(quota, clock),
        })
    }
}

/// Waits until every quota allows one more request.
///
/// Shared by all clones of a [`KandjiClient`](crate::KandjiClient); build one
/// yourself only to share a budget between clients of the same tenant
/// ([`KandjiClientBuilder::rate_limiter`](crate::KandjiClientBuilder::rate_limiter)).
pub struct RateLimiter {
    limits: RateLimits,
    clock: TokioClock,
    windows: Vec<Window>,
}

impl RateLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: RateLimits) -> Self {
        let clock = TokioClock::new();
        let windows = [
            // Per second: one at a time, evenly spaced (~20 ms at 50/s).
            Window::new(limits.per_second, Duration::from_secs(1), 1, clock),
            // Per hour: a burst of 5% (a whole device listing of a large
            // tenant goes out at the per-second pace), then evenly spaced.
            Window::new(
                limits.per_hour,
                Duration::from_secs(3600),
                limits.per_hour / 20,
                clock,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        RateLimiter {
            limits,
            clock,
            windows,
        }
    }

    /// The limits this limiter enforces.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Waits (on tokio's clock) until one more request fits every quota, and
    /// takes it.
    pub async fn acquire(&self) {
        for window in &self.windows {
            loop {
                match window.gcra.check() {
                    Ok(()) => break,
                    Err(not_until) => {
                        let wait = not_until.wait_time_from(self.clock.now());
                        tracing::trace!(?wait, max = window.max, period = ?window.period, "rate limit: waiting");
                        tokio::time::sleep(wait.max(Duration::from_micros(1))).await;
                    }
                }
            }
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_built_only_for_nonzero_quotas() {
        assert_eq!(RateLimiter::new(RateLimits::unlimited()).windows.len(), 0);
        assert_eq!(RateLimiter::new(RateLimits::new(50, 0)).windows.len(), 1);
        assert_eq!(RateLimiter::new(RateLimits::default()).windows.len(), 2);
        // Degenerate quotas do not panic.
        assert_eq!(RateLimiter::new(RateLimits::new(1, 1)).windows.len(), 2);
        assert_eq!(
            RateLimiter::new(RateLimits::new(u32::MAX, u32::MAX))
                .windows
                .len(),
            2
        );
    }
}
