//! Appointments and their events.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::entities::{appointment, appointment_event};
use super::{DbResult, PageRequest, Paged, Reach, Sort, Tx, fetch_page};
use crate::domain::{AppointmentKind, AppointmentStatus};

/// SQL list of the statuses that hold time.
fn live() -> Vec<&'static str> {
    AppointmentStatus::LIVE.iter().map(|s| s.as_str()).collect()
}

/// The longest an appointment may last, guarded by the database
/// (`appointments_at_most_a_day`): what overlaps `[from, to)` starts in
/// `[from - LONGEST, to)`, one bounded range of the `(doctor_id, start_at)`
/// and `(patient_id, start_at)` indexes instead of all earlier history.
pub const LONGEST: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// Keep the rows that hold time at `now`: not holds that expired by then.
fn not_expired(query: &mut SelectStatement, column: (&'static str, &'static str), now: DateTime<Utc>) {
    query.cond_where(
        sea_orm::Condition::any()
            .add(Expr::col(column).is_null())
            .add(Expr::col(column).gt(now)),
    );
}

/// Delete the holds that expired by `now` and overlap `[from, to)` for
/// `doctor` or `patient`, inside the write that needs their time: an expired
/// hold frees its time without any job having run, and the no-overlap
/// constraint still sees every live row. Returns how many were deleted.
pub async fn release_expired(
    tx: &Tx,
    doctor: Uuid,
    patient: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DbResult<u64> {
    let mut query = Query::delete();
    query
        .from_table("appointments")
        .cond_where(
            sea_orm::Condition::any()
                .add(Expr::col("doctor_id").eq(doctor))
                .add(Expr::col("patient_id").eq(patient)),
        )
        .and_where(Expr::col("hold_expires_at").lte(now))
        .and_where(Expr::col("start_at").lt(to))
        .and_where(Expr::col("start_at").gte(from - LONGEST))
        .and_where(Expr::col("end_at").gt(from));
    Ok(tx.execute(&query).await?.rows_affected())
}

/// Keep the appointments overlapping `[from, to)`, as a bounded index range.
fn overlapping(query: &mut SelectStatement, from: DateTime<Utc>, to: DateTime<Utc>) {
    query
        .and_where(Expr::col("start_at").lt(to))
        .and_where(Expr::col("start_at").gte(from - LONGEST))
        .and_where(Expr::col("end_at").gt(from));
}

/// An appointment with the names a client shows beside it (one joined row).
#[derive(Debug, Clone, FromQueryResult)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub medical_record_number: String,
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub facility_id: Uuid,
    pub facility_name: String,
    pub time_zone: String,
    pub service_id: Option<Uuid>,
    pub service_name: Option<String>,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub reason: String,
    pub notes: String,
    pub queue_number: Option<i32>,
    pub booked_by: Option<Uuid>,
    pub cancel_reason: Option<String>,
    /// Set while it is a hold (see [`release_expired`]).
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AppointmentRow {
    /// The row of an appointment just written, from what the writer holds
    /// (the same as reading it back: [`find`]).
    pub fn written(
        row: super::entities::appointment::Model,
        patient: &super::entities::patient::Model,
        doctor: &super::directory::DoctorRow,
        facility: &super::entities::facility::Model,
        service_name: Option<String>,
    ) -> AppointmentRow {
        AppointmentRow {
            id: row.id,
            patient_id: row.patient_id,
            patient_first_name: patient.first_name.clone(),
            patient_last_name: patient.last_name.clone(),
            medical_record_number: patient.medical_record_number.clone(),
            doctor_id: row.doctor_id,
            doctor_first_name: doctor.first_name.clone(),
            doctor_last_name: doctor.last_name.clone(),
            facility_id: row.facility_id,
            facility_name: facility.name.clone(),
            time_zone: facility.time_zone.clone(),
            service_id: row.service_id,
            service_name,
            start_at: row.start_at,
            end_at: row.end_at,
            status: row.status,
            kind: row.kind,
            reason: row.reason,
            notes: row.notes,
            queue_number: row.queue_number,
            booked_by: row.booked_by,
            cancel_reason: row.cancel_reason,
            hold_expires_at: row.hold_expires_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn select() -> SelectStatement {
    let mut query = Query::select();
    for column in [
        "id",
        "patient_id",
        "doctor_id",
        "facility_id",
        "service_id",
        "start_at",
        "end_at",
        "status",
        "kind",
        "reason",
        "notes",
        "queue_number",
        "booked_by",
        "cancel_reason",
        "hold_expires_at",
        "version",
        "created_at",
        "updated_at",
    ] {
        query.expr_as(Expr::cust(format!("a.{column}")), column);
    }
    query
        .expr_as(Expr::cust("p.first_name"), "patient_first_name")
        .expr_as(Expr::cust("p.last_name"), "patient_last_name")
        .expr_as(Expr::cust("p.medical_record_number"), "medical_record_number")
        .expr_as(Expr::cust("u.first_name"), "doctor_first_name")
        .expr_as(Expr::cust("u.last_name"), "doctor_last_name")
        .expr_as(Expr::cust("f.name"), "facility_name")
        .expr_as(Expr::cust("f.time_zone"), "time_zone")
        .expr_as(Expr::cust("s.name"), "service_name")
        .from_as("appointments", "a")
        .join_as(JoinType::InnerJoin, "patients", "p", Expr::cust("p.id = a.patient_id"))
        .join_as(JoinType::InnerJoin, "doctors", "d", Expr::cust("d.id = a.doctor_id"))
        .join_as(JoinType::InnerJoin, "users", "u", Expr::cust("u.id = d.user_id"))
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::cust("f.id = a.facility_id"),
        )
        .join_as(JoinType::LeftJoin, "services", "s", Expr::cust("s.id = a.service_id"))
        .to_owned()
}

/// An appointment by id, with names.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<AppointmentRow>> {
    let query = select().and_where(Expr::col(("a", "id")).eq(id)).to_owned();
    Ok(
        AppointmentRow::find_by_statement(db.get_database_backend().build(&query))
            .one(db)
            .await?,
    )
}

/// An appointment row by id, locked for update (see [`super::find_for_update`]).
pub async fn find_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<appointment::Model>> {
    super::find_for_update(tx, "appointments", id).await
}

/// Live appointments of `doctors` overlapping `[from, to)`, other than
/// `except`: (doctor, start, end).
pub async fn busy_of(
    db: &impl ConnectionTrait,
    doctors: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> DbResult<Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)>> {
    #[derive(FromQueryResult)]
    struct Busy {
        doctor_id: Uuid,
        start_at: DateTime<Utc>,
        end_at: DateTime<Utc>,
    }
    if doctors.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::select();
    query
        .columns(["doctor_id", "start_at", "end_at"])
        .from("appointments")
        .and_where(Expr::col("doctor_id").is_in(doctors.iter().copied()))
        .and_where(Expr::col("status").is_in(live()));
    overlapping(&mut query, from, to);
    not_expired(&mut query, ("appointments", "hold_expires_at"), now);
    if let Some(except) = except {
        query.and_where(Expr::col("id").ne(except));
    }
    let rows = Busy::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|b| (b.doctor_id, b.start_at, b.end_at)).collect())
}

