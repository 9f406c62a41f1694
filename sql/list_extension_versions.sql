-- list_extension_versions.sql — for `list extensions --available-versions`:
-- every extension the server's packages provide, its default and installed
-- versions, and every version it can install (pg_available_extension_versions),
-- as a JSON array and as text.
-- No parameters.
SELECT a.name,
       a.default_version,
       a.installed_version,
       (SELECT pg_catalog.json_agg(v.version ORDER BY v.version)::text
          FROM pg_catalog.pg_available_extension_versions v
         WHERE v.name = a.name) AS versions,
       (SELECT pg_catalog.string_agg(v.version, ', ' ORDER BY v.version)
          FROM pg_catalog.pg_available_extension_versions v
         WHERE v.name = a.name) AS versions_text,
       a.comment
  FROM pg_catalog.pg_available_extensions a
 ORDER BY a.name
