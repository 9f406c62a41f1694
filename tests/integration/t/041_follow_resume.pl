# pgshift clone --follow killed with SIGKILL in the middle of the apply
# phase, then `pgshift follow --resume --endpos LSN`: everything must be on
# the target exactly once.
#
# How the backlog is made: the test holds SHARE lock on the target's pg_class
# (a "gate") before starting clone --follow, so the copy cannot create the
# schema on the target.  Meanwhile the slot exists and the source gets the
# workload (follow_resume_workload.sql: about 8,000 one-row transactions and
# a few large ones, plus pgbench -t 1000 -c 2).  The end position is then
# taken (pg_current_wal_lsn()) and the gate opened: the copy runs, and the
# applier works through the backlog.  As soon as the target's origin progress
# (pg_replication_origin_status.remote_lsn, polled every 50 ms) is a third of
# the way from the slot's start to the end, the follower gets SIGKILL.
#
# Checks after `follow --resume`: exit 0; every table (count + checksum) and
# sequence equal (app.kv has a primary key: an INSERT applied twice would
# fail; app.tally has no key and counters incremented by UPDATE: applied
# twice, they would differ); the last transaction before the end position is
# there; the applier restarted from the origin's progress; the slot's
# confirmed_flush_lsn advanced.
#
# The journal rotates every 256 kB here (PGSHIFT_JOURNAL_SEGMENT_SIZE) and
# segments already applied are removed while the applier works, so the
# resumed run starts from a segment that follows removed ones: with pgoutput,
# the tables' Relation messages of the first run's session are only in the
# removed segments, unless each segment repeats them (it must).
#
# Done with --plugin pgoutput, test_decoding and wal2json (skipped, with a
# note, when its library is not installed).
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
my $schema   = "$sqldir/follow_resume.sql";
my $workload = "$sqldir/follow_resume_workload.sql";

my %small_segments = (PGSHIFT_JOURNAL_SEGMENT_SIZE => 256 * 1024);

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}


sub lsn_cmp
{
	my ($node, $a, $op, $b) = @_;
	return query_value($node, 'postgres', "SELECT '$a'::pg_lsn $op '$b'::pg_lsn") eq 't';
}

