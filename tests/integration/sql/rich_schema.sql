-- rich_schema.sql: the fixture database for pgshift's clone tests.
--
-- Load with:  psql -X -v ON_ERROR_STOP=1 -d rich -f rich_schema.sql
-- on PostgreSQL 15 with the contrib modules (hstore, citext, pg_trgm,
-- btree_gist).  Needs a superuser (extensions, large objects) and the role
-- app_reader (created here when missing; roles are global, so the tests
-- create it on the target too).
--
-- Data is deterministic (generate_series, md5), about 45 MB in all; the table
-- app.big_log (~35 MB) is meant to be split into several parts.

\set ON_ERROR_STOP 1
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
SET search_path = public;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_reader') THEN
        CREATE ROLE app_reader NOLOGIN;
    END IF;
END
$$;

CREATE EXTENSION hstore;
CREATE EXTENSION citext;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION btree_gist;

CREATE SCHEMA app;
CREATE SCHEMA "Sales Ünïcode";
CREATE SCHEMA audit;
COMMENT ON SCHEMA app IS 'application tables';
COMMENT ON SCHEMA "Sales Ünïcode" IS 'Schéma des ventes — ünïcödé';

---------------------------------------------------------------------------
-- types
---------------------------------------------------------------------------
CREATE TYPE app.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled', 'it''s "odd"');
ALTER TYPE app.order_status ADD VALUE 'refunded' BEFORE 'cancelled';
CREATE DOMAIN app.positive_amount AS numeric(12,2)
    CONSTRAINT positive_amount_check CHECK (VALUE > 0);
CREATE DOMAIN app.email AS citext NOT NULL
    CONSTRAINT email_check CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+$');
CREATE TYPE app.address AS (street text, city text, zip varchar(10));
CREATE TYPE app.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
COMMENT ON TYPE app.order_status IS 'lifecycle of an order';
COMMENT ON DOMAIN app.positive_amount IS 'strictly positive money amount';

---------------------------------------------------------------------------
-- customers: serial, domain over citext, composite, hstore, jsonb,
-- self-referencing FK, deferrable unique constraint, a dropped column
---------------------------------------------------------------------------
CREATE TABLE app.customers (
    id           serial PRIMARY KEY,
    legacy_code  text,
    email        app.email,
    name         text NOT NULL,
    address      app.address,
    tags         hstore,
    profile      jsonb,
    referred_by  integer REFERENCES app.customers (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_email_key UNIQUE (email) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT customers_name_check CHECK (length(name) > 0)
);
ALTER TABLE app.customers DROP COLUMN legacy_code;
COMMENT ON TABLE app.customers IS 'people who buy things';
COMMENT ON COLUMN app.customers.email IS 'unique, case-insensitive';

INSERT INTO app.customers (email, name, address, tags, profile, referred_by, created_at)
SELECT format('user%s@example.%s', i, CASE WHEN i % 3 = 0 THEN 'org' ELSE 'com' END),
       CASE WHEN i % 100 = 0 THEN 'hidden' ELSE 'Customer ' || i END,
       CASE WHEN i % 7 = 0 THEN NULL
            ELSE ROW(i || ' Main St', 'City ' || (i % 50), lpad((i % 99999)::text, 5, '0'))::app.address END,
       CASE WHEN i % 5 = 0 THEN NULL
            ELSE hstore(ARRAY['tier', 'n'], ARRAY[(i % 4)::text, i::text]) END,
       jsonb_build_object('id', i, 'vip', i % 11 = 0, 'scores', jsonb_build_array(i % 10, i % 7),
                          'note', CASE WHEN i % 13 = 0 THEN E'multi\nline "quoted"' END),
       CASE WHEN i > 10 AND i % 4 = 0 THEN i - 10 END,
       timestamptz '2023-01-01 00:00:00+00' + i * interval '37 minutes'
FROM generate_series(1, 3000) AS i;

-- the unique constraint is deferred: a swap inside one transaction works
BEGIN;
UPDATE app.customers SET email = 'swap@example.com' WHERE id = 1;
UPDATE app.customers SET email = 'user1@example.com' WHERE id = 2;
UPDATE app.customers SET email = 'user2@example.com' WHERE id = 1;
COMMIT;

---------------------------------------------------------------------------
-- products: identity (ALWAYS), generated STORED column, arrays, tsvector,
-- trigram GIN index, a BEFORE trigger
---------------------------------------------------------------------------
CREATE TABLE app.products (
    product_id      bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 10) PRIMARY KEY,
    sku             text NOT NULL UNIQUE,
    title           text NOT NULL,
    price           numeric(12,2) NOT NULL CHECK (price >= 0),
    vat_rate        numeric(4,3) NOT NULL DEFAULT 0.200,
    price_with_vat  numeric(14,2) GENERATED ALWAYS AS (round(price * (1 + vat_rate), 2)) STORED,
    dimensions      integer[],
    labels          text[],
    search          tsvector,
    attrs           hstore
);
CREATE INDEX products_title_trgm ON app.products USING gin (title gin_trgm_ops);
CREATE INDEX products_search_idx ON app.products USING gin (search);
CREATE INDEX products_price_partial ON app.products (price) WHERE price > 100;
CREATE INDEX products_lower_title ON app.products (lower(title) text_pattern_ops);

