//! Patient, Practitioner and Appointment (FHIR R4) from Carebook's rows,
//! and the reads and searches that serve them through the one policy.

use serde_json::{Value, json};
use uuid::Uuid;

use super::search::{self, Params};
use super::{LICENCE_SYSTEM, MRN_SYSTEM};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, FieldView, reach};
use crate::booking::appointments as booking;
use crate::db::appointments::{self, AppointmentFilter, AppointmentRow};
use crate::db::directory::{self, DoctorFilter, DoctorRow};
use crate::db::entities::patient;
use crate::db::patients::PatientFilter;
use crate::db::{self, Paged, audit};
use crate::domain::AppointmentStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Search parameters of Patient.
pub const PATIENT_SEARCH: &[&str] = &["_id", "identifier", "name", "birthdate", "phone"];
/// Search parameters of Practitioner.
pub const PRACTITIONER_SEARCH: &[&str] = &["_id", "identifier", "name", "active"];
/// Search parameters of Appointment.
pub const APPOINTMENT_SEARCH: &[&str] = &["_id", "patient", "practitioner", "date", "status", "location"];

/// The FHIR `AppointmentStatus` of ours (DESIGN §4).
pub fn appointment_status(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Pending => "pending",
        AppointmentStatus::Confirmed => "booked",
        AppointmentStatus::CheckedIn => "checked-in",
        AppointmentStatus::InProgress => "arrived",
        AppointmentStatus::Completed => "fulfilled",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::NoShow => "noshow",
    }
}

/// Our status of a FHIR `AppointmentStatus` code, if it maps to one.
pub fn status_of(code: &str) -> Option<AppointmentStatus> {
    AppointmentStatus::LIVE
        .iter()
        .chain(&[
            AppointmentStatus::Completed,
            AppointmentStatus::Cancelled,
            AppointmentStatus::NoShow,
        ])
        .copied()
        .find(|s| appointment_status(*s) == code)
}

fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A Patient resource, showing only the fields `view` may see: identifier
/// (MRN, type `MR`), name, gender, birthDate, telecom (phone, email), address.
pub fn patient(row: &patient::Model, view: FieldView) -> Value {
    let mut out = json!({
        "resourceType": "Patient",
        "id": row.id.to_string(),
        "meta": {"lastUpdated": instant(row.updated_at)},
    });
    if let Some(mrn) = view.show("medical_record_number", &row.medical_record_number) {
        out["identifier"] = json!([{
            "use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": MRN_SYSTEM,
            "value": mrn,
        }]);
    }
    if view.shows("first_name") {
        out["name"] = json!([{"use": "official", "family": row.last_name, "given": [row.first_name]}]);
    }
    if let Some(Some(sex)) = view.show("sex", row.sex) {
        out["gender"] = json!(sex.as_str());
    }
    if let Some(Some(date)) = view.show("date_of_birth", row.date_of_birth) {
        out["birthDate"] = json!(date.format("%Y-%m-%d").to_string());
    }
    let mut telecom = Vec::new();
    if let Some(Some(phone)) = view.show("phone", row.phone.as_ref()) {
        telecom.push(json!({"system": "phone", "value": phone}));
    }
    if let Some(Some(email)) = view.show("email", row.email.as_ref()) {
        telecom.push(json!({"system": "email", "value": email}));
    }
    if !telecom.is_empty() {
        out["telecom"] = Value::Array(telecom);
    }
    if let Some(address) = view.show("address", &row.address).filter(|a| !a.trim().is_empty()) {
        out["address"] = json!([{"text": address}]);
    }
    out
}

/// A Practitioner resource: identifier (licence number), name, active.
pub fn practitioner(row: &DoctorRow) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": row.id.to_string(),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "identifier": [{"system": LICENCE_SYSTEM, "value": row.licence_number}],
        "active": row.is_active,
        "name": [{"family": row.last_name, "given": [row.first_name], "prefix": ["Dr"]}],
    })
}

/// An Appointment resource: status (DESIGN §4), start/end/minutesDuration,
/// the service as serviceType, the reason as description, and the patient,
/// practitioner and location as participants.
pub fn appointment(row: &AppointmentRow) -> Value {
    let status = appointment_status(row.status);
    let participation = if row.status == AppointmentStatus::Pending {
        "tentative"
    } else {
        "accepted"
    };
    let mut out = json!({
        "resourceType": "Appointment",
        "id": row.id.to_string(),
        "meta": {"versionId": row.version.to_string(), "lastUpdated": instant(row.updated_at)},
        "status": status,
        "start": instant(row.start_at),
        "end": instant(row.end_at),
        "minutesDuration": (row.end_at - row.start_at).num_minutes(),
        "created": instant(row.created_at),
        "participant": [
            {
                "actor": {"reference": format!("Patient/{}", row.patient_id),
                          "display": format!("{} {}", row.patient_first_name, row.patient_last_name)},
                "required": "required",
                "status": participation,
            },
            {
                "actor": {"reference": format!("Practitioner/{}", row.doctor_id),
                          "display": format!("Dr {} {}", row.doctor_first_name, row.doctor_last_name)},
                "required": "required",
                "status": participation,
            },
            {
                "actor": {"reference": format!("Location/{}", row.facility_id), "display": row.facility_name},
                "required": "required",
                "status": participation,
            },
        ],
    });
    if let (Some(id), Some(name)) = (row.service_id, &row.service_name) {
        out["serviceType"] =
            json!([{"coding": [{"system": "urn:carebook:service", "code": id.to_string(), "display": name}]}]);
    }
    if !row.reason.trim().is_empty() {
        out["description"] = json!(row.reason);
    }
    if let Some(reason) = row
        .cancel_reason
        .as_ref()
        .filter(|_| row.status == AppointmentStatus::Cancelled)
    {
        out["cancelationReason"] = json!({"text": reason});
    }
    out
}

