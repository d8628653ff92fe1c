//! Local writes on the client: what an app asks for, what the outbox holds, and how a row's visible state is
//! computed from the server's version and the pending mutations (the overlay every client store implements).
//!
//! A store keeps, for each row with mutations in its outbox, the last version the server sent (the *server
//! version*, possibly "no row") beside the visible row. The visible row is always the server version with the
//! outbox's mutations of that row applied on top, in mutation id order ([`fold`]). A pulled page updates the
//! server version of such a row and computes the visible row again, so a pull never undoes a pending write.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::mutation::{Mutation, MutationOp};
use crate::schema::Collection;
use crate::value::Value;

/// A local write as an app asks for it; the store gives it its mutation id and `base_seq`.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalWrite {
    /// A collection the schema marks writable.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// Insert, update or delete.
    pub op: MutationOp,
    /// Column name → value, as in a page row (timestamps as Unix ms); empty for a delete.
    pub fields: BTreeMap<String, Json>,
}

/// Where an outbox entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteState {
    /// Not acknowledged by the server yet ("sending…").
    Pending,
    /// Acknowledged with this seq ("sent"); it leaves the outbox once the pull has brought that seq.
    Acknowledged {
        /// The seq of its change (an upper bound for a retried push).
        seq: i64,
    },
}

/// One entry of the outbox, for an app's "pending writes" view.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingWrite {
    /// The mutation as it is pushed.
    pub mutation: Mutation,
    /// Pending or acknowledged.
    pub state: WriteState,
}

/// A row of a collection that a store changed outside a page (a local write, a rollback, a settled mutation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TouchedRow {
    /// The collection.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// Whether the row is visible now (false: it was deleted or never existed).
    pub exists: bool,
}

/// Applies one mutation to a row's state (`None`: no row), per the documented policy: an insert creates the row
/// with the given fields (the others null) or, on a live row, changes the given fields; an update changes the
/// given fields of a live row and leaves a missing one missing (the server rejects it); a delete removes it.
pub fn apply_mutation(
    collection: &Collection,
    row: Option<Vec<Value>>,
    op: MutationOp,
    fields: &BTreeMap<String, Json>,
) -> Result<Option<Vec<Value>>, String> {
    let mut values = match (op, row) {
        (MutationOp::Delete, _) | (MutationOp::Update, None) => return Ok(None),
        (MutationOp::Insert, None) => vec![Value::Null; collection.columns.len()],
        (_, Some(values)) => values,
    };
    for (name, json) in fields {
        let index =
            collection.column_index(name).ok_or_else(|| format!("`{}` has no column `{name}`", collection.name))?;
        values[index] = decode_value(collection, index, json)?;
    }
    if let Some(column) = collection.columns.iter().zip(&values).find(|(c, v)| !c.nullable && **v == Value::Null) {
        return Err(format!("`{}.{}` is required: give it a value", collection.name, column.0.name));
    }
    Ok(Some(values))
}

/// The visible state of a row: `server` with `mutations` applied in order. A mutation that no longer fits the
/// schema is skipped (it was checked when it was written).
pub fn fold<'a>(
    collection: &Collection,
    server: Option<Vec<Value>>,
    mutations: impl IntoIterator<Item = &'a Mutation>,
) -> Option<Vec<Value>> {
    mutations.into_iter().fold(server, |row, m| {
        let before = row.clone();
        apply_mutation(collection, row, m.op, &m.fields).unwrap_or(before)
    })
}

/// Decodes a field's JSON as the value of column `index`, as a page row's field is decoded.
pub fn decode_value(collection: &Collection, index: usize, json: &Json) -> Result<Value, String> {
    let column = &collection.columns[index];
    let value = crate::wire::typed_value(column.ty, json)
        .map_err(|got| format!("`{}.{}` should be {:?}, got {got}", collection.name, column.name, column.ty))?;
    if value == Value::Null && !column.nullable {
        return Err(format!("`{}.{}` is required and cannot be null", collection.name, column.name));
    }
    Ok(value)
}

