//! An oracle for full-text search: what [`SqliteStore::search`] must find among a replica's messages, computed
//! in Rust without SQLite (text lower-cased, diacritics removed, split into words of letters and digits; every word
//! of the query must occur, a query word of several tokens as a phrase), in which order (newest first: the greatest
//! rowid, the order in which the rows reached the replica; or by relevance), and generated queries, hostile ones
//! included, to compare the two on.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context as _, bail, ensure};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sync_core::Value;
use sync_sqlite::{SearchHit, SearchMode, SearchOptions, SearchOrder, SqliteStore};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The tokens of `text` as the oracle sees them: decomposed, combining marks dropped, lower-cased, split on
/// every character that is not a letter, a digit, private-use or one of the noncharacters U+FDD0..U+FDEF (the
/// characters SQLite's unicode61 tokenizer keeps in tokens).
pub fn tokens(text: &str) -> Vec<String> {
    let folded: String = text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect();
    let kept = |c: char| {
        c.is_alphanumeric()
            || matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{FDD0}'..='\u{FDEF}' | '\u{F0000}'..='\u{10FFFD}')
    };
    folded.split(|c: char| !kept(c)).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// One searched message.
struct Doc {
    id: String,
    /// Its place in the replica: [`SearchOrder::Recent`] lists the greatest first.
    rowid: i64,
    conversation: String,
    tokens: Vec<String>,
}

/// A scope's messages, with an inverted index (token → documents) so that a query costs its candidates, not
/// the corpus; each candidate is then checked by a plain scan of its tokens.
pub struct Oracle {
    docs: Vec<Doc>,
    postings: HashMap<String, Vec<usize>>,
    vocabulary: BTreeMap<String, ()>,
}

/// A query and how to run it.
#[derive(Clone, Debug)]
pub struct Query {
    /// The text, as a user typed it.
    pub text: String,
    /// Plain or prefix.
    pub mode: SearchMode,
    /// Only this conversation's messages.
    pub conversation: Option<String>,
}

/// What [`Oracle::check`] compared.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checked {
    /// Queries run.
    pub queries: usize,
    /// Queries whose every match was compared (the others: the first page of a larger result).
    pub exact: usize,
    /// Hits compared (each query runs in both orders).
    pub hits: usize,
}

/// The most hits compared one by one for a query; a query with more is checked on its first page.
const EXACT_UP_TO: usize = 400;

impl Oracle {
    /// Reads the live messages of `scope` from the replica.
    pub async fn load(store: &SqliteStore, scope: &str) -> anyhow::Result<Oracle> {
        let sql = "SELECT id, conversation_id, body, rowid FROM messages WHERE integration_id = ?";
        let rows = store.query(sql, vec![Value::from(scope)]).await.context("read the messages")?.rows;
        let mut oracle = Oracle { docs: Vec::new(), postings: HashMap::new(), vocabulary: BTreeMap::new() };
        for row in rows {
            let text = |v: &Value| match v {
                Value::Text(t) => t.clone(),
                _ => String::new(),
            };
            let Value::Integer(rowid) = row[3] else { bail!("a rowid that is not an integer: {:?}", row[3]) };
            let doc = Doc { id: text(&row[0]), rowid, conversation: text(&row[1]), tokens: tokens(&text(&row[2])) };
            let n = oracle.docs.len();
            for token in doc.tokens.iter().collect::<BTreeSet<_>>() {
                oracle.postings.entry(token.clone()).or_default().push(n);
                oracle.vocabulary.insert(token.clone(), ());
            }
            oracle.docs.push(doc);
        }
        Ok(oracle)
    }

    /// Messages held.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether it holds no message.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The ids of the messages `query` must find.
    pub fn matches(&self, query: &Query) -> BTreeSet<&str> {
        self.matching(query).into_iter().map(|doc| doc.id.as_str()).collect()
    }

    /// The ids of the messages `query` must find, newest first (the order of [`SearchOrder::Recent`]).
    pub fn newest_first(&self, query: &Query) -> Vec<&str> {
        let mut docs = self.matching(query);
        docs.sort_by_key(|doc| std::cmp::Reverse(doc.rowid));
        docs.into_iter().map(|doc| doc.id.as_str()).collect()
    }

