-- check_publishable_tables.sql — the tables a publication FOR TABLE of the
-- whole database lists (what FOR ALL TABLES would publish): permanent
-- ordinary and partitioned tables that are not partitions (published
-- through their parent) nor members of an extension; with whether the
-- connecting role owns them (FOR TABLE needs ownership).
-- No parameters. PostgreSQL 10+.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname,
       pg_catalog.pg_has_role(c.relowner, 'USAGE') AS owned
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND c.relpersistence = 'p'
   AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   -- --ddl's own settings (its log is published, not they)
   AND NOT (n.nspname = 'pgshift' AND c.relname = 'ddl_settings')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1
