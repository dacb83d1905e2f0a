//! Cursor paging: pages, list queries, and lazy page streams.
//!
//! The next page is always requested by rebuilding the URL from
//! `meta.paging.nextCursor` with this client's own `limit` and `fields`;
//! `links.next` is never followed (Apple's `next` links carry only the
//! cursor, and one of Apple's examples even names a different host). A page
//! can be fetched from a saved cursor, so a listing resumes where it stopped.

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt};
use url::Url;

use crate::error::{ConfigError, Error};
use crate::model::{ListDocument, MdmServerField, OrgDeviceField};

/// The largest page Apple serves.
pub const MAX_LIMIT: u32 = 1000;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The resources on this page.
    pub data: Vec<T>,
    /// The cursor this page was read at (`None`: the first page).
    pub cursor: Option<String>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The page size the server reported.
    pub limit: Option<i64>,
    /// The total count, when the server reports it.
    pub total: Option<i64>,
}

impl<T> Page<T> {
    pub(crate) fn from_document(doc: ListDocument<T>, cursor: Option<&str>) -> Page<T> {
        let paging = doc.meta.and_then(|m| m.paging).unwrap_or_default();
        let next_cursor = paging
            .next_cursor
            .filter(|c| !c.trim().is_empty())
            .or_else(|| {
                // No meta cursor: take the cursor out of links.next (the URL
                // itself is not followed).
                doc.links
                    .as_ref()
                    .and_then(|l| l.next.as_deref())
                    .and_then(|n| Url::parse(n).ok())
                    .and_then(|u| {
                        u.query_pairs()
                            .find(|(k, _)| k == "cursor")
                            .map(|(_, v)| v.into_owned())
                    })
                    .filter(|c| !c.trim().is_empty())
            });
        Page {
            data: doc.data,
            cursor: cursor.map(str::to_string),
            next_cursor,
            limit: paging.limit,
            total: paging.total,
        }
    }
}

/// The next cursor of a list document's `body`, read without decoding its
/// resources: `data` is skipped (`IgnoredAny`), `meta` and `links` are read
/// with the same types and rules as [`Page::from_document`], so it is the
/// cursor a full decode of the same body finds (when that decode succeeds).
#[cfg(test)]
pub(crate) fn next_cursor_of(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let doc: ListDocument<serde::de::IgnoredAny> = serde_json::from_slice(body)?;
    Ok(Page::from_document(doc, None).next_cursor)
}

/// The next cursor and the resource ids of a list document, read without
/// decoding the resources' attributes: what a page stream needs to decide,
/// before the full decode, whether the page brought anything new.
pub(crate) fn cursor_and_ids_of(
    body: &[u8],
) -> Result<(Option<String>, Vec<String>), serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    let doc: ListDocument<IdOnly> = serde_json::from_slice(body)?;
    let page = Page::from_document(doc, None);
    let ids = page
        .data
        .into_iter()
        .filter_map(|r| match r.id {
            Some(serde_json::Value::String(s)) => Some(s.trim().to_string()),
            Some(other) => Some(other.to_string()),
            None => None,
        })
        .collect();
    Ok((page.next_cursor, ids))
}

/// A listed resource's id, for the paging guard.
pub(crate) trait Identified {
    fn resource_id(&self) -> &str;
}

macro_rules! identified {
    ($($t:ty),*) => {
        $(impl Identified for $t {
            fn resource_id(&self) -> &str {
                &self.id
            }
        })*
    };
}

identified!(
    crate::model::OrgDevice,
    crate::model::MdmServer,
    crate::model::AppleCareCoverage,
    crate::model::ResourceId
);

/// A field name for a `fields[...]` query parameter.
pub trait FieldName: Clone + Send + Sync + 'static {
    /// The query parameter (`fields[orgDevices]`).
    const PARAM: &'static str;
    /// The field as the API spells it.
    fn api_name(&self) -> &str;
}

