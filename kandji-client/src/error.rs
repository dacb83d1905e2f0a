//! The client's error type and the parsed forms of Kandji error bodies.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use mdm_mapping::net::UrlError;
use mdm_mapping::{SourceError, SourceErrorKind, Vendor};

use crate::endpoint::Endpoint;

/// Everything that can go wrong talking to Kandji.
///
/// HTTP failures keep the status, the parsed body ([`ErrorBody`]) and the raw
/// body text, so nothing the server said is lost. The API token never
/// appears in any variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is misconfigured (no token, bad subdomain, …).
    #[error("invalid Kandji client configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },

    /// The base URL is unusable (not https, not a URL, …).
    #[error(transparent)]
    Url(#[from] UrlError),

    /// HTTP 401 or 403: the token is wrong, revoked or expired, or lacks the
    /// permission the endpoint needs. The message names that permission.
    #[error("{}", auth_message(*status, *endpoint, body))]
    Auth {
        /// 401 or 403.
        status: u16,
        /// The operation that was refused.
        endpoint: Endpoint,
        /// The parsed error body.
        body: ErrorBody,
        /// The error body as sent.
        raw: String,
    },

    /// HTTP 429 until the retries ran out.
    #[error(
        "Kandji rate limit: {endpoint} was answered 429 Too Many Requests {attempts} time(s){}{}",
        retry_after.map(|d| format!("; the server asked to wait {}s", d.as_secs_f64())).unwrap_or_default(),
        body.suffix()
    )]
    RateLimited {
        /// The operation that was limited.
        endpoint: Endpoint,
        /// How long the last response asked to wait (`Retry-After`, else
        /// `Ratelimit-Reset`).
        retry_after: Option<Duration>,
        /// How many times the request was sent.
        attempts: u32,
        /// The parsed error body.
        body: ErrorBody,
        /// The error body as sent.
        raw: String,
    },

    /// Any other HTTP error status.
    #[error("{endpoint} failed with HTTP {status}{}{}", body.suffix(), api_hint(*status, *endpoint, body))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The operation that failed.
        endpoint: Endpoint,
        /// `Retry-After` (or `Ratelimit-Reset`), when the server sent one.
        retry_after: Option<Duration>,
        /// The parsed error body.
        body: ErrorBody,
        /// The error body as sent.
        raw: String,
    },

    /// The request could not be sent or the response not read (connection
    /// refused or reset, DNS, TLS, timeout).
    #[error("request {endpoint} failed: {source}")]
    Transport {
        /// The operation that failed.
        endpoint: Endpoint,
        /// Whether the failure happened before anything reached the server
        /// (connection errors).
        before_send: bool,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// A successful response whose body is not what the endpoint returns.
    #[error(
        "could not decode the response of {endpoint}{}: at JSON path `{path}`: {source}{}",
        page.as_deref().map(|p| format!(" ({p})")).unwrap_or_default(),
        if *html { "; the body is an HTML page, not JSON: is the base URL the tenant's API URL (SUBDOMAIN.api.kandji.io), not its web console?" } else { "" }
    )]
    Decode {
        /// The operation whose response failed to decode.
        endpoint: Endpoint,
        /// Which page (`offset 300`, `cursor …`), for paged listings.
        page: Option<String>,
        /// Where in the document decoding failed (`[12].user.id`; `.` for
        /// the document itself).
        path: String,
        /// Whether the body looks like HTML.
        html: bool,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// The server's paging made no progress (a page of nothing but devices
    /// already listed, a repeated cursor or `next` link): the listing
    /// stopped there instead of requesting forever.
    #[error(transparent)]
    NoProgress(Box<mdm_mapping::NoProgress>),
}

