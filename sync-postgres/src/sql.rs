//! Every statement of the PostgreSQL store over data tables, generated once per collection with sea-query;
//! statements over the store's own tables are constants. Placeholders are `$n`; each doc says what binds where.
//! Seqs are never bound: the triggers assign them.

use sea_query::{Expr, ExprTrait, Order, PostgresQueryBuilder, Query};
use sync_core::{Collection, Schema};

/// A placeholder: sea-query renders each value as the next `$n`.
fn param() -> Expr {
    Expr::val(0)
}

fn declared(c: &Collection) -> impl Iterator<Item = String> + '_ {
    c.columns.iter().map(|column| column.name.clone())
}

/// The statements of one collection.
#[derive(Debug)]
pub(super) struct CollectionSql {
    /// `INSERT INTO t (declared…, integration_id, id) VALUES`: the head of [`CollectionSql::upsert_rows`].
    upsert_head: String,
    /// `ON CONFLICT … DO UPDATE … RETURNING seq`: its tail.
    upsert_tail: String,
    /// Placeholders per row of an upsert: the declared columns, integration_id, id.
    pub(super) upsert_width: usize,
    /// Binds integration_id, id: marks a live row deleted; returns its new seq.
    pub(super) tombstone: String,
    /// Binds integration_id, since_seq, limit: `id, seq, deleted, declared…` in seq order.
    pub(super) page: String,
    /// Binds integration_id, limit: live rows in id order (`id, seq, declared…`).
    pub(super) rows_first: String,
    /// Binds integration_id, after_id, limit.
    pub(super) rows_after: String,
    /// Binds integration_id, id: the declared columns of a live row.
    pub(super) get: String,
    /// Binds integration_id, an array of ids: `id, deleted, declared…` of those rows, live or not (what a push
    /// reads).
    pub(super) states: String,
    /// For every (child collection, reference column) pointing here: binds integration_id, the parent's id;
    /// selects the ids of the live children.
    pub(super) children: Vec<(String, String)>,
    /// Binds integration_id: the greatest seq of the collection (one index probe).
    pub(super) latest_seq: String,
}

fn live() -> Expr {
    Expr::cust("NOT \"deleted\"")
}

fn rows_by_id(c: &Collection, after: bool) -> String {
    let mut query = Query::select();
    query.columns(["id", "seq"]).columns(declared(c)).from(c.name.clone());
    query.and_where(Expr::col("integration_id").eq(param()));
    if after {
        query.and_where(Expr::col("id").gt(param()));
    }
    query.and_where(live()).order_by("id", Order::Asc).limit(0);
    query.build(PostgresQueryBuilder).0
}

impl CollectionSql {
    /// Binds, for each of `rows` rows with distinct ids, the declared columns, then integration_id, id: inserts
    /// each row, or updates (and revives) it when it exists, in write order, in one statement; returns the new
    /// seqs. One statement for many rows: per row, a statement cost more than the row's insert and triggers. A
    /// row that turns into an update takes two seqs (the insert's trigger fires before the conflict is found):
    /// a gap, which the protocol allows. Two rows with the same id would fail (`cannot affect row a second
    /// time`): the caller splits there.
    pub(super) fn upsert_rows(&self, rows: usize) -> String {
        let mut sql = self.upsert_head.clone();
        for row in 0..rows {
            let first = row * self.upsert_width + 1;
            let placeholders: Vec<String> = (first..first + self.upsert_width).map(|i| format!("${i}")).collect();
            sql.push_str(if row == 0 { "(" } else { ", (" });
            sql.push_str(&placeholders.join(", "));
            sql.push(')');
        }
        sql.push_str(&self.upsert_tail);
        sql
    }

