-- list_collations.sql — collations defined in the database (not the built-in
-- ones of pg_catalog), for `list collations`.
-- icu_locale: colliculocale (PostgreSQL 15, 16) or colllocale (17+), read
-- through to_jsonb so the query runs on every version.
-- No parameters. PostgreSQL 12 or later (collisdeterministic).
SELECT c.oid,
       n.nspname,
       c.collname,
       CASE c.collprovider
            WHEN 'c' THEN 'libc'
            WHEN 'i' THEN 'icu'
            WHEN 'd' THEN 'default'
            ELSE c.collprovider::text
       END AS provider,
       c.collcollate,
       c.collctype,
       coalesce(pg_catalog.to_jsonb(c) ->> 'colllocale', pg_catalog.to_jsonb(c) ->> 'colliculocale') AS icu_locale,
       c.collisdeterministic,
       pg_catalog.pg_get_userbyid(c.collowner) AS owner,
       (SELECT e.extname
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
         WHERE d.classid = 'pg_catalog.pg_collation'::pg_catalog.regclass
           AND d.objid = c.oid
           AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.deptype = 'e'
         LIMIT 1) AS extname
  FROM pg_catalog.pg_collation c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY n.nspname, c.collname
