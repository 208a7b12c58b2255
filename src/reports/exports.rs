//! Exports of appointments and patient records: every row, read page by
//! page (a keyset walk of [`PAGE`] rows), so that a long export streams
//! with bounded memory whatever its length. Administrators only
//! ([`Action::DataExport`]); each export is one audited read.
//!
//! Patient records export their demographic and contact fields only,
//! never clinical or financial ones.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{ReportFilters, Scoped, default_zone, local_date, scoped};
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db::reports::{self as facts};
use crate::error::{AppError, AppResult};
use crate::exports::{Cell, Column, ColumnType, Heading, column};
use crate::state::AppState;

/// Rows read per query.
pub const PAGE: u64 = 2_000;

/// The most rows a PDF export holds (a PDF is built whole before it is
/// sent); longer exports are refused (422), never cut.
pub const MAX_PDF_ROWS: usize = 10_000;

/// The rows of an export, page after page.
#[async_trait]
pub trait Pages: Send {
    /// The next rows (possibly none on this page), or `None` after the last.
    async fn next(&mut self) -> AppResult<Option<Vec<Vec<Cell>>>>;
}

/// An export: what the file says about itself, its columns and its rows.
pub struct Export {
    pub heading: Heading,
    pub columns: Vec<Column>,
    pub pages: Box<dyn Pages>,
}

/// The columns of the appointments export.
pub const APPOINTMENT_COLUMNS: [Column; 13] = [
    column("id", "Appointment", ColumnType::Text),
    column("date", "Date", ColumnType::Date),
    column("start", "Start", ColumnType::DateTime),
    column("end", "End", ColumnType::DateTime),
    column("facility", "Facility", ColumnType::Text),
    column("doctor", "Doctor", ColumnType::Text),
    column("specialty", "Specialty", ColumnType::Text),
    column("service", "Service", ColumnType::Text),
    column("medical_record_number", "MRN", ColumnType::Text),
    column("patient", "Patient", ColumnType::Text),
    column("status", "Status", ColumnType::Text),
    column("kind", "Kind", ColumnType::Text),
    column("queue_number", "Queue number", ColumnType::Integer),
];

struct AppointmentPages {
    state: AppState,
    scoped: Scoped,
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    done: bool,
    zones: HashMap<String, Tz>,
}

#[async_trait]
impl Pages for AppointmentPages {
    async fn next(&mut self) -> AppResult<Option<Vec<Vec<Cell>>>> {
        if self.done {
            return Ok(None);
        }
        let lines = facts::appointment_lines(self.state.db.conn(), &self.scoped.filter, self.after, PAGE).await?;
        self.done = (lines.len() as u64) < PAGE;
        self.after = lines.last().map(|l| (l.start_at, l.id));
        let mut rows = Vec::with_capacity(lines.len());
        for l in lines {
            let day = local_date(l.start_at, &l.time_zone, &mut self.zones);
            if !self.scoped.contains(day) {
                continue;
            }
            let tz = self.zones[&l.time_zone];
            rows.push(vec![
                Cell::Text(l.id.to_string()),
                Cell::Date(day),
                Cell::DateTime(l.start_at.with_timezone(&tz).naive_local()),
                Cell::DateTime(l.end_at.with_timezone(&tz).naive_local()),
                Cell::Text(l.facility_name),
                Cell::Text(format!("{} {}", l.doctor_first_name, l.doctor_last_name)),
                Cell::Text(l.specialty_name),
                l.service_name.map_or(Cell::Empty, Cell::Text),
                Cell::Text(l.medical_record_number),
                Cell::Text(format!("{} {}", l.patient_first_name, l.patient_last_name)),
                Cell::Text(l.status.as_str().to_owned()),
                Cell::Text(l.kind.as_str().to_owned()),
                l.queue_number.map_or(Cell::Empty, |n| Cell::Integer(n.into())),
            ]);
        }
        Ok(Some(rows))
    }
}

