//! One typed configuration, read once at start from flags, the environment and
//! an optional `.env` file (flags win). Secrets never appear in `Debug`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::TimeDelta;
use clap::{Args, ValueEnum};

use crate::sealing::DataKeys;

/// Where Carebook runs: development generates missing secrets, production refuses to start without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    /// Local use: a missing JWT secret is generated and kept beside the database.
    Development,
    /// Real use: every secret must be given.
    Production,
}

/// Settings shared by every subcommand, from flags or the environment.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Database URL: `sqlite://PATH` (created if missing) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://carebook.db", global = true)]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "CAREBOOK_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,
    /// Secret for signing access tokens (HS256, at least 32 bytes).
    #[arg(long, env = "CAREBOOK_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// Key sealing secrets at rest (TOTP secrets): 32 bytes, base64.
    #[arg(long, env = "CAREBOOK_DATA_KEY", hide_env_values = true, global = true)]
    pub data_key: Option<String>,
    /// Earlier data keys, comma-separated, still accepted for opening while a
    /// rotation is under way (see `carebook rotate-data-key`).
    #[arg(
        long,
        env = "CAREBOOK_DATA_KEY_PREVIOUS",
        value_delimiter = ',',
        hide_env_values = true,
        global = true
    )]
    pub data_key_previous: Vec<String>,
    /// development or production.
    #[arg(
        long = "env",
        env = "CAREBOOK_ENV",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub environment: Environment,
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(
        long,
        env = "CAREBOOK_LOG",
        default_value = "info,sqlx=warn,sea_orm=warn",
        global = true
    )]
    pub log: String,
    /// Public base URL used in absolute links (`next`/`previous`); relative links when unset.
    #[arg(long, env = "CAREBOOK_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Where telemedicine rooms live: a session's join link is this, `/`, and its room name.
    #[arg(
        long,
        env = "CAREBOOK_TELEMEDICINE_URL_BASE",
        default_value = "https://meet.jit.si",
        global = true
    )]
    pub telemedicine_url_base: String,
    /// SMTP server for email (`smtp://host:port`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host`); unset: mail is logged as not sent.
    #[arg(long, env = "CAREBOOK_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The sender of email (`Name <address>` or an address).
    #[arg(
        long,
        env = "CAREBOOK_MAIL_FROM",
        default_value = "Carebook <no-reply@carebook.invalid>",
        global = true
    )]
    pub mail_from: String,
    /// Webhook hosts allowed although they resolve to internal addresses
    /// (loopback, private, link-local), comma-separated: names or addresses.
    #[arg(long, env = "CAREBOOK_WEBHOOK_ALLOW_HOSTS", value_delimiter = ',', global = true)]
    pub webhook_allow_hosts: Vec<String>,
    /// Background jobs (reminders, email) this node runs at once; 0: none
    /// (another node, or `carebook worker`, runs them).
    #[arg(long, env = "CAREBOOK_WORKERS", default_value_t = 2, global = true)]
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CAREBOOK_BODY_LIMIT", default_value_t = 1024 * 1024, global = true)]
    pub body_limit: usize,
    /// Most database connections this node opens.
    #[arg(long, env = "CAREBOOK_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// Minimum notice before an appointment starts, in minutes.
    #[arg(long, env = "CAREBOOK_MIN_NOTICE_MINUTES", default_value_t = 60, global = true)]
    pub min_notice_minutes: u32,
    /// How far ahead appointments can be booked, in days.
    #[arg(long, env = "CAREBOOK_BOOKING_HORIZON_DAYS", default_value_t = 90, global = true)]
    pub booking_horizon_days: u32,
    /// Patients may cancel or reschedule up to this many minutes before the start.
    #[arg(
        long,
        env = "CAREBOOK_CANCELLATION_WINDOW_MINUTES",
        default_value_t = 120,
        global = true
    )]
    pub cancellation_window_minutes: u32,
    /// A no-show may be recorded this many minutes after the start.
    #[arg(long, env = "CAREBOOK_NO_SHOW_GRACE_MINUTES", default_value_t = 15, global = true)]
    pub no_show_grace_minutes: u32,
    /// Check-in opens this many minutes before the start.
    #[arg(long, env = "CAREBOOK_CHECK_IN_OPEN_MINUTES", default_value_t = 120, global = true)]
    pub check_in_open_minutes: u32,
    /// Requests per minute per client address to /api/v1/auth/* (0: no limit).
    #[arg(
        long,
        env = "CAREBOOK_RATE_LIMIT_AUTH_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub rate_limit_auth_per_minute: u32,
    /// Requests per minute per client address elsewhere (0: no limit).
    #[arg(long, env = "CAREBOOK_RATE_LIMIT_PER_MINUTE", default_value_t = 1200, global = true)]
    pub rate_limit_per_minute: u32,
    /// Default of the setting security.login_failures_per_address.
    #[arg(
        long,
        env = "CAREBOOK_LOGIN_FAILURES_PER_ADDRESS",
        default_value_t = 50,
        global = true
    )]
    pub login_failures_per_address: u32,
    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "CAREBOOK_TRUST_PROXY", default_value_t = false, global = true)]
    pub trust_proxy: bool,
    /// Proxies whose X-Forwarded-For entries are trusted, as CIDR blocks or
    /// addresses, comma-separated (none: only the connecting peer).
    #[arg(long, env = "CAREBOOK_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<String>,
    /// Origins allowed by CORS, comma-separated (none: no CORS headers).
    #[arg(long, env = "CAREBOOK_CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,
    /// Send Strict-Transport-Security (when served over TLS by a proxy).
    #[arg(long, env = "CAREBOOK_HSTS", default_value_t = false, global = true)]
    pub hsts: bool,
    /// Directory for uploaded files (profile images).
    #[arg(long, env = "CAREBOOK_UPLOAD_DIR", default_value = "uploads", global = true)]
    pub upload_dir: std::path::PathBuf,
    /// A client must send a request's headers within this many seconds of
    /// opening the connection or finishing the previous request (idle
    /// keep-alive connections are closed after it too).
    #[arg(long, env = "CAREBOOK_HEADER_TIMEOUT_SECONDS", default_value_t = 30, global = true)]
    pub header_timeout_seconds: u64,
    /// A request (its body included) must be answered within this many seconds (408 otherwise).
    #[arg(long, env = "CAREBOOK_REQUEST_TIMEOUT_SECONDS", default_value_t = 60, global = true)]
    pub request_timeout_seconds: u64,
    /// Most open client connections; further ones wait to be accepted.
    #[arg(long, env = "CAREBOOK_MAX_CONNECTIONS", default_value_t = 4096, global = true)]
    pub max_connections: usize,
    /// How long a node caches system settings, in seconds.
    #[arg(long, env = "CAREBOOK_SETTINGS_TTL_SECONDS", default_value_t = 5, global = true)]
    pub settings_ttl_seconds: u64,
    /// Audit events are kept this many days (at least 30), then exported and
    /// purged by `carebook purge-audit`.
    #[arg(long, env = "CAREBOOK_AUDIT_RETENTION_DAYS", default_value_t = 2190, global = true)]
    pub audit_retention_days: u32,
    /// A refresh token presented again within this many seconds of its
    /// rotation gets the same successor pair (0: any second use ends the session).
    #[arg(
        long,
        env = "CAREBOOK_REFRESH_REUSE_LEEWAY_SECONDS",
        default_value_t = 10,
        global = true
    )]
    pub refresh_reuse_leeway_seconds: u32,
}

