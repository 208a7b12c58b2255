//! Shared state of a running Carebook: the database, configuration, clock and
//! token keys. Cloned into every handler (all fields are cheap to clone).

use std::sync::Arc;

use crate::auth::token::TokenKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// The configuration, read once at start.
    pub config: Arc<Config>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Access-token keys, built once from the secret.
    pub keys: Arc<TokenKeys>,
}

impl AppState {
    /// Assemble the state.
    pub fn new(db: Db, config: Config, clock: Arc<dyn Clock>) -> AppState {
        let keys = Arc::new(TokenKeys::new(&config.jwt_secret));
        AppState {
            db,
            config: Arc::new(config),
            clock,
            keys,
        }
    }

    /// The booking limits (minimum notice, horizon) for the scheduling core.
    pub fn limits(&self) -> crate::scheduling::Limits {
        crate::scheduling::Limits {
            minimum_notice: self.config.booking.minimum_notice,
            horizon: self.config.booking.horizon,
        }
    }
}
