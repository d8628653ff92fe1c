//! Who an exported chat and its messages are, from their content alone.
//!
//! An export says nothing about which chat it is (iOS names every export `_chat.txt`), so:
//! - a chat is its first [`KEY_MESSAGES`] messages (time, sender, type, text, attachment), plus the `--chat-name`
//!   when one is given. The same chat exported again, later and longer, under any file name, starts with the same
//!   messages and is the same chat; two chats are one only if they start with exactly the same messages (give
//!   each a `--chat-name` then). A chat first imported with fewer messages than that keeps the id of those few:
//!   [`chat_ids`] lists it so the importer finds it again.
//! - a message is its chat, time, sender, type, text and attachment, with a count of the same message earlier in
//!   the export (two "ok"s in one minute are two messages). A longer export repeats the earlier messages in the
//!   same order, so each keeps its id and only the new ones are new rows.

use std::collections::HashMap;

use super::stable_id;
use super::whatsapp_export::ExportMessage;

/// How many of its first messages identify a chat.
pub const KEY_MESSAGES: usize = 3;

/// What a message says, as id parts.
fn fingerprint(m: &ExportMessage) -> [String; 5] {
    [
        m.sent_at.to_string(),
        m.sender.clone().unwrap_or_default(),
        m.kind.as_str().to_owned(),
        m.body.clone().unwrap_or_default(),
        m.media.as_ref().and_then(|media| media.file_name.clone()).unwrap_or_default(),
    ]
}

/// The ids the chat of `messages` may have in `scope`: over its first 1, 2, ... [`KEY_MESSAGES`] messages (fewer
/// when it has fewer). The last is the export's own; an earlier one is a shorter export of the same chat.
pub fn chat_ids(scope: &str, chat_name: Option<&str>, messages: &[ExportMessage]) -> Vec<String> {
    let mut parts = vec![scope.to_owned(), "whatsapp-export".to_owned(), chat_name.unwrap_or_default().to_owned()];
    let mut ids = Vec::new();
    for m in messages.iter().take(KEY_MESSAGES) {
        parts.extend(fingerprint(m));
        ids.push(stable_id(&parts.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    ids
}

/// The id of each message of the chat `conversation_id`, in order.
pub fn message_ids(conversation_id: &str, messages: &[ExportMessage]) -> Vec<String> {
    let mut seen: HashMap<[String; 5], usize> = HashMap::new();
    messages
        .iter()
        .map(|m| {
            let key = fingerprint(m);
            let occurrence = seen.entry(key.clone()).or_default();
            *occurrence += 1;
            let [at, sender, kind, body, file] = &key;
            stable_id(&[conversation_id, at.as_str(), sender, kind, body, file, &occurrence.to_string()])
        })
        .collect()
}
