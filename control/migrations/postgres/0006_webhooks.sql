-- Signed webhooks (control/src/webhooks/). Keep the sqlite and postgres
-- files in step.

-- Where an account wants its events sent.
CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    account_id            TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL,
    -- Space-separated event types sent; NULL: every type.
    event_types           TEXT,
    enabled               BIGINT NOT NULL,
    -- Why it was switched off (by its owner, or after failing for days).
    disabled_reason       TEXT,
    -- `whsec_<base64>`; the previous one signs too until previous_until.
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_until        BIGINT,
    -- The first failed attempt since the last success.
    failing_since         BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id);

-- One message per endpoint and event, written in the transaction of the
-- change that caused it; delivered at least once, in order per domain.
CREATE TABLE webhook_messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- `webhook-id`: the same on every attempt.
    message_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    -- Messages with the same key go out one at a time, oldest first.
    ordering_key    TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    -- pending, delivered or failed (retries exhausted).
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- A replica sending it, until when: no other sends it meanwhile.
    claimed_by      TEXT,
    claimed_until   BIGINT,
    delivered_at    BIGINT
);
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at);
CREATE INDEX webhook_messages_order ON webhook_messages (endpoint_id, ordering_key, id);

-- Every attempt, for the endpoint's delivery log.
CREATE TABLE webhook_attempts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message          BIGINT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    attempted_at     BIGINT NOT NULL,
    -- NULL when no answer came (refused, timed out, forbidden address).
    status_code      BIGINT,
    latency_ms       BIGINT NOT NULL,
    -- The first 1 KiB of the answer, or what went wrong.
    response         TEXT NOT NULL
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message, id);
