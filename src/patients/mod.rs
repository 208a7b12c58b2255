//! Patient records: reception registers walk-ins; patients see and edit
//! their own; doctors see the patients they treat, nurses those seen at
//! their facility. Another patient's record is answered 404, never 403.
//!
//! Which fields a caller receives and may write is the field policy's
//! ([`policy::FIELD_MATRIX`]): reception never sees clinical fields, a
//! doctor writes only clinical ones, and so on. A body carrying a field the
//! caller may not write is refused whole (403 naming the field).

use chrono::NaiveDate;
use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{self, Action, authorize, authorize_object, reach};
use crate::db::entities::patient;
use crate::db::patients::PatientFilter;
use crate::db::patients::PatientOrdering;
use crate::db::{self, PageRequest, Paged, audit, directory};
use crate::domain::{BloodGroup, Sex};
use crate::error::{AppError, AppResult};
use crate::input::{self, EmailText, PhoneText, TextOrEmpty};
use crate::input::{Ordering, Search};
use crate::state::AppState;

pub use crate::input::text::Name;
/// A postal address.
pub type Address = TextOrEmpty<500>;
/// The name of whom to call in an emergency.
pub type EmergencyContactName = crate::input::text::PersonNameOrEmpty<200>;
/// A national id or insurance number.
pub type Identifier = TextOrEmpty<64>;
/// Known allergies.
pub type Allergies = TextOrEmpty<4000>;
/// Past illnesses, operations, chronic conditions.
pub type MedicalHistory = TextOrEmpty<8000>;

/// A new patient record (a walk-in without a login).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PatientIn {
    #[schema(example = "Ayesha")]
    #[garde(dive)]
    pub first_name: Name,
    #[schema(example = "Begum")]
    #[garde(dive)]
    pub last_name: Name,
    #[garde(skip)]
    pub date_of_birth: Option<NaiveDate>,
    #[garde(skip)]
    pub sex: Option<Sex>,
    #[garde(dive)]
    pub phone: Option<PhoneText>,
    #[garde(dive)]
    pub email: Option<EmailText>,
    #[serde(default)]
    #[garde(dive)]
    pub address: Address,
    #[garde(skip)]
    pub location_id: Option<Uuid>,
    #[garde(dive)]
    pub national_id: Option<Identifier>,
    #[garde(dive)]
    pub insurance_number: Option<Identifier>,
    #[garde(skip)]
    pub blood_group: Option<BloodGroup>,
    #[serde(default)]
    #[garde(dive)]
    pub allergies: Allergies,
    #[serde(default)]
    #[garde(dive)]
    pub medical_history: MedicalHistory,
    #[serde(default)]
    #[garde(dive)]
    pub emergency_contact_name: EmergencyContactName,
    #[garde(dive)]
    pub emergency_contact_phone: Option<PhoneText>,
}

/// Changes to a patient record; absent fields stay, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PatientPatch {
    #[garde(dive)]
    pub first_name: Option<Name>,
    #[garde(dive)]
    pub last_name: Option<Name>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    #[garde(skip)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Sex>)]
    #[garde(skip)]
    pub sex: Option<Option<Sex>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PhoneText>)]
    #[garde(dive)]
    pub phone: Option<Option<PhoneText>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<EmailText>)]
    #[garde(dive)]
    pub email: Option<Option<EmailText>>,
    #[garde(dive)]
    pub address: Option<Address>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Identifier>)]
    #[garde(dive)]
    pub national_id: Option<Option<Identifier>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Identifier>)]
    #[garde(dive)]
    pub insurance_number: Option<Option<Identifier>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<BloodGroup>)]
    #[garde(skip)]
    pub blood_group: Option<Option<BloodGroup>>,
    #[garde(dive)]
    pub allergies: Option<Allergies>,
    #[garde(dive)]
    pub medical_history: Option<MedicalHistory>,
    #[garde(dive)]
    pub emergency_contact_name: Option<EmergencyContactName>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PhoneText>)]
    #[garde(dive)]
    pub emergency_contact_phone: Option<Option<PhoneText>>,
}

/// Filters of the patient list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PatientQuery {
    /// Text in names, medical record number, phone, email or national id.
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<PatientOrdering>::schema)]
    pub ordering: Option<Ordering<PatientOrdering>>,
}

async fn check_location(state: &AppState, location: Option<Uuid>) -> AppResult<()> {
    match location {
        Some(id) if directory::find_location(state.db.conn(), id).await?.is_none() => {
            Err(AppError::invalid_field("location_id", "no such location"))
        }
        _ => Ok(()),
    }
}

/// A patient record the actor may act on with `action`, or 404/403.
async fn reachable(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<patient::Model> {
    authorize(actor, action)?;
    let record = policy::patient_record(state.db.conn(), actor, id).await?;
    // Decide before looking the record up, so a missing and a forbidden record look alike.
    authorize_object(actor, Action::PatientRead, &record)?;
    let row = db::patients::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    authorize_object(actor, action, &record)?;
    Ok(row)
}

/// The patient records the actor may see.
///
/// Errors: 400 naming `ordering` when it names an unknown field.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &PatientQuery,
    page: PageRequest,
) -> AppResult<Paged<patient::Model>> {
    let reach = reach::<policy::PatientRecord>(actor, Action::PatientRead)?;
    let order = input::sorts(&query.ordering);
    let filter = PatientFilter {
        search: input::search(&query.search),
        ..PatientFilter::default()
    };
    let found = db::patients::list(state.db.conn(), reach, &filter, order, page).await?;
    audit::note_disclosed(found.rows.iter().map(|p| p.id));
    Ok(found)
}