/// A secret string that prints as `[redacted]`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// 32 random bytes, URL-safe base64 (43 characters).
    pub fn generate() -> Secret {
        use base64::Engine;
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; use only where it is needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The booking rules' numbers (DESIGN §4).
#[derive(Debug, Clone, Copy)]
pub struct BookingPolicy {
    /// An appointment must start at least this far after now.
    pub minimum_notice: TimeDelta,
    /// An appointment must start no further than this after now.
    pub horizon: TimeDelta,
    /// Patients may cancel/reschedule only while the start is at least this far away.
    pub cancellation_window: TimeDelta,
    /// No-show may be recorded only this long after the start.
    pub no_show_grace: TimeDelta,
    /// Check-in opens this long before the start.
    pub check_in_opens: TimeDelta,
}

impl BookingPolicy {
    /// The limits the scheduling core checks.
    pub fn limits(&self) -> crate::scheduling::Limits {
        crate::scheduling::Limits {
            minimum_notice: self.minimum_notice,
            horizon: self.horizon,
        }
    }
}

impl Default for BookingPolicy {
    fn default() -> Self {
        BookingPolicy {
            minimum_notice: TimeDelta::hours(1),
            horizon: TimeDelta::days(90),
            cancellation_window: TimeDelta::hours(2),
            no_show_grace: TimeDelta::minutes(15),
            check_in_opens: TimeDelta::minutes(120),
        }
    }
}

/// The resolved configuration of a running Carebook.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// Address to listen on.
    pub bind: SocketAddr,
    /// HS256 signing secret for access tokens.
    pub jwt_secret: Secret,
    /// Keys sealing secrets at rest.
    pub data_keys: DataKeys,
    /// Development or production.
    pub environment: Environment,
    /// Public base URL for absolute links, without a trailing slash.
    pub public_url: Option<String>,
    /// Where telemedicine rooms live (no trailing slash).
    pub telemedicine_url_base: String,
    /// SMTP server URL (with credentials, so never printed).
    pub smtp_url: Option<Secret>,
    /// Sender of email.
    pub mail_from: lettre::message::Mailbox,
    /// Concurrent background jobs of this node (0: no worker).
    pub workers: usize,
    /// Webhook hosts exempt from the internal-address refusal.
    pub webhook_allow_hosts: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Most database connections this node opens (None: a default per backend).
    pub db_max_connections: Option<u32>,
    /// Defaults of the booking settings.
    pub booking: BookingPolicy,
    /// Requests per minute per client address to /api/v1/auth/* (0: no limit).
    pub rate_limit_auth_per_minute: u32,
    /// Requests per minute per client address elsewhere (0: no limit).
    pub rate_limit_per_minute: u32,
    /// Default of the setting security.login_failures_per_address.
    pub login_failures_per_address: u32,
    /// How the client address is found behind proxies.
    pub proxies: Proxies,
    /// CORS allow-list.
    pub cors_origins: Vec<String>,
    /// Send Strict-Transport-Security.
    pub hsts: bool,
    /// Directory for uploads.
    pub upload_dir: PathBuf,
    /// How long a node caches settings.
    pub settings_ttl: std::time::Duration,
    /// Connection limits.
    pub connections: ConnectionLimits,
    /// How long audit events are kept before `carebook purge-audit` may purge them.
    pub audit_retention: TimeDelta,
    /// How long after its rotation a refresh token's repeat gets the same successor.
    pub refresh_reuse_leeway: TimeDelta,
}

