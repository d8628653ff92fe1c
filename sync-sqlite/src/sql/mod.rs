//! Every SQL text of both stores, in one place: what both share here, each store's statements in `client.rs`
//! and `server.rs`.
//!
//! Data-table DDL and the per-collection statements are generated from the schema with sea-query once, when a
//! schema is prepared, and run through rusqlite's statement cache. Statements over the engine's own tables are
//! constants. Placeholders are positional (`?`); each statement's doc says what binds where.

use sea_query::{
    ColumnDef, Expr, ExprTrait, Index, IndexCreateStatement, OnConflict, Order, Query, SqliteQueryBuilder, Table,
};
use sync_core::{Collection, Column, ColumnType, Schema};

/// Which store a data table belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// The client replica: rows only, deleted rows are gone.
    Client,
    /// The server store: rows and tombstones (`deleted = 1`).
    Server,
}

/// The SQLite type a column is stored as.
pub(crate) fn sqlite_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text | ColumnType::Json => "TEXT",
        ColumnType::Integer | ColumnType::Timestamp | ColumnType::Boolean => "INTEGER",
        ColumnType::Real => "REAL",
    }
}

/// The columns every data table has besides the declared ones, with their types.
pub(crate) fn implicit_columns(flavor: Flavor) -> &'static [(&'static str, &'static str)] {
    match flavor {
        Flavor::Client => &[("id", "TEXT"), ("integration_id", "TEXT"), ("seq", "INTEGER")],
        Flavor::Server => &[("id", "TEXT"), ("integration_id", "TEXT"), ("seq", "INTEGER"), ("deleted", "INTEGER")],
    }
}

/// A placeholder: sea-query renders a value as `?` when a statement is built rather than printed.
fn param() -> Expr {
    Expr::val(0)
}

fn column_def(column: &Column) -> ColumnDef {
    let mut def = ColumnDef::new(column.name.clone());
    def.custom(sqlite_type(column.ty));
    if !column.nullable {
        def.not_null();
    }
    def
}

fn declared(c: &Collection) -> impl Iterator<Item = String> + '_ {
    c.columns.iter().map(|column| column.name.clone())
}

/// `CREATE TABLE IF NOT EXISTS` for a collection's data table, keyed by `(integration_id, id)`.
pub(crate) fn create_table(c: &Collection, flavor: Flavor) -> String {
    let mut table = Table::create();
    table.table(c.name.clone()).if_not_exists();
    for (name, ty) in implicit_columns(flavor) {
        let mut def = ColumnDef::new(*name);
        def.custom(*ty).not_null();
        if *name == "deleted" {
            def.default(0);
        }
        table.col(def);
    }
    for column in &c.columns {
        table.col(column_def(column));
    }
    table.primary_key(Index::create().col("integration_id").col("id"));
    table.to_string(SqliteQueryBuilder)
}

fn index(c: &Collection, name: String, columns: &[String]) -> String {
    let mut index = Index::create();
    index.if_not_exists().name(name).table(c.name.clone()).col("integration_id");
    for column in columns {
        index.col(column.clone());
    }
    IndexCreateStatement::to_string(&index, SqliteQueryBuilder)
}

