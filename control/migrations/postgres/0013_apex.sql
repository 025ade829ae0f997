-- A root domain's apex (the bare root): `forward` (the registrar forwards
-- it to www, as before) or `addresses` (A/AAAA at the apex → the platform's
-- addresses, answered by the edge); and which name serves the pages, `www`
-- or `apex` (only with `addresses`; the other name redirects). Subdomains
-- keep the defaults. Keep the sqlite and postgres files in step.
ALTER TABLE domains ADD COLUMN apex_setup TEXT NOT NULL DEFAULT 'forward';
ALTER TABLE domains ADD COLUMN main_address TEXT NOT NULL DEFAULT 'www';
