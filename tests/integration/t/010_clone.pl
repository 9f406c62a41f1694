# pgshift clone of a rich schema (tests/integration/sql/rich_schema.sql):
# partitions, inheritance, unlogged, identity/generated columns, non-ASCII and
# reserved names, every common type, views, matviews, functions, triggers,
# RLS, comments, grants, exclusion/deferrable/check/foreign keys, sequences,
# large objects, extensions, and a ~35 MB table split in parts.
#
# Then: a second clone into the now non-empty target must refuse (exit 6)
# and change nothing; with --drop-if-exists it must succeed.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my $fixture = File::Spec->rel2abs(dirname(__FILE__) . '/../sql/rich_schema.sql');
my @SECRETS = ($TEST_PASSWORD);

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
	create_role($node, 'app_reader', password => undef, login => 0);
	psql_do($node, 'postgres', 'CREATE DATABASE rich');
}
load_sql_file($source, 'rich', $fixture);
psql_do($source, 'rich', 'VACUUM ANALYZE');

cmp_ok(
	query_value($source, 'rich', q{SELECT pg_table_size('app.big_log')}),
	'>', 3 * 8 * 1024 * 1024,
	'app.big_log is large enough to be split in parts at 8MB');

my @clone_args = (
	'--source', uri($source, 'rich'),
	'--target', uri($target, 'rich'),
	'--table-jobs', '2', '--index-jobs', '2',
	'--split-tables-larger-than', '8MB');

# ------------------------------------------------------------ first clone
my $dir = work_dir('clone');
my ($rc, $out, $err) = run_pgshift('clone', @clone_args, '--dir', $dir);
is($rc, 0, 'clone exits 0') or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
check_no_secrets('clone', \@SECRETS, stdout => $out, stderr => $err, dir => $dir);

ok(-f "$dir/summary.json", 'summary.json written in the work directory');
my $summary = -f "$dir/summary.json"
  ? eval { JSON::PP::decode_json(slurp_file("$dir/summary.json")) }
  : undef;
ok(ref $summary eq 'HASH', 'summary.json holds a JSON object')
  or diag($@ // 'no file');

compare_all($source, $target, 'rich');

# ------------------------------------- second clone: target not empty -> 6
my $count_sql = q{SELECT (SELECT count(*) FROM app.customers) || '/'
                      || (SELECT count(*) FROM public."select") || '/'
                      || (SELECT count(*) FROM pg_class) || '/'
                      || (SELECT last_value FROM app.ticket_seq)};
my $before = query_value($target, 'rich', $count_sql);

$dir = work_dir('clone_again');
($rc, $out, $err) = run_pgshift('clone', @clone_args, '--dir', $dir);
is($rc, 6, 'clone into a non-empty target exits 6')
  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
like($err, qr/target/i, 'the message names the target');
like($err, qr/already (?:holds|has|contains)|not empty/i,
	'the message says the target already holds objects');
check_no_secrets('clone (non-empty target)', \@SECRETS,
	stdout => $out, stderr => $err, dir => $dir);
is(query_value($target, 'rich', $count_sql), $before,
	'the refused clone changed nothing on the target');

# ------------------------------------------- third clone: --drop-if-exists
# change both sides so that a stale copy cannot pass the comparison
psql_do($target, 'rich', q{
SET session_replication_role = replica;
DELETE FROM public."select" WHERE "from" <= 20;
SELECT setval('app.ticket_seq', 1000);
});
psql_do($source, 'rich', q{
INSERT INTO public."select" ("from", "to", "Group", "order") VALUES (1001, 'new row', 'odd', -1);
UPDATE app.customers SET name = name || ' (renamed)' WHERE id % 500 = 0;
SELECT nextval('app.invoice_no');
});

$dir = work_dir('clone_drop');
($rc, $out, $err) =
  run_pgshift('clone', @clone_args, '--drop-if-exists', '--dir', $dir);
is($rc, 0, 'clone --drop-if-exists exits 0')
  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
check_no_secrets('clone --drop-if-exists', \@SECRETS,
	stdout => $out, stderr => $err, dir => $dir);
ok(-f "$dir/summary.json", 'summary.json written');

compare_all($source, $target, 'rich');

# ------------------------------------- --table-jobs 0 --index-jobs 0
# 0 means one worker per pool; the scheduler's session cap must not stall
# the index builds once the copies are done (it did once: a hang).
for my $node ($source, $target)
{
	psql_do($node, 'postgres', 'CREATE DATABASE tiny');
}
psql_do($source, 'tiny', q{
CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL);
CREATE INDEX t_v_idx ON t (v);
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
});
$dir = work_dir('clone_jobs0');
($rc, $out, $err) = run_pgshift({ timeout => 120 },
	'clone', '--source', uri($source, 'tiny'), '--target', uri($target, 'tiny'),
	'--table-jobs', '0', '--index-jobs', '0', '--dir', $dir);
is($rc, 0, 'clone with --table-jobs 0 --index-jobs 0 exits 0')
  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
is( query_value(
		$target, 'tiny',
		q{SELECT string_agg(pg_get_indexdef(indexrelid), '; ' ORDER BY pg_get_indexdef(indexrelid) COLLATE "C")
		    FROM pg_index WHERE indrelid = 'public.t'::regclass}),
	'CREATE INDEX t_v_idx ON public.t USING btree (v); '
	  . 'CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)',
	'both indexes of the table built with one worker per pool');
is(query_value($target, 'tiny', 'SELECT count(*) FROM t'), 1000, 'every row copied');

done_testing();
