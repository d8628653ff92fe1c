-- The counter row's updates made HOT-eligible (issue 19): the lock's reservation (009/010) updates `seq`,
-- `changed_by` and `live`, and `changed_by` had an index (005, for the heads poll), so every reservation wrote a
-- new row version with new entries in both indexes (the primary key's and that one) instead of a heap-only
-- version on the same page. Without the index no column the lock or the flush updates is indexed (the primary
-- key is `integration_id`, which never changes), and the heads poll reads `sync_scopes` by a sequential scan.
-- The fillfactor leaves room on each page for the new versions of its rows (it applies to pages filled from now
-- on; existing pages keep what room they have).
DROP INDEX sync_scopes_changed_by;
ALTER TABLE sync_scopes SET (fillfactor = 70);
