//! Crash trials of subscription changes other than subscribing: `sync-cli pull --unsubscribe …` (eviction),
//! `--archive …` and `--unarchive …` (catch-up) killed with SIGKILL at a random instant of the run, each on the
//! file the last one left, with server writes now and then. After every kill the file must hold the subscription
//! before the change or the one after it, no row of a conversation outside it, and every archived conversation
//! exactly as it was when archived (frozen, readable); runs to the end must be exact for the active
//! conversations, and the last file, unarchived, exact for exactly its conversations (`verify_subset`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, ensure};
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::Sizes;
use server_example::whatsapp;
use sync_core::{ChangeFeed, ClientStore, ServerStore as _, StoredRow, Value, same_values};
use sync_sqlite::SqliteStore;

use crate::procs::{SCOPE, kill_client_after, run_client};
use crate::selective_crash::{Fixture, SelectiveReport, fixture};

/// The subscription change a series of trials kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// `--unsubscribe`: the conversations' rows are evicted.
    Unsubscribe,
    /// `--archive`: the conversations' rows stay, frozen.
    Archive,
    /// `--unarchive`: the conversations are caught up from where they stopped.
    Unarchive,
}

impl ChangeKind {
    fn flag(self) -> &'static str {
        match self {
            ChangeKind::Unsubscribe => "--unsubscribe",
            ChangeKind::Archive => "--archive",
            ChangeKind::Unarchive => "--unarchive",
        }
    }
}

/// Subscribed conversations → archived.
type State = BTreeMap<String, bool>;
/// A conversation's rows in the filtered collections: (collection, id) → values.
type Rows = BTreeMap<(String, String), Vec<Value>>;

/// The subscription of the replica at `db` (it must not be "everything").
async fn state(db: &Path) -> anyhow::Result<State> {
    let subscription = SqliteStore::open(db)?.subscription(SCOPE).await?;
    let Some(values) = subscription.values else { bail!("{} syncs everything", db.display()) };
    Ok(values.into_iter().map(|v| (v.value, v.archived)).collect())
}

/// Adds `rows` of `collection` to `by_value`, under each row's filter value.
fn group(collection: &str, rows: Vec<StoredRow>, by_value: &mut BTreeMap<String, Rows>) -> anyhow::Result<()> {
    let schema = whatsapp::schema();
    let c = schema.collection(collection).ok_or_else(|| anyhow::anyhow!("no collection {collection}"))?;
    let column = c.filter.as_deref().ok_or_else(|| anyhow::anyhow!("{collection} is not filtered"))?;
    for row in rows {
        let value = match (column, c.column_index(column).map(|i| &row.values[i])) {
            ("id", _) => row.id.clone(),
            (_, Some(Value::Text(value))) => value.clone(),
            _ => bail!("{collection} {}: no filter value", row.id),
        };
        by_value.entry(value).or_default().insert((collection.to_owned(), row.id), row.values);
    }
    Ok(())
}

fn filtered() -> Vec<String> {
    whatsapp::schema().collections.into_iter().filter(|c| c.filter.is_some()).map(|c| c.name).collect()
}

/// The replica's rows of the filtered collections by conversation.
async fn client_rows(db: &Path) -> anyhow::Result<BTreeMap<String, Rows>> {
    let store = SqliteStore::open(db)?;
    let mut by_value = BTreeMap::new();
    for collection in filtered() {
        group(&collection, store.read_rows(SCOPE, &collection, None, 100_000_000).await?, &mut by_value)?;
    }
    Ok(by_value)
}

/// The server's live rows of the filtered collections by conversation.
async fn server_rows(f: &Fixture) -> anyhow::Result<BTreeMap<String, Rows>> {
    let mut by_value = BTreeMap::new();
    for collection in filtered() {
        group(&collection, f.store.read_rows(SCOPE, &collection, None, 100_000_000).await?, &mut by_value)?;
    }
    Ok(by_value)
}

