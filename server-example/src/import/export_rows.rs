//! One WhatsApp export file as rows: a conversation, contacts for its senders, participants, messages and media
//! records for the placeholders.
//!
//! - The conversation and its messages have ids derived from their content ([`super::identity`]): the same chat
//!   imported again, or exported again later and longer, under any file name, finds its rows again. Rows stored
//!   with the same values are not written again, so an unchanged re-import writes nothing and a longer export
//!   writes only its new messages (and the conversation's new last-message time).
//! - The conversation is named by `--chat-name`, else after the file (`WhatsApp Chat with Ana.txt` → `Ana`), else,
//!   for a chat of two people, after the other one. It is a group when it has more than two senders or system lines
//!   about a group (created, added, removed, left, subject changed).
//! - A sender's jid is synthesized from the name alone (`ana-silva-1a2b3c4d@s.whatsapp.net`; a sender shown as
//!   a phone number gets that number), so the same person is one contact across files.
//! - The sender named by `--me` gets `from_me` and, as in the generated data, no `sender_jid`, contact or
//!   participant row.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use encoding_rs::Encoding;
use sync_core::{ServerStore, Value};

use super::dates::DateOrder;
use super::decode::decode;
use super::identity::{chat_ids, message_ids};
use super::whatsapp_export::{ExportMessage, Kind, is_group_event, parse_with};
use super::{Batch, stable_id};
use crate::generate::Totals;

/// How to read and file an export (the `import` command's options).
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// The user's name as the export shows it: those messages get `from_me`.
    pub me: Option<String>,
    /// A name for the chat: names the conversation and is part of its identity.
    pub chat_name: Option<String>,
    /// The order of the dates' fields; decided from the file when `None`.
    pub date_order: Option<DateOrder>,
    /// The file's encoding when it has no byte-order mark; UTF-8 when `None`.
    pub encoding: Option<&'static Encoding>,
    /// The attached files stored with the export (a ZIP's), by the name its attachment lines give them: their
    /// `message_media` rows get the size and hash.
    pub attachments: HashMap<String, Attachment>,
}

/// An attached file as stored in the media folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Its length in bytes.
    pub size: u64,
    /// Its SHA-256 in lowercase hex (its name in the media folder).
    pub sha256: String,
}

/// What importing one export did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Rows written, per collection.
    pub totals: Totals,
    /// Rows already stored with the same values, not written again.
    pub unchanged: u64,
    /// What the reader should check (an ambiguous date order, a truncated last line).
    pub warnings: Vec<String>,
}

/// Reads and imports one export file into `scope`.
pub async fn import_file(
    store: &dyn ServerStore,
    scope: &str,
    path: &Path,
    options: &ExportOptions,
) -> anyhow::Result<Imported> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = decode(&bytes, options.encoding).with_context(|| path.display().to_string())?;
    let file_name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    import_text(store, scope, &file_name, &text, options).await.with_context(|| path.display().to_string())
}

/// Imports the export `text` of the file called `file_name` (which may name the conversation).
pub async fn import_text(
    store: &dyn ServerStore,
    scope: &str,
    file_name: &str,
    text: &str,
    options: &ExportOptions,
) -> anyhow::Result<Imported> {
    // Parsed whole before anything is written: a bad file writes nothing.
    let export = parse_with(text, options.date_order)?;
    let messages = export.messages;
    let me = options.me.as_deref();
    let is_me = |name: &str| me == Some(name);

    // Senders in order of appearance, with their first and last message times.
    let mut senders: Vec<(&str, i64, i64)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for m in &messages {
        if let Some(name) = m.sender.as_deref() {
            let i = *index.entry(name).or_insert_with(|| {
                senders.push((name, m.sent_at, m.sent_at));
                senders.len() - 1
            });
            senders[i].2 = m.sent_at;
        }
    }
    let group_events =
        messages.iter().filter(|m| m.kind == Kind::System).filter(|m| m.body.as_deref().is_some_and(is_group_event));
    let creator = group_events
        .clone()
        .find_map(|m| m.body.as_deref()?.split_once(" created group ").map(|(who, _)| who.to_owned()));
    let is_group = senders.len() > 2 || group_events.count() > 0;
    let first_at = messages.iter().map(|m| m.sent_at).min().unwrap_or_default();
    let last_at = messages.iter().map(|m| m.sent_at).max().unwrap_or_default();

    let mut batch = Batch::new(store, scope);
    let conversation_id = conversation_id(&mut batch, options.chat_name.as_deref(), &messages).await?;
    let other = senders.iter().find(|(name, ..)| !is_me(name)).map(|(name, ..)| *name);
    let jid = match (is_group, other) {
        (false, Some(name)) => contact_jid(name).0,
        _ => format!("{}@g.us", conversation_id.replace('-', "")),
    };
    let name = options.chat_name.clone().or_else(|| conversation_name(file_name)).or_else(|| match is_group {
        false => other.map(str::to_owned),
        true => None,
    });
    let values = vec![
        Value::from(jid),
        Value::from(name),
        Value::Bool(is_group),
        Value::Bool(false),
        Value::Bool(false),
        Value::Null,
        Value::Integer(0),
        Value::Integer(last_at),
        Value::Integer(first_at),
        Value::Integer(last_at),
    ];
    batch.upsert("conversations", conversation_id.clone(), values).await?;

    let mut jids: HashMap<&str, String> = HashMap::new();
    for &(name, first, last) in senders.iter().filter(|(name, ..)| !is_me(name)) {
        let (jid, phone) = contact_jid(name);
        let id = stable_id(&[scope, "contact", &jid]);
        // One contact across chats: last seen at the latest message of any chat imported.
        let seen = match batch.stored("contacts", &id).await? {
            Some(stored) => match stored.get(7) {
                Some(Value::Integer(seen)) => last.max(*seen),
                _ => last,
            },
            None => last,
        };
        let values = vec![
            Value::from(jid.as_str()),
            Value::from(phone.clone()),
            Value::Null,
            Value::from(phone.is_none().then_some(name)),
            Value::Null,
            Value::Bool(false),
            Value::Null,
            Value::Integer(seen),
        ];
        batch.upsert("contacts", id, values).await?;
        let role = if creator.as_deref() == Some(name) { "superadmin" } else { "member" };
        let values = vec![
            Value::from(conversation_id.as_str()),
            Value::from(jid.as_str()),
            Value::from(role),
            Value::Integer(first),
        ];
        batch.upsert("conversation_participants", stable_id(&[scope, &conversation_id, &jid]), values).await?;
        jids.insert(name, jid);
    }

    for (m, id) in messages.iter().zip(message_ids(&conversation_id, &messages)) {
        message_rows(&mut batch, &conversation_id, m, id, &jids, (me, &options.attachments)).await?;
    }
    batch.flush().await?;
    Ok(Imported { totals: batch.totals, unchanged: batch.unchanged, warnings: export.warnings })
}

