//! The pharmacy: the medication catalogue (FHIR Medication) and its stock,
//! kept as an append-only ledger of movements per lot.
//!
//! A lot is received at a facility with `POST /medications/{id}/lots` (its
//! receipt is the lot's first movement); adjustments (either way, with a
//! reason from [`StockReason`]), disposals and returns are movements on a
//! lot. Each movement changes the lot's on-hand in the same transaction, and
//! the database refuses on-hand below zero (`CHECK (on_hand >= 0)`), so no
//! interleaving of requests can take stock negative. Movements are never
//! changed or deleted: a correction is a new movement.

pub mod dispensing;

use chrono::{DateTime, NaiveDate, Utc};
use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db::entities::{medication, stock_lot, stock_movement};
use crate::db::pharmacy::MedicationFilter;
use crate::db::{self, DbError, PageRequest, Paged, audit, directory as db_directory};
use crate::domain::{StockMovementKind, StockReason};
use crate::error::{AppError, AppResult};
use crate::input::{self, Search, Text, TextOrEmpty};
use crate::state::AppState;

/// Most units one movement may carry.
pub const MAX_QUANTITY: i32 = 1_000_000;

/// A catalogue item to add.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MedicationIn {
    /// The generic name (`amoxicillin`); stored lower-case.
    #[schema(example = "amoxicillin")]
    #[garde(dive)]
    pub generic_name: Text<200>,
    #[schema(example = "CAPSULE")]
    #[garde(dive)]
    pub dosage_form: Text<100>,
    #[schema(example = "ORAL")]
    #[garde(dive)]
    pub route: Text<64>,
    /// `500`; combinations each part (`875; 125`).
    #[schema(example = "500")]
    #[garde(dive)]
    pub strength: Text<64>,
    /// `mg/1` is per unit (tablet, capsule); `mg/5mL` per 5 mL.
    #[schema(example = "mg/1")]
    #[garde(dive)]
    pub strength_unit: Text<64>,
    /// What one unit of stock is (`capsule`, `bottle`).
    #[schema(example = "capsule")]
    #[garde(dive)]
    pub dispensing_unit: Text<32>,
    /// Reorder at or below this many dispensing units (default 0).
    #[serde(default, deserialize_with = "input::integer")]
    #[garde(range(min = 0, max = MAX_QUANTITY))]
    pub reorder_level: i32,
    /// Default true.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Changes to a catalogue item; absent fields stay. The presentation
/// (name, form, route, strength) is what the item is and does not change:
/// add a new item and deactivate this one.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MedicationPatch {
    #[garde(dive)]
    pub dispensing_unit: Option<Text<32>>,
    #[serde(default, deserialize_with = "input::optional_integer")]
    #[garde(inner(range(min = 0, max = MAX_QUANTITY)))]
    pub reorder_level: Option<i32>,
    #[garde(skip)]
    pub active: Option<bool>,
}

/// Filters of the catalogue.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MedicationQuery {
    /// Text in the generic name, dosage form or strength.
    #[param(inline)]
    pub search: Option<Search>,
    /// Only active (true) or inactive (false) items.
    pub active: Option<bool>,
    /// Only items whose usable stock (unexpired lots) is at or below their reorder level.
    pub below_reorder: Option<bool>,
    /// Only items with stock in a lot that expires before this day (`YYYY-MM-DD`).
    pub expiring_before: Option<NaiveDate>,
    /// Count stock at this facility only (and judge expiry by its local day).
    pub facility: Option<Uuid>,
}

/// A lot received: its first movement is the receipt of `quantity`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LotIn {
    /// Where the stock is kept.
    #[garde(skip)]
    pub facility_id: Uuid,
    #[schema(example = "AMX-2026-114")]
    #[garde(dive)]
    pub lot_number: Text<64>,
    /// The last day it may be dispensed; after the facility's today.
    #[schema(example = "2027-06-30")]
    #[garde(skip)]
    pub expires_on: NaiveDate,
    #[serde(default)]
    #[garde(dive)]
    pub supplier: TextOrEmpty<200>,
    /// Cost of one dispensing unit, a decimal string in `currency` (`"2.50"`).
    #[schema(example = "2.50")]
    #[garde(length(max = 24))]
    pub unit_cost: String,
    /// ISO 4217: the facility's (its default).
    #[schema(example = "BDT")]
    #[garde(skip)]
    pub currency: Option<String>,
    /// Dispensing units received, 1–1,000,000.
    #[schema(example = 500)]
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = 1, max = MAX_QUANTITY))]
    pub quantity: i32,
}

