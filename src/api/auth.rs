//! Sign-up, login (with the two-factor step), token refresh, logout,
//! password change, two-factor enrolment and the current user.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ClientInfo};
use super::no_content;
use super::responses::{ReadErrors, WriteErrors};
use super::rules;
use super::users::{AccountFields, UserOut, new_account};
use crate::auth::sessions::{self, Login, Tokens};
use crate::auth::{Actor, accounts, totp};
use crate::db::{self, entities::patient, entities::user};
use crate::domain::{Role, Sex};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(login_second_factor))
        .routes(routes!(refresh))
        .routes(routes!(verify))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(change_password))
        .routes(routes!(totp_enrol))
        .routes(routes!(totp_confirm))
        .routes(routes!(totp_disable))
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
    /// 8–128 characters, not a common password, not equal to the username, email or phone.
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

/// The second step of a two-factor login.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorIn {
    /// The `mfa_token` the first step answered with.
    #[schema(min_length = 1, max_length = 2048)]
    #[garde(length(chars, min = 1, max = 2048))]
    pub mfa_token: String,
    /// The current 6-digit code of the authenticator app, or an unused recovery code.
    #[schema(example = "492039", min_length = 1, max_length = 32)]
    #[garde(length(chars, min = 1, max = 32))]
    pub code: String,
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

/// An access token to check.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    /// The access token (without `Bearer `).
    #[schema(min_length = 1, max_length = 4096)]
    #[garde(length(chars, min = 1, max = 4096))]
    pub token: String,
}

/// A valid access token's subject.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyOut {
    /// Always true (an invalid token is answered 401).
    pub valid: bool,
    /// The user.
    pub user_id: Uuid,
    /// The user's current role.
    pub role: Role,
    /// When the token expires (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordIn {
    #[schema(min_length = 1, max_length = 1024)]
    #[garde(length(chars, min = 1, max = 1024))]
    pub current_password: String,
    /// 8–128 characters, not a common password, not equal to the username, email or phone.
    #[schema(min_length = 8, max_length = 128)]
    #[garde(skip)]
    pub new_password: String,
}

/// A TOTP or recovery code.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    #[schema(example = "492039", min_length = 1, max_length = 32)]
    #[garde(length(chars, min = 1, max = 32))]
    pub code: String,
}

/// Tokens and the user they belong to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// JWT access token (`Authorization: Bearer …`), valid 15 minutes.
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

/// The password was right; the account needs a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactorOut {
    /// Always true.
    pub mfa_required: bool,
    /// Send it with the code to `POST /api/v1/auth/login/totp`.
    pub mfa_token: String,
    /// Seconds the `mfa_token` stays valid.
    #[schema(example = 300)]
    pub expires_in: i64,
}

/// The answer to a login: tokens, or the request for a second factor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginOut {
    Session(Box<TokenOut>),
    SecondFactor(SecondFactorOut),
}

/// What an authenticator app needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentOut {
    /// Base32 secret (RFC 4648), for typing in.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// `otpauth://totp/…` URI, for a QR code.
    pub otpauth_uri: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Each works once instead of a TOTP code. Store them safely.
    #[schema(example = json!(["k7mq-2xpd-h9wa"]))]
    pub recovery_codes: Vec<String>,
}

async fn token_out(state: &AppState, user: user::Model, tokens: Tokens) -> AppResult<TokenOut> {
    let links = db::users::links(state.db.conn(), user.id).await?;
    Ok(TokenOut {
        access: tokens.access,
        refresh: tokens.refresh,
        token_type: "Bearer",
        expires_in: tokens.expires_in,
        user: UserOut::new(user, links),
    })
}

/// The actor's user row. Errors: 401 if it vanished.
pub async fn current_user(state: &AppState, actor: &Actor) -> AppResult<user::Model> {
    db::users::find(state.db.conn(), actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))
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
    ClientInfo(client): ClientInfo,
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
        date_of_birth: body.date_of_birth,
        sex: body.sex,
        ..accounts::patient_details(&account, state.clock.now())
    };
    let (user, _) = accounts::register_patient(&state, account, details).await?;
    let tokens = sessions::open_session(&state, &user, &client).await?;
    Ok((StatusCode::CREATED, Json(token_out(&state, user, tokens).await?)))
}

/// Log in with a username, email or phone number and a password.
///
/// Answers tokens, or — when the account has two-factor authentication on —
/// `{"mfa_required": true, "mfa_token", "expires_in"}` for
/// `POST /api/v1/auth/login/totp`. Unknown accounts, wrong passwords, locked
/// and deactivated accounts all get the same 401. Too many failures from one
/// client address get 429 with `Retry-After`.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginIn,
        responses(
        (status = 200, description = "Logged in, or a second factor is needed", body = LoginOut),
        WriteErrors
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<LoginIn>,
) -> AppResult<Json<LoginOut>> {
    body.validate()?;
    match sessions::login(&state, &body.username, &body.password, &client).await? {
        Login::Session(user, tokens) => Ok(Json(LoginOut::Session(Box::new(
            token_out(&state, *user, tokens).await?,
        )))),
        Login::SecondFactor { mfa_token, expires_in } => Ok(Json(LoginOut::SecondFactor(SecondFactorOut {
            mfa_required: true,
            mfa_token,
            expires_in,
        }))),
    }
}

