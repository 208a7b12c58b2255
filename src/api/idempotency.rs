//! `Idempotency-Key` on booking (and, later, payment) requests: a retry with
//! the same key and body gets the first response instead of acting twice; the
//! same key with a different body is refused (422). Keys are kept per user
//! for 24 hours in the database, so a retry can land on any node.

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::access::Gate;
use crate::auth::Actor;
use crate::db::idempotency::{self, Claim, Stored};
use crate::error::AppError;

/// The request header.
pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed response.
pub static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Longest response body kept for replay, in bytes.
const MAX_STORED: usize = 256 * 1024;

fn digest(method: &Method, path: &str, body: &[u8]) -> String {
    // Equal JSON is the same request whatever its key order or spacing.
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok())
        .unwrap_or_else(|| body.to_vec());
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(&canonical);
    hex::encode(hasher.finalize())
}

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The middleware (a route layer, after the access check). It acts on the
/// operations that document the `Idempotency-Key` header.
pub async fn middleware(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    let idempotent = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| gate.operations.get(request.method(), route.as_str()))
        .is_some_and(|op| op.idempotent);
    if !idempotent {
        return next.run(request).await;
    }
    let state = &gate.state;
    let Some(user) = request.extensions().get::<Actor>().map(|a| a.user_id) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(key) if valid_key(key) => key.to_owned(),
        _ => {
            return AppError::bad_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters").into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, state.config.body_limit).await else {
        return AppError::PayloadTooLarge.into_response();
    };
    let hash = digest(&parts.method, parts.uri.path(), &bytes);
    let db = state.db.conn();
    let now = state.clock.now();
    match idempotency::claim(db, user, &key, &hash, now).await {
        Ok(Claim::New) => {}
        Ok(Claim::Replay(stored)) => return replay(stored),
        Ok(Claim::InProgress) => {
            return AppError::conflict(
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
            .into_response();
        }
        Ok(Claim::Mismatch) => {
            return AppError::rule(
                "idempotency_key_reused",
                "Idempotency-Key",
                "this Idempotency-Key was used for a different request",
            )
            .into_response();
        }
        Err(err) => return AppError::from(err).into_response(),
    }
    if rand::rng().random_ratio(1, 100)
        && let Err(err) = idempotency::purge(db, now).await
    {
        tracing::warn!(error = %err, "purging expired idempotency keys failed");
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    // Decisions are kept (success, a taken slot, a broken rule); failures a
    // retry may fix (malformed input, an outage) release the key.
    let keep = status.is_success() || status == StatusCode::CONFLICT || status == StatusCode::UNPROCESSABLE_ENTITY;
    if !keep {
        if let Err(err) = idempotency::release(db, user, &key).await {
            tracing::warn!(error = %err, "releasing an idempotency key failed");
        }
        return response;
    }
    let (response_parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_STORED).await else {
        let _ = idempotency::release(db, user, &key).await;
        return AppError::Internal(anyhow::anyhow!("response too large to keep for replay")).into_response();
    };
    let stored = Stored {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&body).into_owned(),
        location: response_parts
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    if let Err(err) = idempotency::complete(db, user, &key, &stored).await {
        tracing::warn!(error = %err, "storing an idempotent response failed");
    }
    Response::from_parts(response_parts, Body::from(body))
}

fn replay(stored: Stored) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        stored.body,
    )
        .into_response();
    if let Some(location) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
        .headers_mut()
        .insert(REPLAYED.clone(), HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_json_is_the_same_request() {
        let a = digest(&Method::POST, "/x", br#"{"a": 1, "b": [1, 2]}"#);
        let b = digest(&Method::POST, "/x", br#"{"b":[1,2],"a":1}"#);
        let c = digest(&Method::POST, "/x", br#"{"b":[2,1],"a":1}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, digest(&Method::POST, "/y", br#"{"a": 1, "b": [1, 2]}"#));
    }

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(valid_key("7b1c2a2e-booking-1"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"k".repeat(256)));
    }
}
