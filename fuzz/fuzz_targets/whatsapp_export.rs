//! The WhatsApp "Export chat" reader of `server-example import`: any bytes decode (UTF-8, UTF-16 with a
//! byte-order mark, Windows-1252) and parse, in any date order, or are refused; never a panic, and what parses is
//! in file order.
#![no_main]

use encoding_rs::WINDOWS_1252;
use libfuzzer_sys::fuzz_target;

// The reader's own source files, compiled here as they are in `server-example` (which, with PostgreSQL, SQLite,
// HTTP and a CLI behind it, would take minutes to build with coverage instrumentation).
// (At the crate root: the parser reaches its siblings as `super::placeholders` and `super::dates`.)
#[path = "../../server-example/src/import/dates.rs"]
#[allow(dead_code)]
mod dates;
#[path = "../../server-example/src/import/decode.rs"]
#[allow(dead_code)]
mod decode;
#[path = "../../server-example/src/import/placeholders.rs"]
#[allow(dead_code)]
mod placeholders;
#[path = "../../server-example/src/import/whatsapp_export.rs"]
#[allow(dead_code)]
mod whatsapp_export;

use dates::DateOrder;

fuzz_target!(|data: &[u8]| {
    // The input's length picks the date order, so the seeds (real exports, unprefixed) run under each.
    let forced = [None, Some(DateOrder::Dmy), Some(DateOrder::Mdy), Some(DateOrder::Ymd)][data.len() % 4];
    for encoding in [None, Some(WINDOWS_1252)] {
        let text = match decode::decode(data, encoding) {
            Ok(text) => text,
            Err(e) => {
                assert!(e.offset < data.len() && !e.bytes.is_empty(), "a decode error points into the file");
                continue;
            }
        };
        let Ok(export) = whatsapp_export::parse_with(&text, forced) else { continue };
        if let Some(order) = forced {
            assert_eq!(export.dates.order, order, "--date-order is obeyed");
        }
        let lines = text.lines().count();
        let mut previous = 0;
        for message in &export.messages {
            assert!(message.line > previous && message.line <= lines, "message lines out of order or out of the file");
            previous = message.line;
        }
    }
});
