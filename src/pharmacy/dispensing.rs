//! Dispensing against a prescription: first expiry first out across the
//! lots at the consultation's facility, never an expired lot, never more
//! than the prescription allows (`quantity × (1 + refills)`, less what was
//! dispensed and not returned), and the medication lines on the visit's
//! draft bill, all in one transaction.
//!
//! Concurrent dispenses serialise on the consultation row, then on the lots
//! (locked first expiry first, so always in the same order); the lots'
//! `CHECK (on_hand >= 0)` is the last word.

use garde::Validate;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MAX_QUANTITY, insufficient, today};
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize, authorize_object};
use crate::billing::{self, NewLine};
use crate::db::entities::{consultation, dispense, medication, prescription, stock_movement};
use crate::db::pharmacy::DispenseLine;
use crate::db::{self, DbError, audit};
use crate::domain::{BillLineKind, PrescriptionStatus, StockMovementKind};
use crate::error::{AppError, AppResult};
use crate::input;
use crate::state::AppState;

/// A dispense to make.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DispenseIn {
    /// Dispensing units to give, at least 1.
    #[schema(example = 20)]
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = 1, max = MAX_QUANTITY))]
    pub quantity: i32,
    /// The catalogue item given, when the prescription names none (it must
    /// match when it does).
    #[garde(skip)]
    pub medication_id: Option<Uuid>,
}

/// A dispense with the lots it took from and what the prescription still allows.
#[derive(Debug, Clone)]
pub struct Dispensed {
    pub dispense: dispense::Model,
    pub lines: Vec<DispenseLine>,
    /// Units the prescription still allows.
    pub remaining: i64,
}

fn allowed(rx: &prescription::Model) -> i64 {
    i64::from(rx.quantity) * (1 + i64::from(rx.refills))
}

/// The prescription and its consultation, if `actor` may `action` them.
/// Errors: 404 (prescription) when they may not see it.
async fn visible(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
) -> AppResult<(prescription::Model, consultation::Model)> {
    authorize(actor, action)?;
    let conn = state.db.conn();
    let rx = db::find_by_id::<prescription::Entity>(conn, id)
        .await?
        .ok_or(AppError::NotFound("prescription"))?;
    let visit = db::consultations::find(conn, rx.consultation_id)
        .await?
        .ok_or(AppError::NotFound("prescription"))?;
    let seen = if action == Action::ClinicalRead {
        let record = crate::auth::policy::patient_record(conn, actor, rx.patient_id).await?;
        authorize_object(actor, action, &crate::auth::policy::ClinicalRecord(record))
    } else {
        authorize_object(actor, action, &visit)
    };
    seen.map_err(|err| match err {
        AppError::NotFound(_) => AppError::NotFound("prescription"),
        err => err,
    })?;
    Ok((rx, visit))
}

fn description(item: &medication::Model, lot: &str) -> String {
    let mut text = format!(
        "{} {} {} {}, lot {lot}",
        item.generic_name, item.strength, item.strength_unit, item.dosage_form
    );
    text.truncate(200);
    text
}

