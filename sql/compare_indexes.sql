-- compare_indexes.sql — indexes of tables and materialized views (compare
-- schema, kind "index"), those backing constraints included: the definition
-- (pg_get_indexdef) and whether the index is valid.
-- No parameters.
SELECT pg_catalog.format('%I.%I', n.nspname, ic.relname) AS name,
       tn.nspname AS _nspname,
       t.relname AS _objname,
       pg_catalog.format('%I.%I', tn.nspname, t.relname) AS _parent,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
       i.indisvalid AS valid
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
 WHERE t.relkind IN ('r', 'p', 'm')
   AND tn.nspname NOT IN ('pg_catalog', 'information_schema')
   AND tn.nspname !~ '^pg_toast'
   AND tn.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = t.oid AND d.deptype = 'e')
