//! Media placeholders of WhatsApp exports: Android's `<Media omitted>`, iOS's `image omitted` (and video, audio,
//! sticker, document, GIF), and the `<attached: NAME>` / `NAME (file attached)` lines of exports made with media.
//! The media files themselves are not in the text: a placeholder becomes a message of its type and a
//! `message_media` record with a MIME type guessed from the placeholder or the file's extension.

use super::whatsapp_export::{Kind, MARKS, Media};

/// The kind and media record of a placeholder line, `None` for text.
pub(crate) fn placeholder(text: &str) -> Option<(Kind, Media)> {
    let media = |kind, mime_type, file_name: Option<&str>| {
        Some((kind, Media { mime_type, file_name: file_name.map(str::to_owned) }))
    };
    match text {
        "<Media omitted>" => return media(Kind::Document, "application/octet-stream", None),
        "image omitted" => return media(Kind::Image, "image/jpeg", None),
        "video omitted" => return media(Kind::Video, "video/mp4", None),
        "GIF omitted" => return media(Kind::Video, "video/mp4", None),
        "audio omitted" => return media(Kind::Audio, "audio/ogg; codecs=opus", None),
        "sticker omitted" => return media(Kind::Sticker, "image/webp", None),
        _ => {}
    }
    if let Some(rest) = text.strip_suffix("document omitted") {
        // iOS: `report.pdf • ‎3 pages ‎document omitted`.
        let name = rest.split(" • ").next().map(|n| n.trim_matches(|c: char| c.is_whitespace() || MARKS.contains(&c)));
        let name = name.filter(|n| !n.is_empty());
        return media(Kind::Document, name.map_or("application/octet-stream", mime_of), name);
    }
    let name = text
        .strip_prefix("<attached: ")
        .and_then(|t| t.strip_suffix('>'))
        .or_else(|| text.strip_suffix(" (file attached)"))?;
    let upper = name.to_ascii_uppercase();
    let mime = mime_of(name);
    let kind = if upper.contains("-STICKER-") || mime == "image/webp" {
        Kind::Sticker
    } else if upper.contains("-GIF-") || mime.starts_with("video/") {
        Kind::Video
    } else if mime.starts_with("image/") {
        Kind::Image
    } else if mime.starts_with("audio/") {
        Kind::Audio
    } else {
        Kind::Document
    };
    media(kind, mime, Some(name))
}

fn mime_of(file_name: &str) -> &'static str {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "opus" | "ogg" => "audio/ogg; codecs=opus",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "pdf" => "application/pdf",
        "vcf" => "text/vcard",
        _ => "application/octet-stream",
    }
}
