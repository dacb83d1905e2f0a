//! HTTP-free machinery the three clients share: base-URL validation, safe
//! path building, the retry decision and `Retry-After` parsing.
//!
//! The clients do the I/O (reqwest) and the waiting (backon); what to retry
//! and for how long is decided here, as pure functions that are tested once.
//!
//! ```
//! use mdm_mapping::net::{base_url, endpoint, RetryPolicy};
//! use std::time::Duration;
//!
//! let base = base_url("https://acme.jamfcloud.com/").unwrap();
//! let url = endpoint(&base, &["api", "v1", "computers-inventory-detail", "../x"]);
//! assert_eq!(url.as_str(), "https://acme.jamfcloud.com/api/v1/computers-inventory-detail/..%2Fx");
//! let url = endpoint(&base, &["api", "v1", "computers-inventory-detail", ".."]);
//! assert_eq!(url.path(), "/api/v1/computers-inventory-detail/%252E%252E");
//!
//! // http:// is refused unless the host is loopback.
//! assert!(base_url("http://acme.jamfcloud.com").is_err());
//! assert!(base_url("http://127.0.0.1:8080").is_ok());
//!
//! let policy = RetryPolicy::default();
//! assert!(policy.should_retry_status(503, true));
//! assert!(!policy.should_retry_status(503, false)); // never a POST
//! assert_eq!(policy.delay_for(Some(Duration::from_secs(7200)), Duration::from_secs(1)), Duration::from_secs(60));
//! ```

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use url::Url;

/// A base URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Not a URL at all.
    #[error("invalid base URL {url:?}: {reason}")]
    Invalid {
        /// What was given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A scheme other than https (or http on loopback).
    #[error(
        "refusing base URL {url:?}: only https:// is allowed, or http:// to a loopback address"
    )]
    Insecure {
        /// What was given.
        url: String,
    },
    /// Query strings, fragments or credentials in a base URL.
    #[error("invalid base URL {url:?}: {reason}")]
    Unsupported {
        /// What was given.
        url: String,
        /// What is not allowed.
        reason: &'static str,
    },
}

/// Whether `host` names this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Parses and checks a base URL: `https://` anywhere, `http://` only to a
/// loopback host, no query, fragment or user info. The path keeps a trailing
/// slash so [`endpoint`] can append to it.
pub fn base_url(raw: &str) -> Result<Url, UrlError> {
    let raw = raw.trim();
    let mut url = Url::parse(raw).map_err(|e| UrlError::Invalid {
        url: raw.to_string(),
        reason: e.to_string(),
    })?;
    let host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "https" if !host.is_empty() => {}
        "http" if is_loopback_host(&host) => {}
        "http" | "https" => {
            return Err(UrlError::Insecure {
                url: raw.to_string(),
            });
        }
        _ => {
            return Err(UrlError::Insecure {
                url: raw.to_string(),
            });
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlError::Unsupported {
            url: raw.to_string(),
            reason: "a base URL cannot have a query or fragment",
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Unsupported {
            url: raw.to_string(),
            reason: "put credentials in the client configuration, not the URL",
        });
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// `base` with `segments` appended, each percent-encoded as one path segment:
/// an id like `../x` or `a/b` cannot change the path.
///
/// URL parsers resolve `.` and `..` segments (and their `%2E` spellings), so
/// a segment made only of dots is sent as the literal text `%2E…` (encoded
/// `%252E…`): the server sees an id that does not exist instead of a
/// different path.
pub fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for seg in segments {
            if !seg.is_empty() && seg.chars().all(|c| c == '.') {
                path.push(&"%2E".repeat(seg.len()));
            } else {
                path.push(seg);
            }
        }
    }
    url
}

/// Whether `url` is on the same scheme, host and port as `base` (so it is
/// safe to send credentials to it, e.g. when following a `next` link).
pub fn same_origin(base: &Url, url: &Url) -> bool {
    base.origin() == url.origin()
}

