# pgshift check (and clone --dry-run): each item broken on purpose is
# reported as blocking or warning, with its fix, and nothing changes on
# either server (slots, publications, origins, relations, roles, settings
# compared before and after every run).
#
#   - all well (superuser on both sides): exit 0; clone --dry-run prints the plan
#   - a source role without SELECT on a table and without REPLICATION
#   - a source with wal_level = replica, newer than the pg_dump pgshift runs
#     (a PostgreSQL 17 server: pg_dump 15 cannot dump it)
#   - no free replication slot
#   - a table without replica identity; unlogged tables, large objects
#   - a target (PostgreSQL 17, ICU 60) lacking an extension (adminpack, gone
#     in 17) and an ICU collation an index uses, and one whose version differs
#   - a target role that may not create, use origins or set
#     session_replication_role; --drop-if-exists over tables it does not own;
#     a source publication FOR ALL TABLES it could not restore
use strict;
use warnings;

use JSON::PP ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my ($source, $target) = start_pair(source_conf => 'max_replication_slots = 4');
create_role($_, $TEST_USER, superuser => 1, replication => 1) for ($source, $target);

# A PostgreSQL 17 server (wal_level replica, its own ICU 60) as the odd one out.
# Its install has no client programs: psql is the system's (15).
{
	no warnings 'redefine';
	my $orig = \&PostgreSQL::Test::Cluster::installed_command;
	*PostgreSQL::Test::Cluster::installed_command = sub {
		my ($self, $cmd) = @_;
		return "/usr/lib/postgresql/15/bin/$cmd"
		  if defined $self->{_install_path} && !-x "$self->{_install_path}/bin/$cmd";
		return $orig->(@_);
	};
}
my $n17 = PostgreSQL::Test::Cluster->new('n17', install_path => '/opt/pgshift-pg/17');
$n17->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
$n17->append_conf('postgresql.conf', join("\n",
	"listen_addresses = '127.0.0.1'", "shared_buffers = 32MB",
	"max_connections = 20", "password_encryption = 'scram-sha-256'",
	"lc_messages = 'C'", "wal_level = replica"));
PgShiftTest::_write_hba($n17, 'scram-sha-256');
$n17->start;
create_role($n17, $TEST_USER, superuser => 1, replication => 1);

psql_do($_, 'postgres', 'CREATE DATABASE good') for ($source, $target, $n17);
psql_do($source, 'good', q{
CREATE TABLE public.items (id int PRIMARY KEY, name text);
CREATE INDEX items_name ON public.items (name);
INSERT INTO public.items SELECT g, 'n' || g FROM generate_series(1, 1000) g;
CREATE TABLE public.secret (id bigserial PRIMARY KEY, v text);
INSERT INTO public.secret (v) VALUES ('s');
});

# What a check must not change, on one server (cluster-wide and in db).
sub server_state
{
	my ($node, $db) = @_;
	# one query (cluster-wide views are the same from any database)
	return query_value($node, $db, q{SELECT concat_ws(' | ',
		(SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), '') FROM pg_replication_slots),
		(SELECT coalesce(string_agg(roname, ',' ORDER BY roname), '') FROM pg_replication_origin),
		(SELECT count(*) || ' roles' FROM pg_roles),
		(SELECT count(*) || ' settings pending restart' FROM pg_settings WHERE pending_restart),
		(SELECT coalesce(string_agg(pubname, ',' ORDER BY pubname), '') FROM pg_publication),
		(SELECT count(*) || ' relations' FROM pg_class),
		(SELECT count(*) || ' triggers enabled' FROM pg_trigger WHERE tgenabled <> 'D'),
		(SELECT count(*) || ' extensions' FROM pg_extension),
		(SELECT count(*) || ' large objects' FROM pg_largeobject_metadata))});
}

