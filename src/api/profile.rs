//! One's own profile: names and contact details for everyone, contact
//! details and emergency contact for patients, professional details for
//! doctors; preferences; a profile image.
//!
//! Role, active flag, ids, licence and fees are never writable here: a
//! field the body may not carry is refused with 400 naming it.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::auth::current_user;
use super::conditional::{IfMatch, etag, time_tag};
use super::extract::ApiJson;
use super::no_content;
use super::responses::{ReadErrors, WriteErrors};
use super::rules;
use super::users::{UserOut, apply_contact};
use crate::auth::Actor;
use crate::db::entities::{doctor, patient, user};
use crate::db::{self, directory};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::profile_image::{self, MAX_IMAGE_BYTES};
use crate::state::AppState;

/// Largest body of an image upload: the image and the multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = MAX_IMAGE_BYTES + 64 * 1024;

/// Routes of this area. The image upload accepts bodies up to
/// [`UPLOAD_BODY_LIMIT`] whatever the general body limit.
pub fn router() -> OpenApiRouter<AppState> {
    let images = OpenApiRouter::new()
        .routes(routes!(get_image, upload_image, delete_image))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(get_profile, update_profile))
        .routes(routes!(get_preferences, put_preferences))
        .merge(images)
}

/// A patient's own contact details and emergency contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientContactOut {
    pub patient_id: Uuid,
    pub date_of_birth: Option<NaiveDate>,
    pub address: String,
    /// A place of the location tree.
    pub location_id: Option<Uuid>,
    pub emergency_contact_name: String,
    /// E.164.
    pub emergency_contact_phone: Option<String>,
}

/// A doctor's professional details (licence, fee, specialty and facility are set by an administrator).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfessionalOut {
    pub doctor_id: Uuid,
    pub bio: String,
    #[schema(example = json!(["Bangla", "English"]))]
    pub languages: Vec<String>,
    pub years_of_experience: i32,
}

/// One's own profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileOut {
    pub user: UserOut,
    /// Patients only.
    pub patient: Option<PatientContactOut>,
    /// Doctors with a profile only.
    pub doctor: Option<ProfessionalOut>,
    /// Whether a profile image was uploaded (`GET /api/v1/profile/image`).
    pub has_image: bool,
}

/// Changes to one's own profile; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[schema(min_length = 1, max_length = 150)]
    #[garde(inner(custom(rules::text::<150>)))]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 150)]
    #[garde(inner(custom(rules::text::<150>)))]
    pub last_name: Option<String>,
    /// Login and contact email; null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, max_length = 254)]
    #[garde(inner(custom(rules::optional_email)))]
    pub email: Option<Option<String>>,
    /// Login and contact phone; null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, max_length = 32)]
    #[garde(custom(rules::optional_phone_patch))]
    pub phone: Option<Option<String>>,
    /// Patients only.
    #[schema(max_length = 500)]
    #[garde(inner(custom(rules::long_text::<500>)))]
    pub address: Option<String>,
    /// Patients only; null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    /// Patients only.
    #[schema(max_length = 150)]
    #[garde(inner(custom(rules::long_text::<150>)))]
    pub emergency_contact_name: Option<String>,
    /// Patients only; null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, max_length = 32)]
    #[garde(custom(rules::optional_phone_patch))]
    pub emergency_contact_phone: Option<Option<String>>,
    /// Doctors only.
    #[schema(max_length = 4000)]
    #[garde(inner(custom(rules::long_text::<4000>)))]
    pub bio: Option<String>,
    /// Doctors only.
    #[schema(max_items = 20)]
    #[garde(inner(length(max = 20), inner(custom(rules::text::<50>))))]
    pub languages: Option<Vec<String>>,
    /// Doctors only.
    #[schema(minimum = 0, maximum = 80)]
    #[serde(default, deserialize_with = "rules::optional_integer")]
    #[garde(inner(range(min = 0, max = 80)))]
    pub years_of_experience: Option<i32>,
}

