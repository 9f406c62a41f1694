# pgshift compare schema / compare data.
#
# The same schema and rows are made on both nodes (the same SQL run on each;
# the target's row placement is then shuffled, and its session defaults
# differ: time zone, DateStyle, IntervalStyle, extra_float_digits,
# bytea_output), so both commands must report equal and exit 0.  Then one
# deliberate difference at a time is made on the target, and each must be
# found: exit 8 (EXIT_DIFFERENT) and the object named in the --json report,
# and in the human report.  Also: split tables narrowed to a part (primary
# key ranges, text and integer keys; ctid ranges without a key), --show-rows,
# --snapshot, unreachable servers (exit 2 / 3), a bad snapshot (exit 6).
use strict;
use warnings;

use JSON::PP ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my $FIXTURE = <<'EOF';
SET client_min_messages = warning;
CREATE EXTENSION cube;
CREATE EXTENSION fuzzystrmatch;
CREATE SCHEMA app;
CREATE SCHEMA "Sales Ünïcode";
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE SEQUENCE app.invoice_no START 1000 INCREMENT 5;
SELECT setval('app.invoice_no', 1500, false);

CREATE TABLE app.big (
    id  bigint PRIMARY KEY,
    v   text NOT NULL,
    n   numeric,
    f   double precision,
    ts  timestamptz,
    iv  interval,
    by  bytea,
    m   app.mood
);
INSERT INTO app.big
SELECT i, md5(i::text) || repeat('x', 40), i / 7.0, i / 3.0::float8,
       timestamptz '2024-01-01 00:00+00' + i * interval '1 minute',
       make_interval(0, 0, 0, i % 9, i % 24, i % 60, i / 1000.0),
       decode(md5(i::text), 'hex'),
       (ARRAY['sad', 'ok', 'happy']::app.mood[])[1 + i % 3]
FROM generate_series(1, 20000) AS i;

CREATE TABLE "Sales Ünïcode"."Order Lines" (
    "Line ID"  text PRIMARY KEY,
    "Größe"    text COLLATE "C",
    qty        integer NOT NULL CHECK (qty > 0),
    price      money,
    note       jsonb
);
INSERT INTO "Sales Ünïcode"."Order Lines"
SELECT CASE WHEN i % 2 = 0 THEN 'line-' ELSE 'Line_' END || i,
       (ARRAY['S', 'M', 'L', 'Übergröße', NULL])[1 + i % 5],
       1 + i % 7, (i * 1.25)::numeric::money,
       jsonb_build_object('i', i, 'tab', E'a\tb', 'uni', 'ü')
FROM generate_series(1, 3000) AS i;

CREATE TABLE app.nopk (a integer, b text);
INSERT INTO app.nopk SELECT i % 100, repeat('dup ', 20) || (i % 100) FROM generate_series(1, 10000) AS i;
INSERT INTO app.nopk VALUES (NULL, NULL), (NULL, NULL);

CREATE TABLE app.small (
    id       serial PRIMARY KEY,
    title    text DEFAULT 'untitled',
    amount   numeric(10,2) CONSTRAINT small_amount_check CHECK (amount >= 0),
    created  date,
    tags     text[],
    CONSTRAINT small_title_key UNIQUE (title)
);
INSERT INTO app.small (title, amount, created, tags)
SELECT 'title ' || i, i * 1.5, date '2024-01-01' + i, ARRAY['a', NULL, 'x,y"z']
FROM generate_series(1, 300) AS i;
CREATE INDEX small_created_idx ON app.small (created);

CREATE TABLE app.audit (id bigserial PRIMARY KEY, what text);
CREATE FUNCTION app.log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO app.audit (what) VALUES (TG_OP);
    RETURN NULL;
END
$$;
CREATE TRIGGER small_audit AFTER INSERT OR UPDATE OR DELETE ON app.small
    FOR EACH ROW EXECUTE FUNCTION app.log_change();
CREATE FUNCTION app.total(min_id integer DEFAULT 0) RETURNS numeric
    LANGUAGE sql STABLE AS 'SELECT sum(amount) FROM app.small WHERE id > min_id';
