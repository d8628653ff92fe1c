//! Local writes in the replica: the outbox (`sync_outbox`), the kept server versions (`sync_shadow`) and the
//! visible rows computed from both (sync-core's `outbox.rs` has the model).
//!
//! Every function here runs inside a transaction the caller opened; a failure rolls all of it back.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sync_core::outbox::{self, LocalWrite, PendingWrite, TouchedRow, WriteState};
use sync_core::{Change, Collection, Mutation, MutationOp, MutationOutcome, MutationResult, Row, StoreError, Value};

use super::{ClientDb, Prepared, now_ms};
use crate::convert;
use crate::sql::{self, ClientSql};

/// A collection and its statements.
pub(super) type Table<'a> = (&'a Collection, &'a ClientSql);

/// A failure of an outbox statement, or a stored value that no longer decodes.
type Result<T> = std::result::Result<T, rusqlite::Error>;

fn corrupt(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

fn op_name(op: MutationOp) -> &'static str {
    match op {
        MutationOp::Insert => "insert",
        MutationOp::Update => "update",
        MutationOp::Delete => "delete",
    }
}

fn parse_op(name: &str) -> Result<MutationOp> {
    match name {
        "insert" => Ok(MutationOp::Insert),
        "update" => Ok(MutationOp::Update),
        "delete" => Ok(MutationOp::Delete),
        other => Err(corrupt(format!("unknown outbox op `{other}`"))),
    }
}

/// Reads the outbox entries a statement of `sql::outbox_select!` selects.
fn read_entries(conn: &Connection, statement: &str, binds: impl rusqlite::Params) -> Result<Vec<PendingWrite>> {
    let mut stmt = conn.prepare_cached(statement)?;
    let rows = stmt.query_map(binds, |row| {
        let fields: String = row.get(4)?;
        let fields: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&fields).map_err(|e| corrupt(format!("outbox fields: {e}")))?;
        let ack: Option<i64> = row.get(6)?;
        let mutation = Mutation {
            mutation_id: row.get::<_, i64>(0)?.unsigned_abs(),
            collection: row.get(1)?,
            id: row.get(2)?,
            op: parse_op(&row.get::<_, String>(3)?)?,
            fields,
            base_seq: row.get(5)?,
        };
        Ok(PendingWrite { mutation, state: ack.map_or(WriteState::Pending, |seq| WriteState::Acknowledged { seq }) })
    })?;
    rows.collect()
}

/// The visible row: its seq and values, or `None`.
fn visible(conn: &Connection, scope: &str, (c, sql): Table<'_>, id: &str) -> Result<Option<(i64, Vec<Value>)>> {
    let mut stmt = conn.prepare_cached(&sql.get)?;
    stmt.query_row(params![scope, id], |row| {
        let values = c.columns.iter().enumerate().map(|(i, column)| convert::read_value(row, i + 1, column));
        Ok((row.get(0)?, values.collect::<Result<Vec<Value>>>()?))
    })
    .optional()
}

/// Replaces the visible row (`None` deletes it); its seq is the kept server version's.
fn write_visible(
    conn: &Connection,
    scope: &str,
    (c, sql): Table<'_>,
    id: &str,
    seq: i64,
    row: Option<&[Value]>,
) -> Result<()> {
    conn.prepare_cached(&sql.delete)?.execute(params![scope, id, i64::MAX])?;
    let Some(values) = row else { return Ok(()) };
    let mut upsert = conn.prepare_cached(&sql.upsert)?;
    upsert.raw_bind_parameter(1, id)?;
    upsert.raw_bind_parameter(2, scope)?;
    upsert.raw_bind_parameter(3, seq)?;
    convert::bind_values(&mut upsert, 4, &c.columns, values)?;
    upsert.raw_execute().map(drop)
}

/// The kept server version of a row: seq (0: never seen) and values, or `None` when none is kept.
fn shadow(conn: &Connection, scope: &str, c: &Collection, id: &str) -> Result<Option<(i64, Option<Vec<Value>>)>> {
    let mut stmt = conn.prepare_cached(sql::SHADOW)?;
    let found = stmt.query_row(params![scope, c.name, id], |row| Ok((row.get(0)?, row.get::<_, Option<String>>(1)?)));
    let Some((seq, text)) = found.optional()? else { return Ok(None) };
    let values = match text {
        None => None,
        Some(text) => {
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
            Some(outbox::values_from_json(c, &json).map_err(corrupt)?)
        }
    };
    Ok(Some((seq, values)))
}

fn save_shadow(
    conn: &Connection,
    scope: &str,
    c: &Collection,
    id: &str,
    seq: i64,
    row: Option<&[Value]>,
) -> Result<()> {
    let text = row.map(|values| outbox::values_to_json(c, values).to_string());
    conn.prepare_cached(sql::SAVE_SHADOW)?.execute(params![scope, c.name, id, seq, text]).map(drop)
}

