//! The authenticated caller (extracted from `Authorization: Bearer <JWT>`
//! by [`crate::api::extract`]).

use uuid::Uuid;

use crate::db::users::ActorRow;
use crate::domain::Role;

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
