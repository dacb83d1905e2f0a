//! Tolerant deserializers for what Jamf actually sends.
//!
//! The Jamf Pro API is mostly well typed, but every field can be `null`; the
//! Classic API (XML turned into JSON) sends booleans and numbers as strings,
//! `""` for "no value", a single object where a list is expected, and
//! `{"size":0}` for an empty list. Each function here accepts those forms and
//! still fails (with the JSON path, through `serde_path_to_error`) on values
//! that are really wrong, such as a word where a number belongs.

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde_json::Value;

use mdm_mapping::CompactString;
use mdm_mapping::lenient::{self, Strictness};
use mdm_mapping::normalize;

/// How strictly Jamf's JSON is read ([`mdm_mapping::lenient`]): blank text
/// is kept (the Pro API models keep what the server sent; [`opt_nonempty`]
/// drops it), floats read as text in JSON's spelling, and a value that is
/// really wrong (a word where a number belongs, a list where a scalar
/// belongs) fails the page with its JSON path. Dates are lenient: one odd
/// date must not fail a page of two thousand computers.
pub(crate) struct Jamf;

impl Strictness for Jamf {
    const BLANK_TEXT_IS_NONE: bool = false;
    const FLOAT_TEXT_AS_JSON: bool = true;
    const SKIP_COMPOUND: bool = false;
    const UNREADABLE_IS_NONE: bool = false;
    const INTEGRAL_FLOAT_IS_INT: bool = true;
    const EPOCH_MILLIS: bool = true;

    fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
        parse_datetime(raw)
    }
}

/// Text from a string, number or boolean; `null` is `None`. `""` is kept
/// (the Pro API models keep what the server sent).
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::text::<Jamf, D>(d)
}

/// [`opt_string`] as a record holds it: text of up to 24 bytes costs no
/// allocation (see [`mdm_mapping::Value::Text`]).
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CompactString>, D::Error> {
    lenient::text_compact::<Jamf, D>(d)
}

/// Like [`opt_string`], but blank text is `None` (Classic sends `""` for "not set").
pub(crate) fn opt_nonempty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(opt_string(d)?.filter(|s| !s.trim().is_empty()))
}

/// A whole number from a JSON number or a numeric string (`"4"`); `null` and
/// `""` are `None`. Integral floats (`5.0`) are accepted.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient::int::<Jamf, D>(d)
}

/// A boolean from `true`, `"true"`, `"Enabled"`, `"Yes"`, `1`, …
/// (as [`normalize::boolean_str`]); `null` and `""` are `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    lenient::boolean::<Jamf, D>(d)
}

/// A date-time in any form Jamf uses: RFC 3339 with 0–9 fraction digits,
/// Classic `2019-06-17T16:00:56.384+0000`, `2019-06-17 16:00:56`,
/// `2023-04-21 12:30:00 UTC`, or epoch milliseconds (a number or a string of
/// digits). `null`, `""`, `0` and unparseable text are `None`: one odd date
/// must not fail a page of two thousand computers.
pub(crate) fn opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    lenient::datetime::<Jamf, D>(d)
}

/// The model fields whose unreadable dates are noted as dropped, by the
/// index [`opt_datetime_noted`] and [`opt_date_noted`] are given.
pub(crate) const NOTED_DATES: [&str; 16] = [
    "report_date",
    "last_contact_time",
    "last_contact",
    "last_check_in",
    "last_cloud_backup_date",
    "last_enrolled_date",
    "mdm_profile_expiration",
    "initial_entry_date",
    "po_date",
    "warranty_date",
    "lease_date",
    "last_inventory_update_date",
    "last_contact_date",
    "mdm_profile_expiration_date",
    "warranty_expires_date",
    "lease_expires_date",
];

/// Takes the values decoding on this thread dropped since the last call.
pub(crate) fn take_dropped() -> Vec<(&'static str, String)> {
    lenient::dropped::take()
}

fn note_dropped(field: usize, raw: &str) {
    lenient::dropped::note(NOTED_DATES.get(field).copied().unwrap_or("date"), raw);
}

/// A JSON value as the text a dropped-value note shows.
fn raw_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

/// Whether a JSON value is "no value" rather than an unreadable one.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        // 0 and negative epoch milliseconds are Jamf's "not set".
        Value::Number(n) => n.as_i64().is_some_and(|n| n <= 0),
        _ => false,
    }
}

/// [`opt_datetime`] for the model field `NOTED_DATES[FIELD]`: a value that
/// cannot be read is also noted as dropped ([`take_dropped`]).
pub(crate) fn opt_datetime_noted<'de, const FIELD: usize, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Value::deserialize(d)?;
    let parsed = opt_datetime(&v).map_err(de::Error::custom)?;
    if parsed.is_none() && !is_blank(&v) {
        note_dropped(FIELD, &raw_text(&v));
    }
    Ok(parsed)
}

