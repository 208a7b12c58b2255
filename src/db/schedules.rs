//! Working hours and time off.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::entities::{time_off, working_hours};
use super::{DbResult, PageRequest, Paged, Sort, Tx, fetch_page};

/// A working-hours rule with its facility's time zone.
#[derive(Debug, Clone, FromQueryResult)]
pub struct WorkingHoursRow {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    pub weekday: i16,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub slot_minutes: i32,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// IANA zone of the facility.
    pub time_zone: String,
}

/// Every working-hours rule of `doctors` (with time zones), in one query.
pub async fn working_hours_of(db: &impl ConnectionTrait, doctors: &[Uuid]) -> DbResult<Vec<WorkingHoursRow>> {
    if doctors.is_empty() {
        return Ok(Vec::new());
    }
    let query = Query::select()
        .exprs_as_cols(&[
            "w.id",
            "w.doctor_id",
            "w.facility_id",
            "w.weekday",
            "w.start_time",
            "w.end_time",
            "w.slot_minutes",
            "w.valid_from",
            "w.valid_to",
            "f.time_zone",
        ])
        .from_as("working_hours", "w")
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::cust("f.id = w.facility_id"),
        )
        .and_where(Expr::cust("w.doctor_id").is_in(doctors.iter().copied()))
        .to_owned();
    Ok(
        WorkingHoursRow::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?,
    )
}

trait SelectColumns {
    fn exprs_as_cols(&mut self, columns: &[&'static str]) -> &mut Self;
}

impl SelectColumns for sea_orm::sea_query::SelectStatement {
    /// `SELECT a.x AS x, …` for qualified column names.
    fn exprs_as_cols(&mut self, columns: &[&'static str]) -> &mut Self {
        for column in columns {
            let alias = column.rsplit('.').next().unwrap_or(column);
            self.expr_as(Expr::cust(*column), alias.to_owned());
        }
        self
    }
}

/// Working hours of one doctor, ordered by weekday and start.
pub async fn list_working_hours(db: &impl ConnectionTrait, doctor: Uuid) -> DbResult<Vec<working_hours::Model>> {
    Ok(working_hours::Entity::find()
        .filter(working_hours::Column::DoctorId.eq(doctor))
        .order_by_asc(working_hours::Column::Weekday)
        .order_by_asc(working_hours::Column::StartTime)
        .order_by_asc(working_hours::Column::ValidFrom)
        .all(db)
        .await?)
}

/// A working-hours rule by id.
pub async fn find_working_hours(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<working_hours::Model>> {
    Ok(working_hours::Entity::find_by_id(id).one(db).await?)
}

/// Time off of `doctors` that may touch `[from, to)` (padded by a day each
/// side, so whole-day entries in any zone are included), in one query.
pub async fn time_off_near(
    db: &impl ConnectionTrait,
    doctors: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<Vec<time_off::Model>> {
    if doctors.is_empty() {
        return Ok(Vec::new());
    }
    let day = chrono::TimeDelta::days(1);
    Ok(time_off::Entity::find()
        .filter(time_off::Column::DoctorId.is_in(doctors.iter().copied()))
        .filter(time_off::Column::StartAt.lt(to + day))
        .filter(time_off::Column::EndAt.gt(from - day))
        .all(db)
        .await?)
}

/// Filters of the time-off list.
#[derive(Debug, Clone, Default)]
pub struct TimeOffFilter {
    /// Only entries ending after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only entries starting before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// One page of a doctor's time off, by start.
pub async fn list_time_off(
    db: &impl ConnectionTrait,
    doctor: Uuid,
    filter: &TimeOffFilter,
    page: PageRequest,
) -> DbResult<Paged<time_off::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("time_off")
        .and_where(Expr::col("doctor_id").eq(doctor));
    if let Some(from) = filter.from {
        query.and_where(Expr::col("end_at").gt(from));
    }
    if let Some(to) = filter.to {
        query.and_where(Expr::col("start_at").lt(to));
    }
    fetch_page(
        db,
        query,
        &[Sort {
            column: "start_at",
            descending: false,
        }],
        "id",
        page,
    )
    .await
}

/// A time-off entry by id.
pub async fn find_time_off(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<time_off::Model>> {
    Ok(time_off::Entity::find_by_id(id).one(db).await?)
}

/// Serialise schedule changes of one doctor: on PostgreSQL a row lock on the
/// doctor inside the caller's transaction (SQLite's write lock already does it).
pub async fn lock_doctor(tx: &Tx, doctor: Uuid) -> DbResult<()> {
    if tx.get_database_backend() == DbBackend::Postgres {
        let query = Query::select()
            .column("id")
            .from("doctors")
            .and_where(Expr::col("id").eq(doctor))
            .lock(sea_orm::sea_query::LockType::Update)
            .to_owned();
        tx.query_one(&query).await?;
    }
    Ok(())
}
