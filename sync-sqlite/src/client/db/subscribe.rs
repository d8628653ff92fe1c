//! Subscriptions in the replica (sync-core's `subscription.rs` has the model): the scope's mode, its values and
//! their cursors (`migrations/client/003_subscriptions.sql`), evictions, and the apply of filtered pages and of
//! rows that move no cursor (heads).

use std::collections::{BTreeMap, HashSet};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sync_core::{ApplyOutcome, Page, Row, StoreError, SubscribedValue, Subscription, SubscriptionChange};

use super::{ClientDb, Prepared, defer_indexes, is_empty, now_ms, repair, unprepared, write_rows};
use crate::sql::{self, ClientFilterSql};

type Result<T> = rusqlite::Result<T>;

/// The subscription of `scope` as the file holds it.
fn read(conn: &Connection, scope: &str) -> Result<Subscription> {
    let selective = conn.prepare_cached(sql::IS_SELECTIVE)?.query_row([scope], |_| Ok(())).optional()?.is_some();
    if !selective {
        return Ok(Subscription::default());
    }
    let mut values: BTreeMap<String, SubscribedValue> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(sql::SUBSCRIPTIONS)?;
    for row in stmt.query_map([scope], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)))? {
        let (value, archived) = row?;
        values.insert(value.clone(), SubscribedValue { value, archived, cursors: BTreeMap::new() });
    }
    let mut stmt = conn.prepare_cached(sql::VALUE_CURSORS)?;
    let rows = stmt.query_map([scope], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get(2)?)))?;
    for row in rows {
        let (collection, value, cursor) = row?;
        if let Some(subscribed) = values.get_mut(&value) {
            subscribed.cursors.insert(collection, cursor);
        }
    }
    Ok(Subscription { values: Some(values.into_values().collect()) })
}

/// The filtered collections of the prepared schema with their statements.
fn filtered(prepared: &Prepared) -> impl Iterator<Item = (&str, &ClientFilterSql, &sql::ClientSql)> {
    prepared.schema.collections.iter().filter_map(|c| {
        let sql = prepared.sql.get(&c.name)?;
        Some((c.name.as_str(), sql.filter.as_ref()?, sql))
    })
}

/// Applies `change` (already checked) in the open transaction.
fn change(
    conn: &Connection,
    scope: &str,
    prepared: &Prepared,
    change: &SubscriptionChange,
    current: &Subscription,
) -> Result<()> {
    let set = |value: &str, archived: bool| {
        conn.prepare_cached(sql::SET_SUBSCRIPTION)?.execute(params![scope, value, archived]).map(drop)
    };
    match change {
        SubscriptionChange::Subscribe(values) if current.is_everything() => {
            // Every row of these values is held up to the collection's cursor: that is their cursor now.
            conn.prepare_cached(sql::SET_SELECTIVE)?.execute([scope])?;
            let kept = serde_json::to_string(values).expect("strings serialise");
            for (collection, filter, _) in filtered(prepared) {
                let cursor: i64 = conn
                    .prepare_cached(sql::CURSOR)?
                    .query_row(params![scope, collection], |row| row.get(0))
                    .optional()?
                    .unwrap_or(0);
                conn.prepare_cached(&filter.evict_others)?.execute(params![scope, kept])?;
                conn.prepare_cached(sql::DELETE_CURSOR)?.execute(params![scope, collection])?;
                for value in values.iter().filter(|_| cursor > 0) {
                    let mut save = conn.prepare_cached(sql::SAVE_VALUE_CURSOR)?;
                    save.execute(params![scope, collection, value, cursor, now_ms()])?;
                }
            }
            values.iter().try_for_each(|value| set(value, false))
        }
        SubscriptionChange::Subscribe(values) | SubscriptionChange::Unarchive(values) => {
            values.iter().try_for_each(|value| set(value, false))
        }
        SubscriptionChange::Archive(values) => values.iter().try_for_each(|value| set(value, true)),
        SubscriptionChange::Unsubscribe(values) => {
            for value in values {
                for (_, filter, _) in filtered(prepared) {
                    conn.prepare_cached(&filter.evict)?.execute(params![scope, value])?;
                }
                conn.prepare_cached(sql::DROP_VALUE_CURSORS)?.execute(params![scope, value])?;
                conn.prepare_cached(sql::DROP_SUBSCRIPTION)?.execute(params![scope, value])?;
            }
            Ok(())
        }
        SubscriptionChange::Everything if current.is_everything() => Ok(()),
        SubscriptionChange::Everything => {
            for (collection, _, sql) in filtered(prepared) {
                conn.prepare_cached(&sql.reset)?.execute([scope])?;
                conn.prepare_cached(sql::DELETE_CURSOR)?.execute(params![scope, collection])?;
            }
            conn.prepare_cached(sql::DROP_ALL_VALUE_CURSORS)?.execute([scope])?;
            conn.prepare_cached(sql::DROP_SUBSCRIPTIONS)?.execute([scope])?;
            conn.prepare_cached(sql::DROP_SELECTIVE)?.execute([scope]).map(drop)
        }
    }
}

