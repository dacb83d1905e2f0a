//! `JamfDeviceSource::pages` keeps pages in flight: the same requests as a
//! page-by-page read, pages in order, errors with their cursor, resume.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use jamf_client::{Error, JamfDeviceSource, SourceOptions};
use mdm_mapping::{Cursor, DevicePage, DeviceSource, Entity, SourceErrorKind};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{Recorder, client, query};

const COMPUTERS: &str = "/api/v1/computers-inventory";
const MOBILE: &str = "/api/v2/mobile-devices/detail";

/// Serves `items` by page number and size, answering each request after
/// `delay` (or `slow` for the pages in it), with a body override for some
/// pages, and records when each request arrived.
#[derive(Clone)]
struct Listing {
    items: Arc<Mutex<Vec<Value>>>,
    delay: Duration,
    slow: BTreeMap<usize, Duration>,
    broken: BTreeMap<usize, ResponseTemplate>,
    /// Rows appended to the listing once this many requests were served.
    grow_after: Option<(usize, Vec<Value>)>,
    arrivals: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl Listing {
    fn new(items: Vec<Value>) -> Self {
        Listing {
            items: Arc::new(Mutex::new(items)),
            delay: Duration::ZERO,
            slow: BTreeMap::new(),
            broken: BTreeMap::new(),
            grow_after: None,
            arrivals: Arc::default(),
        }
    }

    /// The pages requested, in the order they arrived.
    fn pages(&self) -> Vec<usize> {
        self.arrivals.lock().unwrap().iter().map(|a| a.0).collect()
    }

    /// The pages requested, sorted.
    fn pages_sorted(&self) -> Vec<usize> {
        let mut p = self.pages();
        p.sort_unstable();
        p
    }

    fn arrival(&self, page: usize) -> Instant {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.0 == page)
            .map(|a| a.1)
            .unwrap()
    }
}

impl Respond for Listing {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap();
        let size: usize = query(req, "page-size")
            .and_then(|p| p.parse().ok())
            .unwrap();
        let served = {
            let mut arrivals = self.arrivals.lock().unwrap();
            arrivals.push((page, Instant::now()));
            arrivals.len()
        };
        let mut items = self.items.lock().unwrap();
        if let Some((after, more)) = &self.grow_after
            && served == *after + 1
        {
            items.extend(more.iter().cloned());
        }
        let delay = self.slow.get(&page).copied().unwrap_or(self.delay);
        if let Some(broken) = self.broken.get(&page) {
            return broken.clone().set_delay(delay);
        }
        let results: Vec<Value> = items.iter().skip(page * size).take(size).cloned().collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"totalCount": items.len(), "results": results}))
            .set_delay(delay)
    }
}

fn computers(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({"id": i.to_string(), "hardware": {"serialNumber": format!("C02X{i:04}")}}))
        .collect()
}

fn mobiles(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({"mobileDeviceId": (100 + i).to_string(), "deviceType": "iOS"}))
        .collect()
}

async fn serve(computers: &Listing, mobiles: &Listing) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COMPUTERS))
        .respond_with(computers.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(MOBILE))
        .respond_with(mobiles.clone())
        .mount(&server)
        .await;
    server
}

fn source(server: &MockServer, page_size: u32, lookahead: usize) -> JamfDeviceSource {
    client(server)
        .device_source(SourceOptions::default().page_size(page_size))
        .with_lookahead(lookahead)
}

/// `(entity, id)` of every record, in the order read.
fn ids(pages: &[DevicePage]) -> Vec<(Entity, String)> {
    pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| (d.entity, d.source_id.clone())))
        .collect()
}

fn cursors(pages: &[DevicePage]) -> Vec<Option<String>> {
    pages
        .iter()
        .map(|p| p.next.as_ref().map(|c| c.as_str().to_string()))
        .collect()
}

/// The listing path and page of every request `server` received, sorted.
async fn requests(server: &MockServer) -> Vec<(String, usize)> {
    let mut r: Vec<(String, usize)> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.url.path().to_string(),
                query(r, "page").and_then(|p| p.parse().ok()).unwrap(),
            )
        })
        .collect();
    r.sort();
    r
}

