//! The crate's one error type, [`Error`], and the parsed error bodies Jamf sends.
//!
//! An HTTP error always keeps its status, the request it answered and the
//! body: parsed when it is a Jamf Pro API error (`httpStatus` + `errors[]`)
//! or an OAuth error (`error`, `error_description`), the reason line when it
//! is a Classic API HTML "Status page", and the raw text in every case.
//! Nothing in an error ever holds a credential or a token.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use mdm_mapping::net::UrlError;
use mdm_mapping::{SourceError, SourceErrorKind, Vendor};

/// The most body text an error keeps (the rest is cut off).
const MAX_RAW_BODY: usize = 16 * 1024;

/// Everything that can go wrong talking to Jamf Pro.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is unusable (bad base URL, no credentials).
    #[error("invalid Jamf client configuration: {0}")]
    Config(#[from] ConfigError),

    /// The server answered an API request with an error status.
    #[error("{0}")]
    Api(Box<HttpError>),

    /// The token endpoint refused to issue a token (bad client id or secret,
    /// wrong password, expired password), or failed.
    #[error("Jamf authentication failed: {0}")]
    Auth(Box<HttpError>),

    /// The server answered with a redirect. Redirects are never followed,
    /// so credentials cannot leak to another host; usually the base URL is
    /// wrong (`http://` instead of `https://`, a missing path, an SSO page).
    #[error("{0}")]
    Redirect(Box<RedirectError>),

    /// The request did not complete: DNS, connection refused or reset, TLS,
    /// timeout.
    #[error("{0}")]
    Transport(Box<TransportError>),

    /// A response arrived but its body is not what the API documents.
    #[error("{0}")]
    Decode(Box<DecodeError>),

    /// An argument cannot be sent to Jamf (an empty id, a page size of 0).
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The server's paging made no progress (a page of nothing but records
    /// already listed, or an empty page where `totalCount` promised more):
    /// the listing stopped there instead of requesting forever.
    #[error(transparent)]
    NoProgress(Box<mdm_mapping::NoProgress>),
}

/// A redirect answer (see [`Error::Redirect`]).
#[derive(Debug, thiserror::Error)]
#[error(
    "{method} {url}: the server redirected (HTTP {}) to {}; redirects are not followed, check the base URL",
    status.as_u16(),
    location.as_deref().unwrap_or("an unnamed location")
)]
#[non_exhaustive]
pub struct RedirectError {
    /// The request method.
    pub method: Method,
    /// The URL requested.
    pub url: Url,
    /// The 3xx status.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

/// A request that did not complete (see [`Error::Transport`]).
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {}: {source}", transport_kind(source))]
#[non_exhaustive]
pub struct TransportError {
    /// The request method.
    pub method: Method,
    /// The URL requested.
    pub url: Url,
    /// What reqwest reported.
    #[source]
    pub source: reqwest::Error,
}

/// A body that could not be decoded (see [`Error::Decode`]).
#[derive(Debug, thiserror::Error)]
#[error("could not decode {context} from {url}: at JSON path `{path}`: {message}")]
#[non_exhaustive]
pub struct DecodeError {
    /// The URL that answered (with its query, so the page is named).
    pub url: Url,
    /// What was being read ("computer inventory page 3", "OAuth token response").
    pub context: String,
    /// The JSON path that failed (`results[3].hardware.coreCount`), `.` for the root.
    pub path: String,
    /// Why it failed. For token responses this never quotes values.
    pub message: String,
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "failed reading the response"
    } else {
        "request failed"
    }
}

