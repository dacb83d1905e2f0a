//! Buildings, departments, sites and inventory users.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use crate::api::computers::total;
use crate::client::{Client, PageStream, check_id};
use crate::error::Error;
use crate::models::classic::{UserEnvelope, UsersEnvelope};
use crate::models::org::UserPage;
use crate::models::{
    Building, ClassicRef, ClassicUser, Department, Page, SearchResults, Site, User,
};

/// The most users `/api/v1/users` returns per page (declared and enforced).
pub const MAX_USERS_PAGE_SIZE: u32 = 1000;

/// Users per page when they come from the Classic API (one request each).
const CLASSIC_USERS_PER_PAGE: usize = 100;

impl Client {
    /// Every building (`GET /api/v1/buildings`), a lazy stream of pages.
    pub fn buildings(&self) -> PageStream<Building> {
        self.simple_pages(&["api", "v1", "buildings"], "buildings")
    }

    /// One building (`GET /api/v1/buildings/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 when there is no such building.
    pub async fn building(&self, id: &str) -> Result<Building, Error> {
        let id = check_id("id", id)?;
        self.get_json(&["api", "v1", "buildings", id], &[], "building")
            .await
    }

    /// Every department (`GET /api/v1/departments`), a lazy stream of pages.
    pub fn departments(&self) -> PageStream<Department> {
        self.simple_pages(&["api", "v1", "departments"], "departments")
    }

    /// One department (`GET /api/v1/departments/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 when there is no such department.
    pub async fn department(&self, id: &str) -> Result<Department, Error> {
        let id = check_id("id", id)?;
        self.get_json(&["api", "v1", "departments", id], &[], "department")
            .await
    }

    /// Every site (`GET /api/v1/sites`: a bare array, not paged).
    ///
    /// # Errors
    ///
    /// API, authentication, transport and decode errors.
    pub async fn sites(&self) -> Result<Vec<Site>, Error> {
        let sites: Option<Vec<Site>> = self.get_json(&["api", "v1", "sites"], &[], "sites").await?;
        Ok(sites.unwrap_or_default())
    }

    /// One page of `GET /api/v1/users` (Jamf Pro 11.26 and later; at most
    /// 1000 per page, sorted by id).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 on servers older than 11.26.
    pub async fn users_page(&self, page: u32, page_size: u32) -> Result<Page<User>, Error> {
        let page_size = page_size.clamp(1, MAX_USERS_PAGE_SIZE);
        let query = vec![
            ("page".to_string(), page.to_string()),
            ("page-size".to_string(), page_size.to_string()),
            ("sort".to_string(), "id:asc".to_string()),
        ];
        let r: UserPage = self
            .get_json(
                &["api", "v1", "users"],
                &query,
                &format!("users page {page}"),
            )
            .await?;
        let total_count = total(r.total_count).or_else(|| {
            // No totalCount: `hasNext` false ends the listing here.
            (r.has_next == Some(false))
                .then(|| u64::from(page) * u64::from(page_size) + r.results.len() as u64)
        });
        Ok(Page {
            page,
            page_size,
            total_count,
            items: r.results,
        })
    }

    /// Every inventory user: from `GET /api/v1/users` on Jamf Pro 11.26 and
    /// later, else from the Classic API (`/JSSResource/users`, then
    /// `/JSSResource/users/id/{id}` for each, at most the concurrency limit
    /// at once). A lazy stream of pages.
    pub fn users(&self) -> PageStream<User> {
        let client = self.clone();
        let classic: Arc<tokio::sync::OnceCell<Vec<ClassicRef>>> = Arc::default();
        Client::page_stream("GET /api/v1/users", move |page| {
            let client = client.clone();
            let classic = classic.clone();
            async move {
                let pro = client
                    .server_version()
                    .await?
                    .is_some_and(|v| v.has_pro_users_api());
                if pro {
                    return client.users_page(page, MAX_USERS_PAGE_SIZE).await;
                }
                let refs = classic.get_or_try_init(|| client.classic_users()).await?;
                let ids: Vec<String> = refs
                    .iter()
                    .filter_map(|r| r.id.as_ref())
                    .map(|id| id.as_str().to_string())
                    .collect();
                let start = (page as usize).saturating_mul(CLASSIC_USERS_PER_PAGE);
                let chunk: Vec<String> = ids
                    .iter()
                    .skip(start)
                    .take(CLASSIC_USERS_PER_PAGE)
                    .cloned()
                    .collect();
                let concurrency = client.max_concurrent_requests();
                let items: Vec<User> = futures::stream::iter(chunk)
                    .map(|id| {
                        let client = client.clone();
                        async move { client.classic_user(&id).await.map(|u| u.to_user()) }
                    })
                    .buffered(concurrency)
                    .try_collect()
                    .await?;
                Ok(Page {
                    page,
                    page_size: CLASSIC_USERS_PER_PAGE as u32,
                    total_count: Some(ids.len() as u64),
                    items,
                })
            }
        })
    }

    /// The Classic user list (`GET /JSSResource/users`): ids and names.
    ///
    /// # Errors
    ///
    /// API, authentication, transport and decode errors.
    pub async fn classic_users(&self) -> Result<Vec<ClassicRef>, Error> {
        let env: UsersEnvelope = self
            .get_json(&["JSSResource", "users"], &[], "Classic user list")
            .await?;
        Ok(env.users)
    }

    /// One Classic user (`GET /JSSResource/users/id/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 (with the Classic HTML reason) when there is no such user.
    pub async fn classic_user(&self, id: &str) -> Result<ClassicUser, Error> {
        let id = check_id("id", id)?;
        let env: UserEnvelope = self
            .get_json(&["JSSResource", "users", "id", id], &[], "Classic user")
            .await?;
        Ok(env.user)
    }

    /// A paged `{"totalCount","results"}` listing sorted by id.
    fn simple_pages<T>(&self, segments: &[&'static str], what: &'static str) -> PageStream<T>
    where
        T: serde::de::DeserializeOwned + crate::client::Keyed + Send + 'static,
    {
        const PAGE_SIZE: u32 = 1000;
        let client = self.clone();
        let segments: Vec<&'static str> = segments.to_vec();
        let endpoint = format!("GET /{}", segments.join("/"));
        Client::page_stream(endpoint, move |page| {
            let client = client.clone();
            let segments = segments.clone();
            async move {
                let query = vec![
                    ("page".to_string(), page.to_string()),
                    ("page-size".to_string(), PAGE_SIZE.to_string()),
                    ("sort".to_string(), "id:asc".to_string()),
                ];
                let r: SearchResults<T> = client
                    .get_json(&segments, &query, &format!("{what} page {page}"))
                    .await?;
                Ok(Page {
                    page,
                    page_size: PAGE_SIZE,
                    total_count: total(r.total_count),
                    items: r.results,
                })
            }
        })
    }
}
