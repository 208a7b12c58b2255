//! Billing over HTTP (see [`crate::billing`]): bills and their lines,
//! payments (with `Idempotency-Key`) and refunds. Money is a decimal
//! string in the bill's ISO 4217 currency (`"500.00"`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath};
use super::idempotency;
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::billing::{self, BillIn, BillQuery, BillView, LineIn, PaymentIn, RefundDecisionIn, RefundIn, VoidIn};
use crate::db::entities::{bill, bill_line, payment, refund};
use crate::db::idempotency::IdempotencyKey;
use crate::domain::{BillLineKind, BillStatus, Money, PaymentMethod, RefundStatus};
use crate::error::AppResult;
use crate::state::AppState;

/// A bill without its items (as lists show it).
#[derive(Debug, Serialize, ToSchema)]
pub struct BillSummaryOut {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub consultation_id: Option<Uuid>,
    /// ISO 4217.
    #[schema(example = "BDT")]
    pub currency: String,
    pub status: BillStatus,
    /// Sum of the lines' amounts.
    #[schema(example = "1200.00")]
    pub total: String,
    /// Payments less completed refunds.
    #[schema(example = "500.00")]
    pub paid: String,
    /// total − paid.
    #[schema(example = "700.00")]
    pub balance: String,
    pub void_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<bill::Model> for BillSummaryOut {
    fn from(row: bill::Model) -> Self {
        let money = |minor| Money::format(minor, &row.currency);
        BillSummaryOut {
            total: money(row.total_minor),
            paid: money(row.paid_minor),
            balance: money(row.total_minor - row.paid_minor),
            id: row.id,
            patient_id: row.patient_id,
            facility_id: row.facility_id,
            appointment_id: row.appointment_id,
            consultation_id: row.consultation_id,
            status: row.status,
            void_reason: row.void_reason,
            created_by: row.created_by,
            created_at: row.created_at,
            issued_at: row.issued_at,
            updated_at: row.updated_at,
            currency: row.currency,
        }
    }
}

/// A line of a bill.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineOut {
    pub id: Uuid,
    pub kind: BillLineKind,
    pub description: String,
    pub service_id: Option<Uuid>,
    /// The dispense a medication line bills.
    pub dispense_id: Option<Uuid>,
    /// The lot a medication line was dispensed from.
    pub lot_id: Option<Uuid>,
    pub quantity: i32,
    #[schema(example = "500.00")]
    pub unit_price: String,
    #[schema(example = "0.00")]
    pub discount: String,
    /// quantity × unit price − discount.
    #[schema(example = "500.00")]
    pub amount: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

fn line_out(row: bill_line::Model, currency: &str) -> LineOut {
    LineOut {
        unit_price: Money::format(row.unit_price_minor, currency),
        discount: Money::format(row.discount_minor, currency),
        amount: Money::format(row.amount_minor, currency),
        id: row.id,
        kind: row.kind,
        description: row.description,
        service_id: row.service_id,
        dispense_id: row.dispense_id,
        lot_id: row.lot_id,
        quantity: row.quantity,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

/// A payment against a bill.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: Uuid,
    pub bill_id: Uuid,
    pub patient_id: Uuid,
    #[schema(example = "500.00")]
    pub amount: String,
    #[schema(example = "BDT")]
    pub currency: String,
    pub method: PaymentMethod,
    pub reference: String,
    /// Refunded or waiting for approval to be refunded.
    #[schema(example = "0.00")]
    pub refunded: String,
    /// What is left to refund.
    #[schema(example = "500.00")]
    pub refundable: String,
    pub received_by: Uuid,
    pub received_at: DateTime<Utc>,
}

impl From<payment::Model> for PaymentOut {
    fn from(row: payment::Model) -> Self {
        let money = |minor| Money::format(minor, &row.currency);
        PaymentOut {
            amount: money(row.amount_minor),
            refunded: money(row.refunded_minor),
            refundable: money(row.amount_minor - row.refunded_minor),
            id: row.id,
            bill_id: row.bill_id,
            patient_id: row.patient_id,
            method: row.method,
            reference: row.reference,
            received_by: row.received_by,
            received_at: row.received_at,
            currency: row.currency,
        }
    }
}

/// A refund from a payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundOut {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub bill_id: Uuid,
    #[schema(example = "100.00")]
    pub amount: String,
    #[schema(example = "BDT")]
    pub currency: String,
    pub reason: String,
    pub status: RefundStatus,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    /// Who approved or rejected it (the requester, when no approval was needed).
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

impl From<refund::Model> for RefundOut {
    fn from(row: refund::Model) -> Self {
        RefundOut {
            amount: Money::format(row.amount_minor, &row.currency),
            id: row.id,
            payment_id: row.payment_id,
            bill_id: row.bill_id,
            currency: row.currency,
            reason: row.reason,
            status: row.status,
            requested_by: row.requested_by,
            requested_at: row.requested_at,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            decision_note: row.decision_note,
        }
    }
}

/// A bill with its lines, payments and refunds.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillOut {
    #[serde(flatten)]
    pub bill: BillSummaryOut,
    pub lines: Vec<LineOut>,
    pub payments: Vec<PaymentOut>,
    pub refunds: Vec<RefundOut>,
}

impl From<BillView> for BillOut {
    fn from(view: BillView) -> Self {
        let currency = view.bill.currency.clone();
        BillOut {
            bill: view.bill.into(),
            lines: view.lines.into_iter().map(|l| line_out(l, &currency)).collect(),
            payments: view.payments.into_iter().map(PaymentOut::from).collect(),
            refunds: view.refunds.into_iter().map(RefundOut::from).collect(),
        }
    }
}

/// A payment just taken, with the bill as it now stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentReceiptOut {
    pub payment: PaymentOut,
    pub bill: BillSummaryOut,
}

