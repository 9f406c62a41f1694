# Schema changes while following (--ddl): DDL on the source is captured by
# pgshift's event trigger into pgshift.ddl_log and replayed by the applier at
# its place in the stream, in the same target transaction.
#
# For each plugin (pgoutput, test_decoding; wal2json with PG_TEST_EXTRA=wal2json):
# clone --follow --ddl --filters (schema "skipped" left out), a pgbench load
# inserting all along, then on the source: ADD COLUMN, RENAME COLUMN, ALTER
# COLUMN TYPE, DROP COLUMN (each with rows using the new shape), CREATE TABLE
# + inserts in one query string (three CREATE TABLE in one), CREATE INDEX, CREATE + DROP TABLE, a new
# partition, DDL in a rolled-back transaction, DDL on the filtered-out
# table. Then a DDL-bearing transaction whose replay is held on the target
# (gate_close: its CREATE TABLE waits for pg_class), the follower killed -9
# there, `follow --resume` to the end position: every table, index,
# constraint and sequence equal (catalog comparison, pgshift's own log
# included), the gated table's rows there once.
#
# Without --ddl: ADD COLUMN + an INSERT using it stops the follower with exit
# code 14, naming the table and the column, and the row is not applied.
use strict;
use warnings;

use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}
# skipped: [exclude-schema]; keepdef.t: [exclude-table-data] (checked apart)
push @PgShiftTest::EXCLUDE_SCHEMAS, 'skipped', 'keepdef';




sub set_endpos
{
	my ($db, $dir) = @_;
	my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos', '--current',
		'--source', uri($source, $db), '--dir', $dir);
	is($rc, 0, "$db: sentinel set endpos") or diag($err);
	return;
}