/// Parses a `Retry-After` header: delta-seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, taken relative to `now`; a date in the
/// past is zero). Anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A whole number from any JSON value, for server-given hints (a total
/// count, a token lifetime) where a value that cannot be used is better
/// ignored than fatal. Never fails, never panics: integers beyond `i64`
/// saturate, finite floats are truncated (saturating), numeric strings are
/// parsed the same way, and anything else (`"soon"`, `null`, an object) is
/// `None`.
///
/// ```
/// use mdm_mapping::net::whole_number;
/// use serde_json::json;
/// assert_eq!(whole_number(&json!(u64::MAX)), Some(i64::MAX));
/// assert_eq!(whole_number(&json!(-1e300)), Some(i64::MIN));
/// assert_eq!(whole_number(&json!(" 3600 ")), Some(3600));
/// assert_eq!(whole_number(&json!("soon")), None);
/// ```
pub fn whole_number(v: &serde_json::Value) -> Option<i64> {
    fn of_f64(f: f64) -> Option<i64> {
        // `as` saturates at the i64 bounds; NaN and infinities are no value.
        f.is_finite().then_some(f.trunc() as i64)
    }
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .or_else(|| n.as_f64().and_then(of_f64)),
        serde_json::Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<u64>().ok().map(|_| i64::MAX))
                .or_else(|| t.parse::<f64>().ok().and_then(of_f64))
        }
        _ => None,
    }
}

/// What a person can do about a request that did not complete, read from
/// the error and its sources (the HTTP client's own messages): a TLS
/// failure, a server that refused the connection or did not answer, a name
/// that does not resolve. `url_var` names the setting that holds the URL
/// (`JAMF_URL`). `None` when the chain says nothing recognizable.
///
/// ```
/// let e = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
/// let hint = mdm_mapping::net::transport_hint(&e, "JAMF_URL").unwrap();
/// assert!(hint.contains("is the server up"), "{hint}");
/// ```
pub fn transport_hint(e: &(dyn std::error::Error + 'static), url_var: &str) -> Option<String> {
    let mut chain = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        chain.push_str(&err.to_string().to_ascii_lowercase());
        chain.push('\n');
        cur = err.source();
    }
    let has = |words: &[&str]| words.iter().any(|w| chain.contains(w));
    if has(&[
        "certificate",
        "tls",
        "ssl",
        "handshake",
        "corrupt message",
        "invalidcontenttype",
        "wrong version number",
    ]) {
        Some(format!(
            "the TLS connection failed: check that {url_var} is the server's HTTPS address (and port), \
             and that its certificate is trusted here (a self-signed certificate or a TLS-inspecting \
             proxy needs its CA in the system trust store)"
        ))
    } else if has(&[
        "dns",
        "resolve",
        "lookup",
        "name or service not known",
        "no such host",
    ]) {
        Some(format!(
            "the host name does not resolve: check {url_var} and this machine's DNS"
        ))
    } else if has(&["refused", "unreachable", "reset", "connect"]) {
        Some(format!(
            "the server could not be reached: is the server up, and is {url_var} right? \
             Try again later if it is down"
        ))
    } else if has(&["timed out", "timeout", "deadline"]) {
        Some("the server did not answer in time: try again later".to_string())
    } else {
        None
    }
}

/// What a person can do about an HTTP status that means the server is
/// down or overloaded (502, 503, 504 after the retries ran out; not 500,
/// which is more often a request the server cannot handle).
pub fn server_down_hint(status: u16) -> Option<&'static str> {
    matches!(status, 502..=504).then_some("the server is down or overloaded: try again later")
}

/// Whether an HTTP status is worth retrying: 408, 429, 502, 503, 504.
/// (500 is not: Jamf's 500s are usually a bad filter and repeat forever.)
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

