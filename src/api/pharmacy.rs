//! The pharmacy over HTTP (see [`crate::pharmacy`]): the catalogue, stock
//! per lot and the stock ledger.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{ListQuery, NoFilter, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::entities::{medication, stock_lot, stock_movement};
use crate::domain::{Money, StockMovementKind, StockReason};
use crate::error::AppResult;
use crate::pharmacy::dispensing::{self, DispenseIn, Dispensed};
use crate::pharmacy::{self, LotIn, MedicationIn, MedicationPatch, MedicationQuery, MovementIn, Stock};
use crate::state::AppState;

/// A catalogue item (FHIR Medication).
#[derive(Debug, Serialize, ToSchema)]
pub struct MedicationOut {
    pub id: Uuid,
    #[schema(example = "amoxicillin")]
    pub generic_name: String,
    #[schema(example = "CAPSULE")]
    pub dosage_form: String,
    #[schema(example = "ORAL")]
    pub route: String,
    #[schema(example = "500")]
    pub strength: String,
    #[schema(example = "mg/1")]
    pub strength_unit: String,
    #[schema(example = "capsule")]
    pub dispensing_unit: String,
    pub reorder_level: i32,
    pub active: bool,
    /// Units in unexpired lots (at the `facility` asked for, in lists); absent when not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usable_stock: Option<i64>,
    /// Whether `usable_stock` is at or below `reorder_level`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below_reorder: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MedicationOut {
    fn with_stock(row: medication::Model, usable: Option<i64>) -> Self {
        MedicationOut {
            below_reorder: usable.map(|u| u <= i64::from(row.reorder_level)),
            usable_stock: usable,
            id: row.id,
            generic_name: row.generic_name,
            dosage_form: row.dosage_form,
            route: row.route,
            strength: row.strength,
            strength_unit: row.strength_unit,
            dispensing_unit: row.dispensing_unit,
            reorder_level: row.reorder_level,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<medication::Model> for MedicationOut {
    fn from(row: medication::Model) -> Self {
        MedicationOut::with_stock(row, None)
    }
}

/// A lot of stock at a facility.
#[derive(Debug, Serialize, ToSchema)]
pub struct LotOut {
    pub id: Uuid,
    pub medication_id: Uuid,
    pub facility_id: Uuid,
    pub lot_number: String,
    /// The last day it may be dispensed.
    pub expires_on: NaiveDate,
    /// Past `expires_on` at the facility today: never dispensed.
    pub expired: bool,
    pub supplier: String,
    /// Cost of one dispensing unit, a decimal string.
    #[schema(example = "2.50")]
    pub unit_cost: String,
    #[schema(example = "BDT")]
    pub currency: String,
    /// Dispensing units on hand: the sum of its movements.
    pub on_hand: i32,
    pub received_by: Uuid,
    pub received_at: DateTime<Utc>,
}

fn lot_out(row: stock_lot::Model, today: NaiveDate) -> LotOut {
    LotOut {
        expired: row.expires_on < today,
        unit_cost: Money::format(row.unit_cost_minor, &row.currency),
        id: row.id,
        medication_id: row.medication_id,
        facility_id: row.facility_id,
        lot_number: row.lot_number,
        expires_on: row.expires_on,
        supplier: row.supplier,
        currency: row.currency,
        on_hand: row.on_hand,
        received_by: row.received_by,
        received_at: row.received_at,
    }
}

/// A medication's stock: per lot, first expiry first, and in total.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockOut {
    pub medication_id: Uuid,
    /// The facility counted; null for all.
    pub facility_id: Option<Uuid>,
    /// The day expiry is judged on (the facility's local date; UTC for all).
    pub as_of: NaiveDate,
    /// Units in unexpired lots.
    pub usable: i64,
    /// Units in expired lots (to be disposed of).
    pub expired: i64,
    /// Every unit on hand.
    pub total: i64,
    pub lots: Vec<LotOut>,
}

/// One movement of the stock ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementOut {
    pub id: Uuid,
    pub lot_id: Uuid,
    pub medication_id: Uuid,
    pub facility_id: Uuid,
    pub kind: StockMovementKind,
    /// Signed dispensing units.
    pub quantity: i32,
    pub reason: Option<StockReason>,
    pub note: String,
    pub prescription_id: Option<Uuid>,
    /// The lot's on-hand after it.
    pub on_hand_after: i32,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    /// The dispense a dispense movement belongs to.
    pub dispense_id: Option<Uuid>,
}

impl From<stock_movement::Model> for MovementOut {
    fn from(row: stock_movement::Model) -> Self {
        MovementOut {
            id: row.id,
            lot_id: row.lot_id,
            medication_id: row.medication_id,
            facility_id: row.facility_id,
            kind: row.kind,
            quantity: row.quantity,
            reason: row.reason,
            note: row.note,
            prescription_id: row.prescription_id,
            on_hand_after: row.on_hand_after,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
            dispense_id: row.dispense_id,
        }
    }
}

/// A lot just received, with its receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivedOut {
    pub lot: LotOut,
    pub receipt: MovementOut,
}

