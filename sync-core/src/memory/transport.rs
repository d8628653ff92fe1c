//! A [`Transport`] that calls a [`ChangeFeed`] directly and encodes pages as the HTTP server would.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{FeedError, TransportError};
use crate::feed::{ChangeFeed, ServerStore};
use crate::filter::HeadRead;
use crate::mutation::{PushRequest, PushResponse};
use crate::page::{PageRequest, ScopeStatus};
use crate::schema::Schema;
use crate::transport::Transport;
use crate::wire::encode_page;

/// Serves a client straight from a feed in the same process, through the real page codec; pushes go to the
/// server store when it was given one ([`FeedTransport::writable`]).
pub struct FeedTransport {
    feed: Arc<dyn ChangeFeed>,
    store: Option<Arc<dyn ServerStore>>,
}

impl FeedTransport {
    /// A transport reading from `feed` (pushes are refused, as by a read-only server).
    pub fn new(feed: Arc<dyn ChangeFeed>) -> Self {
        FeedTransport { feed, store: None }
    }

    /// A transport reading from `store` and pushing into it ([`ServerStore::push`]).
    pub fn writable(store: Arc<dyn ServerStore>) -> Self {
        FeedTransport { feed: store.clone(), store: Some(store) }
    }
}

fn status_error(e: FeedError) -> TransportError {
    let (status, code) = match &e {
        FeedError::UnknownScope(_) | FeedError::UnknownCollection(_) => (404, "not_found"),
        FeedError::InvalidWrite(_) | FeedError::InvalidPush { .. } | FeedError::BadFilter(_) => (400, "bad_request"),
        FeedError::ResyncRequired { .. } => (409, "resync_required"),
        _ => (500, "internal"),
    };
    TransportError::Status { status, code: Some(code.into()), message: e.to_string(), retry_after: None }
}

#[async_trait]
impl Transport for FeedTransport {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        let (scope, collection) = (&request.scope, &request.collection);
        let page = match &request.filter {
            Some(values) => {
                let (since_seq, limit, fresh) = (request.since_seq, request.limit, request.fresh);
                let read = crate::FilteredRead { values: values.clone(), since_seq, limit, fresh };
                self.feed.page_filtered(scope, collection, &read).await
            }
            None if request.fresh => self.feed.page_fresh(scope, collection, request.since_seq, request.limit).await,
            None => self.feed.page(scope, collection, request.since_seq, request.limit).await,
        }
        .map_err(status_error)?;
        let collection = self
            .feed
            .schema()
            .collection(&request.collection)
            .ok_or_else(|| status_error(FeedError::UnknownCollection(request.collection.clone())))?;
        Ok(encode_page(collection, &request.scope, &page))
    }

    async fn fetch_head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<Vec<u8>, TransportError> {
        let page = self.feed.head(scope, collection, read).await.map_err(status_error)?;
        let c = self
            .feed
            .schema()
            .collection(collection)
            .ok_or_else(|| status_error(FeedError::UnknownCollection(collection.to_owned())))?;
        Ok(encode_page(c, scope, &page))
    }

    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        self.feed.status(scope).await.map_err(status_error)
    }

    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        Ok(self.feed.schema().clone())
    }

    async fn push(&self, scope: &str, request: &PushRequest) -> Result<PushResponse, TransportError> {
        let Some(store) = &self.store else {
            return Err(status_error(FeedError::InvalidPush {
                mutation_id: None,
                message: "a read-only server".into(),
            }));
        };
        store.push(scope, request.clone()).await.map_err(status_error)
    }

    async fn wait_for_change(
        &self,
        scope: &str,
        after_seq: i64,
        timeout: std::time::Duration,
    ) -> Result<ScopeStatus, TransportError> {
        self.feed.wait_for_seq(scope, after_seq, timeout).await.map_err(status_error)?;
        self.fetch_status(scope).await
    }
}
