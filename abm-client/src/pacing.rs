//! Adaptive pacing: Apple publishes no rate limit, so the client learns one.
//!
//! The pacer starts at a safe rate and spaces requests evenly (each request
//! one interval of the *current* rate after the one before). It learns in
//! two phases:
//!
//! - **Probing** (until the first 429): every answered request multiplies
//!   the rate by [`PROBE_FACTOR`], so a generous tenant is found within a
//!   few requests instead of minutes. The first 429 sets the rate to the
//!   lower of half the probing rate and the rate the server actually
//!   answered over the last minute (probing overshoots while a server's
//!   burst hides its limit).
//! - **Steady** (after it): every answered request raises the rate by
//!   [`INCREASE`] (a fraction; a fifth of it once within 10 % of the rate
//!   of the last 429, where the limit was met), and each 429 multiplies it
//!   by [`DECREASE`].
//!
//! Every 429 holds every request until the server's `Retry-After` has
//! passed. The learned rate lives as long as the client.
//!
//! Written by hand rather than with `governor`: a governor quota is fixed
//! when the limiter is built and its waits run on its own clock, while this
//! rate changes with every answer and its waits must follow tokio's clock
//! (so tests can run it under a paused clock).

use std::collections::VecDeque;
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
/// Probing: each answered request multiplies the rate by this, until the
/// first 429.
pub const PROBE_FACTOR: f64 = 4.0;
/// Steady: each answered request raises the rate by this fraction (a fifth
/// of it near the rate of the last 429).
pub const INCREASE: f64 = 0.02;
/// Steady: a 429 multiplies the rate by this.
pub const DECREASE: f64 = 0.6;
/// The POST budget: device activities, about 10 an hour (fixed, never
/// raised).
pub const POST_PER_MINUTE: f64 = 10.0 / 60.0;

/// The window over which the answered rate is measured.
const MEASURE: Duration = Duration::from_secs(60);

/// Spaces requests at a rate that may adapt to the server's answers.
#[derive(Debug)]
pub(crate) struct Pacer {
    adaptive: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    per_minute: f64,
    /// The last slot given out.
    last: Option<Instant>,
    /// No slot before this (`Retry-After`).
    hold: Option<Instant>,
    /// Still probing (no 429 yet).
    probing: bool,
    /// The rate of the last 429 in the steady phase.
    ceiling: Option<f64>,
    /// When requests were answered, over the last [`MEASURE`].
    answers: VecDeque<Instant>,
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
                last: None,
                hold: None,
                probing: true,
                ceiling: None,
                answers: VecDeque::new(),
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

