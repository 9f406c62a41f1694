-- list_depends.sql — the objects that depend on a relation, from pg_depend,
-- for `list depends`.
-- A view or materialized view depends on a table through its _RETURN rule:
-- the rule is reported as the view itself, and the objects depending on that
-- view are followed in turn (level 2, 3...; via names the view in between,
-- schema-qualified).
-- Left out as noise: the relation's own row type and TOAST table, and a
-- view's own rule.
-- $1 oid of the relation.
WITH RECURSIVE edges AS (
    SELECT CASE WHEN r.rulename = '_RETURN' THEN 'pg_catalog.pg_class'::pg_catalog.regclass::oid ELSE d.classid END AS classid,
           CASE WHEN r.rulename = '_RETURN' THEN r.ev_class ELSE d.objid END AS objid,
           CASE WHEN r.rulename = '_RETURN' THEN 0 ELSE d.objsubid END AS objsubid,
           d.refobjid,
           d.deptype
      FROM pg_catalog.pg_depend d
      LEFT JOIN pg_catalog.pg_rewrite r
             ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND r.oid = d.objid
     WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
),
useful AS (
    SELECT e.*
      FROM edges e
     WHERE NOT (e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = e.refobjid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                        WHERE e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                          AND t.oid = e.objid AND t.typrelid = e.refobjid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class tc
                        WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND tc.oid = e.objid AND tc.relkind = 't')
),
deps AS (
    SELECT u.classid, u.objid, u.objsubid, u.deptype, 1 AS level, $1::oid AS via
      FROM useful u
     WHERE u.refobjid = $1::oid
    UNION
    SELECT u.classid, u.objid, u.objsubid, u.deptype, p.level + 1, p.objid
      FROM deps p
      JOIN pg_catalog.pg_class v ON v.oid = p.objid AND v.relkind IN ('v', 'm')
      JOIN useful u ON u.refobjid = p.objid
     WHERE p.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND p.level < 16
),
firsts AS (
    SELECT DISTINCT ON (d.classid, d.objid, d.objsubid) d.*
      FROM deps d
     ORDER BY d.classid, d.objid, d.objsubid, d.level
)
SELECT f.level,
       (pg_catalog.pg_identify_object(f.classid, f.objid, f.objsubid)).type AS objtype,
       (pg_catalog.pg_identify_object(f.classid, f.objid, f.objsubid)).identity AS identity,
       pg_catalog.pg_describe_object(f.classid, f.objid, f.objsubid) AS description,
       f.deptype::text AS deptype,
       CASE WHEN f.level > 1 THEN (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, f.via, 0)).identity END AS via
  FROM firsts f
 ORDER BY f.level, 2, 3