/// The chat's id: the one a shorter export of it was imported under, else its own ([`chat_ids`]).
async fn conversation_id(
    batch: &mut Batch<'_>,
    chat_name: Option<&str>,
    messages: &[ExportMessage],
) -> anyhow::Result<String> {
    let mut ids = chat_ids(batch.scope, chat_name, messages);
    let own = ids.pop().context("an export has at least one message")?;
    for id in ids {
        if batch.stored("conversations", &id).await?.is_some() {
            return Ok(id);
        }
    }
    Ok(own)
}

async fn message_rows(
    batch: &mut Batch<'_>,
    conversation_id: &str,
    m: &ExportMessage,
    id: String,
    jids: &HashMap<&str, String>,
    (me, attachments): (Option<&str>, &HashMap<String, Attachment>),
) -> anyhow::Result<()> {
    let from_me = m.sender.is_some() && m.sender.as_deref() == me;
    let sender_jid = m.sender.as_deref().and_then(|name| jids.get(name)).cloned();
    // Not the file or line: the same message imported from another file or a longer export is the same row.
    let metadata = serde_json::json!({ "source": "whatsapp-export" });
    let values = vec![
        Value::from(conversation_id),
        Value::from(format!("EXP{}", id.replace('-', "")[..20].to_ascii_uppercase())),
        Value::from(sender_jid),
        Value::Bool(from_me),
        Value::from(m.body.clone()),
        Value::from(m.kind.as_str()),
        Value::from(if from_me { "sent" } else { "read" }),
        Value::Null,
        Value::Integer(m.sent_at),
        Value::Null,
        Value::Json(metadata.to_string()),
    ];
    batch.upsert("messages", id.clone(), values).await?;
    if let Some(media) = &m.media {
        let file = media.file_name.as_ref().and_then(|name| attachments.get(name));
        let values = vec![
            Value::from(id.as_str()),
            Value::from(conversation_id),
            Value::from(media.mime_type),
            Value::from(media.file_name.clone()),
            file.map_or(Value::Null, |f| Value::Integer(i64::try_from(f.size).unwrap_or(i64::MAX))),
            Value::from(file.map(|f| f.sha256.clone())),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ];
        batch.upsert("message_media", stable_id(&[&id, "media"]), values).await?;
    }
    Ok(())
}

/// The conversation's name from the export's file name: `WhatsApp Chat with Ana.txt` → `Ana`; iOS's `_chat.txt`
/// names nothing.
pub fn conversation_name(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".txt").unwrap_or(file_name);
    let name = ["WhatsApp Chat with ", "WhatsApp Chat - "].iter().find_map(|p| stem.strip_prefix(p)).unwrap_or(stem);
    (name != "_chat" && !name.is_empty()).then(|| name.to_owned())
}

/// A contact's jid from the name the export shows, and the phone number when the name is one.
pub fn contact_jid(name: &str) -> (String, Option<String>) {
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    let phone_like = name.chars().all(|c| c.is_ascii_digit() || " +-()\u{a0}\u{202a}\u{202c}".contains(c));
    if phone_like && digits.len() >= 7 {
        return (format!("{digits}@s.whatsapp.net"), Some(format!("+{digits}")));
    }
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = match slug.trim_end_matches('-') {
        "" => "contact",
        slug => slug,
    };
    (format!("{slug}-{}@s.whatsapp.net", &stable_id(&["contact", name])[..8]), None)
}
