//! Ids are one path segment whatever they contain.

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::client;

#[tokio::test]
async fn ids_with_slashes_and_dots_stay_in_their_segment() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client(&server);
    let _ = c.computer("a/b", &[]).await;
    let _ = c.computer_detail("..").await;
    let _ = c.classic_user("../../accounts").await;
    let _ = c.mobile_device("7?x=1#y").await;
    let _ = c.account("%2e%2e").await;
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/api/v1/computers-inventory/a%2Fb",
            "/api/v1/computers-inventory-detail/%252E%252E",
            "/JSSResource/users/id/..%2F..%2Faccounts",
            "/api/v2/mobile-devices/7%3Fx=1%23y/detail",
            "/JSSResource/accounts/userid/%252e%252e",
        ]
    );
}
