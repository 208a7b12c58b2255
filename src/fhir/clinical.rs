//! The clinical record as FHIR R4: consultations as `Encounter`, vital
//! signs as `Observation`s of the FHIR vital-signs profile (category
//! `vital-signs`, LOINC codes, UCUM units, blood pressure as one 85354-9
//! panel with 8480-6 and 8462-4 components), diagnoses as `Condition`
//! (ICD-10-CM), prescriptions as `MedicationRequest`. Every read passes
//! the clinical-record policy (404 for a record the caller may not see) and
//! is audited like the REST reads.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::search::{self, Params};
use crate::auth::Actor;
use crate::auth::policy::{Action, ClinicalRecord, reach};
use crate::clinical::consultations::{self, check_visible};
use crate::clinical::entries;
use crate::db::consultations::ConsultationFilter;
use crate::db::entities::{consultation, diagnosis, prescription, vital_signs};
use crate::db::{self, PageRequest, Paged, audit};
use crate::domain::ConsultationStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Search parameters of Encounter.
pub const ENCOUNTER_SEARCH: &[&str] = &["_id", "patient", "practitioner", "date", "status"];
/// Search parameters of Observation (`patient` required).
pub const OBSERVATION_SEARCH: &[&str] = &["patient", "category", "code", "encounter"];
/// Search parameters of Condition (`patient` required).
pub const CONDITION_SEARCH: &[&str] = &["patient", "code", "encounter", "verification-status"];
/// Search parameters of MedicationRequest (`patient` required).
pub const MEDICATION_REQUEST_SEARCH: &[&str] = &["patient", "status", "encounter"];

/// ICD-10-CM's FHIR system URI.
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";

/// Everything of one patient read at once (a patient's record is small).
const ALL: PageRequest = PageRequest {
    page: 1,
    page_size: 5_000,
};

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn hyphens(code: &str) -> String {
    code.replace('_', "-")
}

/// A consultation as an `Encounter` (class AMB, ambulatory).
pub fn encounter(row: &consultation::Model) -> Value {
    let status = match row.status {
        ConsultationStatus::InProgress => "in-progress",
        ConsultationStatus::Completed => "finished",
        ConsultationStatus::EnteredInError => "entered-in-error",
    };
    let mut period = json!({"start": instant(row.started_at)});
    if let Some(end) = row.ended_at {
        period["end"] = json!(instant(end));
    }
    let mut out = json!({
        "resourceType": "Encounter",
        "id": row.id.to_string(),
        "meta": {"versionId": row.version.to_string(), "lastUpdated": instant(row.updated_at)},
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "subject": {"reference": format!("Patient/{}", row.patient_id)},
        "participant": [{"individual": {"reference": format!("Practitioner/{}", row.doctor_id)}}],
        "period": period,
        "location": [{"location": {"reference": format!("Location/{}", row.facility_id)}}],
        "serviceProvider": {"reference": format!("Organization/{}", row.facility_id)},
    });
    if let Some(appointment) = row.appointment_id {
        out["appointment"] = json!([{"reference": format!("Appointment/{appointment}")}]);
    }
    if !row.chief_complaint.trim().is_empty() {
        out["reasonCode"] = json!([{"text": row.chief_complaint}]);
    }
    out
}

/// One vital sign: LOINC code and display, value in thousandths, UCUM unit.
struct Measure {
    key: &'static str,
    loinc: &'static str,
    display: &'static str,
    milli: i64,
    unit: &'static str,
}

fn quantity(milli: i64, unit: &str) -> Value {
    let value = milli as f64 / 1000.0;
    json!({"value": value, "unit": unit, "system": UCUM, "code": unit})
}

fn concept(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": LOINC, "code": code, "display": display}], "text": display})
}

