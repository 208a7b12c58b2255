//! Request extractors whose every rejection is a problem document naming the
//! field: JSON bodies ([`ApiJson`]), query strings ([`ApiQuery`]) and path
//! parameters ([`ApiPath`]).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::Actor;
use crate::auth::token::Claims;

use crate::error::AppError;

/// A JSON request body (`application/json`), deserialised strictly.
///
/// Errors: 415 for another content type, 413 over the body limit, 400 for
/// malformed JSON, wrong types, missing or unknown fields (naming the field).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        check_json_content_type(req.headers().get(CONTENT_TYPE))?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(e) => unreadable_body(&e, e.body_text()),
                other => AppError::bad_field("body", other.body_text()),
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Accepts `application/json` and any `application/*+json` (RFC 6839), with no
/// `charset` or `charset=utf-8` in any case (RFC 8259 §8.1: JSON between
/// systems is UTF-8). Another charset is 415: decoding Latin-1 or UTF-16 as
/// UTF-8 would silently corrupt names and notes.
fn check_json_content_type(value: Option<&axum::http::HeaderValue>) -> Result<(), AppError> {
    let parsed = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok());
    let Some(media) = parsed else {
        return Err(AppError::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ));
    };
    let is_json =
        media.type_() == mime::APPLICATION && (media.subtype() == mime::JSON || media.suffix() == Some(mime::JSON));
    if !is_json {
        return Err(AppError::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ));
    }
    match media.get_param(mime::CHARSET) {
        Some(charset) if !charset.as_str().eq_ignore_ascii_case("utf-8") => Err(AppError::UnsupportedMediaType(
            "a JSON request body must be UTF-8 (charset=utf-8 or no charset)".into(),
        )),
        _ => Ok(()),
    }
}

/// A JSON body (as [`ApiJson`]) and the names of its top-level members, for
/// services that decide field by field what a caller may write.
#[derive(Debug, Clone)]
pub struct ApiFields<T>(pub T, pub Vec<String>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiFields<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let ApiJson(value) = ApiJson::<serde_json::Map<String, serde_json::Value>>::from_request(req, state).await?;
        let members = value.keys().cloned().collect();
        let body = serde_json::Value::Object(value);
        let parsed = serde_path_to_error::deserialize(body).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let field = if path == "." || path.is_empty() {
                named_field(&message).unwrap_or_else(|| "body".to_owned())
            } else {
                path
            };
            AppError::bad_field(field, message)
        })?;
        Ok(ApiFields(parsed, members))
    }
}

/// A body that could not be read: too large (413), too slow (408, the body
/// deadline), or broken off (400 with `detail`).
pub(super) fn unreadable_body(err: &(dyn std::error::Error + 'static), detail: String) -> AppError {
    if is_length_limit(err) {
        AppError::PayloadTooLarge
    } else if is_timeout(err) {
        AppError::RequestTimeout
    } else {
        AppError::bad_field("body", detail)
    }
}

fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() || e.to_string().contains("length limit exceeded") {
            return true;
        }
        source = e.source();
    }
    false
}

/// Whether JSON text contains an escaped NUL character (`\u0000`); raw NUL
/// bytes are not valid JSON anyway. Text with NUL cannot be stored in
/// PostgreSQL, so it is refused everywhere.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && &w[2..] == b"0000")
}

/// Deserialise JSON, naming the field of the first error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // Every request body is a JSON object; serde would also read a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(AppError::bad_field("body", "must be a JSON object"));
    }
    if has_escaped_nul(bytes) {
        return Err(AppError::invalid_field(
            "body",
            "text must not contain NUL (\\u0000) characters",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let malformed = inner.is_syntax() || inner.is_eof();
        let message = if malformed {
            format!("malformed JSON: {inner}")
        } else {
            strip_position(&inner.to_string())
        };
        let field = if malformed {
            "body".to_owned()
        } else if path == "." || path.is_empty() {
            named_field(&message).unwrap_or_else(|| "body".to_owned())
        } else {
            path
        };
        AppError::bad_field(field, message)
    })?;
    deserializer
        .end()
        .map_err(|e| AppError::bad_field("body", format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// The field named by serde's "unknown field `x`" and "missing field `x`" messages.
fn named_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next().map(str::to_owned)
}

/// serde_json appends " at line 1 column 42"; for data errors the field name says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string, deserialised strictly.
///
/// Errors: 400 naming the parameter (wrong type, unknown parameter, bad value).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parse_query(parts.uri.query().unwrap_or_default(), |_| true).map(ApiQuery)
    }
}

