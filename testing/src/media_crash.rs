//! Media crash trials: `sync-cli media` killed with SIGKILL while it downloads, restarted, and checked: every
//! file in the download folder verified, each resume starting from the partial file's length, no stray partial
//! files at the end. The server counts the body bytes it sends, so the bytes fetched twice are measured.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use axum::body::Body;
use axum::response::Response;
use futures::StreamExt as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::generate::{Sizes, generate_with_media};
use server_example::media::{MediaPool, MediaProfile};
use server_example::serve::access;
use server_example::whatsapp;
use sha2::{Digest, Sha256};
use sync_http::{MediaDir, ServerConfig, router, serve};
use sync_sqlite::SqliteServerStore;

use crate::procs::{Binaries, ClientKind, SCOPE, TOKEN, run_client};

/// What a series of media trials did.
#[derive(Clone, Debug, Default)]
pub struct MediaReport {
    /// Kills that left a partial file (a download cut mid-file).
    pub kills: usize,
    /// Runs killed with no file in progress, or that finished before their kill (not counted as trials).
    pub missed: usize,
    /// Times the whole set was downloaded and verified (the set is then deleted and queued again).
    pub rounds: usize,
    /// Files verified in the folder.
    pub files_verified: usize,
    /// Bytes of partial files found after the kills (each length once): what the next attempts must not fetch
    /// again.
    pub partial_bytes: u64,
    /// Bytes the next attempts resumed from (the sum of their `Range` offsets).
    pub resumed_bytes: u64,
    /// Body bytes the server sent.
    pub served_bytes: u64,
    /// Bytes of the files downloaded (each file once per round).
    pub needed_bytes: u64,
}

impl MediaReport {
    /// Bytes sent more than once: lost in flight at a kill (written by the server, never on the client's disk).
    pub fn refetched_bytes(&self) -> u64 {
        self.served_bytes.saturating_sub(self.needed_bytes)
    }
}

/// The media router, its bodies cut into 16 KB pieces sent at about `rate` bytes per second per download (so a
/// kill lands mid-file), counted into `served`.
fn throttled(router: axum::Router, served: Arc<AtomicU64>, rate: u64) -> axum::Router {
    let piece = Duration::from_secs_f64(16_384.0 / rate as f64);
    router.layer(axum::middleware::map_response(move |response: Response| {
        let served = served.clone();
        async move {
            if !response.headers().contains_key("accept-ranges") {
                return response;
            }
            let (parts, body) = response.into_parts();
            let pieces = body.into_data_stream().flat_map(|chunk| {
                let chunks: Vec<_> = match chunk {
                    Ok(bytes) => (0..bytes.len())
                        .step_by(16_384)
                        .map(|i| Ok(bytes.slice(i..(i + 16_384).min(bytes.len()))))
                        .collect(),
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(chunks)
            });
            let paced = pieces.then(move |piece_bytes| {
                let served = served.clone();
                async move {
                    tokio::time::sleep(piece).await;
                    if let Ok(bytes) = &piece_bytes {
                        served.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    }
                    piece_bytes
                }
            });
            Response::from_parts(parts, Body::from_stream(paced))
        }
    }))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The partial files and their lengths.
fn partials(folder: &Path) -> Vec<(PathBuf, u64)> {
    std::fs::read_dir(folder.join(".seqsync-partial"))
        .map(|d| d.filter_map(Result::ok).map(|e| (e.path(), e.metadata().map_or(0, |m| m.len()))).collect())
        .unwrap_or_default()
}

/// Every file in `folder` is a whole, verified file of the pool; returns how many there are.
fn check_folder(folder: &Path, hashes: &HashMap<String, u64>) -> anyhow::Result<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        ensure!(
            hashes.contains_key(&sha256_hex(&bytes)),
            "{} is not a verified file ({} bytes)",
            path.display(),
            bytes.len()
        );
        n += 1;
    }
    Ok(n)
}

/// Sums a column of the queue table.
fn queue_sum(db: &Path, column: &str) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open(db)?;
    let sum: i64 =
        conn.query_row(&format!("SELECT coalesce(sum({column}), 0) FROM media_downloads"), [], |r| r.get(0))?;
    Ok(sum as u64)
}

