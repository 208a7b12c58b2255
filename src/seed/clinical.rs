//! The demo clinic's clinical records: every completed appointment gets a
//! consultation with vital signs, one to three real ICD-10-CM diagnoses,
//! prescriptions of real generic medicines and notes, each entry with its
//! first version in the history (so the demo's digest chains verify).

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::clinical::entries::Entry;
use crate::clinical::{versions, vital_signs as vitals};
use crate::db::entities::{
    clinical_note, clinical_version, consultation, diagnosis, prescription, telemedicine_event, telemedicine_session,
    vital_signs,
};
use crate::db::ids;
use crate::domain::{
    AppointmentStatus, ConsultationStatus, DiagnosisKind, DiagnosisStatus, MedicationRoute, NoteKind, NoteStatus,
    PrescriptionStatus, TelemedicineOutcome,
};

/// A medication order of a visit profile: name, dose, unit, times a day
/// (None: as needed), pattern, days, quantity.
type Order = (
    &'static str,
    i64,
    &'static str,
    Option<i32>,
    Option<&'static str>,
    Option<i32>,
    i32,
);

/// What a kind of visit finds and prescribes.
struct Profile {
    /// Words of the booking reason that choose this profile.
    reasons: &'static [&'static str],
    /// Billable ICD-10-CM codes: the first primary and confirmed.
    codes: &'static [&'static str],
    orders: &'static [Order],
    assessment: &'static str,
    plan: &'static str,
}

const PROFILES: &[Profile] = &[
    Profile {
        reasons: &["Blood pressure", "Follow-up", "Chest pain"],
        codes: &["I10", "E78.5", "R07.9"],
        orders: &[
            (
                "amlodipine besylate 5 mg tablet",
                1000,
                "tablet",
                Some(1),
                Some("1-0-0"),
                Some(30),
                30,
            ),
            (
                "atorvastatin calcium 20 mg tablet",
                1000,
                "tablet",
                Some(1),
                Some("0-0-1"),
                Some(30),
                30,
            ),
        ],
        assessment: "Blood pressure above target on two readings.",
        plan: "Start amlodipine; low-salt diet; recheck in four weeks.",
    },
    Profile {
        reasons: &["Diabetes"],
        codes: &["E11.9", "E66.9"],
        orders: &[(
            "metformin hydrochloride 500 mg tablet",
            1000,
            "tablet",
            Some(2),
            Some("1-0-1"),
            Some(30),
            60,
        )],
        assessment: "Type 2 diabetes, fasting glucose above target.",
        plan: "Metformin with meals; HbA1c in three months.",
    },
    Profile {
        reasons: &["cough", "Fever", "Sore throat"],
        codes: &["J06.9", "R50.9", "J02.9"],
        orders: &[
            ("acetaminophen 500 mg tablet", 1000, "tablet", None, None, None, 10),
            (
                "amoxicillin 500 mg capsule",
                1000,
                "capsule",
                Some(3),
                None,
                Some(7),
                21,
            ),
        ],
        assessment: "Upper respiratory infection, likely viral; tonsils inflamed.",
        plan: "Fluids, rest; paracetamol as needed; amoxicillin if no better in 48 hours.",
    },
    Profile {
        reasons: &["Stomach"],
        codes: &["K29.70", "K21.9"],
        orders: &[(
            "omeprazole 20 mg capsule",
            1000,
            "capsule",
            Some(1),
            Some("1-0-0"),
            Some(14),
            14,
        )],
        assessment: "Epigastric tenderness, no alarm features.",
        plan: "Omeprazole before breakfast for two weeks; avoid NSAIDs.",
    },
    Profile {
        reasons: &["Back pain", "Knee pain"],
        codes: &["M54.50", "M25.561"],
        orders: &[(
            "naproxen 500 mg tablet",
            1000,
            "tablet",
            Some(2),
            Some("1-0-1"),
            Some(5),
            10,
        )],
        assessment: "Mechanical pain, no neurological deficit.",
        plan: "Naproxen after food for five days; physiotherapy exercises.",
    },
    Profile {
        reasons: &["Headache"],
        codes: &["R51.9", "G43.909"],
        orders: &[("ibuprofen 200 mg tablet", 2000, "tablet", None, None, None, 20)],
        assessment: "Tension-type headache; fundi normal.",
        plan: "Ibuprofen as needed, at most three times a day; headache diary.",
    },
    Profile {
        reasons: &["Skin rash"],
        codes: &["L30.9"],
        orders: &[(
            "cetirizine hydrochloride 10 mg tablet",
            1000,
            "tablet",
            Some(1),
            Some("0-0-1"),
            Some(7),
            7,
        )],
        assessment: "Eczematous rash on the forearms.",
        plan: "Cetirizine at night; emollients; avoid the new soap.",
    },
    Profile {
        reasons: &["Blurred vision"],
        codes: &["H53.8", "H52.4"],
        orders: &[],
        assessment: "Reduced near vision; no red flags.",
        plan: "Refer for refraction.",
    },
    Profile {
        reasons: &["Prenatal"],
        codes: &["Z34.90"],
        orders: &[(
            "folic acid 1 mg tablet",
            1000,
            "tablet",
            Some(1),
            Some("1-0-0"),
            Some(90),
            90,
        )],
        assessment: "Pregnancy progressing normally.",
        plan: "Folic acid daily; next antenatal visit in four weeks.",
    },
    Profile {
        reasons: &["Routine"],
        codes: &["Z00.00"],
        orders: &[],
        assessment: "Well; examination unremarkable.",
        plan: "Routine blood tests; see again in a year.",
    },
];

