-- list_databases.sql — the databases of the source cluster, for `list databases`.
-- Template databases are left out. The size needs the CONNECT privilege (or
-- pg_read_all_stats): NULL when the current role has neither.
-- No parameters.
SELECT d.oid,
       d.datname,
       pg_catalog.pg_get_userbyid(d.datdba) AS owner,
       pg_catalog.pg_encoding_to_char(d.encoding) AS encoding,
       d.datcollate,
       d.datctype,
       CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT')
                 OR pg_catalog.pg_has_role('pg_read_all_stats', 'MEMBER')
            THEN pg_catalog.pg_database_size(d.oid)
       END AS bytes
  FROM pg_catalog.pg_database d
 WHERE NOT d.datistemplate
 ORDER BY d.datname
