//! Normalization rules applied to every value a source reports.
//!
//! Each function returns `None` for "no value": an empty string, a placeholder,
//! a sentinel or anything that cannot be read as the wanted kind. None of them
//! panics on any input.
//!
//! | kind | rule |
//! |---|---|
//! | text | trimmed; empty or whitespace-only is no value |
//! | serial number | upper case, no whitespace; placeholders (`Not Available`, `0`, `To Be Filled By O.E.M.`, …) are no value |
//! | MAC address | lower-case, six colon-separated octets; `-`, `.` or no separators accepted |
//! | email | trimmed, lower case, must contain one `@` with text on both sides |
//! | date-time | RFC 3339 UTC, whole seconds, `Z` (`2024-01-26T16:15:36Z`) from every vendor format |
//! | date | `YYYY-MM-DD` |
//! | boolean | from booleans, `"True"`/`"false"`, `"Yes"`/`"No"`, `1`/`0` |
//! | count | negative (`-1`, "not reported") is no value |
//! | measured quantity | `0` and negative are no value |
//! | id | a string; numbers become strings; `-1` (Jamf's "none") is no value |
//! | list | items trimmed, empties and repeats dropped; an empty list is no value |
//!
//! ```
//! use mdm_mapping::normalize;
//! assert_eq!(normalize::serial(" c02x k1ab jg5h "), Some("C02XK1ABJG5H".into()));
//! assert_eq!(normalize::mac("A4-83-E7-0B-1C-2D"), Some("a4:83:e7:0b:1c:2d".into()));
//! assert_eq!(
//!     normalize::datetime("2024-01-26 16:15:36.087016+00:00"),
//!     Some("2024-01-26T16:15:36Z".into())
//! );
//! assert_eq!(normalize::boolean_str("Yes"), Some(true));
//! ```

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use compact_str::CompactString;

/// Placeholder serial numbers that mean "no serial" (compared case-insensitively,
/// ignoring whitespace).
pub const PLACEHOLDER_SERIALS: &[&str] = &[
    "Not Available",
    "N/A",
    "NA",
    "None",
    "Null",
    "Unknown",
    "Not Specified",
    "Undefined",
    "Default",
    "0",
    "-",
    "System Serial Number",
    "To Be Filled By O.E.M.",
    "Default string",
    "123456789",
    "0123456789",
    "1234567890",
];

/// Trimmed text; `None` when empty or whitespace-only.
pub fn text(raw: &str) -> Option<String> {
    text_compact(raw).map(String::from)
}

/// [`text`] as a record holds it: up to 24 bytes inline, no allocation.
pub(crate) fn text_compact(raw: &str) -> Option<CompactString> {
    let t = raw.trim();
    (!t.is_empty()).then(|| CompactString::from(t))
}

/// Whether `raw` is a placeholder serial (see [`PLACEHOLDER_SERIALS`]): it
/// has characters but names no device. Empty input is not a placeholder
/// (it is simply no value).
pub fn is_placeholder_serial(raw: &str) -> bool {
    let squashed = squash_upper(raw);
    if squashed.is_empty() {
        return false;
    }
    squashed.chars().all(|c| c == '0')
        || squashed_placeholders()
            .iter()
            .any(|p| p.as_str() == squashed.as_ref())
}

/// [`PLACEHOLDER_SERIALS`], squashed and upper-cased once.
pub(crate) fn squashed_placeholders() -> &'static [String] {
    static P: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        PLACEHOLDER_SERIALS
            .iter()
            .map(|p| squash_upper(p).into_owned())
            .collect()
    })
}

/// Without whitespace, upper case; borrowed when already so (the common
/// case of a serial as vendors send it).
fn squash_upper(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b.is_ascii_lowercase())
    {
        return std::borrow::Cow::Borrowed(raw);
    }
    std::borrow::Cow::Owned(
        raw.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect(),
    )
}

/// A serial number: upper case with no whitespace. Placeholders are no value.
pub fn serial(raw: &str) -> Option<String> {
    serial_compact(raw).map(String::from)
}

/// [`serial`] as a record holds it (inline, no allocation, when short).
pub(crate) fn serial_compact(raw: &str) -> Option<CompactString> {
    let s = squash_upper(raw);
    (!s.is_empty() && !is_placeholder_serial(&s)).then(|| CompactString::from(&*s))
}

