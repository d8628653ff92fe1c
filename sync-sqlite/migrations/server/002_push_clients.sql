-- Client writes: the last mutation id processed per (scope, client) and the greatest seq that client's pushes
-- took, written in the push's own transaction so that a retried push applies nothing twice.
CREATE TABLE push_clients (
    integration_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    last_mutation_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (integration_id, client_id)
);
