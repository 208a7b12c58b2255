//! Reports over HTTP: `GET /api/v1/reports/{report}` answers JSON
//! `{"columns", "rows", "totals", …}` or the same table as CSV, XLSX or PDF
//! (`?format=` or the `Accept` header). The columns of each report are
//! written into its OpenAPI description from the same lists the service
//! uses ([`describe_columns`]).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{ApiJson, ApiPath, parse_query};
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ExportErrors, ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::error::{AppError, AppResult};
use crate::exports::{self, Column, Format, Report};
use crate::reports::dashboard::Dashboard;
use crate::reports::monthly::{MonthlyIn, MonthlyQuery};
use crate::reports::{
    self, AppointmentReportQuery, MedicationReportQuery, PatientReportQuery, ReportFilters, RevenueReportQuery,
};
use crate::state::AppState;
use uuid::Uuid;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(appointment_report))
        .routes(routes!(performance_report))
        .routes(routes!(revenue_report))
        .routes(routes!(billing_report))
        .routes(routes!(medication_report))
        .routes(routes!(patient_report))
        .routes(routes!(telemedicine_report))
        .routes(routes!(export_appointments))
        .routes(routes!(export_patients))
        .routes(routes!(dashboard))
        .routes(routes!(list_monthly, generate_monthly))
        .routes(routes!(get_monthly))
        .routes(routes!(bill_pdf))
        .routes(routes!(prescription_pdf))
}

/// A stored monthly doctor report (its rows: `GET /reports/monthly/{id}`).
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct MonthlyReportOut {
    pub id: Uuid,
    pub doctor_id: Uuid,
    /// `YYYY-MM`.
    pub month: String,
    /// The zone its days are counted in.
    pub time_zone: String,
    pub generated_at: DateTime<Utc>,
    /// Who asked for it; null when the monthly job built it.
    pub generated_by: Option<Uuid>,
    /// The month's totals (column key → total).
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
}

impl From<crate::db::entities::monthly_report::Model> for MonthlyReportOut {
    fn from(row: crate::db::entities::monthly_report::Model) -> Self {
        let totals = serde_json::from_str::<serde_json::Value>(&row.content)
            .ok()
            .and_then(|v| v.get("totals").cloned())
            .unwrap_or_default();
        MonthlyReportOut {
            id: row.id,
            doctor_id: row.doctor_id,
            month: row.month,
            time_zone: row.time_zone,
            generated_at: row.generated_at,
            generated_by: row.generated_by,
            totals,
        }
    }
}

/// Stored monthly doctor reports, newest month first: built by the
/// monthly job on the 1st (facility time) for the month before, or on
/// demand. Administrators all; a doctor their own.
#[utoipa::path(get, path = "/api/v1/reports/monthly", tag = "reports",
    params(PageParams, MonthlyQuery),
    responses((status = 200, description = "A page of monthly reports", body = Page<MonthlyReportOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PracticeReportRead))))]
pub async fn list_monthly(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<MonthlyQuery>,
) -> AppResult<Json<Page<MonthlyReportOut>>> {
    let found = reports::monthly::list(&state, &actor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, MonthlyReportOut::from)))
}

/// Build (or rebuild) a doctor's report of a month that has ended in their
/// facility's zone. Administrators any doctor's; a doctor their own.
#[utoipa::path(post, path = "/api/v1/reports/monthly", tag = "reports", request_body = MonthlyIn,
    responses((status = 201, description = "Stored", body = MonthlyReportOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::MonthlyReportGenerate))))]
pub async fn generate_monthly(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<MonthlyIn>,
) -> AppResult<impl IntoResponse> {
    let row = reports::monthly::generate(&state, &actor, &body).await?;
    Ok(super::created(
        format!("/api/v1/reports/monthly/{}", row.id),
        MonthlyReportOut::from(row),
    ))
}

