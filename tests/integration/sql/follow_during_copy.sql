-- Row changes made on the source while `clone --follow` is still copying
-- (t/040_follow.pl).  Row-level locks only: no TRUNCATE nor anything else
-- that asks for an ACCESS EXCLUSIVE lock (see the note in t/040_follow.pl).
-- Each statement is its own transaction; \gexec makes many small ones.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

INSERT INTO app.items (name, doc, tags, note)
SELECT 'during copy ' || g, jsonb_build_object('during', g), array['c' || g], E'copy\t' || g
  FROM generate_series(1, 200) g;
UPDATE app.items SET flag = NOT coalesce(flag, false), price = coalesce(price, 0) + 1
 WHERE id % 17 = 0;
DELETE FROM app.items WHERE id % 19 = 0;

SELECT format('UPDATE app.accounts SET balance = balance - %s WHERE id = %s', g, 100 + g)
  FROM generate_series(1, 200) g \gexec

INSERT INTO app.events_nokey
SELECT 'copy', g % 3, 'during', NULL FROM generate_series(1, 20) g;
DELETE FROM app.events_nokey
 WHERE ctid = (SELECT ctid FROM app.events_nokey WHERE kind = 'copy' AND n = 1 LIMIT 1);

UPDATE app.docs SET counter = counter + 100 WHERE id % 3 = 0;
UPDATE app.measures SET value = -value WHERE id % 29 = 0;
UPDATE app.measures SET logdate = logdate + 120 WHERE id % 31 = 0 AND logdate < '2024-08-01';
INSERT INTO app.narrow SELECT -g, g FROM generate_series(1, 5000) g;
DELETE FROM app.alike WHERE b IS NULL;
UPDATE app.bits SET b = B'1111', vb = vb || B'01' WHERE id = 1;
INSERT INTO app.bits VALUES (4, B'0101', B'10101010');
DELETE FROM app.bits WHERE id = 2;
UPDATE app.counters SET hits = hits + 1000 WHERE name = 'b';
INSERT INTO app."Order Lines" VALUES (1000, 1, E'during\ncopy');
INSERT INTO app.scratch (v) VALUES ('during copy');
SELECT nextval('app.ticket_seq') \g /dev/null
