//! A request id on every request, response (`X-Request-Id`), log line and
//! problem document (`instance`).
//!
//! An incoming `X-Request-Id` of up to 64 visible ASCII characters is kept (so a
//! proxy's id flows through); otherwise a UUID v4 is generated.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header carrying the request id.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled by this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn acceptable(value: &HeaderValue) -> Option<String> {
    let value = value.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| value.to_owned())
}

/// Middleware: assign the id, run the request inside its scope and span, echo it back.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(acceptable)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let header = HeaderValue::from_str(&id).expect("request id is visible ASCII");
    request.headers_mut().insert(X_REQUEST_ID.clone(), header.clone());
    // Only the method and the route template are logged: paths can carry ids of
    // patients, and query strings can carry search terms.
    let span = tracing::info_span!("request", request_id = %id, method = %request.method());
    let mut response = REQUEST_ID.scope(id, next.run(request).instrument(span)).await;
    response.headers_mut().insert(X_REQUEST_ID.clone(), header);
    response
}
