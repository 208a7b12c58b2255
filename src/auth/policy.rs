//! The one place that decides who may do what (DESIGN §2).
//!
//! The matrix is data: for every [`Action`], how far each role reaches
//! ([`Scope`]). Handlers ask [`authorize`] before touching anything, then
//! [`authorize_object`] with the [`Owner`] of the object they loaded. An
//! object the actor may not even see is answered 404, so its existence does
//! not leak; an object they may see but not change is answered 403.

use uuid::Uuid;

use super::Actor;
use crate::domain::Role;
use crate::error::{AppError, AppResult};

/// Something an actor does through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// One's own account: who am I, log out, change password, two-factor.
    /// The only actions allowed while a password change or two-factor
    /// enrolment is due.
    Account,
    /// Read and change one's own profile, preferences and image.
    Profile,
    /// Ask for another role.
    RoleRequestCreate,
    /// Read role-change requests.
    RoleRequestRead,
    /// Approve or reject role-change requests.
    RoleRequestReview,
    /// Read all system settings (public ones need no token).
    SettingsRead,
    /// Change system settings.
    SettingsWrite,
    /// Read the audit trail and login activity.
    AuditRead,
    /// Read locations, specialties, facilities, services, doctors.
    DirectoryRead,
    /// Create, change or delete directory entries.
    DirectoryWrite,
    /// Create accounts of any role.
    UserCreate,
    /// List and read users.
    UserRead,
    /// Change accounts: details, active flag, role, password reset, linking a patient record.
    UserUpdate,
    /// Register a patient record.
    PatientCreate,
    /// Read a patient record (and list them).
    PatientRead,
    /// Change a patient record.
    PatientUpdate,
    /// Give a patient record without a login a new patient account.
    PatientAccountCreate,
    /// Read working hours and time off.
    ScheduleRead,
    /// Change working hours and time off.
    ScheduleWrite,
    /// Read free slots.
    AvailabilityRead,
    /// Book an appointment for a patient.
    AppointmentCreate,
    /// Read an appointment, its history (and list them).
    AppointmentRead,
    /// pending → confirmed.
    AppointmentConfirm,
    /// confirmed → checked_in.
    AppointmentCheckIn,
    /// checked_in → in_progress.
    AppointmentStart,
    /// in_progress → completed.
    AppointmentComplete,
    /// confirmed → no_show.
    AppointmentNoShow,
    /// → cancelled.
    AppointmentCancel,
    /// Move to another time.
    AppointmentReschedule,
}

impl Action {
    /// The action in snake case, as the audit trail records it (`appointment_cancel`).
    pub fn name(self) -> String {
        let camel = format!("{self:?}");
        let mut snake = String::with_capacity(camel.len() + 4);
        for (i, c) in camel.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        }
        snake
    }

    /// Whether reading through this action discloses patient data or other
    /// sensitive records, so that every read is audited.
    pub fn audits_reads(self) -> bool {
        matches!(
            self,
            Action::PatientRead
                | Action::AppointmentRead
                | Action::Profile
                | Action::UserRead
                | Action::AuditRead
                | Action::RoleRequestRead
        )
    }
}

/// How far an allowed action reaches for one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Not allowed.
    None,
    /// Objects that are the actor's own: their patient record and its
    /// appointments (patients); their schedule, appointments and the patients
    /// they treat (doctors).
    Own,
    /// Objects at the actor's facility.
    Facility,
    /// Everything.
    All,
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// Scope per role, in the order admin, doctor, nurse, receptionist, patient.
    pub scopes: [Scope; 5],
    /// The read action that decides whether the object is visible at all;
    /// an invisible object is answered 404 instead of 403.
    pub visible_via: Option<Action>,
}

use Scope::{All, Facility, None as No, Own};

