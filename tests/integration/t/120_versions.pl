# pgshift across major versions: for each SOURCE:TARGET pair of
# PGSHIFT_VERSION_PAIRS (default "12:18 14:17", the CI subset; `make
# check-versions` runs the whole matrix), a source of that major and a
# target of the other:
#
#   * clone of the rich schema (tests/integration/sql/rich_schema.sql made
#     loadable into the source's major, plus what its newer majors add, by
#     PgShiftVersions::rich_schema_file), compared with the servers' own
#     catalog functions (compare_all, with PgShiftVersions::version_normalizer
#     removing only the documented differences between the two majors), then
#     `pgshift compare data` (exit 0) and a row its checksum must see;
#   * clone --follow with pgoutput and with test_decoding (wal2json is not
#     installed for the other majors): follow_schema.sql, changes while the
#     copy runs, follow_workload.sql with a transaction of BIG_ROWS rows,
#     an end position, then every table (count + checksum) and sequence
#     equal.
#
# Then (once per file, a 16 source when 16 is installed): a source newer
# than the pg_dump pgshift runs is refused with exit 2 before any change,
# naming the version needed and PGSHIFT_PG_BIN; the target stays untouched.
#
# PGSHIFT_TEST_BIG_ROWS: rows of the large transaction (default 20,000).
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;
use PgShiftVersions;

my $sqldir      = File::Spec->rel2abs(dirname(__FILE__) . '/../sql');
my $BIG_ROWS    = $ENV{PGSHIFT_TEST_BIG_ROWS} // 20_000;
my @PAIRS       = version_pairs('12:18 14:17');
my $SKIP_FOLLOW = $ENV{PGSHIFT_VERSIONS_NO_FOLLOW};


sub stop_hard
{
	my ($h) = @_;
	kill 'TERM', $h->{pid};
	sleep 2;
	kill 'KILL', $h->{pid} if pgshift_running($h);
	return;
}

sub start_versions
{
	my ($smaj, $tmaj, %opts) = @_;
	my ($source, $target) = start_pair(
		source_name    => "source${smaj}_to$tmaj",
		target_name    => "target${tmaj}_from$smaj",
		source_install => pg_install($smaj),
		target_install => pg_install($tmaj),
		%opts);
	for my $node ($source, $target)
	{
		create_role($node, $TEST_USER, superuser => 1, replication => 1);
		create_role($node, 'app_reader', password => undef, login => 0);
	}
	return ($source, $target);
}

# ------------------------------------------------------------------ clone
sub clone_rich
{
	my ($source, $target, $label) = @_;
	my $snum = server_version_num($source);
	my $tnum = server_version_num($target);
	for my $node ($source, $target)
	{
		psql_do($node, 'postgres', 'CREATE DATABASE rich');
	}
	my $fixture = rich_schema_file("$sqldir/rich_schema.sql", $snum,
		PostgreSQL::Test::Utils::tempdir() . "/rich_$snum.sql");
	load_sql_file($source, 'rich', $fixture);
	psql_do($source, 'rich', 'VACUUM ANALYZE');

	my $dir = work_dir("clone_$label");
	my ($rc, $out, $err) = run_pgshift('clone',
		'--source', uri($source, 'rich'), '--target', uri($target, 'rich'),
		'--table-jobs', '2', '--index-jobs', '2',
		'--split-tables-larger-than', '8MB', '--dir', $dir);
	is($rc, 0, "$label: clone exits 0")
	  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
	like($err, qr/COPY format: text/,
		"$label: text COPY between different majors (binary only where formats agree)");

	local $PgShiftTest::NORMALIZE = version_normalizer($snum, $tnum);
	compare_all($source, $target, 'rich');

	($rc, $out, $err) = run_pgshift('compare', 'data',
		'--source', uri($source, 'rich'), '--target', uri($target, 'rich'),
		'--dir', work_dir("compare_$label"));
	is($rc, 0, "$label: pgshift compare data finds the copy equal")
	  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));

	# compare data must see a difference across versions too
	psql_do($target, 'rich',
		q{UPDATE app.customers SET name = name || '!' WHERE id = (SELECT min(id) FROM app.customers)});
	($rc, $out, $err) = run_pgshift('compare', 'data',
		'--source', uri($source, 'rich'), '--target', uri($target, 'rich'),
		'--dir', work_dir("compare2_$label"));
	isnt($rc, 0, "$label: pgshift compare data sees one changed row");
	like($out . $err, qr/app\.customers/, "$label: and names app.customers");
	return;
}

