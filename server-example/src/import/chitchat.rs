//! The conversation corpus of the MIT-licensed PyPI package `chitchat-dataset` (BYU PCC lab's Chit Chat
//! Challenge): real human text for tests and benchmarks.
//!
//! The package ships one `dataset.json` (40 MB) next to its `__init__.py`: an object keyed by conversation id,
//! each `{"messages": [[{"text", "timestamp", "sender"}, …], …], "prompt", "start", "ratings"}`, where a
//! message is a run of utterances by one sender and timestamps are ISO 8601 UTC (`2018-05-02T19:38:15Z`).
//! Version 0.9.0 holds 7,168 conversations, 258,145 utterances and 1,315 senders.
//!
//! Rows: a conversation per dataset conversation (named after its prompt, never a group), one message per
//! utterance (sent at its timestamp; `from_me` is false, there is no "me"), a contact per sender
//! (`<sender id>@s.whatsapp.net`, named `user-<first 8 hex>`) and a participant per sender and conversation.
//! Ids hash the integration and the dataset's ids, so a second import updates the same rows.
//!
//! The file is parsed as a stream on a blocking thread (one parsed conversation at a time) that hands
//! conversations over a bounded channel to the writer.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde::de::{Error as _, MapAccess, Visitor};
use sync_core::{ServerStore, Value};
use tokio::sync::mpsc;

use super::dates::unix_ms;
use super::{Batch, stable_id};
use crate::generate::Totals;

/// One conversation of the dataset (`start` and `ratings` are not imported).
#[derive(Deserialize, Debug)]
pub struct Conversation {
    /// The conversation starter the two people were given.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Turns: runs of utterances by one sender.
    pub messages: Vec<Vec<Utterance>>,
}

/// One utterance: a message row.
#[derive(Deserialize, Debug)]
pub struct Utterance {
    /// What was said.
    pub text: String,
    /// ISO 8601 UTC, `2018-05-02T19:38:15Z`.
    pub timestamp: String,
    /// The sender's id (a UUID).
    pub sender: String,
}

