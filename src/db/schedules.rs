//! Working hours and time off.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};
use uuid::Uuid;

use std::collections::HashMap;

use super::entities::{facility, service, time_off, working_hours};
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

/// Lock `doctor` for a change of their rules (as [`lock_doctor`]) and mark
/// the transaction as changing them: the node's view forgets them at commit.
pub async fn lock_for_change(tx: &Tx, doctor: Uuid) -> DbResult<()> {
    tx.invalidate(super::views::Invalidation::Doctor(doctor));
    lock_doctor(tx, doctor).await
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

/// What booking and availability need of one doctor, apart from their
/// appointments: profile, services offered, working hours, time off from two
/// days before `loaded_at` on, and the facilities the hours are at. Held in
/// each node's view ([`super::views`]).
#[derive(Debug, Clone)]
pub struct DoctorRules {
    /// The profile, with names and account state.
    pub doctor: super::directory::DoctorRow,
    /// `doctors.rules_version` when these were read (read first, so rules
    /// read later are never older than it says).
    pub rules_version: i64,
    /// Services the doctor offers.
    pub services: Vec<service::Model>,
    /// Working-hours rules, with their facility's zone.
    pub working_hours: Vec<WorkingHoursRow>,
    /// Time off ending after two days before `loaded_at`.
    pub time_off: Vec<time_off::Model>,
    /// The doctor's facility and those of their working hours.
    pub facilities: Vec<facility::Model>,
    /// When they were read.
    pub loaded_at: DateTime<Utc>,
}

impl DoctorRules {
    /// The facility `id`, if it is one of the doctor's.
    pub fn facility(&self, id: Uuid) -> Option<&facility::Model> {
        self.facilities.iter().find(|f| f.id == id)
    }

    /// The service `id`, if the doctor offers it.
    pub fn service(&self, id: Uuid) -> Option<&service::Model> {
        self.services.iter().find(|s| s.id == id)
    }
}

/// Time off further back than this is not held in [`DoctorRules`].
pub const RULES_PAST: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// The rules of `doctors` (those that exist), in six queries for any number.
pub async fn rules_of(db: &impl ConnectionTrait, doctors: &[Uuid], now: DateTime<Utc>) -> DbResult<Vec<DoctorRules>> {
    #[derive(FromQueryResult)]
    struct Version {
        id: Uuid,
        rules_version: i64,
    }
    #[derive(FromQueryResult)]
    struct Offered {
        doctor_id: Uuid,
        service_id: Uuid,
    }
    if doctors.is_empty() {
        return Ok(Vec::new());
    }
    let ids = || doctors.iter().copied();
    let versions_query = Query::select()
        .columns(["id", "rules_version"])
        .from("doctors")
        .and_where(Expr::col("id").is_in(ids()))
        .to_owned();
    let versions: HashMap<Uuid, i64> = Version::find_by_statement(db.get_database_backend().build(&versions_query))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.rules_version))
        .collect();
    let profiles = super::directory::find_doctors(db, doctors).await?;
    let offered_query = Query::select()
        .columns(["doctor_id", "service_id"])
        .from("doctor_services")
        .and_where(Expr::col("doctor_id").is_in(ids()))
        .to_owned();
    let offered = Offered::find_by_statement(db.get_database_backend().build(&offered_query))
        .all(db)
        .await?;
    let service_ids: Vec<Uuid> = offered.iter().map(|o| o.service_id).collect();
    let services: HashMap<Uuid, service::Model> = if service_ids.is_empty() {
        HashMap::new()
    } else {
        service::Entity::find()
            .filter(service::Column::Id.is_in(service_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    let hours = working_hours_of(db, doctors).await?;
    // Year 9999: the largest instant both databases compare as they should
    // (SQLite compares the text, in which a five-digit year sorts first).
    let far = chrono::NaiveDate::from_ymd_opt(9999, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(now, |t| t.and_utc());
    let time_off = time_off_near(db, doctors, now - RULES_PAST, far).await?;
    let mut facility_ids: Vec<Uuid> = hours.iter().map(|h| h.facility_id).collect();
    facility_ids.extend(profiles.iter().map(|p| p.facility_id));
    facility_ids.sort_unstable();
    facility_ids.dedup();
    let facilities = facility::Entity::find()
        .filter(facility::Column::Id.is_in(facility_ids))
        .all(db)
        .await?;
    Ok(profiles
        .into_iter()
        .filter_map(|doctor| {
            let rules_version = *versions.get(&doctor.id)?;
            let working_hours: Vec<WorkingHoursRow> =
                hours.iter().filter(|h| h.doctor_id == doctor.id).cloned().collect();
            let used = |f: &&facility::Model| {
                f.id == doctor.facility_id || working_hours.iter().any(|h| h.facility_id == f.id)
            };
            Some(DoctorRules {
                rules_version,
                services: offered
                    .iter()
                    .filter(|o| o.doctor_id == doctor.id)
                    .filter_map(|o| services.get(&o.service_id).cloned())
                    .collect(),
                time_off: time_off.iter().filter(|t| t.doctor_id == doctor.id).cloned().collect(),
                facilities: facilities.iter().filter(used).cloned().collect(),
                working_hours,
                doctor,
                loaded_at: now,
            })
        })
        .collect())
}

/// Lock `doctor` for a booking write (PostgreSQL `FOR UPDATE`; SQLite's
/// write lock already serialises writers) and read what may have changed
/// since their rules were cached: whether they take bookings, and the
/// rules' version. `None` for no such doctor.
pub async fn lock_for_booking(tx: &Tx, doctor: Uuid) -> DbResult<Option<BookingState>> {
    let backend = tx.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT d.rules_version, d.is_accepting, u.is_active FROM doctors d \
             JOIN users u ON u.id = d.user_id WHERE d.id = $1 FOR UPDATE OF d"
        }
        _ => {
            "SELECT d.rules_version, d.is_accepting, u.is_active FROM doctors d \
             JOIN users u ON u.id = d.user_id WHERE d.id = ?"
        }
    };
    Ok(
        BookingState::find_by_statement(sea_orm::Statement::from_sql_and_values(backend, sql, [doctor.into()]))
            .one(tx)
            .await?,
    )
}

/// A doctor's state as a booking write sees it under the lock.
#[derive(Debug, Clone, Copy, FromQueryResult)]
pub struct BookingState {
    /// `doctors.rules_version` now.
    pub rules_version: i64,
    /// The profile takes bookings.
    pub is_accepting: bool,
    /// The account is active.
    pub is_active: bool,
}