/// A payment with its refunds.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDetailOut {
    #[serde(flatten)]
    pub payment: PaymentOut,
    pub refunds: Vec<RefundOut>,
}

/// Lines to add to a draft bill.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LinesIn {
    /// 1 to 100 lines.
    #[garde(skip)]
    pub lines: Vec<LineIn>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_bills, create_bill))
        .routes(routes!(get_bill))
        .routes(routes!(add_lines))
        .routes(routes!(issue_bill))
        .routes(routes!(void_bill))
        .routes(routes!(take_payment))
        .routes(routes!(get_payment))
        .routes(routes!(refund_payment))
        .routes(routes!(get_refund))
        .routes(routes!(approve_refund))
        .routes(routes!(reject_refund))
}

/// The bills the caller may see, newest first: reception and admins all, a patient their own.
#[utoipa::path(get, path = "/api/v1/bills", tag = "billing", params(PageParams, BillQuery),
    responses((status = 200, description = "A page of bills", body = Page<BillSummaryOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillRead))))]
pub async fn list_bills(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<BillQuery>,
) -> AppResult<Json<Page<BillSummaryOut>>> {
    let found = billing::list(&state, &actor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, BillSummaryOut::from)))
}

/// Create a draft bill for a patient (and visit), with its lines.
#[utoipa::path(post, path = "/api/v1/bills", tag = "billing", request_body = BillIn,
    responses((status = 201, description = "Created, as a draft", body = BillOut, headers(("Location" = String, description = "The new bill"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillWrite))))]
pub async fn create_bill(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<BillIn>,
) -> AppResult<impl IntoResponse> {
    let view = billing::create(&state, &actor, body).await?;
    Ok(created(format!("/api/v1/bills/{}", view.bill.id), BillOut::from(view)))
}

/// A bill with its lines, payments and refunds.
#[utoipa::path(get, path = "/api/v1/bills/{id}", tag = "billing",
    params(("id" = Uuid, Path, description = "Bill id")),
    responses((status = 200, description = "The bill", body = BillOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillRead))))]
pub async fn get_bill(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<BillOut>> {
    Ok(Json(billing::get(&state, &actor, id).await?.into()))
}

/// Add lines to a draft bill; the server computes their amounts and the total.
#[utoipa::path(post, path = "/api/v1/bills/{id}/lines", tag = "billing", request_body = LinesIn,
    params(("id" = Uuid, Path, description = "Bill id")),
    responses((status = 200, description = "The bill with the new lines", body = BillOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillWrite))))]
pub async fn add_lines(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LinesIn>,
) -> AppResult<Json<BillOut>> {
    let (view, _) = billing::add(&state, &actor, id, body.lines).await?;
    Ok(Json(view.into()))
}

/// Issue a draft bill: its lines are final and it can be paid.
#[utoipa::path(post, path = "/api/v1/bills/{id}/issue", tag = "billing",
    params(("id" = Uuid, Path, description = "Bill id")),
    responses((status = 200, description = "Issued (paid at once when its total is 0)", body = BillOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillWrite))))]
