//! Every date order and separator family, the day/month rule for files that cannot decide, encodings and a
//! truncated last line. Fixtures are written from the formats phones publish (expected times checked with Python's
//! `datetime`).

use server_example::import::dates::DateOrder;
use server_example::import::decode::{decode, encoding_for};
use server_example::import::whatsapp_export::{Export, parse, parse_with};

use crate::support::fixture;

fn read(name: &str) -> Export {
    let bytes = std::fs::read(fixture(name)).expect("read fixture");
    parse(&decode(&bytes, None).expect("decode fixture")).expect("parse fixture")
}

/// `(sent_at, sender, body)` of each message.
fn summary(export: &Export) -> Vec<(i64, Option<&str>, Option<&str>)> {
    export.messages.iter().map(|m| (m.sent_at, m.sender.as_deref(), m.body.as_deref())).collect()
}

fn decided(export: &Export, order: DateOrder) {
    assert_eq!(export.dates.order, order);
    assert_eq!(export.dates.ambiguity, None, "the file decides its date order");
    assert!(export.warnings.is_empty(), "{:?}", export.warnings);
}

#[test]
fn year_first_android_dashes_24h_without_comma() {
    let export = read("WhatsApp-chatt med Astrid Lind.txt");
    decided(&export, DateOrder::Ymd);
    assert_eq!(
        summary(&export),
        [
            (1_704_445_920_000, None, Some("Meddelanden och samtal är end-to-end-krypterade.")),
            (1_704_445_920_000, Some("Astrid Lind"), Some("God morgon!")),
            (1_704_446_040_000, Some("Me"), Some("Hej! Ses vi på fredag?")),
            (1_705_171_200_000, Some("Astrid Lind"), Some("Ja\nklockan sju")),
        ]
    );
}

#[test]
fn year_first_android_dashes_12h_with_dotted_pm() {
    let export = read("WhatsApp Chat with Chloe Tremblay.txt");
    decided(&export, DateOrder::Ymd);
    let times: Vec<i64> = export.messages.iter().map(|m| m.sent_at).collect();
    // 9:12 a.m., 3:40 p.m., and 12:05 a.m. is five past midnight.
    assert_eq!(times, [1_704_445_920_000, 1_704_469_200_000, 1_705_104_300_000]);
}

#[test]
fn year_first_ios_slashes_unpadded() {
    let export = read("_chat_ja.txt");
    decided(&export, DateOrder::Ymd);
    assert_eq!(
        summary(&export)[..2],
        [
            (1_704_445_950_000, Some("佐藤 花子"), Some("おはようございます")),
            (1_704_445_982_000, Some("Me"), Some("おはよう！")),
        ]
    );
    assert_eq!(export.messages[2].sent_at, 1_705_179_945_000);
    assert_eq!(export.messages[2].media.as_ref().map(|m| m.mime_type), Some("image/jpeg"));
}

#[test]
fn year_first_ios_dots_with_a_12h_marker_before_the_time() {
    let export = read("_chat_zh.txt");
    decided(&export, DateOrder::Ymd);
    let times: Vec<i64> = export.messages.iter().map(|m| m.sent_at).collect();
    assert_eq!(times, [1_704_445_950_000, 1_704_469_200_000, 1_705_147_509_000]);
}

#[test]
fn year_first_dots_with_spaces_and_a_trailing_dot() {
    let export = read("Korean Android.txt");
    decided(&export, DateOrder::Ymd);
    assert_eq!(
        summary(&export),
        [
            (1_704_445_920_000, Some("민준"), Some("안녕하세요")),
            (1_704_469_200_000, Some("Me"), Some("네, 안녕하세요")),
            (1_705_147_500_000, Some("민준"), Some("내일 봐요")),
        ]
    );
}

#[test]
fn year_first_ios_dashes_in_brackets() {
    let export = read("_chat_lt.txt");
    decided(&export, DateOrder::Ymd);
    let times: Vec<i64> = export.messages.iter().map(|m| m.sent_at).collect();
    assert_eq!(times, [1_704_445_950_000, 1_705_171_200_000]);
}

#[test]
fn year_first_every_separator_and_clock() {
    // 2024-02-01 09:05 UTC: one date in each family.
    for line in [
        "2024-02-01 09:05 - A: x",
        "2024/02/01 09:05 - A: x",
        "2024.02.01 09:05 - A: x",
        "2024-02-01, 9:05 AM - A: x",
        "2024-2-1, 9:05 am - A: x",
        "[2024-02-01 09:05:00] A: x",
        "[2024/2/1, 9:05:00 AM] A: x",
        "[2024.02.01 上午9:05:00] A: x",
        "2024. 2. 1. 오전 9:05 - A: x",
    ] {
        let export = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(export.dates.order, DateOrder::Ymd, "{line}");
        assert_eq!(export.messages[0].sent_at, 1_706_778_300_000, "{line}");
    }
}

#[test]
fn an_ambiguous_file_in_a_day_first_style_reads_day_first_with_a_warning() {
    // The case: `[DD/MM/YYYY, h:mm:ss PM]`, every day 12 or less. Month-first would date these in January
    // and March; British phones write the day first.
    let export = read("_chat_uk.txt");
    let times: Vec<i64> = export.messages.iter().map(|m| m.sent_at).collect();
    assert_eq!(times, [1_706_778_000_000, 1_706_821_510_000, 1_706_959_800_000]);
    assert_eq!(export.dates.order, DateOrder::Dmy);
    assert_eq!(export.warnings.len(), 1);
    let warning = &export.warnings[0];
    assert!(warning.contains("every date fits both day-first and month-first"), "{warning}");
    assert!(warning.contains("only the US style"), "{warning}");
    assert!(warning.contains("--date-order mdy"), "{warning}");
}

