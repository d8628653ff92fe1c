//! Creating what a store needs in its PostgreSQL schema: the numbered migrations of the store's own tables and
//! trigger functions, then one data table per collection, generated from the [`Schema`] with sea-query, with its
//! indexes and triggers.

use anyhow::Context as _;
use sea_query::{ColumnDef, Expr, Index, IndexCreateStatement, PostgresQueryBuilder, Table};
use sync_core::{Collection, Column, ColumnType, Schema};
use tokio_postgres::Transaction;

/// The store's own migrations, in order; `sync_migrations` records which ran.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/001_seq_triggers.sql")),
    (2, include_str!("../migrations/002_notify.sql")),
    (3, include_str!("../migrations/003_fast_triggers.sql")),
    (4, include_str!("../migrations/004_drop_next_seq.sql")),
    (5, include_str!("../migrations/005_poll_heads.sql")),
    (6, include_str!("../migrations/006_push_clients.sql")),
    (7, include_str!("../migrations/007_per_transaction_flush.sql")),
    (8, include_str!("../migrations/008_moves.sql")),
    (9, include_str!("../migrations/009_reserve_at_lock.sql")),
    (10, include_str!("../migrations/010_count_at_lock.sql")),
    (11, include_str!("../migrations/011_solo_reservation.sql")),
];

/// In a migration, the store's schema (quoted): functions that name their tables with it need neither dynamic SQL
/// nor a `SET search_path`, whatever the search_path of the session whose write fires them.
const SCHEMA_PLACEHOLDER: &str = "{{schema}}";

/// The implicit column the triggers stamp with the time of a row's last write (prune's age test).
pub(super) const CHANGED_AT: &str = "sync_changed_at";

fn column_def(column: &Column) -> ColumnDef {
    let mut def = ColumnDef::new(column.name.clone());
    match column.ty {
        ColumnType::Text => def.text(),
        ColumnType::Integer | ColumnType::Timestamp => def.big_integer(),
        ColumnType::Real => def.double(),
        ColumnType::Boolean => def.boolean(),
        ColumnType::Json => def.json_binary(),
    };
    if !column.nullable {
        def.not_null();
    }
    def
}

/// `CREATE TABLE IF NOT EXISTS` for a collection: `id`, `integration_id`, `seq`, `deleted`, the change time, the
/// declared columns; keyed by `(integration_id, id)`.
pub(super) fn create_table(c: &Collection) -> String {
    let mut table = Table::create();
    table
        .table(c.name.clone())
        .if_not_exists()
        .col(ColumnDef::new("id").text().not_null())
        .col(ColumnDef::new("integration_id").text().not_null())
        .col(ColumnDef::new("seq").big_integer().not_null().default(0))
        .col(ColumnDef::new("deleted").boolean().not_null().default(false))
        .col(ColumnDef::new(CHANGED_AT).timestamp_with_time_zone().not_null().default(Expr::cust("now()")));
    for column in &c.columns {
        table.col(column_def(column));
    }
    table.primary_key(Index::create().col("integration_id").col("id"));
    table.to_string(PostgresQueryBuilder)
}

/// Indexes: `(integration_id, seq)` for pages, `(integration_id, <column>)` per reference column for cascading
/// deletes, and a partial index on the change time of tombstones for prune.
pub(super) fn create_indexes(c: &Collection) -> Vec<String> {
    let index = |name: String, columns: &[&str]| {
        let mut index = Index::create();
        index.if_not_exists().name(name).table(c.name.clone()).col("integration_id");
        for column in columns {
            index.col(column.to_string());
        }
        IndexCreateStatement::to_string(&index, PostgresQueryBuilder)
    };
    let mut out = vec![index(format!("idx_{}_seq", c.name), &["seq"])];
    for column in c.columns.iter().filter(|column| column.references.is_some()) {
        out.push(index(format!("idx_{}_{}", c.name, column.name), &[column.name.as_str()]));
    }
    // Selective sync: a filter value's rows in seq order, one range scan per value (`id` has the primary key).
    if let Some(filter) = declared_filter(c) {
        out.push(index(format!("idx_{}_filter_{filter}", c.name), &[filter, "seq"]));
    }
    out.push(format!(
        "CREATE INDEX IF NOT EXISTS \"idx_{0}_tombstones\" ON \"{0}\" ({CHANGED_AT}) WHERE deleted",
        c.name
    ));
    out
}

/// The filter column of `c` when it is a declared column (not `id`, which never changes).
fn declared_filter(c: &Collection) -> Option<&str> {
    c.filter.as_deref().filter(|f| *f != "id")
}

