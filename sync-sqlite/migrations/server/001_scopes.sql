-- The embedded server store's own tables. Data tables follow the schema passed to open().

-- One seq counter per scope. Every write batch reads and bumps it inside one BEGIN IMMEDIATE transaction, so
-- commit order equals seq order within a scope (PROTOCOL.md invariant 2).
CREATE TABLE scopes (
    integration_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);

-- Live rows and latest seq per scope and collection, kept in the writing transaction so that status and a
-- page's total_count cost O(1) instead of a COUNT(*) per page.
CREATE TABLE collection_counts (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    live INTEGER NOT NULL,
    latest_seq INTEGER NOT NULL,
    PRIMARY KEY (integration_id, collection)
);

-- 'syns' in ASCII: marks the file as a server store, so opening it as a client replica (or the reverse) fails.
PRAGMA application_id = 1937337971;