/// The matrix. Columns: admin, doctor, nurse, receptionist, patient.
pub const MATRIX: &[Rule] = &[
    rule(Action::Account, [All, All, All, All, All], None),
    rule(Action::Profile, [All, All, All, All, All], None),
    rule(Action::RoleRequestCreate, [No, All, All, All, All], None),
    rule(
        Action::RoleRequestRead,
        [All, Own, Own, Own, Own],
        Some(Action::RoleRequestRead),
    ),
    rule(Action::RoleRequestReview, [All, No, No, No, No], None),
    rule(Action::SettingsRead, [All, No, No, No, No], None),
    rule(Action::SettingsWrite, [All, No, No, No, No], None),
    rule(Action::AuditRead, [All, No, No, No, No], None),
    rule(Action::DirectoryRead, [All, All, All, All, All], None),
    rule(Action::DirectoryWrite, [All, No, No, No, No], None),
    rule(Action::UserCreate, [All, No, No, No, No], None),
    rule(Action::UserRead, [All, No, No, No, No], None),
    rule(Action::UserUpdate, [All, No, No, No, No], None),
    rule(Action::PatientCreate, [All, No, No, All, No], None),
    rule(
        Action::PatientRead,
        [All, Own, Facility, All, Own],
        Some(Action::PatientRead),
    ),
    rule(
        Action::PatientUpdate,
        [All, No, No, All, Own],
        Some(Action::PatientRead),
    ),
    rule(Action::PatientAccountCreate, [All, No, No, All, No], None),
    rule(Action::ScheduleRead, [All, All, All, All, All], None),
    rule(Action::ScheduleWrite, [All, Own, No, All, No], None),
    rule(Action::AvailabilityRead, [All, All, All, All, All], None),
    rule(Action::AppointmentCreate, [All, No, No, All, Own], None),
    rule(
        Action::AppointmentRead,
        [All, Own, Facility, All, Own],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentConfirm,
        [All, Own, No, All, No],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentCheckIn,
        [All, No, Facility, All, No],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentStart,
        [All, Own, No, All, No],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentComplete,
        [All, Own, No, All, No],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentNoShow,
        [All, Own, No, All, No],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentCancel,
        [All, Own, No, All, Own],
        Some(Action::AppointmentRead),
    ),
    rule(
        Action::AppointmentReschedule,
        [All, Own, No, All, Own],
        Some(Action::AppointmentRead),
    ),
];

const fn rule(action: Action, scopes: [Scope; 5], visible_via: Option<Action>) -> Rule {
    Rule {
        action,
        scopes,
        visible_via,
    }
}

fn column(role: Role) -> usize {
    match role {
        Role::Admin => 0,
        Role::Doctor => 1,
        Role::Nurse => 2,
        Role::Receptionist => 3,
        Role::Patient => 4,
    }
}

/// The scope `role` has for `action`.
pub fn scope_of(role: Role, action: Action) -> Scope {
    MATRIX
        .iter()
        .find(|r| r.action == action)
        .map(|r| r.scopes[column(role)])
        .unwrap_or(Scope::None)
}

/// Whom an object belongs to, as far as the policy is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    /// The user the object belongs to (a role-change request's requester).
    pub user_id: Option<Uuid>,
    /// The patient the object is about.
    pub patient_id: Option<Uuid>,
    /// Doctors the object belongs to (an appointment's doctor, a schedule's
    /// doctor, or the actor if they treat the patient of a patient record).
    pub doctor_ids: Vec<Uuid>,
    /// Facilities the object is at.
    pub facility_ids: Vec<Uuid>,
}

impl Owner {
    /// Whether `scope` of `actor` reaches this object.
    fn reached_by(&self, actor: &Actor, scope: Scope) -> bool {
        match scope {
            Scope::None => false,
            Scope::All => true,
            Scope::Own if self.user_id == Some(actor.user_id) => true,
            Scope::Own => match actor.role {
                Role::Patient => actor.patient_id.is_some() && self.patient_id == actor.patient_id,
                Role::Doctor => actor.doctor_id.is_some_and(|d| self.doctor_ids.contains(&d)),
                _ => false,
            },
            Scope::Facility => actor.facility_id.is_some_and(|f| self.facility_ids.contains(&f)),
        }
    }
}

/// May `actor` do `action` at all? Returns their scope (for filtering lists).
///
/// Errors: 403 when the role has no scope for the action.
pub fn authorize(actor: &Actor, action: Action) -> AppResult<Scope> {
    match scope_of(actor.role, action) {
        Scope::None => Err(AppError::Forbidden(format!(
            "a {} may not do this",
            actor.role.as_str()
        ))),
        scope => Ok(scope),
    }
}

