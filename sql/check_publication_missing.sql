-- check_publication_missing.sql — which tables of the given ones (a
-- partitioned table standing for its leaf partitions) an existing
-- publication does not publish: neither the leaf nor one of its partition
-- ancestors is in pg_publication_tables (which lists the leaves, or the root
-- with publish_via_partition_root), and it is not FOR ALL TABLES.
-- pg_partition_tree and pg_partition_ancestors give nothing for a table that
-- is not partitioned: the table itself is added.
-- $1 text publication name, $2 text[] quoted qualified table names.
-- PostgreSQL 12+.
SELECT DISTINCT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
  FROM unnest($2::text[]) AS w(name)
  CROSS JOIN LATERAL (SELECT t.relid
                        FROM pg_catalog.pg_partition_tree(w.name::pg_catalog.regclass) t
                       WHERE t.isleaf
                       UNION SELECT w.name::pg_catalog.regclass) AS leaf(relid)
  JOIN pg_catalog.pg_class c ON c.oid = leaf.relid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
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
