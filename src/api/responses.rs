//! Error responses for the OpenAPI document: every operation lists the
//! problem statuses it can answer with, all as RFC 9457 problem details.

use utoipa::IntoResponses;

use crate::error::Problem;

/// Errors of operations anyone may call without a body.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum PublicErrors {
    /// A parameter is malformed.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// A parameter's value is not acceptable (e.g. contains NUL).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// The request was not received and answered in time (`CAREBOOK_REQUEST_TIMEOUT_SECONDS`).
    #[response(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Problem),
    /// Too many requests from this client address; `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyRequests(Problem),
    /// The database is not available.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// Errors of authenticated reads.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ReadErrors {
    /// A parameter is malformed (names the parameter).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid access token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource, or one the caller may not see.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// A parameter's value is not acceptable (e.g. contains NUL).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// The request was not received and answered in time (`CAREBOOK_REQUEST_TIMEOUT_SECONDS`).
    #[response(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Problem),
    /// Too many requests from this client address; `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyRequests(Problem),
    /// The database is not available.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// Errors of reports and exports: those of reads, and 406.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ExportErrors {
    /// A parameter is malformed (names the parameter).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid access token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource, or one the caller may not see.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The `Accept` header names no format this answer is offered in.
    #[response(status = 406, content_type = "application/problem+json")]
    NotAcceptable(Problem),
    /// A parameter's value is not acceptable (e.g. contains NUL).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// The request was not received and answered in time (`CAREBOOK_REQUEST_TIMEOUT_SECONDS`).
    #[response(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Problem),
    /// Too many requests from this client address; `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyRequests(Problem),
    /// The database is not available.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// Errors of authenticated writes.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum WriteErrors {
    /// Malformed JSON, wrong types, unknown fields or bad parameters (names the field).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid access token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource, or one the caller may not see.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// Conflicts with current state (slot taken, illegal transition, duplicate); `rule` says which.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// `If-Match` named a version that is no longer current.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
    /// The body is larger than allowed.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// Well-formed but invalid values or a broken booking rule; `errors` and `rule` say which.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// The request was not received and answered in time (`CAREBOOK_REQUEST_TIMEOUT_SECONDS`).
    #[response(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Problem),
    /// Too many requests from this client address; `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyRequests(Problem),
    /// The database is not available.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}