/// The path of `dataset.json` of the installed Python package, asked of `python3`.
pub fn locate() -> anyhow::Result<PathBuf> {
    let script =
        "import chitchat_dataset, os; print(os.path.join(os.path.dirname(chitchat_dataset.__file__), 'dataset.json'))";
    let output =
        Command::new("python3").args(["-c", script]).output().context("running python3 to find chitchat-dataset")?;
    if !output.status.success() {
        bail!(
            "the Python package chitchat-dataset is not installed (`pip install chitchat-dataset`): {}",
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default().trim()
        );
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !path.is_file() {
        bail!("chitchat-dataset is installed but {} is missing", path.display());
    }
    Ok(path)
}

/// Imports the dataset at `path` into `scope`.
pub async fn import(store: &dyn ServerStore, scope: &str, path: &Path) -> anyhow::Result<Totals> {
    // The bytes are read whole (40 MB): serde_json parses a slice many times faster than a reader, most of all in
    // debug builds. What is parsed from them still streams, one conversation at a time.
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (tx, mut rx) = mpsc::channel::<(String, Conversation)>(64);
    let parser = tokio::task::spawn_blocking(move || {
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde::Deserializer::deserialize_map(&mut de, EachConversation(tx))?;
        de.end()
    });

    let mut batch = Batch::new(store, scope);
    // Sender id → (jid, last utterance time): contacts are written at the end, once each.
    let mut contacts: HashMap<String, (String, i64)> = HashMap::new();
    while let Some((key, conversation)) = rx.recv().await {
        conversation_rows(&mut batch, scope, &key, conversation, &mut contacts).await?;
    }
    // A malformed file ends the stream early: only the parser's result tells.
    parser.await?.with_context(|| format!("{} is not the chitchat-dataset JSON", path.display()))?;
    let mut contacts: Vec<_> = contacts.into_iter().collect();
    contacts.sort();
    for (sender, (jid, last)) in contacts {
        let values = vec![
            Value::from(jid.as_str()),
            Value::Null,
            Value::from(format!("user-{}", sender.get(..8).unwrap_or(&sender))),
            Value::Null,
            Value::Null,
            Value::Bool(false),
            Value::Null,
            Value::Integer(last),
        ];
        batch.upsert("contacts", stable_id(&[scope, "contact", &jid]), values).await?;
    }
    batch.flush().await?;
    Ok(batch.totals)
}

async fn conversation_rows(
    batch: &mut Batch<'_>,
    scope: &str,
    key: &str,
    conversation: Conversation,
    contacts: &mut HashMap<String, (String, i64)>,
) -> anyhow::Result<()> {
    let id = stable_id(&[scope, "chitchat", key]);
    let mut utterances = Vec::new();
    for u in conversation.messages.into_iter().flatten() {
        let at =
            parse_time(&u.timestamp).with_context(|| format!("conversation {key}: bad timestamp {:?}", u.timestamp))?;
        utterances.push((u, at));
    }
    let first_at = utterances.iter().map(|(_, at)| *at).min().unwrap_or_default();
    let last_at = utterances.iter().map(|(_, at)| *at).max().unwrap_or_default();
    let mut joined: Vec<(String, i64)> = Vec::new();
    for (u, at) in &utterances {
        if !joined.iter().any(|(s, _)| *s == u.sender) {
            joined.push((u.sender.clone(), *at));
        }
    }
    let jid = |sender: &str| format!("{sender}@s.whatsapp.net");
    let values = vec![
        Value::from(format!("{}@chitchat", key)),
        Value::from(conversation.prompt),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Null,
        Value::Integer(0),
        Value::from(utterances.last().map(|_| last_at)),
        Value::Integer(first_at),
        Value::Integer(last_at),
    ];
    batch.upsert("conversations", id.clone(), values).await?;
    for (sender, at) in &joined {
        let values =
            vec![Value::from(id.as_str()), Value::from(jid(sender)), Value::from("member"), Value::Integer(*at)];
        batch.upsert("conversation_participants", stable_id(&[scope, &id, sender]), values).await?;
    }
    for (i, (u, at)) in utterances.into_iter().enumerate() {
        let message_id = stable_id(&[scope, "chitchat", key, &i.to_string()]);
        let contact = contacts.entry(u.sender.clone()).or_insert_with(|| (jid(&u.sender), at));
        contact.1 = contact.1.max(at);
        let values = vec![
            Value::from(id.as_str()),
            Value::from(format!("CC{}", message_id.replace('-', "")[..20].to_ascii_uppercase())),
            Value::from(contact.0.as_str()),
            Value::Bool(false),
            Value::from(u.text),
            Value::from("text"),
            Value::from("read"),
            Value::Null,
            Value::Integer(at),
            Value::Null,
            Value::Null,
        ];
        batch.upsert("messages", message_id, values).await?;
    }
    Ok(())
}

/// `2018-05-02T19:38:15Z` (or with fractional seconds) → Unix ms.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<u32>);
    let (y, mo, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (time, millis) =
        time.split_once('.').map_or((time, 0), |(t, f)| (t, f.get(..3).and_then(|f| f.parse().ok()).unwrap_or(0)));
    let mut t = time.splitn(3, ':').map(str::parse::<u32>);
    let (h, mi, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    Some(unix_ms(y.into(), mo, day, h, mi, sec)? + millis)
}

/// Visits the top-level object one entry at a time, sending each conversation to the writer.
struct EachConversation(mpsc::Sender<(String, Conversation)>);

impl<'de> Visitor<'de> for EachConversation {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of conversations keyed by id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((key, conversation)) = map.next_entry::<String, Conversation>()? {
            if self.0.blocking_send((key, conversation)).is_err() {
                return Err(A::Error::custom("the import stopped"));
            }
        }
        Ok(())
    }
}
