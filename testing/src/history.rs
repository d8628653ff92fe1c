//! Every version of every row the server has served, and what a client at a given cursor must therefore hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail};
use sync_core::{ChangeFeed, ClientStore, Schema};
use sync_sqlite::SqliteStore;

/// Versions by collection, then id: `(seq, deleted)` in increasing seq.
///
/// Record the server after every batch of writes, before any client can see it: a client whose cursor in a
/// collection is `c` must then hold, for each id, the newest recorded version with a seq at or below `c`
/// (nothing if that version is a tombstone). A version overwritten within one batch was never served, so no
/// cursor can depend on it.
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

    /// The `(id, seq)` a client at `cursor` in `collection` must hold.
    pub fn expected(&self, collection: &str, cursor: i64) -> BTreeSet<(String, i64)> {
        let Some(by_id) = self.versions.get(collection) else { return BTreeSet::new() };
        by_id
            .iter()
            .filter_map(|(id, versions)| {
                let (seq, deleted) = versions.iter().rev().find(|(seq, _)| *seq <= cursor)?;
                (!deleted).then(|| (id.clone(), *seq))
            })
            .collect()
    }

    /// Checks that the SQLite client database at `db` is at a page boundary for `scope`: in every collection its
    /// rows are exactly those a client at its stored cursor must hold, never fewer, never more.
    pub async fn check(&self, db: &Path, schema: &Schema, scope: &str) -> anyhow::Result<Boundary> {
        let store = SqliteStore::open(db).with_context(|| format!("open {}", db.display()))?;
        store.prepare(schema).await?;
        let cursors = store.sync_state(scope).await?;
        let mut boundary = Boundary::default();
        for collection in &schema.collections {
            let name = collection.name.as_str();
            let cursor = cursors.iter().find(|c| c.collection == name).map_or(0, |c| c.last_seq);
            let local: BTreeSet<(String, i64)> =
                store.read_rows(scope, name, None, 100_000_000).await?.into_iter().map(|r| (r.id, r.seq)).collect();
            let expected = self.expected(name, cursor);
            if local != expected {
                let missing = expected.difference(&local).take(3).collect::<Vec<_>>();
                let extra = local.difference(&expected).take(3).collect::<Vec<_>>();
                bail!(
                    "{name} at cursor {cursor}: {} rows where {} were expected; missing {missing:?}, unexpected {extra:?}",
                    local.len(),
                    expected.len()
                );
            }
            let total = self.expected(name, i64::MAX).len();
            if !local.is_empty() && local.len() < total {
                boundary.partial += 1;
            }
            boundary.rows += local.len() as u64;
        }
        Ok(boundary)
    }
}
