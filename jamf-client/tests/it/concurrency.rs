//! At most N requests in flight, across clones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jamf_client::Client;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::common::Recorder;

fn max_in_flight(arrivals: &[Instant], delay: Duration) -> usize {
    arrivals
        .iter()
        .map(|k| {
            arrivals
                .iter()
                .filter(|j| **j <= *k && *k < **j + delay)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn no_more_than_the_limit_in_flight() {
    let server = MockServer::start().await;
    let recorder = Recorder {
        arrivals: Arc::default(),
        delay: Duration::from_millis(100),
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .bearer_token("t")
        .max_concurrent_requests(3)
        .build()
        .unwrap();

    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.sites().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let arrivals = recorder.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 12);
    let max = max_in_flight(&arrivals, recorder.delay);
    assert!(max <= 3, "{max} requests were in flight at once");
    assert!(
        max >= 2,
        "requests ran one at a time ({max}): the limit is not a lock"
    );
}

#[test]
fn the_in_flight_count_is_right() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let d = Duration::from_millis(100);
    assert_eq!(
        max_in_flight(&[ms(0), ms(1), ms(2), ms(101), ms(150)], d),
        3
    );
    assert_eq!(max_in_flight(&[ms(0), ms(100), ms(200)], d), 1);
}
