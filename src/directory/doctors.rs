//! Doctors: profiles linked to accounts with the doctor role, the services
//! they offer, and the doctor search.

use chrono::NaiveDate;
use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::services::{change_money, money};
use crate::booking::availability;
use crate::db::directory::DoctorOrdering;
use crate::db::directory::{self, DoctorFilter, DoctorRow};
use crate::db::entities::doctor;
use crate::db::views::Invalidation;
use crate::db::{self, PageRequest, Paged, audit, users};
use crate::domain::{Currency, Money, Role};
use crate::error::{AppError, AppResult};
use crate::input::{self, Text, TextOrEmpty};
use crate::input::{Ordering, QueryText, Search};
use crate::state::AppState;

crate::bounded_list!(
    /// The languages a doctor speaks.
    Languages of Text<50>, 0..=20
);

/// A new doctor profile for an existing user with the doctor role.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DoctorIn {
    /// A user with role `doctor` and no profile yet.
    #[garde(skip)]
    pub user_id: Uuid,
    /// Registration number (e.g. BMDC), unique.
    #[schema(example = "BMDC-A-41234")]
    #[garde(dive)]
    pub licence_number: Text<64>,
    #[garde(skip)]
    pub specialty_id: Uuid,
    /// Primary facility.
    #[garde(skip)]
    pub facility_id: Uuid,
    #[garde(skip)]
    pub location_id: Option<Uuid>,
    #[serde(default, deserialize_with = "input::integer")]
    #[schema(minimum = 0, maximum = 80)]
    #[garde(range(min = 0, max = 80))]
    pub years_of_experience: i32,
    /// Decimal string, e.g. `"1000.00"`.
    #[schema(example = "1000.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(custom(input::amount))]
    pub consultation_fee: String,
    /// ISO 4217 (default BDT).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(input::optional_currency))]
    pub currency: Option<String>,
    #[serde(default)]
    #[garde(dive)]
    pub bio: TextOrEmpty<4000>,
    #[serde(default)]
    #[garde(dive)]
    pub languages: Languages,
    /// Services the doctor offers.
    #[serde(default)]
    #[schema(max_items = 100)]
    #[garde(length(max = 100))]
    pub service_ids: Vec<Uuid>,
    /// Default true.
    #[garde(skip)]
    pub is_accepting: Option<bool>,
}

/// Changes to a doctor profile; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DoctorPatch {
    #[garde(dive)]
    pub licence_number: Option<Text<64>>,
    #[garde(skip)]
    pub specialty_id: Option<Uuid>,
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    #[schema(minimum = 0, maximum = 80)]
    #[garde(inner(range(min = 0, max = 80)))]
    #[serde(default, deserialize_with = "input::optional_integer")]
    pub years_of_experience: Option<i32>,
    #[schema(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(inner(custom(input::amount)))]
    pub consultation_fee: Option<String>,
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(input::optional_currency))]
    pub currency: Option<String>,
    #[garde(dive)]
    pub bio: Option<TextOrEmpty<4000>>,
    #[garde(dive)]
    pub languages: Option<Languages>,
    /// Replaces the list of services offered.
    #[schema(max_items = 100)]
    #[garde(inner(length(max = 100)))]
    pub service_ids: Option<Vec<Uuid>>,
    #[garde(skip)]
    pub is_accepting: Option<bool>,
}

/// Doctor search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DoctorQuery {
    /// Specialty id, code or name (`cardiology`).
    #[param(inline)]
    pub specialty: Option<QueryText<150>>,
    /// Facility id: the doctor's primary facility or one where they work hours.
    pub facility: Option<Uuid>,
    /// Location id: matches the location or any place under it (a division finds its districts' doctors).
    pub location: Option<Uuid>,
    /// At least this many years of experience.
    #[serde(default, deserialize_with = "input::query_integer")]
    pub min_experience: Option<i32>,
    /// A consultation fee of at most this decimal amount.
    #[param(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub max_fee: Option<String>,
    /// Only doctors with a free slot on this date (`YYYY-MM-DD`, each facility's local date).
    pub available_on: Option<NaiveDate>,
    /// Text in names, specialty, facility or licence number.
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<DoctorOrdering>::schema)]
    pub ordering: Option<Ordering<DoctorOrdering>>,
}

