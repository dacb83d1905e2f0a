//! The JSON:API document shapes the API wraps every resource in.

use serde::{Deserialize, Serialize};

use super::de;

/// A document holding one resource (`{"data": {...}, "links": {...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Document<T> {
    /// The resource. `null` in a relationship document means "none".
    pub data: T,
    /// Links about the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<DocumentLinks>,
}

/// A document holding a page of resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>", serialize = "T: Serialize"))]
#[non_exhaustive]
pub struct ListDocument<T> {
    /// The resources on this page (a missing or `null` list is empty).
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub data: Vec<T>,
    /// `self`, `first` and `next` links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<DocumentLinks>,
    /// Paging information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Links of a document or a relationship.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocumentLinks {
    /// This document.
    #[serde(
        rename = "self",
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub self_: Option<String>,
    /// The first page.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub first: Option<String>,
    /// The next page. This crate pages by `meta.paging.nextCursor` and does
    /// not follow this link.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub next: Option<String>,
    /// The related resource.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub related: Option<String>,
}

/// `meta` of a paged document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Meta {
    /// Paging information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// `meta.paging`: the page size and the cursor of the next page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Paging {
    /// The page size the server used (informational: a value that is not
    /// a usable number is `None`, never an error).
    #[serde(
        default,
        deserialize_with = "de::lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<i64>,
    /// The cursor of the next page; absent on the last page.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_cursor: Option<String>,
    /// The total number of resources, when the server reports it (Apple's
    /// examples never do). Informational, never trusted for paging; a value
    /// that is not a usable number is `None`.
    #[serde(
        default,
        deserialize_with = "de::lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<i64>,
}

/// A resource identifier: `{"type": "orgDevices", "id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceId {
    /// The resource type (`orgDevices`, `mdmServers`).
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub type_: String,
    /// The resource id.
    #[serde(deserialize_with = "required_id")]
    pub id: String,
}

impl ResourceId {
    /// A resource identifier.
    pub fn new(type_: impl Into<String>, id: impl Into<String>) -> Self {
        ResourceId {
            type_: type_.into(),
            id: id.into(),
        }
    }
}

pub(crate) fn string_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(de::opt_string(d)?.unwrap_or_default())
}

/// An id must be present; a number is read as text.
pub(crate) fn required_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match de::opt_string(d)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(serde::de::Error::custom(
            "a resource id must be a non-empty string",
        )),
    }
}

/// A relationship of a resource: its links and, when the server includes
/// it, the related resource's identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Relationship {
    /// `self` and `related` links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<DocumentLinks>,
    /// The related resource's identifier, when included.
    #[serde(
        default,
        deserialize_with = "lenient_resource_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<ResourceId>,
}

/// A relationship's `data`: an identifier object, or anything else (a list,
/// `null`) read as "not included".
fn lenient_resource_id<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ResourceId>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()))
}
