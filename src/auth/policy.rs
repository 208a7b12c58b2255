//! The one place that decides who may do what (DESIGN §2).
//!
//! - **Actions** ([`MATRIX`]): for every [`Action`], how far each role
//!   reaches ([`Scope`]). Each route declares its action once, beside its
//!   handler (see [`crate::api::access`]); the access check asks
//!   [`authorize`] and the account gates ([`admit`]) before the handler runs.
//! - **Objects** ([`Resource`]): a service asks [`authorize_object`] with the
//!   object it loaded. An object the actor may not even see is answered 404,
//!   so its existence does not leak; one they may see but not change, 403.
//! - **Lists** ([`reach`]): which rows a list shows the actor.
//! - **Fields** ([`FieldClass`], [`FIELD_MATRIX`]): which classes of a
//!   patient record's fields a role receives ([`FieldView`]) and may write
//!   ([`check_writes`]).
//! - **Rules of time**: patients change their own appointments only up to the
//!   cancellation window ([`check_patient_window`]).

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Actor;
use crate::db::appointments::AppointmentRow;
use crate::db::entities::{consultation, role_change_request};
use crate::db::{self, DbResult, Reach};
use crate::domain::{NoteKind, Role};
use crate::error::{AppError, AppResult};

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Something an actor does through the API. Its name is stored in the
        /// audit trail: never rename one (a test holds every name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Action {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The stable name, as the audit trail and the OpenAPI `x-access` extension spell it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    /// One's own account: who am I, log out, change password, two-factor.
    /// The only actions allowed while a password change or two-factor
    /// enrolment is due.
    Account = "account",
    /// Read and change one's own profile, preferences and image.
    Profile = "profile",
    /// Ask for another role.
    RoleRequestCreate = "role_request_create",
    /// Read role-change requests.
    RoleRequestRead = "role_request_read",
    /// Approve or reject role-change requests.
    RoleRequestReview = "role_request_review",
    /// Read all system settings (public ones need no token).
    SettingsRead = "settings_read",
    /// Change system settings.
    SettingsWrite = "settings_write",
    /// Read the audit trail and login activity.
    AuditRead = "audit_read",
    /// Read locations, specialties, facilities, services, doctors, and the
    /// ICD-10-CM code list (reference data, nothing about a patient).
    DirectoryRead = "directory_read",
    /// Create, change or delete directory entries.
    DirectoryWrite = "directory_write",
    /// Create accounts of any role.
    UserCreate = "user_create",
    /// List and read users.
    UserRead = "user_read",
    /// Change accounts: details, active flag, role, password reset.
    UserUpdate = "user_update",
    /// Register a patient record.
    PatientCreate = "patient_create",
    /// Read a patient record (and list them).
    PatientRead = "patient_read",
    /// Change a patient record (the fields of the classes the role may write).
    PatientUpdate = "patient_update",
    /// Give a patient record without a login a new patient account.
    PatientAccountCreate = "patient_account_create",
    /// Read working hours and time off.
    ScheduleRead = "schedule_read",
    /// Change working hours and time off.
    ScheduleWrite = "schedule_write",
    /// Read free slots.
    AvailabilityRead = "availability_read",
    /// Book an appointment for a patient.
    AppointmentCreate = "appointment_create",
    /// Read an appointment, its history (and list them).
    AppointmentRead = "appointment_read",
    /// pending → confirmed.
    AppointmentConfirm = "appointment_confirm",
    /// confirmed → checked_in.
    AppointmentCheckIn = "appointment_check_in",
    /// checked_in → in_progress.
    AppointmentStart = "appointment_start",
    /// in_progress → completed.
    AppointmentComplete = "appointment_complete",
    /// confirmed → no_show.
    AppointmentNoShow = "appointment_no_show",
    /// → cancelled.
    AppointmentCancel = "appointment_cancel",
    /// Move to another time.
    AppointmentReschedule = "appointment_reschedule",
    /// Read clinical records (consultations and their entries): a doctor
    /// those of the patients they treat, a nurse those of patients seen at
    /// their facility, a patient their own. Never reception.
    ClinicalRead = "clinical_read",
    /// Open and record consultations: a doctor their own.
    ClinicalWrite = "clinical_write",
    /// Record vital signs: a doctor in their own consultations and for the
    /// patients they treat, a nurse at their facility.
    VitalSignsWrite = "vital_signs_write",
    /// Write clinical notes: a doctor in their own consultations, a nurse
    /// nursing notes at their facility.
    NoteWrite = "note_write",
    /// Open a telemedicine session for an appointment, and end it with an outcome.
    TelemedicineWrite = "telemedicine_write",
    /// Join and leave a telemedicine session: its doctor and its patient.
    TelemedicineJoin = "telemedicine_join",
    /// Read reports and statistics across patients (aggregates only):
    /// revenue, billing, new patients, teleconsultation statistics.
    ReportRead = "report_read",
    /// Read reports about doctors' practice (appointment statistics,
    /// performance, prescribing, teleconsultation outcomes, monthly
    /// reports): administrators all, a doctor their own.
    PracticeReportRead = "practice_report_read",
    /// Export patient records or appointments as CSV, XLSX or PDF.
    DataExport = "data_export",
    /// One's own dashboard (what it shows depends on the role).
    Dashboard = "dashboard",
    /// Build (or rebuild) a doctor's monthly report of an ended month:
    /// administrators any doctor's, a doctor their own.
    MonthlyReportGenerate = "monthly_report_generate",
    /// Read the medication catalogue and its stock: staff (not patients).
    MedicationRead = "medication_read",
    /// Add and change catalogue items.
    MedicationWrite = "medication_write",
    /// Receive, adjust, dispose of and return stock.
    StockWrite = "stock_write",
    /// Dispense against a prescription: a nurse at the consultation's facility, admins.
    PrescriptionDispense = "prescription_dispense",
    /// Read bills, their payments and refunds: reception and admins all, a patient their own.
    BillRead = "bill_read",
    /// Create bills, add lines, issue and void them.
    BillWrite = "bill_write",
    /// Take a payment against a bill.
    PaymentWrite = "payment_write",
    /// Refund (part of) a payment; above `billing.refund_approval_above` it waits for an administrator.
    RefundWrite = "refund_write",
    /// Approve or reject a refund that waits for approval.
    RefundApprove = "refund_approve",
    /// One's own in-app notifications: list, read marks, the live stream.
    Notifications = "notifications",
    /// Follow a facility's day board live (appointment changes there).
    DayBoardRead = "day_board_read",
    /// Read the job queue and its delivery log.
    JobRead = "job_read",
    /// Retry a dead or cancelled job.
    JobWrite = "job_write",
    /// Read webhook endpoints and their deliveries.
    WebhookRead = "webhook_read",
    /// Register and deactivate webhook endpoints.
    WebhookWrite = "webhook_write",
}