sub scenario
{
	my ($plugin) = @_;
	my $db     = "resume_$plugin";
	my $slot   = "rslot_$plugin";
	my $origin = "rorigin_$plugin";

	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	load_sql_file($source, $db, $schema);
	$source->command_ok(
		[ 'pgbench', '-i', '-s', '1', '-q', '-h', $source->host, '-p', $source->port, $db ],
		"$plugin: pgbench -i -s 1");
	psql_do($source, $db, 'ALTER TABLE public.pgbench_history REPLICA IDENTITY FULL');

	my $dir = work_dir("resume_$plugin");
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir);
	my @cdc = ('--plugin', $plugin, '--slot-name', $slot, '--origin', $origin);

	# ------------------------------------------------ backlog behind a gate
	my $gate = gate_close($target, $db);
	my $h = start_pgshift({ timeout => 900, env => \%small_segments }, 'clone', '--follow', @conn, @cdc,
		'--table-jobs', '2', '--index-jobs', '2');
	ok(wait_until(120, sub { !pgshift_running($h) || ${ $h->{err} } =~ /created replication slot/ }),
		"$plugin: slot created")
	  and ok(pgshift_running($h), "$plugin: clone --follow is running")
	  or do {
		gate_open($gate);
		kill 'KILL', $h->{pid};
		my ($rc, $out, $err) = finish_pgshift($h);
		diag("clone --follow exited $rc: " . tail_lines($err));
		return;
	  };
	my $slot_lsn = query_value($source, 'postgres',
		"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'");
	ok(defined $slot_lsn, "$plugin: the slot is there, at $slot_lsn");

	my $t0 = time;
	load_sql_file($source, $db, $workload);
	$source->command_ok(
		[ 'pgbench', '-n', '-c', '2', '-t', '1000', '-h', $source->host, '-p', $source->port, $db ],
		"$plugin: pgbench -t 1000 -c 2");
	psql_do($source, $db, q{INSERT INTO app.kv (id, v) VALUES (-1, 'last before endpos')});
	my $endpos = query_value($source, $db, 'SELECT pg_current_wal_lsn()');
	note(sprintf('%s: backlog of %s bytes of WAL made in %.1fs', $plugin,
		query_value($source, $db, "SELECT pg_wal_lsn_diff('$endpos', '$slot_lsn')"), time - $t0));
	ok(pgshift_running($h), "$plugin: clone --follow still waits for the gate")
	  or diag(tail_lines(${ $h->{err} }));
	gate_open($gate);

	# ------------------------------------------------- SIGKILL mid-apply
	# (a third of the way through the backlog's WAL, so that the kill does
	# not land right after the first transaction)
	my $progress_sql = qq{SELECT coalesce(
	    (SELECT pg_wal_lsn_diff(remote_lsn, '$slot_lsn') > pg_wal_lsn_diff('$endpos', '$slot_lsn') / 3
	            AND remote_lsn < '$endpos'::pg_lsn
	       FROM pg_replication_origin_status WHERE external_id = '$origin'), false)};
	my $mid = wait_until(300, sub {
		return 1 unless pgshift_running($h);
		return query_value($target, 'postgres', $progress_sql) eq 't';
	});
	my $running = pgshift_running($h);
	kill 'KILL', $h->{pid} if $running;
	my ($rc, $out, $err) = finish_pgshift($h);
	ok($mid && $running, "$plugin: the follower was killed while applying the backlog")
	  or diag("exit $rc; stderr:\n" . tail_lines($err));
	is($rc, 137, "$plugin: killed by SIGKILL (exit 137)");
	my $killed_at = query_value($target, 'postgres',
		"SELECT remote_lsn FROM pg_replication_origin_status WHERE external_id = '$origin'");
	like($err, qr/base copy done/, "$plugin: it was past the copy");
	ok(defined $killed_at && lsn_cmp($target, $killed_at, '<', $endpos),
		"$plugin: origin progress at the kill ($killed_at) is before the end ($endpos)");
	my @segments = sort { $a <=> $b } map { m{/(\d+)\.journal$} ? $1 + 0 : () } glob("$dir/cdc/*.journal");
	cmp_ok($segments[0] // 0, '>', 1,
		"$plugin: applied journal segments were removed before the kill (left: "
		  . (@segments ? "$segments[0]..$segments[-1]" : 'none') . ')');
	isnt(query_value($target, $db, 'SELECT count(*) FROM app.kv'),
		query_value($source, $db, 'SELECT count(*) FROM app.kv'),
		"$plugin: the target is not caught up yet");

	# ------------------------------------------------------------ resume
	my $t1 = time;
	($rc, $out, $err) = run_pgshift({ timeout => 300, env => \%small_segments },
		'follow', '--resume', @conn, @cdc, '--endpos', $endpos);
	note(sprintf('%s: follow --resume took %.1fs', $plugin, time - $t1));
	is($rc, 0, "$plugin: follow --resume --endpos exits 0")
	  or diag("stderr:\n" . tail_lines($err, 30));
	my ($from) = $err =~ /applying changes on the target from origin "\Q$origin\E" progress (\S+)/;
	ok(defined $from && lsn_cmp($target, $from, '>=', $killed_at),
		"$plugin: the applier restarted from the origin's progress (" . ($from // '?') . ')');
	like($err, qr/applier stopped at \S+: .*\(end position reached\)/,
		"$plugin: the applier stopped at the end position");

	is(query_value($target, $db, q{SELECT v FROM app.kv WHERE id = -1}),
		'last before endpos', "$plugin: the last transaction before the end position is applied");
	is(query_value($target, $db, q{SELECT string_agg(name || '=' || hits, ',' ORDER BY name, hits) FROM app.tally}),
		query_value($source, $db, q{SELECT string_agg(name || '=' || hits, ',' ORDER BY name, hits) FROM app.tally}),
		"$plugin: counters without key equal (nothing applied twice)");
	compare_table_data($source, $target, $db);
	compare_sequences($source, $target, $db);

	my $final = query_value($target, 'postgres',
		"SELECT remote_lsn FROM pg_replication_origin_status WHERE external_id = '$origin'");
	my $confirmed = query_value($source, 'postgres',
		"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'");
	ok(defined $confirmed && lsn_cmp($source, $confirmed, '>', $slot_lsn),
		"$plugin: the slot's confirmed_flush_lsn advanced ($slot_lsn -> " . ($confirmed // '?') . ')');
	ok(defined $confirmed && defined $final && lsn_cmp($source, $confirmed, '>=', $final),
		"$plugin: confirmed_flush_lsn ($confirmed) is at or past what the target applied ($final)");

	($rc, $out, $err) = run_pgshift('stream', 'cleanup', @conn, @cdc);
	is($rc, 0, "$plugin: stream cleanup exits 0") or diag($err);
	is(query_value($source, 'postgres',
			"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'"),
		0, "$plugin: slot dropped");
	return;
}

for my $plugin (test_plugins($source))
{
	subtest "kill -9 mid-apply and follow --resume ($plugin)" => sub { scenario($plugin) };
}

done_testing();