/// The `Observation`s of one vital-signs record: one per measure taken, the
/// blood pressure as one panel. Ids are `{record id}.{measure}`.
pub fn observations(row: &vital_signs::Model) -> Vec<Value> {
    let mut measures = Vec::new();
    let mut push = |key, loinc, display, milli: Option<i64>, unit| {
        if let Some(milli) = milli {
            measures.push(Measure {
                key,
                loinc,
                display,
                milli,
                unit,
            });
        }
    };
    let per_unit = |v: Option<i32>| v.map(|v| i64::from(v) * 1000);
    push("heart-rate", "8867-4", "Heart rate", per_unit(row.heart_rate), "/min");
    push(
        "respiratory-rate",
        "9279-1",
        "Respiratory rate",
        per_unit(row.respiratory_rate),
        "/min",
    );
    push(
        "oxygen-saturation",
        "2708-6",
        "Oxygen saturation in Arterial blood",
        per_unit(row.oxygen_saturation),
        "%",
    );
    push(
        "body-temperature",
        "8310-5",
        "Body temperature",
        row.temperature_milli,
        "Cel",
    );
    push("body-weight", "29463-7", "Body weight", row.weight_milli, "kg");
    push("body-height", "8302-2", "Body height", row.height_milli, "cm");
    if let Some(bmi) = row
        .weight_milli
        .zip(row.height_milli)
        .and_then(|(w, h)| crate::clinical::vital_signs::bmi_tenths(w, h))
    {
        push(
            "bmi",
            "39156-5",
            "Body mass index (BMI) [Ratio]",
            Some(bmi * 100),
            "kg/m2",
        );
    }
    let status = match row.status.as_str() {
        "entered_in_error" => "entered-in-error",
        "amended" => "amended",
        _ => "final",
    };
    let base = |key: &str, code: Value| {
        let mut out = json!({
            "resourceType": "Observation",
            "id": format!("{}.{key}", row.id),
            "meta": {"versionId": row.version.to_string(), "lastUpdated": instant(row.updated_at),
                     "profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
            "status": status,
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs", "display": "Vital Signs"}], "text": "Vital Signs"}],
            "code": code,
            "subject": {"reference": format!("Patient/{}", row.patient_id)},
            "effectiveDateTime": instant(row.measured_at),
        });
        if let Some(consultation) = row.consultation_id {
            out["encounter"] = json!({"reference": format!("Encounter/{consultation}")});
        }
        out
    };
    let mut out: Vec<Value> = measures
        .iter()
        .map(|m| {
            let mut observation = base(m.key, concept(m.loinc, m.display));
            observation["valueQuantity"] = quantity(m.milli, m.unit);
            observation
        })
        .collect();
    if row.systolic.is_some() || row.diastolic.is_some() {
        let mut panel = base(
            "blood-pressure",
            concept("85354-9", "Blood pressure panel with all children optional"),
        );
        let component = |code, display, value: Option<i32>| {
            value.map(
                |v| json!({"code": concept(code, display), "valueQuantity": quantity(i64::from(v) * 1000, "mm[Hg]")}),
            )
        };
        panel["component"] = json!(
            [
                component("8480-6", "Systolic blood pressure", row.systolic),
                component("8462-4", "Diastolic blood pressure", row.diastolic),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
        );
        out.insert(0, panel);
    }
    out
}

/// A diagnosis as a `Condition` coded in ICD-10-CM.
pub fn condition(row: &diagnosis::Model) -> Value {
    let verification = match row.status.as_str() {
        "provisional" => "provisional",
        "entered_in_error" => "entered-in-error",
        _ => "confirmed",
    };
    let mut out = json!({
        "resourceType": "Condition",
        "id": row.id.to_string(),
        "meta": {"versionId": row.version.to_string(), "lastUpdated": instant(row.updated_at)},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}],
        "code": {"coding": [{"system": ICD10CM, "code": row.code}]},
        "subject": {"reference": format!("Patient/{}", row.patient_id)},
        "encounter": {"reference": format!("Encounter/{}", row.consultation_id)},
        "recordedDate": instant(row.recorded_at),
    });
    if verification != "entered-in-error" {
        out["clinicalStatus"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]});
    }
    if !row.notes.trim().is_empty() {
        out["note"] = json!([{"text": row.notes}]);
    }
    out
}