impl Action {
    /// The action named `name` (see [`Action::name`]).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
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
                | Action::ClinicalRead
                | Action::BillRead
                | Action::JobRead
                | Action::DataExport
                | Action::Dashboard
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
    /// they treat (doctors); their own requests (everyone).
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

const fn rule(action: Action, scopes: [Scope; 5], visible_via: Option<Action>) -> Rule {
    Rule {
        action,
        scopes,
        visible_via,
    }
}

const APPOINTMENT: Option<Action> = Some(Action::AppointmentRead);
const PATIENT: Option<Action> = Some(Action::PatientRead);
const CLINICAL: Option<Action> = Some(Action::ClinicalRead);
const BILL: Option<Action> = Some(Action::BillRead);

/// The matrix. Columns: admin, doctor, nurse, receptionist, patient.
#[rustfmt::skip]
pub const MATRIX: &[Rule] = &[
    rule(Action::Account,               [All, All, All, All, All], None),
    rule(Action::Profile,               [All, All, All, All, All], None),
    rule(Action::RoleRequestCreate,     [No, All, All, All, All], None),
    rule(Action::RoleRequestRead,       [All, Own, Own, Own, Own], Some(Action::RoleRequestRead)),
    rule(Action::RoleRequestReview,     [All, No, No, No, No], None),
    rule(Action::SettingsRead,          [All, No, No, No, No], None),
    rule(Action::SettingsWrite,         [All, No, No, No, No], None),
    rule(Action::AuditRead,             [All, No, No, No, No], None),
    rule(Action::DirectoryRead,         [All, All, All, All, All], None),
    rule(Action::DirectoryWrite,        [All, No, No, No, No], None),
    rule(Action::UserCreate,            [All, No, No, No, No], None),
    rule(Action::UserRead,              [All, No, No, No, No], None),
    rule(Action::UserUpdate,            [All, No, No, No, No], None),
    rule(Action::PatientCreate,         [All, No, No, All, No], None),
    rule(Action::PatientRead,           [All, Own, Facility, All, Own], PATIENT),
    rule(Action::PatientUpdate,         [All, Own, No, All, Own], PATIENT),
    rule(Action::PatientAccountCreate,  [All, No, No, All, No], None),
    rule(Action::ScheduleRead,          [All, All, All, All, All], None),
    rule(Action::ScheduleWrite,         [All, Own, No, All, No], None),
    rule(Action::AvailabilityRead,      [All, All, All, All, All], None),
    rule(Action::AppointmentCreate,     [All, No, No, All, Own], None),
    rule(Action::AppointmentRead,       [All, Own, Facility, All, Own], APPOINTMENT),
    rule(Action::AppointmentConfirm,    [All, Own, No, All, No], APPOINTMENT),
    rule(Action::AppointmentCheckIn,    [All, No, Facility, All, No], APPOINTMENT),
    rule(Action::AppointmentStart,      [All, Own, No, All, No], APPOINTMENT),
    rule(Action::AppointmentComplete,   [All, Own, No, All, No], APPOINTMENT),
    rule(Action::AppointmentNoShow,     [All, Own, No, All, No], APPOINTMENT),
    rule(Action::AppointmentCancel,     [All, Own, No, All, Own], APPOINTMENT),
    rule(Action::AppointmentReschedule, [All, Own, No, All, Own], APPOINTMENT),
    rule(Action::ClinicalRead,          [All, Own, Facility, No, Own], CLINICAL),
    rule(Action::ClinicalWrite,         [No, Own, No, No, No], CLINICAL),
    rule(Action::VitalSignsWrite,       [No, Own, Facility, No, No], CLINICAL),
    rule(Action::NoteWrite,             [No, Own, Facility, No, No], CLINICAL),
    rule(Action::TelemedicineWrite,     [All, Own, No, All, No], APPOINTMENT),
    rule(Action::TelemedicineJoin,      [No, Own, No, No, Own], APPOINTMENT),
    rule(Action::ReportRead,            [All, No, No, No, No], None),
    rule(Action::PracticeReportRead,    [All, Own, No, No, No], None),
    rule(Action::DataExport,            [All, No, No, No, No], None),
    rule(Action::Dashboard,             [All, Own, Facility, Facility, Own], None),
    rule(Action::MonthlyReportGenerate, [All, Own, No, No, No], None),
    rule(Action::MedicationRead,        [All, All, All, All, No], None),
    rule(Action::MedicationWrite,       [All, No, No, No, No], None),
    rule(Action::StockWrite,            [All, No, No, No, No], None),
    rule(Action::PrescriptionDispense,  [All, No, Facility, No, No], CLINICAL),
    rule(Action::BillRead,              [All, No, No, All, Own], BILL),
    rule(Action::BillWrite,             [All, No, No, All, No], BILL),
    rule(Action::PaymentWrite,          [All, No, No, All, No], BILL),
    rule(Action::RefundWrite,           [All, No, No, All, No], BILL),
    rule(Action::RefundApprove,         [All, No, No, No, No], BILL),
    rule(Action::Notifications,         [All, All, All, All, All], None),
    rule(Action::DayBoardRead,          [All, No, Facility, All, No], None),
    rule(Action::JobRead,               [All, No, No, No, No], None),
    rule(Action::JobWrite,              [All, No, No, No, No], None),
    rule(Action::WebhookRead,           [All, No, No, No, No], None),
    rule(Action::WebhookWrite,          [All, No, No, No, No], None),
];

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

/// May `actor` do `action` at all? Returns their scope.
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

/// Whether the setting `security.require_admin_2fa` decides about `actor`
/// (an administrator without two-factor authentication), so that it is read
/// only then.
pub fn two_factor_gate_applies(actor: &Actor) -> bool {
    actor.role == Role::Admin && !actor.totp_enabled
}

/// The account gates, after [`authorize`]: an account whose password an
/// administrator reset, and an administrator without two-factor
/// authentication while `require_admin_2fa` is set, may only use their own
/// account ([`Action::Account`]) until they act.
///
/// Errors: 403 naming the rule (`password_change_required`, `two_factor_required`).
pub fn admit(actor: &Actor, action: Action, require_admin_2fa: bool) -> AppResult<()> {
    authorize(actor, action)?;
    if action == Action::Account {
        return Ok(());
    }
    if actor.must_change_password {
        return Err(AppError::Blocked {
            rule: "password_change_required",
            detail: "an administrator reset this password: change it first (POST /api/v1/auth/change-password)".into(),
        });
    }
    if two_factor_gate_applies(actor) && require_admin_2fa {
        return Err(AppError::Blocked {
            rule: "two_factor_required",
            detail: "administrators must use two-factor authentication: enrol first (POST /api/v1/auth/totp/enrol)"
                .into(),
        });
    }
    Ok(())
}

/// Whom an object belongs to, as far as the policy is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    /// The user the object belongs to (a role-change request's requester).
    pub user_id: Option<Uuid>,
    /// The patient the object is about.
    pub patient_id: Option<Uuid>,
    /// The doctor the object belongs to (an appointment's doctor, a
    /// schedule's doctor, or the actor if they treat the patient of a record).
    pub doctor_id: Option<Uuid>,
    /// The facility the object is at.
    pub facility_id: Option<Uuid>,
}

