-- compare_triggers.sql — user triggers, not internal ones (compare schema,
-- kind "trigger"): the definition (pg_get_triggerdef) and whether it fires.
-- No parameters.
SELECT pg_catalog.format('%I.%I.%I', n.nspname, c.relname, t.tgname) AS name,
       n.nspname AS _nspname,
       c.relname AS _objname,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS _parent,
       pg_catalog.pg_get_triggerdef(t.oid) AS definition,
       CASE t.tgenabled WHEN 'O' THEN 'origin' WHEN 'D' THEN 'disabled'
                        WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END AS enabled
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