/// [`opt_date`] for the model field `NOTED_DATES[FIELD]`, noting a value
/// that cannot be read as dropped.
pub(crate) fn opt_date_noted<'de, const FIELD: usize, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDate>, D::Error> {
    let v = Value::deserialize(d)?;
    let parsed = opt_date(&v).map_err(de::Error::custom)?;
    if parsed.is_none() && !is_blank(&v) {
        note_dropped(FIELD, &raw_text(&v));
    }
    Ok(parsed)
}

/// Parses one of Jamf's date-time spellings (see [`opt_datetime`]).
pub(crate) fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let parsed = normalize::parse_datetime(t).or_else(|| {
        t.strip_suffix("UTC")
            .or_else(|| t.strip_suffix("GMT"))
            .and_then(|s| normalize::parse_datetime(s.trim_end()))
    });
    if parsed.is_none() {
        tracing::debug!(
            value = t,
            "unrecognized Jamf date-time; treated as no value"
        );
    }
    parsed
}

/// A calendar date: `2019-01-01`, or the UTC date of a date-time (the mobile
/// device API sends purchasing dates as `2019-02-04T21:09:31.661Z`).
/// `null`, `""` and unparseable text are `None`.
pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    lenient::read_text_or_millis(
        d,
        "a date",
        |s| normalize::parse_date(s).or_else(|| parse_datetime(s).map(|dt| dt.date_naive())),
        Some(|ms| DateTime::<Utc>::from_timestamp_millis(ms).map(|dt| dt.date_naive())),
    )
}

/// A list that may be `null` (a section or list Jamf did not fill).
pub(crate) fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    lenient::list_or_null(d)
}

/// A Classic API collection in any of its shapes: a JSON array; a single
/// object where the XML had one element; `{"size":0}` or `{}` for none;
/// `null`; or an XML wrapper object (`{"mdm_capable_user":"ana"}`,
/// `{"user":[...]}`) around one value or an array.
pub(crate) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Option::<Value>::deserialize(d)?;
    collection_from_value(v.unwrap_or(Value::Null)).map_err(de::Error::custom)
}

fn collection_from_value<T: DeserializeOwned>(v: Value) -> Result<Vec<T>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| serde_json::from_value(item).map_err(|e| format!("item [{i}]: {e}")))
            .collect(),
        Value::Object(map) => {
            let meaningful: Vec<(&String, &Value)> =
                map.iter().filter(|(k, _)| k.as_str() != "size").collect();
            if meaningful.is_empty() {
                return Ok(Vec::new());
            }
            // An XML wrapper: one key (besides `size`) holding an object or
            // an array (`{"user":{...}}`, `{"site":[...]}`). Classic list
            // elements have several keys or scalar values, so this cannot
            // be mistaken for one.
            if let [(_, inner)] = meaningful.as_slice()
                && (inner.is_object() || inner.is_array())
            {
                return collection_from_value((*inner).clone());
            }
            // A single element; if that does not fit, a wrapper around a
            // scalar (`{"mdm_capable_user":"ana"}`).
            let whole = Value::Object(map.clone());
            match serde_json::from_value::<T>(whole) {
                Ok(one) => Ok(vec![one]),
                Err(first_err) => match meaningful.as_slice() {
                    [(_, inner)] => collection_from_value((*inner).clone()),
                    _ => Err(first_err.to_string()),
                },
            }
        }
        scalar => serde_json::from_value::<T>(scalar)
            .map(|one| vec![one])
            .map_err(|e| e.to_string()),
    }
}

/// A secret string (token, recovery key, password); `null` and `""` are `None`.
pub(crate) fn opt_secret<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|s| !s.trim().is_empty())
        .map(SecretString::from))
}

/// A required secret string.
pub(crate) fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    String::deserialize(d).map(SecretString::from)
}