    fn matching(&self, query: &Query) -> Vec<&Doc> {
        let words: Vec<Vec<String>> = query.text.split_whitespace().map(tokens).filter(|w| !w.is_empty()).collect();
        let Some(last) = words.len().checked_sub(1) else { return Vec::new() };
        let prefix = query.mode == SearchMode::Prefix;
        // Candidates: the documents holding the rarest first token of a whole word (every word must occur), or
        // when the only word is a single-token prefix, any token it begins.
        let whole = words.iter().enumerate().filter(|(i, w)| !(prefix && *i == last && w.len() == 1));
        let rarest =
            whole.map(|(_, w)| self.postings.get(&w[0]).map_or(&[][..], Vec::as_slice)).min_by_key(|p| p.len());
        let candidates: BTreeSet<usize> = match rarest {
            Some(postings) => postings.iter().copied().collect(),
            None => {
                let first = &words[0][0];
                let starting =
                    self.vocabulary.range(first.clone()..).take_while(|(t, _)| t.starts_with(first.as_str()));
                starting.flat_map(|(t, _)| self.postings[t].iter().copied()).collect()
            }
        };
        candidates
            .into_iter()
            .map(|i| &self.docs[i])
            .filter(|doc| query.conversation.as_ref().is_none_or(|c| *c == doc.conversation))
            .filter(|doc| words.iter().enumerate().all(|(i, word)| has_phrase(&doc.tokens, word, prefix && i == last)))
            .collect()
    }

    /// Queries over this corpus: words, pairs and triples of words from its messages, prefixes, one
    /// conversation's messages, and hostile text (FTS5 syntax, quotes, emoji, lone punctuation) around words.
    pub fn queries(&self, n: usize, seed: u64) -> Vec<Query> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let docs: Vec<&Doc> = self.docs.iter().filter(|d| !d.tokens.is_empty()).collect();
        let hostile = [
            "\"", "(", ")", "*", "-", "AND", "OR", "NOT", "NEAR", "^", ":", "body:", "{body}", "'", "\"\"", "🎉", "+",
            "\\", "%", "_", "\u{FDD0}", ";", "--", "/*",
        ];
        let mut out = Vec::with_capacity(n);
        while out.len() < n && !docs.is_empty() {
            let doc = docs[rng.random_range(0..docs.len())];
            let start = rng.random_range(0..doc.tokens.len());
            let count = rng.random_range(1..=3).min(doc.tokens.len() - start);
            let mut words: Vec<String> = doc.tokens[start..start + count].to_vec();
            let mut mode = SearchMode::Plain;
            match rng.random_range(0..6) {
                0 => {
                    mode = SearchMode::Prefix;
                    let last = words.last_mut().expect("a word");
                    let keep = rng.random_range(1..=last.chars().count());
                    *last = last.chars().take(keep).collect();
                }
                1 | 2 => {
                    let junk = *hostile.choose(&mut rng).expect("hostile");
                    let at = rng.random_range(0..=words.len());
                    if rng.random_bool(0.5) {
                        words.insert(at, junk.to_owned());
                    } else {
                        let w = rng.random_range(0..words.len());
                        words[w] = if rng.random_bool(0.5) {
                            format!("{junk}{}", words[w])
                        } else {
                            format!("{}{junk}", words[w])
                        };
                    }
                }
                3 => words = words.iter().map(|w| w.to_uppercase()).collect(),
                _ => {}
            }
            let conversation = rng.random_bool(0.15).then(|| doc.conversation.clone());
            out.push(Query { text: words.join(" "), mode, conversation });
        }
        out.push(Query { text: hostile.join(" "), mode: SearchMode::Plain, conversation: None });
        out.push(Query { text: "\"unbalanced (AND NOT".into(), mode: SearchMode::Prefix, conversation: None });
        out
    }

    /// Runs each query on `store` in both orders and compares. Newest first: the hits must be the oracle's
    /// matches in its order, all of them when there are at most `EXACT_UP_TO` (400), else the first page of 50. By
    /// relevance: a query with at most 400 matches must find exactly those, a larger one must fill its page with
    /// matches, in rank order. Each snippet must mark a match and hold no markup but the markers.
    pub async fn check(&self, store: &SqliteStore, scope: &str, queries: &[Query]) -> anyhow::Result<Checked> {
        let mut checked = Checked::default();
        for query in queries {
            let newest = self.newest_first(query);
            let exact = newest.len() <= EXACT_UP_TO;
            let limit = if exact { EXACT_UP_TO + 1 } else { 50 };
            for order in [SearchOrder::Recent, SearchOrder::Relevance] {
                let hits = search(store, scope, query, order, limit).await?;
                let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
                if order == SearchOrder::Recent {
                    let expected = &newest[..newest.len().min(limit)];
                    if ids != expected {
                        let first = ids.iter().zip(expected).position(|(a, b)| a != b).unwrap_or(ids.len());
                        bail!(
                            "{query:?} newest first: {} found, {} expected; first difference at {first}: found \
                             {:?}, expected {:?}",
                            ids.len(),
                            expected.len(),
                            ids.get(first),
                            expected.get(first)
                        );
                    }
                    ensure!(hits.iter().all(|h| h.rank.is_none()), "{query:?}: a rank in recent order");
                } else {
                    self.compare_relevance(query, &hits, exact, limit)?;
                }
                for hit in &hits {
                    let text = hit.snippet.replace("<mark>", "").replace("</mark>", "");
                    ensure!(hit.snippet.contains("<mark>"), "{query:?}: snippet without a match: {:?}", hit.snippet);
                    ensure!(!text.contains(['<', '>']), "{query:?}: markup in a snippet: {:?}", hit.snippet);
                }
                checked.hits += hits.len();
            }
            checked.exact += usize::from(exact);
            checked.queries += 1;
        }
        Ok(checked)
    }

    /// By relevance: the set of the hits (all matches, or a full page of matches), in rank order.
    fn compare_relevance(&self, query: &Query, hits: &[SearchHit], exact: bool, limit: usize) -> anyhow::Result<()> {
        let expected = self.matches(query);
        let found: BTreeSet<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        ensure!(found.len() == hits.len(), "{query:?}: a row found twice");
        if exact {
            if found != expected {
                let missing: Vec<_> = expected.difference(&found).take(5).collect();
                let extra: Vec<_> = found.difference(&expected).take(5).collect();
                bail!(
                    "{query:?}: {} found, {} expected; missing {missing:?}, extra {extra:?}",
                    found.len(),
                    expected.len()
                );
            }
        } else {
            ensure!(hits.len() == limit, "{query:?}: {} hits, a full page of {limit} expected", hits.len());
            let extra: Vec<_> = found.difference(&expected).take(5).collect();
            ensure!(extra.is_empty(), "{query:?}: found rows that do not match: {extra:?}");
        }
        let ranks: Option<Vec<f64>> = hits.iter().map(|h| h.rank).collect();
        let ranks = ranks.with_context(|| format!("{query:?}: a hit without a rank by relevance"))?;
        ensure!(ranks.windows(2).all(|w| w[0] <= w[1]), "{query:?}: hits out of rank order");
        Ok(())
    }
}

