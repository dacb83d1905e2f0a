//! Lenient serde decoders, shared by the vendor clients.
//!
//! Vendors send one value in several shapes: numbers as strings, booleans
//! as `"Yes"` or `1`, `""` for "no value", a list where one value was
//! expected. Each decoder here accepts the shapes every vendor uses and
//! takes the vendor's [`Strictness`] as a type parameter: what a blank
//! string is, how a float reads as text, and whether a value that is really
//! wrong fails the page (with its JSON path, through `serde_path_to_error`)
//! or reads as no value.
//!
//! The decoders are visitors over the borrowed input: no
//! `serde_json::Value` is built for a field.
//!
//! ```
//! use mdm_mapping::lenient::{self, Strictness};
//! use serde::Deserialize;
//!
//! /// A vendor that turns anything unreadable into "no value".
//! struct Forgiving;
//! impl Strictness for Forgiving {
//!     const BLANK_TEXT_IS_NONE: bool = true;
//!     const FLOAT_TEXT_AS_JSON: bool = false;
//!     const SKIP_COMPOUND: bool = true;
//!     const UNREADABLE_IS_NONE: bool = true;
//!     const INTEGRAL_FLOAT_IS_INT: bool = true;
//! }
//!
//! #[derive(Deserialize)]
//! struct Device {
//!     #[serde(default, deserialize_with = "lenient::boolean::<Forgiving, _>")]
//!     supervised: Option<bool>,
//!     #[serde(default, deserialize_with = "lenient::int::<Forgiving, _>")]
//!     cores: Option<i64>,
//!     #[serde(default, deserialize_with = "lenient::text::<Forgiving, _>")]
//!     name: Option<String>,
//! }
//!
//! let d: Device = serde_json::from_str(r#"{"supervised": "Yes", "cores": "8", "name": ""}"#).unwrap();
//! assert_eq!((d.supervised, d.cores, d.name), (Some(true), Some(8), None));
//! let d: Device = serde_json::from_str(r#"{"supervised": "maybe", "cores": [1], "name": 2.5}"#).unwrap();
//! assert_eq!((d.supervised, d.cores, d.name.as_deref()), (None, None, Some("2.5")));
//! ```

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::normalize;

/// Decodes a JSON body as `serde_json::from_slice` does, but checks the
/// body's UTF-8 once, up front, instead of once per string.
///
/// `from_slice` validates each string it reads on its own; on a page of
/// thousands of records with dozens of short strings each, those calls
/// are a measurable share of decoding. One pass over the whole body, then
/// `from_str` (which trusts it), reads the same values. A body that is not
/// UTF-8 is left to `from_slice`, so its error says where.
///
/// ```
/// let v: Vec<String> = mdm_mapping::lenient::from_json_bytes(br#"["a", "\u00e9"]"#).unwrap();
/// assert_eq!(v, ["a", "\u{e9}"]);
/// let e = mdm_mapping::lenient::from_json_bytes::<Vec<String>>(b"[\"\xff\"]").unwrap_err();
/// assert!(e.to_string().contains("line 1"), "{e}");
/// ```
pub fn from_json_bytes<T: de::DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// How strictly a vendor's JSON is read: the choices the three clients make
/// differently. Implemented by a marker type per vendor.
pub trait Strictness {
    /// Blank text (`""`, spaces) reads as no value; otherwise it is kept as
    /// sent.
    const BLANK_TEXT_IS_NONE: bool;
    /// A float read as text is spelled as serde_json writes it (`1e+20`), not as
    /// Rust displays it (`100000000000000000000`).
    const FLOAT_TEXT_AS_JSON: bool;
    /// A list or an object where a scalar belongs is no value, not an error.
    const SKIP_COMPOUND: bool;
    /// A scalar that does not read as what is wanted (a word where a
    /// boolean belongs, `7` as a boolean, `"soon"` as a number) is no
    /// value, not an error.
    const UNREADABLE_IS_NONE: bool;
    /// A float without a fraction (`5.0`) reads as a whole number.
    const INTEGRAL_FLOAT_IS_INT: bool;

