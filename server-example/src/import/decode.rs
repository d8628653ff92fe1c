//! An export file's bytes as text.
//!
//! Current phones write UTF-8 (iOS with a byte-order mark). Older Android and Windows tools wrote UTF-16 with a
//! byte-order mark, which is recognised by it, or a legacy 8-bit code page (Latin-1, Windows-1252), which no byte
//! tells apart from UTF-8 with certainty: it is read only when asked for with `--encoding`. Decoding is
//! encoding_rs's (the WHATWG encodings, as browsers read them); a malformed byte is an error that names its line
//! and offset, never a replacement character.

use std::fmt;

use encoding_rs::{DecoderResult, Encoding, UTF_8};

/// Why an export's bytes are not text in the encoding they were read in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The encoding the file was read in.
    pub encoding: &'static str,
    /// 1-based line of the first malformed byte.
    pub line: usize,
    /// Its offset from the start of the file, in bytes.
    pub offset: usize,
    /// The malformed bytes.
    pub bytes: Vec<u8>,
    /// Whether the file looks like UTF-16 without a byte-order mark.
    pub looks_utf16: bool,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: Vec<String> = self.bytes.iter().map(|b| format!("{b:02x}")).collect();
        write!(
            f,
            "line {} is not valid {} (byte {} of the file: {}); ",
            self.line,
            self.encoding,
            self.offset,
            hex.join(" ")
        )?;
        if self.looks_utf16 {
            f.write_str("the file looks like UTF-16 without a byte-order mark: import it with --encoding utf-16le")
        } else if self.encoding == UTF_8.name() {
            f.write_str("if the export is from an older phone or Windows, import it with --encoding windows-1252")
        } else {
            f.write_str("check the file, or import it with the --encoding it was written in")
        }
    }
}

impl std::error::Error for DecodeError {}

/// The encoding a `--encoding` label names (WHATWG labels: `utf-8`, `utf-16le`, `latin1`, `windows-1252`, ...).
pub fn encoding_for(label: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        format!("`{label}` is not an encoding this importer knows: use utf-8, utf-16le, utf-16be or windows-1252")
    })
}

/// `bytes` as text: in the encoding of its byte-order mark if it has one (which wins over `encoding`), else in
/// `encoding`, else UTF-8. The mark is not part of the text.
pub fn decode(bytes: &[u8], encoding: Option<&'static Encoding>) -> Result<String, DecodeError> {
    let (encoding, start) = match Encoding::for_bom(bytes) {
        Some((encoding, bom)) => (encoding, bom),
        None => (encoding.unwrap_or(UTF_8), 0),
    };
    let src = &bytes[start..];
    let mut decoder = encoding.new_decoder_without_bom_handling();
    // At most three bytes of UTF-8 per input byte: `None` only past usize::MAX.
    let capacity = decoder.max_utf8_buffer_length(src.len()).unwrap_or(usize::MAX);
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(src, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad, after) => {
            let end = read - usize::from(after);
            let begin = end - usize::from(bad);
            Err(DecodeError {
                encoding: encoding.name(),
                line: text.matches('\n').count() + 1,
                offset: start + begin,
                bytes: src[begin..end].to_vec(),
                looks_utf16: start == 0 && looks_utf16(src),
            })
        }
        // The buffer was sized for the worst case.
        DecoderResult::OutputFull => unreachable!("decode buffer sized by max_utf8_buffer_length"),
    }
}

/// ASCII text in UTF-16 has a zero in every other byte: at least half of the even or of the odd bytes of the
/// file's start are zeros.
fn looks_utf16(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(200)];
    let zeros = |skip| head.iter().skip(skip).step_by(2).filter(|b| **b == 0).count();
    head.len() >= 4 && (zeros(0) * 4 >= head.len() || zeros(1) * 4 >= head.len())
}