/// `query` run on `store` in `order`, at most `limit` hits.
async fn search(
    store: &SqliteStore,
    scope: &str,
    query: &Query,
    order: SearchOrder,
    limit: usize,
) -> anyhow::Result<Vec<SearchHit>> {
    let filter = query.conversation.iter().map(|c| ("conversation_id".to_owned(), Value::from(c.as_str())));
    let options = SearchOptions {
        mode: query.mode,
        order,
        collections: vec!["messages".into()],
        filter: filter.collect(),
        limit,
        ..Default::default()
    };
    store.search(scope, &query.text, options).await.with_context(|| format!("search {query:?} {order:?}"))
}

/// Whether `word`'s tokens occur consecutively in `doc` (the last one as a prefix, if `prefix`).
fn has_phrase(doc: &[String], word: &[String], prefix: bool) -> bool {
    let last = word.len() - 1;
    doc.windows(word.len()).any(|window| {
        window
            .iter()
            .zip(word)
            .enumerate()
            .all(|(i, (have, want))| if prefix && i == last { have.starts_with(want.as_str()) } else { have == want })
    })
}

/// FTS5's own check of the index of `table` against the table's rows (`integrity-check` with rank 1): an error
/// if the index lacks a row, holds one the table does not have, or holds an old version of one.
pub fn check_index(conn: &rusqlite::Connection, table: &str) -> anyhow::Result<()> {
    let fts = format!("{table}_fts");
    conn.execute(&format!("INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"), [])
        .with_context(|| format!("the full-text index of {table} disagrees with the table"))?;
    Ok(())
}

/// The full-text index of the messages as a killed process left the file, before a store opens it (which would
/// repair it): `Ok(true)` if it is kept current and agrees with the table, `Ok(false)` if an initial sync was
/// loading the table (its triggers dropped until the load ends; opening rebuilds it), an error if it disagrees.
pub fn index_as_left(db: &std::path::Path) -> anyhow::Result<bool> {
    let conn = rusqlite::Connection::open(db)?;
    let triggers: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'messages_fts_%'",
        [],
        |row| row.get(0),
    )?;
    if triggers == 0 {
        return Ok(false);
    }
    ensure!(triggers == 3, "{} has {triggers} of the 3 triggers of the messages' full-text index", db.display());
    check_index(&conn, "messages")?;
    Ok(true)
}
