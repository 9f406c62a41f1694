-- Tables for t/041_follow_resume.pl: a key (a transaction applied twice
-- fails on the duplicate), counters without key incremented by UPDATE
-- (applied twice, they would differ), a log with a bigserial key.
SET client_min_messages = warning;
CREATE SCHEMA app;

CREATE TABLE app.kv (
	id int PRIMARY KEY,
	v text NOT NULL,
	n int NOT NULL DEFAULT 0
);

CREATE TABLE app.tally (
	name text,
	hits bigint NOT NULL
);
ALTER TABLE app.tally REPLICA IDENTITY FULL;

CREATE TABLE app.log (
	id bigserial PRIMARY KEY,
	batch int NOT NULL,
	payload text
);

INSERT INTO app.kv SELECT g, 'initial ' || g, 0 FROM generate_series(1, 1000) g;
-- duplicates on purpose: each UPDATE changes both rows of a name
INSERT INTO app.tally VALUES ('a', 0), ('b', 0), ('c', 0), ('a', 0), ('d', 0);
INSERT INTO app.log (batch, payload) SELECT 0, 'initial ' || g FROM generate_series(1, 100) g;