    /// Waits for this request's slot: one interval of the current rate
    /// after the last slot, and not before a `Retry-After` hold ends.
    pub(crate) async fn ready(&self) {
        let slot = {
            let mut s = self.lock();
            let now = Instant::now();
            let mut slot = s
                .last
                .map_or(now, |last| (last + interval(s.per_minute)).max(now));
            if let Some(hold) = s.hold {
                slot = slot.max(hold);
            }
            s.last = Some(slot);
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
        let now = Instant::now();
        s.answers.push_back(now);
        while s
            .answers
            .front()
            .is_some_and(|t| now.duration_since(*t) > MEASURE)
        {
            s.answers.pop_front();
        }
        let factor = if s.probing {
            PROBE_FACTOR
        } else if s.ceiling.is_some_and(|c| s.per_minute >= 0.9 * c) {
            1.0 + INCREASE / 5.0
        } else {
            1.0 + INCREASE
        };
        s.per_minute = (s.per_minute * factor).min(MAX_PER_MINUTE);
    }

    /// A request was answered 429, with the server's `Retry-After`.
    pub(crate) fn throttle(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        s.throttled += 1;
        let now = Instant::now();
        if self.adaptive {
            s.per_minute = if s.probing {
                // The answered rate over the last minute: probing raced past
                // the limit while the server's burst hid it.
                let answered = match (s.answers.front(), s.answers.back()) {
                    (Some(first), Some(last)) if s.answers.len() >= 2 && last > first => {
                        (s.answers.len() - 1) as f64 * 60.0
                            / last.duration_since(*first).as_secs_f64()
                    }
                    _ => f64::INFINITY,
                };
                (s.per_minute / 2.0).min(answered)
            } else {
                s.ceiling = Some(s.per_minute);
                s.per_minute * DECREASE
            }
            .max(MIN_PER_MINUTE);
            s.probing = false;
        }
        let resume = now + retry_after.unwrap_or_else(|| interval(s.per_minute));
        s.hold = Some(s.hold.map_or(resume, |h| h.max(resume)));
    }
}

fn interval(per_minute: f64) -> Duration {
    Duration::from_secs_f64(60.0 / per_minute.max(f64::MIN_POSITIVE)).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_rises_while_answers_come_and_drops_on_429() {
        let p = Pacer::adaptive(START_PER_MINUTE);
        for _ in 0..30 {
            p.ready().await;
            p.answered();
        }
        let risen = p.per_minute();
        assert!(risen > START_PER_MINUTE * 2.0, "rate {risen}");
        p.throttle(Some(Duration::from_secs(30)));
        let after = p.per_minute();
        assert!(after <= risen / 2.0 + 1e-9, "{risen} then {after}");
        assert_eq!(p.throttled(), 1);
        // Steady: a 429 multiplies the rate by DECREASE.
        p.throttle(Some(Duration::from_secs(1)));
        assert!((p.per_minute() - (after * DECREASE).max(MIN_PER_MINUTE)).abs() < 1e-9);
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

    /// Serves like a token bucket of `per_minute` with a burst of 3,
    /// answering 429 with whole-second `Retry-After` (as the simulator
    /// does); returns (wall, 429s) for `pages` requests through `p`.
    async fn against_bucket(p: &Pacer, per_minute: f64, pages: u32) -> (Duration, u64) {
        let start = Instant::now();
        let (mut tokens, mut at) = (3.0_f64, start);
        let mut done = 0;
        while done < pages {
            p.ready().await;
            let now = Instant::now();
            tokens = (tokens + now.duration_since(at).as_secs_f64() * per_minute / 60.0).min(3.0);
            at = now;
            if tokens >= 1.0 {
                tokens -= 1.0;
                tokio::time::sleep(Duration::from_millis(30)).await;
                p.answered();
                done += 1;
            } else {
                let wait = ((1.0 - tokens) * 60.0 / per_minute).ceil().max(1.0);
                p.throttle(Some(Duration::from_secs_f64(wait)));
            }
        }
        (start.elapsed(), p.throttled())
    }

    #[tokio::test(start_paused = true)]
    async fn probing_finds_a_generous_limit_within_seconds_with_few_429s() {
        for (limit, pages) in [(20.0, 90), (60.0, 90), (300.0, 90), (300.0, 30)] {
            let p = Pacer::adaptive(START_PER_MINUTE);
            let (wall, throttled) = against_bucket(&p, limit, pages).await;
            let bound = f64::from(pages) * 60.0 / limit;
            let ratio = wall.as_secs_f64() / bound;
            assert!(ratio <= 1.25, "limit {limit}: {wall:?} against {bound} s");
            assert!(throttled <= 8, "limit {limit}: {throttled} 429s");
            let learned = p.per_minute();
            assert!(
                (limit * 0.5..=limit * 1.5).contains(&learned),
                "limit {limit}: learned {learned}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_rise_applies_to_the_next_slot_at_once() {
        let p = Pacer::adaptive(START_PER_MINUTE);
        p.ready().await;
        let start = Instant::now();
        p.answered();
        p.ready().await;
        // 20 a minute became 80: 0.75 s, not 3 s.
        assert_eq!(start.elapsed(), Duration::from_millis(750));
    }
}
