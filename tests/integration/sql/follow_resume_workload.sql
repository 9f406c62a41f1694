-- The backlog of t/041_follow_resume.pl: thousands of one-row transactions
-- (\gexec runs each generated statement as its own transaction) and a few
-- larger ones, on the tables of follow_resume.sql.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- the source's own durability does not matter here: produce faster
SET synchronous_commit = off;

SELECT format('INSERT INTO app.kv (id, v) VALUES (%s, %L)', g, 'new ' || g)
  FROM generate_series(1001, 3000) g \gexec

SELECT format('UPDATE app.tally SET hits = hits + 1 WHERE name = %L', (array['a', 'b', 'c', 'd'])[1 + g % 4])
  FROM generate_series(1, 2000) g \gexec

INSERT INTO app.log (batch, payload) SELECT 1, repeat('x', g % 50) FROM generate_series(1, 100000) g;

SELECT format('UPDATE app.kv SET n = n + 1, v = v || %L WHERE id = %s', '.', 1 + g % 2500)
  FROM generate_series(1, 2000) g \gexec

BEGIN;
UPDATE app.tally SET hits = hits * 2;
INSERT INTO app.log (batch, payload) SELECT 2, 'txn ' || g FROM generate_series(1, 5000) g;
DELETE FROM app.kv WHERE id % 10 = 0;
COMMIT;

SELECT format('DELETE FROM app.log WHERE id = %s', g) FROM generate_series(1, 1000) g \gexec

SELECT format('UPDATE app.tally SET hits = hits + 1 WHERE name = %L', (array['a', 'b', 'c', 'd'])[1 + g % 4])
  FROM generate_series(1, 1000) g \gexec
