//! Domain vocabulary: the enumerations of DESIGN §3–4 and the newtypes that
//! parse input at the edge (`Email`, `Phone`, `Money`, `TimeZone`).
//!
//! Enumerations are stored as their snake_case names in text columns and
//! serialised the same way in JSON.

mod email;
pub mod icd10cm;
mod money;
mod phone;
mod timezone;
mod weekly;

#[allow(unused_imports)]
use sea_orm::sea_query::StringLen;

pub use email::Email;
pub use money::{Currency, Money};
pub use phone::Phone;
pub use timezone::TimeZone;
pub use weekly::{LocalTime, WeekdayName};

/// Declares a closed set of snake_case names stored as text and sent as JSON strings.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
        )]
        #[serde(rename_all = "snake_case")]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))", rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum! {
    /// A user's role (DESIGN §2). A user has exactly one.
    Role {
        /// System administrator: everything.
        Admin = "admin",
        /// Practitioner: own schedule, appointments and patients' clinical records.
        Doctor = "doctor",
        /// Clinical support at a facility.
        Nurse = "nurse",
        /// Front desk: registration, booking for anyone, check-in, billing.
        Receptionist = "receptionist",
        /// The person being treated.
        Patient = "patient",
    }
}

impl Role {
    /// Staff roles that act for others (not the patient).
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Patient)
    }
}

string_enum! {
    /// Where an appointment is in its lifecycle (DESIGN §4).
    AppointmentStatus {
        /// Booked, waiting for confirmation by staff or the doctor.
        Pending = "pending",
        /// Booked and confirmed.
        Confirmed = "confirmed",
        /// The patient has arrived.
        CheckedIn = "checked_in",
        /// The consultation is under way.
        InProgress = "in_progress",
        /// The visit is over.
        Completed = "completed",
        /// Cancelled by the patient, staff or the doctor.
        Cancelled = "cancelled",
        /// The patient did not come.
        NoShow = "no_show",
    }
}

impl AppointmentStatus {
    /// Statuses that hold the doctor's and patient's time.
    pub const LIVE: &'static [AppointmentStatus] = &[
        AppointmentStatus::Pending,
        AppointmentStatus::Confirmed,
        AppointmentStatus::CheckedIn,
        AppointmentStatus::InProgress,
    ];

    /// Whether this status blocks time (pending, confirmed, checked in, in progress).
    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

string_enum! {
    /// How the consultation takes place.
    AppointmentKind {
        /// At the facility.
        InPerson = "in_person",
        /// By video or phone.
        Telemedicine = "telemedicine",
    }
}

string_enum! {
    /// What happened to an appointment, one per appointment event.
    AppointmentAction {
        /// Created.
        Booked = "booked",
        /// Created as a hold (pending until it expires or is booked).
        Held = "held",
        /// pending → confirmed.
        Confirmed = "confirmed",
        /// confirmed → checked_in.
        CheckedIn = "checked_in",
        /// checked_in → in_progress.
        Started = "started",
        /// in_progress → completed.
        Completed = "completed",
        /// confirmed → no_show.
        NoShow = "no_show",
        /// pending/confirmed → cancelled.
        Cancelled = "cancelled",
        /// Start and end moved.
        Rescheduled = "rescheduled",
    }
}

string_enum! {
    /// Administrative sex (FHIR `AdministrativeGender`).
    Sex {
        /// Female.
        Female = "female",
        /// Male.
        Male = "male",
        /// Other.
        Other = "other",
        /// Not known.
        Unknown = "unknown",
    }
}

string_enum! {
    /// What kind of place a facility is.
    FacilityKind {
        /// A hospital.
        Hospital = "hospital",
        /// A clinic or doctor's chamber.
        Clinic = "clinic",
        /// A diagnostic centre.
        DiagnosticCentre = "diagnostic_centre",
    }
}

string_enum! {
    /// Level in the administrative area tree.
    LocationKind {
        /// Division (top level in Bangladesh).
        Division = "division",
        /// District (zila).
        District = "district",
        /// Upazila or thana.
        Upazila = "upazila",
    }
}

impl LocationKind {
    /// The kind a child of this kind has, if any.
    pub fn child(self) -> Option<LocationKind> {
        match self {
            LocationKind::Division => Some(LocationKind::District),
            LocationKind::District => Some(LocationKind::Upazila),
            LocationKind::Upazila => None,
        }
    }
}

string_enum! {
    /// The shape of a time-off entry as it was given.
    TimeOffKind {
        /// One whole local day.
        Day = "day",
        /// Whole local days from a start date to an end date, inclusive.
        DateRange = "date_range",
        /// An exact range of instants.
        DatetimeRange = "datetime_range",
    }
}

