//! Telemedicine sessions and their join/leave events.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::entities::{telemedicine_event, telemedicine_session};
use super::{DbResult, Period, Tx};
use crate::domain::TelemedicineOutcome;

/// A session by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<telemedicine_session::Model>> {
    super::find_by_id::<telemedicine_session::Entity>(db, id).await
}

/// The session of an appointment, if it has one.
pub async fn of_appointment(
    db: &impl ConnectionTrait,
    appointment: Uuid,
) -> DbResult<Option<telemedicine_session::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("telemedicine_sessions")
        .and_where(Expr::col("appointment_id").eq(appointment));
    Ok(
        telemedicine_session::Model::find_by_statement(db.get_database_backend().build(&query))
            .one(db)
            .await?,
    )
}

/// A session by id, locked until the transaction ends.
pub async fn find_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<telemedicine_session::Model>> {
    super::find_for_update(tx, "telemedicine_sessions", id).await
}

/// Insert a session; an appointment's second fails with
/// [`super::DbError::Unique`] (`telemedicine_sessions.appointment_id`).
pub async fn insert(tx: &Tx, row: telemedicine_session::Model) -> DbResult<()> {
    super::insert_row::<telemedicine_session::ActiveModel>(tx, row).await
}

/// Write every column of a changed session.
pub async fn update(tx: &Tx, row: telemedicine_session::Model) -> DbResult<telemedicine_session::Model> {
    super::update_row::<telemedicine_session::ActiveModel>(tx, row).await
}

/// Append a join or leave.
pub async fn insert_event(tx: &Tx, row: telemedicine_event::Model) -> DbResult<()> {
    super::insert_row::<telemedicine_event::ActiveModel>(tx, row).await
}

/// A session's events, in the order they happened.
pub async fn events(db: &impl ConnectionTrait, session: Uuid) -> DbResult<Vec<telemedicine_event::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("telemedicine_events")
        .and_where(Expr::col("session_id").eq(session))
        .order_by("at", Order::Asc)
        .order_by("id", Order::Asc);
    Ok(
        telemedicine_event::Model::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?,
    )
}

/// What statistics need of one session.
#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionTimes {
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<TelemedicineOutcome>,
}

/// The times and outcomes of the sessions created in `period`.
pub async fn times(db: &impl ConnectionTrait, period: Period) -> DbResult<Vec<SessionTimes>> {
    let mut query = Query::select();
    query
        .columns(["started_at", "ended_at", "outcome"])
        .from("telemedicine_sessions");
    period.restrict(&mut query, "created_at");
    Ok(SessionTimes::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?)
}
