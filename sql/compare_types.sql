-- compare_types.sql — user types, not extension members (compare schema,
-- kind "type"): enums (labels in order), domains (base type, not null,
-- default), composite types (attributes), ranges (subtype), base types.
-- Table row types and array types are left out.
-- No parameters.
SELECT pg_catalog.format_type(t.oid, NULL) AS name,
       n.nspname AS _nspname,
       t.typname AS _objname,
       CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite'
                      WHEN 'r' THEN 'range' WHEN 'm' THEN 'multirange' WHEN 'b' THEN 'base'
                      ELSE t.typtype::text END AS kind,
       CASE t.typtype
         WHEN 'e' THEN (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', '
                                                     ORDER BY e.enumsortorder)
                          FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
         WHEN 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod)
                       || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                       || coalesce(' DEFAULT ' || t.typdefault, '')
         WHEN 'c' THEN (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '
                                                     || pg_catalog.format_type(a.atttypid, a.atttypmod),
                                                     ', ' ORDER BY a.attnum)
                          FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
         WHEN 'r' THEN (SELECT pg_catalog.format_type(r.rngsubtype, NULL)
                          FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)
       END AS definition
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'c', 'r', 'b')
   AND (t.typtype <> 'c'
        OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
   AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND t.typlen = -1
            AND EXISTS (SELECT 1 FROM pg_catalog.pg_type el
                         WHERE el.oid = t.typelem AND el.typarray = t.oid))
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                      AND d.objid = t.oid AND d.deptype = 'e')
