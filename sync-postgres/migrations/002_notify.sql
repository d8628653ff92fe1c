-- Live updates: at commit, each transaction that wrote to an integration sends one NOTIFY on the channel
-- `seqsync_<schema>` with the payload `<seq> <integration_id>` (the integration's counter after the
-- transaction). PostgreSQL delivers it to listeners only after the commit, and drops it on rollback, so a
-- listener never learns of a seq that is not visible. It is a hint: clients still read rows by cursor.
-- The same deferred trigger as in 001, with the NOTIFY where the counter is saved (once per transaction and
-- integration).
CREATE OR REPLACE FUNCTION sync_flush() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    cached TEXT := current_setting('sync_seq.s' || md5(NEW.integration_id), true);
    live_key TEXT := 'sync_live.c' || md5(NEW.integration_id || '/' || TG_TABLE_NAME);
    pending TEXT := current_setting(live_key, true);
BEGIN
    IF cached IS NOT NULL AND cached <> '' AND cached IS DISTINCT FROM current_setting('sync_seq.w' || md5(NEW.integration_id), true) THEN
        UPDATE sync_scopes SET seq = cached::BIGINT WHERE integration_id = NEW.integration_id;
        PERFORM set_config('sync_seq.w' || md5(NEW.integration_id), cached, true);
        PERFORM pg_notify('seqsync_' || current_schema(), cached || ' ' || NEW.integration_id);
    END IF;
    IF pending IS NOT NULL AND pending NOT IN ('', '0') THEN
        INSERT INTO sync_counts AS c (integration_id, collection, live) VALUES (NEW.integration_id, TG_TABLE_NAME, pending::BIGINT)
        ON CONFLICT (integration_id, collection) DO UPDATE SET live = c.live + excluded.live;
        PERFORM set_config(live_key, '0', true);
    END IF;
    RETURN NULL;
END $$;
