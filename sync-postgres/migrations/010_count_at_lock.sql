-- The live counts in the counter row, and a single-row write counted by the one write it already does (issue 19).
-- Until now a single-row transaction paid for its live count with an update of its `sync_counts` row at commit,
-- besides the lock's update of its counter row. Now:
-- - each integration's live counts are a JSON object in its counter row (`sync_scopes.live`, collection → live
--   rows); `sync_counts` keeps the tombstone horizons only;
-- - the row trigger that takes the seq passes its row's expected delta (an insert of a live row +1, a live row
--   turned into a tombstone −1, …) to the lock, whose reservation (009's `seq = seq + 1`) adds it to the count in
--   the same update and books it in a setting, `sync_live.b`;
-- - the per-statement count (007, over the transition tables) consumes that booking when it counts the booked
--   integration and collection: only its real delta less the booked one stays pending;
-- - the commit-time flush adds what is pending to the counter row, in the update that saves the counter when it
--   saves it, and not at all when nothing is pending.
-- A single-row write thus books +1 at the lock, and its statement's count finds +1 − 1 = 0 to add: no second
-- write. The count stays exact whatever the booked row's fate (skipped by `ON CONFLICT DO NOTHING` or by another
-- trigger, turned into an update by `ON CONFLICT DO UPDATE`, changed by another trigger): a booking that no
-- count consumes goes back to pending (sync_unbook) at the next booking or at the flush.
-- Measured (BENCHMARKS.md, "PostgreSQL write path"): counting per row instead (an AFTER row trigger with a WHEN
-- clause, no transition table) made a single-row transaction cheaper still, but cost a PL/pgSQL call per row:
-- the triggers of a 100-row insert took more than twice the CPU.

ALTER TABLE sync_scopes ADD COLUMN live JSONB NOT NULL DEFAULT '{}';
UPDATE sync_scopes s SET live = c.live
FROM (SELECT integration_id, jsonb_object_agg(collection, live) AS live FROM sync_counts WHERE live <> 0 GROUP BY integration_id) c
WHERE c.integration_id = s.integration_id;
ALTER TABLE sync_counts DROP COLUMN live;

