//! Sign-up, login (with the two-factor step), token refresh, logout,
//! password change, two-factor enrolment and the current user.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::access::PUBLIC;
use super::extract::authenticate;
use super::extract::{ApiJson, ClientInfo};
use super::no_content;
use super::responses::{ReadErrors, WriteErrors};
use super::users::UserOut;
use crate::accounts::sessions::{self, Login, Tokens};
use crate::accounts::{self, RegisterIn, two_factor};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::{self, entities::user};
use crate::domain::Role;
use crate::error::AppResult;
use crate::input::{NewPassword, Verbatim};
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

/// A password as typed at login (never trimmed).
pub type TypedPassword = Verbatim<1024>;
/// A TOTP code or a recovery code.
pub type Code = Verbatim<32>;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// Username, email or phone number.
    #[schema(example = "rahim.uddin")]
    #[garde(dive)]
    pub username: Verbatim<254>,
    #[schema(example = "a long passphrase")]
    #[garde(dive)]
    pub password: TypedPassword,
}

/// The second step of a two-factor login.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorIn {
    /// The `mfa_token` the first step answered with.
    #[garde(dive)]
    pub mfa_token: Verbatim<2048>,
    /// The current 6-digit code of the authenticator app, or an unused recovery code.
    #[schema(example = "492039")]
    #[garde(dive)]
    pub code: Code,
}

/// A refresh token to rotate.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// The refresh token from login or the previous refresh.
    #[garde(dive)]
    pub refresh: Verbatim<256>,
}

/// An access token to check.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    /// The access token (without `Bearer `).
    #[garde(dive)]
    pub token: Verbatim<4096>,
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
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordIn {
    #[garde(dive)]
    pub current_password: TypedPassword,
    #[garde(skip)]
    pub new_password: NewPassword,
}

/// A TOTP or recovery code.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    #[schema(example = "492039")]
    #[garde(dive)]
    pub code: Code,
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

fn valid<T: garde::Validate<Context = ()>>(body: &T) -> AppResult<()> {
    Ok(body.validate()?)
}

/// Sign up as a patient: creates the user and the linked patient record, and logs in.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterIn,
    responses((status = 201, description = "Registered and logged in", body = TokenOut), WriteErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn register(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<RegisterIn>,
) -> AppResult<(StatusCode, Json<TokenOut>)> {
    let (user, tokens) = accounts::sign_up(&state, body, &client).await?;
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
    ),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<LoginIn>,
) -> AppResult<Json<LoginOut>> {
    valid(&body)?;
    match sessions::login(&state, body.username.as_str(), body.password.as_str(), &client).await? {
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
    responses((status = 200, description = "Logged in", body = TokenOut), WriteErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn login_second_factor(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<SecondFactorIn>,
) -> AppResult<Json<TokenOut>> {
    valid(&body)?;
    let (user, tokens) = sessions::second_factor(&state, body.mfa_token.as_str(), body.code.as_str(), &client).await?;
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
    responses((status = 200, description = "New tokens", body = TokenOut), WriteErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshIn>) -> AppResult<Json<TokenOut>> {
    valid(&body)?;
    let (user, tokens) = sessions::refresh(&state, body.refresh.as_str()).await?;
    Ok(Json(token_out(&state, user, tokens).await?))
}

/// Check an access token: signature, algorithm, issuer, audience, expiry,
/// a live session and an active account. 401 when any fails.
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify",
    tag = "auth",
    request_body = VerifyIn,
    responses((status = 200, description = "The token is valid", body = VerifyOut), WriteErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn verify(State(state): State<AppState>, ApiJson(body): ApiJson<VerifyIn>) -> AppResult<Json<VerifyOut>> {
    valid(&body)?;
    let (actor, claims) = authenticate(&state, body.token.as_str()).await?;
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
)]
pub async fn change_password(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<ChangePasswordIn>,
) -> AppResult<Response> {
    valid(&body)?;
    accounts::change_password(
        &state,
        &actor,
        body.current_password.as_str(),
        body.new_password.expose(),
    )
    .await?;
    Ok(no_content())
}

/// Start two-factor enrolment: a new secret and its `otpauth://` URI. Login
/// does not ask for codes until the enrolment is confirmed.
#[utoipa::path(
    post,
    path = "/api/v1/auth/totp/enrol",
    tag = "auth",
    responses((status = 200, description = "Add this to an authenticator app", body = EnrolmentOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
)]
pub async fn totp_enrol(State(state): State<AppState>, actor: Actor) -> AppResult<Json<EnrolmentOut>> {
    let enrolment = two_factor::enrol(&state, &actor).await?;
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
)]
pub async fn totp_confirm(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<CodeIn>,
) -> AppResult<Json<RecoveryCodesOut>> {
    valid(&body)?;
    let recovery_codes = two_factor::confirm(&state, &actor, body.code.as_str()).await?;
    Ok(Json(RecoveryCodesOut { recovery_codes }))
}

/// Turn two-factor authentication off with a current or recovery code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/totp/disable",
    tag = "auth",
    request_body = CodeIn,
    responses((status = 204, description = "Off"), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
)]
pub async fn totp_disable(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<CodeIn>,
) -> AppResult<Response> {
    valid(&body)?;
    two_factor::disable(&state, &actor, body.code.as_str()).await?;
    Ok(no_content())
}

/// The current user.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses((status = 200, description = "The current user", body = UserOut), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Account)))
)]
pub async fn me(State(state): State<AppState>, actor: Actor) -> AppResult<Json<UserOut>> {
    let user = accounts::current_user(&state, &actor).await?;
    let links = db::users::Links {
        patient_id: actor.patient_id,
        doctor_id: actor.doctor_id,
    };
    Ok(Json(UserOut::new(user, links)))
}
