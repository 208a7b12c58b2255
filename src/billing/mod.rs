//! Billing: bills with line items, payments and refunds, all in integer
//! minor units of the billing facility's currency (ISO 4217).
//!
//! A bill is a `draft` while lines are added (by reception, by completing
//! the visit, by dispensing); issuing it freezes its lines. Payments move it
//! to `partially_paid` and `paid`; refunds move it back. `void` (with a
//! reason) only while nothing is paid. The balance is always
//! `total − payments + completed refunds`: the bill row keeps `paid_minor`
//! in the same transaction as each payment and refund, and the database
//! refuses `paid_minor` outside `0..=total_minor` and refunds beyond their
//! payment (see the `billing` migration), whatever the handlers checked.

mod status;

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use status::settle;

use crate::auth::Actor;
use crate::auth::policy::{self, Action, authorize, authorize_object};
use crate::db::billing::BillFilter;
use crate::db::entities::{appointment, bill, bill_line, payment, refund};
use crate::db::idempotency::{self, Found, IdempotencyKey};
use crate::db::{self, DbError, PageRequest, Paged, Tx, audit, directory as db_directory};
use crate::domain::{BillLineKind, BillStatus, Currency, Money, PaymentMethod, RefundStatus};
use crate::error::{AppError, AppResult};
use crate::input::{self, Text, TextOrEmpty};
use crate::state::AppState;

/// Most units on one line.
pub const MAX_LINE_QUANTITY: i32 = 10_000;
/// Most lines a bill is created with in one request.
pub const MAX_LINES: usize = 100;

/// A line to add to a draft bill. Its amount is the server's:
/// `quantity × unit_price − discount`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    #[garde(skip)]
    pub kind: BillLineKind,
    /// What it is; a service line defaults to the service's name.
    #[schema(example = "Complete blood count")]
    #[garde(dive)]
    pub description: Option<Text<200>>,
    /// A service line: the service billed (its name and price are the defaults).
    #[garde(skip)]
    pub service_id: Option<Uuid>,
    /// 1–10,000 (default 1).
    #[serde(default = "one", deserialize_with = "input::integer")]
    #[garde(range(min = 1, max = MAX_LINE_QUANTITY))]
    pub quantity: i32,
    /// Price of one, a decimal string in the bill's currency (`"500.00"`);
    /// a service line defaults to the service's price.
    #[schema(example = "500.00", pattern = r"^[0-9]{1,10}(\.[0-9]{1,3})?$")]
    #[garde(inner(length(max = 24)))]
    pub unit_price: Option<String>,
    /// Taken off the line, a decimal string, at most quantity × unit price (default 0).
    #[schema(example = "50.00", pattern = r"^[0-9]{1,10}(\.[0-9]{1,3})?$")]
    #[garde(inner(length(max = 24)))]
    pub discount: Option<String>,
}

fn one() -> i32 {
    1
}

/// A bill to create (reception): a draft unless `issue` is true.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct BillIn {
    #[garde(skip)]
    pub patient_id: Uuid,
    /// The facility billing; defaults to the appointment's or consultation's.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    /// The visit billed: one live bill per appointment.
    #[garde(skip)]
    pub appointment_id: Option<Uuid>,
    #[garde(skip)]
    pub consultation_id: Option<Uuid>,
    /// ISO 4217; when given, it must be the facility's.
    #[garde(skip)]
    pub currency: Option<String>,
    /// At most 100.
    #[serde(default)]
    #[garde(length(max = MAX_LINES), dive)]
    pub lines: Vec<LineIn>,
}

/// Why a bill is voided.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VoidIn {
    #[schema(example = "Created for the wrong patient")]
    #[garde(dive)]
    pub reason: Text<500>,
}

/// A payment to take.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// More than 0 and at most the balance, a decimal string in the bill's currency.
    #[schema(example = "300.00", pattern = r"^[0-9]{1,10}(\.[0-9]{1,3})?$")]
    #[garde(length(max = 24))]
    pub amount: String,
    /// ISO 4217; when given, it must be the bill's.
    #[schema(example = "BDT")]
    #[garde(skip)]
    pub currency: Option<String>,
    #[garde(skip)]
    pub method: PaymentMethod,
    /// Receipt, card slip or transaction number.
    #[serde(default)]
    #[schema(example = "bKash TX 8FK2L19QZ")]
    #[garde(dive)]
    pub reference: TextOrEmpty<200>,
}

