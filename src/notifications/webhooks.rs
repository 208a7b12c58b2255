//! Webhooks: administrators register endpoints for appointment events; each
//! event is a job per endpoint, enqueued in the change's transaction and
//! delivered signed per the Standard Webhooks scheme (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">` under the endpoint's `whsec_` secret), retried with
//! backoff, every attempt in the delivery log.
//!
//! Endpoints on loopback, private, link-local and other internal addresses
//! are refused (a webhook must not reach into the clinic's network) unless
//! their host is listed in `CAREBOOK_WEBHOOK_ALLOW_HOSTS`; the check runs at
//! registration and again on every connection (a name that resolves to an
//! internal address later is refused then), and redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use garde::Validate;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db::entities::{appointment, delivery, webhook};
use crate::db::jobs::{self, Lease, NewJob};
use crate::db::{self, DbResult, Tx, audit};
use crate::domain::{DeliveryOutcome, JobKind};
use crate::error::{AppError, AppResult};
use crate::input::{Text, TextOrEmpty};
use crate::state::AppState;

use super::perform::{Failed, Performed};

/// Attempts a webhook delivery gets before it is dead.
pub const ATTEMPTS: i32 = 8;
/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// An event an endpoint may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum WebhookEvent {
    #[serde(rename = "appointment.booked")]
    Booked,
    #[serde(rename = "appointment.rescheduled")]
    Rescheduled,
    #[serde(rename = "appointment.confirmed")]
    Confirmed,
    #[serde(rename = "appointment.checked_in")]
    CheckedIn,
    #[serde(rename = "appointment.started")]
    Started,
    #[serde(rename = "appointment.completed")]
    Completed,
    #[serde(rename = "appointment.cancelled")]
    Cancelled,
    #[serde(rename = "appointment.no_show")]
    NoShow,
}

impl WebhookEvent {
    /// The event's `type`.
    pub fn name(self) -> &'static str {
        match self {
            WebhookEvent::Booked => "appointment.booked",
            WebhookEvent::Rescheduled => "appointment.rescheduled",
            WebhookEvent::Confirmed => "appointment.confirmed",
            WebhookEvent::CheckedIn => "appointment.checked_in",
            WebhookEvent::Started => "appointment.started",
            WebhookEvent::Completed => "appointment.completed",
            WebhookEvent::Cancelled => "appointment.cancelled",
            WebhookEvent::NoShow => "appointment.no_show",
        }
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// `https://…` (or `http://`); not an internal address.
    #[schema(example = "https://hooks.example.org/carebook")]
    #[garde(dive)]
    pub url: Text<2000>,
    /// The events to receive (at least one).
    #[schema(min_items = 1, max_items = 8)]
    #[garde(length(min = 1, max = 8))]
    pub events: Vec<WebhookEvent>,
    #[serde(default)]
    #[garde(dive)]
    pub description: TextOrEmpty<200>,
}

/// An endpoint as stored (its secret stays sealed).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub row: webhook::Model,
    pub events: Vec<WebhookEvent>,
}

impl Endpoint {
    fn of(row: webhook::Model) -> Endpoint {
        let events = serde_json::from_str(&row.events).unwrap_or_default();
        Endpoint { row, events }
    }
}

/// The sealing context of an endpoint's secret (binds it to its row).
fn context(id: Uuid) -> String {
    format!("webhooks.secret:{id}")
}

/// Register an endpoint (administrators); its new `whsec_…` secret is
/// returned once.
///
/// Errors: 422 naming `url` for one that is not http(s), does not resolve,
/// or points at a loopback, private or link-local address (not allowed by
/// `CAREBOOK_WEBHOOK_ALLOW_HOSTS`); 422 naming `events` for none.
pub async fn create(state: &AppState, actor: &Actor, body: WebhookIn) -> AppResult<(Endpoint, String)> {
    authorize(actor, Action::WebhookWrite)?;
    body.validate()?;
    let url = body.url.into_trimmed();
    check_url(&url, &state.config.webhook_allow_hosts)
        .await
        .map_err(|message| AppError::invalid_field("url", message))?;
    let mut events = body.events;
    events.sort();
    events.dedup();
    let id = Uuid::now_v7();
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key));
    let now = state.clock.now();
    let row = webhook::Model {
        id,
        url,
        events: serde_json::to_string(&events).map_err(|e| AppError::Internal(e.into()))?,
        description: body.description.into_trimmed(),
        secret_sealed: state.config.data_keys.seal(secret.as_bytes(), &context(id)),
        active: true,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
    };
    let tx = state.db.begin_write().await?;
    db::insert_row::<webhook::ActiveModel>(&tx, row.clone()).await?;
    audit::note_object(id);
    tx.commit().await?;
    Ok((Endpoint { row, events }, secret))
}