my $SCHEMA = q{
CREATE TABLE public.t1 (id serial PRIMARY KEY, a int, b text);
INSERT INTO public.t1 (a, b) SELECT g, 'b' || g FROM generate_series(1, 500) g;
CREATE TABLE public.load (id bigserial PRIMARY KEY, v int, at timestamptz DEFAULT now());
CREATE TABLE public.part (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE public.part_1 PARTITION OF public.part FOR VALUES FROM (0) TO (100);
INSERT INTO public.part SELECT g, 'p' || g FROM generate_series(0, 99) g;
CREATE SCHEMA skipped;
CREATE TABLE skipped.t (id int PRIMARY KEY, v text);
INSERT INTO skipped.t SELECT g, 's' || g FROM generate_series(1, 10) g;
CREATE SCHEMA keepdef;
CREATE TABLE keepdef.t (id int PRIMARY KEY);
};

# the DDL of the test, one psql -c each (a multi-statement string is one query)
my @DDL = (
	q{ALTER TABLE t1 ADD COLUMN c int DEFAULT 7; INSERT INTO t1 (a, b, c) VALUES (1000, 'added', 8)},
	q{ALTER TABLE t1 RENAME COLUMN b TO bb},
	q{UPDATE t1 SET bb = 'renamed' WHERE id <= 5},
	q{ALTER TABLE t1 ALTER COLUMN a TYPE bigint USING a::bigint * 10},
	q{INSERT INTO t1 (a, bb) VALUES (9000000000, 'big')},
	q{ALTER TABLE t1 DROP COLUMN c},
	q{UPDATE t1 SET a = a + 1 WHERE id BETWEEN 10 AND 20},
	q{CREATE TABLE newt (id int PRIMARY KEY, v text); INSERT INTO newt SELECT g, 'n' || g FROM generate_series(1, 200) g; ALTER TABLE newt ADD COLUMN w int},
	q{UPDATE newt SET w = id * 2 WHERE id % 3 = 0},
	q{DELETE FROM newt WHERE id > 190},
	q{CREATE INDEX t1_a_idx ON t1 (a)},
	q{CREATE TABLE m1 (id int PRIMARY KEY); CREATE TABLE m2 (id int PRIMARY KEY, v text DEFAULT 'a;b'); INSERT INTO m2 VALUES (1); CREATE TABLE m3 (LIKE m2 INCLUDING ALL)},
	q{CREATE TABLE dropme (id int PRIMARY KEY); INSERT INTO dropme VALUES (1), (2)},
	q{DROP TABLE dropme},
	q{CREATE TABLE part_2 PARTITION OF part FOR VALUES FROM (100) TO (200)},
	q{INSERT INTO part SELECT g, 'q' || g FROM generate_series(100, 150) g},
	q{CREATE TABLE part_3 (LIKE part); ALTER TABLE part ATTACH PARTITION part_3 FOR VALUES FROM (200) TO (300); INSERT INTO part VALUES (250, 'attached')},
	q{BEGIN; ALTER TABLE t1 ADD COLUMN rolled int; CREATE TABLE rolled_back (id int); ROLLBACK},
	q{ALTER TABLE skipped.t ADD COLUMN z int; INSERT INTO skipped.t VALUES (100, 'x', 1)},
	q{ALTER TABLE load ADD COLUMN w text DEFAULT 'w'},
	q{INSERT INTO keepdef.t VALUES (1)},
);

sub with_ddl
{
	my ($plugin) = @_;
	my $db = "ddl_$plugin";
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($source, $db, $SCHEMA);
	my $dir = work_dir($db);
	my $filters = "$dir.filters";
	open my $fh, '>', $filters or die;
	print $fh "[exclude-schema]\nskipped\n[exclude-table-data]\nkeepdef.t\n";
	close $fh;
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir);
	my @cdc = ('--plugin', $plugin, '--slot-name', "s_$plugin", '--origin', "o_$plugin",
		'--filters', $filters);

	my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', '--ddl', @conn, @cdc);
	ok(wait_output($h, qr/base copy done/, 60), "$plugin: base copy done")
	  or do { diag(tail_lines(${ $h->{err} }, 30)); kill 'KILL', $h->{pid}; return };
	is(query_value($source, $db,
			q{SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'pgshift_ddl_%'}),
		2, "$plugin: the event triggers are on the source");

	# the load: one-row inserts all along the schema changes
	open my $lf, '>', "$dir.load.sql" or die;
	print $lf "INSERT INTO public.load (v) VALUES (:client_id);\n";
	close $lf;
	my $load = bg('pgbench', '-n', '-c', '2', '-T', '6', '-h', $source->host, '-p',
		$source->port, '-f', "$dir.load.sql", $db);
	sleep 0.5;
	for my $sql (@DDL)
	{
		my $ok = eval { psql_do($source, $db, $sql); 1 };
		ok($ok || $sql =~ /ROLLBACK/, "$plugin: on the source: $sql") or diag($@);
	}
	is(bg_finish($load), 0, "$plugin: the pgbench load ran") or diag($load->{err});
	cmp_ok(query_value($source, $db, 'SELECT count(*) FROM load'), '>', 100,
		"$plugin: the load inserted rows");

	# a DDL-bearing transaction held on the target, the follower killed there
	my $gate = gate_close($target, $db);
	psql_do($source, $db,
		q{BEGIN; CREATE TABLE gated (id int PRIMARY KEY); INSERT INTO gated SELECT generate_series(1, 50); ALTER TABLE t1 ADD COLUMN g int DEFAULT 1; COMMIT});
	my $held = 0;
	for (1 .. 200)
	{
		$held = query_value($target, 'postgres',
			q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgshift-apply' AND wait_event_type = 'Lock'});
		last if $held;
		sleep 0.1;
	}
	ok($held, "$plugin: the replay of CREATE TABLE waits on the target");
	kill 'KILL', $h->{pid};
	wait_exit($h, 10);
	finish_pgshift($h);
	gate_open($gate);
	is(query_value($target, $db, q{SELECT to_regclass('public.gated') IS NULL}),
		't', "$plugin: nothing of the killed transaction is on the target");
	psql_do($source, $db, q{INSERT INTO gated VALUES (51); INSERT INTO t1 (a, bb, g) VALUES (1, 'last', 2)});
	psql_do($source, $db, q{CREATE INDEX CONCURRENTLY t1_cic ON t1 (id, a)});

	# the resumed follower replays the gated transaction, then stops at the
	# statement it cannot replay
	my ($rc, $out, $err) = run_pgshift({ timeout => 90 }, 'follow', '--resume', @conn, @cdc);
	like($err, qr/replaying DDL from the source .*CREATE TABLE gated/,
		"$plugin: the resumed follower replayed the gated CREATE TABLE");
	is($rc, 14, "$plugin: CREATE INDEX CONCURRENTLY stops the follower with exit code 14")
	  or diag(tail_lines($err, 20));
	like($err, qr/cannot replay a schema change .*CONCURRENTLY.*\n.*CREATE INDEX CONCURRENTLY t1_cic/,
		"$plugin: the message gives the reason and the statement");
	cmp_ok(query_value($target, $db, 'SELECT count(*) FROM gated'), '>=', 50,
		"$plugin: the gated transaction is on the target");
	is(query_value($target, $db, q{SELECT count(*) FROM pg_class WHERE relname = 't1_cic'}), 0,
		"$plugin: the index is not");

	# as the hint says: make the change on the target, go on with --ddl-errors=log
	psql_do($target, $db, q{CREATE INDEX t1_cic ON t1 (id, a)});
	my $r = start_pgshift({ timeout => 300 }, 'follow', '--resume', '--ddl-errors', 'log', @conn, @cdc);
	sleep 1;
	set_endpos($db, $dir);
	ok(wait_exit($r, 90), "$plugin: follow --resume reaches the end position")
	  or kill 'KILL', $r->{pid};
	($rc, $out, $err) = finish_pgshift($r);
	is($rc, 0, "$plugin: follow --resume --ddl-errors=log exits 0") or diag(tail_lines($err, 30));
	my $skipped = "$dir/cdc/ddl-skipped.sql";
	like(-f $skipped ? slurp_file($skipped) : '', qr/CREATE INDEX CONCURRENTLY t1_cic/,
		"$plugin: --ddl-errors=log wrote the statement left out");

	is(query_value($target, $db, 'SELECT count(*) FROM gated'), 51,
		"$plugin: the gated table's rows are there once");
	is(query_value($target, $db,
			q{SELECT count(*) FROM pg_attribute WHERE attrelid = 't1'::regclass AND attname IN ('rolled', 'c', 'b')}),
		0, "$plugin: rolled-back and dropped columns are not on the target");
	is(query_value($target, $db, q{SELECT to_regclass('public.rolled_back') IS NULL AND to_regclass('public.dropme') IS NULL}),
		't', "$plugin: rolled-back and dropped tables are not on the target");
	is(query_value($target, $db, q{SELECT to_regnamespace('skipped') IS NULL}),
		't', "$plugin: the filtered-out schema stays out");
	is(query_value($target, $db, q{SELECT count(*) FROM keepdef.t}),
		0, "$plugin: [exclude-table-data]: the table's changes are left out");
	is(query_value($target, $db, q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't1'::regclass AND attname = 'a'}),
		'bigint', "$plugin: ALTER COLUMN TYPE replayed");
	compare_all($source, $target, $db);
	my ($drc, $dout) = (0, '');
	my @dumps = map {
		my $n = $_;
		my $d = `pg_dump -s -h ${\ $n->host} -p ${\ $n->port} -N skipped -N keepdef -N pgshift $db 2>&1`;
		# the publication is the source's (pgoutput's, with --filters)
		$d =~ s/^(--|\\restrict|\\unrestrict|(CREATE|ALTER) PUBLICATION ).*\n//mg;
		$d =~ s/\n{2,}/\n/g;
		$d
	} ($source, $target);
	my $same = is($dumps[1], $dumps[0], "$plugin: pg_dump -s equal on both sides");
	if (!$same)
	{
		open my $a, '>', "$dir.src.sql" or die;
		print $a $dumps[0];
		close $a;
		open my $b, '>', "$dir.tgt.sql" or die;
		print $b $dumps[1];
		close $b;
		diag(`diff $dir.src.sql $dir.tgt.sql`);
	}

	($rc, $out, $err) = run_pgshift('stream', 'cleanup', @conn, @cdc);
	is($rc, 0, "$plugin: stream cleanup exits 0") or diag($err);
	is(query_value($source, $db,
			q{SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'pgshift_ddl_%'})
		  + query_value($source, $db, q{SELECT count(*) FROM pg_namespace WHERE nspname = 'pgshift'}),
		0, "$plugin: cleanup removed the capture from the source");
	return;
}

