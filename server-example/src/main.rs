//! `server-example`: the WhatsApp-like sync backend (`serve`, `seed`, `prune`, `demo`, `import`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use server_example::generate::{Sizes, generate_with_media};
use server_example::hook::WhatsAppHook;
use server_example::media::{MediaPool, MediaProfile};
use server_example::serve::{access, parse_token, start, with_read_tokens};
use server_example::{demo, import, whatsapp};
use sync_core::ServerStore;
use sync_http::{MediaDir, ServerConfig};
use sync_postgres::PostgresStore;
use tokio_util::sync::CancellationToken;

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

#[derive(clap::Args)]
struct MediaArgs {
    /// Where to write the media files. Default: `<db name>-media` beside the SQLite file, or `media` with
    /// `--database-url`.
    #[arg(long)]
    media_dir: Option<PathBuf>,
    /// File sizes: `small` (kilobytes; the default keeps seeding fast and small on disk) or `realistic` (a few
    /// MB, videos up to 50 MB).
    #[arg(long, value_enum, default_value_t)]
    media_profile: MediaProfile,
    /// Distinct files per kind (image, video, voice note, document, sticker); media rows share them.
    #[arg(long, default_value_t = 4)]
    media_files_per_kind: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync endpoints from the embedded SQLite store, or from PostgreSQL with `--database-url`.
    Serve {
        /// The server's SQLite file.
        #[arg(long, default_value = "server.db")]
        db: PathBuf,
        /// Use PostgreSQL instead of the SQLite file: `postgres://user@host:port/database`.
        #[arg(long)]
        database_url: Option<String>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// A bearer token and what it may read and push writes to: `TOKEN=integration1,integration2` or
        /// `TOKEN=*` (repeatable).
        #[arg(long = "token", value_parser = parse_token, required_unless_present = "read_tokens")]
        tokens: Vec<(String, Vec<String>)>,
        /// A read-only bearer token (its pushes are refused with 403), same form as `--token` (repeatable).
        #[arg(long = "read-token", value_parser = parse_token)]
        read_tokens: Vec<(String, Vec<String>)>,
        /// Greatest page size served.
        #[arg(long, default_value_t = 10_000)]
        max_limit: usize,
        /// With `--database-url`: fan commit hints out to the other instances over this NATS server
        /// (`nats://127.0.0.1:4222`), so their live clients wake too.
        #[arg(long, requires = "database_url")]
        nats_url: Option<String>,
        /// The media files served at `/media/{integration_id}/{media_id}` (named by SHA-256, as `seed` writes
        /// them). Default: `<db name>-media` beside the SQLite file, or `media` with `--database-url`.
        #[arg(long)]
        media_dir: Option<PathBuf>,
    },
    /// Generate a realistic integration into the server's store.
    Seed {
        /// The server's SQLite file.
        #[arg(long, default_value = "server.db")]
        db: PathBuf,
        /// Use PostgreSQL instead of the SQLite file: `postgres://user@host:port/database`.
        #[arg(long)]
        database_url: Option<String>,
        /// The integration id to fill.
        #[arg(long, default_value = "wa-1")]
        integration: String,
        #[command(flatten)]
        sizes: SizeArgs,
        #[command(flatten)]
        media: MediaArgs,
    },
    /// Delete PostgreSQL tombstones older than an age; clients whose cursor is older must then re-sync.
    Prune {
        /// The PostgreSQL database: `postgres://user@host:port/database`.
        #[arg(long)]
        database_url: String,
        /// Age of the tombstones to drop: a number with a unit, `s`, `m`, `h` or `d` (e.g. `30d`).
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
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

/// Parses `30d`, `12h`, `15m`, `45s`.
fn parse_age(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("expected a number and a unit (s, m, h, d), got {text:?}"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
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
        Command::Serve { db, database_url, listen, tokens, read_tokens, max_limit, nats_url, media_dir } => {
            let media_dir = media_dir.unwrap_or_else(|| server_example::default_media_dir(&db, database_url.is_some()));
            let (store, name): (Arc<dyn ServerStore>, String) = match database_url {
                Some(url) => {
                    let store =
                        PostgresStore::connect(&url, whatsapp::schema()).await?.with_hook(Arc::new(WhatsAppHook));
                    store.start_live(nats_url.as_deref(), CancellationToken::new()).await?;
                    (Arc::new(store), "PostgreSQL".to_owned())
                }
                None => {
                    let (store, name) = server_example::open_store(&db, None).await?;
                    (store, name)
                }
            };
            let mut config = ServerConfig::new(with_read_tokens(access(&tokens), &read_tokens));
            config.max_limit = max_limit.max(1);
            config.media = Some(Arc::new(MediaDir::new(store.clone(), media_dir, "message_media")));
            let server = start(store, config, &listen).await?;
            println!("serving {name} on {}", server.url());
            tokio::signal::ctrl_c().await?;
            server.stop().await
        }
        Command::Seed { db, database_url, integration, sizes, media } => {
            if integration.is_empty() {
                bail!("the integration id must not be empty");
            }
            let media_dir =
                media.media_dir.unwrap_or_else(|| server_example::default_media_dir(&db, database_url.is_some()));
            let pool = MediaPool::new(sizes.seed, media.media_profile, media.media_files_per_kind);
            let written = pool.write(&media_dir).with_context(|| format!("cannot write {}", media_dir.display()))?;
            let (store, name) = server_example::open_store(&db, database_url.as_deref()).await?;
            let totals =
                generate_with_media(store.as_ref(), &integration, sizes.sizes(), sizes.seed, &pool, |_| {}).await?;
            println!("seeded {integration} in {name}: {totals:?}");
            println!("media: {} files in {} ({written} bytes written)", pool.files().len(), media_dir.display());
            Ok(())
        }
        Command::Prune { database_url, older_than } => {
            let store = PostgresStore::connect(&database_url, whatsapp::schema()).await?;
            let report = store.prune(older_than).await?;
            println!("removed {} tombstones older than {older_than:?}", report.removed);
            for (integration, collection, horizon) in &report.horizons {
                println!("  {integration} {collection}: horizon {horizon} (an older cursor re-syncs from scratch)");
            }
            Ok(())
        }
        Command::Import(args) => import::run(args).await,
        Command::Demo { dir, sizes } => {
            demo::run(demo::DemoOptions { dir, sizes: sizes.sizes(), seed: sizes.seed }).await
        }
    }
}
