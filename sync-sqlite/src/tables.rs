//! Making a database's data tables fit a schema: create what is missing, add nullable columns to existing
//! tables, and refuse every other difference before changing anything the caller could see.
//!
//! Runs inside the caller's transaction, so a refusal (or any failure) rolls back the columns already added.

use std::collections::HashMap;

use rusqlite::Connection;
use sync_core::{Collection, Schema};

use crate::error::DbError;
use crate::sql::{self, Flavor};

/// A column as `PRAGMA table_info` shows it.
struct Existing {
    name: String,
    ty: String,
    not_null: bool,
    has_default: bool,
    pk: i64,
}

fn table_info(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Existing>> {
    let mut stmt = conn.prepare(sql::TABLE_INFO)?;
    let rows = stmt.query_map([table], |row| {
        Ok(Existing {
            name: row.get(0)?,
            ty: row.get(1)?,
            not_null: row.get(2)?,
            has_default: row.get(3)?,
            pk: row.get(4)?,
        })
    })?;
    rows.collect()
}

/// Creates or extends the data tables and indexes of every collection of `schema`.
///
/// `previous` is the schema the tables were last prepared with, when known: SQLite stores integers, booleans and
/// timestamps alike, so only it can show that a column changed between those types.
pub(crate) fn ensure(
    conn: &Connection,
    schema: &Schema,
    flavor: Flavor,
    previous: Option<&Schema>,
) -> Result<(), DbError> {
    for c in &schema.collections {
        let existing = table_info(conn, &c.name)?;
        if existing.is_empty() {
            conn.execute_batch(&sql::create_table(c, flavor))?;
        } else {
            let before = previous.and_then(|p| p.collection(&c.name));
            for statement in fit(c, flavor, &existing, before)? {
                conn.execute_batch(&statement)?;
            }
        }
        for statement in sql::create_indexes(c, flavor) {
            conn.execute_batch(&statement)?;
        }
    }
    Ok(())
}

/// The `ALTER TABLE` statements that make an existing table hold collection `c`, or why it cannot.
fn fit(
    c: &Collection,
    flavor: Flavor,
    existing: &[Existing],
    before: Option<&Collection>,
) -> Result<Vec<String>, DbError> {
    let by_name: HashMap<&str, &Existing> = existing.iter().map(|e| (e.name.as_str(), e)).collect();
    let table = &c.name;
    let foreign = |what: String| {
        DbError::Mismatch(format!(
            "table `{table}` {what}, so it was not created by this engine; use another file, or drop the table"
        ))
    };
    for (name, ty) in sql::implicit_columns(flavor) {
        match by_name.get(name) {
            None => return Err(foreign(format!("has no column `{name}`"))),
            Some(e) if !e.ty.eq_ignore_ascii_case(ty) => {
                return Err(foreign(format!("has column `{name}` of type {} instead of {ty}", e.ty)));
            }
            Some(_) => {}
        }
    }
    let key = |name: &str| by_name.get(name).map_or(0, |e| e.pk);
    if key("integration_id") != 1 || key("id") != 2 || existing.iter().filter(|e| e.pk > 0).count() != 2 {
        return Err(foreign("is not keyed by (integration_id, id)".to_owned()));
    }

    let mut alters = Vec::new();
    for column in &c.columns {
        let name = &column.name;
        let want = sql::sqlite_type(column.ty);
        match by_name.get(name.as_str()) {
            None if column.nullable => alters.push(sql::add_column(table, column)),
            None => {
                return Err(DbError::Mismatch(format!(
                    "column `{table}.{name}` is required (NOT NULL) in the schema but missing from the existing \
                     table, whose rows have no value for it; declare it nullable, or sync into a new file"
                )));
            }
            Some(e) if !e.ty.eq_ignore_ascii_case(want) => {
                return Err(DbError::Mismatch(format!(
                    "column `{table}.{name}` is {} in the database but the schema declares {:?} (stored as {want}); \
                     a column cannot change type in place: add a column with a new name, or sync into a new file",
                    e.ty, column.ty
                )));
            }
            Some(e) if e.not_null && column.nullable => {
                return Err(DbError::Mismatch(format!(
                    "column `{table}.{name}` is NOT NULL in the database but nullable in the schema, so null values \
                     could not be stored; declare it required, or sync into a new file"
                )));
            }
            Some(_) => {}
        }
        if let Some(old) = before.and_then(|b| b.columns.iter().find(|o| &o.name == name))
            && old.ty != column.ty
        {
            return Err(DbError::Mismatch(format!(
                "column `{table}.{name}` was declared {:?} and is now {:?}; a column cannot change type in place: \
                 add a column with a new name, or sync into a new file",
                old.ty, column.ty
            )));
        }
    }
    let implicit = |name: &str| sql::implicit_columns(flavor).iter().any(|(n, _)| *n == name);
    for e in existing {
        let declared = c.columns.iter().any(|column| column.name == e.name);
        if !declared && !implicit(&e.name) && e.not_null && !e.has_default {
            return Err(DbError::Mismatch(format!(
                "column `{table}.{}` is NOT NULL in the database but not in the schema, so no row could be written; \
                 declare it in the schema, or sync into a new file",
                e.name
            )));
        }
    }
    Ok(alters)
}