/// Which party of a booking of `[from, to)` already has a live appointment
/// then (other than `except`): the doctor first. One query for both.
pub async fn clash(
    db: &impl ConnectionTrait,
    doctor: Uuid,
    patient: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<Uuid>,
) -> DbResult<Option<super::error::Party>> {
    #[derive(FromQueryResult)]
    struct Taken {
        doctor_id: Uuid,
    }
    let mut query = Query::select();
    query
        .column("doctor_id")
        .from("appointments")
        .cond_where(
            sea_orm::Condition::any()
                .add(Expr::col("doctor_id").eq(doctor))
                .add(Expr::col("patient_id").eq(patient)),
        )
        .and_where(Expr::col("status").is_in(live()));
    overlapping(&mut query, from, to);
    if let Some(except) = except {
        query.and_where(Expr::col("id").ne(except));
    }
    let taken = Taken::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(if taken.iter().any(|t| t.doctor_id == doctor) {
        Some(super::error::Party::Doctor)
    } else if taken.is_empty() {
        None
    } else {
        Some(super::error::Party::Patient)
    })
}

/// The next queue number of a doctor at a facility within `[from, to)` (a local day).
pub async fn next_queue_number(
    tx: &Tx,
    doctor: Uuid,
    facility: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<i32> {
    let query = Query::select()
        .expr_as(Expr::cust("COALESCE(MAX(queue_number), 0)"), "n")
        .from("appointments")
        .and_where(Expr::col("doctor_id").eq(doctor))
        .and_where(Expr::col("facility_id").eq(facility))
        .and_where(Expr::col("start_at").gte(from))
        .and_where(Expr::col("start_at").lt(to))
        .to_owned();
    let n = match tx.query_one(&query).await? {
        Some(row) => row
            .try_get::<i32>("", "n")
            .or_else(|_| row.try_get::<i64>("", "n").map(|n| n as i32))?,
        None => 0,
    };
    Ok(n + 1)
}

/// Filters of the appointment list.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    /// Only these statuses.
    pub statuses: Vec<AppointmentStatus>,
    /// Only appointments ending after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only appointments starting before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Only this doctor's.
    pub doctor: Option<Uuid>,
    /// Only this patient's.
    pub patient: Option<Uuid>,
    /// Only at this facility.
    pub facility: Option<Uuid>,
    /// Leave out the holds that expired by this instant.
    pub now: Option<DateTime<Utc>>,
}