/// Dispense against prescription `id` (a nurse at the consultation's facility, admins).
///
/// Errors: 404 when the actor may not see it; 403; 422 naming `quantity`
/// or `medication_id` (none given for a prescription without a catalogue
/// item, another than the prescription's, unknown); 409
/// `prescription_not_active`, `dispense_exceeds_prescription` (naming
/// what remains), `insufficient_stock` (naming the shortfall in unexpired
/// lots there), `medication_inactive`, `lot_currency` (a lot priced in
/// another currency than the facility bills in).
pub async fn dispense(state: &AppState, actor: &Actor, id: Uuid, body: DispenseIn) -> AppResult<Dispensed> {
    authorize(actor, Action::PrescriptionDispense)?;
    body.validate()?;
    let (rx, visit) = visible(state, actor, id, Action::PrescriptionDispense).await?;
    let medication_id = match (rx.medication_id, body.medication_id) {
        (Some(named), Some(given)) if named != given => {
            return Err(AppError::invalid_field(
                "medication_id",
                "the prescription names another catalogue item",
            ));
        }
        (Some(named), _) => named,
        (None, Some(given)) => given,
        (None, None) => {
            return Err(AppError::invalid_field(
                "medication_id",
                "the prescription names no catalogue item: say which one is given",
            ));
        }
    };
    let item = db::pharmacy::find(state.db.conn(), medication_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("medication_id", "no such catalogue item"))?;
    if !item.active {
        return Err(AppError::conflict(
            "medication_inactive",
            "this catalogue item is inactive and is not dispensed",
        ));
    }
    let today = today(state, Some(visit.facility_id)).await?;
    let now = state.clock.now();
    let wanted = i64::from(body.quantity);
    let tx = state.db.begin_write().await?;
    db::consultations::find_for_update(&tx, visit.id)
        .await?
        .ok_or(AppError::NotFound("prescription"))?;
    let rx: prescription::Model = db::find_for_update(&tx, "prescriptions", rx.id)
        .await?
        .ok_or(AppError::NotFound("prescription"))?;
    if rx.status != PrescriptionStatus::Active {
        return Err(AppError::conflict(
            "prescription_not_active",
            format!("the prescription is {}", rx.status),
        ));
    }
    let remaining = allowed(&rx) - db::pharmacy::net_dispensed(&tx, rx.id, None).await?;
    if wanted > remaining {
        return Err(AppError::conflict(
            "dispense_exceeds_prescription",
            format!(
                "{wanted} units asked for; the prescription allows {} ({} × {} fills), {remaining} remain",
                allowed(&rx),
                rx.quantity,
                1 + rx.refills
            ),
        ));
    }
    let lots = db::pharmacy::dispensable_lots(&tx, medication_id, visit.facility_id, today).await?;
    let usable: i64 = lots.iter().map(|l| i64::from(l.on_hand)).sum();
    if usable < wanted {
        return Err(insufficient(usable, wanted));
    }
    let mut bill = billing::draft_for_medication(
        &tx,
        rx.patient_id,
        visit.facility_id,
        visit.id,
        visit.appointment_id,
        actor.user_id,
        now,
    )
    .await?;
    let row = dispense::Model {
        id: Uuid::now_v7(),
        prescription_id: rx.id,
        patient_id: rx.patient_id,
        medication_id,
        facility_id: visit.facility_id,
        quantity: body.quantity,
        bill_id: Some(bill.id),
        dispensed_by: actor.user_id,
        dispensed_at: now,
    };
    db::insert_row::<dispense::ActiveModel>(&tx, row.clone()).await?;
    let mut left = body.quantity;
    let mut lines = Vec::new();
    let mut bill_lines = Vec::new();
    for lot in &lots {
        if left == 0 {
            break;
        }
        let take = left.min(lot.on_hand);
        left -= take;
        if lot.currency != bill.currency {
            return Err(AppError::conflict(
                "lot_currency",
                format!(
                    "lot {} is priced in {}; this facility bills in {}",
                    lot.lot_number, lot.currency, bill.currency
                ),
            ));
        }
        let movement = stock_movement::Model {
            id: Uuid::now_v7(),
            lot_id: lot.id,
            medication_id,
            facility_id: lot.facility_id,
            kind: StockMovementKind::Dispense,
            quantity: -take,
            reason: None,
            note: String::new(),
            prescription_id: Some(rx.id),
            on_hand_after: 0,
            recorded_by: actor.user_id,
            recorded_at: now,
            dispense_id: Some(row.id),
        };
        let movement = db::pharmacy::apply(&tx, movement).await.map_err(|err| match err {
            DbError::Check => insufficient(usable, wanted),
            err => err.into(),
        })?;
        lines.push(DispenseLine {
            movement_id: movement.id,
            lot_id: lot.id,
            lot_number: lot.lot_number.clone(),
            expires_on: lot.expires_on,
            quantity: take,
        });
        bill_lines.push(NewLine {
            kind: BillLineKind::Medication,
            description: description(&item, &lot.lot_number),
            service_id: None,
            dispense_id: Some(row.id),
            lot_id: Some(lot.id),
            quantity: take,
            unit_price_minor: lot.unit_cost_minor,
            discount_minor: 0,
        });
    }
    billing::add_lines(&tx, &mut bill, bill_lines, actor.user_id, now).await?;
    let level = i64::from(item.reorder_level);
    if usable > level && usable - wanted <= level {
        let message = format!(
            "{} {} {} {}: {} {} usable at the facility after a dispense, at or below the reorder level of {level}.",
            item.generic_name,
            item.strength,
            item.strength_unit,
            item.dosage_form,
            usable - wanted,
            item.dispensing_unit,
        );
        let title = "Stock below reorder level";
        crate::notifications::tell_role(
            &tx,
            crate::domain::Role::Admin,
            None,
            "stock_below_reorder",
            title,
            &message,
            now,
        )
        .await?;
    }
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(Dispensed {
        dispense: row,
        lines,
        remaining: remaining - wanted,
    })
}

async fn with_lines(
    state: &AppState,
    rx: &prescription::Model,
    rows: Vec<dispense::Model>,
) -> AppResult<Vec<Dispensed>> {
    let conn = state.db.conn();
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let mut lines = db::pharmacy::dispense_lines(conn, &ids).await?;
    let remaining = allowed(rx) - db::pharmacy::net_dispensed(conn, rx.id, None).await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let (mine, rest): (Vec<_>, Vec<_>) = lines.drain(..).partition(|(of, _)| *of == d.id);
            lines = rest;
            Dispensed {
                lines: mine.into_iter().map(|(_, l)| l).collect(),
                dispense: d,
                remaining,
            }
        })
        .collect())
}

/// The dispenses of a prescription, oldest first. Errors: 404 when the
/// actor may not see the patient's clinical record.
pub async fn of_prescription(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Vec<Dispensed>> {
    let (rx, _) = visible(state, actor, id, Action::ClinicalRead).await?;
    let rows = db::pharmacy::dispenses_of(state.db.conn(), rx.id).await?;
    with_lines(state, &rx, rows).await
}

/// A dispense. Errors: 404 when the actor may not see the patient's clinical record.
pub async fn by_id(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Dispensed> {
    authorize(actor, Action::ClinicalRead)?;
    let row = db::find_by_id::<dispense::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("dispense"))?;
    let (rx, _) = visible(state, actor, row.prescription_id, Action::ClinicalRead)
        .await
        .map_err(|err| match err {
            AppError::NotFound(_) => AppError::NotFound("dispense"),
            err => err,
        })?;
    let mut found = with_lines(state, &rx, vec![row]).await?;
    found.pop().ok_or(AppError::NotFound("dispense"))
}