/// What a page-by-page read makes of the same server: `fetch_page`
/// following each page's cursor.
async fn page_by_page(source: &JamfDeviceSource) -> Vec<DevicePage> {
    let mut pages = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = source.fetch_page(cursor.as_ref()).await.unwrap();
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
    }
}

#[tokio::test]
async fn pages_in_order_with_exactly_the_requests_of_a_page_by_page_read() {
    // 7 computers by 2 (a short last page), 6 mobile devices by 2 (exact
    // fit: no empty page 3), with 2, 3 and 5 pages in flight.
    let (c, m) = (computers(7), mobiles(6));
    let (sc, sm) = (Listing::new(c.clone()), Listing::new(m.clone()));
    let sequential = serve(&sc, &sm).await;
    let want = page_by_page(&source(&sequential, 2, 1)).await;
    let want_requests = requests(&sequential).await;
    assert_eq!(
        want_requests,
        [
            (COMPUTERS.to_string(), 0),
            (COMPUTERS.to_string(), 1),
            (COMPUTERS.to_string(), 2),
            (COMPUTERS.to_string(), 3),
            (MOBILE.to_string(), 0),
            (MOBILE.to_string(), 1),
            (MOBILE.to_string(), 2),
        ]
    );

    for lookahead in [2, 3, 5] {
        let (lc, lm) = (Listing::new(c.clone()), Listing::new(m.clone()));
        let server = serve(&lc, &lm).await;
        let pages: Vec<DevicePage> = source(&server, 2, lookahead)
            .pages(None)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(cursors(&pages), cursors(&want), "lookahead {lookahead}");
        assert_eq!(
            cursors(&pages),
            [
                Some("computers:1"),
                Some("computers:2"),
                Some("computers:3"),
                Some("mobile:0"),
                Some("mobile:1"),
                Some("mobile:2"),
                None
            ]
            .map(|c| c.map(str::to_string))
        );
        assert_eq!(ids(&pages), ids(&want), "lookahead {lookahead}");
        assert_eq!(ids(&pages).len(), 13);
        assert_eq!(
            requests(&server).await,
            want_requests,
            "lookahead {lookahead}"
        );
        // Page 0 of each phase goes alone, first.
        assert_eq!(lc.pages()[0], 0);
        assert_eq!(lm.pages()[0], 0);
    }
}

#[tokio::test]
async fn the_site_names_request_counts_toward_the_lookahead() {
    // Once the first mobile page's count is in, the next two mobile pages
    // take both request permits while the first is mapped, and it names a
    // site: the site names are read under one of the listing's permits,
    // never as a third request beside the two pages.
    let delay = Duration::from_millis(100);
    let (mut lc, lm) = (Listing::new(computers(2)), Listing::new(Vec::new()));
    lc.delay = delay;
    let mut lm = lm;
    lm.delay = delay;
    *lm.items.lock().unwrap() = (1..=6)
        .map(|i| json!({"mobileDeviceId": (100 + i).to_string(), "general": {"siteId": "1"}}))
        .collect();
    let server = serve(&lc, &lm).await;
    let sites = Recorder {
        delay,
        arrivals: Arc::default(),
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(sites.clone())
        .mount(&server)
        .await;
    let pages: Vec<DevicePage> = source(&server, 2, 2)
        .pages(None)
        .try_collect()
        .await
        .unwrap();
    let named: Vec<Option<&str>> = pages
        .iter()
        .flat_map(|p| p.devices.iter())
        .filter(|d| d.entity == Entity::MobileDevice)
        .map(|d| d.fields.get_str("site"))
        .collect();
    assert_eq!(named, [Some("Eau Claire"); 6]);
    let mut arrivals: Vec<Instant> = lc.arrivals.lock().unwrap().iter().map(|a| a.1).collect();
    arrivals.extend(lm.arrivals.lock().unwrap().iter().map(|a| a.1));
    arrivals.extend(sites.arrivals.lock().unwrap().iter().copied());
    assert_eq!(
        arrivals.len(),
        5,
        "1 computers page, 3 mobile pages, the sites"
    );
    assert_eq!(
        max_in_flight(&arrivals, delay),
        2,
        "the lookahead in flight, no more"
    );
}

#[tokio::test]
async fn a_computers_page_answered_late_leaves_the_mobile_pages_predicted() {
    // The last computers page is slow: the first mobile page's count
    // arrives before it, and the mobile pages after it are predicted from
    // that count (mobile:1 and mobile:2 go one after the other on the
    // permit the slow page leaves). The late computers page must not take
    // that prediction away: once it is answered, mobile:3 and mobile:4 go
    // together on both permits, rather than mobile:4 waiting for
    // mobile:3's own count.
    let delay = Duration::from_millis(100);
    let (mut lc, mut lm) = (Listing::new(computers(4)), Listing::new(mobiles(10)));
    lc.slow.insert(1, Duration::from_millis(600));
    lm.delay = delay;
    let server = serve(&lc, &lm).await;
    let pages: Vec<DevicePage> = source(&server, 2, 2)
        .pages(None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&pages).len(), 14);
    assert_eq!(lm.pages_sorted(), [0, 1, 2, 3, 4]);
    assert!(
        lm.arrival(4) < lm.arrival(3) + delay,
        "mobile:4 waited for mobile:3 to be answered"
    );
}

