# pgoutput streaming of a large in-progress transaction (14+), and the same
# without streaming on 13.
#
# Source 15 (logical_decoding_work_mem = 64kB, so that the source streams a
# transaction once it holds more than that), clone --follow --plugin
# pgoutput.  Once the copy is done, one transaction inserts STREAM_ROWS rows
# (default 100,000, what CI runs -- the issue's 2,000,000 with
# PGSHIFT_TEST_STREAM_ROWS=2000000, as make check-versions does),
# with a subtransaction of 20,000 rows rolled back to its savepoint inside,
# and stays open:
#   * pgshift's work directory (journal and the spools of streamed
#     transactions) grows by more than half the rows' size while the
#     transaction is still open, the source's pg_stat_replication_slots counts
#     streamed transactions (stream_txns > 0), and the target has none of the
#     rows yet (applied only at the commit);
#   * then COMMIT, a second large transaction that is streamed and rolled
#     back, a last row, the end position: the follower exits 0, every table
#     equal (count + checksum), no rolled-back row on the target, and no spool
#     left in the work directory.
# Source 13 (no streaming in pgoutput before 14), target 15: the same
# transaction while open does not grow the journal (the source decodes it at
# its commit), and the target is equal after.
use strict;
use warnings;

use File::Find ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;
use PgShiftVersions;

my $ROWS = $ENV{PGSHIFT_TEST_STREAM_ROWS} // 100_000;
my $SUB_ROWS = 20_000;

sub dir_bytes
{
	my ($dir) = @_;
	my $sum = 0;
	File::Find::find(sub { $sum += -s $_ if -f $_ }, "$dir/cdc") if -d "$dir/cdc";
	return $sum;
}

sub scenario
{
	my ($smaj, $streams) = @_;
	my ($source, $target) = start_pair(
		source_name    => "source$smaj",
		target_name    => "target_from$smaj",
		source_install => pg_install($smaj),
		source_conf    => "logical_decoding_work_mem = 64kB\nwal_sender_timeout = 60s");
	create_role($_, $TEST_USER, superuser => 1, replication => 1) for ($source, $target);
	my $db = 'big';
	psql_do($_, 'postgres', "CREATE DATABASE $db") for ($source, $target);
	psql_do($source, $db, q{
CREATE TABLE public.big (id bigint PRIMARY KEY, v text NOT NULL, tag text NOT NULL);
CREATE TABLE public.small (id int PRIMARY KEY, v text);
INSERT INTO public.small SELECT g, 'row ' || g FROM generate_series(1, 100) g;
});
	my $dir = work_dir("stream_$smaj");
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir);
	my $h = start_pgshift({ timeout => 900 }, 'clone', '--follow', @conn,
		'--plugin', 'pgoutput', '--slot-name', 'slot_big', '--origin', 'origin_big');
	ok(wait_output($h, qr/base copy done/, 120), "$smaj: base copy done")
	  or do { diag(${ $h->{err} }); return };

	# the open transaction, in a psql session fed through its stdin
	my %s = (in => '', out => '', err => '');
	$s{h} = IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $source->connstr($db) ],
		'<', \$s{in}, '>', \$s{out}, '2>', \$s{err}, IPC::Run::timeout(900));
	my $before = dir_bytes($dir);
	my $t0 = time;
	$s{in} .= qq{BEGIN;
INSERT INTO public.big SELECT g, md5(g::text), 'kept' FROM generate_series(1, $ROWS) g;
SAVEPOINT s1;
INSERT INTO public.big SELECT g, md5(g::text), 'rolled back to savepoint'
  FROM generate_series($ROWS + 1, $ROWS + $SUB_ROWS) g;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO public.small VALUES (1000, 'in the big transaction');
SELECT 'inserted';
};
	my $deadline = time + 600;
	$s{h}->pump_nb, sleep 0.1 while time < $deadline && $s{out} !~ /inserted/;
	like($s{out}, qr/inserted/, "$smaj: $ROWS rows inserted, transaction open")
	  or diag($s{err});
	note(sprintf('%d: inserted in %.1fs', $smaj, time - $t0));

	# ~75 bytes a row in the journal: half of it must be there before COMMIT
	my $want = int($ROWS * 75 / 2);
	my $grown = 0;
	$deadline = time + ($streams ? 120 : 4);
	while (time < $deadline)
	{
		$grown = dir_bytes($dir) - $before;
		last if $streams && $grown > $want;
		sleep 0.5;
	}
	note("$smaj: the work directory grew by $grown bytes while the transaction was open");
	if ($streams)
	{
		cmp_ok($grown, '>', $want,
			"$smaj: the journal grows while the transaction is open (streamed)");
		cmp_ok(query_value($source, 'postgres',
				q{SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = 'slot_big'}),
			'>', 0, "$smaj: the source streamed the transaction (pg_stat_replication_slots)");
	}
	else
	{
		cmp_ok($grown, '<', $want,
			"$smaj: without streaming, the journal does not hold the open transaction");
	}
	is(query_value($target, $db, 'SELECT count(*) FROM public.big'), 0,
		"$smaj: nothing of the open transaction on the target");

	$s{in} .= "COMMIT;\n";
	# a large transaction rolled back (streamed, then aborted)
	$s{in} .= qq{BEGIN;
INSERT INTO public.big SELECT g, 'x', 'rolled back' FROM generate_series(-$SUB_ROWS * 5, -1) g;
SELECT pg_sleep(1);
ROLLBACK;
INSERT INTO public.small VALUES (1001, 'last');
\\q
};
	eval { $s{h}->finish; 1 } or diag("psql: $@");
	is($s{h}->result(0), 0, "$smaj: COMMIT, then a rolled-back transaction") or diag($s{err});

	my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos',
		'--current', '--source', uri($source, $db), '--dir', $dir);
	is($rc, 0, "$smaj: sentinel set endpos") or diag($err);
	$deadline = time + 600;
	sleep 0.2 while time < $deadline && pgshift_running($h);
	($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, "$smaj: clone --follow exits 0") or diag(tail_lines($err, 30));
	is(query_value($target, $db, q{SELECT count(*) FROM public.big WHERE tag = 'kept'}), $ROWS,
		"$smaj: every row of the committed transaction on the target");
	is(query_value($target, $db, q{SELECT count(*) FROM public.big WHERE tag <> 'kept'}), 0,
		"$smaj: no row of the aborted subtransaction or transaction");
	compare_table_data($source, $target, $db);
	my @spools = glob("$dir/cdc/stream-*.spool");
	is(scalar @spools, 0, "$smaj: no spool left") or diag("@spools");
	like(slurp_file("$dir/pgshift.log"), qr/streamed transactions: [1-9]\d* committed, [1-9]\d* aborted/,
		"$smaj: the log counts the streamed transactions") if $streams;
	run_pgshift('stream', 'cleanup', @conn, '--slot-name', 'slot_big', '--origin', 'origin_big');
	$_->teardown_node for ($source, $target);
	return;
}

subtest 'source 15: streamed while open' => sub { scenario(15, 1) };
subtest 'source 13: not streamed' => sub { scenario(13, 0) } if -x '/opt/pgshift-pg/13/bin/postgres' || $ENV{PGSHIFT_PG_ROOT};

done_testing();
