-- catalog_indexes.sql — indexes of ordinary tables (partitions included) that
-- pgshift builds itself, with the primary key / unique / exclusion
-- constraint each one backs, if any.
-- Indexes of partitioned parents are left to pg_restore (post-data), which
-- attaches the partitions' indexes built here.
-- No parameters. PostgreSQL 11 or later.
SELECT i.indexrelid AS oid,
       i.indrelid AS table_oid,
       n.nspname,
       ic.relname,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS indexdef,
       coalesce(con.oid, 0) AS conoid,
       con.conname,
       con.contype,
       CASE WHEN con.oid IS NOT NULL THEN pg_catalog.pg_get_constraintdef(con.oid) END AS condef,
       coalesce(con.condeferrable, false) AS condeferrable,
       coalesce(con.condeferred, false) AS condeferred,
       0 AS bytes,
       i.indisclustered,
       i.indisreplident,
       -- key columns whose comparisons go through strcoll (a libc collation
       -- other than C/POSIX): they make the build's sort several times
       -- slower, which the scheduler's cost estimate takes into account
       (SELECT count(*)
          FROM pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) AS k(coll)
          LEFT JOIN pg_catalog.pg_collation co ON co.oid = k.coll
         WHERE k.coll <> 0
           AND CASE WHEN co.collprovider = 'i' THEN false
                    WHEN co.collprovider = 'c' THEN co.collcollate NOT IN ('C', 'POSIX')
                    ELSE (SELECT d.datcollate FROM pg_catalog.pg_database d
                           WHERE d.datname = pg_catalog.current_database())
                         NOT IN ('C', 'POSIX')
                END) AS slow_keys
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_catalog.pg_constraint con
         ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
 WHERE t.relkind = 'r'
   AND i.indisvalid AND i.indisready
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass
                      AND d.objid = t.oid AND d.deptype = 'e')
 ORDER BY i.indrelid, ic.relname
