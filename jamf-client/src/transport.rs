//! One HTTP exchange: the concurrency permit, the headers, the per-attempt
//! timeout, reading the body, and turning statuses into errors. Retries and
//! re-authentication are layered on top in `client.rs`.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER, USER_AGENT,
};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::SharedClock;
use crate::error::{DecodeError, Error, HttpError, RedirectError};

/// The credentials header of one request.
pub(crate) enum AuthHeader<'a> {
    None,
    Bearer(&'a SecretString),
    Basic(&'a str, &'a SecretString),
}

/// The body of one request.
pub(crate) enum Body<'a> {
    None,
    Form(&'a [(&'a str, &'a str)]),
}

/// What every request needs: the HTTP client, the base URL, the permits.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) semaphore: Semaphore,
    pub(crate) max_concurrent: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) user_agent: HeaderValue,
    pub(crate) clock: SharedClock,
    /// Requests sent (token requests and retries included).
    pub(crate) requests: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .field("max_concurrent", &self.max_concurrent)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A response read in full.
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) retry_after: Option<Duration>,
}

impl Transport {
    /// `base` + encoded path segments.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        mdm_mapping::net::endpoint(&self.base, segments)
    }

    /// Sends one request and reads the whole body, holding one of the
    /// concurrency permits meanwhile. Any status is returned as `Ok`; only a
    /// failure to get a response is an error.
    pub(crate) async fn execute(
        &self,
        method: Method,
        url: &Url,
        query: &[(String, String)],
        auth: AuthHeader<'_>,
        body: Body<'_>,
    ) -> Result<RawResponse, Error> {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, self.user_agent.clone());
        if !query.is_empty() {
            req = req.query(query);
        }
        match auth {
            AuthHeader::None => {}
            AuthHeader::Bearer(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                    .map_err(|_| Error::InvalidArgument {
                        name: "token",
                        reason: "the bearer token holds characters not allowed in an HTTP header"
                            .into(),
                    })?;
                value.set_sensitive(true);
                req = req.header(AUTHORIZATION, value);
            }
            // reqwest marks the Basic header sensitive.
            AuthHeader::Basic(user, password) => {
                req = req.basic_auth(user, Some(password.expose_secret()));
            }
        }
        if let Body::Form(fields) = body {
            req = req.form(fields);
        }
        if let Some(t) = self.timeout {
            req = req.timeout(t);
        }
        let _permit = self
            .semaphore
            .acquire()
            .await
            .map_err(|_| Error::InvalidArgument {
                name: "client",
                reason: "the client was shut down".into(),
            })?;
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = req
            .send()
            .await
            .map_err(|e| Error::transport(&method, url, e))?;
        let status = resp.status();
        let final_url = resp.url().clone();
        let headers = resp.headers().clone();
        let body = read_body(resp)
            .await
            .map_err(|e| Error::transport(&method, url, e))?;
        drop(_permit);
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| mdm_mapping::net::parse_retry_after(v, self.clock.now()));
        if !mdm_mapping::net::same_origin(url, &final_url) {
            // Only an injected client that follows redirects gets here.
            return Err(Error::Redirect(Box::new(RedirectError {
                method,
                url: url.clone(),
                status,
                location: Some(final_url.to_string()),
            })));
        }
        Ok(RawResponse {
            status,
            url: final_url,
            headers,
            body,
            retry_after,
        })
    }
}

/// The most a `Content-Length` header makes [`read_body`] reserve up front:
/// a header that lies cannot make the client allocate more than this before
/// any byte arrives.
const MAX_RESERVED_BODY: u64 = 64 * 1024 * 1024;

