//! The facts reports are built from: one joined query per kind of fact,
//! each row carrying its facility's time zone so that the service can count
//! it on the right local day. Rows are read within a UTC window that
//! surely covers the report's local days; the service keeps the exact days.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use uuid::Uuid;

use super::DbResult;
use crate::domain::{AppointmentKind, AppointmentStatus, PaymentMethod, TelemedicineOutcome};

/// What a report is about: a UTC window and the optional facility, doctor
/// and specialty filters.
#[derive(Debug, Clone, Copy)]
pub struct ReportFilter {
    /// From this instant (inclusive).
    pub from: DateTime<Utc>,
    /// Before this instant.
    pub to: DateTime<Utc>,
    pub facility: Option<Uuid>,
    pub doctor: Option<Uuid>,
    pub specialty: Option<Uuid>,
}

impl ReportFilter {
    /// Keep rows whose `at` is in the window and whose facility, doctor and
    /// specialty columns (when the query has them) match.
    fn apply(
        &self,
        query: &mut SelectStatement,
        at: (&'static str, &'static str),
        facility: Option<(&'static str, &'static str)>,
        doctor: Option<(&'static str, &'static str)>,
        specialty: Option<(&'static str, &'static str)>,
    ) {
        query
            .and_where(Expr::col(at).gte(self.from))
            .and_where(Expr::col(at).lt(self.to));
        if let (Some(id), Some(col)) = (self.facility, facility) {
            query.and_where(Expr::col(col).eq(id));
        }
        if let (Some(id), Some(col)) = (self.doctor, doctor) {
            query.and_where(Expr::col(col).eq(id));
        }
        if let (Some(id), Some(col)) = (self.specialty, specialty) {
            query.and_where(Expr::col(col).eq(id));
        }
    }
}

async fn all<T: FromQueryResult>(db: &impl ConnectionTrait, query: &SelectStatement) -> DbResult<Vec<T>> {
    Ok(T::find_by_statement(db.get_database_backend().build(query))
        .all(db)
        .await?)
}

