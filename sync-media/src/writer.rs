//! The partial file's writer: a blocking thread that appends chunks and hashes them, so that disk writes and
//! SHA-256 run beside the network reads rather than between them. Its channel is bounded, so a slow disk slows
//! the download instead of filling memory.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// Chunks in flight between the network and the disk (each up to a few hundred KB).
const DEPTH: usize = 16;

/// A running writer.
pub(crate) struct Writer {
    chunks: mpsc::Sender<Bytes>,
    done: tokio::task::JoinHandle<std::io::Result<(u64, String)>>,
}

impl Writer {
    /// Starts writing `path` at `offset`: the first `offset` bytes already there are kept (and hashed, so the
    /// final hash covers the whole file); anything after them is cut off. `offset` 0 starts a new file.
    pub(crate) fn start(path: PathBuf, offset: u64) -> Writer {
        let (chunks, mut received) = mpsc::channel::<Bytes>(DEPTH);
        let done = tokio::task::spawn_blocking(move || {
            let mut file = OpenOptions::new().create(true).read(true).write(true).truncate(false).open(&path)?;
            file.set_len(offset)?;
            let mut hasher = Sha256::new();
            hash_prefix(&mut file, offset, &mut hasher)?;
            let mut len = offset;
            // Each chunk goes to the kernel as it comes (no user-space buffer): a killed process loses only what
            // is still in the channel, and the partial file's length is exactly what the next attempt skips.
            while let Some(chunk) = received.blocking_recv() {
                file.write_all(&chunk)?;
                hasher.update(&chunk);
                len += chunk.len() as u64;
            }
            // Only what reached the disk may count as downloaded after a crash; a partial file's length is the
            // offset the next attempt resumes from.
            file.sync_data()?;
            Ok((len, hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()))
        });
        Writer { chunks, done }
    }

    /// Queues a chunk; false when the writer has stopped (its error comes from [`Writer::finish`]).
    pub(crate) async fn write(&self, chunk: Bytes) -> bool {
        self.chunks.send(chunk).await.is_ok()
    }

    /// Flushes and syncs the file; its length and the SHA-256 of all of it.
    pub(crate) async fn finish(self) -> std::io::Result<(u64, String)> {
        drop(self.chunks);
        self.done.await.map_err(std::io::Error::other)?
    }
}

fn hash_prefix(file: &mut File, len: u64, hasher: &mut Sha256) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = len;
    let mut reader = file.try_clone()?;
    std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(0))?;
    while left > 0 {
        let want = left.min(buffer.len() as u64) as usize;
        let n = reader.read(&mut buffer[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buffer[..n]);
        left -= n as u64;
    }
    std::io::Seek::seek(file, std::io::SeekFrom::Start(len))?;
    Ok(())
}
