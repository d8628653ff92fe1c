//! A parser for the text files of WhatsApp's "Export chat" (Android and iOS).
//!
//! A message starts with a header line, continuation lines belong to the message above:
//! - Android: `12/31/23, 9:41 PM - Ana: text` or `31.12.2023, 21:41 - Ana: text`;
//! - iOS: `[31/12/2023, 21:41:05] Ana: text` or `[12/31/23, 9:41:05 PM] Ana: text`, often with a U+200E mark
//!   before the line or the text and a narrow no-break space (U+202F) before AM/PM.
//!
//! Dates use `/`, `.` or `-` and two- or four-digit years (two digits mean 20yy). Whether the date is day-first is
//! decided per file: if any first field is above 12 it is day-first, else if any second field is above 12 it is
//! month-first, else it is month-first for a 12-hour clock (the US style) and day-first for a 24-hour one.
//! Exports carry no time zone: the clock is read as UTC, so `sent_at` is the wall-clock time in Unix ms.

use std::fmt;

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
    /// 1-based line of the header in the file: with the file name, the message's identity.
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

/// A header line's fields before the day/month order is known.
struct Header<'a> {
    fields: [u32; 3],
    clock: [u32; 3],
    pm: Option<bool>,
    rest: &'a str,
}

pub(crate) const MARKS: &[char] = &['\u{200e}', '\u{200f}', '\u{feff}'];

/// Parses a whole export. The first non-empty line must be a message header.
pub fn parse(text: &str) -> Result<Vec<ExportMessage>, ParseError> {
    let mut raw: Vec<(usize, Header<'_>, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
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
                None if line.trim_matches(|c: char| c.is_whitespace() || MARKS.contains(&c)).is_empty() => {}
                None => {
                    return Err(ParseError {
                        line: i + 1,
                        message:
                            "not a WhatsApp chat export: expected a message line like `31/12/2023, 21:41 - Name: text` \
                                  or `[31/12/2023, 21:41:05] Name: text`"
                                .into(),
                    });
                }
            },
        }
    }
    if raw.is_empty() {
        return Err(ParseError { line: 1, message: "not a WhatsApp chat export: the file has no messages".into() });
    }
    let day_first = if raw.iter().any(|(_, h, _)| h.fields[0] > 12) {
        true
    } else if raw.iter().any(|(_, h, _)| h.fields[1] > 12) {
        false
    } else {
        raw.iter().all(|(_, h, _)| h.pm.is_none())
    };
    raw.into_iter()
        .map(|(line, h, text)| {
            let sent_at = timestamp(&h, day_first).map_err(|message| ParseError { line, message })?;
            Ok(message(line, sent_at, &text))
        })
        .collect()
}

/// Reads `[DATE, TIME] rest` or `DATE, TIME - rest`; `None` if the line is not a header.
fn header(line: &str) -> Option<Header<'_>> {
    let s = line.trim_start_matches(MARKS);
    let (bracket, s) = match s.strip_prefix('[') {
        Some(s) => (true, s),
        None => (false, s),
    };
    let (a, s) = number(s)?;
    let sep = s.chars().next().filter(|c| matches!(c, '/' | '.' | '-'))?;
    let (b, s) = number(&s[1..])?;
    let (y, s) = number(s.strip_prefix(sep)?)?;
    let s = s.strip_prefix(',').unwrap_or(s).trim_start();
    let (hour, s) = number(s)?;
    let (minute, mut s) = number(s.strip_prefix(':')?)?;
    let mut second = 0;
    if let Some(rest) = s.strip_prefix(':') {
        (second, s) = number(rest)?;
    }
    let mut s = s.trim_start_matches([' ', '\u{202f}', '\u{a0}']);
    let mut pm = None;
    let lower = s.get(..4).unwrap_or(s).to_ascii_lowercase();
    for (token, is_pm) in [("a.m.", false), ("p.m.", true), ("am", false), ("pm", true)] {
        if lower.starts_with(token) {
            pm = Some(is_pm);
            s = &s[token.len()..];
            break;
        }
    }
    let rest = if bracket { s.strip_prefix(']')?.strip_prefix(' ')? } else { s.trim_start().strip_prefix("- ")? };
    let year = if y < 100 { 2000 + y } else { y };
    Some(Header { fields: [a, b, year], clock: [hour, minute, second], pm, rest })
}

/// A run of 1 to 4 ASCII digits at the start of `s`.
fn number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 4 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn timestamp(h: &Header<'_>, day_first: bool) -> Result<i64, String> {
    let [a, b, year] = h.fields;
    let (day, month) = if day_first { (a, b) } else { (b, a) };
    let [mut hour, minute, second] = h.clock;
    if let Some(pm) = h.pm {
        if !(1..=12).contains(&hour) {
            return Err(format!("hour {hour} on a 12-hour clock"));
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("time {hour}:{minute:02}:{second:02} does not exist"));
    }
    let order = if day_first { "day-first" } else { "month-first" };
    unix_ms(year as i64, month, day, hour, minute, second)
        .ok_or_else(|| format!("date {a}/{b}/{year} does not exist when read {order}, as the rest of this file is"))
}

/// Unix milliseconds of a UTC civil time, `None` for a date that does not exist.
pub(crate) fn unix_ms(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month[month as usize - 1] {
        return None;
    }
    // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour as i64) * 60 + minute as i64) * 60_000 + second as i64 * 1000)
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
