# pgshift cutover: fence the source, drain the follower, switch.
#
# cut_a: clone --follow, pgbench -c 2 -R 200 on the source (plus a table
#   filled through a sequence), then `pgshift cutover` with the built-in
#   fence and a --switch-command.  Checked with the servers' own views: the
#   target equals the source (every table; every sequence's last_value at
#   or past the source's), a new source session cannot write (SQLSTATE
#   25006) and pg_db_role_setting holds the fence, the follower exited 0,
#   the switch command saw the target's connection string without its
#   password.  A second cutover changes nothing (exit 0, the switch command
#   is not run again).
# cut_b: the failure paths, against one follower:
#   - --fence-command exits 1: exit 11, the unfence command ran, the source
#     takes writes, the follower still runs;
#   - the follower stopped (SIGSTOP) after the ready check: the drain cannot
#     finish within --timeout 3s: exit 11, the source takes writes (a new
#     INSERT commits, pg_db_role_setting has no default_transaction_read_only),
#     and once continued the follower keeps following (a new row reaches the
#     target);
#   - the same, interrupted (SIGINT) once the fence is in place: exit 11,
#     the fence undone;
#   - then a cut-over with a --fence-command that succeeds: exit 0, the
#     unfence command is not run, the target equals the source.
# cut_r: cutover --reverse makes the slot and publication on the target and
#   the origin on the source; rows written on the new server then, followed
#   back with `pgshift follow --source NEW --target OLD --local-only` (the
#   old database still fenced for everyone else), make both equal again; a
#   transaction written on the new server under a replication origin is not
#   followed back.
use strict;
use warnings;

use File::Spec;
use IPC::Run ();
use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

# the target streams back to the source after a cut-over --reverse
my ($source, $target) = start_pair(
	target_conf => "wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10");
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}



# A database with pgbench's tables and one filled through a sequence.
sub make_db
{
	my ($db) = @_;
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	$source->command_ok(
		[ 'pgbench', '-i', '-s', '1', '-q', '-h', $source->host, '-p', $source->port, $db ],
		"$db: pgbench -i");
	psql_do($source, $db, q{
ALTER TABLE public.pgbench_history REPLICA IDENTITY FULL;
CREATE TABLE public.items (id bigserial PRIMARY KEY, v text);
CREATE SEQUENCE public.counter;
INSERT INTO public.items (v) SELECT 'seed ' || g FROM generate_series(1, 100) g;
});
	return;
}

# Starts clone --follow and waits for its base copy.
sub start_follower
{
	my ($db, $dir) = @_;
	my $h = start_pgshift({ timeout => 300 },
		'clone', '--follow', '--source', uri($source, $db), '--target', uri($target, $db),
		'--dir', $dir, '--slot-name', "slot_$db", '--origin', "origin_$db",
		'--publication', "pub_$db", '--table-jobs', '2', '--index-jobs', '2');
	ok(wait_output($h, qr/base copy done/, 90), "$db: the base copy is done")
	  or diag(tail_lines(${ $h->{err} }, 30));
	return $h;
}

sub cutover
{
	my ($db, $dir, @extra) = @_;
	return run_pgshift({ timeout => 120 }, 'cutover', '--source', uri($source, $db),
		'--target', uri($target, $db), '--dir', $dir, @extra);
}

sub db_fenced
{
	my ($db) = @_;
	return query_value($source, 'postgres', qq{
SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
 WHERE d.datname = '$db' AND s.setrole = 0
   AND EXISTS (SELECT 1 FROM unnest(s.setconfig) g(v)
                WHERE g.v LIKE 'default_transaction_read_only=%')});
}

# A new session's INSERT: '' when it commits, else the SQLSTATE it failed with.
sub insert_error
{
	my ($db, $v) = @_;
	my ($rc, $out, $err) = $source->psql($db,
		"\\set VERBOSITY verbose\nINSERT INTO public.items (v) VALUES ('$v')");
	return '' if $rc == 0;
	my ($state) = $err =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return $state // "rc $rc: $err";
}

