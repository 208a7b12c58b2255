//! Monthly doctor reports (seed 004): each doctor's month, day by day
//! (appointments, completed, cancelled, no-shows, booked minutes,
//! consultations and their average length), stored once per doctor and
//! month (`UNIQUE (doctor_id, month)`) and downloadable in every format.
//!
//! The `monthly_reports` job of a time zone runs at local midnight on the
//! 1st and builds the previous month's report of every doctor whose
//! facility is in that zone, then queues the next month's job (its unique
//! key `monthly_reports:{zone}:{month}` keeps one live job per zone and
//! month, whichever node queues it). Workers queue the current month's job
//! of every zone when they start ([`schedule`]). On demand, `POST
//! /reports/monthly` builds (or rebuilds) an ended month.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{local_date, total_label};
use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, authorize};
use crate::booking::calendar::local_midnight;
use crate::db::entities::{job, monthly_report};
use crate::db::jobs::{self, NewJob};
use crate::db::reports::{self as facts, ReportFilter};
use crate::db::{PageRequest, Paged, audit};
use crate::domain::{AppointmentStatus, JobKind};
use crate::error::{AppError, AppResult};
use crate::exports::{Cell, Column, ColumnType, Heading, Report, Table, column, mean};
use crate::state::AppState;

/// The columns of a monthly report: one row per day of the month.
pub const MONTHLY_COLUMNS: [Column; 8] = [
    column("date", "Date", ColumnType::Date),
    column("appointments", "Appointments", ColumnType::Integer),
    column("completed", "Completed", ColumnType::Integer),
    column("cancelled", "Cancelled", ColumnType::Integer),
    column("no_show", "No-show", ColumnType::Integer),
    column("booked_minutes", "Booked minutes", ColumnType::Integer),
    column("consultations", "Consultations", ColumnType::Integer),
    column(
        "average_consultation_minutes",
        "Average consultation minutes",
        ColumnType::Number,
    ),
];

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub first: NaiveDate,
}

impl Month {
    /// `YYYY-MM` (years 1900–2999). Errors: 422 naming `field`.
    pub fn parse(field: &'static str, text: &str) -> AppResult<Month> {
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|d| text.len() == 7 && (1900..=2999).contains(&d.year()))
            .map(|first| Month { first })
            .ok_or_else(|| AppError::invalid_field(field, "must be a month, YYYY-MM"))
    }

    fn of(day: NaiveDate) -> Month {
        Month {
            first: day.with_day(1).expect("the first exists"),
        }
    }

    fn next(self) -> Month {
        Month::of(self.last() + TimeDelta::days(1))
    }

    fn last(self) -> NaiveDate {
        let next = if self.first.month() == 12 {
            NaiveDate::from_ymd_opt(self.first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.first.year(), self.first.month() + 1, 1)
        };
        next.expect("a month follows") - TimeDelta::days(1)
    }

    /// `YYYY-MM`.
    pub fn label(self) -> String {
        self.first.format("%Y-%m").to_string()
    }

    /// When the month ends in `tz` (local midnight of the next 1st).
    fn end(self, tz: Tz) -> DateTime<Utc> {
        local_midnight(tz, self.last() + TimeDelta::days(1))
    }
}

