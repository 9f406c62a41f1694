-- check_index_collations.sql — the collations the kept tables' indexes sort
-- with ("default": the database's), with provider and versions: the one
-- recorded when it was created and the one the library gives now, and how
-- many indexes use each.
-- $1 oid[] the kept tables. PostgreSQL 10+ (collversion; the database's
-- default collation is read by the caller).
SELECT cn.nspname, co.collname, co.collprovider::text AS provider,
       co.collversion,
       CASE WHEN co.collprovider IN ('c', 'i')
            THEN pg_catalog.pg_collation_actual_version(co.oid) END AS actual_version,
       count(DISTINCT i.indexrelid) AS nindexes
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_collation co ON co.oid = ANY (i.indcollation::oid[])
  JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
 WHERE i.indrelid = ANY ($1::oid[])
 GROUP BY co.oid, cn.nspname, co.collname, co.collprovider, co.collversion
 ORDER BY 1, 2
