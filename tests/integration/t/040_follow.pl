# pgshift clone --follow: copy a live database, replay what changes during
# and after the copy, stop at the end position set from another process.
#
# The source holds pgbench tables (scale 2) and the tables of
# tests/integration/sql/follow_schema.sql: primary keys, GENERATED ALWAYS and
# BY DEFAULT identity, serial, a stored generated column, jsonb, arrays,
# NULLs, text with tabs/newlines/quotes, a REPLICA IDENTITY FULL table
# without key holding duplicate rows, another whose first streamed change
# deletes a row with a NULL that a row without it resembles (test_decoding
# leaves NULLs out of old rows), bit/varbit columns, TOASTed text whose other
# columns change, a range-partitioned table whose UPDATEs move rows between
# partitions, a mixed-case reserved-word table name.
#
# While the follower runs: pgbench -c 2 -T 15 (tpcb-like), started as soon
# as the slot exists, with follow_during_copy.sql (row changes on every table
# while the copy runs), then, once the copy is done, follow_workload.sql
# (INSERT/UPDATE/DELETE/TRUNCATE, a rolled-back transaction, savepoints,
# hundreds of one-row transactions, one transaction of 1,000,000 rows).
#
# Why the TRUNCATEs wait for the end of the copy: the copy's snapshot
# session holds ACCESS SHARE on every sequence (it read their values) until
# the copy ends.  TRUNCATE ... RESTART IDENTITY of a table not copied yet
# takes ACCESS EXCLUSIVE on the table, then queues behind that session for
# the sequence; the COPY of the table then queues behind the TRUNCATE: both
# wait forever, and the server sees no deadlock (one side waits in the
# client).  The last subtest exercises exactly that, with a lock_timeout.  Then a last one-row transaction, `stream sentinel set
# endpos --current`, and the follower must exit 0 with every table (count +
# checksum) and sequence equal.  Finally `stream cleanup` must drop the slot,
# publication and origin.
#
# Done with --plugin pgoutput, test_decoding and wal2json (other databases,
# slot, origin and work directory each time; wal2json is skipped, with a
# note, when its library is not installed).  Then a TRUNCATE ... RESTART
# IDENTITY issued while the copy runs (see below).
#
# PGSHIFT_TEST_BIG_ROWS overrides the size of the large transaction.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my $sqldir   = File::Spec->rel2abs(dirname(__FILE__) . '/../sql');
my $schema   = "$sqldir/follow_schema.sql";
my $workload = "$sqldir/follow_workload.sql";
my $during_copy = "$sqldir/follow_during_copy.sql";

# rows of the one large transaction (PGSHIFT_TEST_BIG_ROWS to change it)
my $BIG_ROWS = $ENV{PGSHIFT_TEST_BIG_ROWS} // 1_000_000;
my $PGBENCH_SECONDS = 15;
my $FOLLOW_TIMEOUT  = 300;

my ($source, $target) = start_pair(
	source_conf => "logical_decoding_work_mem = 64MB\nwal_sender_timeout = 60s");
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}


sub stop_hard
{
	my ($h) = @_;
	kill 'TERM', $h->{pid};
	sleep 3;
	kill 'KILL', $h->{pid} if pgshift_running($h);
	return;
}



sub log_text
{
	my ($dir) = @_;
	return -f "$dir/pgshift.log" ? slurp_file("$dir/pgshift.log") : '';
}

