//! Chats kept apart and re-imports that change only what changed, end to end: imported into the embedded server
//! store, synced over loopback HTTP into an SQLite client, checked exact.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use server_example::import::export_rows::{ExportOptions, Imported, import_file};
use sync_core::Value;

use crate::support::{Synced, fixture};

const SCOPE: &str = "wa-reimport";

fn me() -> ExportOptions {
    ExportOptions { me: Some("Me".into()), ..Default::default() }
}

/// Writes `text` to `dir/sub/_chat.txt`, as iOS names every export.
fn ios_export(dir: &Path, sub: &str, text: &str) -> PathBuf {
    let path = dir.join(sub).join("_chat.txt");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write export");
    path
}

/// An iOS group export of `n` messages, a minute apart, by three senders.
fn group_export(n: usize) -> String {
    let senders = ["Carla Rossi", "David Kim", "Elena Novak"];
    (0..n)
        .map(|i| {
            let (hour, minute) = (8 + i / 60, i % 60);
            format!("[15/03/2024, {hour:02}:{minute:02}:00] {}: group message {i}\n", senders[i % 3])
        })
        .collect()
}

/// An Android export of the first `n` messages of a chat between Ana and Me, with a true repeat (two "ok"s in
/// one minute) at messages 6 and 7.
fn android_export(n: usize) -> String {
    (0..n)
        .map(|i| {
            let (who, text) = match i {
                6 | 7 => ("Ana", "ok".to_owned()),
                _ if i % 2 == 0 => ("Ana", format!("question {i}")),
                _ => ("Me", format!("answer {i}")),
            };
            let minute = if i == 7 { 6 } else { i };
            format!("16/03/2024, {:02}:{:02} - {who}: {text}\n", 9 + minute / 60, minute % 60)
        })
        .collect()
}

/// Messages per conversation in the client, and the bodies of the smallest conversation.
async fn client_chats(synced: &Synced) -> (Vec<usize>, Vec<Value>) {
    let mut chats: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in synced.client_rows("messages").await {
        let Value::Text(conversation) = &row.values[0] else { panic!("conversation_id is text") };
        chats.entry(conversation.clone()).or_default().push(row.values[4].clone());
    }
    let mut sizes: Vec<usize> = chats.values().map(Vec::len).collect();
    sizes.sort_unstable();
    let mut smallest = chats.into_values().min_by_key(Vec::len).unwrap_or_default();
    smallest.sort_by_key(|v| format!("{v:?}"));
    (sizes, smallest)
}

fn written(imported: &Imported) -> [u64; 5] {
    let t = &imported.totals;
    [t.conversations, t.messages, t.contacts, t.participants, t.media]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ios_exports_both_named_chat_txt_stay_two_chats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = ios_export(dir.path(), "a", &group_export(500));
    let pair = "[16/03/2024, 09:00:00] Zed Ali: first\n[16/03/2024, 09:01:00] Me: second\n\
                [16/03/2024, 09:02:00] Zed Ali: third\n";
    let pair = ios_export(dir.path(), "b", pair);
    let synced = Synced::start(SCOPE).await;
    import_file(synced.server.as_ref(), SCOPE, &group, &me()).await.expect("import the group");
    let imported = import_file(synced.server.as_ref(), SCOPE, &pair, &me()).await.expect("import the pair");
    // The pair's own rows, none of the group's overwritten: a conversation, 3 messages, Zed's contact and
    // participation.
    assert_eq!(written(&imported), [1, 3, 1, 1, 0]);
    assert_eq!(imported.unchanged, 0);

    synced.sync_exact().await;
    let (sizes, pair_bodies) = client_chats(&synced).await;
    assert_eq!(sizes, [3, 500]);
    let text = |s: &str| Value::Text(s.into());
    assert_eq!(pair_bodies, [text("first"), text("second"), text("third")]);
    let conversations = synced.client_rows("conversations").await;
    let names: Vec<&Value> = conversations.iter().map(|r| &r.values[1]).collect();
    assert!(names.contains(&&text("Zed Ali")), "a chat of two is named after the other person: {names:?}");
    synced.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_reimport_writes_no_row_and_takes_no_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let synced = Synced::start(SCOPE).await;
    let family = fixture("WhatsApp Chat - Family.txt");
    let uk_text = std::fs::read_to_string(fixture("_chat_uk.txt")).expect("read");
    let uk = ios_export(dir.path(), "first", &uk_text);
    let mut rows = 0;
    for file in [&family, &uk] {
        rows += import_file(synced.server.as_ref(), SCOPE, file, &me()).await.expect("import").totals.rows();
    }
    assert_eq!(synced.sync_exact().await, rows);
    let seq = synced.latest_seq().await;

    // The same exports again, one of them from another folder (the file name names the conversation).
    let renamed = ios_export(dir.path(), "again", &uk_text);
    let mut unchanged = 0;
    for file in [&family, &renamed] {
        let imported = import_file(synced.server.as_ref(), SCOPE, file, &me()).await.expect("re-import");
        assert_eq!(written(&imported), [0; 5], "{}", file.display());
        unchanged += imported.unchanged;
    }
    assert_eq!(unchanged, rows, "every row was found unchanged");
    assert_eq!(synced.latest_seq().await, seq, "no seq taken");
    assert_eq!(synced.sync_exact().await, 0, "the client has nothing to download");
    synced.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_reexport_writes_only_the_new_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let synced = Synced::start(SCOPE).await;
    let first = ios_export(dir.path(), "march", &android_export(50));
    let imported = import_file(synced.server.as_ref(), SCOPE, &first, &me()).await.expect("import");
    assert_eq!(written(&imported), [1, 50, 1, 1, 0], "both \"ok\"s are messages");
    synced.sync_exact().await;
    let seq = synced.latest_seq().await;

    let later = ios_export(dir.path(), "april", &android_export(60));
    let imported = import_file(synced.server.as_ref(), SCOPE, &later, &me()).await.expect("import the longer");
    // Ten messages, the conversation's last-message time and Ana's last-seen time: nothing else.
    assert_eq!(written(&imported), [1, 10, 1, 0, 0]);
    assert_eq!(imported.unchanged, 50 + 1);
    assert_eq!(synced.latest_seq().await, seq + 12);
    assert_eq!(synced.sync_exact().await, 12, "the client downloads the new rows only");
    let (sizes, _) = client_chats(&synced).await;
    assert_eq!(sizes, [60]);
    synced.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_first_imported_with_fewer_messages_than_its_key_is_found_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let synced = Synced::start(SCOPE).await;
    let short = ios_export(dir.path(), "short", &android_export(2));
    import_file(synced.server.as_ref(), SCOPE, &short, &me()).await.expect("import");
    let longer = ios_export(dir.path(), "longer", &android_export(8));
    let imported = import_file(synced.server.as_ref(), SCOPE, &longer, &me()).await.expect("import the longer");
    assert_eq!(written(&imported)[..2], [1, 6]);
    assert_eq!(synced.sync_exact().await, 1 + 8 + 1 + 1, "one conversation, 8 messages, one contact and participant");
    let (sizes, _) = client_chats(&synced).await;
    assert_eq!(sizes, [8]);

    // A --chat-name makes a chat of its own even with the same messages.
    let named = ExportOptions { chat_name: Some("Ana (work)".into()), ..me() };
    let imported = import_file(synced.server.as_ref(), SCOPE, &longer, &named).await.expect("import named");
    assert_eq!(written(&imported)[..2], [1, 8]);
    synced.sync_exact().await;
    assert_eq!(client_chats(&synced).await.0, [8, 8]);
    synced.stop().await;
}