/// A Patient the actor may see. Errors: 404 (also for one they may not see).
pub async fn read_patient(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Value> {
    let row = crate::patients::get(state, actor, id).await?;
    Ok(patient(&row, FieldView::of(actor)))
}

/// The Patients the actor may see matching `params` ([`PATIENT_SEARCH`]).
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_patients(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Paged<Value>> {
    let reach = reach::<policy::PatientRecord>(actor, Action::PatientRead)?;
    let mut filter = PatientFilter {
        name: params.get("name").map(str::to_owned),
        phone: params.get("phone").map(str::to_owned),
        ..PatientFilter::default()
    };
    if let Some(identifier) = params.get("identifier") {
        // `system|value`, `|value` or `value`; another system matches nothing.
        let (system, value) = identifier.split_once('|').unwrap_or(("", identifier));
        filter.medical_record_number = Some(if system.is_empty() || system == MRN_SYSTEM {
            value.to_owned()
        } else {
            String::new()
        });
    }
    if let Some(date) = params.get("birthdate") {
        let date = chrono::NaiveDate::parse_from_str(date.trim_start_matches("eq"), "%Y-%m-%d")
            .map_err(|_| AppError::bad_field("birthdate", "must be a date, YYYY-MM-DD"))?;
        filter.date_of_birth = Some(date);
    }
    if let Some(id) = params.get("_id") {
        let id = search::reference_id("_id", id, "Patient")?;
        return by_id(read_patient(state, actor, id).await);
    }
    let found = db::patients::list(state.db.conn(), reach, &filter, &[], params.page).await?;
    let view = FieldView::of(actor);
    audit::note_disclosed(found.rows.iter().map(|p| p.id));
    Ok(Paged {
        count: found.count,
        rows: found.rows.iter().map(|p| patient(p, view)).collect(),
    })
}

/// A search by `_id`: the one resource read, or none (not found and not
/// visible look alike).
fn by_id(read: AppResult<Value>) -> AppResult<Paged<Value>> {
    match read {
        Ok(resource) => Ok(Paged {
            count: 1,
            rows: vec![resource],
        }),
        Err(AppError::NotFound(_)) => Ok(Paged {
            count: 0,
            rows: Vec::new(),
        }),
        Err(other) => Err(other),
    }
}

/// A Practitioner (a doctor, active or not). Errors: 404.
pub async fn read_practitioner(state: &AppState, id: Uuid) -> AppResult<Value> {
    let row = directory::find_doctor(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("practitioner"))?;
    Ok(practitioner(&row))
}

/// The Practitioners matching `params` ([`PRACTITIONER_SEARCH`]).
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_practitioners(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    let mut filter = DoctorFilter {
        search: params.get("name").map(str::to_owned),
        include_inactive: true,
        ..DoctorFilter::default()
    };
    if let Some(id) = params.get("_id") {
        filter.ids = Some(vec![search::reference_id("_id", id, "Practitioner")?]);
    }
    let wanted_active = match params.get("active") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AppError::bad_field("active", "must be true or false")),
    };
    filter.include_inactive = wanted_active != Some(true);
    let licence = params
        .get("identifier")
        .map(|i| i.split_once('|').map_or(i, |(_, v)| v).to_owned());
    let found = directory::search_doctors(state.db.conn(), &filter, &[], params.page).await?;
    let rows: Vec<Value> = found
        .rows
        .iter()
        .filter(|d| wanted_active.is_none_or(|active| d.is_active == active))
        .filter(|d| licence.as_ref().is_none_or(|l| &d.licence_number == l))
        .map(practitioner)
        .collect();
    let count = if wanted_active == Some(false) || licence.is_some() {
        rows.len() as u64
    } else {
        found.count
    };
    Ok(Paged { count, rows })
}

/// An Appointment the actor may see. Errors: 404 (also for one they may not see).
pub async fn read_appointment(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Value> {
    Ok(appointment(&booking::get(state, actor, id).await?))
}

/// The Appointments the actor may see matching `params` ([`APPOINTMENT_SEARCH`]).
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_appointments(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Paged<Value>> {
    let reach = reach::<AppointmentRow>(actor, Action::AppointmentRead)?;
    let (from, to) = search::narrow("date", params.all("date"))?;
    let mut statuses = Vec::new();
    for value in params.all("status") {
        for code in value.split(',') {
            statuses.push(status_of(code).ok_or_else(|| {
                AppError::bad_field(
                    "status",
                    "must be pending, booked, checked-in, arrived, fulfilled, cancelled or noshow",
                )
            })?);
        }
    }
    let reference = |name: &str, kind: &str| -> AppResult<Option<Uuid>> {
        params
            .get(name)
            .map(|v| search::reference_id(name, v, kind))
            .transpose()
    };
    let filter = AppointmentFilter {
        statuses,
        from,
        to,
        doctor: reference("practitioner", "Practitioner")?,
        patient: reference("patient", "Patient")?,
        facility: reference("location", "Location")?,
        now: Some(state.clock.now()),
    };
    if let Some(id) = reference("_id", "Appointment")? {
        return by_id(read_appointment(state, actor, id).await);
    }
    let found = appointments::list(state.db.conn(), reach, &filter, &[], params.page).await?;
    audit::note_disclosed(found.rows.iter().map(|a| a.patient_id));
    Ok(Paged {
        count: found.count,
        rows: found.rows.iter().map(appointment).collect(),
    })
}
