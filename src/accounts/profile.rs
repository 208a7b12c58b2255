//! One's own profile: names and contact details for everyone, the contact
//! details and emergency contact of their patient record for patients, the
//! professional details of their doctor profile for doctors; preferences;
//! a profile image.
//!
//! Role, active flag, ids, licence and fees are never writable here; a
//! member of the body that writes a record the caller does not have is
//! refused with 400 naming it.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::users::apply_contact;
use super::{current_user, own_row};
use crate::auth::Actor;
use crate::auth::policy::{self, OwnRecords};
use crate::db::entities::{doctor, patient, user};
use crate::db::{self, directory};
use crate::directory::doctors::Languages;
use crate::error::{AppError, AppResult};
use crate::input::text::Name;
use crate::input::{self, EmailText, PhoneText, TextOrEmpty};
use crate::patients::{Address, EmergencyContactName};
use crate::profile_image::{self, MAX_IMAGE_BYTES};
use crate::state::AppState;

/// Changes to one's own profile; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[garde(dive)]
    pub first_name: Option<Name>,
    #[garde(dive)]
    pub last_name: Option<Name>,
    /// Login and contact email; null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<EmailText>)]
    #[garde(dive)]
    pub email: Option<Option<EmailText>>,
    /// Login and contact phone; null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PhoneText>)]
    #[garde(dive)]
    pub phone: Option<Option<PhoneText>>,
    /// Patients only.
    #[garde(dive)]
    pub address: Option<Address>,
    /// Patients only; null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    /// Patients only.
    #[garde(dive)]
    pub emergency_contact_name: Option<EmergencyContactName>,
    /// Patients only; null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PhoneText>)]
    #[garde(dive)]
    pub emergency_contact_phone: Option<Option<PhoneText>>,
    /// Doctors only.
    #[garde(dive)]
    pub bio: Option<TextOrEmpty<4000>>,
    /// Doctors only.
    #[garde(dive)]
    pub languages: Option<Languages>,
    /// Doctors only.
    #[schema(minimum = 0, maximum = 80)]
    #[serde(default, deserialize_with = "input::optional_integer")]
    #[garde(inner(range(min = 0, max = 80)))]
    pub years_of_experience: Option<i32>,
}

/// Members of a profile patch that write the caller's patient record.
const PATIENT_MEMBERS: &[&str] = &[
    "address",
    "location_id",
    "emergency_contact_name",
    "emergency_contact_phone",
];
/// Members that write the caller's doctor profile.
const DOCTOR_MEMBERS: &[&str] = &["bio", "languages", "years_of_experience"];

/// Refuse a member that writes a record the actor does not have, or
/// patient-record fields the policy does not let them write.
///
/// Errors: 400 naming the member; 403 `field_not_writable`.
fn check_members(actor: &Actor, members: &[String], own: OwnRecords) -> AppResult<()> {
    for member in members {
        if own.patient.is_none() && PATIENT_MEMBERS.contains(&member.as_str()) {
            return Err(AppError::bad_field(member.clone(), "only patients have this field"));
        }
        if own.doctor.is_none() && DOCTOR_MEMBERS.contains(&member.as_str()) {
            return Err(AppError::bad_field(
                member.clone(),
                "only doctors with a doctor profile have this field",
            ));
        }
    }
    let patient_members = members
        .iter()
        .map(String::as_str)
        .filter(|m| PATIENT_MEMBERS.contains(m));
    policy::check_writes(actor, patient_members)
}

/// One's own profile as stored.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The account.
    pub user: user::Model,
    /// Its links.
    pub links: db::users::Links,
    /// The patient record (patients).
    pub patient: Option<patient::Model>,
    /// The doctor profile (doctors with one).
    pub doctor: Option<doctor::Model>,
}

/// The actor's profile.
pub async fn get(state: &AppState, actor: &Actor) -> AppResult<Profile> {
    let user = current_user(state, actor).await?;
    let own = policy::own_records(actor);
    let conn = state.db.conn();
    let patient = match own.patient {
        Some(id) => db::patients::find(conn, id).await?,
        None => None,
    };
    let doctor = match own.doctor {
        Some(id) => directory::find_doctor_row(conn, id).await?,
        None => None,
    };
    let links = db::users::Links {
        patient_id: actor.patient_id,
        doctor_id: actor.doctor_id,
    };
    Ok(Profile {
        user,
        links,
        patient,
        doctor,
    })
}