impl Error {
    /// The HTTP status of an API, authentication or redirect error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) | Error::Auth(e) => Some(e.status),
            Error::Redirect(r) => Some(r.status),
            Error::Transport(t) => t.source.status(),
            _ => None,
        }
    }

    /// How long the server asked us to wait (`Retry-After`, seconds or an
    /// HTTP date), if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) | Error::Auth(e) => e.retry_after,
            _ => None,
        }
    }

    /// Whether the same request may succeed later: HTTP 408, 429, 502, 503,
    /// 504, and failures to connect or time-outs.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) | Error::Auth(e) => {
                mdm_mapping::net::is_retryable_status(e.status.as_u16())
            }
            Error::Transport(t) => t.source.is_connect() || t.source.is_timeout(),
            _ => false,
        }
    }

    /// Whether the failure is about credentials or privileges: the token
    /// endpoint refused, or an API call answered 401 or 403.
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Auth(_) => true,
            Error::Api(e) => matches!(e.status.as_u16(), 401 | 403),
            _ => false,
        }
    }

    /// The parsed error body of an API or authentication error.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Api(e) | Error::Auth(e) => Some(&e.body),
            _ => None,
        }
    }

    /// The [`SourceErrorKind`] this error is, for [`DeviceSource`](mdm_mapping::DeviceSource) callers.
    pub fn source_kind(&self) -> SourceErrorKind {
        match self {
            Error::Config(_) | Error::Redirect(_) | Error::InvalidArgument { .. } => {
                SourceErrorKind::Config
            }
            Error::Auth(e) if e.status.as_u16() == 429 => SourceErrorKind::RateLimited,
            Error::Auth(_) => SourceErrorKind::Auth,
            Error::Api(e) => match e.status.as_u16() {
                401 | 403 => SourceErrorKind::Auth,
                429 => SourceErrorKind::RateLimited,
                _ => SourceErrorKind::Api,
            },
            Error::Transport(_) => SourceErrorKind::Transport,
            Error::Decode(_) => SourceErrorKind::Decode,
            Error::NoProgress(_) => SourceErrorKind::NoProgress,
        }
    }

    /// What a person can do about this error, when it is one a user meets
    /// first: wrong credentials, a missing privilege (named), a TLS
    /// failure, a server that is down or unreachable. The `mdm` command
    /// prints it after the error ([`SourceError::hint`]).
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Auth(e) => {
                let path = e.url.path();
                if e.status.is_server_error() {
                    mdm_mapping::net::server_down_hint(e.status.as_u16()).map(str::to_string)
                } else if path.ends_with("/oauth/token") {
                    Some(
                        "check JAMF_CLIENT_ID and JAMF_CLIENT_SECRET: in Jamf Pro (Settings > API roles \
                         and clients) the API client must exist, be enabled and have this secret"
                            .into(),
                    )
                } else {
                    Some(
                        "check JAMF_USERNAME and JAMF_PASSWORD (the account must be enabled; an expired \
                         password must first be changed in Jamf Pro)"
                            .into(),
                    )
                }
            }
            Error::Api(e) => match e.status.as_u16() {
                401 => Some(
                    "Jamf refused the credentials: check them, and that the API client or account is \
                     enabled"
                        .into(),
                ),
                403 => Some(format!(
                    "the API role or account lacks the {} privilege: add it in Jamf Pro (Settings > \
                     API roles and clients, or the account's privilege set) and run again",
                    privilege_for(e.url.path())
                )),
                s => mdm_mapping::net::server_down_hint(s).map(str::to_string),
            },
            Error::Transport(t) => mdm_mapping::net::transport_hint(&t.source, "JAMF_URL"),
            _ => None,
        }
    }

    pub(crate) fn transport(method: &Method, url: &Url, source: reqwest::Error) -> Error {
        Error::Transport(Box::new(TransportError {
            method: method.clone(),
            url: url.clone(),
            source: source.without_url(),
        }))
    }
}

impl From<Error> for SourceError {
    fn from(e: Error) -> Self {
        let kind = e.source_kind();
        let retry_after = e.retry_after();
        let hint = e.hint();
        SourceError::new(Vendor::Jamf, kind, e)
            .with_retry_after(retry_after)
            .with_hint(hint)
    }
}

/// The Jamf Pro privilege an API path needs (quoted), for a 403's hint.
fn privilege_for(path: &str) -> &'static str {
    const PRIVILEGES: &[(&str, &str)] = &[
        ("filevault", "\"View Disk Encryption Recovery Key\""),
        ("recovery-lock-password", "\"View Recovery Lock\""),
        ("computers-inventory", "\"Read Computers\""),
        ("computers", "\"Read Computers\""),
        ("mobile-devices", "\"Read Mobile Devices\""),
        ("mobiledevices", "\"Read Mobile Devices\""),
        ("users", "\"Read Users\""),
        ("sites", "\"Read Sites\""),
        ("buildings", "\"Read Buildings\""),
        ("departments", "\"Read Departments\""),
        ("accounts", "\"Read Accounts\""),
    ];
    let path = path.to_ascii_lowercase();
    PRIVILEGES
        .iter()
        .find(|(part, _)| path.contains(part))
        .map(|(_, p)| *p)
        .unwrap_or("read privilege for this endpoint")
}

/// A configuration the builder refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL is not usable (not a URL, `http://` to a non-loopback
    /// host, a query string or credentials in it).
    #[error(transparent)]
    Url(#[from] UrlError),
    /// Neither client credentials nor a username and password were given.
    #[error(
        "no credentials: call .client_credentials(id, secret), .user_password(user, password) or .bearer_token(token)"
    )]
    MissingCredentials,
    /// A setting is out of range.
    #[error("{name}: {reason}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// reqwest could not build the HTTP client (TLS backend unavailable).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// An HTTP error answer: what was asked, the status, and the body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpError {
    /// The request method.
    pub method: Method,
    /// The URL requested.
    pub url: Url,
    /// The status the server answered with.
    pub status: StatusCode,
    /// The body, parsed where Jamf documents its shape.
    pub body: ErrorBody,
    /// The server's `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// The body text as received (cut at 16 KiB).
    pub raw: String,
}