/// A MAC address as six lower-case, colon-separated octets.
///
/// Accepts `:` or `-` separated octets (one or two hex digits each, so
/// `a4:83:e7:b:1c:2d` reads as `a4:83:e7:0b:1c:2d`), Cisco dotted form
/// (`a483.e70b.1c2d`) and twelve bare hex digits. The all-zero address is no
/// value. Anything else is no value.
pub fn mac(raw: &str) -> Option<String> {
    mac_compact(raw).map(String::from)
}

/// [`mac`] as a record holds it: inline, no allocation.
pub(crate) fn mac_compact(raw: &str) -> Option<CompactString> {
    let t = raw.trim();
    // Read into six octets without allocating: this runs for several
    // fields of every device of every source.
    let mut octets = [0u8; 6];
    if t.contains(':') || t.contains('-') {
        let sep = if t.contains(':') { ':' } else { '-' };
        let mut parts = t.split(sep);
        for o in &mut octets {
            let p = parts.next()?;
            if !(1..=2).contains(&p.len()) || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            *o = u8::from_str_radix(p, 16).ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
    } else {
        // Twelve hex digits, bare or as Cisco's three dotted groups of four.
        let mut digits = [0u8; 12];
        let mut n = 0;
        if t.contains('.') {
            let mut groups = 0;
            for g in t.split('.') {
                groups += 1;
                if groups > 3 || g.len() != 4 {
                    return None;
                }
                for c in g.bytes() {
                    *digits.get_mut(n)? = c;
                    n += 1;
                }
            }
            if groups != 3 {
                return None;
            }
        } else {
            if t.len() != 12 {
                return None;
            }
            for c in t.bytes() {
                *digits.get_mut(n)? = c;
                n += 1;
            }
        }
        if n != 12 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        for (o, pair) in octets.iter_mut().zip(digits.chunks_exact(2)) {
            *o = (hex_digit(pair[0]) << 4) | hex_digit(pair[1]);
        }
    }
    if octets.iter().all(|o| *o == 0) {
        return None;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b':'; 17];
    for (o, at) in octets.iter().zip(text.chunks_mut(3)) {
        at[0] = HEX[usize::from(o >> 4)];
        at[1] = HEX[usize::from(o & 0xf)];
    }
    std::str::from_utf8(&text).ok().map(CompactString::from)
}

/// The value of an ASCII hex digit (callers check it is one).
fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// An email address: trimmed and lower case. Text without exactly one `@`
/// with something on each side, or with whitespace inside, is no value.
pub fn email(raw: &str) -> Option<String> {
    let t = raw.trim().to_lowercase();
    let (local, domain) = t.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return None;
    }
    if t.chars().any(char::is_whitespace) {
        return None;
    }
    Some(t)
}

/// [`email`] of text that is usually already one: kept without a copy
/// when it is (trimmed, lower-case ASCII).
pub(crate) fn email_owned(raw: String) -> Option<String> {
    if plain_email(&raw) {
        Some(raw)
    } else {
        email(&raw)
    }
}

/// [`email`] as a record holds it (inline, no allocation, up to 24 bytes).
pub(crate) fn email_compact(raw: &str) -> Option<CompactString> {
    let t = raw.trim();
    if plain_email(t) {
        Some(CompactString::from(t))
    } else {
        email(raw).map(CompactString::from)
    }
}

/// Whether `t` is an email [`email`] returns unchanged: ASCII with no
/// upper case and no whitespace, one `@` with text on both sides.
fn plain_email(t: &str) -> bool {
    let plain = t
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase());
    plain
        && t.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
}

/// Parses a date-time in any format the vendors send, as UTC.
///
/// Accepted: RFC 3339 (`2024-07-23T14:11:37.150080Z`, `…+02:00`), a space
/// instead of `T` (`2024-01-26 16:15:36.087016+00:00`), offsets without a
/// colon (`+0000`) or after a space (`2019-06-17 16:00:56 +0000`), 0–9
/// fraction digits, no offset at all (read as UTC), a bare date (midnight
/// UTC), and a string of 12–13 digits (epoch milliseconds). A year outside
/// 0000–9999 (which RFC 3339 cannot write) is no value.
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    parse_datetime_any_year(raw).and_then(rfc3339_year)
}