/// A refund to make from a payment.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// More than 0 and at most what is left of the payment, a decimal string.
    #[schema(example = "100.00", pattern = r"^[0-9]{1,10}(\.[0-9]{1,3})?$")]
    #[garde(length(max = 24))]
    pub amount: String,
    #[schema(example = "Test not performed")]
    #[garde(dive)]
    pub reason: Text<500>,
}

/// An administrator's decision on a refund waiting for approval.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefundDecisionIn {
    #[serde(default)]
    #[garde(dive)]
    pub note: TextOrEmpty<500>,
}

/// Filters of the bill list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BillQuery {
    /// Only this patient's bills.
    pub patient: Option<Uuid>,
    /// Only bills of this facility.
    pub facility: Option<Uuid>,
    /// Only the bill(s) of this appointment.
    pub appointment: Option<Uuid>,
    /// One status or several, comma-separated.
    #[param(pattern = "^((draft|issued|partially_paid|paid|void)(,(draft|issued|partially_paid|paid|void))*)?$")]
    pub status: Option<String>,
}

/// A bill with everything on it.
#[derive(Debug, Clone)]
pub struct BillView {
    pub bill: bill::Model,
    pub lines: Vec<bill_line::Model>,
    pub payments: Vec<payment::Model>,
    pub refunds: Vec<refund::Model>,
}

/// A line as it will be stored, before it has a bill.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub kind: BillLineKind,
    pub description: String,
    pub service_id: Option<Uuid>,
    pub dispense_id: Option<Uuid>,
    pub lot_id: Option<Uuid>,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub discount_minor: i64,
}

fn currency_of(code: &str) -> Currency {
    Currency::parse(code).unwrap_or(Currency::BDT)
}

fn amount(field: &'static str, text: &str, currency: Currency) -> AppResult<i64> {
    Money::parse(text, currency)
        .map(|m| m.minor)
        .map_err(|m| AppError::invalid_field(field, m))
}

/// 422 naming `currency` when `given` is not `expected`.
fn check_currency(given: Option<&str>, expected: Currency, what: &str) -> AppResult<()> {
    if let Some(code) = given {
        let given = Currency::parse(code).map_err(|m| AppError::invalid_field("currency", m))?;
        if given != expected {
            return Err(AppError::invalid_field(
                "currency",
                format!("{what} is in {expected}, not {given}"),
            ));
        }
    }
    Ok(())
}

/// Check and price `lines` (at `index` in the request) in `currency`.
async fn price_lines(state: &AppState, lines: Vec<LineIn>, currency: Currency) -> AppResult<Vec<NewLine>> {
    let mut priced = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let service = match line.service_id {
            Some(id) => Some(
                db_directory::find_service(state.db.conn(), id)
                    .await?
                    .ok_or_else(|| AppError::invalid_field(field("service_id"), "no such service"))?,
            ),
            None => None,
        };
        let description = match (line.description, &service) {
            (Some(text), _) => text.into_trimmed(),
            (None, Some(service)) => service.name.clone(),
            (None, None) => return Err(AppError::invalid_field(field("description"), "is required")),
        };
        let unit_price_minor = match (line.unit_price, &service) {
            (Some(text), _) => {
                Money::parse(&text, currency).map_err(|m| AppError::invalid_field(field("unit_price"), m))?
            }
            (None, Some(service)) if currency_of(&service.currency) == currency => Money {
                minor: service.price_minor,
                currency,
            },
            (None, Some(service)) => {
                return Err(AppError::invalid_field(
                    field("unit_price"),
                    format!(
                        "the service is priced in {}, the bill is in {currency}: give the price",
                        service.currency
                    ),
                ));
            }
            (None, None) => return Err(AppError::invalid_field(field("unit_price"), "is required")),
        }
        .minor;
        let discount_minor = match line.discount {
            Some(text) => {
                Money::parse(&text, currency)
                    .map_err(|m| AppError::invalid_field(field("discount"), m))?
                    .minor
            }
            None => 0,
        };
        let gross = unit_price_minor * i64::from(line.quantity);
        if discount_minor > gross {
            return Err(AppError::invalid_field(
                field("discount"),
                "must not exceed quantity × unit price",
            ));
        }
        priced.push(NewLine {
            kind: line.kind,
            description,
            service_id: line.service_id,
            dispense_id: None,
            lot_id: None,
            quantity: line.quantity,
            unit_price_minor,
            discount_minor,
        });
    }
    Ok(priced)
}

