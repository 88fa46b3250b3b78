//! The `prakerja-api` binary: serve | migrate | openapi | admin create.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use prakerja_api::{app, config::Settings, db, server::Application, telemetry};

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
            db::run_migrations(settings.database_url()).await.map(|applied| {
                tracing::info!(count = applied.len(), ?applied, "migrations applied");
            })
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
                    tracing::info!(?env, %host, port, "serving");
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
