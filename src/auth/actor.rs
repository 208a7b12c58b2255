//! The authenticated caller, extracted from `Authorization: Bearer <JWT>`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::token::Claims;
use crate::db::users::ActorRow;
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
        authenticate(state, token).await.map(|(actor, _)| actor)
    }
}

/// The actor an access token stands for, and its claims.
///
/// Errors: 401 for a token that does not verify, or whose session was
/// revoked or whose user is deactivated.
pub async fn authenticate(state: &AppState, token: &str) -> Result<(Actor, Claims), AppError> {
    let claims = state
        .keys
        .verify(token, state.clock.now())
        .ok_or_else(AppError::invalid_token)?;
    let row = crate::db::users::actor(state.db.conn(), claims.sub, claims.sid)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    Ok((Actor::from_row(row, claims.sid), claims))
}

impl Actor {
    /// The actor of session `session_id` from what the database knows of the user.
    pub fn from_row(row: ActorRow, session_id: Uuid) -> Actor {
        Actor {
            user_id: row.id,
            role: row.role,
            patient_id: row.patient_id,
            doctor_id: row.doctor_id,
            facility_id: row.doctor_facility_id.or(row.facility_id),
            session_id,
            totp_enabled: row.totp_enabled,
            must_change_password: row.must_change_password,
        }
    }
}
