-- check_publication_missing.sql — which of the given tables an existing
-- publication does not publish (neither the table nor one of its partition
-- ancestors is in it -- pg_partition_ancestors gives nothing for a table that
-- is not a partition -- and it is not FOR ALL TABLES).
-- $1 text publication name, $2 text[] quoted qualified table names.
-- PostgreSQL 12+ (pg_partition_ancestors).
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY ($2::text[]::pg_catalog.regclass[])
   AND c.relkind IN ('r', 'p')
   AND c.relpersistence = 'p'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication p
                    WHERE p.pubname = $1 AND p.puballtables)
   AND NOT EXISTS (SELECT 1
                     FROM (SELECT c.oid AS relid
                           UNION SELECT pa.relid FROM pg_catalog.pg_partition_ancestors(c.oid) pa) a
                     JOIN pg_catalog.pg_class ac ON ac.oid = a.relid
                     JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace
                     JOIN pg_catalog.pg_publication_tables pt
                       ON pt.schemaname = an.nspname AND pt.tablename = ac.relname
                    WHERE pt.pubname = $1)
 ORDER BY 1