sub without_ddl
{
	my ($plugin) = @_;
	my $db = "noddl_$plugin";
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($source, $db, q{CREATE TABLE public.x (id int PRIMARY KEY, v text); INSERT INTO x VALUES (1, 'a')});
	my $dir = work_dir($db);
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir);
	my @cdc = ('--plugin', $plugin, '--slot-name', "n_$plugin", '--origin', "n_$plugin");
	my $h = start_pgshift({ timeout => 120 }, 'clone', '--follow', @conn, @cdc);
	ok(wait_output($h, qr/base copy done/, 60), "$plugin without --ddl: base copy done");
	psql_do($source, $db, q{INSERT INTO x VALUES (2, 'b'); ALTER TABLE x ADD COLUMN c int; INSERT INTO x VALUES (3, 'c', 3)});
	ok(wait_exit($h, 60), "$plugin without --ddl: the follower stops") or kill 'KILL', $h->{pid};
	my ($rc, $out, $err) = finish_pgshift($h);
	is($rc, 14, "$plugin without --ddl: exit code 14 (schema change)") or diag(tail_lines($err, 20));
	like($err, qr/"?x"?.*\n?.*column "c"|column "c".*"x"/, "$plugin without --ddl: the message names the table and the column");
	is(query_value($target, $db, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM x'), '1,2',
		"$plugin without --ddl: the rows before the change are applied, nothing after");
	run_pgshift('stream', 'cleanup', @conn, @cdc);
	return;
}

