//! The WhatsApp service's say over client writes ([`sync_core::PushHook`]).

use async_trait::async_trait;
use sync_core::{CheckedMutation, FeedError, MutationOp, PushHook, RowReader, RowState, Value, Verdict};

/// Refuses a message whose conversation does not exist (or was deleted), code `conversation_missing`: a client
/// that composed into a chat another device deleted is told so, and the message is never orphaned on the server.
pub struct WhatsAppHook;

#[async_trait]
impl PushHook for WhatsAppHook {
    async fn review(
        &self,
        rows: &mut dyn RowReader,
        _scope: &str,
        _client_id: &str,
        mutation: &CheckedMutation,
    ) -> Result<Verdict, FeedError> {
        if mutation.collection != "messages" || mutation.op == MutationOp::Delete {
            return Ok(Verdict::Accept);
        }
        let Some(Value::Text(conversation)) = mutation.fields.get("conversation_id") else {
            return Ok(Verdict::Accept);
        };
        Ok(match rows.row("conversations", conversation).await? {
            RowState::Live(_) => Verdict::Accept,
            RowState::Missing | RowState::Deleted => Verdict::Reject {
                code: "conversation_missing".into(),
                message: format!("conversation {conversation} does not exist (it may have been deleted)"),
            },
        })
    }
}
