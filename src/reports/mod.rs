//! Reports: one query of facts per report ([`crate::db::reports`]),
//! counted here into one [`Table`] that the JSON answer and every export
//! render, so their columns and totals are the same by construction.
//!
//! Days, weeks (starting Monday) and months are those of each row's
//! facility's time zone: an appointment at 23:30 local on the last day of a
//! month counts in that month, whatever its UTC date. The period is
//! `from..=to`, local dates, at most [`MAX_DAYS`] days.
//!
//! Who may read what: reports about practice (appointments, performance,
//! prescribing, teleconsultation) are [`Action::PracticeReportRead`]:
//! administrators all, a doctor their own (the `doctor` filter is theirs,
//! whether given or not). Revenue, billing and patients are
//! [`Action::ReportRead`] (administrators).

pub mod dashboard;
pub mod documents;
pub mod exports;
pub mod monthly;
mod performance;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, authorize};
use crate::db::reports::{self as facts, ReportFilter};
use crate::domain::{AppointmentStatus, BillStatus, Currency, LocationKind, TelemedicineOutcome};
use crate::error::{AppError, AppResult};
use crate::exports::{Cell, Column, ColumnType, Heading, Report, Table, column, mean, ratio};
use crate::state::AppState;

pub use performance::{PERFORMANCE_COLUMNS, doctor_performance};

/// The longest period a report covers: three years.
pub const MAX_DAYS: i64 = 3 * 366;

/// The filters every report takes (each says which apply).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportFilters {
    /// First local day, `YYYY-MM-DD` (default: the first of `to`'s month).
    pub from: Option<NaiveDate>,
    /// Last local day, inclusive (default: today).
    pub to: Option<NaiveDate>,
    /// Only this facility.
    pub facility: Option<Uuid>,
    /// Only this doctor (a doctor: themselves, the default).
    pub doctor: Option<Uuid>,
    /// Only doctors of this specialty.
    pub specialty: Option<Uuid>,
}

impl ReportFilters {
    /// The parameter names, for splitting a query string.
    pub const NAMES: [&'static str; 5] = ["from", "to", "facility", "doctor", "specialty"];

    /// Errors: 400 naming `from` or `to` outside the years 1900–2999.
    pub fn check_years(&self) -> AppResult<()> {
        for (name, day) in [("from", self.from), ("to", self.to)] {
            if day.is_some_and(|d| !(1900..=2999).contains(&d.year())) {
                return Err(AppError::invalid_field(
                    name,
                    "must be a date in the years 1900 to 2999",
                ));
            }
        }
        Ok(())
    }
}

/// A report's resolved scope: its local days, zone and database filter.
pub(crate) struct Scoped {
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    filter: ReportFilter,
    scope: String,
}

impl Scoped {
    fn contains(&self, local: NaiveDate) -> bool {
        local >= self.from && local <= self.to
    }

