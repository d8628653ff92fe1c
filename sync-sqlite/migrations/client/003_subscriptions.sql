-- Subscriptions (selective sync; sync-core's subscription.rs has the model).

-- A scope listed here syncs only its subscribed values in the collections that declare a filter column; a scope
-- not listed syncs everything (the default).
CREATE TABLE sync_selective (
    integration_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- The subscribed values of each selective scope; an archived one keeps its rows and cursors but is not pulled.
CREATE TABLE sync_subscriptions (
    integration_id TEXT NOT NULL,
    value TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, value)
) WITHOUT ROWID;

-- The cursor of each subscribed value in each filtered collection (as sync_state is per collection): the highest
-- seq applied of that value's filtered pages.
CREATE TABLE sync_value_state (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    value TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (integration_id, collection, value)
) WITHOUT ROWID;
