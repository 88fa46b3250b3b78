//! The `prakerja-api` binary: serve | migrate | openapi | admin create.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use prakerja_api::{accounts::signup, app, config::Settings, db, server::Application, telemetry};

#[derive(Parser)]
#[command(name = "prakerja-api", version, about = "Kartu Prakerja backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server and the background jobs.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document generated from the code.
    Openapi,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a verified admin account (admins log in through the same OTP flow).
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
        /// The password (visible in shell history: prefer --password-stdin).
        #[arg(
            long,
            conflicts_with = "password_stdin",
            required_unless_present = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

async fn create_admin(
    settings: Settings,
    email: &str,
    password: Option<String>,
    from_stdin: bool,
) -> anyhow::Result<()> {
    let password = match (password, from_stdin) {
        (Some(p), _) => p,
        (None, _) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    db::run_migrations(settings.database_url()).await?;
    let state = prakerja_api::state::AppState::build(settings).await?;
    let now = state.clock.now();
    let id = signup::create_admin(&state.db, &state.passwords, now, email, &password)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    tracing::info!(%id, "admin account created");
    println!("{id}");
    Ok(())
}

fn settings() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Openapi => {
            print!("{}", app::openapi_json());
            Ok(())
        }
        Command::Migrate => {
            let settings = match settings() {
                Ok(s) => s,
                Err(code) => return code,
            };
            telemetry::init(settings.log_format);
            db::run_migrations(settings.database_url())
                .await
                .map(|applied| {
                    tracing::info!(count = applied.len(), ?applied, "migrations applied");
                })
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    password_stdin,
                },
        } => {
            let settings = match settings() {
                Ok(s) => s,
                Err(code) => return code,
            };
            telemetry::init(settings.log_format);
            create_admin(settings, &email, password, password_stdin).await
        }
        Command::Serve => {
            let settings = match settings() {
                Ok(s) => s,
                Err(code) => return code,
            };
            telemetry::init(settings.log_format);
            let (env, host, port) = (settings.app_env, settings.host, settings.port);
            match Application::build(settings, true).await {
                Ok(application) => {
                    let metrics_port = application.metrics_port;
                    tracing::info!(?env, %host, port, ?metrics_port, "serving");
                    application.run_until_stopped().await.map_err(Into::into)
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
