-- Content garbage collection (control/src/publish/gc.rs). Keep the sqlite
-- and postgres files in step.

-- When content stopped being named by any account's records (NULL: named,
-- or published before this migration and never dropped since).
ALTER TABLE kv_published ADD COLUMN unreferenced_since BIGINT;

-- Which content keys each account's records name, as its last resync saw them.
CREATE TABLE kv_content_refs (
    account_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX kv_content_refs_key ON kv_content_refs (key);

-- One row once every account's refs were recorded (a full resync:
-- `portico-control republish`, or a database created empty): before that,
-- content some not-yet-resynced account names could look unreferenced, so
-- nothing is collected.
CREATE TABLE kv_content_refs_complete (id INTEGER PRIMARY KEY);
INSERT INTO kv_content_refs_complete (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM accounts);
