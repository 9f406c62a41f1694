# pgshift clone --resume: a clone killed (kill -9, with its pg_restore
# children) at a chosen moment, then resumed with --resume --not-consistent,
# gives a target equal to the source (compare_all: no lost or duplicated
# rows, no missing or doubled objects), without redoing what was done.
#
# Kill points, each from a fresh target database:
#   pre-data       pg_restore of the pre-data section part done
#   copy           app.big (4 parts): two parts done, one in flight; one of
#                  the done parts is then marked "running" in state.db, as
#                  if the run died between the target's COMMIT and its own
#                  bookkeeping: the resume must find it committed (its row in the target's progress table)
#   index          an index built, and the CREATE INDEX in flight is the one
#                  of app.big's replica identity or CLUSTER index
#   large objects  one batch (of 10) done, the next one in its target transaction
#   post-data      the materialized view refresh in flight (triggers created)
#   target crash   the TARGET stopped with -m immediate mid-copy, restarted
#   lost commit    white-box: a part committed on the target but recorded
#                  "failed" (as when the connection breaks after the server
#                  committed): the resume must not copy it twice
#   held snapshot  first run and resume both use --snapshot of a snapshot held
#                  by `pgshift snapshot`: rows written on the source after the
#                  snapshot must not reach the target
# Around resume: a second run without --resume/--restart exits 5;
# --resume with another --split-tables-larger-than exits 1; --resume without
# --not-consistent once the snapshot is gone exits 6; --resume of a finished
# run changes nothing; --restart discards the state and, with
# --drop-if-exists, redoes everything.
#
# No writes happen on the source except in the held snapshot scenario, so a
# resume with --not-consistent (a new snapshot) sees the same data.  Before
# each resume the test waits for the killed run's sessions to leave the
# target (a CREATE INDEX or REFRESH whose client died runs to its end).
#
# The work directory's state.db is read with the sqlite3 CLI (Debian package
# sqlite3), the target's activity with psql.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run ();
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my $fixture =
  File::Spec->rel2abs(dirname(__FILE__) . '/../sql/resume_schema.sql');
my $DB = 'resume';

# the sqlite3 CLI reads the run's state.db while it runs
my $have_sqlite3 = eval {
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'sqlite3', '-version' ], '>', \$o, '2>', \$e);
} || 0;
if (!$have_sqlite3)
{
	fail('the sqlite3 command-line tool is installed (scripts/install-deps.sh: sqlite3)');
	done_testing();
	exit 0;
}

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}
psql_do($source, 'postgres', "CREATE DATABASE $DB");
load_sql_file($source, $DB, $fixture);
psql_do($source, $DB, 'VACUUM ANALYZE');

cmp_ok(query_value($source, $DB, q{SELECT pg_table_size('app.big')}),
	'>', 4 * 6 * 1024 * 1024,
	'app.big is large enough for 4 parts at 6MB');

my @CLONE = (
	'clone',
	'--source', uri($source, $DB),
	'--target', uri($target, $DB),
	'--table-jobs', '2', '--index-jobs', '2', '--large-objects-jobs', '1',
	'--split-tables-larger-than', '6MB', '--split-max-parts', '4');
my @RESUME = ('--resume', '--not-consistent');

###########################################################################
# helpers
###########################################################################

sub show
{
	my ($out, $err) = @_;
	return "stdout:\n" . tail_lines($out // '', 20) . "\nstderr:\n"
	  . tail_lines($err // '', 40);
}

# Rows of a query on the work directory's state.db ([] when it cannot be
# read yet).
sub state_rows
{
	my ($dir, $sql) = @_;
	return [] unless -f "$dir/state.db";
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run(
			[
				'sqlite3', '-batch', '-noheader', '-separator', '|',
				'-cmd', '.timeout 5000', "$dir/state.db", $sql
			],
			'>', \$out, '2>', \$err,
			IPC::Run::timeout(30));
	};
	return [] unless $ok;
	return [ map { [ split /\|/, $_, -1 ] } split /\n/, $out ];
}

# Change state.db (white-box tests); true when sqlite3 succeeded.
sub state_exec
{
	my ($dir, $sql) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run([ 'sqlite3', '-batch', '-cmd', '.timeout 5000', "$dir/state.db", $sql ],
			'>', \$out, '2>', \$err, IPC::Run::timeout(30));
	};
	diag("sqlite3 failed: $err") unless $ok;
	return $ok;
}