    pub(super) fn new(c: &Collection, schema: &Schema) -> Self {
        let table = c.name.clone();
        let n = c.columns.len();
        let columns: String = declared(c).map(|name| format!("\"{name}\", ")).collect();
        let upsert_head = format!("INSERT INTO \"{table}\" ({columns}\"integration_id\", \"id\") VALUES ");
        let set: String = declared(c).map(|name| format!(", \"{name}\" = excluded.\"{name}\"")).collect();
        let upsert_tail = format!(
            " ON CONFLICT (\"integration_id\", \"id\") DO UPDATE SET \"deleted\" = false{set} RETURNING \"seq\""
        );
        let tombstone = Query::update()
            .table(table.clone())
            .value("deleted", Expr::cust("true"))
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .and_where(live())
            .returning_col("seq")
            .build(PostgresQueryBuilder)
            .0;
        let page = Query::select()
            .columns(["id", "seq", "deleted"].map(String::from).into_iter().chain(declared(c)))
            .from(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("seq").gt(param()))
            .order_by("seq", Order::Asc)
            .limit(0)
            .build(PostgresQueryBuilder)
            .0;
        let get = Query::select()
            .columns(declared(c))
            .from(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .and_where(live())
            .build(PostgresQueryBuilder)
            .0;
        let states = format!(
            "SELECT \"id\", \"deleted\"{} FROM \"{table}\" WHERE \"integration_id\" = $1 AND \"id\" = ANY($2)",
            declared(c).map(|name| format!(", \"{name}\"")).collect::<String>()
        );
        let latest_seq = Query::select()
            .expr(Expr::cust("COALESCE(MAX(\"seq\"), 0)"))
            .from(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .build(PostgresQueryBuilder)
            .0;
        let mut children = Vec::new();
        for child in &schema.collections {
            for column in child.columns.iter().filter(|column| column.references.as_deref() == Some(&c.name)) {
                let select = Query::select()
                    .column("id")
                    .from(child.name.clone())
                    .and_where(Expr::col("integration_id").eq(param()))
                    .and_where(Expr::col(column.name.clone()).eq(param()))
                    .and_where(live())
                    .build(PostgresQueryBuilder)
                    .0;
                children.push((child.name.clone(), select));
            }
        }
        CollectionSql {
            upsert_head,
            upsert_tail,
            upsert_width: n + 2,
            tombstone,
            page,
            rows_first: rows_by_id(c, false),
            rows_after: rows_by_id(c, true),
            get,
            states,
            children,
            latest_seq,
        }
    }
}

/// Creates the integration's counter if missing and locks it for the rest of the transaction, so that the
/// batch's update-or-insert of each row cannot race another writer of the integration. Binds integration_id.
pub(super) const LOCK_SCOPE: &str = "SELECT sync_lock_scope($1)";
/// Binds integration_id, client_id: creates the client's push record if missing and locks it for the rest of the
/// transaction (a second push of the client waits here); returns its last mutation id and seq bound. The no-op
/// update is what takes the lock in the same statement, whether the row was there or not.
pub(super) const LOCK_PUSH_CLIENT: &str = "INSERT INTO sync_push_clients AS p (integration_id, client_id, \
     last_mutation_id, seq) VALUES ($1, $2, 0, 0) ON CONFLICT (integration_id, client_id) \
     DO UPDATE SET last_mutation_id = p.last_mutation_id RETURNING last_mutation_id, seq";
/// Binds integration_id, client_id, last mutation id, seq bound (the row exists: [`LOCK_PUSH_CLIENT`] made it).
pub(super) const SAVE_PUSH_CLIENT: &str =
    "UPDATE sync_push_clients SET last_mutation_id = $3, seq = $4 WHERE integration_id = $1 AND client_id = $2";
/// Binds integration_id, collection: whether the scope exists, the collection's horizon and live count (the live
/// counts are in the counter row, migration 010).
pub(super) const SCOPE_AND_COUNT: &str = "SELECT COALESCE(c.horizon, 0), COALESCE((s.live ->> $2::TEXT)::BIGINT, 0) \
     FROM sync_scopes s LEFT JOIN sync_counts c ON c.integration_id = s.integration_id AND c.collection = $2 \
     WHERE s.integration_id = $1";
/// Binds integration_id: every live count and horizon of the scope (a collection may have either).
pub(super) const SCOPE_COUNTS: &str = "SELECT COALESCE(l.key, c.collection), COALESCE(l.value::BIGINT, 0), \
     COALESCE(c.horizon, 0) FROM (SELECT key, value FROM sync_scopes s, jsonb_each_text(s.live) \
     WHERE s.integration_id = $1) l FULL JOIN (SELECT collection, horizon FROM sync_counts WHERE integration_id = $1) c \
     ON c.collection = l.key";
/// Binds integration_id.
pub(super) const SCOPE_EXISTS: &str = "SELECT 1 FROM sync_scopes WHERE integration_id = $1";
/// Binds integration_id, collection, the new horizon: raises it, never lowers it.
pub(super) const RAISE_HORIZON: &str = "INSERT INTO sync_counts AS c (integration_id, collection, horizon) \
     VALUES ($1, $2, $3) ON CONFLICT (integration_id, collection) DO UPDATE SET horizon = GREATEST(c.horizon, $3)";

/// Deletes the tombstones of `table` last changed more than `$1` seconds ago, for real, except the newest
/// tombstone of each integration: it stays so that a client syncing from scratch ends with a cursor past the
/// horizon (else it could not be told apart from an old client that missed the pruned deletes). Returns, per
/// integration, the greatest seq removed and how many. Runs with `sync.pruning` on, which the delete trigger
/// lets through.
pub(super) fn prune(table: &str) -> String {
    format!(
        "WITH newest AS (SELECT integration_id, MAX(seq) AS seq FROM \"{table}\" WHERE deleted GROUP BY integration_id), \
         gone AS (DELETE FROM \"{table}\" t USING newest WHERE t.integration_id = newest.integration_id AND t.deleted \
         AND t.seq < newest.seq AND t.sync_changed_at < now() - make_interval(secs => $1) RETURNING t.integration_id, t.seq) \
         SELECT integration_id, MAX(seq), COUNT(*) FROM gone GROUP BY integration_id"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements() {
        let schema = sync_core::testing::test_schema();
        let threads = CollectionSql::new(&schema.collections[0], &schema);
        assert_eq!(
            threads.upsert_rows(2),
            r#"INSERT INTO "threads" ("title", "archived", "created_at", "integration_id", "id") VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10) ON CONFLICT ("integration_id", "id") DO UPDATE SET "deleted" = false, "title" = excluded."title", "archived" = excluded."archived", "created_at" = excluded."created_at" RETURNING "seq""#
        );
        assert_eq!(
            threads.page,
            r#"SELECT "id", "seq", "deleted", "title", "archived", "created_at" FROM "threads" WHERE "integration_id" = $1 AND "seq" > $2 ORDER BY "seq" ASC LIMIT $3"#
        );
        assert_eq!(
            threads.children,
            vec![(
                "posts".to_owned(),
                r#"SELECT "id" FROM "posts" WHERE "integration_id" = $1 AND "thread_id" = $2 AND (NOT "deleted")"#
                    .to_owned()
            )]
        );
    }
}
