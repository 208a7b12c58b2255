//! The dashboard: what each role needs to see first, today, in one answer
//! (`GET /api/v1/dashboard`). "Today" and "this month" are the local days
//! of the caller's facility (administrators and patients: the facilities'
//! zone when they share one, else UTC).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::default_zone;
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::booking::calendar::local_midnight;
use crate::db::reports::{self as facts, BoardLine, ReportFilter};
use crate::db::{PageRequest, audit};
use crate::domain::{AppointmentKind, AppointmentStatus, Money, Role};
use crate::error::AppResult;
use crate::state::AppState;

/// How many upcoming appointments a dashboard lists.
const UPCOMING: u64 = 10;

/// An appointment on a queue or a list: who, when, where in the queue, and
/// (once checked in) how long the patient has waited.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueEntry {
    pub appointment_id: Uuid,
    pub start: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub queue_number: Option<i32>,
    pub patient_id: Uuid,
    pub medical_record_number: String,
    pub patient_name: String,
    pub doctor_id: Uuid,
    pub doctor_name: String,
    pub facility_name: String,
    /// When the patient was checked in.
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Minutes from check-in to the consultation's start (or to now while waiting).
    pub waiting_minutes: Option<i64>,
}

/// One doctor's queue of the day (reception's board).
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorQueue {
    pub doctor_id: Uuid,
    pub doctor_name: String,
    pub appointments: Vec<QueueEntry>,
}

/// Money per currency, in minor units.
#[derive(Debug, Serialize, ToSchema)]
pub struct Amount {
    pub currency: String,
    pub amount_minor: i64,
    /// The amount as a decimal string (`"1500.00"`).
    pub amount: String,
}

impl Amount {
    fn new(currency: String, minor: i64) -> Amount {
        Amount {
            amount: Money::format(minor, &currency),
            currency,
            amount_minor: minor,
        }
    }
}

/// Bills issued and not fully paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unpaid {
    pub bills: i64,
    /// What is outstanding, per currency.
    pub outstanding: Vec<Amount>,
}

/// An active prescription (a patient's own).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivePrescription {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub medication: String,
    pub instructions: String,
    pub quantity: i32,
    pub refills: i32,
    pub recorded_at: DateTime<Utc>,
}

/// The caller's dashboard: the sections of their role (others are absent).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Dashboard {
    pub role: Option<Role>,
    /// Today, in `time_zone`.
    pub date: Option<NaiveDate>,
    pub time_zone: String,
    /// Administrators: today's appointments per status (every status listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointments_today: Option<BTreeMap<AppointmentStatus, i64>>,
    /// Administrators: patient records registered this month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_patients_this_month: Option<u64>,
    /// Administrators: payments less refunds today, per currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_today: Option<Vec<Amount>>,
    /// Administrators: payments less refunds this month, per currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_this_month: Option<Vec<Amount>>,
    /// Administrators: no-shows ÷ appointments this month (null without appointments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_show_rate_this_month: Option<Option<f64>>,
    /// Administrators: catalogue items whose usable stock is at or below their reorder level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_below_reorder: Option<u64>,
    /// Doctors: today's queue, by start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Vec<QueueEntry>>,
    /// Doctors and patients: the next pending or confirmed appointments after today (doctors) or from now (patients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upcoming: Option<Vec<QueueEntry>>,
    /// Doctors: appointments completed this month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_this_month: Option<i64>,
    /// Reception: today's queue of each doctor at the facility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board: Option<Vec<DoctorQueue>>,
    /// Reception (at the facility) and patients (their own): unpaid bills.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpaid_bills: Option<Unpaid>,
    /// Patients: their active prescriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_prescriptions: Option<Vec<ActivePrescription>>,
    /// Nurses: patients checked in at the facility today and not yet seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_in: Option<Vec<QueueEntry>>,
}

struct Day {
    tz: Tz,
    today: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    month_start: DateTime<Utc>,
}

