//! Printable documents as PDF: a bill's invoice (a receipt once paid) and
//! a consultation's prescription, in the facility's name and local time,
//! laid out by [`crate::exports::pdf`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::auth::Actor;
use crate::billing;
use crate::clinical::consultations;
use crate::db;
use crate::domain::{BillStatus, Currency, Money};
use crate::error::{AppError, AppResult};
use crate::exports::{Cell, ColumnType, Heading, column, pdf};
use crate::state::AppState;

/// A printable document: its file name and bytes.
pub struct Document {
    pub stem: String,
    pub pdf: Vec<u8>,
}

fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

async fn facility(state: &AppState, id: Uuid) -> AppResult<(db::entities::facility::Model, Tz)> {
    let facility = db::directory::find_facility(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("facility"))?;
    let tz = facility.time_zone.parse().unwrap_or(chrono_tz::UTC);
    Ok((facility, tz))
}

async fn patient(state: &AppState, id: Uuid) -> AppResult<db::entities::patient::Model> {
    db::patients::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("patient"))
}

/// A bill as an invoice ("Receipt" once paid in full): its lines, total,
/// what was paid and what is outstanding, the facility's name and address,
/// and times in its zone. Whoever may read the bill may print it.
///
/// Errors: 404 when the caller may not see it.
pub async fn bill(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Document> {
    let view = billing::get(state, actor, id).await?;
    let bill = &view.bill;
    let (facility, tz) = facility(state, bill.facility_id).await?;
    let patient = patient(state, bill.patient_id).await?;
    let currency = Currency::parse(&bill.currency).unwrap_or(Currency::BDT);
    let money = |minor: i64| Money::format(minor, currency.code());
    let title = if bill.status == BillStatus::Paid {
        "Receipt"
    } else {
        "Invoice"
    };
    let refunded: i64 = view.payments.iter().map(|p| p.refunded_minor).sum();
    let mut lines = vec![
        format!(
            "Patient: {} {} (MRN {})",
            patient.first_name, patient.last_name, patient.medical_record_number
        ),
        format!(
            "Bill {} \u{b7} {} \u{b7} issued {}",
            bill.id,
            bill.status,
            bill.issued_at.map_or_else(|| "not yet".to_owned(), |t| local(t, tz))
        ),
        format!(
            "Total {} {} \u{b7} paid {} \u{b7} outstanding {}{}",
            money(bill.total_minor),
            currency.code(),
            money(bill.paid_minor),
            money(if bill.status == BillStatus::Void {
                0
            } else {
                bill.total_minor - bill.paid_minor
            }),
            if refunded > 0 {
                format!(" \u{b7} refunded {}", money(refunded))
            } else {
                String::new()
            }
        ),
    ];
    if !facility.address.is_empty() {
        lines.insert(0, facility.address.clone());
    }
    for p in &view.payments {
        lines.push(format!(
            "Payment {} {} by {} on {}",
            money(p.amount_minor),
            currency.code(),
            p.method,
            local(p.received_at, tz)
        ));
    }
    let columns = [
        column("description", "Description", ColumnType::Text),
        column("quantity", "Quantity", ColumnType::Integer),
        column("unit_price", "Unit price", ColumnType::Money),
        column("discount", "Discount", ColumnType::Money),
        column("amount", "Amount", ColumnType::Money),
    ];
    let rows: Vec<Vec<Cell>> = view
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.description.clone()),
                Cell::Integer(l.quantity.into()),
                Cell::Money(l.unit_price_minor, currency),
                Cell::Money(l.discount_minor, currency),
                Cell::Money(l.amount_minor, currency),
            ]
        })
        .collect();
    let totals = vec![
        Cell::Text("Total".into()),
        Cell::Empty,
        Cell::Empty,
        Cell::Money(view.lines.iter().map(|l| l.discount_minor).sum(), currency),
        Cell::Money(bill.total_minor, currency),
    ];
    let heading = Heading {
        title: format!("{title} \u{2013} {}", facility.name),
        scope: format!("{} {}", patient.first_name, patient.last_name),
        period: None,
        time_zone: facility.time_zone.clone(),
        generated_at: state.clock.now(),
    };
    let stem = format!("{}-{}", title.to_lowercase(), bill.id);
    let pdf = tokio::task::spawn_blocking(move || pdf::render(&heading, &lines, &columns, &rows, &totals))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Document { stem, pdf })
}

