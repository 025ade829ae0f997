-- Every domain by its served host, whatever its status (the unique index
-- covers active ones only): the already-added check of an add, and of each
-- item of a batch, is one lookup. Keep the sqlite and postgres files in step.
CREATE INDEX domains_served_host ON domains (served_host);
