//! Configuration errors found before anything is sent.

use std::time::Duration;

use abm_client::{AbmClient, ConfigError, Credentials, Error, RateLimit, Service};

use crate::common::*;

fn build(
    creds: Credentials,
    f: impl FnOnce(abm_client::AbmClientBuilder) -> abm_client::AbmClientBuilder,
) -> Result<AbmClient, Error> {
    f(AbmClient::builder(creds)).build()
}

#[test]
fn a_school_client_id_with_the_business_service_is_refused() {
    let key = TestKey::generate();
    let e = build(key.credentials(SCHOOL_CLIENT_ID), |b| {
        b.service(Service::Business)
    })
    .expect_err("mismatch");
    match &e {
        Error::Config(ConfigError::ServiceMismatch {
            client_id_service,
            service,
        }) => {
            assert_eq!(*client_id_service, Service::School);
            assert_eq!(*service, Service::Business);
        }
        other => panic!("expected ServiceMismatch, got {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "the Client ID is an Apple School Manager ID (SCHOOLAPI.…) but the client is configured for \
         Apple Business Manager; use Service::School or a BUSINESSAPI. Client ID"
    );
    assert_eq!(e.kind(), mdm_mapping::SourceErrorKind::Config);
    let e = build(key.credentials(BUSINESS_CLIENT_ID), |b| {
        b.service(Service::School)
    })
    .expect_err("mismatch");
    assert!(matches!(
        e,
        Error::Config(ConfigError::ServiceMismatch { .. })
    ));
}

#[test]
fn the_service_follows_the_client_id_and_picks_host_and_scope() {
    let key = TestKey::generate();
    let school = build(key.credentials(SCHOOL_CLIENT_ID), |b| b).expect("builds");
    assert_eq!(school.service(), Service::School);
    assert_eq!(school.base_url().as_str(), "https://api-school.apple.com/");
    let business = build(key.credentials(BUSINESS_CLIENT_ID), |b| b).expect("builds");
    assert_eq!(
        business.base_url().as_str(),
        "https://api-business.apple.com/"
    );
    // An unprefixed ID (a simulator's) takes the service it is given.
    let sim = build(key.credentials("SIMULATOR.client"), |b| {
        b.service(Service::School)
    })
    .expect("builds");
    assert_eq!(sim.service(), Service::School);
    assert_eq!(Service::School.scope(), "school.api");
    assert_eq!(Service::Business.scope(), "business.api");
}

#[test]
fn urls_must_be_https_or_loopback_http() {
    let key = TestKey::generate();
    for bad in [
        "http://api.example.com",
        "ftp://127.0.0.1",
        "not a url",
        "https://h.example/?x=1",
    ] {
        let e = build(key.credentials(BUSINESS_CLIENT_ID), |b| b.base_url(bad)).expect_err(bad);
        assert!(
            matches!(e, Error::Config(ConfigError::BaseUrl(_))),
            "{bad}: {e:?}"
        );
        let e = build(key.credentials(BUSINESS_CLIENT_ID), |b| b.token_url(bad)).expect_err(bad);
        assert!(
            matches!(e, Error::Config(ConfigError::TokenUrl(_))),
            "{bad}: {e:?}"
        );
    }
    let ok = build(key.credentials(BUSINESS_CLIENT_ID), |b| {
        b.base_url("http://127.0.0.1:9999/abm")
            .token_url("http://localhost:9999/auth/oauth2/token")
    })
    .expect("loopback http is fine");
    assert_eq!(ok.base_url().as_str(), "http://127.0.0.1:9999/abm/");
}

#[test]
fn blank_ids_lifetimes_and_rate_limits_are_checked() {
    let key = TestKey::generate();
    let e = build(Credentials::new("  ", KEY_ID, key.private_key()), |b| b).expect_err("blank");
    assert!(matches!(e, Error::Config(ConfigError::EmptyClientId)));
    let e = build(
        Credentials::new(BUSINESS_CLIENT_ID, "", key.private_key()),
        |b| b,
    )
    .expect_err("blank");
    assert!(matches!(e, Error::Config(ConfigError::EmptyKeyId)));
    let e = build(key.credentials(BUSINESS_CLIENT_ID), |b| {
        b.assertion_lifetime(Duration::from_secs(200 * 24 * 3600))
    })
    .expect_err("too long");
    assert!(matches!(
        e,
        Error::Config(ConfigError::AssertionLifetime(_))
    ));
    let absurd = RateLimit {
        requests: std::num::NonZeroU32::MAX,
        period: Duration::from_nanos(1),
        burst: std::num::NonZeroU32::MIN,
    };
    let e = build(key.credentials(BUSINESS_CLIENT_ID), |b| {
        b.rate_limit(Some(absurd))
    })
    .expect_err("rate");
    assert!(matches!(e, Error::Config(ConfigError::RateLimit(_))));
    assert_eq!(RateLimit::default(), RateLimit::APPLE_OBSERVED);
}

#[test]
fn credentials_from_the_environment_name_the_missing_variable() {
    // Only the failure path: reading real variables would race other tests.
    let e = Credentials::from_env();
    if std::env::var("ABM_CLIENT_ID").is_err() {
        let e = e.expect_err("unset");
        assert_eq!(
            e.to_string(),
            "environment variable ABM_CLIENT_ID is not set"
        );
    }
}
