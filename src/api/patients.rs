//! Patient records: reception registers walk-ins; patients see and edit
//! their own; doctors see the patients they treat, nurses those seen at their
//! facility. Another patient's record is answered 404, never 403.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, rules};
use crate::auth::Actor;
use crate::auth::policy::{Action, Owner, Scope, authorize, authorize_object};
use crate::db::entities::patient;
use crate::db::patients::{self, PatientFilter, PatientScope};
use crate::db::{self, directory};
use crate::domain::{BloodGroup, Email, Phone, Role, Sex};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A patient record.
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
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: String,
    pub location_id: Option<Uuid>,
    pub national_id: Option<String>,
    pub insurance_number: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub allergies: String,
    pub medical_history: String,
    pub emergency_contact_name: String,
    pub emergency_contact_phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<patient::Model> for PatientOut {
    fn from(row: patient::Model) -> Self {
        PatientOut {
            id: row.id,
            user_id: row.user_id,
            medical_record_number: row.medical_record_number,
            first_name: row.first_name,
            last_name: row.last_name,
            date_of_birth: row.date_of_birth,
            sex: row.sex,
            phone: row.phone,
            email: row.email,
            address: row.address,
            location_id: row.location_id,
            national_id: row.national_id,
            insurance_number: row.insurance_number,
            blood_group: row.blood_group,
            allergies: row.allergies,
            medical_history: row.medical_history,
            emergency_contact_name: row.emergency_contact_name,
            emergency_contact_phone: row.emergency_contact_phone,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new patient record (a walk-in without a login).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PatientIn {
    #[schema(example = "Ayesha")]
    #[schema(min_length = 1, max_length = 150)]
    #[garde(custom(rules::text::<150>))]
    pub first_name: String,
    #[schema(example = "Begum")]
    #[schema(min_length = 1, max_length = 150)]
    #[garde(custom(rules::text::<150>))]
    pub last_name: String,
    #[garde(skip)]
    pub date_of_birth: Option<NaiveDate>,
    #[garde(skip)]
    pub sex: Option<Sex>,
    #[schema(example = "01911223344")]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone))]
    pub phone: Option<String>,
    #[schema(max_length = 254)]
    #[garde(custom(rules::optional_email))]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    #[garde(custom(rules::long_text::<500>))]
    pub address: String,
    #[garde(skip)]
    pub location_id: Option<Uuid>,
    #[schema(max_length = 64)]
    #[garde(custom(rules::optional_text::<64>))]
    pub national_id: Option<String>,
    #[schema(max_length = 64)]
    #[garde(custom(rules::optional_text::<64>))]
    pub insurance_number: Option<String>,
    #[garde(skip)]
    pub blood_group: Option<BloodGroup>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    #[garde(custom(rules::long_text::<4000>))]
    pub allergies: String,
    #[serde(default)]
    #[schema(max_length = 8000)]
    #[garde(custom(rules::long_text::<8000>))]
    pub medical_history: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    #[garde(custom(rules::long_text::<200>))]
    pub emergency_contact_name: String,
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone))]
    pub emergency_contact_phone: Option<String>,
}

/// Changes to a patient record; absent fields stay, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PatientPatch {
    #[schema(min_length = 1, max_length = 150)]
    #[garde(inner(custom(rules::text::<150>)))]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 150)]
    #[garde(inner(custom(rules::text::<150>)))]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    #[garde(skip)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<Sex>)]
    #[garde(skip)]
    pub sex: Option<Option<Sex>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone_patch))]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 254)]
    #[garde(inner(custom(rules::optional_email)))]
    pub email: Option<Option<String>>,
    #[schema(max_length = 500)]
    #[garde(inner(custom(rules::long_text::<500>)))]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 64)]
    #[garde(inner(custom(rules::optional_text::<64>)))]
    pub national_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 64)]
    #[garde(inner(custom(rules::optional_text::<64>)))]
    pub insurance_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<BloodGroup>)]
    #[garde(skip)]
    pub blood_group: Option<Option<BloodGroup>>,
    #[schema(max_length = 4000)]
    #[garde(inner(custom(rules::long_text::<4000>)))]
    pub allergies: Option<String>,
    #[schema(max_length = 8000)]
    #[garde(inner(custom(rules::long_text::<8000>)))]
    pub medical_history: Option<String>,
    #[schema(max_length = 200)]
    #[garde(inner(custom(rules::long_text::<200>)))]
    pub emergency_contact_name: Option<String>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone_patch))]
    pub emergency_contact_phone: Option<Option<String>>,
}

