-- check_source_unreadable.sql — which of the kept tables and sequences the
-- connecting role cannot read (no SELECT, or no USAGE on the schema).
-- $1 oid[] the kept tables and sequences. PostgreSQL 10+.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname,
       c.relkind::text AS relkind, n.nspname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY ($1::oid[])
   AND (NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE')
        OR NOT CASE WHEN c.relkind = 'S'
                    THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT')
                    ELSE pg_catalog.has_table_privilege(c.oid, 'SELECT') END)
 ORDER BY 1
