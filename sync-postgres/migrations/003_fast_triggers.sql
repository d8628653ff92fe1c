-- Faster per-row triggers, same behaviour as 001 and 002. Profiling a seed showed the per-row triggers costing
-- more than the row's insert: sync_take_seq made three nested plpgsql calls, each with `SET search_path`, which
-- opens a GUC nesting level and switches the search_path (revalidating cached plans) on every call. Now the
-- per-row path (the seq counter and the live counts kept in transaction-local settings) is one call with no SET
-- clause: it touches no table, only built-in functions. The table work, once per transaction and integration,
-- names this store's schema explicitly: the schema of the table that fired the trigger, which is where
-- connect() created both the tables and these functions.

-- BEFORE INSERT OR UPDATE, per row: a new seq for every insert and update (a delete is an update of `deleted`).
-- The first write of a transaction to an integration locks its counter (sync_lock_scope, in 001); later ones
-- only read and bump the transaction-local copy. The store upserts many rows per statement with
-- `INSERT … ON CONFLICT DO UPDATE`, which fires this trigger for the insert, finds the row there, then fires it
-- again for the update: the update reuses the seq its insert just took (no seq was taken in between, and the
-- row does not already have it, as a row inserted earlier in the transaction would), so an update takes one
-- seq, with no gap, as before.
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
        EXECUTE format('SELECT %I.sync_lock_scope($1)', TG_TABLE_SCHEMA) INTO taken USING NEW.integration_id;
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

-- AFTER INSERT OR UPDATE, per row: the live-count delta, pending until commit (as in 001, without the SET).
CREATE OR REPLACE FUNCTION sync_count_live() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := CASE WHEN NEW.deleted THEN 0 ELSE 1 END;
    key TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        delta := delta - CASE WHEN OLD.deleted THEN 0 ELSE 1 END;
    END IF;
    IF delta <> 0 THEN
        key := 'sync_live.c' || md5(NEW.integration_id || '/' || TG_TABLE_NAME);
        PERFORM set_config(key, (COALESCE(NULLIF(current_setting(key, true), ''), '0')::BIGINT + delta)::TEXT, true);
    END IF;
    RETURN NULL;
END $$;

-- Deferred to commit, per row: as in 002 (saves the counter, NOTIFYs, adds the pending live counts, once per
-- transaction and integration); the per-row check that finds nothing new to save runs without the SET.
CREATE OR REPLACE FUNCTION sync_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seq_key TEXT := md5(NEW.integration_id);
    cached TEXT := current_setting('sync_seq.s' || seq_key, true);
    live_key TEXT := 'sync_live.c' || md5(NEW.integration_id || '/' || TG_TABLE_NAME);
    pending TEXT := current_setting(live_key, true);
BEGIN
    IF cached IS NOT NULL AND cached <> '' AND cached IS DISTINCT FROM current_setting('sync_seq.w' || seq_key, true) THEN
        EXECUTE format('UPDATE %I.sync_scopes SET seq = $1 WHERE integration_id = $2', TG_TABLE_SCHEMA)
        USING cached::BIGINT, NEW.integration_id;
        PERFORM set_config('sync_seq.w' || seq_key, cached, true);
        PERFORM pg_notify('seqsync_' || TG_TABLE_SCHEMA, cached || ' ' || NEW.integration_id);
    END IF;
    IF pending IS NOT NULL AND pending NOT IN ('', '0') THEN
        EXECUTE format('INSERT INTO %I.sync_counts AS c (integration_id, collection, live) VALUES ($1, $2, $3) '
                       'ON CONFLICT (integration_id, collection) DO UPDATE SET live = c.live + excluded.live', TG_TABLE_SCHEMA)
        USING NEW.integration_id, TG_TABLE_NAME, pending::BIGINT;
        PERFORM set_config(live_key, '0', true);
    END IF;
    RETURN NULL;
END $$;
