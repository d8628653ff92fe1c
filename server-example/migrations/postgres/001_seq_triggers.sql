-- The PostgreSQL server store's own tables and trigger functions. Data tables follow the schema passed to
-- connect(); each gets the triggers below attached (see src/postgres/schema.rs). Every function pins the
-- search_path it was created under, so a trigger fired by a session with another search_path (psql) still
-- finds this store's tables.

-- One seq counter per integration. Every write to a data table bumps it in its BEFORE trigger and so holds the
-- row's lock until the transaction ends: a later writer of the same integration waits, takes a greater seq and
-- commits later. Commit order equals seq order within an integration (DESIGN.md invariant 2).
-- `horizon`: tombstones with seq <= horizon may have been pruned; a cursor below it must re-sync from scratch.
CREATE TABLE sync_scopes (
    integration_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT 0,
    horizon BIGINT NOT NULL DEFAULT 0
);

-- Live rows per integration and collection, kept by the AFTER triggers in the writing transaction, so that
-- status and a page's total_count read one row instead of counting.
CREATE TABLE sync_counts (
    integration_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    live BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, collection)
);

-- The next seq of an integration, creating its counter on first use. The UPDATE's row lock is the point.
CREATE FUNCTION sync_next_seq(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    taken BIGINT;
BEGIN
    UPDATE sync_scopes SET seq = seq + 1 WHERE integration_id = scope RETURNING seq INTO taken;
    IF NOT FOUND THEN
        INSERT INTO sync_scopes AS s (integration_id, seq) VALUES (scope, 1)
        ON CONFLICT (integration_id) DO UPDATE SET seq = s.seq + 1
        RETURNING seq INTO taken;
    END IF;
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

-- AFTER INSERT OR UPDATE, per row: the live count. AFTER, because a BEFORE INSERT trigger also fires for an
-- INSERT … ON CONFLICT that ends up updating.
CREATE FUNCTION sync_count_live() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    delta BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := CASE WHEN NEW.deleted THEN 0 ELSE 1 END;
    ELSE
        delta := (CASE WHEN NEW.deleted THEN 0 ELSE 1 END) - (CASE WHEN OLD.deleted THEN 0 ELSE 1 END);
    END IF;
    IF delta <> 0 OR TG_OP = 'INSERT' THEN
        INSERT INTO sync_counts AS c (integration_id, collection, live) VALUES (NEW.integration_id, TG_TABLE_NAME, delta)
        ON CONFLICT (integration_id, collection) DO UPDATE SET live = c.live + excluded.live;
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
