//! `Idempotency-Key` on booking (and, later, payment) requests: a retry with
//! the same key and body gets the resource the first request created (201,
//! `Idempotent-Replayed: true`) instead of acting twice; the same key with a
//! different body is refused (422). Keys are kept per user for 24 hours in
//! the database, so a retry can land on any node.
//!
//! This middleware only validates the header and digests the request into
//! an [`IdempotencyKey`] request extension; the service records the key in
//! the transaction that creates the resource ([`crate::db::idempotency`]).
//! A request that did not create anything (refused, malformed, cut off)
//! leaves no key, so its retry is decided afresh.

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::access::Gate;
use super::extract::unreadable_body;
use crate::db::idempotency::{self, IdempotencyKey};
use crate::error::AppError;

/// The request header.
pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed response.
pub static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

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
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY) else {
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
    let key = match key.to_str() {
        Ok(key) if valid_key(key) => key.to_owned(),
        _ => {
            return AppError::bad_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters").into_response();
        }
    };
    let state = &gate.state;
    let (mut parts, body) = request.into_parts();
    let bytes = match to_bytes(body, state.config.body_limit).await {
        Ok(bytes) => bytes,
        Err(err) => return unreadable_body(&err, err.to_string()).into_response(),
    };
    let digest = digest(&parts.method, parts.uri.path(), &bytes);
    parts.extensions.insert(IdempotencyKey { key, digest });
    if rand::rng().random_ratio(1, 100)
        && let Err(err) = idempotency::purge(state.db.conn(), state.clock.now()).await
    {
        tracing::warn!(error = %err, "purging expired idempotency keys failed");
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Mark a response as the replay of an earlier request's.
pub fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert(REPLAYED.clone(), HeaderValue::from_static("true"));
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