/// A stored monthly report, one row per day, as JSON, CSV, XLSX or PDF.
/// Administrators; a doctor their own (404 for another's).
#[utoipa::path(get, path = "/api/v1/reports/monthly/{id}", tag = "reports",
    params(("id" = Uuid, Path, description = "The monthly report"), ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PracticeReportRead))))]
pub async fn get_monthly(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    request: ReportRequest<NoParams>,
) -> AppResult<Response> {
    let report = reports::monthly::get(&state, &actor, id).await?;
    answer(report, request.answer).await
}

fn document(doc: reports::documents::Document) -> Response {
    let answer = Answer {
        format: Format::Pdf,
        bom: false,
    };
    (answer.headers(&doc.stem), doc.pdf).into_response()
}

/// A bill as a printable PDF: an invoice, or a receipt once paid in full
/// (lines, total, payments, outstanding), in the facility's name and local
/// time. Whoever may read the bill; 404 otherwise.
#[utoipa::path(get, path = "/api/v1/bills/{id}/invoice.pdf", tag = "billing",
    params(("id" = Uuid, Path, description = "The bill")),
    responses((status = 200, description = "The PDF", content((FileBody = "application/pdf"))), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::BillRead))))]
pub async fn bill_pdf(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    Ok(document(reports::documents::bill(&state, &actor, id).await?))
}

/// A consultation's prescription as a printable PDF (its medications not
/// entered in error, the patient, the prescriber and licence, the facility
/// and date). Whoever may read the clinical record; 404 otherwise, or when
/// it has no prescriptions.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/prescription.pdf", tag = "clinical",
    params(("id" = Uuid, Path, description = "The consultation")),
    responses((status = 200, description = "The PDF", content((FileBody = "application/pdf"))), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn prescription_pdf(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    Ok(document(reports::documents::prescription(&state, &actor, id).await?))
}

/// The caller's dashboard, for their role: administrators (today's
/// appointments by status, new patients and revenue this month, the
/// no-show rate, stock below reorder level), doctors (today's queue with
/// check-in and waiting times, upcoming, completed this month), reception
/// (today's board per doctor at their facility, unpaid bills there), nurses
/// (patients checked in at their facility), patients (upcoming
/// appointments, unpaid bills, active prescriptions). Audited: it shows
/// patients' names.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "reports",
    responses((status = 200, description = "The dashboard", body = Dashboard), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::Dashboard))))]
pub async fn dashboard(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Dashboard>> {
    Ok(Json(reports::dashboard::dashboard(&state, &actor).await?))
}

/// A report as JSON (the shape of every report; `rows` and `totals` are
/// keyed by the columns' keys).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ReportOut {
    /// E.g. "Appointment statistics".
    pub title: String,
    /// The facility, doctor and specialty it covers.
    pub scope: String,
    /// First local day covered.
    pub from: Option<NaiveDate>,
    /// Last local day covered.
    pub to: Option<NaiveDate>,
    /// The IANA zone of the heading (days are each facility's own).
    pub time_zone: String,
    pub generated_at: DateTime<Utc>,
    /// The columns, in order: the header of CSV, XLSX and PDF.
    pub columns: Vec<Column>,
    /// One object per row: column key → value (money in minor units of the row's `currency`).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
    /// Column key → total, for the columns that have one.
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
}

/// A file (CSV, XLSX or PDF bytes).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct FileBody(Vec<u8>);

/// A file format of an export.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

/// How to answer: the format and, for CSV, a byte order mark.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (reports only), `csv`, `xlsx` or `pdf`; overrides `Accept`
    /// (`application/json`, `text/csv`, `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`, `application/pdf`).
    #[param(inline)]
    pub format: Option<ExportFormat>,
    /// CSV only (422 otherwise): start with a UTF-8 byte order mark, for spreadsheet programs that need one.
    pub bom: Option<bool>,
}

impl ExportParams {
    const NAMES: [&'static str; 2] = ["format", "bom"];
}

/// A file format of an export of rows (their JSON is the paginated list).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Xlsx,
    Pdf,
}