    fn heading(&self, title: &str, now: DateTime<Utc>) -> Heading {
        Heading {
            title: title.to_owned(),
            scope: self.scope.clone(),
            period: Some((self.from, self.to)),
            time_zone: self.tz.name().to_owned(),
            generated_at: now,
        }
    }
}

/// The local date of `at` in the zone named `zone` (UTC if it does not parse).
fn local_date(at: DateTime<Utc>, zone: &str, zones: &mut HashMap<String, Tz>) -> NaiveDate {
    let tz = *zones
        .entry(zone.to_owned())
        .or_insert_with(|| zone.parse().unwrap_or(chrono_tz::UTC));
    at.with_timezone(&tz).date_naive()
}

/// Check the caller may read the report and resolve its filters: which
/// filters `applies` (the rest are refused, 400), the doctor of a doctor's
/// own reports, the default period, the zone of the heading.
///
/// Errors: 403 (role; a doctor naming another doctor); 400 naming `from`
/// (after `to`), `to` (period over [`MAX_DAYS`]) or a filter that does not apply.
pub(crate) async fn scoped(
    state: &AppState,
    actor: &Actor,
    action: Action,
    filters: &ReportFilters,
    applies: &[&str],
) -> AppResult<Scoped> {
    let scope = authorize(actor, action)?;
    for (name, given) in [
        ("facility", filters.facility.is_some()),
        ("doctor", filters.doctor.is_some()),
        ("specialty", filters.specialty.is_some()),
    ] {
        if given && !applies.contains(&name) {
            return Err(AppError::invalid_field(name, "does not apply to this report"));
        }
    }
    let mut doctor = filters.doctor;
    if scope == Scope::Own {
        let own = actor
            .doctor_id
            .ok_or_else(|| AppError::Forbidden("no doctor profile".into()))?;
        if doctor.is_some_and(|d| d != own) {
            return Err(AppError::Forbidden("a doctor reads their own reports only".into()));
        }
        doctor = Some(own);
    }
    let facility = match filters.facility {
        Some(id) => Some(
            crate::db::directory::find_facility(state.db.conn(), id)
                .await?
                .ok_or_else(|| AppError::invalid_field("facility", "no such facility"))?,
        ),
        None => None,
    };
    let tz: Tz = match &facility {
        Some(f) => f.time_zone.parse().unwrap_or(chrono_tz::UTC),
        None => default_zone(state).await?,
    };
    filters.check_years()?;
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let to = filters.to.unwrap_or(today);
    let from = filters
        .from
        .unwrap_or_else(|| to.with_day(1).expect("the first exists"));
    if from > to {
        return Err(AppError::invalid_field(
            "from",
            format!("must not be after `to` ({to})"),
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(AppError::invalid_field(
            "to",
            format!("a report covers at most {MAX_DAYS} days; split the period"),
        ));
    }
    let (start, end) = crate::booking::calendar::window(from, to);
    let mut parts = vec![
        facility
            .as_ref()
            .map_or("All facilities".to_owned(), |f| f.name.clone()),
    ];
    if let Some(d) = doctor {
        let names = facts::doctors(
            state.db.conn(),
            &ReportFilter {
                from: start,
                to: end,
                facility: None,
                doctor: Some(d),
                specialty: None,
            },
        )
        .await?;
        let name = names
            .first()
            .map(|d| format!("{} {}", d.doctor_first_name, d.doctor_last_name))
            .ok_or_else(|| AppError::invalid_field("doctor", "no such doctor"))?;
        parts.push(name);
    }
    if let Some(s) = filters.specialty {
        let found = crate::db::directory::find_specialty(state.db.conn(), s)
            .await?
            .ok_or_else(|| AppError::invalid_field("specialty", "no such specialty"))?;
        parts.push(found.name);
    }
    Ok(Scoped {
        from,
        to,
        tz,
        filter: ReportFilter {
            from: start,
            to: end,
            facility: filters.facility,
            doctor,
            specialty: filters.specialty,
        },
        scope: parts.join(" \u{b7} "),
    })
}

/// The zone of reports not about one facility: the facilities' zone when
/// they all share one, else UTC.
async fn default_zone(state: &AppState) -> AppResult<Tz> {
    let zones = facts::facility_zones(state.db.conn()).await?;
    Ok(match zones.as_slice() {
        [only] => only.parse().unwrap_or(chrono_tz::UTC),
        _ => chrono_tz::UTC,
    })
}

/// How the appointments report groups its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentGrouping {
    #[default]
    Doctor,
    Specialty,
    Facility,
    Day,
    Week,
    Month,
}

/// Parameters of the appointments report beyond the filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppointmentReportQuery {
    /// Rows per doctor (default), specialty, facility, day, week or month.
    #[param(inline)]
    pub group_by: Option<AppointmentGrouping>,
}

/// The counts of the appointments report, after its group columns.
pub const APPOINTMENT_COUNTS: [Column; 11] = [
    column("appointments", "Appointments", ColumnType::Integer),
    column("pending", "Pending", ColumnType::Integer),
    column("confirmed", "Confirmed", ColumnType::Integer),
    column("checked_in", "Checked in", ColumnType::Integer),
    column("in_progress", "In progress", ColumnType::Integer),
    column("completed", "Completed", ColumnType::Integer),
    column("cancelled", "Cancelled", ColumnType::Integer),
    column("no_show", "No-show", ColumnType::Integer),
    column("completion_rate", "Completion rate", ColumnType::Ratio),
    column("cancellation_rate", "Cancellation rate", ColumnType::Ratio),
    column("no_show_rate", "No-show rate", ColumnType::Ratio),
];

/// The group columns of a row key: a key to sort by and the cells.
type Key = (String, Vec<Cell>);

fn period_key(grouping: AppointmentGrouping, day: NaiveDate) -> Key {
    match grouping {
        AppointmentGrouping::Week => {
            let monday = day - TimeDelta::days(day.weekday().num_days_from_monday().into());
            (monday.to_string(), vec![Cell::Date(monday)])
        }
        AppointmentGrouping::Month => {
            let month = day.format("%Y-%m").to_string();
            (month.clone(), vec![Cell::Text(month)])
        }
        _ => (day.to_string(), vec![Cell::Date(day)]),
    }
}

fn status_counts(counts: &[i64; 7]) -> Vec<Cell> {
    let total: i64 = counts.iter().sum();
    let of = |s: AppointmentStatus| counts[status_index(s)];
    let mut cells = vec![Cell::Integer(total)];
    cells.extend(counts.iter().map(|n| Cell::Integer(*n)));
    cells.push(ratio(of(AppointmentStatus::Completed), total));
    cells.push(ratio(of(AppointmentStatus::Cancelled), total));
    cells.push(ratio(of(AppointmentStatus::NoShow), total));
    cells
}

fn status_index(status: AppointmentStatus) -> usize {
    AppointmentStatus::ALL
        .iter()
        .position(|s| *s == status)
        .expect("every status is listed")
}

fn total_label(columns: usize, leading: usize) -> Vec<Cell> {
    let mut cells = vec![Cell::Empty; leading];
    if leading > 0 {
        cells[0] = Cell::Text("Total".into());
    }
    cells.reserve(columns - leading);
    cells
}

/// Appointment statistics: counts by status and the completion,
/// cancellation and no-show rates (each of all appointments in the row),
/// per doctor, specialty, facility, day, week or month. Filters: all.
pub async fn appointments(
    state: &AppState,
    actor: &Actor,
    filters: &ReportFilters,
    query: &AppointmentReportQuery,
) -> AppResult<Report> {
    let s = scoped(
        state,
        actor,
        Action::PracticeReportRead,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    let grouping = query.group_by.unwrap_or_default();
    let mut zones = HashMap::new();
    let mut groups: BTreeMap<String, (Vec<Cell>, [i64; 7])> = BTreeMap::new();
    facts::each_appointment(state.db.conn(), &s.filter, |a| {
        let day = local_date(a.start_at, &a.time_zone, &mut zones);
        if !s.contains(day) {
            return;
        }
        let (key, cells) = match grouping {
            AppointmentGrouping::Doctor => (
                format!("{} {}\u{0}{}", a.doctor_first_name, a.doctor_last_name, a.doctor_id),
                vec![
                    Cell::Text(format!("{} {}", a.doctor_first_name, a.doctor_last_name)),
                    Cell::Text(a.specialty_name),
                ],
            ),
            AppointmentGrouping::Specialty => (
                format!("{}\u{0}{}", a.specialty_name, a.specialty_id),
                vec![Cell::Text(a.specialty_name)],
            ),
            AppointmentGrouping::Facility => (
                format!("{}\u{0}{}", a.facility_name, a.facility_id),
                vec![Cell::Text(a.facility_name)],
            ),
            _ => period_key(grouping, day),
        };
        groups.entry(key).or_insert_with(|| (cells, [0; 7])).1[status_index(a.status)] += 1;
    })
    .await?;
    let mut columns = match grouping {
        AppointmentGrouping::Doctor => vec![
            column("doctor", "Doctor", ColumnType::Text),
            column("specialty", "Specialty", ColumnType::Text),
        ],
        AppointmentGrouping::Specialty => vec![column("specialty", "Specialty", ColumnType::Text)],
        AppointmentGrouping::Facility => vec![column("facility", "Facility", ColumnType::Text)],
        AppointmentGrouping::Day => vec![column("date", "Date", ColumnType::Date)],
        AppointmentGrouping::Week => vec![column("week", "Week starting", ColumnType::Date)],
        AppointmentGrouping::Month => vec![column("month", "Month", ColumnType::Text)],
    };
    let leading = columns.len();
    columns.extend(APPOINTMENT_COUNTS);
    let mut all = [0i64; 7];
    let rows = groups
        .into_values()
        .map(|(mut cells, counts)| {
            for (sum, n) in all.iter_mut().zip(counts) {
                *sum += n;
            }
            cells.extend(status_counts(&counts));
            cells
        })
        .collect();
    let mut totals = total_label(columns.len(), leading);
    totals.extend(status_counts(&all));
    Ok(Report {
        heading: s.heading("Appointment statistics", state.clock.now()),
        table: Table { columns, rows, totals },
    })
}

/// How the revenue report groups its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevenueGrouping {
    #[default]
    Month,
    Day,
    Service,
    Doctor,
    Method,
}

/// Parameters of the revenue report beyond the filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RevenueReportQuery {
    /// Rows per month (default), day, service, doctor or payment method.
    #[param(inline)]
    pub group_by: Option<RevenueGrouping>,
}