/// Change one's own profile: the account, and through it the caller's
/// patient record or doctor profile. `members` are the body's member names;
/// `precondition` is checked against the locked account (for `If-Match`).
///
/// Errors: 400 for a member of a record the caller does not have; 422 for
/// invalid values or an unknown location; 409 for a taken email or phone;
/// whatever `precondition` returns.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    body: ProfilePatch,
    members: &[String],
    precondition: impl FnOnce(&user::Model) -> AppResult<()>,
) -> AppResult<Profile> {
    let own = policy::own_records(actor);
    check_members(actor, members, own)?;
    body.validate()?;
    if let Some(Some(location)) = body.location_id
        && directory::find_location(state.db.conn(), location).await?.is_none()
    {
        return Err(AppError::invalid_field("location_id", "no such location"));
    }
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut row = own_row(&tx, actor).await?;
    precondition(&row)?;
    let names_changed = body.first_name.is_some() || body.last_name.is_some();
    let contact_changed = body.email.is_some() || body.phone.is_some();
    apply_contact(&mut row, body.email.clone(), body.phone.clone())?;
    if let Some(v) = &body.first_name {
        row.first_name = v.trimmed().to_owned();
    }
    if let Some(v) = &body.last_name {
        row.last_name = v.trimmed().to_owned();
    }
    row.updated_at = db::next_update(row.updated_at, now);
    let account = db::users::update(&tx, row).await?;
    if let Some(patient_id) = own.patient {
        let mut record: patient::Model = db::find_for_update(&tx, "patients", patient_id)
            .await?
            .ok_or(AppError::NotFound("patient"))?;
        if names_changed {
            (record.first_name, record.last_name) = (account.first_name.clone(), account.last_name.clone());
        }
        if contact_changed {
            (record.email, record.phone) = (account.email.clone(), account.phone.clone());
        }
        apply_patient_fields(&mut record, &body)?;
        record.updated_at = db::next_update(record.updated_at, now);
        db::patients::update(&tx, record).await?;
    }
    if let Some(doctor_id) = own.doctor
        && (body.bio.is_some() || body.languages.is_some() || body.years_of_experience.is_some())
    {
        let mut profile: doctor::Model = db::find_for_update(&tx, "doctors", doctor_id)
            .await?
            .ok_or(AppError::NotFound("doctor"))?;
        apply_doctor_fields(&mut profile, body);
        profile.updated_at = db::next_update(profile.updated_at, now);
        db::update_row::<doctor::ActiveModel>(&tx, profile).await?;
    }
    tx.commit().await?;
    get(state, actor).await
}

/// The patient-record members of a profile patch. Errors: 422 for a phone that does not parse.
fn apply_patient_fields(record: &mut patient::Model, body: &ProfilePatch) -> AppResult<()> {
    if let Some(v) = &body.address {
        record.address = v.trimmed().to_owned();
    }
    if let Some(v) = body.location_id {
        record.location_id = v;
    }
    if let Some(v) = &body.emergency_contact_name {
        record.emergency_contact_name = v.trimmed().to_owned();
    }
    if let Some(v) = &body.emergency_contact_phone {
        record.emergency_contact_phone = input::phone("emergency_contact_phone", v.as_ref())?;
    }
    Ok(())
}

/// The doctor-profile members of a profile patch.
fn apply_doctor_fields(profile: &mut doctor::Model, body: ProfilePatch) {
    if let Some(v) = body.bio {
        profile.bio = v.into_trimmed();
    }
    if let Some(v) = body.languages {
        profile.languages = crate::directory::doctors::languages(v);
    }
    if let Some(v) = body.years_of_experience {
        profile.years_of_experience = v;
    }
}

/// Interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Bangla.
    Bn,
}

/// A way to reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
}

