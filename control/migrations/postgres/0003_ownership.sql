-- One owner per hostname at every moment a record for it can be served
-- (portico_shared::ownership). Keep the sqlite and postgres files in step.

-- A disconnected domain still published in its grace period used to let
-- another account connect the same host. Where that happened, the newer
-- holder keeps it: the older one is unpublished (its records are
-- recomputed by the next change of its account).
UPDATE domains SET published_at = NULL
WHERE status = 'disconnected' AND published_at IS NOT NULL
  AND served_host IN (
    SELECT served_host FROM domains WHERE status IN ('processing', 'connected'));

DROP INDEX domains_active_served_host;
-- Held while being connected, connected, or still published.
CREATE UNIQUE INDEX domains_holding_served_host ON domains (served_host)
    WHERE status IN ('processing', 'connected') OR published_at IS NOT NULL;

-- The token an account proves control of a host with (a TXT record at
-- `_portico-challenge.<host>`): made when the account adds the host, or
-- is refused it because another account holds it, and kept, so the record
-- the customer created stays valid.
CREATE TABLE ownership_challenges (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    served_host TEXT NOT NULL,
    token       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, served_host)
);
INSERT INTO ownership_challenges (account_id, served_host, token, created_at)
SELECT d.account_id, d.served_host, md5(random()::text || clock_timestamp()::text || d.id), d.added_at FROM domains d
WHERE true ON CONFLICT (account_id, served_host) DO NOTHING;

-- A hostname that moved between accounts: its custom hostname (and
-- certificate) is handed to the new owner's domain by the verifier before
-- that domain's first certificate check, and retried until it is.
CREATE TABLE certificate_handovers (
    domain_id    TEXT PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    from_account TEXT NOT NULL,
    from_domain  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