/// Deserialise the parameters of `query` whose names `keep` accepts, strictly.
///
/// Errors: 422 for a NUL character; 400 naming the parameter otherwise.
pub fn parse_query<T: DeserializeOwned>(query: &str, keep: impl Fn(&str) -> bool) -> Result<T, AppError> {
    if query.contains("%00") {
        return Err(AppError::invalid_field(
            "query",
            "parameters must not contain NUL (%00) characters",
        ));
    }
    let kept = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| keep(k)))
        .finish();
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(kept.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." || path.is_empty() {
            "query".to_owned()
        } else {
            path
        };
        AppError::bad_field(field, err.into_inner().to_string())
    })
}

/// Path parameters.
///
/// Errors: 400 naming the parameter when it does not parse (e.g. not a UUID).
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                let message = match e.kind() {
                    ErrorKind::ParseErrorAtKey { expected_type, .. } if expected_type.contains("Uuid") => {
                        "must be a UUID".to_owned()
                    }
                    _ => e.body_text(),
                };
                Err(AppError::bad_field(field, message))
            }
            Err(other) => Err(AppError::bad_field("path", other.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        doctor_id: uuid::Uuid,
        start: chrono::DateTime<chrono::Utc>,
    }

    fn field_of(err: AppError) -> String {
        match err {
            AppError::BadRequest { errors, .. } => errors.keys().next().unwrap().clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"doctor_id": "x", "start": "2026-01-01T00:00:00Z"}"#).unwrap_err();
        assert_eq!(field_of(err), "doctor_id");
        let err =
            parse_json::<Body>(br#"{"doctor_id": "00000000-0000-0000-0000-000000000000", "start": 5}"#).unwrap_err();
        assert_eq!(field_of(err), "start");
        let err = parse_json::<Body>(br#"{"doctor_id": "#).unwrap_err();
        assert_eq!(field_of(err), "body");
        let err = parse_json::<Body>(br#"{"doctor_id": "00000000-0000-0000-0000-000000000000", "start": "2026-01-01T00:00:00Z", "role": "admin"}"#).unwrap_err();
        assert_eq!(field_of(err), "role");
        let err =
            parse_json::<Body>(br#"["00000000-0000-0000-0000-000000000000", "2026-01-01T00:00:00Z"]"#).unwrap_err();
        assert_eq!(field_of(err), "body");
        let err = parse_json::<Body>(br#"{"doctor_id": "00000000-0000-0000-0000-000000000000"}"#).unwrap_err();
        assert_eq!(field_of(err), "start");
        let err = parse_json::<Body>(
            br#"{"doctor_id": "00000000-0000-0000-0000-000000000000", "start": "2026-01-01T00:00:00Z"} {}"#,
        )
        .unwrap_err();
        assert_eq!(field_of(err), "body");
    }
}

/// Where the request came from: the client address (see
/// [`Proxies`](crate::config::Proxies)) and the `User-Agent` (at most 300 characters).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo(pub crate::db::security::Client);

impl FromRequestParts<crate::state::AppState> for ClientInfo {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::state::AppState) -> Result<Self, AppError> {
        Ok(ClientInfo(client_of(
            &parts.headers,
            &parts.extensions,
            &state.config.proxies,
        )))
    }
}

/// The client of a request (see [`ClientInfo`]).
pub fn client_of(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    proxies: &crate::config::Proxies,
) -> crate::db::security::Client {
    crate::db::security::Client {
        ip: client_ip(headers, extensions, proxies).map(|ip| ip.to_string()),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(300).collect()),
    }
}

/// The client address: the peer, or behind trusted proxies the right-most
/// `X-Forwarded-For` entry that is not one of them.
pub fn client_ip(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    proxies: &crate::config::Proxies,
) -> Option<std::net::IpAddr> {
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    if !proxies.enabled {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    proxies.client(peer, &forwarded)
}

/// The caller of an authenticated operation: the access check has already
/// authenticated them and left the [`Actor`] in the request; elsewhere the
/// bearer token is checked here.
///
/// Errors: 401 without a token, with a malformed header, or one that
/// [`authenticate`] refuses.
impl FromRequestParts<crate::state::AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::state::AppState) -> Result<Actor, AppError> {
        // Already authenticated by the access check of this request.
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(actor.clone());
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(AppError::Unauthorized("authentication credentials were not provided"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AppError::Unauthorized("use Authorization: Bearer <access token>"))?;
        authenticate(state, token).await.map(|(actor, _)| actor)
    }
}

/// The actor an access token stands for, and its claims.
///
/// Errors: 401 for a token that does not verify, or whose session was
/// revoked or whose user is deactivated.
pub async fn authenticate(state: &crate::state::AppState, token: &str) -> Result<(Actor, Claims), AppError> {
    let claims = state
        .keys
        .verify(token, state.clock.now())
        .ok_or_else(AppError::invalid_token)?;
    let row = state
        .db
        .actor(claims.sub, claims.sid)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    Ok((Actor::from_row(row, claims.sid), claims))
}