async fn day(state: &AppState, facility: Option<Uuid>) -> AppResult<Day> {
    let tz = match facility {
        Some(id) => match crate::db::directory::find_facility(state.db.conn(), id).await? {
            Some(f) => f.time_zone.parse().unwrap_or(chrono_tz::UTC),
            None => default_zone(state).await?,
        },
        None => default_zone(state).await?,
    };
    let today = state.clock.now().with_timezone(&tz).date_naive();
    Ok(Day {
        tz,
        today,
        start: local_midnight(tz, today),
        end: local_midnight(tz, today + TimeDelta::days(1)),
        month_start: local_midnight(tz, today.with_day(1).expect("the first exists")),
    })
}

/// Queue entries of `lines`, with check-in times and waits as of `now`.
async fn entries(state: &AppState, lines: Vec<BoardLine>) -> AppResult<Vec<QueueEntry>> {
    let ids: Vec<Uuid> = lines.iter().map(|l| l.id).collect();
    let times = facts::arrival_times(state.db.conn(), &ids).await?;
    let now = state.clock.now();
    audit::note_disclosed(lines.iter().map(|l| l.patient_id));
    Ok(lines
        .into_iter()
        .map(|l| {
            let (checked_in_at, started_at) = times.get(&l.id).copied().unwrap_or_default();
            let waiting_minutes = checked_in_at.and_then(|arrived| match (l.status, started_at) {
                (AppointmentStatus::CheckedIn, _) => Some((now - arrived).num_minutes()),
                (_, Some(started)) => Some((started - arrived).num_minutes()),
                _ => None,
            });
            QueueEntry {
                appointment_id: l.id,
                start: l.start_at,
                status: l.status,
                kind: l.kind,
                queue_number: l.queue_number,
                patient_id: l.patient_id,
                medical_record_number: l.medical_record_number,
                patient_name: format!("{} {}", l.patient_first_name, l.patient_last_name),
                doctor_id: l.doctor_id,
                doctor_name: format!("{} {}", l.doctor_first_name, l.doctor_last_name),
                facility_name: l.facility_name,
                checked_in_at,
                waiting_minutes,
            }
        })
        .collect())
}

fn amounts(sums: BTreeMap<String, i64>) -> Vec<Amount> {
    sums.into_iter().map(|(c, m)| Amount::new(c, m)).collect()
}

/// A day holds at most this many appointments on a dashboard list.
const DAY_LIMIT: u64 = 2_000;