/// Counts, at the arrival of each request, the requests that arrived no
/// later and whose response cannot have been sent yet (every response is
/// sent `delay` after its arrival, and the client holds a request in
/// flight until it has the response): no timing assumption.
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
async fn the_next_pages_are_requested_before_a_slow_page_arrives() {
    let delay = Duration::from_millis(300);
    let mut lc = Listing::new(computers(10));
    lc.delay = delay;
    let lm = Listing::new(mobiles(0));
    let server = serve(&lc, &lm).await;
    let source = source(&server, 2, 3);
    assert_eq!(source.lookahead(), 3);
    let pages: Vec<DevicePage> = source.pages(None).try_collect().await.unwrap();
    assert_eq!(ids(&pages).len(), 10);

    // Page 2 was asked for before the response to page 1 could have been
    // sent: a page-by-page read asks only after it has page 1.
    assert!(lc.arrival(2) < lc.arrival(1) + delay);
    let arrivals: Vec<Instant> = lc.arrivals.lock().unwrap().iter().map(|a| a.1).collect();
    assert_eq!(arrivals.len(), 5);
    assert_eq!(
        max_in_flight(&arrivals, delay),
        3,
        "no more, and no fewer, than the lookahead in flight"
    );
}

/// Serves the site names (site "1", "Eau Claire") after `delay`, then reads
/// the listing by pages of 2 with 2 in flight.
async fn read_with_slow_sites(server: &MockServer, delay: Duration) -> Vec<DevicePage> {
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "1", "name": "Eau Claire"}]))
                .set_delay(delay),
        )
        .mount(server)
        .await;
    source(server, 2, 2)
        .pages(None)
        .try_collect()
        .await
        .unwrap()
}

/// A page whose body is in no longer holds a request: while pages wait
/// after their response (here for the site names, which mapping a mobile
/// device page needs; decoding a large page is the same step), the next
/// pages are requested, still never more than the lookahead at once.
#[tokio::test]
async fn pages_after_their_response_do_not_hold_back_the_next_requests() {
    let sites_delay = Duration::from_millis(400);
    let page_delay = Duration::from_millis(50);
    let lc = Listing::new(computers(0));
    // Page 0 (ids 1, 2) names no site; every later device does, so pages 1
    // and 2 (requested together once page 0 told the total) both wait for
    // the site names after their bodies are in.
    let mut lm = Listing::new(
        (1..=10)
            .map(|i| {
                let site = if i > 2 { json!("1") } else { Value::Null };
                json!({"mobileDeviceId": i.to_string(), "deviceType": "iOS", "general": {"siteId": site}})
            })
            .collect(),
    );
    lm.delay = page_delay;
    let server = serve(&lc, &lm).await;
    let pages = read_with_slow_sites(&server, sites_delay).await;
    let devices: Vec<_> = pages.iter().flat_map(|p| &p.devices).collect();
    assert_eq!(devices.len(), 10);
    assert_eq!(
        devices
            .iter()
            .filter(|d| d.fields.get_str("site") == Some("Eau Claire"))
            .count(),
        8
    );
    // Pages 3 and 4 were asked for while pages 1 and 2 waited for the site
    // names. Were a page to hold its request until it is mapped, page 3
    // would wait for page 1, and so for the site names.
    assert!(
        lm.arrival(3) < lm.arrival(1) + sites_delay,
        "page 3 waited for page 1's mapping"
    );
    assert!(
        lm.arrival(4) < lm.arrival(2) + sites_delay,
        "page 4 waited for page 2's mapping"
    );
    let arrivals: Vec<Instant> = lm.arrivals.lock().unwrap().iter().map(|a| a.1).collect();
    assert_eq!(arrivals.len(), 5);
    assert_eq!(
        max_in_flight(&arrivals, page_delay),
        2,
        "the lookahead in flight, no more"
    );
}