/// A whole number that never fails to decode: integers beyond `i64`
/// saturate, finite floats are truncated (saturating), numeric strings are
/// parsed, and anything else (`"soon"`, `NaN`, an object) is `None`. For
/// hints such as `totalCount` or `expires_in`, where a value we cannot use
/// is better ignored than fatal.
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient::whole_number_hint(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_datetime")]
        t: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "opt_date")]
        d: Option<NaiveDate>,
    }

    #[derive(Debug, Deserialize, PartialEq, Clone)]
    struct Named {
        id: i64,
        #[serde(default)]
        name: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Coll {
        #[serde(default, deserialize_with = "one_or_many")]
        items: Vec<Named>,
        #[serde(default, deserialize_with = "one_or_many")]
        names: Vec<String>,
    }

    fn probe(v: serde_json::Value) -> Result<Probe, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn numbers_and_booleans_as_strings() {
        let p = probe(json!({"n": "4", "b": "Enabled", "s": 500})).unwrap();
        assert_eq!(p.n, Some(4));
        assert_eq!(p.b, Some(true));
        assert_eq!(p.s.as_deref(), Some("500"));
        let p = probe(json!({"n": "", "b": "", "s": null})).unwrap();
        assert_eq!((p.n, p.b, p.s), (None, None, None));
        let p = probe(json!({"n": 5.0, "b": 0})).unwrap();
        assert_eq!((p.n, p.b), (Some(5), Some(false)));
        assert!(probe(json!({"n": "many"})).is_err());
        assert!(probe(json!({"n": 1.5})).is_err());
        assert!(probe(json!({"b": "perhaps"})).is_err());
        assert!(probe(json!({"s": {"a": 1}})).is_err());
    }

    #[test]
    fn every_date_form() {
        let want = "2019-06-17T16:00:56Z";
        for raw in [
            json!("2019-06-17T16:00:56.384+0000"),
            json!("2019-06-17 16:00:56"),
            json!("2019-06-17T16:00:56.38Z"),
            json!("2019-06-17T16:00:56.123456789Z"),
            json!("2019-06-17 16:00:56 UTC"),
            json!(1560787256384_i64),
            json!("1560787256384"),
        ] {
            let p = probe(json!({ "t": raw.clone() })).unwrap();
            let got =
                p.t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            assert_eq!(got.as_deref(), Some(want), "{raw}");
        }
        for none in [json!(""), json!(0), json!(null), json!("soon")] {
            assert_eq!(
                probe(json!({ "t": none.clone() })).unwrap().t,
                None,
                "{none}"
            );
        }
        let p = probe(json!({"d": "2019-02-04T21:09:31.661Z"})).unwrap();
        assert_eq!(p.d, NaiveDate::from_ymd_opt(2019, 2, 4));
        let p = probe(json!({"d": "2019-01-01"})).unwrap();
        assert_eq!(p.d, NaiveDate::from_ymd_opt(2019, 1, 1));
        assert_eq!(probe(json!({"d": ""})).unwrap().d, None);
    }

    /// From bytes, as the client reads: borrowed text, the visitors' own
    /// errors at the field's path, and skipped values that leave the rest
    /// of the object readable.
    #[test]
    fn from_bytes_with_paths() {
        fn read(json: &str) -> Result<Probe, String> {
            let mut de = serde_json::Deserializer::from_str(json);
            serde_path_to_error::deserialize(&mut de)
                .map_err(|e| format!("{} at {}", e.inner(), e.path()))
        }
        let p =
            read(r#"{"t": {"epoch": [1, {"a": null}]}, "d": [true], "n": 7, "s": 1.5}"#).unwrap();
        assert_eq!((p.t, p.d, p.n), (None, None, Some(7)));
        assert_eq!(p.s.as_deref(), Some("1.5"));
        let p =
            read(r#"{"t": "2019-06-17T16:00:56Z", "b": 1, "s": "caf\u00e9", "n": "-1"}"#).unwrap();
        assert!(p.t.is_some());
        assert_eq!((p.b, p.n), (Some(true), Some(-1)));
        assert_eq!(p.s.as_deref(), Some("café"));
        assert_eq!(read(r#"{"t": true, "d": 0}"#).unwrap(), read("{}").unwrap());

        for (json, message, path) in [
            (
                r#"{"n": 18446744073709551615}"#,
                "expected a whole number",
                "n",
            ),
            (
                r#"{"n": "many"}"#,
                "string \"many\", expected a whole number",
                "n",
            ),
            (r#"{"b": 2}"#, "integer `2`, expected a boolean", "b"),
            (
                r#"{"b": "perhaps"}"#,
                "string \"perhaps\", expected a boolean",
                "b",
            ),
            (r#"{"s": [1]}"#, "sequence, expected a string", "s"),
        ] {
            let e = read(json).unwrap_err();
            assert!(
                e.contains(message) && e.ends_with(&format!(" at {path}")),
                "{e}"
            );
        }
    }

    #[test]
    fn classic_collections() {
        let c: Coll = serde_json::from_value(json!({"items": {"size": 0}, "names": {}})).unwrap();
        assert!(c.items.is_empty() && c.names.is_empty());
        let c: Coll = serde_json::from_value(json!({"items": {"id": 1, "name": "a"}})).unwrap();
        assert_eq!(
            c.items,
            vec![Named {
                id: 1,
                name: Some("a".into())
            }]
        );
        // A one-key wrapper is not read as an element with every field missing.
        let c: Coll =
            serde_json::from_value(json!({"items": {"site": {"id": 1, "name": "a"}}})).unwrap();
        assert_eq!(
            c.items,
            vec![Named {
                id: 1,
                name: Some("a".into())
            }]
        );
        let c: Coll =
            serde_json::from_value(json!({"items": [{"id": 1}, {"id": 2}], "names": ["x"]}))
                .unwrap();
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.names, ["x"]);
        let c: Coll = serde_json::from_value(
            json!({"items": {"size": 1, "user": {"id": 7}}, "names": {"mdm_capable_user": "ana"}}),
        )
        .unwrap();
        assert_eq!(c.items, vec![Named { id: 7, name: None }]);
        assert_eq!(c.names, ["ana"]);
        let c: Coll =
            serde_json::from_value(json!({"items": {"user": [{"id": 1}, {"id": 2}]}})).unwrap();
        assert_eq!(c.items.len(), 2);
        let e =
            serde_json::from_value::<Coll>(json!({"items": [{"id": 1}, {"id": "x"}]})).unwrap_err();
        assert!(e.to_string().contains("item [1]"), "{e}");
    }
}
