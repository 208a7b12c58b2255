//! The one list shape (DRF style): `{"count", "next", "previous", "results"}`
//! with `page` (1-based) and `page_size` (default 20, at most 100), and
//! `ordering` over a per-list allow-list (`-field` for descending).

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Parameter;
use utoipa::{IntoParams, ToSchema};

use super::extract::parse_query;
use crate::db::{PageRequest, Paged};
use crate::error::{AppError, AppResult};
use crate::input;
use crate::state::AppState;

/// Default rows per page.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest accepted `page_size`; more is refused (400), not clamped.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Largest accepted `page` (10 million rows deep at the largest page size).
pub const MAX_PAGE: u64 = 100_000;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// Items in the whole list.
    pub count: u64,
    /// Link to the next page, if any.
    pub next: Option<String>,
    /// Link to the previous page, if any.
    pub previous: Option<String>,
    /// The items of this page.
    pub results: Vec<T>,
}

/// The paging parameters every list takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page number, from 1.
    #[serde(default, deserialize_with = "input::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "input::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// The filters of a list that has none but paging.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

impl IntoParams for NoFilter {
    fn into_params(_: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>) -> Vec<Parameter> {
        Vec::new()
    }
}

/// A list request: which page, the list's own filters `F` (the rest of the
/// query string, strictly: an unknown parameter is a 400), and what the
/// `next`/`previous` links are built from. Document it as
/// `params(PageParams, F)`.
#[derive(Debug)]
pub struct ListQuery<F> {
    /// The page asked for.
    pub page: PageRequest,
    /// The list's filters.
    pub filter: F,
    /// The links of the answer.
    pub links: PageLinks,
}

impl<F: DeserializeOwned + Send> FromRequestParts<AppState> for ListQuery<F> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        let is_paging = |key: &str| key == "page" || key == "page_size";
        let paging: PageParams = parse_query(query, is_paging)?;
        let filter: F = parse_query(query, |key| !is_paging(key))?;
        Ok(ListQuery {
            page: page_request(paging.page, paging.page_size)?,
            filter,
            links: PageLinks::from_request_parts(parts, state).await?,
        })
    }
}

impl<F> ListQuery<F> {
    /// Turn the rows of this page into the list shape, converting each row.
    pub fn page_of<R, T>(&self, paged: Paged<R>, convert: impl FnMut(R) -> T) -> Page<T> {
        self.links.page(self.page, paged, convert)
    }
}

/// Validate `page` and `page_size`. Errors: 400 naming the parameter.
pub fn page_request(page: Option<u64>, page_size: Option<u64>) -> AppResult<PageRequest> {
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(AppError::bad_field("page", "must be 1 or more"));
    }
    let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(AppError::bad_field(
            "page_size",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    if page > MAX_PAGE {
        return Err(AppError::bad_field("page", format!("must be at most {MAX_PAGE}")));
    }
    Ok(PageRequest { page, page_size })
}

/// The request's path and query, to build `next`/`previous` links.
#[derive(Debug, Clone)]
pub struct PageLinks {
    base: String,
    path: String,
    query: Vec<(String, String)>,
}

impl FromRequestParts<AppState> for PageLinks {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let uri = match parts.extensions.get::<OriginalUri>() {
            Some(OriginalUri(uri)) => uri.clone(),
            None => parts.uri.clone(),
        };
        let query = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(PageLinks {
            base: state.config.public_url.clone().unwrap_or_default(),
            path: uri.path().to_owned(),
            query,
        })
    }
}

impl PageLinks {
    fn link(&self, page: u64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            query.append_pair(k, v);
        }
        query.append_pair("page", &page.to_string());
        format!("{}{}?{}", self.base, self.path, query.finish())
    }

    /// Turn a page of rows into the list shape, converting each row.
    pub fn page<R, T>(&self, request: PageRequest, paged: Paged<R>, convert: impl FnMut(R) -> T) -> Page<T> {
        let last_page = paged.count.div_ceil(request.page_size).max(1);
        Page {
            count: paged.count,
            next: (request.page < last_page).then(|| self.link(request.page + 1)),
            previous: (request.page > 1).then(|| self.link((request.page - 1).min(last_page))),
            results: paged.rows.into_iter().map(convert).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_over_the_maximum_is_refused_not_clamped() {
        assert!(page_request(None, Some(101)).is_err());
        assert!(page_request(Some(0), None).is_err());
        assert_eq!(
            page_request(None, None).unwrap(),
            PageRequest { page: 1, page_size: 20 }
        );
    }

    #[test]
    fn links_keep_filters_and_replace_the_page() {
        let links = PageLinks {
            base: String::new(),
            path: "/api/v1/doctors".into(),
            query: vec![("search".into(), "rahim khan".into())],
        };
        let page = links.page(
            PageRequest { page: 2, page_size: 10 },
            Paged {
                count: 35,
                rows: vec![1, 2],
            },
            |x| x,
        );
        assert_eq!(page.next.as_deref(), Some("/api/v1/doctors?search=rahim+khan&page=3"));
        assert_eq!(
            page.previous.as_deref(),
            Some("/api/v1/doctors?search=rahim+khan&page=1")
        );
        let last = links.page(
            PageRequest { page: 4, page_size: 10 },
            Paged {
                count: 35,
                rows: vec![1],
            },
            |x| x,
        );
        assert_eq!(last.next, None);
    }
}
