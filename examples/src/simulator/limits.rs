//! Enforced rate limits: a hidden ABM limit (`abm_limit_per_minute`) and
//! Kandji's documented quotas (`kandji_enforce_limits`).
//!
//! - **ABM**: a token bucket of `N` requests a minute with a burst of
//!   [`ABM_BURST`] (at most `N`): it starts full, refills at `N / 60` a
//!   second, and every API request (not the token endpoint) takes one token.
//!   With none left the request is answered Apple's 429 with `Retry-After`
//!   = the whole seconds (rounded up, at least 1) until a token is back.
//!   Refused requests take no token.
//! - **Kandji**: fixed windows, as the Kong gateway in front of Kandji
//!   counts: at most [`KANDJI_PER_SECOND`] requests in each whole second and
//!   [`KANDJI_PER_HOUR`] in each whole hour since the simulator started.
//!   Over either, 429 with `Retry-After` = whole seconds until the full
//!   window ends. Refused requests are not counted in the windows.
//!
//! Time is tokio's clock.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The ABM bucket's burst (capped at the per-minute limit).
pub const ABM_BURST: u32 = 3;
/// Kandji: requests per second.
pub const KANDJI_PER_SECOND: u32 = 50;
/// Kandji: requests per hour.
pub const KANDJI_PER_HOUR: u32 = 10_000;

/// What the limits say about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// No limit applies.
    Free,
    /// Within the limit (Kandji: the windows' state after it).
    Allowed(Option<KandjiWindowState>),
    /// Over the limit: wait this long.
    Refused(Duration, Option<KandjiWindowState>),
}

/// Kandji's windows as its headers report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KandjiWindowState {
    pub(crate) remaining_second: u32,
    pub(crate) remaining_hour: u32,
    /// Whole seconds until the second window resets (at least 1).
    pub(crate) reset: u64,
}

#[derive(Debug)]
pub(crate) struct Limits {
    start: Instant,
    abm: Option<Mutex<Bucket>>,
    kandji: Option<Mutex<Windows>>,
}

#[derive(Debug)]
struct Bucket {
    per_minute: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Default)]
struct Windows {
    second: (u64, u32),
    hour: (u64, u32),
}

impl Limits {
    pub(crate) fn new(abm_per_minute: Option<u32>, kandji: bool) -> Self {
        let start = Instant::now();
        Limits {
            start,
            abm: abm_per_minute.filter(|n| *n > 0).map(|n| {
                let burst = f64::from(ABM_BURST.min(n));
                Mutex::new(Bucket {
                    per_minute: f64::from(n),
                    burst,
                    tokens: burst,
                    at: start,
                })
            }),
            kandji: kandji.then(|| Mutex::new(Windows::default())),
        }
    }

    /// Takes a slot for an ABM API request.
    pub(crate) fn abm(&self) -> Verdict {
        self.abm_at(Instant::now())
    }

    fn abm_at(&self, now: Instant) -> Verdict {
        let Some(bucket) = &self.abm else {
            return Verdict::Free;
        };
        let mut b = bucket.lock().unwrap_or_else(|e| e.into_inner());
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * b.per_minute / 60.0;
        b.tokens = (b.tokens + refill).min(b.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Verdict::Allowed(None)
        } else {
            let wait = (1.0 - b.tokens) * 60.0 / b.per_minute;
            Verdict::Refused(Duration::from_secs_f64(wait), None)
        }
    }

    /// Takes a slot for a Kandji request.
    pub(crate) fn kandji(&self) -> Verdict {
        self.kandji_at(self.start.elapsed())
    }

    /// [`Limits::kandji`] at `elapsed` since the start.
    fn kandji_at(&self, elapsed: Duration) -> Verdict {
        let Some(windows) = &self.kandji else {
            return Verdict::Free;
        };
        let mut w = windows.lock().unwrap_or_else(|e| e.into_inner());
        let secs = elapsed.as_secs();
        let (second, hour) = (secs, secs / 3600);
        if w.second.0 != second {
            w.second = (second, 0);
        }
        if w.hour.0 != hour {
            w.hour = (hour, 0);
        }
        let to_next_second = Duration::from_secs(second + 1).saturating_sub(elapsed);
        let to_next_hour = Duration::from_secs((hour + 1) * 3600).saturating_sub(elapsed);
        let full_second = w.second.1 >= KANDJI_PER_SECOND;
        let full_hour = w.hour.1 >= KANDJI_PER_HOUR;
        if !full_second && !full_hour {
            w.second.1 += 1;
            w.hour.1 += 1;
        }
        let state = KandjiWindowState {
            remaining_second: KANDJI_PER_SECOND.saturating_sub(w.second.1),
            remaining_hour: KANDJI_PER_HOUR.saturating_sub(w.hour.1),
            reset: whole_seconds(if full_hour {
                to_next_hour
            } else {
                to_next_second
            }),
        };
        match (full_second, full_hour) {
            (false, false) => Verdict::Allowed(Some(state)),
            (_, true) => Verdict::Refused(to_next_hour, Some(state)),
            (true, false) => Verdict::Refused(to_next_second, Some(state)),
        }
    }
}

/// A wait in whole seconds for `Retry-After`: rounded up, at least 1.
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abm_bucket_allows_its_burst_then_one_per_interval() {
        let l = Limits::new(Some(60), false);
        let t0 = l.start;
        for _ in 0..ABM_BURST {
            assert_eq!(l.abm_at(t0), Verdict::Allowed(None));
        }
        let Verdict::Refused(wait, None) = l.abm_at(t0) else {
            panic!("over the burst")
        };
        assert_eq!(whole_seconds(wait), 1);
        let later = t0 + Duration::from_millis(999);
        assert!(matches!(l.abm_at(later), Verdict::Refused(..)));
        assert_eq!(
            l.abm_at(later + Duration::from_millis(2)),
            Verdict::Allowed(None)
        );
        assert_eq!(Limits::new(None, true).abm(), Verdict::Free);
    }

    #[test]
    fn kandji_windows_hold_50_a_second_and_10000_an_hour() {
        let l = Limits::new(None, true);
        assert_eq!(l.abm(), Verdict::Free);
        for i in 0..KANDJI_PER_SECOND {
            let Verdict::Allowed(Some(s)) = l.kandji_at(Duration::ZERO) else {
                panic!("request {i}")
            };
            assert_eq!(s.remaining_second, KANDJI_PER_SECOND - i - 1);
        }
        let Verdict::Refused(wait, Some(s)) = l.kandji_at(Duration::from_millis(400)) else {
            panic!("51st")
        };
        assert_eq!((whole_seconds(wait), s.remaining_second), (1, 0));
        assert_eq!(wait, Duration::from_millis(600));
        let mut at = Duration::from_secs(1);
        assert!(matches!(l.kandji_at(at), Verdict::Allowed(_)));
        // Fill the hour: 50 a second.
        for sent in KANDJI_PER_SECOND + 1..KANDJI_PER_HOUR {
            at += Duration::from_millis(20);
            assert!(
                matches!(l.kandji_at(at), Verdict::Allowed(_)),
                "request {sent}"
            );
        }
        at += Duration::from_secs(1);
        let Verdict::Refused(wait, Some(s)) = l.kandji_at(at) else {
            panic!("over the hour")
        };
        assert_eq!(s.remaining_hour, 0);
        assert_eq!(wait, Duration::from_secs(3600) - at);
        assert!(matches!(
            l.kandji_at(Duration::from_secs(3600)),
            Verdict::Allowed(_)
        ));
    }
}
