//! Webhook endpoints and their deliveries.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::entities::{delivery, webhook};
use super::{DbResult, Tx};

/// Every endpoint, newest first.
pub async fn list(db: &impl ConnectionTrait) -> DbResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .order_by_desc(webhook::Column::CreatedAt)
        .limit(500)
        .all(db)
        .await?)
}

/// The active endpoints.
pub async fn active(db: &impl ConnectionTrait) -> DbResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?)
}

/// Deactivate endpoint `id`; whether it exists.
pub async fn deactivate(tx: &Tx, id: Uuid, now: DateTime<Utc>) -> DbResult<bool> {
    let update = Query::update()
        .table("webhooks")
        .values([("active", false.into()), ("updated_at", now.into())])
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}

/// Replace endpoint `id`'s sealed secret `old` by `new`; whether it was still `old`.
pub async fn replace_secret(tx: &Tx, id: Uuid, old: &str, new: &str) -> DbResult<bool> {
    let update = Query::update()
        .table("webhooks")
        .value("secret_sealed", new)
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("secret_sealed").eq(old))
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}

/// The latest `limit` deliveries to endpoint `id`, newest first.
pub async fn deliveries(db: &impl ConnectionTrait, id: Uuid, limit: u64) -> DbResult<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::WebhookId.eq(id))
        .order_by_desc(delivery::Column::At)
        .limit(limit)
        .all(db)
        .await?)
}
