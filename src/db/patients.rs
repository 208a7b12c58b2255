//! Patient records.

use rand::Rng;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use super::entities::patient;
use super::{DbError, DbResult, PageRequest, Paged, Reach, Sort, Tx, contains_ci, fetch_page, or_empty};

/// A new medical record number: `CB` and 10 random digits.
pub fn new_medical_record_number() -> String {
    format!("CB{:010}", rand::rng().random_range(0..10_000_000_000u64))
}

/// An empty patient record (a fresh id, a medical record number assigned at insert).
pub fn blank(now: chrono::DateTime<chrono::Utc>) -> patient::Model {
    patient::Model {
        id: Uuid::new_v4(),
        user_id: None,
        medical_record_number: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        date_of_birth: None,
        sex: None,
        phone: None,
        email: None,
        address: String::new(),
        location_id: None,
        national_id: None,
        insurance_number: None,
        blood_group: None,
        allergies: String::new(),
        medical_history: String::new(),
        emergency_contact_name: String::new(),
        emergency_contact_phone: None,
        created_at: now,
        updated_at: now,
    }
}

/// Insert a patient; an empty `medical_record_number` gets a generated one
/// (regenerated on the rare collision).
pub async fn insert(tx: &Tx, mut row: patient::Model) -> DbResult<patient::Model> {
    if let Some(user) = row.user_id {
        tx.invalidate(super::views::Invalidation::User(user));
    }
    let generate = row.medical_record_number.is_empty();
    for _ in 0..5 {
        if generate {
            row.medical_record_number = new_medical_record_number();
        }
        // A given number is checked first (no database error, nothing in its
        // log); a savepoint keeps a collision of generated ones from aborting
        // the caller's transaction on PostgreSQL.
        if !generate {
            let mrn = [("medical_record_number", Some(row.medical_record_number.as_str()))];
            super::ensure_unique(tx, "patients", row.id, &mrn).await?;
        }
        match insert_once(tx, &row).await {
            Err(err) if generate && err.is_unique_on("medical_record_number") => continue,
            other => return other.map(|_| row),
        }
    }
    Err(DbError::Other(sea_orm::DbErr::Custom(
        "could not allocate a medical record number".into(),
    )))
}

async fn insert_once(tx: &Tx, row: &patient::Model) -> DbResult<()> {
    tx.execute_unprepared("SAVEPOINT patient_insert").await?;
    match super::insert_row::<patient::ActiveModel>(tx, row.clone()).await {
        Ok(()) => {
            tx.execute_unprepared("RELEASE SAVEPOINT patient_insert").await?;
            Ok(())
        }
        Err(err) => {
            tx.execute_unprepared("ROLLBACK TO SAVEPOINT patient_insert").await?;
            tx.execute_unprepared("RELEASE SAVEPOINT patient_insert").await?;
            Err(err)
        }
    }
}

/// A patient by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<patient::Model>> {
    super::find_by_id::<patient::Entity>(db, id).await
}

/// Write every column of a changed patient.
pub async fn update(tx: &Tx, row: patient::Model) -> DbResult<patient::Model> {
    let mrn = [("medical_record_number", Some(row.medical_record_number.as_str()))];
    super::ensure_unique(tx, "patients", row.id, &mrn).await?;
    if let Some(user) = row.user_id {
        tx.invalidate(super::views::Invalidation::User(user));
    }
    super::update_row::<patient::ActiveModel>(tx, row).await
}

/// Filters of the patient list.
#[derive(Debug, Clone, Default)]
pub struct PatientFilter {
    /// Text in names, medical record number, phone, email or national id.
    pub search: Option<String>,
    /// Text in the first or last name (FHIR `name`).
    pub name: Option<String>,
    /// This medical record number exactly (FHIR `identifier`).
    pub medical_record_number: Option<String>,
    /// Born on this date (FHIR `birthdate`).
    pub date_of_birth: Option<chrono::NaiveDate>,
    /// Text in the phone number (FHIR `phone`).
    pub phone: Option<String>,
}

