//! A parser for the text files of WhatsApp's "Export chat" (Android and iOS).
//!
//! A message starts with a header line, continuation lines belong to the message above:
//! - Android: `12/31/23, 9:41 PM - Ana: text` or `31.12.2023, 21:41 - Ana: text`;
//! - iOS: `[31/12/2023, 21:41:05] Ana: text` or `[12/31/23, 9:41:05 PM] Ana: text`, often with a U+200E mark
//!   before the line or the text and a narrow no-break space (U+202F) before AM/PM;
//! - year first (Swedish, Lithuanian, Canadian English, Chinese, Japanese, Korean phones): `2023-12-31 21:41 - Ana:
//!   text`, `[2023/12/31 21:41:05] Ana: text`, `[2023.12.31 下午9:41:05] Ana: text`, `2023. 12. 31. 오후 9:41 - Ana: text`.
//!
//! Dates use `/`, `.` or `-` and two- or four-digit years (two digits mean 20yy); [`super::dates`] decides per file
//! which field is the day. A 12-hour clock is marked after the time (`PM`, `p.m.`, `p. m.`) or, in Chinese,
//! Japanese and Korean, before it (`下午`, `午後`, `오후`). Exports carry no time zone: the clock is read as UTC, so `sent_at` is the wall-clock time in Unix ms.

use std::fmt;

use super::dates::{DateOrder, Resolution, Stamp, resolve};
use super::placeholders::placeholder;

/// What a message is, as the `message_type` column spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Plain text.
    Text,
    /// A photo (or `<Media omitted>`: Android does not say which kind, see [`Media`]).
    Image,
    /// A video or a GIF.
    Video,
    /// A voice note or an audio file.
    Audio,
    /// A document.
    Document,
    /// A sticker.
    Sticker,
    /// A line without a sender: encryption notice, group created, member added.
    System,
}

impl Kind {
    /// The `message_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Audio => "audio",
            Kind::Document => "document",
            Kind::Sticker => "sticker",
            Kind::System => "system",
        }
    }
}

/// The media a placeholder stood for: the file itself is not in the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// A MIME type guessed from the placeholder (`application/octet-stream` for `<Media omitted>`).
    pub mime_type: &'static str,
    /// The attached file's name, when the placeholder names it.
    pub file_name: Option<String>,
}

/// One message of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportMessage {
    /// 1-based line of the header in the file.
    pub line: usize,
    /// Wall-clock time read as UTC, Unix milliseconds.
    pub sent_at: i64,
    /// The sender's name as shown in the export; `None` for system lines.
    pub sender: Option<String>,
    /// The text, continuation lines joined with `\n`; for media, the caption if any.
    pub body: Option<String>,
    /// The message type.
    pub kind: Kind,
    /// Set for media placeholders.
    pub media: Option<Media>,
}

/// Why a file could not be read as an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Where a message starts: its header's stamp and the text after it.
struct Header<'a> {
    stamp: Stamp<'a>,
    rest: &'a str,
}

pub(crate) const MARKS: &[char] = &['\u{200e}', '\u{200f}', '\u{feff}'];

/// A parsed export: its messages in file order and what the reader should check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The messages.
    pub messages: Vec<ExportMessage>,
    /// How the dates were read (and why, when the file alone could not decide).
    pub dates: Resolution,
    /// Things that parsed but may not be what the file meant: printed by `import` as warnings.
    pub warnings: Vec<String>,
}

/// Parses a whole export, deciding the date order from the file. The first non-empty line must be a header.
pub fn parse(text: &str) -> Result<Export, ParseError> {
    parse_with(text, None)
}