CREATE FUNCTION app.products_search_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := to_tsvector('english', coalesce(NEW.title, '') || ' ' || array_to_string(NEW.labels, ' '));
    RETURN NEW;
END
$$;
CREATE TRIGGER products_search_trg BEFORE INSERT OR UPDATE OF title, labels ON app.products
    FOR EACH ROW EXECUTE FUNCTION app.products_search_update();

INSERT INTO app.products (sku, title, price, vat_rate, dimensions, labels, attrs)
SELECT 'SKU-' || lpad(i::text, 6, '0'),
       (ARRAY['Red', 'Green', 'Blue', 'Black', 'Ünïcode'])[1 + i % 5] || ' ' ||
       (ARRAY['chair', 'table', 'lamp', 'sofa', 'shelf', 'desk'])[1 + i % 6] || ' model ' || i,
       round((i * 3.17)::numeric % 500, 2),
       CASE WHEN i % 10 = 0 THEN 0.055 ELSE 0.200 END,
       ARRAY[i % 100, i % 37, i % 11],
       CASE WHEN i % 9 = 0 THEN '{}'::text[] ELSE ARRAY['label' || (i % 4), 'with space', 'comma,inside'] END,
       hstore('color', (ARRAY['red', 'green', NULL])[1 + i % 3])
FROM generate_series(1, 800) AS i;

---------------------------------------------------------------------------
-- orders: RANGE partitioned, a LIST sub-partitioned partition, DEFAULT
-- partitions, FK to another schema with ON DELETE CASCADE, enum + domain
---------------------------------------------------------------------------
CREATE TABLE "Sales Ünïcode".orders (
    order_id     bigint NOT NULL,
    customer_id  integer NOT NULL REFERENCES app.customers (id) ON DELETE CASCADE,
    ordered_at   date NOT NULL,
    region       text NOT NULL,
    status       app.order_status NOT NULL DEFAULT 'new',
    total        app.positive_amount,
    PRIMARY KEY (order_id, ordered_at, region)
) PARTITION BY RANGE (ordered_at);
CREATE TABLE "Sales Ünïcode".orders_2023 PARTITION OF "Sales Ünïcode".orders
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE "Sales Ünïcode".orders_2024 PARTITION OF "Sales Ünïcode".orders
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
CREATE TABLE "Sales Ünïcode".orders_2024_eu PARTITION OF "Sales Ünïcode".orders_2024
    FOR VALUES IN ('eu');
CREATE TABLE "Sales Ünïcode".orders_2024_america PARTITION OF "Sales Ünïcode".orders_2024
    FOR VALUES IN ('us', 'ca', 'mx');
CREATE TABLE "Sales Ünïcode".orders_2024_rest PARTITION OF "Sales Ünïcode".orders_2024 DEFAULT;
CREATE TABLE "Sales Ünïcode".orders_default PARTITION OF "Sales Ünïcode".orders DEFAULT;
CREATE INDEX orders_customer_idx ON "Sales Ünïcode".orders (customer_id);
CREATE INDEX orders_status_idx ON "Sales Ünïcode".orders (status) WHERE status <> 'shipped';
COMMENT ON TABLE "Sales Ünïcode".orders IS 'orders, partitioned by date then region';