pub async fn issue_bill(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<BillOut>> {
    Ok(Json(billing::issue(&state, &actor, id).await?.into()))
}

/// Void a bill with a reason, while nothing is paid on it.
#[utoipa::path(post, path = "/api/v1/bills/{id}/void", tag = "billing", request_body = VoidIn,
    params(("id" = Uuid, Path, description = "Bill id")),
    responses((status = 200, description = "Void", body = BillOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillWrite))))]
pub async fn void_bill(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VoidIn>,
) -> AppResult<Json<BillOut>> {
    Ok(Json(billing::void(&state, &actor, id, body).await?.into()))
}

/// Take a payment (partial or in full) against an issued bill; more than the balance is 409.
#[utoipa::path(post, path = "/api/v1/bills/{id}/payments", tag = "billing", request_body = PaymentIn,
    params(("id" = Uuid, Path, description = "Bill id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Any unique string (1–255 visible ASCII characters) for this payment: a retry with the same key and body within 24 hours gets the payment the first request took (201, with `Idempotent-Replayed: true`) and takes nothing; the same key with a different body is refused with 422.")),
    responses((status = 201, description = "Taken", body = PaymentReceiptOut, headers(("Location" = String, description = "The new payment"), ("Idempotent-Replayed" = String, description = "`true` when an earlier request with the same Idempotency-Key took this payment"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PaymentWrite))))]
pub async fn take_payment(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    key: Option<Extension<IdempotencyKey>>,
    ApiJson(body): ApiJson<PaymentIn>,
) -> AppResult<Response> {
    let key = key.map(|Extension(key)| key);
    let paid = billing::pay(&state, &actor, id, body, key.as_ref()).await?;
    let location = format!("/api/v1/payments/{}", paid.payment.id);
    let receipt = PaymentReceiptOut {
        payment: paid.payment.into(),
        bill: paid.bill.into(),
    };
    let mut response = created(location, receipt).into_response();
    if paid.replayed {
        idempotency::mark_replayed(&mut response);
    }
    Ok(response)
}

/// A payment with its refunds.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "billing",
    params(("id" = Uuid, Path, description = "Payment id")),
    responses((status = 200, description = "The payment", body = PaymentDetailOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillRead))))]
pub async fn get_payment(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<PaymentDetailOut>> {
    let (payment, refunds) = billing::payment(&state, &actor, id).await?;
    Ok(Json(PaymentDetailOut {
        payment: payment.into(),
        refunds: refunds.into_iter().map(RefundOut::from).collect(),
    }))
}

/// Refund (part of) a payment. Above the setting `billing.refund_approval_above`
/// a refund by reception waits as `pending_approval` for an administrator.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "billing", request_body = RefundIn,
    params(("id" = Uuid, Path, description = "Payment id")),
    responses((status = 201, description = "Refunded, or waiting for approval", body = RefundOut, headers(("Location" = String, description = "The new refund"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::RefundWrite))))]
pub async fn refund_payment(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RefundIn>,
) -> AppResult<impl IntoResponse> {
    let row = billing::refund(&state, &actor, id, body).await?;
    Ok(created(format!("/api/v1/refunds/{}", row.id), RefundOut::from(row)))
}

/// A refund.
#[utoipa::path(get, path = "/api/v1/refunds/{id}", tag = "billing",
    params(("id" = Uuid, Path, description = "Refund id")),
    responses((status = 200, description = "The refund", body = RefundOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillRead))))]
pub async fn get_refund(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<RefundOut>> {
    Ok(Json(billing::refund_by_id(&state, &actor, id).await?.into()))
}

/// Approve a refund waiting for approval: it is given back (administrators).
#[utoipa::path(post, path = "/api/v1/refunds/{id}/approve", tag = "billing", request_body = RefundDecisionIn,
    params(("id" = Uuid, Path, description = "Refund id")),
    responses((status = 200, description = "Completed", body = RefundOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::RefundApprove))))]
pub async fn approve_refund(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RefundDecisionIn>,
) -> AppResult<Json<RefundOut>> {
    Ok(Json(billing::decide(&state, &actor, id, true, body).await?.into()))
}

/// Reject a refund waiting for approval: its amount is refundable again (administrators).
#[utoipa::path(post, path = "/api/v1/refunds/{id}/reject", tag = "billing", request_body = RefundDecisionIn,
    params(("id" = Uuid, Path, description = "Refund id")),
    responses((status = 200, description = "Rejected", body = RefundOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::RefundApprove))))]
pub async fn reject_refund(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RefundDecisionIn>,
) -> AppResult<Json<RefundOut>> {
    Ok(Json(billing::decide(&state, &actor, id, false, body).await?.into()))
}