/// A row's values as a JSON object keyed by column (the encoding of a page row), for a store that keeps server
/// versions as text.
pub fn values_to_json(collection: &Collection, values: &[Value]) -> Json {
    let object = collection.columns.iter().zip(values).map(|(c, v)| (c.name.clone(), value_to_json(v)));
    Json::Object(object.collect())
}

/// The inverse of [`values_to_json`].
pub fn values_from_json(collection: &Collection, json: &Json) -> Result<Vec<Value>, String> {
    let null = Json::Null;
    (0..collection.columns.len())
        .map(|i| {
            let field = json.get(&collection.columns[i].name).unwrap_or(&null);
            crate::wire::typed_value(collection.columns[i].ty, field)
        })
        .collect()
}

/// One value as JSON, as it travels in a page.
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(n) => Json::from(*n),
        Value::Real(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Json(text) => serde_json::from_str(text).unwrap_or(Json::Null),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{Column, ColumnType};

    fn notes() -> Collection {
        Collection::new(
            "notes",
            vec![
                Column::new("body", ColumnType::Text).required(),
                Column::new("pinned", ColumnType::Boolean),
                Column::new("at", ColumnType::Timestamp),
            ],
        )
        .writable()
    }

    fn fields(pairs: &[(&str, Json)]) -> BTreeMap<String, Json> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn mutation(id: u64, op: MutationOp, f: &[(&str, Json)]) -> Mutation {
        Mutation { mutation_id: id, collection: "notes".into(), id: "n".into(), op, fields: fields(f), base_seq: None }
    }

    #[test]
    fn the_policy_on_one_row() {
        let c = notes();
        let inserted = apply_mutation(&c, None, MutationOp::Insert, &fields(&[("body", json!("hi"))]))
            .expect("the mutation applies");
        assert_eq!(inserted, Some(vec![Value::from("hi"), Value::Null, Value::Null]));
        let patched = apply_mutation(&c, inserted, MutationOp::Update, &fields(&[("pinned", json!(true))]))
            .expect("the mutation applies");
        assert_eq!(patched, Some(vec![Value::from("hi"), Value::Bool(true), Value::Null]));
        let reinsert = apply_mutation(&c, patched, MutationOp::Insert, &fields(&[("at", json!(5))]))
            .expect("the mutation applies");
        assert_eq!(reinsert, Some(vec![Value::from("hi"), Value::Bool(true), Value::Integer(5)]), "insert = patch");
        assert_eq!(
            apply_mutation(&c, None, MutationOp::Update, &fields(&[("at", json!(1))])).expect("the mutation applies"),
            None
        );
        assert_eq!(
            apply_mutation(&c, reinsert, MutationOp::Delete, &BTreeMap::new()).expect("the mutation applies"),
            None
        );
        assert!(apply_mutation(&c, None, MutationOp::Insert, &fields(&[("nope", json!(1))])).is_err());
        assert!(apply_mutation(&c, None, MutationOp::Insert, &fields(&[("at", json!("x"))])).is_err());
        assert!(apply_mutation(&c, None, MutationOp::Insert, &fields(&[("body", Json::Null)])).is_err());
    }

    #[test]
    fn fold_applies_in_order_on_the_server_version() {
        let c = notes();
        let server = Some(vec![Value::from("server"), Value::Bool(false), Value::Integer(1)]);
        let pending = [
            mutation(1, MutationOp::Update, &[("body", json!("mine"))]),
            mutation(2, MutationOp::Update, &[("at", json!(9))]),
        ];
        assert_eq!(fold(&c, server, &pending), Some(vec![Value::from("mine"), Value::Bool(false), Value::Integer(9)]));
        let deleted = [mutation(3, MutationOp::Delete, &[]), mutation(4, MutationOp::Update, &[("at", json!(2))])];
        assert_eq!(fold(&c, Some(vec![Value::from("x"), Value::Null, Value::Null]), &deleted), None);
    }

    #[test]
    fn values_round_trip_through_json() {
        let c = notes();
        let values = vec![Value::from("naïve \"q\""), Value::Bool(true), Value::Integer(-3)];
        assert_eq!(values_from_json(&c, &values_to_json(&c, &values)).expect("values round-trip"), values);
    }
}
