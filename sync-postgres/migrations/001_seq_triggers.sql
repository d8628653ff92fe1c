-- The PostgreSQL server store's own tables and trigger functions. Data tables follow the schema passed to
-- connect(); each gets the triggers below attached (see src/postgres/schema.rs). Every function pins the
-- search_path it was created under, so a trigger fired by a session with another search_path (psql) still
-- finds this store's tables.

-- One seq counter per integration. The first write of a transaction to an integration locks its row (FOR
-- UPDATE) until the transaction ends: a later writer of the same integration waits there, reads the counter its
-- predecessor saved at commit, takes greater seqs and commits later. Commit order equals seq order within an
-- integration (PROTOCOL.md invariant 2).
CREATE TABLE sync_scopes (
    integration_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT 0
);

-- Per integration and collection: live rows, kept by the triggers in the writing transaction, so that status and
-- a page's total_count read one row instead of counting; and the tombstone horizon: tombstones with seq <=
-- horizon may have been pruned, so a cursor below it must re-sync from scratch.
CREATE TABLE sync_counts (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    live BIGINT NOT NULL DEFAULT 0,
    horizon BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, collection)
);

-- Within a transaction, the integration's counter and the pending live-count deltas live in transaction-local
-- settings (reverted on rollback, also to a savepoint), and are written back once at commit by a deferred
-- trigger. Updating the counter row for every written row instead would leave one row version per write in
-- the transaction, each update walking all of them: quadratic in the rows of a transaction.

-- Locks the integration's counter for the rest of the transaction (creating it on first use) and returns the
-- last seq taken.
CREATE FUNCTION sync_lock_scope(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    cached TEXT := current_setting('sync_seq.s' || md5(scope), true);
    taken BIGINT;
BEGIN
    IF cached IS NOT NULL AND cached <> '' THEN
        RETURN cached::BIGINT;
    END IF;
    INSERT INTO sync_scopes (integration_id) VALUES (scope) ON CONFLICT (integration_id) DO NOTHING;
    SELECT seq INTO taken FROM sync_scopes WHERE integration_id = scope FOR UPDATE;
    PERFORM set_config('sync_seq.s' || md5(scope), taken::TEXT, true);
    PERFORM set_config('sync_seq.w' || md5(scope), taken::TEXT, true);
    RETURN taken;
END $$;

-- The next seq of an integration.
CREATE FUNCTION sync_next_seq(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    taken BIGINT := sync_lock_scope(scope) + 1;
BEGIN
    PERFORM set_config('sync_seq.s' || md5(scope), taken::TEXT, true);
    RETURN taken;
END $$;

-- BEFORE INSERT OR UPDATE, per row: a new seq for every insert and update (a delete is an update of `deleted`).
-- An INSERT … ON CONFLICT DO UPDATE fires it twice and leaves a gap in the seqs: gaps are allowed.
CREATE FUNCTION sync_take_seq() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.integration_id <> OLD.integration_id OR NEW.id <> OLD.id) THEN
        RAISE EXCEPTION 'the key (integration_id, id) of a synced row cannot change: delete the row and insert a new one';
    END IF;
    NEW.seq := sync_next_seq(NEW.integration_id);
    NEW.sync_changed_at := now();
    RETURN NEW;
END $$;

-- AFTER INSERT OR UPDATE, per row: the live-count delta, pending until commit. AFTER, because a BEFORE INSERT
-- trigger also fires for an INSERT … ON CONFLICT that ends up updating.
CREATE FUNCTION sync_count_live() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
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

-- Deferred to commit, per row: saves the integration's counter and adds the pending live counts, once per
-- transaction (later calls find nothing new to save).
CREATE FUNCTION sync_flush() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    cached TEXT := current_setting('sync_seq.s' || md5(NEW.integration_id), true);
    live_key TEXT := 'sync_live.c' || md5(NEW.integration_id || '/' || TG_TABLE_NAME);
    pending TEXT := current_setting(live_key, true);
BEGIN
    IF cached IS NOT NULL AND cached <> '' AND cached IS DISTINCT FROM current_setting('sync_seq.w' || md5(NEW.integration_id), true) THEN
        UPDATE sync_scopes SET seq = cached::BIGINT WHERE integration_id = NEW.integration_id;
        PERFORM set_config('sync_seq.w' || md5(NEW.integration_id), cached, true);
    END IF;
    IF pending IS NOT NULL AND pending NOT IN ('', '0') THEN
        INSERT INTO sync_counts AS c (integration_id, collection, live) VALUES (NEW.integration_id, TG_TABLE_NAME, pending::BIGINT)
        ON CONFLICT (integration_id, collection) DO UPDATE SET live = c.live + excluded.live;
        PERFORM set_config(live_key, '0', true);
    END IF;
    RETURN NULL;
END $$;

-- BEFORE DELETE, per row: a plain DELETE becomes an update that marks the row deleted (a tombstone with a new
-- seq, through the triggers above); deleting a tombstone does nothing. Only prune really deletes, with
-- `sync.pruning` set for its transaction.
CREATE FUNCTION sync_keep_tombstone() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF current_setting('sync.pruning', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF NOT OLD.deleted THEN
        EXECUTE format('UPDATE %I.%I SET deleted = true WHERE integration_id = $1 AND id = $2', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        USING OLD.integration_id, OLD.id;
    END IF;
    RETURN NULL;
END $$;

-- TRUNCATE fires no row triggers: clients would never learn of the deletes.
CREATE FUNCTION sync_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of a synced table leaves no tombstones; use DELETE (rows become tombstones)';
END $$;