/// A doctor with the names of what the profile links to and the services offered.
#[derive(Debug, Clone)]
pub struct DoctorProfile {
    /// The profile with names.
    pub row: DoctorRow,
    /// Services offered.
    pub service_ids: Vec<Uuid>,
}

/// The stored form of a list of languages (trimmed).
pub fn languages(list: Languages) -> serde_json::Value {
    serde_json::json!(
        list.into_inner()
            .into_iter()
            .map(Text::into_trimmed)
            .collect::<Vec<_>>()
    )
}

async fn with_services(state: &AppState, rows: Vec<DoctorRow>) -> AppResult<Vec<DoctorProfile>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut services = directory::doctor_service_ids(state.db.conn(), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let service_ids = services.remove(&row.id).unwrap_or_default();
            DoctorProfile { row, service_ids }
        })
        .collect())
}

/// A doctor with names and services. Errors: 404.
pub async fn get(state: &AppState, id: Uuid) -> AppResult<DoctorProfile> {
    let row = directory::find_doctor(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    Ok(with_services(state, vec![row]).await?.remove(0))
}

/// Search doctors. An unknown specialty matches no doctor.
///
/// Errors: 400 naming a filter that does not parse.
pub async fn search(state: &AppState, query: &DoctorQuery, page: PageRequest) -> AppResult<Paged<DoctorProfile>> {
    let order = input::sorts(&query.ordering);
    let db = state.db.conn();
    let mut filter = DoctorFilter {
        facility: query.facility,
        location: query.location,
        min_experience: query.min_experience,
        search: input::search(&query.search),
        ..DoctorFilter::default()
    };
    if let Some(key) = input::clean(query.specialty.clone().map(QueryText::into_inner)) {
        filter.specialty = Some(match directory::find_specialty_by_key(db, &key).await? {
            Some(specialty) => specialty.id,
            None => Uuid::nil(),
        });
    }
    if let Some(max) = &query.max_fee {
        let fee = Money::parse(max, Currency::BDT).map_err(|m| AppError::bad_field("max_fee", m))?;
        filter.max_fee_minor = Some(fee.minor);
    }
    if let Some(date) = query.available_on {
        let candidates = directory::doctor_ids(db, &filter).await?;
        let free = availability::free_on(state, &candidates, date).await?;
        filter.ids = Some(candidates.into_iter().filter(|id| free.contains(id)).collect());
    }
    let paged = directory::search_doctors(db, &filter, order, page).await?;
    Ok(Paged {
        count: paged.count,
        rows: with_services(state, paged.rows).await?,
    })
}

async fn check_links(
    state: &AppState,
    specialty: Option<Uuid>,
    facility: Option<Uuid>,
    location: Option<Uuid>,
    services: Option<&[Uuid]>,
) -> AppResult<()> {
    let db = state.db.conn();
    if let Some(id) = specialty
        && directory::find_specialty(db, id).await?.is_none()
    {
        return Err(AppError::invalid_field("specialty_id", "no such specialty"));
    }
    if let Some(id) = facility
        && directory::find_facility(db, id).await?.is_none()
    {
        return Err(AppError::invalid_field("facility_id", "no such facility"));
    }
    super::check_location(db, location).await?;
    if let Some(ids) = services {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        if unique.len() != ids.len() {
            return Err(AppError::invalid_field("service_ids", "lists a service twice"));
        }
        if directory::count_services(db, ids).await? != ids.len() {
            return Err(AppError::invalid_field("service_ids", "contains an unknown service"));
        }
    }
    Ok(())
}

/// Create a doctor profile for a user with the doctor role.
///
/// Errors: 422 naming an unknown or unsuitable user, specialty, facility,
/// location or service, or a bad fee; 409 for a second profile or a taken licence.
pub async fn create(state: &AppState, body: DoctorIn) -> AppResult<DoctorProfile> {
    body.validate()?;
    let user = users::find(state.db.conn(), body.user_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("user_id", "no such user"))?;
    if user.role != Role::Doctor {
        return Err(AppError::invalid_field(
            "user_id",
            "must be a user with the doctor role",
        ));
    }
    check_links(
        state,
        Some(body.specialty_id),
        Some(body.facility_id),
        body.location_id,
        Some(&body.service_ids),
    )
    .await?;
    let fee = money("consultation_fee", &body.consultation_fee, body.currency.as_deref())?;
    let now = state.clock.now();
    let row = doctor::Model {
        id: Uuid::new_v4(),
        user_id: body.user_id,
        licence_number: body.licence_number.into_trimmed(),
        specialty_id: body.specialty_id,
        facility_id: body.facility_id,
        location_id: body.location_id,
        years_of_experience: body.years_of_experience,
        consultation_fee_minor: fee.minor,
        currency: fee.currency.code().to_owned(),
        bio: body.bio.into_trimmed(),
        languages: languages(body.languages),
        is_accepting: body.is_accepting.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let tx = state.db.begin_write().await?;
    db::insert_row::<doctor::ActiveModel>(&tx, row.clone()).await?;
    tx.invalidate(Invalidation::User(row.user_id));
    directory::set_doctor_services(&tx, row.id, &body.service_ids).await?;
    audit::note_object(row.id);
    tx.commit().await?;
    get(state, row.id).await
}

/// Change a doctor profile; `precondition` is checked against the locked
/// row (for `If-Match`).
///
/// Errors: 404; as [`create`] for the fields; whatever `precondition` returns.
pub async fn update(
    state: &AppState,
    id: Uuid,
    body: DoctorPatch,
    precondition: impl FnOnce(&doctor::Model) -> AppResult<()>,
) -> AppResult<DoctorProfile> {
    body.validate()?;
    let links = (body.specialty_id, body.facility_id, body.location_id.flatten());
    check_links(state, links.0, links.1, links.2, body.service_ids.as_deref()).await?;
    let tx = state.db.begin_write().await?;
    let mut row: doctor::Model = db::find_for_update(&tx, "doctors", id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    precondition(&row)?;
    let services = body.service_ids.clone();
    apply_patch(&mut row, body)?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    tx.invalidate(Invalidation::User(row.user_id));
    tx.invalidate(Invalidation::Doctor(id));
    db::update_row::<doctor::ActiveModel>(&tx, row).await?;
    if let Some(services) = &services {
        directory::set_doctor_services(&tx, id, services).await?;
    }
    tx.commit().await?;
    get(state, id).await
}

/// Apply the fields a patch carries (services are replaced by the caller).
/// Errors: 422 for a fee or currency that does not parse.
fn apply_patch(row: &mut doctor::Model, body: DoctorPatch) -> AppResult<()> {
    if let Some(licence) = body.licence_number {
        row.licence_number = licence.into_trimmed();
    }
    if let Some(specialty) = body.specialty_id {
        row.specialty_id = specialty;
    }
    if let Some(facility) = body.facility_id {
        row.facility_id = facility;
    }
    if let Some(location) = body.location_id {
        row.location_id = location;
    }
    if let Some(years) = body.years_of_experience {
        row.years_of_experience = years;
    }
    let fee = (&mut row.consultation_fee_minor, &mut row.currency);
    change_money("consultation_fee", fee, body.consultation_fee, body.currency)?;
    if let Some(bio) = body.bio {
        row.bio = bio.into_trimmed();
    }
    if let Some(list) = body.languages {
        row.languages = languages(list);
    }
    if let Some(accepting) = body.is_accepting {
        row.is_accepting = accepting;
    }
    Ok(())
}

/// Delete a doctor profile that has no appointments (set `is_accepting`
/// false to retire one). Errors: 404; 409 `in_use`.
pub async fn delete(state: &AppState, id: Uuid) -> AppResult<()> {
    let tx = state.db.begin_write().await?;
    let row: doctor::Model = db::find_for_update(&tx, "doctors", id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    db::delete_row::<doctor::Entity>(&tx, id).await?;
    tx.invalidate(Invalidation::User(row.user_id));
    tx.invalidate(Invalidation::Doctor(id));
    tx.commit().await?;
    Ok(())
}