/// The caller's dashboard (see [`Dashboard`] for what each role gets).
pub async fn dashboard(state: &AppState, actor: &Actor) -> AppResult<Dashboard> {
    authorize(actor, Action::Dashboard)?;
    let conn = state.db.conn();
    let facility = match actor.role {
        Role::Admin | Role::Patient => None,
        _ => actor.facility_id,
    };
    let d = day(state, facility).await?;
    let mut out = Dashboard {
        role: Some(actor.role),
        date: Some(d.today),
        time_zone: d.tz.name().to_owned(),
        ..Dashboard::default()
    };
    let live = [AppointmentStatus::Pending, AppointmentStatus::Confirmed];
    match actor.role {
        Role::Admin => {
            let mut by_status: BTreeMap<AppointmentStatus, i64> =
                AppointmentStatus::ALL.iter().map(|s| (*s, 0)).collect();
            let today = ReportFilter {
                from: d.start,
                to: d.end,
                facility: None,
                doctor: None,
                specialty: None,
            };
            facts::each_appointment(conn, &today, |a| *by_status.entry(a.status).or_default() += 1).await?;
            out.appointments_today = Some(by_status);
            out.new_patients_this_month = Some(facts::count_patients_since(conn, d.month_start).await?);
            let filter = ReportFilter {
                from: d.month_start,
                to: d.end,
                facility: None,
                doctor: None,
                specialty: None,
            };
            let (mut today, mut month) = (BTreeMap::new(), BTreeMap::new());
            for m in facts::money(conn, &filter).await? {
                *month.entry(m.currency.clone()).or_insert(0) += m.amount_minor;
                if m.at >= d.start {
                    *today.entry(m.currency).or_insert(0) += m.amount_minor;
                }
            }
            out.revenue_today = Some(amounts(today));
            out.revenue_this_month = Some(amounts(month));
            let (mut all, mut no_shows) = (0i64, 0i64);
            facts::each_appointment(conn, &filter, |a| {
                all += 1;
                no_shows += i64::from(a.status == AppointmentStatus::NoShow);
            })
            .await?;
            out.no_show_rate_this_month =
                Some((all > 0).then(|| (no_shows as f64 / all as f64 * 10_000.0).round() / 10_000.0));
            let low = crate::db::pharmacy::list(
                conn,
                &crate::db::pharmacy::MedicationFilter {
                    search: None,
                    active: Some(true),
                    below_reorder: true,
                    expiring_before: None,
                    facility: None,
                    today: d.today,
                },
                PageRequest { page: 1, page_size: 1 },
            )
            .await?;
            out.stock_below_reorder = Some(low.count);
        }
        Role::Doctor => {
            let doctor = actor.doctor_id;
            let today = facts::board(conn, d.start, Some(d.end), (None, doctor, None), &[], DAY_LIMIT).await?;
            out.queue = Some(entries(state, today).await?);
            let next = facts::board(conn, d.end, None, (None, doctor, None), &live, UPCOMING).await?;
            out.upcoming = Some(entries(state, next).await?);
            let filter = ReportFilter {
                from: d.month_start,
                to: d.end,
                facility: None,
                doctor,
                specialty: None,
            };
            let mut completed = 0;
            facts::each_appointment(conn, &filter, |a| {
                completed += i64::from(a.status == AppointmentStatus::Completed)
            })
            .await?;
            out.completed_this_month = Some(completed);
        }
        Role::Receptionist => {
            let lines = facts::board(conn, d.start, Some(d.end), (facility, None, None), &[], DAY_LIMIT).await?;
            let mut queues: Vec<DoctorQueue> = Vec::new();
            for entry in entries(state, lines).await? {
                match queues.iter_mut().find(|q| q.doctor_id == entry.doctor_id) {
                    Some(queue) => queue.appointments.push(entry),
                    None => queues.push(DoctorQueue {
                        doctor_id: entry.doctor_id,
                        doctor_name: entry.doctor_name.clone(),
                        appointments: vec![entry],
                    }),
                }
            }
            queues.sort_by(|a, b| a.doctor_name.cmp(&b.doctor_name));
            out.board = Some(queues);
            out.unpaid_bills = Some(unpaid(facts::unpaid(conn, facility, None).await?));
        }
        Role::Nurse => {
            let waiting = [AppointmentStatus::CheckedIn];
            let lines = facts::board(conn, d.start, Some(d.end), (facility, None, None), &waiting, DAY_LIMIT).await?;
            out.checked_in = Some(entries(state, lines).await?);
        }
        Role::Patient => {
            let patient = actor.patient_id;
            if patient.is_some() {
                let next = facts::board(conn, state.clock.now(), None, (None, None, patient), &live, UPCOMING).await?;
                out.upcoming = Some(entries(state, next).await?);
            } else {
                out.upcoming = Some(Vec::new());
            }
            out.unpaid_bills = Some(match patient {
                Some(p) => unpaid(facts::unpaid(conn, None, Some(p)).await?),
                None => Unpaid {
                    bills: 0,
                    outstanding: Vec::new(),
                },
            });
            let prescriptions = match patient {
                Some(p) => facts::active_prescriptions(conn, p).await?,
                None => Vec::new(),
            };
            out.active_prescriptions = Some(
                prescriptions
                    .into_iter()
                    .map(|p| ActivePrescription {
                        id: p.id,
                        consultation_id: p.consultation_id,
                        medication: p.medication,
                        instructions: p.instructions,
                        quantity: p.quantity,
                        refills: p.refills,
                        recorded_at: p.recorded_at,
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn unpaid(rows: Vec<(String, i64, i64)>) -> Unpaid {
    Unpaid {
        bills: rows.iter().map(|r| r.1).sum(),
        outstanding: rows.into_iter().map(|(c, _, m)| Amount::new(c, m)).collect(),
    }
}
