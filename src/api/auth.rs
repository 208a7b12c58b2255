//! Sign-up, login, token refresh and the current user.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::ApiJson;
use super::responses::{ReadErrors, WriteErrors};
use super::rules;
use super::users::{AccountFields, UserOut, new_account};
use crate::auth::Actor;
use crate::auth::accounts::{self, Tokens};
use crate::db::{self, entities::patient, entities::user};
use crate::domain::{Role, Sex};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(me))
}

/// A patient signing up.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    /// 3–150 of a–z, 0–9, `.`, `_`, `-`, starting with a letter.
    #[schema(example = "rahim.uddin")]
    #[schema(pattern = "^[A-Za-z][A-Za-z0-9._-]{2,149}$")]
    #[garde(custom(rules::username))]
    pub username: String,
    #[schema(example = "rahim@example.com")]
    #[schema(max_length = 254)]
    #[garde(custom(rules::optional_email))]
    pub email: Option<String>,
    /// Any common notation; stored as E.164 (national numbers are read as Bangladeshi).
    #[schema(example = "01712345678")]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone))]
    pub phone: Option<String>,
    /// 8–128 characters, not equal to the username, email or phone.
    #[schema(example = "a long passphrase", min_length = 8, max_length = 128)]
    #[garde(skip)]
    pub password: String,
    #[schema(example = "Rahim")]
    #[schema(min_length = 1, max_length = 150)]
    #[garde(custom(rules::text::<150>))]
    pub first_name: String,
    #[schema(example = "Uddin")]
    #[schema(min_length = 1, max_length = 150)]
    #[garde(custom(rules::text::<150>))]
    pub last_name: String,
    /// `YYYY-MM-DD`.
    #[garde(skip)]
    pub date_of_birth: Option<NaiveDate>,
    #[garde(skip)]
    pub sex: Option<Sex>,
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// Username, email or phone number.
    #[schema(example = "rahim.uddin")]
    #[schema(min_length = 1, max_length = 254)]
    #[garde(length(chars, min = 1, max = 254))]
    pub username: String,
    #[schema(example = "a long passphrase")]
    #[schema(min_length = 1, max_length = 1024)]
    #[garde(length(chars, min = 1, max = 1024))]
    pub password: String,
}

/// A refresh token to rotate.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// The refresh token from login or the previous refresh.
    #[schema(min_length = 1, max_length = 256)]
    #[garde(length(chars, min = 1, max = 256))]
    pub refresh: String,
}

/// Tokens and the user they belong to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// JWT access token (`Authorization: Bearer …`).
    pub access: String,
    /// Opaque refresh token, valid 7 days, single use.
    pub refresh: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    #[schema(example = 900)]
    pub expires_in: i64,
    pub user: UserOut,
}

async fn token_out(state: &AppState, user: user::Model, tokens: Tokens) -> AppResult<TokenOut> {
    let links = db::users::actor(state.db.conn(), user.id).await?;
    Ok(TokenOut {
        access: tokens.access,
        refresh: tokens.refresh,
        token_type: "Bearer",
        expires_in: tokens.expires_in,
        user: UserOut::new(user, links.as_ref()),
    })
}

/// Sign up as a patient: creates the user and the linked patient record, and logs in.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterIn,
    responses((status = 201, description = "Registered and logged in", body = TokenOut), WriteErrors)
)]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterIn>,
) -> AppResult<(StatusCode, Json<TokenOut>)> {
    body.validate()?;
    let account = new_account(AccountFields {
        username: &body.username,
        email: body.email,
        phone: body.phone,
        password: body.password,
        role: Role::Patient,
        first_name: &body.first_name,
        last_name: &body.last_name,
        facility_id: None,
    })?;
    let details = patient::Model {
        id: uuid::Uuid::new_v4(),
        user_id: None,
        medical_record_number: String::new(),
        first_name: account.first_name.clone(),
        last_name: account.last_name.clone(),
        date_of_birth: body.date_of_birth,
        sex: body.sex,
        phone: account.phone.as_ref().map(|p| p.as_str().to_owned()),
        email: account.email.as_ref().map(|e| e.as_str().to_owned()),
        address: String::new(),
        location_id: None,
        national_id: None,
        insurance_number: None,
        blood_group: None,
        allergies: String::new(),
        medical_history: String::new(),
        emergency_contact_name: String::new(),
        emergency_contact_phone: None,
        created_at: state.clock.now(),
        updated_at: state.clock.now(),
    };
    let (user, _) = accounts::register_patient(&state, account, details).await?;
    let tokens = accounts::issue_tokens(&state, &user, None).await?;
    Ok((StatusCode::CREATED, Json(token_out(&state, user, tokens).await?)))
}

/// Log in with a username, email or phone number and a password.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginIn,
    responses((status = 200, description = "Logged in", body = TokenOut), WriteErrors)
)]
pub async fn login(State(state): State<AppState>, ApiJson(body): ApiJson<LoginIn>) -> AppResult<Json<TokenOut>> {
    body.validate()?;
    let user = accounts::authenticate(&state, &body.username, &body.password).await?;
    let tokens = accounts::issue_tokens(&state, &user, None).await?;
    Ok(Json(token_out(&state, user, tokens).await?))
}

/// Exchange a refresh token for a new pair. The old refresh token is spent;
/// presenting it again revokes every token of its login.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshIn,
    responses((status = 200, description = "New tokens", body = TokenOut), WriteErrors)
)]
pub async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshIn>) -> AppResult<Json<TokenOut>> {
    body.validate()?;
    let (user, tokens) = accounts::refresh(&state, &body.refresh).await?;
    Ok(Json(token_out(&state, user, tokens).await?))
}

/// The current user.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses((status = 200, description = "The current user", body = UserOut), ReadErrors),
    security(("bearer" = []))
)]
pub async fn me(State(state): State<AppState>, actor: Actor) -> AppResult<Json<UserOut>> {
    let user = db::users::find(state.db.conn(), actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    Ok(Json(UserOut::new(user, Some(&actor))))
}
