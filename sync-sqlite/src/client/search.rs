//! Full-text search on the reader thread: [`SearchOptions`] in, [`SearchHit`]s out, over the FTS5 index of each
//! collection that declares `full_text` columns (`sql/fts.rs` keeps the index current).
//!
//! Whatever a user types is safe: [`SearchMode::Plain`] and [`SearchMode::Prefix`] quote every word, so no
//! character is FTS5 syntax; only [`SearchMode::Advanced`] passes FTS5 syntax through, and a query that does not
//! parse is [`StoreError::InvalidQuery`]. Snippets are HTML-escaped by default, so a message holding `<script>`
//! shows as text.

use std::collections::VecDeque;
use std::path::Path;

use rusqlite::Connection;
use sync_core::{Collection, Column, Schema, StoreError, Value};

use crate::convert::{self, Bind};
use crate::sql;

/// How [`SqliteStore::search`](super::SqliteStore::search) reads its query text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchMode {
    /// Every word must occur (case and diacritics ignored: `cafe` finds `Café`); a word of several tokens
    /// (`don't`, `e-mail`) must occur as that phrase. Quotes, `AND`, `-`, `*`, parentheses are plain text, and a
    /// query without any letter or digit finds nothing. For what a user types. The default.
    #[default]
    Plain,
    /// [`SearchMode::Plain`], and the last word also matches as the start of a word (`caf` finds `café`): search
    /// as the user types.
    Prefix,
    /// FTS5 query syntax (`"a phrase"`, `AND`/`OR`/`NOT`, `pre*`, `NEAR(a b, 3)`, `body: word`), for queries the
    /// app writes itself; one that does not parse is [`StoreError::InvalidQuery`].
    Advanced,
}

/// The order of [`SqliteStore::search`](super::SqliteStore::search)'s hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchOrder {
    /// Newest first, as a chat app lists them: within a collection, by when the row first reached this replica
    /// (its SQLite rowid; an edit keeps a row's place, and a replica synced in order has its rows in the server's
    /// seq order; rows that arrive later count as newer: an older conversation a selective sync adds, and the
    /// history a recent-first sync writes after the heads, conversation by conversation; numbering rows by seq
    /// instead made that sync twice as slow, BENCHMARKS.md),
    /// and several collections' hits interleaved by `seq`. The index is read in this order and stops
    /// after `offset + limit` hits, so a word in a million messages costs as much as a rare one. The default.
    #[default]
    Recent,
    /// Best match first by FTS5's bm25 ([`SearchHit::rank`]). Scores every match before returning the first, so a
    /// common word costs as many matches as it has.
    Relevance,
}

/// How matches are marked in a [`SearchHit::snippet`]. The default suits HTML: `<mark>…</mark>` around each
/// match, the text escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Highlight {
    /// Put before each match. Default `<mark>`.
    pub open: String,
    /// Put after each match. Default `</mark>`.
    pub close: String,
    /// Put where the snippet cuts the text. Default `…`.
    pub ellipsis: String,
    /// Escape `&`, `<`, `>`, `"` and `'` in the text (never in the markers). Default true; turn it off for a
    /// display that is not HTML.
    pub escape_html: bool,
    /// The most tokens (words) of text in a snippet, 1 to 64. Default 16.
    pub tokens: usize,
}

impl Default for Highlight {
    fn default() -> Self {
        Highlight {
            open: "<mark>".into(),
            close: "</mark>".into(),
            ellipsis: "…".into(),
            escape_html: true,
            tokens: 16,
        }
    }
}

