-- Changes made on the source while `pgshift clone --follow` runs (see
-- follow_schema.sql).  Each statement is its own transaction unless inside
-- BEGIN ... COMMIT; \gexec runs generated statements one by one, so the
-- loops below make hundreds of small transactions.
--
-- psql variable big_rows: rows of the one large transaction (default 1000000).
\set ON_ERROR_STOP 1
\if :{?big_rows}
\else
\set big_rows 1000000
\endif
SET client_min_messages = warning;

-- ------------------------------------------------ inserts with tricky values
INSERT INTO app.items (name, doc, tags, scores, price, note, flag) VALUES
	(E'new\ttab', '{"k": "v\"q", "arr": [1, null, {"x": "y"}], "e": ""}',
	 '{"a b","c\"d",NULL,""}', '{}', NULL, E'line1\nline2\r\nline3', true),
	('null row', NULL, NULL, NULL, NULL, NULL, NULL),
	('unicode é ✓ 日本', '"just a string"', '{}', '{1,2,3}', 0.01, E'back\\slash '' quote', false),
	('spaces   ', '[]', '{" leading"," trailing "}', '{NULL}', -12345.67, '    ', NULL);

-- a DELETE on a narrow table right after a change on a wide one
BEGIN;
INSERT INTO app.items (name, note) VALUES ('wide insert', 'then a narrow delete');
DELETE FROM app."Order Lines" WHERE "order" = 0 AND "Line" = 1;
COMMIT;

-- an INSERT into a narrow table right after a DELETE that carries a wider
-- old row (REPLICA IDENTITY FULL): the INSERT has no old row of its own
BEGIN;
DELETE FROM app.events_nokey
 WHERE ctid = (SELECT ctid FROM app.events_nokey WHERE kind IS NOT NULL LIMIT 1);
INSERT INTO app.narrow VALUES (-100000, 7);
COMMIT;

-- bit strings changed again, one set to NULL, a key changed
UPDATE app.bits SET vb = NULL, b = B'0001' WHERE id = 3;
UPDATE app.bits SET id = 5 WHERE id = 4;
DELETE FROM app.alike WHERE c IS NULL AND a = 3;

-- ------------------------------------------------ updates and deletes with a key
UPDATE app.items SET price = price * 2, doc = doc || '{"updated": true}' WHERE id % 7 = 0;
UPDATE app.items SET note = NULL, tags = NULL, scores = '{}' WHERE id % 11 = 0;
UPDATE app.items SET name = name || E' (renamed\t)' WHERE id BETWEEN 100 AND 120;
UPDATE app.items SET note = E'multi\nline\n\n"and quotes"' WHERE id BETWEEN 121 AND 125;
DELETE FROM app.items WHERE id % 13 = 0;

-- key changes, identity BY DEFAULT with and without explicit values
UPDATE app.accounts SET id = id + 10000 WHERE id <= 20;
INSERT INTO app.accounts (owner) VALUES ('default id 1'), ('default id 2');
INSERT INTO app.accounts (id, owner, balance) VALUES (-1, 'explicit id', -5);
SELECT format('UPDATE app.accounts SET balance = balance + %s WHERE id = %s', g, 21 + g % 400)
  FROM generate_series(1, 400) g \gexec

-- ------------------------------------------------ no key, duplicate rows
INSERT INTO app.events_nokey
SELECT 'dup', 1, 'same payload', '2024-01-01' FROM generate_series(1, 3);
UPDATE app.events_nokey SET n = n + 1 WHERE kind = 'ev3';
DELETE FROM app.events_nokey
 WHERE ctid = (SELECT ctid FROM app.events_nokey WHERE kind = 'dup' LIMIT 1);
UPDATE app.events_nokey SET payload = 'changed dup'
 WHERE ctid = (SELECT ctid FROM app.events_nokey WHERE kind = 'dup' LIMIT 1);