impl ClientDb {
    pub(in crate::client) fn subscription(&mut self, scope: &str) -> std::result::Result<Subscription, StoreError> {
        read(&self.conn, scope).map_err(|e| StoreError::backend(self.context("reading the subscription"), e))
    }

    /// One `BEGIN IMMEDIATE` transaction: the subscription's tables, the evictions and the cursors.
    pub(in crate::client) fn change_subscription(
        &mut self,
        scope: &str,
        request: SubscriptionChange,
    ) -> std::result::Result<Subscription, StoreError> {
        self.flush()?;
        let current = self.subscription(scope)?;
        request.check(&current).map_err(StoreError::InvalidSubscription)?;
        let context = self.context(&format!("changing the subscription of {scope:?}"));
        let ClientDb { conn, prepared, deferred, .. } = self;
        if let Some(prepared) = prepared.as_ref().filter(|_| !deferred.is_empty()) {
            // An initial sync stopped before its last page left indexes and full-text triggers dropped, which a
            // filtered pull never builds again (and evictions need): build them now.
            repair(conn, prepared).map_err(|e| StoreError::backend(context.clone(), e))?;
            deferred.clear();
        }
        let prepared = prepared.as_ref().ok_or_else(|| unprepared("(any: prepare the store first)"))?;
        let mut run = || -> Result<Subscription> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            change(&tx, scope, prepared, &request, &current)?;
            let subscription = read(&tx, scope)?;
            tx.commit()?;
            Ok(subscription)
        };
        run().map_err(|e| StoreError::backend(context, e))
    }

    /// Applies a filtered page in one `BEGIN IMMEDIATE` transaction (never held: the table holds other values'
    /// rows, so its indexes stay).
    pub(in crate::client) fn apply_filtered_page(
        &mut self,
        scope: &str,
        values: &[String],
        page: &Page,
    ) -> std::result::Result<ApplyOutcome, StoreError> {
        self.flush()?;
        self.begin()?;
        let outcome = self.apply_filtered(scope, values, page).inspect_err(|_| self.rollback())?;
        self.flush().map(|()| outcome)
    }

    /// Applies rows that move no cursor (a head) in one `BEGIN IMMEDIATE` transaction.
    pub(in crate::client) fn apply_rows(
        &mut self,
        scope: &str,
        page: &Page,
    ) -> std::result::Result<ApplyOutcome, StoreError> {
        self.flush()?;
        self.begin()?;
        let outcome = self.apply_loose(scope, page, false).inspect_err(|_| self.rollback())?;
        self.flush().map(|()| outcome)
    }

    /// Applies the head of a recent-first sync from scratch (see `ClientStore::apply_rows_held`): into an empty
    /// table at cursor 0 of a scope that syncs everything, the first head defers the table's indexes but the one
    /// that reads a conversation's rows, and heads join the held transaction (committed at the limits of
    /// [`SqliteOptions`](super::SqliteOptions) and at `flush`), which the pull's pages then join too; the pull's
    /// last page builds the indexes (`ClientDb::apply`). Otherwise as [`ClientDb::apply_rows`].
    pub(in crate::client) fn apply_rows_held(
        &mut self,
        scope: &str,
        page: &Page,
    ) -> std::result::Result<ApplyOutcome, StoreError> {
        self.begin()?;
        let outcome = self.apply_loose(scope, page, true).inspect_err(|_| self.rollback())?;
        let limits = &self.options;
        let due = self.held.as_mut().is_some_and(|held| {
            held.rows += page.rows.len() as u64;
            held.rows >= limits.held_commit_rows || held.since.elapsed() >= limits.held_commit_age
        });
        if due || !self.deferred.contains(&page.collection) {
            self.flush()?;
        }
        Ok(outcome)
    }

    /// Applies rows that move no cursor in the open transaction, deferring the table's indexes first when
    /// `from_scratch` allows it and the store's own check agrees; the caller rolls back on error.
    fn apply_loose(
        &mut self,
        scope: &str,
        page: &Page,
        from_scratch: bool,
    ) -> std::result::Result<ApplyOutcome, StoreError> {
        let overlay = self.overlay(scope, &page.collection);
        let ClientDb { conn, path, prepared, deferred, held, .. } = self;
        let (tx, path) = (&*conn, path.as_path());
        let table = prepared.as_ref().ok_or_else(|| unprepared(&page.collection))?.collection(&page.collection)?;
        let fail =
            |e| StoreError::backend(format!("applying a head of `{}` in {}", page.collection, path.display()), e);
        let defer = from_scratch
            && !page.rows.is_empty()
            && !deferred.contains(&page.collection)
            && fills_from_scratch(tx, scope, &page.collection, table.1).map_err(fail)?;
        if defer {
            defer_indexes(tx, table.1, true).map_err(fail)?;
            tracing::debug!(collection = %page.collection, "recent-first sync into an empty table: indexes deferred");
            deferred.insert(page.collection.clone());
            held.as_mut().expect("applied in an open transaction").dropped.push(page.collection.clone());
        }
        let mut outcome = write_rows(tx, scope, page, table, 0, path, overlay)?;
        outcome.cursor = 0;
        Ok(outcome)
    }

    fn apply_filtered(
        &mut self,
        scope: &str,
        values: &[String],
        page: &Page,
    ) -> std::result::Result<ApplyOutcome, StoreError> {
        let overlay = self.overlay(scope, &page.collection);
        let (tx, path) = (&self.conn, self.path.as_path());
        let prepared = self.prepared.as_ref().ok_or_else(|| unprepared(&page.collection))?;
        let (collection, sql) = prepared.collection(&page.collection)?;
        let filter = sql.filter.as_ref().ok_or_else(|| {
            StoreError::InvalidSubscription(format!("`{}` declares no filter column", page.collection))
        })?;
        let fail = |e| {
            StoreError::backend(format!("applying a filtered page of `{}` in {}", page.collection, path.display()), e)
        };
        let mut lowest = i64::MAX;
        for value in values {
            let read = tx.prepare_cached(sql::VALUE_CURSOR).and_then(|mut stmt| {
                stmt.query_row(params![scope, page.collection, value], |row| row.get(0)).optional()
            });
            let cursor: i64 = read.map_err(fail)?.unwrap_or(0);
            if page.since_seq > cursor {
                let collection = format!("{} (value {value:?})", page.collection);
                return Err(StoreError::CursorGap { collection, cursor, since_seq: page.since_seq });
            }
            lowest = lowest.min(cursor);
        }
        let lowest = if values.is_empty() { page.since_seq } else { lowest };
        let kept = foreign_tombstones(tx, scope, filter, values, &page.rows).map_err(fail)?;
        let mut outcome = if kept.is_empty() {
            write_rows(tx, scope, page, (collection, sql), lowest, path, overlay)?
        } else {
            let rows = page.rows.iter().enumerate().filter(|(i, _)| !kept.contains(i)).map(|(_, r)| r.clone());
            let own = Page { rows: rows.collect(), ..page.clone() };
            write_rows(tx, scope, &own, (collection, sql), lowest, path, overlay)?
        };
        outcome.skipped += kept.len() as u64;
        for value in values {
            let save = tx.prepare_cached(sql::SAVE_VALUE_CURSOR);
            save.and_then(|mut s| s.execute(params![scope, page.collection, value, outcome.cursor, now_ms()]))
                .map_err(fail)?;
        }
        Ok(outcome)
    }

    /// Whether pages of the pair must look rows up in `sync_shadow` (see `ClientDb::shadowed`).
    fn overlay(&self, scope: &str, collection: &str) -> bool {
        self.shadowed.as_ref().is_none_or(|pairs| pairs.contains(&(scope.to_owned(), collection.to_owned())))
    }
}