    /// Parses a date-time as this vendor spells them. Default: the
    /// spellings [`normalize::parse_datetime`] reads.
    fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
        normalize::parse_datetime(raw)
    }

    /// Whether a positive number where a date-time belongs is epoch
    /// milliseconds (otherwise it is no value).
    const EPOCH_MILLIS: bool = false;
}

/// The end of a visit over a value of the wrong kind: no value, or the
/// error serde would give.
fn unreadable<S: Strictness, T, E: de::Error>(
    unexpected: de::Unexpected<'_>,
    expected: &dyn de::Expected,
) -> Result<Option<T>, E> {
    if S::UNREADABLE_IS_NONE {
        Ok(None)
    } else {
        Err(E::invalid_value(unexpected, expected))
    }
}

/// Skips a list or an object, or fails on it.
fn compound<S: Strictness, T, E: de::Error>(
    what: de::Unexpected<'_>,
    expected: &dyn de::Expected,
) -> Result<Option<T>, E> {
    if S::SKIP_COMPOUND {
        Ok(None)
    } else {
        Err(E::invalid_type(what, expected))
    }
}

/// Declares the `null`, `Some`, list and object arms every visitor shares.
macro_rules! common_arms {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            if !S::SKIP_COMPOUND {
                return compound::<S, _, _>(de::Unexpected::Seq, &self);
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            if !S::SKIP_COMPOUND {
                return compound::<S, _, _>(de::Unexpected::Map, &self);
            }
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

/// Text from a string, a number or a boolean; `null` is no value, and so is
/// blank text when [`Strictness::BLANK_TEXT_IS_NONE`].
pub fn text<'de, S: Strictness, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Text::<S, String>(PhantomData))
}

/// [`text`] as a record holds it: a [`CompactString`], so text of up to 24
/// bytes read from the body costs no allocation.
pub fn text_compact<'de, S: Strictness, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<CompactString>, D::Error> {
    d.deserialize_any(Text::<S, CompactString>(PhantomData))
}

struct Text<S, T>(PhantomData<(S, T)>);

impl<'de, S: Strictness, T: for<'a> From<&'a str> + From<String>> Visitor<'de> for Text<S, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or a boolean")
    }

    common_arms!();

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok((!(S::BLANK_TEXT_IS_NONE && s.trim().is_empty())).then(|| T::from(s)))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok((!(S::BLANK_TEXT_IS_NONE && s.trim().is_empty())).then(|| T::from(s)))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Some(T::from(if b { "true" } else { "false" })))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        Ok(Some(T::from(i.to_string())))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        Ok(Some(T::from(u.to_string())))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        Ok(Some(T::from(if S::FLOAT_TEXT_AS_JSON {
            serde_json::Number::from_f64(f).map_or_else(|| f.to_string(), |n| n.to_string())
        } else {
            f.to_string()
        })))
    }
}

/// A boolean from `true`, `1`/`0`, or a word [`normalize::boolean_str`]
/// reads (`"Yes"`, `"Enabled"`, `"False"`); `null` and blank text are no
/// value.
pub fn boolean<'de, S: Strictness, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Bool::<S>(PhantomData))
}

struct Bool<S>(PhantomData<S>);

impl<'de, S: Strictness> Visitor<'de> for Bool<S> {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }

    common_arms!();

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Some(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        match i {
            1 => Ok(Some(true)),
            0 => Ok(Some(false)),
            _ => unreadable::<S, _, _>(de::Unexpected::Signed(i), &self),
        }
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        match u {
            1 => Ok(Some(true)),
            0 => Ok(Some(false)),
            _ => unreadable::<S, _, _>(de::Unexpected::Unsigned(u), &self),
        }
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        unreadable::<S, _, _>(de::Unexpected::Float(f), &self)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        match normalize::boolean_str(s) {
            Some(b) => Ok(Some(b)),
            None => unreadable::<S, _, _>(de::Unexpected::Str(s), &self),
        }
    }
}

/// A whole number from a JSON number or a numeric string (`"4"`); `null`
/// and blank text are no value.
pub fn int<'de, S: Strictness, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Int::<S>(PhantomData))
}

