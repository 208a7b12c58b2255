//! Starting a node: connect, migrate, listen, shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::Request;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;

/// Connect to the configured database and apply pending migrations.
pub async fn connect(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, config.db_max_connections)
        .await
        .context("connecting to the database")?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// Build the state of a node on the system clock.
pub fn state(db: Db, config: Config) -> AppState {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    AppState::new(db, config, clock)
}

/// Serve the API on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let app = crate::api::app(state);
    let service = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
    axum::serve(listener, service).with_graceful_shutdown(shutdown()).await
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
    tracing::info!("shutting down");
}