/// A collection's secondary indexes: `(integration_id, seq)` (pages and cursors), then the schema's indexes
/// (client) or one index per reference column so that cascading deletes cost O(children) (server). Each is a
/// name and the columns after `integration_id`.
fn secondary_indexes(c: &Collection, flavor: Flavor) -> Vec<(String, Vec<String>)> {
    let mut out = vec![(format!("idx_{}_seq", c.name), vec!["seq".to_owned()])];
    match flavor {
        Flavor::Client => {
            out.extend(c.indexes.iter().map(|declared| (c.index_name(declared), declared.columns.clone())));
        }
        Flavor::Server => out.extend(
            c.columns
                .iter()
                .filter(|column| column.references.is_some())
                .map(|column| (format!("idx_{}_{}", c.name, column.name), vec![column.name.clone()])),
        ),
    }
    // Selective sync: the server reads a filter value's rows in seq order (one range scan per value), the client
    // evicts a value's rows. A collection filtered by `id` has its primary key.
    if let Some(filter) = c.filter.as_deref().filter(|f| *f != "id") {
        let declared = c.indexes.iter().any(|i| i.columns.first().is_some_and(|first| first == filter));
        match flavor {
            Flavor::Server => {
                out.push((format!("idx_{}_filter_{filter}", c.name), vec![filter.to_owned(), "seq".to_owned()]));
            }
            // A declared index that starts with the column serves the evictions.
            Flavor::Client if !declared => {
                out.push((format!("idx_{}_filter_{filter}", c.name), vec![filter.to_owned()]))
            }
            Flavor::Client => {}
        }
    }
    out
}

/// `CREATE INDEX IF NOT EXISTS` for each of a collection's secondary indexes.
pub(crate) fn create_indexes(c: &Collection, flavor: Flavor) -> Vec<String> {
    secondary_indexes(c, flavor).into_iter().map(|(name, columns)| index(c, name, &columns)).collect()
}

/// `DROP INDEX IF EXISTS` for each of a collection's secondary indexes, except, with `keep_filter`, the first one
/// that starts with the filter column (what reads one conversation's rows: a declared index or the filter index).
fn drop_indexes(c: &Collection, flavor: Flavor, keep_filter: bool) -> Vec<String> {
    let filter = c.filter.as_deref().filter(|f| keep_filter && *f != "id");
    let mut indexes = secondary_indexes(c, flavor);
    if let Some(kept) = indexes.iter().position(|(_, columns)| columns.first().map(String::as_str) == filter) {
        indexes.remove(kept);
    }
    indexes.into_iter().map(|(name, _)| Index::drop().if_exists().name(name).to_string(SqliteQueryBuilder)).collect()
}

/// `ALTER TABLE … ADD COLUMN` for a nullable column missing from an existing table.
pub(crate) fn add_column(table: &str, column: &Column) -> String {
    Table::alter().table(table.to_owned()).add_column(column_def(column)).to_string(SqliteQueryBuilder)
}

/// The existing columns of table `?1`: name, type, NOT NULL, has a default, position in the primary key.
pub(crate) const TABLE_INFO: &str =
    "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?1) ORDER BY cid";

/// Live rows in id order: `SELECT id, seq, <declared…> FROM t WHERE integration_id = ? [AND id > ?]
/// [AND deleted = 0] ORDER BY id LIMIT ?`.
#[derive(Debug)]
pub(crate) struct RowsById {
    /// Binds integration_id, limit.
    pub(crate) first: String,
    /// Binds integration_id, after_id, limit.
    pub(crate) after: String,
}

impl RowsById {
    fn new(c: &Collection, flavor: Flavor) -> Self {
        RowsById { first: rows_by_id(c, flavor, false), after: rows_by_id(c, flavor, true) }
    }
}

fn rows_by_id(c: &Collection, flavor: Flavor, after: bool) -> String {
    let mut query = Query::select();
    query.columns(["id", "seq"]).columns(declared(c)).from(c.name.clone());
    query.and_where(Expr::col("integration_id").eq(param()));
    if after {
        query.and_where(Expr::col("id").gt(param()));
    }
    if flavor == Flavor::Server {
        query.and_where(Expr::col("deleted").eq(Expr::cust("0")));
    }
    query.order_by("id", Order::Asc).limit(0);
    query.build(SqliteQueryBuilder).0
}

mod client;
mod fts;
mod server;

pub(crate) use client::*;
pub(crate) use fts::{
    Fts, drop_index as drop_fts, scoped_query as fts_scoped_query, search as fts_search, shared as fts_shared,
};
pub(crate) use server::*;