/// A movement on a lot other than a receipt or a dispense.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MovementIn {
    /// A lot of this medication.
    #[garde(skip)]
    pub lot_id: Uuid,
    /// `adjustment`, `disposal` or `return`.
    #[garde(skip)]
    pub kind: StockMovementKind,
    /// Dispensing units: an adjustment is signed (`-3` takes three away);
    /// a disposal or a return is the positive number of units.
    #[schema(example = -3)]
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = -MAX_QUANTITY, max = MAX_QUANTITY))]
    pub quantity: i32,
    /// Adjustment: `stock_count`, `data_entry_error`, `found`, `lost`;
    /// disposal: `expired`, `damaged`, `recalled`; return: `patient_return`.
    #[garde(skip)]
    pub reason: StockReason,
    #[serde(default)]
    #[garde(dive)]
    pub note: TextOrEmpty<500>,
    /// A return: the prescription the units were dispensed against (from
    /// this lot); required for returns, refused for other kinds.
    #[garde(skip)]
    pub prescription_id: Option<Uuid>,
}

/// A medication's stock: its lots, first expiry first, with totals.
#[derive(Debug, Clone)]
pub struct Stock {
    /// The lots.
    pub lots: Vec<stock_lot::Model>,
    /// The day expiry is judged on.
    pub today: NaiveDate,
}

impl Stock {
    /// Units in lots that have not expired.
    pub fn usable(&self) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.expires_on >= self.today)
            .map(|l| i64::from(l.on_hand))
            .sum()
    }

    /// Units in every lot, expired or not.
    pub fn total(&self) -> i64 {
        self.lots.iter().map(|l| i64::from(l.on_hand)).sum()
    }
}

/// The day lots are judged on at `facility` (its local date), or in UTC.
async fn today(state: &AppState, facility: Option<Uuid>) -> AppResult<NaiveDate> {
    let now = state.clock.now();
    let Some(facility) = facility else {
        return Ok(now.date_naive());
    };
    let row = db_directory::find_facility(state.db.conn(), facility)
        .await?
        .ok_or_else(|| AppError::invalid_field("facility", "no such facility"))?;
    Ok(crate::booking::calendar::local_date(&row.time_zone, now))
}

/// One page of the catalogue with each item's usable stock.
///
/// Errors: 403 for patients; 422 for an unknown `facility`.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &MedicationQuery,
    page: PageRequest,
) -> AppResult<(Paged<medication::Model>, std::collections::HashMap<Uuid, i64>)> {
    authorize(actor, Action::MedicationRead)?;
    let today = today(state, query.facility).await?;
    let filter = MedicationFilter {
        search: input::search(&query.search),
        active: query.active,
        below_reorder: query.below_reorder.unwrap_or(false),
        expiring_before: query.expiring_before,
        facility: query.facility,
        today,
    };
    let found = db::pharmacy::list(state.db.conn(), &filter, page).await?;
    let ids: Vec<Uuid> = found.rows.iter().map(|m| m.id).collect();
    let stock = db::pharmacy::usable_stock(state.db.conn(), &ids, query.facility, today).await?;
    Ok((found, stock))
}

/// A catalogue item. Errors: 403 for patients; 404.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<medication::Model> {
    authorize(actor, Action::MedicationRead)?;
    db::pharmacy::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("medication"))
}

