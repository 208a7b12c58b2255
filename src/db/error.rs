//! Database errors → API errors. Constraint violations become 409/422 naming
//! the rule or field; a lost database becomes 503; anything else is a 500
//! whose details are only logged.

use sea_orm::{DbErr, RuntimeErr};

use crate::error::AppError;

/// A constraint the schema enforces, as the database reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A unique index: PostgreSQL's constraint name or SQLite's `table.column, …`.
    Unique(String),
    /// A foreign key.
    ForeignKey,
    /// A check constraint.
    Check,
    /// A no-overlap guard: `appointments_doctor_no_overlap` or `appointments_patient_no_overlap`.
    Overlap(String),
}

/// Recognise a constraint violation in a database error.
pub fn violation(err: &DbErr) -> Option<Violation> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return None;
    };
    let db = e.as_database_error()?;
    let code = db.code().unwrap_or_default();
    let message = db.message();
    // PostgreSQL SQLSTATEs; SQLite extended result codes.
    match code.as_ref() {
        "23P01" => db.constraint().map(|c| Violation::Overlap(c.to_owned())),
        "23505" => Some(Violation::Unique(db.constraint().unwrap_or_default().to_owned())),
        "23503" | "787" => Some(Violation::ForeignKey),
        "23514" | "275" => Some(Violation::Check),
        "2067" | "1555" => Some(Violation::Unique(
            message.trim_start_matches("UNIQUE constraint failed: ").to_owned(),
        )),
        // RAISE(ABORT, …) in a trigger; SQLite also reports some foreign-key
        // failures with the generic constraint codes.
        "1811" | "19" if message.ends_with("_no_overlap") => Some(Violation::Overlap(message.to_owned())),
        "1811" | "19" if message.contains("FOREIGN KEY") => Some(Violation::ForeignKey),
        _ => None,
    }
}

fn database_code(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return None;
    };
    e.as_database_error().and_then(|db| db.code()).map(|c| c.into_owned())
}

/// A failure worth retrying: SQLite busy past the timeout, a PostgreSQL
/// serialisation failure or deadlock. Answered 503 with `Retry-After`.
fn transient(err: &DbErr) -> bool {
    matches!(
        database_code(err).as_deref(),
        Some("5" | "261" | "517" | "40001" | "40P01")
    )
}

/// PostgreSQL refuses NUL characters in text (SQLSTATE 22021); the client sent one.
fn text_with_nul(err: &DbErr) -> bool {
    matches!(database_code(err).as_deref(), Some("22021" | "22P05"))
}

/// Known unique constraints: (PostgreSQL index name, SQLite column list, field, message).
const UNIQUES: &[(&str, &str, &str, &str)] = &[
    ("ux_users_username", "users.username", "username", "is already taken"),
    ("ux_users_email", "users.email", "email", "is already registered"),
    ("ux_users_phone", "users.phone", "phone", "is already registered"),
    (
        "ux_specialties_code",
        "specialties.code",
        "code",
        "is already used by another specialty",
    ),
    (
        "ux_specialties_name",
        "specialties.name",
        "name",
        "is already used by another specialty",
    ),
    (
        "ux_facilities_name",
        "facilities.name",
        "name",
        "is already used by another facility",
    ),
    (
        "ux_services_specialty_name",
        "services.specialty_id, services.name",
        "name",
        "is already used by another service of this specialty",
    ),
    (
        "ux_doctors_user",
        "doctors.user_id",
        "user_id",
        "already has a doctor profile",
    ),
    (
        "ux_doctors_licence",
        "doctors.licence_number",
        "licence_number",
        "is already registered to another doctor",
    ),
    (
        "ux_patients_user",
        "patients.user_id",
        "user_id",
        "is already linked to a patient record",
    ),
    (
        "ux_patients_mrn",
        "patients.medical_record_number",
        "medical_record_number",
        "is already in use",
    ),
    (
        "ux_role_change_requests_pending",
        "role_change_requests.user_id",
        "requested_role",
        "cannot be asked for while another request of this user is pending",
    ),
    (
        "ux_locations_kind_code",
        "locations.kind, locations.code",
        "code",
        "is already used by another location of this kind",
    ),
    (
        "doctor_services_pkey",
        "doctor_services.doctor_id, doctor_services.service_id",
        "service_ids",
        "lists a service twice",
    ),
];

/// Convert any database error to the API error it should be answered with.
pub fn to_app_error(err: DbErr) -> AppError {
    match violation(&err) {
        Some(Violation::Overlap(name)) if name.contains("patient") => AppError::conflict(
            "patient_unavailable",
            "the patient already has an appointment at that time",
        ),
        Some(Violation::Overlap(_)) => AppError::conflict(
            "doctor_unavailable",
            "the doctor already has an appointment at that time",
        ),
        Some(Violation::Unique(name)) => match UNIQUES.iter().find(|(pg, lite, _, _)| *pg == name || *lite == name) {
            Some((_, _, field, message)) => AppError::Conflict {
                rule: "already_exists",
                detail: format!("{field} {message}"),
            },
            None => AppError::conflict("already_exists", "a record with these values already exists"),
        },
        Some(Violation::ForeignKey) => AppError::conflict(
            "in_use",
            "the record is referenced by other records, or refers to one that does not exist",
        ),
        Some(Violation::Check) => AppError::Validation {
            detail: "a value is outside its allowed range".into(),
            errors: Default::default(),
            rule: Some("check_failed"),
        },
        None if transient(&err) => AppError::Unavailable,
        None if text_with_nul(&err) => AppError::bad_field("body", "text must not contain NUL (\\u0000) characters"),
        None => match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => AppError::Unavailable,
            DbErr::RecordNotFound(_) => AppError::NotFound("record"),
            other => AppError::Internal(anyhow::Error::new(other)),
        },
    }
}