/// RFC 3339 writes four-digit years: a date-time outside 0000–9999 is no value.
fn rfc3339_year(dt: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (0..=9999).contains(&dt.year()).then_some(dt)
}

fn parse_datetime_any_year(raw: &str) -> Option<DateTime<Utc>> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    if t.len() >= 12 && t.len() <= 13 && t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse::<i64>().ok().and_then(epoch_millis);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    // Normalise the separator and a space before the offset, then try the
    // offset forms chrono's %z accepts (`+0000` and `+00:00`).
    let mut s = t.replacen(' ', "T", 1);
    if let Some(pos) = s.rfind([' ']) {
        s.remove(pos);
    }
    let s = if let Some(stripped) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        format!("{stripped}+0000")
    } else {
        s
    };
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(dt) = DateTime::parse_from_str(&s, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&s, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    parse_date_only(t).and_then(|d| d.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n)))
}

fn parse_date_only(t: &str) -> Option<NaiveDate> {
    // The common spelling, `YYYY-MM-DD`, read without chrono's format
    // parser (which parses the format string on every call). Same result:
    // `date_only_agrees_with_chrono` below.
    if let Some(date) = iso_date(t) {
        return date;
    }
    ["%Y-%m-%d", "%Y/%m/%d"]
        .iter()
        .find_map(|fmt| NaiveDate::parse_from_str(t, fmt).ok())
        // `%Y` also reads `+10000`: four-digit years only.
        .filter(|d| (0..=9999).contains(&d.year()))
}

/// `Some(date)` for text of exactly the shape `DDDD-DD-DD` (`Some(None)`
/// when those digits name no date, such as `2024-02-30`); `None` for any
/// other shape.
fn iso_date(t: &str) -> Option<Option<NaiveDate>> {
    let b = t.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return None;
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let year = i32::try_from(num(0..4)).ok()?;
    Some(NaiveDate::from_ymd_opt(year, num(5..7), num(8..10)))
}

fn epoch_millis(ms: i64) -> Option<DateTime<Utc>> {
    if ms <= 0 {
        return None;
    }
    DateTime::<Utc>::from_timestamp_millis(ms).and_then(rfc3339_year)
}

/// [`datetime`]'s text of `dt`, or `None` for a year RFC 3339 cannot write.
pub(crate) fn format_datetime_checked(dt: DateTime<Utc>) -> Option<CompactString> {
    rfc3339_year(dt).and_then(format_datetime)
}

/// `dt` as RFC 3339 UTC with whole seconds (`YYYY-MM-DDTHH:MM:SSZ`, as
/// chrono's `to_rfc3339_opts(Secs, true)` writes it), held inline: no
/// allocation. The caller checks the year is within 0000–9999.
fn format_datetime(dt: DateTime<Utc>) -> Option<CompactString> {
    use chrono::Timelike as _;
    let time = dt.time();
    // chrono writes a leap second (:60) as such; so does this.
    let second = time.second() + u32::from(time.nanosecond() >= 1_000_000_000);
    let mut text = [0u8; 20];
    write_date(&mut text, dt.date_naive());
    text[10] = b'T';
    digits(&mut text[11..13], time.hour());
    text[13] = b':';
    digits(&mut text[14..16], time.minute());
    text[16] = b':';
    digits(&mut text[17..19], second);
    text[19] = b'Z';
    std::str::from_utf8(&text).ok().map(CompactString::from)
}

/// `YYYY-MM-DD`, written without chrono's format parser (`%Y-%m-%d` is
/// parsed on every call); `None` for a year outside 0000–9999.
pub(crate) fn format_date_checked(d: NaiveDate) -> Option<CompactString> {
    if !(0..=9999).contains(&d.year()) {
        return None;
    }
    let mut text = [0u8; 10];
    write_date(&mut text, d);
    std::str::from_utf8(&text).ok().map(CompactString::from)
}

/// Writes `d` as `YYYY-MM-DD` into the first 10 bytes of `out` (the
/// caller checks the year is within 0000–9999).
fn write_date(out: &mut [u8], d: NaiveDate) {
    digits(&mut out[0..4], d.year().unsigned_abs());
    out[4] = b'-';
    digits(&mut out[5..7], d.month());
    out[7] = b'-';
    digits(&mut out[8..10], d.day());
}

