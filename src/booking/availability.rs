//! Free slots of a doctor, and which doctors have any on a day.

use std::collections::HashSet;

use chrono::{NaiveDate, TimeDelta};
use uuid::Uuid;

use super::calendar;
use crate::error::AppResult;
use crate::scheduling::{Slot, available_slots};
use crate::state::AppState;

/// Free slots of `doctor` on local dates `from..=to`, each `duration` long
/// (one grid step when None). Three queries.
pub async fn slots(
    state: &AppState,
    doctor: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    duration: Option<TimeDelta>,
) -> AppResult<Vec<Slot>> {
    let (start, end) = calendar::window(from, to);
    let calendars = calendar::load(state.db.conn(), &[doctor], start, end, None).await?;
    let calendar = calendars.get(&doctor).cloned().unwrap_or_default();
    let limits = state.booking_policy().await?.limits();
    Ok(available_slots(
        &calendar.view(),
        from,
        to,
        duration,
        state.clock.now(),
        limits,
    ))
}

/// Which of `doctors` have at least one free slot on `date`. Three queries
/// for all of them.
pub async fn free_on(state: &AppState, doctors: &[Uuid], date: NaiveDate) -> AppResult<HashSet<Uuid>> {
    let (start, end) = calendar::window(date, date);
    let calendars = calendar::load(state.db.conn(), doctors, start, end, None).await?;
    let now = state.clock.now();
    let limits = state.booking_policy().await?.limits();
    Ok(calendars
        .into_iter()
        .filter(|(_, cal)| !available_slots(&cal.view(), date, date, None, now, limits).is_empty())
        .map(|(doctor, _)| doctor)
        .collect())
}
