//! Building RSQL filters (the `filter` parameter of the Jamf Pro API).
//!
//! RSQL: `==`, `!=`, `<`, `<=`, `>`, `>=`, `=in=(a,b)`, `=out=(…)`; `;` is
//! AND, `,` is OR; `*` is a wildcard in `==`. Values with spaces or special
//! characters must be quoted: always quote what you did not write yourself.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use jamf_client::rsql;
//!
//! let since = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
//! assert_eq!(
//!     rsql::after("general.reportDate", since),
//!     r#"general.reportDate>"2024-01-01T00:00:00Z""#
//! );
//! assert_eq!(rsql::quote(r#"Ana's "Mac""#), r#""Ana's \"Mac\"""#);
//! assert_eq!(
//!     rsql::and(["hardware.model==\"Mac*\"", "general.platform==Mac"]),
//!     "(hardware.model==\"Mac*\");(general.platform==Mac)"
//! );
//! ```

use chrono::{DateTime, SecondsFormat, Utc};

/// `value` in double quotes, with `\` and `"` escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A date-time as Jamf filters expect it: RFC 3339 UTC, whole seconds.
pub fn datetime(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `field` strictly after `dt`: `field>"2024-01-01T00:00:00Z"`.
pub fn after(field: &str, dt: DateTime<Utc>) -> String {
    format!("{field}>{}", quote(&datetime(dt)))
}

/// `field` equal to `value` (quoted): `field=="value"`.
pub fn eq(field: &str, value: &str) -> String {
    format!("{field}=={}", quote(value))
}

/// All of `clauses` (AND), each in parentheses so an OR inside one keeps
/// its meaning. Empty clauses are skipped; one clause is returned as is.
pub fn and<I, S>(clauses: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let parts: Vec<String> = clauses
        .into_iter()
        .map(|c| c.as_ref().trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(";"),
    }
}
