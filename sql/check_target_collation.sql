-- check_target_collation.sql — a collation on the target by schema and name,
-- with its provider and versions (recorded, and what the library gives now).
-- $1 text schema, $2 text name.
SELECT co.collprovider::text AS provider, co.collversion,
       CASE WHEN co.collprovider IN ('c', 'i')
            THEN pg_catalog.pg_collation_actual_version(co.oid) END AS actual_version
  FROM pg_catalog.pg_collation co
  JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
 WHERE cn.nspname = $1 AND co.collname = $2
   AND co.collencoding IN (-1, pg_catalog.pg_char_to_encoding(
                                 pg_catalog.current_setting('server_encoding')))