impl Error {
    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Auth { status, .. } | Error::Api { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The operation that failed, when the error came from one.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Error::Auth { endpoint, .. }
            | Error::RateLimited { endpoint, .. }
            | Error::Api { endpoint, .. }
            | Error::Transport { endpoint, .. }
            | Error::Decode { endpoint, .. } => Some(*endpoint),
            _ => None,
        }
    }

    /// The parsed error body, for HTTP errors.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Auth { body, .. }
            | Error::RateLimited { body, .. }
            | Error::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The raw error body, for HTTP errors.
    pub fn raw_body(&self) -> Option<&str> {
        match self {
            Error::Auth { raw, .. } | Error::RateLimited { raw, .. } | Error::Api { raw, .. } => {
                Some(raw)
            }
            _ => None,
        }
    }

    /// How long the server asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this is a 401/403.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { status: 404, .. })
    }

    /// The [`SourceErrorKind`] a [`DeviceSource`](mdm_mapping::DeviceSource) reports.
    pub fn kind(&self) -> SourceErrorKind {
        match self {
            Error::Config { .. } | Error::Url(_) => SourceErrorKind::Config,
            Error::Auth { .. } => SourceErrorKind::Auth,
            Error::RateLimited { .. } => SourceErrorKind::RateLimited,
            Error::Api { .. } => SourceErrorKind::Api,
            Error::Transport { .. } => SourceErrorKind::Transport,
            Error::Decode { .. } => SourceErrorKind::Decode,
            Error::NoProgress(_) => SourceErrorKind::NoProgress,
        }
    }

    /// A [`NoProgress`](Error::NoProgress) error for `endpoint` at `page`,
    /// logged once as a warning.
    pub(crate) fn no_progress(
        endpoint: Endpoint,
        page: String,
        reason: mdm_mapping::NoProgressReason,
    ) -> Self {
        let e = mdm_mapping::NoProgress {
            vendor: Vendor::Kandji,
            endpoint: endpoint.to_string(),
            page,
            reason,
        };
        tracing::warn!(%e, "stopping a listing that makes no progress");
        Error::NoProgress(Box::new(e))
    }

    /// What a person can do about this error, when it is one a user meets
    /// first: a token that is wrong or for another region, a missing
    /// permission (the message names it), a TLS failure, a server that is
    /// down or unreachable. The `mdm` command prints it after the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Auth { status: 401, .. } => Some(
                "a Kandji token works only on its own tenant and region: check that KANDJI_URL is \
                 the tenant's API URL (SUBDOMAIN.api.kandji.io in the US, SUBDOMAIN.api.eu.kandji.io \
                 in the EU) and that KANDJI_TOKEN is a current token of that tenant"
                    .into(),
            ),
            Error::Auth { .. } => None, // the message names the permission
            Error::Api { status, .. } => {
                mdm_mapping::net::server_down_hint(*status).map(str::to_string)
            }
            Error::Transport { source, .. } => {
                mdm_mapping::net::transport_hint(source, "KANDJI_URL")
            }
            _ => None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }
}

impl From<Error> for SourceError {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        let retry_after = e.retry_after();
        let hint = e.hint();
        SourceError::new(Vendor::Kandji, kind, e)
            .with_retry_after(retry_after)
            .with_hint(hint)
    }
}

fn auth_message(status: u16, endpoint: Endpoint, body: &ErrorBody) -> String {
    let lacks = format!(
        "token lacks the '{}' permission ({endpoint})",
        endpoint.permission()
    );
    let advice = "grant it in Kandji under Access > API tokens";
    if status == 401 {
        format!(
            "Kandji rejected the API token (HTTP 401): the token is wrong, revoked or expired, or the {lacks}; check the token, or {advice}{}",
            body.suffix()
        )
    } else {
        format!(
            "Kandji refused the request (HTTP {status}): the {lacks}; {advice}{}",
            body.suffix()
        )
    }
}

fn api_hint(status: u16, endpoint: Endpoint, body: &ErrorBody) -> &'static str {
    match (status, endpoint) {
        (
            404,
            Endpoint::ListDevices
            | Endpoint::ListUsers
            | Endpoint::ListTags
            | Endpoint::ListBlueprints,
        ) => "; a 404 on a listing usually means a wrong subdomain or region in the base URL",
        (404, _) if matches!(body, ErrorBody::Html { .. }) => {
            "; the server answered with an HTML page: check the base URL"
        }
        _ => "",
    }
}