/// The month's report of `doctor`, counted in each appointment's facility's zone.
async fn build(state: &AppState, doctor: Uuid, month: Month, tz: Tz) -> AppResult<Report> {
    let conn = state.db.conn();
    let found = crate::db::directory::find_doctor(conn, doctor)
        .await?
        .ok_or_else(|| AppError::invalid_field("doctor_id", "no such doctor"))?;
    let (first, last) = (month.first, month.last());
    let filter = ReportFilter {
        from: local_midnight(tz, first) - TimeDelta::days(1),
        to: month.end(tz) + TimeDelta::days(1),
        facility: None,
        doctor: Some(doctor),
        specialty: None,
    };
    // appointments, completed, cancelled, no-shows, booked minutes, consultations, consultation seconds
    let mut days: BTreeMap<NaiveDate, [i64; 7]> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| (d, [0; 7]))
        .collect();
    let mut zones = std::collections::HashMap::new();
    facts::each_appointment(conn, &filter, |a| {
        let day = local_date(a.start_at, &a.time_zone, &mut zones);
        if let Some(sums) = days.get_mut(&day) {
            sums[0] += 1;
            sums[1] += i64::from(a.status == AppointmentStatus::Completed);
            sums[2] += i64::from(a.status == AppointmentStatus::Cancelled);
            sums[3] += i64::from(a.status == AppointmentStatus::NoShow);
            if a.status != AppointmentStatus::Cancelled {
                sums[4] += (a.end_at - a.start_at).num_minutes();
            }
        }
    })
    .await?;
    for c in facts::consultations(conn, &filter).await? {
        if let Some(sums) = days.get_mut(&local_date(c.started_at, &c.time_zone, &mut zones)) {
            sums[5] += 1;
            sums[6] += (c.ended_at - c.started_at).num_seconds();
        }
    }
    let cells = |s: &[i64; 7]| {
        let mut row: Vec<Cell> = s[..6].iter().map(|n| Cell::Integer(*n)).collect();
        row.push(mean(s[6] as f64 / 60.0, s[5]));
        row
    };
    let mut all = [0i64; 7];
    let rows = days
        .iter()
        .map(|(day, sums)| {
            for (t, n) in all.iter_mut().zip(sums) {
                *t += n;
            }
            let mut row = vec![Cell::Date(*day)];
            row.extend(cells(sums));
            row
        })
        .collect();
    let mut totals = total_label(MONTHLY_COLUMNS.len(), 1);
    totals.extend(cells(&all));
    Ok(Report {
        heading: Heading {
            title: format!(
                "Monthly report {} \u{2013} Dr {} {}",
                month.label(),
                found.first_name,
                found.last_name
            ),
            scope: format!("{} \u{b7} {}", found.specialty_name, found.facility_name),
            period: Some((first, last)),
            time_zone: tz.name().to_owned(),
            generated_at: state.clock.now(),
        },
        table: Table {
            columns: MONTHLY_COLUMNS.to_vec(),
            rows,
            totals,
        },
    })
}

fn zone_of(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// The job that builds `month`'s reports of the doctors in `zone`, at the month's end there.
fn job_for(zone: &str, month: Month) -> NewJob {
    NewJob {
        kind: JobKind::MonthlyReports,
        payload: serde_json::json!({"month": month.label(), "time_zone": zone}),
        run_at: month.end(zone_of(zone)),
        unique_key: Some(format!("monthly_reports:{zone}:{}", month.label())),
        appointment_id: None,
        max_attempts: 8,
    }
}

/// Queue, for every facility time zone, the job of the month in progress
/// there (nothing where one is queued or done already). Workers call it
/// when they start.
///
/// Errors: the database failed.
pub async fn schedule(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let zones = facts::facility_zones(state.db.conn()).await?;
    let tx = state.db.begin_write().await?;
    for zone in &zones {
        let month = Month::of(now.with_timezone(&zone_of(zone)).date_naive());
        jobs::enqueue(&tx, job_for(zone, month), now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Run a `monthly_reports` job: store the month's report of every doctor
/// in its zone that has none yet, and queue the next month's job, in one
/// transaction; how many reports it stored.
///
/// Errors: a payload that is not `{"month", "time_zone"}`; the database.
pub async fn run(state: &AppState, job: &job::Model) -> AppResult<usize> {
    #[derive(Deserialize)]
    struct Payload {
        month: String,
        time_zone: String,
    }
    let payload: Payload = serde_json::from_str(&job.payload)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a monthly_reports payload: {e}")))?;
    let month = Month::parse("month", &payload.month)?;
    let tz = zone_of(&payload.time_zone);
    let conn = state.db.conn();
    let mut built = Vec::new();
    for doctor in facts::doctors_in_zone(conn, &payload.time_zone).await? {
        if facts::monthly_report_of(conn, doctor, &payload.month).await?.is_some() {
            continue;
        }
        let report = build(state, doctor, month, tz).await?;
        built.push(monthly_report::Model {
            id: Uuid::now_v7(),
            doctor_id: doctor,
            month: payload.month.clone(),
            time_zone: payload.time_zone.clone(),
            content: serde_json::to_string(&report).map_err(|e| AppError::Internal(e.into()))?,
            generated_at: state.clock.now(),
            generated_by: None,
        });
    }
    let tx = state.db.begin_write().await?;
    let mut stored = 0;
    for row in built {
        stored += usize::from(facts::insert_monthly_report(&tx, row).await?);
    }
    jobs::enqueue(&tx, job_for(&payload.time_zone, month.next()), state.clock.now()).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Which stored reports to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthlyQuery {
    /// Only this doctor's (a doctor: their own, the default).
    pub doctor: Option<Uuid>,
    /// Only this month, `YYYY-MM`.
    #[param(pattern = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// Ask for a doctor's report of an ended month.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct MonthlyIn {
    #[garde(skip)]
    pub doctor_id: Uuid,
    /// `YYYY-MM`; a month that has ended in the doctor's facility's zone.
    #[schema(
        example = "2026-11",
        min_length = 7,
        max_length = 7,
        pattern = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
    )]
    #[garde(length(chars, min = 7, max = 7))]
    pub month: String,
}

/// The doctor a doctor's request is about: their own (403 for another's).
fn own_doctor(actor: &Actor, scope: Scope, asked: Option<Uuid>) -> AppResult<Option<Uuid>> {
    if scope != Scope::Own {
        return Ok(asked);
    }
    let own = actor
        .doctor_id
        .ok_or_else(|| AppError::Forbidden("no doctor profile".into()))?;
    match asked {
        Some(other) if other != own => Err(AppError::Forbidden("a doctor reads their own reports only".into())),
        _ => Ok(Some(own)),
    }
}

/// Stored monthly reports, newest month first (administrators all, a doctor their own).
///
/// Errors: 403; 400 naming `month`.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &MonthlyQuery,
    page: PageRequest,
) -> AppResult<Paged<monthly_report::Model>> {
    let scope = authorize(actor, Action::PracticeReportRead)?;
    let doctor = own_doctor(actor, scope, query.doctor)?;
    let month = query
        .month
        .as_deref()
        .map(|m| Month::parse("month", m).map(Month::label))
        .transpose()?;
    Ok(facts::monthly_reports(state.db.conn(), doctor, month.as_deref(), page).await?)
}

/// A stored report, as a [`Report`] to answer in any format.
///
/// Errors: 404 when it does not exist or is another doctor's.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Report> {
    let scope = authorize(actor, Action::PracticeReportRead)?;
    let row = facts::monthly_report(state.db.conn(), id)
        .await?
        .filter(|r| scope != Scope::Own || Some(r.doctor_id) == actor.doctor_id)
        .ok_or(AppError::NotFound("monthly report"))?;
    stored(&row)
}

/// The report a stored row holds.
pub fn stored(row: &monthly_report::Model) -> AppResult<Report> {
    serde_json::from_str(&row.content)
        .ok()
        .and_then(|json| Report::from_json(&MONTHLY_COLUMNS, &json))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("monthly report {} does not read back", row.id)))
}

