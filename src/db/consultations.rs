//! Consultations: opened with their appointment's start, completed with it.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use uuid::Uuid;

use super::entities::{appointment, consultation};
use super::{DbResult, PageRequest, Paged, Period, Reach, Sort, Tx, fetch_page};
use crate::domain::ConsultationStatus;

/// A new, empty consultation of `patient` with `doctor` at `facility`, started `now`.
pub fn blank(patient: Uuid, doctor: Uuid, facility: Uuid, now: DateTime<Utc>) -> consultation::Model {
    consultation::Model {
        id: Uuid::now_v7(),
        appointment_id: None,
        patient_id: patient,
        doctor_id: doctor,
        facility_id: facility,
        status: ConsultationStatus::InProgress,
        chief_complaint: String::new(),
        history_of_present_illness: String::new(),
        examination: String::new(),
        assessment: String::new(),
        plan: String::new(),
        follow_up_on: None,
        started_at: now,
        ended_at: None,
        opened_by: None,
        error_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Insert a consultation. An appointment's second one fails with
/// [`super::DbError::Unique`] (`consultations.appointment_id`).
pub async fn insert(tx: &Tx, row: consultation::Model) -> DbResult<consultation::Model> {
    super::insert_row::<consultation::ActiveModel>(tx, row.clone()).await?;
    Ok(row)
}

/// Open the consultation of `appointment`, which is starting now (in the
/// transaction that starts it). The appointment's reason for the visit is
/// the chief complaint until the doctor writes one.
pub async fn open_for(
    tx: &Tx,
    appointment: &appointment::Model,
    by: Uuid,
    now: DateTime<Utc>,
) -> DbResult<consultation::Model> {
    let mut row = blank(
        appointment.patient_id,
        appointment.doctor_id,
        appointment.facility_id,
        now,
    );
    row.appointment_id = Some(appointment.id);
    row.chief_complaint = appointment.reason.clone();
    row.opened_by = Some(by);
    insert(tx, row).await
}

/// Complete the open consultation of `appointment` (in the transaction that
/// completes the appointment) and give it back; none open is no change
/// (None). It ends `now`, or at its start if a clock was set back meanwhile.
pub async fn complete_for(tx: &Tx, appointment: Uuid, now: DateTime<Utc>) -> DbResult<Option<consultation::Model>> {
    let Some(mut row) = of_appointment(tx, appointment).await? else {
        return Ok(None);
    };
    if row.status != ConsultationStatus::InProgress {
        return Ok(None);
    }
    row.status = ConsultationStatus::Completed;
    row.ended_at = Some(std::cmp::max(now, row.started_at));
    row.version += 1;
    row.updated_at = super::next_update(row.updated_at, now);
    Ok(Some(update(tx, row).await?))
}

/// A consultation by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<consultation::Model>> {
    super::find_by_id::<consultation::Entity>(db, id).await
}

/// The consultation of an appointment, if it has one.
pub async fn of_appointment(db: &impl ConnectionTrait, appointment: Uuid) -> DbResult<Option<consultation::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("consultations")
        .and_where(Expr::col("appointment_id").eq(appointment));
    Ok(
        <consultation::Model as sea_orm::FromQueryResult>::find_by_statement(db.get_database_backend().build(&query))
            .one(db)
            .await?,
    )
}

/// A consultation by id, locked for update until the transaction ends.
pub async fn find_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<consultation::Model>> {
    super::find_for_update(tx, "consultations", id).await
}

/// Write every column of a changed consultation.
pub async fn update(tx: &Tx, row: consultation::Model) -> DbResult<consultation::Model> {
    super::update_row::<consultation::ActiveModel>(tx, row).await
}

/// Filters of the consultation list.
#[derive(Debug, Clone, Default)]
pub struct ConsultationFilter {
    /// Only this patient's.
    pub patient: Option<Uuid>,
    /// Only this doctor's.
    pub doctor: Option<Uuid>,
    /// Started in this period.
    pub started: Period,
    /// Only in these statuses (any when empty).
    pub statuses: Vec<ConsultationStatus>,
}

/// `SELECT patient_id` of the patients in the care of `column = id`
/// (`doctor_id` or `facility_id`): those with an appointment or a
/// consultation there.
pub fn patients_in_care(column: &'static str, id: Uuid) -> SelectStatement {
    let consulted = Query::select()
        .column("patient_id")
        .from("consultations")
        .and_where(Expr::col(column).eq(id))
        .to_owned();
    Query::select()
        .column("patient_id")
        .from("appointments")
        .and_where(Expr::col(column).eq(id))
        .union(sea_orm::sea_query::UnionType::Distinct, consulted)
        .to_owned()
}

/// One page of the consultations `reach` covers, newest first: all, one
/// patient's, or those of the patients a doctor (or a facility) cares for.
pub async fn list(
    db: &impl ConnectionTrait,
    reach: Reach,
    filter: &ConsultationFilter,
    page: PageRequest,
) -> DbResult<Paged<consultation::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("consultations");
    match reach {
        Reach::All => {}
        Reach::Patient(id) => {
            query.and_where(Expr::col("patient_id").eq(id));
        }
        Reach::Doctor(id) => {
            query.and_where(Expr::col("patient_id").in_subquery(patients_in_care("doctor_id", id)));
        }
        Reach::Facility(id) => {
            query.and_where(Expr::col("patient_id").in_subquery(patients_in_care("facility_id", id)));
        }
        Reach::User(_) | Reach::Nothing => {
            query.and_where(Expr::cust("1 = 0"));
        }
    }
    if let Some(patient) = filter.patient {
        query.and_where(Expr::col("patient_id").eq(patient));
    }
    if let Some(doctor) = filter.doctor {
        query.and_where(Expr::col("doctor_id").eq(doctor));
    }
    if !filter.statuses.is_empty() {
        query.and_where(Expr::col("status").is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    filter.started.restrict(&mut query, "started_at");
    let newest = [Sort {
        column: "started_at",
        descending: true,
    }];
    fetch_page(db, query, &newest, "id", page).await
}
