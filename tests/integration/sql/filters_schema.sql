-- filters_schema.sql: the source database of t/060_filters.pl.
--
-- Tables meant to be left out by the test's filters come with everything
-- that depends on them: indexes, constraints, triggers, owned and identity
-- sequences, views (and views over those views), a materialized view,
-- comments, grants, a policy, partitions, and foreign keys pointing at them
-- from tables that are copied.  Names with upper case, spaces and double
-- quotes test the SQL-style name parsing of the filters file.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA app;
CREATE SCHEMA "Mixed Case";
CREATE SCHEMA secret;
COMMENT ON SCHEMA secret IS 'left out by [exclude-schema]';

---------------------------------------------------------------------------
-- schema secret: excluded as a whole (functions, a type, a table, a view, a
-- sequence)
---------------------------------------------------------------------------
CREATE TYPE secret.mood AS ENUM ('ok', 'bad');
CREATE FUNCTION secret.hash(t text) RETURNS text
    LANGUAGE sql IMMUTABLE AS 'SELECT md5(t)';
CREATE FUNCTION secret.answer() RETURNS int
    LANGUAGE sql IMMUTABLE AS 'SELECT 42';
CREATE SEQUENCE secret.counter;
CREATE TABLE secret.keys (
    id int PRIMARY KEY,
    k text NOT NULL,
    m secret.mood
);
INSERT INTO secret.keys SELECT g, md5(g::text), 'ok' FROM generate_series(1, 50) g;
CREATE VIEW secret.key_names AS SELECT id, k FROM secret.keys;

---------------------------------------------------------------------------
-- included tables
---------------------------------------------------------------------------
CREATE FUNCTION app.touch() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN NEW.note := coalesce(NEW.note, 'touched'); RETURN NEW; END $$;

CREATE SEQUENCE app.ticket_seq START 500;
SELECT nextval('app.ticket_seq') FROM generate_series(1, 3);

CREATE TABLE app.customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    note text,
    key_id int REFERENCES secret.keys (id)
);
CREATE INDEX customers_name_idx ON app.customers (name);
CREATE TRIGGER customers_touch BEFORE INSERT OR UPDATE ON app.customers
    FOR EACH ROW EXECUTE FUNCTION app.touch();
INSERT INTO app.customers (name, note, key_id)
SELECT 'customer ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END, 1 + g % 50
  FROM generate_series(1, 2000) g;
CREATE VIEW app.customer_names AS SELECT id, name FROM app.customers;
CREATE FUNCTION app.customer_count() RETURNS bigint
    LANGUAGE sql STABLE AS 'SELECT count(*) FROM app.customers';

-- excluded: bigserial (owned sequence), index, trigger, comment, grant,
-- policy, views over it (two levels), a materialized view
CREATE TABLE app.audit_log (
    id bigserial PRIMARY KEY,
    at date NOT NULL DEFAULT '2024-01-01',
    msg text
);
CREATE INDEX audit_log_msg_idx ON app.audit_log (msg);
CREATE TRIGGER audit_log_touch BEFORE UPDATE ON app.audit_log
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
COMMENT ON TABLE app.audit_log IS 'left out by [exclude-table]';
COMMENT ON COLUMN app.audit_log.msg IS 'the message';
GRANT SELECT ON app.audit_log TO PUBLIC;
ALTER TABLE app.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_recent ON app.audit_log USING (at > '2020-01-01');
INSERT INTO app.audit_log (msg) SELECT 'msg ' || (g % 10) FROM generate_series(1, 300) g;
CREATE VIEW app.audit_view AS SELECT id, msg FROM app.audit_log;
CREATE VIEW app.audit_view2 AS SELECT count(*) AS n FROM app.audit_view;
CREATE MATERIALIZED VIEW app.audit_mv AS
    SELECT msg, count(*) AS n FROM app.audit_log GROUP BY msg;

CREATE TABLE app.orders (
    id int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES app.customers (id),
    audit_id bigint REFERENCES app.audit_log (id),
    note text
);
INSERT INTO app.orders
SELECT g, 1 + g % 2000, CASE WHEN g % 2 = 0 THEN g % 300 + 1 END, 'order ' || g
  FROM generate_series(1, 5000) g;

-- excluded: an identity column (its sequence is an internal dependency)
CREATE TABLE app.events (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    what text
);
INSERT INTO app.events (what) SELECT 'event ' || g FROM generate_series(1, 100) g;

-- excluded: a partitioned table, its partitions follow it
CREATE TABLE app.measures (
    id int NOT NULL,
    d date NOT NULL,
    v int,
    PRIMARY KEY (id, d)
) PARTITION BY RANGE (d);
CREATE TABLE app.measures_2023 PARTITION OF app.measures
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE app.measures_2024 PARTITION OF app.measures
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO app.measures SELECT g, DATE '2023-01-01' + g % 700, g FROM generate_series(1, 1000) g;

-- included, one of its indexes excluded by [exclude-index]
CREATE TABLE app.products (
    id int PRIMARY KEY,
    name text NOT NULL,
    price numeric(10, 2)
);
CREATE INDEX products_name_idx ON app.products (name);
CREATE INDEX products_price_idx ON app.products (price);
INSERT INTO app.products SELECT g, 'product ' || g, g * 1.5 FROM generate_series(1, 1000) g;

-- schema only ([exclude-table-data]): table and indexes, no rows
CREATE TABLE app.big_history (
    id int PRIMARY KEY,
    at date NOT NULL,
    payload text
);
CREATE INDEX big_history_at_idx ON app.big_history (at);
INSERT INTO app.big_history
SELECT g, DATE '2020-01-01' + g % 1000, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g;

---------------------------------------------------------------------------
-- "Mixed Case": quoted names
---------------------------------------------------------------------------
CREATE TABLE "Mixed Case"."Tab" (
    id int PRIMARY KEY,
    "Val" text
);
INSERT INTO "Mixed Case"."Tab" SELECT g, 'v' || g FROM generate_series(1, 100) g;
COMMENT ON TABLE "Mixed Case"."Tab" IS 'left out by [exclude-table], quoted';
GRANT SELECT ON "Mixed Case"."Tab" TO PUBLIC;
CREATE VIEW "Mixed Case"."Tab View" AS SELECT id, "Val" FROM "Mixed Case"."Tab";

CREATE FUNCTION "Mixed Case".shout(t text) RETURNS text
    LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';

CREATE TABLE "Mixed Case"."Keep Me" (
    id int PRIMARY KEY,
    "Val" text,
    tab_id int REFERENCES "Mixed Case"."Tab" (id)
);
INSERT INTO "Mixed Case"."Keep Me" SELECT g, 'keep ' || g, 1 + g % 100 FROM generate_series(1, 500) g;

-- a table named: tab (lower case) -- must not be mistaken for "Tab"
CREATE TABLE "Mixed Case".tab (
    id int PRIMARY KEY
);
INSERT INTO "Mixed Case".tab SELECT g FROM generate_series(1, 10) g;

CREATE TABLE "Mixed Case"."Data ""Less""" (
    id int PRIMARY KEY,
    v text
);
CREATE INDEX "Data ""Less"" v" ON "Mixed Case"."Data ""Less""" (v);
INSERT INTO "Mixed Case"."Data ""Less""" SELECT g, 'dl' || g FROM generate_series(1, 300) g;