/// A Kandji error body, in the shapes seen in Kandji's docs and live
/// responses. Bodies are not assumed to be JSON.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// No body.
    Empty,
    /// Django REST framework's `{"detail": "Not found."}`.
    Detail(String),
    /// `{"message": "..."}` (the gateway's 429) or `{"error": "..."}`.
    Message(String),
    /// Field errors: `{"dep_account": ["Enter a valid UUID."]}`.
    Fields(BTreeMap<String, Vec<String>>),
    /// A bare JSON string: `"This device is already locked."`.
    String(String),
    /// A JSON list of messages: `["Device is not in lost mode."]`.
    List(Vec<String>),
    /// Any other JSON.
    Json(serde_json::Value),
    /// An HTML page (a 404 from the web server, a proxy error page).
    Html {
        /// The page's `<title>` (or first `<h1>`), if it has one.
        title: Option<String>,
    },
    /// Any other text.
    Text(String),
}

impl ErrorBody {
    /// Parses an error body of any shape. Never fails: unknown shapes
    /// become [`ErrorBody::Json`] or [`ErrorBody::Text`].
    pub fn parse(raw: &str) -> ErrorBody {
        let t = raw.trim();
        if t.is_empty() {
            return ErrorBody::Empty;
        }
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(t) {
            return Self::from_json(json);
        }
        let lower = t.get(..t.len().min(512)).unwrap_or(t).to_ascii_lowercase();
        if lower.starts_with("<!doctype html")
            || lower.starts_with("<html")
            || lower.contains("<body")
        {
            return ErrorBody::Html {
                title: html_title(t),
            };
        }
        ErrorBody::Text(t.to_string())
    }

    fn from_json(json: serde_json::Value) -> ErrorBody {
        use serde_json::Value as J;
        match json {
            J::Null => ErrorBody::Empty,
            J::String(s) => ErrorBody::String(s),
            J::Array(items) if items.iter().all(J::is_string) => ErrorBody::List(
                items
                    .into_iter()
                    .filter_map(|i| match i {
                        J::String(s) => Some(s),
                        _ => None,
                    })
                    .collect(),
            ),
            J::Object(map) => {
                for key in ["detail", "message", "error"] {
                    if map.len() == 1
                        && let Some(J::String(s)) = map.get(key)
                    {
                        return if key == "detail" {
                            ErrorBody::Detail(s.clone())
                        } else {
                            ErrorBody::Message(s.clone())
                        };
                    }
                }
                if let Some(J::String(s)) = map.get("detail") {
                    return ErrorBody::Detail(s.clone());
                }
                let fields: Option<BTreeMap<String, Vec<String>>> = map
                    .iter()
                    .map(|(k, v)| {
                        let msgs = match v {
                            J::String(s) => Some(vec![s.clone()]),
                            J::Array(items) => items
                                .iter()
                                .map(|i| i.as_str().map(str::to_string))
                                .collect(),
                            _ => None,
                        };
                        msgs.map(|m| (k.clone(), m))
                    })
                    .collect();
                match fields {
                    Some(f) if !f.is_empty() => ErrorBody::Fields(f),
                    _ => ErrorBody::Json(J::Object(map)),
                }
            }
            other => ErrorBody::Json(other),
        }
    }

