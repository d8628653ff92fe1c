//! The example backend of the sync engine: the seed's WhatsApp schema served over wire protocol v1 from an
//! embedded SQLite store or PostgreSQL (the `sync-postgres` crate), a deterministic data generator, and an
//! end-to-end demo.
//!
//! # Layout
//! - `main.rs`: the `server-example` command (`serve`, `seed`, `demo`, `import`).
//! - `whatsapp.rs`: [`whatsapp::schema`], the five collections.
//! - `generate.rs`: [`generate::generate`], a realistic data set from a seed; `text.rs`: bodies, names, ids.
//! - `media.rs`: [`media::MediaPool`], the real files generated media rows point at, written by SHA-256.
//! - `changes.rs`: [`changes::apply_changes`], new, edited and deleted messages and a deleted conversation.
//! - `hook.rs`: [`hook::WhatsAppHook`], which refuses a client's message to a conversation that does not exist.
//! - `serve.rs`: [`serve::start`], the HTTP server in a background task; token flag parsing.
//! - `demo.rs`: [`demo::run`], server, seed, sync with progress, changes, incremental sync, verification.
//! - `import/`: [`import::run`], real chats into an integration of any `ServerStore`:
//!   - `decode.rs`: an export's bytes as text (UTF-8, UTF-16 with a byte-order mark, `--encoding`);
//!   - `whatsapp_export.rs`: the parser of WhatsApp "Export chat" files (Android and iOS formats);
//!     `dates.rs`: which date field is the day (`--date-order`); `placeholders.rs`: its media lines
//!     (`<Media omitted>`, `image omitted`, `<attached: …>`);
//!   - `identity.rs`: chat and message ids from their content;
//!   - `export_rows.rs`: one export file as a conversation, contacts, participants, messages, media records;
//!   - `chitchat.rs`: the `chitchat-dataset` corpus (7,168 conversations, 258,145 messages), stream-parsed;
//!   - `mod.rs`: the command's arguments, stable ids, batched writes that skip unchanged rows.

pub mod changes;
pub mod demo;
pub mod generate;
pub mod hook;
pub mod import;
pub mod media;
pub mod serve;
mod text;
pub mod whatsapp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sync_core::ServerStore;

/// The server store: PostgreSQL when `database_url` is given, else the embedded SQLite file `db`, with
/// [`hook::WhatsAppHook`] reviewing client writes; with a name for messages.
pub async fn open_store(db: &Path, database_url: Option<&str>) -> anyhow::Result<(Arc<dyn ServerStore>, String)> {
    Ok(match database_url {
        Some(url) => {
            let store = sync_postgres::PostgresStore::connect(url, whatsapp::schema()).await?;
            (Arc::new(store.with_hook(Arc::new(hook::WhatsAppHook))), "PostgreSQL".to_owned())
        }
        None => {
            let store = sync_sqlite::SqliteServerStore::open(db, whatsapp::schema())?;
            (Arc::new(store.with_hook(Arc::new(hook::WhatsAppHook))), db.display().to_string())
        }
    })
}

/// Where `seed` writes and `serve` finds media files by default: `<db name>-media` beside the SQLite file `db`,
/// or `media` in the working folder for PostgreSQL.
pub fn default_media_dir(db: &Path, postgres: bool) -> PathBuf {
    if postgres {
        return PathBuf::from("media");
    }
    let stem = db.file_stem().map_or_else(|| "server".into(), |s| s.to_string_lossy().into_owned());
    db.with_file_name(format!("{stem}-media"))
}
