-- What the Cloudflare API budget granted and turned away in the current
-- fixed window (control/src/cloudflare_api/budget.rs `Usage`: a gauge of
-- the budget used, and the work it deferred). The window starts at a
-- multiple of its length since the Unix epoch, in microseconds. Keep the
-- sqlite and postgres files in step.
ALTER TABLE api_budgets ADD COLUMN window_start_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_budgets ADD COLUMN window_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_budgets ADD COLUMN window_refused BIGINT NOT NULL DEFAULT 0;
