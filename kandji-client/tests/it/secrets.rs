//! The API token never appears in Debug or Display output, and is sent only
//! as a bearer header to the configured host.

use kandji_client::{DeviceQuery, KandjiClient, RateLimits};
use mdm_mapping::DeviceSource;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TOKEN, catch_all, client, fast_retry};

fn assert_no_token(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what} leaks the token: {text}");
    assert!(
        !text.contains("SECRET"),
        "{what} leaks part of the token: {text}"
    );
}

#[tokio::test]
async fn debug_and_display_never_show_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/devices"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_string("unauthorized"))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;

    let builder = KandjiClient::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .rate_limits(RateLimits::unlimited())
        .retry_policy(fast_retry());
    assert_no_token("builder Debug", &format!("{builder:?}"));
    let c = builder.build().expect("client");
    assert_no_token("client Debug", &format!("{c:?}"));
    let source = c.device_source();
    assert_no_token("source Debug", &format!("{source:?}"));

    let e = c
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("401");
    assert_no_token("error Debug", &format!("{e:?}"));
    assert_no_token("error Display", &e.to_string());

    let se = client(&server)
        .device_source()
        .fetch_page(None)
        .await
        .expect_err("401");
    assert_no_token("source error Debug", &format!("{se:?}"));
    assert_no_token("source error Display", &se.to_string());
}

#[tokio::test]
async fn transport_and_config_errors_do_not_show_the_token() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let c = KandjiClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .token(TOKEN)
        .retry_policy(kandji_client::RetryPolicy::none())
        .build()
        .expect("client");
    let e = c
        .list_devices(&DeviceQuery::new(), 0)
        .await
        .expect_err("refused");
    assert_no_token("transport error", &format!("{e} {e:?}"));

    let e = KandjiClient::builder()
        .base_url("http://not-loopback.example")
        .token(TOKEN)
        .build()
        .expect_err("insecure");
    assert_no_token("config error", &format!("{e} {e:?}"));
    let e = KandjiClient::builder()
        .tenant("acme")
        .token(format!("{TOKEN}\n\u{7}"))
        .build()
        .expect_err("bad header value");
    assert_no_token("token error", &format!("{e} {e:?}"));
}