/// What one node allows a client connection (see [`crate::server::serve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// To send a request's headers, from the connection's start or the
    /// previous answer; also the idle keep-alive limit.
    pub header_timeout: std::time::Duration,
    /// To be answered, the request body included (408 after it).
    pub request_timeout: std::time::Duration,
    /// Open connections at most; the next one is accepted when one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(30),
            request_timeout: std::time::Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

const MIN_SECRET_LEN: usize = 32;

/// The shortest audit retention accepted.
pub const MIN_AUDIT_RETENTION: TimeDelta = TimeDelta::days(30);

impl Config {
    /// Resolve the configuration: validate values and find or create the JWT secret.
    ///
    /// Errors: a production start without `CAREBOOK_JWT_SECRET`, a secret shorter
    /// than 32 bytes, or a secret file that cannot be read or written.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Config> {
        let database_url = normalise_database_url(&args.database_url)?;
        let jwt_secret = match &args.jwt_secret {
            Some(secret) if secret.len() >= MIN_SECRET_LEN => Secret::new(secret.clone()),
            Some(_) => bail!("CAREBOOK_JWT_SECRET must be at least {MIN_SECRET_LEN} bytes"),
            None if args.environment == Environment::Production => {
                bail!("CAREBOOK_JWT_SECRET is required when CAREBOOK_ENV=production")
            }
            None => development_secret(&secret_path(&database_url, "jwt-secret"))?,
        };
        let data_key = match &args.data_key {
            Some(key) => key.clone(),
            None if args.environment == Environment::Production => {
                bail!(
                    "CAREBOOK_DATA_KEY is required when CAREBOOK_ENV=production (generate one with `openssl rand -base64 32`)"
                )
            }
            None => development_data_key(&secret_path(&database_url, "data-key"))?,
        };
        let audit_retention = TimeDelta::days(args.audit_retention_days.into());
        if audit_retention < MIN_AUDIT_RETENTION {
            bail!(
                "CAREBOOK_AUDIT_RETENTION_DAYS must be at least {}",
                MIN_AUDIT_RETENTION.num_days()
            );
        }
        let data_keys = DataKeys::new(&data_key, &args.data_key_previous)
            .map_err(|e| anyhow::anyhow!("CAREBOOK_DATA_KEY / CAREBOOK_DATA_KEY_PREVIOUS: {e}"))?;
        Ok(Config {
            database_url,
            bind: args.bind,
            jwt_secret,
            data_keys,
            environment: args.environment,
            public_url: args.public_url.as_ref().map(|u| u.trim_end_matches('/').to_owned()),
            telemedicine_url_base: args.telemedicine_url_base.trim_end_matches('/').to_owned(),
            smtp_url: args.smtp_url.as_deref().map(check_smtp_url).transpose()?,
            mail_from: args
                .mail_from
                .parse()
                .map_err(|e| anyhow::anyhow!("CAREBOOK_MAIL_FROM: {e}"))?,
            workers: args.workers,
            webhook_allow_hosts: args
                .webhook_allow_hosts
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            body_limit: args.body_limit,
            db_max_connections: args.db_max_connections,
            booking: BookingPolicy {
                minimum_notice: TimeDelta::minutes(args.min_notice_minutes.into()),
                horizon: TimeDelta::days(args.booking_horizon_days.into()),
                cancellation_window: TimeDelta::minutes(args.cancellation_window_minutes.into()),
                no_show_grace: TimeDelta::minutes(args.no_show_grace_minutes.into()),
                check_in_opens: TimeDelta::minutes(args.check_in_open_minutes.into()),
            },
            rate_limit_auth_per_minute: args.rate_limit_auth_per_minute,
            rate_limit_per_minute: args.rate_limit_per_minute,
            login_failures_per_address: args.login_failures_per_address.max(5),
            proxies: Proxies::new(args.trust_proxy, &args.trusted_proxies)?,
            cors_origins: cors_origins(&args.cors_origins)?,
            hsts: args.hsts,
            upload_dir: args.upload_dir.clone(),
            settings_ttl: std::time::Duration::from_secs(args.settings_ttl_seconds),
            connections: ConnectionLimits {
                header_timeout: std::time::Duration::from_secs(args.header_timeout_seconds.max(1)),
                request_timeout: std::time::Duration::from_secs(args.request_timeout_seconds.max(1)),
                max_connections: args.max_connections.max(1),
            },
            audit_retention,
            refresh_reuse_leeway: TimeDelta::seconds(args.refresh_reuse_leeway_seconds.min(300).into()),
        })
    }

    /// A configuration for tests: the given database, a fixed secret, defaults elsewhere.
    pub fn for_tests(database_url: &str) -> Config {
        Config {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: Secret::new("test-secret-test-secret-test-secret-0123"),
            data_keys: DataKeys::new("dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTAxMjM=", &[]).expect("a valid test key"),
            environment: Environment::Development,
            public_url: None,
            telemedicine_url_base: "https://meet.example.test".into(),
            smtp_url: None,
            mail_from: "Carebook Test <no-reply@carebook.test>"
                .parse()
                .expect("a valid test sender"),
            workers: 0,
            webhook_allow_hosts: Vec::new(),
            body_limit: 1024 * 1024,
            db_max_connections: None,
            booking: BookingPolicy::default(),
            rate_limit_auth_per_minute: 0,
            rate_limit_per_minute: 0,
            login_failures_per_address: 50,
            proxies: Proxies::default(),
            cors_origins: Vec::new(),
            hsts: false,
            upload_dir: std::env::temp_dir().join(format!("carebook-uploads-{}", uuid::Uuid::new_v4().simple())),
            settings_ttl: std::time::Duration::ZERO,
            connections: ConnectionLimits::default(),
            audit_retention: TimeDelta::days(2190),
            refresh_reuse_leeway: TimeDelta::seconds(10),
        }
    }
}