/// Every endpoint, newest first (administrators).
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<Endpoint>> {
    authorize(actor, Action::WebhookRead)?;
    Ok(db::webhooks::list(state.db.conn())
        .await?
        .into_iter()
        .map(Endpoint::of)
        .collect())
}

/// One endpoint and its latest deliveries. Errors: 404.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<(Endpoint, Vec<delivery::Model>)> {
    authorize(actor, Action::WebhookRead)?;
    let row = db::find_by_id::<webhook::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    let deliveries = db::webhooks::deliveries(state.db.conn(), id, 50).await?;
    Ok((Endpoint::of(row), deliveries))
}

/// Deactivate an endpoint: it receives nothing more, and its queued
/// deliveries are cancelled when they come up. Errors: 404.
pub async fn deactivate(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<()> {
    authorize(actor, Action::WebhookWrite)?;
    let tx = state.db.begin_write().await?;
    if !db::webhooks::deactivate(&tx, id, state.clock.now()).await? {
        return Err(AppError::NotFound("webhook"));
    }
    tx.commit().await?;
    Ok(())
}

/// Re-seal every endpoint's secret that is not under the current data key
/// (`carebook rotate-data-key`, with the old key still given); how many.
///
/// Errors: a secret that no given key opens; the database failed.
pub async fn reseal_secrets(state: &AppState) -> AppResult<u64> {
    let keys = &state.config.data_keys;
    let tx = state.db.begin_write().await?;
    let mut count = 0;
    for row in db::webhooks::list(&tx).await? {
        if keys.is_current(&row.secret_sealed) {
            continue;
        }
        let plain = keys
            .open(&row.secret_sealed, &context(row.id))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("the secret of webhook {}: {e}", row.id)))?;
        let sealed = keys.seal(&plain, &context(row.id));
        count += u64::from(db::webhooks::replace_secret(&tx, row.id, &row.secret_sealed, &sealed).await?);
    }
    tx.commit().await?;
    Ok(count)
}

/// What a delivery job carries: the exact body, so every attempt sends the same bytes.
#[derive(Debug, Serialize, Deserialize)]
struct DeliveryPayload {
    webhook_id: Uuid,
    /// `webhook-id`: the message's id, the same on every attempt.
    message_id: String,
    #[serde(rename = "type")]
    kind: String,
    appointment_id: Uuid,
    /// The JSON body as sent.
    body: String,
}

/// Enqueue `event` about `appointment` for every active endpoint that
/// subscribed to it, in the change's transaction `tx`.
pub async fn enqueue(
    tx: &Tx,
    event: WebhookEvent,
    appointment: &appointment::Model,
    now: DateTime<Utc>,
) -> DbResult<()> {
    let endpoints = db::webhooks::active(tx).await?;
    for endpoint in endpoints.into_iter().map(Endpoint::of) {
        if !endpoint.events.contains(&event) {
            continue;
        }
        let message_id = format!("msg_{}", Uuid::now_v7().simple());
        let body = serde_json::json!({
            "type": event.name(),
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "data": {
                "appointment_id": appointment.id,
                "status": appointment.status,
                "start": appointment.start_at,
                "end": appointment.end_at,
                "patient_id": appointment.patient_id,
                "doctor_id": appointment.doctor_id,
                "facility_id": appointment.facility_id,
                "service_id": appointment.service_id,
                "kind": appointment.kind,
                "version": appointment.version,
            },
        });
        let payload = DeliveryPayload {
            webhook_id: endpoint.row.id,
            message_id,
            kind: event.name().to_owned(),
            appointment_id: appointment.id,
            body: body.to_string(),
        };
        let job = NewJob {
            kind: JobKind::WebhookDelivery,
            payload: serde_json::to_value(&payload).unwrap_or_default(),
            run_at: now,
            unique_key: None,
            appointment_id: Some(appointment.id),
            max_attempts: ATTEMPTS,
        };
        jobs::enqueue(tx, job, now).await?;
    }
    Ok(())
}

/// `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, the key being the
/// base64 after `whsec_` (Standard Webhooks).
///
/// Errors: a secret that is not `whsec_` and base64.
pub fn signature(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| engine.decode(k).ok())
        .ok_or("the secret is not a whsec_ secret")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", engine.encode(mac.finalize().into_bytes())))
}