impl ProfilePatch {
    /// The first field present that `role` may not change.
    fn forbidden_field(&self, role: Role, has_doctor_profile: bool) -> Option<(&'static str, &'static str)> {
        let patient_fields = [
            ("address", self.address.is_some()),
            ("location_id", self.location_id.is_some()),
            ("emergency_contact_name", self.emergency_contact_name.is_some()),
            ("emergency_contact_phone", self.emergency_contact_phone.is_some()),
        ];
        let doctor_fields = [
            ("bio", self.bio.is_some()),
            ("languages", self.languages.is_some()),
            ("years_of_experience", self.years_of_experience.is_some()),
        ];
        if role != Role::Patient
            && let Some((field, _)) = patient_fields.iter().find(|(_, present)| *present)
        {
            return Some((field, "only patients have this field"));
        }
        if !(role == Role::Doctor && has_doctor_profile)
            && let Some((field, _)) = doctor_fields.iter().find(|(_, present)| *present)
        {
            return Some((field, "only doctors with a doctor profile have this field"));
        }
        None
    }
}

/// A profile with its `ETag`.
pub type TaggedProfile = ([(HeaderName, HeaderValue); 1], Json<ProfileOut>);

async fn profile(state: &AppState, actor: &Actor) -> AppResult<TaggedProfile> {
    let user = current_user(state, actor).await?;
    let conn = state.db.conn();
    let patient = match actor.patient_id.filter(|_| actor.role == Role::Patient) {
        Some(id) => db::patients::find(conn, id).await?,
        None => None,
    };
    let doctor = match actor.doctor_id.filter(|_| actor.role == Role::Doctor) {
        Some(id) => directory::find_doctor_row(conn, id).await?,
        None => None,
    };
    let tag = time_tag(user.updated_at);
    let links = db::users::Links {
        patient_id: actor.patient_id,
        doctor_id: actor.doctor_id,
    };
    let has_image = user.profile_image.is_some();
    let out = ProfileOut {
        user: UserOut::new(user, links),
        patient: patient.map(|p| PatientContactOut {
            patient_id: p.id,
            date_of_birth: p.date_of_birth,
            address: p.address,
            location_id: p.location_id,
            emergency_contact_name: p.emergency_contact_name,
            emergency_contact_phone: p.emergency_contact_phone,
        }),
        doctor: doctor.map(|d| ProfessionalOut {
            doctor_id: d.id,
            bio: d.bio,
            languages: serde_json::from_value(d.languages).unwrap_or_default(),
            years_of_experience: d.years_of_experience,
        }),
        has_image,
    };
    Ok((etag(&tag), Json(out)))
}

/// One's own profile.
#[utoipa::path(
    get,
    path = "/api/v1/profile",
    tag = "profile",
    responses((status = 200, description = "The profile", body = ProfileOut,
        headers(("ETag" = String, description = "The profile's version, for If-Match"))), ReadErrors),
    security(("bearer" = []))
)]
pub async fn get_profile(State(state): State<AppState>, actor: Actor) -> AppResult<TaggedProfile> {
    profile(&state, &actor).await
}

