//! In-memory implementations of every trait, for fast tests and as executable documentation of the contracts.

mod feed;
mod filter;
mod push;
mod store;
mod transport;

pub use feed::MemoryFeed;
pub use store::MemoryStore;
pub use transport::FeedTransport;

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The in-memory stores keep the contracts of every store.
#[cfg(test)]
mod contracts {
    mod client {
        use std::sync::Arc;

        use crate::ClientStore;
        use crate::memory::MemoryStore;

        async fn make() -> Option<((), Arc<dyn ClientStore>)> {
            Some(((), Arc::new(MemoryStore::new())))
        }
        crate::client_store_contracts!(make);
    }

    mod server {
        use std::sync::Arc;

        use crate::ServerStore;
        use crate::memory::MemoryFeed;
        use crate::testing::test_schema;

        async fn make() -> Option<((), Arc<dyn ServerStore>)> {
            Some(((), Arc::new(MemoryFeed::new(test_schema()))))
        }
        crate::server_store_contracts!(make);
    }
}