/// May `actor` do `action` to the object owned by `owner`?
///
/// Errors: 404 (`what` not found) when the actor may not see the object,
/// 403 when they may see it but not do this to it.
///
/// Every decision is noted for the audit trail (the patient, and whether it
/// refused).
pub fn authorize_object(actor: &Actor, action: Action, owner: &Owner, what: &'static str) -> AppResult<()> {
    let decision = decide(actor, action, owner, what);
    crate::audit::note(owner.patient_id, decision.is_err());
    decision
}

fn decide(actor: &Actor, action: Action, owner: &Owner, what: &'static str) -> AppResult<()> {
    let rule = MATRIX.iter().find(|r| r.action == action);
    if let Some(read) = rule.and_then(|r| r.visible_via)
        && !owner.reached_by(actor, scope_of(actor.role, read))
    {
        return Err(AppError::NotFound(what));
    }
    let scope = authorize(actor, action)?;
    if owner.reached_by(actor, scope) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "a {} may only do this to their own {what}s",
            actor.role.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::from_u128(1),
            role,
            patient_id: (role == Role::Patient).then(|| Uuid::from_u128(10)),
            doctor_id: (role == Role::Doctor).then(|| Uuid::from_u128(20)),
            facility_id: Some(Uuid::from_u128(30)),
            session_id: Uuid::from_u128(40),
            totp_enabled: false,
            must_change_password: false,
        }
    }

    fn appointment(patient: u128, doctor: u128, facility: u128) -> Owner {
        Owner {
            patient_id: Some(Uuid::from_u128(patient)),
            doctor_ids: vec![Uuid::from_u128(doctor)],
            facility_ids: vec![Uuid::from_u128(facility)],
            ..Owner::default()
        }
    }

    #[test]
    fn every_action_has_exactly_one_rule() {
        let mut seen = std::collections::HashSet::new();
        for rule in MATRIX {
            assert!(seen.insert(rule.action), "{:?} twice", rule.action);
        }
        assert_eq!(seen.len(), MATRIX.len());
    }

    #[test]
    fn patients_see_only_their_own_and_others_are_hidden() {
        let p = actor(Role::Patient);
        let mine = appointment(10, 21, 31);
        let theirs = appointment(11, 21, 31);
        assert!(authorize_object(&p, Action::AppointmentRead, &mine, "appointment").is_ok());
        assert!(matches!(
            authorize_object(&p, Action::AppointmentRead, &theirs, "appointment"),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            authorize_object(&p, Action::AppointmentCancel, &theirs, "appointment"),
            Err(AppError::NotFound(_))
        ));
        // Visible but not theirs to change: 403.
        assert!(matches!(
            authorize_object(&p, Action::AppointmentConfirm, &mine, "appointment"),
            Err(AppError::Forbidden(_))
        ));
    }

    #[test]
    fn doctors_reach_their_own_appointments_and_nurses_their_facility() {
        let d = actor(Role::Doctor);
        assert!(authorize_object(&d, Action::AppointmentStart, &appointment(10, 20, 99), "appointment").is_ok());
        assert!(authorize_object(&d, Action::AppointmentStart, &appointment(10, 21, 99), "appointment").is_err());
        let n = actor(Role::Nurse);
        assert!(authorize_object(&n, Action::AppointmentCheckIn, &appointment(10, 21, 30), "appointment").is_ok());
        assert!(authorize_object(&n, Action::AppointmentCheckIn, &appointment(10, 21, 31), "appointment").is_err());
        let r = actor(Role::Receptionist);
        assert!(authorize_object(&r, Action::AppointmentCancel, &appointment(1, 2, 3), "appointment").is_ok());
    }

    #[test]
    fn only_admins_write_the_directory() {
        for role in Role::ALL {
            let allowed = authorize(&actor(*role), Action::DirectoryWrite).is_ok();
            assert_eq!(allowed, *role == Role::Admin, "{role}");
        }
    }
}