fn profile(reason: &str) -> &'static Profile {
    PROFILES
        .iter()
        .find(|p| {
            p.reasons
                .iter()
                .any(|r| reason.to_lowercase().contains(&r.to_lowercase()))
        })
        .unwrap_or(&PROFILES[PROFILES.len() - 1])
}

/// What a completed visit was.
pub struct Visit {
    /// Its appointment (the consultation's key in the demo's ids).
    pub appointment: Uuid,
    pub patient: Uuid,
    pub doctor: Uuid,
    /// The doctor's user.
    pub doctor_user: Uuid,
    pub facility: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The booking's reason.
    pub reason: &'static str,
    /// When the demo is loaded.
    pub now: DateTime<Utc>,
}

/// Every row the demo's clinical records need.
#[derive(Default)]
pub struct Records {
    pub consultations: Vec<consultation::Model>,
    pub vital_signs: Vec<vital_signs::Model>,
    pub diagnoses: Vec<diagnosis::Model>,
    pub prescriptions: Vec<prescription::Model>,
    pub notes: Vec<clinical_note::Model>,
    pub versions: Vec<clinical_version::Model>,
    pub sessions: Vec<telemedicine_session::Model>,
    pub session_events: Vec<telemedicine_event::Model>,
    /// Catalogue items by the name prescriptions give them (see [`super::pharmacy::prescribable`]).
    pub catalogue: std::collections::HashMap<String, Uuid>,
}