/// What [`SqliteStore::search`](super::SqliteStore::search) looks for, where, and how many.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOptions {
    /// How the query text is read. Default [`SearchMode::Plain`].
    pub mode: SearchMode,
    /// The order of the hits. Default [`SearchOrder::Recent`].
    pub order: SearchOrder,
    /// The collections to search; empty (the default): every collection that declares full-text columns.
    pub collections: Vec<String>,
    /// Equality filters on declared columns, all of which must hold (`("conversation_id", id.into())`: one
    /// conversation); a `Value::Null` matches NULL. A named collection without such a column is
    /// [`StoreError::InvalidQuery`]; with `collections` empty, such collections are left out.
    pub filter: Vec<(String, Value)>,
    /// At most this many hits. Default 50.
    pub limit: usize,
    /// Hits skipped before the first returned (the next page of results). Default 0.
    pub offset: usize,
    /// How matches are marked in the snippets.
    pub highlight: Highlight,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: SearchMode::Plain,
            order: SearchOrder::Recent,
            collections: Vec::new(),
            filter: Vec::new(),
            limit: 50,
            offset: 0,
            highlight: Highlight::default(),
        }
    }
}

/// One row that matches a search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// The row's collection.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// The best part of the row's text (of its best matching column), matches marked as
    /// [`SearchOptions::highlight`] says.
    pub snippet: String,
    /// FTS5's bm25 rank (lower is a better match) with [`SearchOrder::Relevance`], whose hits are in this order;
    /// `None` with [`SearchOrder::Recent`], which does not compute it.
    pub rank: Option<f64>,
}

/// Marks the snippet's matches while SQLite builds it: Unicode noncharacters, reserved for a program's internal
/// use, so that the text around them can be escaped before they become the caller's markers. (A message that
/// holds one shows the caller's marker there; it cannot inject markup, since the text is escaped.)
const OPEN: char = '\u{FDD0}';
const CLOSE: char = '\u{FDD1}';

/// The FTS5 query for `text` read in `mode`, or `None` when it can match nothing (no word in it).
pub(crate) fn fts_query(text: &str, mode: SearchMode) -> Option<String> {
    if mode == SearchMode::Advanced {
        return (!text.trim().is_empty()).then(|| text.to_owned());
    }
    // Words without a token character hold no token: unicode61 keeps letters, digits, private-use characters and
    // the noncharacters U+FDD0..U+FDEF in tokens and separates on everything else.
    let is_token = |c: char| {
        c.is_alphanumeric()
            || matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{FDD0}'..='\u{FDEF}' | '\u{F0000}'..='\u{10FFFD}')
    };
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|word| word.chars().any(is_token))
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut query = words.join(" ");
    if mode == SearchMode::Prefix {
        // After a string, `*` makes its last token a prefix.
        query.push_str(" *");
    }
    Some(query)
}

/// A collection to search and its filters, each with its declared column.
type Target<'a> = (&'a Collection, Vec<(&'a Column, &'a Value)>);

/// The collections `options` searches, each with the filter columns checked against it.
fn targets<'a>(schema: &'a Schema, options: &'a SearchOptions) -> Result<Vec<Target<'a>>, StoreError> {
    let named = !options.collections.is_empty();
    let chosen: Vec<&Collection> = if named {
        let mut out = Vec::new();
        for name in &options.collections {
            let c = schema.collection(name).ok_or_else(|| StoreError::UnknownCollection(name.clone()))?;
            if c.full_text.is_empty() {
                return Err(StoreError::InvalidQuery(format!(
                    "collection `{name}` has no full-text columns, so it cannot be searched (declare them in the \
                     schema's `full_text`)"
                )));
            }
            out.push(c);
        }
        out
    } else {
        schema.collections.iter().filter(|c| !c.full_text.is_empty()).collect()
    };
    let mut out = Vec::new();
    'collections: for c in chosen {
        let mut filter = Vec::new();
        for (name, value) in &options.filter {
            let Some(column) = c.columns.iter().find(|column| &column.name == name) else {
                if !named {
                    continue 'collections;
                }
                return Err(StoreError::InvalidQuery(format!(
                    "collection `{}` has no column `{name}` to filter a search by (columns: {})",
                    c.name,
                    c.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                )));
            };
            filter.push((column, value));
        }
        out.push((c, filter));
    }
    Ok(out)
}