/// Add `lines` to the draft `bill` (locked in `tx`): their rows and the new
/// total. Errors: 409 `bill_not_draft`; 422 when the total would be absurd.
pub async fn add_lines(
    tx: &Tx,
    bill: &mut bill::Model,
    lines: Vec<NewLine>,
    by: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Vec<bill_line::Model>> {
    if bill.status != BillStatus::Draft {
        return Err(AppError::conflict(
            "bill_not_draft",
            format!("the bill is {}: lines are added only to drafts", bill.status),
        ));
    }
    let mut rows = Vec::with_capacity(lines.len());
    let mut total = bill.total_minor;
    for line in lines {
        let amount_minor = line.unit_price_minor * i64::from(line.quantity) - line.discount_minor;
        total = total
            .checked_add(amount_minor)
            .filter(|t| *t <= 1_000_000_000_000_000)
            .ok_or_else(|| AppError::invalid_field("lines", "the bill's total would be too large"))?;
        rows.push(bill_line::Model {
            id: Uuid::now_v7(),
            bill_id: bill.id,
            kind: line.kind,
            description: line.description,
            service_id: line.service_id,
            dispense_id: line.dispense_id,
            lot_id: line.lot_id,
            quantity: line.quantity,
            unit_price_minor: line.unit_price_minor,
            discount_minor: line.discount_minor,
            amount_minor,
            created_by: by,
            created_at: now,
        });
    }
    for row in &rows {
        db::insert_row::<bill_line::ActiveModel>(tx, row.clone()).await?;
    }
    bill.total_minor = total;
    touch(bill, now);
    *bill = db::update_row::<bill::ActiveModel>(tx, bill.clone()).await?;
    Ok(rows)
}

fn touch(bill: &mut bill::Model, now: DateTime<Utc>) {
    bill.version += 1;
    bill.updated_at = db::next_update(bill.updated_at, now);
}

fn new_bill(patient: Uuid, facility: Uuid, currency: Currency, by: Uuid, now: DateTime<Utc>) -> bill::Model {
    bill::Model {
        id: Uuid::now_v7(),
        patient_id: patient,
        facility_id: facility,
        appointment_id: None,
        consultation_id: None,
        currency: currency.code().to_owned(),
        status: BillStatus::Draft,
        total_minor: 0,
        paid_minor: 0,
        void_reason: None,
        version: 1,
        created_by: by,
        created_at: now,
        issued_at: None,
        updated_at: now,
    }
}

fn bill_exists() -> AppError {
    AppError::conflict(
        "bill_exists",
        "this appointment already has a bill that is not void: add lines to it, or void it first",
    )
}

async fn insert_bill(tx: &Tx, row: &bill::Model) -> AppResult<()> {
    db::insert_row::<bill::ActiveModel>(tx, row.clone())
        .await
        .map_err(|err| match err {
            DbError::Unique(_) => bill_exists(),
            err => err.into(),
        })
}

/// The bill of a completed visit, in the appointment's transaction: its
/// consultation line at the service's price, else the doctor's fee, in the
/// facility's currency, on the visit's draft (made now, or earlier by
/// dispensing or reception). Nothing when the visit's bill is already
/// issued or has a consultation line, or when no fee is set in that currency.
pub async fn draft_for_visit(
    tx: &Tx,
    appointment: &appointment::Model,
    consultation: Option<Uuid>,
    by: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut row = match db::billing::live_of_appointment(tx, appointment.id).await? {
        Some(found) if found.status != BillStatus::Draft => return Ok(()),
        Some(found) => {
            let lines = db::billing::lines(tx, found.id).await?;
            if lines.iter().any(|l| l.kind == BillLineKind::Consultation) {
                return Ok(());
            }
            found
        }
        None => {
            let facility = db_directory::find_facility(tx, appointment.facility_id)
                .await?
                .ok_or(AppError::NotFound("facility"))?;
            let mut row = new_bill(
                appointment.patient_id,
                appointment.facility_id,
                currency_of(&facility.currency),
                by,
                now,
            );
            row.appointment_id = Some(appointment.id);
            row.consultation_id = consultation;
            insert_bill(tx, &row).await?;
            row
        }
    };
    let currency = currency_of(&row.currency);
    let service = match appointment.service_id {
        Some(id) => db_directory::find_service(tx, id).await?,
        None => None,
    };
    let fee = match service {
        Some(s) if s.price_minor > 0 => Some((format!("Consultation: {}", s.name), s.price_minor, s.currency)),
        _ => db_directory::find_doctor_row(tx, appointment.doctor_id)
            .await?
            .map(|d| ("Consultation fee".to_owned(), d.consultation_fee_minor, d.currency)),
    };
    let Some((description, price, code)) = fee.filter(|(_, price, _)| *price > 0) else {
        return Ok(());
    };
    if currency_of(&code) != currency {
        tracing::warn!(
            facility = %appointment.facility_id,
            "the consultation fee is not in the facility's currency: the visit's bill has no fee line"
        );
        return Ok(());
    }
    let line = NewLine {
        kind: BillLineKind::Consultation,
        description,
        service_id: appointment.service_id,
        dispense_id: None,
        lot_id: None,
        quantity: 1,
        unit_price_minor: price,
        discount_minor: 0,
    };
    add_lines(tx, &mut row, vec![line], by, now).await?;
    Ok(())
}

/// The draft bill to add consultation `consultation`'s medication lines to,
/// in `tx`: the visit's draft, else a new draft at `facility` (the visit's
/// bill when the appointment has none yet).
pub async fn draft_for_medication(
    tx: &Tx,
    patient: Uuid,
    facility: Uuid,
    consultation: Uuid,
    appointment: Option<Uuid>,
    by: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bill::Model> {
    if let Some(found) = db::billing::draft_for_visit(tx, consultation, appointment).await? {
        return Ok(found);
    }
    let place = db_directory::find_facility(tx, facility)
        .await?
        .ok_or(AppError::NotFound("facility"))?;
    let mut row = new_bill(patient, facility, currency_of(&place.currency), by, now);
    row.consultation_id = Some(consultation);
    if let Some(appointment) = appointment
        && db::billing::live_of_appointment(tx, appointment).await?.is_none()
    {
        row.appointment_id = Some(appointment);
    }
    insert_bill(tx, &row).await?;
    Ok(row)
}

/// Create a bill (reception, admins) with its lines, as a draft.
///
/// Errors: 403; 422 naming `patient_id`, `appointment_id` or
/// `consultation_id` (unknown, or another patient's), `facility_id`
/// (unknown, or missing without a visit), `currency` (not the facility's),
/// a line's field (`lines[0].unit_price`: more decimals than the currency
/// has, a discount above the line); 409 `bill_exists` for an appointment
/// that already has a live bill.
pub async fn create(state: &AppState, actor: &Actor, body: BillIn) -> AppResult<BillView> {
    authorize(actor, Action::BillWrite)?;
    body.validate()?;
    let conn = state.db.conn();
    db::patients::find(conn, body.patient_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("patient_id", "no such patient"))?;
    let mut facility = body.facility_id;
    let mut appointment_id = body.appointment_id;
    if let Some(id) = body.appointment_id {
        let found = db::find_by_id::<appointment::Entity>(conn, id)
            .await?
            .filter(|a| a.patient_id == body.patient_id)
            .ok_or_else(|| AppError::invalid_field("appointment_id", "no such appointment of this patient"))?;
        facility = facility.or(Some(found.facility_id));
    }
    if let Some(id) = body.consultation_id {
        let found = db::consultations::find(conn, id)
            .await?
            .filter(|c| c.patient_id == body.patient_id)
            .ok_or_else(|| AppError::invalid_field("consultation_id", "no such consultation of this patient"))?;
        facility = facility.or(Some(found.facility_id));
        appointment_id = appointment_id.or(found.appointment_id);
    }
    let facility = facility.ok_or_else(|| AppError::invalid_field("facility_id", "is required without a visit"))?;
    let place = db_directory::find_facility(conn, facility)
        .await?
        .ok_or_else(|| AppError::invalid_field("facility_id", "no such facility"))?;
    let currency = currency_of(&place.currency);
    check_currency(body.currency.as_deref(), currency, "this facility bills")?;
    let lines = price_lines(state, body.lines, currency).await?;
    let now = state.clock.now();
    let mut row = new_bill(body.patient_id, facility, currency, actor.user_id, now);
    row.appointment_id = appointment_id;
    row.consultation_id = body.consultation_id;
    authorize_object(actor, Action::BillWrite, &row)?;
    let tx = state.db.begin_write().await?;
    insert_bill(&tx, &row).await?;
    let lines = if lines.is_empty() {
        Vec::new()
    } else {
        add_lines(&tx, &mut row, lines, actor.user_id, now).await?
    };
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(BillView {
        bill: row,
        lines,
        payments: Vec::new(),
        refunds: Vec::new(),
    })
}

/// A bill the actor may see through `action`. Errors: 404.
async fn visible(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<bill::Model> {
    authorize(actor, action)?;
    let row = db::find_by_id::<bill::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("bill"))?;
    authorize_object(actor, action, &row)?;
    Ok(row)
}

async fn view(state: &AppState, row: bill::Model) -> AppResult<BillView> {
    let conn = state.db.conn();
    let (lines, payments, refunds) = tokio::try_join!(
        db::billing::lines(conn, row.id),
        db::billing::payments(conn, row.id),
        db::billing::refunds_of_bill(conn, row.id),
    )?;
    Ok(BillView {
        bill: row,
        lines,
        payments,
        refunds,
    })
}

/// A bill with its lines, payments and refunds. Errors: 404 when the actor may not see it.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<BillView> {
    let row = visible(state, actor, id, Action::BillRead).await?;
    view(state, row).await
}

/// One page of the bills the actor may see, newest first.
///
/// Errors: 403 for doctors and nurses; 400 for an unknown status.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &BillQuery,
    page: PageRequest,
) -> AppResult<Paged<bill::Model>> {
    let reach = policy::reach::<bill::Model>(actor, Action::BillRead)?;
    let statuses = input::one_or_more::<BillStatus>("status", query.status.as_deref())?;
    let filter = BillFilter {
        reach,
        patient: query.patient,
        facility: query.facility,
        appointment: query.appointment,
        statuses,
    };
    let found = db::billing::list(state.db.conn(), &filter, page).await?;
    audit::note_disclosed(found.rows.iter().map(|b| b.patient_id));
    Ok(found)
}