impl Owner {
    /// Whether `scope` of `actor` reaches this object.
    fn reached_by(&self, actor: &Actor, scope: Scope) -> bool {
        match scope {
            Scope::None => false,
            Scope::All => true,
            Scope::Own if self.user_id.is_some() => self.user_id == Some(actor.user_id),
            Scope::Own => match actor.role {
                Role::Patient => actor.patient_id.is_some() && self.patient_id == actor.patient_id,
                Role::Doctor => actor.doctor_id.is_some() && self.doctor_id == actor.doctor_id,
                _ => false,
            },
            Scope::Facility => actor.facility_id.is_some() && self.facility_id == actor.facility_id,
        }
    }
}

/// Something the policy decides about, object by object.
pub trait Resource {
    /// What it is called in refusals (`appointment`).
    const KIND: &'static str;

    /// Whom it belongs to.
    fn owner(&self) -> Owner;

    /// What "own" means in a list of these for `actor`: by default their
    /// patient record (patients) or themselves as the doctor (doctors).
    fn own_reach(actor: &Actor) -> Reach {
        match (actor.role, actor.patient_id, actor.doctor_id) {
            (Role::Patient, Some(patient), _) => Reach::Patient(patient),
            (Role::Doctor, _, Some(doctor)) => Reach::Doctor(doctor),
            _ => Reach::Nothing,
        }
    }
}

