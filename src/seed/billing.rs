//! The demo's dispensing and bills: the seeded prescriptions of catalogue
//! items dispensed first expiry first from the lots there at the visit's
//! time, and a bill for every completed appointment (its consultation fee
//! and the medication dispensed) with a realistic mix of paid, partially
//! paid, unpaid, draft and void bills and a few refunds. Every row is as
//! the API would have written it: on-hand is each lot's ledger sum, a
//! bill's total its lines and its paid amount its payments less refunds.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::billing::settle;
use crate::booking::calendar::local_date;
use crate::db::entities::{
    appointment, bill, bill_line, consultation, dispense, medication, payment, prescription, refund, stock_lot,
    stock_movement,
};
use crate::db::ids;
use crate::domain::{AppointmentStatus, BillLineKind, BillStatus, PaymentMethod, RefundStatus, StockMovementKind};

/// What a visit is charged: (description, price in minor units, currency).
pub type Fee = (String, i64, String);

/// What the bills are made from.
pub struct Inputs<'a> {
    pub appointments: &'a [appointment::Model],
    pub consultations: &'a [consultation::Model],
    pub prescriptions: &'a [prescription::Model],
    pub catalogue: &'a [medication::Model],
    /// The fee of a service by id.
    pub services: HashMap<Uuid, Fee>,
    /// A doctor's consultation fee by doctor id.
    pub doctors: HashMap<Uuid, Fee>,
    /// Each facility's currency and staff.
    pub facilities: HashMap<Uuid, Desk>,
}

/// A facility's currency, time zone and who bills and dispenses there.
pub struct Desk {
    pub currency: String,
    /// IANA zone: lots expire by the facility's local date.
    pub time_zone: String,
    /// The receptionist's user id: bills, payments, refunds.
    pub reception: Uuid,
    /// The nurse's user id: dispensing.
    pub nurse: Uuid,
}

/// The rows made.
#[derive(Default)]
pub struct Rows {
    pub dispenses: Vec<dispense::Model>,
    pub movements: Vec<stock_movement::Model>,
    pub bills: Vec<bill::Model>,
    pub lines: Vec<bill_line::Model>,
    pub payments: Vec<payment::Model>,
    pub refunds: Vec<refund::Model>,
}