impl HttpError {
    pub(crate) fn new(
        method: Method,
        url: Url,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> HttpError {
        let text = String::from_utf8_lossy(body);
        let raw = truncate(&text, MAX_RAW_BODY).to_string();
        HttpError {
            method,
            url,
            status,
            body: ErrorBody::parse(&text),
            retry_after,
            raw,
        }
    }

    /// The Jamf error codes in the body (`INVALID_TOKEN`, …).
    pub fn codes(&self) -> Vec<&str> {
        match &self.body {
            ErrorBody::Jamf(e) => e.errors.iter().filter_map(|d| d.code.as_deref()).collect(),
            ErrorBody::OAuth(e) => vec![e.error.as_str()],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} returned HTTP {}",
            self.method,
            self.url,
            self.status.as_u16()
        )?;
        if let Some(reason) = self.status.canonical_reason() {
            write!(f, " {reason}")?;
        }
        match &self.body {
            ErrorBody::Empty => Ok(()),
            body => write!(f, ": {body}"),
        }
    }
}

/// An error body, parsed where its shape is known.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// A Jamf Pro API error (`{"httpStatus":401,"errors":[…]}`).
    Jamf(JamfApiError),
    /// An OAuth token endpoint error (`{"error":"invalid_client",…}`).
    OAuth(OAuthError),
    /// An HTML page (the Classic API's Restlet "Status page", a proxy page).
    Html {
        /// The reason line: the Status page's second paragraph
        /// ("Error: Duplicate name"), else its first, else the title.
        reason: Option<String>,
    },
    /// Some other JSON document.
    Json(serde_json::Value),
    /// Text that is not JSON or HTML.
    Text(String),
    /// No body.
    Empty,
}

impl ErrorBody {
    /// Parses an error body. Never fails: what is not understood is kept as text.
    pub fn parse(text: &str) -> ErrorBody {
        let t = text.trim();
        if t.is_empty() {
            return ErrorBody::Empty;
        }
        if (t.starts_with('{') || t.starts_with('['))
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
        {
            if (v.get("httpStatus").is_some() || v.get("errors").is_some())
                && let Ok(e) = serde_json::from_value::<JamfApiError>(v.clone())
            {
                return ErrorBody::Jamf(e);
            }
            if v.get("error").is_some_and(|e| e.is_string())
                && let Ok(e) = serde_json::from_value::<OAuthError>(v.clone())
            {
                return ErrorBody::OAuth(e);
            }
            return ErrorBody::Json(v);
        }
        if t.starts_with('<') || t.to_ascii_lowercase().contains("<html") {
            return ErrorBody::Html {
                reason: html_reason(t),
            };
        }
        ErrorBody::Text(truncate(t, 500).to_string())
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorBody::Jamf(e) => write!(f, "{e}"),
            ErrorBody::OAuth(e) => write!(f, "{e}"),
            ErrorBody::Html { reason: Some(r) } => write!(f, "{r}"),
            ErrorBody::Html { reason: None } => f.write_str("an HTML error page"),
            ErrorBody::Json(v) => write!(f, "{}", truncate(&v.to_string(), 300)),
            ErrorBody::Text(t) => write!(f, "{}", truncate(t, 300)),
            ErrorBody::Empty => f.write_str("no body"),
        }
    }
}

/// The Jamf Pro API error body (`ApiError` in Jamf's schema).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JamfApiError {
    /// The HTTP status Jamf put in the body.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub http_status: Option<i64>,
    /// The individual errors (may be empty: `{"httpStatus":500,"errors":[]}`).
    #[serde(default, deserialize_with = "crate::de::vec_or_null")]
    pub errors: Vec<JamfErrorDetail>,
}

impl fmt::Display for JamfApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.is_empty() {
            return f.write_str("no error details");
        }
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// One entry of a Jamf Pro API error body. Every field may be null.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JamfErrorDetail {
    /// A machine-readable code (`INVALID_TOKEN`), often null.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub code: Option<String>,
    /// The field the error is about, often null.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub field: Option<String>,
    /// The human-readable description.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub description: Option<String>,
    /// The id of the object the error is about, often null.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub id: Option<String>,
}

impl fmt::Display for JamfErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.description) {
            (Some(c), Some(d)) => write!(f, "{c}: {}", truncate(d, 300))?,
            (Some(c), None) => f.write_str(c)?,
            (None, Some(d)) => f.write_str(truncate(d, 300))?,
            (None, None) => f.write_str("unspecified error")?,
        }
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