/// Finish a two-factor login with a TOTP code (RFC 6238) or a recovery code.
/// A code works once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login/totp",
    tag = "auth",
    request_body = SecondFactorIn,
    responses((status = 200, description = "Logged in", body = TokenOut), WriteErrors)
)]
pub async fn login_second_factor(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<SecondFactorIn>,
) -> AppResult<Json<TokenOut>> {
    body.validate()?;
    let (user, tokens) = sessions::second_factor(&state, &body.mfa_token, &body.code, &client).await?;
    Ok(Json(token_out(&state, user, tokens).await?))
}

/// Exchange a refresh token for a new pair. The old refresh token is spent;
/// presenting it again ends the whole session (its newest tokens too). Of
/// concurrent refreshes with one token exactly one succeeds.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshIn,
    responses((status = 200, description = "New tokens", body = TokenOut), WriteErrors)
)]
pub async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshIn>) -> AppResult<Json<TokenOut>> {
    body.validate()?;
    let (user, tokens) = sessions::refresh(&state, &body.refresh).await?;
    Ok(Json(token_out(&state, user, tokens).await?))
}

/// Check an access token: signature, algorithm, issuer, audience, expiry,
/// a live session and an active account. 401 when any fails.
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify",
    tag = "auth",
    request_body = VerifyIn,
    responses((status = 200, description = "The token is valid", body = VerifyOut), WriteErrors)
)]
pub async fn verify(State(state): State<AppState>, ApiJson(body): ApiJson<VerifyIn>) -> AppResult<Json<VerifyOut>> {
    body.validate()?;
    let invalid = AppError::Unauthorized("the access token is invalid or expired");
    let claims = state.keys.verify(&body.token, state.clock.now()).ok_or(invalid)?;
    let actor = db::users::actor(state.db.conn(), claims.sub, claims.sid)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    Ok(Json(VerifyOut {
        valid: true,
        user_id: actor.user_id,
        role: actor.role,
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_default(),
    }))
}

/// End this session: its access and refresh tokens stop working at once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses((status = 204, description = "Logged out"), ReadErrors),
    security(("bearer" = []))
)]
pub async fn logout(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    sessions::logout(&state, &actor).await?;
    Ok(no_content())
}

/// End every session of the current user, this one included.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-all",
    tag = "auth",
    responses((status = 204, description = "Every session ended"), ReadErrors),
    security(("bearer" = []))
)]
pub async fn logout_all(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    sessions::logout_all(&state, &actor).await?;
    Ok(no_content())
}

/// Change the password (the current one is needed). Every other session
/// ends; this one stays. Clears a reset's "must change password".
#[utoipa::path(
    post,
    path = "/api/v1/auth/change-password",
    tag = "auth",
    request_body = ChangePasswordIn,
    responses((status = 204, description = "Changed"), WriteErrors),
    security(("bearer" = []))
)]
pub async fn change_password(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<ChangePasswordIn>,
) -> AppResult<Response> {
    body.validate()?;
    accounts::change_password(&state, &actor, &body.current_password, &body.new_password).await?;
    Ok(no_content())
}

/// Start two-factor enrolment: a new secret and its `otpauth://` URI. Login
/// does not ask for codes until the enrolment is confirmed.
#[utoipa::path(
    post,
    path = "/api/v1/auth/totp/enrol",
    tag = "auth",
    responses((status = 200, description = "Add this to an authenticator app", body = EnrolmentOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn totp_enrol(State(state): State<AppState>, actor: Actor) -> AppResult<Json<EnrolmentOut>> {
    let user = current_user(&state, &actor).await?;
    let enrolment = totp::enrol(&state, &user).await?;
    Ok(Json(EnrolmentOut {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    }))
}

/// Confirm enrolment with the app's current code: two-factor authentication
/// is on from now. Answers ten recovery codes, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/totp/confirm",
    tag = "auth",
    request_body = CodeIn,
    responses((status = 200, description = "On", body = RecoveryCodesOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn totp_confirm(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<CodeIn>,
) -> AppResult<Json<RecoveryCodesOut>> {
    body.validate()?;
    let user = current_user(&state, &actor).await?;
    let recovery_codes = totp::confirm(&state, &user, &body.code).await?;
    Ok(Json(RecoveryCodesOut { recovery_codes }))
}

/// Turn two-factor authentication off with a current or recovery code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/totp/disable",
    tag = "auth",
    request_body = CodeIn,
    responses((status = 204, description = "Off"), WriteErrors),
    security(("bearer" = []))
)]
pub async fn totp_disable(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<CodeIn>,
) -> AppResult<Response> {
    body.validate()?;
    let user = current_user(&state, &actor).await?;
    totp::disable(&state, &user, &body.code).await?;
    Ok(no_content())
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
    let user = current_user(&state, &actor).await?;
    let links = db::users::Links {
        patient_id: actor.patient_id,
        doctor_id: actor.doctor_id,
    };
    Ok(Json(UserOut::new(user, links)))
}