/// How to answer an export: the file format and, for CSV, a byte order mark.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FileParams {
    /// `csv`, `xlsx` or `pdf`; overrides `Accept` (`text/csv`,
    /// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`, `application/pdf`).
    #[param(inline)]
    pub format: Option<FileFormat>,
    /// CSV only (422 otherwise): start with a UTF-8 byte order mark.
    pub bom: Option<bool>,
}

/// The format and options of an answer, from `format` or the `Accept` header.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub format: Format,
    pub bom: bool,
}

impl Answer {
    /// Errors: 400 naming `format` (one not offered) or `bom`; 406 when
    /// `Accept` names nothing offered.
    fn from_parts(parts: &Parts, offered: &[Format]) -> AppResult<Answer> {
        let query = parts.uri.query().unwrap_or_default();
        let params: ExportParams = if offered.contains(&Format::Json) {
            parse_query(query, |k| ExportParams::NAMES.contains(&k))?
        } else {
            let files: FileParams = parse_query(query, |k| ExportParams::NAMES.contains(&k))?;
            ExportParams {
                format: files.format.map(|f| match f {
                    FileFormat::Csv => ExportFormat::Csv,
                    FileFormat::Xlsx => ExportFormat::Xlsx,
                    FileFormat::Pdf => ExportFormat::Pdf,
                }),
                bom: files.bom,
            }
        };
        let format = match params.format {
            Some(named) => {
                let format = match named {
                    ExportFormat::Json => Format::Json,
                    ExportFormat::Csv => Format::Csv,
                    ExportFormat::Xlsx => Format::Xlsx,
                    ExportFormat::Pdf => Format::Pdf,
                };
                if !offered.contains(&format) {
                    return Err(AppError::invalid_field(
                        "format",
                        "this export is offered as csv, xlsx or pdf",
                    ));
                }
                format
            }
            None => {
                let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
                Format::negotiate(accept, offered).ok_or_else(|| {
                    AppError::NotAcceptable(format!(
                        "offered: {}",
                        offered.iter().map(|f| f.media_type()).collect::<Vec<_>>().join(", ")
                    ))
                })?
            }
        };
        if params.bom.is_some() && format != Format::Csv {
            return Err(AppError::invalid_field("bom", "applies to CSV only"));
        }
        Ok(Answer {
            format,
            bom: params.bom.unwrap_or(false),
        })
    }

    /// The headers of a file answer named `stem`.
    pub fn headers(self, stem: &str) -> [(header::HeaderName, HeaderValue); 3] {
        let disposition = format!("attachment; filename=\"{stem}.{}\"", self.format.extension());
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(self.format.media_type())),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ]
    }
}

/// A report's request: the filters, the report's own parameters `T` and the
/// answer's format. Unknown parameters are refused (400) by `T`.
pub struct ReportRequest<T> {
    pub filters: ReportFilters,
    pub query: T,
    pub answer: Answer,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ReportRequest<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        let own = |k: &str| !ReportFilters::NAMES.contains(&k) && !ExportParams::NAMES.contains(&k);
        Ok(ReportRequest {
            filters: parse_query(query, |k| ReportFilters::NAMES.contains(&k))?,
            query: parse_query(query, own)?,
            answer: Answer::from_parts(parts, &[Format::Json, Format::Csv, Format::Xlsx, Format::Pdf])?,
        })
    }
}

/// No parameters beyond the filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// A report in the asked format.
///
/// Errors: 500 if the XLSX temporary file cannot be written.
pub async fn answer(report: Report, answer: Answer) -> AppResult<Response> {
    let stem = report.heading.file_stem();
    let body = match answer.format {
        Format::Json => return Ok(Json(report).into_response()),
        Format::Csv => exports::csv::render(&report.table.columns, &report.table.rows, answer.bom),
        Format::Xlsx | Format::Pdf => tokio::task::spawn_blocking(move || match answer.format {
            Format::Pdf => Ok(exports::pdf::render(
                &report.heading,
                &[],
                &report.table.columns,
                &report.table.rows,
                &report.table.totals,
            )),
            _ => exports::xlsx::render(
                &report.heading,
                &report.table.columns,
                &report.table.rows,
                &report.table.totals,
            ),
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?,
    };
    Ok((answer.headers(&stem), body).into_response())
}

/// Appointment statistics: counts by status and rates, per doctor
/// (default), specialty, facility, day, week or month of each facility's
/// local time. Rates are of all appointments in the row. Administrators;
/// a doctor their own.
#[utoipa::path(get, path = "/api/v1/reports/appointments", tag = "reports",
    params(ReportFilters, AppointmentReportQuery, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PracticeReportRead))))]