/// Add a catalogue item (admins).
///
/// Errors: 403; 422 for blank or long text; 409 `medication_exists` for a
/// presentation already in the catalogue.
pub async fn create(state: &AppState, actor: &Actor, body: MedicationIn) -> AppResult<medication::Model> {
    authorize(actor, Action::MedicationWrite)?;
    body.validate()?;
    let now = state.clock.now();
    let row = medication::Model {
        id: Uuid::now_v7(),
        generic_name: body.generic_name.into_trimmed().to_lowercase(),
        dosage_form: body.dosage_form.into_trimmed(),
        route: body.route.into_trimmed(),
        strength: body.strength.into_trimmed(),
        strength_unit: body.strength_unit.into_trimmed(),
        dispensing_unit: body.dispensing_unit.into_trimmed(),
        reorder_level: body.reorder_level,
        active: body.active,
        created_at: now,
        updated_at: now,
    };
    let tx = state.db.begin_write().await?;
    db::pharmacy::insert(&tx, row.clone()).await.map_err(|err| match err {
        DbError::Unique(_) => AppError::conflict(
            "medication_exists",
            "this presentation (generic name, form, route, strength) is already in the catalogue",
        ),
        err => err.into(),
    })?;
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

/// Change a catalogue item's dispensing unit, reorder level or active flag (admins).
///
/// Errors: 403; 404; 422 for blank text or a negative reorder level.
pub async fn update(state: &AppState, actor: &Actor, id: Uuid, body: MedicationPatch) -> AppResult<medication::Model> {
    authorize(actor, Action::MedicationWrite)?;
    body.validate()?;
    let tx = state.db.begin_write().await?;
    let mut row: medication::Model = db::find_for_update(&tx, "medications", id)
        .await?
        .ok_or(AppError::NotFound("medication"))?;
    if let Some(unit) = body.dispensing_unit {
        row.dispensing_unit = unit.into_trimmed();
    }
    if let Some(level) = body.reorder_level {
        row.reorder_level = level;
    }
    if let Some(active) = body.active {
        row.active = active;
    }
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let row = db::pharmacy::update(&tx, row).await?;
    tx.commit().await?;
    Ok(row)
}

/// A medication's stock (at `facility` if given). Errors: 403 for patients; 404.
pub async fn stock(state: &AppState, actor: &Actor, id: Uuid, facility: Option<Uuid>) -> AppResult<Stock> {
    get(state, actor, id).await?;
    let today = today(state, facility).await?;
    let lots = db::pharmacy::lots(state.db.conn(), id, facility).await?;
    Ok(Stock { lots, today })
}

/// Receive a lot (admins): the lot and its receipt movement, one transaction.
///
/// Errors: 403; 404 for the medication; 422 naming `facility_id`
/// (unknown), `expires_on` (not after the facility's today), `unit_cost`
/// or `currency` (not money in that currency), `quantity`; 409
/// `medication_inactive`, `lot_exists` (that lot number is already
/// received there: a correction is an adjustment).
pub async fn receive(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: LotIn,
) -> AppResult<(stock_lot::Model, stock_movement::Model)> {
    authorize(actor, Action::StockWrite)?;
    body.validate()?;
    let item = get(state, actor, id).await?;
    if !item.active {
        return Err(AppError::conflict(
            "medication_inactive",
            "this catalogue item is inactive and takes no new stock",
        ));
    }
    let facility = db_directory::find_facility(state.db.conn(), body.facility_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("facility_id", "no such facility"))?;
    let today = today(state, Some(body.facility_id)).await?;
    // Stock is priced in what the facility bills in, so that dispensing can bill it.
    let currency = body.currency.as_deref().unwrap_or(&facility.currency);
    if !currency.eq_ignore_ascii_case(&facility.currency) {
        return Err(AppError::invalid_field(
            "currency",
            format!("this facility bills in {}: price its stock in it", facility.currency),
        ));
    }
    if body.expires_on <= today {
        return Err(AppError::invalid_field(
            "expires_on",
            "must be after today: expired stock is not received",
        ));
    }
    let cost = crate::directory::services::money("unit_cost", &body.unit_cost, Some(currency))?;
    let now = state.clock.now();
    let lot = stock_lot::Model {
        id: Uuid::now_v7(),
        medication_id: id,
        facility_id: body.facility_id,
        lot_number: body.lot_number.into_trimmed(),
        expires_on: body.expires_on,
        supplier: body.supplier.into_trimmed(),
        unit_cost_minor: cost.minor,
        currency: cost.currency.code().to_owned(),
        on_hand: 0,
        received_by: actor.user_id,
        received_at: now,
        updated_at: now,
    };
    let tx = state.db.begin_write().await?;
    db::pharmacy::insert_lot(&tx, lot.clone())
        .await
        .map_err(|err| match err {
            DbError::Unique(_) => AppError::conflict(
                "lot_exists",
                "this lot number is already received at this facility; correct its stock with an adjustment",
            ),
            err => err.into(),
        })?;
    let receipt = db::pharmacy::apply(
        &tx,
        movement(
            &lot,
            StockMovementKind::Receipt,
            body.quantity,
            None,
            String::new(),
            None,
            actor.user_id,
            now,
        ),
    )
    .await?;
    audit::note_object(lot.id);
    tx.commit().await?;
    Ok((
        stock_lot::Model {
            on_hand: receipt.on_hand_after,
            ..lot
        },
        receipt,
    ))
}

#[allow(clippy::too_many_arguments)]
fn movement(
    lot: &stock_lot::Model,
    kind: StockMovementKind,
    quantity: i32,
    reason: Option<StockReason>,
    note: String,
    prescription: Option<Uuid>,
    by: Uuid,
    at: DateTime<Utc>,
) -> stock_movement::Model {
    stock_movement::Model {
        id: Uuid::now_v7(),
        lot_id: lot.id,
        medication_id: lot.medication_id,
        facility_id: lot.facility_id,
        kind,
        quantity,
        reason,
        note,
        prescription_id: prescription,
        on_hand_after: 0,
        recorded_by: by,
        recorded_at: at,
        dispense_id: None,
    }
}

/// 409 `insufficient_stock` naming what is on hand.
pub fn insufficient(on_hand: i64, wanted: i64) -> AppError {
    AppError::conflict(
        "insufficient_stock",
        format!(
            "{wanted} units asked for, {on_hand} on hand: short by {}",
            wanted - on_hand
        ),
    )
}

/// Record an adjustment, disposal or return on a lot (admins).
///
/// Errors: 403; 404 for the medication; 422 naming `kind` (a receipt or a
/// dispense: those have their own routes), `quantity` (zero, or negative
/// for a disposal or return), `reason` (not one for this kind), `lot_id`
/// (not a lot of this medication); 409 `insufficient_stock` when it would
/// take the lot below zero.
pub async fn record(state: &AppState, actor: &Actor, id: Uuid, body: MovementIn) -> AppResult<stock_movement::Model> {
    authorize(actor, Action::StockWrite)?;
    body.validate()?;
    let signed = match body.kind {
        StockMovementKind::Adjustment if body.quantity != 0 => body.quantity,
        StockMovementKind::Disposal if body.quantity > 0 => -body.quantity,
        StockMovementKind::Return if body.quantity > 0 => body.quantity,
        StockMovementKind::Adjustment => {
            return Err(AppError::invalid_field("quantity", "an adjustment is not zero"));
        }
        StockMovementKind::Disposal | StockMovementKind::Return => {
            return Err(AppError::invalid_field(
                "quantity",
                "must be a positive number of units",
            ));
        }
        StockMovementKind::Receipt | StockMovementKind::Dispense => {
            return Err(AppError::invalid_field(
                "kind",
                "receive with POST /medications/{id}/lots and dispense with POST /prescriptions/{id}/dispense",
            ));
        }
    };
    if !body.reason.fits(body.kind) {
        return Err(AppError::invalid_field(
            "reason",
            format!("is not a reason for a {}", body.kind),
        ));
    }
    get(state, actor, id).await?;
    let prescription = match (body.kind, body.prescription_id) {
        (StockMovementKind::Return, None) => {
            return Err(AppError::invalid_field(
                "prescription_id",
                "a return names the prescription it was dispensed against",
            ));
        }
        (StockMovementKind::Return, given) => given,
        (_, Some(_)) => {
            return Err(AppError::invalid_field(
                "prescription_id",
                "only a return names a prescription",
            ));
        }
        (_, None) => None,
    };
    let tx = state.db.begin_write().await?;
    if let Some(rx) = prescription {
        let given = db::pharmacy::net_dispensed(&tx, rx, Some(body.lot_id)).await?;
        if given < i64::from(signed) {
            return Err(AppError::invalid_field(
                "prescription_id",
                format!("{given} units of this lot were dispensed against this prescription and not returned"),
            ));
        }
    }
    let lot = db::pharmacy::lot_for_update(&tx, body.lot_id)
        .await?
        .filter(|l| l.medication_id == id)
        .ok_or_else(|| AppError::invalid_field("lot_id", "no such lot of this medication"))?;
    if i64::from(lot.on_hand) + i64::from(signed) < 0 {
        return Err(insufficient(lot.on_hand.into(), (-signed).into()));
    }
    let now = state.clock.now();
    let row = movement(
        &lot,
        body.kind,
        signed,
        Some(body.reason),
        body.note.into_trimmed(),
        prescription,
        actor.user_id,
        now,
    );
    let row = db::pharmacy::apply(&tx, row).await.map_err(|err| match err {
        DbError::Check => insufficient(lot.on_hand.into(), (-signed).into()),
        err => err.into(),
    })?;
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

/// A lot, with the day its expiry is judged on (its facility's today).
/// Errors: 403 for patients; 404.
pub async fn lot(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<(stock_lot::Model, NaiveDate)> {
    authorize(actor, Action::MedicationRead)?;
    let row = db::find_by_id::<stock_lot::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("stock lot"))?;
    let today = today(state, Some(row.facility_id)).await?;
    Ok((row, today))
}

/// A movement of the ledger. Errors: 403 for patients; 404.
pub async fn movement_by_id(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<stock_movement::Model> {
    authorize(actor, Action::MedicationRead)?;
    db::find_by_id::<stock_movement::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("stock movement"))
}

/// One page of a medication's movements, newest first. Errors: 403 for patients; 404.
pub async fn movements(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    page: PageRequest,
) -> AppResult<Paged<stock_movement::Model>> {
    get(state, actor, id).await?;
    Ok(db::pharmacy::movements(state.db.conn(), id, page).await?)
}
