//! Integration tests of both SQLite stores: the core's conformance suites, and what only a file can show
//! (durability across reopening, migrations, schema changes, atomicity of failed transactions).

// The modules live in `store/` so that Cargo builds one test binary, not one per file.
#[path = "store/client.rs"]
mod client;
#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/deferred.rs"]
mod deferred;
#[path = "store/end_to_end.rs"]
mod end_to_end;
#[path = "store/held.rs"]
mod held;
#[path = "store/push.rs"]
mod push;
#[path = "store/read.rs"]
mod read;
#[path = "store/search.rs"]
mod search;
#[path = "store/server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::Mutex;

use tempfile::TempDir;

/// Temporary directories kept alive until the test ends, one per store file.
#[derive(Default)]
pub struct Dirs(Mutex<Vec<TempDir>>);

impl Dirs {
    /// A path to a new database file in a new directory.
    pub fn path(&self, name: &str) -> PathBuf {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(name);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
        path
    }
}

/// Opens a plain connection to a store's file, as an app's UI would.
pub fn raw(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open the file directly")
}
