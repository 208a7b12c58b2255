//! Appointments.
