//! [`MediaDir`]: media files named by their SHA-256 in one folder, found through a collection of a server store.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use sync_core::{FeedError, ServerStore, Value};

use crate::media::{MediaFile, MediaSource};

/// Media files kept content-addressed in `root` (`root/<sha256 in lowercase hex>`), described by the rows of a
/// collection of `store` with a size column and a SHA-256 column (and optionally a MIME type column).
///
/// A row is looked up within the requested integration only; a row without a well-formed SHA-256 or size has no
/// file. Naming files by their hash keeps every path the server opens inside `root`, whatever a row says.
pub struct MediaDir {
    store: Arc<dyn ServerStore>,
    root: PathBuf,
    collection: String,
    size_column: String,
    sha256_column: String,
    mime_column: Option<String>,
}

impl MediaDir {
    /// Files in `root`, described by `collection` with the columns `size_bytes`, `sha256` and `mime_type` (see
    /// [`MediaDir::columns`] for others).
    pub fn new(store: Arc<dyn ServerStore>, root: impl Into<PathBuf>, collection: &str) -> Self {
        MediaDir {
            store,
            root: root.into(),
            collection: collection.to_owned(),
            size_column: "size_bytes".into(),
            sha256_column: "sha256".into(),
            mime_column: Some("mime_type".into()),
        }
    }

    /// Other column names: the size in bytes, the SHA-256 (hex), the MIME type (none: every file is
    /// `application/octet-stream`).
    pub fn columns(mut self, size: &str, sha256: &str, mime: Option<&str>) -> Self {
        self.size_column = size.to_owned();
        self.sha256_column = sha256.to_owned();
        self.mime_column = mime.map(str::to_owned);
        self
    }

    /// Where a file with this SHA-256 is kept (also where a seeder should write it).
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(sha256)
    }
}

/// 64 hex digits, lowercased: the only names [`MediaDir`] ever opens.
fn sha256_name(text: &str) -> Option<String> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())).then(|| text.to_ascii_lowercase())
}

#[async_trait]
impl MediaSource for MediaDir {
    async fn locate(&self, scope: &str, media_id: &str) -> Result<Option<MediaFile>, FeedError> {
        let collection = self
            .store
            .schema()
            .collection(&self.collection)
            .ok_or_else(|| FeedError::UnknownCollection(self.collection.clone()))?;
        let column = |name: &str| collection.column_index(name);
        let Some(row) = self.store.get(scope, &self.collection, media_id).await? else { return Ok(None) };
        let cell = |name: &str| column(name).and_then(|i| row.get(i));
        let size = match cell(&self.size_column) {
            Some(Value::Integer(n)) if *n >= 0 => *n as u64,
            _ => return Ok(None),
        };
        let Some(sha256) = (match cell(&self.sha256_column) {
            Some(Value::Text(text)) => sha256_name(text),
            _ => None,
        }) else {
            return Ok(None);
        };
        let content_type = match self.mime_column.as_deref().and_then(cell) {
            Some(Value::Text(mime)) => mime.clone(),
            _ => "application/octet-stream".to_owned(),
        };
        Ok(Some(MediaFile { path: self.path_of(&sha256), size, sha256, content_type }))
    }
}

#[cfg(test)]
mod tests {
    use super::sha256_name;

    #[test]
    fn only_sha256_hex_names_are_opened() {
        assert_eq!(sha256_name(&"AB".repeat(32)), Some("ab".repeat(32)));
        assert_eq!(sha256_name("../../etc/passwd"), None);
        assert_eq!(sha256_name(&format!("{}/x", "a".repeat(62))), None);
        assert_eq!(sha256_name(""), None);
    }
}
