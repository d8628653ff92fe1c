//! WhatsApp's "Export chat" with media: a ZIP of the chat's text (`_chat.txt` from iOS, `WhatsApp Chat with
//! NAME.txt` from Android) and the files its attachment lines name (`<attached: NAME>`, `NAME (file attached)`).
//!
//! The chat is parsed before any byte is written, so a bad export writes nothing. Each attached file is then
//! copied into the media folder content-addressed (`<dir>/<sha256>`, where `serve` finds it), and its
//! `message_media` row gets its size and SHA-256. Entries are read only by name match and stored only under their
//! hash, so an entry's path (`../`, absolute, a device name) never decides where anything is written. An attachment
//! line whose file is not in the archive keeps a row without size or hash, with a warning.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};
use sync_core::ServerStore;

use super::decode::decode;
use super::export_rows::{Attachment, ExportOptions, Imported, conversation_name, import_text};
use super::whatsapp_export::parse_with;

/// The largest chat text read from an archive: far above any real export, small enough to refuse a bomb.
const MAX_CHAT_BYTES: u64 = 256 * 1024 * 1024;
/// The largest attached file copied (WhatsApp itself sends documents up to 2 GB).
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Imports the export ZIP at `path` into `scope`, its attached files into `media_dir`.
pub async fn import_zip(
    store: &dyn ServerStore,
    scope: &str,
    path: &Path,
    options: &ExportOptions,
    media_dir: &Path,
) -> anyhow::Result<Imported> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a ZIP archive (an \"Export chat\" with media is one)", path.display()))?;
    let chat = chat_entry(&archive).with_context(|| path.display().to_string())?;
    let bytes = read_entry(&mut archive, &chat, MAX_CHAT_BYTES)?;
    let text = decode(&bytes, options.encoding).with_context(|| format!("{}: {chat}", path.display()))?;
    // Parsed here first: a chat that does not parse leaves the media folder untouched too.
    let export = parse_with(&text, options.date_order).with_context(|| format!("{}: {chat}", path.display()))?;
    let wanted: HashSet<String> = export.messages.iter().filter_map(|m| m.media.as_ref()?.file_name.clone()).collect();
    let attachments = copy_attachments(&mut archive, &wanted, media_dir)?;

    let chat_name = base_name(&chat);
    let file_name = match conversation_name(chat_name) {
        Some(_) => chat_name.to_owned(),
        // iOS names the text `_chat.txt`: the archive's name says whose chat it is.
        None => path.file_stem().map(|s| format!("{}.txt", s.to_string_lossy())).unwrap_or_default(),
    };
    let mut missing: Vec<&str> =
        wanted.iter().filter(|name| !attachments.contains_key(*name)).map(String::as_str).collect();
    missing.sort_unstable();
    let options = ExportOptions { attachments, ..options.clone() };
    let mut imported = import_text(store, scope, &file_name, &text, &options).await?;
    if !missing.is_empty() {
        let list = missing.join(", ");
        imported.warnings.push(format!("attached files not in the archive (rows kept without a file): {list}"));
    }
    Ok(imported)
}

/// The chat's text: the archive's one `.txt` entry, or, when a text file was attached too, the one named as
/// exports name it (`_chat.txt`, `WhatsApp…`).
fn chat_entry(archive: &zip::ZipArchive<File>) -> anyhow::Result<String> {
    let texts: Vec<&str> = archive.file_names().filter(|n| n.to_ascii_lowercase().ends_with(".txt")).collect();
    let named: Vec<&str> =
        texts.iter().copied().filter(|n| base_name(n) == "_chat.txt" || base_name(n).starts_with("WhatsApp")).collect();
    match (texts.as_slice(), named.as_slice()) {
        ([one], _) | (_, [one]) => Ok((*one).to_owned()),
        ([], _) => bail!("no chat text in the archive: an export has `_chat.txt` or `WhatsApp Chat with NAME.txt`"),
        (_, _) => bail!("cannot tell the chat's text among {}: import the text file itself", texts.join(", ")),
    }
}

fn read_entry(archive: &mut zip::ZipArchive<File>, name: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
    let entry = archive.by_name(name).with_context(|| format!("reading {name} from the archive"))?;
    let mut bytes = Vec::new();
    entry.take(limit + 1).read_to_end(&mut bytes).with_context(|| format!("reading {name} from the archive"))?;
    if bytes.len() as u64 > limit {
        bail!("{name} is larger than {limit} bytes: not a chat export");
    }
    Ok(bytes)
}

/// Copies every entry whose file name an attachment line names into `dir` under its SHA-256.
fn copy_attachments(
    archive: &mut zip::ZipArchive<File>,
    wanted: &HashSet<String>,
    dir: &Path,
) -> anyhow::Result<HashMap<String, Attachment>> {
    let mut copied = HashMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let name = base_name(entry.name()).to_owned();
        if entry.is_dir() || !wanted.contains(&name) || copied.contains_key(&name) {
            continue;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating the media folder {}", dir.display()))?;
        let attachment = store_file(&mut entry, &name, dir)?;
        copied.insert(name, attachment);
    }
    Ok(copied)
}

/// Streams one file into `dir` through a temporary name, hashing it, then renames it to its hash.
fn store_file(entry: &mut impl Read, name: &str, dir: &Path) -> anyhow::Result<Attachment> {
    let partial = dir.join(format!(".import-{}-{}.partial", std::process::id(), super::stable_id(&[name])));
    let result = (|| {
        let mut out = std::io::BufWriter::new(File::create(&partial)?);
        let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0u8; 256 * 1024]);
        let mut limited = entry.take(MAX_FILE_BYTES + 1);
        loop {
            let n = limited.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            size += n as u64;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok::<_, std::io::Error>((size, hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>()))
    })();
    let (size, sha256) = match result {
        Ok(done) if done.0 <= MAX_FILE_BYTES => done,
        Ok(_) => {
            let _ = std::fs::remove_file(&partial);
            bail!("{name} in the archive is larger than {MAX_FILE_BYTES} bytes: not imported");
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e).with_context(|| format!("copying {name} into {}", dir.display()));
        }
    };
    std::fs::rename(&partial, dir.join(&sha256)).with_context(|| format!("storing {name} in {}", dir.display()))?;
    Ok(Attachment { size, sha256 })
}

/// An entry's file name without its folders (either separator: archives made on Windows use `\`).
fn base_name(entry: &str) -> &str {
    entry.rsplit(['/', '\\']).next().unwrap_or(entry)
}
