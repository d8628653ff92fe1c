//! `server-example import` as the command line calls it.

use clap::Parser;
use server_example::import::{ImportArgs, run, stable_id};
use sync_sqlite::SqliteServerStore;

use crate::support::{counts, fixture};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    import: ImportArgs,
}

fn args(list: &[&str]) -> Result<ImportArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("import").chain(list.iter().copied())).map(|cli| cli.import)
}

#[tokio::test]
async fn import_command_reads_export_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server.db");
    let (ana, family) = (fixture("WhatsApp Chat with Ana Silva.txt"), fixture("WhatsApp Chat - Family.txt"));
    let list = [
        "--db",
        db.to_str().expect("utf-8"),
        "--integration",
        "wa-1",
        "--me",
        "Me",
        ana.to_str().expect("utf-8"),
        family.to_str().expect("utf-8"),
    ];
    run(args(&list).expect("parse")).await.expect("import");
    let store = SqliteServerStore::open(&db, server_example::whatsapp::schema()).expect("open");
    let counts = counts(&store, "wa-1").await;
    assert_eq!(counts.get("conversations"), Some(&2));
    assert_eq!(counts.get("messages"), Some(&19));
    assert_eq!(counts.get("message_media"), Some(&8));
}

#[tokio::test]
async fn import_command_refuses_what_it_cannot_do() {
    assert!(
        args(&["--integration", "wa-1", "--chitchat", "dataset.json", "chat.txt"]).is_err(),
        "files and --chitchat conflict"
    );
    assert!(args(&["chat.txt"]).is_err(), "--integration is required");
    let chitchat = args(&["--integration", "wa-1", "--chitchat"]).expect("--chitchat without a path");
    assert_eq!(chitchat.chitchat, Some(None));

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server.db");
    let db = db.to_str().expect("utf-8");
    let nothing =
        run(args(&["--db", db, "--integration", "wa-1"]).expect("parse")).await.expect_err("nothing to import");
    assert!(nothing.to_string().contains("nothing to import"), "{nothing}");
    let missing =
        run(args(&["--db", db, "--integration", "wa-1", "--chitchat", "/nonexistent/dataset.json"]).expect("parse"))
            .await
            .expect_err("missing dataset");
    assert!(format!("{missing:#}").contains("/nonexistent/dataset.json"), "{missing:#}");
}

#[test]
fn ids_are_stable_across_versions() {
    // Re-imports find their rows again only while this hash stays the same: changing it duplicates every import.
    assert_eq!(stable_id(&["wa-1", "x"]), "da272b02-271a-c199-efa9-c856be612f04"); // FNV-1a 64, checked in Python
    assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
}