/// Filters of the patient list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PatientQuery {
    /// Text in names, medical record number, phone, email or national id.
    pub search: Option<String>,
    /// `last_name`, `first_name`, `created_at`, `medical_record_number`; `-` for descending.
    #[param(
        pattern = "^(-?(last_name|first_name|created_at|medical_record_number)(,-?(last_name|first_name|created_at|medical_record_number))*)?$"
    )]
    pub ordering: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_patients, create_patient))
        .routes(routes!(get_patient, update_patient))
}

fn phone(field: &'static str, value: Option<String>) -> AppResult<Option<String>> {
    rules::clean(value)
        .map(|p| Phone::parse(&p).map(Phone::into_string))
        .transpose()
        .map_err(|m| AppError::invalid_field(field, m))
}

fn email(value: Option<String>) -> AppResult<Option<String>> {
    rules::clean(value)
        .map(|e| Email::parse(&e).map(Email::into_string))
        .transpose()
        .map_err(|m| AppError::invalid_field("email", m))
}

async fn check_location(state: &AppState, location: Option<Uuid>) -> AppResult<()> {
    match location {
        Some(id) if directory::find_location(state.db.conn(), id).await?.is_none() => {
            Err(AppError::invalid_field("location_id", "no such location"))
        }
        _ => Ok(()),
    }
}

/// Whom a patient record belongs to, as far as `actor` can reach it: the
/// doctor if they treat the patient, the facility if the patient was seen there.
pub async fn owner(state: &AppState, actor: &Actor, patient: Uuid) -> AppResult<Owner> {
    let mut owner = Owner {
        patient_id: Some(patient),
        ..Owner::default()
    };
    match (actor.role, actor.doctor_id, actor.facility_id) {
        (Role::Doctor, Some(doctor), _) if patients::treated_by(state.db.conn(), patient, doctor).await? => {
            owner.doctor_ids.push(doctor);
        }
        (Role::Nurse, _, Some(facility)) if patients::seen_at(state.db.conn(), patient, facility).await? => {
            owner.facility_ids.push(facility);
        }
        _ => {}
    }
    Ok(owner)
}

