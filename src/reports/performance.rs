//! Doctor performance: appointments, completion, utilisation (booked
//! minutes ÷ working minutes) and consultation length.

use std::collections::HashMap;

use chrono::TimeDelta;

use super::{ReportFilters, local_date, scoped, total_label};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::booking::calendar;
use crate::db::reports as facts;
use crate::db::schedules;
use crate::domain::AppointmentStatus;
use crate::error::AppResult;
use crate::exports::{Cell, Column, ColumnType, Report, Table, column, mean, ratio};
use crate::scheduling::{Interval, TimeOffSpan};
use crate::state::AppState;

/// The columns of the doctor performance report.
pub const PERFORMANCE_COLUMNS: [Column; 11] = [
    column("doctor", "Doctor", ColumnType::Text),
    column("specialty", "Specialty", ColumnType::Text),
    column("appointments", "Appointments", ColumnType::Integer),
    column("completed", "Completed", ColumnType::Integer),
    column("no_show", "No-show", ColumnType::Integer),
    column("completion_rate", "Completion rate", ColumnType::Ratio),
    column("booked_minutes", "Booked minutes", ColumnType::Integer),
    column("working_minutes", "Working minutes", ColumnType::Integer),
    column("utilisation", "Utilisation", ColumnType::Ratio),
    column("consultations", "Consultations", ColumnType::Integer),
    column(
        "average_consultation_minutes",
        "Average consultation minutes",
        ColumnType::Number,
    ),
];

#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    appointments: i64,
    completed: i64,
    no_show: i64,
    booked_minutes: i64,
    working_minutes: i64,
    consultations: i64,
    consultation_seconds: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.appointments += o.appointments;
        self.completed += o.completed;
        self.no_show += o.no_show;
        self.booked_minutes += o.booked_minutes;
        self.working_minutes += o.working_minutes;
        self.consultations += o.consultations;
        self.consultation_seconds += o.consultation_seconds;
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Integer(self.appointments),
            Cell::Integer(self.completed),
            Cell::Integer(self.no_show),
            ratio(self.completed, self.appointments),
            Cell::Integer(self.booked_minutes),
            Cell::Integer(self.working_minutes),
            ratio(self.booked_minutes, self.working_minutes),
            Cell::Integer(self.consultations),
            mean(self.consultation_seconds as f64 / 60.0, self.consultations),
        ]
    }
}

/// Per doctor (every doctor the filters name, with or without
/// appointments): appointments in the period that were not cancelled,
/// completed and no-shows, the completion rate (completed ÷ those), booked
/// minutes (their lengths), working minutes (weekly working hours on each
/// local day of the period less time off), utilisation (booked ÷ working),
/// and the completed consultations with their average length. Filters: all.
pub async fn doctor_performance(state: &AppState, actor: &Actor, filters: &ReportFilters) -> AppResult<Report> {
    let s = scoped(
        state,
        actor,
        Action::PracticeReportRead,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    let conn = state.db.conn();
    let doctors = facts::doctors(conn, &s.filter).await?;
    let ids: Vec<_> = doctors.iter().map(|d| d.doctor_id).collect();
    let mut sums: HashMap<_, Sums> = ids.iter().map(|id| (*id, Sums::default())).collect();
    let mut zones = HashMap::new();
    facts::each_appointment(conn, &s.filter, |a| {
        if a.status == AppointmentStatus::Cancelled || !s.contains(local_date(a.start_at, &a.time_zone, &mut zones)) {
            return;
        }
        if let Some(sum) = sums.get_mut(&a.doctor_id) {
            sum.appointments += 1;
            sum.completed += i64::from(a.status == AppointmentStatus::Completed);
            sum.no_show += i64::from(a.status == AppointmentStatus::NoShow);
            sum.booked_minutes += (a.end_at - a.start_at).num_minutes();
        }
    })
    .await?;
    for c in facts::consultations(conn, &s.filter).await? {
        if let Some(sum) = sums.get_mut(&c.doctor_id)
            && s.contains(local_date(c.started_at, &c.time_zone, &mut zones))
        {
            sum.consultations += 1;
            sum.consultation_seconds += (c.ended_at - c.started_at).num_seconds();
        }
    }
    let hours = schedules::working_hours_of(conn, &ids).await?;
    let time_off = schedules::time_off_near(conn, &ids, s.filter.from, s.filter.to).await?;
    for row in &hours {
        let Some(rule) = calendar::rule(row) else { continue };
        if s.filter.facility.is_some_and(|f| f != rule.facility_id) {
            continue;
        }
        let off: Vec<_> = time_off
            .iter()
            .filter(|t| t.doctor_id == row.doctor_id && t.facility_id.is_none_or(|f| f == rule.facility_id))
            .map(calendar::time_off)
            .collect();
        let mut minutes = 0;
        for day in s.from.iter_days().take_while(|d| *d <= s.to) {
            if !rule.applies_on(day) {
                continue;
            }
            let work = rule.interval_on(day);
            let mut length = work.end - work.start;
            for t in &off {
                match t.span {
                    TimeOffSpan::Days { first, last } if day >= first && day <= last => length = TimeDelta::zero(),
                    TimeOffSpan::Instants(Interval { start, end }) => {
                        let overlap = end.min(work.end) - start.max(work.start);
                        if overlap > TimeDelta::zero() {
                            length -= overlap;
                        }
                    }
                    TimeOffSpan::Days { .. } => {}
                }
            }
            minutes += length.num_minutes().max(0);
        }
        if let Some(sum) = sums.get_mut(&row.doctor_id) {
            sum.working_minutes += minutes;
        }
    }
    let mut doctors = doctors;
    doctors.sort_by(|a, b| {
        (&a.doctor_first_name, &a.doctor_last_name, a.doctor_id).cmp(&(
            &b.doctor_first_name,
            &b.doctor_last_name,
            b.doctor_id,
        ))
    });
    let mut all = Sums::default();
    let rows = doctors
        .into_iter()
        .map(|d| {
            let sum = sums.get(&d.doctor_id).copied().unwrap_or_default();
            all.add(&sum);
            let mut row = vec![
                Cell::Text(format!("{} {}", d.doctor_first_name, d.doctor_last_name)),
                Cell::Text(d.specialty_name),
            ];
            row.extend(sum.cells());
            row
        })
        .collect();
    let mut totals = total_label(PERFORMANCE_COLUMNS.len(), 2);
    totals.extend(all.cells());
    Ok(Report {
        heading: s.heading("Doctor performance", state.clock.now()),
        table: Table {
            columns: PERFORMANCE_COLUMNS.to_vec(),
            rows,
            totals,
        },
    })
}
