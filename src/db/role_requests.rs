//! Role-change requests.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use super::entities::role_change_request;
use super::{PageRequest, Paged, Sort, fetch_page};

/// A request by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<role_change_request::Model>, DbErr> {
    role_change_request::Entity::find_by_id(id).one(db).await
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
) -> Result<Paged<role_change_request::Model>, DbErr> {
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

/// Decide a pending request. Returns false when it was no longer pending
/// (another administrator decided it first).
pub async fn decide(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: &str,
    reviewer: Uuid,
    notes: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let update = Query::update()
        .table("role_change_requests")
        .value("status", status)
        .value("reviewed_by", reviewer)
        .value("review_notes", notes)
        .value("reviewed_at", now)
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("status").eq("pending"))
        .to_owned();
    Ok(db.execute(&update).await?.rows_affected() == 1)
}
