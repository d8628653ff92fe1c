//! Full-text search of the replica: [`Client::search`], and its options as the bindings receive them
//! ([`SearchRequest`]: every field optional; the mode by name in JavaScript), turned into [`SearchOptions`] here
//! once, so that the Node addon and the uniffi library only translate their own types.

use sync_core::{StoreError, Value};
use sync_sqlite::{SearchHit, SearchMode, SearchOptions, SearchOrder};

use crate::{Client, Error};

impl Client {
    /// The integration's rows whose full-text columns match `query`, newest first (or best first: [`SearchOrder`]),
    /// with snippets (see
    /// [`SearchOptions`]). Any text is a valid query in the default mode; a bad advanced query or an unknown filter
    /// column is `invalid_query`, an unknown collection `schema`. Reads on the replica's reader thread, beside a
    /// running sync.
    pub async fn search(&self, query: &str, options: SearchOptions) -> Result<Vec<SearchHit>, Error> {
        Ok(self.store.search(&self.scope, query, options).await?)
    }
}

/// [`SearchOptions`] with every field optional: what a binding's caller may leave out gets the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    /// Default [`SearchMode::Plain`].
    pub mode: Option<SearchMode>,
    /// Default [`SearchOrder::Recent`].
    pub order: Option<SearchOrder>,
    /// The collections to search; none or empty: every collection with full-text columns.
    pub collections: Option<Vec<String>>,
    /// Equality filters on declared columns (`conversation_id`: one conversation).
    pub filter: Vec<(String, Value)>,
    /// At most this many hits. Default 50.
    pub limit: Option<u32>,
    /// Hits skipped first. Default 0.
    pub offset: Option<u32>,
    /// Put before each match. Default `<mark>`.
    pub highlight_open: Option<String>,
    /// Put after each match. Default `</mark>`.
    pub highlight_close: Option<String>,
    /// Put where a snippet cuts the text. Default `…`.
    pub ellipsis: Option<String>,
    /// Escape the text for HTML (never the markers). Default true.
    pub escape_html: Option<bool>,
    /// The most words of text in a snippet, 1 to 64. Default 16.
    pub snippet_tokens: Option<u32>,
}

/// The mode of its name as JavaScript spells it (`plain`, `prefix`, `advanced`); another name is
/// [`StoreError::InvalidQuery`].
pub fn search_mode(name: &str) -> Result<SearchMode, StoreError> {
    match name {
        "plain" => Ok(SearchMode::Plain),
        "prefix" => Ok(SearchMode::Prefix),
        "advanced" => Ok(SearchMode::Advanced),
        other => Err(StoreError::InvalidQuery(format!(
            "unknown search mode {other:?}: use \"plain\", \"prefix\" or \"advanced\""
        ))),
    }
}

/// The order of its name as JavaScript spells it (`recent`, `relevance`); another name is
/// [`StoreError::InvalidQuery`].
pub fn search_order(name: &str) -> Result<SearchOrder, StoreError> {
    match name {
        "recent" => Ok(SearchOrder::Recent),
        "relevance" => Ok(SearchOrder::Relevance),
        other => {
            Err(StoreError::InvalidQuery(format!("unknown search order {other:?}: use \"recent\" or \"relevance\"")))
        }
    }
}