/// The columns of the revenue report after its group column.
pub const REVENUE_AMOUNTS: [Column; 6] = [
    column("currency", "Currency", ColumnType::Text),
    column("payments", "Payments", ColumnType::Integer),
    column("received", "Received", ColumnType::Money),
    column("refunds", "Refunds", ColumnType::Integer),
    column("refunded", "Refunded", ColumnType::Money),
    column("net", "Net revenue", ColumnType::Money),
];

/// Sums of money in one currency: counts and amounts of payments and refunds.
#[derive(Debug, Default, Clone, Copy)]
struct Takings {
    payments: i64,
    received: i64,
    refunds: i64,
    refunded: i64,
}

impl Takings {
    fn add(&mut self, other: &Takings) {
        self.payments += other.payments;
        self.received += other.received;
        self.refunds += other.refunds;
        self.refunded += other.refunded;
    }

    fn cells(&self, currency: Currency) -> Vec<Cell> {
        vec![
            Cell::Text(currency.code().to_owned()),
            Cell::Integer(self.payments),
            Cell::Money(self.received, currency),
            Cell::Integer(self.refunds),
            Cell::Money(self.refunded, currency),
            Cell::Money(self.received - self.refunded, currency),
        ]
    }
}

/// Revenue from payments received less refunds paid out (not from
/// appointments or bills), by when the money moved, per month (default),
/// day, service, doctor or payment method, and currency. A payment counts
/// for the service and doctor of its bill's appointment ("No appointment"
/// otherwise). Totals when all rows are in one currency. Filters: all.
pub async fn revenue(
    state: &AppState,
    actor: &Actor,
    filters: &ReportFilters,
    query: &RevenueReportQuery,
) -> AppResult<Report> {
    let s = scoped(
        state,
        actor,
        Action::ReportRead,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    let grouping = query.group_by.unwrap_or_default();
    let mut zones = HashMap::new();
    let mut groups: BTreeMap<(String, &'static str), (Cell, Takings)> = BTreeMap::new();
    for m in facts::money(state.db.conn(), &s.filter).await? {
        let day = local_date(m.at, &m.time_zone, &mut zones);
        if !s.contains(day) {
            continue;
        }
        let currency = Currency::parse(&m.currency).unwrap_or(Currency::BDT);
        let (key, cell) = match grouping {
            RevenueGrouping::Month => {
                let month = day.format("%Y-%m").to_string();
                (month.clone(), Cell::Text(month))
            }
            RevenueGrouping::Day => (day.to_string(), Cell::Date(day)),
            RevenueGrouping::Service => {
                let name = m.service_name.unwrap_or_else(|| "No service".into());
                (name.clone(), Cell::Text(name))
            }
            RevenueGrouping::Doctor => {
                let name = match (m.doctor_first_name, m.doctor_last_name) {
                    (Some(f), Some(l)) => format!("{f} {l}"),
                    _ => "No appointment".into(),
                };
                (format!("{name}\u{0}{:?}", m.doctor_id), Cell::Text(name))
            }
            RevenueGrouping::Method => (m.method.as_str().to_owned(), Cell::Text(m.method.as_str().to_owned())),
        };
        let entry = &mut groups
            .entry((key, currency.code()))
            .or_insert((cell, Takings::default()))
            .1;
        if m.is_refund {
            entry.refunds += 1;
            entry.refunded -= m.amount_minor;
        } else {
            entry.payments += 1;
            entry.received += m.amount_minor;
        }
    }
    let label = match grouping {
        RevenueGrouping::Month => column("month", "Month", ColumnType::Text),
        RevenueGrouping::Day => column("date", "Date", ColumnType::Date),
        RevenueGrouping::Service => column("service", "Service", ColumnType::Text),
        RevenueGrouping::Doctor => column("doctor", "Doctor", ColumnType::Text),
        RevenueGrouping::Method => column("method", "Payment method", ColumnType::Text),
    };
    let mut columns = vec![label];
    columns.extend(REVENUE_AMOUNTS);
    let currencies: HashSet<&str> = groups.keys().map(|(_, c)| *c).collect();
    let mut all = Takings::default();
    let mut rows = Vec::with_capacity(groups.len());
    for ((_, code), (cell, takings)) in groups {
        all.add(&takings);
        let mut row = vec![cell];
        row.extend(takings.cells(Currency::parse(code).unwrap_or(Currency::BDT)));
        rows.push(row);
    }
    let totals = single_currency_totals(&columns, 1, &currencies, |c| all.cells(c));
    Ok(Report {
        heading: s.heading("Revenue", state.clock.now()),
        table: Table { columns, rows, totals },
    })
}

/// Totals when every row is in one currency (the counts alone otherwise).
fn single_currency_totals(
    columns: &[Column],
    leading: usize,
    currencies: &HashSet<&str>,
    cells: impl Fn(Currency) -> Vec<Cell>,
) -> Vec<Cell> {
    let mut totals = total_label(columns.len(), leading);
    match currencies.iter().next() {
        Some(code) if currencies.len() == 1 => totals.extend(cells(Currency::parse(code).unwrap_or(Currency::BDT))),
        _ => totals.extend(cells(Currency::BDT).into_iter().map(|c| match c {
            Cell::Integer(_) => c,
            _ => Cell::Empty,
        })),
    }
    totals
}

/// The columns of the billing report.
pub const BILLING_COLUMNS: [Column; 10] = [
    column("status", "Status", ColumnType::Text),
    column("currency", "Currency", ColumnType::Text),
    column("bills", "Bills", ColumnType::Integer),
    column("billed", "Billed", ColumnType::Money),
    column("paid", "Paid", ColumnType::Money),
    column("outstanding", "Outstanding", ColumnType::Money),
    column("outstanding_0_30", "Outstanding 0-30 days", ColumnType::Money),
    column("outstanding_31_60", "Outstanding 31-60 days", ColumnType::Money),
    column("outstanding_61_90", "Outstanding 61-90 days", ColumnType::Money),
    column("outstanding_over_90", "Outstanding over 90 days", ColumnType::Money),
];

/// Billing: bills issued in the period by status and currency, what was
/// billed, paid and is outstanding, and the outstanding amounts by age
/// (days from the bill's issue to `to`, or today if earlier). Void bills
/// owe nothing. Filters: all.
pub async fn billing(state: &AppState, actor: &Actor, filters: &ReportFilters) -> AppResult<Report> {
    let s = scoped(
        state,
        actor,
        Action::ReportRead,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    let mut zones = HashMap::new();
    let today = state.clock.now().with_timezone(&s.tz).date_naive();
    let as_of = s.to.min(today);
    let mut groups: BTreeMap<(usize, &'static str), [i64; 8]> = BTreeMap::new();
    for b in facts::bills(state.db.conn(), &s.filter).await? {
        let day = local_date(b.issued_at, &b.time_zone, &mut zones);
        if !s.contains(day) {
            continue;
        }
        let currency = Currency::parse(&b.currency).unwrap_or(Currency::BDT);
        let status = BillStatus::ALL.iter().position(|x| *x == b.status).unwrap_or(0);
        let sums = groups.entry((status, currency.code())).or_insert([0; 8]);
        let outstanding = if b.status == BillStatus::Void {
            0
        } else {
            b.total_minor - b.paid_minor
        };
        let age = (as_of - day).num_days();
        let bucket = match age {
            ..=30 => 4,
            31..=60 => 5,
            61..=90 => 6,
            _ => 7,
        };
        sums[0] += 1;
        sums[1] += b.total_minor;
        sums[2] += b.paid_minor;
        sums[3] += outstanding;
        sums[bucket] += outstanding;
    }
    let cells = |sums: &[i64; 8], currency: Currency| {
        let mut row = vec![Cell::Text(currency.code().to_owned()), Cell::Integer(sums[0])];
        row.extend(sums[1..].iter().map(|m| Cell::Money(*m, currency)));
        row
    };
    let currencies: HashSet<&str> = groups.keys().map(|(_, c)| *c).collect();
    let mut all = [0i64; 8];
    let mut rows = Vec::with_capacity(groups.len());
    for ((status, code), sums) in groups {
        for (t, n) in all.iter_mut().zip(sums) {
            *t += n;
        }
        let mut row = vec![Cell::Text(BillStatus::ALL[status].as_str().to_owned())];
        row.extend(cells(&sums, Currency::parse(code).unwrap_or(Currency::BDT)));
        rows.push(row);
    }
    let columns = BILLING_COLUMNS.to_vec();
    let totals = single_currency_totals(&columns, 1, &currencies, |c| cells(&all, c));
    Ok(Report {
        heading: s.heading("Billing", state.clock.now()),
        table: Table { columns, rows, totals },
    })
}

/// Parameters of the medications report beyond the filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MedicationReportQuery {
    /// How many medications (default 20, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The columns of the medications report.
pub const MEDICATION_COLUMNS: [Column; 4] = [
    column("medication", "Medication", ColumnType::Text),
    column("prescriptions", "Prescriptions", ColumnType::Integer),
    column("patients", "Patients", ColumnType::Integer),
    column("quantity", "Quantity prescribed", ColumnType::Integer),
];

/// The most prescribed medications (by prescriptions, then name):
/// prescriptions, distinct patients and quantity, of prescriptions recorded
/// in the period and not entered in error. Totals are of the rows shown
/// (patients: distinct among them). Filters: all.
///
/// Errors: 400 naming `limit` outside 1–500.
pub async fn medications(
    state: &AppState,
    actor: &Actor,
    filters: &ReportFilters,
    query: &MedicationReportQuery,
) -> AppResult<Report> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid_field("limit", "must be 1 to 500"));
    }
    let s = scoped(
        state,
        actor,
        Action::PracticeReportRead,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    let mut zones = HashMap::new();
    let mut groups: HashMap<String, (i64, HashSet<Uuid>, i64)> = HashMap::new();
    for p in facts::prescriptions(state.db.conn(), &s.filter).await? {
        if !s.contains(local_date(p.recorded_at, &p.time_zone, &mut zones)) {
            continue;
        }
        let entry = groups.entry(p.medication).or_default();
        entry.0 += 1;
        entry.1.insert(p.patient_id);
        entry.2 += i64::from(p.quantity);
    }
    let mut ranked: Vec<_> = groups.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(limit as usize);
    let mut patients = HashSet::new();
    let (mut prescriptions, mut quantity) = (0, 0);
    let rows = ranked
        .into_iter()
        .map(|(name, (count, who, qty))| {
            prescriptions += count;
            quantity += qty;
            let row = vec![
                Cell::Text(name),
                Cell::Integer(count),
                Cell::Integer(who.len() as i64),
                Cell::Integer(qty),
            ];
            patients.extend(who);
            row
        })
        .collect();
    let totals = vec![
        Cell::Text("Total".into()),
        Cell::Integer(prescriptions),
        Cell::Integer(patients.len() as i64),
        Cell::Integer(quantity),
    ];
    Ok(Report {
        heading: s.heading("Top prescribed medications", state.clock.now()),
        table: Table {
            columns: MEDICATION_COLUMNS.to_vec(),
            rows,
            totals,
        },
    })
}

/// How the patients report groups its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatientGrouping {
    #[default]
    Month,
    Division,
    District,
}

/// Parameters of the patients report beyond the filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PatientReportQuery {
    /// Rows per month of registration (default), division or district of the patient's address.
    #[param(inline)]
    pub group_by: Option<PatientGrouping>,
}

