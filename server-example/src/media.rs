//! Real media files for generated integrations: a small pool of files per kind (image, video, voice note,
//! document, sticker) that the generated `message_media` rows point at by size and SHA-256, written
//! content-addressed (`<dir>/<sha256>`) where [`sync_http::MediaDir`] serves them.
//!
//! Many rows share one file (as forwarded media do), so a 200,000-message seed needs a few files, not tens of
//! thousands. Contents are deterministic (the same seed gives the same bytes), start with their format's magic
//! bytes so file managers recognise the kind, and are random after that (incompressible, like real media).

use std::io::Write as _;
use std::path::Path;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// How large the generated files are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MediaProfile {
    /// Kilobytes each (about 2 MB for the default pool): fast to seed, small on disk; the default, for the
    /// demo and CI.
    #[default]
    Small,
    /// Realistic sizes: images up to 5 MB, voice notes up to 2 MB, documents up to 20 MB, videos up to 50 MB.
    Realistic,
}

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolFile {
    /// The message kind it belongs to (`image`, `video`, `audio`, `document`, `sticker`).
    pub kind: &'static str,
    /// Its length in bytes.
    pub size: u64,
    /// Its SHA-256 in lowercase hex (its file name in the media folder).
    pub sha256: String,
    seed: u64,
}

/// The files the generated media rows point at.
#[derive(Clone, Debug)]
pub struct MediaPool {
    files: Vec<PoolFile>,
}

const KINDS: [&str; 5] = ["image", "video", "audio", "document", "sticker"];
const CHUNK: usize = 256 * 1024;

fn size_range(kind: &str, profile: MediaProfile) -> std::ops::Range<u64> {
    const K: u64 = 1024;
    const M: u64 = 1024 * 1024;
    match (profile, kind) {
        (MediaProfile::Small, "video") => 100 * K..400 * K,
        (MediaProfile::Small, "audio" | "sticker") => 5 * K..60 * K,
        (MediaProfile::Small, _) => 20 * K..200 * K,
        (MediaProfile::Realistic, "image") => 300 * K..5 * M,
        (MediaProfile::Realistic, "video") => 5 * M..50 * M,
        (MediaProfile::Realistic, "audio") => 50 * K..2 * M,
        (MediaProfile::Realistic, "document") => 100 * K..20 * M,
        (MediaProfile::Realistic, _) => 20 * K..100 * K,
    }
}

fn magic(kind: &str) -> &'static [u8] {
    match kind {
        "image" => b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00",
        "video" => b"\x00\x00\x00\x18ftypmp42",
        "audio" => b"OggS\x00\x02",
        "document" => b"%PDF-1.4\n",
        _ => b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    }
}

impl PoolFile {
    /// The file's bytes, chunk by chunk (memory stays flat whatever the size).
    fn chunks(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut left = self.size;
        let mut first = true;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let mut chunk = vec![0u8; CHUNK.min(left as usize)];
            rng.fill_bytes(&mut chunk);
            if std::mem::take(&mut first) {
                let magic = magic(self.kind);
                let n = magic.len().min(chunk.len());
                chunk[..n].copy_from_slice(&magic[..n]);
            }
            left -= chunk.len() as u64;
            Some(chunk)
        })
    }
}

impl MediaPool {
    /// `per_kind` files of each kind (at least one), sized by `profile`, from `seed`. Hashes every byte, so a
    /// realistic pool takes a moment.
    pub fn new(seed: u64, profile: MediaProfile, per_kind: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006d_6564_6961);
        let mut files = Vec::new();
        for kind in KINDS {
            for _ in 0..per_kind.max(1) {
                let mut file = PoolFile {
                    kind,
                    size: rng.random_range(size_range(kind, profile)),
                    sha256: String::new(),
                    seed: rng.random(),
                };
                let mut hasher = Sha256::new();
                file.chunks().for_each(|chunk| hasher.update(&chunk));
                file.sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
                files.push(file);
            }
        }
        MediaPool { files }
    }

    /// A file of `kind` for a media row, drawn with `rng`; `None` for a kind without media.
    pub fn pick(&self, kind: &str, rng: &mut impl Rng) -> Option<&PoolFile> {
        let of_kind: Vec<&PoolFile> = self.files.iter().filter(|f| f.kind == kind).collect();
        (!of_kind.is_empty()).then(|| of_kind[rng.random_range(0..of_kind.len())])
    }

    /// Every file of the pool.
    pub fn files(&self) -> &[PoolFile] {
        &self.files
    }

    /// Writes every file to `dir/<sha256>` (creating `dir`), each through a temporary name renamed into place,
    /// skipping those already there with the right size; returns the bytes written.
    pub fn write(&self, dir: &Path) -> std::io::Result<u64> {
        std::fs::create_dir_all(dir)?;
        let mut written = 0;
        for file in &self.files {
            let path = dir.join(&file.sha256);
            if std::fs::metadata(&path).is_ok_and(|m| m.len() == file.size) {
                continue;
            }
            let partial = dir.join(format!(".{}.partial", file.sha256));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
            file.chunks().try_for_each(|chunk| out.write_all(&chunk))?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&partial, &path)?;
            written += file.size;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_files_have_the_recorded_size_and_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = MediaPool::new(7, MediaProfile::Small, 2);
        assert_eq!(pool.files().len(), 10);
        assert!(pool.write(dir.path()).expect("write") > 0);
        for file in pool.files() {
            let bytes = std::fs::read(dir.path().join(&file.sha256)).expect("read");
            assert_eq!(bytes.len() as u64, file.size);
            let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hash, file.sha256);
            assert!(bytes.starts_with(&magic(file.kind)[..4]));
        }
        assert_eq!(pool.write(dir.path()).expect("again"), 0, "files already there are kept");
        assert_eq!(MediaPool::new(7, MediaProfile::Small, 2).files(), pool.files(), "deterministic");
    }
}