impl Resource for AppointmentRow {
    const KIND: &'static str = "appointment";

    fn owner(&self) -> Owner {
        Owner {
            patient_id: Some(self.patient_id),
            doctor_id: Some(self.doctor_id),
            facility_id: Some(self.facility_id),
            ..Owner::default()
        }
    }
}

impl Resource for role_change_request::Model {
    const KIND: &'static str = "role-change request";

    fn owner(&self) -> Owner {
        Owner {
            user_id: Some(self.user_id),
            ..Owner::default()
        }
    }

    fn own_reach(actor: &Actor) -> Reach {
        Reach::User(actor.user_id)
    }
}

/// A doctor's schedule (working hours and time off).
#[derive(Debug, Clone, Copy)]
pub struct Schedule(pub Uuid);

impl Resource for Schedule {
    const KIND: &'static str = "doctor";

    fn owner(&self) -> Owner {
        Owner {
            doctor_id: Some(self.0),
            ..Owner::default()
        }
    }
}

/// A patient record as the policy sees it: whose it is, and how the actor
/// cares for the patient (see [`patient_record`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatientRecord {
    /// The patient.
    pub id: Uuid,
    /// The actor, when they are a doctor with an appointment with the patient.
    pub treating_doctor: Option<Uuid>,
    /// The actor's facility, when they are a nurse there and the patient was seen there.
    pub seen_at: Option<Uuid>,
}

