-- compare_data_tables.sql — the tables whose rows compare data checks, run
-- with the same text on both servers: ordinary tables and partitions
-- (relkind r; a partitioned parent holds no rows of its own), not system
-- schemas, not extension members.
-- columns: JSON array of the column names in attnum order (dropped columns
-- left out); pkey: JSON array of the primary key columns in key order, each
-- {"name", "type" (format_type without typmod), "collatable"}, or NULL.
-- relpages: main fork size in blocks, for ctid block ranges.
-- No parameters.
SELECT n.nspname,
       c.relname,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS display,
       pg_catalog.pg_table_size(c.oid) AS bytes,
       pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::int AS relpages,
       (SELECT pg_catalog.json_agg(a.attname ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
                   'name', a.attname,
                   'type', pg_catalog.format_type(a.atttypid, NULL),
                   'collatable', ty.typcollation <> 0) ORDER BY k.ord)
          FROM pg_catalog.pg_index i
         CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
         WHERE i.indrelid = c.oid AND i.indisprimary) AS pkey
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND c.relpersistence IN ('p', 'u')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY bytes DESC, n.nspname, c.relname