/// A patient record the actor may see.
///
/// Errors: 404 for a record that does not exist or that they may not see.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<patient::Model> {
    reachable(state, actor, id, Action::PatientRead).await
}

/// Register a patient record. `members` are the body's member names, each
/// of which the actor must be allowed to write.
///
/// Errors: 403 `field_not_writable`; 422 for invalid values or an unknown location.
pub async fn create(state: &AppState, actor: &Actor, body: PatientIn, members: &[String]) -> AppResult<patient::Model> {
    policy::check_writes(actor, members.iter().map(String::as_str))?;
    body.validate()?;
    check_location(state, body.location_id).await?;
    let row = patient::Model {
        first_name: body.first_name.into_trimmed(),
        last_name: body.last_name.into_trimmed(),
        date_of_birth: body.date_of_birth,
        sex: body.sex,
        phone: input::phone("phone", body.phone.as_ref())?,
        email: input::email("email", body.email.as_ref())?,
        address: body.address.into_trimmed(),
        location_id: body.location_id,
        national_id: body.national_id.and_then(TextOrEmpty::non_blank),
        insurance_number: body.insurance_number.and_then(TextOrEmpty::non_blank),
        blood_group: body.blood_group,
        allergies: body.allergies.into_trimmed(),
        medical_history: body.medical_history.into_trimmed(),
        emergency_contact_name: body.emergency_contact_name.into_trimmed(),
        emergency_contact_phone: input::phone("emergency_contact_phone", body.emergency_contact_phone.as_ref())?,
        ..db::patients::blank(state.clock.now())
    };
    let tx = state.db.begin_write().await?;
    let row = db::patients::insert(&tx, row).await?;
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

/// Change a patient record. `members` are the body's member names, each of
/// which the actor must be allowed to write; `precondition` is checked
/// against the locked row (for `If-Match`).
///
/// Errors: 404/403 by the policy; 403 `field_not_writable`; 422 for invalid
/// values or an unknown location; whatever `precondition` returns.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: PatientPatch,
    members: &[String],
    precondition: impl FnOnce(&patient::Model) -> AppResult<()>,
) -> AppResult<patient::Model> {
    reachable(state, actor, id, Action::PatientUpdate).await?;
    policy::check_writes(actor, members.iter().map(String::as_str))?;
    body.validate()?;
    if let Some(location) = body.location_id {
        check_location(state, location).await?;
    }
    let tx = state.db.begin_write().await?;
    let mut row: patient::Model = db::find_for_update(&tx, "patients", id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    precondition(&row)?;
    apply_patch(&mut row, body)?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let row = db::patients::update(&tx, row).await?;
    tx.commit().await?;
    Ok(row)
}

/// Apply the fields a patch carries. Errors: 422 for a phone or email that does not parse.
fn apply_patch(row: &mut patient::Model, body: PatientPatch) -> AppResult<()> {
    if let Some(v) = body.first_name {
        row.first_name = v.into_trimmed();
    }
    if let Some(v) = body.last_name {
        row.last_name = v.into_trimmed();
    }
    if let Some(v) = body.date_of_birth {
        row.date_of_birth = v;
    }
    if let Some(v) = body.sex {
        row.sex = v;
    }
    if let Some(v) = body.phone {
        row.phone = input::phone("phone", v.as_ref())?;
    }
    if let Some(v) = body.email {
        row.email = input::email("email", v.as_ref())?;
    }
    if let Some(v) = body.address {
        row.address = v.into_trimmed();
    }
    if let Some(v) = body.location_id {
        row.location_id = v;
    }
    if let Some(v) = body.national_id {
        row.national_id = v.and_then(TextOrEmpty::non_blank);
    }
    if let Some(v) = body.insurance_number {
        row.insurance_number = v.and_then(TextOrEmpty::non_blank);
    }
    if let Some(v) = body.blood_group {
        row.blood_group = v;
    }
    if let Some(v) = body.allergies {
        row.allergies = v.into_trimmed();
    }
    if let Some(v) = body.medical_history {
        row.medical_history = v.into_trimmed();
    }
    if let Some(v) = body.emergency_contact_name {
        row.emergency_contact_name = v.into_trimmed();
    }
    if let Some(v) = body.emergency_contact_phone {
        row.emergency_contact_phone = input::phone("emergency_contact_phone", v.as_ref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    fn members(schema: utoipa::openapi::RefOr<utoipa::openapi::Schema>) -> Vec<String> {
        let value = serde_json::to_value(schema).unwrap();
        value["properties"].as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn every_field_a_body_can_carry_has_a_class() {
        for schema in [PatientIn::schema(), PatientPatch::schema()] {
            for member in members(schema) {
                assert!(
                    policy::patient_field_class(&member).is_some(),
                    "{member} has no field class"
                );
            }
        }
    }
}