CREATE AGGREGATE app.concat_agg(text) (SFUNC = textcat, STYPE = text, INITCOND = '');
CREATE VIEW app.small_view AS SELECT id, title FROM app.small WHERE amount > 10;
CREATE MATERIALIZED VIEW app.mv AS SELECT m, count(*) AS n FROM app.big GROUP BY m;

CREATE TABLE app.parted (id integer, region text, v integer, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE app.parted_eu PARTITION OF app.parted FOR VALUES IN ('eu');
CREATE TABLE app.parted_us PARTITION OF app.parted FOR VALUES IN ('us');
INSERT INTO app.parted SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i
FROM generate_series(1, 1000) AS i;

CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v bytea, r tstzrange);
INSERT INTO app.cache SELECT 'k' || i, decode(md5(i::text), 'hex'),
       tstzrange(timestamptz '2024-01-01 00:00+00' + i * interval '1 hour', NULL)
FROM generate_series(1, 200) AS i;

CREATE TABLE app.empty (id integer PRIMARY KEY);
ANALYZE;
EOF

# The target prints values differently by default: compare must not care.
my ($source, $target) = start_pair(
	target_conf => join("\n",
		"timezone = 'Asia/Tokyo'",
		"datestyle = 'German, DMY'",
		"intervalstyle = 'sql_standard'",
		"extra_float_digits = 0",
		"bytea_output = 'escape'"));
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1);
	psql_do($node, 'postgres', 'CREATE DATABASE cmp');
	psql_do($node, 'cmp', $FIXTURE);
}
# move a third of the rows on the target: same rows, other places
psql_do($target, 'cmp', 'UPDATE app.big SET v = v WHERE id % 3 = 0');
psql_do($target, 'cmp', 'UPDATE app.nopk SET a = a WHERE a % 2 = 0');
psql_do($target, 'cmp', 'VACUUM app.big, app.nopk');

isnt(query_value($source, 'cmp', 'SELECT ctid FROM app.big WHERE id = 3'),
	query_value($target, 'cmp', 'SELECT ctid FROM app.big WHERE id = 3'),
	'row placement differs between the servers');
is(query_value($target, 'cmp', 'SHOW TimeZone'), 'Asia/Tokyo', 'the target has other defaults');

my $S = uri($source, 'cmp');
my $T = uri($target, 'cmp');
my @SPLIT = ('--split-tables-larger-than', '64kB', '--table-jobs', '2', '--split-max-parts', '4');

sub tail_text
{
	my ($s) = @_;
	my @l = split /\n/, $s // '';
	@l = @l[ -40 .. -1 ] if @l > 40;
	return join("\n", @l);
}

# run "pgshift compare <what> ..." against the two nodes
sub compare
{
	my ($what, @extra) = @_;
	return run_pgshift('compare', $what, '--source', $S, '--target', $T, @extra);
}