/// A consultation's prescription: each medication not entered in error
/// (dose, route, frequency, duration, quantity, refills, instructions),
/// the patient, the prescriber and their licence, the facility and the
/// date in its zone. Whoever may read the clinical record may print it.
///
/// Errors: 404 when the caller may not see the consultation, or it has no prescriptions.
pub async fn prescription(state: &AppState, actor: &Actor, consultation: Uuid) -> AppResult<Document> {
    let record = consultations::get(state, actor, consultation).await?;
    let c = &record.consultation;
    let items: Vec<_> = record
        .prescriptions
        .iter()
        .filter(|p| p.error_reason.is_none())
        .collect();
    if items.is_empty() {
        return Err(AppError::NotFound("prescription"));
    }
    let (facility, tz) = facility(state, c.facility_id).await?;
    let patient = patient(state, c.patient_id).await?;
    let doctor = db::directory::find_doctor(state.db.conn(), c.doctor_id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    let mut lines = vec![
        format!(
            "Patient: {} {} (MRN {}){}",
            patient.first_name,
            patient.last_name,
            patient.medical_record_number,
            patient
                .date_of_birth
                .map_or_else(String::new, |d| format!(", born {d}"))
        ),
        format!(
            "Prescriber: Dr {} {}, {} (licence {})",
            doctor.first_name, doctor.last_name, doctor.specialty_name, doctor.licence_number
        ),
        format!("Date: {}", local(c.started_at, tz)),
    ];
    if !patient.allergies.is_empty() {
        lines.push(format!("Allergies: {}", patient.allergies));
    }
    let columns = [
        column("medication", "Medication", ColumnType::Text),
        column("dose", "Dose", ColumnType::Text),
        column("route", "Route", ColumnType::Text),
        column("frequency", "Frequency", ColumnType::Text),
        column("duration_days", "Days", ColumnType::Integer),
        column("quantity", "Quantity", ColumnType::Integer),
        column("refills", "Refills", ColumnType::Integer),
        column("instructions", "Instructions", ColumnType::Text),
    ];
    let rows: Vec<Vec<Cell>> = items
        .iter()
        .map(|p| {
            let amount = p.dose_amount_milli as f64 / 1000.0;
            let mut frequency = match (&p.frequency_pattern, p.times_per_day) {
                (Some(pattern), _) => pattern.clone(),
                (None, Some(n)) => format!("{n} times a day"),
                (None, None) => String::new(),
            };
            if p.as_needed {
                frequency = if frequency.is_empty() {
                    "as needed".into()
                } else {
                    format!("{frequency}, as needed")
                };
            }
            vec![
                Cell::Text(p.medication.clone()),
                Cell::Text(format!("{amount} {}", p.dose_unit)),
                Cell::Text(p.route.to_string()),
                Cell::Text(frequency),
                p.duration_days.map_or(Cell::Empty, |d| Cell::Integer(d.into())),
                Cell::Integer(p.quantity.into()),
                Cell::Integer(p.refills.into()),
                Cell::Text(p.instructions.clone()),
            ]
        })
        .collect();
    let heading = Heading {
        title: format!("Prescription \u{2013} {}", facility.name),
        scope: facility.address.clone(),
        period: None,
        time_zone: facility.time_zone.clone(),
        generated_at: state.clock.now(),
    };
    let stem = format!("prescription-{}", c.id);
    let pdf = tokio::task::spawn_blocking(move || pdf::render(&heading, &lines, &columns, &rows, &[]))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Document { stem, pdf })
}
