//! The conflict policy, run by every server store inside its push transaction.

use super::check::check_fields;
use super::{CheckedMutation, PushHook, PushTx, RowState, Verdict};
use crate::error::FeedError;
use crate::mutation::{MutationOp, MutationOutcome, MutationResult, PushResponse};
use crate::schema::{Collection, Schema};
use crate::value::Value;

/// Applies checked mutations (from [`super::check_push`]) of `client_id` in `tx`, per the module's policy:
/// mutations at or below the client's stored last id are answered `already_applied` and skipped, the others are
/// applied in order, and the new last id is stored with the greatest seq the client's pushes took. The caller
/// commits `tx` when this returns `Ok` and rolls it back otherwise, so a push applies entirely or not at all.
pub async fn apply_push(
    tx: &mut dyn PushTx,
    schema: &Schema,
    hook: Option<&dyn PushHook>,
    (scope, client_id): (&str, &str),
    mutations: Vec<CheckedMutation>,
) -> Result<PushResponse, FeedError> {
    let (stored, mut bound) = tx.last_mutation(client_id).await?.unwrap_or((0, 0));
    let mut last = stored;
    let mut results = Vec::with_capacity(mutations.len());
    for m in mutations {
        let mutation_id = m.mutation_id;
        let outcome = if mutation_id <= stored {
            MutationOutcome::AlreadyApplied { seq: bound }
        } else {
            let collection =
                schema.collection(&m.collection).ok_or_else(|| FeedError::UnknownCollection(m.collection.clone()))?;
            let outcome = apply_one(tx, collection, hook, (scope, client_id), m).await?;
            if let MutationOutcome::Applied { seq: Some(seq) } = outcome {
                bound = bound.max(seq);
            }
            last = mutation_id;
            outcome
        };
        results.push(MutationResult { mutation_id, outcome });
    }
    if last > stored {
        tx.save_last_mutation(client_id, last, bound).await?;
    }
    Ok(PushResponse { last_mutation_id: last, results })
}

fn rejected(code: &str, message: String) -> MutationOutcome {
    MutationOutcome::Rejected { code: code.to_owned(), message }
}

async fn apply_one(
    tx: &mut dyn PushTx,
    collection: &Collection,
    hook: Option<&dyn PushHook>,
    (scope, client_id): (&str, &str),
    mut m: CheckedMutation,
) -> Result<MutationOutcome, FeedError> {
    let current = tx.row(&m.collection, &m.id).await?;
    let unchanged = MutationOutcome::Applied { seq: None };
    match (m.op, &current) {
        (MutationOp::Update, RowState::Missing) => {
            return Ok(rejected("not_found", format!("`{}` `{}` does not exist", m.collection, m.id)));
        }
        (MutationOp::Update, RowState::Deleted) => {
            return Ok(rejected(
                "deleted",
                format!("`{}` `{}` was deleted; an edit does not revive it", m.collection, m.id),
            ));
        }
        (MutationOp::Delete, RowState::Missing | RowState::Deleted) => return Ok(unchanged),
        _ => {}
    }
    if let Some(hook) = hook {
        match hook.review(tx, scope, client_id, &m).await? {
            Verdict::Accept => {}
            Verdict::Reject { code, message } => return Ok(MutationOutcome::Rejected { code, message }),
            Verdict::Rewrite(fields) => {
                check_fields(collection, m.op, &fields).map_err(|why| {
                    FeedError::InvalidWrite(format!("the push hook rewrote mutation {} badly: {why}", m.mutation_id))
                })?;
                m.fields = fields;
            }
        }
    }
    let values = match (m.op, current) {
        (MutationOp::Delete, _) => {
            return Ok(MutationOutcome::Applied { seq: Some(tx.delete(&m.collection, &m.id).await?) });
        }
        (_, RowState::Live(values)) => {
            let merged = merge(collection, values.clone(), &m);
            if merged == values {
                return Ok(unchanged);
            }
            merged
        }
        (_, RowState::Missing | RowState::Deleted) => {
            merge(collection, vec![Value::Null; collection.columns.len()], &m)
        }
    };
    Ok(MutationOutcome::Applied { seq: Some(tx.put(&m.collection, &m.id, values).await?) })
}

/// `values` with the mutation's fields put in place (last writer wins per field).
fn merge(collection: &Collection, mut values: Vec<Value>, m: &CheckedMutation) -> Vec<Value> {
    for (name, value) in &m.fields {
        if let Some(i) = collection.column_index(name) {
            values[i] = value.clone();
        }
    }
    values
}
