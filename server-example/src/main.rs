//! `server-example`: the WhatsApp-like sync backend (`serve`, `seed`, `demo`, `import`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::{Parser, Subcommand};
use server_example::generate::{Sizes, generate};
use server_example::serve::{access, parse_token, start};
use server_example::{demo, import, whatsapp};
use sync_http::ServerConfig;
use sync_sqlite::SqliteServerStore;

#[derive(Parser)]
#[command(version, about = "Example sync backend: WhatsApp-like data over wire protocol v1")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct SizeArgs {
    /// Conversations to generate.
    #[arg(long, default_value_t = 2_000)]
    conversations: usize,
    /// Messages to generate.
    #[arg(long, default_value_t = 200_000)]
    messages: usize,
    /// Contacts to generate.
    #[arg(long, default_value_t = 1_500)]
    contacts: usize,
    /// Generator seed: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync endpoints from the embedded SQLite store.
    Serve {
        /// The server's SQLite file.
        #[arg(long, default_value = "server.db")]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// A bearer token and what it may read: `TOKEN=integration1,integration2` or `TOKEN=*` (repeatable).
        #[arg(long = "token", value_parser = parse_token, required = true)]
        tokens: Vec<(String, Vec<String>)>,
        /// Greatest page size served.
        #[arg(long, default_value_t = 10_000)]
        max_limit: usize,
    },
    /// Generate a realistic integration into the server's store.
    Seed {
        /// The server's SQLite file.
        #[arg(long, default_value = "server.db")]
        db: PathBuf,
        /// The integration id to fill.
        #[arg(long, default_value = "wa-1")]
        integration: String,
        #[command(flatten)]
        sizes: SizeArgs,
    },
    /// Seed, serve, sync a client with progress, change things, sync again, verify.
    Demo {
        /// Folder for the demo's server and client databases (replaced).
        #[arg(long, default_value = "demo-data")]
        dir: PathBuf,
        #[command(flatten)]
        sizes: SizeArgs,
    },
    /// Import WhatsApp "Export chat" files, or the chitchat-dataset corpus, into an integration.
    Import(import::ImportArgs),
}

impl SizeArgs {
    fn sizes(&self) -> Sizes {
        Sizes { conversations: self.conversations, messages: self.messages, contacts: self.contacts }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { db, listen, tokens, max_limit } => {
            let store = Arc::new(SqliteServerStore::open(&db, whatsapp::schema())?);
            let mut config = ServerConfig::new(access(&tokens));
            config.max_limit = max_limit.max(1);
            let server = start(store, config, &listen).await?;
            println!("serving {} on {}", db.display(), server.url());
            tokio::signal::ctrl_c().await?;
            server.stop().await
        }
        Command::Seed { db, integration, sizes } => {
            if integration.is_empty() {
                bail!("the integration id must not be empty");
            }
            let store = SqliteServerStore::open(&db, whatsapp::schema())?;
            let totals = generate(&store, &integration, sizes.sizes(), sizes.seed, |_| {}).await?;
            println!("seeded {integration} in {}: {totals:?}", db.display());
            Ok(())
        }
        Command::Import(args) => import::run(args).await,
        Command::Demo { dir, sizes } => demo::run(demo::DemoOptions { dir, sizes: sizes.sizes(), seed: sizes.seed }).await,
    }
}
