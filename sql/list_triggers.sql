-- list_triggers.sql — the user triggers of the database's tables, for
-- `list triggers` (not the internal ones of foreign keys, nor those of
-- system schemas). enabled: pg_trigger.tgenabled in words ("replica" and
-- "always" fire in the applier's session_replication_role = replica).
-- pgshift restores triggers with the post-data section, after the rows, so
-- none fires on the copy.
-- No parameters. PostgreSQL 9.x or later.
SELECT t.oid,
       n.nspname,
       c.relname,
       t.tgname,
       CASE t.tgenabled
            WHEN 'O' THEN 'origin'
            WHEN 'D' THEN 'disabled'
            WHEN 'R' THEN 'replica'
            WHEN 'A' THEN 'always'
       END AS enabled,
       t.tgfoid::pg_catalog.regprocedure::text AS function,
       pg_catalog.pg_get_triggerdef(t.oid) AS definition
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY n.nspname, c.relname, t.tgname
