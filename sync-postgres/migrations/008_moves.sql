-- Selective sync: a live row whose filter value changes (a message moved to another conversation) leaves the old
-- value at the update's seq. Filtered pages send these as tombstones to the old value's subscribers, read by one
-- range scan per value. The trigger is attached per data table with its filter column's name as argument and a
-- WHEN clause, so it runs only on a move (src/schema.rs).
CREATE TABLE sync_moves (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    old_value TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (integration_id, collection, old_value, seq)
);

CREATE FUNCTION sync_record_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {{schema}}.sync_moves (integration_id, collection, old_value, seq, id)
    VALUES (NEW.integration_id, TG_TABLE_NAME, to_jsonb(OLD) ->> TG_ARGV[0], NEW.seq, NEW.id);
    RETURN NULL;
END $$;