/// The replica at `db` holds no row of a conversation outside `now`, and each archived conversation exactly as
/// `frozen` has it; with `exact`, each active one exactly as the server has it. Returns the rows compared.
async fn check(
    f: &Fixture,
    db: &Path,
    now: &State,
    frozen: &BTreeMap<String, Rows>,
    exact: bool,
) -> anyhow::Result<u64> {
    let held = client_rows(db).await?;
    let server = if exact { server_rows(f).await? } else { BTreeMap::new() };
    let empty = Rows::new();
    let mut compared = 0;
    for (value, rows) in &held {
        ensure!(now.contains_key(value), "{} rows of {value}, which is not subscribed", rows.len());
    }
    for (value, archived) in now {
        let rows = held.get(value).unwrap_or(&empty);
        let expected = match (archived, exact) {
            (true, _) => frozen.get(value).unwrap_or(&empty),
            (false, true) => server.get(value).unwrap_or(&empty),
            (false, false) => continue,
        };
        let differs = rows.iter().find(|(key, values)| !expected.get(*key).is_some_and(|e| same_values(e, values)));
        let missing = expected.keys().find(|key| !rows.contains_key(*key));
        if differs.is_some() || missing.is_some() {
            bail!(
                "{value} (archived: {archived}) holds {} rows, not its {}: first held row that differs {differs:?} \
                 (expected {:?}), first missing {missing:?}",
                rows.len(),
                expected.len(),
                differs.and_then(|(key, _)| expected.get(key)),
            );
        }
        compared += rows.len() as u64;
    }
    Ok(compared)
}

