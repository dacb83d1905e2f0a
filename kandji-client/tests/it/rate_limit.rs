//! The client-side limiter alone, on tokio's paused clock (virtual time).

use std::sync::Arc;
use std::time::Duration;

use kandji_client::{RateLimiter, RateLimits};
use tokio::time::Instant;

async fn time_for(limiter: &RateLimiter, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        limiter.acquire().await;
    }
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn sixty_requests_at_fifty_per_second_take_at_least_a_second() {
    let limiter = RateLimiter::new(RateLimits::new(50, 0));
    let took = time_for(&limiter, 60).await;
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(
        took < Duration::from_millis(1300),
        "not over-throttled: {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_one_second_window_holds_more_than_fifty() {
    let limiter = RateLimiter::new(RateLimits::new(50, 0));
    let start = Instant::now();
    let mut at = Vec::new();
    for _ in 0..200 {
        limiter.acquire().await;
        at.push(start.elapsed());
    }
    for (i, t) in at.iter().enumerate() {
        let in_window = at[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_secs(1))
            .count();
        assert!(in_window <= 50, "{in_window} requests within 1 s of {t:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_hourly_quota_is_enforced_too() {
    let limiter = RateLimiter::new(RateLimits::new(0, 100));
    let took = time_for(&limiter, 101).await;
    assert!(took >= Duration::from_secs(3600), "{took:?}");
    assert!(took < Duration::from_secs(3700), "{took:?}");
    // The first few go out at once (the burst).
    let fresh = RateLimiter::new(RateLimits::new(0, 100));
    assert_eq!(time_for(&fresh, 5).await, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn both_quotas_apply_and_the_stricter_wins() {
    let limiter = RateLimiter::new(RateLimits::new(50, 10_000));
    let took = time_for(&limiter, 51).await;
    assert!(took >= Duration::from_secs(1), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn unlimited_never_waits() {
    let limiter = RateLimiter::new(RateLimits::unlimited());
    assert_eq!(time_for(&limiter, 10_000).await, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_the_budget() {
    let limiter = Arc::new(RateLimiter::new(RateLimits::new(50, 0)));
    let start = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let l = limiter.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    l.acquire().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
