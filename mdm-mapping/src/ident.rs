//! Identifier normalization for matching, and value comparison.

use std::borrow::Cow;

use crate::normalize;
use crate::record::Value;

/// How an identifier field's values are normalized before matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Norm {
    /// Whitespace removed, upper case, placeholders dropped (serials, UDIDs,
    /// IMEIs, vendor ids, asset tags).
    Generic,
    /// A MAC address ([`normalize::mac`]).
    Mac,
}

impl Norm {
    pub(crate) fn for_field(field: &str) -> Norm {
        if field.contains("mac_address") {
            Norm::Mac
        } else {
            Norm::Generic
        }
    }
}

/// Whether an already squashed value names no device: a placeholder, or
/// only zeros and separators (`0`, `00000000-0000-0000-0000-000000000000`).
fn is_placeholder(squashed: &str) -> bool {
    if squashed.is_empty() {
        return true;
    }
    if squashed
        .bytes()
        .all(|b| matches!(b, b'0' | b'-' | b':' | b'.'))
    {
        return true;
    }
    squashed.len() <= 20
        && normalize::squashed_placeholders()
            .iter()
            .any(|p| p.eq_ignore_ascii_case(squashed))
}

/// Normalizes one identifier value; `None` for no value or a placeholder.
/// Borrows when the value is already normal (the common case).
pub(crate) fn normalize_id(norm: Norm, raw: &str) -> Option<Cow<'_, str>> {
    match norm {
        Norm::Mac => {
            let canonical = raw.len() == 17
                && raw.bytes().enumerate().all(|(i, b)| {
                    if i % 3 == 2 {
                        b == b':'
                    } else {
                        b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                    }
                });
            if canonical {
                (raw != "00:00:00:00:00:00").then_some(Cow::Borrowed(raw))
            } else {
                normalize::mac(raw).map(Cow::Owned)
            }
        }
        Norm::Generic => {
            let clean = !raw
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_lowercase() || b >= 0x80);
            let v: Cow<'_, str> = if clean {
                Cow::Borrowed(raw)
            } else {
                Cow::Owned(
                    raw.chars()
                        .filter(|c| !c.is_whitespace())
                        .flat_map(char::to_uppercase)
                        .collect(),
                )
            };
            (!is_placeholder(&v)).then_some(v)
        }
    }
}

/// Calls `f` for each normalized identifier a value holds (one for text, one
/// per item for lists, the decimal form for integers).
pub(crate) fn for_each_id<'a>(norm: Norm, value: &'a Value, mut f: impl FnMut(Cow<'a, str>)) {
    match value {
        Value::Text(s) => {
            if let Some(v) = normalize_id(norm, s) {
                f(v);
            }
        }
        Value::List(items) => {
            for s in items {
                if let Some(v) = normalize_id(norm, s) {
                    f(v);
                }
            }
        }
        Value::Int(i) => {
            if let Some(v) = normalize_id(norm, &i.to_string()) {
                f(Cow::Owned(v.into_owned()));
            }
        }
        Value::Bool(_) | Value::Float(_) => {}
    }
}

/// Whether two identifier values are the same after normalization (lists:
/// the same set).
pub(crate) fn same_ids(norm: Norm, a: &Value, b: &Value) -> bool {
    let mut x: Vec<Cow<'_, str>> = Vec::new();
    let mut y: Vec<Cow<'_, str>> = Vec::new();
    for_each_id(norm, a, |v| x.push(v));
    for_each_id(norm, b, |v| y.push(v));
    x.sort();
    x.dedup();
    y.sort();
    y.dedup();
    x == y
}

/// Whether an inventory value and a source value mean the same thing:
/// equal, equal numbers, text holding the same number or boolean, a
/// one-item list and its item, or two spellings of one date-time.
pub(crate) fn same_value(inventory: &Value, source: &Value) -> bool {
    if inventory == source {
        return true;
    }
    match (inventory, source) {
        (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => (*a as f64) == *b,
        (Value::Text(t), Value::Int(i)) | (Value::Int(i), Value::Text(t)) => {
            normalize::int_str(t) == Some(*i)
        }
        (Value::Text(t), Value::Float(f)) | (Value::Float(f), Value::Text(t)) => {
            t.trim().parse::<f64>().ok() == Some(*f)
        }
        (Value::Text(t), Value::Bool(b)) | (Value::Bool(b), Value::Text(t)) => {
            normalize::boolean_str(t) == Some(*b)
        }
        (Value::List(l), Value::Text(t)) | (Value::Text(t), Value::List(l)) => {
            l.len() == 1 && l[0] == *t
        }
        (Value::Text(a), Value::Text(b)) => {
            a.trim() == b.trim() || (looks_dated(a) && looks_dated(b) && same_instant(a, b))
        }
        _ => false,
    }
}

fn looks_dated(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

fn same_instant(a: &str, b: &str) -> bool {
    match (normalize::parse_datetime(a), normalize::parse_datetime(b)) {
        (Some(x), Some(y)) => x.timestamp() == y.timestamp(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_normalize() {
        assert_eq!(normalize_id(Norm::Generic, "C02X").as_deref(), Some("C02X"));
        assert!(matches!(
            normalize_id(Norm::Generic, "C02X"),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(
            normalize_id(Norm::Generic, " c02 x ").as_deref(),
            Some("C02X")
        );
        for p in [
            "",
            " ",
            "N/A",
            "not available",
            "0",
            "00000000-0000-0000-0000-000000000000",
            "Unknown",
        ] {
            assert_eq!(normalize_id(Norm::Generic, p), None, "{p:?}");
        }
        assert_eq!(
            normalize_id(Norm::Mac, "A4-83-E7-0B-1C-2D").as_deref(),
            Some("a4:83:e7:0b:1c:2d")
        );
        assert_eq!(normalize_id(Norm::Mac, "00:00:00:00:00:00"), None);
    }

    #[test]
    fn values_compare_loosely() {
        assert!(same_value(&Value::Text("16".into()), &Value::Int(16)));
        assert!(same_value(&Value::Text("true".into()), &Value::Bool(true)));
        assert!(same_value(
            &Value::Text("2024-01-26 16:15:36+00:00".into()),
            &Value::Text("2024-01-26T16:15:36Z".into())
        ));
        assert!(!same_value(
            &Value::Text("a".into()),
            &Value::Text("b".into())
        ));
        assert!(same_ids(
            Norm::Generic,
            &Value::List(vec!["35 1".into(), "352".into()]),
            &Value::List(vec!["352".into(), "351".into()])
        ));
    }
}
