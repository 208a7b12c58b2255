//! Request bodies of the booking, patient, clinical, pharmacy, billing, webhook and monthly-report routes, and the FHIR
//! operations' bodies and search parameters, read exactly as the
//! handlers read them (`parse_json`, then `garde` validation): any bytes give
//! either a value or a 400/422 problem that names a field, never a panic.
#![no_main]

use carebook::api::extract::parse_json;
use carebook::billing::{BillIn, LineIn, PaymentIn, RefundDecisionIn, RefundIn, VoidIn};
use carebook::booking::appointments::{AppointmentIn, CancelIn, RescheduleIn};
use carebook::clinical::consultations::{ConsultationAmendment, ConsultationIn, ConsultationPatch};
use carebook::clinical::diagnoses::{DiagnosisAmendment, DiagnosisIn};
use carebook::clinical::notes::{NoteAmendment, NoteIn};
use carebook::clinical::prescriptions::{PrescriptionAmendment, PrescriptionIn};
use carebook::clinical::vital_signs::{VitalSignsAmendment, VitalSignsIn};
use carebook::error::AppError;
use carebook::notifications::webhooks::WebhookIn;
use carebook::patients::{PatientIn, PatientPatch};
use carebook::pharmacy::dispensing::DispenseIn;
use carebook::pharmacy::{LotIn, MedicationIn, MedicationPatch, MovementIn};
use carebook::reports::monthly::MonthlyIn;
use garde::Validate;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    read::<AppointmentIn>(data);
    read::<RescheduleIn>(data);
    read::<CancelIn>(data);
    read::<PatientIn>(data);
    read::<PatientPatch>(data);
    read::<ConsultationIn>(data);
    read::<ConsultationPatch>(data);
    read::<VitalSignsIn>(data);
    read::<DiagnosisIn>(data);
    read::<DiagnosisAmendment>(data);
    read::<PrescriptionIn>(data);
    read::<PrescriptionAmendment>(data);
    read::<NoteIn>(data);
    read::<NoteAmendment>(data);
    read::<ConsultationAmendment>(data);
    read::<VitalSignsAmendment>(data);
    read::<MedicationIn>(data);
    read::<MedicationPatch>(data);
    read::<LotIn>(data);
    read::<MovementIn>(data);
    read::<DispenseIn>(data);
    read::<BillIn>(data);
    read::<LineIn>(data);
    read::<VoidIn>(data);
    read::<PaymentIn>(data);
    read::<RefundIn>(data);
    read::<RefundDecisionIn>(data);
    read::<WebhookIn>(data);
    read::<MonthlyIn>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = carebook::reports::monthly::Month::parse("month", text);
        // FHIR search parameters and ids.
        let _ = carebook::fhir::search::Params::parse(Some(text), carebook::fhir::scheduling::SLOT_SEARCH);
        let _ = carebook::fhir::search::date_range("date", text);
        let _ = carebook::fhir::scheduling::parse_proposal_id(text);
        let _ = carebook::fhir::scheduling::parse_schedule_id(text);
    }
    // FHIR $hold/$book bodies.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = carebook::fhir::scheduling::Request::parse(&value);
    }
});

fn read<T: DeserializeOwned + Validate<Context = ()>>(data: &[u8]) {
    let outcome = parse_json::<T>(data).and_then(|body| body.validate().map_err(AppError::from).map(|()| body));
    if let Err(error) = outcome {
        let problem = error.to_problem();
        assert!(
            problem.status == 400 || problem.status == 422,
            "status {} for {:?}",
            problem.status,
            String::from_utf8_lossy(data)
        );
        assert!(!problem.errors.is_empty(), "no field named: {problem:?}");
    }
}