sub state_value
{
	my ($dir, $sql) = @_;
	my $r = state_rows($dir, $sql);
	return @$r ? $r->[0][0] : undef;
}

# Everything about the tasks that a resume must not have changed.
sub task_table
{
	my ($dir) = @_;
	return join("\n",
		map { join('|', @$_) } @{
			state_rows($dir,
				'SELECT kind, obj_oid, part, status, attempts FROM tasks ORDER BY 1, 2, 3')
		});
}

sub step_status
{
	my ($dir, $step) = @_;
	return state_value($dir, "SELECT status FROM steps WHERE name = '$step'")
	  // '';
}

# (done, running) counts of the tasks matching a condition
sub task_counts
{
	my ($dir, $where) = @_;
	my $r = state_rows($dir,
		"SELECT coalesce(sum(status = 'done'), 0), coalesce(sum(status = 'running'), 0) "
		  . "FROM tasks WHERE $where");
	return @$r ? @{ $r->[0] } : (0, 0);
}

my $BIG_PARTS = q{kind = 'copy' AND label LIKE '"app"."big" part %'};

# A fresh, empty target database.
sub fresh_target
{
	psql_do($target, 'postgres', "DROP DATABASE IF EXISTS $DB WITH (FORCE)");
	psql_do($target, 'postgres', "CREATE DATABASE $DB");
}

# Poll $cond every 20 ms while the background pgshift runs.  True when the
# condition held while it was still running.
sub wait_while_running
{
	my ($h, $timeout, $cond, @args) = @_;
	my $deadline = time + $timeout;
	while (time < $deadline)
	{
		return 0 unless pgshift_running($h);
		return 1 if $cond->(@args);
		sleep(0.02);
	}
	return 0;
}

