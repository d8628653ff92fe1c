//! `server-example import`: real chats into an integration of any [`ServerStore`].
//!
//! Two sources: WhatsApp "Export chat" text files (or the ZIP of an export with media, [`zip_export`]) and the conversation corpus of the MIT-licensed PyPI package
//! `chitchat-dataset` ([`chitchat`]). Row ids are hashes of what identifies the source record (a chat's content,
//! [`identity`]; the dataset's own ids), so importing the same data again finds the same rows; a row stored with
//! the same values is not written again, so an unchanged re-import takes no seq. Rows are written in batches of
//! [`BATCH`] through [`ServerStore::write`].
//!
//! Layout: [`decode`] (bytes to text in the file's encoding), [`whatsapp_export`] (the parser), [`dates`] (which
//! date field is the day), [`identity`] (chat and message ids), [`export_rows`] (one file as rows), [`chitchat`].

pub mod chitchat;
pub mod dates;
pub mod decode;
pub mod export_rows;
pub mod identity;
mod placeholders;
pub mod whatsapp_export;
pub mod zip_export;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::bail;
use sync_core::{FeedError, ServerStore, Value, Write};

use self::dates::DateOrder;
use self::export_rows::ExportOptions;
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
    /// A name for the chat of the FILEs: names the conversation and keeps two chats that start with the same
    /// messages apart (default: from the file name, else the other person's name).
    #[arg(long, value_name = "NAME", conflicts_with = "chitchat")]
    pub chat_name: Option<String>,
    /// The order of day, month and year in the exports' dates (default: decided from each file, with a warning
    /// when it cannot be sure).
    #[arg(long, value_name = "ORDER", value_parser = DateOrder::from_str)]
    pub date_order: Option<DateOrder>,
    /// The exports' encoding when they have no byte-order mark, e.g. windows-1252 or latin1 (default: UTF-8;
    /// UTF-16 with a byte-order mark is recognised).
    #[arg(long, value_name = "LABEL", value_parser = decode::encoding_for)]
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Import the chitchat-dataset corpus; PATH defaults to the `dataset.json` of the installed Python package.
    #[arg(long, value_name = "PATH", num_args = 0..=1, conflicts_with = "files")]
    pub chitchat: Option<Option<PathBuf>>,
    /// Where a ZIP export's attached files go, named by SHA-256 as `serve` reads them (default: where `serve`
    /// looks: `<db name>-media` beside the SQLite file, or `media` with `--database-url`).
    #[arg(long, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// WhatsApp "Export chat" files, one conversation each: the text (`.txt`), or the ZIP of an export with media
    /// (`.zip`), whose attached files are stored and linked to their messages.
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
            let options = ExportOptions {
                me: args.me.clone(),
                chat_name: args.chat_name.clone(),
                date_order: args.date_order,
                encoding: args.encoding,
                ..ExportOptions::default()
            };
            let media_dir = args
                .media_dir
                .clone()
                .unwrap_or_else(|| crate::default_media_dir(&args.db, args.database_url.is_some()));
            let (mut totals, mut unchanged) = (Totals::default(), 0);
            for file in &args.files {
                let imported = match file.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
                    true => zip_export::import_zip(store, &args.integration, file, &options, &media_dir).await?,
                    false => export_rows::import_file(store, &args.integration, file, &options).await?,
                };
                for warning in &imported.warnings {
                    eprintln!("warning: {}: {warning}", file.display());
                }
                add(&mut totals, &imported.totals);
                unchanged += imported.unchanged;
            }
            if unchanged > 0 {
                println!("{unchanged} rows were already stored as they are in the files: not written again");
            }
            totals
        }
    };
    println!(
        "imported into {} of {} in {:.1} s, rows written: {} conversations, {} messages, {} contacts, {} media records, {} participants",
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

/// Writes collected into batches of [`BATCH`], counted per collection. An upsert whose values equal the stored
/// row's is not written: an unchanged re-import writes nothing and takes no seq.
pub(crate) struct Batch<'a> {
    store: &'a dyn ServerStore,
    scope: &'a str,
    writes: Vec<Write>,
    /// Whether the scope had no rows when the batch began (then nothing needs comparing); `None` until asked.
    fresh: Option<bool>,
    /// Rows written, per collection.
    pub(crate) totals: Totals,
    /// Rows left as they were, because they were stored with the same values.
    pub(crate) unchanged: u64,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(store: &'a dyn ServerStore, scope: &'a str) -> Self {
        Batch { store, scope, writes: Vec::with_capacity(BATCH), fresh: None, totals: Totals::default(), unchanged: 0 }
    }

    /// The stored values of a row, `None` if it is not stored.
    pub(crate) async fn stored(&mut self, collection: &str, id: &str) -> Result<Option<Vec<Value>>, FeedError> {
        let fresh = match self.fresh {
            Some(fresh) => fresh,
            None => {
                let fresh = match self.store.status(self.scope).await {
                    Ok(_) => false,
                    Err(FeedError::UnknownScope(_)) => true,
                    Err(e) => return Err(e),
                };
                *self.fresh.insert(fresh)
            }
        };
        if fresh { Ok(None) } else { self.store.get(self.scope, collection, id).await }
    }

    /// Queues an upsert unless the row is stored with these values, writing the batch when it is full.
    pub(crate) async fn upsert(&mut self, collection: &str, id: String, values: Vec<Value>) -> Result<(), FeedError> {
        if self.stored(collection, &id).await?.is_some_and(|stored| same_values(&stored, &values)) {
            self.unchanged += 1;
            return Ok(());
        }
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

/// Values equal as the store keeps them: JSON by its content (PostgreSQL's jsonb re-spaces and re-orders it).
fn same_values(stored: &[Value], new: &[Value]) -> bool {
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    stored.len() == new.len()
        && stored.iter().zip(new).all(|pair| match pair {
            (Value::Json(a), Value::Json(b)) => a == b || json(a).is_some_and(|a| Some(a) == json(b)),
            (a, b) => a == b,
        })
}