/// New patient records per month of registration (in the report's zone:
/// the facilities' one when they share it, else UTC) or per division or
/// district of the patient's location ("Unknown" without one). Filters:
/// the period only.
pub async fn patients(
    state: &AppState,
    actor: &Actor,
    filters: &ReportFilters,
    query: &PatientReportQuery,
) -> AppResult<Report> {
    let s = scoped(state, actor, Action::ReportRead, filters, &[]).await?;
    let grouping = query.group_by.unwrap_or_default();
    let places: HashMap<Uuid, facts::LocationFact> = if grouping == PatientGrouping::Month {
        HashMap::new()
    } else {
        facts::locations(state.db.conn())
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect()
    };
    // The division and district of a location, walking up the tree.
    let ancestry = |mut id: Option<Uuid>| {
        let (mut division, mut district) = (None, None);
        while let Some(place) = id.and_then(|i| places.get(&i)) {
            match place.kind {
                LocationKind::Division => division = Some(place.name.clone()),
                LocationKind::District => district = Some(place.name.clone()),
                LocationKind::Upazila => {}
            }
            id = place.parent_id;
        }
        (division, district)
    };
    let mut groups: BTreeMap<String, (Vec<Cell>, i64)> = BTreeMap::new();
    for p in facts::patients(state.db.conn(), &s.filter).await? {
        let day = p.created_at.with_timezone(&s.tz).date_naive();
        if !s.contains(day) {
            continue;
        }
        let unknown = || "Unknown".to_owned();
        let (key, cells) = match grouping {
            PatientGrouping::Month => {
                let month = day.format("%Y-%m").to_string();
                (month.clone(), vec![Cell::Text(month)])
            }
            PatientGrouping::Division => {
                let division = ancestry(p.location_id).0.unwrap_or_else(unknown);
                (division.clone(), vec![Cell::Text(division)])
            }
            PatientGrouping::District => {
                let (division, district) = ancestry(p.location_id);
                let (division, district) = (division.unwrap_or_else(unknown), district.unwrap_or_else(unknown));
                (
                    format!("{division}\u{0}{district}"),
                    vec![Cell::Text(division), Cell::Text(district)],
                )
            }
        };
        groups.entry(key).or_insert((cells, 0)).1 += 1;
    }
    let mut columns = match grouping {
        PatientGrouping::Month => vec![column("month", "Month", ColumnType::Text)],
        PatientGrouping::Division => vec![column("division", "Division", ColumnType::Text)],
        PatientGrouping::District => vec![
            column("division", "Division", ColumnType::Text),
            column("district", "District", ColumnType::Text),
        ],
    };
    let leading = columns.len();
    columns.push(column("new_patients", "New patients", ColumnType::Integer));
    let mut total = 0;
    let rows = groups
        .into_values()
        .map(|(mut cells, n)| {
            total += n;
            cells.push(Cell::Integer(n));
            cells
        })
        .collect();
    let mut totals = total_label(columns.len(), leading);
    totals.push(Cell::Integer(total));
    Ok(Report {
        heading: s.heading("New patients", state.clock.now()),
        table: Table { columns, rows, totals },
    })
}