super::sort_fields!(
    /// Orderings of the appointment list.
    AppointmentOrdering,
    [
        ("start", "a.start_at"),
        ("created_at", "a.created_at"),
        ("status", "a.status"),
        ("queue_number", "a.queue_number"),
    ]
);

/// One page of the appointments `reach` covers matching `filter`.
pub async fn list(
    db: &impl ConnectionTrait,
    reach: Reach,
    filter: &AppointmentFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<AppointmentRow>> {
    let mut query = select();
    match reach {
        Reach::All => {}
        Reach::Patient(id) => {
            query.and_where(Expr::col(("a", "patient_id")).eq(id));
        }
        Reach::Doctor(id) => {
            query.and_where(Expr::col(("a", "doctor_id")).eq(id));
        }
        Reach::Facility(id) => {
            query.and_where(Expr::col(("a", "facility_id")).eq(id));
        }
        Reach::User(_) | Reach::Nothing => {
            query.and_where(Expr::cust("1 = 0"));
        }
    }
    if !filter.statuses.is_empty() {
        query.and_where(Expr::col(("a", "status")).is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(from) = filter.from {
        query.and_where(Expr::col(("a", "end_at")).gt(from));
    }
    if let Some(to) = filter.to {
        query.and_where(Expr::col(("a", "start_at")).lt(to));
    }
    if let Some(doctor) = filter.doctor {
        query.and_where(Expr::col(("a", "doctor_id")).eq(doctor));
    }
    if let Some(patient) = filter.patient {
        query.and_where(Expr::col(("a", "patient_id")).eq(patient));
    }
    if let Some(facility) = filter.facility {
        query.and_where(Expr::col(("a", "facility_id")).eq(facility));
    }
    if let Some(now) = filter.now {
        not_expired(&mut query, ("a", "hold_expires_at"), now);
    }
    let order = if order.is_empty() {
        &[Sort {
            column: "a.start_at",
            descending: false,
        }][..]
    } else {
        order
    };
    fetch_page(db, query, order, "a.id", page).await
}

/// One page of an appointment's events, in the order they happened.
pub async fn history(
    db: &impl ConnectionTrait,
    appointment: Uuid,
    page: PageRequest,
) -> DbResult<Paged<appointment_event::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("appointment_events")
        .and_where(Expr::col("appointment_id").eq(appointment));
    fetch_page(
        db,
        query,
        &[Sort {
            column: "version",
            descending: false,
        }],
        "id",
        page,
    )
    .await
}

/// Ids of a doctor's live appointments overlapping `[from, to)` (at `facility` only, when given).
pub async fn busy_ids(
    db: &impl ConnectionTrait,
    doctor: Uuid,
    facility: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<Vec<Uuid>> {
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    let mut query = Query::select();
    query
        .column("id")
        .from("appointments")
        .and_where(Expr::col("doctor_id").eq(doctor))
        .and_where(Expr::col("status").is_in(live()))
        .and_where(Expr::col("hold_expires_at").is_null())
        .order_by("start_at", sea_orm::sea_query::Order::Asc);
    overlapping(&mut query, from, to);
    if let Some(facility) = facility {
        query.and_where(Expr::col("facility_id").eq(facility));
    }
    let rows = Id::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