struct Int<S>(PhantomData<S>);

impl<'de, S: Strictness> Visitor<'de> for Int<S> {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    common_arms!();

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        Ok(Some(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        match i64::try_from(u) {
            Ok(i) => Ok(Some(i)),
            Err(_) => unreadable::<S, _, _>(de::Unexpected::Unsigned(u), &self),
        }
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        if S::INTEGRAL_FLOAT_IS_INT && f.fract() == 0.0 && f.abs() < 9.0e15 {
            Ok(Some(f as i64))
        } else {
            unreadable::<S, _, _>(de::Unexpected::Float(f), &self)
        }
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        if S::UNREADABLE_IS_NONE {
            Ok(None)
        } else {
            Err(E::invalid_type(de::Unexpected::Bool(b), &self))
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        match normalize::int_str(s) {
            Some(i) => Ok(Some(i)),
            None => unreadable::<S, _, _>(de::Unexpected::Str(s), &self),
        }
    }
}

/// A date-time as the vendor spells it ([`Strictness::parse_datetime`]), or
/// positive epoch milliseconds when [`Strictness::EPOCH_MILLIS`]. `null`,
/// blank text and text that does not parse are no value (one odd date must
/// not fail a page), and so is any other kind of value.
pub fn datetime<'de, S: Strictness, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let millis = S::EPOCH_MILLIS.then_some(datetime_millis as fn(i64) -> _);
    read_text_or_millis(d, "a date-time", datetime_text::<S>, millis)
}

fn datetime_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}

fn datetime_text<S: Strictness>(s: &str) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let parsed = S::parse_datetime(t);
    if parsed.is_none() {
        tracing::debug!(value = t, "a date-time that does not parse; no value");
    }
    parsed
}

/// A value read from text with `text`, or from positive epoch milliseconds
/// with `millis` (when given); anything else (other numbers, booleans,
/// lists, objects) is no value. `what` names it in a serde error. For a
/// vendor's own dated types (a calendar date), beside [`datetime`].
pub fn read_text_or_millis<'de, D: Deserializer<'de>, T>(
    d: D,
    what: &'static str,
    text: fn(&str) -> Option<T>,
    millis: Option<fn(i64) -> Option<T>>,
) -> Result<Option<T>, D::Error> {
    d.deserialize_any(TextOrMillis { what, text, millis })
}

struct TextOrMillis<T> {
    what: &'static str,
    text: fn(&str) -> Option<T>,
    millis: Option<fn(i64) -> Option<T>>,
}

impl<'de, T> Visitor<'de> for TextOrMillis<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok((self.text)(s))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        Ok(self.millis.filter(|_| i > 0).and_then(|m| m(i)))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        match i64::try_from(u) {
            Ok(i) => self.visit_i64(i),
            Err(_) => Ok(None),
        }
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A list where `null` means empty.
pub fn list_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A number that is only a hint (`totalCount`, `expires_in`): never fails;
/// what is not a usable whole number is no value
/// ([`crate::net::whole_number`]).
pub fn whole_number_hint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(crate::net::whole_number(&v))
}

/// Notes per thread of values a decoder dropped, for the source to count
/// ([`crate::DroppedValues`]): decoding has no other way to report them,
/// and a warning per record would flood the log.
pub mod dropped {
    use super::RefCell;

    /// Notes kept per thread, at most (notes no one takes stop growing).
    pub const MAX_NOTES: usize = 4096;
    /// Characters of a dropped value kept as an example.
    pub const MAX_CHARS: usize = 64;