/// Which facility's stock.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StockQuery {
    /// Only this facility's lots (default: all).
    pub facility: Option<Uuid>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_medications, create_medication))
        .routes(routes!(get_medication, update_medication))
        .routes(routes!(receive_lot))
        .routes(routes!(medication_stock))
        .routes(routes!(list_movements, record_movement))
        .routes(routes!(get_lot))
        .routes(routes!(get_movement))
        .routes(routes!(dispense))
        .routes(routes!(prescription_dispenses))
        .routes(routes!(get_dispense))
}

/// One lot's part of a dispense.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispenseLotOut {
    pub lot_id: Uuid,
    pub lot_number: String,
    pub expires_on: NaiveDate,
    /// Units from this lot.
    pub quantity: i32,
    /// The ledger's dispense movement.
    pub movement_id: Uuid,
}

/// Medication given out against a prescription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispenseOut {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub patient_id: Uuid,
    pub medication_id: Uuid,
    pub facility_id: Uuid,
    pub quantity: i32,
    /// The lots taken from, first expiry first.
    pub lots: Vec<DispenseLotOut>,
    /// Units the prescription still allows (quantity × (1 + refills) less what was dispensed and not returned).
    pub remaining: i64,
    /// The draft bill its medication lines went on.
    pub bill_id: Option<Uuid>,
    pub dispensed_by: Uuid,
    pub dispensed_at: DateTime<Utc>,
}

impl From<Dispensed> for DispenseOut {
    fn from(done: Dispensed) -> Self {
        let row = done.dispense;
        DispenseOut {
            id: row.id,
            prescription_id: row.prescription_id,
            patient_id: row.patient_id,
            medication_id: row.medication_id,
            facility_id: row.facility_id,
            quantity: row.quantity,
            lots: done
                .lines
                .into_iter()
                .map(|l| DispenseLotOut {
                    lot_id: l.lot_id,
                    lot_number: l.lot_number,
                    expires_on: l.expires_on,
                    quantity: l.quantity,
                    movement_id: l.movement_id,
                })
                .collect(),
            remaining: done.remaining,
            bill_id: row.bill_id,
            dispensed_by: row.dispensed_by,
            dispensed_at: row.dispensed_at,
        }
    }
}

/// Dispense against a prescription at its consultation's facility: first
/// expiry first out across unexpired lots, within what the prescription
/// allows; the medication lines go on the visit's draft bill.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/dispense", tag = "pharmacy", request_body = DispenseIn,
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 201, description = "Dispensed", body = DispenseOut, headers(("Location" = String, description = "The new dispense"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PrescriptionDispense))))]
pub async fn dispense(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DispenseIn>,
) -> AppResult<impl IntoResponse> {
    let done = dispensing::dispense(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/dispenses/{}", done.dispense.id),
        DispenseOut::from(done),
    ))
}

/// What was dispensed against a prescription, oldest first.
#[utoipa::path(get, path = "/api/v1/prescriptions/{id}/dispenses", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "Its dispenses", body = Vec<DispenseOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn prescription_dispenses(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<DispenseOut>>> {
    let found = dispensing::of_prescription(&state, &actor, id).await?;
    Ok(Json(found.into_iter().map(DispenseOut::from).collect()))
}

/// A dispense.
#[utoipa::path(get, path = "/api/v1/dispenses/{id}", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Dispense id")),
    responses((status = 200, description = "The dispense", body = DispenseOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn get_dispense(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<DispenseOut>> {
    Ok(Json(dispensing::by_id(&state, &actor, id).await?.into()))
}

/// A lot of stock.
#[utoipa::path(get, path = "/api/v1/stock-lots/{id}", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Lot id")),
    responses((status = 200, description = "The lot", body = LotOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationRead))))]
pub async fn get_lot(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<LotOut>> {
    let (lot, today) = pharmacy::lot(&state, &actor, id).await?;
    Ok(Json(lot_out(lot, today)))
}

/// A movement of the stock ledger.
#[utoipa::path(get, path = "/api/v1/stock-movements/{id}", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Movement id")),
    responses((status = 200, description = "The movement", body = MovementOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationRead))))]
pub async fn get_movement(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<MovementOut>> {
    Ok(Json(pharmacy::movement_by_id(&state, &actor, id).await?.into()))
}

/// The catalogue, by generic name, with each item's usable stock.
#[utoipa::path(get, path = "/api/v1/medications", tag = "pharmacy", params(PageParams, MedicationQuery),
    responses((status = 200, description = "A page of catalogue items", body = Page<MedicationOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationRead))))]