/// The first page of a listing tells how many pages follow; they are
/// requested as soon as its body is in, not once it is decoded and mapped
/// (here mapping page 0 waits for the site names; decoding a page of
/// 2,000 computers takes tens of milliseconds the same way). Still exactly
/// the requests of a page-by-page read.
#[tokio::test]
async fn the_pages_after_the_first_are_requested_while_it_is_still_mapped() {
    let sites_delay = Duration::from_millis(400);
    let lc = Listing::new(computers(0));
    let lm = Listing::new(
        (1..=6)
            .map(|i| json!({"mobileDeviceId": i.to_string(), "deviceType": "iOS", "general": {"siteId": "1"}}))
            .collect(),
    );
    let server = serve(&lc, &lm).await;
    let pages = read_with_slow_sites(&server, sites_delay).await;
    let devices: Vec<_> = pages.iter().flat_map(|p| &p.devices).collect();
    assert_eq!(devices.len(), 6);
    assert!(
        devices
            .iter()
            .all(|d| d.fields.get_str("site") == Some("Eau Claire"))
    );
    // The mock writes `totalCount` after `results`, as a serializer with
    // sorted keys does; Jamf Pro writes it first (both are read early).
    assert!(
        lm.arrival(1) < lm.arrival(0) + sites_delay,
        "page 1 waited for page 0 to be mapped"
    );
    assert_eq!(lm.pages_sorted(), [0, 1, 2], "no page past the last one");
}

#[tokio::test]
async fn the_lookahead_is_capped_by_the_client() {
    let server = MockServer::start().await;
    let c = crate::common::builder(&server)
        .max_concurrent_requests(2)
        .build()
        .unwrap();
    let s = c.device_source(SourceOptions::default());
    assert_eq!(s.lookahead(), jamf_client::DEFAULT_LOOKAHEAD);
    assert_eq!(s.with_lookahead(9).lookahead(), 2);
    let s = c.device_source(SourceOptions::default()).with_lookahead(0);
    assert_eq!(s.lookahead(), 1);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_its_cursor_after_the_pages_before_it() {
    // Page 2 of 10 is malformed and slow, so the pages after it are in
    // flight or read when it fails; they are never yielded.
    let mut lc = Listing::new(computers(20));
    lc.slow.insert(2, Duration::from_millis(200));
    lc.broken.insert(
        2,
        ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 20,
            "results": [{"id": "5"}, {"id": "6", "hardware": {"coreCount": "eight"}}]
        })),
    );
    let lm = Listing::new(mobiles(2));
    let server = serve(&lc, &lm).await;
    let results: Vec<_> = source(&server, 2, 3).pages(None).collect().await;
    assert_eq!(results.len(), 3);
    let pages: Vec<&DevicePage> = results[..2].iter().map(|r| r.as_ref().unwrap()).collect();
    assert_eq!(
        pages
            .iter()
            .map(|p| p.next.as_ref().map(|c| c.as_str()))
            .collect::<Vec<_>>(),
        [Some("computers:1"), Some("computers:2")]
    );
    let read: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.devices.iter().map(|d| d.source_id.as_str()))
        .collect();
    assert_eq!(read, ["1", "2", "3", "4"]);
    let e = results[2].as_ref().unwrap_err();
    assert_eq!(e.cursor().map(|c| c.as_str()), Some("computers:2"));
    assert_eq!(e.kind(), SourceErrorKind::Decode);
    match e.inner().downcast_ref::<Error>() {
        Some(Error::Decode(d)) => {
            assert_eq!(d.path, "results[1].hardware.coreCount");
            assert_eq!(d.context, "computer inventory page 2");
        }
        other => panic!("{other:?}"),
    }
    // No mobile device page was asked for: the computers never ended.
    assert!(lm.pages().is_empty());

    // An API error the same way, on page 1 at once.
    let mut lc = Listing::new(computers(10));
    lc.broken.insert(1, ResponseTemplate::new(400));
    let server = serve(&lc, &Listing::new(mobiles(2))).await;
    let results: Vec<_> = source(&server, 2, 2).pages(None).collect().await;
    assert_eq!(results.len(), 2);
    assert_eq!(ids(&[results[0].as_ref().unwrap().clone()]).len(), 2);
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.cursor().map(|c| c.as_str()), Some("computers:1"));
    assert_eq!(e.kind(), SourceErrorKind::Api);
}