impl Records {
    /// The telemedicine session of a telemedicine appointment that took
    /// place (`completed`) or was missed (`patient_no_show`); none otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn telemedicine(
        &mut self,
        appointment: Uuid,
        patient: Uuid,
        patient_user: Option<Uuid>,
        doctor: Uuid,
        doctor_user: Uuid,
        facility: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        status: AppointmentStatus,
    ) {
        let outcome = match status {
            AppointmentStatus::Completed => TelemedicineOutcome::Completed,
            AppointmentStatus::NoShow => TelemedicineOutcome::PatientNoShow,
            _ => return,
        };
        let id = ids::demo("telemedicine_session", appointment);
        let took_place = outcome == TelemedicineOutcome::Completed;
        let started = took_place.then(|| start + TimeDelta::minutes(1));
        let ended = if took_place {
            end - TimeDelta::minutes(4)
        } else {
            start + TimeDelta::minutes(15)
        };
        self.sessions.push(telemedicine_session::Model {
            id,
            appointment_id: appointment,
            patient_id: patient,
            doctor_id: doctor,
            facility_id: facility,
            room: crate::auth::token::random_token(),
            started_at: started,
            ended_at: Some(ended),
            outcome: Some(outcome),
            created_by: doctor_user,
            created_at: start - TimeDelta::hours(1),
            updated_at: ended,
        });
        let mut events = vec![("doctor", doctor_user, "joined", start + TimeDelta::minutes(1))];
        if let Some(patient_user) = patient_user.filter(|_| took_place) {
            events.push(("patient", patient_user, "joined", start + TimeDelta::minutes(2)));
            events.push(("patient", patient_user, "left", ended));
        }
        events.push(("doctor", doctor_user, "left", ended));
        for (n, (participant, user, kind, at)) in events.into_iter().enumerate() {
            self.session_events.push(telemedicine_event::Model {
                id: ids::demo("telemedicine_event", format!("{id}/{n}")),
                session_id: id,
                user_id: user,
                participant: participant.into(),
                kind: kind.into(),
                at,
            });
        }
    }

    fn first_version(
        &mut self,
        entry_type: &'static str,
        id: Uuid,
        patient: Uuid,
        content: serde_json::Value,
        author: Uuid,
        at: DateTime<Utc>,
    ) {
        let content = versions::canonical(&content);
        self.versions.push(clinical_version::Model {
            id: ids::demo("clinical_version", format!("{entry_type}/{id}")),
            entry_type: entry_type.to_owned(),
            entry_id: id,
            version: 1,
            patient_id: patient,
            digest: versions::digest(None, &content),
            content,
            previous_digest: None,
            author_id: author,
            reason: None,
            recorded_at: at,
        });
    }

    /// Add the records of one completed visit.
    pub fn add(&mut self, rng: &mut ChaCha8Rng, visit: &Visit) {
        let profile = profile(visit.reason);
        let key = visit.appointment;
        let id = |kind: &str, n: usize| ids::demo(kind, format!("{key}/{n}"));
        let consultation_id = id("consultation", 0);
        let at = visit.start + TimeDelta::minutes(5);
        let consultation = consultation::Model {
            id: consultation_id,
            appointment_id: Some(visit.appointment),
            patient_id: visit.patient,
            doctor_id: visit.doctor,
            facility_id: visit.facility,
            status: ConsultationStatus::Completed,
            chief_complaint: visit.reason.to_owned(),
            history_of_present_illness: format!("{} for some days.", visit.reason),
            examination: "Alert, well perfused; chest clear; abdomen soft.".into(),
            assessment: profile.assessment.into(),
            plan: profile.plan.into(),
            follow_up_on: Some((visit.end + TimeDelta::days(28)).date_naive()),
            started_at: visit.start,
            ended_at: Some(visit.end),
            opened_by: Some(visit.doctor_user),
            error_reason: None,
            // Loaded as it ended: its history starts with the completed record.
            version: 1,
            created_at: visit.start,
            updated_at: visit.end,
        };
        self.first_version(
            consultation::Model::ENTRY,
            consultation.id,
            consultation.patient_id,
            consultation.content(),
            visit.doctor_user,
            visit.end,
        );
        self.consultations.push(consultation);
        let systolic = rng.random_range(105..=165);
        let height = rng.random_range(150_000..=185_000i64) / 500 * 500;
        let v = vital_signs::Model {
            id: id("vital_signs", 0),
            patient_id: visit.patient,
            consultation_id: Some(consultation_id),
            facility_id: Some(visit.facility),
            measured_at: at,
            measured_by: visit.doctor_user,
            systolic: Some(systolic),
            diastolic: Some(systolic - rng.random_range(35..=55)),
            heart_rate: Some(rng.random_range(60..=100)),
            respiratory_rate: Some(rng.random_range(12..=20)),
            oxygen_saturation: Some(rng.random_range(95..=100)),
            pain_score: Some(rng.random_range(0..=6)),
            temperature_milli: Some(rng.random_range(365..=385i64) * 100),
            temperature_entered_milli: None,
            temperature_unit: Some("Cel".into()),
            weight_milli: Some(rng.random_range(450..=950i64) * 100),
            height_milli: Some(height),
            status: "final".into(),
            error_reason: None,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let v = vital_signs::Model {
            temperature_entered_milli: v.temperature_milli,
            ..v
        };
        self.first_version(vitals::ENTRY, v.id, v.patient_id, v.content(), visit.doctor_user, at);
        self.vital_signs.push(v);

        let count = rng.random_range(1..=profile.codes.len().min(3));
        for (n, code) in profile.codes.iter().take(count).enumerate() {
            let row = diagnosis::Model {
                id: id("diagnosis", n),
                consultation_id,
                patient_id: visit.patient,
                recorded_by: visit.doctor_user,
                error_reason: None,
                version: 1,
                recorded_at: at + TimeDelta::minutes(10),
                updated_at: at + TimeDelta::minutes(10),
                code: (*code).into(),
                kind: if n == 0 {
                    DiagnosisKind::Primary
                } else {
                    DiagnosisKind::Secondary
                },
                status: if n == 0 {
                    DiagnosisStatus::Confirmed
                } else {
                    DiagnosisStatus::Provisional
                },
                notes: String::new(),
            };
            self.first_version(
                diagnosis::Model::ENTRY,
                row.id,
                row.patient_id,
                row.content(),
                visit.doctor_user,
                row.recorded_at,
            );
            self.diagnoses.push(row);
        }
        let ended = visit.end < visit.now - TimeDelta::days(14);
        for (n, (medication, dose, unit, times, pattern, days, quantity)) in profile.orders.iter().enumerate() {
            let row = prescription::Model {
                id: id("prescription", n),
                consultation_id,
                patient_id: visit.patient,
                recorded_by: visit.doctor_user,
                error_reason: None,
                version: 1,
                recorded_at: at + TimeDelta::minutes(12),
                updated_at: at + TimeDelta::minutes(12),
                medication_id: self.catalogue.get(*medication).copied(),
                medication: (*medication).into(),
                dose_amount_milli: *dose,
                dose_unit: (*unit).into(),
                route: MedicationRoute::Oral,
                times_per_day: *times,
                frequency_pattern: pattern.map(str::to_owned),
                as_needed: times.is_none(),
                duration_days: *days,
                quantity: *quantity,
                refills: 0,
                instructions: "After food.".into(),
                status: if ended && days.is_some_and(|d| d <= 14) {
                    PrescriptionStatus::Completed
                } else {
                    PrescriptionStatus::Active
                },
                status_reason: None,
            };
            self.first_version(
                prescription::Model::ENTRY,
                row.id,
                row.patient_id,
                row.content(),
                visit.doctor_user,
                row.recorded_at,
            );
            self.prescriptions.push(row);
        }
        for (n, (kind, text)) in [
            (NoteKind::Assessment, profile.assessment),
            (NoteKind::Plan, profile.plan),
        ]
        .into_iter()
        .enumerate()
        {
            let row = clinical_note::Model {
                id: id("note", n),
                consultation_id,
                patient_id: visit.patient,
                recorded_by: visit.doctor_user,
                error_reason: None,
                version: 1,
                recorded_at: at + TimeDelta::minutes(15),
                updated_at: at + TimeDelta::minutes(15),
                kind,
                text: text.into(),
                status: NoteStatus::Current,
            };
            self.first_version(
                clinical_note::Model::ENTRY,
                row.id,
                row.patient_id,
                row.content(),
                visit.doctor_user,
                row.recorded_at,
            );
            self.notes.push(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_code_is_billable_and_every_reason_has_a_profile() {
        for p in PROFILES {
            for code in p.codes {
                assert!(crate::clinical::codes::find(code).is_some(), "{code}");
            }
            for order in p.orders {
                assert!(order.1 > 0 && order.6 > 0);
                if let Some(pattern) = order.4 {
                    assert!(crate::clinical::prescriptions::Frequency::parse(pattern).is_ok());
                }
            }
        }
        for reason in super::super::REASONS {
            let _ = profile(reason);
        }
    }
}
