# The clone's workers retry a task whose connection was lost: while
# `pgshift clone` runs (pgbench -i -s 5, pgbench_accounts split into parts
# by --split-tables-larger-than), the test terminates, on the servers, the
# first COPY ... FROM STDIN session it sees on the target, then the first
# COPY ... TO STDOUT on the source, then the first CREATE INDEX on the
# target.  The clone must still end with exit 0 and every table equal: a
# part attempted again must not leave the rows of its first attempt behind
# (a split part has no TRUNCATE: only its rolled-back transaction protects
# it).  A task is attempted at most 3 times (one session is terminated per
# kind, so no task meets more than 2 faults).
use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}

my $db = 'retry';
psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
$source->command_ok(
	[ 'pgbench', '-i', '-s', '5', '-q', '-h', $source->host, '-p', $source->port, $db ],
	'pgbench -i -s 5');

my $dir = work_dir('retry');
my $h = start_pgshift({ timeout => 300 }, 'clone', '--source', uri($source, $db), '--target',
	uri($target, $db), '--dir', $dir, '--table-jobs', '2', '--index-jobs', '2',
	'--split-tables-larger-than', '16MB');

# One kill per kind, each the first session of that kind seen.
my @kills = (
	[ 'target COPY', $target, q{query LIKE 'COPY %FROM STDIN%'} ],
	[ 'source COPY', $source, q{query LIKE 'COPY %TO STDOUT%'} ],
	[ 'target CREATE INDEX', $target, q{query ILIKE 'CREATE %INDEX%'} ],
);
my %killed;
my $deadline = time + 240;
while (pgshift_running($h) && time < $deadline)
{
	for my $k (@kills)
	{
		my ($name, $node, $cond) = @$k;
		next if $killed{$name};
		my $n = query_value($node, 'postgres',
			"SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity "
			  . "WHERE datname = '$db' AND state = 'active' AND application_name LIKE 'pgshift%' "
			  . "AND $cond LIMIT 1) s");
		$killed{$name} = 1 if $n > 0;
		last if $n > 0;
	}
	sleep 0.02;
}
my ($rc, $out, $err) = finish_pgshift($h);
ok($killed{'target COPY'}, 'a COPY session on the target was terminated mid-copy');
note('terminated: ' . join(', ', sort keys %killed));
is($rc, 0, 'the clone ends with exit 0 anyway') or diag(tail_lines($err, 40));
like($err, qr/connection lost .*trying again in \d+s \(attempt 2 of 3\)/,
	'the retry is logged with its attempt');
is(query_value($target, $db, 'SELECT count(*) FROM public.pgbench_accounts'),
	query_value($source, $db, 'SELECT count(*) FROM public.pgbench_accounts'),
	'pgbench_accounts: as many rows as on the source (no part copied twice)');
compare_all($source, $target, $db);

done_testing();
