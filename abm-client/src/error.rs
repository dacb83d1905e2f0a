//! The crate's typed errors.
//!
//! No error ever holds the private key, a client assertion or an access
//! token: token-endpoint error text is redacted before it is stored, and
//! only the OAuth error code and a redacted description are kept.

use std::fmt;
use std::time::Duration;

use mdm_mapping::net::UrlError;
use mdm_mapping::{SourceError, SourceErrorKind, Vendor};
use serde::{Deserialize, Serialize};

use crate::key::KeyError;
use crate::model::de;
use crate::service::Service;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is misconfigured; nothing was sent.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The private key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The token endpoint refused to issue an access token.
    #[error("{0}")]
    Token(Box<TokenError>),
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ErrorResponse>),
    /// The request did not complete: connection refused or reset, timeout,
    /// a body cut short.
    #[error("{request}: {source}")]
    Transport {
        /// Method and path (`GET /v1/orgDevices`), or `token request`.
        request: String,
        /// What the HTTP client reported.
        #[source]
        source: reqwest::Error,
    },
    /// A successful response could not be decoded.
    #[error("{request}: cannot decode the response at `{path}`{}: {source}", cursor_note(.cursor))]
    Decode {
        /// Method and path of the request.
        request: String,
        /// The JSON path of the value that failed (`data[3].id`).
        path: String,
        /// The cursor of the page being read (`None`: the first page or not paged).
        cursor: Option<String>,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// The server's paging made no progress (a cursor already read, or an
    /// empty page that names a next page): the listing stopped there
    /// instead of requesting forever.
    #[error(transparent)]
    NoProgress(Box<mdm_mapping::NoProgress>),
}

fn cursor_note(cursor: &Option<String>) -> String {
    cursor
        .as_deref()
        .map(|c| format!(" (page at cursor {c})"))
        .unwrap_or_default()
}

impl Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(r) => Some(r.status),
            Error::Token(t) => Some(t.status),
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// How long the server asked us to wait (`Retry-After`), if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(r) => r.retry_after,
            Error::Token(t) => t.retry_after,
            _ => None,
        }
    }

    /// The JSON:API error objects of an API error (empty otherwise).
    pub fn api_errors(&self) -> &[ApiError] {
        match self {
            Error::Api(r) => &r.errors,
            _ => &[],
        }
    }

    /// Whether the resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether trying again later may succeed (rate limits, server
    /// overload, network failures).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(r) => mdm_mapping::net::is_retryable_status(r.status),
            Error::Token(t) => mdm_mapping::net::is_retryable_status(t.status),
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// What a person can do about this error, when it is one a user meets
    /// first: a key that expired or was revoked (Apple answers
    /// `invalid_client`, the same as for a wrong Client ID or Key ID), an
    /// API account without access, a TLS failure, a server that is down or
    /// unreachable. The `mdm` command prints it after the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Token(t) if t.error.as_deref() == Some("invalid_client") || t.status == 401 => {
                Some(
                    "the API key may have expired or been revoked (keys expire; Apple gives no other \
                     sign): in Apple Business Manager, Preferences > API, check the key's expiry \
                     date, create a new key if needed, and set ABM_CLIENT_ID, ABM_KEY_ID and \
                     ABM_PRIVATE_KEY to the new key's values"
                        .into(),
                )
            }
            Error::Token(t) => {
                mdm_mapping::net::server_down_hint(t.status).map(str::to_string)
            }
            Error::Api(r) => match r.status {
                401 => Some(
                    "Apple refused the access token: check that the API key is still active in \
                     Apple Business Manager (Preferences > API)"
                        .into(),
                ),
                403 => Some(
                    "the API account has no access to this: check its role in Apple Business Manager \
                     (Preferences > API), and that ABM_CLIENT_ID is a Business (BUSINESSAPI.) or \
                     School (SCHOOLAPI.) id matching the account"
                        .into(),
                ),
                s => mdm_mapping::net::server_down_hint(s).map(str::to_string),
            },
            Error::Transport { source, request } => {
                let var = if request.contains("token") {
                    "ABM_TOKEN_URL"
                } else {
                    "ABM_URL"
                };
                mdm_mapping::net::transport_hint(source, var)
            }
            _ => None,
        }
    }

    /// The kind of failure in the shared vocabulary.
    pub fn kind(&self) -> SourceErrorKind {
        match self {
            Error::Config(_) | Error::Key(_) => SourceErrorKind::Config,
            Error::Token(t) if t.status == 429 => SourceErrorKind::RateLimited,
            Error::Token(t) if t.status >= 500 => SourceErrorKind::Api,
            Error::Token(_) => SourceErrorKind::Auth,
            Error::Api(r) => match r.status {
                401 | 403 => SourceErrorKind::Auth,
                429 => SourceErrorKind::RateLimited,
                _ => SourceErrorKind::Api,
            },
            Error::Transport { .. } => SourceErrorKind::Transport,
            Error::Decode { .. } => SourceErrorKind::Decode,
            Error::NoProgress(_) => SourceErrorKind::NoProgress,
        }
    }
}