impl PatientRecord {
    /// A record considered without any care relation (booking for a patient,
    /// giving them a login: only the patient themselves or staff with reach to all).
    pub fn of(id: Uuid) -> PatientRecord {
        PatientRecord {
            id,
            treating_doctor: None,
            seen_at: None,
        }
    }
}

impl Resource for PatientRecord {
    const KIND: &'static str = "patient";

    fn owner(&self) -> Owner {
        Owner {
            patient_id: Some(self.id),
            doctor_id: self.treating_doctor,
            facility_id: self.seen_at,
            ..Owner::default()
        }
    }
}

/// A patient's clinical record (their consultations and every entry in
/// them) as the policy sees it: visible to whom the patient record's care
/// relation reaches ([`patient_record`]), under [`Action::ClinicalRead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClinicalRecord(pub PatientRecord);

impl Resource for ClinicalRecord {
    const KIND: &'static str = "consultation";

    fn owner(&self) -> Owner {
        self.0.owner()
    }
}

impl Resource for consultation::Model {
    const KIND: &'static str = "consultation";

    /// Its author: writing to a consultation is its doctor's (or, for vital
    /// signs and nursing notes, its facility's).
    fn owner(&self) -> Owner {
        Owner {
            patient_id: Some(self.patient_id),
            doctor_id: Some(self.doctor_id),
            facility_id: Some(self.facility_id),
            ..Owner::default()
        }
    }
}

impl Resource for crate::db::entities::bill::Model {
    const KIND: &'static str = "bill";

    /// The patient billed, at the facility billing.
    fn owner(&self) -> Owner {
        Owner {
            patient_id: Some(self.patient_id),
            facility_id: Some(self.facility_id),
            ..Owner::default()
        }
    }
}

/// The care relation of `actor` to patient `id`: a doctor treats the
/// patients they have (had) an appointment with; a nurse sees the patients
/// seen at their facility. One query for those roles, none for the others.
pub async fn patient_record(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> DbResult<PatientRecord> {
    let mut record = PatientRecord::of(id);
    match (actor.role, actor.doctor_id, actor.facility_id) {
        (Role::Doctor, Some(doctor), _) if db::patients::treated_by(db, id, doctor).await? => {
            record.treating_doctor = Some(doctor);
        }
        (Role::Nurse, _, Some(facility)) if db::patients::seen_at(db, id, facility).await? => {
            record.seen_at = Some(facility);
        }
        _ => {}
    }
    Ok(record)
}

/// May `actor` do `action` to `object`?
///
/// Errors: 404 (`R::KIND` not found) when the actor may not see the object,
/// 403 when they may see it but not do this to it.
///
/// Every decision is noted for the audit trail (the patient, and whether it refused).
pub fn authorize_object<R: Resource>(actor: &Actor, action: Action, object: &R) -> AppResult<()> {
    let owner = object.owner();
    let decision = decide(actor, action, &owner, R::KIND);
    db::audit::note(owner.patient_id, decision.is_err());
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

/// Which rows of a list of `R` the actor may see through `action`.
///
/// Errors: 403 when the role has no scope for the action.
pub fn reach<R: Resource>(actor: &Actor, action: Action) -> AppResult<Reach> {
    Ok(match authorize(actor, action)? {
        Scope::All => Reach::All,
        Scope::Own => R::own_reach(actor),
        Scope::Facility => actor.facility_id.map(Reach::Facility).unwrap_or(Reach::Nothing),
        Scope::None => Reach::Nothing,
    })
}

/// The records one's own profile writes through besides the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnRecords {
    /// The patient record of a patient.
    pub patient: Option<Uuid>,
    /// The doctor profile of a doctor who has one.
    pub doctor: Option<Uuid>,
}

/// The records `actor`'s own profile reaches: a patient their patient
/// record (its contact fields, see [`FIELD_MATRIX`]), a doctor their doctor
/// profile's professional details; others only their account.
pub fn own_records(actor: &Actor) -> OwnRecords {
    OwnRecords {
        patient: actor.patient_id.filter(|_| actor.role == Role::Patient),
        doctor: actor.doctor_id.filter(|_| actor.role == Role::Doctor),
    }
}

/// Patients may cancel or reschedule their own appointment only up to
/// `window` before its start; staff always (DESIGN §4).
///
/// Errors: 409 `cancellation_window`.
pub fn check_patient_window(
    actor: &Actor,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    window: TimeDelta,
) -> AppResult<()> {
    if actor.role == Role::Patient && now > start - window {
        return Err(AppError::conflict(
            "cancellation_window",
            format!(
                "patients can cancel or reschedule up to {} minutes before the start; please contact the clinic",
                window.num_minutes()
            ),
        ));
    }
    Ok(())
}

/// Whether a refund of `amount` (minor units) by `actor` waits for an
/// administrator's approval ([`Action::RefundApprove`]): above `threshold`
/// (minor units, from `billing.refund_approval_above`) unless an
/// administrator makes it.
pub fn refund_needs_approval(actor: &Actor, amount: i64, threshold: i64) -> bool {
    actor.role != Role::Admin && amount > threshold
}

/// The kinds of note a role writes with [`Action::NoteWrite`]: a nurse
/// nursing notes only, a doctor any kind.
///
/// Errors: 403 naming the rule.
pub fn authorize_note_kind(actor: &Actor, kind: NoteKind) -> AppResult<()> {
    if actor.role == Role::Nurse && kind != NoteKind::Nursing {
        return Err(AppError::Forbidden("a nurse writes nursing notes only".into()));
    }
    Ok(())
}

/// The class of a field of a patient record (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldClass {
    /// Who the person is: names, birth date, sex, identifiers, the record's own dates.
    Demographic,
    /// How to reach them: phone, email, address, emergency contact.
    Contact,
    /// Their health: blood group, allergies, medical history (and, later,
    /// consultations, diagnoses, prescriptions, vital signs).
    Clinical,
    /// How they pay: insurance.
    Financial,
}