/// Every appointment starting on the local days `from..=to` (default: this
/// month) at the facility, of the doctor or specialty, by start; times are
/// the facility's local time.
///
/// Errors: as the reports' filters (400, 403).
pub async fn appointments(state: &AppState, actor: &Actor, filters: &ReportFilters) -> AppResult<Export> {
    let scoped = scoped(
        state,
        actor,
        Action::DataExport,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    Ok(Export {
        heading: scoped.heading("Appointments", state.clock.now()),
        columns: APPOINTMENT_COLUMNS.to_vec(),
        pages: Box::new(AppointmentPages {
            state: state.clone(),
            scoped,
            after: None,
            done: false,
            zones: HashMap::new(),
        }),
    })
}

/// The columns of the patients export.
pub const PATIENT_COLUMNS: [Column; 10] = [
    column("medical_record_number", "MRN", ColumnType::Text),
    column("first_name", "First name", ColumnType::Text),
    column("last_name", "Last name", ColumnType::Text),
    column("date_of_birth", "Date of birth", ColumnType::Date),
    column("sex", "Sex", ColumnType::Text),
    column("phone", "Phone", ColumnType::Text),
    column("email", "Email", ColumnType::Text),
    column("address", "Address", ColumnType::Text),
    column("location", "Location", ColumnType::Text),
    column("registered_on", "Registered on", ColumnType::Date),
];

struct PatientPages {
    state: AppState,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    tz: Tz,
    after: Option<String>,
    done: bool,
}

#[async_trait]
impl Pages for PatientPages {
    async fn next(&mut self) -> AppResult<Option<Vec<Vec<Cell>>>> {
        if self.done {
            return Ok(None);
        }
        let lines = facts::patient_lines(self.state.db.conn(), self.from, self.to, self.after.as_deref(), PAGE).await?;
        self.done = (lines.len() as u64) < PAGE;
        self.after = lines.last().map(|l| l.medical_record_number.clone());
        let text = |v: Option<String>| v.map_or(Cell::Empty, Cell::Text);
        Ok(Some(
            lines
                .into_iter()
                .map(|p| {
                    vec![
                        Cell::Text(p.medical_record_number),
                        Cell::Text(p.first_name),
                        Cell::Text(p.last_name),
                        p.date_of_birth.map_or(Cell::Empty, Cell::Date),
                        text(p.sex.map(|s| s.as_str().to_owned())),
                        text(p.phone),
                        text(p.email),
                        Cell::Text(p.address),
                        text(p.location_name),
                        Cell::Date(p.created_at.with_timezone(&self.tz).date_naive()),
                    ]
                })
                .collect(),
        ))
    }
}

fn midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    crate::booking::calendar::local_midnight(tz, day)
}

/// Every patient record, by medical record number; with `from` and `to`,
/// those registered on those local days (of the facilities' zone when they
/// share one, else UTC). Demographic and contact fields only.
///
/// Errors: 403; 400 naming `from` (after `to`) or a filter that does not apply.
pub async fn patients(state: &AppState, actor: &Actor, filters: &ReportFilters) -> AppResult<Export> {
    authorize(actor, Action::DataExport)?;
    for (name, given) in [
        ("facility", filters.facility.is_some()),
        ("doctor", filters.doctor.is_some()),
        ("specialty", filters.specialty.is_some()),
    ] {
        if given {
            return Err(AppError::invalid_field(name, "does not apply to this export"));
        }
    }
    filters.check_years()?;
    if let (Some(from), Some(to)) = (filters.from, filters.to)
        && from > to
    {
        return Err(AppError::invalid_field(
            "from",
            format!("must not be after `to` ({to})"),
        ));
    }
    let tz = default_zone(state).await?;
    let from = filters.from.map(|d| midnight(d, tz));
    let to = filters.to.and_then(|d| d.succ_opt()).map(|d| midnight(d, tz));
    Ok(Export {
        heading: Heading {
            title: "Patients".into(),
            scope: "All facilities".into(),
            period: filters.from.zip(filters.to),
            time_zone: tz.name().to_owned(),
            generated_at: state.clock.now(),
        },
        columns: PATIENT_COLUMNS.to_vec(),
        pages: Box::new(PatientPages {
            state: state.clone(),
            from,
            to,
            tz,
            after: None,
            done: false,
        }),
    })
}
