-- ListSessions: "contains" filters on the from and to addresses use trigram indexes rather than
-- a scan (pg_trgm is a trusted extension: a database owner may create it). Neither column is
-- patched, so PATCH's updates stay HOT. The log filter has no index: see BENCHMARKS.md.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX sessions_from_address_trgm ON sessions USING gin (from_address gin_trgm_ops);
CREATE INDEX sessions_to_address_trgm ON sessions USING gin (to_address gin_trgm_ops);
-- The sort of an administrator's list (every account) by creation time.
CREATE INDEX sessions_created_idx ON sessions (created_at DESC, id DESC);