/// A prescription as a `MedicationRequest` (intent `order`), with its dose,
/// timing, duration and quantity.
pub fn medication_request(row: &prescription::Model) -> Value {
    let mut dosage = json!({
        "asNeededBoolean": row.as_needed,
        "route": {"text": row.route.as_str()},
        "doseAndRate": [{"doseQuantity": {"value": row.dose_amount_milli as f64 / 1000.0, "unit": row.dose_unit}}],
    });
    if !row.instructions.trim().is_empty() {
        dosage["text"] = json!(row.instructions);
    }
    let mut repeat = serde_json::Map::new();
    if let Some(times) = row.times_per_day {
        repeat.insert("frequency".into(), json!(times));
        repeat.insert("period".into(), json!(1));
        repeat.insert("periodUnit".into(), json!("d"));
    }
    if let Some(days) = row.duration_days {
        repeat.insert(
            "boundsDuration".into(),
            json!({"value": days, "unit": "d", "system": UCUM, "code": "d"}),
        );
    }
    if !repeat.is_empty() {
        dosage["timing"] = json!({"repeat": repeat});
    }
    let mut out = json!({
        "resourceType": "MedicationRequest",
        "id": row.id.to_string(),
        "meta": {"versionId": row.version.to_string(), "lastUpdated": instant(row.updated_at)},
        "status": hyphens(row.status.as_str()),
        "intent": "order",
        "medicationCodeableConcept": {"text": row.medication},
        "subject": {"reference": format!("Patient/{}", row.patient_id)},
        "encounter": {"reference": format!("Encounter/{}", row.consultation_id)},
        "authoredOn": instant(row.recorded_at),
        "dosageInstruction": [dosage],
        "dispenseRequest": {"numberOfRepeatsAllowed": row.refills, "quantity": {"value": row.quantity}},
    });
    if let Some(reason) = &row.status_reason {
        out["statusReason"] = json!({"text": reason});
    }
    out
}