# Runs `pgshift check --json @args` against (src node, src db, tgt node, tgt db),
# checks nothing changed, returns (rc, {id => item}, stderr).
sub check_run
{
	my ($name, $snode, $sdb, $tnode, $tdb, %o) = @_;
	my @before = (server_state($snode, $sdb), server_state($tnode, $tdb));
	my ($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'check', '--json',
		'--source', uri($snode, $sdb, %{ $o{suser} // {} }),
		'--target', uri($tnode, $tdb, %{ $o{tuser} // {} }),
		@{ $o{args} // [] });
	my $doc = eval { JSON::PP::decode_json($out) } // { items => [] };
	ok(ref $doc->{items} eq 'ARRAY' && @{ $doc->{items} }, "$name: JSON with items")
	  or diag("stdout:\n$out\nstderr:\n" . tail_lines($err));
	my %by = map { $_->{id} => $_ } @{ $doc->{items} };
	is(server_state($snode, $sdb), $before[0], "$name: nothing changed on the source");
	is(server_state($tnode, $tdb), $before[1], "$name: nothing changed on the target");
	return ($rc, \%by, $err, $out);
}

sub item_is
{
	my ($name, $by, $id, $level, $found_re, $fix_re) = @_;
	my $it = $by->{$id};
	ok(defined $it, "$name: item $id reported") or return;
	is($it->{level}, $level, "$name: $id is $level") or diag(explain($it));
	like($it->{found}, $found_re, "$name: $id says what was found") if $found_re;
	like($it->{fix} // '', $fix_re, "$name: $id gives the fix") if $fix_re;
	return;
}

# ------------------------------------------------------------ all well
subtest 'all well' => sub {
	my ($rc, $by) = check_run('ok', $source, 'good', $target, 'good', args => ['--follow']);
	is($rc, 0, 'exit 0: nothing blocks');
	item_is('ok', $by, 'source.read', 'ok');
	item_is('ok', $by, 'tools.pg_dump', 'ok', qr/pg_dump.* 15\./);
	item_is('ok', $by, 'follow.wal_level', 'ok');
	item_is('ok', $by, 'follow.slots', 'ok');
	item_is('ok', $by, 'follow.publication', 'ok', qr/FOR ALL TABLES/);
	item_is('ok', $by, 'follow.origins', 'ok');
	item_is('ok', $by, 'follow.session_replication_role', 'ok');
	item_is('ok', $by, 'target.empty', 'ok');
	item_is('ok', $by, 'size.target_space', 'ok', qr/free/);
	ok(!(grep { $_->{level} eq 'blocking' } values %$by), 'no blocking item');

	my @before = (server_state($source, 'good'), server_state($target, 'good'));
	my ($rc2, $out, $err) = run_pgshift({ timeout => 60 }, 'clone', '--dry-run', '--follow',
		'--source', uri($source, 'good'), '--target', uri($target, 'good'),
		'--dir', work_dir('dry_run'), '--table-jobs', '2');
	is($rc2, 0, 'clone --dry-run exits 0');
	like($out, qr/plan .*\n.*\n\s+1\s+"public"\."items"/, 'the plan lists the tables in order');
	like($out, qr/2 tables in 2 COPY parts, 3 indexes/, 'the plan counts parts and indexes');
	like($out, qr/estimated copy time: \S+ .*MB\/s/, 'the plan estimates the copy time');
	is(server_state($source, 'good'), $before[0], 'dry run: nothing changed on the source');
	is(server_state($target, 'good'), $before[1], 'dry run: nothing changed on the target');
};

# ------------------------------------------------------------ missing grants
subtest 'source role: no SELECT on a table, no REPLICATION' => sub {
	create_role($source, 'reader');
	psql_do($source, 'good', q{GRANT SELECT ON public.items TO reader});
	my ($rc, $by) = check_run('grants', $source, 'good', $target, 'good',
		suser => { user => 'reader' }, args => ['--follow']);
	is($rc, 12, 'exit 12: something blocks');
	item_is('grants', $by, 'source.read', 'blocking', qr/public\.secret/,
		qr/GRANT pg_read_all_data TO "reader"/);
	unlike($by->{'source.read'}{found}, qr/public\.items/, 'the readable table is not named');
	item_is('grants', $by, 'follow.replication', 'blocking', qr/REPLICATION/,
		qr/ALTER ROLE "reader" REPLICATION/);
	item_is('grants', $by, 'follow.publication', 'blocking', qr/reader.*publication/,
		qr/CREATE PUBLICATION pgshift .*--publication pgshift.*test_decoding/);
	# what the filters leave out need not be readable
	my $filters = work_dir('grants_filters') . '/filters.ini';
	open(my $fh, '>', $filters) or die "$filters: $!";
	print $fh "[exclude-table]\npublic.secret\n";
	close $fh;
	my ($rc2, $by2) = check_run('grants_filtered', $source, 'good', $target, 'good',
		suser => { user => 'reader' }, args => ['--filters', $filters]);
	is($rc2, 0, 'with public.secret filtered out: exit 0');
	item_is('grants_filtered', $by2, 'source.read', 'ok', qr/the 1 kept tables/);
};

# ------------------------------------------------------------ wal_level, old pg_dump
subtest 'source with wal_level = replica, newer than pg_dump' => sub {
	is(query_value($n17, 'postgres', 'SHOW wal_level'), 'replica', 'the 17 server runs with wal_level replica');
	psql_do($n17, 'good', q{CREATE TABLE public.t (id int PRIMARY KEY)});
	my ($rc, $by) = check_run('wal_level', $n17, 'good', $target, 'good', args => ['--follow']);
	is($rc, 12, 'exit 12');
	item_is('wal_level', $by, 'follow.wal_level', 'blocking', qr/"replica"/,
		qr/ALTER SYSTEM SET wal_level = logical.*restart/);
	item_is('wal_level', $by, 'tools.pg_dump', 'blocking', qr/version 15.*source server \(17\)/,
		qr/PGSHIFT_PG_BIN/);
};

# ------------------------------------------------------------ no free slot
subtest 'no free replication slot' => sub {
	my $n = query_value($source, 'postgres', 'SELECT count(*) FROM pg_replication_slots');
	psql_do($source, 'postgres', "SELECT pg_create_physical_replication_slot('fill_$_')") for ($n + 1 .. 4);
	my ($rc, $by) = check_run('slots', $source, 'good', $target, 'good', args => ['--follow']);
	is($rc, 12, 'exit 12');
	item_is('slots', $by, 'follow.slots', 'blocking', qr/4 of max_replication_slots = 4/,
		qr/pg_drop_replication_slot|max_replication_slots = 5/);
	psql_do($source, 'postgres', "SELECT pg_drop_replication_slot('fill_$_')") for ($n + 1 .. 4);
};

# ------------------------------------------------------------ replica identity etc.
subtest 'replica identity, unlogged tables, large objects' => sub {
	psql_do($_, 'postgres', 'CREATE DATABASE ri') for ($source, $target);
	psql_do($source, 'ri', q{
CREATE TABLE public.keyed (id int PRIMARY KEY);
CREATE TABLE public.nokey (a int, b text);
CREATE TABLE public.full_ident (a int);
ALTER TABLE public.full_ident REPLICA IDENTITY FULL;
CREATE UNLOGGED TABLE public.scratch (id int PRIMARY KEY);
SELECT lo_from_bytea(0, 'blob');
});
	my ($rc, $by) = check_run('ri', $source, 'ri', $target, 'ri', args => ['--follow']);
	is($rc, 12, 'exit 12');
	item_is('ri', $by, 'follow.replica_identity', 'blocking', qr/1 kept tables.*public\.nokey/,
		qr/REPLICA IDENTITY FULL/);
	unlike($by->{'follow.replica_identity'}{found}, qr/keyed|full_ident/, 'tables with an identity are not named');
	item_is('ri', $by, 'follow.unlogged', 'warning', qr/"public"\."scratch"/);
	item_is('ri', $by, 'follow.large_objects', 'warning', qr/1 large objects/);
	item_is('ri', $by, 'follow.sequences', 'ok');
	# without --follow, none of that blocks
	my ($rc2, $by2) = check_run('ri_nofollow', $source, 'ri', $target, 'ri');
	is($rc2, 0, 'without --follow: exit 0');
	ok(!exists $by2->{'follow.replica_identity'}, 'without --follow: no follow items');
};

# ------------------------------------------------------------ extension, collations
subtest 'a target lacking an extension and a collation' => sub {
	psql_do($source, 'postgres', 'CREATE DATABASE ext');
	psql_do($n17, 'postgres', 'CREATE DATABASE ext');
	# an ICU collation of the source's ICU that the target's (older) ICU lacks
	my $t17 = query_value($n17, 'ext',
		q{SELECT string_agg(collname, ',') FROM pg_collation WHERE collprovider = 'i'});
	my %on17 = map { $_ => 1 } split /,/, $t17;
	my @only15 = grep { !$on17{$_} } split /,/, query_value($source, 'postgres',
		q{SELECT string_agg(collname, ',' ORDER BY collname) FROM pg_collation WHERE collprovider = 'i' AND collname ~ '^[a-z]+-x-icu$'});
	ok(@only15 > 0, 'the source has ICU collations the target lacks') or return;
	my $missing = $only15[0];
	psql_do($source, 'ext', qq{
CREATE EXTENSION adminpack;
CREATE EXTENSION citext;
CREATE TABLE public.words (id int PRIMARY KEY, w text COLLATE "$missing", d text COLLATE "de-x-icu");
CREATE INDEX words_w ON public.words (w);
CREATE INDEX words_d ON public.words (d);
});
	my ($rc, $by) = check_run('ext', $source, 'ext', $n17, 'ext');
	is($rc, 12, 'exit 12');
	item_is('ext', $by, 'extension.adminpack', 'blocking', qr/not available on the target/,
		qr/--skip-extensions|exclude-extension/);
	item_is('ext', $by, 'extension.citext', 'ok', qr/will be installed at version|installed/);
	my ($mid) = grep { /^collation\..*\Q$missing\E/ } keys %$by;
	ok(defined $mid, "collation $missing reported") or return;
	item_is('ext', $by, $mid, 'blocking', qr/does not exist on the target/);
	my ($did) = grep { /^collation\..*de-x-icu/ } keys %$by;
	item_is('ext', $by, $did, 'warning', qr/version \S+ on the source and \S+ on the target/)
	  if defined $did;
	ok(defined $did, 'collation de-x-icu (another ICU version) reported');
};

# ------------------------------------------------------------ target role
subtest 'target role: no CREATE, no origins, no session_replication_role' => sub {
	create_role($target, 'weak');
	psql_do($target, 'good', q{CREATE TABLE public.items (id int)});
	psql_do($source, 'good', q{CREATE PUBLICATION allpub FOR ALL TABLES});
	my ($rc, $by) = check_run('weak', $source, 'good', $target, 'good',
		tuser => { user => 'weak' }, args => ['--follow', '--drop-if-exists', '--no-owner', '--no-acl']);
	is($rc, 12, 'exit 12');
	item_is('weak', $by, 'target.create', 'blocking', qr/weak/, qr/GRANT CREATE ON DATABASE "good" TO "weak"/);
	item_is('weak', $by, 'target.drop', 'blocking', qr/public\.items/, qr/OWNER TO "weak"/);
	item_is('weak', $by, 'follow.origins', 'blocking', qr/weak/,
		qr/GRANT EXECUTE ON FUNCTION pg_catalog\.pg_replication_origin_session_setup\(text\) TO "weak";.*GRANT SELECT ON pg_catalog\.pg_replication_origin_status TO "weak"/);
	item_is('weak', $by, 'target.publications', 'blocking', qr/allpub.*superuser/, qr/--skip-publications/);
	item_is('weak', $by, 'follow.session_replication_role', 'warning', qr/DISABLE TRIGGER/,
		qr/GRANT SET ON PARAMETER session_replication_role TO "weak"/);
	# text output: one line per item, the fix under it
	my ($rc2, $out) = run_pgshift({ timeout => 60 }, 'check', '--source', uri($source, 'good'),
		'--target', uri($target, 'good', user => 'weak'));
	is($rc2, 12, 'text output: exit 12');
	like($out, qr/^blocking target\.create: .*\n\s+fix: GRANT CREATE ON DATABASE/m, 'text: item then its fix');
	like($out, qr/^\d+ blocking, \d+ warning\(s\), \d+ ok$/m, 'text: the count');
	psql_do($source, 'good', q{DROP PUBLICATION allpub});
};

done_testing();