/// [`parse`] with the date order given (`--date-order`) or, with `None`, decided from the file.
pub fn parse_with(text: &str, date_order: Option<DateOrder>) -> Result<Export, ParseError> {
    let mut raw: Vec<(usize, Header<'_>, String)> = Vec::new();
    let mut last_line = (0, "");
    for (i, line) in text.lines().enumerate() {
        if !is_blank(line) {
            last_line = (i + 1, line);
        }
        match header(line) {
            Some(h) => {
                let rest = h.rest.to_owned();
                raw.push((i + 1, h, rest));
            }
            None => match raw.last_mut() {
                Some((_, _, body)) => {
                    body.push('\n');
                    body.push_str(line);
                }
                None if is_blank(line) => {}
                None => {
                    return Err(ParseError {
                        line: i + 1,
                        message: "not a WhatsApp chat export: expected a message line like \
                                  `31/12/2023, 21:41 - Name: text` or `[2023-12-31, 21:41:05] Name: text`"
                            .into(),
                    });
                }
            },
        }
    }
    if raw.is_empty() {
        return Err(ParseError { line: 1, message: "not a WhatsApp chat export: the file has no messages".into() });
    }
    let stamps: Vec<Stamp<'_>> = raw.iter().map(|(_, h, _)| h.stamp.clone()).collect();
    let dates = resolve(&stamps, date_order);
    let mut warnings: Vec<String> = dates.ambiguity.iter().cloned().collect();
    let (line, last) = last_line;
    if raw.last().is_some_and(|(l, ..)| *l != line) && looks_cut_off(last) {
        warnings.push(format!(
            "line {line} (`{}`) looks like the start of a message cut off: the export may be truncated; \
             it was kept as the last line of the message above",
            last.trim()
        ));
    }
    let messages = raw
        .into_iter()
        .map(|(line, h, text)| {
            let sent_at = h.stamp.unix_ms(dates.order).map_err(|message| ParseError { line, message })?;
            Ok(message(line, sent_at, &text))
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(Export { messages, dates, warnings })
}

fn is_blank(line: &str) -> bool {
    line.trim_matches(|c: char| c.is_whitespace() || MARKS.contains(&c)).is_empty()
}

/// A line made of nothing but the characters a header starts with, beginning like a date: `[10-02-20`.
fn looks_cut_off(line: &str) -> bool {
    let s = line.trim_matches(|c: char| c.is_whitespace() || MARKS.contains(&c));
    let s = s.strip_prefix('[').unwrap_or(s);
    let starts_like_a_date =
        matches!(number(s), Some((_, rest)) if rest.is_empty() || rest.starts_with(['/', '.', '-']));
    starts_like_a_date
        && s.chars()
            .all(|c| c.is_ascii_digit() || "/.-,: []apmAPM".contains(c) || c.is_whitespace() || MARKS.contains(&c))
}

/// The 12-hour markers written after the time (`PM`, `p.m.`, `p. m.`), longest first.
const SUFFIXES: [(&str, bool); 6] =
    [("a. m.", false), ("p. m.", true), ("a.m.", false), ("p.m.", true), ("am", false), ("pm", true)];
/// The 12-hour markers written before the time: Chinese, Japanese, Korean.
const PREFIXES: [(&str, bool); 6] =
    [("上午", false), ("下午", true), ("午前", false), ("午後", true), ("오전", false), ("오후", true)];

/// Reads `[DATE, TIME] rest` or `DATE, TIME - rest`; `None` if the line is not a header.
fn header(line: &str) -> Option<Header<'_>> {
    let s = line.trim_start_matches(MARKS);
    let (bracket, s) = match s.strip_prefix('[') {
        Some(s) => (true, s),
        None => (false, s),
    };
    let (a, after_a) = number(s)?;
    let separator = after_a.chars().next().filter(|c| matches!(c, '/' | '.' | '-'))?;
    let (b, after_b) = number(after_a[1..].trim_start_matches(' '))?;
    let (c, after_c) = number(after_b.strip_prefix(separator)?.trim_start_matches(' '))?;
    let widths = [
        s.len() - after_a.len(),
        digits(after_a[1..].trim_start_matches(' ')),
        digits(after_b[1..].trim_start_matches(' ')),
    ];
    // One field may be a four-digit year, the first or the last; the month is never more than two digits.
    if widths[1] > 2 || (widths[0] > 2 && widths[2] > 2) {
        return None;
    }
    // Korean and Hungarian dates end with a dot: `2023. 12. 31.`.
    let after_c = if separator == '.' { after_c.strip_prefix('.').unwrap_or(after_c) } else { after_c };
    let date = &s[..s.len() - after_c.len()];
    let s = after_c.strip_prefix(',').unwrap_or(after_c).trim_start();
    let (mut pm, s) = match PREFIXES.iter().find(|(p, _)| s.starts_with(*p)) {
        Some((p, is_pm)) => (Some(*is_pm), s[p.len()..].trim_start()),
        None => (None, s),
    };
    let (hour, s) = number(s)?;
    let (minute, mut s) = number(s.strip_prefix(':')?)?;
    let mut second = 0;
    if let Some(rest) = s.strip_prefix(':') {
        (second, s) = number(rest)?;
    }
    let mut s = s.trim_start_matches([' ', '\u{202f}', '\u{a0}']);
    if pm.is_none() {
        let found = SUFFIXES.iter().find(|(t, _)| s.get(..t.len()).is_some_and(|p| p.eq_ignore_ascii_case(t)));
        if let Some((token, is_pm)) = found {
            pm = Some(*is_pm);
            s = &s[token.len()..];
        }
    }
    let rest = if bracket { s.strip_prefix(']')?.strip_prefix(' ')? } else { s.trim_start().strip_prefix("- ")? };
    let stamp = Stamp { date, fields: [a, b, c], widths, separator, clock: [hour, minute, second], pm };
    Some(Header { stamp, rest })
}

/// A run of 1 to 4 ASCII digits at the start of `s`.
fn number(s: &str) -> Option<(u32, &str)> {
    let end = digits(s);
    if end == 0 || end > 4 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// How many ASCII digits `s` starts with.
fn digits(s: &str) -> usize {
    s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len())
}

fn message(line: usize, sent_at: i64, text: &str) -> ExportMessage {
    // Blank lines after a message (at the end of the file, before the next header) are not part of it.
    let text = text.trim_end();
    let (first, continuation) = match text.split_once('\n') {
        Some((first, rest)) => (first, Some(rest)),
        None => (text, None),
    };
    let (sender, first) = match first.split_once(": ") {
        Some((name, said)) if !name.is_empty() && !is_system(name) => (Some(name.trim_matches(MARKS).to_owned()), said),
        _ => (None, first),
    };
    // iOS writes system lines as said by the chat itself, marked with U+200E: `Family: ‎You created group "Family"`.
    let marked = first.starts_with('\u{200e}');
    let first = first.trim_matches(MARKS);
    if sender.is_none() || (marked && is_system(first)) {
        let body = text.split_once(": ").filter(|_| sender.is_some()).map_or(text, |(_, said)| said);
        return ExportMessage {
            line,
            sent_at,
            sender: None,
            body: Some(body.trim_matches(MARKS).to_owned()),
            kind: Kind::System,
            media: None,
        };
    }
    if let Some((kind, media)) = placeholder(first) {
        let body = continuation.map(str::to_owned);
        return ExportMessage { line, sent_at, sender, body, kind, media: Some(media) };
    }
    let body = match continuation {
        Some(rest) => format!("{first}\n{rest}"),
        None => first.to_owned(),
    };
    ExportMessage { line, sent_at, sender, body: Some(body), kind: Kind::Text, media: None }
}

/// Lines WhatsApp writes itself: they have no sender, or (iOS) the chat's name as sender.
fn is_system(text: &str) -> bool {
    let text = text.trim_matches(MARKS);
    text.contains("end-to-end encrypted")
        || [" created group ", " added ", " removed ", " changed the subject", " changed this group's", " joined using"]
            .iter()
            .any(|p| text.contains(p))
        || text.ends_with(" left")
}

/// Whether a system line says the chat is a group.
pub fn is_group_event(text: &str) -> bool {
    is_system(text) && !text.contains("end-to-end encrypted")
}
