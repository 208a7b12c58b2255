//! Role-change requests.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use super::entities::role_change_request;
use super::{DbResult, PageRequest, Paged, Sort, Tx, fetch_page};

/// A request by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<role_change_request::Model>> {
    super::find_by_id::<role_change_request::Entity>(db, id).await
}

/// Filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this user's requests.
    pub user: Option<Uuid>,
    /// Only requests in this status.
    pub status: Option<String>,
}

/// One page of requests, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &RequestFilter,
    page: PageRequest,
) -> DbResult<Paged<role_change_request::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("role_change_requests");
    if let Some(user) = filter.user {
        query.and_where(Expr::col("user_id").eq(user));
    }
    if let Some(status) = &filter.status {
        query.and_where(Expr::col("status").eq(status.as_str()));
    }
    let newest_first = [Sort {
        column: "created_at",
        descending: true,
    }];
    fetch_page(db, query, &newest_first, "id", page).await
}

/// Whether `user` has a pending request.
pub async fn has_pending(db: &impl ConnectionTrait, user: Uuid) -> DbResult<bool> {
    let filter = RequestFilter {
        user: Some(user),
        status: Some("pending".into()),
    };
    Ok(list(db, &filter, PageRequest { page: 1, page_size: 1 }).await?.count > 0)
}

/// Decide a pending request. Returns false when it was no longer pending
/// (another administrator decided it first).
pub async fn decide(
    tx: &Tx,
    id: Uuid,
    status: &str,
    reviewer: Uuid,
    notes: Option<String>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let update = Query::update()
        .table("role_change_requests")
        .value("status", status)
        .value("reviewed_by", reviewer)
        .value("review_notes", notes)
        .value("reviewed_at", now)
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("status").eq("pending"))
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}