/// Computes a row's visible state again: the kept server version with the row's remaining outbox entries on top.
/// With none left, the server version becomes the row and is no longer kept.
pub(super) fn refresh(conn: &Connection, scope: &str, table: Table<'_>, id: &str) -> Result<TouchedRow> {
    let c = table.0;
    let remaining = read_entries(conn, sql::OUTBOX_OF_ROW, params![scope, c.name, id])?;
    let (seq, server) = shadow(conn, scope, c, id)?.unwrap_or((0, None));
    if remaining.is_empty() {
        conn.prepare_cached(sql::DROP_SHADOW)?.execute(params![scope, c.name, id])?;
    }
    let row = outbox::fold(c, server, remaining.iter().map(|w| &w.mutation));
    write_visible(conn, scope, table, id, seq, row.as_deref())?;
    Ok(TouchedRow { collection: c.name.clone(), id: id.to_owned(), exists: row.is_some() })
}

/// A pulled row of a collection that may hold rows with local writes. Returns false for a row without any (the
/// caller applies it as usual); otherwise keeps the newer server version and computes the visible row again.
pub(super) fn apply_server_row(conn: &Connection, scope: &str, table: Table<'_>, row: &Row) -> Result<bool> {
    if shadow(conn, scope, table.0, &row.id)?.is_none() {
        return Ok(false);
    }
    let values = match &row.change {
        Change::Upsert(values) => Some(values.as_slice()),
        Change::Delete => None,
    };
    save_shadow(conn, scope, table.0, &row.id, row.seq, values)?;
    refresh(conn, scope, table, &row.id)?;
    Ok(true)
}

/// Drops the acknowledged entries of the collection whose seq the cursor has reached.
pub(super) fn settle_by_cursor(conn: &Connection, scope: &str, table: Table<'_>, cursor: i64) -> Result<()> {
    let ids: Vec<String> = conn
        .prepare_cached(sql::SETTLE_BY_CURSOR)?
        .query_map(params![scope, table.0.name, cursor], |row| row.get(0))?
        .collect::<Result<_>>()?;
    for id in dedup(ids) {
        refresh(conn, scope, table, &id)?;
    }
    Ok(())
}

