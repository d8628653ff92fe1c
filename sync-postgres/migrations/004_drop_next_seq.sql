-- Migration 003 replaced sync_take_seq with one that keeps the counter in a transaction-local setting, so nothing calls
-- sync_next_seq from 001 any more: drop it, so that no one mistakes it for the way seqs are taken.
DROP FUNCTION IF EXISTS sync_next_seq(TEXT);