/// Dispense the prescriptions (of catalogue items) and bill the completed
/// visits, in the order they happened, taking stock from `lots`. Bills are
/// returned as drafts with their final state in `finals` (their lines must
/// be inserted while they are drafts).
pub fn bill_visits(
    inputs: &Inputs<'_>,
    lots: &mut [stock_lot::Model],
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
) -> (Rows, Vec<bill::Model>) {
    let mut rows = Rows::default();
    let mut finals = Vec::new();
    let by_appointment: HashMap<Uuid, &consultation::Model> = inputs
        .consultations
        .iter()
        .filter_map(|c| c.appointment_id.map(|a| (a, c)))
        .collect();
    let mut orders: HashMap<Uuid, Vec<&prescription::Model>> = HashMap::new();
    for rx in inputs.prescriptions.iter().filter(|p| p.medication_id.is_some()) {
        orders.entry(rx.consultation_id).or_default().push(rx);
    }
    let items: HashMap<Uuid, &medication::Model> = inputs.catalogue.iter().map(|m| (m.id, m)).collect();
    let mut visits: Vec<&appointment::Model> = inputs
        .appointments
        .iter()
        .filter(|a| a.status == AppointmentStatus::Completed)
        .collect();
    visits.sort_by_key(|a| (a.end_at, a.id));
    for visit in visits {
        let Some(Desk {
            currency,
            time_zone,
            reception,
            nurse,
        }) = inputs.facilities.get(&visit.facility_id)
        else {
            continue;
        };
        let (reception, nurse) = (*reception, *nurse);
        let consultation = by_appointment.get(&visit.id);
        let billed_at = visit.end_at + TimeDelta::minutes(5);
        let id = ids::demo("bill", visit.id);
        let mut lines = Vec::new();
        let fee = visit
            .service_id
            .and_then(|s| inputs.services.get(&s))
            .filter(|(_, price, _)| *price > 0)
            .or_else(|| inputs.doctors.get(&visit.doctor_id));
        if let Some((description, price, _)) = fee.filter(|(_, _, code)| code == currency) {
            lines.push(line(
                id,
                lines.len(),
                BillLineKind::Consultation,
                description.clone(),
                1,
                *price,
                reception,
                billed_at,
            ));
        }
        for rx in consultation.and_then(|c| orders.get(&c.id)).into_iter().flatten() {
            let Some(item) = rx.medication_id.and_then(|m| items.get(&m)) else {
                continue;
            };
            let given_at = visit.end_at + TimeDelta::minutes(20);
            let day = local_date(time_zone, given_at);
            let dispense_id = ids::demo("dispense", rx.id);
            let mut left = rx.quantity;
            let mut takes = Vec::new();
            let mut order: Vec<usize> = (0..lots.len())
                .filter(|&i| {
                    let l = &lots[i];
                    l.medication_id == item.id
                        && l.facility_id == visit.facility_id
                        && l.received_at <= given_at
                        && l.expires_on >= day
                        && l.on_hand > 0
                        && &l.currency == currency
                })
                .collect();
            order.sort_by_key(|&i| (lots[i].expires_on, lots[i].received_at, lots[i].id));
            for i in order {
                if left == 0 {
                    break;
                }
                let take = left.min(lots[i].on_hand);
                left -= take;
                takes.push((i, take));
            }
            if left > 0 {
                // Not enough there that day: nothing is given (the patient buys it elsewhere).
                continue;
            }
            rows.dispenses.push(dispense::Model {
                id: dispense_id,
                prescription_id: rx.id,
                patient_id: rx.patient_id,
                medication_id: item.id,
                facility_id: visit.facility_id,
                quantity: rx.quantity,
                bill_id: Some(id),
                dispensed_by: nurse,
                dispensed_at: given_at,
            });
            for (n, (i, take)) in takes.into_iter().enumerate() {
                let lot = &mut lots[i];
                lot.on_hand -= take;
                lot.updated_at = lot.updated_at.max(given_at);
                rows.movements.push(stock_movement::Model {
                    id: ids::demo("stock_movement", format!("{dispense_id}/{n}")),
                    lot_id: lot.id,
                    medication_id: item.id,
                    facility_id: lot.facility_id,
                    kind: StockMovementKind::Dispense,
                    quantity: -take,
                    reason: None,
                    note: String::new(),
                    prescription_id: Some(rx.id),
                    on_hand_after: lot.on_hand,
                    recorded_by: nurse,
                    recorded_at: given_at,
                    dispense_id: Some(dispense_id),
                });
                let mut medication_line = line(
                    id,
                    lines.len(),
                    BillLineKind::Medication,
                    format!(
                        "{} {} {} {}, lot {}",
                        item.generic_name, item.strength, item.strength_unit, item.dosage_form, lot.lot_number
                    ),
                    take,
                    lot.unit_cost_minor,
                    nurse,
                    given_at,
                );
                medication_line.dispense_id = Some(dispense_id);
                medication_line.lot_id = Some(lot.id);
                lines.push(medication_line);
            }
        }
        if lines.is_empty() {
            continue;
        }
        let total: i64 = lines.iter().map(|l| l.amount_minor).sum();
        let draft = bill::Model {
            id,
            patient_id: visit.patient_id,
            facility_id: visit.facility_id,
            appointment_id: Some(visit.id),
            consultation_id: consultation.map(|c| c.id),
            currency: currency.clone(),
            status: BillStatus::Draft,
            total_minor: total,
            paid_minor: 0,
            void_reason: None,
            version: 1 + lines.len() as i32,
            created_by: reception,
            created_at: billed_at,
            issued_at: None,
            updated_at: billed_at,
        };
        rows.lines.extend(lines);
        let recent = visit.end_at > now - TimeDelta::days(2);
        let roll = rng.random_range(0..100);
        let mut done = draft.clone();
        let issued_at = billed_at + TimeDelta::minutes(25);
        match (recent, roll) {
            // Visits of the last two days: some bills are still being put together.
            (true, 0..=39) => {}
            (_, 0..=3) => {
                done.status = BillStatus::Void;
                done.void_reason = Some("Consultation waived: staff family".into());
                done.version += 1;
                done.updated_at = issued_at;
            }
            (_, roll) => {
                done.status = BillStatus::Issued;
                done.issued_at = Some(issued_at);
                done.version += 1;
                // Paid in full (about 60%), in part (20%) or not yet (the rest).
                let share = match roll {
                    4..=63 => 100,
                    64..=83 => rng.random_range(25..=75),
                    _ => 0,
                };
                let mut due = total * share / 100;
                let methods = [PaymentMethod::Cash, PaymentMethod::MobileBanking, PaymentMethod::Card];
                let mut n = 0;
                while due > 0 {
                    // A part payment now and then a second one for the rest.
                    let amount = if n == 0 && share == 100 && rng.random_bool(0.2) {
                        due / 2
                    } else {
                        due
                    }
                    .max(1);
                    let method = *methods.get(rng.random_range(0..methods.len())).expect("methods");
                    let at = issued_at + TimeDelta::minutes(5 + 60 * n);
                    let pay = payment::Model {
                        id: ids::demo("payment", format!("{id}/{n}")),
                        bill_id: id,
                        patient_id: visit.patient_id,
                        amount_minor: amount,
                        currency: currency.clone(),
                        method,
                        reference: match method {
                            PaymentMethod::MobileBanking => format!("bKash TX{:08X}", rng.random::<u32>()),
                            PaymentMethod::Card => format!("Card slip {:06}", rng.random_range(0..1_000_000)),
                            _ => format!("Receipt {:06}", rows.payments.len() + 1),
                        },
                        refunded_minor: 0,
                        received_by: reception,
                        received_at: at,
                    };
                    done.paid_minor += amount;
                    done.version += 1;
                    done.updated_at = at;
                    due -= amount;
                    n += 1;
                    rows.payments.push(pay);
                }
                // A few refunds of part of a paid bill (a test not done).
                if share == 100 && rng.random_range(0..100) < 6 {
                    let last = rows.payments.last_mut().expect("a payment");
                    let amount = (last.amount_minor / 5).max(1);
                    last.refunded_minor = amount;
                    let at = last.received_at + TimeDelta::hours(2);
                    rows.refunds.push(refund::Model {
                        id: ids::demo("refund", last.id),
                        payment_id: last.id,
                        bill_id: id,
                        amount_minor: amount,
                        currency: currency.clone(),
                        reason: "Medication returned unopened".into(),
                        status: RefundStatus::Completed,
                        requested_by: reception,
                        requested_at: at,
                        decided_by: Some(reception),
                        decided_at: Some(at),
                        decision_note: None,
                    });
                    done.paid_minor -= amount;
                    done.version += 1;
                    done.updated_at = at;
                }
                done.status = settle(BillStatus::Issued, done.total_minor, done.paid_minor);
            }
        }
        rows.bills.push(draft);
        finals.push(done);
    }
    (rows, finals)
}

#[allow(clippy::too_many_arguments)]
fn line(
    bill: Uuid,
    n: usize,
    kind: BillLineKind,
    description: String,
    quantity: i32,
    price: i64,
    by: Uuid,
    at: DateTime<Utc>,
) -> bill_line::Model {
    let mut description = description;
    description.truncate(200);
    bill_line::Model {
        id: ids::demo("bill_line", format!("{bill}/{n}")),
        bill_id: bill,
        kind,
        description,
        service_id: None,
        dispense_id: None,
        lot_id: None,
        quantity,
        unit_price_minor: price,
        discount_minor: 0,
        amount_minor: price * i64::from(quantity),
        created_by: by,
        created_at: at,
    }
}
