//! File names a server (or a chat) chose, made safe to create inside the target folder, and the no-clobber move
//! of a verified file into it.
//!
//! A name from a media row is untrusted: it may hold path separators (`../../.bashrc`), a drive or UNC prefix,
//! control characters, characters Windows refuses, a reserved device name (`CON`, `nul.txt`), trailing dots or
//! spaces, or be empty or huge. [`safe_file_name`] keeps one plain final component; [`place`] never replaces an
//! existing file (a hard link fails on an existing name, so "check, then create" has no race) and picks
//! `name (1).ext`, `name (2).ext`… on collisions.

use std::io;
use std::path::{Path, PathBuf};

/// Longest name kept, in bytes (most file systems allow 255; room is left for ` (99)`).
const MAX_NAME: usize = 200;

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// The extension for a MIME type, for media without a file name.
fn extension(mime: Option<&str>) -> &'static str {
    let essence = mime.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// A plain file name for media `media_id` from the record's `file_name` (or, without a usable one, from the id
/// and the MIME type).
pub fn safe_file_name(file_name: Option<&str>, media_id: &str, mime: Option<&str>) -> String {
    let clean = |raw: &str| -> String {
        // The last component whatever the separator: `a/b\c` → `c`.
        let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let kept: String =
            last.chars().map(|c| if c.is_control() || "<>:\"|?*".contains(c) { '_' } else { c }).collect();
        kept.trim_matches(|c: char| c == '.' || c.is_whitespace()).to_owned()
    };
    let mut name = file_name.map(clean).unwrap_or_default();
    if name.is_empty() {
        let id = clean(media_id);
        let id = if id.is_empty() { "media".to_owned() } else { id };
        name = format!("{id}.{}", extension(mime));
    }
    let stem = name.split('.').next().unwrap_or_default();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        name = format!("_{name}");
    }
    truncate(&name, MAX_NAME)
}

/// `name` cut to at most `max` bytes on a character boundary, keeping a short extension.
fn truncate(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).filter(|e| e.len() <= 16).unwrap_or_default();
    let mut cut = max - ext.len() - usize::from(!ext.is_empty());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    if ext.is_empty() { name[..cut].to_owned() } else { format!("{}.{ext}", &name[..cut]) }
}

/// `name (n).ext` for the n-th collision.
fn numbered(name: &str, n: u32) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

/// Moves the verified file `from` into `dir` as `name` (a [`safe_file_name`]), or `name (n).ext` when taken;
/// never replaces a file. Returns where it went.
pub fn place(from: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..10_000 {
        let candidate = if n == 0 { name.to_owned() } else { numbered(name, n) };
        let to = dir.join(&candidate);
        // Defence in depth: whatever the name, the file lands directly in `dir`.
        if to.parent() != Some(dir) || to.file_name().is_none_or(|f| f != candidate.as_str()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unsafe file name {candidate:?}")));
        }
        match std::fs::hard_link(from, &to) {
            Ok(()) => {
                std::fs::remove_file(from)?;
                return Ok(to);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // A file system without hard links (FAT, some network shares): check, then rename.
            Err(_) if !to.exists() => {
                std::fs::rename(from, &to)?;
                return Ok(to);
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("10,000 files named like {name:?} already exist")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_names() {
        let cases = [
            ("../../.bashrc", "bashrc"),
            ("..\\..\\Windows\\System32\\evil.dll", "evil.dll"),
            ("C:\\boot.ini", "boot.ini"),
            ("/etc/passwd", "passwd"),
            ("report.pdf", "report.pdf"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1.tar.gz", "_com1.tar.gz"),
            ("a\u{0}b\nc?.pdf", "a_b_c_.pdf"),
            ("trailing. . ", "trailing"),
            ("..", "m1.jpg"),
            ("", "m1.jpg"),
            ("photo 📷.jpg", "photo 📷.jpg"),
        ];
        for (raw, expected) in cases {
            assert_eq!(safe_file_name(Some(raw), "m1", Some("image/jpeg")), expected, "{raw:?}");
        }
        assert_eq!(safe_file_name(None, "../x", Some("audio/ogg; codecs=opus")), "x.ogg");
        assert_eq!(safe_file_name(None, "..", None), "media.bin");
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = safe_file_name(Some(&long), "m", None);
        assert!(cut.len() <= MAX_NAME && cut.ends_with(".pdf"), "{cut}");
    }

    #[test]
    fn placing_never_replaces_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), "theirs").expect("write");
        for i in 1..=2 {
            let from = dir.path().join(format!("p{i}"));
            std::fs::write(&from, format!("ours {i}")).expect("write");
            let to = place(&from, dir.path(), "a.txt").expect("place");
            assert_eq!(to, dir.path().join(format!("a ({i}).txt")));
            assert!(!from.exists());
        }
        assert_eq!(std::fs::read_to_string(dir.path().join("a.txt")).expect("read"), "theirs");
    }
}
