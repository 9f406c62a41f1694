-- filter_dependents.sql — every object that depends, directly or not, on the
-- excluded tables: their indexes, constraints, triggers, rules, policies,
-- defaults, owned sequences, foreign keys pointing at them, views over them
-- (through their rewrite rules), and what depends on those in turn.
-- Relations come back with their schema and name (for COMMENT/ACL entries).
-- $1 oid[]: the excluded tables.
WITH RECURSIVE dep(classid, objid) AS (
    SELECT 'pg_catalog.pg_class'::regclass::oid, t.oid
      FROM unnest($1::oid[]) AS t(oid)
    UNION
    SELECT x.classid, x.objid
      FROM dep
      CROSS JOIN LATERAL (
            SELECT d.classid, d.objid
              FROM pg_catalog.pg_depend d
             WHERE d.refclassid = dep.classid AND d.refobjid = dep.objid
               AND d.deptype IN ('n', 'a', 'i')
            UNION ALL
            SELECT 'pg_catalog.pg_class'::regclass::oid, r.ev_class
              FROM pg_catalog.pg_rewrite r
             WHERE dep.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = dep.objid
      ) AS x
)
SELECT dep.objid,
       pg_catalog.pg_describe_object(dep.classid, dep.objid, 0) AS what,
       n.nspname,
       c.relname
  FROM dep
  LEFT JOIN pg_catalog.pg_class c
         ON dep.classid = 'pg_catalog.pg_class'::regclass AND c.oid = dep.objid
  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