# ----------------------------------------------------------------- follow
sub follow
{
	my ($source, $target, $label, $plugin) = @_;
	my $db = "follow_$plugin";
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	load_sql_file($source, $db, "$sqldir/follow_schema.sql");

	my $dir  = work_dir("follow_${label}_$plugin");
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir);
	my @cdc  = ('--plugin', $plugin, '--slot-name', "slot_$plugin", '--origin', "origin_$plugin");
	my $h = start_pgshift({ timeout => 600 }, 'clone', '--follow', @conn, @cdc,
		'--table-jobs', '2', '--index-jobs', '2');
	ok(wait_output($h, qr/created replication slot/, 120), "$label $plugin: slot created")
	  or do { stop_hard($h); diag(${ $h->{err} }); finish_pgshift($h); return };

	psql_do($source, $db, slurp_file("$sqldir/follow_during_copy.sql"));
	ok(wait_output($h, qr/base copy done/, 300), "$label $plugin: base copy done")
	  or diag(tail_lines(${ $h->{err} }, 30));
	my ($rc, $out, $err) = PgShiftTest::_run_psql($source, $db, '',
		'-v', "big_rows=$BIG_ROWS", '-f', "$sqldir/follow_workload.sql");
	is($rc, 0, "$label $plugin: workload ran") or diag($err);
	psql_do($source, $db, q{INSERT INTO app.scratch (v) VALUES ('last before endpos')});

	($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos',
		'--current', '--source', uri($source, $db), '--dir', $dir);
	is($rc, 0, "$label $plugin: sentinel set endpos") or diag($err);
	ok(wait_exit($h, 300), "$label $plugin: the follower exits at the end position")
	  or stop_hard($h);
	($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, "$label $plugin: clone --follow exits 0")
	  or diag(tail_lines($err, 30));
	is(query_value($target, $db,
			q{SELECT count(*) FROM app.scratch WHERE v = 'last before endpos'}),
		1, "$label $plugin: the last transaction is on the target");
	cmp_ok(query_value($target, $db, 'SELECT count(*) FROM app.narrow'),
		'>=', $BIG_ROWS, "$label $plugin: the large transaction is on the target");
	compare_tables($source, $target, $db);
	compare_table_data($source, $target, $db);
	compare_sequences($source, $target, $db);

	($rc, $out, $err) = run_pgshift('stream', 'cleanup', @conn, @cdc);
	is($rc, 0, "$label $plugin: stream cleanup") or diag($err);
	is(query_value($source, 'postgres',
			"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'slot_$plugin'"),
		0, "$label $plugin: slot dropped");
	return;
}

for my $pair (@PAIRS)
{
	my ($smaj, $tmaj) = @$pair;
	my $label = "$smaj->$tmaj";
	subtest "PostgreSQL $label" => sub {
		my $t0 = time;
		my ($source, $target) = start_versions($smaj, $tmaj);
		like(query_value($source, 'postgres', 'SHOW server_version'), qr/^$smaj\b/,
			"$label: the source runs $smaj");
		like(query_value($target, 'postgres', 'SHOW server_version'), qr/^$tmaj\b/,
			"$label: the target runs $tmaj");
		subtest "$label clone" => sub { clone_rich($source, $target, $label) };
		note(sprintf('%s: clone done in %.1fs', $label, time - $t0));
		if (!$SKIP_FOLLOW)
		{
			for my $plugin (qw(pgoutput test_decoding))
			{
				subtest "$label follow $plugin" =>
				  sub { follow($source, $target, $label, $plugin) };
			}
		}
		note(sprintf('%s: done in %.1fs', $label, time - $t0));
		$_->teardown_node for ($source, $target);
	};
}

# A source newer than the pg_dump pgshift runs (16 here, pg_dump 15): refused
# with exit 6 before any change on either server.
sub newer_source_refused
{
	my ($source, $target) = start_versions(16, 15);
	for my $node ($source, $target)
	{
		psql_do($node, 'postgres', 'CREATE DATABASE newer');
	}
	psql_do($source, 'newer', 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)');
	my $state = q{SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
	                || '/' || (SELECT count(*) FROM pg_publication)
	                || '/' || (SELECT count(*) FROM pg_replication_slots)
	                || '/' || (SELECT count(*) FROM pg_replication_origin)};
	my ($src_before, $tgt_before) = map { query_value($_, 'newer', $state) } ($source, $target);
	for my $follow (1, 0)
	{
		my $what = $follow ? 'clone --follow' : 'clone';
		my $dir = work_dir($follow ? 'newer_source_follow' : 'newer_source');
		my ($rc, $out, $err) = run_pgshift('clone', ($follow ? ('--follow', '--plugin', 'pgoutput') : ()),
			'--source', uri($source, 'newer'), '--target', uri($target, 'newer'), '--dir', $dir);
		is($rc, 6, "$what from a 16 source with pg_dump 15 exits 6 (precondition)")
		  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
		like($err, qr/source runs PostgreSQL 16, newer than the pg_dump pgshift would run \(15\./,
			"$what: the message names the source version and the pg_dump version");
		like($err, qr/client programs of PostgreSQL 16 or later.*PGSHIFT_PG_BIN/s,
			"$what: the hint names the version needed and PGSHIFT_PG_BIN");
		is(query_value($source, 'newer', $state), $src_before,
			"$what: the source is untouched (no slot, publication)");
		is(query_value($target, 'newer', $state), $tgt_before,
			"$what: the target is untouched (no table, origin)");
	}
	$_->teardown_node for ($source, $target);
	return;
}

if (-x (($ENV{PGSHIFT_PG_ROOT} // '/opt/pgshift-pg') . '/16/bin/postgres'))
{
	subtest 'a 16 source with pg_dump 15 is refused before any change' => \&newer_source_refused;
}
else
{
	note('PostgreSQL 16 not installed (scripts/install-postgres.sh 16): the newer-source test is skipped');
}

done_testing();