sub scenario
{
	my ($plugin) = @_;
	my $db     = "follow_$plugin";
	my $slot   = "slot_$plugin";
	my $origin = "origin_$plugin";

	# ------------------------------------------------------------ setup
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	load_sql_file($source, $db, $schema);
	$source->command_ok(
		[
			'pgbench', '-i', '-s', '2', '-q',
			'-h', $source->host, '-p', $source->port, $db
		],
		"$plugin: pgbench -i -s 2");
	# pgbench_history has no key: the follower needs REPLICA IDENTITY FULL
	psql_do($source, $db,
		'ALTER TABLE public.pgbench_history REPLICA IDENTITY FULL');
	psql_do($source, $db, 'VACUUM ANALYZE');

	my $dir = work_dir("follow_$plugin");
	my @conn = (
		'--source', uri($source, $db),
		'--target', uri($target, $db),
		'--dir',    $dir);
	my @cdc = ('--plugin', $plugin, '--slot-name', $slot, '--origin', $origin);

	# ------------------------------------------- follower in the background
	my $t0 = time;
	my $h = start_pgshift({ timeout => 900 },
		'clone', '--follow', @conn, @cdc,
		'--table-jobs', '2', '--index-jobs', '2');

	# the workload starts once the slot exists: everything it does goes
	# through the stream (part of it while the copy still runs)
	# ("created replication slot" is logged once the slot has its consistent
	# point and exported snapshot)
	my $slot_up = 0;
	for (1 .. 1200)
	{
		last unless pgshift_running($h);
		$slot_up = ${ $h->{err} } =~ /created replication slot/ ? 1 : 0;
		last if $slot_up;
		sleep 0.05;
	}
	$slot_up &&= query_value($source, 'postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'");
	ok($slot_up, "$plugin: clone --follow created the slot $slot")
	  or do {
		stop_hard($h);
		my ($rc, $out, $err) = finish_pgshift($h);
		diag("clone --follow exited $rc:\n$err");
		return;
	  };

	my $pgbench = bg('pgbench', '-n', '-c', '2', '-j', '1',
		'-T', $PGBENCH_SECONDS, '-h', $source->host, '-p', $source->port, $db);
	my $during = bg('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $source->connstr($db), '-f', $during_copy);
	is(bg_finish($during), 0, "$plugin: row changes made during the copy")
	  or diag($during->{err});

	# TRUNCATE (ACCESS EXCLUSIVE) must wait until the copy is done: see the
	# note at the top
	my $deadline = time + 300;
	sleep 0.1
	  while time < $deadline
	  && pgshift_running($h)
	  && ${ $h->{err} } !~ /base copy done/;
	like(${ $h->{err} }, qr/base copy done/, "$plugin: the base copy is done")
	  or diag(tail_lines(${ $h->{err} }, 30));
	note(sprintf('%s: base copy done %.1fs after start', $plugin, time - $t0));

	my $psql = bg('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-v', "big_rows=$BIG_ROWS", '-d', $source->connstr($db),
		'-f', $workload);
	my $psql_rc = bg_finish($psql);
	is($psql_rc, 0, "$plugin: workload script ran without error")
	  or diag($psql->{err});
	my $pgbench_rc = bg_finish($pgbench);
	is($pgbench_rc, 0, "$plugin: pgbench -T $PGBENCH_SECONDS ran")
	  or diag($pgbench->{err});
	my ($tps) = $pgbench->{out} =~ /tps = ([\d.]+)/;
	my ($pgb_txns) = $pgbench->{out} =~ /number of transactions actually processed: (\d+)/;
	note(sprintf('%s: workload done %.1fs after start; pgbench %s transactions, %s tps',
		$plugin, time - $t0, $pgb_txns // '?', $tps // '?'));
	cmp_ok($pgb_txns // 0, '>', 100, "$plugin: pgbench committed transactions");

	ok(pgshift_running($h), "$plugin: the follower is still running after the workload")
	  or diag(${ $h->{err} });

	# the last transaction before the end position: committed before it is
	# taken, so it must be on the target
	psql_do($source, $db, q{INSERT INTO app.scratch (v) VALUES ('last before endpos')});

	my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos',
		'--current', '--source', uri($source, $db), '--dir', $dir);
	is($rc, 0, "$plugin: stream sentinel set endpos --current exits 0")
	  or diag($err);
	my ($endpos) = $out =~ m{^([0-9A-F]+/[0-9A-F]+)$}m;
	ok(defined $endpos, "$plugin: sentinel prints the end position")
	  or diag("stdout: $out");
	my $t_endpos = time;

	my $exited = wait_exit($h, $FOLLOW_TIMEOUT);
	ok($exited, "$plugin: the follower exits within ${FOLLOW_TIMEOUT}s of the end position")
	  or stop_hard($h);
	($rc, $out, $err) = finish_pgshift($h);
	note(sprintf('%s: follower exited %.1fs after endpos, %.1fs in all',
		$plugin, time - $t_endpos, time - $t0));
	is($rc, 0, "$plugin: clone --follow exits 0")
	  or diag("stderr (tail):\n" . tail_lines($err, 30));

	my $log = log_text($dir);
	like($log, qr/base copy done/, "$plugin: the log shows the copy finished");
	my ($txns, $changes) =
	  $log =~ /applier stopped at \S+: (\d+) transactions, (\d+) changes applied/;
	ok(defined $txns, "$plugin: the log shows what the applier did");
	like($log, qr/applier stopped at \S+: .*\(end position reached\)/,
		"$plugin: the applier stopped at the end position");
	note("$plugin: applied $txns transactions, $changes changes") if defined $txns;
	cmp_ok($changes // 0, '>=', $BIG_ROWS,
		"$plugin: the large transaction went through the stream, not the copy");
	cmp_ok($txns // 0, '>=', ($pgb_txns // 0),
		"$plugin: at least as many transactions applied as pgbench committed");

	# ------------------------------------------------------- comparisons
	is(query_value($target, $db,
			q{SELECT count(*) FROM app.scratch WHERE v = 'last before endpos'}),
		1, "$plugin: the last transaction before the end position is on the target");
	cmp_ok(query_value($target, $db, 'SELECT count(*) FROM app.narrow'),
		'>=', $BIG_ROWS, "$plugin: app.narrow holds the large transaction");
	is(query_value($target, $db,
			q{SELECT count(*) FROM app.items WHERE name IN ('rolled back', 'rolled back to savepoint')}),
		0, "$plugin: rolled-back work is not on the target");
	is(query_value($target, $db,
			q{SELECT string_agg(v, ',' ORDER BY id) FROM app.scratch}),
		query_value($source, $db,
			q{SELECT string_agg(v, ',' ORDER BY id) FROM app.scratch}),
		"$plugin: truncated table refilled in the same order");

	compare_tables($source, $target, $db);
	compare_table_data($source, $target, $db);
	compare_sequences($source, $target, $db);

	# -------------------------------------------------------- cleanup
	($rc, $out, $err) = run_pgshift('stream', 'cleanup', @conn, @cdc);
	is($rc, 0, "$plugin: stream cleanup exits 0") or diag($err);
	is(query_value($source, 'postgres',
			"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'"),
		0, "$plugin: cleanup dropped the slot");
	is(query_value($source, $db, "SELECT count(*) FROM pg_publication"),
		0, "$plugin: no publication left on the source");
	is(query_value($target, 'postgres',
			"SELECT count(*) FROM pg_replication_origin WHERE roname = '$origin'"),
		0, "$plugin: cleanup dropped the origin");
	my @segments = glob("$dir/cdc/*.journal");
	is(scalar @segments, 0, "$plugin: cleanup removed the journal")
	  or diag("left: @segments");
	return;
}

# TRUNCATE ... RESTART IDENTITY of a table not copied yet, issued while
# clone --follow copies.  The application's statement may wait for the copy,
# but neither side may wait forever: the TRUNCATE (with lock_timeout 30s)
# must go through, and the follower must replay it.
sub truncate_during_copy
{
	my $db = 'follow_truncate';
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($source, $db, q{
CREATE TABLE public.ser (id serial PRIMARY KEY, v text);
INSERT INTO public.ser (v) SELECT 'row ' || g FROM generate_series(1, 1000) g;
CREATE TABLE public.other (id int PRIMARY KEY, v text);
INSERT INTO public.other SELECT g, 'o' || g FROM generate_series(1, 1000) g;
});
	my $dir = work_dir('follow_truncate');
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir);
	my @cdc = ('--slot-name', 'slot_truncate', '--origin', 'origin_truncate');

	# the gate holds the copy before it creates anything on the target, after
	# the source's catalog (and sequences) have been read
	my $gate = gate_close($target, $db);
	my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', @conn, @cdc,
		'--table-jobs', '2', '--index-jobs', '2');
	my $deadline = time + 60;
	sleep 0.05
	  while time < $deadline && pgshift_running($h) && ${ $h->{err} } !~ /pre-data/;
	like(${ $h->{err} }, qr/pre-data/, 'clone --follow reached the schema restore');

	my $trunc = bg('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $source->connstr($db),
		'-c', q{SET lock_timeout = '30s'},
		'-c', 'TRUNCATE public.ser RESTART IDENTITY',
		'-c', q{INSERT INTO public.ser (v) VALUES ('after truncate')});
	sleep 1;
	gate_open($gate);
	my $trc = bg_finish($trunc);
	is($trc, 0, 'TRUNCATE ... RESTART IDENTITY during the copy went through (no lock timeout)')
	  or diag($trunc->{err});

	$deadline = time + 120;
	sleep 0.1
	  while time < $deadline && pgshift_running($h) && ${ $h->{err} } !~ /base copy done/;
	psql_do($source, $db, q{UPDATE public.other SET v = 'last' WHERE id = 1});
	my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos',
		'--current', '--source', uri($source, $db), '--dir', $dir);
	is($rc, 0, 'sentinel set endpos exits 0') or diag($err);
	ok(wait_exit($h, 120), 'the follower exits') or stop_hard($h);
	($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, 'clone --follow exits 0') or diag(tail_lines($err, 30));
	compare_table_data($source, $target, $db);
	compare_sequences($source, $target, $db);
	run_pgshift('stream', 'cleanup', @conn, @cdc);
	return;
}

for my $plugin (test_plugins($source))
{
	subtest "clone --follow --plugin $plugin" => sub { scenario($plugin) };
}
subtest 'TRUNCATE ... RESTART IDENTITY while the copy runs' => \&truncate_during_copy;

done_testing();