/// The columns of the teleconsultation report.
pub fn telemedicine_columns() -> Vec<Column> {
    let mut columns = vec![
        column("doctor", "Doctor", ColumnType::Text),
        column("specialty", "Specialty", ColumnType::Text),
        column("sessions", "Sessions", ColumnType::Integer),
    ];
    columns.extend([
        column("completed", "Completed", ColumnType::Integer),
        column("patient_no_show", "Patient no-show", ColumnType::Integer),
        column("technical_failure", "Technical failure", ColumnType::Integer),
        column("converted_to_in_person", "Converted to in person", ColumnType::Integer),
        column("open", "No outcome yet", ColumnType::Integer),
        column("completion_rate", "Completion rate", ColumnType::Ratio),
        column("average_minutes", "Average minutes", ColumnType::Number),
    ]);
    columns
}

/// Teleconsultation outcomes per doctor: sessions created in the period,
/// each outcome's count (in [`TelemedicineOutcome::ALL`] order), those
/// without one, the completion rate and the average length of the sessions
/// that started and ended. Filters: all.
pub async fn telemedicine(state: &AppState, actor: &Actor, filters: &ReportFilters) -> AppResult<Report> {
    let s = scoped(
        state,
        actor,
        Action::PracticeReportRead,
        filters,
        &["facility", "doctor", "specialty"],
    )
    .await?;
    let mut zones = HashMap::new();
    // outcomes…, open, duration seconds sum, durations
    type Sums = [i64; 7];
    let mut groups: BTreeMap<String, (Vec<Cell>, Sums)> = BTreeMap::new();
    for t in facts::sessions(state.db.conn(), &s.filter).await? {
        if !s.contains(local_date(t.created_at, &t.time_zone, &mut zones)) {
            continue;
        }
        let name = format!("{} {}", t.doctor_first_name, t.doctor_last_name);
        let sums = &mut groups
            .entry(format!("{name}\u{0}{}", t.doctor_id))
            .or_insert_with(|| (vec![Cell::Text(name), Cell::Text(t.specialty_name)], [0; 7]))
            .1;
        match t.outcome {
            Some(o) => sums[TelemedicineOutcome::ALL.iter().position(|x| *x == o).unwrap_or(0)] += 1,
            None => sums[4] += 1,
        }
        if let Some(seconds) = crate::booking::telemedicine::duration_seconds(t.started_at, t.ended_at) {
            sums[5] += seconds;
            sums[6] += 1;
        }
    }
    let cells = |sums: &Sums| {
        let sessions: i64 = sums[..5].iter().sum();
        let mut row = vec![Cell::Integer(sessions)];
        row.extend(sums[..5].iter().map(|n| Cell::Integer(*n)));
        row.push(ratio(sums[0], sessions));
        row.push(mean(sums[5] as f64 / 60.0, sums[6]));
        row
    };
    let mut all: Sums = [0; 7];
    let rows = groups
        .into_values()
        .map(|(mut row, sums)| {
            for (t, n) in all.iter_mut().zip(sums) {
                *t += n;
            }
            row.extend(cells(&sums));
            row
        })
        .collect();
    let columns = telemedicine_columns();
    let mut totals = total_label(columns.len(), 2);
    totals.extend(cells(&all));
    Ok(Report {
        heading: s.heading("Teleconsultation outcomes", state.clock.now()),
        table: Table { columns, rows, totals },
    })
}
