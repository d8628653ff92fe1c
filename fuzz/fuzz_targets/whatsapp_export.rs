//! The WhatsApp "Export chat" parser of `server-example import`: any text parses or is refused, never panics,
//! and what parses is in file order.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The parser's own source files, compiled here as they are in `server-example` (which, with PostgreSQL, SQLite,
// HTTP and a CLI behind it, would take minutes to build with coverage instrumentation).
// (At the crate root: the parser reaches its sibling as `super::placeholders`.)
#[path = "../../server-example/src/import/placeholders.rs"]
#[allow(dead_code)]
mod placeholders;
#[path = "../../server-example/src/import/whatsapp_export.rs"]
#[allow(dead_code)]
mod whatsapp_export;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(messages) = whatsapp_export::parse(text) else { return };
    let lines = text.lines().count();
    let mut previous = 0;
    for message in &messages {
        assert!(message.line > previous && message.line <= lines, "message lines out of order or out of the file");
        previous = message.line;
    }
});