# Every process under $pid (children first found, then theirs).
sub descendants
{
	my ($pid) = @_;
	my %kids;
	opendir(my $d, '/proc') or return ();
	for my $p (grep { /^\d+$/ } readdir $d)
	{
		open(my $fh, '<', "/proc/$p/stat") or next;
		my $stat = <$fh>;
		close $fh;
		next unless defined $stat && $stat =~ /^\d+ \(.*\) \S+ (\d+) /s;
		push @{ $kids{$1} }, $p;
	}
	closedir $d;
	my @all;
	my @todo = ($pid);
	while (@todo)
	{
		my $p = shift @todo;
		for my $k (@{ $kids{$p} // [] })
		{
			push @all, $k;
			push @todo, $k;
		}
	}
	return @all;
}

# kill -9 the background pgshift and everything it started (pg_dump,
# pg_restore and pg_restore's workers): stopped first, so that it cannot
# start another child meanwhile.
sub kill_run
{
	my ($h) = @_;
	kill 'STOP', $h->{pid};
	my @kids = descendants($h->{pid});
	kill 'KILL', $h->{pid}, @kids;
	note("killed pgshift $h->{pid}" . (@kids ? " and its children @kids" : ''));
	my ($rc, $out, $err) = finish_pgshift($h);
	return ($rc, $out, $err);
}

# Wait until the killed run's sessions have left the target (a CREATE INDEX
# or REFRESH in flight runs to its end after its client died).
sub wait_target_quiet
{
	my $deadline = time + 90;
	my $n;
	while (time < $deadline)
	{
		$n = query_value($target, 'postgres', qq{
SELECT count(*) FROM pg_stat_activity
 WHERE datname = '$DB' AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()});
		return 1 if $n == 0;
		sleep(0.2);
	}
	diag("$n sessions of the killed run still on the target");
	return 0;
}

# active queries on the target matching any of the patterns
sub target_active
{
	my @like = map { "'$_'" } @_;
	return query_value($target, 'postgres', qq{
SELECT count(*) FROM pg_stat_activity
 WHERE datname = '$DB' AND state = 'active' AND query ILIKE ANY (ARRAY[@{[ join(', ', @like) ]}])});
}

sub log_text
{
	my ($dir) = @_;
	return -f "$dir/pgshift.log" ? slurp_file("$dir/pgshift.log") : '';
}

# Start a clone into a fresh target, wait for $cond, kill it.  Returns the
# work directory, or undef when the kill point was not reached.  Some kill
# points are windows of a fraction of a second on a busy machine: a run that
# ends before its window was seen is started again (3 runs in all), from a
# fresh target and work directory; what is asserted after the kill is the same.
sub clone_and_kill
{
	my ($name, $what, $cond, @extra) = @_;
	my ($h, $dir);
	for my $attempt (1 .. 3)
	{
		fresh_target();
		$dir = work_dir(($name =~ s/\W+/_/gr) . ($attempt > 1 ? "_$attempt" : ''));
		$h = start_pgshift({ timeout => 300 }, @CLONE, '--dir', $dir, @extra);
		last if wait_while_running($h, 240, $cond, $dir);
		my ($rc, $out, $err) = finish_pgshift($h);
		diag("$name, run $attempt: pgshift exited with $rc before the kill point ($what)");
		next if $attempt < 3;
		fail("$name: the kill point ($what) was reached while pgshift ran");
		diag("pgshift exited with $rc before: " . show($out, $err));
		return undef;
	}
	my ($rc, $out, $err) = kill_run($h);
	is($rc, 128 + 9, "$name: pgshift killed with SIGKILL $what")
	  or diag(show($out, $err));
	ok(wait_target_quiet(), "$name: the killed run's sessions left the target");
	return $dir;
}

# What compare_all does not look at: the index the table is CLUSTERed on.
# And its replica identity, said explicitly.
sub check_cluster_and_replident
{
	my ($name) = @_;
	my $sql = q{
SELECT coalesce((SELECT indexrelid::regclass::text FROM pg_index
                  WHERE indrelid = 'app.big'::regclass AND indisclustered), '-')
       || ' / ' || relreplident::text || ' '
       || coalesce((SELECT indexrelid::regclass::text FROM pg_index
                     WHERE indrelid = 'app.big'::regclass AND indisreplident), '-')
  FROM pg_class WHERE oid = 'app.big'::regclass};
	is(query_value($target, $DB, $sql), query_value($source, $DB, $sql),
		"$name: app.big is CLUSTERed on the same index, with the same replica identity");
}

sub resume_ok
{
	my ($name, $dir, @extra) = @_;
	my ($rc, $out, $err) =
	  run_pgshift({ timeout => 300 }, @CLONE, '--dir', $dir, @extra);
	is($rc, 0, "$name: the resumed clone exits 0")
	  or diag(show($out, $err) . "\npgshift.log:\n" . tail_lines(log_text($dir), 60));
	is(state_value($dir, q{SELECT value FROM meta WHERE key = 'run_status'}),
		'done', "$name: state.db records the run as done")
	  if $rc == 0;
	return ($rc, $out, $err);
}

# attempts per task matching $where: { "kind/oid/part" => attempts }
sub attempts_of
{
	my ($dir, $where) = @_;
	my %a = map { ("$_->[0]/$_->[1]/$_->[2]" => $_->[3]) } @{
		state_rows($dir,
			"SELECT kind, obj_oid, part, attempts FROM tasks WHERE $where")
	};
	return \%a;
}

###########################################################################
# 1. kill during pre-data: redone from a clean slate (drops first)
###########################################################################
my $FILLERS = q{SELECT count(*) FROM pg_views
 WHERE schemaname = 'app' AND viewname LIKE 'filler%'};
{
	my $name = 'pre-data';
	my $dir = clone_and_kill(
		$name,
		'with part of the pre-data section restored',
		sub {
			my ($dir) = @_;
			return 0 unless step_status($dir, 'pre-data') eq 'running';
			my $n = query_value($target, $DB, $FILLERS);
			return $n >= 30 && $n < 600;
		});
	if ($dir)
	{
		my $n = query_value($target, $DB, $FILLERS);
		cmp_ok($n, '<', 600, "$name: the target holds part of the pre-data objects ($n of 600 views)");
		is(step_status($dir, 'pre-data'), 'running',
			"$name: state.db has the pre-data step unfinished");
		is(state_value($dir, q{SELECT count(*) FROM tasks WHERE status <> 'queued'}) // 0,
			0, "$name: no task started before the kill");
		resume_ok($name, $dir, @RESUME);
		compare_all($source, $target, $DB);
		check_cluster_and_replident($name);
	}
}

###########################################################################
# 2. kill mid-COPY of the split table; then the checks around --resume
###########################################################################
{
	my $name = 'copy';
	my $dir = clone_and_kill(
		$name,
		'with two parts of app.big copied and another in flight',
		sub {
			my ($d, $r) = task_counts($_[0], $BIG_PARTS);
			return $d >= 2 && $r >= 1;
		});
	if ($dir)
	{
		my ($done, $running) = task_counts($dir, $BIG_PARTS);
		note("app.big parts at the kill: $done done, $running running");
		cmp_ok(query_value($target, $DB, 'SELECT count(*) FROM app.big'), '<', 130000,
			"$name: app.big is partly copied on the target");
		my $before = task_table($dir);
		isnt($before, '', "$name: state.db lists the tasks");
		my %done_before = map { ("$_->[0]/$_->[1]/$_->[2]" => 1) } @{
			state_rows($dir,
				"SELECT kind, obj_oid, part FROM tasks WHERE status = 'done'")
		};

		# the same directory without --resume or --restart: refused
		my ($rc, $out, $err) = run_pgshift(@CLONE, '--dir', $dir);
		is($rc, 5, "$name: a new run in the directory of an unfinished one exits 5")
		  or diag(show($out, $err));
		like($err, qr/--resume/, "$name: the message mentions --resume");
		like($err, qr/--restart/, "$name: the message mentions --restart");

		# --resume with another split threshold: refused, naming the setting
		my @other = map { $_ eq '6MB' ? '8MB' : $_ } @CLONE;
		($rc, $out, $err) = run_pgshift(@other, '--dir', $dir, @RESUME);
		is($rc, 1, "$name: --resume with another --split-tables-larger-than exits 1")
		  or diag(show($out, $err));
		like($err, qr/split-tables-larger-than/,
			"$name: the message names split-tables-larger-than");

		# --resume without --not-consistent: the first run's snapshot is gone
		($rc, $out, $err) = run_pgshift(@CLONE, '--dir', $dir, '--resume');
		is($rc, 6, "$name: --resume without --not-consistent once the snapshot is gone exits 6")
		  or diag(show($out, $err));
		like($err, qr/--not-consistent/, "$name: the message mentions --not-consistent");

		is(task_table($dir), $before, "$name: the refused runs left the tasks as they were");

		# A part whose target transaction committed but which the run did not
		# record as done (killed between COMMIT and the bookkeeping): its row in
		# the target's progress table, committed with its data, tells the resume.
		my ($flip) = @{
			state_rows($dir,
				"SELECT obj_oid, part FROM tasks WHERE $BIG_PARTS AND status = 'done' "
				  . "ORDER BY part LIMIT 1")
		};
		ok($flip, "$name: a part copied before the kill is recorded done");
		is(query_value($target, $DB,
				"SELECT count(*) FROM pgshift_progress.copied WHERE table_oid = $flip->[0] AND part = $flip->[1]"),
			'1', "$name: the target's progress table has that part") if $flip;
		ok(state_exec($dir,
				"UPDATE tasks SET status = 'running' WHERE kind = 'copy' AND obj_oid = $flip->[0] AND part = $flip->[1]"),
			"$name: state.db now has that part as running") if $flip;

		my $att_before = attempts_of($dir, $BIG_PARTS);
		($rc, $out, $err) = resume_ok($name, $dir, @RESUME);
		my ($n_done, $n_found) =
		  $err =~ /resuming: (\d+) of \d+ tasks already done \((\d+) copies found committed/;
		ok(defined $n_done, "$name: the resumed run reports the tasks done already");
		cmp_ok($n_done // 0, '>=', scalar(keys %done_before),
			"$name: every task done before the kill counts as done");
		cmp_ok($n_found // 0, '>=', 1,
			"$name: the parts committed on the target were found there");
		my $att = attempts_of($dir, $BIG_PARTS);
		my @redone = grep { $done_before{$_} && $att->{$_} != $att_before->{$_} } sort keys %$att;
		is("@redone", '',
			"$name: parts of app.big committed before the kill were not copied again");
		my @missing =
		  grep { !$done_before{$_} && $att->{$_} != $att_before->{$_} + 1 } sort keys %$att;
		is("@missing", '', "$name: the other parts were copied once by the resumed run");
		is(query_value($target, $DB, 'SELECT count(*) || \'/\' || count(DISTINCT id) FROM app.big'),
			'130000/130000', "$name: app.big has its 130000 rows, once each");
		compare_all($source, $target, $DB);
		check_cluster_and_replident($name);

		# resuming a run that is done already: nothing to do
		my $objs = q{SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)
                     || '/' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'app')
                     || '/' || (SELECT count(*) FROM app.big)};
		my $was = query_value($target, $DB, $objs);
		($rc, $out, $err) = run_pgshift({ timeout => 300 }, @CLONE, '--dir', $dir, @RESUME);
		is($rc, 0, "$name: --resume of a finished run exits 0")
		  or diag(show($out, $err));
		is(query_value($target, $DB, $objs), $was,
			"$name: --resume of a finished run changes nothing on the target");
	}
}

###########################################################################
# 3. kill mid-index build: CREATE INDEX of an index that is the replica
#    identity or the CLUSTER index (more than CREATE INDEX to do)
###########################################################################
{
	my $name = 'index';
	my $dir = clone_and_kill(
		$name,
		'with an index built and a CREATE INDEX in flight',
		sub {
			# one query per poll first (the window can be 0.3 s on a busy
			# machine), state.db only once one of the two is in flight
			return 0
			  unless target_active('CREATE UNIQUE INDEX big_grp_created_id_key %',
				'CREATE INDEX big_created_grp_idx %') > 0;
			my ($d, $r) = task_counts($_[0], q{kind = 'index'});
			return $d >= 1 && $r >= 1;
		});
	if ($dir)
	{
		my %done_before = map { ("$_->[0]/$_->[1]/$_->[2]" => 1) } @{
			state_rows($dir,
				"SELECT kind, obj_oid, part FROM tasks WHERE status = 'done' AND kind = 'index'")
		};
		cmp_ok(scalar(keys %done_before), '>=', 1, "$name: indexes built before the kill");
		cmp_ok(query_value($target, $DB,
				q{SELECT count(*) FROM pg_indexes WHERE schemaname = 'app' AND tablename = 'big'}),
			'<', 7, "$name: app.big does not have all its indexes at the kill");
		my $att_before = attempts_of($dir, q{kind = 'index'});
		resume_ok($name, $dir, @RESUME);
		my $att = attempts_of($dir, q{kind = 'index'});
		my @redone = grep { $done_before{$_} && $att->{$_} != $att_before->{$_} } sort keys %$att;
		is("@redone", '', "$name: indexes built before the kill were not built again");
		compare_all($source, $target, $DB);
		check_cluster_and_replident($name);
	}
}

###########################################################################
# 4. kill while the large objects are copied
###########################################################################
{
	my $name = 'large objects';
	my $dir = clone_and_kill(
		$name,
		'with a batch of large objects copied and the next one in flight',
		sub {
			my ($d, $r) = task_counts($_[0], q{kind = 'blobs'});
			return 0 unless $d >= 1 && $r >= 1;
			# the batch's target transaction is open and has written; and
			# the indexes with more to do than CREATE INDEX (scenario
			# "index") are not being built
			return query_value($target, 'postgres', qq{
SELECT count(*) FILTER (WHERE xact_start IS NOT NULL AND query LIKE '%lo_put%') > 0
       AND count(*) FILTER (WHERE state = 'active'
                              AND (query LIKE 'CREATE UNIQUE INDEX big_grp_created_id_key %'
                                   OR query LIKE 'CREATE INDEX big_created_grp_idx %')) = 0
  FROM pg_stat_activity WHERE datname = '$DB'}) eq 't';
		});
	if ($dir)
	{
		my $with_data = query_value($target, $DB,
			'SELECT count(DISTINCT loid) FROM pg_largeobject');
		ok($with_data >= 10 && $with_data < 200,
			"$name: at the kill, $with_data of 200 large objects have their contents");
		my %done_before = map { ("$_->[0]/$_->[1]/$_->[2]" => 1) } @{
			state_rows($dir,
				"SELECT kind, obj_oid, part FROM tasks WHERE status = 'done' AND kind = 'blobs'")
		};
		my $att_before = attempts_of($dir, q{kind = 'blobs'});
		resume_ok($name, $dir, @RESUME);
		my $att = attempts_of($dir, q{kind = 'blobs'});
		my @redone = grep { $done_before{$_} && $att->{$_} != $att_before->{$_} } sort keys %$att;
		is("@redone", '', "$name: batches copied before the kill were not copied again");
		compare_all($source, $target, $DB);
	}
}

###########################################################################
# 5. kill during post-data; then --restart
###########################################################################
{
	my $name = 'post-data';
	my $dir = clone_and_kill(
		$name,
		'during the post-data restore (materialized view refresh)',
		sub {
			return 0 unless step_status($_[0], 'post-data') eq 'running';
			return target_active('REFRESH MATERIALIZED VIEW%') > 0;
		});
	if ($dir)
	{
		is(step_status($dir, 'post-data'), 'running',
			"$name: state.db has the post-data step unfinished");
		is(query_value($target, $DB, q{SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal}),
			3, "$name: the triggers were created before the kill");
		resume_ok($name, $dir, @RESUME);
		compare_all($source, $target, $DB);

		# --restart: the state is discarded, everything is done again
		my $started = state_value($dir, q{SELECT value FROM meta WHERE key = 'run_started'});
		psql_do($target, $DB, q{
SET session_replication_role = replica;
DELETE FROM app.big WHERE id % 10 = 0;
DELETE FROM app.orders WHERE id % 7 = 0;
SELECT lo_unlink(min(oid)) FROM pg_largeobject_metadata;
});
		my ($rc, $out, $err) = run_pgshift({ timeout => 300 },
			@CLONE, '--dir', $dir, '--restart', '--drop-if-exists');
		is($rc, 0, 'restart: clone --restart --drop-if-exists exits 0')
		  or diag(show($out, $err));
		like($err, qr/discarding the previous run's state/,
			'restart: pgshift says it discards the previous state');
		isnt(state_value($dir, q{SELECT value FROM meta WHERE key = 'run_started'}),
			$started, 'restart: state.db holds a new run');
		is(state_value($dir, q{SELECT count(*) FROM tasks WHERE attempts <> 1}), 0,
			'restart: every task ran exactly once in the new run');
		compare_all($source, $target, $DB);
		check_cluster_and_replident('restart');
	}
}

###########################################################################
# 6. the TARGET stops (immediate) mid-copy, then comes back
###########################################################################
{
	my $name = 'target crash';
	fresh_target();
	my $dir = work_dir('target_crash');
	my $h = start_pgshift({ timeout => 300 }, @CLONE, '--dir', $dir);
	my $reached = wait_while_running(
		$h, 240,
		sub {
			my ($d, $r) = task_counts($dir, $BIG_PARTS);
			return $d >= 1 && $r >= 1;
		});
	ok($reached, "$name: a part of app.big copied and another in flight")
	  or diag(show(finish_pgshift($h)));
	if ($reached)
	{
		$target->stop('immediate');
		# pgshift retries its connections meanwhile
		sleep(2);
		$target->start;
		my ($rc, $out, $err) = finish_pgshift($h);
		# the workers attempt a part that lost its connection again (up to 3
		# times); the run's own session (sequences) is not retried
		ok($rc != 0 && $rc != 128 + 9 && $rc != -1,
			"$name: the run fails (its own session was lost): exit $rc")
		  or diag(show($out, $err));
		like($err, qr/copy "app"."big" part \d+\/\d+: connection lost .*trying again/,
			"$name: a part in flight is attempted again");
		my $failed = state_value($dir,
			"SELECT count(*) FROM tasks WHERE $BIG_PARTS AND status = 'failed'");
		is($failed, 0, "$name: state.db has no part of app.big failed (each was attempted again)");
		resume_ok($name, $dir, @RESUME);
		compare_all($source, $target, $DB);
	}
}

###########################################################################
# 7. a part whose COMMIT reached the target although the client saw it fail
#    (the connection broke): recorded failed, its row in the target's
#    progress table committed with its data.
#    White-box: the kill leaves a part done; state.db is changed to say the
#    part failed, as it would after a lost COMMIT reply.
###########################################################################
{
	my $name = 'lost commit';
	my $dir = clone_and_kill(
		$name,
		'with a part of app.big copied and another in flight',
		sub {
			my ($d, $r) = task_counts($_[0], $BIG_PARTS);
			return $d >= 1 && $r >= 1;
		});
	if ($dir)
	{
		my ($flip) = @{
			state_rows($dir,
				"SELECT obj_oid, part FROM tasks WHERE $BIG_PARTS AND status = 'done' "
				  . "ORDER BY part LIMIT 1")
		};
		ok($flip, "$name: a part copied before the kill is recorded done");
		if ($flip)
		{
			is(query_value($target, $DB,
					"SELECT count(*) FROM pgshift_progress.copied WHERE table_oid = $flip->[0] AND part = $flip->[1]"),
				'1', "$name: the target's progress table says that part committed");
			ok(state_exec($dir,
					"UPDATE tasks SET status = 'failed', error = 'target: server closed the connection unexpectedly' "
					  . "WHERE kind = 'copy' AND obj_oid = $flip->[0] AND part = $flip->[1]"),
				"$name: state.db now has that part as failed");
		}
		resume_ok($name, $dir, @RESUME);
		is(query_value($target, $DB, 'SELECT count(*) || \'/\' || count(DISTINCT id) FROM app.big'),
			'130000/130000', "$name: app.big has its 130000 rows, once each");
	}
}

###########################################################################
# 8. --snapshot held by `pgshift snapshot`, for the first run and the resume
###########################################################################
{
	my $name = 'held snapshot';
	my $snap_dir = work_dir('snapshot_holder');
	my $sh = start_pgshift({ timeout => 300 },
		'snapshot', '--source', uri($source, $DB), '--dir', $snap_dir);
	my $deadline = time + 60;
	while (time < $deadline && ${ $sh->{out} } !~ /\n/ && pgshift_running($sh))
	{
		sleep(0.05);
	}
	my ($snap) = ${ $sh->{out} } =~ /^(\S+)\n/;
	ok(defined $snap, "$name: pgshift snapshot printed a snapshot id")
	  or diag(show(${ $sh->{out} }, ${ $sh->{err} }));
	$snap //= 'none';
	note("held snapshot: $snap");

	my $dir = clone_and_kill(
		$name,
		'mid-copy of app.big',
		sub {
			my ($d, $r) = task_counts($_[0], $BIG_PARTS);
			return $d >= 1 && $r >= 1;
		},
		'--snapshot', $snap);
	if ($dir)
	{
		my ($late_done) =
		  task_counts($dir, q{kind = 'copy' AND label = '"app"."after_snapshot"'});
		is($late_done, 0, "$name: app.after_snapshot was not copied before the kill");
		# rows the snapshot does not see; with a new snapshot they would be copied
		psql_do($source, $DB, q{
INSERT INTO app.after_snapshot SELECT g, 'after ' || g FROM generate_series(11, 20) g;
UPDATE app.after_snapshot SET note = 'changed' WHERE id <= 3;
INSERT INTO app.big (id, grp, created, payload)
SELECT g, 0, DATE '2030-01-01', 'after the snapshot' FROM generate_series(200001, 201000) g;
});
		my ($rc, $out, $err) = resume_ok($name, $dir, '--resume', '--snapshot', $snap);
		like($err, qr/using snapshot "\Q$snap\E"/, "$name: the resumed run uses the held snapshot");
		unlike($err, qr/taking a new one/, "$name: no new snapshot was taken");
		is(query_value($target, $DB,
				q{SELECT count(*) || '/' || count(*) FILTER (WHERE note LIKE 'before%') FROM app.after_snapshot}),
			'10/10', "$name: app.after_snapshot on the target is as of the snapshot");
		is(query_value($target, $DB, q{SELECT count(*) FROM app.big WHERE id > 130000}),
			0, "$name: rows added to app.big after the snapshot were not copied");

		# the source back as it was at the snapshot: then everything is equal
		psql_do($source, $DB, q{
DELETE FROM app.after_snapshot WHERE id > 10;
UPDATE app.after_snapshot SET note = 'before ' || id WHERE id <= 3;
DELETE FROM app.big WHERE id > 130000;
});
		compare_all($source, $target, $DB);
	}
	kill 'TERM', $sh->{pid};
	my ($rc) = finish_pgshift($sh);
	is($rc, 0, "$name: pgshift snapshot exits 0 on SIGTERM");
}

done_testing();
