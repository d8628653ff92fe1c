//! One WhatsApp export file as rows: a conversation, contacts for its senders, participants, messages and media
//! records for the placeholders.
//!
//! - The conversation's id hashes the integration and the file name; it is named after the file
//!   (`WhatsApp Chat with Ana.txt` → `Ana`) and is a group when it has more than two senders or system lines
//!   about a group (created, added, removed, left, subject changed).
//! - A sender's jid is synthesized from the name alone (`ana-silva-1a2b3c4d@s.whatsapp.net`; a sender shown as
//!   a phone number gets that number), so the same person is one contact across files.
//! - A message's id hashes the integration, the file name and the header's line number: re-importing a file
//!   (or a longer export of the same chat) updates the rows it wrote before.
//! - The sender named by `--me` gets `from_me` and, as in the generated data, no `sender_jid`, contact or
//!   participant row.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use sync_core::{ServerStore, Value};

use super::whatsapp_export::{ExportMessage, Kind, is_group_event, parse};
use super::{Batch, stable_id};
use crate::generate::Totals;

/// Reads and imports one export file into `scope`; `me` is the user's name as the export shows it.
pub async fn import_file(
    store: &dyn ServerStore,
    scope: &str,
    path: &Path,
    me: Option<&str>,
) -> anyhow::Result<Totals> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file_name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    import_text(store, scope, &file_name, &text, me).await
}

/// Imports the export `text` of the file called `file_name` (which names the conversation and seeds its ids).
pub async fn import_text(
    store: &dyn ServerStore,
    scope: &str,
    file_name: &str,
    text: &str,
    me: Option<&str>,
) -> anyhow::Result<Totals> {
    // Parsed whole before anything is written: a bad file writes nothing.
    let messages = parse(text).with_context(|| file_name.to_owned())?;
    let conversation_id = stable_id(&[scope, "whatsapp-export", file_name]);
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
    let other = senders.iter().find(|(name, ..)| !is_me(name)).map(|(name, ..)| contact_jid(name).0);
    let jid = match (is_group, other) {
        (false, Some(jid)) => jid,
        _ => format!("{}@g.us", stable_id(&[scope, "group", file_name]).replace('-', "")),
    };
    let values = vec![
        Value::from(jid),
        Value::from(conversation_name(file_name)),
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
        let values = vec![
            Value::from(jid.as_str()),
            Value::from(phone.clone()),
            Value::Null,
            Value::from(phone.is_none().then_some(name)),
            Value::Null,
            Value::Bool(false),
            Value::Null,
            Value::Integer(last),
        ];
        batch.upsert("contacts", stable_id(&[scope, "contact", &jid]), values).await?;
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

    for m in &messages {
        message_rows(&mut batch, scope, file_name, &conversation_id, m, &jids, me).await?;
    }
    batch.flush().await?;
    Ok(batch.totals)
}

async fn message_rows(
    batch: &mut Batch<'_>,
    scope: &str,
    file_name: &str,
    conversation_id: &str,
    m: &ExportMessage,
    jids: &HashMap<&str, String>,
    me: Option<&str>,
) -> anyhow::Result<()> {
    let id = stable_id(&[scope, file_name, &m.line.to_string()]);
    let from_me = m.sender.is_some() && m.sender.as_deref() == me;
    let sender_jid = m.sender.as_deref().and_then(|name| jids.get(name)).cloned();
    let metadata = serde_json::json!({ "source": "whatsapp-export", "file": file_name, "line": m.line });
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
        let values = vec![
            Value::from(id.as_str()),
            Value::from(conversation_id),
            Value::from(media.mime_type),
            Value::from(media.file_name.clone()),
            Value::Null,
            Value::Null,
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