/// Join the doctor (`d`), their account (`u`, for the name) and specialty
/// (`s`) to a query whose doctor id is `doctor`, and the facility (`f`) of `facility`.
fn with_doctor_and_facility(
    query: &mut SelectStatement,
    doctor: (&'static str, &'static str),
    facility: (&'static str, &'static str),
) {
    query
        .expr_as(Expr::col(("f", "time_zone")), "time_zone")
        .expr_as(Expr::col(("f", "name")), "facility_name")
        .expr_as(Expr::col(("d", "id")), "doctor_id")
        .expr_as(Expr::col(("u", "first_name")), "doctor_first_name")
        .expr_as(Expr::col(("u", "last_name")), "doctor_last_name")
        .expr_as(Expr::col(("s", "id")), "specialty_id")
        .expr_as(Expr::col(("s", "name")), "specialty_name")
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(facility),
        )
        .join_as(
            JoinType::InnerJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(doctor),
        )
        .join_as(
            JoinType::InnerJoin,
            "users",
            "u",
            Expr::col(("u", "id")).equals(("d", "user_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "specialties",
            "s",
            Expr::col(("s", "id")).equals(("d", "specialty_id")),
        );
}

/// One appointment, with where, who and when.
#[derive(Debug, Clone, FromQueryResult)]
pub struct AppointmentFact {
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub facility_id: Uuid,
    pub time_zone: String,
    pub facility_name: String,
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialty_id: Uuid,
    pub specialty_name: String,
}

/// Each appointment starting in the window, streamed to `each` (a long
/// period is never held in memory).
pub async fn each_appointment(
    db: &DatabaseConnection,
    filter: &ReportFilter,
    mut each: impl FnMut(AppointmentFact),
) -> DbResult<()> {
    use futures_util::TryStreamExt;
    let mut query = Query::select();
    query
        .columns([
            ("a", "start_at"),
            ("a", "end_at"),
            ("a", "status"),
            ("a", "kind"),
            ("a", "facility_id"),
        ])
        .from_as("appointments", "a")
        .and_where(Expr::col(("a", "hold_expires_at")).is_null());
    with_doctor_and_facility(&mut query, ("a", "doctor_id"), ("a", "facility_id"));
    filter.apply(
        &mut query,
        ("a", "start_at"),
        Some(("a", "facility_id")),
        Some(("a", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    let statement = db.get_database_backend().build(&query);
    let mut rows = AppointmentFact::find_by_statement(statement).stream(db).await?;
    while let Some(row) = rows.try_next().await? {
        each(row);
    }
    Ok(())
}

/// A payment taken (positive) or a refund paid out (negative), with what
/// it was for: the bill's appointment's doctor and service, when it has one.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MoneyFact {
    pub at: DateTime<Utc>,
    /// Minor units; negative for a refund.
    pub amount_minor: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub is_refund: bool,
    pub time_zone: String,
    pub doctor_id: Option<Uuid>,
    pub doctor_first_name: Option<String>,
    pub doctor_last_name: Option<String>,
    pub service_name: Option<String>,
}

fn money_query(refunds: bool, filter: &ReportFilter) -> SelectStatement {
    let mut query = Query::select();
    if refunds {
        query
            .expr_as(Expr::col(("r", "decided_at")), "at")
            .expr_as(Expr::col(("r", "amount_minor")).mul(-1), "amount_minor")
            .expr_as(Expr::col(("r", "currency")), "currency")
            .expr_as(Expr::val(true), "is_refund")
            .from_as("refunds", "r")
            .join_as(
                JoinType::InnerJoin,
                "payments",
                "p",
                Expr::col(("p", "id")).equals(("r", "payment_id")),
            )
            .and_where(Expr::col(("r", "status")).eq("completed"));
    } else {
        query
            .expr_as(Expr::col(("p", "received_at")), "at")
            .expr_as(Expr::col(("p", "amount_minor")), "amount_minor")
            .expr_as(Expr::col(("p", "currency")), "currency")
            .expr_as(Expr::val(false), "is_refund")
            .from_as("payments", "p");
    }
    query
        .expr_as(Expr::col(("p", "method")), "method")
        .expr_as(Expr::col(("f", "time_zone")), "time_zone")
        .expr_as(Expr::col(("a", "doctor_id")), "doctor_id")
        .expr_as(Expr::col(("u", "first_name")), "doctor_first_name")
        .expr_as(Expr::col(("u", "last_name")), "doctor_last_name")
        .expr_as(Expr::col(("sv", "name")), "service_name")
        .join_as(
            JoinType::InnerJoin,
            "bills",
            "b",
            Expr::col(("b", "id")).equals(("p", "bill_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("b", "facility_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "appointments",
            "a",
            Expr::col(("a", "id")).equals(("b", "appointment_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("a", "doctor_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "users",
            "u",
            Expr::col(("u", "id")).equals(("d", "user_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "services",
            "sv",
            Expr::col(("sv", "id")).equals(("a", "service_id")),
        );
    let at = if refunds {
        ("r", "decided_at")
    } else {
        ("p", "received_at")
    };
    filter.apply(
        &mut query,
        at,
        Some(("b", "facility_id")),
        Some(("a", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    query
}

/// Payments received and refunds paid out in the window.
pub async fn money(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<MoneyFact>> {
    let mut facts: Vec<MoneyFact> = all(db, &money_query(false, filter)).await?;
    facts.extend(all::<MoneyFact>(db, &money_query(true, filter)).await?);
    Ok(facts)
}

/// A bill (not a draft) and what is paid of it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct BillFact {
    pub status: crate::domain::BillStatus,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub currency: String,
    pub issued_at: DateTime<Utc>,
    pub time_zone: String,
}

/// Bills issued in the window (drafts are not bills yet).
pub async fn bills(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<BillFact>> {
    let mut query = Query::select();
    query
        .columns([
            ("b", "status"),
            ("b", "total_minor"),
            ("b", "paid_minor"),
            ("b", "currency"),
            ("b", "issued_at"),
        ])
        .expr_as(Expr::col(("f", "time_zone")), "time_zone")
        .from_as("bills", "b")
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("b", "facility_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "appointments",
            "a",
            Expr::col(("a", "id")).equals(("b", "appointment_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("a", "doctor_id")),
        )
        .and_where(Expr::col(("b", "issued_at")).is_not_null());
    filter.apply(
        &mut query,
        ("b", "issued_at"),
        Some(("b", "facility_id")),
        Some(("a", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    all(db, &query).await
}

/// A prescription (not entered in error), with its consultation's doctor and facility.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PrescriptionFact {
    pub medication: String,
    pub patient_id: Uuid,
    pub quantity: i32,
    pub recorded_at: DateTime<Utc>,
    pub time_zone: String,
}

/// Prescriptions recorded in the window.
pub async fn prescriptions(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<PrescriptionFact>> {
    let mut query = Query::select();
    query
        .columns([
            ("p", "medication"),
            ("p", "patient_id"),
            ("p", "quantity"),
            ("p", "recorded_at"),
        ])
        .expr_as(Expr::col(("f", "time_zone")), "time_zone")
        .from_as("prescriptions", "p")
        .join_as(
            JoinType::InnerJoin,
            "consultations",
            "c",
            Expr::col(("c", "id")).equals(("p", "consultation_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("c", "facility_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("c", "doctor_id")),
        )
        .and_where(Expr::col(("p", "error_reason")).is_null());
    filter.apply(
        &mut query,
        ("p", "recorded_at"),
        Some(("c", "facility_id")),
        Some(("c", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    all(db, &query).await
}

/// A patient record: when it was registered and where the patient lives.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PatientFact {
    pub created_at: DateTime<Utc>,
    pub location_id: Option<Uuid>,
}

/// Patient records registered in the window.
pub async fn patients(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<PatientFact>> {
    let mut query = Query::select();
    query
        .columns([("p", "created_at"), ("p", "location_id")])
        .from_as("patients", "p");
    filter.apply(&mut query, ("p", "created_at"), None, None, None);
    all(db, &query).await
}

/// A teleconsultation session, with its doctor and facility.
#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionFact {
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<TelemedicineOutcome>,
    pub time_zone: String,
    pub facility_name: String,
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialty_id: Uuid,
    pub specialty_name: String,
}

/// Teleconsultation sessions created in the window.
pub async fn sessions(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<SessionFact>> {
    let mut query = Query::select();
    query
        .columns([
            ("t", "created_at"),
            ("t", "started_at"),
            ("t", "ended_at"),
            ("t", "outcome"),
        ])
        .from_as("telemedicine_sessions", "t");
    with_doctor_and_facility(&mut query, ("t", "doctor_id"), ("t", "facility_id"));
    filter.apply(
        &mut query,
        ("t", "created_at"),
        Some(("t", "facility_id")),
        Some(("t", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    all(db, &query).await
}

/// A completed consultation's doctor, length and local day.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ConsultationFact {
    pub doctor_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub time_zone: String,
}

/// Consultations started in the window that have ended.
pub async fn consultations(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<ConsultationFact>> {
    let mut query = Query::select();
    query
        .columns([("c", "doctor_id"), ("c", "started_at"), ("c", "ended_at")])
        .expr_as(Expr::col(("f", "time_zone")), "time_zone")
        .from_as("consultations", "c")
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("c", "facility_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("c", "doctor_id")),
        )
        .and_where(Expr::col(("c", "ended_at")).is_not_null())
        .and_where(Expr::col(("c", "status")).eq("completed"));
    filter.apply(
        &mut query,
        ("c", "started_at"),
        Some(("c", "facility_id")),
        Some(("c", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    all(db, &query).await
}

/// A doctor a report may list, with names.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DoctorFact {
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialty_name: String,
    pub facility_id: Uuid,
}

/// The doctors the filter names (all doctors when it names none).
pub async fn doctors(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<Vec<DoctorFact>> {
    let mut query = Query::select();
    query
        .expr_as(Expr::col(("d", "id")), "doctor_id")
        .expr_as(Expr::col(("u", "first_name")), "doctor_first_name")
        .expr_as(Expr::col(("u", "last_name")), "doctor_last_name")
        .expr_as(Expr::col(("s", "name")), "specialty_name")
        .expr_as(Expr::col(("d", "facility_id")), "facility_id")
        .from_as("doctors", "d")
        .join_as(
            JoinType::InnerJoin,
            "users",
            "u",
            Expr::col(("u", "id")).equals(("d", "user_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "specialties",
            "s",
            Expr::col(("s", "id")).equals(("d", "specialty_id")),
        );
    if let Some(id) = filter.doctor {
        query.and_where(Expr::col(("d", "id")).eq(id));
    }
    if let Some(id) = filter.specialty {
        query.and_where(Expr::col(("d", "specialty_id")).eq(id));
    }
    if let Some(id) = filter.facility {
        query.and_where(Expr::col(("d", "facility_id")).eq(id));
    }
    all(db, &query).await
}

/// The time zones of the facilities (distinct).
pub async fn facility_zones(db: &impl ConnectionTrait) -> DbResult<Vec<String>> {
    #[derive(FromQueryResult)]
    struct Zone {
        time_zone: String,
    }
    let mut query = Query::select();
    query.distinct().column("time_zone").from("facilities");
    Ok(all::<Zone>(db, &query)
        .await?
        .into_iter()
        .map(|z| z.time_zone)
        .collect())
}

/// A location of the administrative tree (division, district, upazila).
#[derive(Debug, Clone, FromQueryResult)]
pub struct LocationFact {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: crate::domain::LocationKind,
    pub name: String,
}

/// Every location (a few thousand rows; read once per patients report).
pub async fn locations(db: &impl ConnectionTrait) -> DbResult<Vec<LocationFact>> {
    let mut query = Query::select();
    query.columns(["id", "parent_id", "kind", "name"]).from("locations");
    all(db, &query).await
}

/// One appointment of an export, with its parties' names.
#[derive(Debug, Clone, FromQueryResult)]
pub struct AppointmentLine {
    pub id: Uuid,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub queue_number: Option<i32>,
    pub time_zone: String,
    pub facility_name: String,
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialty_id: Uuid,
    pub specialty_name: String,
    pub service_name: Option<String>,
    pub medical_record_number: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
}

/// Up to `limit` appointments of the window by start (then id), after the
/// appointment `after` (its start and id): one page of a keyset walk.
pub async fn appointment_lines(
    db: &impl ConnectionTrait,
    filter: &ReportFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> DbResult<Vec<AppointmentLine>> {
    let mut query = Query::select();
    query
        .columns([
            ("a", "id"),
            ("a", "start_at"),
            ("a", "end_at"),
            ("a", "status"),
            ("a", "kind"),
            ("a", "queue_number"),
        ])
        .expr_as(Expr::col(("sv", "name")), "service_name")
        .expr_as(Expr::col(("p", "medical_record_number")), "medical_record_number")
        .expr_as(Expr::col(("p", "first_name")), "patient_first_name")
        .expr_as(Expr::col(("p", "last_name")), "patient_last_name")
        .from_as("appointments", "a")
        .and_where(Expr::col(("a", "hold_expires_at")).is_null())
        .join_as(
            JoinType::InnerJoin,
            "patients",
            "p",
            Expr::col(("p", "id")).equals(("a", "patient_id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "services",
            "sv",
            Expr::col(("sv", "id")).equals(("a", "service_id")),
        );
    with_doctor_and_facility(&mut query, ("a", "doctor_id"), ("a", "facility_id"));
    filter.apply(
        &mut query,
        ("a", "start_at"),
        Some(("a", "facility_id")),
        Some(("a", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    if let Some((start, id)) = after {
        query.and_where(
            Expr::col(("a", "start_at")).gt(start).or(Expr::col(("a", "start_at"))
                .eq(start)
                .and(Expr::col(("a", "id")).gt(id))),
        );
    }
    query
        .order_by(("a", "start_at"), sea_orm::Order::Asc)
        .order_by(("a", "id"), sea_orm::Order::Asc)
        .limit(limit);
    all(db, &query).await
}

/// How many appointments start in the window (before a PDF is made).
pub async fn count_appointments(db: &impl ConnectionTrait, filter: &ReportFilter) -> DbResult<u64> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let mut query = Query::select();
    query
        .expr_as(Expr::col(("a", "id")).count(), "n")
        .from_as("appointments", "a")
        .and_where(Expr::col(("a", "hold_expires_at")).is_null())
        .join_as(
            JoinType::InnerJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("a", "doctor_id")),
        );
    filter.apply(
        &mut query,
        ("a", "start_at"),
        Some(("a", "facility_id")),
        Some(("a", "doctor_id")),
        Some(("d", "specialty_id")),
    );
    Ok(all::<Count>(db, &query).await?.first().map_or(0, |c| c.n as u64))
}

/// One patient record of an export: demographic and contact fields only.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PatientLine {
    pub medical_record_number: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub sex: Option<crate::domain::Sex>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: String,
    pub location_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Up to `limit` patients registered in `[from, to)` (unbounded when
/// `None`), by medical record number after `after`.
pub async fn patient_lines(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    after: Option<&str>,
    limit: u64,
) -> DbResult<Vec<PatientLine>> {
    let mut query = Query::select();
    query
        .columns([
            ("p", "medical_record_number"),
            ("p", "first_name"),
            ("p", "last_name"),
            ("p", "date_of_birth"),
            ("p", "sex"),
            ("p", "phone"),
            ("p", "email"),
            ("p", "address"),
            ("p", "created_at"),
        ])
        .expr_as(Expr::col(("l", "name")), "location_name")
        .from_as("patients", "p")
        .join_as(
            JoinType::LeftJoin,
            "locations",
            "l",
            Expr::col(("l", "id")).equals(("p", "location_id")),
        );
    if let Some(from) = from {
        query.and_where(Expr::col(("p", "created_at")).gte(from));
    }
    if let Some(to) = to {
        query.and_where(Expr::col(("p", "created_at")).lt(to));
    }
    if let Some(after) = after {
        query.and_where(Expr::col(("p", "medical_record_number")).gt(after));
    }
    query
        .order_by(("p", "medical_record_number"), sea_orm::Order::Asc)
        .limit(limit);
    all(db, &query).await
}

/// An appointment on a day's board: when, whose, its queue number.
#[derive(Debug, Clone, FromQueryResult)]
pub struct BoardLine {
    pub id: Uuid,
    pub start_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub queue_number: Option<i32>,
    pub patient_id: Uuid,
    pub medical_record_number: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub facility_name: String,
}

/// Appointments starting in `[from, to)` at `facility`, of `doctor`, of
/// `patient` (each if given), by start, at most `limit`.
pub async fn board(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    who: (Option<Uuid>, Option<Uuid>, Option<Uuid>),
    statuses: &[AppointmentStatus],
    limit: u64,
) -> DbResult<Vec<BoardLine>> {
    let (facility, doctor, patient) = who;
    let mut query = Query::select();
    query
        .columns([
            ("a", "id"),
            ("a", "start_at"),
            ("a", "status"),
            ("a", "kind"),
            ("a", "queue_number"),
            ("a", "patient_id"),
        ])
        .expr_as(Expr::col(("p", "medical_record_number")), "medical_record_number")
        .expr_as(Expr::col(("p", "first_name")), "patient_first_name")
        .expr_as(Expr::col(("p", "last_name")), "patient_last_name")
        .expr_as(Expr::col(("d", "id")), "doctor_id")
        .expr_as(Expr::col(("u", "first_name")), "doctor_first_name")
        .expr_as(Expr::col(("u", "last_name")), "doctor_last_name")
        .expr_as(Expr::col(("f", "name")), "facility_name")
        .from_as("appointments", "a")
        .and_where(Expr::col(("a", "hold_expires_at")).is_null())
        .join_as(
            JoinType::InnerJoin,
            "patients",
            "p",
            Expr::col(("p", "id")).equals(("a", "patient_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("a", "doctor_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "users",
            "u",
            Expr::col(("u", "id")).equals(("d", "user_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("a", "facility_id")),
        )
        .and_where(Expr::col(("a", "start_at")).gte(from));
    if let Some(to) = to {
        query.and_where(Expr::col(("a", "start_at")).lt(to));
    }
    for (column, id) in [
        ("facility_id", facility),
        ("doctor_id", doctor),
        ("patient_id", patient),
    ] {
        if let Some(id) = id {
            query.and_where(Expr::col(("a", column)).eq(id));
        }
    }
    if !statuses.is_empty() {
        query.and_where(Expr::col(("a", "status")).is_in(statuses.iter().map(|s| s.as_str())));
    }
    query
        .order_by(("a", "start_at"), sea_orm::Order::Asc)
        .order_by(("a", "id"), sea_orm::Order::Asc)
        .limit(limit);
    all(db, &query).await
}

/// When each of `appointments` was checked in and started (the first such events).
pub async fn arrival_times(
    db: &impl ConnectionTrait,
    appointments: &[Uuid],
) -> DbResult<std::collections::HashMap<Uuid, (Option<DateTime<Utc>>, Option<DateTime<Utc>>)>> {
    #[derive(FromQueryResult)]
    struct Event {
        appointment_id: Uuid,
        action: crate::domain::AppointmentAction,
        created_at: DateTime<Utc>,
    }
    let mut times = std::collections::HashMap::new();
    if appointments.is_empty() {
        return Ok(times);
    }
    let mut query = Query::select();
    query
        .columns(["appointment_id", "action", "created_at"])
        .from("appointment_events")
        .and_where(Expr::col("appointment_id").is_in(appointments.iter().copied()))
        .and_where(Expr::col("action").is_in(["checked_in", "started"]))
        .order_by("created_at", sea_orm::Order::Asc);
    for e in all::<Event>(db, &query).await? {
        let entry: &mut (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = times.entry(e.appointment_id).or_default();
        match e.action {
            crate::domain::AppointmentAction::CheckedIn => {
                entry.0.get_or_insert(e.created_at);
            }
            _ => {
                entry.1.get_or_insert(e.created_at);
            }
        }
    }
    Ok(times)
}

/// What is owed on issued and part-paid bills, per currency: (currency, bills, outstanding minor units).
pub async fn unpaid(
    db: &impl ConnectionTrait,
    facility: Option<Uuid>,
    patient: Option<Uuid>,
) -> DbResult<Vec<(String, i64, i64)>> {
    #[derive(FromQueryResult)]
    struct Owed {
        currency: String,
        bills: i64,
        outstanding: i64,
    }
    let mut query = Query::select();
    query
        .column("currency")
        .expr_as(Expr::col("id").count(), "bills")
        // SUM of BIGINT is NUMERIC on PostgreSQL: cast back.
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(total_minor - paid_minor), 0) AS BIGINT)"),
            "outstanding",
        )
        .from("bills")
        .and_where(Expr::col("status").is_in(["issued", "partially_paid"]))
        .group_by_col("currency")
        .order_by("currency", sea_orm::Order::Asc);
    if let Some(id) = facility {
        query.and_where(Expr::col("facility_id").eq(id));
    }
    if let Some(id) = patient {
        query.and_where(Expr::col("patient_id").eq(id));
    }
    Ok(all::<Owed>(db, &query)
        .await?
        .into_iter()
        .map(|o| (o.currency, o.bills, o.outstanding))
        .collect())
}

/// A patient's active prescriptions (not entered in error), newest first.
pub async fn active_prescriptions(
    db: &impl ConnectionTrait,
    patient: Uuid,
) -> DbResult<Vec<crate::db::entities::prescription::Model>> {
    use crate::db::entities::prescription;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    Ok(prescription::Entity::find()
        .filter(prescription::Column::PatientId.eq(patient))
        .filter(prescription::Column::Status.eq(crate::domain::PrescriptionStatus::Active))
        .filter(prescription::Column::ErrorReason.is_null())
        .order_by_desc(prescription::Column::RecordedAt)
        .all(db)
        .await?)
}

/// Patient records registered since `from`.
pub async fn count_patients_since(db: &impl ConnectionTrait, from: DateTime<Utc>) -> DbResult<u64> {
    use crate::db::entities::patient;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    Ok(patient::Entity::find()
        .filter(patient::Column::CreatedAt.gte(from))
        .count(db)
        .await?)
}

/// Stored monthly reports, newest month first, of `doctor` and `month` when given.
pub async fn monthly_reports(
    db: &impl ConnectionTrait,
    doctor: Option<Uuid>,
    month: Option<&str>,
    page: super::PageRequest,
) -> DbResult<super::Paged<crate::db::entities::monthly_report::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("monthly_reports");
    if let Some(doctor) = doctor {
        query.and_where(Expr::col("doctor_id").eq(doctor));
    }
    if let Some(month) = month {
        query.and_where(Expr::col("month").eq(month));
    }
    let order = [super::Sort {
        column: "month",
        descending: true,
    }];
    super::fetch_page(db, query, &order, "id", page).await
}

/// A stored monthly report by id.
pub async fn monthly_report(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> DbResult<Option<crate::db::entities::monthly_report::Model>> {
    super::find_by_id::<crate::db::entities::monthly_report::Entity>(db, id).await
}

/// A doctor's stored report of `month`.
pub async fn monthly_report_of(
    db: &impl ConnectionTrait,
    doctor: Uuid,
    month: &str,
) -> DbResult<Option<crate::db::entities::monthly_report::Model>> {
    use crate::db::entities::monthly_report::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(Entity::find()
        .filter(Column::DoctorId.eq(doctor))
        .filter(Column::Month.eq(month))
        .one(db)
        .await?)
}

/// Store a monthly report, or nothing if the doctor's month is stored
/// already (the unique index decides); whether it was stored.
pub async fn insert_monthly_report(tx: &super::Tx, row: crate::db::entities::monthly_report::Model) -> DbResult<bool> {
    use crate::db::entities::monthly_report::{Column, Entity};
    use sea_orm::sea_query::OnConflict;
    use sea_orm::{EntityTrait, IntoActiveModel};
    let inserted = Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::columns([Column::DoctorId, Column::Month])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(tx)
        .await?;
    Ok(inserted == 1)
}

/// Replace a stored monthly report's content.
pub async fn replace_monthly_report(
    tx: &super::Tx,
    row: crate::db::entities::monthly_report::Model,
) -> DbResult<crate::db::entities::monthly_report::Model> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    Ok(row.into_active_model().reset_all().update(tx).await?)
}

/// The doctors whose facility is in the time zone `zone`.
pub async fn doctors_in_zone(db: &impl ConnectionTrait, zone: &str) -> DbResult<Vec<Uuid>> {
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    let mut query = Query::select();
    query
        .column(("d", "id"))
        .from_as("doctors", "d")
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("d", "facility_id")),
        )
        .and_where(Expr::col(("f", "time_zone")).eq(zone))
        .order_by(("d", "id"), sea_orm::Order::Asc);
    Ok(all::<Id>(db, &query).await?.into_iter().map(|r| r.id).collect())
}