# Every sequence of the target at or past the source's (pg_sequences).
sub sequences_at_or_past
{
	my ($db) = @_;
	my $q = q{SELECT schemaname || '.' || sequencename || '=' || coalesce(last_value, 0)
	            FROM pg_sequences ORDER BY 1};
	my %src = map { split /=/ } split /\n/, query_value($source, $db, "SELECT string_agg(x, E'\\n') FROM ($q) s(x)");
	my %tgt = map { split /=/ } split /\n/, query_value($target, $db, "SELECT string_agg(x, E'\\n') FROM ($q) s(x)");
	my @bad = grep { !defined $tgt{$_} || $tgt{$_} < $src{$_} } sort keys %src;
	ok(keys %src >= 2 && !@bad, "$db: every target sequence at or past the source's")
	  or diag("behind: @bad; source: @{[ %src ]}; target: @{[ %tgt ]}");
	return;
}

# ------------------------------------------------ cut_a: under load
{
	my $db  = 'cut_a';
	my $dir = work_dir('cut_a');
	make_db($db);
	my $h = start_follower($db, $dir);

	my $script = File::Spec->catfile($dir, 'items.sql');
	open my $fh, '>', $script or die $!;
	print $fh "INSERT INTO public.items (v) VALUES ('pgbench');\n";
	print $fh "SELECT nextval('public.counter');\n";
	close $fh;
	my $pgbench = bg('pgbench', '-n', '-c', '2', '-j', '1', '-R', '200', '-T', '60',
		'-f', "$script\@1", '-b', 'tpcb-like@1',
		'-h', $source->host, '-p', $source->port, $db);
	sleep 4;
	ok(pgshift_running($h), 'cut_a: the follower runs under load');

	my $marker = "$dir/switched";
	my ($rc, $out, $err) = cutover($db, $dir, '--switch-command',
		qq{printf '%s' "\$PGSHIFT_TARGET_PGURI" > '$marker'});
	is($rc, 0, 'cut_a: cutover exits 0') or diag($err);
	like($out, qr/cut-over completed: writes unavailable for [\d.]+ s/, 'cut_a: the window is reported');
	for my $ev ('ready', 'fence started', 'fence in place', 'drain done', 'sequences', 'switch done')
	{
		like($out, qr/^\s+\Q$ev\E\s/m, "cut_a: the timeline has \"$ev\"");
	}
	ok(wait_exit($h, 30), 'cut_a: the follower exits after the cut-over');
	my ($frc) = finish_pgshift($h);
	is($frc, 0, 'cut_a: the follower exited 0');
	eval { $pgbench->{h}->finish };    # its sessions were ended by the fence

	my $json = -f "$dir/cutover.json" ? slurp_file("$dir/cutover.json") : '';
	like($json, qr/"status": "completed"/, 'cut_a: cutover.json says completed');
	my $switched = -f $marker ? slurp_file($marker) : '';
	like($switched, qr/port='?@{[ $target->port ]}/, 'cut_a: the switch command got the target');
	unlike($switched, qr/\Q$TEST_PASSWORD\E|password/, 'cut_a: ... without its password');

	is(db_fenced($db), 1, 'cut_a: pg_db_role_setting holds the fence');
	is(insert_error($db, 'after'), '25006', 'cut_a: a new session cannot write (25006)');
	cmp_ok(query_value($source, $db, q{SELECT count(*) FROM public.items WHERE v = 'pgbench'}),
		'>', 50, 'cut_a: pgbench wrote through the stream');
	compare_tables($source, $target, $db);
	compare_table_data($source, $target, $db);
	sequences_at_or_past($db);

	my ($lrc, $lout) = run_pgshift('list', 'progress', '--dir', $dir);
	like($lout, qr/Cut-over: completed/, 'cut_a: list progress shows the cut-over');

	unlink $marker;
	($rc, $out, $err) = cutover($db, $dir, '--switch-command', "touch '$marker'");
	is($rc, 0, 'cut_a: a second cutover exits 0');
	like($out, qr/already completed/, 'cut_a: ... says it is done');
	ok(!-e $marker, 'cut_a: ... and runs no switch command');
	is(db_fenced($db), 1, 'cut_a: ... and leaves the fence as it was');
	($rc, $out, $err) = run_pgshift('follow', '--resume', '--source', uri($source, $db),
		'--target', uri($target, $db), '--dir', $dir);
	is($rc, 6, 'cut_a: following again in the cut-over directory is refused');
}

# ------------------------------------------------ cut_r: the way back
{
	my $db  = 'cut_r';
	my $dir = work_dir('cut_r');
	make_db($db);
	my $h = start_follower($db, $dir);
	psql_do($source, $db, q{INSERT INTO public.items (v) SELECT 'before ' || g FROM generate_series(1, 20) g});
	my ($rc, $out, $err) = cutover($db, $dir, '--reverse');
	is($rc, 0, 'cut_r: cutover --reverse exits 0') or diag($err);
	like($out, qr/pgshift follow --source NEW --target OLD/, 'cut_r: it says how to follow back');
	ok(wait_exit($h, 30), 'cut_r: the forward follower exits');
	my ($frc) = finish_pgshift($h);
	is($frc, 0, 'cut_r: the forward follower exited 0');
	is(query_value($target, $db,
			q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgshift_reverse'}),
		1, 'cut_r: the reverse slot is on the target');
	is(query_value($source, $db,
			q{SELECT count(*) FROM pg_replication_origin WHERE roname = 'pgshift_reverse'}),
		1, 'cut_r: the reverse origin is on the source');

	# the application writes on the new server
	psql_do($target, $db, q{
INSERT INTO public.items (v) SELECT 'on new ' || g FROM generate_series(1, 50) g;
UPDATE public.pgbench_accounts SET abalance = abalance + 7 WHERE aid <= 500;
DELETE FROM public.items WHERE v LIKE 'before 1%';
INSERT INTO public.pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 5, now());
SELECT nextval('public.counter') FROM generate_series(1, 3);
});
	# a transaction a replication applied on the new server (it carries an
	# origin): --local-only keeps it from looping back
	psql_do($target, $db, q{SELECT pg_replication_origin_create('elsewhere')});
	psql_do($target, $db, q{
SELECT pg_replication_origin_session_setup('elsewhere');
INSERT INTO public.items (v) VALUES ('looped');
});
	psql_do($target, $db, q{INSERT INTO public.items (v) VALUES ('last on new')});
	my $endpos = query_value($target, $db, 'SELECT pg_current_wal_lsn()');
	($rc, $out, $err) = run_pgshift({ timeout => 120 }, 'follow',
		'--source', uri($target, $db), '--target', uri($source, $db),
		'--dir', work_dir('cut_r_reverse'), '--slot-name', 'pgshift_reverse',
		'--publication', 'pgshift_reverse', '--origin', 'pgshift_reverse', '--local-only',
		'--endpos', $endpos);
	is($rc, 0, 'cut_r: the reverse follow exits 0') or diag($err);
	is(query_value($source, $db, q{SELECT count(*) FROM public.items WHERE v LIKE 'on new %'}),
		50, 'cut_r: the new server\'s rows are on the old one');
	is(query_value($source, $db, q{SELECT count(*) FROM public.items WHERE v = 'last on new'}),
		1, 'cut_r: ... up to the last one');
	is(query_value($source, $db, q{SELECT count(*) FROM public.items WHERE v = 'looped'}),
		0, 'cut_r: the transaction with a replication origin did not loop back');
	psql_do($target, $db, q{DELETE FROM public.items WHERE v = 'looped'});
	compare_tables($target, $source, $db);
	compare_table_data($target, $source, $db);
	is(db_fenced($db), 1, 'cut_r: the old database stays read-only for the others');
	my ($lrc, $lout) = run_pgshift('list', 'progress', '--dir', $dir, '--json');
	my $doc = eval { JSON::PP::decode_json($lout) };
	is($doc && $doc->{cutover} && $doc->{cutover}{status}, 'completed',
		'cut_r: list progress --json holds the cut-over');
}

# ------------------------------------------------ cut_b: failures
{
	my $db  = 'cut_b';
	my $dir = work_dir('cut_b');
	make_db($db);
	my $h = start_follower($db, $dir);
	my ($fm, $um) = ("$dir/fence.marker", "$dir/unfence.marker");

	# the wrong source database: refused before any change
	my ($rc, $out, $err) = run_pgshift('cutover', '--source', uri($source, 'postgres'),
		'--dir', $dir);
	is($rc, 6, 'cut_b: a --source other than the follower\'s is refused');
	is(db_fenced('postgres'), 0, 'cut_b: ... and nothing is fenced there');

	# the fence command fails
	($rc, $out, $err) = cutover($db, $dir,
		'--fence-command', "echo fence > '$fm'; exit 1",
		'--unfence-command', "echo unfence > '$um'");
	is($rc, 11, 'cut_b: a failing fence command: exit 11') or diag($err);
	ok(-e $fm && -e $um, 'cut_b: the fence and unfence commands both ran');
	like($err, qr/source takes writes again/, 'cut_b: the message says the source takes writes');
	ok(pgshift_running($h), 'cut_b: the follower still runs');
	is(insert_error($db, 'after fence command'), '', 'cut_b: the source takes writes');

	# the follower stopped after the ready check: the drain cannot finish
	my $sqlite = (grep { -x "$_/sqlite3" } split /:/, $ENV{PATH})[0];
	SKIP:
	{
		skip 'sqlite3 command not found', 9 unless $sqlite;
		# caught up with the source's current position (what the follower
		# publishes in state.db), so that the ready check passes once it stops
		my $caught_up = sub {
			my $lsn = query_value($source, $db, 'SELECT pg_current_wal_lsn()');
			my $deadline = time + 30;
			while (time < $deadline)
			{
				my $st = '';
				IPC::Run::run([ "$sqlite/sqlite3", "$dir/state.db",
						"SELECT value FROM meta WHERE key = 'follow_status'" ], '>', \$st);
				my ($up) = $st =~ /^\d+ (\S+) /;
				return 1 if $up
				  && query_value($source, $db, "SELECT '$up'::pg_lsn >= '$lsn'::pg_lsn") eq 't';
				sleep 0.2;
			}
			return 0;
		};
		# The follower stopped (SIGSTOP) once caught up; if the source wrote
		# WAL meanwhile (a background record), the ready check refuses (exit
		# 6, nothing changed): the follower goes on, and we try again.
		my $stopped = sub {
			my ($run) = @_;
			my @r;
			for my $try (1 .. 5)
			{
				$caught_up->() or last;
				kill 'STOP', $h->{pid};
				@r = $run->();
				kill 'CONT', $h->{pid};
				last unless $r[0] == 6;
				note('the ready check refused (WAL written after the follower stopped): again');
			}
			return @r;
		};
		($rc, $out, $err) =
		  $stopped->(sub { cutover($db, $dir, '--timeout', '3s', '--wait', '1s') });
		is($rc, 11, 'cut_b: a drain that cannot finish: exit 11') or diag($err);
		like($err, qr/drain did not finish within --timeout.*\n(?:.*\n)*.*source takes writes again/,
			'cut_b: ... with the reason and that the source takes writes');
		is(db_fenced($db), 0, 'cut_b: pg_db_role_setting has no default_transaction_read_only');
		is(insert_error($db, 'after abort'), '', 'cut_b: a new INSERT commits');
		my $got = 0;
		my $deadline = time + 30;
		while (!$got && time < $deadline)
		{
			$got = query_value($target, $db,
				q{SELECT count(*) FROM public.items WHERE v = 'after abort'});
			sleep 0.2 unless $got;
		}
		ok($got && pgshift_running($h), 'cut_b: the follower follows on after the abort');

		# Ctrl-C once the fence is in place (the follower stopped again)
		my $fenced;
		($rc, $out, $err) = $stopped->(sub {
			my $c = start_pgshift({ timeout => 120 }, 'cutover', '--source', uri($source, $db),
				'--target', uri($target, $db), '--dir', $dir, '--timeout', '60s', '--wait', '1s');
			$fenced = wait_output($c, qr/fence in place/, 30);
			kill 'INT', $c->{pid};
			return finish_pgshift($c);
		});
		ok($fenced, 'cut_b: the fence was in place before the interrupt');
		is($rc, 11, 'cut_b: interrupted after the fence: exit 11');
		is(db_fenced($db), 0, 'cut_b: ... and the fence is undone');
		is(insert_error($db, 'after interrupt'), '', 'cut_b: ... a new INSERT commits');
	}

	# a fence command that works
	unlink $fm, $um;
	($rc, $out, $err) = cutover($db, $dir,
		'--fence-command', "echo fence > '$fm'",
		'--unfence-command', "echo unfence > '$um'");
	is($rc, 0, 'cut_b: cutover with a fence command exits 0') or diag($err);
	ok(-e $fm && !-e $um, 'cut_b: the fence command ran, the unfence command did not');
	ok(wait_exit($h, 30), 'cut_b: the follower exits');
	my ($frc) = finish_pgshift($h);
	is($frc, 0, 'cut_b: the follower exited 0');
	compare_tables($source, $target, $db);
	compare_table_data($source, $target, $db);
	sequences_at_or_past($db);
}

done_testing();
