//! Shared state of a running Carebook: the database, configuration, clock and
//! token keys. Cloned into every handler (all fields are cheap to clone).

use std::sync::Arc;

use crate::auth::token::TokenKeys;
use crate::clock::Clock;
use crate::config::{BookingPolicy, Config};
use crate::db::Db;
use crate::db::audit::DenialTally;
use crate::error::AppResult;
use crate::settings::{Settings, SettingsCache};

/// What every handler can reach: one shared allocation, so that cloning
/// it into each request and layer is one reference count (it was a dozen,
/// and a fifth of the time of `GET /health`).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of [`AppState`] (reached through it by `Deref`).
#[derive(Debug)]
pub struct Shared {
    /// The database pool.
    pub db: Db,
    /// The configuration, read once at start.
    pub config: Arc<Config>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Access-token keys, built once from the secret.
    pub keys: Arc<TokenKeys>,
    /// System settings, cached per node.
    pub settings: Arc<SettingsCache>,
    /// Unauthenticated denials of the current minutes, per node.
    pub denials: Arc<DenialTally>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Assemble the state.
    pub fn new(db: Db, config: Config, clock: Arc<dyn Clock>) -> AppState {
        let keys = Arc::new(TokenKeys::new(&config.jwt_secret));
        let settings = Arc::new(SettingsCache::new(config.settings_ttl));
        AppState(Arc::new(Shared {
            db,
            config: Arc::new(config),
            clock,
            keys,
            settings,
            denials: Arc::default(),
        }))
    }

    /// The current system settings. Errors: the database cannot be read.
    pub async fn settings(&self) -> AppResult<Arc<Settings>> {
        self.settings.get(&self.db, &self.config).await
    }

    /// The booking rules' numbers, from the settings.
    pub async fn booking_policy(&self) -> AppResult<BookingPolicy> {
        Ok(self.settings().await?.booking())
    }
}
