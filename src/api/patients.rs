//! Patient records over HTTP (see [`crate::patients`]). A caller receives
//! only the fields of the classes the field policy lets their role read;
//! the others are left out of the answer, not sent as null.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::created;
use super::extract::{ApiFields, ApiPath};
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::{Action, FieldView};
use crate::db::entities::patient;
use crate::domain::{BloodGroup, Sex};
use crate::error::AppResult;
use crate::patients::{self, PatientIn, PatientPatch, PatientQuery};
use crate::state::AppState;

/// A patient record. Fields of a class the caller may not read (clinical
/// for receptionists; financial for doctors and nurses) are omitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientOut {
    pub id: Uuid,
    /// The patient's login, if they have one.
    pub user_id: Option<Uuid>,
    #[schema(example = "CB0042137788")]
    pub medical_record_number: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub national_id: Option<String>,
    /// E.164. Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Uuid>)]
    pub location_id: Option<Option<Uuid>>,
    /// Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency_contact_name: Option<String>,
    /// E.164. Contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub emergency_contact_phone: Option<Option<String>>,
    /// Clinical.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BloodGroup>)]
    pub blood_group: Option<Option<BloodGroup>>,
    /// Clinical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allergies: Option<String>,
    /// Clinical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medical_history: Option<String>,
    /// Financial.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub insurance_number: Option<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PatientOut {
    /// The record as `view` may receive it.
    pub fn new(row: patient::Model, view: FieldView) -> PatientOut {
        PatientOut {
            id: row.id,
            user_id: row.user_id,
            medical_record_number: row.medical_record_number,
            first_name: row.first_name,
            last_name: row.last_name,
            date_of_birth: row.date_of_birth,
            sex: row.sex,
            national_id: row.national_id,
            phone: view.show("phone", row.phone),
            email: view.show("email", row.email),
            address: view.show("address", row.address),
            location_id: view.show("location_id", row.location_id),
            emergency_contact_name: view.show("emergency_contact_name", row.emergency_contact_name),
            emergency_contact_phone: view.show("emergency_contact_phone", row.emergency_contact_phone),
            blood_group: view.show("blood_group", row.blood_group),
            allergies: view.show("allergies", row.allergies),
            medical_history: view.show("medical_history", row.medical_history),
            insurance_number: view.show("insurance_number", row.insurance_number),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_patients, create_patient))
        .routes(routes!(get_patient, update_patient))
}

/// List the patient records the caller may see.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PageParams, PatientQuery),
    responses((status = 200, description = "A page of patients", body = Page<PatientOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PatientRead))))]
pub async fn list_patients(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<PatientQuery>,
) -> AppResult<Json<Page<PatientOut>>> {
    let found = patients::list(&state, &actor, &query.filter, query.page).await?;
    let view = FieldView::of(&actor);
    Ok(Json(query.page_of(found, |row| PatientOut::new(row, view))))
}

/// Register a patient record (a walk-in). Receptionist or admin; the body
/// may carry only fields the caller may write (403 naming the first that is not).
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = PatientIn,
    responses((status = 201, description = "Created", body = PatientOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PatientCreate))))]
pub async fn create_patient(
    State(state): State<AppState>,
    actor: Actor,
    ApiFields(body, members): ApiFields<PatientIn>,
) -> AppResult<impl IntoResponse> {
    let row = patients::create(&state, &actor, body, &members).await?;
    let location = format!("/api/v1/patients/{}", row.id);
    Ok(created(location, PatientOut::new(row, FieldView::of(&actor))))
}

/// Read a patient record.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = Uuid, Path, description = "Patient id")),
    responses((status = 200, description = "The patient", body = PatientOut,
        headers(("ETag" = String, description = "The record's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PatientRead))))]
pub async fn get_patient(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<Uuid>) -> AppResult<Tagged> {
    let row = patients::get(&state, &actor, id).await?;
    Ok(tagged(row, &actor))
}

/// A patient record with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<PatientOut>);

fn tagged(row: patient::Model, actor: &Actor) -> Tagged {
    (
        etag(&time_tag(row.updated_at)),
        Json(PatientOut::new(row, FieldView::of(actor))),
    )
}

/// Change a patient record: the patient themselves, a receptionist or an
/// admin, and a doctor for the clinical fields of a patient they treat. The
/// body may carry only fields the caller may write (403 naming the first that is not).
#[utoipa::path(patch, path = "/api/v1/patients/{id}", tag = "patients", request_body = PatientPatch,
    params(("id" = Uuid, Path, description = "Patient id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the record has changed since")),
    responses((status = 200, description = "The changed patient", body = PatientOut,
        headers(("ETag" = String, description = "The record's new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PatientUpdate))))]
pub async fn update_patient(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiFields(body, members): ApiFields<PatientPatch>,
) -> AppResult<Tagged> {
    let check = |row: &patient::Model| if_match.check(&time_tag(row.updated_at));
    let row = patients::update(&state, &actor, id, body, &members, check).await?;
    Ok(tagged(row, &actor))
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;
    use crate::auth::policy::{FieldAccess, PATIENT_FIELDS, field_access, patient_field_class};
    use crate::domain::Role;

    #[test]
    fn each_role_receives_exactly_the_fields_of_the_classes_it_reads() {
        let schema = serde_json::to_value(PatientOut::schema()).unwrap();
        let members: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(
            members.len(),
            PATIENT_FIELDS.len(),
            "every field of PatientOut has a class"
        );
        let row = crate::db::patients::blank(Utc::now());
        for role in Role::ALL {
            let out = serde_json::to_value(PatientOut::new(row.clone(), FieldView::for_role(*role))).unwrap();
            for member in &members {
                let class = patient_field_class(member).unwrap_or_else(|| panic!("{member} has no class"));
                let expected = field_access(*role, class) >= FieldAccess::Read;
                assert_eq!(out.get(member.as_str()).is_some(), expected, "{role}: {member}");
            }
        }
    }
}
