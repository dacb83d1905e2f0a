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

use mdm_mapping::normalize;

/// Text from a string, number or boolean; `null` is `None`. `""` is kept
/// (the Pro API models keep what the server sent).
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"a string")),
    }
}

/// Like [`opt_string`], but blank text is `None` (Classic sends `""` for "not set").
pub(crate) fn opt_nonempty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(opt_string(d)?.filter(|s| !s.trim().is_empty()))
}

/// A whole number from a JSON number or a numeric string (`"4"`); `null` and
/// `""` are `None`. Integral floats (`5.0`) are accepted.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(de::Error::invalid_value(
                    de::Unexpected::Other("a non-integral number"),
                    &"a whole number",
                )),
            }
        }
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => normalize::int_str(&s)
            .map(Some)
            .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&s), &"a whole number")),
        Some(other) => Err(de::Error::invalid_type(
            unexpected(&other),
            &"a whole number",
        )),
    }
}

/// A boolean from `true`, `"true"`, `"Enabled"`, `"Yes"`, `1`, …
/// ([`normalize::boolean_json`]); `null` and `""` are `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => normalize::boolean_json(&v)
            .map(Some)
            .ok_or_else(|| de::Error::invalid_type(unexpected(&v), &"a boolean")),
    }
}

/// A date-time in any form Jamf uses: RFC 3339 with 0–9 fraction digits,
/// Classic `2019-06-17T16:00:56.384+0000`, `2019-06-17 16:00:56`,
/// `2023-04-21 12:30:00 UTC`, or epoch milliseconds (a number or a string of
/// digits). `null`, `""`, `0` and unparseable text are `None`: one odd date
/// must not fail a page of two thousand computers.
pub(crate) fn opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => parse_datetime(&s),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| *ms > 0)
            .and_then(DateTime::<Utc>::from_timestamp_millis),
        _ => None,
    })
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
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => {
            normalize::parse_date(&s).or_else(|| parse_datetime(&s).map(|dt| dt.date_naive()))
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| *ms > 0)
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .map(|dt| dt.date_naive()),
        _ => None,
    })
}

/// A list that may be `null` (a section or list Jamf did not fill).
pub(crate) fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
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

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => de::Unexpected::Signed(i),
            None => de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
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
