//! Whether the database is known to be down (PostgreSQL; SQLite is a file
//! in the process and never is).
//!
//! A watcher task checks the server every second over a connection of its
//! own — never the pool's, so a busy pool is not mistaken for an outage —
//! and every quarter second while it is down. A check that fails is retried
//! at once on a fresh connection before the database is declared down; the
//! first check that succeeds declares it up again. While it is down, nodes
//! answer 503 at once instead of each request waiting for the pool's acquire
//! timeout; requests that fail for want of a database wake the watcher.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::sqlx::{Connection, PgConnection};
use tokio::sync::Notify;

/// How long one check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// Between checks while the database is up.
const UP_INTERVAL: Duration = Duration::from_secs(1);
/// Between checks while it is down.
const DOWN_INTERVAL: Duration = Duration::from_millis(250);

/// The database's known state, shared by every clone of a [`super::Db`].
#[derive(Debug, Default)]
pub struct Health {
    down: AtomicBool,
    wake: Notify,
}

impl Health {
    /// Whether the database is known to be down.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Ask for a check now (a request just failed for want of a database).
    pub fn suspect(&self) {
        self.wake.notify_one();
    }
}

/// Watch the PostgreSQL server at `url` for as long as `health` is in use.
pub fn watch(url: String, health: &Arc<Health>) {
    let health: Weak<Health> = Arc::downgrade(health);
    tokio::spawn(async move {
        let mut connection: Option<PgConnection> = None;
        loop {
            let up = check(&url, &mut connection).await || check(&url, &mut connection).await;
            let Some(health) = health.upgrade() else { return };
            let was_down = health.down.swap(!up, Ordering::Relaxed);
            match (was_down, up) {
                (false, false) => tracing::error!("the database is down: answering 503 until it is back"),
                (true, true) => tracing::info!("the database is back"),
                _ => {}
            }
            let interval = if up { UP_INTERVAL } else { DOWN_INTERVAL };
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = health.wake.notified() => {}
            }
        }
    });
}

/// One check: a trivial round trip within [`CHECK_TIMEOUT`], connecting
/// first if needed; a failed connection is dropped for the next check.
async fn check(url: &str, connection: &mut Option<PgConnection>) -> bool {
    let attempt = async {
        if connection.is_none() {
            *connection = Some(PgConnection::connect(url).await?);
        }
        match connection.as_mut() {
            Some(live) => live.ping().await,
            None => Ok(()),
        }
    };
    let ok = matches!(tokio::time::timeout(CHECK_TIMEOUT, attempt).await, Ok(Ok(())));
    if !ok {
        *connection = None;
    }
    ok
}