impl FieldClass {
    /// Every class, in the order of [`FIELD_MATRIX`]'s columns.
    pub const ALL: [FieldClass; 4] = [
        FieldClass::Demographic,
        FieldClass::Contact,
        FieldClass::Clinical,
        FieldClass::Financial,
    ];

    /// The class in snake case (`clinical`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldClass::Demographic => "demographic",
            FieldClass::Contact => "contact",
            FieldClass::Clinical => "clinical",
            FieldClass::Financial => "financial",
        }
    }

    fn index(self) -> usize {
        match self {
            FieldClass::Demographic => 0,
            FieldClass::Contact => 1,
            FieldClass::Clinical => 2,
            FieldClass::Financial => 3,
        }
    }
}

/// What a role may do with one class of fields of a record it can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldAccess {
    /// Never sent, never written.
    Hidden,
    /// Sent, not written.
    Read,
    /// Sent and written.
    Write,
}

use FieldAccess::{Hidden, Read, Write};

/// Field access per role (rows in the order of [`Role::ALL`]: admin,
/// doctor, nurse, receptionist, patient) and class (columns: demographic,
/// contact, clinical, financial). The record itself must be reachable
/// ([`Action::PatientRead`], [`Action::PatientUpdate`]) before this applies.
#[rustfmt::skip]
pub const FIELD_MATRIX: [[FieldAccess; 4]; 5] = [
    // demographic contact clinical financial
    [Write, Write, Write, Write],   // admin
    [Read, Read, Write, Hidden],    // doctor: clinical of the patients they treat
    [Read, Read, Read, Hidden],     // nurse: clinical read at their facility
    [Write, Write, Hidden, Write],  // receptionist: never clinical
    [Write, Write, Read, Write],    // patient: their own record
];

/// What `role` may do with fields of `class`.
pub fn field_access(role: Role, class: FieldClass) -> FieldAccess {
    FIELD_MATRIX[column(role)][class.index()]
}

/// Every field of a patient record, with its class. Output shaping, write
/// checks and the policy-matrix test all read this one table.
pub const PATIENT_FIELDS: &[(&str, FieldClass)] = &[
    ("id", FieldClass::Demographic),
    ("user_id", FieldClass::Demographic),
    ("medical_record_number", FieldClass::Demographic),
    ("first_name", FieldClass::Demographic),
    ("last_name", FieldClass::Demographic),
    ("date_of_birth", FieldClass::Demographic),
    ("sex", FieldClass::Demographic),
    ("national_id", FieldClass::Demographic),
    ("created_at", FieldClass::Demographic),
    ("updated_at", FieldClass::Demographic),
    ("phone", FieldClass::Contact),
    ("email", FieldClass::Contact),
    ("address", FieldClass::Contact),
    ("location_id", FieldClass::Contact),
    ("emergency_contact_name", FieldClass::Contact),
    ("emergency_contact_phone", FieldClass::Contact),
    ("blood_group", FieldClass::Clinical),
    ("allergies", FieldClass::Clinical),
    ("medical_history", FieldClass::Clinical),
    ("insurance_number", FieldClass::Financial),
];