/// How the client address is found when Carebook runs behind reverse proxies.
///
/// Off (the default): the connecting peer is the client. On: the peer is a
/// proxy, and `X-Forwarded-For` is read from the right, where the proxies
/// nearest to Carebook appended what they saw; the first entry that is not a
/// trusted proxy is the client. Entries to its left were written by the
/// client itself and are never believed. Without a trusted list only the
/// peer is trusted, so the client is the right-most entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// Whether `X-Forwarded-For` is read at all.
    pub enabled: bool,
    /// Proxies beyond the peer whose entries are skipped; when not empty, the
    /// peer itself must be one of them for the header to count.
    pub trusted: Vec<ipnet::IpNet>,
}

impl Proxies {
    /// Parse the trusted list (CIDR blocks or single addresses).
    ///
    /// Errors: an entry that is neither.
    pub fn new(enabled: bool, trusted: &[String]) -> anyhow::Result<Proxies> {
        let mut nets = Vec::new();
        for entry in trusted.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("CAREBOOK_TRUSTED_PROXIES: {entry:?} is not an address or CIDR block"))?;
            nets.push(net);
        }
        Ok(Proxies { enabled, trusted: nets })
    }

    fn is_trusted(&self, ip: std::net::IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` carrying `forwarded`
    /// (the `X-Forwarded-For` values, in order).
    pub fn client(&self, peer: Option<std::net::IpAddr>, forwarded: &[&str]) -> Option<std::net::IpAddr> {
        let through_proxy = self.enabled && peer.is_none_or(|p| self.trusted.is_empty() || self.is_trusted(p));
        if !through_proxy {
            return peer;
        }
        let mut client = peer;
        let entries = forwarded.iter().flat_map(|v| v.split(',')).map(str::trim).rev();
        for entry in entries {
            let Ok(ip) = entry.parse::<std::net::IpAddr>() else {
                // Not an address: nothing to its left can be believed.
                break;
            };
            client = Some(ip);
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }
}

/// Accept `sqlite:PATH`, `sqlite://PATH`, `postgres://…` and `postgresql://…`.
/// Check the CORS allow-list: each entry an origin (`https://host[:port]`), never `*`.
fn cors_origins(origins: &[String]) -> anyhow::Result<Vec<String>> {
    let mut checked = Vec::new();
    for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        let well_formed = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .contains(['/', '*', ' '])
            && axum::http::HeaderValue::from_str(origin).is_ok();
        if !well_formed {
            bail!(
                "CAREBOOK_CORS_ORIGINS: {origin:?} is not an origin like https://app.example.org (wildcards are not allowed)"
            );
        }
        checked.push(origin.to_owned());
    }
    Ok(checked)
}