impl From<Error> for SourceError {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        let retry_after = e.retry_after();
        let hint = e.hint();
        SourceError::new(Vendor::Abm, kind, e)
            .with_retry_after(retry_after)
            .with_hint(hint)
    }
}

/// A misconfiguration, found before anything is sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The Client ID's prefix names the other service.
    #[error(
        "the Client ID is an {client_id_service} ID ({}…) but the client is configured for {service}; \
         use Service::{} or a {} Client ID",
        client_id_service.client_id_prefix(),
        match client_id_service { Service::Business => "Business", Service::School => "School" },
        service.client_id_prefix()
    )]
    ServiceMismatch {
        /// The service the Client ID's prefix names.
        client_id_service: Service,
        /// The service the client was configured for.
        service: Service,
    },
    /// The Client ID is empty.
    #[error("the Client ID is empty")]
    EmptyClientId,
    /// The Key ID is empty.
    #[error("the Key ID is empty")]
    EmptyKeyId,
    /// The API base URL is not acceptable.
    #[error("API base URL: {0}")]
    BaseUrl(#[source] UrlError),
    /// The token URL is not acceptable.
    #[error("token URL: {0}")]
    TokenUrl(#[source] UrlError),
    /// The client assertion lifetime is out of range.
    #[error("client assertion lifetime {0:?} is out of range (1 minute to 179 days)")]
    AssertionLifetime(Duration),
    /// A rate limit that cannot be built.
    #[error("invalid rate limit: {0}")]
    RateLimit(&'static str),
    /// A page size out of range.
    #[error("page size {0} is out of range (1 to 1000)")]
    Limit(u32),
    /// An id argument is blank.
    #[error("the {0} is blank")]
    BlankId(&'static str),
    /// An activity request Apple would refuse.
    #[error("invalid device activity: {0}")]
    InvalidActivity(String),
    /// An unknown service name.
    #[error("unknown service {0:?} (expected business or school)")]
    UnknownService(String),
    /// A required environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// The token endpoint's refusal (`{"error": "invalid_client", ...}`).
///
/// Only the OAuth error code and a redacted, shortened description are kept:
/// a token endpoint may echo the client assertion back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenError {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error code (`invalid_client`, `invalid_grant`, ...).
    pub error: Option<String>,
    /// The error description, redacted.
    pub description: Option<String>,
    /// How long the endpoint asked us to wait.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the token endpoint refused the client assertion (HTTP {})",
            self.status
        )?;
        if let Some(e) = &self.error {
            write!(f, ": {e}")?;
        }
        if let Some(d) = &self.description {
            write!(f, " ({d})")?;
        }
        if self.error.as_deref() == Some("invalid_client") {
            f.write_str(
                "; check the Client ID, the Key ID, the private key, and that the service \
                 (business or school) matches the account",
            )?;
        }
        Ok(())
    }
}

/// An error status from the API, with what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// The request method.
    pub method: String,
    /// The request path (`/v1/orgDevices/XABC123`).
    pub path: String,
    /// The HTTP status.
    pub status: u16,
    /// The JSON:API error objects, when the body was an error document.
    pub errors: Vec<ApiError>,
    /// The body (shortened) when it was not an error document (an HTML
    /// page from a proxy, plain text).
    pub body: Option<String>,
    /// The `Retry-After` the server sent, parsed.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} returned HTTP {}",
            self.method, self.path, self.status
        )?;
        for (i, e) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{e}")?;
        }
        if self.errors.is_empty()
            && let Some(b) = &self.body
        {
            write!(f, ": {b}")?;
        }
        match self.status {
            401 => f.write_str(" (the access token was refused even after a refresh)")?,
            403 => f.write_str(" (the API account lacks the permission for this request)")?,
            _ => {}
        }
        Ok(())
    }
}