pub async fn appointment_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<AppointmentReportQuery>,
) -> AppResult<Response> {
    let report = reports::appointments(&state, &actor, &request.filters, &request.query).await?;
    answer(report, request.answer).await
}

/// Doctor performance: per doctor, appointments (not cancelled),
/// completion, booked and working minutes, utilisation (booked ÷ working)
/// and average consultation length. Administrators; a doctor their own.
#[utoipa::path(get, path = "/api/v1/reports/doctor-performance", tag = "reports",
    params(ReportFilters, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PracticeReportRead))))]
pub async fn performance_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<NoParams>,
) -> AppResult<Response> {
    let report = reports::doctor_performance(&state, &actor, &request.filters).await?;
    answer(report, request.answer).await
}

/// Revenue: payments received less refunds paid out, by when the money
/// moved, per month (default), day, service, doctor or payment method, and
/// currency. Administrators.
#[utoipa::path(get, path = "/api/v1/reports/revenue", tag = "reports",
    params(ReportFilters, RevenueReportQuery, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ReportRead))))]
pub async fn revenue_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<RevenueReportQuery>,
) -> AppResult<Response> {
    let report = reports::revenue(&state, &actor, &request.filters, &request.query).await?;
    answer(report, request.answer).await
}

/// Billing: bills issued in the period by status and currency; billed,
/// paid and outstanding, and the outstanding amounts by age. Administrators.
#[utoipa::path(get, path = "/api/v1/reports/billing", tag = "reports",
    params(ReportFilters, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ReportRead))))]
pub async fn billing_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<NoParams>,
) -> AppResult<Response> {
    let report = reports::billing(&state, &actor, &request.filters).await?;
    answer(report, request.answer).await
}

/// The most prescribed medications: prescriptions, distinct patients and
/// quantity. Administrators; a doctor their own prescribing.
#[utoipa::path(get, path = "/api/v1/reports/medications", tag = "reports",
    params(ReportFilters, MedicationReportQuery, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PracticeReportRead))))]
pub async fn medication_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<MedicationReportQuery>,
) -> AppResult<Response> {
    let report = reports::medications(&state, &actor, &request.filters, &request.query).await?;
    answer(report, request.answer).await
}

/// New patient records per month of registration (default), or per
/// division or district of the patient's address. The period is the only
/// filter. Administrators.
#[utoipa::path(get, path = "/api/v1/reports/patients", tag = "reports",
    params(ReportFilters, PatientReportQuery, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ReportRead))))]
pub async fn patient_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<PatientReportQuery>,
) -> AppResult<Response> {
    let report = reports::patients(&state, &actor, &request.filters, &request.query).await?;
    answer(report, request.answer).await
}

/// Teleconsultation outcomes per doctor: sessions, each outcome, the
/// completion rate and average length. Administrators; a doctor their own.
#[utoipa::path(get, path = "/api/v1/reports/telemedicine", tag = "reports",
    params(ReportFilters, ExportParams),
    responses((status = 200, description = "The report", content(
        (ReportOut = "application/json"), (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::PracticeReportRead))))]
pub async fn telemedicine_report(
    State(state): State<AppState>,
    actor: Actor,
    request: ReportRequest<NoParams>,
) -> AppResult<Response> {
    let report = reports::telemedicine(&state, &actor, &request.filters).await?;
    answer(report, request.answer).await
}

