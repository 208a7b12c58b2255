//! One error type for the whole API, answered as RFC 9457 problem details
//! (`application/problem+json`).
//!
//! Handlers return [`AppResult<T>`]; `?` converts database and validation
//! errors. Internal errors are logged with the request id and answered with a
//! generic body: no SQL, stack trace or internal name ever reaches a client.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::error::{DbError, Party};
use crate::request_id;

/// Field name → messages, as in the `errors` member of a problem document.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Result type of every handler and service function.
pub type AppResult<T> = Result<T, AppError>;

/// An RFC 9457 problem details document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:carebook:problem:doctor_unavailable",
    "title": "Conflict",
    "status": 409,
    "detail": "the doctor already has an appointment at that time",
    "instance": "urn:carebook:request:2f1c9a3e-8f1b-4bb2-9a55-8b0b8d6c1c11",
    "rule": "doctor_unavailable"
}))]
pub struct Problem {
    /// URI identifying the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type (the HTTP reason phrase for `about:blank`).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id of this occurrence (`urn:carebook:request:<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The booking or business rule that refused the request (on 403, 409 and 422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Field → messages, for validation problems.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Option<std::collections::HashMap<String, Vec<String>>>, example = json!({"start": ["the start is not on the slot grid"]}))]
    pub errors: FieldErrors,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: malformed request (syntax, types, unknown fields, bad parameters).
    #[error("bad request: {detail}")]
    BadRequest { detail: String, errors: FieldErrors },
    /// 422: well-formed but invalid values.
    #[error("validation failed: {detail}")]
    Validation {
        detail: String,
        errors: FieldErrors,
        rule: Option<&'static str>,
    },
    /// 401: no token, or a token that is not valid.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 403 naming the rule that blocks the account until it acts
    /// (`password_change_required`, `two_factor_required`).
    #[error("forbidden ({rule}): {detail}")]
    Blocked { rule: &'static str, detail: String },
    /// 403 naming a field of a class the role may not write (`field_not_writable`).
    #[error("forbidden field {field}: {detail}")]
    FieldNotWritable { field: String, detail: String },
    /// 404: no such resource (or one the caller must not know exists).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 409: conflicts with the current state; `rule` names what was violated.
    #[error("conflict ({rule}): {detail}")]
    Conflict { rule: &'static str, detail: String },
    /// 412: `If-Match` did not match.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 408: the request was not received and answered in time.
    #[error("request timeout")]
    RequestTimeout,
    /// 413: body over the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: wrong content type.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 406: none of the media types the `Accept` header names can be produced.
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    /// 429: rate limited; retry after this many seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// 503: the database does not answer.
    #[error("service unavailable")]
    Unavailable,
    /// 503: the database aborted the transaction for a deadlock or a
    /// serialisation failure with a concurrent one (or SQLite stayed busy);
    /// nothing was stored. Services whose writes contend retry it first
    /// ([`crate::booking::retry_busy`]).
    #[error("database busy")]
    Busy,
    /// 500: a bug or an unexpected failure; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// 401 for an access token that does not verify, names no live session,
    /// or whose user is gone or deactivated.
    pub fn invalid_token() -> Self {
        AppError::Unauthorized("the access token is invalid or expired")
    }

    /// A 400 naming one field.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        AppError::BadRequest {
            detail: format!("{field}: {message}"),
            errors: one_error(field, message),
        }
    }