/// After a reset deleted the scope's rows: every kept server version is "no row" until pages bring it again.
pub(super) fn reset(conn: &Connection, scope: &str, prepared: &Prepared) -> Result<()> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached(sql::RESET_SHADOWS)?
        .query_map([scope], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_>>()?;
    refresh_rows(conn, scope, prepared, rows).map(drop)
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn refresh_rows(
    conn: &Connection,
    scope: &str,
    prepared: &Prepared,
    rows: Vec<(String, String)>,
) -> Result<Vec<TouchedRow>> {
    let mut touched = Vec::new();
    for (collection, id) in dedup(rows) {
        // A collection the schema dropped has no table to show the row in.
        let Ok(table) = prepared.collection(&collection) else { continue };
        touched.push(refresh(conn, scope, table, &id)?);
    }
    Ok(touched)
}

impl ClientDb {
    fn writing<R>(
        &mut self,
        what: &str,
        job: impl FnOnce(&Connection, &Prepared) -> std::result::Result<R, StoreError>,
    ) -> std::result::Result<R, StoreError> {
        self.flush()?;
        let context = self.context(what);
        let ClientDb { conn, prepared, .. } = self;
        let prepared = prepared
            .as_ref()
            .ok_or_else(|| StoreError::Schema("the store has no schema yet: prepare it first".into()))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::backend(&context, e))?;
        let out = job(&tx, prepared)?;
        tx.commit().map_err(|e| StoreError::backend(&context, e))?;
        Ok(out)
    }

    /// Which (scope, collection) pairs hold kept server versions, so that pages of the others skip the lookup.
    /// A failure keeps every collection on the careful path. Local writes add their pair; pages may drop kept
    /// versions without updating the set (a superset is only slower), acknowledgements reload it.
    pub(super) fn load_shadowed(&mut self) {
        let read = || -> Result<Vec<(String, String)>> {
            let mut stmt = self.conn.prepare_cached(sql::SHADOWED)?;
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect()
        };
        self.shadowed = read().ok().map(|pairs| pairs.into_iter().collect());
    }

    pub(in crate::client) fn client_id(&mut self) -> std::result::Result<String, StoreError> {
        let read =
            self.conn.prepare_cached(sql::CLIENT_ID).and_then(|mut s| s.query_row([], |row| row.get::<_, String>(0)));
        read.map_err(|e| StoreError::backend(self.context("reading the client id"), e))
    }

    pub(in crate::client) fn mutate(
        &mut self,
        scope: &str,
        write: LocalWrite,
    ) -> std::result::Result<Mutation, StoreError> {
        let context = self.context(&format!("writing `{}` row {:?} locally", write.collection, write.id));
        let pair = (scope.to_owned(), write.collection.clone());
        let mutation = self.writing("a local write", |tx, prepared| {
            let table = prepared.collection(&write.collection)?;
            let fail = |e| StoreError::backend(&context, e);
            let current = visible(tx, scope, table, &write.id).map_err(fail)?;
            let next =
                outbox::apply_mutation(table.0, current.as_ref().map(|(_, v)| v.clone()), write.op, &write.fields)
                    .map_err(StoreError::InvalidWrite)?;
            if shadow(tx, scope, table.0, &write.id).map_err(fail)?.is_none() {
                let (seq, values) = current.as_ref().map_or((0, None), |(seq, v)| (*seq, Some(v.as_slice())));
                save_shadow(tx, scope, table.0, &write.id, seq, values).map_err(fail)?;
            }
            let mutation_id: i64 = tx
                .prepare_cached(sql::NEXT_MUTATION_ID)
                .and_then(|mut s| s.query_row([], |row| row.get::<_, i64>(0)))
                .map_err(fail)?;
            let fields = serde_json::to_string(&write.fields).map_err(|e| StoreError::InvalidWrite(e.to_string()))?;
            // A row only written locally so far has seq 0: the server has not seen it.
            let base_seq = current.as_ref().map(|(seq, _)| *seq).filter(|seq| *seq > 0);
            tx.prepare_cached(sql::INSERT_OUTBOX)
                .and_then(|mut s| {
                    s.execute(params![
                        mutation_id,
                        scope,
                        write.collection,
                        write.id,
                        op_name(write.op),
                        fields,
                        base_seq,
                        now_ms()
                    ])
                })
                .map_err(fail)?;
            let seq = shadow(tx, scope, table.0, &write.id).map_err(fail)?.map_or(0, |(seq, _)| seq);
            write_visible(tx, scope, table, &write.id, seq, next.as_deref()).map_err(fail)?;
            Ok(Mutation {
                mutation_id: mutation_id.unsigned_abs(),
                collection: write.collection,
                id: write.id,
                op: write.op,
                fields: write.fields,
                base_seq,
            })
        })?;
        if let Some(pairs) = &mut self.shadowed {
            pairs.insert(pair);
        }
        Ok(mutation)
    }

    pub(in crate::client) fn outbox(
        &mut self,
        scope: &str,
        limit: usize,
    ) -> std::result::Result<Vec<Mutation>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let entries = read_entries(&self.conn, sql::OUTBOX_PENDING, params![scope, limit]);
        let entries = entries.map_err(|e| StoreError::backend(self.context("reading the outbox"), e))?;
        Ok(entries.into_iter().map(|w| w.mutation).collect())
    }

    pub(in crate::client) fn pending_writes(
        &mut self,
        scope: &str,
    ) -> std::result::Result<Vec<PendingWrite>, StoreError> {
        read_entries(&self.conn, sql::OUTBOX_ALL, [scope])
            .map_err(|e| StoreError::backend(self.context("reading the outbox"), e))
    }

    pub(in crate::client) fn acknowledge(
        &mut self,
        scope: &str,
        results: &[MutationResult],
    ) -> std::result::Result<Vec<TouchedRow>, StoreError> {
        let context = self.context("recording a push's results");
        self.writing("recording a push's results", |tx, prepared| {
            let run = || -> Result<Vec<TouchedRow>> {
                let mut gone = Vec::new();
                for result in results {
                    // Ids are given out from 1 by this store: one above i64::MAX matches no entry.
                    let id = i64::try_from(result.mutation_id).unwrap_or(-1);
                    let row = |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?));
                    match &result.outcome {
                        MutationOutcome::Applied { seq: Some(seq) } | MutationOutcome::AlreadyApplied { seq } => {
                            tx.prepare_cached(sql::ACK_OUTBOX)?.query_row(params![seq, id, scope], row).optional()?;
                        }
                        MutationOutcome::Applied { seq: None } | MutationOutcome::Rejected { .. } => {
                            gone.extend(
                                tx.prepare_cached(sql::DROP_OUTBOX)?.query_row(params![id, scope], row).optional()?,
                            );
                        }
                    }
                }
                refresh_rows(tx, scope, prepared, gone)
            };
            run().map_err(|e| StoreError::backend(&context, e))
        })
        .inspect(|_| self.load_shadowed())
    }

    pub(in crate::client) fn settle(
        &mut self,
        scope: &str,
        through: u64,
    ) -> std::result::Result<Vec<TouchedRow>, StoreError> {
        let context = self.context("settling acknowledged writes");
        self.writing("settling acknowledged writes", |tx, prepared| {
            let run = || -> Result<Vec<TouchedRow>> {
                let through = i64::try_from(through).unwrap_or(i64::MAX);
                let rows: Vec<(String, String)> = tx
                    .prepare_cached(sql::SETTLE_OUTBOX)?
                    .query_map(params![scope, through], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<_>>()?;
                refresh_rows(tx, scope, prepared, rows)
            };
            run().map_err(|e| StoreError::backend(&context, e))
        })
        .inspect(|_| self.load_shadowed())
    }
}