impl SearchRequest {
    /// The options it asks for, defaults filled in.
    pub fn into_options(self) -> SearchOptions {
        let mut options = SearchOptions { filter: self.filter, ..SearchOptions::default() };
        options.mode = self.mode.unwrap_or(options.mode);
        options.order = self.order.unwrap_or(options.order);
        options.collections = self.collections.unwrap_or_default();
        let h = &mut options.highlight;
        let set = |field: &mut String, value: Option<String>| value.into_iter().for_each(|v| *field = v);
        set(&mut h.open, self.highlight_open);
        set(&mut h.close, self.highlight_close);
        set(&mut h.ellipsis, self.ellipsis);
        h.escape_html = self.escape_html.unwrap_or(h.escape_html);
        h.tokens = self.snippet_tokens.map_or(h.tokens, |n| n as usize);
        options.limit = self.limit.map_or(options.limit, |n| n as usize);
        options.offset = self.offset.map_or(options.offset, |n| n as usize);
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_request_is_the_default_and_each_field_lands_in_its_option() {
        assert_eq!(SearchRequest::default().into_options(), SearchOptions::default());
        let request = SearchRequest {
            mode: Some(SearchMode::Prefix),
            order: Some(SearchOrder::Relevance),
            collections: Some(vec!["messages".into()]),
            filter: vec![("conversation_id".into(), Value::from("c1"))],
            limit: Some(7),
            offset: Some(3),
            highlight_open: Some("[".into()),
            highlight_close: Some("]".into()),
            ellipsis: Some("...".into()),
            escape_html: Some(false),
            snippet_tokens: Some(9),
        };
        let options = request.into_options();
        assert_eq!((options.mode, options.limit, options.offset), (SearchMode::Prefix, 7, 3));
        assert_eq!(options.order, SearchOrder::Relevance);
        assert_eq!(options.collections, ["messages"]);
        assert_eq!(options.filter, [("conversation_id".to_owned(), Value::from("c1"))]);
        let h = options.highlight;
        assert_eq!(
            (h.open.as_str(), h.close.as_str(), h.ellipsis.as_str(), h.escape_html, h.tokens),
            ("[", "]", "...", false, 9)
        );
    }

    #[test]
    fn modes_by_name_and_an_unknown_one_is_an_invalid_query_naming_them() {
        assert_eq!(search_mode("plain").ok(), Some(SearchMode::Plain));
        assert_eq!(search_mode("prefix").ok(), Some(SearchMode::Prefix));
        assert_eq!(search_mode("advanced").ok(), Some(SearchMode::Advanced));
        let e = search_mode("fuzzy").expect_err("unknown mode");
        assert_eq!(e.code().as_str(), "invalid_query");
        assert!(e.to_string().contains("\"advanced\""), "{e}");
        assert_eq!(search_order("recent").ok(), Some(SearchOrder::Recent));
        assert_eq!(search_order("relevance").ok(), Some(SearchOrder::Relevance));
        let e = search_order("best").expect_err("unknown order");
        assert_eq!(e.code().as_str(), "invalid_query");
        assert!(e.to_string().contains("\"relevance\""), "{e}");
    }

    #[tokio::test]
    async fn search_finds_what_a_page_brought_and_reports_a_bad_advanced_query() {
        use sync_core::ClientStore;
        use sync_core::testing::{page, post, test_schema};

        use crate::ClientOptions;

        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("client.db");
        let options = ClientOptions { scope: "s".into(), db, url: "http://127.0.0.1:9".into(), ..Default::default() };
        let client = Client::open(options).expect("open");
        client.store.prepare(&test_schema()).await.expect("prepare");
        let rows = vec![
            sync_core::Row::upsert("p1", 1, post("t1", "Un café <b>noir</b>")),
            sync_core::Row::upsert("p2", 2, post("t1", "tea")),
        ];
        client.store.apply_page("s", page("posts", 0, rows, false)).await.expect("page");
        client
            .store
            .apply_page("x", page("posts", 0, vec![sync_core::Row::upsert("q", 1, post("t", "cafe"))], false))
            .await
            .expect("another scope");

        let request = SearchRequest { mode: Some(SearchMode::Prefix), ..Default::default() };
        let hits = client.search("CAF", request.into_options()).await.expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}: the client's own scope only");
        assert_eq!((hits[0].collection.as_str(), hits[0].id.as_str()), ("posts", "p1"));
        assert_eq!(hits[0].snippet, "Un <mark>café</mark> &lt;b&gt;noir&lt;/b&gt;");

        let advanced = SearchOptions { mode: SearchMode::Advanced, ..Default::default() };
        let e = client.search("cafe AND (", advanced).await.expect_err("bad syntax");
        assert_eq!(e.code().as_str(), "invalid_query", "{e}");
    }
}