/// Runs a search on `conn` (the reader's connection) over the collections of `schema`.
pub(crate) fn search(
    conn: &Connection,
    path: &Path,
    schema: &Schema,
    (scope, text): (&str, &str),
    options: &SearchOptions,
) -> Result<Vec<SearchHit>, StoreError> {
    let targets = targets(schema, options)?;
    let h = &options.highlight;
    if !(1..=64).contains(&h.tokens) {
        return Err(StoreError::InvalidQuery(format!("a snippet holds 1 to 64 tokens, not {}", h.tokens)));
    }
    let Some(query) = fts_query(text, options.mode) else { return Ok(Vec::new()) };
    if options.mode == SearchMode::Advanced && !balanced(text) {
        return Err(invalid(text, "its parentheses do not pair up"));
    }
    let wanted = convert::to_i64(options.offset.saturating_add(options.limit));
    let mut lists = Vec::new();
    for (c, filter) in &targets {
        let context = || format!("searching `{}` in {}", c.name, path.display());
        let found = search_collection(conn, c, filter, (scope, &query, wanted), options);
        lists.push(found.map_err(|e| failure(e, options.mode, text, context()))?);
    }
    let hits = match options.order {
        SearchOrder::Recent => newest_first(lists),
        SearchOrder::Relevance => {
            let mut hits: Vec<Found> = lists.into_iter().flatten().collect();
            hits.sort_by(|a, b| a.hit.rank.unwrap_or(f64::MAX).total_cmp(&b.hit.rank.unwrap_or(f64::MAX)));
            hits
        }
    };
    Ok(hits.into_iter().skip(options.offset).take(options.limit).map(|f| f.hit).collect())
}

/// A hit and its row's seq, by which [`newest_first`] interleaves collections.
struct Found {
    hit: SearchHit,
    seq: i64,
}

/// Merges collections' lists, each newest first by its own rowids (which say nothing across tables): at each
/// step, the list whose next hit has the greatest seq gives it, so each collection keeps its own order.
fn newest_first(lists: Vec<Vec<Found>>) -> Vec<Found> {
    let mut lists: Vec<VecDeque<Found>> = lists.into_iter().map(VecDeque::from).collect();
    let mut out = Vec::new();
    while let Some(best) = lists.iter_mut().filter(|l| !l.is_empty()).max_by_key(|l| l.front().map(|f| f.seq)) {
        out.extend(best.pop_front());
    }
    out
}

/// The best `wanted` hits of one collection, snippets rendered.
fn search_collection(
    conn: &Connection,
    c: &Collection,
    filter: &[(&Column, &Value)],
    (scope, query, wanted): (&str, &str, i64),
    options: &SearchOptions,
) -> rusqlite::Result<Vec<Found>> {
    let h = &options.highlight;
    let tests: Vec<(&str, bool)> =
        filter.iter().map(|(col, value)| (col.name.as_str(), **value == Value::Null)).collect();
    let by_rank = options.order == SearchOrder::Relevance;
    let (open, close) = (OPEN.to_string(), CLOSE.to_string());
    let shared: bool = conn.prepare_cached(&sql::fts_shared(c))?.query_row([scope], |row| row.get(0))?;
    let mut stmt = conn.prepare_cached(&sql::fts_search(c, &tests, by_rank))?;
    stmt.raw_bind_parameter(1, sql::fts_scoped_query(query, shared.then_some(scope)))?;
    stmt.raw_bind_parameter(2, scope)?;
    stmt.raw_bind_parameter(3, &open)?;
    stmt.raw_bind_parameter(4, &close)?;
    stmt.raw_bind_parameter(5, &h.ellipsis)?;
    stmt.raw_bind_parameter(6, convert::to_i64(h.tokens))?;
    stmt.raw_bind_parameter(7, wanted)?;
    let binds = filter.iter().filter(|(_, value)| **value != Value::Null);
    for (i, (column, value)) in binds.enumerate() {
        stmt.raw_bind_parameter(8 + i, Bind { column, value })?;
    }
    let mut rows = stmt.raw_query();
    let mut hits = Vec::new();
    while let Some(row) = rows.next()? {
        let snippet: Option<String> = row.get(1)?;
        let hit = SearchHit {
            collection: c.name.clone(),
            id: row.get(0)?,
            snippet: render(snippet.as_deref().unwrap_or_default(), h),
            rank: if by_rank { Some(row.get(3)?) } else { None },
        };
        // A row without a seq (written by the app, not yet synced) is the newest.
        hits.push(Found { hit, seq: row.get::<_, Option<i64>>(2)?.unwrap_or(i64::MAX) });
    }
    Ok(hits)
}

