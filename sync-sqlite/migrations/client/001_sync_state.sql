-- The client replica's own tables. Data tables are not migrations: they follow the schema passed to prepare().

-- One cursor per scope and collection, as the seed's sync_state: the highest seq applied.
CREATE TABLE sync_state (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (integration_id, collection)
);

-- The JSON of the last prepared schema (one row), so a reopened store knows its tables before prepare() runs
-- again, and a later prepare() can tell a changed column type that SQLite's storage classes cannot show.
CREATE TABLE sync_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_json TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- 'sync' in ASCII: marks the file as a client replica, so opening it as a server store (or the reverse) fails.
PRAGMA application_id = 1937337955;
