-- Live hints off the commit path, and no dynamic SQL in the once-per-transaction work.
--
-- Until now sync_flush called pg_notify at commit. PostgreSQL serialises every notifying commit of the whole
-- cluster on one lock, held across the commit's WAL flush, so writers of different integrations (even of other
-- databases) committed one at a time. Now the commit only stamps the integration's head row with the writing
-- transaction's id (`changed_by`), which it updates anyway, and the listener polls the heads that changed
-- (src/poll.rs): `changed_by >= ` the xmin of its previous poll's snapshot finds every transaction that committed
-- since, because a transaction not yet visible to a snapshot has an id at or above that snapshot's xmin.
--
-- `{{schema}}` is the store's schema, substituted when the migration runs (src/schema.rs): the functions name
-- their tables and each other with it, so their statements are planned once per session, where `EXECUTE format(…,
-- TG_TABLE_SCHEMA)` parsed and planned them on every transaction, and they need no `SET search_path` (each SET
-- costs a GUC nesting level per call).

ALTER TABLE sync_scopes ADD COLUMN changed_by XID8 NOT NULL DEFAULT '0';
CREATE INDEX sync_scopes_changed_by ON sync_scopes (changed_by);

-- As in 001, without the SET: the counter row is read with its lock first, and created only on the
-- integration's first write (an INSERT … ON CONFLICT costs a speculative insertion on every call).
CREATE OR REPLACE FUNCTION sync_lock_scope(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    cached TEXT := current_setting('sync_seq.s' || md5(scope), true);
    taken BIGINT;
BEGIN
    IF cached IS NOT NULL AND cached <> '' THEN
        RETURN cached::BIGINT;
    END IF;
    SELECT seq INTO taken FROM {{schema}}.sync_scopes WHERE integration_id = scope FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO {{schema}}.sync_scopes (integration_id) VALUES (scope) ON CONFLICT (integration_id) DO NOTHING;
        SELECT seq INTO taken FROM {{schema}}.sync_scopes WHERE integration_id = scope FOR UPDATE;
    END IF;
    PERFORM set_config('sync_seq.s' || md5(scope), taken::TEXT, true);
    PERFORM set_config('sync_seq.w' || md5(scope), taken::TEXT, true);
    RETURN taken;
END $$;

-- As in 003, calling sync_lock_scope directly.
CREATE OR REPLACE FUNCTION sync_take_seq() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key TEXT := 'sync_seq.s' || md5(NEW.integration_id);
    cached TEXT := current_setting(key, true);
    row_key TEXT := md5(TG_TABLE_NAME) || md5(NEW.integration_id) || md5(NEW.id);
    taken BIGINT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.integration_id <> OLD.integration_id OR NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'the key (integration_id, id) of a synced row cannot change: delete the row and insert a new one';
        END IF;
        -- Nested: SQL does not promise to short-circuit AND, and `cached` may be empty.
        IF current_setting('sync_seq.inserting', true) = row_key || ' ' || cached THEN
            IF OLD.seq <> cached::BIGINT THEN
                PERFORM set_config('sync_seq.inserting', '', true);
                NEW.seq := cached::BIGINT;
                NEW.sync_changed_at := now();
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    IF cached IS NULL OR cached = '' THEN
        taken := {{schema}}.sync_lock_scope(NEW.integration_id);
    ELSE
        taken := cached::BIGINT;
    END IF;
    taken := taken + 1;
    PERFORM set_config(key, taken::TEXT, true);
    IF TG_OP = 'INSERT' THEN
        PERFORM set_config('sync_seq.inserting', row_key || ' ' || taken::TEXT, true);
    END IF;
    NEW.seq := taken;
    NEW.sync_changed_at := now();
    RETURN NEW;
END $$;

-- As in 003 (saves the counter and adds the pending live counts, once per transaction and integration), with
-- the head stamped with the transaction's id instead of a NOTIFY.
CREATE OR REPLACE FUNCTION sync_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seq_key TEXT := md5(NEW.integration_id);
    cached TEXT := current_setting('sync_seq.s' || seq_key, true);
    live_key TEXT := 'sync_live.c' || md5(NEW.integration_id || '/' || TG_TABLE_NAME);
    pending TEXT := current_setting(live_key, true);
BEGIN
    IF cached IS NOT NULL AND cached <> '' AND cached IS DISTINCT FROM current_setting('sync_seq.w' || seq_key, true) THEN
        UPDATE {{schema}}.sync_scopes SET seq = cached::BIGINT, changed_by = pg_current_xact_id()
        WHERE integration_id = NEW.integration_id;
        PERFORM set_config('sync_seq.w' || seq_key, cached, true);
    END IF;
    IF pending IS NOT NULL AND pending NOT IN ('', '0') THEN
        INSERT INTO {{schema}}.sync_counts AS c (integration_id, collection, live) VALUES (NEW.integration_id, TG_TABLE_NAME, pending::BIGINT)
        ON CONFLICT (integration_id, collection) DO UPDATE SET live = c.live + excluded.live;
        PERFORM set_config(live_key, '0', true);
    END IF;
    RETURN NULL;
END $$;