#[cfg(test)]
mod tests {
    use sync_core::{Collection, Column, ColumnType, Schema};

    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Collection::new("notes", vec![Column::new("body", ColumnType::Text).required()]).index(&["body"]),
            Collection::new("tags", vec![Column::new("note_id", ColumnType::Text).references("notes")]),
        ])
        .expect("valid")
    }

    #[test]
    fn client_statements() {
        let schema = schema();
        let notes = &schema.collections[0];
        assert_eq!(
            create_table(notes, Flavor::Client),
            r#"CREATE TABLE IF NOT EXISTS "notes" ( "id" TEXT NOT NULL, "integration_id" TEXT NOT NULL, "seq" INTEGER NOT NULL, "body" TEXT NOT NULL, PRIMARY KEY ("integration_id", "id") )"#
        );
        assert_eq!(
            create_indexes(notes, Flavor::Client),
            vec![
                r#"CREATE INDEX IF NOT EXISTS "idx_notes_seq" ON "notes" ("integration_id", "seq")"#,
                r#"CREATE INDEX IF NOT EXISTS "idx_notes_body" ON "notes" ("integration_id", "body")"#,
            ]
        );
        let sql = ClientSql::new(notes);
        assert_eq!(
            sql.upsert,
            r#"INSERT INTO "notes" ("id", "integration_id", "seq", "body") VALUES (?, ?, ?, ?) ON CONFLICT ("integration_id", "id") DO UPDATE SET "seq" = "excluded"."seq", "body" = "excluded"."body" WHERE "excluded"."seq" > "notes"."seq""#
        );
        assert_eq!(sql.delete, r#"DELETE FROM "notes" WHERE "integration_id" = ? AND "id" = ? AND "seq" < ?"#);
        assert_eq!(sql.any, r#"SELECT 1 FROM "notes" LIMIT 1"#);
        assert_eq!(
            sql.drop_indexes,
            vec![r#"DROP INDEX IF EXISTS "idx_notes_seq""#, r#"DROP INDEX IF EXISTS "idx_notes_body""#]
        );
        assert_eq!(sql.create_indexes, create_indexes(notes, Flavor::Client));
        assert_eq!(
            sql.rows.after,
            r#"SELECT "id", "seq", "body" FROM "notes" WHERE "integration_id" = ? AND "id" > ? ORDER BY "id" ASC LIMIT ?"#
        );
        assert_eq!(
            add_column("notes", &Column::new("n", ColumnType::Real)),
            r#"ALTER TABLE "notes" ADD COLUMN "n" REAL"#
        );
    }

    #[test]
    fn server_statements() {
        let schema = schema();
        let sql = ServerSql::new(&schema.collections[0], &schema);
        assert_eq!(
            sql.upsert,
            r#"INSERT INTO "notes" ("id", "integration_id", "seq", "deleted", "body") VALUES (?, ?, ?, 0, ?) ON CONFLICT ("integration_id", "id") DO UPDATE SET "seq" = "excluded"."seq", "deleted" = "excluded"."deleted", "body" = "excluded"."body""#
        );
        assert_eq!(
            sql.page,
            r#"SELECT "id", "seq", "deleted", "body" FROM "notes" WHERE "integration_id" = ? AND "seq" > ? ORDER BY "seq" ASC LIMIT ?"#
        );
        assert_eq!(
            sql.children,
            vec![(
                "tags".to_owned(),
                r#"SELECT "id" FROM "tags" WHERE "integration_id" = ? AND "note_id" = ? AND "deleted" = (0)"#
                    .to_owned()
            )]
        );
        let tags = ServerSql::new(&schema.collections[1], &schema);
        assert_eq!(
            tags.tombstone,
            r#"UPDATE "tags" SET "seq" = ?, "deleted" = 1, "note_id" = NULL WHERE "integration_id" = ? AND "id" = ? AND "deleted" = (0)"#
        );
        assert_eq!(
            create_indexes(&schema.collections[1], Flavor::Server)[1],
            r#"CREATE INDEX IF NOT EXISTS "idx_tags_note_id" ON "tags" ("integration_id", "note_id")"#
        );
    }
}
