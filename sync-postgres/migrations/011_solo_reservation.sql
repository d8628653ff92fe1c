-- No commit-time flush for a transaction that writes one row of an integration (issue 19). Until now the lock's
-- reservation (009) always queued sync_flush_scope, which for a single-row write found the reserved seq taken and
-- the booked delta consumed (010), and did nothing but cost a PL/pgSQL call at commit. Now:
-- - the seq trigger itself reserves a transaction's first seq of an integration when its row's delta can be
--   counted (not 0; no other integration solo; no booking left): that reservation changes `live`, which the
--   flush trigger's WHEN clause does not queue for. The integration is then "solo": its counter is in
--   `sync_seq.solo` (`<counter> <integration_id>`, one integration per transaction at most), not in
--   `sync_seq.cur`, so that its next row misses the seq trigger's fast path and reaches the lock;
-- - the flush is queued (a no-op update of the counter row, sync_queue_flush) as soon as the solo integration needs
--   it: a second seq (the lock), or a live count pending for it (sync_pend_live: a booking not consumed, or more
--   rows counted than booked). A statement's count settles a booking it did not consume (the booked row was
--   skipped or changed by another trigger), so none outlives its statement unflushed;
-- - the statement's count consumes a booking that matches its rows without calling sync_pend_live;
-- - reservations that count nothing (the store's own lock, a row whose delta is 0, a second integration) queue
--   the flush as before;
-- - the flush forgets a parked counter whichever setting it read (as 007 did; 009 kept it when it read
--   `sync_seq.cur`, so a transaction that wrote a, b, then a again, then fired the flushes with
--   `SET CONSTRAINTS ALL IMMEDIATE` and wrote a again took that last seq a second time from the stale counter).
-- The booking now starts with the operation of the row that booked it (`I` or `U`): the update half of an
-- `INSERT … ON CONFLICT DO UPDATE` counts (its AFTER UPDATE statement trigger) before the insert half, so only
-- an update's booking is settled there.
-- Measured (BENCHMARKS.md, "PostgreSQL write path"): a single-row insert runs two PL/pgSQL calls instead of five.

-- Locks `scope`'s counter row again with a no-op update, which queues sync_flush_scope, and returns its counter
-- (null if the row is missing). Called while `scope` has no lock state: under `SET CONSTRAINTS ALL IMMEDIATE` the
-- flush fires at the end of the update, finds none and says so; it is then deferred and queued again.
CREATE FUNCTION sync_queue_flush(scope TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    counter BIGINT;
BEGIN
    UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope RETURNING seq INTO counter;
    IF current_setting('sync_seq.early', true) = 'on' THEN
        PERFORM set_config('sync_seq.early', '', true);
        SET CONSTRAINTS {{schema}}.sync_flush_scope DEFERRED;
        UPDATE {{schema}}.sync_scopes SET seq = seq WHERE integration_id = scope;
    END IF;
    RETURN counter;
END $$;

-- Ends the solo state: queues the solo integration's flush and parks its counter.
CREATE FUNCTION sync_unsolo() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    solo TEXT := current_setting('sync_seq.solo', true);
    sp INT := strpos(solo, ' ');
BEGIN
    PERFORM set_config('sync_seq.solo', '', true);
    PERFORM {{schema}}.sync_queue_flush(substr(solo, sp + 1));
    PERFORM set_config('sync_seq.s' || md5(substr(solo, sp + 1)), left(solo, sp - 1), true);
END $$;

-- The booking, `sync_live.b`, reads `<I or U><delta> <length of the collection's name> <collection><scope>`.
-- As in 010: settles it (its delta back to the pending count) when it is of `only_scope` or `only_scope` is null.
CREATE OR REPLACE FUNCTION sync_unbook(only_scope TEXT) RETURNS void LANGUAGE plpgsql AS $$
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
    PERFORM {{schema}}.sync_pend_live(substr(named, len + 1), left(named, len), -substr(booked, 2, sp - 2)::BIGINT);
END $$;

-- As in 010 (consumes the booking of (scope, collection), adds the rest of `delta` to the pending count), and a
-- solo integration with a count pending leaves the solo state: its flush adds the count.
CREATE OR REPLACE FUNCTION sync_pend_live(scope TEXT, collection TEXT, delta BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    booked TEXT := current_setting('sync_live.b', true);
    suffix TEXT;
    key TEXT;
    pending TEXT;
    list_key TEXT;
    solo TEXT;
BEGIN
    IF booked <> '' THEN
        suffix := ' ' || length(collection) || ' ' || collection || scope;
        IF right(booked, length(suffix)) = suffix THEN
            PERFORM set_config('sync_live.b', '', true);
            delta := delta - substr(booked, 2, length(booked) - length(suffix) - 1)::BIGINT;
            IF delta = 0 THEN
                RETURN;
            END IF;
        END IF;
    END IF;
    solo := current_setting('sync_seq.solo', true);
    IF solo <> '' AND substr(solo, strpos(solo, ' ') + 1) = scope THEN
        PERFORM {{schema}}.sync_unsolo();
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

-- Returns the last seq this transaction took from `scope`'s counter (the saved counter on first use), locking the
-- counter row: the solo integration's counter, which then leaves the solo state, or as 010 less the booking (the
-- reservation counts nothing and queues the flush; `collection` and `delta` serve only the recursion).
CREATE OR REPLACE FUNCTION sync_lock_scope(scope TEXT, collection TEXT, delta BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    solo TEXT := current_setting('sync_seq.solo', true);
    parked TEXT;
    taken BIGINT;
BEGIN
    IF sp > 0 AND substr(cur, sp + 1) = scope THEN
        RETURN left(cur, sp - 1)::BIGINT;
    END IF;
    IF solo <> '' AND substr(solo, strpos(solo, ' ') + 1) = scope THEN
        -- The solo integration's second seq: its counter must be saved at commit. The insert mark stays: it is
        -- this integration's (the update half of an upsert reuses its insert's seq).
        IF sp > 0 THEN
            PERFORM set_config('sync_seq.s' || md5(substr(cur, sp + 1)), left(cur, sp - 1), true);
        END IF;
        PERFORM set_config('sync_seq.solo', '', true);
        -- The counter is the seq the solo row took, the one reserved: the row's.
        taken := {{schema}}.sync_queue_flush(scope);
        PERFORM set_config('sync_seq.cur', taken || ' ' || scope, true);
        RETURN taken;
    END IF;
    IF sp > 0 THEN
        PERFORM set_config('sync_seq.s' || md5(substr(cur, sp + 1)), left(cur, sp - 1), true);
    END IF;
    parked := current_setting('sync_seq.s' || md5(scope), true);
    IF parked IS NOT NULL AND parked <> '' THEN
        taken := parked::BIGINT;
    ELSE
        -- This transaction's first lock of the row: it takes the next seq, stamps the row for the heads poll and
        -- queues sync_flush_scope (`live` unchanged).
        UPDATE {{schema}}.sync_scopes SET seq = seq + 1, changed_by = pg_current_xact_id()
        WHERE integration_id = scope AND changed_by <> pg_current_xact_id() RETURNING seq - 1 INTO taken;
        IF NOT FOUND THEN
            -- Locked already by this transaction (its flush fired early and saved the counter: nothing is
            -- reserved) or missing: a no-op update locks (again) and queues the flush.
            taken := {{schema}}.sync_queue_flush(scope);
            IF taken IS NULL THEN
                INSERT INTO {{schema}}.sync_scopes (integration_id) VALUES (scope) ON CONFLICT (integration_id) DO NOTHING;
                RETURN {{schema}}.sync_lock_scope(scope, collection, delta);
            END IF;
        ELSIF current_setting('sync_seq.early', true) = 'on' THEN
            -- Under `SET CONSTRAINTS ALL IMMEDIATE` the flush fired at the end of that update, before any row took
            -- a seq, and did nothing but say so: defer it (only then, it costs a statement) and queue it again.
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

-- As in 010, and a transaction's first row of an integration may take a solo reservation: it books its delta
-- (with its operation) and marks an insert, without setting `sync_seq.cur`.
CREATE OR REPLACE FUNCTION sync_take_seq() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    taken BIGINT;
    solo TEXT;
    tbl TEXT;
    delta BIGINT;
BEGIN
    IF sp > 0 AND substr(cur, sp + 1) = NEW.integration_id THEN
        taken := left(cur, sp - 1)::BIGINT;
    ELSE
        -- OLD is null in an INSERT trigger: the CASE reads it only in an UPDATE. TG_TABLE_NAME is a `name`, whose
        -- collation ("C") would become the lock's, and the lock's `integration_id = scope` could not use the
        -- primary key: the default collation.
        tbl := TG_TABLE_NAME::TEXT COLLATE "default";
        delta := CASE WHEN NEW.deleted THEN 0 ELSE 1 END - CASE WHEN TG_OP = 'UPDATE' THEN CASE WHEN OLD.deleted THEN 0 ELSE 1 END ELSE 0 END;
        -- A solo reservation: the row's delta counted (no other integration solo, no booking left), no flush
        -- queued. Found only if this transaction has not locked the row yet: nothing of it is parked, and
        -- `sync_seq.cur` stays as it is (another integration's, or empty). An update that changes the key is
        -- left to the lock, then refused below.
        solo := COALESCE(current_setting('sync_seq.solo', true), '');
        IF solo <> '' AND substr(solo, strpos(solo, ' ') + 1) = NEW.integration_id THEN
            -- The solo integration's second seq (as in sync_lock_scope, without its call: the second row of a
            -- multi-row statement): the flush queued, the counter back in `sync_seq.cur` (also for the update
            -- half of an upsert, which reuses the insert's seq below).
            IF sp > 0 THEN
                PERFORM set_config('sync_seq.s' || md5(substr(cur, sp + 1)), left(cur, sp - 1), true);
            END IF;
            PERFORM set_config('sync_seq.solo', '', true);
            solo := '-';
            taken := {{schema}}.sync_queue_flush(NEW.integration_id);
            PERFORM set_config('sync_seq.cur', taken || ' ' || NEW.integration_id, true);
        ELSIF delta <> 0 AND solo = '' AND COALESCE(current_setting('sync_live.b', true), '') = ''
           AND (TG_OP = 'INSERT' OR (NEW.integration_id = OLD.integration_id AND NEW.id = OLD.id)) THEN
            UPDATE {{schema}}.sync_scopes SET seq = seq + 1, changed_by = pg_current_xact_id(),
                live = jsonb_set(live, ARRAY[tbl], to_jsonb(COALESCE((live ->> tbl)::BIGINT, 0) + delta))
            WHERE integration_id = NEW.integration_id AND changed_by <> pg_current_xact_id() RETURNING seq INTO taken;
            IF FOUND THEN
                PERFORM set_config('sync_seq.solo', taken || ' ' || NEW.integration_id, true);
                PERFORM set_config('sync_live.b', left(TG_OP, 1) || delta || ' ' || length(tbl) || ' ' || tbl || NEW.integration_id, true);
                PERFORM set_config('sync_seq.ins', CASE WHEN TG_OP = 'INSERT' THEN TG_RELID || ' ' || taken || ' ' || NEW.id ELSE '' END, true);
                NEW.seq := taken;
                NEW.sync_changed_at := now();
                RETURN NEW;
            END IF;
        END IF;
        IF solo <> '-' THEN
            taken := {{schema}}.sync_lock_scope(NEW.integration_id, tbl, delta);
        END IF;
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

-- As in 007, then settles a booking left unconsumed: the booked row was skipped or changed by another trigger, or
-- its statement wrote rows of several integrations. The insert count fires last in any statement that inserts.
CREATE OR REPLACE FUNCTION sync_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first TEXT;
    last TEXT;
    live BIGINT;
BEGIN
    SELECT min(integration_id), max(integration_id), count(*) FILTER (WHERE NOT deleted) INTO first, last, live FROM sync_new;
    -- The common case without a call: the statement's rows are the booked ones (sync_pend_live would consume it).
    IF first = last AND current_setting('sync_live.b', true) = 'I' || live || ' ' || length(TG_TABLE_NAME) || ' ' || TG_TABLE_NAME || first THEN
        PERFORM set_config('sync_live.b', '', true);
        RETURN NULL;
    END IF;
    IF first = last THEN
        IF live <> 0 THEN
            PERFORM {{schema}}.sync_pend_live(first, TG_TABLE_NAME, live);
        END IF;
    ELSE
        PERFORM {{schema}}.sync_pend_live(n.integration_id, TG_TABLE_NAME, n.live)
        FROM (SELECT integration_id, count(*) FILTER (WHERE NOT deleted) AS live FROM sync_new GROUP BY integration_id) n
        WHERE n.live <> 0;
    END IF;
    IF current_setting('sync_live.b', true) <> '' THEN
        PERFORM {{schema}}.sync_unbook(NULL);
    END IF;
    RETURN NULL;
END $$;

-- As in 007, then settles an update's booking left unconsumed (an insert's is left to the insert count, which
-- fires after this one in an `INSERT … ON CONFLICT DO UPDATE`).
CREATE OR REPLACE FUNCTION sync_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM {{schema}}.sync_pend_live(d.integration_id, TG_TABLE_NAME, d.live)
    FROM (SELECT integration_id, sum(live) AS live FROM (
              SELECT integration_id, CASE WHEN deleted THEN 0 ELSE 1 END AS live FROM sync_new
              UNION ALL
              SELECT integration_id, CASE WHEN deleted THEN 0 ELSE -1 END FROM sync_old) r
          GROUP BY integration_id) d
    WHERE d.live <> 0;
    IF left(current_setting('sync_live.b', true), 1) = 'U' THEN
        PERFORM {{schema}}.sync_unbook(NULL);
    END IF;
    RETURN NULL;
END $$;

-- As in 010, forgetting a parked counter whichever setting held the lock state.
CREATE OR REPLACE FUNCTION sync_flush_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope TEXT := NEW.integration_id;
    cur TEXT := current_setting('sync_seq.cur', true);
    sp INT := strpos(cur, ' ');
    counter BIGINT;
    parked_key TEXT := 'sync_seq.s' || md5(scope);
    list_key TEXT := 'sync_live.t' || md5(scope);
    -- NEW is the row as the lock left it, and still the row as it is (010).
    counts JSONB := NEW.live;
    tbl TEXT;
    key TEXT;
    pending TEXT;
BEGIN
    IF sp > 0 AND substr(cur, sp + 1) = scope THEN
        counter := left(cur, sp - 1)::BIGINT;
        PERFORM set_config('sync_seq.cur', '', true);
    ELSE
        counter := NULLIF(current_setting(parked_key, true), '')::BIGINT;
        IF counter IS NULL THEN
            -- No lock state yet: fired inside the update that queued it (immediate constraints), which re-queues.
            PERFORM set_config('sync_seq.early', 'on', true);
            RETURN NULL;
        END IF;
    END IF;
    PERFORM set_config(parked_key, '', true);
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

-- Queued by updates that leave `live` as it is and either stamp `changed_by` (a reservation that counts nothing)
-- or change nothing (a no-op lock); not by a solo reservation (which changes `live`) nor by the flush's own save
-- (which changes `seq` or `live` but not `changed_by`).
DROP TRIGGER sync_flush_scope ON sync_scopes;
CREATE CONSTRAINT TRIGGER sync_flush_scope AFTER UPDATE ON sync_scopes DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.live = OLD.live AND (NEW.seq = OLD.seq OR NEW.changed_by <> OLD.changed_by))
EXECUTE FUNCTION sync_flush_scope();