/// The filters and format of an export (CSV, XLSX or PDF; no JSON: the
/// lists are the JSON).
pub struct ExportRequest {
    pub filters: ReportFilters,
    pub answer: Answer,
}

impl<S: Send + Sync> FromRequestParts<S> for ExportRequest {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        let _: NoParams = parse_query(query, |k| {
            !ReportFilters::NAMES.contains(&k) && !ExportParams::NAMES.contains(&k)
        })?;
        Ok(ExportRequest {
            filters: parse_query(query, |k| ReportFilters::NAMES.contains(&k))?,
            answer: Answer::from_parts(parts, &[Format::Csv, Format::Xlsx, Format::Pdf])?,
        })
    }
}

/// Log why an export failed midway; the response is then aborted.
fn abort(e: impl std::fmt::Display) -> std::io::Error {
    tracing::error!(error = %e, "export failed while streaming; the response is aborted");
    std::io::Error::other("export failed")
}

/// Bytes sent per chunk of a streamed file.
const CHUNK: usize = 64 * 1024;

/// An export as a file. CSV streams page by page as it is read; XLSX rows
/// go to the writer's temporary file page by page and the file is sent
/// when complete; a PDF is built whole, so it is refused (422
/// `export_too_large_for_pdf`, naming `format`) above
/// [`reports::exports::MAX_PDF_ROWS`] rows rather than cut. A failure while
/// streaming aborts the response, so a client never takes a cut file for a
/// whole one.
pub async fn stream(export: reports::exports::Export, answer: Answer) -> AppResult<Response> {
    use reports::exports::MAX_PDF_ROWS;
    let reports::exports::Export {
        heading,
        columns,
        mut pages,
    } = export;
    let headers = answer.headers(&heading.file_stem());
    if answer.format == Format::Pdf {
        let mut rows = Vec::new();
        while let Some(page) = pages.next().await? {
            rows.extend(page);
            if rows.len() > MAX_PDF_ROWS {
                return Err(AppError::invalid_field(
                    "format",
                    format!("a PDF export holds at most {MAX_PDF_ROWS} rows; use csv or xlsx, or a shorter period"),
                ));
            }
        }
        let pdf = tokio::task::spawn_blocking(move || exports::pdf::render(&heading, &[], &columns, &rows, &[]))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        return Ok((headers, pdf).into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        let result: Result<(), std::io::Error> = async {
            match answer.format {
                Format::Csv => {
                    let mut writer = exports::csv::Writer::new(&columns, answer.bom);
                    while let Some(page) = pages.next().await.map_err(abort)? {
                        for row in &page {
                            writer.row(row);
                        }
                        let chunk = writer.take();
                        if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                            return Ok(()); // the client went away
                        }
                    }
                }
                _ => {
                    let mut writer = exports::xlsx::Writer::new(&heading, &columns).map_err(abort)?;
                    while let Some(page) = pages.next().await.map_err(abort)? {
                        for row in &page {
                            writer.row(row, false).map_err(abort)?;
                        }
                    }
                    let file = writer.finish(&[]).map_err(abort)?;
                    for chunk in file.chunks(CHUNK) {
                        if tx.send(Ok(chunk.to_vec())).await.is_err() {
                            return Ok(());
                        }
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((headers, axum::body::Body::from_stream(body)).into_response())
}

/// Every appointment starting on the local days `from..=to` (default: this
/// month), with its facility, doctor, service, patient (MRN and name),
/// status and queue number, times in the facility's local time; by start.
/// CSV streams with bounded memory however long; XLSX is sent when
/// complete; PDF up to 10,000 rows. Administrators; audited.
#[utoipa::path(get, path = "/api/v1/exports/appointments", tag = "reports",
    params(ReportFilters, FileParams),
    responses((status = 200, description = "The file", content(
        (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DataExport))))]
pub async fn export_appointments(
    State(state): State<AppState>,
    actor: Actor,
    request: ExportRequest,
) -> AppResult<Response> {
    let export = reports::exports::appointments(&state, &actor, &request.filters).await?;
    stream(export, request.answer).await
}

/// Every patient record (with `from`/`to`: those registered on those local
/// days), by medical record number: demographic and contact fields only.
/// CSV streams with bounded memory however long; XLSX is sent when
/// complete; PDF up to 10,000 rows. Administrators; audited.
#[utoipa::path(get, path = "/api/v1/exports/patients", tag = "reports",
    params(ReportFilters, FileParams),
    responses((status = 200, description = "The file", content(
        (String = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (FileBody = "application/pdf"))),
        ExportErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DataExport))))]
pub async fn export_patients(
    State(state): State<AppState>,
    actor: Actor,
    request: ExportRequest,
) -> AppResult<Response> {
    let export = reports::exports::patients(&state, &actor, &request.filters).await?;
    stream(export, request.answer).await
}

fn keys(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| format!("`{}` \"{}\" ({})", c.key, c.label, c.kind.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each report's columns, in order, for its description.
fn columns_of(path: &str) -> Option<String> {
    use crate::exports::{ColumnType::*, column};
    let text = |key, label| column(key, label, Text);
    Some(match path {
        "/api/v1/reports/appointments" => format!(
            "Columns: first the group's — `group_by=doctor`: {}; `specialty`: {}; `facility`: {}; `day`: {}; `week`: {}; `month`: {} — then {}.",
            keys(&[text("doctor", "Doctor"), text("specialty", "Specialty")]),
            keys(&[text("specialty", "Specialty")]),
            keys(&[text("facility", "Facility")]),
            keys(&[column("date", "Date", Date)]),
            keys(&[column("week", "Week starting", Date)]),
            keys(&[text("month", "Month")]),
            keys(&reports::APPOINTMENT_COUNTS),
        ),
        "/api/v1/reports/doctor-performance" => format!("Columns: {}.", keys(&reports::PERFORMANCE_COLUMNS)),
        "/api/v1/reports/revenue" => format!(
            "Columns: first the group's — `group_by=month`: {}; `day`: {}; `service`: {}; `doctor`: {}; `method`: {} — then {}.",
            keys(&[text("month", "Month")]),
            keys(&[column("date", "Date", Date)]),
            keys(&[text("service", "Service")]),
            keys(&[text("doctor", "Doctor")]),
            keys(&[text("method", "Payment method")]),
            keys(&reports::REVENUE_AMOUNTS),
        ),
        "/api/v1/reports/billing" => format!("Columns: {}.", keys(&reports::BILLING_COLUMNS)),
        "/api/v1/reports/medications" => format!("Columns: {}.", keys(&reports::MEDICATION_COLUMNS)),
        "/api/v1/reports/patients" => format!(
            "Columns: `group_by=month`: {}; `division`: {}; `district`: {}; then {}.",
            keys(&[text("month", "Month")]),
            keys(&[text("division", "Division")]),
            keys(&[text("division", "Division"), text("district", "District")]),
            keys(&[column("new_patients", "New patients", Integer)]),
        ),
        "/api/v1/reports/telemedicine" => format!("Columns: {}.", keys(&reports::telemedicine_columns())),
        "/api/v1/exports/appointments" => format!("Columns: {}.", keys(&reports::exports::APPOINTMENT_COLUMNS)),
        "/api/v1/exports/patients" => format!("Columns: {}.", keys(&reports::exports::PATIENT_COLUMNS)),
        "/api/v1/reports/monthly/{id}" => format!("Columns: {}.", keys(&reports::monthly::MONTHLY_COLUMNS)),
        _ => return None,
    })
}

/// Write each report's columns (key, label, type) into its operation's
/// description, from the lists the reports are built with.
pub fn describe_columns(api: &mut utoipa::openapi::OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let (Some(get), Some(columns)) = (item.get.as_mut(), columns_of(path)) else {
            continue;
        };
        let description = get.description.get_or_insert_with(String::new);
        description.push_str("\n\n");
        description.push_str(&columns);
    }
}
