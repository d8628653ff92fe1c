//! The conformance suites as one `#[tokio::test]` per contract, so that a failure names the contract it broke.
//!
//! A store's test module calls a macro with the path of an async maker returning `Option<(guard, store)>`: a
//! fresh store serving [`test_schema`](crate::testing::test_schema), and whatever must live as long as it (a
//! temporary directory, a database schema), or `None` when the store's service is unreachable and the test
//! should pass as skipped (the maker prints why, and fails under `CI=true`).
//!
//! ```ignore
//! async fn make() -> Option<((), Arc<dyn ClientStore>)> {
//!     Some(((), Arc::new(MemoryStore::new())))
//! }
//! sync_core::client_store_contracts!(make);
//! ```

/// One test per contract of `$module`, each on a fresh store from `$make($args)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($make:path, $module:ident, $( $contract:ident ( $($arg:expr),* ) ),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $contract() {
            let Some((_guard, store)) = $make($($arg),*).await else { return };
            $crate::testing::$module::$contract(store).await;
        }
    )+};
}

/// The [`ClientStore`](crate::ClientStore) contracts (PROTOCOL.md invariants 4 and 5 as a store keeps them,
/// and local writes), one test each; `$make` is `async fn() -> Option<(G, Arc<dyn ClientStore>)>`.
#[macro_export]
macro_rules! client_store_contracts {
    ($make:path) => {
        $crate::__contract_tests!(
            $make,
            client_store,
            apply_advances_cursor_and_keeps_values(),
            applying_twice_changes_nothing(),
            older_never_overwrites_newer(),
            tombstones_delete(),
            gaps_are_refused(),
            cursor_never_moves_back(),
            scopes_are_independent_and_reset(),
            unknown_collection_is_an_error()
        );
        $crate::__contract_tests!(
            $make,
            client_writes,
            local_writes_show_at_once_and_settle(),
            rejections_and_bad_writes(),
            reset_keeps_pending_writes()
        );
    };
}

/// The subscription contracts of a [`ClientStore`](crate::ClientStore) that keeps subscriptions (selective
/// sync), one test each; `$make` as for [`client_store_contracts!`](crate::client_store_contracts).
#[macro_export]
macro_rules! client_subscription_contracts {
    ($make:path) => {
        $crate::__contract_tests!(
            $make,
            subscriptions,
            subscribing_keeps_the_values_and_evicts_the_rest(),
            filtered_pages_move_their_values_cursors(),
            unsubscribe_archive_and_everything(),
            heads_move_no_cursor()
        );
    };
}

/// The [`ServerStore`](crate::ServerStore) contracts (PROTOCOL.md invariants 2, 3 and 6 as a store keeps them,
/// and the live wait), one test each; `$make` is `async fn() -> Option<(G, Arc<dyn ServerStore>)>`.
#[macro_export]
macro_rules! server_store_contracts {
    ($make:path) => {
        $crate::__contract_tests!(
            $make,
            server_store,
            serves_the_test_schema(),
            unknown_scope(),
            pages_in_seq_order(),
            updates_and_deletes_take_new_seqs(),
            deletes_cascade(),
            invalid_batches_change_nothing(),
            scopes_are_independent(),
            waits_for_a_newer_seq(),
            filtered_pages_and_heads()
        );
    };
}

/// The [`ServerStore::push`](crate::ServerStore::push) contracts (the conflict policy, PROTOCOL.md invariant
/// 10, the hook), one test each; `$make` is `async fn(Option<Arc<dyn PushHook>>) -> Option<(G, Arc<dyn
/// ServerStore>)>`, the store with that hook.
#[macro_export]
macro_rules! push_contracts {
    ($make:path) => {
        $crate::__contract_tests!(
            $make,
            push,
            policy(None),
            retries_apply_nothing(None),
            hostile_pushes_change_nothing(None),
            deleted_by_cascade(None),
            hook_refuses_and_rewrites(Some($crate::testing::push::thread_hook())),
            failing_hook_rolls_back(Some($crate::testing::push::failing_hook()))
        );
    };
}
