-- Local writes (sync-core's outbox.rs has the model).

-- This replica's identity as a writer: its client id (random, made once with the file) and the last mutation id
-- it gave out. Mutation ids only grow, across every integration.
CREATE TABLE sync_client (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    client_id TEXT NOT NULL,
    last_mutation_id INTEGER NOT NULL
);
INSERT INTO sync_client (id, client_id, last_mutation_id) VALUES (1, lower(hex(randomblob(16))), 0);

-- Local writes not settled yet, in mutation id order. `fields` is the JSON object pushed; `ack_seq` is set
-- when the server acknowledged the write (the entry leaves once the pull has brought that seq).
CREATE TABLE sync_outbox (
    mutation_id INTEGER PRIMARY KEY,
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    fields TEXT NOT NULL,
    base_seq INTEGER,
    ack_seq INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX sync_outbox_row ON sync_outbox (integration_id, collection, id);

-- The server's last version of each row with local writes (`row` NULL: no such row on the server), kept aside
-- while the visible row is that version with the writes applied on top.
CREATE TABLE sync_shadow (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    row TEXT,
    PRIMARY KEY (integration_id, collection, id)
) WITHOUT ROWID;
