//! Lenient deserializers: Apple's examples, its schema and live tenants
//! disagree on several attribute types, so every attribute decodes from the
//! shapes seen in the wild and anything unusable becomes "no value" instead
//! of a failed page.

use std::fmt;

use chrono::{DateTime, Utc};
use mdm_mapping::lenient::{self, Strictness};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// How strictly Apple's JSON is read ([`mdm_mapping::lenient`]): Apple's
/// examples, its schema and live tenants disagree, so anything unusable is
/// no value, never a failed page: blank text is kept as sent, and a list or
/// object where a scalar belongs, a word where a boolean belongs or a
/// float where a whole number belongs reads as no value.
pub(crate) struct Abm;

impl Strictness for Abm {
    const BLANK_TEXT_IS_NONE: bool = false;
    const FLOAT_TEXT_AS_JSON: bool = false;
    const SKIP_COMPOUND: bool = true;
    const UNREADABLE_IS_NONE: bool = true;
    const INTEGRAL_FLOAT_IS_INT: bool = false;
}

/// A scalar read as text: strings as they are, numbers and booleans in their
/// JSON spelling. `null`, arrays and objects are `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient::text::<Abm, D>(d)
}

/// A list of strings that may also arrive as a single string (`"a"` →
/// `["a"]`). Numbers in the list become text; `null` is `None`; other
/// items are skipped.
pub(crate) fn opt_string_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    d.deserialize_any(StringOrList)
}

struct StringOrList;

impl<'de> Visitor<'de> for StringOrList {
    type Value = Option<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a list of strings or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(vec![v.to_string()]))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(vec![v]))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(vec![v.to_string()]))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(vec![v.to_string()]))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(StringOrList)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(ItemSeed)? {
            if let Some(s) = item {
                out.push(s);
            }
        }
        Ok(Some(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

struct ItemSeed;

impl<'de> de::DeserializeSeed<'de> for ItemSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        opt_string(d)
    }
}

/// A boolean from `true`/`false`, the words [`mdm_mapping::normalize::boolean_str`]
/// reads, or `1`/`0`; anything else is `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    lenient::boolean::<Abm, D>(d)
}

/// Any JSON as a whole number hint ([`mdm_mapping::net::whole_number`]):
/// never fails; a value that is not a usable number is `None`.
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient::whole_number_hint(d)
}

/// A whole number from a number or numeric string; anything else is `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient::int::<Abm, D>(d)
}

/// A date-time in any RFC 3339 spelling Apple uses (with or without
/// fractions). Text that is not a date-time is `None`, logged at debug level.
/// The catalog keys of the dated attributes a source maps, by the index
/// [`opt_datetime_noted`] is given.
pub(crate) const NOTED_DATES: [&str; 4] = [
    "added_to_org_date_time",
    "released_from_org_date_time",
    "updated_date_time",
    "order_date_time",
];

/// Takes the values decoding on this thread dropped since the last call.
pub(crate) fn take_dropped() -> Vec<(&'static str, String)> {
    lenient::dropped::take()
}

/// [`opt_datetime`] for the attribute `NOTED_DATES[FIELD]`: a value that
/// does not parse is also noted as dropped ([`take_dropped`]), for the
/// source to count.
pub(crate) fn opt_datetime_noted<'de, const FIELD: usize, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = opt_string(d)? else {
        return Ok(None);
    };
    let parsed = opt_datetime(de::value::StrDeserializer::<D::Error>::new(&text))?;
    if parsed.is_none() && !text.trim().is_empty() {
        let field = NOTED_DATES.get(FIELD).copied().unwrap_or("date_time");
        lenient::dropped::note(field, &text);
    }
    Ok(parsed)
}

pub(crate) fn opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    lenient::datetime::<Abm, D>(d)
}

/// Declares an "open" enum: the values Apple documents, plus `Other(String)`
/// for anything new, kept verbatim. Serialized as the API string.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $s:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, as Apple sent it.
            Other(String),
        }

        impl $name {
            /// Every documented value, in Apple's order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $s, )+
                    $name::Other(s) => s.as_str(),
                }
            }

            /// Reads an API value: an exact match, then a case-insensitive
            /// one, else [`Other`](Self::Other) with the text as sent.
            pub fn from_api(raw: &str) -> $name {
                let t = raw.trim();
                $( if t == $s { return $name::$variant; } )+
                $( if t.eq_ignore_ascii_case($s) { return $name::$variant; } )+
                $name::Other(raw.to_string())
            }

            /// Whether this is a value the crate does not know.
            pub fn is_other(&self) -> bool {
                matches!(self, $name::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from_api(s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = $crate::model::de::opt_string(d)?;
                Ok($name::from_api(raw.as_deref().unwrap_or_default()))
            }
        }
    };
}

pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "super::opt_string_list")]
        l: Option<Vec<String>>,
        #[serde(default, deserialize_with = "super::opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "super::opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "super::opt_datetime")]
        d: Option<chrono::DateTime<chrono::Utc>>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).expect(json)
    }

    #[test]
    fn scalars_are_lenient() {
        assert_eq!(t(r#"{"s":"x"}"#).s.as_deref(), Some("x"));
        assert_eq!(t(r#"{"s":12}"#).s.as_deref(), Some("12"));
        assert_eq!(t(r#"{"s":null}"#).s, None);
        assert_eq!(t(r#"{"s":{"a":[1]}}"#).s, None);
        assert_eq!(t(r#"{"s":[1,2]}"#).s, None);
        assert_eq!(t(r#"{}"#).s, None);
        assert_eq!(t(r#"{"b":"TRUE"}"#).b, Some(true));
        assert_eq!(t(r#"{"b":0}"#).b, Some(false));
        assert_eq!(t(r#"{"b":"maybe"}"#).b, None);
        assert_eq!(t(r#"{"i":"128"}"#).i, Some(128));
        assert_eq!(t(r#"{"i":1.5}"#).i, None);
    }

    #[test]
    fn lists_accept_one_string() {
        assert_eq!(t(r#"{"l":"a"}"#).l, Some(vec!["a".to_string()]));
        assert_eq!(
            t(r#"{"l":["a",2,null,{"x":1}]}"#).l,
            Some(vec!["a".to_string(), "2".to_string()])
        );
        assert_eq!(t(r#"{"l":[]}"#).l, Some(vec![]));
        assert_eq!(t(r#"{"l":null}"#).l, None);
    }

    #[test]
    fn datetimes_with_and_without_fractions() {
        let d = t(r#"{"d":"2025-04-30T22:05:14.192Z"}"#).d.expect("parses");
        assert_eq!(d.to_rfc3339(), "2025-04-30T22:05:14.192+00:00");
        assert!(t(r#"{"d":"2011-08-15T07:00:00Z"}"#).d.is_some());
        assert_eq!(t(r#"{"d":"not a date"}"#).d, None);
        assert_eq!(t(r#"{"d":""}"#).d, None);
        assert_eq!(t(r#"{"d":null}"#).d, None);
    }
}
