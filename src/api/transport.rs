//! Transport hygiene: rate limits per client address, security headers on
//! every response, and CORS for an allow-list of origins.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::access::{Operations, UNDOCUMENTED_PREFIXES};
use super::extract::client_ip;
use crate::config::{Config, Proxies};
use crate::error::AppError;

/// Keyed limiters grow with the number of addresses seen; past this many
/// entries the ones that are back to a full allowance are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Requests per minute per client address (GCRA, via `governor`): one
/// limiter for `/api/v1/auth/*`, one for everything else. `None`: no limit.
#[derive(Debug, Default)]
pub struct RateLimits {
    auth: Option<DefaultKeyedRateLimiter<IpAddr>>,
    general: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

fn per_minute(n: u32) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    /// Limits from the configuration (0 turns one off).
    pub fn new(config: &Config) -> RateLimits {
        RateLimits {
            auth: per_minute(config.rate_limit_auth_per_minute),
            general: per_minute(config.rate_limit_per_minute),
        }
    }
}

/// What the transport middleware needs: the limits, the proxies to trust,
/// and the declared operations (whose tags choose a limit).
#[derive(Debug, Clone)]
pub struct Transport {
    /// This node's rate limits.
    pub limits: Arc<RateLimits>,
    /// How the client address is found.
    pub proxies: Proxies,
    /// Every declared operation.
    pub operations: Arc<Operations>,
    /// Send Strict-Transport-Security.
    pub hsts: bool,
}

/// The tag of the operation a request was routed to.
fn tag_of<'a>(request: &Request, operations: &'a Operations) -> Option<&'a str> {
    let route = request.extensions().get::<MatchedPath>()?;
    operations
        .get(request.method(), route.as_str())
        .map(|op| op.tag.as_str())
}

/// Middleware: answer 429 with `Retry-After` (whole seconds) when the
/// client address is over its allowance: operations tagged `auth` share
/// one allowance, everything else another (unrouted paths included);
/// those tagged `health` (liveness, readiness) are never limited.
pub async fn rate_limit(State(transport): State<Transport>, request: Request, next: Next) -> Response {
    let limiter = match tag_of(&request, &transport.operations) {
        Some("health") => return next.run(request).await,
        Some("auth") => &transport.limits.auth,
        _ => &transport.limits.general,
    };
    let Some(limiter) = limiter else {
        return next.run(request).await;
    };
    let ip = client_ip(request.headers(), request.extensions(), &transport.proxies)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if limiter.len() > PRUNE_ABOVE {
        limiter.retain_recent();
    }
    match limiter.check_key(&ip) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            AppError::TooManyRequests {
                retry_after: retry_after.max(1),
            }
            .into_response()
        }
    }
}

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const DENY: HeaderValue = HeaderValue::from_static("DENY");
const NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const API_CSP: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

/// Middleware: security headers on every response. `nosniff`, frame
/// denial and no referrer everywhere; a locked-down Content-Security-Policy
/// except on the interactive docs (which run scripts); `Cache-Control:
/// no-store` on responses to authenticated requests and to operations
/// tagged `auth` (tokens) unless the handler chose a policy;
/// Strict-Transport-Security when `CAREBOOK_HSTS` says Carebook is behind TLS.
pub async fn security_headers(State(transport): State<Transport>, request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(AUTHORIZATION);
    let tokens = tag_of(&request, &transport.operations) == Some("auth");
    let docs = UNDOCUMENTED_PREFIXES
        .iter()
        .any(|p| request.uri().path().starts_with(p));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("x-content-type-options"), NOSNIFF);
    headers.insert(HeaderName::from_static("x-frame-options"), DENY);
    headers.insert(HeaderName::from_static("referrer-policy"), NO_REFERRER);
    if !docs {
        headers.insert(HeaderName::from_static("content-security-policy"), API_CSP);
    }
    if (authenticated || tokens) && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, NO_STORE);
    }
    if transport.hsts {
        headers.insert(HeaderName::from_static("strict-transport-security"), HSTS);
    }
    response
}

/// CORS for the configured origins (never `*`, never with credentials: the
/// API uses bearer tokens, not cookies). None when no origin is configured.
pub fn cors(config: &Config) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let header = HeaderName::from_static;
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
                axum::http::header::IF_MATCH,
                header("idempotency-key"),
                header("x-request-id"),
            ])
            .expose_headers([
                axum::http::header::ETAG,
                axum::http::header::LOCATION,
                axum::http::header::RETRY_AFTER,
                header("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