INSERT INTO "Sales Ünïcode".orders (order_id, customer_id, ordered_at, region, status, total)
SELECT i,
       1 + (i * 7) % 3000,
       date '2022-11-01' + (i % 900),
       (ARRAY['eu', 'us', 'ca', 'mx', 'apac', 'africa'])[1 + i % 6],
       (ARRAY['new', 'paid', 'shipped', 'cancelled', 'refunded', 'it''s "odd"']::app.order_status[])[1 + i % 6],
       CASE WHEN i % 17 = 0 THEN NULL ELSE round((10 + (i * 13) % 990)::numeric + 0.99, 2) END
FROM generate_series(1, 6000) AS i;

---------------------------------------------------------------------------
-- "Order Lines": quoted mixed-case / non-ASCII names, bigserial, composite
-- FK to the partitioned table (ON DELETE CASCADE)
---------------------------------------------------------------------------
CREATE TABLE "Sales Ünïcode"."Order Lines" (
    "Line ID"    bigserial PRIMARY KEY,
    order_id     bigint NOT NULL,
    ordered_at   date NOT NULL,
    region       text NOT NULL,
    product_id   bigint NOT NULL REFERENCES app.products (product_id),
    "Größe"      text COLLATE "C",
    "Qty"        integer NOT NULL CHECK ("Qty" > 0),
    unit_price   numeric(12,2),
    FOREIGN KEY (order_id, ordered_at, region)
        REFERENCES "Sales Ünïcode".orders (order_id, ordered_at, region) ON DELETE CASCADE
);
CREATE INDEX "Order Lines_Größe_idx" ON "Sales Ünïcode"."Order Lines" ("Größe");
CREATE INDEX "order lines by order" ON "Sales Ünïcode"."Order Lines" (order_id, ordered_at, region);
COMMENT ON COLUMN "Sales Ünïcode"."Order Lines"."Größe" IS 'Größe (size): S, M, L, XL — or NULL';

INSERT INTO "Sales Ünïcode"."Order Lines" (order_id, ordered_at, region, product_id, "Größe", "Qty", unit_price)
SELECT o.order_id, o.ordered_at, o.region,
       1000 + 10 * ((o.order_id * n) % 800),
       (ARRAY['S', 'M', 'L', 'XL', 'Übergröße', NULL])[1 + (o.order_id + n) % 6],
       1 + (o.order_id + n) % 5,
       round(((o.order_id * n) % 300)::numeric + 0.5, 2)
FROM "Sales Ünïcode".orders o, generate_series(1, 3) AS n;

---------------------------------------------------------------------------
-- reserved words as names
---------------------------------------------------------------------------
CREATE TABLE public."select" (
    "from"   integer PRIMARY KEY,
    "to"     text,
    "Group"  text,
    "user"   text DEFAULT current_user,
    "order"  integer UNIQUE
);
INSERT INTO public."select" ("from", "to", "Group", "order")
SELECT i, 'to ' || i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, 1000 - i
FROM generate_series(1, 300) AS i;
COMMENT ON TABLE public."select" IS 'a table named with a reserved word';
COMMENT ON COLUMN public."select"."from" IS 'column named with a reserved word';

---------------------------------------------------------------------------
-- table inheritance: parent + 2 children, rows in each
---------------------------------------------------------------------------
CREATE TABLE app.events (
    id           bigint PRIMARY KEY,
    happened_at  timestamptz NOT NULL,
    payload      json,
    CONSTRAINT events_id_check CHECK (id > 0)
);
CREATE TABLE app.events_click (url text NOT NULL, PRIMARY KEY (id)) INHERITS (app.events);
CREATE TABLE app.events_view (duration interval, PRIMARY KEY (id)) INHERITS (app.events);
INSERT INTO app.events SELECT i, timestamptz '2024-03-01 12:00+00' + i * interval '1 second',
       json_build_object('kind', 'generic', 'i', i)
FROM generate_series(1, 1000) AS i;
INSERT INTO app.events_click SELECT i, timestamptz '2024-03-02 12:00+00' + i * interval '1 second',
       '{"kind": "click"}', 'https://example.com/p/' || i
FROM generate_series(1001, 2500) AS i;
INSERT INTO app.events_view SELECT i, timestamptz '2024-03-03 12:00+00' + i * interval '1 second',
       NULL, (i % 300) * interval '1 second'
FROM generate_series(2501, 3500) AS i;