/// An SMTP URL lettre can use (`smtp://` or `smtps://`).
fn check_smtp_url(url: &str) -> anyhow::Result<Secret> {
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        bail!("CAREBOOK_SMTP_URL must start with smtp:// or smtps://");
    }
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        .map_err(|_| anyhow::anyhow!("CAREBOOK_SMTP_URL is not a usable SMTP URL"))?;
    Ok(Secret::new(url))
}

fn normalise_database_url(url: &str) -> anyhow::Result<String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url.to_owned())
    } else if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if rest.is_empty() {
            bail!("DATABASE_URL: a SQLite URL needs a file path, e.g. sqlite://carebook.db");
        }
        Ok(format!("sqlite://{rest}"))
    } else {
        bail!("DATABASE_URL must start with sqlite:// or postgres:// (got a different scheme)")
    }
}

/// Where a generated development secret (`kind`: `jwt-secret`, `data-key`)
/// is kept: beside the SQLite file, or in the working directory for PostgreSQL.
fn secret_path(database_url: &str, kind: &str) -> PathBuf {
    match database_url.strip_prefix("sqlite://") {
        Some(rest) => {
            let file = rest.split('?').next().unwrap_or(rest);
            PathBuf::from(format!("{file}.{kind}"))
        }
        None => PathBuf::from(format!(".carebook-{kind}")),
    }
}