string_enum! {
    /// Where a consultation (FHIR Encounter) is.
    ConsultationStatus {
        /// Open: the doctor is recording the visit; its fields may be changed.
        InProgress = "in_progress",
        /// Closed: changed only by amendment.
        Completed = "completed",
        /// Recorded by mistake (wrong patient); kept, hidden from summaries.
        EnteredInError = "entered_in_error",
    }
}

string_enum! {
    /// What a stock movement is.
    StockMovementKind {
        /// A lot received (`POST /medications/{id}/lots`).
        Receipt = "receipt",
        /// Given out against a prescription.
        Dispense = "dispense",
        /// Brought back unused and put back in stock.
        Return = "return",
        /// A correction, either way, with a reason.
        Adjustment = "adjustment",
        /// Taken out of stock for good (expired, damaged, recalled).
        Disposal = "disposal",
    }
}

string_enum! {
    /// Why stock was adjusted, disposed of or returned (a fixed list).
    StockReason {
        /// A physical count differed (adjustment).
        StockCount = "stock_count",
        /// A movement was recorded wrongly (adjustment).
        DataEntryError = "data_entry_error",
        /// Stock found that was not recorded (adjustment, in).
        Found = "found",
        /// Stock missing or stolen (adjustment, out).
        Lost = "lost",
        /// Past its expiry date (disposal).
        Expired = "expired",
        /// Broken, spoiled or contaminated (disposal).
        Damaged = "damaged",
        /// Withdrawn by the manufacturer or regulator (disposal).
        Recalled = "recalled",
        /// Brought back by the patient, unopened (return).
        PatientReturn = "patient_return",
    }
}

impl StockReason {
    /// Whether this reason fits a movement of `kind`.
    pub fn fits(self, kind: StockMovementKind) -> bool {
        use StockReason::*;
        match kind {
            StockMovementKind::Adjustment => matches!(self, StockCount | DataEntryError | Found | Lost),
            StockMovementKind::Disposal => matches!(self, Expired | Damaged | Recalled),
            StockMovementKind::Return => self == PatientReturn,
            StockMovementKind::Receipt | StockMovementKind::Dispense => false,
        }
    }
}

string_enum! {
    /// Where a bill stands: `draft` → `issued` → `partially_paid` → `paid`, or `void`.
    BillStatus {
        /// Being put together: lines may be added.
        Draft = "draft",
        /// Given to the patient; nothing paid yet.
        Issued = "issued",
        /// Some of it paid.
        PartiallyPaid = "partially_paid",
        /// Paid in full.
        Paid = "paid",
        /// Cancelled with a reason, while nothing was paid.
        Void = "void",
    }
}

string_enum! {
    /// What a bill line is for.
    BillLineKind {
        /// The doctor's consultation fee.
        Consultation = "consultation",
        /// A service (test, procedure).
        Service = "service",
        /// Medication dispensed.
        Medication = "medication",
        /// Anything else.
        Other = "other",
    }
}

string_enum! {
    /// How a payment was made.
    PaymentMethod {
        Cash = "cash",
        Card = "card",
        /// bKash, Nagad, Rocket and the like.
        MobileBanking = "mobile_banking",
        BankTransfer = "bank_transfer",
        Insurance = "insurance",
    }
}

string_enum! {
    /// Where a refund stands.
    RefundStatus {
        /// Above `billing.refund_approval_above`: waits for an administrator.
        PendingApproval = "pending_approval",
        /// Given back.
        Completed = "completed",
        /// Refused by an administrator; the amount is refundable again.
        Rejected = "rejected",
    }
}

string_enum! {
    /// The rank of a diagnosis in a consultation.
    DiagnosisKind {
        /// The main reason for the visit.
        Primary = "primary",
        /// Another condition addressed or noted.
        Secondary = "secondary",
    }
}

string_enum! {
    /// How sure a diagnosis is (FHIR Condition.verificationStatus).
    DiagnosisStatus {
        /// A working diagnosis.
        Provisional = "provisional",
        /// Confirmed: it enters the patient's active problem list.
        Confirmed = "confirmed",
        /// Recorded by mistake; kept in history, hidden from summaries.
        EnteredInError = "entered_in_error",
    }
}

string_enum! {
    /// Where a prescription is (FHIR MedicationRequest.status).
    PrescriptionStatus {
        /// To be taken.
        Active = "active",
        /// Taken to the end.
        Completed = "completed",
        /// Stopped early, with a reason.
        Stopped = "stopped",
        /// Recorded by mistake; kept in history, hidden from summaries.
        EnteredInError = "entered_in_error",
    }
}