/// Deliver one webhook job.
pub async fn deliver(state: &AppState, http: &reqwest::Client, lease: &Lease) -> Result<Performed, Failed> {
    let job = &lease.job;
    let payload: DeliveryPayload = serde_json::from_str(&job.payload).map_err(|_| Failed {
        error: "the payload is not a webhook delivery".into(),
        permanent: true,
        deliveries: Vec::new(),
    })?;
    let endpoint = db::find_by_id::<webhook::Entity>(state.db.conn(), payload.webhook_id)
        .await
        .map_err(|e| Failed {
            error: format!("the database failed: {e}"),
            permanent: false,
            deliveries: Vec::new(),
        })?;
    let Some(endpoint) = endpoint.filter(|e| e.active) else {
        return Ok(Performed {
            cancelled: true,
            note: Some("the endpoint was deactivated".into()),
            ..Performed::default()
        });
    };
    let now = state.clock.now();
    let log = |outcome, detail: String| delivery::Model {
        id: Uuid::now_v7(),
        job_id: job.id,
        appointment_id: Some(payload.appointment_id),
        webhook_id: Some(endpoint.id),
        channel: "webhook".into(),
        recipient: endpoint.url.clone(),
        subject: Some(payload.kind.clone()),
        message_id: Some(payload.message_id.clone()),
        outcome,
        detail,
        attempt: job.attempts,
        at: now,
    };
    let secret = state
        .config
        .data_keys
        .open(&endpoint.secret_sealed, &context(endpoint.id))
        .ok()
        .and_then(|s| String::from_utf8(s).ok());
    let signed = secret
        .ok_or_else(|| "the endpoint's secret cannot be opened".to_owned())
        .and_then(|secret| signature(&secret, &payload.message_id, now.timestamp(), &payload.body));
    let signed = signed.map_err(|error| Failed {
        deliveries: vec![log(DeliveryOutcome::Failed, error.clone())],
        error,
        permanent: true,
    })?;
    if let Err(message) = check_url(&endpoint.url, &state.config.webhook_allow_hosts).await {
        return Err(Failed {
            deliveries: vec![log(DeliveryOutcome::Failed, message.clone())],
            error: message,
            permanent: true,
        });
    }
    let sent = http
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("user-agent", "Carebook-Webhooks/1")
        .header("webhook-id", &payload.message_id)
        .header("webhook-timestamp", now.timestamp().to_string())
        .header("webhook-signature", signed)
        .body(payload.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Ok(Performed {
            deliveries: vec![log(
                DeliveryOutcome::Sent,
                format!("HTTP {}", response.status().as_u16()),
            )],
            ..Performed::default()
        }),
        Ok(response) => {
            let detail = format!("HTTP {}", response.status().as_u16());
            Err(Failed {
                deliveries: vec![log(DeliveryOutcome::Failed, detail.clone())],
                error: format!("the endpoint answered {detail}"),
                permanent: false,
            })
        }
        Err(err) => {
            let detail = if err.is_timeout() {
                "the endpoint did not answer in time".to_owned()
            } else {
                "the endpoint could not be reached".to_owned()
            };
            Err(Failed {
                deliveries: vec![log(DeliveryOutcome::Failed, detail.clone())],
                error: detail,
                permanent: false,
            })
        }
    }
}

/// Whether `ip` is inside a network (loopback, private, link-local,
/// carrier-grade NAT, unspecified, multicast, broadcast, documentation).
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Check an endpoint URL. Errors: why it is refused (for the `url` field).
pub async fn check_url(url: &str, allowed: &[String]) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    let host = parsed
        .host_str()
        .ok_or("must name a host")?
        .trim_matches(['[', ']'])
        .to_owned();
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&host)) {
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| "the host does not resolve".to_owned())?
            .collect(),
    };
    if addresses.is_empty() {
        return Err("the host does not resolve".into());
    }
    if addresses.iter().any(|a| internal(a.ip())) {
        return Err("points at a loopback, private or link-local address".into());
    }
    Ok(())
}

/// A resolver that never hands out an internal address (for a host not on
/// the allow-list), so a name cannot be re-pointed inside after it was checked.
#[derive(Debug)]
struct GuardedResolver {
    allowed: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = Arc::clone(&self.allowed);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let open = allowed.iter().any(|a| a.eq_ignore_ascii_case(&host));
            let usable: Vec<SocketAddr> = found.into_iter().filter(|a| open || !internal(a.ip())).collect();
            if usable.is_empty() {
                return Err("the host resolves only to internal addresses".into());
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client webhook deliveries use: a timeout, no redirects, the guarded resolver.
///
/// Errors: the TLS configuration could not be built.
pub fn client(allowed: &[String]) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver {
            allowed: Arc::new(allowed.to_vec()),
        }))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "203.0.114.1", "2606:4700::1111"] {
            assert!(!internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = signature(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
