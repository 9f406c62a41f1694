-- check_target_extension.sql — an extension on the target: the version
-- installed (if any), the default version CREATE EXTENSION installs, whether
-- the source's version is available, and whether creating it needs a
-- superuser (not trusted) — for the connecting role.
-- $1 text extension name, $2 text the source's version.
SELECT a.installed_version, a.default_version,
       EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions v
                WHERE v.name = $1 AND v.version = $2) AS has_source_version,
       coalesce((SELECT v.superuser AND NOT v.trusted
                   FROM pg_catalog.pg_available_extension_versions v
                  WHERE v.name = $1 AND v.version = a.default_version), false) AS needs_superuser
  FROM pg_catalog.pg_available_extensions a
 WHERE a.name = $1
