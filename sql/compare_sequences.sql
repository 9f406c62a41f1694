-- compare_sequences.sql — sequence definitions from pg_sequence (compare
-- schema, kind "sequence"); the owning column for serial and identity
-- sequences. last_value and is_called are read from each sequence after.
-- No parameters.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
       n.nspname AS _nspname,
       c.relname AS _objname,
       pg_catalog.format_type(s.seqtypid, NULL) AS "data type",
       s.seqstart AS start,
       s.seqincrement AS increment,
       s.seqmin AS minvalue,
       s.seqmax AS maxvalue,
       s.seqcache AS cache,
       s.seqcycle AS cycle,
       (SELECT pg_catalog.format('%I.%I.%I', tn.nspname, t.relname, a.attname)
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
          JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.deptype IN ('a', 'i')
         LIMIT 1) AS "owned by"
  FROM pg_catalog.pg_sequence s
  JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
