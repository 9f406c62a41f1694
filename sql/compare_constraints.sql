-- compare_constraints.sql — constraints of tables and of domains (compare
-- schema, kind "constraint"): type, definition (pg_get_constraintdef),
-- deferrable, initially deferred, validated. A domain's constraint is named
-- after the domain.
-- No parameters.
SELECT pg_catalog.format('%I.%I.%I', n.nspname, c.relname, con.conname) AS name,
       n.nspname AS _nspname,
       c.relname AS _objname,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS _parent,
       CASE con.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key' WHEN 'p' THEN 'primary key'
                        WHEN 'u' THEN 'unique' WHEN 't' THEN 'constraint trigger'
                        WHEN 'x' THEN 'exclusion' ELSE con.contype::text END AS type,
       pg_catalog.pg_get_constraintdef(con.oid) AS definition,
       con.condeferrable AS deferrable,
       con.condeferred AS deferred,
       con.convalidated AS validated
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE con.conrelid <> 0
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT pg_catalog.format('%s.%I', pg_catalog.format_type(ty.oid, NULL), con.conname),
       n.nspname,
       ty.typname,
       NULL,
       'domain check',
       pg_catalog.pg_get_constraintdef(con.oid),
       con.condeferrable,
       con.condeferred,
       con.convalidated
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_type ty ON ty.oid = con.contypid
  JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace
 WHERE con.contypid <> 0
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                      AND d.objid = ty.oid AND d.deptype = 'e')