impl FieldName for OrgDeviceField {
    const PARAM: &'static str = "fields[orgDevices]";
    fn api_name(&self) -> &str {
        self.as_str()
    }
}

impl FieldName for MdmServerField {
    const PARAM: &'static str = "fields[mdmServers]";
    fn api_name(&self) -> &str {
        self.as_str()
    }
}

/// The page size and sparse fieldset of a listing.
///
/// ```
/// use abm_client::{DeviceQuery, model::OrgDeviceField};
///
/// let q = DeviceQuery::new()
///     .limit(500)
///     .fields([OrgDeviceField::SerialNumber, OrgDeviceField::Status]);
/// assert_eq!(q.page_size(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<F> {
    limit: u32,
    fields: Vec<F>,
}

/// A listing of `orgDevices`.
pub type DeviceQuery = ListQuery<OrgDeviceField>;
/// A listing of `mdmServers`.
pub type ServerQuery = ListQuery<MdmServerField>;

impl<F: FieldName> Default for ListQuery<F> {
    fn default() -> Self {
        ListQuery {
            limit: MAX_LIMIT,
            fields: Vec::new(),
        }
    }
}

impl<F: FieldName> ListQuery<F> {
    /// Pages of [`MAX_LIMIT`] (1000) resources with every attribute.
    pub fn new() -> Self {
        Self::default()
    }

    /// The page size, 1 to 1000 (checked when a request is made).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Only these fields (a sparse fieldset). Empty: every attribute.
    pub fn fields<I: IntoIterator<Item = F>>(mut self, fields: I) -> Self {
        self.fields = fields.into_iter().collect();
        self
    }

    /// The page size.
    pub fn page_size(&self) -> u32 {
        self.limit
    }

    /// The fields asked for.
    pub fn field_names(&self) -> &[F] {
        &self.fields
    }

    /// Adds `limit`, `fields[...]` and `cursor` to `url`.
    pub(crate) fn apply(&self, url: &mut Url, cursor: Option<&str>) -> Result<(), ConfigError> {
        check_limit(self.limit)?;
        let mut q = url.query_pairs_mut();
        q.append_pair("limit", &self.limit.to_string());
        if !self.fields.is_empty() {
            let names: Vec<&str> = self.fields.iter().map(FieldName::api_name).collect();
            q.append_pair(F::PARAM, &names.join(","));
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        Ok(())
    }
}

pub(crate) fn check_limit(limit: u32) -> Result<(), ConfigError> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(ConfigError::Limit(limit))
    }
}