string_enum! {
    /// How a medication is given (a subset of SNOMED CT route of administration).
    MedicationRoute {
        /// By mouth.
        Oral = "oral",
        /// Under the tongue.
        Sublingual = "sublingual",
        /// Into a vein.
        Intravenous = "intravenous",
        /// Into a muscle.
        Intramuscular = "intramuscular",
        /// Under the skin.
        Subcutaneous = "subcutaneous",
        /// On the skin.
        Topical = "topical",
        /// Breathed in.
        Inhalation = "inhalation",
        /// Into the nose.
        Nasal = "nasal",
        /// Into the eye.
        Ophthalmic = "ophthalmic",
        /// Into the ear.
        Otic = "otic",
        /// Into the rectum.
        Rectal = "rectal",
        /// Into the vagina.
        Vaginal = "vaginal",
        /// Through the skin (a patch).
        Transdermal = "transdermal",
    }
}

string_enum! {
    /// What a clinical note is about.
    NoteKind {
        /// The clinician's assessment.
        Assessment = "assessment",
        /// The plan of care.
        Plan = "plan",
        /// What to do at or before the follow-up.
        FollowUp = "follow_up",
        /// Anything else.
        General = "general",
        /// A nurse's note.
        Nursing = "nursing",
    }
}

string_enum! {
    /// Whether a note stands (FHIR DocumentReference.status).
    NoteStatus {
        /// The note as it stands.
        Current = "current",
        /// Written by mistake; kept in history, hidden from summaries.
        EnteredInError = "entered_in_error",
    }
}

string_enum! {
    /// How a telemedicine session ended (seed 000's teleconsultation outcomes).
    TelemedicineOutcome {
        /// The consultation took place.
        Completed = "completed",
        /// The patient did not join.
        PatientNoShow = "patient_no_show",
        /// Video or connection failed.
        TechnicalFailure = "technical_failure",
        /// The patient is to come in person instead.
        ConvertedToInPerson = "converted_to_in_person",
    }
}

string_enum! {
    /// Blood group (ABO and RhD).
    BloodGroup {
        /// A RhD positive.
        APositive = "a_positive",
        /// A RhD negative.
        ANegative = "a_negative",
        /// B RhD positive.
        BPositive = "b_positive",
        /// B RhD negative.
        BNegative = "b_negative",
        /// AB RhD positive.
        AbPositive = "ab_positive",
        /// AB RhD negative.
        AbNegative = "ab_negative",
        /// O RhD positive.
        OPositive = "o_positive",
        /// O RhD negative.
        ONegative = "o_negative",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_names() {
        for status in AppointmentStatus::ALL {
            assert_eq!(status.as_str().parse::<AppointmentStatus>().unwrap(), *status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!("booked".parse::<AppointmentStatus>().is_err());
    }

    #[test]
    fn live_statuses_are_the_four_that_hold_time() {
        let live: Vec<_> = AppointmentStatus::ALL.iter().filter(|s| s.is_live()).collect();
        assert_eq!(live.len(), 4);
        assert!(!AppointmentStatus::Cancelled.is_live());
        assert!(!AppointmentStatus::NoShow.is_live());
    }
}

string_enum! {
    /// Where a job of the queue is in its life.
    JobStatus {
        /// Waiting for its `run_at` (a retry waits here too).
        Queued = "queued",
        /// Claimed by a worker, whose lease has not expired.
        Running = "running",
        /// Done.
        Succeeded = "succeeded",
        /// Failed its last allowed attempt; an administrator may retry it.
        Dead = "dead",
        /// Made pointless by a later change (a reminder of a moved or cancelled appointment).
        Cancelled = "cancelled",
    }
}

string_enum! {
    /// What the queue does with a job ([`crate::db::jobs`]).
    JobKind {
        /// Email the patient that the appointment is booked (with the event as `text/calendar`).
        AppointmentConfirmation = "appointment_confirmation",
        /// Email the patient that the appointment moved.
        AppointmentRescheduled = "appointment_rescheduled",
        /// Email the patient that the appointment is cancelled.
        AppointmentCancelled = "appointment_cancelled",
        /// Remind the patient of the appointment (email and in-app), `offset_hours` before it.
        AppointmentReminder = "appointment_reminder",
        /// POST one event to one webhook endpoint, signed (Standard Webhooks).
        WebhookDelivery = "webhook_delivery",
        /// Build every doctor's report of a month, for the doctors whose
        /// facility is in one time zone, on the 1st of the next month there.
        MonthlyReports = "monthly_reports",
    }
}

string_enum! {
    /// How a delivery attempt ended.
    DeliveryOutcome {
        /// The server accepted the message.
        Sent = "sent",
        /// Nothing was sent, on purpose: no SMTP configured, no address, opted out.
        NotSent = "not_sent",
        /// The server refused it or could not be reached (the job retries).
        Failed = "failed",
    }
}