-- The booking of the lock, `sync_live.b`, reads `<delta> <length of the collection's name> <collection><scope>`.
-- Settles it when no count consumed it (the row was skipped, or counted in a statement of several integrations)
-- and it is of `only_scope` or `only_scope` is null: its delta goes back to the pending count.
CREATE FUNCTION sync_unbook(only_scope TEXT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    booked TEXT := current_setting('sync_live.b', true);
    sp INT := strpos(booked, ' ');
    rest TEXT := substr(booked, sp + 1);
    len INT := split_part(rest, ' ', 1)::INT;
    named TEXT := substr(rest, strpos(rest, ' ') + 1);
BEGIN
    IF only_scope IS NOT NULL AND substr(named, len + 1) <> only_scope THEN
        RETURN;
    END IF;
    -- Cleared first: sync_pend_live would consume it.
    PERFORM set_config('sync_live.b', '', true);
    PERFORM {{schema}}.sync_pend_live(substr(named, len + 1), left(named, len), -left(booked, sp - 1)::BIGINT);
END $$;

-- As in 007 (adds `delta` to the pending live count of (scope, collection) and lists the collection for the
-- flush), less the lock's booking of (scope, collection), which it consumes: nothing is pending when the
-- statement's delta is the booked one.
CREATE OR REPLACE FUNCTION sync_pend_live(scope TEXT, collection TEXT, delta BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    booked TEXT := current_setting('sync_live.b', true);
    suffix TEXT;
    key TEXT;
    pending TEXT;
    list_key TEXT;
BEGIN
    IF booked IS NOT NULL AND booked <> '' THEN
        suffix := ' ' || length(collection) || ' ' || collection || scope;
        IF right(booked, length(suffix)) = suffix THEN
            PERFORM set_config('sync_live.b', '', true);
            delta := delta - left(booked, length(booked) - length(suffix))::BIGINT;
            IF delta = 0 THEN
                RETURN;
            END IF;
        END IF;
    END IF;
    key := 'sync_live.c' || md5(scope || '/' || collection);
    pending := current_setting(key, true);
    IF pending IS NULL OR pending = '' THEN
        list_key := 'sync_live.t' || md5(scope);
        PERFORM set_config(list_key, (COALESCE(NULLIF(current_setting(list_key, true), ''), '{}')::TEXT[] || collection)::TEXT, true);
        pending := '0';
    END IF;
    PERFORM set_config(key, (pending::BIGINT + delta)::TEXT, true);
END $$;

-- As in 009, and the reservation adds `delta` to the live count of `collection` and books it. Only the
-- reservation books: locking again, or finding the counter parked, adds nothing.
CREATE FUNCTION sync_lock_scope(scope TEXT, collection TEXT, delta BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
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
        -- This transaction's first lock of the row: it takes the next seq, books the first row's delta, stamps the
        -- row for the heads poll and queues sync_flush_scope.
        UPDATE {{schema}}.sync_scopes SET seq = seq + 1, changed_by = pg_current_xact_id(),
            live = CASE WHEN delta = 0 THEN live
                        ELSE jsonb_set(live, ARRAY[collection], to_jsonb(COALESCE((live ->> collection)::BIGINT, 0) + delta)) END
        WHERE integration_id = scope AND changed_by <> pg_current_xact_id() RETURNING seq - 1 INTO taken;
        IF FOUND THEN
            IF delta <> 0 THEN
                -- One booking at a time: an earlier one not consumed yet (a statement of several integrations)
                -- goes back to pending.
                IF current_setting('sync_live.b', true) <> '' THEN
                    PERFORM {{schema}}.sync_unbook(NULL);
                END IF;
                PERFORM set_config('sync_live.b', delta || ' ' || length(collection) || ' ' || collection || scope, true);
            END IF;
        ELSE
            -- Locked already by this transaction (its flush fired early and saved the counter: nothing is
            -- reserved) or missing: a no-op update locks (again) and queues the flush.
            UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope RETURNING seq INTO taken;
            IF NOT FOUND THEN
                INSERT INTO {{schema}}.sync_scopes (integration_id) VALUES (scope) ON CONFLICT (integration_id) DO NOTHING;
                RETURN {{schema}}.sync_lock_scope(scope, collection, delta);
            END IF;
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

-- The store's own writes lock before their statement (src/sql.rs, LOCK_SCOPE): nothing to book.
CREATE OR REPLACE FUNCTION sync_lock_scope(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RETURN {{schema}}.sync_lock_scope(scope, NULL, 0);
END $$;

-- As in 007, with the row's expected live-count delta passed to the lock.
CREATE OR REPLACE FUNCTION sync_take_seq() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    taken BIGINT;
BEGIN
    IF sp > 0 AND substr(cur, sp + 1) = NEW.integration_id THEN
        taken := left(cur, sp - 1)::BIGINT;
    ELSE
        -- OLD is null in an INSERT trigger: the CASE reads it only in an UPDATE. TG_TABLE_NAME is a `name`, whose
        -- collation ("C") would become the lock's, and the lock's `integration_id = scope` could not use the
        -- primary key (a sequential scan of the counter table, bloated by every update): the default collation.
        taken := {{schema}}.sync_lock_scope(NEW.integration_id, TG_TABLE_NAME::TEXT COLLATE "default",
            CASE WHEN NEW.deleted THEN 0 ELSE 1 END - CASE WHEN TG_OP = 'UPDATE' THEN CASE WHEN OLD.deleted THEN 0 ELSE 1 END ELSE 0 END);
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

-- Deferred to commit, once per transaction and integration (queued by sync_lock_scope's update): as in 009, with
-- the integration's booking settled if no count consumed it, and the pending live counts added to the counter row
-- in the same update as the counter's save; no update when neither is needed.
CREATE OR REPLACE FUNCTION sync_flush_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope TEXT := NEW.integration_id;
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    counter BIGINT;
    list_key TEXT := 'sync_live.t' || md5(scope);
    -- NEW is the row as the lock left it (the reserved seq, or the counter when locked again), and still the row
    -- as it is: only this transaction writes it until it ends, and nothing but this flush after the lock.
    counts JSONB := NEW.live;
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
        PERFORM set_config('sync_seq.s' || md5(scope), '', true);
    END IF;
    IF current_setting('sync_live.b', true) <> '' THEN
        PERFORM {{schema}}.sync_unbook(scope);
    END IF;
    FOREACH tbl IN ARRAY COALESCE(NULLIF(current_setting(list_key, true), ''), '{}')::TEXT[] LOOP
        key := 'sync_live.c' || md5(scope || '/' || tbl);
        pending := current_setting(key, true);
        IF pending IS NOT NULL AND pending NOT IN ('', '0') THEN
            counts := jsonb_set(counts, ARRAY[tbl], to_jsonb(COALESCE((counts ->> tbl)::BIGINT, 0) + pending::BIGINT));
        END IF;
        PERFORM set_config(key, '', true);
        PERFORM set_config(list_key, '', true);
    END LOOP;
    IF counter <> NEW.seq OR counts <> NEW.live THEN
        UPDATE {{schema}}.sync_scopes SET seq = counter, live = counts WHERE integration_id = scope;
    END IF;
    RETURN NULL;
END $$;

-- Queued by sync_lock_scope's updates only (the reservation stamps `changed_by`; locking again changes nothing),
-- not by the flush's, which changes `seq` or `live` but not `changed_by`.
DROP TRIGGER sync_flush_scope ON sync_scopes;
CREATE CONSTRAINT TRIGGER sync_flush_scope AFTER UPDATE ON sync_scopes DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.changed_by <> OLD.changed_by OR (NEW.seq = OLD.seq AND NEW.live = OLD.live))
EXECUTE FUNCTION sync_flush_scope();
