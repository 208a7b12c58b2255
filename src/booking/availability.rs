//! Free slots of a doctor, and which doctors have any on a day.

use std::collections::HashSet;

use chrono::{NaiveDate, TimeDelta};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::calendar;
use crate::db::directory;
use crate::error::{AppError, AppResult};
use crate::scheduling::{Slot, available_slots};
use crate::state::AppState;

/// Longest availability range in one request, in days.
pub const MAX_AVAILABILITY_DAYS: i64 = 31;

/// Which free slots to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    /// First local date, `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local date (inclusive, default `from`), at most 31 days after `from`.
    pub to: Option<NaiveDate>,
    /// Slots long enough for this service (one the doctor offers).
    pub service: Option<Uuid>,
}

/// A doctor's free slots over a range of local dates.
#[derive(Debug, Clone)]
pub struct Availability {
    /// First local date.
    pub from: NaiveDate,
    /// Last local date.
    pub to: NaiveDate,
    /// The service the slots are long enough for.
    pub service_id: Option<Uuid>,
    /// That service's length.
    pub duration_minutes: Option<i32>,
    /// The slots, in order (none while the doctor takes no bookings).
    pub slots: Vec<Slot>,
}

/// Free slots of `doctor`: working hours minus time off minus live
/// appointments, on the grid, from the minimum notice to the booking horizon.
///
/// Errors: 404 for no such doctor; 400 naming `to` (before `from`, or more
/// than 31 days) or `service` (unknown, or not offered by the doctor).
pub async fn for_doctor(state: &AppState, doctor: Uuid, query: AvailabilityQuery) -> AppResult<Availability> {
    let to = query.to.unwrap_or(query.from);
    if to < query.from {
        return Err(AppError::bad_field("to", "must not be before from"));
    }
    if to - query.from >= TimeDelta::days(MAX_AVAILABILITY_DAYS) {
        return Err(AppError::bad_field(
            "to",
            format!("the range may cover at most {MAX_AVAILABILITY_DAYS} days"),
        ));
    }
    let now = state.clock.now();
    let (start, end) = calendar::window(query.from, to);
    let rules = state.db.views().doctor_rules(state.db.conn(), &[doctor], now).await?;
    let calendars = calendar::with_busy(&state.db, &rules, start, end, None, now).await?;
    let (Some(calendar), Some(rules)) = (calendars.get(&doctor), rules.get(&doctor)) else {
        return Err(AppError::NotFound("doctor"));
    };
    let mut duration_minutes = None;
    if let Some(service) = query.service {
        match rules.service(service) {
            Some(row) if row.is_active => duration_minutes = Some(row.duration_minutes),
            Some(_) => return Err(not_offered()),
            None if directory::find_service(state.db.conn(), service).await?.is_some() => return Err(not_offered()),
            None => return Err(AppError::bad_field("service", "no such service")),
        }
    }
    let duration = duration_minutes.map(|m| TimeDelta::minutes(m.into()));
    let slots = if rules.doctor.is_accepting {
        let limits = state.booking_policy().await?.limits();
        available_slots(&calendar.view(), query.from, to, duration, now, limits)
    } else {
        Vec::new()
    };
    Ok(Availability {
        from: query.from,
        to,
        service_id: query.service,
        duration_minutes,
        slots,
    })
}

fn not_offered() -> AppError {
    AppError::bad_field("service", "the doctor does not offer this service")
}

/// Which of `doctors` have at least one free slot on `date`: their rules
/// from the view, one query for all their appointments.
pub async fn free_on(state: &AppState, doctors: &[Uuid], date: NaiveDate) -> AppResult<HashSet<Uuid>> {
    let (start, end) = calendar::window(date, date);
    let now = state.clock.now();
    let calendars = calendar::load(&state.db, doctors, start, end, None, now).await?;
    let limits = state.booking_policy().await?.limits();
    Ok(calendars
        .into_iter()
        .filter(|(_, cal)| !available_slots(&cal.view(), date, date, None, now, limits).is_empty())
        .map(|(doctor, _)| doctor)
        .collect())
}
