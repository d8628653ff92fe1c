//! The engine's own numbered migrations (`migrations/client/NNN_name.sql`, `migrations/server/NNN_name.sql`),
//! compiled in with `include_str!`, each applied in its own transaction and recorded in `PRAGMA user_version`.
//!
//! Data tables are not migrations: they follow the schema (see `tables.rs`). A new migration is a new file
//! added at the end of its list; a released one is never edited.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::Error;

/// One migration: its file name and SQL.
pub(crate) struct Migration {
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// The migrations of one kind of database.
pub(crate) struct Migrations {
    /// What the database is, for error messages.
    pub(crate) kind: &'static str,
    /// The `application_id` its first migration sets.
    pub(crate) application_id: i32,
    /// In order: migration `i` (0-based) brings `user_version` to `i + 1`.
    pub(crate) steps: &'static [Migration],
}

/// The client replica's migrations.
pub(crate) const CLIENT: Migrations = Migrations {
    kind: "sync-sqlite client replica",
    application_id: 0x7379_6e63,
    steps: &[
        Migration { name: "001_sync_state.sql", sql: include_str!("../migrations/client/001_sync_state.sql") },
        Migration { name: "002_outbox.sql", sql: include_str!("../migrations/client/002_outbox.sql") },
        Migration { name: "003_subscriptions.sql", sql: include_str!("../migrations/client/003_subscriptions.sql") },
    ],
};

/// The embedded server store's migrations.
pub(crate) const SERVER: Migrations = Migrations {
    kind: "sync-sqlite server store",
    application_id: 0x7379_6e73,
    steps: &[
        Migration { name: "001_scopes.sql", sql: include_str!("../migrations/server/001_scopes.sql") },
        Migration { name: "002_push_clients.sql", sql: include_str!("../migrations/server/002_push_clients.sql") },
        Migration { name: "003_moves.sql", sql: include_str!("../migrations/server/003_moves.sql") },
    ],
};

impl Migrations {
    /// The `user_version` of a fully migrated database.
    pub(crate) fn latest(&self) -> u32 {
        u32::try_from(self.steps.len()).unwrap_or(u32::MAX)
    }
}

/// Brings the database to the latest version. Safe against another process migrating the same file at the same
/// time: the version is read again inside each migration's write transaction.
pub(crate) fn run(conn: &mut Connection, path: &Path, migrations: &Migrations) -> Result<(), Error> {
    let open_err = |cause| Error::Open { path: path.to_path_buf(), cause };
    let app: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0)).map_err(open_err)?;
    if app != 0 && app != migrations.application_id {
        return Err(Error::WrongKind { path: path.to_path_buf(), expected: migrations.kind, found: app });
    }
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(open_err)?;
        let version: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(open_err)?;
        let known = migrations.latest();
        if version > known {
            return Err(Error::TooNew { path: path.to_path_buf(), found: version, known });
        }
        let Some(step) = migrations.steps.get(version as usize) else { return Ok(()) };
        let next = version + 1;
        let fail = |cause| Error::Migration { path: path.to_path_buf(), version: next, name: step.name, cause };
        tx.execute_batch(step.sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", next).map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(path = %path.display(), migration = step.name, "applied migration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for migrations in [&CLIENT, &SERVER] {
            for (i, step) in migrations.steps.iter().enumerate() {
                assert!(step.name.starts_with(&format!("{:03}_", i + 1)), "{} is out of order", step.name);
            }
        }
    }
}