super::sort_fields!(
    /// Orderings of the patient list.
    PatientOrdering,
    [
        ("last_name", "last_name"),
        ("first_name", "first_name"),
        ("created_at", "created_at"),
        ("medical_record_number", "medical_record_number"),
    ]
);

/// One page of the patients `reach` covers: all, one patient's own record,
/// the patients a doctor has (had) an appointment with, or those seen at a facility.
pub async fn list(
    db: &impl ConnectionTrait,
    reach: Reach,
    filter: &PatientFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<patient::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("patients");
    match reach {
        Reach::All => {}
        Reach::Patient(id) => {
            query.and_where(Expr::col("id").eq(id));
        }
        Reach::Doctor(doctor) => {
            query.and_where(Expr::col("id").in_subquery(patients_of("doctor_id", doctor)));
        }
        Reach::Facility(facility) => {
            query.and_where(Expr::col("id").in_subquery(patients_of("facility_id", facility)));
        }
        Reach::User(_) | Reach::Nothing => {
            query.and_where(Expr::cust("1 = 0"));
        }
    }
    if let Some(term) = &filter.search {
        query.cond_where(
            sea_orm::Condition::any()
                .add(contains_ci(Expr::col("first_name"), term))
                .add(contains_ci(Expr::col("last_name"), term))
                .add(contains_ci(Expr::col("medical_record_number"), term))
                .add(contains_ci(or_empty(Expr::col("phone")), term))
                .add(contains_ci(or_empty(Expr::col("email")), term))
                .add(contains_ci(or_empty(Expr::col("national_id")), term)),
        );
    }
    if let Some(term) = &filter.name {
        query.cond_where(
            sea_orm::Condition::any()
                .add(contains_ci(Expr::col("first_name"), term))
                .add(contains_ci(Expr::col("last_name"), term)),
        );
    }
    if let Some(mrn) = &filter.medical_record_number {
        query.and_where(Expr::col("medical_record_number").eq(mrn.as_str()));
    }
    if let Some(date) = filter.date_of_birth {
        query.and_where(Expr::col("date_of_birth").eq(date));
    }
    if let Some(term) = &filter.phone {
        query.and_where(contains_ci(or_empty(Expr::col("phone")), term));
    }
    fetch_page(db, query, order, "id", page).await
}

/// The patients in the care of `column = id` (appointments and consultations).
fn patients_of(column: &'static str, id: Uuid) -> sea_orm::sea_query::SelectStatement {
    super::consultations::patients_in_care(column, id)
}

/// Whether the doctor has (or had) an appointment or a consultation with the patient.
pub async fn treated_by(db: &impl ConnectionTrait, patient_id: Uuid, doctor_id: Uuid) -> DbResult<bool> {
    in_care(db, patient_id, "doctor_id", doctor_id).await
}

/// Whether the patient has (or had) an appointment or a consultation at the facility.
pub async fn seen_at(db: &impl ConnectionTrait, patient_id: Uuid, facility_id: Uuid) -> DbResult<bool> {
    in_care(db, patient_id, "facility_id", facility_id).await
}

async fn in_care(db: &impl ConnectionTrait, patient_id: Uuid, column: &'static str, id: Uuid) -> DbResult<bool> {
    // An appointment, or a consultation (a walk-in seen without one): one round trip.
    let there = |table: &'static str| {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(table)
                .and_where(Expr::col("patient_id").eq(patient_id))
                .and_where(Expr::col(column).eq(id))
                .to_owned(),
        )
    };
    let query = Query::select()
        .expr_as(there("appointments").or(there("consultations")), "care")
        .to_owned();
    let row = db.query_one(&query).await?;
    Ok(row.map(|r| r.try_get::<bool>("", "care")).transpose()?.unwrap_or(false))
}
