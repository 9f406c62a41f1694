-- compare_schemas.sql — user schemas (compare schema, kind "schema").
-- Every compare_<kind>.sql query returns the object's name first, then the
-- attributes compared; columns whose name starts with "_" are not compared:
-- _nspname/_objname feed the filters (for a column, index, constraint or
-- trigger: its table's), _parent names the table an object belongs to (its
-- differences are implied when that table is missing).
-- Runs with search_path = pg_catalog, so names print schema-qualified.
-- No parameters.
SELECT pg_catalog.quote_ident(n.nspname) AS name,
       n.nspname AS _nspname,
       n.nspname AS _objname
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                      AND d.objid = n.oid AND d.deptype = 'e')
