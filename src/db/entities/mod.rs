//! sea-orm entities, one per table. Rows only: request and response shapes
//! live in `api`, conversions beside them.

pub mod appointment;
pub mod appointment_event;
pub mod doctor;
pub mod doctor_service;
pub mod facility;
pub mod location;
pub mod patient;
pub mod refresh_token;
pub mod service;
pub mod specialty;
pub mod time_off;
pub mod user;
pub mod working_hours;