/// A patient record the actor may act on with `action`, or 404/403.
async fn reachable(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<patient::Model> {
    authorize(actor, action)?;
    let owner = owner(state, actor, id).await?;
    // Decide before looking the record up, so a missing and a forbidden record look alike.
    authorize_object(actor, Action::PatientRead, &owner, "patient")?;
    let row = patients::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    authorize_object(actor, action, &owner, "patient")?;
    Ok(row)
}

/// List the patient records the caller may see.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PatientQuery),
    responses((status = 200, description = "A page of patients", body = Page<PatientOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_patients(
    State(state): State<AppState>,
    actor: Actor,
    links: PageLinks,
    ApiQuery(query): ApiQuery<PatientQuery>,
) -> AppResult<Json<Page<PatientOut>>> {
    let scope = match (authorize(&actor, Action::PatientRead)?, actor.role) {
        (Scope::All, _) => PatientScope::All,
        (Scope::Own, Role::Doctor) => actor
            .doctor_id
            .map(PatientScope::TreatedBy)
            .unwrap_or(PatientScope::Only(Uuid::nil())),
        (Scope::Own, _) => PatientScope::Only(actor.patient_id.unwrap_or_else(Uuid::nil)),
        (Scope::Facility, _) => actor
            .facility_id
            .map(PatientScope::SeenAt)
            .unwrap_or(PatientScope::Only(Uuid::nil())),
        (Scope::None, _) => return Err(AppError::Forbidden("not allowed".into())),
    };
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), patients::PATIENT_ORDERING)?;
    let filter = PatientFilter {
        search: rules::clean(query.search),
    };
    let paged = patients::list(state.db.conn(), scope, &filter, &order, page).await?;
    Ok(Json(links.page(page, paged, PatientOut::from)))
}

/// Register a patient record (walk-in). Receptionist or admin.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = PatientIn,
    responses((status = 201, description = "Created", body = PatientOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_patient(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PatientIn>,
) -> AppResult<impl IntoResponse> {
    body.validate()?;
    check_location(&state, body.location_id).await?;
    let now = state.clock.now();
    let row = patient::Model {
        id: Uuid::new_v4(),
        user_id: None,
        medical_record_number: String::new(),
        first_name: body.first_name.trim().to_owned(),
        last_name: body.last_name.trim().to_owned(),
        date_of_birth: body.date_of_birth,
        sex: body.sex,
        phone: phone("phone", body.phone)?,
        email: email(body.email)?,
        address: body.address.trim().to_owned(),
        location_id: body.location_id,
        national_id: rules::clean(body.national_id),
        insurance_number: rules::clean(body.insurance_number),
        blood_group: body.blood_group,
        allergies: body.allergies.trim().to_owned(),
        medical_history: body.medical_history.trim().to_owned(),
        emergency_contact_name: body.emergency_contact_name.trim().to_owned(),
        emergency_contact_phone: phone("emergency_contact_phone", body.emergency_contact_phone)?,
        created_at: now,
        updated_at: now,
    };
    let txn = state.db.begin_write().await?;
    let row = patients::insert(&txn, row).await?;
    txn.commit().await?;
    Ok(created(format!("/api/v1/patients/{}", row.id), PatientOut::from(row)))
}

/// Read a patient record.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = Uuid, Path, description = "Patient id")),
    responses((status = 200, description = "The patient", body = PatientOut,
        headers(("ETag" = String, description = "The record's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_patient(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<Uuid>) -> AppResult<Tagged> {
    let row = reachable(&state, &actor, id, Action::PatientRead).await?;
    Ok(tagged(row))
}

/// A patient record with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<PatientOut>);

fn tagged(row: patient::Model) -> Tagged {
    (etag(&time_tag(row.updated_at)), Json(row.into()))
}

/// Change a patient record. The patient themselves, a receptionist or an admin.
#[utoipa::path(patch, path = "/api/v1/patients/{id}", tag = "patients", request_body = PatientPatch,
    params(("id" = Uuid, Path, description = "Patient id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the record has changed since")),
    responses((status = 200, description = "The changed patient", body = PatientOut,
        headers(("ETag" = String, description = "The record's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn update_patient(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<PatientPatch>,
) -> AppResult<Tagged> {
    reachable(&state, &actor, id, Action::PatientUpdate).await?;
    body.validate()?;
    if let Some(location) = body.location_id {
        check_location(&state, location).await?;
    }
    let txn = state.db.begin_write().await?;
    let mut row: patient::Model = db::find_for_update(&txn, "patients", id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    if_match.check(&time_tag(row.updated_at))?;
    apply_patch(&mut row, body)?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let row = patients::update(&txn, row).await?;
    txn.commit().await?;
    Ok(tagged(row))
}

/// Apply the fields a patch carries. Errors: 422 for a phone or email that does not parse.
fn apply_patch(row: &mut patient::Model, body: PatientPatch) -> AppResult<()> {
    if let Some(v) = body.first_name {
        row.first_name = v.trim().to_owned();
    }
    if let Some(v) = body.last_name {
        row.last_name = v.trim().to_owned();
    }
    if let Some(v) = body.date_of_birth {
        row.date_of_birth = v;
    }
    if let Some(v) = body.sex {
        row.sex = v;
    }
    if let Some(v) = body.phone {
        row.phone = phone("phone", v)?;
    }
    if let Some(v) = body.email {
        row.email = email(v)?;
    }
    if let Some(v) = body.address {
        row.address = v.trim().to_owned();
    }
    if let Some(v) = body.location_id {
        row.location_id = v;
    }
    if let Some(v) = body.national_id {
        row.national_id = rules::clean(v);
    }
    if let Some(v) = body.insurance_number {
        row.insurance_number = rules::clean(v);
    }
    if let Some(v) = body.blood_group {
        row.blood_group = v;
    }
    if let Some(v) = body.allergies {
        row.allergies = v.trim().to_owned();
    }
    if let Some(v) = body.medical_history {
        row.medical_history = v.trim().to_owned();
    }
    if let Some(v) = body.emergency_contact_name {
        row.emergency_contact_name = v.trim().to_owned();
    }
    if let Some(v) = body.emergency_contact_phone {
        row.emergency_contact_phone = phone("emergency_contact_phone", v)?;
    }
    Ok(())
}
