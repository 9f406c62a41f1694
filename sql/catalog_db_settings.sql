-- catalog_db_settings.sql — ALTER DATABASE ... SET settings of the current
-- database (for all roles), as "name=value" strings.
-- No parameters.
SELECT pg_catalog.unnest(s.setconfig) AS setting
  FROM pg_catalog.pg_db_role_setting s
  JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
 WHERE d.datname = pg_catalog.current_database() AND s.setrole = 0