# same with --json: returns ($rc, $doc, $stderr); $doc is {} when not JSON
sub compare_json
{
	my ($what, @extra) = @_;
	my ($rc, $out, $err) = compare($what, '--json', @extra);
	my $doc = eval { JSON::PP->new->utf8->decode($out) };
	ok(ref $doc eq 'HASH', "compare $what --json prints a JSON document")
	  or diag("stdout:\n" . tail_text($out) . "\nstderr:\n" . tail_text($err));
	return ($rc, $doc // {}, $err);
}

sub on_target
{
	my ($sql) = @_;
	psql_do($target, 'cmp', "SET session_replication_role = replica;\n$sql");
}

sub on_source
{
	my ($sql) = @_;
	psql_do($source, 'cmp', "SET session_replication_role = replica;\n$sql");
}

sub table_entry
{
	my ($doc, $schema, $name) = @_;
	my @t = grep { $_->{schema} eq $schema && $_->{name} eq $name } @{ $doc->{tables} // [] };
	return $t[0] // {};
}

# "schema.name" of every table whose result is not "equal"
sub unequal_tables
{
	my ($doc) = @_;
	return [ sort map { "$_->{schema}.$_->{name}" }
		  grep { $_->{result} ne 'equal' } @{ $doc->{tables} // [] } ];
}

# [kind, name, difference, attribute names...] of each schema difference
sub schema_diffs
{
	my ($doc) = @_;
	return [
		map {
			[ $_->{kind}, $_->{name}, $_->{difference},
				map { $_->{attribute} } @{ $_->{attributes} // [] } ]
		} @{ $doc->{differences} // [] } ];
}

my $ORDER_LINES = "Sales \x{dc}n\x{ef}code";

# ------------------------------------------------------------ equal servers
subtest 'compare schema: equal' => sub {
	my ($rc, $out, $err) = compare('schema');
	is($rc, 0, 'exit 0') or diag(tail_text($err));
	like($out, qr/^summary: schemas are equal/m, 'summary line says equal');
	for my $kind (qw(schema extension type table column index constraint sequence view function trigger))
	{
		like($out, qr/^\Q$kind\E\s+(\d+)\s+\1\s+OK$/m, "line for kind $kind: same count, OK");
	}
	unlike($out, qr/DIFFERENT/, 'nothing DIFFERENT');

	my ($jrc, $doc) = compare_json('schema');
	is($jrc, 0, '--json: exit 0');
	ok($doc->{equal}, '--json: equal is true');
	is_deeply($doc->{differences}, [], '--json: no differences');
	is(scalar(grep { $_->{result} eq 'equal' } @{ $doc->{kinds} // [] }), 11,
		'--json: 11 object kinds, all equal');
	my ($t) = grep { $_->{kind} eq 'table' } @{ $doc->{kinds} // [] };
	is($t->{source} // -1, 10, '--json: 10 tables on the source');
};

subtest 'compare data: equal' => sub {
	my ($rc, $out, $err) = compare('data');
	is($rc, 0, 'exit 0') or diag(tail_text($err));
	like($out, qr/^app\.big\s+20000\s+20000\s+([0-9a-f]{16})\s+\1\s+OK$/m,
		'one line per table: app.big with counts, equal checksums, OK');
	like($out, qr/^app\.nopk\s+10002\s+10002\s+([0-9a-f]{16})\s+\1\s+OK$/m,
		'app.nopk (no key, duplicate rows)');
	like($out, qr/^app\.empty\s+0\s+0\s+0{16}\s+0{16}\s+OK$/m, 'an empty table');
	like($out, qr/^summary: 9 tables compared with \d+ jobs? in .*: 9 equal, 0 different$/m,
		'summary line');
	unlike($out, qr/DIFFERENT|ERROR/, 'nothing DIFFERENT');

	my ($jrc, $doc) = compare_json('data', @SPLIT);
	is($jrc, 0, 'split: exit 0');
	ok($doc->{equal}, 'split: equal is true');
	is_deeply(unequal_tables($doc), [], 'split: every table equal');
	is($doc->{summary}{jobs}, 2, 'split: 2 jobs');
	my $big = table_entry($doc, 'app', 'big');
	is($big->{split}, 'key', 'app.big split by key');
	is(scalar @{ $big->{parts} // [] }, 4, 'app.big in 4 parts');
	is(scalar(grep { $_->{result} eq 'equal' } @{ $big->{parts} // [] }), 4,
		'every part of app.big equal, though rows sit elsewhere on the target');
	is($big->{source}{rows}, 20000, 'app.big: 20000 rows on the source');
	my $ol = table_entry($doc, $ORDER_LINES, 'Order Lines');
	is($ol->{split}, 'key', 'text primary key: split by key');
	is(scalar @{ $ol->{parts} // [] }, 4, '"Order Lines" in 4 parts');
	my $nopk = table_entry($doc, 'app', 'nopk');
	is($nopk->{split}, 'ctid', 'no primary key: split by ctid ranges');
	is($nopk->{target}{rows}, 10002, 'app.nopk: all rows on the target counted');
	is(table_entry($doc, 'app', 'small')->{split}, 'none', 'small tables are not split');
};

# --------------------------------------------------------- data differences
subtest 'data: a missing row' => sub {
	on_target(q{DELETE FROM app.small WHERE id = 7});
	my ($rc, $doc) = compare_json('data', '--show-rows');
	is($rc, 8, 'exit 8');
	ok(!$doc->{equal}, 'equal is false');
	is_deeply(unequal_tables($doc), ['app.small'], 'only app.small differs');
	my $t = table_entry($doc, 'app', 'small');
	is($t->{result}, 'different', 'app.small: different');
	is($t->{source}{rows}, 300, '300 rows on the source');
	is($t->{target}{rows}, 299, '299 rows on the target');
	is(scalar @{ $t->{rows_only_on_source} // [] }, 1, 'one row only on the source');
	like($t->{rows_only_on_source}[0] // '', qr/^\(7,"title 7",10\.50,2024-01-08,/,
		'the missing row is listed');
	is_deeply($t->{rows_only_on_target}, [], 'no row only on the target');

	on_target(q{INSERT INTO app.small VALUES (7, 'title 7', 10.50, '2024-01-08', ARRAY['a', NULL, 'x,y"z'])});
	my ($rc2) = compare('data');
	is($rc2, 0, 'row put back: exit 0');
};

subtest 'data: a changed value in split tables, narrowed to a part' => sub {
	on_target(q{UPDATE app.big SET v = 'changed' WHERE id = 12345});
	on_target(q{UPDATE "Sales Ünïcode"."Order Lines" SET "Größe" = 'XXL' WHERE "Line ID" = 'line-1000'});
	my ($rc, $doc) = compare_json('data', @SPLIT, '--show-rows');
	is($rc, 8, 'exit 8');
	is_deeply(unequal_tables($doc), [ "$ORDER_LINES.Order Lines", 'app.big' ],
		'only the two changed tables differ');

	my $big = table_entry($doc, 'app', 'big');
	is($big->{result}, 'different', 'app.big: different');
	is($big->{source}{rows}, $big->{target}{rows}, 'same row count');
	isnt($big->{source}{checksum}, $big->{target}{checksum}, 'different checksums');
	my @diff = grep { $_->{result} eq 'different' } @{ $big->{parts} // [] };
	is(scalar @diff, 1, 'one part of four differs');
	my ($lo, $hi) = ($diff[0]{range} // '') =~ /^"id" >= (\d+) and < (\d+)$/;
	ok(defined $lo && $lo <= 12345 && 12345 < $hi, "its key range holds id 12345")
	  or diag("range: " . ($diff[0]{range} // 'none'));
	is(scalar @{ $big->{rows_only_on_source} // [] }, 1, 'one row only on the source');
	like($big->{rows_only_on_source}[0] // '', qr/^\(12345,827ccb0eea8a706c4c34a16891f84e7bx+,/,
		'the source version of row 12345');
	is(scalar @{ $big->{rows_only_on_target} // [] }, 1, 'one row only on the target');
	like($big->{rows_only_on_target}[0] // '', qr/^\(12345,changed,/,
		'the target version of row 12345');

	my $ol = table_entry($doc, $ORDER_LINES, 'Order Lines');
	my @odiff = grep { $_->{result} eq 'different' } @{ $ol->{parts} // [] };
	is(scalar @odiff, 1, '"Order Lines": one part differs');
	like($ol->{rows_only_on_target}[0] // '', qr/^\(line-1000,XXL,/, '"Order Lines": row listed');

	my ($hrc, $out) = compare('data', @SPLIT, '--show-rows');
	is($hrc, 8, 'human report: exit 8');
	like($out, qr/^app\.big\s+20000\s+20000\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+DIFFERENT$/m,
		'human report: app.big DIFFERENT');
	like($out, qr/^  part \d\/4, "id" >= \d+ and < \d+: 5000\/5000 rows, .*DIFFERENT$/m,
		'human report: the differing part and its key range');
	like($out, qr/^    only on target: \(12345,changed,/m, 'human report: the row');
	like($out, qr/^summary: 9 tables compared .*: 7 equal, 2 different$/m, 'human summary');

	on_target(q{UPDATE app.big SET v = md5(id::text) || repeat('x', 40) WHERE id = 12345});
	on_target(q{UPDATE "Sales Ünïcode"."Order Lines" SET "Größe" = 'S' WHERE "Line ID" = 'line-1000'});
	my ($rc2) = compare('data', @SPLIT);
	is($rc2, 0, 'values put back: exit 0');
};

subtest 'data: an extra row (a duplicate, in a table without key)' => sub {
	on_target(q{INSERT INTO app.nopk VALUES (5, repeat('dup ', 20) || 5)});
	my ($rc, $doc) = compare_json('data', @SPLIT, '--show-rows');
	is($rc, 8, 'exit 8');
	is_deeply(unequal_tables($doc), ['app.nopk'], 'only app.nopk differs');
	my $t = table_entry($doc, 'app', 'nopk');
	is($t->{split}, 'ctid', 'split by ctid ranges');
	is($t->{source}{rows}, 10002, '10002 rows on the source');
	is($t->{target}{rows}, 10003, '10003 rows on the target');
	is_deeply($t->{rows_only_on_source}, [], 'no row only on the source');
	is_deeply($t->{rows_only_on_target}, [ '(5,"' . ('dup ' x 20) . '5")' ],
		'the extra copy is listed');
	is($t->{rows_only_on_target_count}, 1, 'one extra row');

	on_target(q{DELETE FROM app.nopk WHERE ctid IN (SELECT ctid FROM app.nopk WHERE a = 5 LIMIT 1)});
	my ($rc2) = compare('data', @SPLIT);
	is($rc2, 0, 'extra row removed: exit 0');
};

subtest 'data: a column only on the target' => sub {
	on_target(q{ALTER TABLE app.cache ADD COLUMN extra integer DEFAULT 1});
	my ($rc, $doc) = compare_json('data');
	is($rc, 8, 'exit 8');
	is_deeply(unequal_tables($doc), ['app.cache'], 'only app.cache differs');
	my $t = table_entry($doc, 'app', 'cache');
	like($t->{columns} // '', qr/^columns only on target: "extra"$/, 'the column is named');
	is($t->{source}{checksum}, $t->{target}{checksum},
		'the columns both sides have still checksum equal');
	on_target(q{ALTER TABLE app.cache DROP COLUMN extra});
	my ($rc2) = compare('data');
	is($rc2, 0, 'column dropped: exit 0');
};

subtest '--snapshot: the source as of an exported snapshot' => sub {
	my $bg = $source->background_psql('cmp');
	my $snap = $bg->query_safe(
		'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT pg_export_snapshot();');
	chomp $snap;
	like($snap, qr/^[0-9A-F]+-[0-9A-F]+-\d+$/, 'snapshot exported');
	on_source(q{INSERT INTO app.small VALUES (1000, 'late', 1, '2025-01-01', NULL)});

	my ($rc, $doc) = compare_json('data', '--snapshot', $snap);
	is($rc, 0, 'with --snapshot: the late row is not seen, exit 0');
	is(table_entry($doc, 'app', 'small')->{source}{rows}, 300, 'with --snapshot: 300 rows');
	my ($rc2, $doc2) = compare_json('data', '--show-rows');
	is($rc2, 8, 'without it: exit 8');
	like(table_entry($doc2, 'app', 'small')->{rows_only_on_source}[0] // '', qr/^\(1000,late,/,
		'without it: the late row is only on the source');
	my ($rc3) = compare('schema', '--snapshot', $snap);
	is($rc3, 0, 'compare schema --snapshot: exit 0');
	$bg->quit;

	my ($rc4, $out4, $err4) = compare('data', '--snapshot', $snap);
	is($rc4, 6, 'a snapshot no longer held: exit 6');
	like($err4, qr/snapshot/, 'stderr says so');
	on_source(q{DELETE FROM app.small WHERE id = 1000});
};

subtest 'servers that cannot be reached, --filters accepted' => sub {
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $bad = uri($source, 'cmp', port => $port);
	my $wrongpw = uri($target, 'cmp', password => 'wrongpw');
	for my $what (qw(schema data))
	{
		my ($rc, $out, $err) = run_pgshift('compare', $what, '--source', $bad, '--target', $T);
		is($rc, 2, "compare $what: source unreachable, exit 2");
		like($err, qr/source: could not connect/, "compare $what: stderr names the source");
		check_no_secrets("compare $what, source unreachable", [$TEST_PASSWORD],
			stdout => $out, stderr => $err);
		($rc, $out, $err) = run_pgshift('compare', $what, '--source', $S, '--target', $bad);
		is($rc, 3, "compare $what: target unreachable, exit 3");
		like($err, qr/target: could not connect/, "compare $what: stderr names the target");
		($rc, $out, $err) =
		  run_pgshift('compare', $what, '--debug', '--source', $S, '--target', $wrongpw);
		is($rc, 3, "compare $what: wrong target password, exit 3");
		like($err, qr/password authentication failed/, "compare $what: libpq's message");
		check_no_secrets("compare $what, wrong password", [ $TEST_PASSWORD, 'wrongpw' ],
			stdout => $out, stderr => $err);
	}
	# --filters leaves out what it excludes: a table only on the target is a
	# difference, unless the filters exclude it
	on_target('CREATE TABLE public.filtered_out (x int)');
	my $filters = PostgreSQL::Test::Utils::tempdir() . '/filters.ini';
	open my $fh, '>', $filters or die "$filters: $!";
	print $fh "[exclude-table]\npublic.filtered_out\n";
	close $fh;
	my ($rc, $out, $err) = compare('schema');
	is($rc, 8, 'without --filters, the extra table is a difference');
	($rc, $out, $err) = compare('schema', '--filters', $filters);
	is($rc, 0, 'with --filters excluding it, the schemas are equal')
	  or diag($out . $err);
	($rc, $out, $err) = compare('data', '--filters', $filters);
	is($rc, 0, 'compare data with the same --filters: equal') or diag($out . $err);
	on_target('DROP TABLE public.filtered_out');
};

# ------------------------------------------------------- schema differences
my @changes = (
	[ 'a dropped index',
		q{DROP INDEX app.small_created_idx},
		q{CREATE INDEX small_created_idx ON app.small (created)},
		[ [ 'index', 'app.small_created_idx', 'only on source' ] ] ],
	[ 'a changed column default',
		q{ALTER TABLE app.small ALTER COLUMN title SET DEFAULT 'x'},
		q{ALTER TABLE app.small ALTER COLUMN title SET DEFAULT 'untitled'},
		[ [ 'column', 'app.small.title', 'differs', 'default' ] ] ],
	[ 'a changed column type',
		q{ALTER TABLE app.small ALTER COLUMN created TYPE timestamp},
		q{ALTER TABLE app.small ALTER COLUMN created TYPE date},
		[ [ 'column', 'app.small.created', 'differs', 'type' ] ] ],
	[ 'an extra column',
		q{ALTER TABLE app.cache ADD COLUMN extra integer},
		q{ALTER TABLE app.cache DROP COLUMN extra},
		[ [ 'column', 'app.cache.extra', 'only on target' ] ] ],
	[ 'a missing constraint',
		q{ALTER TABLE app.small DROP CONSTRAINT small_amount_check},
		q{ALTER TABLE app.small ADD CONSTRAINT small_amount_check CHECK (amount >= 0)},
		[ [ 'constraint', 'app.small.small_amount_check', 'only on source' ] ] ],
	[ 'a sequence value changed with setval',
		q{SELECT setval('app.invoice_no', 2000)},
		q{SELECT setval('app.invoice_no', 1500, false)},
		[ [ 'sequence', 'app.invoice_no', 'differs', 'last value', 'is called' ] ] ],
	[ 'a serial sequence advanced',
		q{SELECT setval('app.small_id_seq', 500)},
		q{SELECT setval('app.small_id_seq', 300)},
		[ [ 'sequence', 'app.small_id_seq', 'differs', 'last value' ] ] ],
	[ 'a changed view definition',
		q{CREATE OR REPLACE VIEW app.small_view AS SELECT id, title FROM app.small WHERE amount > 20},
		q{CREATE OR REPLACE VIEW app.small_view AS SELECT id, title FROM app.small WHERE amount > 10},
		[ [ 'view', 'app.small_view', 'differs', 'definition' ] ] ],
	[ 'a changed function body',
		q{CREATE OR REPLACE FUNCTION app.total(min_id integer DEFAULT 0) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(amount) + 1 FROM app.small WHERE id > min_id'},
		q{CREATE OR REPLACE FUNCTION app.total(min_id integer DEFAULT 0) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(amount) FROM app.small WHERE id > min_id'},
		[ [ 'function', 'app.total(integer)', 'differs', 'definition' ] ] ],
	[ 'a dropped trigger',
		q{DROP TRIGGER small_audit ON app.small},
		q{CREATE TRIGGER small_audit AFTER INSERT OR UPDATE OR DELETE ON app.small FOR EACH ROW EXECUTE FUNCTION app.log_change()},
		[ [ 'trigger', 'app.small.small_audit', 'only on source' ] ] ],
	[ 'a different extension version',
		q{DROP EXTENSION cube; CREATE EXTENSION cube VERSION '1.4'},
		q{ALTER EXTENSION cube UPDATE},
		[ [ 'extension', 'cube', 'differs', 'version' ] ] ],
	[ 'a missing extension',
		q{DROP EXTENSION fuzzystrmatch},
		q{CREATE EXTENSION fuzzystrmatch},
		[ [ 'extension', 'fuzzystrmatch', 'only on source' ] ] ],
	[ 'a table only on the target',
		q{CREATE TABLE app.extra (id integer PRIMARY KEY, t text)},
		q{DROP TABLE app.extra},
		[ [ 'table', 'app.extra', 'only on target' ] ] ],
);

for my $change (@changes)
{
	my ($what, $do, $undo, $want) = @$change;
	subtest "schema: $what" => sub {
		on_target($do);
		my ($rc, $doc) = compare_json('schema');
		is($rc, 8, 'exit 8');
		ok(!$doc->{equal}, 'equal is false');
		is_deeply(schema_diffs($doc), $want, 'the difference, and only it, is reported')
		  or diag(explain(schema_diffs($doc)));
		my ($hrc, $out) = compare('schema');
		is($hrc, 8, 'human report: exit 8');
		my ($kind, $name, $diff) = @{ $want->[0] };
		like($out, qr/^  \Q$kind $name: $diff\E/m, "human report: \"$kind $name: $diff\"");
		like($out, qr/^\Q$kind\E\s+\d+\s+\d+\s+DIFFERENT$/m, "human report: $kind line DIFFERENT");
		like($out, qr/^summary: 1 difference \(\Q$kind\E\)/m, 'human report: summary');
		on_target($undo);
	};
}

subtest 'equal again once every change is undone' => sub {
	my ($rc, $out, $err) = compare('schema');
	is($rc, 0, 'compare schema: exit 0') or diag($out);
	my ($rc2, $out2) = compare('data', @SPLIT);
	is($rc2, 0, 'compare data: exit 0') or diag($out2);
};

subtest 'a table missing on the target' => sub {
	on_target(q{DROP TABLE app.cache});
	my ($rc, $doc) = compare_json('schema');
	is($rc, 8, 'compare schema: exit 8');
	is_deeply(schema_diffs($doc), [ [ 'table', 'app.cache', 'only on source' ] ],
		'the table is reported, its columns, index and key are not repeated');
	my ($c) = grep { $_->{kind} eq 'column' } @{ $doc->{kinds} // [] };
	is($c->{implied} // 0, 3, 'its 3 columns counted as implied');

	my ($rc2, $doc2) = compare_json('data');
	is($rc2, 8, 'compare data: exit 8');
	is_deeply(unequal_tables($doc2), ['app.cache'], 'only app.cache differs');
	is(table_entry($doc2, 'app', 'cache')->{result}, 'only on source', 'only on source');
	my ($rc3, $out3) = compare('data');
	like($out3, qr/^app\.cache\s+200\s+-\s+.*DIFFERENT \(only on source\)$/m,
		'human report: app.cache only on source');
};

done_testing();