#[tokio::test]
async fn a_listing_resumes_from_a_cursor_with_pages_in_flight() {
    let (lc, lm) = (Listing::new(computers(7)), Listing::new(mobiles(5)));
    let server = serve(&lc, &lm).await;
    let source = source(&server, 2, 3);
    let pages: Vec<DevicePage> = source
        .pages(Some(Cursor::new("computers:2")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        cursors(&pages),
        [
            Some("computers:3"),
            Some("mobile:0"),
            Some("mobile:1"),
            Some("mobile:2"),
            None
        ]
        .map(|c| c.map(str::to_string))
    );
    let want: Vec<(Entity, String)> = ["5", "6", "7"]
        .iter()
        .map(|id| (Entity::Computer, id.to_string()))
        .chain((101..=105).map(|i| (Entity::MobileDevice, i.to_string())))
        .collect();
    assert_eq!(ids(&pages), want);
    // The resumed page goes first, alone.
    assert_eq!(lc.pages(), [2, 3]);
    assert_eq!(lm.pages()[0], 0);
    assert_eq!(lm.pages_sorted(), [0, 1, 2]);

    // From the middle of the mobile devices, and at a size the cursor carries.
    let (lc, lm) = (Listing::new(computers(7)), Listing::new(mobiles(5)));
    let server = serve(&lc, &lm).await;
    let pages: Vec<DevicePage> = crate::pipeline::source(&server, 2, 3)
        .pages(Some(Cursor::new("mobile:1:1")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&pages).len(), 4);
    assert_eq!(lm.pages()[0], 1);
    assert_eq!(lm.pages_sorted(), [1, 2, 3, 4]);
    assert!(lc.pages().is_empty());

    // A cursor this source did not write.
    let results: Vec<_> = source
        .pages(Some(Cursor::new("printers:1")))
        .collect()
        .await;
    assert_eq!(results.len(), 1);
    let e = results[0].as_ref().unwrap_err();
    assert_eq!(e.kind(), SourceErrorKind::Config);
    assert_eq!(e.cursor().map(|c| c.as_str()), Some("printers:1"));
}

#[tokio::test]
async fn rows_added_while_the_listing_is_read_are_read_too() {
    // Page 0 says 4 computers (two pages, then mobile devices); by page 1
    // there are 7. The mobile page asked for too early is dropped and
    // the computers go on; every record is read once.
    let mut lc = Listing::new(computers(4));
    lc.grow_after = Some((1, computers(7).split_off(4)));
    lc.slow.insert(1, Duration::from_millis(100));
    let lm = Listing::new(mobiles(3));
    let server = serve(&lc, &lm).await;
    let pages: Vec<DevicePage> = source(&server, 2, 3)
        .pages(None)
        .try_collect()
        .await
        .unwrap();
    let want: Vec<(Entity, String)> = (1..=7)
        .map(|i| (Entity::Computer, i.to_string()))
        .chain((101..=103).map(|i| (Entity::MobileDevice, i.to_string())))
        .collect();
    assert_eq!(ids(&pages), want);
    assert_eq!(lc.pages_sorted(), [0, 1, 2, 3]);
    assert_eq!(cursors(&pages).last(), Some(&None));
}
