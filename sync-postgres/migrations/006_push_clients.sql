-- Client writes (issue 14): per (integration, client), the last mutation id a push processed and the greatest
-- seq that client's pushes took. A push reads its client's row with a lock and saves it in the transaction that
-- applies the writes, so a push retried after a lost response applies nothing twice, and two pushes of one
-- client run one after the other.
CREATE TABLE sync_push_clients (
    integration_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    last_mutation_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (integration_id, client_id)
);
