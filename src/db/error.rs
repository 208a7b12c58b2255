//! Database errors, classified into what a caller can act on: a constraint
//! the schema enforces, a missing row, a busy or lost database, text the
//! database refuses. Nothing here knows about HTTP; [`crate::error`] maps
//! each kind to its problem document.

use sea_orm::{DbErr, RuntimeErr};

/// Result of every database function.
pub type DbResult<T> = Result<T, DbError>;

/// Which no-overlap guard refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// `appointments_doctor_no_overlap`: the doctor is taken.
    Doctor,
    /// `appointments_patient_no_overlap`: the patient is taken.
    Patient,
}

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A no-overlap guard (PostgreSQL exclusion constraint, SQLite trigger).
    #[error("overlapping appointment of the {0:?}")]
    Overlap(Party),
    /// A unique index: PostgreSQL's constraint name or SQLite's `table.column, …`.
    #[error("unique violation: {0}")]
    Unique(String),
    /// A foreign key: the row is referenced, or refers to one that does not exist.
    #[error("foreign key violation")]
    ForeignKey,
    /// A check constraint.
    #[error("check violation")]
    Check,
    /// Worth retrying: SQLite busy past its timeout, a PostgreSQL
    /// serialisation failure or deadlock.
    #[error("database busy")]
    Busy,
    /// No connection: the database is down or the pool is exhausted.
    #[error("database unavailable")]
    Unavailable,
    /// Text with a NUL character, which PostgreSQL cannot store (SQLSTATE 22021).
    #[error("text with NUL")]
    TextWithNul,
    /// A row the caller expected is not there.
    #[error("record not found")]
    NotFound,
    /// Anything else: a bug or an unexpected failure (logged, never shown).
    #[error(transparent)]
    Other(DbErr),
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
        "ux_consultations_appointment",
        "consultations.appointment_id",
        "appointment_id",
        "already has its consultation",
    ),
    (
        "ux_telemedicine_sessions_appointment",
        "telemedicine_sessions.appointment_id",
        "appointment_id",
        "already has its telemedicine session",
    ),
    (
        "doctor_services_pkey",
        "doctor_services.doctor_id, doctor_services.service_id",
        "service_ids",
        "lists a service twice",
    ),
];

impl DbError {
    /// For a unique violation of a known index: the field it guards and what the clash means.
    pub fn unique_field(&self) -> Option<(&'static str, &'static str)> {
        let DbError::Unique(name) = self else { return None };
        UNIQUES
            .iter()
            .find(|(pg, lite, _, _)| pg == name || lite == name)
            .map(|(_, _, field, message)| (*field, *message))
    }

    /// The same error, for one more of the requests it failed (a group
    /// commit's batch): variants without data are copied, a database error
    /// becomes its text.
    pub fn shared(&self) -> DbError {
        match self {
            DbError::Overlap(party) => DbError::Overlap(*party),
            DbError::Unique(name) => DbError::Unique(name.clone()),
            DbError::ForeignKey => DbError::ForeignKey,
            DbError::Check => DbError::Check,
            DbError::Busy => DbError::Busy,
            DbError::Unavailable => DbError::Unavailable,
            DbError::TextWithNul => DbError::TextWithNul,
            DbError::NotFound => DbError::NotFound,
            DbError::Other(err) => DbError::Other(DbErr::Custom(err.to_string())),
        }
    }

    /// Whether this is a unique violation of the index guarding `field`.
    pub fn is_unique_on(&self, field: &str) -> bool {
        self.unique_field().is_some_and(|(f, _)| f == field)
    }
}

fn database_code(err: &DbErr) -> Option<(String, String, Option<String>)> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return None;
    };
    let db = e.as_database_error()?;
    Some((
        db.code().map(|c| c.into_owned()).unwrap_or_default(),
        db.message().to_owned(),
        db.constraint().map(str::to_owned),
    ))
}

/// Whether the connection itself failed mid-statement (the server went away,
/// was shut down, or refuses connections for now: SQLSTATE class 08, 57P0x).
fn lost_connection(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return false;
    };
    match e.as_ref() {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_) => true,
        Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

impl From<DbErr> for DbError {
    /// Classify by PostgreSQL SQLSTATE or SQLite extended result code.
    fn from(err: DbErr) -> DbError {
        if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) || lost_connection(&err) {
            return DbError::Unavailable;
        }
        if matches!(err, DbErr::RecordNotFound(_)) {
            return DbError::NotFound;
        }
        let Some((code, message, constraint)) = database_code(&err) else {
            return DbError::Other(err);
        };
        let overlap = |name: &str| {
            DbError::Overlap(if name.contains("patient") {
                Party::Patient
            } else {
                Party::Doctor
            })
        };
        match code.as_str() {
            "23P01" => overlap(constraint.as_deref().unwrap_or_default()),
            "23505" => DbError::Unique(constraint.unwrap_or_default()),
            "23503" | "787" => DbError::ForeignKey,
            "23514" | "275" => DbError::Check,
            "2067" | "1555" => DbError::Unique(message.trim_start_matches("UNIQUE constraint failed: ").to_owned()),
            // RAISE(ABORT, …) in a trigger; SQLite also reports some foreign-key
            // failures with the generic constraint codes.
            "1811" | "19" if message.ends_with("_no_overlap") => overlap(&message),
            "1811" | "19" if message.ends_with("_at_most_a_day") => DbError::Check,
            "1811" | "19" if message.contains("FOREIGN KEY") => DbError::ForeignKey,
            "5" | "261" | "517" | "40001" | "40P01" => DbError::Busy,
            "22021" | "22P05" => DbError::TextWithNul,
            _ => DbError::Other(err),
        }
    }
}