UPDATE app.events_nokey SET payload = E'was\tnull'
 WHERE ctid = (SELECT ctid FROM app.events_nokey WHERE kind IS NULL LIMIT 1);
DELETE FROM app.events_nokey WHERE kind = 'ev5' AND n % 2 = 0;
UPDATE app.events_nokey SET at = NULL WHERE kind = 'ev7';

-- ------------------------------------------------ TOAST: other columns change
UPDATE app.docs SET counter = counter + 1 WHERE id % 2 = 0;
UPDATE app.docs SET label = NULL WHERE id % 5 = 0;
UPDATE app.docs SET body = repeat(md5('new' || id), 300), label = 'rewritten' WHERE id = 3;
UPDATE app.docs SET id = id + 100 WHERE id IN (7, 8);
INSERT INTO app.docs (id, body) SELECT g, repeat(md5(g::text), 400) FROM generate_series(41, 45) g;
DELETE FROM app.docs WHERE id = 1;
SELECT format('UPDATE app.docs SET counter = counter + 1, label = %L WHERE id = %s', 'n' || g, 10 + g % 5)
  FROM generate_series(1, 100) g \gexec

-- ------------------------------------------------ partitions
-- moves rows from q1/q2 to q2/h2
UPDATE app.measures SET logdate = logdate + 100 WHERE id % 10 = 0 AND logdate < '2024-09-01';
UPDATE app.measures SET value = value * 10, note = note || E'\n' WHERE id % 3 = 0;
DELETE FROM app.measures WHERE id % 17 = 0;
INSERT INTO app.measures
SELECT g, '2024-05-05'::date + (g % 50), g, NULL FROM generate_series(3001, 3500) g;
TRUNCATE app.measures_2024q2;
INSERT INTO app.measures
SELECT g, '2024-04-01'::date + (g % 90), -g, 'refilled' FROM generate_series(4001, 4100) g;

-- ------------------------------------------------ transactions
BEGIN;
INSERT INTO app.items (name) VALUES ('rolled back');
UPDATE app.accounts SET balance = 0;
DELETE FROM app.docs;
ROLLBACK;

BEGIN;
INSERT INTO app.items (name) VALUES ('kept before savepoint');
SAVEPOINT s1;
INSERT INTO app.items (name) VALUES ('rolled back to savepoint');
DELETE FROM app.measures;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO app.items (name) VALUES ('kept after savepoint');
UPDATE app.counters SET hits = hits + 1 WHERE name = 'a';
UPDATE app."Order Lines" SET "select" = 'changed' WHERE "Line" = 3;
COMMIT;

-- ------------------------------------------------ truncate
TRUNCATE app.scratch RESTART IDENTITY;
INSERT INTO app.scratch (v) SELECT 'after ' || g FROM generate_series(1, 30) g;
BEGIN;
INSERT INTO app.scratch (v) VALUES ('in txn');
TRUNCATE app.scratch;
INSERT INTO app.scratch (v) VALUES ('after truncate in txn');
COMMIT;

-- ------------------------------------------------ counters (no key)
SELECT format('UPDATE app.counters SET hits = hits + 1 WHERE name = %L', (array['a', 'b', 'c'])[1 + g % 3])
  FROM generate_series(1, 300) g \gexec

-- ------------------------------------------------ one large transaction
INSERT INTO app.narrow SELECT g, g % 1000 FROM generate_series(1001, 1000 + :big_rows) g;

-- ------------------------------------------------ after it
UPDATE app.narrow SET b = -1 WHERE a <= 10;
DELETE FROM app.narrow WHERE a BETWEEN 11 AND 15;
UPDATE app."Order Lines" SET "order" = "order" + 100 WHERE "order" = 5;
DELETE FROM app."Order Lines" WHERE "Line" = 9;
INSERT INTO app.items (name, doc) VALUES ('last one', '{"last": true}');
SELECT nextval('app.ticket_seq') FROM generate_series(1, 10) \g /dev/null
