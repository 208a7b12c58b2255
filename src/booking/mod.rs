//! Booking: loads doctors' calendars from the database, asks the pure
//! [`scheduling`](crate::scheduling) core, and writes the outcome with the
//! database's no-overlap guarantee as the last word.

pub mod appointments;
pub mod availability;
pub mod calendar;
pub mod schedules;
