//! `import` of an "Export chat" with media ZIP: the chat's rows, each attached file stored under its SHA-256 where
//! `serve` finds it, its `message_media` row carrying size and hash, and the bytes served back over loopback HTTP.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::import::{ImportArgs, run};
use server_example::serve::{access, start};
use server_example::whatsapp;
use sha2::{Digest, Sha256};
use sync_core::{ChangeFeed, ServerStore, Value};
use sync_http::{MediaDir, ServerConfig};
use sync_sqlite::SqliteServerStore;

use crate::support::rows;

const CHAT: &str = "\
[01/01/2024, 10:00:00] Carla Rossi: Happy new year!
[01/01/2024, 10:04:00] Carla Rossi: \u{200e}<attached: 00000012-PHOTO-2024-01-01-10-04-00.jpg>
[01/01/2024, 10:05:00] Me: \u{200e}<attached: 00000013-AUDIO-2024-01-01-10-05-00.opus>
[01/01/2024, 10:06:00] Carla Rossi: \u{200e}<attached: notes.txt>
[01/01/2024, 10:07:00] Carla Rossi: \u{200e}<attached: evil.jpg>
[01/01/2024, 10:08:00] Carla Rossi: \u{200e}<attached: 00000099-PHOTO-2024-01-01-10-08-00.jpg>
";

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// An iOS-style export: `_chat.txt`, two media files, an attached text file, an entry whose path climbs out of
/// any folder, and one attachment line without its file.
fn write_zip(path: &Path, files: &[(&str, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("create zip"));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("_chat.txt", options).expect("entry");
    zip.write_all(CHAT.as_bytes()).expect("write");
    for (name, bytes) in files {
        zip.start_file(*name, options).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish");
}

fn args(list: &[&str]) -> ImportArgs {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        import: ImportArgs,
    }
    <Cli as clap::Parser>::try_parse_from(std::iter::once("import").chain(list.iter().copied())).expect("parse").import
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_zip_stores_its_files_links_them_and_serves_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        ("00000012-PHOTO-2024-01-01-10-04-00.jpg", random_bytes(300_000, 1)),
        ("00000013-AUDIO-2024-01-01-10-05-00.opus", random_bytes(40_000, 2)),
        ("notes.txt", b"an attached text file, not the chat".to_vec()),
        ("../../evil.jpg", random_bytes(1_000, 3)),
    ];
    let zip = dir.path().join("WhatsApp Chat - Carla Rossi.zip");
    write_zip(&zip, &files);
    let (db, media) = (dir.path().join("server.db"), dir.path().join("media"));
    let list = ["--db", db.to_str().expect("utf-8"), "--integration", "wa-1", "--me", "Me"];
    let list = [&list[..], &["--media-dir", media.to_str().expect("utf-8"), zip.to_str().expect("utf-8")]].concat();
    run(args(&list)).await.expect("import");

    // Every file the chat names and the archive holds is in the folder under its hash, and nothing else is.
    let mut stored: Vec<String> = std::fs::read_dir(&media)
        .expect("media dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    stored.sort();
    let mut expected: Vec<String> = files.iter().map(|(_, bytes)| hex(bytes)).collect();
    expected.sort();
    assert_eq!(stored, expected, "files under their hashes, no partial file left");
    assert!(!dir.path().join("evil.jpg").exists() && !dir.path().parent().expect("parent").join("evil.jpg").exists());

    let store = Arc::new(SqliteServerStore::open(&db, whatsapp::schema()).expect("open"));
    let conversation = &rows(&store, "wa-1", "conversations").await[0];
    assert_eq!(
        conversation.values[1],
        Value::from("Carla Rossi"),
        "named after the archive when the text is _chat.txt"
    );
    let media_rows = rows(&store, "wa-1", "message_media").await;
    assert_eq!(media_rows.len(), 5);
    let by_name = |name: &str| {
        media_rows.iter().find(|r| r.values[3] == Value::from(name)).unwrap_or_else(|| panic!("a row for {name}"))
    };
    for (name, bytes) in &files {
        let row = by_name(name.rsplit('/').next().expect("name"));
        assert_eq!(row.values[4], Value::Integer(bytes.len() as i64), "{name}");
        assert_eq!(row.values[5], Value::from(hex(bytes)), "{name}");
    }
    let missing = by_name("00000099-PHOTO-2024-01-01-10-08-00.jpg");
    assert_eq!((&missing.values[4], &missing.values[5]), (&Value::Null, &Value::Null), "no file, no size or hash");

    // Served back byte for byte.
    let mut config = ServerConfig::new(access(&[("t".into(), vec!["wa-1".into()])]));
    let feed: Arc<dyn ServerStore> = store.clone();
    config.media = Some(Arc::new(MediaDir::new(feed, &media, "message_media")));
    let server = start(store.clone(), config, "127.0.0.1:0").await.expect("start");
    let photo = by_name("00000012-PHOTO-2024-01-01-10-04-00.jpg");
    let url = format!("{}/media/wa-1/{}", server.url(), photo.id);
    let body =
        reqwest::Client::new().get(&url).bearer_auth("t").send().await.expect("get").bytes().await.expect("body");
    assert_eq!(body.as_ref(), files[0].1.as_slice());

    // Imported again: nothing new is written, the folder is unchanged.
    run(args(&list)).await.expect("import again");
    assert_eq!(std::fs::read_dir(&media).expect("media dir").count(), expected.len());
}

#[tokio::test]
async fn a_bad_zip_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, media) = (dir.path().join("server.db"), dir.path().join("media"));
    let base = ["--db", db.to_str().expect("utf-8"), "--integration", "wa-1"];
    let media_arg = ["--media-dir", media.to_str().expect("utf-8")];

    let not_zip = dir.path().join("chat.zip");
    std::fs::write(&not_zip, "not an archive").expect("write");
    let error =
        run(args(&[&base[..], &media_arg, &[not_zip.to_str().expect("utf-8")]].concat())).await.expect_err("refused");
    assert!(format!("{error:#}").contains("is not a ZIP archive"), "{error:#}");

    let no_chat = dir.path().join("photos.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&no_chat).expect("create"));
    zip.start_file("IMG-1.jpg", zip::write::SimpleFileOptions::default()).expect("entry");
    zip.write_all(b"jpeg").expect("write");
    zip.finish().expect("finish");
    let error =
        run(args(&[&base[..], &media_arg, &[no_chat.to_str().expect("utf-8")]].concat())).await.expect_err("refused");
    assert!(format!("{error:#}").contains("no chat text in the archive"), "{error:#}");

    // A chat that does not parse: no row and no file, although the archive holds the attachment.
    let bad = dir.path().join("bad.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&bad).expect("create"));
    zip.start_file("_chat.txt", zip::write::SimpleFileOptions::default()).expect("entry");
    zip.write_all(b"this is not a chat\n<attached: IMG-1.jpg>\n").expect("write");
    zip.start_file("IMG-1.jpg", zip::write::SimpleFileOptions::default()).expect("entry");
    zip.write_all(b"jpeg").expect("write");
    zip.finish().expect("finish");
    assert!(run(args(&[&base[..], &media_arg, &[bad.to_str().expect("utf-8")]].concat())).await.is_err());
    assert!(!media.exists(), "nothing written to the media folder");
    let store = SqliteServerStore::open(&db, whatsapp::schema()).expect("open");
    assert!(store.status("wa-1").await.is_err(), "no row written");
}
