-- check_lo_unreadable.sql — large objects the connecting role cannot read:
-- not a superuser, lo_compat_privileges off, neither owner (or member of the
-- owner) nor granted SELECT (directly, through a role, or PUBLIC).
-- No parameters. Returns the count and the lowest such oid.
SELECT count(*) AS n, min(m.oid)::text AS first_oid
  FROM pg_catalog.pg_largeobject_metadata m
 WHERE NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
   AND pg_catalog.current_setting('lo_compat_privileges') = 'off'
   AND NOT pg_catalog.pg_has_role(m.lomowner, 'USAGE')
   AND NOT EXISTS (SELECT 1
                     FROM pg_catalog.aclexplode(coalesce(m.lomacl,
                                                pg_catalog.acldefault('L', m.lomowner))) a
                    WHERE a.privilege_type = 'SELECT'
                      AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'USAGE')))
