//! Vital signs: appended, never changed here.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use super::entities::vital_signs;
use super::{DbResult, PageRequest, Paged, Sort, Tx, fetch_page};

/// Insert one set of vital signs.
pub async fn insert(tx: &Tx, row: vital_signs::Model) -> DbResult<vital_signs::Model> {
    super::insert_row::<vital_signs::ActiveModel>(tx, row.clone()).await?;
    Ok(row)
}

/// One set of vital signs by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<vital_signs::Model>> {
    super::find_by_id::<vital_signs::Entity>(db, id).await
}

const NEWEST: &[Sort] = &[Sort {
    column: "measured_at",
    descending: true,
}];

/// One page of a patient's vital signs, newest first.
pub async fn of_patient(
    db: &impl ConnectionTrait,
    patient: Uuid,
    page: PageRequest,
) -> DbResult<Paged<vital_signs::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("vital_signs")
        .and_where(Expr::col("patient_id").eq(patient));
    fetch_page(db, query, NEWEST, "id", page).await
}

/// Every set of vital signs recorded in a consultation, in the order measured.
pub async fn of_consultation(db: &impl ConnectionTrait, consultation: Uuid) -> DbResult<Vec<vital_signs::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("vital_signs")
        .and_where(Expr::col("consultation_id").eq(consultation))
        .order_by("measured_at", sea_orm::sea_query::Order::Asc)
        .order_by("id", sea_orm::sea_query::Order::Asc);
    Ok(
        <vital_signs::Model as sea_orm::FromQueryResult>::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?,
    )
}
