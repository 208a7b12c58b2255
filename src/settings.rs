//! System settings: typed values an administrator can change at run time.
//!
//! The definitions (type, range, default, category, whether the public may
//! read it) are here; the database holds the values that were changed. Each
//! node caches the resolved settings for a few seconds, so a change reaches
//! every node without a restart.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, IntoActiveModel, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use crate::config::{BookingPolicy, Config};
use crate::db::Db;
use crate::db::entities::setting;
use crate::error::{AppError, AppResult};

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number in `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// true or false.
    Boolean,
    /// A list of distinct whole numbers, each in `min..=max`, at most `most` of them.
    IntegerList {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
        /// Longest allowed list.
        most: usize,
    },
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    /// `category.name`.
    pub key: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Readable without a token.
    pub public: bool,
    /// The value when nobody has set one (from the configuration where it has one).
    pub default: fn(&Config) -> Value,
}

impl Definition {
    /// The part of the key before the dot.
    pub fn category(&self) -> &'static str {
        self.key.split('.').next().unwrap_or(self.key)
    }

    /// Check a proposed value. Errors: the message for the `value` field.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        match self.kind {
            Kind::Integer { min, max } => match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("must be a whole number from {min} to {max}")),
            },
            Kind::Boolean if value.is_boolean() => Ok(()),
            Kind::Boolean => Err("must be true or false".into()),
            Kind::IntegerList { min, max, most } => {
                let message = || format!("must be a list of at most {most} distinct whole numbers from {min} to {max}");
                let items = value.as_array().ok_or_else(message)?;
                let numbers: Vec<i64> = items.iter().filter_map(Value::as_i64).collect();
                let mut distinct = numbers.clone();
                distinct.sort_unstable();
                distinct.dedup();
                let fits = numbers.len() == items.len()
                    && items.len() <= most
                    && distinct.len() == numbers.len()
                    && numbers.iter().all(|n| (min..=max).contains(n));
                if fits { Ok(()) } else { Err(message()) }
            }
        }
    }
}

fn minutes(delta: TimeDelta) -> Value {
    Value::from(delta.num_minutes())
}

/// Every setting.
pub const DEFINITIONS: &[Definition] = &[
    Definition {
        key: "booking.minimum_notice_minutes",
        description: "An appointment must start at least this many minutes after it is booked.",
        kind: Kind::Integer { min: 0, max: 10_080 },
        public: true,
        default: |c| minutes(c.booking.minimum_notice),
    },
    Definition {
        key: "booking.horizon_days",
        description: "Appointments can be booked at most this many days ahead.",
        kind: Kind::Integer { min: 1, max: 730 },
        public: true,
        default: |c| Value::from(c.booking.horizon.num_days()),
    },
    Definition {
        key: "booking.cancellation_window_minutes",
        description: "Patients may cancel or reschedule until this many minutes before the start; staff always.",
        kind: Kind::Integer { min: 0, max: 10_080 },
        public: true,
        default: |c| minutes(c.booking.cancellation_window),
    },
    Definition {
        key: "booking.no_show_grace_minutes",
        description: "A no-show can be recorded this many minutes after the start.",
        kind: Kind::Integer { min: 0, max: 1_440 },
        public: false,
        default: |c| minutes(c.booking.no_show_grace),
    },
    Definition {
        key: "booking.check_in_open_minutes",
        description: "Check-in opens this many minutes before the start (and closes when the appointment's local day ends).",
        kind: Kind::Integer { min: 0, max: 1_440 },
        public: true,
        default: |c| minutes(c.booking.check_in_opens),
    },
    Definition {
        key: "booking.hold_minutes",
        description: "A hold (FHIR $hold, POST /appointments/holds) keeps its time for this many minutes, then frees it.",
        kind: Kind::Integer { min: 1, max: 1_440 },
        public: true,
        default: |_| Value::from(5),
    },
    Definition {
        key: "booking.auto_confirm",
        description: "Bookings start confirmed at facilities that auto-confirm; when false every booking waits as pending.",
        kind: Kind::Boolean,
        public: false,
        default: |_| Value::Bool(true),
    },
    Definition {
        key: "billing.refund_approval_above",
        description: "A refund larger than this many whole units of the bill's currency (taka, dollars) waits for an administrator's approval unless an administrator makes it.",
        kind: Kind::Integer {
            min: 0,
            max: 10_000_000,
        },
        public: false,
        default: |_| Value::from(5_000),
    },
    Definition {
        key: "notifications.reminder_hours",
        description: "Patients are reminded of an appointment this many hours before it, once per number in the list (none: no reminders).",
        kind: Kind::IntegerList {
            min: 1,
            max: 336,
            most: 5,
        },
        public: false,
        default: |_| Value::from(vec![24]),
    },
    Definition {
        key: "security.lockout_threshold",
        description: "Consecutive failed logins that lock an account.",
        kind: Kind::Integer { min: 3, max: 10 },
        public: false,
        default: |_| Value::from(5),
    },
    Definition {
        key: "security.lockout_minutes",
        description: "Length of a first lockout; each further lockout before a successful login lasts twice as long (at most a day).",
        kind: Kind::Integer { min: 1, max: 1_440 },
        public: false,
        default: |_| Value::from(15),
    },
    Definition {
        key: "security.login_failures_per_address",
        description: "Failed logins from one client address in 15 minutes before further attempts are refused (429).",
        kind: Kind::Integer { min: 5, max: 100_000 },
        public: false,
        default: |c| Value::from(c.login_failures_per_address),
    },
    Definition {
        key: "security.require_admin_2fa",
        description: "Administrators must enrol in two-factor authentication before doing anything else.",
        kind: Kind::Boolean,
        public: false,
        default: |_| Value::Bool(false),
    },
];

/// The definition of `key`.
pub fn definition(key: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.key == key)
}

/// A stored value and who stored it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The value.
    pub value: Value,
    /// When it was set.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: Option<Uuid>,
}

/// The resolved settings at one moment.
#[derive(Debug, Clone)]
pub struct Settings {
    values: BTreeMap<&'static str, Value>,
    stored: BTreeMap<String, Stored>,
}

impl Settings {
    /// The value of `key` (stored, else the default).
    pub fn value(&self, key: &str) -> &Value {
        self.values.get(key).unwrap_or(&Value::Null)
    }

    /// What an administrator stored for `key`, if anything.
    pub fn stored(&self, key: &str) -> Option<&Stored> {
        self.stored.get(key)
    }

    /// An integer setting.
    pub fn int(&self, key: &str) -> i64 {
        self.value(key).as_i64().unwrap_or_default()
    }

    /// A boolean setting.
    /// The whole numbers of a list setting (in the order set).
    pub fn integers(&self, key: &str) -> Vec<i64> {
        self.value(key)
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.value(key).as_bool().unwrap_or_default()
    }

    /// How long a hold keeps its time (`booking.hold_minutes`).
    pub fn hold_duration(&self) -> TimeDelta {
        TimeDelta::minutes(self.int("booking.hold_minutes"))
    }

    /// The booking rules' numbers.
    pub fn booking(&self) -> BookingPolicy {
        BookingPolicy {
            minimum_notice: TimeDelta::minutes(self.int("booking.minimum_notice_minutes")),
            horizon: TimeDelta::days(self.int("booking.horizon_days")),
            cancellation_window: TimeDelta::minutes(self.int("booking.cancellation_window_minutes")),
            no_show_grace: TimeDelta::minutes(self.int("booking.no_show_grace_minutes")),
            check_in_opens: TimeDelta::minutes(self.int("booking.check_in_open_minutes")),
        }
    }
}

/// Per-node cache of the settings. When it expires, one caller reloads it
/// while the others wait for that load (single flight), so an expiry under
/// load costs one query, not one per request.
#[derive(Debug)]
pub struct SettingsCache {
    ttl: Duration,
    current: RwLock<Option<(Instant, Arc<Settings>)>>,
    reload: tokio::sync::Mutex<()>,
    loads: std::sync::atomic::AtomicU64,
}

impl SettingsCache {
    /// A cache that re-reads the database when older than `ttl`.
    pub fn new(ttl: Duration) -> SettingsCache {
        SettingsCache {
            ttl,
            current: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
            loads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn fresh(&self, since: Option<Instant>) -> Option<Arc<Settings>> {
        let current = self.current.read().expect("settings lock");
        let (at, settings) = current.as_ref()?;
        let fresh = at.elapsed() < self.ttl || since.is_some_and(|since| *at >= since);
        fresh.then(|| settings.clone())
    }

    /// How many times the settings were read from the database.
    pub fn loads(&self) -> u64 {
        self.loads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current settings. Errors: the database cannot be read.
    pub async fn get(&self, db: &Db, config: &Config) -> AppResult<Arc<Settings>> {
        if let Some(settings) = self.fresh(None) {
            return Ok(settings);
        }
        let asked = Instant::now();
        let _reloading = self.reload.lock().await;
        // Whoever held the lock before us may have loaded them meanwhile.
        if let Some(settings) = self.fresh(Some(asked)) {
            return Ok(settings);
        }
        self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rows = setting::Entity::find()
            .order_by_asc(setting::Column::Key)
            .all(db.conn())
            .await?;
        let stored: BTreeMap<String, Stored> = rows
            .into_iter()
            .filter_map(|row| {
                let value = serde_json::from_str(&row.value).ok()?;
                Some((
                    row.key,
                    Stored {
                        value,
                        updated_at: row.updated_at,
                        updated_by: row.updated_by,
                    },
                ))
            })
            .collect();
        let values = DEFINITIONS
            .iter()
            .map(|d| {
                let value = stored
                    .get(d.key)
                    .map(|s| s.value.clone())
                    .filter(|v| d.check(v).is_ok())
                    .unwrap_or_else(|| (d.default)(config));
                (d.key, value)
            })
            .collect();
        let settings = Arc::new(Settings { values, stored });
        *self.current.write().expect("settings lock") = Some((Instant::now(), settings.clone()));
        Ok(settings)
    }

    /// Forget the cached settings (after this node changed one).
    pub fn invalidate(&self) {
        *self.current.write().expect("settings lock") = None;
    }
}

/// Store `value` for `key` (None: back to the default). Errors: 404 for an
/// unknown key, 422 for a value of the wrong type or range.
pub async fn set(db: &Db, key: &str, value: Option<Value>, by: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let definition = definition(key).ok_or(AppError::NotFound("setting"))?;
    if let Some(value) = &value {
        definition
            .check(value)
            .map_err(|m| AppError::invalid_field("value", m))?;
    }
    let tx = db.begin_write().await?;
    match value {
        // An upsert: of concurrent changes (on any nodes) the last to commit wins, none fails.
        Some(value) => {
            let row = setting::Model {
                key: key.to_owned(),
                value: value.to_string(),
                updated_at: now,
                updated_by: Some(by),
            };
            let upsert = OnConflict::column(setting::Column::Key)
                .update_columns([
                    setting::Column::Value,
                    setting::Column::UpdatedAt,
                    setting::Column::UpdatedBy,
                ])
                .to_owned();
            setting::Entity::insert(row.into_active_model())
                .on_conflict(upsert)
                .exec_without_returning(&tx)
                .await?;
        }
        None => {
            setting::Entity::delete_by_id(key.to_owned()).exec(&tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_defaults_are_valid() {
        let config = Config::for_tests("sqlite://x.db");
        let mut keys = std::collections::HashSet::new();
        for d in DEFINITIONS {
            assert!(keys.insert(d.key), "{} twice", d.key);
            assert!(d.check(&(d.default)(&config)).is_ok(), "{} default out of range", d.key);
            assert!(d.key.contains('.'));
        }
    }

    #[tokio::test]
    async fn an_expired_cache_is_reloaded_once_for_many_callers() {
        let path = std::env::temp_dir().join(format!("carebook-settings-{}.db", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", path.display());
        let config = Config::for_tests(&url);
        let db = Db::connect(&url, Some(4)).await.unwrap();
        db.migrate().await.unwrap();
        let cache = Arc::new(SettingsCache::new(Duration::from_secs(60)));
        let callers: Vec<_> = (0..32)
            .map(|_| {
                let (cache, db, config) = (cache.clone(), db.clone(), config.clone());
                tokio::spawn(async move { cache.get(&db, &config).await.map(|_| ()) })
            })
            .collect();
        for caller in callers {
            caller.await.unwrap().unwrap();
        }
        assert_eq!(cache.loads(), 1, "32 concurrent readers of an empty cache load it once");
        cache.invalidate();
        cache.get(&db, &config).await.unwrap();
        assert_eq!(cache.loads(), 2);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn values_are_type_and_range_checked() {
        let threshold = definition("security.lockout_threshold").unwrap();
        assert!(threshold.check(&Value::from(5)).is_ok());
        assert!(
            threshold.check(&Value::from(11)).is_err(),
            "at most 10 failures before a lockout"
        );
        assert!(threshold.check(&Value::from("5")).is_err());
        assert!(
            definition("security.require_admin_2fa")
                .unwrap()
                .check(&Value::from(1))
                .is_err()
        );
    }
}
