-- One row write fewer per transaction (issue 19). Until 007 a transaction wrote its integration's counter row
-- twice: a no-op UPDATE to lock it at the first write, then the deferred flush's save at commit (the counter and
-- `changed_by`). Now the lock reserves the next seq in its own write: the transaction's first lock of the row is
-- `seq = seq + 1, changed_by = <this transaction>`, so a transaction that takes exactly one seq (a single-row
-- write, the common case) needs no save at commit; the flush writes the counter only when the transaction took
-- another number of seqs (more; or none, and the reservation is given back, so the counter stays the greatest
-- seq). `changed_by` is stamped at the lock instead of at commit: the same transaction id, visible to the heads
-- poll at the same moment, its commit.
-- Measured (BENCHMARKS.md, "PostgreSQL write path"): counting inserted rows at commit by a range scan of the
-- seqs the transaction took, instead of 007's per-statement count, cost more than the count it replaced (its
-- query plans and locks a data table anew in every transaction), so the live counts are kept as in 007.

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
        -- This transaction's first lock of the row: it takes the next seq, stamps the row for the heads poll and
        -- queues sync_flush_scope.
        UPDATE {{schema}}.sync_scopes SET seq = seq + 1, changed_by = pg_current_xact_id()
        WHERE integration_id = scope AND changed_by <> pg_current_xact_id() RETURNING seq - 1 INTO taken;
        IF NOT FOUND THEN
            -- Locked already by this transaction (its flush fired early and saved the counter: nothing is
            -- reserved) or missing: a no-op update locks (again) and queues the flush.
            UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope RETURNING seq INTO taken;
            IF NOT FOUND THEN
                INSERT INTO {{schema}}.sync_scopes (integration_id) VALUES (scope) ON CONFLICT (integration_id) DO NOTHING;
                UPDATE {{schema}}.sync_scopes SET seq = seq + 1, changed_by = pg_current_xact_id()
                WHERE integration_id = scope AND changed_by <> pg_current_xact_id() RETURNING seq - 1 INTO taken;
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

-- Deferred to commit, once per transaction and integration (queued by sync_lock_scope's update): saves the
-- counter unless the lock's reservation holds it already, and adds the pending live counts; then forgets the
-- integration's lock and pending counts, so that a later write in the same transaction locks again and queues
-- another flush (as in 007).
CREATE OR REPLACE FUNCTION sync_flush_scope() RETURNS trigger LANGUAGE plpgsql AS $$
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
        PERFORM set_config('sync_seq.s' || md5(scope), '', true);
    END IF;
    -- NEW is the row as the lock left it: the reserved seq, or the counter when locked again.
    IF counter <> NEW.seq THEN
        UPDATE {{schema}}.sync_scopes SET seq = counter WHERE integration_id = scope;
    END IF;
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

-- Queued by sync_lock_scope's updates only (the reservation stamps `changed_by`; locking again changes nothing),
-- not by the flush's save, which changes `seq` only.
DROP TRIGGER sync_flush_scope ON sync_scopes;
CREATE CONSTRAINT TRIGGER sync_flush_scope AFTER UPDATE ON sync_scopes DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.seq = OLD.seq OR NEW.changed_by <> OLD.changed_by) EXECUTE FUNCTION sync_flush_scope();
