# Watching a follow, and back-pressure on the journal's disk.
#
# 1. `clone --follow --journal-min-free 100TB --metrics-port P`: no disk has
#    that much free, so once the copy is done the receiver pauses instead of
#    writing the journal.  Under pgbench load on the source: the slot's
#    confirmed_flush_lsn (source view) does not move, the target gets none
#    of the new pgbench_history rows, the log says receiving is paused and
#    GET /metrics says pgshift_journal_paused 1.
# 2. SIGTERM, then `follow --resume --metrics-port P` (default threshold):
#    everything the source kept in its slot arrives.  The walsender is
#    terminated once: GET /metrics then shows a source reconnect and the
#    error's SQLSTATE, and its pgshift_applied_lsn equals the target's
#    pg_replication_origin_status.remote_lsn (target view); transactions and
#    rows applied are counted.  At the end position pgbench_history holds
#    exactly the source's rows.
use strict;
use warnings;

use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}


# GET /metrics: { name or name{labels} => value }, and the raw page
sub metrics
{
	my ($port) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5)
	  or return ({}, '');
	print $s "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	local $/;
	my $page = <$s> // '';
	close $s;
	my %m;
	for my $line (split /\n/, $page)
	{
		next if $line =~ /^#/;
		$m{$1} = $2 if $line =~ /^(pgshift_\S+(?:\{.*\})?) (\S+)\s*$/;
	}
	return (\%m, $page);
}

my $db = 'watch';
psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
$source->command_ok(
	[ 'pgbench', '-i', '-s', '1', '-q', '-h', $source->host, '-p', $source->port, $db ],
	'pgbench -i -s 1');
psql_do($source, $db, 'ALTER TABLE public.pgbench_history REPLICA IDENTITY FULL');

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dir  = work_dir('watch');
my @args = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir,
	'--slot-name', 'wslot', '--origin', 'worigin', '--metrics-port', $port);

# ------------------------------------------------------- 1. back-pressure
my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', @args, '--journal-min-free', '100TB');
ok(wait_output($h, qr/base copy done/, 120), 'clone --follow: the copy is done');
ok(wait_output($h, qr/receiving paused until there is room again/, 30),
	'the receiver says it pauses for disk space');
my $slot_sql = q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'wslot'};
my $flush0 = query_value($source, 'postgres', $slot_sql);
$source->command_ok(
	[ 'pgbench', '-n', '-c', '2', '-t', '200', '-h', $source->host, '-p', $source->port, $db ],
	'pgbench -t 200 -c 2 while paused');
sleep 2;
is(query_value($source, 'postgres', $slot_sql), $flush0,
	"paused: the slot's confirmed_flush_lsn does not move (the source keeps the changes)");
is(query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history'), 0,
	'paused: no new row on the target');
my ($m, $page) = metrics($port);
is($m->{pgshift_journal_paused}, 1, 'GET /metrics: pgshift_journal_paused 1')
  or diag($page);
kill 'TERM', $h->{pid};
my ($rc, $out, $err) = finish_pgshift($h);
is($rc, 9, 'SIGTERM: exit code 9');

# ----------------------------------------------------------- 2. metrics
$h = start_pgshift({ timeout => 300 }, 'follow', '--resume', @args);
my $src_rows = query_value($source, $db, 'SELECT count(*) FROM public.pgbench_history');
ok(wait_until(60, sub {
	query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history') == $src_rows }),
	'follow --resume: what the slot kept arrives');
psql_do($source, 'postgres',
	q{SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'wslot'});
psql_do($source, $db, q{INSERT INTO public.pgbench_history (tid, bid, aid, delta, mtime) VALUES (0, 0, 0, 0, now())});
ok(wait_until(30, sub {
	query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history') == $src_rows + 1 }),
	'after the walsender was terminated: the next row arrives');
my $remote_sql = q{SELECT (remote_lsn - '0/0'::pg_lsn)::bigint FROM pg_replication_origin_status WHERE external_id = 'worigin'};
my $same = wait_until(15, sub {
	($m, $page) = metrics($port);
	my $remote = query_value($target, 'postgres', $remote_sql);
	return defined $m->{pgshift_applied_lsn} && $m->{pgshift_applied_lsn} == $remote;
});
ok($same, "GET /metrics: pgshift_applied_lsn is the target origin's remote_lsn") or diag($page);
cmp_ok($m->{pgshift_applied_transactions_total} // 0, '>=', 1, 'GET /metrics: transactions applied');
cmp_ok($m->{pgshift_applied_rows_total} // 0, '>=', 1, 'GET /metrics: rows applied');
cmp_ok($m->{pgshift_received_lsn} // 0, '>=', $m->{pgshift_applied_lsn} // 1, 'GET /metrics: received at or past applied');
ok(defined $m->{pgshift_journal_bytes}, 'GET /metrics: journal bytes on disk');
ok(defined $m->{pgshift_lag_seconds} && defined $m->{pgshift_lag_bytes}, 'GET /metrics: lag in seconds and bytes');
is($m->{'pgshift_reconnects_total{side="source"}'}, 1, 'GET /metrics: one source reconnect');
is($m->{'pgshift_reconnects_total{side="target"}'}, 0, 'GET /metrics: no target reconnect');
like($page, qr/pgshift_last_error_timestamp_seconds\{side="source",sqlstate="57P01",message="[^"]*"\} \d/,
	'GET /metrics: the last error, with its side and SQLSTATE');
is($m->{pgshift_journal_paused}, 0, 'GET /metrics: not paused with the default threshold');

($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos', '--current',
	'--source', uri($source, $db), '--dir', $dir);
is($rc, 0, 'stream sentinel set endpos --current exits 0') or diag($err);
ok(wait_until(60, sub { !pgshift_running($h) }), 'the follower exits at the end position');
($rc, $out, $err) = finish_pgshift($h);
is($rc, 0, 'follow --resume exits 0');
is(query_value($target, $db, 'SELECT count(*) FROM public.pgbench_history'),
	query_value($source, $db, 'SELECT count(*) FROM public.pgbench_history'),
	"pgbench_history: exactly the source's rows");
compare_table_data($source, $target, $db);

done_testing();
