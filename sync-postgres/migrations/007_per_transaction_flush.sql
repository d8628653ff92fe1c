-- Less work per row (issue 19). Until now every written row ran three PL/pgSQL calls: the seq (BEFORE, with
-- four md5 calls to name its settings), its live-count delta (AFTER, per row) and the deferred flush (queued per
-- row, run per row at commit only to find nothing new after the first). Now:
-- - the seq trigger keeps the integration it wrote last and its counter in one setting, `sync_seq.cur`
--   (`<counter> <integration_id>`): a row of that integration, the common case, needs no md5 and no lookup;
--   switching integrations (sync_lock_scope) parks the counter in the integration's own setting, as before;
-- - live counts are counted per statement from its transition tables (schema.rs creates the triggers);
-- - the flush runs once per transaction and integration: sync_lock_scope takes the counter's lock with a no-op
--   UPDATE instead of SELECT … FOR UPDATE, and that update queues a deferred trigger on sync_scopes, which at
--   commit saves the counter, stamps `changed_by` (as 005's flush did) and adds the live counts. The event is
--   queued by the lock itself, so a row skipped after taking its seq (`ON CONFLICT DO NOTHING`, another trigger
--   returning NULL) cannot leave a counter unsaved.
-- Transaction-local settings revert with a rolled-back savepoint, together with the update and its queued event.

-- Locks the integration's counter for the rest of the transaction (creating it on first use) and returns the
-- last seq this transaction took from it (the saved counter on first use).
CREATE OR REPLACE FUNCTION sync_lock_scope(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    parked TEXT;
    taken BIGINT;
BEGIN
    IF sp > 0 THEN
        IF substr(cur, sp + 1) = scope THEN
            RETURN left(cur, sp - 1)::BIGINT;
        END IF;
        PERFORM set_config('sync_seq.s' || md5(substr(cur, sp + 1)), left(cur, sp - 1), true);
    END IF;
    parked := current_setting('sync_seq.s' || md5(scope), true);
    IF parked IS NOT NULL AND parked <> '' THEN
        taken := parked::BIGINT;
    ELSE
        -- A no-op update: it locks the row like SELECT … FOR UPDATE, stays a HOT update (no indexed column
        -- changes) and queues sync_flush_scope.
        UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope RETURNING seq INTO taken;
        IF NOT FOUND THEN
            INSERT INTO {{schema}}.sync_scopes (integration_id) VALUES (scope) ON CONFLICT (integration_id) DO NOTHING;
            UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope RETURNING seq INTO taken;
        END IF;
        -- Under `SET CONSTRAINTS ALL IMMEDIATE` the flush fired at the end of that update, before any row took
        -- a seq, and did nothing but say so: defer it (only then, it costs a statement) and queue it again.
        IF current_setting('sync_seq.early', true) = 'on' THEN
            PERFORM set_config('sync_seq.early', '', true);
            SET CONSTRAINTS {{schema}}.sync_flush_scope DEFERRED;
            UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope;
        END IF;
    END IF;
    PERFORM set_config('sync_seq.cur', taken || ' ' || scope, true);
    -- The insert mark of sync_take_seq belongs to the integration it was set under.
    PERFORM set_config('sync_seq.ins', '', true);
    RETURN taken;
END $$;

-- BEFORE INSERT OR UPDATE, per row: a new seq for every insert and update (a delete is an update of `deleted`).
-- As in 003, the update half of an `INSERT … ON CONFLICT DO UPDATE` reuses the seq its insert just took; the
-- insert's mark is `<table oid> <seq> <id>`, valid only for the integration in `sync_seq.cur`.
CREATE OR REPLACE FUNCTION sync_take_seq() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    taken BIGINT;
BEGIN
    IF sp > 0 AND substr(cur, sp + 1) = NEW.integration_id THEN
        taken := left(cur, sp - 1)::BIGINT;
    ELSE
        taken := {{schema}}.sync_lock_scope(NEW.integration_id);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.integration_id <> OLD.integration_id OR NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'the key (integration_id, id) of a synced row cannot change: delete the row and insert a new one';
        END IF;
        -- Nested: SQL does not promise to short-circuit AND.
        IF current_setting('sync_seq.ins', true) = TG_RELID || ' ' || taken || ' ' || NEW.id THEN
            IF OLD.seq <> taken THEN
                PERFORM set_config('sync_seq.ins', '', true);
                NEW.seq := taken;
                NEW.sync_changed_at := now();
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    taken := taken + 1;
    PERFORM set_config('sync_seq.cur', taken || ' ' || NEW.integration_id, true);
    IF TG_OP = 'INSERT' THEN
        PERFORM set_config('sync_seq.ins', TG_RELID || ' ' || taken || ' ' || NEW.id, true);
    END IF;
    NEW.seq := taken;
    NEW.sync_changed_at := now();
    RETURN NEW;
END $$;

-- Adds `delta` to the live count of (scope, collection) pending until commit, and lists the collection under
-- the integration for the flush (a text[] in `sync_live.t<md5(scope)>`).
CREATE FUNCTION sync_pend_live(scope TEXT, collection TEXT, delta BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    key TEXT := 'sync_live.c' || md5(scope || '/' || collection);
    pending TEXT := current_setting(key, true);
    list_key TEXT := 'sync_live.t' || md5(scope);
BEGIN
    IF pending IS NULL OR pending = '' THEN
        PERFORM set_config(list_key, (COALESCE(NULLIF(current_setting(list_key, true), ''), '{}')::TEXT[] || collection)::TEXT, true);
        pending := '0';
    END IF;
    PERFORM set_config(key, (pending::BIGINT + delta)::TEXT, true);
END $$;

-- AFTER INSERT, per statement (transition table `sync_new`): the live rows it added, per integration. One
-- integration per statement is the common case: one aggregate, no grouping.
CREATE FUNCTION sync_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first TEXT;
    last TEXT;
    live BIGINT;
BEGIN
    SELECT min(integration_id), max(integration_id), count(*) FILTER (WHERE NOT deleted) INTO first, last, live FROM sync_new;
    IF first = last THEN
        IF live <> 0 THEN
            PERFORM {{schema}}.sync_pend_live(first, TG_TABLE_NAME, live);
        END IF;
    ELSE
        PERFORM {{schema}}.sync_pend_live(n.integration_id, TG_TABLE_NAME, n.live)
        FROM (SELECT integration_id, count(*) FILTER (WHERE NOT deleted) AS live FROM sync_new GROUP BY integration_id) n
        WHERE n.live <> 0;
    END IF;
    RETURN NULL;
END $$;

-- AFTER UPDATE, per statement (transition tables `sync_old`, `sync_new`): live rows gained minus lost, per
-- integration (an update never moves a row to another integration).
CREATE FUNCTION sync_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM {{schema}}.sync_pend_live(d.integration_id, TG_TABLE_NAME, d.live)
    FROM (SELECT integration_id, sum(live) AS live FROM (
              SELECT integration_id, CASE WHEN deleted THEN 0 ELSE 1 END AS live FROM sync_new
              UNION ALL
              SELECT integration_id, CASE WHEN deleted THEN 0 ELSE -1 END FROM sync_old) r
          GROUP BY integration_id) d
    WHERE d.live <> 0;
    RETURN NULL;
END $$;

-- Deferred to commit, once per transaction and integration (queued by sync_lock_scope's update): saves the
-- counter and adds the pending live counts, then forgets the integration's lock and pending counts, so that a
-- later write in the same transaction locks again and queues another flush. That happens when the flush fired
-- before the commit (`SET CONSTRAINTS ALL IMMEDIATE` given after a write fires pending flushes at once) or when
-- another deferred trigger writes synced rows at commit.
CREATE FUNCTION sync_flush_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope TEXT := NEW.integration_id;
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    counter BIGINT;
    list_key TEXT := 'sync_live.t' || md5(scope);
    tbl TEXT;
    key TEXT;
    pending TEXT;
BEGIN
    IF sp > 0 AND substr(cur, sp + 1) = scope THEN
        counter := left(cur, sp - 1)::BIGINT;
        PERFORM set_config('sync_seq.cur', '', true);
    ELSE
        counter := NULLIF(current_setting('sync_seq.s' || md5(scope), true), '')::BIGINT;
        IF counter IS NULL THEN
            -- No lock state yet: fired inside sync_lock_scope's update (immediate constraints), which re-queues.
            PERFORM set_config('sync_seq.early', 'on', true);
            RETURN NULL;
        END IF;
    END IF;
    PERFORM set_config('sync_seq.s' || md5(scope), '', true);
    -- Stamped with this transaction's id even if it took no seq: the head poll then hints the same seq again,
    -- which its waiters ignore. An update that would change nothing is left out: it would queue this again.
    UPDATE {{schema}}.sync_scopes SET seq = COALESCE(counter, seq), changed_by = pg_current_xact_id()
    WHERE integration_id = scope AND (seq, changed_by) IS DISTINCT FROM (COALESCE(counter, seq), pg_current_xact_id());
    FOREACH tbl IN ARRAY COALESCE(NULLIF(current_setting(list_key, true), ''), '{}')::TEXT[] LOOP
        key := 'sync_live.c' || md5(scope || '/' || tbl);
        pending := current_setting(key, true);
        IF pending IS NOT NULL AND pending NOT IN ('', '0') THEN
            -- The row exists but on an integration's first write to a collection: an update is cheaper than an upsert.
            UPDATE {{schema}}.sync_counts SET live = live + pending::BIGINT WHERE integration_id = scope AND collection = tbl;
            IF NOT FOUND THEN
                INSERT INTO {{schema}}.sync_counts AS c (integration_id, collection, live) VALUES (scope, tbl, pending::BIGINT)
                ON CONFLICT (integration_id, collection) DO UPDATE SET live = c.live + excluded.live;
            END IF;
        END IF;
        PERFORM set_config(key, '', true);
    END LOOP;
    PERFORM set_config(list_key, '', true);
    RETURN NULL;
END $$;

-- Queued by sync_lock_scope's no-op update only: the flush's own update changes the row.
CREATE CONSTRAINT TRIGGER sync_flush_scope AFTER UPDATE ON sync_scopes DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.seq = OLD.seq AND NEW.changed_by = OLD.changed_by) EXECUTE FUNCTION sync_flush_scope();

-- The per-row live count and the per-row deferred flush are replaced (with the data tables' triggers on them,
-- which connect() creates anew after the migrations).
DROP FUNCTION sync_count_live() CASCADE;
DROP FUNCTION sync_flush() CASCADE;
