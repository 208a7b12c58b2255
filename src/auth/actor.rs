//! The authenticated caller, extracted from `Authorization: Bearer <JWT>`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

/// Who is making the request, as the database knows them now (a deactivated
/// user is refused even with an unexpired token; a role change applies at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id.
    pub user_id: Uuid,
    /// The user's role.
    pub role: Role,
    /// The linked patient record, for patients.
    pub patient_id: Option<Uuid>,
    /// The doctor profile, for doctors.
    pub doctor_id: Option<Uuid>,
    /// Home facility (nurses, receptionists) or primary facility (doctors).
    pub facility_id: Option<Uuid>,
    /// The session (login) of the token.
    pub session_id: Uuid,
    /// Whether the account has two-factor authentication on.
    pub totp_enabled: bool,
    /// Whether an administrator reset the password (it must be changed first).
    pub must_change_password: bool,
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, AppError> {
        // Already authenticated by the access check of this request.
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(actor.clone());
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(AppError::Unauthorized("authentication credentials were not provided"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AppError::Unauthorized("use Authorization: Bearer <access token>"))?;
        let claims = state
            .keys
            .verify(token, state.clock.now())
            .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
        crate::db::users::actor(state.db.conn(), claims.sub, claims.sid)
            .await?
            .ok_or(AppError::Unauthorized("the access token is invalid or expired"))
    }
}