/// Change one's own profile. Patients may change their contact details and
/// emergency contact, doctors their professional details; email and phone
/// change the login too (a patient's record follows). Unknown fields and
/// fields of another role are refused with 400.
#[utoipa::path(
    patch,
    path = "/api/v1/profile",
    tag = "profile",
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the profile has changed since")),
    request_body = ProfilePatch,
    responses((status = 200, description = "The changed profile", body = ProfileOut,
        headers(("ETag" = String, description = "The profile's new version"))), WriteErrors),
    security(("bearer" = []))
)]
pub async fn update_profile(
    State(state): State<AppState>,
    actor: Actor,
    if_match: IfMatch,
    ApiJson(body): ApiJson<ProfilePatch>,
) -> AppResult<TaggedProfile> {
    let doctor_id = actor.doctor_id.filter(|_| actor.role == Role::Doctor);
    if let Some((field, message)) = body.forbidden_field(actor.role, doctor_id.is_some()) {
        return Err(AppError::bad_field(field, message));
    }
    body.validate()?;
    if let Some(Some(location)) = body.location_id
        && directory::find_location(state.db.conn(), location).await?.is_none()
    {
        return Err(AppError::invalid_field("location_id", "no such location"));
    }
    let now = state.clock.now();
    let txn = state.db.begin_write().await?;
    let mut row: user::Model = db::find_for_update(&txn, "users", actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    if_match.check(&time_tag(row.updated_at))?;
    let contact_changed = body.email.is_some() || body.phone.is_some();
    apply_contact(&mut row, body.email, body.phone)?;
    if let Some(v) = &body.first_name {
        row.first_name = v.trim().to_owned();
    }
    if let Some(v) = &body.last_name {
        row.last_name = v.trim().to_owned();
    }
    row.updated_at = db::next_update(row.updated_at, now);
    let row = db::users::update(&txn, row).await?;

    if let Some(patient_id) = actor.patient_id.filter(|_| actor.role == Role::Patient) {
        let mut record: patient::Model = db::find_for_update(&txn, "patients", patient_id)
            .await?
            .ok_or(AppError::NotFound("patient"))?;
        if body.first_name.is_some() || body.last_name.is_some() {
            record.first_name = row.first_name.clone();
            record.last_name = row.last_name.clone();
        }
        if contact_changed {
            record.email = row.email.clone();
            record.phone = row.phone.clone();
        }
        if let Some(v) = body.address {
            record.address = v.trim().to_owned();
        }
        if let Some(v) = body.location_id {
            record.location_id = v;
        }
        if let Some(v) = body.emergency_contact_name {
            record.emergency_contact_name = v.trim().to_owned();
        }
        if let Some(v) = body.emergency_contact_phone {
            record.emergency_contact_phone = rules::clean(v)
                .map(|p| crate::domain::Phone::parse(&p).map(crate::domain::Phone::into_string))
                .transpose()
                .map_err(|m| AppError::invalid_field("emergency_contact_phone", m))?;
        }
        record.updated_at = db::next_update(record.updated_at, now);
        db::patients::update(&txn, record).await?;
    }
    if let Some(doctor_id) = doctor_id
        && (body.bio.is_some() || body.languages.is_some() || body.years_of_experience.is_some())
    {
        let mut profile: doctor::Model = db::find_for_update(&txn, "doctors", doctor_id)
            .await?
            .ok_or(AppError::NotFound("doctor"))?;
        if let Some(v) = body.bio {
            profile.bio = v.trim().to_owned();
        }
        if let Some(v) = body.languages {
            profile.languages = serde_json::json!(v.iter().map(|l| l.trim()).collect::<Vec<_>>());
        }
        if let Some(v) = body.years_of_experience {
            profile.years_of_experience = v;
        }
        profile.updated_at = db::next_update(profile.updated_at, now);
        directory::update_row::<doctor::ActiveModel>(&txn, profile).await?;
    }
    txn.commit().await?;
    profile(&state, &actor).await
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

/// One's own preferences.
#[utoipa::path(
    get,
    path = "/api/v1/profile/preferences",
    tag = "profile",
    responses((status = 200, description = "The preferences", body = Preferences), ReadErrors),
    security(("bearer" = []))
)]
pub async fn get_preferences(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Preferences>> {
    Ok(Json(preferences_of(&current_user(&state, &actor).await?)))
}

/// Replace one's own preferences.
#[utoipa::path(
    put,
    path = "/api/v1/profile/preferences",
    tag = "profile",
    request_body = Preferences,
    responses((status = 200, description = "The new preferences", body = Preferences), WriteErrors),
    security(("bearer" = []))
)]
pub async fn put_preferences(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(mut body): ApiJson<Preferences>,
) -> AppResult<Json<Preferences>> {
    if body.notification_channels.len() > 3 {
        return Err(AppError::invalid_field("notification_channels", "at most 3 channels"));
    }
    body.notification_channels.sort();
    body.notification_channels.dedup();
    let txn = state.db.begin_write().await?;
    let mut row: user::Model = db::find_for_update(&txn, "users", actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    if body.notification_channels.contains(&Channel::Email) && row.email.is_none() {
        return Err(AppError::invalid_field(
            "notification_channels",
            "email needs an email address on the account",
        ));
    }
    if body.notification_channels.contains(&Channel::Sms) && row.phone.is_none() {
        return Err(AppError::invalid_field(
            "notification_channels",
            "sms needs a phone number on the account",
        ));
    }
    row.preferences = serde_json::to_string(&body).map_err(|e| AppError::Internal(e.into()))?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    db::users::update(&txn, row).await?;
    txn.commit().await?;
    Ok(Json(body))
}

/// A profile image upload (one field, `image`).
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// JPEG, PNG or WebP, at most 5 MiB. The content is checked, not the
    /// name or declared type; it is re-encoded (metadata such as location
    /// is dropped) and scaled to fit 512×512.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

/// What was stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageOut {
    /// `image/jpeg` or `image/png`.
    #[schema(example = "image/jpeg")]
    pub content_type: &'static str,
    #[schema(example = 512)]
    pub width: u32,
    #[schema(example = 384)]
    pub height: u32,
    /// Size of the stored image in bytes.
    pub size: u64,
}

