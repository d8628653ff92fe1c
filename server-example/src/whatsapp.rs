//! The WhatsApp schema of the seed's app, declared once for server and clients. Clients may write
//! conversations (archive, pin, mute, mark read) and messages (send, edit, delete); contacts, media records and
//! participants come from the service only.

use sync_core::{Collection, Column, ColumnType as T, Schema, Value, Write};

/// The five collections, in the seed's sync order with the seed's page sizes. A client may subscribe to a set of
/// conversations: conversations are filtered by their own id, messages, media and participants by
/// `conversation_id`; contacts are synced whole.
pub fn schema() -> Schema {
    let conversations = Collection::new(
        "conversations",
        vec![
            Column::new("jid", T::Text).required(),
            Column::new("name", T::Text),
            Column::new("is_group", T::Boolean).required(),
            Column::new("archived", T::Boolean).required(),
            Column::new("pinned", T::Boolean).required(),
            Column::new("muted_until", T::Timestamp),
            Column::new("unread_count", T::Integer).required(),
            Column::new("last_message_at", T::Timestamp),
            Column::new("created_at", T::Timestamp).required(),
            Column::new("updated_at", T::Timestamp).required(),
        ],
    )
    .index(&["last_message_at"])
    .filter("id")
    .page_size(100)
    .writable();
    let messages = Collection::new(
        "messages",
        vec![
            Column::new("conversation_id", T::Text).required().references("conversations"),
            Column::new("wa_message_id", T::Text).required(),
            Column::new("sender_jid", T::Text),
            Column::new("from_me", T::Boolean).required(),
            Column::new("body", T::Text),
            Column::new("message_type", T::Text).required(),
            Column::new("status", T::Text).required(),
            Column::new("quoted_message_id", T::Text),
            Column::new("sent_at", T::Timestamp).required(),
            Column::new("edited_at", T::Timestamp),
            Column::new("metadata", T::Json),
        ],
    )
    .index(&["conversation_id", "sent_at"])
    .filter("conversation_id")
    .full_text(&["body"])
    .page_size(1500)
    .writable();
    let contacts = Collection::new(
        "contacts",
        vec![
            Column::new("jid", T::Text).required(),
            Column::new("phone", T::Text),
            Column::new("push_name", T::Text),
            Column::new("full_name", T::Text),
            Column::new("business_name", T::Text),
            Column::new("is_business", T::Boolean).required(),
            Column::new("avatar_url", T::Text),
            Column::new("updated_at", T::Timestamp).required(),
        ],
    )
    .index(&["jid"])
    .page_size(500);
    let media = Collection::new(
        "message_media",
        vec![
            Column::new("message_id", T::Text).required().references("messages"),
            Column::new("conversation_id", T::Text).required().references("conversations"),
            Column::new("mime_type", T::Text).required(),
            Column::new("file_name", T::Text),
            Column::new("size_bytes", T::Integer),
            Column::new("sha256", T::Text),
            Column::new("width", T::Integer),
            Column::new("height", T::Integer),
            Column::new("duration_ms", T::Integer),
            Column::new("url", T::Text),
        ],
    )
    .index(&["message_id"])
    .filter("conversation_id")
    .page_size(1000);
    let participants = Collection::new(
        "conversation_participants",
        vec![
            Column::new("conversation_id", T::Text).required().references("conversations"),
            Column::new("contact_jid", T::Text).required(),
            Column::new("role", T::Text).required(),
            Column::new("joined_at", T::Timestamp),
        ],
    )
    .index(&["conversation_id"])
    .filter("conversation_id")
    .page_size(1000);
    Schema::new(vec![conversations, messages, contacts, media, participants]).expect("the WhatsApp schema is valid")
}

/// An upsert of a minimal `contacts` row keyed `id` (live-update tests and benchmarks write these).
pub fn contact(id: &str) -> Write {
    let mut values = vec![Value::Null; 8];
    values[0] = Value::from(format!("{id}@s.whatsapp.net"));
    values[5] = Value::Bool(false);
    values[7] = Value::Integer(1_700_000_000_000);
    Write::Upsert { collection: "contacts".into(), id: id.into(), values }
}

#[cfg(test)]
mod tests {
    /// The page fuzz target decodes against a copy of this schema (it does not build the server): keep it true.
    #[test]
    fn the_fuzzers_copy_of_the_schema_is_current() {
        let copy = include_str!("../../fuzz/seeds/schema_parse/whatsapp.json");
        let copy = sync_core::Schema::from_json(copy).expect("the copy parses");
        assert_eq!(copy, super::schema(), "refresh fuzz/seeds/schema_parse/whatsapp.json from GET /schema");
    }
}
