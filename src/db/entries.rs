//! Reading consultation entries (vital signs, diagnoses, prescriptions, notes) in lists.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::DbResult;

/// Every row of `table` in a consultation, oldest first by `order` (`recorded_at`, `measured_at`).
pub async fn of_consultation<M: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    table: &'static str,
    order: &'static str,
    consultation: Uuid,
) -> DbResult<Vec<M>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from(table)
        .and_where(Expr::col("consultation_id").eq(consultation))
        .order_by(order, Order::Asc)
        .order_by("id", Order::Asc);
    Ok(M::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?)
}

/// A patient's rows of `table` with a status among `statuses`, newest first.
pub async fn of_patient<M: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    table: &'static str,
    patient: Uuid,
    statuses: &[&str],
) -> DbResult<Vec<M>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from(table)
        .and_where(Expr::col("patient_id").eq(patient))
        .and_where(Expr::col("status").is_in(statuses.iter().copied()))
        .order_by("recorded_at", Order::Desc)
        .order_by("id", Order::Desc)
        .limit(500);
    Ok(M::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?)
}