/// Reads a whole response body. With a `Content-Length`, into one buffer of
/// that size, chunk by chunk as the chunks arrive: the body is held once
/// (collecting the chunks first, then copying them into one buffer, holds
/// a large page twice for a moment). Without one, as reqwest collects it.
async fn read_body(mut resp: reqwest::Response) -> Result<Bytes, reqwest::Error> {
    let Some(len) = resp.content_length() else {
        return resp.bytes().await;
    };
    let reserve = usize::try_from(len.min(MAX_RESERVED_BODY)).unwrap_or(0);
    let mut body = Vec::with_capacity(reserve);
    while let Some(chunk) = resp.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

impl RawResponse {
    /// The error this non-success response is: a redirect, an API error, or
    /// (from a token endpoint) an authentication error.
    pub(crate) fn into_error(self, method: Method, url: Url, token_endpoint: bool) -> Error {
        if self.status.is_redirection() {
            return Error::Redirect(Box::new(RedirectError {
                method,
                url,
                status: self.status,
                location: self
                    .headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            }));
        }
        let http = HttpError::new(method, url, self.status, self.retry_after, &self.body);
        if token_endpoint {
            Error::Auth(Box::new(http))
        } else {
            Error::Api(Box::new(http))
        }
    }

    /// Decodes the body as JSON (whatever the Content-Type says), naming the
    /// JSON path that failed.
    pub(crate) fn decode<T: DeserializeOwned>(&self, context: &str) -> Result<T, Error> {
        decode_json(&self.body, &self.url, context, false)
    }

    /// Like [`decode`](Self::decode) for bodies holding secrets: the error
    /// names the path but never quotes a value.
    pub(crate) fn decode_secret<T: DeserializeOwned>(&self, context: &str) -> Result<T, Error> {
        decode_json(&self.body, &self.url, context, true)
    }
}

/// Decodes JSON; a failure names its path.
///
/// Plain `serde_json` first: tracking the path costs a good share of the
/// decoding time of a large page, and almost every body decodes. Only a
/// body that fails is decoded again with `serde_path_to_error`, which
/// fails the same way and says where.
pub(crate) fn decode_json<T: DeserializeOwned>(
    body: &[u8],
    url: &Url,
    context: &str,
    sensitive: bool,
) -> Result<T, Error> {
    match mdm_mapping::lenient::from_json_bytes(body) {
        Ok(v) => Ok(v),
        Err(_) => decode_json_with_path(body, url, context, sensitive),
    }
}

/// Decodes JSON with `serde_path_to_error`, so a failure names its path.
fn decode_json_with_path<T: DeserializeOwned>(
    body: &[u8],
    url: &Url,
    context: &str,
    sensitive: bool,
) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let result: Result<T, (String, serde_json::Error)> =
        match serde_path_to_error::deserialize(&mut de) {
            Ok(v) => de.end().map(|()| v).map_err(|e| (".".to_string(), e)),
            Err(e) => Err((e.path().to_string(), e.into_inner())),
        };
    result.map_err(|(path, inner)| {
        let looks_html = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<');
        let message = if looks_html {
            "the server sent an HTML page, not JSON (is the base URL right?)".to_string()
        } else if sensitive {
            let what = match inner.classify() {
                serde_json::error::Category::Io => "read error",
                serde_json::error::Category::Syntax => "malformed JSON",
                serde_json::error::Category::Data => "unexpected value or missing field",
                serde_json::error::Category::Eof => "truncated JSON",
            };
            format!("{what} at line {} column {}", inner.line(), inner.column())
        } else {
            inner.to_string()
        };
        Error::Decode(Box::new(DecodeError {
            url: url.clone(),
            context: context.to_string(),
            path,
            message,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        #[serde(rename = "totalCount")]
        total_count: u64,
        results: Vec<Item>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: String,
        hardware: Hw,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Hw {
        #[serde(rename = "coreCount")]
        core_count: i64,
    }

    fn url() -> Url {
        Url::parse("https://h.example/api/v1/x?page=3").unwrap()
    }

    #[test]
    fn decode_errors_name_the_path() {
        let body = br#"{"totalCount":2,"results":[{"id":"1","hardware":{"coreCount":4}},{"id":"2","hardware":{"coreCount":"many"}}]}"#;
        let e = decode_json::<Page>(body, &url(), "page 3", false).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("results[1].hardware.coreCount"), "{s}");
        assert!(s.contains("page 3") && s.contains("page=3"), "{s}");
    }

    /// The plain decoding fails exactly when the path-tracking one does,
    /// and a failure is the path-tracking one's error.
    #[test]
    fn the_fast_path_fails_as_the_path_tracking_decode() {
        let bodies: [&[u8]; 7] = [
            br#"{"totalCount":1,"results":[{"id":"1","hardware":{"coreCount":4}}]}"#,
            br#"{"totalCount":2,"results":[{"id":"1","hardware":{"coreCount":4}},{"id":"2","hardware":{"coreCount":"many"}}]}"#,
            br#"{"totalCount":1,"results":[{"hardware":{"coreCount":4}}]}"#,
            br#"{"totalCount":1,"results":[]} x"#,
            br#"{"totalCount":1,"results":[{"id":"1","hardware":{"coreCount":4}"#,
            b"<html><p>Login</p></html>",
            b"",
        ];
        for body in bodies {
            let fast = decode_json::<Page>(body, &url(), "page 3", false);
            let slow = decode_json_with_path::<Page>(body, &url(), "page 3", false);
            match (fast, slow) {
                (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn sensitive_decode_quotes_no_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            expires_in: u64,
        }
        let body = br#"{"access_token":"tok-SECRET","expires_in":"tok-SECRET"}"#;
        let e = decode_json::<T>(body, &url(), "token", true).unwrap_err();
        let s = format!("{e} {e:?}");
        assert!(!s.contains("SECRET"), "{s}");
        assert!(s.contains("expires_in"), "{s}");
    }

    #[test]
    fn html_instead_of_json_is_explained() {
        let e =
            decode_json::<Page>(b"<html><p>Login</p></html>", &url(), "page", false).unwrap_err();
        assert!(e.to_string().contains("HTML page"), "{e}");
        let e = decode_json::<Page>(b"{\"totalCount\":1,\"results\":[]} x", &url(), "p", false)
            .unwrap_err();
        assert!(e.to_string().contains("trailing"), "{e}");
    }
}