/// Lock bill `id` in `tx` for `action` by `actor`. Errors: 404.
async fn locked(tx: &Tx, actor: &Actor, id: Uuid, action: Action) -> AppResult<bill::Model> {
    let row = db::billing::bill_for_update(tx, id)
        .await?
        .ok_or(AppError::NotFound("bill"))?;
    authorize_object(actor, action, &row)?;
    Ok(row)
}

/// Add lines to a draft bill. Errors: as [`create`]; 404; 409 `bill_not_draft`.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    lines: Vec<LineIn>,
) -> AppResult<(BillView, Vec<bill_line::Model>)> {
    let current = visible(state, actor, id, Action::BillWrite).await?;
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(AppError::invalid_field("lines", "give 1 to 100 lines"));
    }
    for line in &lines {
        line.validate()?;
    }
    let priced = price_lines(state, lines, currency_of(&current.currency)).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut row = locked(&tx, actor, id, Action::BillWrite).await?;
    let added = add_lines(&tx, &mut row, priced, actor.user_id, now).await?;
    tx.commit().await?;
    Ok((view(state, row).await?, added))
}

/// Issue a draft bill: its lines are final. A bill of nothing is paid at once.
/// Errors: 404; 409 `bill_not_draft`.
pub async fn issue(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<BillView> {
    visible(state, actor, id, Action::BillWrite).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut row = locked(&tx, actor, id, Action::BillWrite).await?;
    if row.status != BillStatus::Draft {
        return Err(AppError::conflict(
            "bill_not_draft",
            format!("the bill is already {}", row.status),
        ));
    }
    row.status = settle(BillStatus::Issued, row.total_minor, row.paid_minor);
    row.issued_at = Some(now);
    touch(&mut row, now);
    let row = db::update_row::<bill::ActiveModel>(&tx, row).await?;
    tx.commit().await?;
    view(state, row).await
}

/// Void a bill with a reason, while nothing is paid on it.
/// Errors: 404; 422 for a blank reason; 409 `bill_void`, `bill_has_payments`.
pub async fn void(state: &AppState, actor: &Actor, id: Uuid, body: VoidIn) -> AppResult<BillView> {
    body.validate()?;
    visible(state, actor, id, Action::BillWrite).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut row = locked(&tx, actor, id, Action::BillWrite).await?;
    if row.status == BillStatus::Void {
        return Err(AppError::conflict("bill_void", "the bill is already void"));
    }
    if row.paid_minor > 0 {
        return Err(AppError::conflict(
            "bill_has_payments",
            format!(
                "{} is paid on this bill: refund it before voiding",
                Money::format(row.paid_minor, &row.currency)
            ),
        ));
    }
    row.status = BillStatus::Void;
    row.void_reason = Some(body.reason.into_trimmed());
    touch(&mut row, now);
    let row = db::update_row::<bill::ActiveModel>(&tx, row).await?;
    tx.commit().await?;
    view(state, row).await
}

/// A payment just taken (or, for a replayed `Idempotency-Key`, the one taken before).
#[derive(Debug, Clone)]
pub struct Paid {
    pub payment: payment::Model,
    pub bill: bill::Model,
    /// The answer to an earlier request with the same key.
    pub replayed: bool,
}

fn overpayment(balance: i64, currency: &str) -> AppError {
    AppError::conflict(
        "overpayment",
        format!(
            "the balance is {} {currency}: a payment may not exceed it",
            Money::format(balance, currency)
        ),
    )
}

/// The payment an earlier request with `key` made, if any.
async fn paid_with(state: &AppState, actor: &Actor, key: &IdempotencyKey) -> AppResult<Option<Paid>> {
    match idempotency::find(state.db.conn(), actor.user_id, key, state.clock.now()).await? {
        None => Ok(None),
        Some(Found::Mismatch) => Err(AppError::idempotency_key_reused()),
        Some(Found::Created(id)) => {
            let payment = db::find_by_id::<payment::Entity>(state.db.conn(), id)
                .await?
                .ok_or(AppError::NotFound("payment"))?;
            let bill = visible(state, actor, payment.bill_id, Action::PaymentWrite).await?;
            Ok(Some(Paid {
                payment,
                bill,
                replayed: true,
            }))
        }
    }
}

/// Take a payment against an issued bill. With an `Idempotency-Key`, a
/// retry (same key, same body) answers the first payment and takes nothing.
///
/// Errors: 404; 422 naming `amount` (not more than 0, more decimals than
/// the currency has), `currency` (not the bill's), `Idempotency-Key`
/// (`idempotency_key_reused`); 409 `bill_void`, `bill_not_issued`,
/// `overpayment` (more than the balance; the database refuses it too).
pub async fn pay(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: PaymentIn,
    key: Option<&IdempotencyKey>,
) -> AppResult<Paid> {
    authorize(actor, Action::PaymentWrite)?;
    body.validate()?;
    if let Some(key) = key
        && let Some(done) = paid_with(state, actor, key).await?
    {
        return Ok(done);
    }
    let current = visible(state, actor, id, Action::PaymentWrite).await?;
    let currency = currency_of(&current.currency);
    check_currency(body.currency.as_deref(), currency, "the bill")?;
    let minor = amount("amount", &body.amount, currency)?;
    if minor == 0 {
        return Err(AppError::invalid_field("amount", "must be more than 0"));
    }
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let payment_id = Uuid::now_v7();
    if let Some(key) = key
        && !idempotency::record(&tx, actor.user_id, key, payment_id, now).await?
    {
        drop(tx);
        return paid_with(state, actor, key)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an idempotency key without its payment")));
    }
    let mut row = locked(&tx, actor, id, Action::PaymentWrite).await?;
    match row.status {
        BillStatus::Void => return Err(AppError::conflict("bill_void", "the bill is void and takes no payment")),
        BillStatus::Draft => {
            return Err(AppError::conflict(
                "bill_not_issued",
                "the bill is a draft: issue it (POST /bills/{id}/issue) before taking payment",
            ));
        }
        _ => {}
    }
    let balance = row.total_minor - row.paid_minor;
    if minor > balance {
        return Err(overpayment(balance, &row.currency));
    }
    let payment = payment::Model {
        id: payment_id,
        bill_id: row.id,
        patient_id: row.patient_id,
        amount_minor: minor,
        currency: row.currency.clone(),
        method: body.method,
        reference: body.reference.into_trimmed(),
        refunded_minor: 0,
        received_by: actor.user_id,
        received_at: now,
    };
    db::insert_row::<payment::ActiveModel>(&tx, payment.clone()).await?;
    row.paid_minor += minor;
    row.status = settle(row.status, row.total_minor, row.paid_minor);
    touch(&mut row, now);
    let row = db::update_row::<bill::ActiveModel>(&tx, row)
        .await
        .map_err(|err| match err {
            DbError::Check => overpayment(balance, &current.currency),
            err => err.into(),
        })?;
    audit::note_object(payment.id);
    tx.commit().await?;
    Ok(Paid {
        payment,
        bill: row,
        replayed: false,
    })
}

/// A payment the actor may see through `action`, with its bill. Errors: 404.
async fn visible_payment(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
) -> AppResult<(payment::Model, bill::Model)> {
    authorize(actor, action)?;
    let payment = db::find_by_id::<payment::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    let bill = db::find_by_id::<bill::Entity>(state.db.conn(), payment.bill_id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    authorize_object(actor, action, &bill).map_err(|err| match err {
        AppError::NotFound(_) => AppError::NotFound("payment"),
        err => err,
    })?;
    Ok((payment, bill))
}

/// A payment with its refunds. Errors: 404 when the actor may not see its bill.
pub async fn payment(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<(payment::Model, Vec<refund::Model>)> {
    let (payment, _) = visible_payment(state, actor, id, Action::BillRead).await?;
    let refunds = db::billing::refunds_of_payment(state.db.conn(), id).await?;
    Ok((payment, refunds))
}

/// A refund. Errors: 404 when the actor may not see its bill.
pub async fn refund_by_id(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<refund::Model> {
    authorize(actor, Action::BillRead)?;
    let row = db::find_by_id::<refund::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("refund"))?;
    visible_payment(state, actor, row.payment_id, Action::BillRead)
        .await
        .map_err(|err| match err {
            AppError::NotFound(_) => AppError::NotFound("refund"),
            err => err,
        })?;
    Ok(row)
}

fn refund_exceeds(left: i64, currency: &str) -> AppError {
    AppError::conflict(
        "refund_exceeds_payment",
        format!(
            "{} {currency} of this payment is left to refund",
            Money::format(left, currency)
        ),
    )
}

/// Refund (part of) a payment. Above `billing.refund_approval_above` (whole
/// units) a refund by anyone but an administrator waits as
/// `pending_approval`, holding its amount, until an administrator decides.
///
/// Errors: 404; 422 naming `amount` or `reason`; 409
/// `refund_exceeds_payment` (more than is left of the payment, counting
/// refunds waiting for approval; the database refuses it too).
pub async fn refund(state: &AppState, actor: &Actor, payment_id: Uuid, body: RefundIn) -> AppResult<refund::Model> {
    authorize(actor, Action::RefundWrite)?;
    body.validate()?;
    let (current, _) = visible_payment(state, actor, payment_id, Action::RefundWrite).await?;
    let currency = currency_of(&current.currency);
    let minor = amount("amount", &body.amount, currency)?;
    if minor == 0 {
        return Err(AppError::invalid_field("amount", "must be more than 0"));
    }
    let settings = state.settings().await?;
    let above = settings
        .int("billing.refund_approval_above")
        .saturating_mul(10_i64.pow(currency.exponent()));
    let waits = policy::refund_needs_approval(actor, minor, above);
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    // Lock order everywhere: bill, then payment, then refund.
    let mut bill = locked(&tx, actor, current.bill_id, Action::RefundWrite).await?;
    let mut payment = db::billing::payment_for_update(&tx, payment_id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    let left = payment.amount_minor - payment.refunded_minor;
    if minor > left {
        return Err(refund_exceeds(left, &payment.currency));
    }
    payment.refunded_minor += minor;
    let payment = db::update_row::<payment::ActiveModel>(&tx, payment)
        .await
        .map_err(|err| match err {
            DbError::Check => refund_exceeds(left, &current.currency),
            err => err.into(),
        })?;
    let row = refund::Model {
        id: Uuid::now_v7(),
        payment_id,
        bill_id: bill.id,
        amount_minor: minor,
        currency: payment.currency.clone(),
        reason: body.reason.into_trimmed(),
        status: if waits {
            RefundStatus::PendingApproval
        } else {
            RefundStatus::Completed
        },
        requested_by: actor.user_id,
        requested_at: now,
        decided_by: (!waits).then_some(actor.user_id),
        decided_at: (!waits).then_some(now),
        decision_note: None,
    };
    db::insert_row::<refund::ActiveModel>(&tx, row.clone()).await?;
    if !waits {
        give_back(&tx, &mut bill, minor, now).await?;
    }
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

/// Take a completed refund of `minor` off the bill's paid amount.
async fn give_back(tx: &Tx, bill: &mut bill::Model, minor: i64, now: DateTime<Utc>) -> AppResult<()> {
    bill.paid_minor -= minor;
    bill.status = settle(bill.status, bill.total_minor, bill.paid_minor);
    touch(bill, now);
    *bill = db::update_row::<bill::ActiveModel>(tx, bill.clone()).await?;
    Ok(())
}

/// Approve (`approve` true) or reject a refund waiting for approval (administrators).
///
/// Errors: 403; 404; 409 `refund_decided` when it does not wait.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    approve: bool,
    body: RefundDecisionIn,
) -> AppResult<refund::Model> {
    authorize(actor, Action::RefundApprove)?;
    body.validate()?;
    let current = refund_by_id(state, actor, id).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut bill = locked(&tx, actor, current.bill_id, Action::RefundApprove).await?;
    let mut payment = db::billing::payment_for_update(&tx, current.payment_id)
        .await?
        .ok_or(AppError::NotFound("refund"))?;
    let mut row = db::billing::refund_for_update(&tx, id)
        .await?
        .ok_or(AppError::NotFound("refund"))?;
    if row.status != RefundStatus::PendingApproval {
        return Err(AppError::conflict(
            "refund_decided",
            format!("the refund is already {}", row.status),
        ));
    }
    if approve {
        row.status = RefundStatus::Completed;
        give_back(&tx, &mut bill, row.amount_minor, now).await?;
    } else {
        row.status = RefundStatus::Rejected;
        payment.refunded_minor -= row.amount_minor;
        db::update_row::<payment::ActiveModel>(&tx, payment).await?;
    }
    row.decided_by = Some(actor.user_id);
    row.decided_at = Some(now);
    row.decision_note = Some(body.note.into_trimmed()).filter(|n| !n.is_empty());
    let row = db::update_row::<refund::ActiveModel>(&tx, row).await?;
    tx.commit().await?;
    Ok(row)
}