# stream setup --ddl as a role that is not a superuser: refused before
# anything is created, saying what to do
sub not_superuser
{
	my $db = 'ddl_nosuper';
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	create_role($source, 'bob', replication => 1);
	my $dir = work_dir($db);
	my ($rc, $out, $err) = run_pgshift('stream', 'setup', '--ddl', '--source',
		uri($source, $db, user => 'bob'), '--target', uri($target, $db), '--dir', $dir,
		'--slot-name', 'nosuper');
	is($rc, 6, 'stream setup --ddl as a non-superuser exits 6') or diag($err);
	like($err, qr/--ddl needs a superuser.*\n.*HINT: .*rds_superuser.*without --ddl/,
		'the message says why and what to do');
	is(query_value($source, 'postgres',
			q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'nosuper'}),
		0, 'no slot was created');
	is(query_value($source, $db, q{SELECT count(*) FROM pg_event_trigger}), 0,
		'no event trigger was created');
	return;
}

my $t0 = time;
subtest 'stream setup --ddl needs a superuser' => \&not_superuser;
# wal2json's applier path is test_decoding's (names in each row, keys from
# the target): it runs only with PG_TEST_EXTRA=wal2json, to keep this file
# within its time budget
my @plugins = test_plugins($source);
@plugins = grep { $_ ne 'wal2json' } @plugins
  unless ($ENV{PG_TEST_EXTRA} // '') =~ /\bwal2json\b/;
for my $plugin (@plugins)
{
	subtest "--ddl with $plugin" => sub { with_ddl($plugin) };
	subtest "without --ddl, $plugin" => sub { without_ddl($plugin) } if $plugin ne 'wal2json';
}
note(sprintf('130_ddl: %.1fs', time - $t0));
done_testing();
