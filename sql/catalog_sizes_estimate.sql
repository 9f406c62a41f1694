-- catalog_sizes_estimate.sql — what catalog_sizes.sql reads, from the
-- catalog's statistics instead of the relations' files (--estimate-table-sizes):
-- pg_class.relpages of the relation and its TOAST table, as of their last
-- VACUUM or ANALYZE. No lock is taken and no file is looked at, which counts
-- for a database with very many relations; a table never vacuumed nor
-- analyzed reads as empty (copied in one part). Minimum server version: 9.x.
-- $1 oid[].
SELECT c.oid,
       (c.relpages::bigint + COALESCE(t.relpages, 0)) * current_setting('block_size')::int AS bytes,
       c.relpages::bigint AS relpages
  FROM pg_catalog.pg_class c
  LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
 WHERE c.oid = ANY ($1::oid[])
