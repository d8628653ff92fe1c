//! WhatsApp "Export chat" files: every format parsed exactly, and what lands in the store.

use server_example::import::export_rows::{ExportOptions, import_file};
use server_example::import::whatsapp_export::{ExportMessage, Kind, Media, parse};
use sync_core::{ChangeFeed, Value};

use crate::support::{counts, fixture, rows, store};

const SCOPE: &str = "wa-import";
const FILES: [&str; 5] = [
    "WhatsApp Chat with Ana Silva.txt",
    "WhatsApp Chat with Ben Okafor.txt",
    "WhatsApp Chat with Dots.txt",
    "WhatsApp Chat - Family.txt",
    "WhatsApp Chat - Priya Patel.txt",
];
const ENCRYPTED: &str = "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.";

fn parsed(name: &str) -> Vec<ExportMessage> {
    parse(&std::fs::read_to_string(fixture(name)).expect("read fixture")).expect("parse fixture").messages
}

fn msg(
    line: usize,
    sent_at: i64,
    sender: Option<&str>,
    body: Option<&str>,
    kind: Kind,
    media: Option<(&'static str, Option<&str>)>,
) -> ExportMessage {
    ExportMessage {
        line,
        sent_at,
        sender: sender.map(str::to_owned),
        body: body.map(str::to_owned),
        kind,
        media: media.map(|(mime_type, file_name)| Media { mime_type, file_name: file_name.map(str::to_owned) }),
    }
}

fn text(line: usize, sent_at: i64, sender: &str, body: &str) -> ExportMessage {
    msg(line, sent_at, Some(sender), Some(body), Kind::Text, None)
}

fn system(line: usize, sent_at: i64, body: &str) -> ExportMessage {
    msg(line, sent_at, None, Some(body), Kind::System, None)
}

#[test]
fn android_12h_us_with_system_line_media_and_multiline() {
    let expected = vec![
        system(1, 1_704_058_860_000, &format!("{ENCRYPTED} Tap to learn more.")),
        text(2, 1_704_058_860_000, "Ana Silva", "Happy new year in advance!"),
        text(3, 1_704_058_920_000, "Me", "Thanks! Same to you"),
        msg(4, 1_704_067_500_000, Some("Ana Silva"), None, Kind::Document, Some(("application/octet-stream", None))),
        text(5, 1_704_067_560_000, "Ana Silva", "Fireworks from the roof\nwere amazing\n\nsee you tomorrow"),
        text(9, 1_704_112_200_000, "Me", "I added sugar: it helped 🎉"),
    ];
    assert_eq!(parsed("WhatsApp Chat with Ana Silva.txt"), expected);
}

#[test]
fn android_24h_eu_with_file_attached() {
    let expected = vec![
        text(1, 1_704_058_860_000, "Ben Okafor", "Are you coming tonight?"),
        text(2, 1_704_058_980_000, "Me", "Yes, at ten"),
        msg(
            3,
            1_704_100_500_000,
            Some("Ben Okafor"),
            None,
            Kind::Image,
            Some(("image/jpeg", Some("IMG-20240101-WA0001.jpg"))),
        ),
    ];
    assert_eq!(parsed("WhatsApp Chat with Ben Okafor.txt"), expected);
}

#[test]
fn dots_and_two_digit_years_default_to_day_first_on_a_24h_clock() {
    let expected = vec![
        text(1, 1_704_441_600_000, "Kemi Mensah", "Dots and a two-digit year"),
        text(2, 1_704_562_200_000, "Kemi Mensah", "No field above 12: read day-first (24-hour clock)"),
    ];
    assert_eq!(parsed("WhatsApp Chat with Dots.txt"), expected);
}

#[test]
fn month_first_when_a_second_field_exceeds_12_and_by_default_on_a_12h_clock() {
    let month_first = parse("1/2/24, 09:00 - A: x\n1/13/24, 09:00 - A: y\n").expect("parse").messages;
    assert_eq!(month_first[0].sent_at, 1_704_186_000_000); // 2024-01-02 09:00 UTC
    let us = parse("1/2/24, 9:00 AM - A: x\n").expect("parse").messages;
    assert_eq!(us[0].sent_at, 1_704_186_000_000);
    let eu = parse("1/2/24, 09:00 - A: x\n").expect("parse").messages;
    assert_eq!(eu[0].sent_at, 1_706_778_000_000); // 2024-02-01 09:00 UTC
}

#[test]
fn blank_lines_after_a_message_are_dropped_and_windows_line_ends_read() {
    let messages =
        parse("\u{feff}1/2/24, 09:00 - A: x\r\n\r\ny\r\n\r\n1/2/24, 09:01 - B: z\n\n  \n").expect("parse").messages;
    let bodies: Vec<_> = messages.iter().map(|m| m.body.as_deref()).collect();
    assert_eq!(bodies, [Some("x\n\ny"), Some("z")]);
}

#[test]
fn ios_24h_group_with_every_placeholder() {
    let media =
        |line, at, who, kind, mime, name: Option<&str>| msg(line, at, Some(who), None, kind, Some((mime, name)));
    let expected = vec![
        system(1, 1_704_058_865_000, ENCRYPTED),
        system(2, 1_704_058_865_000, "Carla Rossi created group \"Family\""),
        system(3, 1_704_058_866_000, "Carla Rossi added Me"),
        text(4, 1_704_058_930_000, "Carla Rossi", "Welcome everyone"),
        media(5, 1_704_058_980_000, "David Kim", Kind::Image, "image/jpeg", None),
        media(6, 1_704_059_010_000, "Me", Kind::Sticker, "image/webp", None),
        media(7, 1_704_103_200_000, "Elena Novak", Kind::Audio, "audio/ogg; codecs=opus", None),
        media(8, 1_704_103_260_000, "Elena Novak", Kind::Video, "video/mp4", None),
        media(9, 1_704_103_320_000, "David Kim", Kind::Document, "application/pdf", Some("Budget 2024.pdf")),
        media(10, 1_704_103_380_000, "Carla Rossi", Kind::Video, "video/mp4", None),
        msg(
            11,
            1_704_103_440_000,
            Some("Carla Rossi"),
            Some("Look at this"),
            Kind::Image,
            Some(("image/jpeg", Some("00000012-PHOTO-2024-01-01-10-04-00.jpg"))),
        ),
        text(13, 1_704_103_470_000, "+44 7700 900123", "Who is this?"),
        system(14, 1_704_103_500_000, "Elena Novak left"),
    ];
    assert_eq!(parsed("WhatsApp Chat - Family.txt"), expected);
}

#[test]
fn ios_12h_with_narrow_no_break_space_and_marks() {
    let expected = vec![
        system(1, 1_704_058_865_000, ENCRYPTED),
        text(2, 1_704_058_865_000, "Priya Patel", "Hi!"),
        text(3, 1_704_067_201_000, "Me", "Happy new year"),
        msg(
            4,
            1_704_096_900_000,
            Some("Priya Patel"),
            None,
            Kind::Audio,
            Some(("audio/ogg; codecs=opus", Some("00000003-AUDIO-2024-01-01-08-15-00.opus"))),
        ),
    ];
    assert_eq!(parsed("WhatsApp Chat - Priya Patel.txt"), expected);
}

#[tokio::test]
async fn a_file_that_is_not_an_export_fails_naming_the_line() {
    let (store, _dir) = store();
    let error = import_file(&store, SCOPE, &fixture("not-an-export.txt"), &ExportOptions::default())
        .await
        .expect_err("not an export");
    let message = format!("{error:#}");
    assert!(message.contains("line 3: not a WhatsApp chat export"), "{message}");
    assert!(message.contains("not-an-export.txt"), "{message}");

    let error =
        import_file(&store, SCOPE, &fixture("bad-time.txt"), &ExportOptions::default()).await.expect_err("bad time");
    assert!(format!("{error:#}").contains("line 3: time 25:10:00 does not exist"), "{error:#}");
    let empty = parse("").expect_err("empty");
    assert_eq!(empty.to_string(), "line 1: not a WhatsApp chat export: the file has no messages");
    assert!(store.status(SCOPE).await.is_err(), "nothing written: the integration does not exist");
}

#[tokio::test]
async fn import_writes_each_collection_and_an_unchanged_reimport_writes_nothing() {
    let (store, _dir) = store();
    let me = ExportOptions { me: Some("Me".into()), ..Default::default() };
    for file in FILES {
        import_file(&store, SCOPE, &fixture(file), &me).await.expect("import");
    }
    let expected: Vec<(String, u64)> = [
        ("contacts", 8),
        ("conversation_participants", 8),
        ("conversations", 5),
        ("message_media", 10),
        ("messages", 28),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_owned(), n))
    .collect();
    assert_eq!(counts(&store, SCOPE).await.into_iter().collect::<Vec<_>>(), expected);

    let mut media: Vec<(Value, Value)> = rows(&store, SCOPE, "message_media")
        .await
        .into_iter()
        .map(|r| (r.values[2].clone(), r.values[3].clone()))
        .collect();
    media.sort_by_key(|m| format!("{m:?}"));
    let text = |s: &str| Value::Text(s.to_owned());
    let mut want = vec![
        (text("application/octet-stream"), Value::Null),
        (text("image/jpeg"), text("IMG-20240101-WA0001.jpg")),
        (text("image/jpeg"), Value::Null),
        (text("image/webp"), Value::Null),
        (text("audio/ogg; codecs=opus"), Value::Null),
        (text("audio/ogg; codecs=opus"), text("00000003-AUDIO-2024-01-01-08-15-00.opus")),
        (text("video/mp4"), Value::Null),
        (text("video/mp4"), Value::Null),
        (text("application/pdf"), text("Budget 2024.pdf")),
        (text("image/jpeg"), text("00000012-PHOTO-2024-01-01-10-04-00.jpg")),
    ];
    want.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(media, want);

    let conversations = rows(&store, SCOPE, "conversations").await;
    let mut kinds: Vec<(Value, Value)> =
        conversations.iter().map(|r| (r.values[1].clone(), r.values[2].clone())).collect();
    kinds.sort_by_key(|k| format!("{k:?}"));
    let names = ["Ana Silva", "Ben Okafor", "Dots", "Family", "Priya Patel"];
    let want: Vec<(Value, Value)> = names.iter().map(|n| (text(n), Value::Bool(*n == "Family"))).collect();
    assert_eq!(kinds, want);

    let messages = rows(&store, SCOPE, "messages").await;
    let mine = messages.iter().filter(|r| r.values[3] == Value::Bool(true)).count();
    assert_eq!(mine, 5, "Me wrote 5 messages");
    assert!(messages.iter().filter(|r| r.values[3] == Value::Bool(true)).all(|r| r.values[2] == Value::Null));
    let system = messages.iter().filter(|r| r.values[5] == text("system")).count();
    assert_eq!(system, 6);
    let participants = rows(&store, SCOPE, "conversation_participants").await;
    let admins: Vec<&Value> =
        participants.iter().filter(|r| r.values[2] == text("superadmin")).map(|r| &r.values[1]).collect();
    assert_eq!(admins.len(), 1);
    assert!(
        matches!(admins[0], Value::Text(jid) if jid.starts_with("carla-rossi-") && jid.ends_with("@s.whatsapp.net"))
    );
    let contacts = rows(&store, SCOPE, "contacts").await;
    assert!(
        contacts
            .iter()
            .any(|r| r.values[0] == text("447700900123@s.whatsapp.net") && r.values[1] == text("+447700900123"))
    );

    let before = store.status(SCOPE).await.expect("status").latest_seq;
    for file in FILES {
        let imported = import_file(&store, SCOPE, &fixture(file), &me).await.expect("re-import");
        assert_eq!(imported.totals.rows(), 0, "{file}: nothing written");
    }
    assert_eq!(counts(&store, SCOPE).await.into_iter().collect::<Vec<_>>(), expected, "no duplicates");
    assert_eq!(
        rows(&store, SCOPE, "messages").await.iter().map(|r| &r.values).collect::<Vec<_>>(),
        messages.iter().map(|r| &r.values).collect::<Vec<_>>()
    );
    assert_eq!(store.status(SCOPE).await.expect("status").latest_seq, before, "an unchanged re-import takes no seq");
}