/// `trials` kills of `sync-cli media` mid-file. The integration's media rows point at `per_kind` files of each
/// kind (the small profile); downloads are paced at `rate` bytes per second each.
pub async fn media_kills(
    bins: &Binaries,
    trials: usize,
    per_kind: usize,
    rate: u64,
    seed: u64,
) -> anyhow::Result<MediaReport> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema())?);
    let pool = MediaPool::new(seed, MediaProfile::Small, per_kind);
    pool.write(&dir.path().join("media"))?;
    let hashes: HashMap<String, u64> = pool.files().iter().map(|f| (f.sha256.clone(), f.size)).collect();
    let sizes = Sizes { conversations: 5, messages: 300, contacts: 5 };
    generate_with_media(store.as_ref(), SCOPE, sizes, seed, &pool, |_| {}).await?;
    let mut config = ServerConfig::new(access(&[(TOKEN.to_owned(), vec![SCOPE.to_owned()])]));
    config.media = Some(Arc::new(MediaDir::new(store.clone(), dir.path().join("media"), "message_media")));
    let served = Arc::new(AtomicU64::new(0));
    let app = throttled(router(store.clone(), config), served.clone(), rate);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener, app, std::future::pending()));

    let (db, folder, log) = (dir.path().join("client.db"), dir.path().join("downloads"), dir.path().join("client.log"));
    run_client(bins.client(ClientKind::Cli, &db, &url, &log)?, &log)?;
    let media = |quiet_log: &Path| -> anyhow::Result<Command> {
        let mut c = Command::new(&bins.sync_cli);
        c.args(["media", "--quiet", "--all", "--integration", SCOPE, "--token", TOKEN, "--url", &url]);
        c.arg("--db").arg(&db).arg("--dir").arg(&folder);
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(quiet_log)?);
        Ok(c)
    };
    // One uninterrupted round sets the range of the kill instants.
    let started = std::time::Instant::now();
    run_client(media(&log)?, &log)?;
    let full = started.elapsed();
    let mut report = MediaReport::default();
    // A finished round: every file verified, then the set is deleted and queued again from nothing.
    let new_round = |report: &mut MediaReport| -> anyhow::Result<()> {
        report.resumed_bytes += queue_sum(&db, "resumed_bytes")?;
        report.needed_bytes += queue_sum(&db, "size")?;
        report.files_verified += check_folder(&folder, &hashes)?;
        report.rounds += 1;
        std::fs::remove_dir_all(&folder)?;
        rusqlite::Connection::open(&db)?.execute("DELETE FROM media_downloads", [])?;
        Ok(())
    };
    new_round(&mut report)?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut attempts = 0;
    let mut seen: HashMap<PathBuf, u64> = HashMap::new();
    while report.kills < trials {
        attempts += 1;
        ensure!(attempts < trials * 5 + 20, "too few kills landed mid-file: {report:?}");
        let mut child = media(&log)?.spawn().context("cannot start sync-cli media")?;
        tokio::time::sleep(full.mul_f64(rng.random_range(0.05..0.6))).await;
        let finished = child.try_wait()?.is_some();
        if !finished {
            child.kill().context("SIGKILL sync-cli media")?;
        }
        let status = child.wait()?;
        if status.code().is_some() && !status.success() {
            bail!("sync-cli media failed ({status}): {}", std::fs::read_to_string(&log).unwrap_or_default().trim());
        }
        check_folder(&folder, &hashes).context("after a kill")?;
        let cut: Vec<(PathBuf, u64)> = partials(&folder).into_iter().filter(|(_, len)| *len > 0).collect();
        if finished || cut.is_empty() {
            report.missed += 1;
        } else {
            report.kills += 1;
        }
        // A partial file not touched since the last kill (its item had not started again) counts once.
        for (path, len) in cut {
            if seen.insert(path, len) != Some(len) {
                report.partial_bytes += len;
            }
        }
        if finished {
            new_round(&mut report)?;
            seen.clear();
        }
    }
    run_client(media(&log)?, &log)?;
    ensure!(partials(&folder).is_empty(), "stray partial files: {:?}", partials(&folder));
    new_round(&mut report)?;
    report.served_bytes = served.load(Ordering::Relaxed);
    ensure!(
        report.resumed_bytes >= report.partial_bytes,
        "resumed from {} bytes, but the kills left {} bytes of partial files",
        report.resumed_bytes,
        report.partial_bytes
    );
    Ok(report)
}