---------------------------------------------------------------------------
-- unlogged table
---------------------------------------------------------------------------
CREATE UNLOGGED TABLE app.session_cache (
    key      text PRIMARY KEY,
    value    bytea,
    expires  tstzrange
);
INSERT INTO app.session_cache
SELECT 'session-' || i, decode(md5(i::text), 'hex'),
       tstzrange(timestamptz '2024-01-01 00:00+00' + i * interval '1 hour',
                 timestamptz '2024-01-01 00:00+00' + (i + 2) * interval '1 hour')
FROM generate_series(1, 500) AS i;

---------------------------------------------------------------------------
-- every common type, NULLs, awkward text, values over 1 MB
---------------------------------------------------------------------------
CREATE TABLE app.all_types (
    id         integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    n          numeric,
    n_fixed    numeric(20,6),
    i2         smallint,
    i8         bigint,
    f4         real,
    f8         double precision,
    m          money,
    b          boolean,
    c          char(5),
    vc         varchar(40),
    t          text,
    by         bytea,
    ia         integer[],
    ta         text[],
    ta2        text[][],
    j          json,
    jb         jsonb,
    x          xml,
    u          uuid,
    ip         inet,
    net        cidr,
    mac        macaddr,
    r4         int4range,
    rts        tstzrange,
    nr         numrange,
    fr         app.floatrange,
    mr         int4multirange,
    iv         interval,
    d          date,
    tm         time,
    tmtz       timetz,
    ts         timestamp,
    tstz       timestamptz,
    tsv        tsvector,
    tsq        tsquery,
    st         app.order_status,
    amt        app.positive_amount,
    addr       app.address,
    addrs      app.address[],
    bits       bit varying(16),
    pt         point,
    bx         box,
    hs         hstore,
    ci         citext,
    o          oid
);
COMMENT ON TABLE app.all_types IS E'one column per type;\nincluding awkward values';

INSERT INTO app.all_types (n, n_fixed, i2, i8, f4, f8, m, b, c, vc, t, by, ia, ta, ta2, j, jb, x, u,
                           ip, net, mac, r4, rts, nr, fr, mr, iv, d, tm, tmtz, ts, tstz, tsv, tsq,
                           st, amt, addr, addrs, bits, pt, bx, hs, ci, o)
SELECT i * 1.000001 / 7,
       round(i * 1.5, 6),
       (i % 32000)::smallint,
       i::bigint * 1000000007,
       (i / 3.0)::real,
       i / 7.0::float8,
       (i * 1.25)::numeric::money,
       CASE i % 3 WHEN 0 THEN true WHEN 1 THEN false END,
       lpad((i % 1000)::text, 5, 'x'),
       'varchar ' || i,
       CASE i % 6
         WHEN 0 THEN E'tab\there'
         WHEN 1 THEN E'newline\nhere\r\nand CRLF'
         WHEN 2 THEN E'back\\slash \\N \\. |pipe| "dq" ''sq'''
         WHEN 3 THEN ''
         WHEN 4 THEN NULL
         ELSE 'plain text ' || i || ' Ünïcødé ✓ 日本語 🚀'
       END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE decode(md5(i::text) || '00ff5c0a0d', 'hex') END,
       ARRAY[i, i + 1, NULL, -i],
       ARRAY['a', NULL, 'with,comma', 'with "quote"', E'back\\slash', '', 'NULL'],
       ARRAY[ARRAY['x' || i, 'y'], ARRAY['z', NULL]],
       json_build_object('i', i, 'nested', json_build_object('arr', json_build_array(1, 2.5, 'three', NULL)),
                         'dup', 1, 'dup', 2),
       jsonb_build_object('i', i, 'tab', E'a\tb', 'uni', 'ü', 'big', 12345678901234567890::numeric),
       xmlparse(content '<item id="' || i || '">text &amp; more<sub/></item>'),
       md5('uuid' || i)::uuid,
       ('10.' || (i % 256) || '.' || (i / 256 % 256) || '.1')::inet,
       ('192.168.' || (i % 256) || '.0/24')::cidr,
       ('08:00:2b:01:02:' || lpad(to_hex(i % 256), 2, '0'))::macaddr,
       int4range(i, i + 10),
       tstzrange(timestamptz '2024-01-01 00:00+00' + i * interval '1 day', NULL),
       numrange(i / 3.0, i / 2.0 + 1, '[]'),
       app.floatrange(i / 10.0, i / 5.0 + 1),
       int4multirange(int4range(i, i + 2), int4range(i + 5, i + 9)),
       make_interval(0, i % 13, 0, i % 40, i % 24, i % 60, i / 1000.0),
       date '2000-01-01' + i,
       time '00:00' + i * interval '17 seconds',
       '12:34:56+02'::timetz,
       timestamp '2020-02-29 23:59:59.123456' + i * interval '1 minute',
       timestamptz '2020-02-29 23:59:59.123456+00' + i * interval '1 hour',
       to_tsvector('english', 'The quick brown fox ' || i || ' jumps'),
       to_tsquery('english', 'quick & fox'),
       (ARRAY['new', 'paid', 'shipped', 'cancelled', 'refunded', 'it''s "odd"']::app.order_status[])[1 + i % 6],
       CASE WHEN i % 5 = 0 THEN NULL ELSE (i + 0.01)::app.positive_amount END,
       ROW('Street "' || i || '"', E'City\twith tab', NULL)::app.address,
       ARRAY[ROW('a', 'b', 'c')::app.address, NULL],
       (i % 65536)::bit(16)::varbit,
       point(i, -i),
       box(point(0, 0), point(i, i)),
       hstore(ARRAY['k', 'empty', 'null'], ARRAY['v' || i, '', NULL]),
       'MiXeD CaSe ' || i,
       i::oid
