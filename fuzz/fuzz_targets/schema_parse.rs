//! Schema parsing: any text is rejected with an error or yields a valid schema that round-trips through JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sync_core::Schema;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(schema) = Schema::from_json(text) else { return };
    assert!(schema.validate().is_ok(), "from_json accepted an invalid schema");
    let again = Schema::from_json(&schema.to_json()).expect("a serialised schema parses");
    assert_eq!(again, schema, "the JSON round trip changed the schema");
});
