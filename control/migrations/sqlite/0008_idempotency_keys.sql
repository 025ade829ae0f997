-- Idempotency-Key: the first answer to a POST, per token and key, kept 24 h
-- and replayed to retries. `status` is NULL while the first request runs.
-- `token_id` is an api_tokens id or `admin`. Keep the sqlite and postgres
-- files in step.
CREATE TABLE idempotency_keys (
    token_id    TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      BIGINT,
    headers     TEXT,
    body        TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