FROM generate_series(1, 2000) AS i;

-- special values
INSERT INTO app.all_types (n, f4, f8, t, by, d, ts, tstz, iv, j, jb, ia)
VALUES ('NaN', 'NaN', 'Infinity', 'special 1', '\x', 'infinity', '-infinity', 'infinity',
        '-178000000 years', 'null', '[]', '{}'),
       ('Infinity', '-Infinity', '-0', 'special 2', '\x00', '-infinity', 'infinity', '-infinity',
        '1 year 2 mons 3 days 04:05:06.789', '"just a string"', '{"a": {}}', '{NULL}'),
       (-1.23e-40, 1e-38, 1e-308, E'\\.', '\x5c2e0a', '0001-01-01 BC', '4713-01-01 BC',
        '2000-01-01 00:00:00+14', '0', '{}', 'null', NULL),
       ('123456789012345678901234567890.123456789012345678901234567890', 3.4028235e38,
        1.7976931348623157e308, E'\\', '\x5c', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- values over 1 MB (text, bytea, jsonb): not very compressible
INSERT INTO app.all_types (id, t, by, jb, vc)
SELECT 100000 + k,
       (SELECT string_agg(md5(k::text || g::text), E'\n') FROM generate_series(1, 40000) AS g),
       (SELECT decode(string_agg(md5(g::text || k::text), ''), 'hex') FROM generate_series(1, 80000) AS g),
       (SELECT jsonb_agg(md5(g::text)) FROM generate_series(1, 35000) AS g),
       'large ' || k
FROM generate_series(1, 3) AS k;

-- a table without a primary key, with duplicate rows
CREATE TABLE app.no_pk (a integer, b text);
INSERT INTO app.no_pk SELECT i % 100, 'dup ' || (i % 100) FROM generate_series(1, 1000) AS i;
INSERT INTO app.no_pk VALUES (NULL, NULL), (NULL, NULL);

---------------------------------------------------------------------------
-- exclusion constraint (btree_gist for the = on integer)
---------------------------------------------------------------------------
CREATE TABLE app.reservations (
    id      serial PRIMARY KEY,
    room    integer NOT NULL,
    during  tstzrange NOT NULL,
    note    citext,
    CONSTRAINT reservations_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)
);
CREATE TABLE app.room_slots (
    slot    int4range NOT NULL,
    EXCLUDE USING gist (slot WITH &&)
);
INSERT INTO app.reservations (room, during, note)
SELECT i % 20,
       tstzrange(timestamptz '2024-05-01 00:00+00' + (i / 20) * interval '2 hours',
                 timestamptz '2024-05-01 00:00+00' + (i / 20) * interval '2 hours' + interval '90 minutes'),
       CASE WHEN i % 3 = 0 THEN 'VIP' ELSE 'regular' END
FROM generate_series(0, 1999) AS i;
INSERT INTO app.room_slots SELECT int4range(i * 10, i * 10 + 5) FROM generate_series(1, 200) AS i;

