-- PATCH's update is HOT (no index touched) only when the new row version fits in the page
-- that holds the old one. 0001's fillfactor 85 leaves 1,229 bytes free, less than a ~1.8 KB
-- session row, so on the 1,000,000-session set half of all PATCHes were not HOT and wrote an
-- entry into every index, and 0006's log trigram index made PATCH far slower (BENCHMARKS.md,
-- "Lists at scale"). A row holds at most ~2 KB in its page (PostgreSQL moves larger values to
-- TOAST), so 25 % of 8 KB always fits one more version; pruning on the next visit frees the
-- old one. Pages written before this keep their fill until the table is rewritten (VACUUM
-- FULL, or pg_repack).
ALTER TABLE sessions SET (fillfactor = 75);
