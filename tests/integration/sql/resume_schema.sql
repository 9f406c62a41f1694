-- resume_schema.sql: the source database of t/050_resume.pl.
--
-- Sized so that a `pgshift clone` killed at a chosen moment stops in the
-- phase the test wants:
--   * pre-data: FILLER_VIEWS small views (psql variable filler_views,
--     default 600) make the pre-data restore take a few seconds;
--   * data: app.big (~35 MB, 130k rows) is split into 4 parts with
--     --split-tables-larger-than 6MB --split-max-parts 4;
--   * indexes: six indexes on app.big, one of them its replica identity,
--     another one marked for CLUSTER; foreign keys to it;
--   * large objects: 200 of them, 64 kB each, copied one batch at a time
--     with --large-objects-jobs 1;
--   * post-data: triggers, a row security policy, and a materialized view
--     whose refresh sleeps (app.slow), so post-data lasts a couple of seconds.
--
-- Every key is written explicitly (no sequence is used while loading app.big),
-- so the test can add rows after a snapshot and remove them again without
-- changing any sequence.  Data is deterministic (generate_series, md5).

\set ON_ERROR_STOP 1
\if :{?filler_views}
\else
\set filler_views 600
\endif
SET client_min_messages = warning;

CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'resume test';

-- a function that takes its time: used by the materialized view's refresh
CREATE FUNCTION app.slow(secs float8) RETURNS int
    LANGUAGE sql VOLATILE
    AS 'SELECT 1 FROM pg_catalog.pg_sleep($1)';

CREATE FUNCTION app.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE FUNCTION app.audit_del() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO app.audit (tab, old_id) VALUES (TG_TABLE_NAME, OLD.id);
    RETURN OLD;
END
$$;

CREATE SEQUENCE app.ticket_seq START 100 INCREMENT 3;

-- the big table, split in parts: ~130k rows of ~260 bytes
CREATE TABLE app.big (
    id bigint NOT NULL,
    grp int NOT NULL,
    created date NOT NULL,
    amount numeric(12, 2),
    payload text,
    CONSTRAINT big_pkey PRIMARY KEY (id)
);
INSERT INTO app.big (id, grp, created, amount, payload)
SELECT g,
       g % 1000,
       DATE '2020-01-01' + (g % 1500),
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 100000) / 7.0 END,
       CASE WHEN g % 17 = 0 THEN NULL
            ELSE md5(g::text) || repeat(md5((g * 7)::text), 6) END
  FROM generate_series(1, 130000) g;
CREATE INDEX big_grp_idx ON app.big (grp);
CREATE INDEX big_created_grp_idx ON app.big (created, grp);
CREATE UNIQUE INDEX big_payload_id_key ON app.big (payload COLLATE "C", id);
CREATE INDEX big_payload_md5_idx ON app.big (md5(coalesce(payload, '')));
-- indexes with more to do than CREATE INDEX: CLUSTER ON, REPLICA IDENTITY
CREATE UNIQUE INDEX big_grp_created_id_key ON app.big (grp, created, id);
ALTER TABLE app.big REPLICA IDENTITY USING INDEX big_grp_created_id_key;
ALTER TABLE app.big CLUSTER ON big_created_grp_idx;

CREATE TABLE app.customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    updated_at timestamptz
);
INSERT INTO app.customers (id, name)
SELECT g, 'customer ' || g FROM generate_series(1, 3000) g;
SELECT setval('app.customers_id_seq', 3000);

CREATE TABLE app.orders (
    id bigint PRIMARY KEY,
    customer_id int NOT NULL REFERENCES app.customers (id),
    big_id bigint REFERENCES app.big (id),
    note text,
    updated_at timestamptz
);
INSERT INTO app.orders (id, customer_id, big_id, note)
SELECT g, 1 + g % 3000, CASE WHEN g % 5 = 0 THEN NULL ELSE g * 6 END, 'order ' || g
  FROM generate_series(1, 20000) g;

CREATE TABLE app.order_lines (
    order_id bigint NOT NULL REFERENCES app.orders (id) ON DELETE CASCADE,
    line int NOT NULL,
    qty int NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, line)
);
INSERT INTO app.order_lines
SELECT 1 + g / 3, g % 3, 1 + g % 9 FROM generate_series(0, 59999) g;

CREATE TABLE app.audit (
    id bigserial PRIMARY KEY,
    tab text,
    old_id bigint
);

-- written after a snapshot by the --snapshot scenario (then emptied again)
CREATE TABLE app.after_snapshot (
    id int PRIMARY KEY,
    note text
);
INSERT INTO app.after_snapshot SELECT g, 'before ' || g FROM generate_series(1, 10) g;

CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers
    FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER orders_touch BEFORE UPDATE ON app.orders
    FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER orders_audit AFTER DELETE ON app.orders
    FOR EACH ROW EXECUTE FUNCTION app.audit_del();

-- refreshed in post-data (a row security policy is in the dump, so the
-- refresh waits for it at the end of post-data); takes about 2 seconds
CREATE MATERIALIZED VIEW app.big_stats AS
SELECT b.grp % 10 AS bucket, count(*) AS n, sum(b.amount) AS total, max(s.slept) AS slept
  FROM app.big b, (SELECT app.slow(2) AS slept) s
 GROUP BY 1;
CREATE UNIQUE INDEX big_stats_bucket ON app.big_stats (bucket);
CREATE POLICY customers_all ON app.customers USING (true);
ALTER TABLE app.customers ENABLE ROW LEVEL SECURITY;

CREATE VIEW app.recent_orders AS
SELECT o.id, c.name, o.note FROM app.orders o JOIN app.customers c ON c.id = o.customer_id
 WHERE o.id > 19000;

-- filler: many small objects, so that the pre-data restore takes a while
SELECT format('CREATE VIEW app.filler_%s AS SELECT id, name FROM app.customers WHERE id > %s',
              g, g)
  FROM generate_series(1, :filler_views) g \gexec

-- 200 large objects of 64 kB each, with deterministic contents
SELECT lo_from_bytea(0, decode(repeat(md5('lo' || g), 4096), 'hex'))
  FROM generate_series(1, 200) g;

SELECT nextval('app.ticket_seq') FROM generate_series(1, 5);