/// The class of patient-record field `name`.
pub fn patient_field_class(name: &str) -> Option<FieldClass> {
    PATIENT_FIELDS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The fields of a patient record one actor receives.
#[derive(Debug, Clone, Copy)]
pub struct FieldView {
    role: Role,
}

impl FieldView {
    /// The view of `actor`.
    pub fn of(actor: &Actor) -> FieldView {
        FieldView { role: actor.role }
    }

    /// The view of a role.
    pub fn for_role(role: Role) -> FieldView {
        FieldView { role }
    }

    /// Whether field `name` of a patient record is sent. A name without a
    /// class is never sent.
    pub fn shows(&self, name: &str) -> bool {
        patient_field_class(name).is_some_and(|class| field_access(self.role, class) >= FieldAccess::Read)
    }

    /// `value` when field `name` is sent, else `None` (the member is omitted).
    pub fn show<T>(&self, name: &str, value: T) -> Option<T> {
        self.shows(name).then_some(value)
    }
}

/// May `actor` write every one of `fields` (names of a patient record's fields)?
///
/// Errors: 403 `field_not_writable` naming the first field of a class the
/// role may not write (or a field without a class).
pub fn check_writes<'a>(actor: &Actor, fields: impl IntoIterator<Item = &'a str>) -> AppResult<()> {
    for name in fields {
        let class = patient_field_class(name);
        if class.is_none_or(|c| field_access(actor.role, c) < FieldAccess::Write) {
            let class = class.map_or("unclassified", FieldClass::as_str);
            return Err(AppError::FieldNotWritable {
                field: name.to_owned(),
                detail: format!(
                    "a {} may not change {class} fields of a patient record",
                    actor.role.as_str()
                ),
            });
        }
    }
    Ok(())
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

    struct Thing(Owner);

    impl Resource for Thing {
        const KIND: &'static str = "appointment";

        fn owner(&self) -> Owner {
            self.0.clone()
        }
    }

    fn appointment(patient: u128, doctor: u128, facility: u128) -> Thing {
        Thing(Owner {
            patient_id: Some(Uuid::from_u128(patient)),
            doctor_id: Some(Uuid::from_u128(doctor)),
            facility_id: Some(Uuid::from_u128(facility)),
            ..Owner::default()
        })
    }

    #[test]
    fn every_action_has_exactly_one_rule() {
        let mut seen = std::collections::HashSet::new();
        for rule in MATRIX {
            assert!(seen.insert(rule.action), "{:?} twice", rule.action);
        }
        assert_eq!(seen.len(), Action::ALL.len());
    }

    #[test]
    fn action_names_are_stable() {
        // The audit trail stores these names: changing one changes stored data.
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(
            names,
            [
                "account",
                "profile",
                "role_request_create",
                "role_request_read",
                "role_request_review",
                "settings_read",
                "settings_write",
                "audit_read",
                "directory_read",
                "directory_write",
                "user_create",
                "user_read",
                "user_update",
                "patient_create",
                "patient_read",
                "patient_update",
                "patient_account_create",
                "schedule_read",
                "schedule_write",
                "availability_read",
                "appointment_create",
                "appointment_read",
                "appointment_confirm",
                "appointment_check_in",
                "appointment_start",
                "appointment_complete",
                "appointment_no_show",
                "appointment_cancel",
                "appointment_reschedule",
                "clinical_read",
                "clinical_write",
                "vital_signs_write",
                "note_write",
                "telemedicine_write",
                "telemedicine_join",
                "report_read",
                "practice_report_read",
                "data_export",
                "dashboard",
                "monthly_report_generate",
                "medication_read",
                "medication_write",
                "stock_write",
                "prescription_dispense",
                "bill_read",
                "bill_write",
                "payment_write",
                "refund_write",
                "refund_approve",
                "notifications",
                "day_board_read",
                "job_read",
                "job_write",
                "webhook_read",
                "webhook_write",
            ]
        );
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(*action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.name());
        }
    }

    #[test]
    fn patients_see_only_their_own_and_others_are_hidden() {
        let p = actor(Role::Patient);
        let mine = appointment(10, 21, 31);
        let theirs = appointment(11, 21, 31);
        assert!(authorize_object(&p, Action::AppointmentRead, &mine).is_ok());
        assert!(matches!(
            authorize_object(&p, Action::AppointmentRead, &theirs),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            authorize_object(&p, Action::AppointmentCancel, &theirs),
            Err(AppError::NotFound(_))
        ));
        // Visible but not theirs to change: 403.
        assert!(matches!(
            authorize_object(&p, Action::AppointmentConfirm, &mine),
            Err(AppError::Forbidden(_))
        ));
    }

    #[test]
    fn doctors_reach_their_own_appointments_and_nurses_their_facility() {
        let d = actor(Role::Doctor);
        assert!(authorize_object(&d, Action::AppointmentStart, &appointment(10, 20, 99)).is_ok());
        assert!(authorize_object(&d, Action::AppointmentStart, &appointment(10, 21, 99)).is_err());
        let n = actor(Role::Nurse);
        assert!(authorize_object(&n, Action::AppointmentCheckIn, &appointment(10, 21, 30)).is_ok());
        assert!(authorize_object(&n, Action::AppointmentCheckIn, &appointment(10, 21, 31)).is_err());
        let r = actor(Role::Receptionist);
        assert!(authorize_object(&r, Action::AppointmentCancel, &appointment(1, 2, 3)).is_ok());
    }

    #[test]
    fn own_requests_are_the_users_own_whatever_the_role() {
        let d = actor(Role::Doctor);
        assert_eq!(
            reach::<role_change_request::Model>(&d, Action::RoleRequestRead).unwrap(),
            Reach::User(d.user_id)
        );
        assert_eq!(
            reach::<AppointmentRow>(&d, Action::AppointmentRead).unwrap(),
            Reach::Doctor(Uuid::from_u128(20))
        );
        assert_eq!(
            reach::<AppointmentRow>(&actor(Role::Nurse), Action::AppointmentRead).unwrap(),
            Reach::Facility(Uuid::from_u128(30))
        );
        assert!(reach::<AppointmentRow>(&actor(Role::Patient), Action::UserRead).is_err());
    }

    #[test]
    fn gates_hold_an_account_to_its_own_operations() {
        let mut reset = actor(Role::Nurse);
        reset.must_change_password = true;
        assert!(admit(&reset, Action::Account, false).is_ok());
        assert!(matches!(
            admit(&reset, Action::Profile, false),
            Err(AppError::Blocked {
                rule: "password_change_required",
                ..
            })
        ));
        let admin = actor(Role::Admin);
        assert!(admit(&admin, Action::UserRead, false).is_ok());
        assert!(matches!(
            admit(&admin, Action::UserRead, true),
            Err(AppError::Blocked {
                rule: "two_factor_required",
                ..
            })
        ));
    }

    #[test]
    fn reception_never_receives_nor_writes_clinical_fields() {
        let view = FieldView::for_role(Role::Receptionist);
        for (name, class) in PATIENT_FIELDS {
            assert_eq!(view.shows(name), *class != FieldClass::Clinical, "{name}");
        }
        let r = actor(Role::Receptionist);
        assert!(check_writes(&r, ["phone", "insurance_number"]).is_ok());
        assert!(matches!(
            check_writes(&r, ["phone", "allergies"]),
            Err(AppError::FieldNotWritable { field, .. }) if field == "allergies"
        ));
        assert!(check_writes(&r, ["no_such_field"]).is_err());
        assert!(!view.shows("no_such_field"));
    }

    #[test]
    fn the_patient_window_binds_patients_only() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().to_utc();
        let window = TimeDelta::hours(2);
        let late = start - TimeDelta::minutes(30);
        assert!(check_patient_window(&actor(Role::Patient), start, late, window).is_err());
        assert!(check_patient_window(&actor(Role::Patient), start, start - window, window).is_ok());
        assert!(check_patient_window(&actor(Role::Receptionist), start, late, window).is_ok());
    }
}
