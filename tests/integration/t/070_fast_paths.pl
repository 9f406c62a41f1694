# The shortcuts clone takes for speed must leave the same database behind.
#
# Incompressible TOAST: a column whose big values are all stored
# uncompressed on the source is copied without the target's (doomed)
# compression attempt — stored EXTERNAL for the copy, EXTENDED again before
# the COMMIT. The values, their storage (uncompressed), and the column's
# storage setting must match the source; a column whose values do compress
# must still be compressed on the target; --recompress-toast turns it off.
#
# Materialized views: refreshed by the task graph once every table is copied
# (in dump order: one reads the other) instead of at the end of post-data;
# their contents and indexes must match the source, also after a kill -9
# during a refresh and --resume. With row security policies in the dump, the
# refresh stays at the end of post-data.
use strict;
use warnings;

use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
	psql_do($node, 'postgres', 'CREATE DATABASE fast');
}

# noise: ~40 MB of hex text pglz cannot shrink by 25%, stored uncompressed;
# mixed: 10,000 values of 11.5 kB, each the same 3.8 kB three times: pglz
# (a 4 kB window) stores them in about 4 kB, still more than 32 MB of TOAST.
psql_do($source, 'fast', q{
SELECT setseed(0.42);
CREATE TABLE noise (id int PRIMARY KEY, title text, body text NOT NULL);
INSERT INTO noise
SELECT i, 'n' || i, (SELECT string_agg(md5(random()::text || i || j), ' ')
                      FROM generate_series(1, 300) AS j)
  FROM generate_series(1, 4000) AS i;
CREATE TABLE mixed (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO mixed
SELECT i, h || h || h
  FROM (SELECT i, (SELECT string_agg(md5(random()::text || i || j), '')
                     FROM generate_series(1, 120) AS j) AS h
          FROM generate_series(1, 10000) AS i) s;
CREATE MATERIALIZED VIEW mv_noise AS
  SELECT id % 10 AS bucket, count(*) AS n, sum(length(body)) AS len FROM noise GROUP BY 1;
CREATE UNIQUE INDEX mv_noise_bucket ON mv_noise (bucket);
CREATE MATERIALIZED VIEW mv_top AS SELECT max(len) AS top FROM mv_noise;
CREATE MATERIALIZED VIEW mv_empty AS SELECT id FROM noise WITH NO DATA;
VACUUM ANALYZE;
});

cmp_ok(query_value($source, 'fast', q{SELECT count(pg_column_compression(body)) FROM noise}),
	'==', 0, 'source: no value of noise.body is compressed');
cmp_ok(query_value($source, 'fast', q{SELECT count(pg_column_compression(body)) FROM mixed}),
	'>', 9900, 'source: the values of mixed.body are compressed');
for my $t (qw(noise mixed))
{
	cmp_ok(query_value($source, 'fast',
			qq{SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = '$t'}),
		'>', 32 * 1024 * 1024, "$t has more than 32 MB of TOAST data (sampled)");
}

my @args = (
	'--source', uri($source, 'fast'), '--target', uri($target, 'fast'),
	'--table-jobs', '2', '--index-jobs', '2');

my $CHECKSUM = q{SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY id)), '') FROM %s t};

sub check_copy
{
	my ($what) = @_;
	for my $t (qw(noise mixed))
	{
		my $q = sprintf($CHECKSUM, $t);
		is(query_value($target, 'fast', $q), query_value($source, 'fast', $q),
			"$what: $t rows equal (count and checksum)");
		is( query_value($target, 'fast',
				qq{SELECT attstorage FROM pg_attribute WHERE attrelid = '$t'::regclass AND attname = 'body'}),
			'x', "$what: $t.body storage is EXTENDED again");
	}
	is(query_value($target, 'fast', q{SELECT count(pg_column_compression(body)) FROM noise}),
		0, "$what: noise.body values stored uncompressed, as on the source");
	cmp_ok(query_value($target, 'fast', q{SELECT count(pg_column_compression(body)) FROM mixed}),
		'>', 9900, "$what: mixed.body values compressed on the target");
	for my $mv (qw(mv_noise mv_top))
	{
		my $q = qq{SELECT string_agg(t::text, ';' ORDER BY t::text) FROM $mv t};
		my $want = query_value($source, 'fast', $q);
		ok(defined $want && length $want, "$what: $mv has rows on the source");
		is(query_value($target, 'fast', $q), $want, "$what: $mv holds the same rows");
	}
	is(query_value($target, 'fast', q{SELECT relispopulated FROM pg_class WHERE relname = 'mv_empty'}),
		'f', "$what: mv_empty stays unpopulated, as on the source");
	is( query_value($target, 'fast', q{SELECT pg_get_indexdef('mv_noise_bucket'::regclass)}),
		query_value($source, 'fast', q{SELECT pg_get_indexdef('mv_noise_bucket'::regclass)}),
		"$what: the materialized view's index is there");
}