    /// The message(s) in the body as one line, if it has any.
    pub fn message(&self) -> Option<String> {
        match self {
            ErrorBody::Empty => None,
            ErrorBody::Detail(s) | ErrorBody::Message(s) | ErrorBody::String(s) => Some(s.clone()),
            ErrorBody::List(l) => Some(l.join("; ")),
            ErrorBody::Fields(f) => Some(
                f.iter()
                    .map(|(k, v)| format!("{k}: {}", v.join(" ")))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ErrorBody::Json(v) => Some(truncate(&v.to_string(), 300)),
            ErrorBody::Html { title } => Some(match title {
                Some(t) => format!("HTML page \"{t}\""),
                None => "HTML page".to_string(),
            }),
            ErrorBody::Text(t) => Some(truncate(t, 300)),
        }
    }

    fn suffix(&self) -> String {
        self.message().map(|m| format!(": {m}")).unwrap_or_default()
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().as_deref().unwrap_or("(empty body)"))
    }
}

fn truncate(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    for (open, close) in [("<title", "</title>"), ("<h1", "</h1>")] {
        if let Some(start) = lower.find(open)
            && let Some(gt) = lower.get(start..).and_then(|s| s.find('>'))
        {
            let content_start = start + gt + 1;
            if let Some(end) = lower.get(content_start..).and_then(|s| s.find(close)) {
                // ASCII lower-casing keeps byte offsets, so they index `html` too.
                if let Some(t) = html.get(content_start..content_start + end) {
                    let t = t.trim();
                    if !t.is_empty() {
                        return Some(truncate(t, 200));
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seen_shape_parses() {
        assert_eq!(
            ErrorBody::parse(r#"{"detail": "Not found."}"#),
            ErrorBody::Detail("Not found.".into())
        );
        assert_eq!(
            ErrorBody::parse(r#"{"message":"API rate limit exceeded"}"#),
            ErrorBody::Message("API rate limit exceeded".into())
        );
        assert_eq!(
            ErrorBody::parse(r#"{"dep_account": ["Enter a valid UUID."]}"#),
            ErrorBody::Fields(BTreeMap::from([(
                "dep_account".to_string(),
                vec!["Enter a valid UUID.".to_string()]
            )]))
        );
        assert_eq!(
            ErrorBody::parse(r#""This device is already locked.""#),
            ErrorBody::String("This device is already locked.".into())
        );
        assert_eq!(
            ErrorBody::parse(r#"["Device is not in lost mode."]"#),
            ErrorBody::List(vec!["Device is not in lost mode.".into()])
        );
        assert_eq!(
            ErrorBody::parse(
                "<!doctype html><html lang=\"en\"><head><title>Not Found</title></head><body><h1>Not Found</h1></body></html>"
            ),
            ErrorBody::Html {
                title: Some("Not Found".into())
            }
        );
        assert_eq!(ErrorBody::parse("  "), ErrorBody::Empty);
        assert_eq!(
            ErrorBody::parse("upstream connect error"),
            ErrorBody::Text("upstream connect error".into())
        );
        assert!(matches!(ErrorBody::parse("[1,2]"), ErrorBody::Json(_)));
        assert!(matches!(
            ErrorBody::parse(r#"{"a":{"b":1}}"#),
            ErrorBody::Json(_)
        ));
    }

    #[test]
    fn html_title_falls_back_to_h1_and_survives_garbage() {
        assert_eq!(
            html_title("<html><body><h1 class=x> Bad Gateway </h1></body></html>"),
            Some("Bad Gateway".into())
        );
        assert_eq!(html_title("<html><title>"), None);
        assert_eq!(html_title("<TITLE>É</TITLE>"), Some("É".into()));
    }

    #[test]
    fn auth_messages_name_the_permission() {
        let m = auth_message(403, Endpoint::ListDevices, &ErrorBody::Empty);
        assert!(
            m.contains("token lacks the 'Device list' permission (GET /api/v1/devices)"),
            "{m}"
        );
        let m = auth_message(
            401,
            Endpoint::DeviceDetails,
            &ErrorBody::Detail("Invalid token.".into()),
        );
        assert!(m.contains("wrong, revoked or expired"), "{m}");
        assert!(
            m.contains("'Device details' permission (GET /api/v1/devices/{device_id}/details)"),
            "{m}"
        );
        assert!(m.ends_with(": Invalid token."), "{m}");
    }
}
