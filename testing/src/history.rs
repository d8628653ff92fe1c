//! Every version of every row the server has served, and what a client at a given cursor must therefore hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail};
use sync_core::{ChangeFeed, ClientStore, Schema};
use sync_sqlite::SqliteStore;

/// Versions by collection, then id: `(seq, deleted)` in increasing seq.
///
/// Record the server after every batch of writes, before any client can see it. A client whose cursor in a
/// collection is `c` must hold every row the server now holds with a seq at or below `c`, at that version; a
/// row the server changed after `c` may be missing or at an older live version (the client read that range
/// before the change), never at a version the server never had, and no row may be ahead of the cursor.
#[derive(Clone, Debug, Default)]
pub struct History {
    versions: BTreeMap<String, BTreeMap<String, Vec<(i64, bool)>>>,
}

/// What [`History::check`] found in a client database that is at a page boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Boundary {
    /// Rows compared.
    pub rows: u64,
    /// Collections holding some but not all of their rows (a kill landed inside them).
    pub partial: usize,
    /// Rows ahead of their collection's cursor, each at a live version the server had: conversation heads of a
    /// recent-first sync (only [`History::check_with_heads`] allows them).
    pub ahead: u64,
}

impl History {
    /// Adds the server's current rows of every collection of `scope`.
    pub async fn record(&mut self, feed: &dyn ChangeFeed, schema: &Schema, scope: &str) -> anyhow::Result<()> {
        for collection in &schema.collections {
            let by_id = self.versions.entry(collection.name.clone()).or_default();
            let mut since = 0;
            loop {
                let page = feed.page(scope, &collection.name, since, 10_000).await.context("read the server's rows")?;
                for row in &page.rows {
                    let versions = by_id.entry(row.id.clone()).or_default();
                    if versions.last().is_none_or(|(seq, _)| *seq < row.seq) {
                        versions.push((row.seq, row.is_delete()));
                    }
                }
                since = page.latest_seq;
                if !page.has_more {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The live rows of `collection` as the server holds them now, with seq at or below `cursor`.
    pub fn current_upto(&self, collection: &str, cursor: i64) -> BTreeMap<&str, i64> {
        let Some(by_id) = self.versions.get(collection) else { return BTreeMap::new() };
        by_id
            .iter()
            .filter_map(|(id, versions)| {
                let (seq, deleted) = versions.last()?;
                (*seq <= cursor && !deleted).then_some((id.as_str(), *seq))
            })
            .collect()
    }

    /// Why the local row `(id, seq)` cannot be there at `cursor`, if it cannot. `heads`: a row ahead of the
    /// cursor may be there (a head), at a live version the server had.
    fn wrong(&self, collection: &str, id: &str, seq: i64, cursor: i64, heads: bool) -> Option<String> {
        let versions = self.versions.get(collection).and_then(|c| c.get(id));
        let Some(&(current, deleted)) = versions.and_then(|v| v.last()) else {
            return Some(format!("row {id} was never on the server"));
        };
        if seq > cursor && !heads {
            return Some(format!("row {id} has seq {seq}, ahead of the cursor {cursor}"));
        }
        if !versions.is_some_and(|v| v.contains(&(seq, false))) {
            return Some(format!("row {id} has seq {seq}, never a live version of it on the server"));
        }
        if current <= cursor && (current != seq || deleted) {
            return Some(format!(
                "row {id} is at seq {seq} but the server's version {current} (deleted: {deleted}) is within the cursor"
            ));
        }
        None
    }

    /// Checks that the SQLite client database at `db` is at a page boundary for `scope`: in every collection its
    /// rows are exactly those a client at its stored cursor must hold, never fewer, never more.
    pub async fn check(&self, db: &Path, schema: &Schema, scope: &str) -> anyhow::Result<Boundary> {
        self.check_rows(db, schema, scope, false).await
    }

    /// [`History::check`] for a recent-first sync: the same, except that in the collections filtered by a column
    /// other than `id` (messages, media, participants) rows ahead of the cursor may be there, each at a live
    /// version the server had: the conversation heads, applied without moving the cursor (PROTOCOL.md).
    pub async fn check_with_heads(&self, db: &Path, schema: &Schema, scope: &str) -> anyhow::Result<Boundary> {
        self.check_rows(db, schema, scope, true).await
    }

    async fn check_rows(&self, db: &Path, schema: &Schema, scope: &str, heads: bool) -> anyhow::Result<Boundary> {
        let store = SqliteStore::open(db).with_context(|| format!("open {}", db.display()))?;
        store.prepare(schema).await?;
        let cursors = store.sync_state(scope).await?;
        let mut boundary = Boundary::default();
        for collection in &schema.collections {
            let name = collection.name.as_str();
            let cursor = cursors.iter().find(|c| c.collection == name).map_or(0, |c| c.last_seq);
            let local = store.read_rows(scope, name, None, 100_000_000).await?;
            // Every row the server holds within the cursor is here at that version; a row beyond it may be
            // missing or at an older version the client read before it changed, never anything else.
            let held: BTreeSet<&str> = local.iter().map(|r| r.id.as_str()).collect();
            let expected = self.current_upto(name, cursor);
            let missing: Vec<_> = expected.iter().filter(|(id, _)| !held.contains(*id)).take(3).collect();
            if !missing.is_empty() {
                bail!("{name} at cursor {cursor}: rows within the cursor are missing: {missing:?}");
            }
            let heads = heads && collection.filter.as_deref().is_some_and(|f| f != "id");
            if let Some(why) = local.iter().find_map(|r| self.wrong(name, &r.id, r.seq, cursor, heads)) {
                bail!("{name} at cursor {cursor}: {why}");
            }
            boundary.ahead += local.iter().filter(|r| r.seq > cursor).count() as u64;
            let total = self.current_upto(name, i64::MAX).len();
            if !local.is_empty() && local.len() < total {
                boundary.partial += 1;
            }
            boundary.rows += local.len() as u64;
        }
        Ok(boundary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row `a` was live at seq 5 and deleted at seq 50; row `b` is live at seq 7.
    fn history() -> History {
        let rows = [("a".to_owned(), vec![(5, false), (50, true)]), ("b".to_owned(), vec![(7, false)])];
        History { versions: BTreeMap::from([("m".to_owned(), rows.into_iter().collect())]) }
    }

    /// The harness's first rule wanted every version at or below the cursor, so a client that started after
    /// `a` was deleted (and never saw seq 5) was reported as missing `a` at cursor 30: a false alarm.
    #[test]
    fn a_row_changed_after_the_cursor_may_be_missing_or_at_an_older_version() {
        let h = history();
        assert_eq!(h.current_upto("m", 30), BTreeMap::from([("b", 7)]));
        assert_eq!(h.wrong("m", "a", 5, 30, false), None, "read before the delete");
    }

    #[test]
    fn a_row_the_server_changed_within_the_cursor_must_be_at_its_current_version() {
        let h = history();
        assert_eq!(h.current_upto("m", 60), BTreeMap::from([("b", 7)]));
        assert!(h.wrong("m", "a", 5, 60, false).is_some_and(|w| w.contains("within the cursor")));
        assert!(h.wrong("m", "b", 9, 30, false).is_some_and(|w| w.contains("never a live version")));
        assert!(h.wrong("m", "b", 7, 6, false).is_some_and(|w| w.contains("ahead of the cursor")));
        assert_eq!(h.wrong("m", "b", 7, 6, true), None, "a head");
        assert!(h.wrong("m", "b", 9, 6, true).is_some_and(|w| w.contains("never a live version")));
        assert!(h.wrong("m", "c", 1, 30, false).is_some_and(|w| w.contains("never on the server")));
    }
}
