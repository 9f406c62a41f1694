-- check_replica_identity.sql — kept tables whose UPDATEs and DELETEs logical
-- decoding cannot identify: REPLICA IDENTITY NOTHING, DEFAULT without a
-- primary key, or USING INDEX of an index that is gone.
-- $1 oid[] the kept tables. PostgreSQL 10+.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname,
       c.relreplident::text AS replident
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY ($1::oid[])
   AND c.relkind = 'r'
   AND c.relpersistence = 'p'
   AND (c.relreplident = 'n'
        OR (c.relreplident = 'd'
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                             WHERE i.indrelid = c.oid AND i.indisprimary))
        OR (c.relreplident = 'i'
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                             WHERE i.indrelid = c.oid AND i.indisreplident)))
 ORDER BY 1
