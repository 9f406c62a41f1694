-- catalog_sequences.sql — sequences and the column that owns them (serial:
-- deptype 'a', identity: deptype 'i'). Values are read separately, one query
-- per batch of sequences (sequence_values).
-- No parameters.
SELECT c.oid,
       n.nspname,
       c.relname,
       coalesce(d.refobjid, 0) AS owner_table_oid,
       a.attname AS owner_column,
       coalesce(d.deptype = 'i', false) AS is_identity
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_depend d
         ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE c.relkind = 'S'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                    WHERE e.classid = 'pg_catalog.pg_class'::regclass
                      AND e.objid = c.oid AND e.deptype = 'e')
 ORDER BY n.nspname, c.relname
