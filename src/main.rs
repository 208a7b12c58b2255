//! The `carebook` command: serve (default), worker, migrate, grant-runtime-role,
//! rotate-data-key, purge-audit, seed, create-admin.

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use carebook::config::{Config, ConfigArgs};

/// Carebook: book and run medical appointments.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve {
        /// Load the demo clinic first (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// Run background jobs (reminders, email) without serving the API, at
    /// CAREBOOK_WORKERS at a time (at least 1).
    Worker,
    /// Apply pending migrations and exit.
    Migrate,
    /// PostgreSQL: grant an existing role what a node needs and no more (it
    /// may only read and append the audit trail). Run as the owner after each migrate.
    GrantRuntimeRole {
        /// The role nodes connect as (not the owner, not a superuser).
        role: String,
    },
    /// Re-seal every stored secret under the current CAREBOOK_DATA_KEY (the
    /// old key given in CAREBOOK_DATA_KEY_PREVIOUS), after which the old key can go.
    RotateDataKey,
    /// Export audit events older than CAREBOOK_AUDIT_RETENTION_DAYS to a new
    /// JSON Lines file, then purge them (audited; run as the database owner).
    PurgeAudit {
        /// Where the export is written.
        #[arg(long, default_value = ".")]
        export_dir: std::path::PathBuf,
    },
    /// Load data into the database.
    Seed {
        /// A realistic demo clinic on the real Bangladesh locations (idempotent).
        #[arg(long)]
        demo: bool,
        /// The demo clinic grown to --doctors, --patients and --appointments
        /// (past appointments of extra doctors; for benchmarks; a fresh database).
        #[arg(long)]
        synthetic: bool,
        /// Doctors in all (with --synthetic).
        #[arg(long, default_value_t = 1_000)]
        doctors: usize,
        /// Patients in all (with --synthetic).
        #[arg(long, default_value_t = 100_000)]
        patients: usize,
        /// Appointments to add (with --synthetic).
        #[arg(long, default_value_t = 1_000_000)]
        appointments: usize,
    },
    /// Create an administrator (password from CAREBOOK_ADMIN_PASSWORD, else prompted).
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    // One TLS provider for the process: ring (SMTP, webhooks, PostgreSQL).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config::load(&cli.config)?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => {
            let db = carebook::server::connect(&config).await?;
            if demo {
                println!("{}", carebook::seed::demo(&db, chrono::Utc::now()).await?);
            }
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .with_context(|| format!("binding {}", config.bind))?;
            let address = listener.local_addr()?;
            println!("Carebook listening on http://{address}  (API docs: http://{address}/api/v1/openapi.json)");
            carebook::server::serve(carebook::server::state(db, config), listener).await?;
        }
        Command::Worker => {
            let db = carebook::server::connect(&config).await?;
            println!("Carebook worker running (Ctrl-C stops it)");
            carebook::server::work(carebook::server::state(db, config)).await?;
        }
        Command::Migrate => {
            carebook::server::connect(&config).await?;
            println!("migrations applied");
        }
        Command::GrantRuntimeRole { role } => {
            let db = carebook::server::connect(&config).await?;
            carebook::db::roles::grant_runtime(&db, &role).await?;
            println!("granted {role} the runtime privileges");
        }
        Command::RotateDataKey => {
            let db = carebook::server::connect(&config).await?;
            let state = carebook::server::state(db, config);
            let sealed = carebook::accounts::two_factor::seal_stored_secrets(&state, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let webhooks = carebook::notifications::webhooks::reseal_secrets(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "re-sealed {sealed} TOTP secrets and {webhooks} webhook secrets under data key {}; CAREBOOK_DATA_KEY_PREVIOUS can now be removed",
                state.config.data_keys.current_id()
            );
        }
        Command::PurgeAudit { export_dir } => {
            let db = carebook::server::connect(&config).await?;
            let keep = config.audit_retention;
            let state = carebook::server::state(db, config);
            let report = carebook::audit::retention::purge(&state, keep, &export_dir).await?;
            match report.export {
                None => println!("no audit events before {}", report.purged_before.to_rfc3339()),
                Some(path) => println!(
                    "exported {} audit events before {} to {} (SHA-256 {}), then purged them",
                    report.events,
                    report.purged_before.to_rfc3339(),
                    path.display(),
                    report.sha256.unwrap_or_default()
                ),
            }
        }
        Command::Seed {
            demo,
            synthetic,
            doctors,
            patients,
            appointments,
        } => {
            if !demo && !synthetic {
                anyhow::bail!("nothing to seed: pass --demo or --synthetic");
            }
            let db = carebook::server::connect(&config).await?;
            if synthetic {
                let sizes = carebook::seed::synthetic::Sizes {
                    doctors,
                    patients,
                    appointments,
                };
                let report = carebook::seed::synthetic::synthetic(&db, chrono::Utc::now(), sizes).await?;
                println!("{report}");
            } else {
                let report = carebook::seed::demo(&db, chrono::Utc::now()).await?;
                println!("{report}");
            }
        }
        Command::CreateAdmin { username, email } => {
            let password = match std::env::var("CAREBOOK_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => rpassword::prompt_password("Password for the new administrator: ")?,
            };
            let db = carebook::server::connect(&config).await?;
            let state = carebook::server::state(db, config);
            // Audited like the API's user creation, as the command line.
            let trail = carebook::db::audit::Request {
                action: carebook::auth::policy::Action::UserCreate.name(),
                method: "CLI".into(),
                route: "carebook create-admin".into(),
                object_type: Some("user".into()),
                object_id: None,
                ip: None,
                request_id: None,
                success_status: 201,
                clock: state.clock.clone(),
            };
            let creating = carebook::accounts::create_admin(&state, &username, &email, password);
            let (created, _) = carebook::db::audit::scope(trail, creating).await;
            let user = created.map_err(|e| anyhow::anyhow!("{}", e.to_problem().detail.unwrap_or_default()))?;
            println!("created administrator {} ({})", user.username, user.id);
        }
    }
    Ok(())
}