---------------------------------------------------------------------------
-- big table, ~35 MB, to be split in parts
---------------------------------------------------------------------------
CREATE TABLE app.big_log (
    id          bigint PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    level       smallint NOT NULL,
    message     text NOT NULL
);
INSERT INTO app.big_log
SELECT i,
       timestamptz '2024-01-01 00:00+00' + i * interval '150 milliseconds',
       (i % 5)::smallint,
       rpad(md5(i::text) || ' log line ' || i || ' ', 130, md5((i * 31)::text))
FROM generate_series(1, 200000) AS i;
CREATE INDEX big_log_created_at_idx ON app.big_log (created_at);

---------------------------------------------------------------------------
-- audit trail, filled by an AFTER trigger (so a clone that fires triggers
-- while copying data shows up as extra rows)
---------------------------------------------------------------------------
CREATE TABLE audit.changes (
    id          bigserial PRIMARY KEY,
    table_name  text NOT NULL,
    op          text NOT NULL,
    row_data    jsonb
);
CREATE FUNCTION audit.log_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO audit.changes (table_name, op, row_data)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP,
            to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END));
    RETURN NULL;
END
$$;
CREATE TRIGGER select_audit AFTER INSERT OR UPDATE OR DELETE ON public."select"
    FOR EACH ROW EXECUTE FUNCTION audit.log_change();
CREATE TRIGGER orders_audit AFTER DELETE ON "Sales Ünïcode".orders
    FOR EACH ROW EXECUTE FUNCTION audit.log_change();
CREATE TRIGGER customers_truncate_audit AFTER TRUNCATE ON app.customers
    FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change();
CREATE TRIGGER events_disabled_audit AFTER INSERT ON app.events
    FOR EACH ROW EXECUTE FUNCTION audit.log_change();
ALTER TABLE app.events DISABLE TRIGGER events_disabled_audit;

UPDATE public."select" SET "to" = "to" || ' (updated)' WHERE "from" <= 10;
DELETE FROM public."select" WHERE "from" > 290;
DELETE FROM "Sales Ünïcode".orders WHERE order_id IN (5, 6, 7);  -- cascades to lines

---------------------------------------------------------------------------
-- functions (sql, plpgsql, procedure, aggregate), views, matviews
---------------------------------------------------------------------------
CREATE FUNCTION app.order_total(p_order_id bigint) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sum("Qty" * unit_price) FROM "Sales Ünïcode"."Order Lines" WHERE order_id = p_order_id
$$;
CREATE FUNCTION "Sales Ünïcode"."Größe normalisieren"(s text, OUT normalized text, OUT known boolean)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    normalized := upper(trim(s));
    known := normalized IN ('S', 'M', 'L', 'XL');