    /// A 422 naming one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        AppError::Validation {
            detail: format!("{field}: {message}"),
            errors: one_error(field, message),
            rule: None,
        }
    }

    /// A 422 for a named rule about one field.
    pub fn rule(rule: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        AppError::Validation {
            detail: message.clone(),
            errors: one_error(field, message),
            rule: Some(rule),
        }
    }

    /// 422 `idempotency_key_reused`: the `Idempotency-Key` was used for a different request.
    pub fn idempotency_key_reused() -> Self {
        AppError::rule(
            "idempotency_key_reused",
            "Idempotency-Key",
            "this Idempotency-Key was used for a different request",
        )
    }

    /// A 409 naming the rule that refused the request.
    pub fn conflict(rule: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            rule,
            detail: detail.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Blocked { .. } | AppError::FieldNotWritable { .. } => {
                StatusCode::FORBIDDEN
            }
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document for this error (without the request id).
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let (type_uri, detail, rule, errors) = match self {
            AppError::BadRequest { detail, errors } => (
                problem_type("invalid_request"),
                Some(detail.clone()),
                None,
                errors.clone(),
            ),
            AppError::Validation { detail, errors, rule } => (
                problem_type(rule.unwrap_or("validation_failed")),
                Some(detail.clone()),
                rule.map(str::to_owned),
                errors.clone(),
            ),
            AppError::Unauthorized(why) => (blank(), Some((*why).to_owned()), None, FieldErrors::new()),
            AppError::Forbidden(why) => (blank(), Some(why.clone()), None, FieldErrors::new()),
            AppError::Blocked { rule, detail } => (
                problem_type(rule),
                Some(detail.clone()),
                Some((*rule).to_owned()),
                FieldErrors::new(),
            ),
            AppError::FieldNotWritable { field, detail } => (
                problem_type("field_not_writable"),
                Some(detail.clone()),
                Some("field_not_writable".to_owned()),
                one_error(field.clone(), detail.clone()),
            ),
            AppError::NotFound(what) => (blank(), Some(format!("{what} not found")), None, FieldErrors::new()),
            AppError::Conflict { rule, detail } => (
                problem_type(rule),
                Some(detail.clone()),
                Some((*rule).to_owned()),
                FieldErrors::new(),
            ),
            AppError::PreconditionFailed => (
                blank(),
                Some("the resource has changed since it was read (If-Match)".into()),
                None,
                FieldErrors::new(),
            ),
            AppError::RequestTimeout => (
                blank(),
                Some("the request was not received and answered in time; send it again".into()),
                None,
                FieldErrors::new(),
            ),
            AppError::PayloadTooLarge => (
                blank(),
                Some("the request body is larger than allowed".into()),
                None,
                FieldErrors::new(),
            ),
            AppError::UnsupportedMediaType(why) | AppError::NotAcceptable(why) => {
                (blank(), Some(why.clone()), None, FieldErrors::new())
            }
            AppError::TooManyRequests { retry_after } => (
                blank(),
                Some(format!("too many requests; retry after {retry_after} s")),
                None,
                FieldErrors::new(),
            ),
            AppError::Unavailable => (
                blank(),
                Some("the database is not available".into()),
                None,
                FieldErrors::new(),
            ),
            AppError::Busy => (
                blank(),
                Some(
                    "a concurrent change kept the database from completing this one; nothing was stored, retry".into(),
                ),
                None,
                FieldErrors::new(),
            ),
            AppError::Internal(_) => (
                blank(),
                Some("an internal error occurred; quote the instance when reporting it".into()),
                None,
                FieldErrors::new(),
            ),
        };
        Problem {
            type_uri,
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            instance: None,
            rule,
            errors,
        }
    }
}

fn blank() -> String {
    "about:blank".to_owned()
}

fn problem_type(code: &str) -> String {
    format!("urn:carebook:problem:{code}")
}

fn one_error(field: String, message: String) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.insert(field, vec![message]);
    errors
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let request_id = request_id::current();
        match &self {
            AppError::Internal(err) => {
                tracing::error!(request_id = %request_id.as_deref().unwrap_or("-"), error = ?err, "internal error");
            }
            AppError::Unavailable => {
                tracing::warn!(request_id = %request_id.as_deref().unwrap_or("-"), "database unavailable");
            }
            AppError::Busy => {
                tracing::warn!(request_id = %request_id.as_deref().unwrap_or("-"), "database busy after retries");
            }
            _ => {}
        }
        let mut problem = self.to_problem();
        problem.instance = request_id.map(|id| format!("urn:carebook:request:{id}"));
        let mut response = problem_response(&problem);
        let headers = response.headers_mut();
        match &self {
            AppError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::TooManyRequests { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            AppError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            AppError::Busy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// Serialise a problem document with its status and media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response()
}

impl From<DbError> for AppError {
    /// Constraint violations become 409/422 naming the rule or field; a busy
    /// or lost database 503; anything else a 500 whose details are only logged.
    fn from(err: DbError) -> Self {
        match err {
            DbError::Overlap(Party::Patient) => AppError::conflict(
                "patient_unavailable",
                "the patient already has an appointment at that time",
            ),
            DbError::Overlap(Party::Doctor) => AppError::conflict(
                "doctor_unavailable",
                "the doctor already has an appointment at that time",
            ),
            DbError::Unique(_) => match err.unique_field() {
                Some((field, message)) => AppError::conflict("already_exists", format!("{field} {message}")),
                None => AppError::conflict("already_exists", "a record with these values already exists"),
            },
            DbError::ForeignKey => AppError::conflict(
                "in_use",
                "the record is referenced by other records, or refers to one that does not exist",
            ),
            DbError::Check => AppError::Validation {
                detail: "a value is outside its allowed range".into(),
                errors: Default::default(),
                rule: Some("check_failed"),
            },
            DbError::Busy => AppError::Busy,
            DbError::Unavailable => AppError::Unavailable,
            DbError::TextWithNul => AppError::bad_field("body", "text must not contain NUL (\\u0000) characters"),
            DbError::NotFound => AppError::NotFound("record"),
            DbError::Other(err) => AppError::Internal(anyhow::Error::new(err)),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        DbError::from(err).into()
    }
}

impl From<garde::Report> for AppError {
    fn from(report: garde::Report) -> Self {
        let mut errors = FieldErrors::new();
        for (path, error) in report.iter() {
            let field = path.to_string();
            let field = if field.is_empty() { "body".to_owned() } else { field };
            errors.entry(field).or_default().push(error.message().to_string());
        }
        let detail = errors
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join("; ")))
            .collect::<Vec<_>>()
            .join(", ");
        AppError::Validation {
            detail,
            errors,
            rule: None,
        }
    }
}
