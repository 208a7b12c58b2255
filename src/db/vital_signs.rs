//! Reading vital signs (written through `clinical::entries`).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use super::entities::vital_signs;
use super::{DbResult, PageRequest, Paged, Sort, fetch_page};

/// One set of vital signs by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<vital_signs::Model>> {
    super::find_by_id::<vital_signs::Entity>(db, id).await
}

const NEWEST: &[Sort] = &[Sort {
    column: "measured_at",
    descending: true,
}];

/// One page of a patient's vital signs, newest first; without those
/// entered in error when `live_only`.
pub async fn of_patient(
    db: &impl ConnectionTrait,
    patient: Uuid,
    live_only: bool,
    page: PageRequest,
) -> DbResult<Paged<vital_signs::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("vital_signs")
        .and_where(Expr::col("patient_id").eq(patient));
    if live_only {
        query.and_where(Expr::col("status").ne("entered_in_error"));
    }
    fetch_page(db, query, NEWEST, "id", page).await
}
