-- The client-side budget of Cloudflare API requests, shared by every
-- replica (control/src/cloudflare_api/budget.rs): one row per budget, the
-- generic cell rate algorithm's theoretical arrival time in microseconds
-- since the Unix epoch. Keep the sqlite and postgres files in step.
CREATE TABLE api_budgets (
    name TEXT PRIMARY KEY,
    tat_us BIGINT NOT NULL
);
INSERT INTO api_budgets (name, tat_us) VALUES ('cloudflare', 0);