/// Writes `n` as decimal digits filling `out`, zero-padded on the left
/// (callers give a number that fits).
fn digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// A date-time as RFC 3339 UTC with whole seconds (`2024-01-26T16:15:36Z`);
/// see [`parse_datetime`] for the accepted inputs. Fractions are truncated.
pub fn datetime(raw: &str) -> Option<String> {
    datetime_compact(raw).map(String::from)
}

/// [`datetime`] as a record holds it (inline, no allocation).
pub(crate) fn datetime_compact(raw: &str) -> Option<CompactString> {
    parse_datetime(raw).and_then(format_datetime)
}

/// A date-time from epoch milliseconds (Jamf Classic `*_epoch`). `0` and
/// negative values are Jamf's "not set" and are no value.
pub fn datetime_from_epoch_millis(ms: i64) -> Option<String> {
    epoch_millis(ms).and_then(format_datetime).map(String::from)
}

/// Parses a date: `YYYY-MM-DD`, `YYYY/MM/DD`, or the date part of any
/// date-time [`parse_datetime`] accepts (taken in UTC). Years outside
/// 0000–9999 are no value.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    parse_date_only(t).or_else(|| {
        // Date-times carry a time of day; read those and take the UTC date.
        (t.len() > 10)
            .then(|| parse_datetime(t))
            .flatten()
            .map(|dt| dt.date_naive())
    })
}

/// A date as `YYYY-MM-DD` (PO date, warranty, lease).
pub fn date(raw: &str) -> Option<String> {
    date_compact(raw).map(String::from)
}

/// [`date`] as a record holds it (inline, no allocation).
pub(crate) fn date_compact(raw: &str) -> Option<CompactString> {
    parse_date(raw).and_then(format_date_checked)
}

/// A boolean from text: `true`/`false`, `yes`/`no`, `1`/`0`, `y`/`n`,
/// `on`/`off`, `enabled`/`disabled` (any case, trimmed). Anything else is no value.
pub fn boolean_str(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "on" | "enabled" => Some(true),
        "false" | "no" | "n" | "0" | "off" | "disabled" => Some(false),
        _ => None,
    }
}

/// A boolean from any JSON value: booleans, the numbers `1`/`0`, and the
/// strings [`boolean_str`] accepts.
pub fn boolean_json(raw: &serde_json::Value) -> Option<bool> {
    match raw {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        serde_json::Value::String(s) => boolean_str(s),
        _ => None,
    }
}

/// A count or quantity; negative numbers (the `-1` "not reported" sentinel)
/// are no value, `0` is kept.
pub fn count(raw: i64) -> Option<i64> {
    (raw >= 0).then_some(raw)
}

/// A measured hardware quantity (processor speed, bus speed, cache size):
/// `0` and negative numbers mean "not reported" and are no value.
pub fn measured(raw: i64) -> Option<i64> {
    (raw > 0).then_some(raw)
}