/// Brings the file to a state where `kind` has values to change: at least four active conversations (subscribes
/// to three more if not), for an unarchive at least one archived (archives three), for an archive at most six
/// archived (unarchives them all). Each change runs to the end.
async fn prepare(
    f: &Fixture,
    db: &Path,
    kind: ChangeKind,
    conversations: &[String],
    frozen: &mut BTreeMap<String, Rows>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<State> {
    let mut now = state(db).await?;
    let active: Vec<String> = now.iter().filter(|(_, a)| !**a).map(|(v, _)| v.clone()).collect();
    if active.len() < 4 {
        let fresh: Vec<&String> = conversations.iter().filter(|c| !now.contains_key(*c)).collect();
        let added: Vec<String> = fresh.choose_multiple(rng, 3).map(|c| (*c).clone()).collect();
        ensure!(!added.is_empty(), "every conversation is subscribed");
        run_client(f.pull(db, &flags("--subscribe", &added))?, &f.log())?;
        now = state(db).await?;
    }
    let archived: Vec<String> = now.iter().filter(|(_, a)| **a).map(|(v, _)| v.clone()).collect();
    if kind == ChangeKind::Archive && archived.len() > 6 {
        // Archived conversations pile up: unarchive them, so that there are always others to subscribe to.
        run_client(f.pull(db, &flags("--unarchive", &archived))?, &f.log())?;
        archived.iter().for_each(|value| drop(frozen.remove(value)));
        now = state(db).await?;
    }
    if kind == ChangeKind::Unarchive && archived.is_empty() {
        let active: Vec<String> = now.iter().filter(|(_, a)| !**a).map(|(v, _)| v.clone()).collect();
        let chosen: Vec<String> = active.choose_multiple(rng, 3).cloned().collect();
        let held = client_rows(db).await?;
        run_client(f.pull(db, &flags("--archive", &chosen))?, &f.log())?;
        for value in chosen {
            frozen.insert(value.clone(), held.get(&value).cloned().unwrap_or_default());
        }
        now = state(db).await?;
    }
    Ok(now)
}

fn flags(flag: &str, values: &[String]) -> Vec<String> {
    values.iter().flat_map(|v| [flag.to_owned(), v.clone()]).collect()
}

/// The state `change` of `values` leads to from `before`.
fn changed(before: &State, kind: ChangeKind, values: &[String]) -> State {
    let mut after = before.clone();
    for value in values {
        match kind {
            ChangeKind::Unsubscribe => after.remove(value),
            ChangeKind::Archive => after.insert(value.clone(), true),
            ChangeKind::Unarchive => after.insert(value.clone(), false),
        };
    }
    after
}

/// `trials` kills of `sync-cli pull <kind's flag> c…` (1 to 3 conversations), starting from a replica subscribed
/// to eight conversations and synced, each on the file the last one left (see the module's comment).
pub async fn change_kills(kind: ChangeKind, trials: usize, sizes: Sizes, seed: u64) -> anyhow::Result<SelectiveReport> {
    let f = fixture(sizes, seed).await?;
    let mut report = SelectiveReport::default();
    let page = f.store.page(SCOPE, "conversations", 0, 100_000).await?;
    let conversations: Vec<String> = page.rows.iter().filter(|r| !r.is_delete()).map(|r| r.id.clone()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let db = f.dir.path().join("client.db");
    let first: Vec<String> = conversations.choose_multiple(&mut rng, 8).cloned().collect();
    let started = Instant::now();
    run_client(f.pull(&db, &flags("--subscribe", &first))?, &f.log())?;
    // Where in a run the change commits, learnt from the kills: each lands within -30 % .. +60 % of it, so that
    // kills fall on both sides of the change (and inside its transaction), not mostly in the start-up before it.
    let mut edge = started.elapsed().mul_f64(0.5);
    let mut frozen: BTreeMap<String, Rows> = BTreeMap::new();
    while report.kills < trials {
        let before = prepare(&f, &db, kind, &conversations, &mut frozen, &mut rng).await?;
        // Active conversations to unsubscribe or archive (at least one stays active), archived ones to unarchive.
        let archived = kind == ChangeKind::Unarchive;
        let candidates: Vec<String> = before.iter().filter(|(_, a)| **a == archived).map(|(v, _)| v.clone()).collect();
        let n = rng.random_range(1..=3);
        let values: Vec<String> = candidates.choose_multiple(&mut rng, n).cloned().collect();
        let held = client_rows(&db).await?;
        let at = edge.mul_f64(rng.random_range(0.7..1.6));
        if !kill_client_after(f.pull(&db, &flags(kind.flag(), &values))?, at, &f.log()).await? {
            report.missed += 1;
            edge = edge.min(at).mul_f64(0.8);
        } else {
            report.kills += 1;
        }
        let now = state(&db).await?;
        let after = changed(&before, kind, &values);
        if now == before {
            edge = edge.max(at);
            // The change comes before the sync in the run: if it did not commit, nothing of the file changed.
            ensure!(client_rows(&db).await? == held, "the subscription did not change, but the rows did");
            report.before += 1;
        } else if now == after {
            edge = edge.min(at);
            report.after += 1;
            for value in &values {
                match kind {
                    ChangeKind::Archive => frozen.insert(value.clone(), held.get(value).cloned().unwrap_or_default()),
                    _ => frozen.remove(value),
                };
            }
        } else {
            bail!("after a kill the subscription is {now:?}: neither {before:?} nor {after:?}");
        }
        report.rows_compared += check(&f, &db, &now, &frozen, false).await?;
        report.checks += 1;
        if rng.random_bool(0.5) {
            run_client(f.pull(&db, &[])?, &f.log())?;
            report.rows_compared += check(&f, &db, &now, &frozen, true).await?;
            report.exact += 1;
            if rng.random_bool(0.4) {
                let changes = ChangeSet { new_messages: 200, edits: 40, deletes: 30, deleted_conversations: 1 };
                apply_changes(f.store.as_ref(), SCOPE, changes, rng.random()).await?;
            }
        }
    }
    finish(&f, &db, &mut report).await?;
    Ok(report)
}

/// Unarchives what is archived and pulls to the end: exact for exactly the subscribed conversations.
async fn finish(f: &Fixture, db: &Path, report: &mut SelectiveReport) -> anyhow::Result<()> {
    let archived: Vec<String> = state(db).await?.into_iter().filter(|(_, a)| *a).map(|(v, _)| v).collect();
    let args = flags("--unarchive", &archived);
    run_client(f.pull(db, &args)?, &f.log())?;
    let values: BTreeSet<String> = state(db).await?.into_keys().collect();
    f.verify(db, Some(&values), report).await
}
