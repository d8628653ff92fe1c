//! Row-for-row comparison of a client replica with the server's source of truth (PROTOCOL.md invariant 1).

use std::collections::BTreeSet;

use crate::feed::ServerStore;
use crate::page::StoredRow;
use crate::schema::Schema;
use crate::store::ClientStore;
use crate::value::Value;

const CHUNK: usize = 2_000;

/// The result of comparing one scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verification {
    /// Live rows compared, per collection, in schema order.
    pub compared: Vec<(String, u64)>,
    /// The first differences found (at most 20), described for a human.
    pub differences: Vec<String>,
}

impl Verification {
    /// True when client and server hold the same rows with the same values.
    pub fn is_exact(&self) -> bool {
        self.differences.is_empty()
    }

    /// Rows compared over all collections.
    pub fn rows(&self) -> u64 {
        self.compared.iter().map(|(_, n)| n).sum()
    }
}

/// Compares every collection of `scope`: same ids, same values (seqs are not compared: a row that reached its
/// current values through a different history is still the same row). Values are compared as the wire carries
/// them (see `same_value`). Streams both sides in id order.
pub async fn verify_scope(
    schema: &Schema,
    scope: &str,
    client: &dyn ClientStore,
    server: &dyn ServerStore,
) -> Result<Verification, String> {
    verify_subset(schema, scope, client, server, None).await
}

/// [`verify_scope`] for a client subscribed to the filter values `values` (selective sync): in each collection
/// that declares a filter column, the client must hold exactly the server's live rows whose filter value is one
/// of `values`; collections without one are compared whole. `None`: every row (as [`verify_scope`]).
pub async fn verify_subset(
    schema: &Schema,
    scope: &str,
    client: &dyn ClientStore,
    server: &dyn ServerStore,
    values: Option<&BTreeSet<String>>,
) -> Result<Verification, String> {
    let mut result = Verification::default();
    for collection in &schema.collections {
        let name = collection.name.as_str();
        let keep = |row: &StoredRow| match (values, collection.filter.as_deref()) {
            (Some(values), Some("id")) => values.contains(&row.id),
            (Some(values), Some(column)) => match collection.column_index(column).map(|i| &row.values[i]) {
                Some(Value::Text(value)) => values.contains(value),
                _ => false,
            },
            _ => true,
        };
        let (mut client_after, mut server_after): (Option<String>, Option<String>) = (None, None);
        let (mut c_rows, mut s_rows): (Vec<StoredRow>, Vec<StoredRow>) = (vec![], vec![]);
        let (mut ci, mut si, mut compared) = (0, 0, 0u64);
        loop {
            if ci == c_rows.len() {
                c_rows =
                    client.read_rows(scope, name, client_after.as_deref(), CHUNK).await.map_err(|e| e.to_string())?;
                ci = 0;
                client_after = c_rows.last().map(|r| r.id.clone()).or(client_after);
            }
            if si == s_rows.len() {
                s_rows =
                    server.read_rows(scope, name, server_after.as_deref(), CHUNK).await.map_err(|e| e.to_string())?;
                si = 0;
                server_after = s_rows.last().map(|r| r.id.clone()).or(server_after);
                let more = !s_rows.is_empty();
                s_rows.retain(|row| keep(row));
                if s_rows.is_empty() && more {
                    continue;
                }
            }
            let (c, s) = (c_rows.get(ci), s_rows.get(si));
            let note = match (c, s) {
                (None, None) => break,
                (Some(c), Some(s)) if c.id == s.id => {
                    ci += 1;
                    si += 1;
                    compared += 1;
                    (!same_values(&c.values, &s.values))
                        .then(|| format!("{name} {}: client has {:?}, server has {:?}", c.id, c.values, s.values))
                }
                (Some(c), s) if s.is_none_or(|s| c.id < s.id) => {
                    ci += 1;
                    Some(format!("{name} {}: on the client, not on the server", c.id))
                }
                (_, Some(s)) => {
                    si += 1;
                    Some(format!("{name} {}: on the server, missing on the client", s.id))
                }
                (Some(_), None) => unreachable!("covered by the arm above"),
            };
            if let Some(note) = note
                && result.differences.len() < 20
            {
                result.differences.push(note);
            }
        }
        result.compared.push((name.to_owned(), compared));
    }
    Ok(result)
}

/// Whether two rows' values are the same as far as the wire protocol can tell (see `same_value`: JSON compared
/// as JSON values, a real column's integer equal to its float), as [`verify_scope`] compares them.
pub fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
}

/// Whether two values of one column are the same value as far as the wire protocol can tell. A JSON column
/// travels as a JSON value, not as its text: whitespace and key order are not kept (PostgreSQL's JSONB keeps
/// neither either), and a JSON `null` arrives as a null column. A real column travels as a JSON number, so a
/// server holding `Integer(3)` in it and a client holding `Real(3.0)` agree.
fn same_value(a: &Value, b: &Value) -> bool {
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    match (a, b) {
        (Value::Json(x), Value::Json(y)) => x == y || json(x).is_some_and(|x| json(y) == Some(x)),
        (Value::Json(x), Value::Null) | (Value::Null, Value::Json(x)) => json(x) == Some(serde_json::Value::Null),
        (Value::Real(x), Value::Integer(n)) | (Value::Integer(n), Value::Real(x)) => *x == *n as f64,
        _ => a == b,
    }
}
