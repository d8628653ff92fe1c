//! One attempt at one download: resume the partial file with `Range`, stream the body to disk, check every
//! claim the server makes against the media record, verify size and SHA-256, move the file into the folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, RANGE};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::error::{Failure, MediaError};
use crate::item::MediaItem;
use crate::names::{place, safe_file_name};
use crate::queue::Queue;
use crate::writer::Writer;

/// How one attempt ended, when not with a file.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// Its token was cancelled (pause, cancel, or the media changed).
    Cancelled,
    /// It failed.
    Failed(Failure),
}

impl From<Failure> for Stopped {
    fn from(failure: Failure) -> Self {
        Stopped::Failed(failure)
    }
}

/// Everything an attempt needs that does not change between attempts.
pub(crate) struct Fetcher {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Option<String>,
    /// The target folder.
    pub(crate) folder: PathBuf,
    /// Partial files, in the target folder so that the final move is a rename on one file system.
    pub(crate) partials: PathBuf,
}

/// Runs a blocking queue call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    queue: &Arc<Queue>,
    f: impl FnOnce(&Queue) -> Result<T, MediaError> + Send + 'static,
) -> Result<T, MediaError> {
    let queue = queue.clone();
    tokio::task::spawn_blocking(move || f(&queue))
        .await
        .unwrap_or_else(|e| Err(MediaError::Internal(format!("a queue task failed: {e}"))))
}

fn transient(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Transient(format!("{what}: {e}; will retry"))
}

fn disk(e: impl std::fmt::Display) -> Failure {
    Failure::Disk(e.to_string())
}

impl Fetcher {
    pub(crate) fn new(
        url: &str,
        token: Option<String>,
        folder: PathBuf,
        read_timeout: Duration,
    ) -> Result<Fetcher, MediaError> {
        let bad = |why: String| MediaError::Http { url: url.to_owned(), why };
        let base = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if base.cannot_be_a_base() {
            return Err(bad("not a base URL".into()));
        }
        let http = reqwest::Client::builder()
            .read_timeout(read_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let partials = folder.join(".seqsync-partial");
        std::fs::create_dir_all(&partials)
            .map_err(|e| MediaError::Folder { path: partials.clone(), why: e.to_string() })?;
        if std::fs::symlink_metadata(&partials).map(|m| m.file_type().is_symlink()).unwrap_or(true) {
            return Err(MediaError::Folder { path: partials, why: "the partial files' folder is a symlink".into() });
        }
        Ok(Fetcher { http, base, token, folder, partials })
    }

    /// The partial file of an item: named by a hash of its key, so no server-chosen text reaches a path.
    pub(crate) fn partial(&self, scope: &str, media_id: &str) -> PathBuf {
        let key = Sha256::new().chain_update(scope).chain_update([0u8]).chain_update(media_id).finalize();
        let name: String = key.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.partials.join(format!("{name}.part"))
    }

    fn url(&self, scope: &str, media_id: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["media", scope, media_id]);
        }
        url
    }

    /// One attempt at `item`; `progress` gets the bytes on disk as they grow.
    pub(crate) async fn attempt(
        &self,
        queue: &Arc<Queue>,
        item: &MediaItem,
        cancel: &CancellationToken,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<PathBuf, Stopped> {
        let (Some(size), Some(sha256)) = (item.record.size, item.record.sha256.clone()) else {
            return Err(Failure::Unverifiable.into());
        };
        let partial = self.partial(&item.scope, &item.media_id);
        let mut offset = std::fs::metadata(&partial).map_or(0, |m| m.len());
        if offset > size {
            offset = 0;
        }
        let (scope, id) = (item.scope.clone(), item.media_id.clone());
        let etag = blocking(queue, move |q| q.start_attempt(&scope, &id, offset, size)).await.map_err(disk)?;
        let mut request = self.http.get(self.url(&item.scope, &item.media_id));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
            if let Some(etag) = &etag {
                request = request.header(IF_RANGE, etag);
            }
        }
        let response = tokio::select! {
            response = request.send() => response.map_err(|e| transient("the request failed", e))?,
            () = cancel.cancelled() => return Err(Stopped::Cancelled),
        };
        let start = self.check_head(&response, offset, size, &partial)?;
        let served_etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (scope, id) = (item.scope.clone(), item.media_id.clone());
        blocking(queue, move |q| q.set_etag(&scope, &id, served_etag.as_deref())).await.map_err(disk)?;
        let written =
            Self::stream(response, Writer::start(partial.clone(), start), (start, size), cancel, progress).await;
        let (len, got) = written?;
        if len != size {
            return Err(transient("the body ended early", format!("{len} of {size} bytes")).into());
        }
        if got != sha256 {
            let _ = std::fs::remove_file(&partial);
            return Err(Failure::Hash { got }.into());
        }
        let name = safe_file_name(item.record.file_name.as_deref(), &item.media_id, item.record.mime_type.as_deref());
        let (folder, from) = (self.folder.clone(), partial);
        let placed = tokio::task::spawn_blocking(move || place(&from, &folder, &name)).await.map_err(disk)?;
        Ok(placed.map_err(disk)?)
    }

    /// Checks the status and headers against the record; the offset the body starts at.
    fn check_head(&self, response: &reqwest::Response, offset: u64, size: u64, partial: &Path) -> Result<u64, Failure> {
        let status = response.status();
        let start = match status {
            StatusCode::OK => 0,
            StatusCode::PARTIAL_CONTENT => {
                let range = response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
                let expected = format!("bytes {offset}-{}/{size}", size.saturating_sub(1));
                if range != expected {
                    return Err(Failure::Mismatch(format!("asked for {expected}, got Content-Range {range:?}")));
                }
                offset
            }
            StatusCode::NOT_FOUND => return Err(Failure::NotFound),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(Failure::Denied(status.as_u16())),
            StatusCode::RANGE_NOT_SATISFIABLE => {
                // The partial copy is longer than the server's file: start over.
                let _ = std::fs::remove_file(partial);
                return Err(transient("the server refused the resume range", status));
            }
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                return Err(transient("the server answered", s));
            }
            s => return Err(Failure::Mismatch(format!("unexpected HTTP {s}"))),
        };
        let length = response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        match length {
            Some(n) if n != size - start => Err(Failure::Mismatch(format!(
                "the server announced {n} bytes from {start}, the record says {size} in all"
            ))),
            _ => Ok(start),
        }
    }

    /// Streams the body into `writer`; the file's length and hash once it ends.
    async fn stream(
        mut response: reqwest::Response,
        writer: Writer,
        (start, size): (u64, u64),
        cancel: &CancellationToken,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<(u64, String), Stopped> {
        let mut at = start;
        let mut outcome = Ok(());
        let mut last = Instant::now();
        progress(at, size);
        loop {
            let chunk = tokio::select! {
                chunk = response.chunk() => chunk,
                () = cancel.cancelled() => { outcome = Err(Stopped::Cancelled); break }
            };
            match chunk {
                Ok(Some(chunk)) => {
                    at += chunk.len() as u64;
                    if at > size {
                        outcome = Err(Failure::Mismatch(format!("the server sent more than {size} bytes")).into());
                        break;
                    }
                    if !writer.write(chunk).await {
                        break;
                    }
                    if last.elapsed() >= Duration::from_millis(20) || at == size {
                        last = Instant::now();
                        progress(at, size);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    outcome = Err(transient("the download broke off", e).into());
                    break;
                }
            }
        }
        // What arrived is kept either way: the next attempt resumes after it.
        let (len, hash) = writer.finish().await.map_err(disk)?;
        outcome.map(|()| (len, hash))
    }
}
