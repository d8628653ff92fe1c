//! Validation of a push against the schema, before a store touches its database.

use std::collections::BTreeMap;

use super::CheckedMutation;
use crate::error::FeedError;
use crate::feed::fits;
use crate::mutation::{Mutation, MutationOp, PushRequest};
use crate::schema::{Collection, RESERVED_COLUMNS, Schema};
use crate::value::Value;

/// The most mutations one push may carry; a client sends a longer outbox in several pushes.
pub const MAX_PUSH_MUTATIONS: usize = 1000;

/// The largest push body, in bytes, a server accepts.
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;

/// The longest `client_id`, in bytes.
const MAX_CLIENT_ID: usize = 200;

/// Checks a whole push: a non-empty `client_id`, at most [`MAX_PUSH_MUTATIONS`] mutations, ids `>= 1` and
/// strictly increasing, and every mutation by [`check_mutation`]. The first problem refuses the whole push.
pub fn check_push(schema: &Schema, push: &PushRequest) -> Result<Vec<CheckedMutation>, FeedError> {
    let whole = |message: String| FeedError::InvalidPush { mutation_id: None, message };
    if push.client_id.is_empty() || push.client_id.len() > MAX_CLIENT_ID {
        return Err(whole(format!("`client_id` must be 1 to {MAX_CLIENT_ID} bytes (one stable id per replica)")));
    }
    if push.mutations.len() > MAX_PUSH_MUTATIONS {
        return Err(whole(format!(
            "{} mutations in one push; send at most {MAX_PUSH_MUTATIONS} per push",
            push.mutations.len()
        )));
    }
    let mut previous = 0;
    let mut checked = Vec::with_capacity(push.mutations.len());
    for m in &push.mutations {
        if m.mutation_id > i64::MAX as u64 {
            return Err(FeedError::InvalidPush {
                mutation_id: Some(m.mutation_id),
                message: format!("mutation id {} is too large: ids must fit a signed 64-bit integer", m.mutation_id),
            });
        }
        if m.mutation_id <= previous {
            return Err(FeedError::InvalidPush {
                mutation_id: Some(m.mutation_id),
                message: format!(
                    "mutation id {} follows {previous}: ids start at 1 and must strictly increase within a push",
                    m.mutation_id
                ),
            });
        }
        previous = m.mutation_id;
        checked.push(check_mutation(schema, m)?);
    }
    Ok(checked)
}

/// Checks one mutation against the schema and types its fields: a writable collection, a non-empty id, no
/// fields on a delete, only declared columns (never `id`, `integration_id`, `seq`, `deleted`), values of the
/// column's type (null only where nullable), and on an insert every required column.
pub fn check_mutation(schema: &Schema, m: &Mutation) -> Result<CheckedMutation, FeedError> {
    let bad = |message: String| FeedError::InvalidPush {
        mutation_id: Some(m.mutation_id),
        message: format!("mutation {} ({} `{}` `{}`): {message}", m.mutation_id, op_name(m.op), m.collection, m.id),
    };
    let Some(collection) = schema.collection(&m.collection) else {
        return Err(bad("no such collection (see GET /schema)".into()));
    };
    if !collection.writable {
        return Err(bad("the collection is read-only: the schema does not mark it writable".into()));
    }
    if m.id.is_empty() {
        return Err(bad("empty id".into()));
    }
    if m.op == MutationOp::Delete && !m.fields.is_empty() {
        return Err(bad("a delete carries no fields".into()));
    }
    let mut fields = BTreeMap::new();
    for (name, json) in &m.fields {
        if RESERVED_COLUMNS.contains(&name.as_str()) {
            return Err(bad(format!("`{name}` is set by the server and cannot be written")));
        }
        let Some(column) = collection.column_index(name).map(|i| &collection.columns[i]) else {
            return Err(bad(format!("unknown field `{name}` (the columns are {})", column_names(collection))));
        };
        let value = crate::wire::typed_value(column.ty, json)
            .map_err(|got| bad(format!("`{name}` should be {:?}, got {got}", column.ty)))?;
        fields.insert(name.clone(), value);
    }
    check_fields(collection, m.op, &fields).map_err(bad)?;
    Ok(CheckedMutation {
        mutation_id: m.mutation_id,
        collection: m.collection.clone(),
        id: m.id.clone(),
        op: m.op,
        fields,
    })
}

/// Checks typed fields against their columns: declared, of the right type, null only where nullable, and on an
/// insert every required column given. Also what a hook's rewrite must pass.
pub(crate) fn check_fields(
    collection: &Collection,
    op: MutationOp,
    fields: &BTreeMap<String, Value>,
) -> Result<(), String> {
    for (name, value) in fields {
        let Some(column) = collection.column_index(name).map(|i| &collection.columns[i]) else {
            return Err(format!("unknown field `{name}` (the columns are {})", column_names(collection)));
        };
        if !fits(column, value) {
            let what = if *value == Value::Null {
                "is required and cannot be null".into()
            } else {
                format!("cannot hold {value:?}")
            };
            return Err(format!("`{name}` ({:?}) {what}", column.ty));
        }
    }
    if op == MutationOp::Insert
        && let Some(missing) = collection.columns.iter().find(|c| !c.nullable && !fields.contains_key(&c.name))
    {
        return Err(format!("`{}` is required on insert", missing.name));
    }
    Ok(())
}

fn column_names(collection: &Collection) -> String {
    collection.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn op_name(op: MutationOp) -> &'static str {
    match op {
        MutationOp::Insert => "insert",
        MutationOp::Update => "update",
        MutationOp::Delete => "delete",
    }
}
