//! Server-side changes the demo and tests make after a first sync: new, edited and deleted messages, and a
//! deleted conversation (which cascades to its messages, media and participants).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sync_core::{FeedError, ServerStore, StoredRow, Value, Write};

use crate::generate::EPOCH_MS;
use crate::text;

/// How many changes of each kind to make.
#[derive(Clone, Copy, Debug)]
pub struct ChangeSet {
    /// New messages in existing conversations.
    pub new_messages: usize,
    /// Messages whose body is edited.
    pub edits: usize,
    /// Messages deleted.
    pub deletes: usize,
    /// Conversations deleted with everything in them.
    pub deleted_conversations: usize,
}

/// What [`apply_changes`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSummary {
    /// Messages inserted.
    pub inserted: u64,
    /// Messages edited.
    pub edited: u64,
    /// Tombstones written (cascades included).
    pub tombstones: u64,
}

/// A live row picked at random: the first at or after a random id prefix (ids are random hex).
async fn pick(
    store: &dyn ServerStore,
    scope: &str,
    collection: &str,
    rng: &mut ChaCha8Rng,
) -> Result<Option<StoredRow>, FeedError> {
    let after = text::hex(rng, 6);
    let mut rows = store.read_rows(scope, collection, Some(&after), 1).await?;
    if rows.is_empty() {
        rows = store.read_rows(scope, collection, None, 1).await?;
    }
    Ok(rows.pop())
}

/// Applies `set` to `scope`, each kind in its own transaction. Deterministic for a given `seed` and data.
pub async fn apply_changes(
    store: &dyn ServerStore,
    scope: &str,
    set: ChangeSet,
    seed: u64,
) -> Result<ChangeSummary, FeedError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut summary = ChangeSummary::default();
    let now = EPOCH_MS + 700 * 24 * 3600 * 1000;
    let message_columns = store.schema().collection("messages").map_or(0, |c| c.columns.len());

    let mut writes = Vec::new();
    for i in 0..set.new_messages {
        let Some(conversation) = pick(store, scope, "conversations", &mut rng).await? else { break };
        let mut values = vec![Value::Null; message_columns];
        values[0] = Value::from(conversation.id.as_str());
        values[1] = Value::from(format!("3EB0{}", text::hex(&mut rng, 16).to_uppercase()));
        values[3] = Value::Bool(true);
        values[4] = Value::from(text::body(&mut rng));
        values[5] = Value::from("text");
        values[6] = Value::from("sent");
        values[8] = Value::Integer(now + i as i64);
        writes.push(Write::Upsert { collection: "messages".into(), id: text::uuid(&mut rng), values });
    }
    summary.inserted = store.write(scope, writes).await?.upserted;

    let mut writes = Vec::new();
    for _ in 0..set.edits {
        let Some(mut message) = pick(store, scope, "messages", &mut rng).await? else { break };
        message.values[4] = Value::from(format!("{} (edited)", text::body(&mut rng)));
        message.values[9] = Value::Integer(now);
        writes.push(Write::Upsert { collection: "messages".into(), id: message.id, values: message.values });
    }
    summary.edited = store.write(scope, writes).await?.upserted;

    let mut writes = Vec::new();
    for _ in 0..set.deletes {
        if let Some(message) = pick(store, scope, "messages", &mut rng).await? {
            writes.push(Write::Delete { collection: "messages".into(), id: message.id });
        }
    }
    for _ in 0..set.deleted_conversations {
        if let Some(conversation) = pick(store, scope, "conversations", &mut rng).await? {
            writes.push(Write::Delete { collection: "conversations".into(), id: conversation.id });
        }
    }
    summary.tombstones = store.write(scope, writes).await?.deleted;
    Ok(summary)
}
