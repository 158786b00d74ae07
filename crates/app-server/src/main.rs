//! `app-server`: nectr's binary. See `app-server --help`.

use std::process::ExitCode;
use std::sync::Arc;

use adapters_db::Db;
use app_server::cli::{Cli, Command, GraphCommand};
use app_server::telemetry::{self, LogTo};
use app_server::{Application, Settings};
use clap::Parser;
use secrecy::ExposeSecret;

/// mimalloc: every delivery allocates and frees its body several times over on several threads,
/// where it costs a fraction of the system allocator's time and keeps memory from fragmenting.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // Once, before any client is built: every TLS connection uses ring.
    app_server::install_crypto_provider();
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve { no_workers: false })).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { no_workers } => {
            let mut settings = load_settings(LogTo::Stdout)?;
            settings.server.run_workers = !no_workers;
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Worker => {
            let settings = load_settings(LogTo::Stdout)?;
            app_server::startup::run_workers_only(settings).await?;
        }
        Command::Migrate => {
            let settings = load_settings(LogTo::Stderr)?;
            let db = Db::connect(settings.database.url.expose_secret(), None).await?;
            db.migrate().await?;
            tracing::info!("migrations applied");
        }
        Command::Graph {
            command: GraphCommand::Backfill { repo, limit },
        } => {
            let settings = load_settings(LogTo::Stderr)?;
            let keys = app_server::keys::load(&settings)?;
            let db = Db::connect(
                settings.database.url.expose_secret(),
                Some(keys.keyring.clone()),
            )
            .await?;
            db.migrate().await?;
            let repo = domain::webhook::values::RepoFullName::parse(&repo)?;
            let backfill = app_server::startup::backfill(&settings, &db)?;
            match backfill.run(&repo, limit).await {
                Ok(report) => println!(
                    "{repo}: {} merged pull request(s) looked at, {} indexed, {} already indexed",
                    report.merged, report.indexed, report.already_indexed
                ),
                Err(stopped) => {
                    eprintln!("error: {repo}: {stopped}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Command::Purge => {
            let settings = load_settings(LogTo::Stderr)?;
            let db = Db::connect(settings.database.url.expose_secret(), None).await?;
            db.migrate().await?;
            let retention = app_server::retention::retention(&settings, Arc::new(db));
            let purged = retention.run_once().await?;
            println!(
                "purged {} delivery-log row(s) and {} event payload(s)",
                purged.deliveries, purged.payloads
            );
        }
        Command::Review { diff } => {
            let settings = load_settings(LogTo::Stderr)?;
            let reviewer = settings.build_reviewer()?;
            print!(
                "{}",
                app_server::cli::review(&diff, reviewer, settings.review.budget).await?
            );
        }
        Command::Keygen { id } => print!("{}", app_server::cli::keygen(&id)?),
        Command::Sign { secret, file } => println!("{}", app_server::cli::sign(&secret, &file)?),
        Command::Send {
            url,
            secret,
            event,
            delivery,
            file,
        } => {
            let answer = app_server::cli::send(&url, &secret, &event, delivery, &file).await?;
            println!("delivery {} -> HTTP {}", answer.delivery_id, answer.status);
            println!("{}", answer.body);
            if !(200..300).contains(&answer.status) {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads `.env` (a development convenience, skipped when the environment says production), then
/// the environment, and starts logging.
fn load_settings(logs: LogTo) -> anyhow::Result<Settings> {
    let production =
        std::env::var("APP_ENV").is_ok_and(|v| v.trim().eq_ignore_ascii_case("production"));
    if !production {
        let _ = dotenvy::dotenv();
    }
    let settings = Settings::from_env()?;
    telemetry::init(settings.server.log_json, logs);
    Ok(settings)
}