# ------------------------------------------------------------ default run
my $dir = work_dir('clone');
my ($rc, $out, $err) = run_pgshift('clone', @args, '--dir', $dir);
is($rc, 0, 'clone exits 0') or diag(tail_lines($err));
like($err, qr/copying "public"\."noise": 1 column\(s\) stored uncompressed on the source/,
	'noise.body is copied without a compression attempt');
unlike($err, qr/copying "public"\."mixed": .*stored uncompressed/,
	'mixed.body is left to the usual compression');
like($err, qr/refreshed materialized view public\.mv_noise/, 'mv_noise refreshed by the task graph');
like($err, qr/refreshed materialized view public\.mv_noise.*refreshed materialized view public\.mv_top/s,
	'mv_noise before mv_top, which reads it');
my $list = slurp_file("$dir/schema/post-data.list");
like($list, qr/^;\d+; \d+ \d+ MATERIALIZED VIEW DATA public mv_noise \S+  -- refreshed by pgshift$/m,
	'post-data leaves out the data of the views the graph refreshed')
  or diag($list);
my $summary = eval { JSON::PP::decode_json(slurp_file("$dir/summary.json")) } // {};
ok(exists $summary->{steps}{materialized_views_cumulative},
	'summary.json reports the time spent on materialized views');
check_copy('default');

# ------------------------------------------------------ --recompress-toast
$dir = work_dir('recompress');
($rc, $out, $err) = run_pgshift('clone', @args, '--drop-if-exists', '--recompress-toast', '--dir', $dir);
is($rc, 0, 'clone --recompress-toast exits 0') or diag(tail_lines($err));
unlike($err, qr/stored uncompressed on the source/, '--recompress-toast: no column skips compression');
check_copy('--recompress-toast');

# ------------------------- kill -9 during the graph's refresh, then --resume
# mv_slow sleeps 3 s in its refresh: the run is killed while it is in flight.
psql_do($source, 'fast', q{
CREATE FUNCTION slow(secs float8) RETURNS int LANGUAGE sql VOLATILE
    AS 'SELECT 1 FROM pg_catalog.pg_sleep($1)';
CREATE MATERIALIZED VIEW mv_slow AS SELECT count(*) AS n, max(s.x) AS x
  FROM mixed, (SELECT slow(3) AS x) s;
});
$dir = work_dir('killed');
my $h = start_pgshift({ timeout => 300 }, 'clone', @args, '--drop-if-exists', '--dir', $dir);
my $seen = 0;
for (1 .. 600)
{
	last unless pgshift_running($h);
	$seen = query_value($target, 'postgres', q{
SELECT count(*) FROM pg_stat_activity
 WHERE datname = 'fast' AND state = 'active' AND query ILIKE 'REFRESH MATERIALIZED VIEW public.mv_slow%'});
	last if $seen;
	select(undef, undef, undef, 0.1);
}
ok($seen, 'the refresh of mv_slow was seen in flight');
kill 'KILL', $h->{pid};
($rc, $out, $err) = finish_pgshift($h);
is($rc, 128 + 9, 'pgshift killed with SIGKILL during the refresh');
for (1 .. 100)
{
	last if query_value($target, 'postgres', q{
SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = 'fast' AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()}) eq 't';
	select(undef, undef, undef, 0.2);
}
($rc, $out, $err) = run_pgshift('clone', @args, '--resume', '--not-consistent', '--dir', $dir);
is($rc, 0, 'the resumed clone exits 0') or diag(tail_lines($err));
like($err, qr/refreshed materialized view public\.mv_slow/, 'the resume refreshes mv_slow');
is(query_value($target, 'fast', q{SELECT n || '/' || x FROM mv_slow}),
	query_value($source, 'fast', q{SELECT n || '/' || x FROM mv_slow}), 'mv_slow holds the same row');
check_copy('resumed');

# ------------------------------------------- row security: refresh at the end
psql_do($source, 'fast', q{
CREATE POLICY noise_all ON noise USING (true);
ALTER TABLE noise ENABLE ROW LEVEL SECURITY;
});
$dir = work_dir('rls');
($rc, $out, $err) = run_pgshift('clone', @args, '--drop-if-exists', '--dir', $dir);
is($rc, 0, 'clone with row security exits 0') or diag(tail_lines($err));
like($err, qr/materialized views are refreshed at the end of post-data/,
	'with policies in the dump, the views are refreshed by post-data');
unlike($err, qr/refreshed materialized view/, 'no refresh by the task graph');
check_copy('row security');
is(query_value($target, 'fast', q{SELECT relrowsecurity FROM pg_class WHERE relname = 'noise'}),
	't', 'row security enabled on the target');

done_testing();
