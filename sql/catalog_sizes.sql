-- catalog_sizes.sql — on-disk sizes of the given relations: heap + TOAST
-- bytes and heap blocks (tables), or bytes (indexes). Run in its own short
-- transaction, not the snapshot's: each size takes a lock on its relation
-- until the end of the transaction. Relations dropped since are skipped.
-- $1 oid[].
SELECT c.oid,
       pg_catalog.pg_table_size(c.oid) AS bytes,
       pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int AS relpages
  FROM pg_catalog.pg_class c
 WHERE c.oid = ANY ($1::oid[])
