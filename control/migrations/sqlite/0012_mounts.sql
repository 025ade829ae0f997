-- Mounts: a path (or a path prefix) on a domain or on the platform host,
-- proxied to one of the account's products on the platform's application.
-- Products are registered by the platform (the control plane does not own
-- them); a mount keeps its product's id when the product is removed, and is
-- then unpublished (the host's 404 answers) until pointed elsewhere.
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    origin_path TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX products_account ON products (account_id, created_at, id);

CREATE TABLE mounts (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain_id   TEXT REFERENCES domains (id) ON DELETE CASCADE,
    -- As links.scope: the domain's id, or the account's for the platform host.
    scope       TEXT NOT NULL,
    -- `members` or `courses/intro`: lower case, no leading `/`. Unique with
    -- links.slug per scope (checked in the unit of work, under the lock).
    path        TEXT NOT NULL,
    -- 1: the path and everything below it (`/members/*`).
    prefix      BIGINT NOT NULL,
    -- Exactly one of: a product of the account, or a generic origin path.
    product_id  TEXT,
    origin_path TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (scope, path)
);
CREATE INDEX mounts_account ON mounts (account_id, created_at, id);

-- The platform host's (`<username>.<platform domain>`) Index and 404, as a
-- domain's; no row: the defaults.
CREATE TABLE platform_host_settings (
    account_id        TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    index_page_id     TEXT REFERENCES pages (id) ON DELETE SET NULL,
    index_url         TEXT,
    not_found_page_id TEXT REFERENCES pages (id) ON DELETE SET NULL,
    not_found_url     TEXT,
    updated_at        BIGINT NOT NULL
);
