//! Starting a node: connect, migrate, listen, shut down gracefully.
//!
//! Connections are served by hyper directly, HTTP/1.1 only (Carebook sits
//! behind a TLS-terminating proxy; HTTP/2 without TLS would keep idle
//! connections alive on pings), under the limits of [`ConnectionLimits`]: a client that does not finish its
//! headers, or sits idle between requests, is disconnected after the header
//! timeout; a request that is not answered (its body included) within the
//! request timeout gets 408; and at most `max_connections` are open at once
//! — the next connection is accepted when one closes, so a flood of stalled
//! sockets holds the node for at most one header timeout.

use std::sync::Arc;

use anyhow::Context;
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConnectionLimits};
use crate::db::Db;
use crate::state::AppState;

/// Connect to the configured database and apply pending migrations.
pub async fn connect(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, config.db_max_connections)
        .await
        .context("connecting to the database")?;
    db.migrate().await.context(
        "applying migrations (a node running as a runtime role needs `carebook migrate` run as the owner first)",
    )?;
    Ok(db)
}

/// Build the state of a node on the system clock.
pub fn state(db: Db, config: Config) -> AppState {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    AppState::new(db, config, clock)
}

/// How long open connections may finish their requests at shutdown.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Serve the API on `listener` until Ctrl-C or SIGTERM, under the
/// configured [`ConnectionLimits`].
pub async fn serve(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    match crate::accounts::two_factor::seal_stored_secrets(&state, false).await {
        Ok(0) => {}
        Ok(sealed) => tracing::info!(sealed, "sealed TOTP secrets stored in plain text"),
        Err(err) => tracing::error!(error = %err, "sealing stored TOTP secrets failed"),
    }
    // Build the diagnosis-code index (once per process) before the first
    // connection is accepted, so no request waits for it.
    if let Err(err) = tokio::task::spawn_blocking(crate::clinical::codes::warm).await {
        tracing::error!(error = %err, "building the diagnosis-code index failed");
    }
    let tally = tokio::spawn(flush_denials_every_minute(state.clone()));
    let workers = start_workers(&state);
    let limits = state.config.connections;
    let app = crate::api::app(state.clone());
    let builder = connection_builder(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut stopping = std::pin::pin!(shutdown());
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the connection semaphore is never closed"),
            () = &mut stopping => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment instead of spinning, and go on.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        let service = app
            .clone()
            .map_request(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(axum::body::Body::new)
            });
        let connection =
            builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    tracing::info!("shutting down");
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {} s; closing them", DRAIN.as_secs());
    }
    tally.abort();
    if let Some(workers) = workers {
        workers.abort();
    }
    flush_denials(&state, true).await;
    Ok(())
}

/// Start this node's job workers (`CAREBOOK_WORKERS`; none when 0).
fn start_workers(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.config.workers == 0 {
        return None;
    }
    match crate::jobs::worker::Worker::new(state.clone(), state.config.workers) {
        Ok(worker) => Some(tokio::spawn(worker.run())),
        Err(err) => {
            tracing::error!(error = %err, "the job workers could not start");
            None
        }
    }
}

/// Run job workers alone (`carebook worker`) until Ctrl-C or SIGTERM.
///
/// Errors: the SMTP configuration is unusable.
pub async fn work(state: AppState) -> anyhow::Result<()> {
    let worker = crate::jobs::worker::Worker::new(state.clone(), state.config.workers.max(1))?;
    tokio::select! {
        () = worker.run() => {}
        () = shutdown() => tracing::info!("stopping the workers"),
    }
    Ok(())
}

/// How often the aggregated unauthenticated denials of ended minutes are recorded.
const TALLY_FLUSH: std::time::Duration = std::time::Duration::from_secs(15);

async fn flush_denials_every_minute(state: AppState) {
    let mut ticks = tokio::time::interval(TALLY_FLUSH);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        flush_denials(&state, false).await;
    }
}

async fn flush_denials(state: &AppState, all: bool) {
    if let Err(err) = crate::audit::flush_denials(state, all).await {
        tracing::error!(error = %err, "recording aggregated unauthenticated denials failed");
    }
}

fn connection_builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    builder
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
