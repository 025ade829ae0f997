-- The verifier (control/src/verify/). Keep the sqlite and postgres files in step.

-- When the domain's routing records were queued for KV: the edge serves a
-- domain exactly while this is set. The verifier sets it, waits for the KV
-- write, and only then reports `connected`; a disconnected domain keeps it
-- through its grace period, then loses it (unpublished).
ALTER TABLE domains ADD COLUMN published_at BIGINT;
-- When a connected domain was found no longer pointing at the platform.
ALTER TABLE domains ADD COLUMN disconnected_at BIGINT;
UPDATE domains SET published_at = COALESCE(connected_at, updated_at) WHERE status = 'connected';

-- One row per domain: when to check it next, who is checking it now (a
-- lease, so replicas never check one domain at once), and the last report.
CREATE TABLE domain_checks (
    domain_id     TEXT PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    next_check_at BIGINT NOT NULL,
    claimed_by    TEXT,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    checked_at    BIGINT,
    -- `ready`, `not_ready` or `inconclusive` (timeouts, SERVFAIL).
    outcome       TEXT,
    -- The last report, JSON (GET /v1/domains/{id}/diagnostics).
    report        TEXT
);
CREATE INDEX domain_checks_due ON domain_checks (next_check_at);
INSERT INTO domain_checks (domain_id, next_check_at) SELECT id, added_at FROM domains;
