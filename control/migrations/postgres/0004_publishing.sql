-- Fenced publishing (control/src/publish/). Keep the sqlite and postgres files in step.

-- Bumped by every takeover of the lease: the publisher deletes outbox rows
-- (and writes anything else) only in a transaction that finds its token
-- still there, so a deposed publisher can never land a store write.
ALTER TABLE publisher_lease ADD COLUMN token BIGINT NOT NULL DEFAULT 0;

-- Bytes of key and value, so a batch is bounded in bytes without reading
-- the values first.
ALTER TABLE outbox ADD COLUMN payload_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE outbox SET payload_bytes = LENGTH(key) + COALESCE(LENGTH(value), 0);

-- Writes Workers KV refused for what they carry (a key or value it does not
-- take): one row per key, the newest refused write, so the key blocks
-- nothing else. A newer write of the key delivered later removes it; an
-- admin's retry (retry_requested_at set) sends it again.
CREATE TABLE outbox_parked (
    namespace          TEXT NOT NULL,
    key                TEXT NOT NULL,
    -- The id the write had in the outbox: older than any row of the key still there.
    outbox_id          BIGINT NOT NULL,
    op                 TEXT NOT NULL,
    value              TEXT,
    payload_bytes      BIGINT NOT NULL,
    error              TEXT NOT NULL,
    attempts           BIGINT NOT NULL,
    parked_at          BIGINT NOT NULL,
    retry_requested_at BIGINT,
    PRIMARY KEY (namespace, key)
);
CREATE UNIQUE INDEX outbox_parked_outbox_id ON outbox_parked (outbox_id);
