//! Optimistic concurrency (RFC 9110 §13): resources users edit carry an
//! `ETag`; `If-Match` on a change must name the current one, else 412.

use axum::extract::FromRequestParts;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use chrono::{DateTime, Utc};

use crate::error::{AppError, AppResult};

/// The `If-Match` header of a request, if any.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        match parts.headers.get(IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => value
                .to_str()
                .map(|v| IfMatch(Some(v.to_owned())))
                .map_err(|_| AppError::bad_field("If-Match", "must be visible ASCII")),
        }
    }
}

impl IfMatch {
    /// Ok when there is no `If-Match`, when it is `*`, or when it lists
    /// `current` (strong comparison: weak tags never match). Errors: 412.
    pub fn check(&self, current: &str) -> AppResult<()> {
        let Some(header) = &self.0 else { return Ok(()) };
        let matches = header.trim() == "*" || header.split(',').map(str::trim).any(|tag| tag == current);
        if matches {
            Ok(())
        } else {
            Err(AppError::PreconditionFailed)
        }
    }
}

/// The ETag of a versioned resource (appointments).
pub fn version_tag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// The ETag of a resource that records when it last changed.
pub fn time_tag(updated_at: DateTime<Utc>) -> String {
    format!("\"t{}\"", updated_at.timestamp_micros())
}

/// The `ETag` header for a tag.
pub fn etag(tag: &str) -> [(HeaderName, HeaderValue); 1] {
    [(ETAG, HeaderValue::from_str(tag).expect("tags are visible ASCII"))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly() {
        let tag = version_tag(3);
        assert!(IfMatch(None).check(&tag).is_ok());
        assert!(IfMatch(Some("*".into())).check(&tag).is_ok());
        assert!(IfMatch(Some("\"v2\", \"v3\"".into())).check(&tag).is_ok());
        assert!(IfMatch(Some("\"v2\"".into())).check(&tag).is_err());
        assert!(IfMatch(Some("W/\"v3\"".into())).check(&tag).is_err());
    }
}
