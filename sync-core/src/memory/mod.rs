//! In-memory implementations of every trait, for fast tests and as executable documentation of the contracts.

mod feed;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[tokio::test]
    async fn the_memory_store_keeps_the_client_store_contract() {
        crate::testing::client_store_suite(|| Arc::new(super::MemoryStore::new())).await;
    }
}
