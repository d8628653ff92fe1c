//! Open-time errors. Failures once a store is open are the core's [`StoreError`] and [`FeedError`]; this module
//! also holds the internal error of the schema-fitting code, which both stores convert into their own.

use std::path::PathBuf;

use sync_core::{FeedError, SchemaError, StoreError};

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or configured.
    #[error(
        "could not open the SQLite database {}: {cause} (check that its directory exists and is writable, \
         and that the file is an SQLite database)",
        .path.display()
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said (in the message, so not also a `source()`).
        cause: rusqlite::Error,
    },
    /// A migration failed; the database stays at the version before it.
    #[error(
        "migration {name} of {} failed: {cause}; the database was left at version {} \
         (fix the cause, e.g. free disk space, and open it again)",
        .path.display(), .version - 1
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The migration's number (the `user_version` it would have set).
        version: u32,
        /// The migration's file name.
        name: &'static str,
        /// What SQLite said (in the message, so not also a `source()`).
        cause: rusqlite::Error,
    },
    /// The file was migrated by a newer build of this crate.
    #[error(
        "{} is at version {found} but this build of sync-sqlite knows versions up to {known}: open it with a \
         newer build, or delete the file to sync again from scratch",
        .path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: u32,
        /// The highest version this build knows.
        known: u32,
    },
    /// The file belongs to another kind of store (a server store opened as a client replica, or the reverse) or
    /// to another application.
    #[error(
        "{} is not a {expected} database (its application_id is {found:#x}): pass the path of a {expected} \
         database, or a new path",
        .path.display()
    )]
    WrongKind {
        /// The database file.
        path: PathBuf,
        /// What kind of database was expected.
        expected: &'static str,
        /// The file's `application_id`.
        found: i32,
    },
    /// The schema passed to open breaks a rule.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The file's tables cannot hold the schema passed to open.
    #[error(
        "the tables of {} do not fit the schema: {message} (open it with the schema it was created with, or \
         use a new file)",
        .path.display()
    )]
    Incompatible {
        /// The database file.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// The thread that owns the connection could not be started.
    #[error("could not start the database thread: {0} (the process may be out of threads or memory)")]
    Thread(std::io::Error),
}

/// A failure of code shared by both stores: SQLite failed, or existing tables do not fit a schema.
#[derive(Debug)]
pub(crate) enum DbError {
    Sql(rusqlite::Error),
    Mismatch(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sql(e)
    }
}

impl DbError {
    pub(crate) fn into_store(self, context: &str) -> StoreError {
        match self {
            DbError::Sql(e) => StoreError::backend(context, e),
            DbError::Mismatch(message) => StoreError::Schema(message),
        }
    }

    pub(crate) fn into_open(self, path: PathBuf) -> Error {
        match self {
            DbError::Sql(cause) => Error::Open { path, cause },
            DbError::Mismatch(message) => Error::Incompatible { path, message },
        }
    }
}

/// The error of a store whose database thread has stopped: a job panicked, or the store is being dropped.
#[derive(Debug, thiserror::Error)]
#[error("the database thread of the store has stopped (see the log for a panic); open the store again")]
pub(crate) struct Stopped;

impl From<Stopped> for StoreError {
    fn from(_: Stopped) -> Self {
        StoreError::Closed
    }
}

impl From<Stopped> for FeedError {
    fn from(e: Stopped) -> Self {
        FeedError::backend("the server store is closed", e)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn sql(message: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(14), Some(message.into()))
    }

    /// Every open-time error names its cause once: in its message, not again as its `source()` (which `{:#}`
    /// and error reporters print after the message).
    #[test]
    fn every_open_error_names_its_cause_once() {
        let path = PathBuf::from("/data/app.db");
        let errors = [
            Error::Open { path: path.clone(), cause: sql("unable to open database file") },
            Error::Migration { path: path.clone(), version: 2, name: "002_x.sql", cause: sql("disk I/O error") },
            Error::TooNew { path: path.clone(), found: 9, known: 1 },
            Error::WrongKind { path: path.clone(), expected: "sync-sqlite client", found: 7 },
            Error::Schema(SchemaError::Invalid("no collections".into())),
            Error::Incompatible { path, message: "column `body` is missing".into() },
            Error::Thread(std::io::Error::other("out of threads")),
        ];
        for e in &errors {
            let text = e.to_string();
            assert!(e.source().is_none_or(|s| !text.contains(&s.to_string())), "cause twice: {text}");
            assert!(!text.contains("Some(") && !text.contains("Error {"), "debug notation: {text}");
        }
        assert!(errors[0].to_string().contains("/data/app.db: unable to open database file (check"));
        assert!(errors[1].to_string().contains("failed: disk I/O error; the database was left at version 1"));
        assert!(errors[6].to_string().contains("out of threads"));
    }
}
