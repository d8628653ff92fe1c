//! A seeded server with real media files, a synced replica, and a downloader over it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use server_example::generate::{Sizes, generate_with_media};
use server_example::media::{MediaPool, MediaProfile};
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sha2::{Digest, Sha256};
use sync_client::{Client, ClientOptions};
use sync_http::{MediaDir, ServerConfig};
use sync_media::{AutoDownload, MediaDownloader, MediaItem, MediaOptions};
use sync_sqlite::SqliteServerStore;
use tempfile::TempDir;

pub const TOKEN_A: &str = "token-a";
pub const TOKEN_ADMIN: &str = "admin";
pub const SCOPE_A: &str = "wa-a";
pub const SCOPE_B: &str = "wa-b";

pub struct Server {
    pub store: Arc<SqliteServerStore>,
    pub running: RunningServer,
    pub dir: TempDir,
    pub pool: MediaPool,
}

/// A server whose integration A has `messages` messages (about 13 % with media) over a small pool of real
/// files (`per_kind` per kind); B has a few. Token A reads A, the admin token both.
pub async fn server(messages: usize, per_kind: usize) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("store"));
    let pool = MediaPool::new(3, MediaProfile::Small, per_kind);
    pool.write(&dir.path().join("media")).expect("write media");
    let sizes = Sizes { conversations: messages / 50 + 1, messages, contacts: 20 };
    generate_with_media(store.as_ref(), SCOPE_A, sizes, 3, &pool, |_| {}).await.expect("seed A");
    let small = Sizes { conversations: 3, messages: 200, contacts: 5 };
    generate_with_media(store.as_ref(), SCOPE_B, small, 4, &pool, |_| {}).await.expect("seed B");
    let tokens = [(TOKEN_A.to_owned(), vec![SCOPE_A.to_owned()]), (TOKEN_ADMIN.to_owned(), vec!["*".to_owned()])];
    let mut config = ServerConfig::new(access(&tokens));
    config.media = Some(Arc::new(MediaDir::new(store.clone(), dir.path().join("media"), "message_media")));
    let running = start(store.clone(), config, "127.0.0.1:0").await.expect("start");
    Server { store, running, dir, pool }
}

impl Server {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Syncs `scope` into the replica `db` with `token`.
    pub async fn sync(&self, db: &Path, token: &str, scope: &str) {
        let options = ClientOptions {
            scope: scope.to_owned(),
            db: db.to_path_buf(),
            url: self.running.url(),
            token: Some(token.to_owned()),
            ..Default::default()
        };
        let client = Client::open_async(options).await.expect("open");
        client.sync(None, None, None).await.expect("sync");
    }

    /// Options for a downloader of the replica `db` into `folder`, talking to `url`.
    pub fn options(&self, db: &Path, folder: &Path, url: &str, token: &str) -> MediaOptions {
        let mut options = MediaOptions::new(db, url, Some(token));
        options.target_dir = Some(folder.to_path_buf());
        options.auto = AutoDownload::everything();
        options.initial_backoff = std::time::Duration::from_millis(5);
        options.max_backoff = std::time::Duration::from_millis(50);
        options
    }

    /// A replica of A synced, and a downloader of it into `<dir>/downloads` over `url`.
    pub async fn downloader(&self, name: &str, url: &str) -> (MediaDownloader, PathBuf) {
        let db = self.path(&format!("{name}.db"));
        self.sync(&db, TOKEN_A, SCOPE_A).await;
        let folder = self.path(&format!("{name}-downloads"));
        (MediaDownloader::open(self.options(&db, &folder, url, TOKEN_A)).expect("open downloader"), folder)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every done item's file is in `folder`, has the record's size and SHA-256; no partial file is left.
pub fn assert_verified(items: &[MediaItem], folder: &Path) {
    for item in items {
        let path = item.path.as_ref().unwrap_or_else(|| panic!("{} has no path: {item:?}", item.media_id));
        assert_eq!(path.parent(), Some(folder), "{path:?}");
        let bytes = std::fs::read(path).expect("read a downloaded file");
        assert_eq!(Some(bytes.len() as u64), item.record.size, "{path:?}");
        assert_eq!(Some(sha256_hex(&bytes)), item.record.sha256, "{path:?}");
    }
    assert_no_partials(folder);
}

pub fn assert_no_partials(folder: &Path) {
    let partials: Vec<_> = std::fs::read_dir(folder.join(".seqsync-partial"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(partials.is_empty(), "stray partial files: {partials:?}");
}