fn development_data_key(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_owned());
    }
    let key = DataKeys::generate_key();
    write_private(path, &key).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "CAREBOOK_DATA_KEY is not set: generated a development data key and stored it beside the database; set CAREBOOK_DATA_KEY in production"
    );
    Ok(key)
}

fn development_secret(path: &Path) -> anyhow::Result<Secret> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= MIN_SECRET_LEN {
            return Ok(Secret::new(existing));
        }
    }
    let secret = Secret::generate().0;
    write_private(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "CAREBOOK_JWT_SECRET is not set: generated a development secret and stored it beside the database; set CAREBOOK_JWT_SECRET in production"
    );
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_normalised() {
        assert_eq!(normalise_database_url("sqlite:x.db").unwrap(), "sqlite://x.db");
        assert_eq!(normalise_database_url("sqlite://x.db").unwrap(), "sqlite://x.db");
        assert!(normalise_database_url("postgres://u@h/db").is_ok());
        assert!(normalise_database_url("mysql://h/db").is_err());
        assert!(normalise_database_url("sqlite://").is_err());
    }

    #[test]
    fn secret_lives_beside_sqlite_file() {
        assert_eq!(
            secret_path("sqlite://data/c.db?mode=rwc", "jwt-secret"),
            PathBuf::from("data/c.db.jwt-secret")
        );
        assert_eq!(
            secret_path("postgres://h/db", "jwt-secret"),
            PathBuf::from(".carebook-jwt-secret")
        );
        assert_eq!(secret_path("sqlite://c.db", "data-key"), PathBuf::from("c.db.data-key"));
    }

    #[test]
    fn cors_origins_are_exact_origins() {
        let list = |v: &[&str]| cors_origins(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            list(&["https://app.example.org", " "]).unwrap(),
            vec!["https://app.example.org"]
        );
        assert!(list(&["*"]).is_err());
        assert!(list(&["https://*.example.org"]).is_err());
        assert!(list(&["app.example.org"]).is_err());
        assert!(list(&["https://app.example.org/path"]).is_err());
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        let peer = ip("10.0.0.2");
        // Off: the peer, whatever the header says.
        assert_eq!(Proxies::default().client(peer, &["203.0.113.9"]), peer);
        // On, trusting the peer only: the entry the peer appended, not the client's own first entry.
        let one_hop = Proxies::new(true, &[]).unwrap();
        assert_eq!(one_hop.client(peer, &["1.2.3.4, 203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(one_hop.client(peer, &["1.2.3.4", "203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(one_hop.client(peer, &[]), peer);
        // A chain of trusted proxies is skipped.
        let chain = Proxies::new(true, &["10.0.0.0/8".into(), "192.0.2.7".into()]).unwrap();
        assert_eq!(
            chain.client(peer, &["1.2.3.4, 198.51.100.5, 192.0.2.7, 10.1.1.1"]),
            ip("198.51.100.5")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(chain.client(peer, &["1.2.3.4, garbage, 10.1.1.1"]), ip("10.1.1.1"));
        // A peer outside the trusted list is the client itself.
        assert_eq!(chain.client(ip("198.51.100.77"), &["1.2.3.4"]), ip("198.51.100.77"));
        assert!(Proxies::new(true, &["not-a-net".into()]).is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
    }
}