/// An error of an advanced query is the query's (FTS5 reports its syntax errors as plain `SQLITE_ERROR`s); any
/// other is the database's.
fn failure(e: rusqlite::Error, mode: SearchMode, text: &str, context: String) -> StoreError {
    let syntax = matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::Unknown);
    if mode == SearchMode::Advanced && syntax {
        return invalid(text, &e.to_string());
    }
    StoreError::backend(context, e)
}

fn invalid(text: &str, why: &str) -> StoreError {
    StoreError::InvalidQuery(format!(
        "the search {text:?} is not a valid FTS5 query ({why}); fix its syntax, or search in plain mode, which takes \
         any text"
    ))
}

/// Whether the parentheses of an advanced query, outside its strings, pair up. The search wraps the query in
/// parentheses of its own (to keep it off the integration column), which would make FTS5 accept `a) OR (b`:
/// checked here so that such a query is refused as it would be on its own.
fn balanced(text: &str) -> bool {
    let (mut depth, mut quoted) = (0usize, false);
    for c in text.chars() {
        match c {
            // A doubled quote inside a string closes and reopens it: the same count either way.
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

/// The snippet as the caller wants it: text escaped (if asked), the internal markers replaced by the caller's.
fn render(raw: &str, h: &Highlight) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            OPEN => out.push_str(&h.open),
            CLOSE => out.push_str(&h.close),
            '&' if h.escape_html => out.push_str("&amp;"),
            '<' if h.escape_html => out.push_str("&lt;"),
            '>' if h.escape_html => out.push_str("&gt;"),
            '"' if h.escape_html => out.push_str("&quot;"),
            '\'' if h.escape_html => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_are_quoted_so_nothing_is_syntax() {
        let plain = |text| fts_query(text, SearchMode::Plain);
        assert_eq!(plain("hello world").as_deref(), Some(r#""hello" "world""#));
        assert_eq!(plain(r#"a"b (c OR -d*"#).as_deref(), Some(r#""a""b" "(c" "OR" "-d*""#));
        assert_eq!(plain(r#"" - * ( ) 🎉"#), None, "no word with a letter or digit");
        assert_eq!(fts_query("caf", SearchMode::Prefix).as_deref(), Some(r#""caf" *"#));
        assert_eq!(fts_query("a OR b", SearchMode::Advanced).as_deref(), Some("a OR b"));
        assert_eq!(fts_query("  ", SearchMode::Advanced), None);
    }

    #[test]
    fn parentheses_pair_up_outside_strings_only() {
        for good in ["a OR b", "(a OR b) NOT c", r#""a)" b"#, r#""say ""(hi"")" (x)"#, "NEAR(a b, 2)"] {
            assert!(balanced(good), "{good}");
        }
        for bad in ["a) OR (b", "(a", "a)", ")(", r#"(a ")""#] {
            assert!(!balanced(bad), "{bad}");
        }
    }

    #[test]
    fn snippets_escape_the_text_but_not_the_markers() {
        let raw = format!("<script>&{OPEN}x{CLOSE}'\"");
        assert_eq!(render(&raw, &Highlight::default()), "&lt;script&gt;&amp;<mark>x</mark>&#39;&quot;");
        let plain = Highlight { open: "[".into(), close: "]".into(), escape_html: false, ..Highlight::default() };
        assert_eq!(render(&raw, &plain), "<script>&[x]'\"");
    }
}