/// Preferences (all fields are required on PUT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub language: Language,
    /// Where notifications go; email needs an email address, sms a phone number.
    #[schema(max_items = 3, example = json!(["email", "sms"]))]
    pub notification_channels: Vec<Channel>,
    /// Whether to send appointment reminders.
    pub appointment_reminders: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            language: Language::En,
            notification_channels: vec![Channel::Email],
            appointment_reminders: true,
        }
    }
}

/// The stored preferences of a user (defaults for anything missing or unreadable).
pub fn preferences_of(user: &user::Model) -> Preferences {
    serde_json::from_str(&user.preferences).unwrap_or_default()
}

/// The actor's preferences.
pub async fn preferences(state: &AppState, actor: &Actor) -> AppResult<Preferences> {
    Ok(preferences_of(&current_user(state, actor).await?))
}

/// Replace the actor's preferences (channels deduplicated).
///
/// Errors: 422 naming `notification_channels` for more than three, or a
/// channel the account has no address for.
pub async fn set_preferences(state: &AppState, actor: &Actor, mut body: Preferences) -> AppResult<Preferences> {
    if body.notification_channels.len() > 3 {
        return Err(AppError::invalid_field("notification_channels", "at most 3 channels"));
    }
    body.notification_channels.sort();
    body.notification_channels.dedup();
    let tx = state.db.begin_write().await?;
    let mut row = own_row(&tx, actor).await?;
    let channels = &body.notification_channels;
    if channels.contains(&Channel::Email) && row.email.is_none() {
        return Err(AppError::invalid_field(
            "notification_channels",
            "email needs an email address on the account",
        ));
    }
    if channels.contains(&Channel::Sms) && row.phone.is_none() {
        return Err(AppError::invalid_field(
            "notification_channels",
            "sms needs a phone number on the account",
        ));
    }
    row.preferences = serde_json::to_string(&body).map_err(|e| AppError::Internal(e.into()))?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    db::users::update(&tx, row).await?;
    tx.commit().await?;
    Ok(body)
}

/// Check, re-encode and store `upload` as the actor's profile image,
/// replacing any earlier one.
///
/// Errors: 413 over [`MAX_IMAGE_BYTES`]; 422 naming `image` for anything
/// that is not a readable JPEG, PNG or WebP image.
pub async fn set_image(state: &AppState, actor: &Actor, upload: Vec<u8>) -> AppResult<profile_image::Processed> {
    if upload.len() > MAX_IMAGE_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let processed = tokio::task::spawn_blocking(move || profile_image::process(&upload))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|message| AppError::invalid_field("image", message))?;
    let dir = &state.config.upload_dir;
    let stored = profile_image::store(dir, actor.user_id, &processed).await?;
    let saved = async {
        let tx = state.db.begin_write().await?;
        let mut row = own_row(&tx, actor).await?;
        let previous = row.profile_image.replace(stored.clone());
        row.updated_at = db::next_update(row.updated_at, state.clock.now());
        db::users::update(&tx, row).await?;
        tx.commit().await?;
        AppResult::Ok(previous)
    }
    .await;
    match saved {
        Ok(previous) => {
            if let Some(previous) = previous {
                profile_image::remove(dir, &previous).await;
            }
            Ok(processed)
        }
        Err(err) => {
            profile_image::remove(dir, &stored).await;
            Err(err)
        }
    }
}

/// The actor's profile image: its content type and bytes.
///
/// Errors: 404 when there is none.
pub async fn image(state: &AppState, actor: &Actor) -> AppResult<(&'static str, Vec<u8>)> {
    let user = current_user(state, actor).await?;
    let name = user.profile_image.ok_or(AppError::NotFound("profile image"))?;
    profile_image::load(&state.config.upload_dir, &name)
        .await?
        .ok_or(AppError::NotFound("profile image"))
}

/// Remove the actor's profile image.
///
/// Errors: 404 when there is none.
pub async fn remove_image(state: &AppState, actor: &Actor) -> AppResult<()> {
    let tx = state.db.begin_write().await?;
    let mut row = own_row(&tx, actor).await?;
    let name = row.profile_image.take().ok_or(AppError::NotFound("profile image"))?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    db::users::update(&tx, row).await?;
    tx.commit().await?;
    profile_image::remove(&state.config.upload_dir, &name).await;
    Ok(())
}