/// A whole number from text (`"8"`, `" 16384 "`); `None` when not a number.
pub fn int_str(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// A whole number from a JSON number or numeric string.
pub fn int_json(raw: &serde_json::Value) -> Option<i64> {
    match raw {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => int_str(s),
        _ => None,
    }
}

/// An identifier: trimmed text; Jamf's `-1` "none" id is no value.
pub fn id(raw: &str) -> Option<String> {
    id_compact(raw).map(String::from)
}

/// [`id`] as a record holds it (inline, no allocation, when short).
pub(crate) fn id_compact(raw: &str) -> Option<CompactString> {
    text_compact(raw).filter(|s| s != "-1")
}

/// An identifier from a JSON string or integer (`1` → `"1"`); `-1`, floats,
/// booleans and objects are no value.
pub fn id_json(raw: &serde_json::Value) -> Option<String> {
    match raw {
        serde_json::Value::String(s) => id(s),
        serde_json::Value::Number(n) => n.as_i64().and_then(|i| id(&i.to_string())),
        _ => None,
    }
}

/// A list of strings: each item trimmed, empties and repeats dropped (first
/// occurrence kept). An empty result is no value.
pub fn list<'a, I>(raw: I) -> Option<Vec<String>>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out: Vec<String> = Vec::new();
    for item in raw {
        if let Some(t) = text(item)
            && !out.contains(&t)
        {
            out.push(t);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Turns a display name into a catalog key: lower case, each run of
/// non-alphanumerics replaced by `_`, trimmed of `_`.
///
/// ```
/// assert_eq!(mdm_mapping::normalize::catalog_key("FileVault 2 Enabled Users"), "filevault_2_enabled_users");
/// assert_eq!(mdm_mapping::normalize::catalog_key("WiFi MAC Address"), "wifi_mac_address");
/// ```
pub fn catalog_key(display_name: &str) -> String {
    let mut out = String::with_capacity(display_name.len());
    let mut pending_sep = false;
    // Lower-case first: a capital can lower-case to a letter plus a mark
    // (`İ` → `i` + U+0307), and the mark is not alphanumeric.
    for c in display_name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c);
        } else {
            pending_sep = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;
    use serde_json::json;

    #[test]
    fn text_trims_and_drops_blank() {
        assert_eq!(text("  a b  "), Some("a b".into()));
        assert_eq!(text(""), None);
        assert_eq!(text(" \t\r\n"), None);
        assert_eq!(text("\u{2019}"), Some("\u{2019}".into()));
    }

    #[test]
    fn serial_upper_no_whitespace() {
        assert_eq!(serial("c02xk1abjg5h"), Some("C02XK1ABJG5H".into()));
        assert_eq!(serial(" C02X K1AB\tJG5H\n"), Some("C02XK1ABJG5H".into()));
        assert_eq!(serial(""), None);
        assert_eq!(serial("   "), None);
    }

    #[test]
    fn serial_placeholders_are_no_value() {
        for p in [
            "Not Available",
            "not available",
            "N/A",
            "n/a",
            "NA",
            "None",
            "Unknown",
            "UNKNOWN",
            "0",
            "000000000000",
            "System Serial Number",
            "To Be Filled By O.E.M.",
            "to be filled by o.e.m.",
            "Default string",
            "123456789",
            "0123456789",
        ] {
            assert_eq!(serial(p), None, "{p}");
            assert!(is_placeholder_serial(p), "{p}");
        }
        assert!(!is_placeholder_serial(""));
        assert!(!is_placeholder_serial("C02XK1ABJG5H"));
        // Near misses are real serials.
        assert_eq!(serial("NA1"), Some("NA1".into()));
        assert_eq!(serial("1234567891"), Some("1234567891".into()));
    }

    #[test]
    fn mac_forms() {
        let want = Some("a4:83:e7:0b:1c:2d".to_string());
        assert_eq!(mac("a4:83:e7:0b:1c:2d"), want);
        assert_eq!(mac("A4:83:E7:0B:1C:2D"), want);
        assert_eq!(mac("a4-83-e7-0b-1c-2d"), want);
        assert_eq!(mac("a483.e70b.1c2d"), want);
        assert_eq!(mac("A483E70B1C2D"), want);
        assert_eq!(mac(" a4:83:e7:b:1c:2d "), want);
    }

    #[test]
    fn mac_rejects_everything_else() {
        for bad in [
            "",
            "n/a",
            "a4:83:e7:0b:1c",
            "a4:83:e7:0b:1c:2d:11",
            "a4:83:e7:0b:1c:2g",
            "a4:83:e7:0b:1c:2dd",
            "a483e70b1c2",
            "a483.e70b.1c2",
            "a4:83-e7:0b:1c:2d",
            "00:00:00:00:00:00",
            "000000000000",
            "Ⅻ4:83:e7:0b:1c:2d",
        ] {
            assert_eq!(mac(bad), None, "{bad}");
        }
    }

    /// The reading `mac` had before it stopped allocating: kept as the
    /// oracle it must agree with on any input.
    fn mac_reference(raw: &str) -> Option<String> {
        let t = raw.trim();
        let octets: Vec<u8> = if t.contains(':') || t.contains('-') {
            let sep = if t.contains(':') { ':' } else { '-' };
            let parts: Vec<&str> = t.split(sep).collect();
            if parts.len() != 6 {
                return None;
            }
            parts
                .iter()
                .map(|p| {
                    if (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_hexdigit()) {
                        u8::from_str_radix(p, 16).ok()
                    } else {
                        None
                    }
                })
                .collect::<Option<Vec<u8>>>()?
        } else {
            let hex: String = if t.contains('.') {
                let parts: Vec<&str> = t.split('.').collect();
                if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
                    return None;
                }
                parts.concat()
            } else {
                t.to_string()
            };
            if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            (0..6)
                .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?
        };
        if octets.iter().all(|o| *o == 0) {
            return None;
        }
        Some(
            octets
                .iter()
                .map(|o| format!("{o:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        )
    }

    /// What `parse_date_only` read before its `YYYY-MM-DD` fast path.
    fn date_only_reference(t: &str) -> Option<NaiveDate> {
        ["%Y-%m-%d", "%Y/%m/%d"]
            .iter()
            .find_map(|fmt| NaiveDate::parse_from_str(t, fmt).ok())
            .filter(|d| (0..=9999).contains(&d.year()))
    }

    #[test]
    fn date_only_reads_iso_dates_and_refuses_impossible_ones() {
        assert_eq!(
            parse_date_only("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(
            parse_date_only("0000-01-01"),
            NaiveDate::from_ymd_opt(0, 1, 1)
        );
        assert_eq!(parse_date_only("2023-02-29"), None);
        assert_eq!(parse_date_only("2024-13-01"), None);
        assert_eq!(parse_date_only("2024-00-10"), None);
        assert_eq!(
            parse_date_only("2024/02/29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
    }

    /// The ends of the years RFC 3339 writes, and a leap second in each,
    /// which the proptest below reaches only by chance.
    #[test]
    fn datetime_text_at_the_ends_of_the_years() {
        for (secs, nanos, want) in [
            (-62_167_219_200, 0, "0000-01-01T00:00:00Z"),
            (-62_167_219_141, 1_500_000_000, "0000-01-01T00:00:60Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59Z"),
            (253_402_300_799, 1_999_999_999, "9999-12-31T23:59:60Z"),
        ] {
            let dt = DateTime::<Utc>::from_timestamp(secs, nanos).expect("in range");
            assert_eq!(dt.to_rfc3339_opts(SecondsFormat::Secs, true), want);
            assert_eq!(format_datetime_checked(dt).as_deref(), Some(want));
            let date = &want[..10];
            assert_eq!(format_date_checked(dt.date_naive()).as_deref(), Some(date));
        }
        let past = DateTime::<Utc>::from_timestamp(253_402_300_800, 0).expect("in range");
        assert_eq!(format_datetime_checked(past), None);
        assert_eq!(format_date_checked(past.date_naive()), None);
    }

    proptest::proptest! {
        /// The date-time and date texts written by hand are chrono's, leap
        /// seconds and the years at the ends of 0000–9999 included.
        #[test]
        fn datetime_text_agrees_with_chrono(
            secs in -62_167_219_200i64..=253_402_300_799, nanos in 0u32..2_000_000_000,
        ) {
            // A leap second (nanos past a second) only exists at :59.
            let secs = if nanos >= 1_000_000_000 { secs - secs.rem_euclid(60) + 59 } else { secs };
            let dt = DateTime::<Utc>::from_timestamp(secs, nanos).expect("in range");
            let want = dt.to_rfc3339_opts(SecondsFormat::Secs, true);
            let got = format_datetime_checked(dt);
            proptest::prop_assert_eq!(got.as_deref(), Some(want.as_str()));
            let want = dt.date_naive().format("%Y-%m-%d").to_string();
            let got = format_date_checked(dt.date_naive());
            proptest::prop_assert_eq!(got.as_deref(), Some(want.as_str()));
        }

        #[test]
        fn date_only_agrees_with_chrono(raw in "[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9+\\-/ ]{0,12}") {
            proptest::prop_assert_eq!(parse_date_only(&raw), date_only_reference(&raw));
        }

        #[test]
        fn date_only_agrees_with_chrono_on_real_dates(
            y in 0i32..=9999, m in 0u32..=13, d in 0u32..=32, slash: bool,
        ) {
            let sep = if slash { '/' } else { '-' };
            let raw = format!("{y:04}{sep}{m:02}{sep}{d:02}");
            proptest::prop_assert_eq!(parse_date_only(&raw), date_only_reference(&raw));
        }

        /// The shortcuts for emails that are already normalized change
        /// nothing: they agree with [`email`] on any text.
        #[test]
        fn email_shortcuts_agree_with_email(raw in "[ \t]?[-a-zA-Z0-9.@_+\u{C9}\u{A0} ]{0,12}[ \t]?") {
            let want = email(&raw);
            proptest::prop_assert_eq!(email_owned(raw.clone()), want.clone());
            proptest::prop_assert_eq!(email_compact(&raw).map(String::from), want);
        }

        #[test]
        fn mac_agrees_with_its_reference(raw in "[ ]?[0-9a-fA-FgG:.\\-Ⅻ ]{0,20}[ ]?") {
            proptest::prop_assert_eq!(mac(&raw), mac_reference(&raw));
        }

        #[test]
        fn mac_reads_every_form_of_any_address(
            o in proptest::array::uniform6(proptest::prelude::any::<u8>()),
            form in 0..4u8,
            upper: bool,
        ) {
            let h: Vec<String> = o.iter().map(|b| format!("{b:02x}")).collect();
            let raw = match form {
                0 => h.join(":"),
                1 => h.join("-"),
                2 => format!("{}{}.{}{}.{}{}", h[0], h[1], h[2], h[3], h[4], h[5]),
                _ => h.concat(),
            };
            let raw = if upper { raw.to_uppercase() } else { raw };
            let want = (o != [0; 6]).then(|| h.join(":"));
            proptest::prop_assert_eq!(mac(&raw), want.clone());
            proptest::prop_assert_eq!(mac_reference(&raw), want);
        }
    }

    #[test]
    fn email_trim_lower() {
        assert_eq!(email(" Ana@Example.COM "), Some("ana@example.com".into()));
        assert_eq!(email(""), None);
        assert_eq!(email("ana"), None);
        assert_eq!(email("@example.com"), None);
        assert_eq!(email("ana@"), None);
        assert_eq!(email("a@b@c"), None);
        assert_eq!(email("ana díaz@example.com"), None);
    }

    #[test]
    fn datetimes_from_every_vendor_format() {
        let cases = [
            // Jamf Pro API, variable fraction
            ("2021-03-29T12:44:46.84Z", "2021-03-29T12:44:46Z"),
            ("2026-08-22T18:34:08Z", "2026-08-22T18:34:08Z"),
            // Kandji list last_check_in, microseconds
            ("2024-07-23T14:11:37.150080Z", "2024-07-23T14:11:37Z"),
            // Kandji enrollment: space and +00:00
            ("2024-01-26 16:15:36.087016+00:00", "2024-01-26T16:15:36Z"),
            // Kandji agent install date: no fraction
            ("2024-01-26 16:15:36+00:00", "2024-01-26T16:15:36Z"),
            // Kandji installed profiles: space before +0000
            ("2024-01-26 16:15:36 +0000", "2024-01-26T16:15:36Z"),
            // Prism
            ("2024-01-26T16:15:36.087016+00:00", "2024-01-26T16:15:36Z"),
            // Jamf Classic _utc: +0000 without colon
            ("2019-06-17T16:00:56.384+0000", "2019-06-17T16:00:56Z"),
            // Jamf Classic local report_date: no offset → UTC
            ("2019-06-17 16:00:56", "2019-06-17T16:00:56Z"),
            // ABM with milliseconds and without
            ("2025-04-30T22:05:14.192Z", "2025-04-30T22:05:14Z"),
            ("2011-08-15T07:00:00Z", "2011-08-15T07:00:00Z"),
            // offsets convert to UTC
            ("2024-01-26T18:15:36+02:00", "2024-01-26T16:15:36Z"),
            ("2024-01-26T11:15:36-0500", "2024-01-26T16:15:36Z"),
            // nine fraction digits
            ("2024-01-26T16:15:36.123456789Z", "2024-01-26T16:15:36Z"),
            // a bare date is midnight UTC
            ("2024-01-26", "2024-01-26T00:00:00Z"),
            // epoch milliseconds as a string (Jamf Classic _epoch)
            ("1560787256384", "2019-06-17T16:00:56Z"),
        ];
        for (input, want) in cases {
            assert_eq!(datetime(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn datetime_no_value() {
        for bad in [
            "",
            "  ",
            "1 month ago",
            "2024-13-01",
            "2024-01-26T25:00:00Z",
            "now",
            "0",
        ] {
            assert_eq!(datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_millis_sentinels() {
        assert_eq!(
            datetime_from_epoch_millis(1560787256384).as_deref(),
            Some("2019-06-17T16:00:56Z")
        );
        assert_eq!(datetime_from_epoch_millis(0), None);
        assert_eq!(datetime_from_epoch_millis(-1), None);
        assert_eq!(datetime_from_epoch_millis(i64::MAX), None);
    }

    #[test]
    fn dates() {
        assert_eq!(date("2024-01-26").as_deref(), Some("2024-01-26"));
        assert_eq!(date(" 2024/01/26 ").as_deref(), Some("2024-01-26"));
        assert_eq!(date("2024-01-26T23:59:59Z").as_deref(), Some("2024-01-26"));
        assert_eq!(
            date("2024-01-26T23:59:59-0200").as_deref(),
            Some("2024-01-27")
        );
        assert_eq!(date("2019-06-17 16:00:56").as_deref(), Some("2019-06-17"));
        assert_eq!(date(""), None);
        assert_eq!(date("2/2/2020"), None);
        assert_eq!(date("2024-02-30"), None);
    }

    #[test]
    fn booleans() {
        for t in [
            "True", "true", "TRUE", " Yes ", "yes", "1", "y", "On", "Enabled",
        ] {
            assert_eq!(boolean_str(t), Some(true), "{t}");
        }
        for f in ["False", "false", "No", "no", "0", "n", "off", "Disabled"] {
            assert_eq!(boolean_str(f), Some(false), "{f}");
        }
        for n in ["", "maybe", "2", "-1", "truee"] {
            assert_eq!(boolean_str(n), None, "{n}");
        }
        assert_eq!(boolean_json(&json!(true)), Some(true));
        assert_eq!(boolean_json(&json!(1)), Some(true));
        assert_eq!(boolean_json(&json!(0)), Some(false));
        assert_eq!(boolean_json(&json!(2)), None);
        assert_eq!(boolean_json(&json!("No")), Some(false));
        assert_eq!(boolean_json(&json!(null)), None);
        assert_eq!(boolean_json(&json!({})), None);
    }

    #[test]
    fn number_sentinels() {
        assert_eq!(count(-1), None);
        assert_eq!(count(0), Some(0));
        assert_eq!(count(8), Some(8));
        assert_eq!(measured(0), None);
        assert_eq!(measured(-1), None);
        assert_eq!(measured(2400), Some(2400));
        assert_eq!(int_str(" 16384 "), Some(16384));
        assert_eq!(int_str("19%"), None);
        assert_eq!(int_json(&json!("8")), Some(8));
        assert_eq!(int_json(&json!(8)), Some(8));
        assert_eq!(int_json(&json!(8.5)), None);
    }

    #[test]
    fn ids_are_strings() {
        assert_eq!(id_json(&json!(1)), Some("1".into()));
        assert_eq!(
            id_json(&json!(" 5c4b1a2e-uuid ")),
            Some("5c4b1a2e-uuid".into())
        );
        assert_eq!(id_json(&json!(-1)), None);
        assert_eq!(id_json(&json!("-1")), None);
        assert_eq!(id_json(&json!("")), None);
        assert_eq!(id_json(&json!(null)), None);
        assert_eq!(id_json(&json!(1.5)), None);
        assert_eq!(id_json(&json!(true)), None);
    }

    #[test]
    fn lists() {
        assert_eq!(
            list(["a", " b ", "", "a"]),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(list([" ", ""]), None);
        assert_eq!(list(std::iter::empty()), None);
    }

    #[test]
    fn catalog_keys_follow_the_design() {
        for (name, key) in [
            ("Serial Number", "serial_number"),
            ("Jamf Pro Computer ID", "jamf_pro_computer_id"),
            ("Bar Code 1", "bar_code_1"),
            ("FileVault 2 Enabled Users", "filevault_2_enabled_users"),
            ("WiFi MAC Address", "wifi_mac_address"),
            ("  PO  Date--", "po_date"),
            ("Purchase Source ID/Type", "purchase_source_id_type"),
        ] {
            assert_eq!(catalog_key(name), key, "{name}");
        }
    }
}
