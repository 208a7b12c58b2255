//! sea-orm entities, one per table. Rows only: request and response shapes
//! live in `api`, conversions beside them.

pub mod appointment;
pub mod appointment_event;
pub mod audit_event;
pub mod bill;
pub mod bill_line;
pub mod clinical_note;
pub mod clinical_version;
pub mod consultation;
pub mod diagnosis;
pub mod dispense;
pub mod doctor;
pub mod doctor_service;
pub mod facility;
pub mod location;
pub mod login_activity;
pub mod medication;
pub mod patient;
pub mod payment;
pub mod prescription;
pub mod recovery_code;
pub mod refresh_token;
pub mod refund;
pub mod role_change_request;
pub mod service;
pub mod session;
pub mod setting;
pub mod specialty;
pub mod stock_lot;
pub mod stock_movement;
pub mod telemedicine_event;
pub mod telemedicine_session;
pub mod time_off;
pub mod user;
pub mod vital_signs;
pub mod working_hours;
