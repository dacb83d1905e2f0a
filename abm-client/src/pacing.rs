//! Adaptive pacing: Apple publishes no rate limit, so the client learns one.
//!
//! The pacer starts at a safe rate and spaces requests evenly. Every
//! [`INCREASE_EVERY`] answered requests without a 429 it raises the rate by
//! [`INCREASE_STEP`] requests a minute (additive increase); a 429 halves it
//! (multiplicative decrease) and holds every request until the server's
//! `Retry-After` has passed. The learned rate lives as long as the client.
//!
//! Written by hand rather than with `governor`: a governor quota is fixed
//! when the limiter is built and its waits run on its own clock, while this
//! rate changes with every answer and its waits must follow tokio's clock
//! (so tests can run it under a paused clock).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The rate a fresh client starts at, in requests a minute (Apple's
/// commonly observed limit).
pub const START_PER_MINUTE: f64 = 20.0;
/// The rate is never lowered below this many requests a minute.
pub const MIN_PER_MINUTE: f64 = 2.0;
/// The rate is never raised above this many requests a minute.
pub const MAX_PER_MINUTE: f64 = 6000.0;
/// Answered requests between two increases.
pub const INCREASE_EVERY: u32 = 3;
/// Requests a minute added at each increase (a fraction of the current rate
/// once that is larger, so probing is quick on generous tenants).
pub const INCREASE_STEP: f64 = 5.0;
/// The POST budget: device activities, about 10 an hour (fixed, never
/// raised).
pub const POST_PER_MINUTE: f64 = 10.0 / 60.0;

/// Spaces requests at a rate that may adapt to the server's answers.
#[derive(Debug)]
pub(crate) struct Pacer {
    adaptive: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    per_minute: f64,
    next: Option<Instant>,
    successes: u32,
    throttled: u64,
}

impl Pacer {
    /// A pacer that starts at `per_minute` and adapts.
    pub(crate) fn adaptive(per_minute: f64) -> Pacer {
        Pacer::new(per_minute, true)
    }

    /// A pacer that keeps `per_minute`, honouring `Retry-After` only.
    pub(crate) fn fixed(per_minute: f64) -> Pacer {
        Pacer::new(per_minute, false)
    }

    fn new(per_minute: f64, adaptive: bool) -> Pacer {
        Pacer {
            adaptive,
            state: Mutex::new(State {
                per_minute: per_minute.clamp(MIN_PER_MINUTE.min(per_minute), MAX_PER_MINUTE),
                next: None,
                successes: 0,
                throttled: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current rate, in requests a minute.
    pub(crate) fn per_minute(&self) -> f64 {
        self.lock().per_minute
    }

    /// 429s seen.
    pub(crate) fn throttled(&self) -> u64 {
        self.lock().throttled
    }

    /// Waits for this request's slot.
    pub(crate) async fn ready(&self) {
        let slot = {
            let mut s = self.lock();
            let now = Instant::now();
            let slot = s.next.map_or(now, |n| n.max(now));
            s.next = Some(slot + interval(s.per_minute));
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// A request was answered without a 429.
    pub(crate) fn answered(&self) {
        if !self.adaptive {
            return;
        }
        let mut s = self.lock();
        s.successes += 1;
        if s.successes >= INCREASE_EVERY {
            s.successes = 0;
            let step = INCREASE_STEP.max(s.per_minute / 4.0);
            s.per_minute = (s.per_minute + step).min(MAX_PER_MINUTE);
        }
    }

    /// A request was answered 429, with the server's `Retry-After`.
    pub(crate) fn throttle(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        s.throttled += 1;
        s.successes = 0;
        if self.adaptive {
            s.per_minute = (s.per_minute / 2.0).max(MIN_PER_MINUTE);
        }
        let now = Instant::now();
        let resume = now + retry_after.unwrap_or_else(|| interval(s.per_minute));
        s.next = Some(s.next.map_or(resume, |n| n.max(resume)));
    }
}

fn interval(per_minute: f64) -> Duration {
    Duration::from_secs_f64(60.0 / per_minute.max(f64::MIN_POSITIVE)).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_rises_while_answers_come_and_halves_on_429() {
        let p = Pacer::adaptive(START_PER_MINUTE);
        for _ in 0..30 {
            p.ready().await;
            p.answered();
        }
        let risen = p.per_minute();
        assert!(risen > START_PER_MINUTE * 2.0, "rate {risen}");
        p.throttle(Some(Duration::from_secs(30)));
        assert!((p.per_minute() - risen / 2.0).abs() < 1e-9);
        assert_eq!(p.throttled(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_next_request() {
        let p = Pacer::adaptive(START_PER_MINUTE);
        p.ready().await;
        let start = Instant::now();
        p.throttle(Some(Duration::from_secs(42)));
        p.ready().await;
        assert!(start.elapsed() >= Duration::from_secs(42));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_pacer_never_rises() {
        let p = Pacer::fixed(POST_PER_MINUTE);
        for _ in 0..3 {
            p.ready().await;
            p.answered();
        }
        assert_eq!(p.per_minute(), POST_PER_MINUTE);
    }
}