/// A lazy stream of pages from `from` (or the first page): one request per
/// page, one page in memory. Ends after the last page or the first error.
/// A page that names a cursor already read, or that is empty or lists no
/// resource not already listed yet names a next page, ends it with
/// [`Error::NoProgress`] (naming `request` and the
/// page) instead of requesting on: whatever the server says, the listing
/// ends, and at most one request brings nothing.
pub(crate) fn paginate<'a, T, F, Fut>(
    request: &'static str,
    from: Option<String>,
    fetch: F,
) -> BoxStream<'a, Result<Page<T>, Error>>
where
    T: Identified + Send + 'a,
    F: Fn(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>, Error>> + Send + 'a,
{
    struct State<F> {
        next: Option<Option<String>>,
        seen: HashSet<String>,
        seen_ids: HashSet<String>,
        fetch: F,
        then: Option<Error>,
    }
    let mut seen = HashSet::new();
    if let Some(c) = &from {
        seen.insert(c.clone());
    }
    let state = State {
        next: Some(from),
        seen,
        seen_ids: HashSet::new(),
        fetch,
        then: None,
    };
    stream::unfold(state, move |mut st| async move {
        if let Some(e) = st.then.take() {
            return Some((Err(e), st));
        }
        let cursor = st.next.take()?;
        let stalled = |reason| {
            let e = mdm_mapping::NoProgress {
                vendor: mdm_mapping::Vendor::Abm,
                endpoint: request.to_string(),
                page: match &cursor {
                    None => "the first page read".to_string(),
                    Some(c) => format!("the page at cursor {c}"),
                },
                reason,
            };
            tracing::warn!(%e, "stopping a listing that makes no progress");
            Error::NoProgress(Box::new(e))
        };
        match (st.fetch)(cursor.clone()).await {
            Ok(mut page) => {
                let mut fresh = false;
                for item in &page.data {
                    fresh |= st.seen_ids.insert(item.resource_id().to_string());
                }
                match page.next_cursor.clone() {
                    Some(_) if page.data.is_empty() => {
                        return Some((Err(stalled(mdm_mapping::NoProgressReason::EmptyPage)), st));
                    }
                    Some(_) if !fresh => {
                        let e = stalled(mdm_mapping::NoProgressReason::RepeatedRecords);
                        return Some((Err(e), st));
                    }
                    Some(c) if st.seen.insert(c.clone()) => st.next = Some(Some(c)),
                    Some(c) => {
                        page.next_cursor = None;
                        st.then = Some(stalled(mdm_mapping::NoProgressReason::RepeatedCursor(
                            mdm_mapping::Cursor::new(c),
                        )));
                    }
                    None => {}
                }
                Some((Ok(page), st))
            }
            Err(e) => Some((Err(e), st)),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrgDevice;

    /// What a full decode of `body` finds as the next cursor.
    fn full(body: &str) -> Option<String> {
        let doc: ListDocument<OrgDevice> = serde_json::from_str(body).expect("decodes");
        Page::from_document(doc, None).next_cursor
    }

    #[test]
    fn the_cheap_cursor_is_the_full_decodes() {
        let bodies = [
            include_str!("../tests/fixtures/org_devices_page1.json"),
            include_str!("../tests/fixtures/org_devices_page2.json"),
            include_str!("../tests/fixtures/org_devices_page3.json"),
            include_str!("../tests/fixtures/org_devices_edge_cases.json"),
            include_str!("../tests/fixtures/server_a_devices_page1.json"),
            // meta first, decoy cursors inside the resources
            r#"{"meta": {"paging": {"nextCursor": "M"}},
                "data": [{"type": "orgDevices", "id": "X",
                          "attributes": {"meta": {"paging": {"nextCursor": "D"}}},
                          "links": {"next": "https://x.example/?cursor=L"}}]}"#,
            // only links.next carries it (meta blank)
            r#"{"data": [], "links": {"next": "https://e.example/v1/orgDevices?limit=5&cursor=FROM%20LINK"},
                "meta": {"paging": {"nextCursor": " "}}}"#,
            // a link without a cursor, a non-URL link
            r#"{"data": [], "links": {"next": "https://e.example/v1/orgDevices?limit=5"}}"#,
            r#"{"data": [], "links": {"next": "not a url"}}"#,
            // nulls and absences
            r#"{"data": null, "links": null, "meta": null}"#,
            r#"{"data": [], "meta": {"paging": null}}"#,
            r#"{"meta": {"paging": {"nextCursor": null, "limit": 1000}}}"#,
            r#"{}"#,
            // unknown members around
            r#"{"included": [{"a": 1}], "data": [], "meta": {"paging": {"nextCursor": "N", "total": 3}, "x": [1]}}"#,
        ];
        let mut with_cursor = 0;
        for body in bodies {
            let cheap = next_cursor_of(body.as_bytes()).expect("cheap read");
            assert_eq!(cheap, full(body), "{body}");
            with_cursor += usize::from(cheap.is_some());
        }
        assert_eq!(with_cursor, 6);
        assert_eq!(
            next_cursor_of(bodies[6].as_bytes())
                .expect("read")
                .as_deref(),
            Some("FROM LINK")
        );
    }

    #[test]
    fn the_cheap_read_fails_on_what_is_not_a_list_document() {
        for body in ["<html>", r#"{"meta": 5}"#, r#"{"data": {}}"#, ""] {
            assert!(next_cursor_of(body.as_bytes()).is_err(), "{body}");
        }
    }
}