pub async fn list_medications(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<MedicationQuery>,
) -> AppResult<Json<Page<MedicationOut>>> {
    let (found, stock) = pharmacy::list(&state, &actor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, |row| {
        let usable = stock.get(&row.id).copied().unwrap_or(0);
        MedicationOut::with_stock(row, Some(usable))
    })))
}

/// Add a catalogue item (admins).
#[utoipa::path(post, path = "/api/v1/medications", tag = "pharmacy", request_body = MedicationIn,
    responses((status = 201, description = "Added", body = MedicationOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationWrite))))]
pub async fn create_medication(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<MedicationIn>,
) -> AppResult<impl IntoResponse> {
    let row = pharmacy::create(&state, &actor, body).await?;
    Ok(created(
        format!("/api/v1/medications/{}", row.id),
        MedicationOut::from(row),
    ))
}

/// A catalogue item.
#[utoipa::path(get, path = "/api/v1/medications/{id}", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Medication id")),
    responses((status = 200, description = "The item", body = MedicationOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationRead))))]
pub async fn get_medication(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<MedicationOut>> {
    Ok(Json(pharmacy::get(&state, &actor, id).await?.into()))
}

/// Change a catalogue item's dispensing unit, reorder level or active flag (admins).
#[utoipa::path(patch, path = "/api/v1/medications/{id}", tag = "pharmacy", request_body = MedicationPatch,
    params(("id" = Uuid, Path, description = "Medication id")),
    responses((status = 200, description = "The changed item", body = MedicationOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationWrite))))]
pub async fn update_medication(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<MedicationPatch>,
) -> AppResult<Json<MedicationOut>> {
    Ok(Json(pharmacy::update(&state, &actor, id, body).await?.into()))
}

/// Receive a lot at a facility: the lot and its receipt movement, together.
#[utoipa::path(post, path = "/api/v1/medications/{id}/lots", tag = "pharmacy", request_body = LotIn,
    params(("id" = Uuid, Path, description = "Medication id")),
    responses((status = 201, description = "Received", body = ReceivedOut, headers(("Location" = String, description = "The new lot"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::StockWrite))))]
pub async fn receive_lot(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LotIn>,
) -> AppResult<impl IntoResponse> {
    let (lot, receipt) = pharmacy::receive(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/stock-lots/{}", lot.id),
        ReceivedOut {
            // A lot is received unexpired (`expires_on` after the facility's today).
            lot: lot_out(lot, NaiveDate::MIN),
            receipt: receipt.into(),
        },
    ))
}

/// A medication's stock per lot (first expiry first) and in total.
#[utoipa::path(get, path = "/api/v1/medications/{id}/stock", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Medication id"), StockQuery),
    responses((status = 200, description = "Its stock", body = StockOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationRead))))]
pub async fn medication_stock(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<StockQuery>,
) -> AppResult<Json<StockOut>> {
    let stock: Stock = pharmacy::stock(&state, &actor, id, query.facility).await?;
    let (usable, total) = (stock.usable(), stock.total());
    Ok(Json(StockOut {
        medication_id: id,
        facility_id: query.facility,
        as_of: stock.today,
        usable,
        expired: total - usable,
        total,
        lots: stock.lots.into_iter().map(|l| lot_out(l, stock.today)).collect(),
    }))
}

/// The medication's stock ledger, newest first.
#[utoipa::path(get, path = "/api/v1/medications/{id}/movements", tag = "pharmacy",
    params(("id" = Uuid, Path, description = "Medication id"), PageParams),
    responses((status = 200, description = "A page of movements", body = Page<MovementOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MedicationRead))))]
pub async fn list_movements(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery<NoFilter>,
) -> AppResult<Json<Page<MovementOut>>> {
    let found = pharmacy::movements(&state, &actor, id, query.page).await?;
    Ok(Json(query.page_of(found, MovementOut::from)))
}

/// Adjust (signed, with a reason), dispose of or return stock on a lot.
/// Taking a lot below zero is `409 insufficient_stock`.
#[utoipa::path(post, path = "/api/v1/medications/{id}/movements", tag = "pharmacy", request_body = MovementIn,
    params(("id" = Uuid, Path, description = "Medication id")),
    responses((status = 201, description = "Recorded", body = MovementOut, headers(("Location" = String, description = "The new movement"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::StockWrite))))]
pub async fn record_movement(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<MovementIn>,
) -> AppResult<impl IntoResponse> {
    let row = pharmacy::record(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/stock-movements/{}", row.id),
        MovementOut::from(row),
    ))
}
