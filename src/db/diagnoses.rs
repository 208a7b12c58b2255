//! Diagnoses and the problem list derived from them.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use uuid::Uuid;

use super::DbResult;
use super::entities::diagnosis;
use crate::domain::{ConsultationStatus, DiagnosisStatus};

async fn all(db: &impl ConnectionTrait, query: sea_orm::sea_query::SelectStatement) -> DbResult<Vec<diagnosis::Model>> {
    Ok(
        <diagnosis::Model as sea_orm::FromQueryResult>::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?,
    )
}

/// A patient's confirmed diagnoses (not in a consultation entered in
/// error), newest first: one per code, the latest.
pub async fn confirmed_of_patient(db: &impl ConnectionTrait, patient: Uuid) -> DbResult<Vec<diagnosis::Model>> {
    let valid = Query::select()
        .column("id")
        .from("consultations")
        .and_where(Expr::col("patient_id").eq(patient))
        .and_where(Expr::col("status").ne(ConsultationStatus::EnteredInError.as_str()))
        .to_owned();
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("diagnoses")
        .and_where(Expr::col("patient_id").eq(patient))
        .and_where(Expr::col("status").eq(DiagnosisStatus::Confirmed.as_str()))
        .and_where(Expr::col("consultation_id").in_subquery(valid))
        .order_by("recorded_at", Order::Desc)
        .order_by("id", Order::Desc);
    let mut rows = all(db, query).await?;
    let mut seen = std::collections::HashSet::new();
    rows.retain(|d| seen.insert(d.code.clone()));
    Ok(rows)
}
