//! Booking: loads doctors' calendars from the database, asks the pure
//! [`scheduling`](crate::scheduling) core, and writes the outcome with the
//! database's no-overlap guarantee as the last word.

pub mod appointments;
pub mod availability;
pub mod calendar;
pub mod schedules;
pub mod telemedicine;

use crate::error::{AppError, AppResult};

/// How many times a booking write is tried before its 503 is answered.
const ATTEMPTS: usize = 3;

/// Run `attempt` — one whole write transaction — again when the database
/// aborted it as [`AppError::Busy`] (a deadlock or serialisation failure;
/// PostgreSQL asks clients to retry such transactions, manual §13.6).
/// Concurrent bookings of overlapping times can deadlock inside the
/// exclusion constraint's check; the retry then sees the winner and is
/// refused as taken (409), or succeeds if the winner rolled back.
pub(crate) async fn retry_busy<T, F, Attempt>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Attempt,
    Attempt: Future<Output = AppResult<T>>,
{
    for _ in 1..ATTEMPTS {
        match attempt().await {
            Err(AppError::Busy) => tracing::debug!("write transaction aborted as busy; retrying"),
            outcome => return outcome,
        }
    }
    attempt().await
}