/// An OAuth 2.0 token endpoint error (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthError {
    /// The error code: `invalid_client`, `invalid_grant`, `invalid_scope`, …
    pub error: String,
    /// The description, if any.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub error_description: Option<String>,
    /// A documentation link, if any.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub error_uri: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)?;
        if let Some(d) = &self.error_description {
            write!(f, ": {}", truncate(d, 300))?;
        }
        Ok(())
    }
}

/// The reason line of an HTML error page: the second `<p>` of a Restlet
/// "Status page" (the first is the status name), else the first `<p>`, else
/// the `<title>`.
pub(crate) fn html_reason(html: &str) -> Option<String> {
    let paragraphs = elements(html, "p");
    paragraphs
        .get(1)
        .or_else(|| paragraphs.first())
        .cloned()
        .or_else(|| elements(html, "title").into_iter().next())
}

/// The text of every `<tag …>…</tag>` element, tags inside stripped,
/// entities decoded, whitespace collapsed; empty ones skipped.
fn elements(html: &str, tag: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = lower.get(pos..).and_then(|rest| rest.find(&open)) {
        let start = pos + found;
        let after_name = start + open.len();
        // `<p>` or `<p style=…>`, not `<pre>`.
        let next = lower.as_bytes().get(after_name).copied();
        if !matches!(
            next,
            Some(b'>') | Some(b' ') | Some(b'\t') | Some(b'\n') | Some(b'\r')
        ) {
            pos = after_name;
            continue;
        }
        let Some(gt) = lower.get(after_name..).and_then(|r| r.find('>')) else {
            break;
        };
        let body_start = after_name + gt + 1;
        let body_end = lower
            .get(body_start..)
            .and_then(|r| r.find(&close))
            .map(|i| body_start + i)
            .unwrap_or(lower.len());
        if let Some(inner) = html.get(body_start..body_end) {
            let text = collapse(&decode_entities(&strip_tags(inner)));
            if !text.is_empty() {
                out.push(text);
            }
        }
        pos = body_end.max(after_name);
    }
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_PAGE: &str = r#"<html>
<head>
   <title>Status page</title>
</head>
<body style="font-family: sans-serif;">
<p style="font-size: 1.2em;font-weight: bold;margin: 1em 0px;">Conflict</p>
<p>Error: Duplicate name</p>
<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10">here</a>.<br>
Please continue your visit at our <a href="/">home page</a>.
</p>
</body>
</html>"#;

    #[test]
    fn restlet_status_page_reason_is_the_second_paragraph() {
        assert_eq!(
            html_reason(STATUS_PAGE).as_deref(),
            Some("Error: Duplicate name")
        );
        assert_eq!(
            ErrorBody::parse(STATUS_PAGE),
            ErrorBody::Html {
                reason: Some("Error: Duplicate name".into())
            }
        );
        let one = "<?xml version=\"1.0\"?><html><p>Unable to match computer &amp; user</p></html>";
        assert_eq!(
            html_reason(one).as_deref(),
            Some("Unable to match computer & user")
        );
        let title_only = "<html><head><title>502 Bad Gateway</title></head><pre>x</pre></html>";
        assert_eq!(html_reason(title_only).as_deref(), Some("502 Bad Gateway"));
        assert_eq!(html_reason("<html></html>"), None);
        assert_eq!(html_reason("<p>unterminated"), Some("unterminated".into()));
    }

    #[test]
    fn bodies_are_classified() {
        let jamf = r#"{"httpStatus":401,"errors":[{"code":"INVALID_TOKEN","description":"Unauthorized","id":"0","field":null}]}"#;
        match ErrorBody::parse(jamf) {
            ErrorBody::Jamf(e) => {
                assert_eq!(e.http_status, Some(401));
                assert_eq!(e.errors[0].code.as_deref(), Some("INVALID_TOKEN"));
                assert_eq!(e.errors[0].field, None);
                assert_eq!(e.to_string(), "INVALID_TOKEN: Unauthorized");
            }
            other => panic!("{other:?}"),
        }
        match ErrorBody::parse(r#"{"httpStatus":500,"errors":[]}"#) {
            ErrorBody::Jamf(e) => assert!(e.errors.is_empty()),
            other => panic!("{other:?}"),
        }
        match ErrorBody::parse(r#"{"error":"invalid_client","error_description":"bad"}"#) {
            ErrorBody::OAuth(e) => assert_eq!(e.to_string(), "invalid_client: bad"),
            other => panic!("{other:?}"),
        }
        assert_eq!(ErrorBody::parse("  "), ErrorBody::Empty);
        assert_eq!(ErrorBody::parse("oops"), ErrorBody::Text("oops".into()));
        assert!(matches!(ErrorBody::parse("{\"a\":1}"), ErrorBody::Json(_)));
        assert!(matches!(ErrorBody::parse("{not json"), ErrorBody::Text(_)));
    }

    #[test]
    fn errors_are_small() {
        assert!(
            std::mem::size_of::<Error>() <= 48,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
