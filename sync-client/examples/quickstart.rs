//! The README's Rust example, compiled with the workspace's tests (a test in `testing/tests/docs` checks that every
//! line of the README's snippet is here). Point `url`, `token` and `scope` at a server, e.g. `server-example serve`
//! (README, "From the command line"), then `cargo run -p sync-client --example quickstart`.

use sync_client::{Client, ClientOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = ClientOptions {
        scope: "wa-1".into(), // the integration
        db: "app.db".into(),
        url: "https://sync.example.com".into(),
        token: Some("secret".into()),
        ..Default::default()
    };
    let client = Client::open_async(options).await?; // opens (and may migrate) the file on a blocking thread
    let report = client.sync(None, None, None).await?; // all collections, no progress callback, until close()
    println!("{} rows in {} pages", report.rows(), report.pages());

    // Full-text search of the replica (collections that declare `full_text` columns: here the messages' bodies).
    // Any typed text is a valid query; `cafe` finds `Café`; snippets are HTML-escaped around <mark>…</mark>; hits
    // come newest first (`order: SearchOrder::Relevance` for bm25's best first, slower on common words).
    let options =
        sync_sqlite::SearchOptions { filter: vec![("conversation_id".into(), "c-1".into())], ..Default::default() };
    for hit in client.store.search("wa-1", "lunch tomorrow", options).await? {
        println!("{} {} {}", hit.collection, hit.id, hit.snippet);
    }

    // Selective sync: only these conversations (their messages, media, participants); the next sync fetches just them.
    // unsubscribe evicts, archive keeps them frozen and unsynced, unarchive catches up, subscribe_everything goes back.
    client.subscribe(vec!["c-1".into(), "c-2".into()]).await?;
    client.sync(None, None, None).await?;

    // Recent first: the chat list, then the newest 50 messages of each conversation, then the history; events say when.
    let events: sync_client::RecentFn = std::sync::Arc::new(|event| println!("{event:?}"));
    client.prioritize("c-2"); // the conversation the user opened: its history first
    client.sync_recent_first(None, Some(events), None, None).await?;
    Ok(())
}