/// Upload a profile image (`multipart/form-data`, field `image`), replacing any earlier one.
#[utoipa::path(
    post,
    path = "/api/v1/profile/image",
    tag = "profile",
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses((status = 200, description = "Stored", body = ImageOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn upload_image(
    State(state): State<AppState>,
    actor: Actor,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<ImageOut>> {
    let mut multipart = multipart.map_err(|_| {
        AppError::UnsupportedMediaType("send the image as multipart/form-data with a field named image".into())
    })?;
    let mut bytes = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(_) => return Err(AppError::bad_field("body", "the multipart body is malformed")),
        };
        if field.name() != Some("image") {
            let name: String = field.name().unwrap_or("").chars().take(64).collect();
            let name = if name.is_empty() { "body".to_owned() } else { name };
            return Err(AppError::bad_field(name, "unknown field; send only image"));
        }
        if bytes.is_some() {
            return Err(AppError::bad_field("image", "send one image"));
        }
        let data = field.bytes().await.map_err(|err| {
            if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::bad_field("image", "the upload was cut short")
            }
        })?;
        bytes = Some(data);
    }
    let bytes = bytes.ok_or_else(|| AppError::bad_field("image", "is required (a multipart field named image)"))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let processed = tokio::task::spawn_blocking(move || profile_image::process(&bytes))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|message| AppError::invalid_field("image", message))?;
    let stored = profile_image::store(&state.config.upload_dir, actor.user_id, &processed).await?;
    let txn = state.db.begin_write().await?;
    let mut row: user::Model = db::find_for_update(&txn, "users", actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    let previous = row.profile_image.replace(stored.clone());
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    if let Err(err) = db::users::update(&txn, row).await {
        profile_image::remove(&state.config.upload_dir, &stored).await;
        return Err(err.into());
    }
    txn.commit().await?;
    if let Some(previous) = previous {
        profile_image::remove(&state.config.upload_dir, &previous).await;
    }
    Ok(Json(ImageOut {
        content_type: processed.content_type,
        width: processed.width,
        height: processed.height,
        size: processed.bytes.len() as u64,
    }))
}

/// One's own profile image.
#[utoipa::path(
    get,
    path = "/api/v1/profile/image",
    tag = "profile",
    responses((status = 200, description = "The image", content(
        (Vec<u8> = "image/jpeg"),
        (Vec<u8> = "image/png"))), ReadErrors),
    security(("bearer" = []))
)]
pub async fn get_image(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let user = current_user(&state, &actor).await?;
    let name = user.profile_image.ok_or(AppError::NotFound("profile image"))?;
    let (content_type, bytes) = profile_image::load(&state.config.upload_dir, &name)
        .await?
        .ok_or(AppError::NotFound("profile image"))?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        bytes,
    )
        .into_response())
}

/// Remove one's own profile image.
#[utoipa::path(
    delete,
    path = "/api/v1/profile/image",
    tag = "profile",
    responses((status = 204, description = "Removed"), WriteErrors),
    security(("bearer" = []))
)]
pub async fn delete_image(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let txn = state.db.begin_write().await?;
    let mut row: user::Model = db::find_for_update(&txn, "users", actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    let name = row.profile_image.take().ok_or(AppError::NotFound("profile image"))?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    db::users::update(&txn, row).await?;
    txn.commit().await?;
    profile_image::remove(&state.config.upload_dir, &name).await;
    Ok(no_content())
}