/// The patient a search names (`patient`, required) whose clinical record
/// the actor may see.
///
/// Errors: 400 without it or when malformed; 404 when the record is hidden.
async fn patient_of(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Uuid> {
    let patient = params
        .get("patient")
        .ok_or_else(|| AppError::bad_field("patient", "is required"))?;
    let patient = search::reference_id("patient", patient, "Patient")?;
    check_visible(state, actor, patient).await?;
    audit::note(Some(patient), false);
    Ok(patient)
}

fn encounter_of(params: &Params) -> AppResult<Option<Uuid>> {
    params
        .get("encounter")
        .map(|e| search::reference_id("encounter", e, "Encounter"))
        .transpose()
}

/// An Encounter (a consultation). Errors: 404.
pub async fn read_encounter(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Value> {
    Ok(encounter(&consultations::visible(state, actor, id).await?))
}

/// The Encounters the actor may see matching `params` ([`ENCOUNTER_SEARCH`]).
///
/// Errors: 400 naming a malformed parameter; 404 for a hidden `patient`.
pub async fn search_encounters(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Paged<Value>> {
    let reach = reach::<ClinicalRecord>(actor, Action::ClinicalRead)?;
    let patient = match params.get("patient") {
        Some(_) => Some(patient_of(state, actor, params).await?),
        None => None,
    };
    let (from, to) = search::narrow("date", params.all("date"))?;
    let mut statuses = Vec::new();
    for value in params.all("status") {
        for code in value.split(',') {
            statuses.push(match code {
                "in-progress" => ConsultationStatus::InProgress,
                "finished" => ConsultationStatus::Completed,
                "entered-in-error" => ConsultationStatus::EnteredInError,
                _ => {
                    return Err(AppError::bad_field(
                        "status",
                        "must be in-progress, finished or entered-in-error",
                    ));
                }
            });
        }
    }
    let filter = ConsultationFilter {
        patient,
        doctor: params
            .get("practitioner")
            .map(|p| search::reference_id("practitioner", p, "Practitioner"))
            .transpose()?,
        started: db::Period { from, to },
        statuses,
    };
    // Every parameter is read (and refused when malformed) before `_id` answers.
    if let Some(id) = params.get("_id") {
        let id = search::reference_id("_id", id, "Encounter")?;
        return Ok(match read_encounter(state, actor, id).await {
            Ok(found) => params.page_of(vec![found]),
            Err(AppError::NotFound(_)) => params.page_of(Vec::new()),
            Err(other) => return Err(other),
        });
    }
    let found = db::consultations::list(state.db.conn(), reach, &filter, params.page).await?;
    audit::note_disclosed(found.rows.iter().map(|c| c.patient_id));
    Ok(Paged {
        count: found.count,
        rows: found.rows.iter().map(encounter).collect(),
    })
}

/// An Observation (`{vital signs id}.{measure}`). Errors: 404.
pub async fn read_observation(state: &AppState, actor: &Actor, id: &str) -> AppResult<Value> {
    let (record, _) = id.split_once('.').ok_or(AppError::NotFound("observation"))?;
    let record: Uuid = record.parse().map_err(|_| AppError::NotFound("observation"))?;
    let row: vital_signs::Model = entries::get(state, actor, record).await?;
    observations(&row)
        .into_iter()
        .find(|o| o["id"] == id)
        .ok_or(AppError::NotFound("observation"))
}

/// A patient's vital-sign Observations matching `params` ([`OBSERVATION_SEARCH`]), newest first.
///
/// Errors: 400 without `patient`, or for a category other than vital-signs; 404 for a hidden patient.
pub async fn search_observations(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Paged<Value>> {
    let patient = patient_of(state, actor, params).await?;
    let only_vital_signs = params
        .all("category")
        .all(|c| c.rsplit('|').next() == Some("vital-signs"));
    let encounter = encounter_of(params)?;
    let code = params.get("code").map(|c| c.rsplit('|').next().unwrap_or(c).to_owned());
    let rows = db::vital_signs::of_patient(state.db.conn(), patient, false, ALL).await?;
    let all: Vec<Value> = if only_vital_signs {
        rows.rows
            .iter()
            .filter(|row| encounter.is_none_or(|e| row.consultation_id == Some(e)))
            .flat_map(observations)
            .filter(|o| {
                code.as_ref()
                    .is_none_or(|c| o["code"]["coding"][0]["code"] == c.as_str())
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(params.page_of(all))
}

/// A Condition (a diagnosis). Errors: 404.
pub async fn read_condition(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Value> {
    let row: diagnosis::Model = entries::get(state, actor, id).await?;
    Ok(condition(&row))
}

/// A patient's Conditions matching `params` ([`CONDITION_SEARCH`]), newest first.
///
/// Errors: 400 without `patient`; 404 for a hidden patient.
pub async fn search_conditions(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Paged<Value>> {
    let patient = patient_of(state, actor, params).await?;
    let encounter = encounter_of(params)?;
    let code = params.get("code").map(|c| c.rsplit('|').next().unwrap_or(c).to_owned());
    let verification = params
        .get("verification-status")
        .map(|v| v.rsplit('|').next().unwrap_or(v).to_owned());
    let rows: Vec<diagnosis::Model> = db::entries::of_patient(
        state.db.conn(),
        "diagnoses",
        patient,
        &["provisional", "confirmed", "entered_in_error"],
    )
    .await?;
    let all = rows
        .iter()
        .filter(|row| encounter.is_none_or(|e| row.consultation_id == e))
        .filter(|row| code.as_ref().is_none_or(|c| row.code.eq_ignore_ascii_case(c)))
        .map(condition)
        .filter(|c| {
            verification
                .as_ref()
                .is_none_or(|v| c["verificationStatus"]["coding"][0]["code"] == v.as_str())
        })
        .collect();
    Ok(params.page_of(all))
}

/// A MedicationRequest (a prescription). Errors: 404.
pub async fn read_medication_request(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Value> {
    let row: prescription::Model = entries::get(state, actor, id).await?;
    Ok(medication_request(&row))
}

/// A patient's MedicationRequests matching `params` ([`MEDICATION_REQUEST_SEARCH`]), newest first.
///
/// Errors: 400 without `patient` or for an unknown status; 404 for a hidden patient.
pub async fn search_medication_requests(state: &AppState, actor: &Actor, params: &Params) -> AppResult<Paged<Value>> {
    let patient = patient_of(state, actor, params).await?;
    let encounter = encounter_of(params)?;
    let mut statuses = Vec::new();
    for value in params.all("status") {
        for code in value.split(',') {
            let ours = match code {
                "active" | "completed" | "stopped" => code,
                "entered-in-error" => "entered_in_error",
                _ => {
                    return Err(AppError::bad_field(
                        "status",
                        "must be active, completed, stopped or entered-in-error",
                    ));
                }
            };
            statuses.push(ours);
        }
    }
    if statuses.is_empty() {
        statuses = vec!["active", "completed", "stopped"];
    }
    let rows: Vec<prescription::Model> =
        db::entries::of_patient(state.db.conn(), "prescriptions", patient, &statuses).await?;
    let all = rows
        .iter()
        .filter(|row| encounter.is_none_or(|e| row.consultation_id == e))
        .map(medication_request)
        .collect();
    Ok(params.page_of(all))
}
