-- sql/ddl_install.sql — pgshift's DDL capture on the source (--ddl), run by
-- cdc/ddl_setup.c as one simple query. Idempotent.
--
-- pgshift.ddl_log gets one row per top-level DDL statement, inserted by the
-- event trigger at ddl_command_end, in the transaction that ran the
-- statement: logical decoding carries that row in commit order, between the
-- rows changed before and after the statement, and the applier replays the
-- statement at that very place. sql_drop only stashes the objects it drops
-- (a transaction-local setting) for the ddl_command_end of the same command.
--
-- idx: how many statements with the same tag the same query string ran
-- before this one in this transaction (a multi-statement string): the
-- applier replays the idx-th statement of that tag, not the whole string.
--
-- Capture runs only while the slot named in pgshift.ddl_settings exists in
-- this database: a copy of this schema restored elsewhere (clone --follow
-- copies it) records nothing there.
SELECT pg_catalog.set_config('pgshift.ddl_installing', 'on', true);
CREATE SCHEMA IF NOT EXISTS pgshift;
CREATE TABLE IF NOT EXISTS pgshift.ddl_log (
  id bigserial PRIMARY KEY,
  xid bigint NOT NULL,
  tag text NOT NULL,
  idx int NOT NULL,
  command text NOT NULL,
  search_path text NOT NULL,
  role name NOT NULL,
  objects jsonb NOT NULL,
  at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS ddl_log_xid ON pgshift.ddl_log (xid);
CREATE TABLE IF NOT EXISTS pgshift.ddl_settings (
  slot name PRIMARY KEY,
  publication name);
CREATE OR REPLACE FUNCTION pgshift.ddl_publish(rel regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
  p name;
BEGIN
  FOR p IN SELECT s.publication FROM pgshift.ddl_settings s
      JOIN pg_catalog.pg_publication u ON u.pubname = s.publication
      WHERE NOT u.puballtables AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r
        WHERE r.prpubid = u.oid AND r.prrelid = rel)
  LOOP
    EXECUTE pg_catalog.format('ALTER PUBLICATION %I ADD TABLE %s', p, rel);
  END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION pgshift.ddl_capture() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  objs jsonb := '[]';
  kept int := 0;
  seen int := 0;
  r record;
  n int;
BEGIN
  IF TG_TAG ~ '^(CREATE|ALTER|DROP) (PUBLICATION|SUBSCRIPTION)'
      OR pg_catalog.current_setting('pgshift.ddl_installing', true) = 'on' THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pgshift.ddl_settings s JOIN pg_catalog.pg_replication_slots l
      ON l.slot_name = s.slot AND l.database = pg_catalog.current_database()) THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'sql_drop' THEN
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'type', d.object_type, 'identity', d.object_identity, 'schema', d.schema_name,
        'name', d.address_names[2], 'persistence', CASE WHEN d.is_temporary THEN 't' END)), '[]')
      INTO objs FROM pg_catalog.pg_event_trigger_dropped_objects() d WHERE d.original;
    PERFORM pg_catalog.set_config('pgshift.ddl_dropped',
      (coalesce(nullif(pg_catalog.current_setting('pgshift.ddl_dropped', true), ''), '[]')::jsonb
       || objs)::text, true);
    RETURN;
  END IF;
  objs := coalesce(nullif(pg_catalog.current_setting('pgshift.ddl_dropped', true), ''), '[]');
  PERFORM pg_catalog.set_config('pgshift.ddl_dropped', '', true);
  FOR r IN SELECT c.object_type, c.object_identity, c.schema_name, c.in_extension,
      t.nspname AS tnsp, t.relname AS trel, t.relpersistence, t.relispartition, t.oid AS toid,
      c.command_tag
    FROM pg_catalog.pg_event_trigger_ddl_commands() c
    LEFT JOIN pg_catalog.pg_class k ON c.classid = 'pg_catalog.pg_class'::regclass AND k.oid = c.objid
    LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = k.oid
    LEFT JOIN LATERAL (SELECT n.nspname, x.relname, x.relpersistence, x.relispartition, x.oid
        FROM pg_catalog.pg_class x JOIN pg_catalog.pg_namespace n ON n.oid = x.relnamespace
        WHERE x.oid = coalesce(i.indrelid, k.oid)) t ON true
  LOOP
    IF r.in_extension THEN
      CONTINUE;
    END IF;
    objs := objs || pg_catalog.jsonb_build_object('type', r.object_type,
      'identity', r.object_identity, 'schema', coalesce(r.tnsp, r.schema_name),
      'name', r.trel, 'persistence', r.relpersistence);
    IF r.command_tag IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
        AND r.object_type = 'table' AND r.relpersistence = 'p' AND NOT r.relispartition
        AND r.tnsp IS DISTINCT FROM 'pgshift' THEN
      PERFORM pgshift.ddl_publish(r.toid);
    END IF;
  END LOOP;
  FOR r IN SELECT e FROM pg_catalog.jsonb_array_elements(objs) e LOOP
    seen := seen + 1;
    IF r.e->>'schema' IS DISTINCT FROM 'pgshift' AND coalesce(r.e->>'schema', '') !~ '^pg_temp'
        AND r.e->>'persistence' IS DISTINCT FROM 't'
        AND NOT (r.e->>'type' = 'schema' AND r.e->>'identity' = 'pgshift') THEN
      kept := kept + 1;
    END IF;
  END LOOP;
  IF seen > 0 AND kept = 0 THEN
    RETURN;
  END IF;
  SELECT pg_catalog.count(*) INTO n FROM pgshift.ddl_log l
    WHERE l.xid = pg_catalog.txid_current() AND l.at = pg_catalog.statement_timestamp()
    AND l.tag = TG_TAG AND l.command = pg_catalog.current_query();
  INSERT INTO pgshift.ddl_log (xid, tag, idx, command, search_path, role, objects, at)
  VALUES (pg_catalog.txid_current(), TG_TAG, n, pg_catalog.current_query(),
    pg_catalog.current_setting('search_path'), current_user, objs,
    pg_catalog.statement_timestamp());
END
$fn$;
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_end;
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_drop;
CREATE EVENT TRIGGER pgshift_ddl_end ON ddl_command_end EXECUTE FUNCTION pgshift.ddl_capture();
CREATE EVENT TRIGGER pgshift_ddl_drop ON sql_drop EXECUTE FUNCTION pgshift.ddl_capture();