/// Build (or rebuild) a doctor's report of an ended month now.
///
/// Errors: 403 (role; a doctor asking for another's); 422 naming
/// `doctor_id` (no such doctor) or `month` (not `YYYY-MM`, or not ended yet in the doctor's zone).
pub async fn generate(state: &AppState, actor: &Actor, body: &MonthlyIn) -> AppResult<monthly_report::Model> {
    use garde::Validate;
    let scope = authorize(actor, Action::MonthlyReportGenerate)?;
    own_doctor(actor, scope, Some(body.doctor_id))?;
    body.validate()?;
    let month =
        Month::parse("month", &body.month).map_err(|_| AppError::invalid_field("month", "must be a month, YYYY-MM"))?;
    let doctor = crate::db::directory::find_doctor(state.db.conn(), body.doctor_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("doctor_id", "no such doctor"))?;
    let tz = zone_of(&doctor.time_zone);
    if state.clock.now() < month.end(tz) {
        return Err(AppError::invalid_field(
            "month",
            "the month has not ended yet in the doctor's time zone",
        ));
    }
    let report = build(state, doctor.id, month, tz).await?;
    let content = serde_json::to_string(&report).map_err(|e| AppError::Internal(e.into()))?;
    let tx = state.db.begin_write().await?;
    let row = match facts::monthly_report_of(&tx, doctor.id, &month.label()).await? {
        Some(existing) => {
            facts::replace_monthly_report(
                &tx,
                monthly_report::Model {
                    content,
                    generated_at: state.clock.now(),
                    generated_by: Some(actor.user_id),
                    ..existing
                },
            )
            .await?
        }
        None => {
            let row = monthly_report::Model {
                id: Uuid::now_v7(),
                doctor_id: doctor.id,
                month: month.label(),
                time_zone: tz.name().to_owned(),
                content,
                generated_at: state.clock.now(),
                generated_by: Some(actor.user_id),
            };
            facts::insert_monthly_report(&tx, row.clone()).await?;
            row
        }
    };
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}
