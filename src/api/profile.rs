//! One's own profile, preferences and profile image over HTTP (see
//! [`crate::accounts::profile`]).

use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiFields, ApiJson};
use super::no_content;
use super::responses::{ReadErrors, WriteErrors};
use super::users::UserOut;
use crate::accounts::profile::{self, Preferences, Profile, ProfilePatch};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::entities::user;
use crate::error::{AppError, AppResult};
use crate::profile_image::MAX_IMAGE_BYTES;
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

/// A profile with its `ETag`.
pub type TaggedProfile = ([(HeaderName, HeaderValue); 1], Json<ProfileOut>);

fn tagged(found: Profile) -> TaggedProfile {
    let tag = time_tag(found.user.updated_at);
    let has_image = found.user.profile_image.is_some();
    let out = ProfileOut {
        user: UserOut::new(found.user, found.links),
        patient: found.patient.map(|p| PatientContactOut {
            patient_id: p.id,
            date_of_birth: p.date_of_birth,
            address: p.address,
            location_id: p.location_id,
            emergency_contact_name: p.emergency_contact_name,
            emergency_contact_phone: p.emergency_contact_phone,
        }),
        doctor: found.doctor.map(|d| ProfessionalOut {
            doctor_id: d.id,
            bio: d.bio,
            languages: serde_json::from_value(d.languages).unwrap_or_default(),
            years_of_experience: d.years_of_experience,
        }),
        has_image,
    };
    (etag(&tag), Json(out))
}

/// One's own profile.
#[utoipa::path(
    get,
    path = "/api/v1/profile",
    tag = "profile",
    responses((status = 200, description = "The profile", body = ProfileOut,
        headers(("ETag" = String, description = "The profile's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn get_profile(State(state): State<AppState>, actor: Actor) -> AppResult<TaggedProfile> {
    Ok(tagged(profile::get(&state, &actor).await?))
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn update_profile(
    State(state): State<AppState>,
    actor: Actor,
    if_match: IfMatch,
    ApiFields(body, members): ApiFields<ProfilePatch>,
) -> AppResult<TaggedProfile> {
    let check = |row: &user::Model| if_match.check(&time_tag(row.updated_at));
    Ok(tagged(profile::update(&state, &actor, body, &members, check).await?))
}

/// One's own preferences.
#[utoipa::path(
    get,
    path = "/api/v1/profile/preferences",
    tag = "profile",
    responses((status = 200, description = "The preferences", body = Preferences), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn get_preferences(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Preferences>> {
    Ok(Json(profile::preferences(&state, &actor).await?))
}

/// Replace one's own preferences.
#[utoipa::path(
    put,
    path = "/api/v1/profile/preferences",
    tag = "profile",
    request_body = Preferences,
    responses((status = 200, description = "The new preferences", body = Preferences), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn put_preferences(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Preferences>,
) -> AppResult<Json<Preferences>> {
    Ok(Json(profile::set_preferences(&state, &actor, body).await?))
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

/// The bytes of a `multipart/form-data` body whose one field is `image`.
///
/// Errors: 415 for another content type; 413 over the limit; 400 for a
/// malformed body, another field, a second image or none.
pub struct ImageBytes(pub Vec<u8>);

fn too_large_or(status: StatusCode, otherwise: AppError) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        otherwise
    }
}

impl<S: Send + Sync> FromRequest<S> for ImageBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let multipart: Result<Multipart, MultipartRejection> = Multipart::from_request(req, state).await;
        let mut multipart = multipart.map_err(|_| {
            AppError::UnsupportedMediaType("send the image as multipart/form-data with a field named image".into())
        })?;
        let malformed = || AppError::bad_field("body", "the multipart body is malformed");
        let mut bytes = None;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|err| too_large_or(err.status(), malformed()))?
        {
            if field.name() != Some("image") {
                let name: String = field.name().unwrap_or("").chars().take(64).collect();
                let name = if name.is_empty() { "body".to_owned() } else { name };
                return Err(AppError::bad_field(name, "unknown field; send only image"));
            }
            if bytes.is_some() {
                return Err(AppError::bad_field("image", "send one image"));
            }
            let cut_short = AppError::bad_field("image", "the upload was cut short");
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|err| too_large_or(err.status(), cut_short))?,
            );
        }
        let bytes = bytes.ok_or_else(|| AppError::bad_field("image", "is required (a multipart field named image)"))?;
        Ok(ImageBytes(bytes.to_vec()))
    }
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn upload_image(
    State(state): State<AppState>,
    actor: Actor,
    ImageBytes(bytes): ImageBytes,
) -> AppResult<Json<ImageOut>> {
    let stored = profile::set_image(&state, &actor, bytes).await?;
    Ok(Json(ImageOut {
        content_type: stored.content_type,
        width: stored.width,
        height: stored.height,
        size: stored.bytes.len() as u64,
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn get_image(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let (content_type, bytes) = profile::image(&state, &actor).await?;
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    Ok((headers, bytes).into_response())
}

/// Remove one's own profile image.
#[utoipa::path(
    delete,
    path = "/api/v1/profile/image",
    tag = "profile",
    responses((status = 204, description = "Removed"), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Profile)))
)]
pub async fn delete_image(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    profile::remove_image(&state, &actor).await?;
    Ok(no_content())
}