#[test]
fn an_ambiguous_file_in_the_us_style_reads_month_first_with_a_warning() {
    let export = parse("1/2/24, 9:00 AM - A: x\n1/2/24, 9:05 AM - B: y\n").expect("parse");
    assert_eq!(export.messages[0].sent_at, 1_704_186_000_000); // 2024-01-02 09:00
    assert_eq!(export.dates.order, DateOrder::Mdy);
    assert!(export.warnings[0].contains("US style"), "{:?}", export.warnings);
    assert!(export.warnings[0].contains("--date-order dmy"), "{:?}", export.warnings);
}

#[test]
fn the_order_of_the_messages_decides_before_the_style() {
    // US style, but month-first would put 5 and 6 January's messages (May, June) after 1 February's (January).
    let export = parse("5/1/24, 9:00 AM - A: x\n6/1/24, 9:00 AM - A: y\n1/2/24, 9:00 AM - A: z\n").expect("parse");
    assert_eq!(export.dates.order, DateOrder::Dmy);
    assert!(export.warnings[0].contains("in time order only when read that way"), "{:?}", export.warnings);
    let export = parse("1/5/24, 09:00 - A: x\n1/6/24, 09:00 - A: y\n2/1/24, 09:00 - A: z\n").expect("parse");
    assert_eq!(export.dates.order, DateOrder::Mdy);
}

#[test]
fn date_order_overrides_the_file_and_names_the_date_as_written() {
    let text = "[01/02/2024, 9:00:00 AM] A: x\n";
    let export = parse_with(text, Some(DateOrder::Mdy)).expect("parse");
    assert_eq!(export.messages[0].sent_at, 1_704_186_000_000);
    assert!(export.warnings.is_empty(), "an explicit order is not ambiguous");
    let error = parse_with("[2024-12-31 09:00:00] A: x\n", Some(DateOrder::Dmy)).expect_err("31 is no month");
    assert_eq!(
        error.to_string(),
        "line 1: date 2024-12-31 does not exist when read day-first (DD/MM/YYYY), as the rest of this file is \
         (pass --date-order to choose)"
    );
    assert_eq!("YMD".parse::<DateOrder>(), Ok(DateOrder::Ymd));
    assert!("ydm".parse::<DateOrder>().expect_err("no such order").contains("use dmy"));
}

#[test]
fn utf16_with_a_byte_order_mark_and_windows_1252_when_asked() {
    let export = read("WhatsApp Chat with Zoë (UTF-16).txt");
    assert_eq!(
        summary(&export),
        [
            (1_704_058_860_000, Some("Zoë Fontaine"), Some("Bonne année à tous ☀")),
            (1_704_058_920_000, Some("Me"), Some("Merci, à toi aussi")),
        ]
    );
    let bytes = std::fs::read(fixture("WhatsApp Chat with José (Windows-1252).txt")).expect("read");
    let error = decode(&bytes, None).expect_err("not UTF-8");
    assert_eq!(
        error.to_string(),
        "line 1 is not valid UTF-8 (byte 23 of the file: e9); if the export is from an older phone or Windows, \
         import it with --encoding windows-1252"
    );
    for label in ["windows-1252", "latin1", "ISO-8859-1"] {
        let text = decode(&bytes, Some(encoding_for(label).expect("label"))).expect("decode");
        let export = parse(&text).expect("parse");
        assert_eq!(export.messages[0].body.as_deref(), Some("¿Cuánto costó? 20 €"), "{label}");
        assert_eq!(export.messages[1].sender.as_deref(), Some("Me"));
    }
    assert!(encoding_for("klingon").expect_err("unknown").contains("use utf-8, utf-16le"));
}

#[test]
fn a_malformed_byte_is_located_and_utf16_without_a_mark_is_recognised() {
    let mut bytes = b"31/12/2023, 21:41 - A: one\n31/12/2023, 21:42 - A: tw".to_vec();
    bytes.extend([0xff, b'o', b'\n']);
    let error = decode(&bytes, None).expect_err("0xff is never UTF-8");
    assert_eq!((error.line, error.offset, error.bytes.as_slice()), (2, 52, &[0xff][..]));
    let utf16: Vec<u8> = "31/12/2023, 21:41 - A: x\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut odd = utf16.clone();
    odd.push(0xd8); // half a code unit: not UTF-8 either
    let error = decode(&odd, None).expect_err("UTF-16 without a mark");
    assert!(error.to_string().contains("looks like UTF-16 without a byte-order mark"), "{error}");
    let text = decode(&utf16, Some(encoding_for("utf-16le").expect("label"))).expect("decode");
    assert_eq!(parse(&text).expect("parse").messages[0].body.as_deref(), Some("x"));
}

#[test]
fn a_truncated_last_line_is_kept_with_a_warning() {
    let export = parse("[13-02-2020, 09:00:00] A: text\n[14-02-20").expect("parse");
    assert_eq!(export.messages[0].body.as_deref(), Some("text\n[14-02-20"));
    assert_eq!(
        export.warnings,
        ["line 2 (`[14-02-20`) looks like the start of a message cut off: the export may be truncated; \
          it was kept as the last line of the message above"]
    );
    for ends in ["[13-02-2020, 09:00:00] A: text\n2/3 of us agreed\n", "13/02/2020, 09:00 - A: text\n\n"] {
        assert!(parse(ends).expect("parse").warnings.is_empty(), "{ends:?}");
    }
}