    thread_local! {
        static NOTES: RefCell<Vec<(&'static str, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Notes that `field` dropped `raw` on this thread.
    pub fn note(field: &'static str, raw: &str) {
        NOTES.with(|n| {
            let mut n = n.borrow_mut();
            if n.len() < MAX_NOTES {
                n.push((field, raw.chars().take(MAX_CHARS).collect()));
            }
        });
    }

    /// Takes the notes made on this thread since the last call.
    pub fn take() -> Vec<(&'static str, String)> {
        NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Strict;
    impl Strictness for Strict {
        const BLANK_TEXT_IS_NONE: bool = false;
        const FLOAT_TEXT_AS_JSON: bool = true;
        const SKIP_COMPOUND: bool = false;
        const UNREADABLE_IS_NONE: bool = false;
        const INTEGRAL_FLOAT_IS_INT: bool = true;
        const EPOCH_MILLIS: bool = true;
    }

    struct Loose;
    impl Strictness for Loose {
        const BLANK_TEXT_IS_NONE: bool = true;
        const FLOAT_TEXT_AS_JSON: bool = false;
        const SKIP_COMPOUND: bool = true;
        const UNREADABLE_IS_NONE: bool = true;
        const INTEGRAL_FLOAT_IS_INT: bool = false;
    }

    fn read<T>(
        f: fn(
            &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
        ) -> Result<T, serde_json::Error>,
        json: &str,
    ) -> Result<T, String> {
        let mut d = serde_json::Deserializer::from_str(json);
        f(&mut d).map_err(|e| e.to_string())
    }

    #[test]
    fn strictness_decides_blank_text_floats_compounds_and_unreadable_values() {
        assert_eq!(
            read(|d| text::<Strict, _>(d), r#""""#),
            Ok(Some(String::new()))
        );
        assert_eq!(read(|d| text::<Loose, _>(d), r#"" ""#), Ok(None));
        assert_eq!(
            read(|d| text::<Strict, _>(d), "1e20"),
            Ok(Some("1e+20".into()))
        );
        assert_eq!(
            read(|d| text::<Loose, _>(d), "1e20"),
            Ok(Some("100000000000000000000".into()))
        );
        assert!(read(|d| text::<Strict, _>(d), "[1]").is_err());
        assert_eq!(read(|d| text::<Loose, _>(d), r#"{"a":1}"#), Ok(None));

        assert_eq!(
            read(|d| boolean::<Strict, _>(d), r#""Enabled""#),
            Ok(Some(true))
        );
        assert_eq!(read(|d| boolean::<Loose, _>(d), "0"), Ok(Some(false)));
        assert!(read(|d| boolean::<Strict, _>(d), r#""maybe""#).is_err());
        assert_eq!(read(|d| boolean::<Loose, _>(d), "7"), Ok(None));
        assert_eq!(read(|d| boolean::<Strict, _>(d), r#""""#), Ok(None));

        assert_eq!(read(|d| int::<Strict, _>(d), r#"" 4 ""#), Ok(Some(4)));
        assert_eq!(read(|d| int::<Strict, _>(d), "5.0"), Ok(Some(5)));
        assert_eq!(read(|d| int::<Loose, _>(d), "5.0"), Ok(None));
        assert!(read(|d| int::<Strict, _>(d), r#""four""#).is_err());
        assert_eq!(read(|d| int::<Loose, _>(d), r#""four""#), Ok(None));
        assert!(read(|d| int::<Strict, _>(d), "18446744073709551615").is_err());

        let ms = read(|d| datetime::<Strict, _>(d), "1700000000000").expect("millis");
        assert_eq!(
            ms.map(|t| t.to_rfc3339()),
            Some("2023-11-14T22:13:20+00:00".into())
        );
        assert_eq!(read(|d| datetime::<Loose, _>(d), "1700000000000"), Ok(None));
        assert_eq!(
            read(|d| datetime::<Loose, _>(d), r#""not a date""#),
            Ok(None)
        );
        assert!(
            read(|d| datetime::<Strict, _>(d), r#""2024-01-26T16:15:36Z""#)
                .is_ok_and(|t| t.is_some())
        );
    }

    #[test]
    fn dropped_notes_are_bounded_cut_and_taken_once() {
        let long = "x".repeat(200);
        for _ in 0..(dropped::MAX_NOTES + 10) {
            dropped::note("field", &long);
        }
        let notes = dropped::take();
        assert_eq!(notes.len(), dropped::MAX_NOTES);
        assert_eq!(notes[0].1.chars().count(), dropped::MAX_CHARS);
        assert!(dropped::take().is_empty());
    }
}
