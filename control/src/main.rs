//! `portico-control serve | migrate | republish`. Settings: control/README.md.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portico_control::app::{shutdown_signal, Application};
use portico_control::config::Settings;
use portico_control::publish::sync::republish_all;
use portico_control::store::Store;
use portico_control::telemetry;

#[derive(Parser)]
#[command(
    name = "portico-control",
    version,
    about = "Portico's control plane: REST API, store and KV publisher"
)]
struct Cli {
    /// A TOML settings file; PORTICO_* environment variables override it.
    #[arg(long, global = true, env = "PORTICO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies migrations, then serves the API and runs the publisher.
    Serve,
    /// Applies the database migrations and exits.
    Migrate,
    /// Recomputes every account's KV records and queues what differs (after
    /// changing the platform domain, or an upgrade); `serve` delivers them.
    Republish,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.log_format, &settings.log_filter);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                let app = Application::build(&settings).await?;
                app.run_until_stopped(shutdown_signal()).await
            }
            Command::Migrate => {
                let store = Store::connect(&settings.database_url, 1)
                    .await
                    .context("cannot open the database")?;
                store
                    .migrate()
                    .await
                    .context("cannot apply the migrations")?;
                store.close().await;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Republish => {
                let store = Store::connect(&settings.database_url, 1)
                    .await
                    .context("cannot open the database")?;
                store
                    .migrate()
                    .await
                    .context("cannot apply the migrations")?;
                let written = republish_all(&store, &settings.platform_domain).await?;
                store.close().await;
                tracing::info!(
                    outbox_rows = written,
                    "republished: a running serve delivers the changes"
                );
                Ok(())
            }
        }
    })
}
