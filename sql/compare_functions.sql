-- compare_functions.sql — user functions, procedures and aggregates, not
-- extension members (compare schema, kind "function"): the full definition
-- (pg_get_functiondef); an aggregate has none, so its transition function,
-- state type, final function and initial value stand for it.
-- No parameters.
SELECT p.oid::pg_catalog.regprocedure::text AS name,
       n.nspname AS _nspname,
       p.proname AS _objname,
       CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure'
                      WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' END AS kind,
       CASE WHEN p.prokind = 'a'
            THEN (SELECT pg_catalog.format('sfunc %s, stype %s, finalfunc %s, initcond %s',
                                           ag.aggtransfn::pg_catalog.regproc,
                                           pg_catalog.format_type(ag.aggtranstype, NULL),
                                           ag.aggfinalfn::pg_catalog.regproc,
                                           coalesce(ag.agginitval, 'NULL'))
                    FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = p.oid)
            ELSE pg_catalog.pg_get_functiondef(p.oid) END AS definition
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
