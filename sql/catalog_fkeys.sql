-- catalog_fkeys.sql — foreign keys pgshift adds itself: declared on an ordinary
-- or partitioned table (not inherited from a partitioned parent: the parent's
-- own creates its partitions' ones) and referencing an ordinary table, whose
-- key pgshift builds. The others are left to pg_restore (post-data).
-- No parameters. PostgreSQL 11 or later (conparentid).
SELECT con.oid,
       con.conrelid AS table_oid,
       con.conname,
       pg_catalog.pg_get_constraintdef(con.oid) AS condef,
       con.confrelid AS ref_table_oid
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class t ON t.oid = con.conrelid
  JOIN pg_catalog.pg_class r ON r.oid = con.confrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
 WHERE con.contype = 'f'
   AND con.conparentid = 0
   AND t.relkind IN ('r', 'p') AND r.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY con.conrelid, con.conname