/// One JSON:API error object (`errors[]` of an error document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// A unique id for this occurrence (quote it to Apple).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// The HTTP status, as a string.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
    /// A dotted, machine-readable code (`NOT_FOUND`, `PARAMETER_ERROR.REQUIRED`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<String>,
    /// A short summary.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// The details.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail: Option<String>,
    /// What in the request caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApiErrorSource>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [&self.code, &self.title]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        f.write_str(&parts.join(" "))?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if let Some(s) = &self.source {
            if let Some(p) = &s.pointer {
                write!(f, " [at {p}]")?;
            } else if let Some(p) = &s.parameter {
                write!(f, " [parameter {p}]")?;
            }
        }
        Ok(())
    }
}

/// Where an [`ApiError`] points: a JSON pointer into the request body, or
/// a query parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiErrorSource {
    /// A JSON pointer (`/data/attributes/activityType`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub pointer: Option<String>,
    /// A query parameter name (`limit`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameter: Option<String>,
}

/// A JSON:API error document.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDocument {
    pub(crate) errors: Vec<ApiError>,
}

/// The longest piece of a non-JSON error body kept in an error.
pub(crate) const MAX_BODY_CHARS: usize = 512;

/// Shortens text to `max` characters (on a character boundary), marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    let t = text.trim();
    match t.char_indices().nth(max) {
        Some((i, _)) => format!("{}… [{} bytes in all]", &t[..i], t.len()),
        None => t.to_string(),
    }
}

/// Removes secrets from text a server sent back: each of `secrets`
/// verbatim, and anything shaped like a JWT or JWE (`eyJ…` with dots).
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 8 {
            out = out.replace(s, "[redacted]");
        }
    }
    // JWT/JWE: base64url segments joined by dots, the first starting `eyJ`.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(pos) = rest.find("eyJ") {
        result.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        if candidate.contains('.') && candidate.len() >= 16 {
            result.push_str("[redacted]");
        } else {
            result.push_str(candidate);
        }
        rest = &tail[end..];
    }
    result.push_str(rest);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_secrets_and_jwts() {
        let text = "bad assertion eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln for SECRETVALUE1 eyJ";
        let r = redact(text, &["SECRETVALUE1"]);
        assert_eq!(r, "bad assertion [redacted] for [redacted] eyJ");
    }

    #[test]
    fn truncate_on_char_boundary() {
        assert_eq!(truncate("  abc ", 5), "abc");
        let t = truncate("ééééé", 2);
        assert!(t.starts_with("éé… ["), "{t}");
    }

    #[test]
    fn api_error_display_names_code_title_detail_and_source() {
        let doc: ErrorDocument = serde_json::from_str(
            r#"{"errors":[{"id":"x","status":"400","code":"PARAMETER_ERROR.INVALID","title":"A parameter has an invalid value","detail":"limit must be at most 1000","source":{"parameter":"limit"}}]}"#,
        )
        .expect("decodes");
        let resp = ErrorResponse {
            method: "GET".into(),
            path: "/v1/orgDevices".into(),
            status: 400,
            errors: doc.errors,
            body: None,
            retry_after: None,
        };
        assert_eq!(
            resp.to_string(),
            "GET /v1/orgDevices returned HTTP 400: PARAMETER_ERROR.INVALID A parameter has an invalid value (limit must be at most 1000) [parameter limit]"
        );
    }
}
