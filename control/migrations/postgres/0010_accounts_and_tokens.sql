-- Account deletion and token scopes and expiry. Keep the sqlite and
-- postgres files in step.
--
-- A deleted account stays as a tombstone: its row (and so its username,
-- UNIQUE) is kept for good, so a CNAME that still names the username can
-- never be claimed by a new account. Its domains, pages and links are
-- removed and its tokens revoked in the same transaction.
ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;

-- `read` tokens may only GET; `write` (every token made before) may do
-- anything the account may. `expires_at` NULL: never expires.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
