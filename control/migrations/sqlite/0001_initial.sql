-- Portico control plane: initial schema (SQLite). Keep in step with
-- ../postgres/0001_initial.sql: the same tables, columns and constraints.
-- Times are Unix milliseconds (BIGINT), so both databases read them alike.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    -- Bumped first by every transaction that changes what the account
    -- publishes: it serializes an account's changes, so the records each
    -- transaction computes from the store are never built from a stale view.
    revision   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

CREATE TABLE pages (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL,
    current_revision BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX pages_account ON pages (account_id);

CREATE TABLE page_revisions (
    page_id    TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    number     BIGINT NOT NULL,
    digest     TEXT NOT NULL,
    content    TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (page_id, number)
);

CREATE TABLE domains (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hostname          TEXT NOT NULL,
    kind              TEXT NOT NULL,
    root              TEXT NOT NULL,
    served_host       TEXT NOT NULL,
    status            TEXT NOT NULL,
    added_at          BIGINT NOT NULL,
    connect_deadline  BIGINT NOT NULL,
    connected_at      BIGINT,
    index_page_id     TEXT REFERENCES pages (id) ON DELETE SET NULL,
    index_url         TEXT,
    not_found_page_id TEXT REFERENCES pages (id) ON DELETE SET NULL,
    not_found_url     TEXT,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX domains_account ON domains (account_id);
-- One account at a time may hold a hostname while it is being connected or
-- is connected.
CREATE UNIQUE INDEX domains_active_served_host ON domains (served_host)
    WHERE status IN ('processing', 'connected');

-- A page at a path: on one of the account's domains, or (domain_id NULL) on
-- the account's platform host. `scope` is the domain id, or the account id
-- for the platform host: a path is unique per scope.
CREATE TABLE links (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    page_id    TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    domain_id  TEXT REFERENCES domains (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    slug       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (scope, slug)
);
CREATE INDEX links_account ON links (account_id);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    domain_id   TEXT,
    hostname    TEXT,
    message     TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);

-- What the outbox has been told to make KV hold: one row per key, with the
-- SHA-256 of its value. Publishing diffs against it.
CREATE TABLE kv_published (
    namespace    TEXT NOT NULL,
    key          TEXT NOT NULL,
    account_id   TEXT,
    value_digest TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX kv_published_account ON kv_published (account_id);

-- KV writes waiting to be delivered, in id order.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    op         TEXT NOT NULL,
    value      TEXT,
    created_at BIGINT NOT NULL
);

-- One publisher at a time drains the outbox: the holder renews its lease
-- before each batch.
CREATE TABLE publisher_lease (
    id         BIGINT PRIMARY KEY,
    holder     TEXT,
    expires_at BIGINT NOT NULL
);
INSERT INTO publisher_lease (id, holder, expires_at) VALUES (1, NULL, 0);
