-- compare_columns.sql — columns of tables (compare schema, kind "column"):
-- type (format_type), not null, default (pg_get_expr; for a generated column
-- its expression), generated, identity, collation when not the type's own,
-- and position among the table's live columns.
-- No parameters.
SELECT pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname) AS name,
       n.nspname AS _nspname,
       c.relname AS _objname,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS _parent,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS "not null",
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default,
       CASE a.attgenerated WHEN 's' THEN 'stored' END AS generated,
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
       CASE WHEN a.attcollation <> ty.typcollation
            THEN pg_catalog.format('%I.%I', cn.nspname, co.collname) END AS collation,
       pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
  LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
 WHERE c.relkind IN ('r', 'p', 'f')
   AND a.attnum > 0
   AND NOT a.attisdropped
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
