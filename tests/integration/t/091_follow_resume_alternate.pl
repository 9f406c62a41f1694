# `clone --follow --resume` after the copy is done goes on like
# `follow --resume` (pgcopydb documents it as the way to restart an
# interrupted online migration), and during the copy it is refused with its
# hint.
#
# During the copy: clone --follow is held before its schema (a gate on the
# target's pg_class), killed with SIGKILL; `clone --follow --resume` cannot
# import the dead copy's snapshot: it exits 6 with the hint.
#
# After the copy: under pgbench load on the source, the follower is killed
# four times (SIGKILL and SIGTERM in turn) and started again each time,
# alternating `follow --resume` and `clone --follow --resume`.  Then the end
# position is set: the last run exits 0, every table is equal (compare_all)
# and pgbench_history holds exactly the source's rows (a transaction applied
# twice or lost would change its count).
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


sub make_db
{
	my ($db) = @_;
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	$source->command_ok(
		[ 'pgbench', '-i', '-s', '1', '-q', '-h', $source->host, '-p', $source->port, $db ],
		"$db: pgbench -i -s 1");
	psql_do($source, $db, 'ALTER TABLE public.pgbench_history REPLICA IDENTITY FULL');
	return;
}

# ------------------------------------------------ during the copy: refused
{
	my $db = 'alt_copy';
	make_db($db);
	my $dir = work_dir('alt_copy');
	my @args = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir,
		'--slot-name', 'cslot', '--origin', 'corigin');
	my $gate = gate_close($target, $db);
	my $h = start_pgshift({ timeout => 120 }, 'clone', '--follow', @args);
	ok(wait_output($h, qr/created replication slot/, 60), 'during the copy: the slot is created');
	kill 'KILL', $h->{pid};
	finish_pgshift($h);
	gate_open($gate);
	my ($rc, $out, $err) = run_pgshift({ timeout => 120 }, 'clone', '--follow', '--resume', @args);
	is($rc, 6, 'during the copy: clone --follow --resume exits 6');
	like($err, qr/could not use snapshot/, 'during the copy: the snapshot cannot be imported');
	like($err, qr/HINT: +A snapshot lives as long as the session that exported it/,
		'during the copy: with its hint');
	is(query_value($target, $db, q{SELECT count(*) FROM pg_class WHERE relname = 'pgbench_accounts'}),
		0, 'during the copy: nothing was copied by the refused resume');
	($rc, $out, $err) = run_pgshift('stream', 'cleanup', @args);
	is($rc, 0, 'during the copy: stream cleanup exits 0') or diag($err);
}

# --------------------------------- after the copy: kill, resume, alternate
my $db   = 'alt';
make_db($db);
my $dir  = work_dir('alt');
my @args = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir,
	'--slot-name', 'aslot', '--origin', 'aorigin');

my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', @args, '--table-jobs', '2',
	'--index-jobs', '2');
ok(wait_output($h, qr/base copy done/, 120), 'clone --follow: the base copy is done')
  or BAIL_OUT('clone --follow did not finish its copy: ' . tail_lines(${ $h->{err} }));

my ($lout, $lerr) = ('', '');
my $load = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-T', '20', '-h', $source->host, '-p', $source->port, $db ],
	'>', \$lout, '2>', \$lerr);

my @runs = (
	[ 'KILL', 'follow',  [ 'follow', '--resume' ] ],
	[ 'TERM', 'clone --follow', [ 'clone', '--follow', '--resume' ] ],
	[ 'KILL', 'follow',  [ 'follow', '--resume' ] ],
	[ 'TERM', 'clone --follow', [ 'clone', '--follow', '--resume' ] ],
);
my %want_rc = (KILL => 137, TERM => 9);
for my $i (0 .. $#runs)
{
	my ($sig, $name, $cmd) = @{ $runs[$i] };
	# let it apply for a while, then stop it the hard or the polite way
	my $before = query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history');
	ok(wait_until(30, sub {
		query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history') > $before }),
		"round $i: the follower applies before the $sig");
	kill $sig, $h->{pid};
	my ($rc, $out, $err) = finish_pgshift($h);
	is($rc, $want_rc{$sig}, "round $i: SIGTERM/SIGKILL exit code $want_rc{$sig}");
	$h = start_pgshift({ timeout => 300 }, @$cmd, @args);
	ok(wait_output($h, qr/applying changes on the target from origin/, 60),
		"round $i: $name --resume starts applying")
	  or diag(tail_lines(${ $h->{err} }, 20));
	if ($cmd->[0] eq 'clone')
	{
		like(${ $h->{err} }, qr/base copy of this work directory is done/,
			"round $i: clone --follow --resume goes straight to the follow");
		unlike(${ $h->{err} }, qr/snapshot/i, "round $i: no snapshot is imported or exported");
	}
}
$load->finish;
psql_do($source, $db, q{INSERT INTO public.pgbench_history (tid, bid, aid, delta, mtime) VALUES (0, 0, 0, 0, now())});
my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos', '--current',
	'--source', uri($source, $db), '--dir', $dir);
is($rc, 0, 'stream sentinel set endpos --current exits 0') or diag($err);
ok(wait_until(120, sub { !pgshift_running($h) }), 'the last run exits at the end position');
($rc, $out, $err) = finish_pgshift($h);
is($rc, 0, 'the last run (clone --follow --resume) exits 0') or diag(tail_lines($err, 30));
is(query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history'),
	query_value($source, $db, 'SELECT count(*) FROM public.pgbench_history'),
	"pgbench_history: exactly the source's rows");
compare_all($source, $target, $db);
($rc, $out, $err) = run_pgshift('stream', 'cleanup', @args);
is($rc, 0, 'stream cleanup exits 0') or diag($err);

done_testing();
