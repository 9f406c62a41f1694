-- catalog_tables.sql — tables whose rows pgshift copies or whose definition it needs.
-- Ordinary tables (r) and partitioned tables (p), partitions and inheritance
-- children included; not system schemas, not extension members.
-- copy_columns: the quoted column list for COPY, generated columns left out.
-- Sizes are read apart (catalog_sizes.sql, outside the snapshot's
-- transaction): reading them takes a lock on each table, and a lock held by
-- the long snapshot transaction would make a TRUNCATE on the source wait for
-- the whole copy, and our own COPY of that table wait behind the TRUNCATE.
-- No parameters. PostgreSQL 12 or later (attgenerated).
SELECT c.oid,
       n.nspname,
       c.relname,
       c.relkind,
       c.relpersistence,
       coalesce((SELECT min(i.inhparent) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid), 0) AS parent_oid,
       0 AS bytes,
       c.reltuples,
       0 AS relpages,
       (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS copy_columns,
       (SELECT bool_and(t.typsend <> 0 AND t.typreceive <> 0 AND n2.nspname = 'pg_catalog')
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          JOIN pg_catalog.pg_namespace n2 ON n2.oid = t.typnamespace
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS binary_ok
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY n.nspname, c.relname