END
$$;
CREATE FUNCTION app.customer_count(min_id integer DEFAULT 0) RETURNS bigint
LANGUAGE sql STABLE AS 'SELECT count(*) FROM app.customers WHERE id > min_id';
CREATE PROCEDURE app.archive_orders(before date)
LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'would archive orders before %', before;
END
$$;
CREATE FUNCTION app.concat_sfunc(state text, val text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN state IS NULL THEN val ELSE state || ',' || val END $$;
CREATE AGGREGATE app.concat_agg(text) (SFUNC = app.concat_sfunc, STYPE = text);
COMMENT ON FUNCTION app.order_total(bigint) IS 'sum of the lines of an order';
COMMENT ON PROCEDURE app.archive_orders(date) IS 'no-op';

CREATE VIEW app.customer_order_totals AS
SELECT c.id, c.name, count(o.order_id) AS orders, sum(o.total) AS total
  FROM app.customers c
  LEFT JOIN "Sales Ünïcode".orders o ON o.customer_id = c.id
 GROUP BY c.id, c.name;
CREATE VIEW public."select view" WITH (security_barrier) AS
SELECT "from", "to" FROM public."select" WHERE "Group" = 'even'
WITH CASCADED CHECK OPTION;
COMMENT ON VIEW app.customer_order_totals IS 'orders per customer';

CREATE MATERIALIZED VIEW app.monthly_sales AS
SELECT date_trunc('month', ordered_at)::date AS month, region, count(*) AS n, sum(total) AS total
  FROM "Sales Ünïcode".orders
 GROUP BY 1, 2
WITH DATA;
CREATE UNIQUE INDEX monthly_sales_key ON app.monthly_sales (month, region);
COMMENT ON MATERIALIZED VIEW app.monthly_sales IS 'refreshed nightly';
CREATE MATERIALIZED VIEW app.not_populated AS SELECT id, name FROM app.customers WITH NO DATA;

---------------------------------------------------------------------------
-- row level security
---------------------------------------------------------------------------
ALTER TABLE app.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_reader ON app.customers FOR SELECT TO app_reader
    USING (name <> 'hidden');
CREATE POLICY customers_owner_all ON app.customers AS PERMISSIVE FOR ALL TO PUBLIC
    USING (current_user = 'nobody') WITH CHECK (true);
ALTER TABLE app.reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.reservations FORCE ROW LEVEL SECURITY;
CREATE POLICY reservations_vip ON app.reservations AS RESTRICTIVE FOR SELECT
    USING (note <> 'secret');

---------------------------------------------------------------------------
-- sequences: is_called true and false, cycle, never used
---------------------------------------------------------------------------
CREATE SEQUENCE app.invoice_no START 1000 INCREMENT 5;
CREATE SEQUENCE app.ticket_seq;
CREATE SEQUENCE app.cyclic_seq AS smallint MINVALUE -10 MAXVALUE 10 START 0 INCREMENT -3 CYCLE CACHE 1;
DO $$
BEGIN
    PERFORM setval('app.invoice_no', 1500, false);   -- is_called = false
    PERFORM setval('app.ticket_seq', 42, true);      -- is_called = true
    FOR i IN 1 .. 9 LOOP                             -- wraps around once
        PERFORM nextval('app.cyclic_seq');
    END LOOP;
END
$$;
CREATE SEQUENCE "Sales Ünïcode"."Unused Seq";
CREATE TABLE app.tickets (
    id     integer PRIMARY KEY DEFAULT nextval('app.ticket_seq'),
    title  text
);
ALTER SEQUENCE app.ticket_seq OWNED BY app.tickets.id;
INSERT INTO app.tickets (title) SELECT 'ticket ' || i FROM generate_series(1, 10) AS i;
COMMENT ON SEQUENCE app.invoice_no IS 'next invoice number (not called yet)';

---------------------------------------------------------------------------
-- large objects: a few, one larger than 1 MB, one empty
---------------------------------------------------------------------------
CREATE TABLE app.documents (
    id       serial PRIMARY KEY,
    name     text NOT NULL,
    content  oid
);
INSERT INTO app.documents (name, content)
VALUES ('hello.txt', lo_from_bytea(0, convert_to(E'Hello, large object!\n', 'UTF8'))),
       ('empty.bin', lo_from_bytea(0, ''::bytea)),
       ('binary.bin', lo_from_bytea(0, '\x00010203ff5c0a0d00'::bytea)),
       ('big.bin', lo_from_bytea(0, (SELECT decode(string_agg(md5('lo' || g), ''), 'hex')
                                       FROM generate_series(1, 90000) AS g))),
       ('unicode.txt', lo_from_bytea(0, convert_to('Ünïcode — 日本語', 'UTF8')));
DO $$
DECLARE
    lo oid;
BEGIN
    SELECT content INTO lo FROM app.documents WHERE name = 'hello.txt';
    EXECUTE format('COMMENT ON LARGE OBJECT %s IS %L', lo, 'greeting');
    EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO app_reader', lo);
END
$$;

---------------------------------------------------------------------------
-- grants
---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA app, "Sales Ünïcode" TO app_reader;
GRANT SELECT ON app.customers, app.customer_order_totals, app.monthly_sales TO app_reader;
GRANT SELECT, INSERT, UPDATE ON public."select" TO app_reader;
GRANT SELECT ("Line ID", "Größe") ON "Sales Ünïcode"."Order Lines" TO app_reader;
GRANT USAGE, SELECT ON SEQUENCE app.ticket_seq TO app_reader;
REVOKE EXECUTE ON FUNCTION app.customer_count(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.customer_count(integer) TO app_reader;
REVOKE ALL ON TABLE app.all_types FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO app_reader;
GRANT USAGE ON TYPE app.order_status TO app_reader;

---------------------------------------------------------------------------
-- statistics, so the clone starts from realistic catalog estimates
---------------------------------------------------------------------------
ANALYZE;
