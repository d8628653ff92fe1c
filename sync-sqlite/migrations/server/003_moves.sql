-- Selective sync: a row whose filter value changes (a message moved to another conversation) leaves the old
-- value at the write's seq. Filtered pages send these as tombstones to the old value's subscribers, read by one
-- range scan per value.
CREATE TABLE moves (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    old_value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (integration_id, collection, old_value, seq)
) WITHOUT ROWID;
