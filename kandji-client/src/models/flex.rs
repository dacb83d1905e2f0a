//! Lenient deserializers for Kandji's loosely typed JSON.
//!
//! - text: a string, or a number or boolean written as one; `""` and `null` are `None`.
//! - booleans: `true`, `"True"`, `"False"`, `"Yes"`, `"No"`, `1`, `0`; `""`, `null`
//!   and unknown words are `None`.
//! - ids: a string or an integer (`1` → `"1"`).
//! - lists: `null` is empty.
//! - the `user` object: an object, or `""`, `null`, `[]` (no user).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use mdm_mapping::lenient::{self, Strictness};

use crate::models::DeviceUser;

/// How strictly Kandji's JSON is read ([`mdm_mapping::lenient`]): blank
/// text is no value, a word or a number that does not read as a boolean or
/// a number is no value, and a list or object where a scalar belongs fails
/// the page with its JSON path.
pub(crate) struct Kandji;

impl Strictness for Kandji {
    const BLANK_TEXT_IS_NONE: bool = true;
    const FLOAT_TEXT_AS_JSON: bool = false;
    const SKIP_COMPOUND: bool = false;
    const UNREADABLE_IS_NONE: bool = true;
    const INTEGRAL_FLOAT_IS_INT: bool = true;
}

/// Text: string, number or boolean; `""`/`null` → `None`.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::text::<Kandji, D>(d)
}

/// A required id: a non-empty string or an integer.
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match text(d)? {
        Some(s) => Ok(s),
        None => Err(de::Error::custom(
            "expected a non-empty id (string or integer)",
        )),
    }
}

/// A boolean in any of Kandji's spellings.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    lenient::boolean::<Kandji, D>(d)
}

/// A whole number, or a string holding one (`"8"`); anything else is `None`.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient::int::<Kandji, D>(d)
}

/// A list where `null` means empty.
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    lenient::list_or_null(d)
}

/// A list of strings: items may be numbers; `null` items are skipped; a
/// single string is a list of one.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element_seed(TextSeed)? {
                out.extend(item);
            }
            Ok(out)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok((!v.trim().is_empty())
                .then(|| v.to_string())
                .into_iter()
                .collect())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

struct TextSeed;

impl<'de> de::DeserializeSeed<'de> for TextSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        text(d)
    }
}

fn note_dropped(field: &'static str, raw: String) {
    tracing::debug!(field, %raw, "Kandji sent a value that cannot be read; dropped");
    lenient::dropped::note(field, &raw);
}

/// Takes the values decoding on this thread dropped since the last call.
pub(crate) fn take_dropped() -> Vec<(&'static str, String)> {
    lenient::dropped::take()
}

/// The polymorphic `user` / `assigned_user`: an object when a user is
/// assigned; `""`, `null`, `[]` or a missing key when not. Any other shape
/// is treated as "no user" and noted as a dropped value ([`take_dropped`]).
pub(crate) fn user<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DeviceUser>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<DeviceUser>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a user object, \"\", null or []")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            DeviceUser::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut n = 0usize;
            while seq.next_element::<de::IgnoredAny>()?.is_some() {
                n += 1;
            }
            if n > 0 {
                note_dropped("user", format!("a list of {n} items"));
            }
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if !v.trim().is_empty() {
                note_dropped("user", v.chars().take(64).collect());
            }
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            note_dropped("user", v.to_string());
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            note_dropped("user", v.to_string());
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            note_dropped("user", v.to_string());
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            note_dropped("user", v.to_string());
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "text")]
        s: Option<String>,
        #[serde(default, deserialize_with = "boolean")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "int")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "strings")]
        l: Vec<String>,
        #[serde(default, deserialize_with = "user")]
        u: Option<DeviceUser>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).expect(json)
    }

    #[test]
    fn text_forms() {
        assert_eq!(t(r#"{"s":"x"}"#).s.as_deref(), Some("x"));
        assert_eq!(t(r#"{"s":""}"#).s, None);
        assert_eq!(t(r#"{"s":" "}"#).s, None);
        assert_eq!(t(r#"{"s":null}"#).s, None);
        assert_eq!(t(r#"{}"#).s, None);
        assert_eq!(t(r#"{"s":8}"#).s.as_deref(), Some("8"));
        assert_eq!(t(r#"{"s":1.5}"#).s.as_deref(), Some("1.5"));
        assert!(serde_json::from_str::<T>(r#"{"s":{}}"#).is_err());
    }

    #[test]
    fn bool_forms() {
        for (json, want) in [
            (r#"{"b":true}"#, Some(true)),
            (r#"{"b":"True"}"#, Some(true)),
            (r#"{"b":"False"}"#, Some(false)),
            (r#"{"b":"Yes"}"#, Some(true)),
            (r#"{"b":"No"}"#, Some(false)),
            (r#"{"b":1}"#, Some(true)),
            (r#"{"b":0}"#, Some(false)),
            (r#"{"b":""}"#, None),
            (r#"{"b":null}"#, None),
            (r#"{"b":"maybe"}"#, None),
            (r#"{"b":7}"#, None),
        ] {
            assert_eq!(t(json).b, want, "{json}");
        }
    }

    #[test]
    fn int_and_list_forms() {
        assert_eq!(t(r#"{"i":"8"}"#).i, Some(8));
        assert_eq!(t(r#"{"i":8}"#).i, Some(8));
        assert_eq!(t(r#"{"i":"8 GB"}"#).i, None);
        assert_eq!(t(r#"{"l":null}"#).l, Vec::<String>::new());
        assert_eq!(t(r#"{"l":["a",1,null,""]}"#).l, ["a", "1"]);
        assert_eq!(t(r#"{"l":"a"}"#).l, ["a"]);
    }

    #[test]
    fn user_forms() {
        for json in [
            r#"{"u":""}"#,
            r#"{"u":null}"#,
            r#"{"u":[]}"#,
            r#"{}"#,
            r#"{"u":"someone"}"#,
            r#"{"u":5}"#,
        ] {
            assert!(t(json).u.is_none(), "{json}");
        }
        let u = t(r#"{"u":{"id":1,"email":"a@b.c","name":"A","is_archived":"False"}}"#)
            .u
            .expect("user");
        assert_eq!(u.id.as_deref(), Some("1"));
        assert_eq!(u.is_archived, Some(false));
    }
}
