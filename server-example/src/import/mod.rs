//! `server-example import`: real chats into an integration of any [`ServerStore`].
//!
//! Two sources: WhatsApp "Export chat" text files ([`whatsapp_export`] parses them, [`export_rows`] turns a
//! file into rows) and the conversation corpus of the MIT-licensed PyPI package `chitchat-dataset`
//! ([`chitchat`]). Row ids are hashes of what identifies the source record (the integration, the file name and
//! the line; the dataset's own ids), so importing the same data again updates the same rows instead of adding
//! new ones. Rows are written in batches of [`BATCH`] through [`ServerStore::write`].

pub mod chitchat;
pub mod export_rows;
mod placeholders;
pub mod whatsapp_export;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use sync_core::{FeedError, ServerStore, Value, Write};

use crate::generate::Totals;

/// Writes per [`ServerStore::write`] call.
pub const BATCH: usize = 2_000;

/// `server-example import`: its command-line arguments.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The server's SQLite file.
    #[arg(long, default_value = "server.db")]
    pub db: PathBuf,
    /// Import into PostgreSQL instead of the SQLite file (`postgres://user@host/db`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// The integration id to import into.
    #[arg(long)]
    pub integration: String,
    /// Your name as the exports show it: your messages get `from_me`.
    #[arg(long, value_name = "NAME")]
    pub me: Option<String>,
    /// Import the chitchat-dataset corpus; PATH defaults to the `dataset.json` of the installed Python package.
    #[arg(long, value_name = "PATH", num_args = 0..=1, conflicts_with = "files")]
    pub chitchat: Option<Option<PathBuf>>,
    /// WhatsApp "Export chat" text files, one conversation each.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs `server-example import` against the embedded SQLite store or PostgreSQL.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    if args.integration.is_empty() {
        bail!("the integration id must not be empty");
    }
    let (store, name) = crate::open_store(&args.db, args.database_url.as_deref()).await?;
    let store = store.as_ref();
    let started = Instant::now();
    let totals = match &args.chitchat {
        Some(path) => {
            let path = match path {
                Some(path) => path.clone(),
                None => chitchat::locate()?,
            };
            chitchat::import(store, &args.integration, &path).await?
        }
        None if args.files.is_empty() => bail!("nothing to import: give export FILEs or --chitchat"),
        None => {
            let mut totals = Totals::default();
            for file in &args.files {
                let t = export_rows::import_file(store, &args.integration, file, args.me.as_deref()).await?;
                add(&mut totals, &t);
            }
            totals
        }
    };
    println!(
        "imported into {} of {} in {:.1} s: {} conversations, {} messages, {} contacts, {} media records, {} participants",
        args.integration,
        name,
        started.elapsed().as_secs_f64(),
        totals.conversations,
        totals.messages,
        totals.contacts,
        totals.media,
        totals.participants
    );
    Ok(())
}

fn add(sum: &mut Totals, t: &Totals) {
    sum.conversations += t.conversations;
    sum.messages += t.messages;
    sum.contacts += t.contacts;
    sum.media += t.media;
    sum.participants += t.participants;
}

/// A stable id from `parts`: two 64-bit FNV-1a hashes, shaped like a UUID. Stable across runs, platforms and
/// Rust versions (unlike `std`'s hashers), which idempotent re-imports need.
pub fn stable_id(parts: &[&str]) -> String {
    let hash = |basis: u64| {
        let mut h = basis;
        for part in parts {
            for byte in part.bytes().chain([0x1f]) {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    };
    let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Writes collected into batches of [`BATCH`], counted per collection.
pub(crate) struct Batch<'a> {
    store: &'a dyn ServerStore,
    scope: &'a str,
    writes: Vec<Write>,
    pub(crate) totals: Totals,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(store: &'a dyn ServerStore, scope: &'a str) -> Self {
        Batch { store, scope, writes: Vec::with_capacity(BATCH), totals: Totals::default() }
    }

    /// Queues an upsert, writing the batch when it is full.
    pub(crate) async fn upsert(&mut self, collection: &str, id: String, values: Vec<Value>) -> Result<(), FeedError> {
        let count = match collection {
            "conversations" => &mut self.totals.conversations,
            "messages" => &mut self.totals.messages,
            "contacts" => &mut self.totals.contacts,
            "message_media" => &mut self.totals.media,
            _ => &mut self.totals.participants,
        };
        *count += 1;
        self.writes.push(Write::Upsert { collection: collection.to_owned(), id, values });
        if self.writes.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is queued.
    pub(crate) async fn flush(&mut self) -> Result<(), FeedError> {
        if !self.writes.is_empty() {
            self.store.write(self.scope, std::mem::take(&mut self.writes)).await?;
        }
        Ok(())
    }
}