/// How a client retries: which failures, how often, how long it waits.
///
/// The policy is data plus pure functions; clients feed it to
/// [`backon`] (`RetryPolicy::backoff`) and ask it, per failure, whether
/// and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: usize,
    /// The first backoff delay; each later one doubles, with jitter.
    pub min_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest server-requested (`Retry-After`) wait honoured; longer
    /// requests are clamped to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Whether a response with `status` should be retried. Only idempotent
    /// requests are retried, except 429 (the server did not act on it).
    pub fn should_retry_status(&self, status: u16, idempotent: bool) -> bool {
        self.max_retries > 0 && is_retryable_status(status) && (idempotent || status == 429)
    }

    /// Whether a transport failure should be retried: connection errors
    /// (nothing reached the server) always; timeouts and resets only for
    /// idempotent requests.
    pub fn should_retry_transport(&self, before_send: bool, idempotent: bool) -> bool {
        self.max_retries > 0 && (before_send || idempotent)
    }

    /// The wait before the next attempt: the server's `Retry-After` when it
    /// gave one (clamped to [`max_retry_after`](Self::max_retry_after)),
    /// otherwise the backoff delay.
    pub fn delay_for(&self, retry_after: Option<Duration>, backoff: Duration) -> Duration {
        match retry_after {
            Some(ra) => ra.min(self.max_retry_after),
            None => backoff,
        }
    }

    /// The jittered exponential backoff for [`backon`].
    pub fn backoff(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            base_url("https://acme.jamfcloud.com").expect("ok").as_str(),
            "https://acme.jamfcloud.com/"
        );
        assert_eq!(
            base_url("https://jamf.corp.example:8443/jss")
                .expect("ok")
                .as_str(),
            "https://jamf.corp.example:8443/jss/"
        );
        for ok in [
            "http://localhost:1234",
            "http://127.0.0.2",
            "http://[::1]:80/x/",
        ] {
            assert!(base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.jamfcloud.com",
            "http://10.0.0.1",
            "ftp://localhost",
            "acme.jamfcloud.com",
            "",
            "https://u:p@acme.jamfcloud.com",
            "https://acme.jamfcloud.com/?x=1",
            "https://acme.jamfcloud.com/#f",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
        let e = base_url("http://acme.example.com").expect_err("insecure");
        assert!(e.to_string().contains("only https://"));
    }

    #[test]
    fn endpoint_encodes_segments() {
        let base = base_url("https://h.example/base").expect("ok");
        assert_eq!(
            endpoint(&base, &["api", "v1", "devices", "a/b"]).as_str(),
            "https://h.example/base/api/v1/devices/a%2Fb"
        );
        assert_eq!(
            endpoint(&base, &["devices", ".."]).as_str(),
            "https://h.example/base/devices/%252E%252E"
        );
        assert_eq!(
            endpoint(&base, &["devices", "."]).as_str(),
            "https://h.example/base/devices/%252E"
        );
        assert_eq!(
            endpoint(&base, &["devices", "%2e%2e"]).as_str(),
            "https://h.example/base/devices/%252e%252e"
        );
        assert_eq!(
            endpoint(&base, &["x?y#z"]).as_str(),
            "https://h.example/base/x%3Fy%23z"
        );
    }

    #[test]
    fn same_origin_checks_host_and_port() {
        let b = base_url("https://a.example").expect("ok");
        assert!(same_origin(
            &b,
            &Url::parse("https://a.example/x?c=1").expect("ok")
        ));
        assert!(!same_origin(
            &b,
            &Url::parse("https://b.example/x").expect("ok")
        ));
        assert!(!same_origin(
            &b,
            &Url::parse("https://a.example:444/x").expect("ok")
        ));
        assert!(!same_origin(
            &b,
            &Url::parse("http://a.example/x").expect("ok")
        ));
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("date");
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-5", "NaN", "inf"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn retry_decisions() {
        let p = RetryPolicy::default();
        for s in [408, 429, 502, 503, 504] {
            assert!(p.should_retry_status(s, true), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 500, 501] {
            assert!(!p.should_retry_status(s, true), "{s}");
        }
        assert!(
            p.should_retry_status(429, false),
            "a 429 POST was not acted on"
        );
        assert!(!p.should_retry_status(503, false));
        assert!(!p.should_retry_status(500, false));
        assert!(p.should_retry_transport(true, false));
        assert!(!p.should_retry_transport(false, false));
        assert!(p.should_retry_transport(false, true));
        assert!(!RetryPolicy::none().should_retry_status(503, true));
    }

    #[test]
    fn retry_after_is_capped_and_preferred() {
        let p = RetryPolicy::default();
        let b = Duration::from_secs(2);
        assert_eq!(p.delay_for(None, b), b);
        assert_eq!(
            p.delay_for(Some(Duration::from_secs(5)), b),
            Duration::from_secs(5)
        );
        assert_eq!(
            p.delay_for(Some(Duration::from_secs(3600)), b),
            p.max_retry_after
        );
    }

    #[test]
    fn backoff_yields_max_retries_delays_within_bounds() {
        use backon::BackoffBuilder;
        let p = RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
        };
        let delays: Vec<Duration> = p.backoff().build().collect();
        assert_eq!(delays.len(), 4);
        for d in delays {
            assert!(
                d >= Duration::from_millis(100) && d <= Duration::from_secs(2),
                "{d:?}"
            );
        }
    }
}
