//! The append-only audit trail: insert and search.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::entities::audit_event;
use super::{PageRequest, Paged, Sort, fetch_page, insert_row};

/// Append one event.
pub async fn insert(db: &impl ConnectionTrait, event: audit_event::Model) -> Result<(), DbErr> {
    insert_row::<audit_event::ActiveModel>(db, event).await
}

/// Filters of the audit trail; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events of this actor.
    pub actor: Option<Uuid>,
    /// Events about objects of this type.
    pub object_type: Option<String>,
    /// Events about this object.
    pub object_id: Option<String>,
    /// Events touching this patient's data.
    pub patient: Option<Uuid>,
    /// Events of this action.
    pub action: Option<String>,
    /// allowed or denied.
    pub outcome: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// One page of events, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Paged<audit_event::Model>, DbErr> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("audit_events");
    if let Some(actor) = filter.actor {
        query.and_where(Expr::col("actor_id").eq(actor));
    }
    if let Some(kind) = &filter.object_type {
        query.and_where(Expr::col("object_type").eq(kind.as_str()));
    }
    if let Some(object) = &filter.object_id {
        query.and_where(Expr::col("object_id").eq(object.as_str()));
    }
    if let Some(patient) = filter.patient {
        query.and_where(Expr::col("patient_id").eq(patient));
    }
    if let Some(action) = &filter.action {
        query.and_where(Expr::col("action").eq(action.as_str()));
    }
    if let Some(outcome) = &filter.outcome {
        query.and_where(Expr::col("outcome").eq(outcome.as_str()));
    }
    if let Some(from) = filter.from {
        query.and_where(Expr::col("at").gte(from));
    }
    if let Some(to) = filter.to {
        query.and_where(Expr::col("at").lt(to));
    }
    // Ids are UUID v7 (time-ordered): events of the same instant keep their order.
    let newest_first = [
        Sort {
            column: "at",
            descending: true,
        },
        Sort {
            column: "id",
            descending: true,
        },
    ];
    fetch_page(db, query, &newest_first, "id", page).await
}