/// The triggers that give every write a seq, keep the live count, turn deletes into tombstones and record the
/// rows that leave a filter value.
pub(super) fn create_triggers(c: &Collection) -> Vec<String> {
    let t = &c.name;
    let mut triggers = base_triggers(t);
    if let Some(f) = declared_filter(c) {
        triggers.push(format!(
            "CREATE OR REPLACE TRIGGER sync_record_move AFTER UPDATE ON \"{t}\" FOR EACH ROW WHEN (NOT OLD.deleted \
             AND OLD.\"{f}\" IS NOT NULL AND OLD.\"{f}\" IS DISTINCT FROM NEW.\"{f}\") \
             EXECUTE FUNCTION sync_record_move('{f}')"
        ));
    }
    triggers
}

fn base_triggers(t: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE OR REPLACE TRIGGER sync_take_seq BEFORE INSERT OR UPDATE ON \"{t}\" FOR EACH ROW EXECUTE FUNCTION sync_take_seq()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER sync_count_inserted AFTER INSERT ON \"{t}\" REFERENCING NEW TABLE AS sync_new FOR EACH STATEMENT EXECUTE FUNCTION sync_count_inserted()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER sync_count_updated AFTER UPDATE ON \"{t}\" REFERENCING OLD TABLE AS sync_old NEW TABLE AS sync_new FOR EACH STATEMENT EXECUTE FUNCTION sync_count_updated()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER sync_keep_tombstone BEFORE DELETE ON \"{t}\" FOR EACH ROW EXECUTE FUNCTION sync_keep_tombstone()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER sync_refuse_truncate BEFORE TRUNCATE ON \"{t}\" FOR EACH STATEMENT EXECUTE FUNCTION sync_refuse_truncate()"
        ),
    ]
}

/// Runs the missing migrations, then makes the data tables fit `schema` (new tables; new nullable columns on
/// existing ones), all in one transaction under an advisory lock so that concurrent servers starting on one
/// database do not race.
pub(super) async fn migrate(tx: &Transaction<'_>, schema: &Schema) -> anyhow::Result<()> {
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(hashtext('seqsync:' || current_schema()));
         CREATE TABLE IF NOT EXISTS sync_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .context("creating sync_migrations")?;
    let done: Vec<i32> =
        tx.query("SELECT version FROM sync_migrations", &[]).await?.iter().map(|row| row.get(0)).collect();
    let quoted: String = tx.query_one("SELECT quote_ident(current_schema())", &[]).await?.get(0);
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(&sql.replace(SCHEMA_PLACEHOLDER, &quoted))
            .await
            .with_context(|| format!("running migration {version:03}"))?;
        tx.execute("INSERT INTO sync_migrations (version) VALUES ($1)", &[version]).await?;
    }
    for c in &schema.collections {
        if c.columns.iter().any(|column| column.name == CHANGED_AT) {
            anyhow::bail!("column `{}.{CHANGED_AT}` is reserved by the PostgreSQL store", c.name);
        }
        let mut statements = vec![create_table(c)];
        for column in c.columns.iter().filter(|column| column.nullable) {
            let add = Table::alter().table(c.name.clone()).add_column_if_not_exists(column_def(column)).to_owned();
            statements.push(add.to_string(PostgresQueryBuilder));
        }
        statements.extend(create_indexes(c));
        statements.extend(create_triggers(c));
        for sql in statements {
            tx.batch_execute(&sql).await.with_context(|| format!("preparing table `{}`: {sql}", c.name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_table_ddl() {
        let schema = sync_core::testing::test_schema();
        assert_eq!(
            create_table(&schema.collections[1]),
            r#"CREATE TABLE IF NOT EXISTS "posts" ( "id" text NOT NULL, "integration_id" text NOT NULL, "seq" bigint NOT NULL DEFAULT 0, "deleted" bool NOT NULL DEFAULT FALSE, "sync_changed_at" timestamp with time zone NOT NULL DEFAULT (now()), "thread_id" text NOT NULL, "body" text, "score" double precision, "likes" bigint, "meta" jsonb, PRIMARY KEY ("integration_id", "id") )"#
        );
        assert_eq!(
            create_indexes(&schema.collections[1])[..2],
            [
                r#"CREATE INDEX IF NOT EXISTS "idx_posts_seq" ON "posts" ("integration_id", "seq")"#,
                r#"CREATE INDEX IF NOT EXISTS "idx_posts_thread_id" ON "posts" ("integration_id", "thread_id")"#,
            ]
        );
    }
}
