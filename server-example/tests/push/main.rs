//! Client pushes over real loopback HTTP against the example server on both stores (the embedded SQLite one and
//! PostgreSQL, `sync_postgres::testing`: where it is found and what happens when it is unreachable), with
//! `WhatsAppHook`: hostile pushes refused, and engines writing through `sync-client` (offline writes, lost
//! answers, bursts, concurrent clients, live followers) ending exact. And selective sync on the wire
//! (`selective.rs`), subscriptions through `sync-client` (`subscriptions.rs`), the out-of-order writers test with
//! subscribed clients (`out_of_order.rs`) and the recent-first sync (`recent.rs`).

/// Each scenario as two tests, `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::support::Kind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Kind::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Kind::Postgres).await;
            }
        }
    )*};
}

mod backfill;
pub mod hostile;
mod live;
mod out_of_order;
mod recent;
mod selective;
mod subscriptions;
mod support;
mod writes;

use selective::{bad_filters_are_refused, filtered_pages_hold_exactly_their_values, heads_hold_the_newest_rows};
use support::{Kind, store};

on_both_stores!(filtered_pages_hold_exactly_their_values, heads_hold_the_newest_rows, bad_filters_are_refused);

use subscriptions::{
    a_subscription_holds_exactly_its_conversations, subscribing_after_a_full_sync_fetches_nothing_again,
};

on_both_stores!(a_subscription_holds_exactly_its_conversations, subscribing_after_a_full_sync_fetches_nothing_again);

use out_of_order::out_of_order_writers_with_subscribed_clients_end_exact;

on_both_stores!(out_of_order_writers_with_subscribed_clients_end_exact);

use recent::{
    prioritized_history_lands_whole_within_a_subscription, recent_first_shows_the_chat_list_then_heads_then_everything,
};

on_both_stores!(
    recent_first_shows_the_chat_list_then_heads_then_everything,
    prioritized_history_lands_whole_within_a_subscription
);

use backfill::{
    a_row_no_conversation_names_makes_the_backfill_pull_from_zero,
    a_server_ignoring_the_bound_is_refused_and_a_plain_sync_then_ends_exact,
    the_backfill_fetches_each_row_once_with_writes_racing_it,
};

on_both_stores!(
    the_backfill_fetches_each_row_once_with_writes_racing_it,
    a_row_no_conversation_names_makes_the_backfill_pull_from_zero,
    a_server_ignoring_the_bound_is_refused_and_a_plain_sync_then_ends_exact
);

async fn hostile_pushes_change_nothing(kind: Kind) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((store, _db)) = store(kind, dir.path()).await else { return };
    hostile::hostile_pushes_change_nothing(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pushes_change_nothing_on_sqlite() {
    hostile_pushes_change_nothing(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pushes_change_nothing_on_postgres() {
    hostile_pushes_change_nothing(Kind::Postgres).await;
}