/// Whether a pull of `collection` from scratch follows, whose last page builds what was deferred: the scope
/// syncs everything (a filtered pull builds nothing), its cursor is 0 and the table holds no row of any scope.
fn fills_from_scratch(conn: &Connection, scope: &str, collection: &str, sql: &sql::ClientSql) -> Result<bool> {
    let selective = conn.prepare_cached(sql::IS_SELECTIVE)?.query_row([scope], |_| Ok(())).optional()?.is_some();
    let cursor: Option<i64> =
        conn.prepare_cached(sql::CURSOR)?.query_row(params![scope, collection], |row| row.get(0)).optional()?;
    Ok(!selective && cursor.unwrap_or(0) == 0 && is_empty(conn, sql)?)
}

/// The positions of the tombstones whose row is held under a value not among `values`: a row that left the
/// values and went to another one the client holds (subscribed with another cursor, or archived). That value's
/// own pull brings the row's changes; deleting it here would empty an archived value.
fn foreign_tombstones(
    conn: &Connection,
    scope: &str,
    filter: &ClientFilterSql,
    values: &[String],
    rows: &[Row],
) -> Result<HashSet<usize>> {
    let ours: HashSet<&str> = values.iter().map(String::as_str).collect();
    let mut foreign = HashSet::new();
    for (i, row) in rows.iter().enumerate().filter(|(_, row)| row.is_delete()) {
        let mut stmt = conn.prepare_cached(&filter.value_of)?;
        let held: Option<Option<String>> = stmt.query_row(params![scope, row.id], |r| r.get(0)).optional()?;
        if let Some(value) = held.flatten()
            && !ours.contains(value.as_str())
        {
            foreign.insert(i);
        }
    }
    Ok(foreign)
}
