# pgshift clone --follow: preconditions.  Each case must exit 6 with a
# message naming the problem and its fix, and leave nothing behind: no slot
# on the source, no publication (unless one existed before, which is then
# kept), no replication origin on the target, an empty target database.
#
#   - source with wal_level = replica
#   - slot name already in use
#   - tables without primary key and with default (or NOTHING) replica identity
#   - source role without REPLICATION (and not superuser)
#   - source role with REPLICATION but not superuser, not owning every table
#     (no publication: FOR ALL TABLES needs a superuser, FOR TABLE ownership)
#   - an existing origin on the target carrying the progress of another
#     source: must be refused, or reset; never used to skip changes
#   - a plugin pgshift does not know (exit 1, naming the three it knows)
#
# Also: `follow` without --plugin after a test_decoding (and a wal2json)
# setup streams with the plugin the work directory remembers.
use strict;
use warnings;

use IPC::Run ();
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

# A third server, like the source but with wal_level = replica.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init(allows_streaming => 1,
	extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
$plain->append_conf('postgresql.conf', join("\n",
	"listen_addresses = '127.0.0.1'", "shared_buffers = 32MB",
	"max_connections = 20", "password_encryption = 'scram-sha-256'",
	"lc_messages = 'C'"));
PgShiftTest::_write_hba($plain, 'scram-sha-256');
$plain->start;
create_role($plain, $TEST_USER, superuser => 1, replication => 1);

my $db_counter = 0;

# Fresh source/target databases with a few tables.
sub fresh_dbs
{
	my ($src_node, $extra_sql) = @_;
	my $db = 'err_' . ++$db_counter;
	psql_do($src_node, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target,   'postgres', qq{CREATE DATABASE "$db"});
	psql_do($src_node, $db, q{
CREATE TABLE public.keyed (id int PRIMARY KEY, v text);
INSERT INTO public.keyed SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE TABLE public.full_ident (a int, b text);
ALTER TABLE public.full_ident REPLICA IDENTITY FULL;
INSERT INTO public.full_ident VALUES (1, 'x'), (1, 'x');
} . ($extra_sql // ''));
	return $db;
}

# What must not be left behind.
sub nothing_left
{
	my ($name, $src_node, $db, %opts) = @_;
	my @slots_before = @{ $opts{slots_before} // [] };
	my $slots = query_value($src_node, 'postgres',
		q{SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), '') FROM pg_replication_slots});
	is($slots, join(',', sort @slots_before), "$name: no replication slot created on the source");
	is(query_value($src_node, $db,
			q{SELECT coalesce(string_agg(pubname, ',' ORDER BY pubname), '') FROM pg_publication}),
		$opts{publications} // '', "$name: publications on the source as before");
	is(query_value($target, 'postgres',
			q{SELECT coalesce(string_agg(roname, ',' ORDER BY roname), '') FROM pg_replication_origin}),
		$opts{origins} // '', "$name: no replication origin created on the target");
	is(query_value($target, $db,
			q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
			     AND n.nspname !~ '^pg_toast'}),
		0, "$name: the target database is still empty");
	return;
}

sub follow_fails
{
	my ($name, $src_uri, $db, @extra) = @_;
	my $dir = work_dir($name);
	my $tgt_uri = uri($target, $db);
	if (@extra >= 2 && $extra[0] eq '--target')
	{
		(undef, $tgt_uri, @extra) = @extra;
	}
	my ($rc, $out, $err) = run_pgshift({ timeout => 120 },
		'clone', '--follow', '--source', $src_uri,
		'--target', $tgt_uri, '--dir', $dir,
		'--table-jobs', '2', '--index-jobs', '2', @extra);
	is($rc, 6, "$name: clone --follow exits 6 (precondition)")
	  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
	return ($rc, $out, $err);
}

# ------------------------------------------------------------ wal_level
subtest 'source with wal_level = replica' => sub {
	is(query_value($plain, 'postgres', 'SHOW wal_level'), 'replica',
		'the third server runs with wal_level = replica');
	my $db = fresh_dbs($plain);
	my ($rc, $out, $err) = follow_fails('wal_level', uri($plain, $db), $db);
	like($err, qr/wal_level/, 'the message names wal_level');
	like($err, qr/wal_level\s*=\s*logical|logical/i,
		'the message says it must be logical');
	like($err, qr/restart/i, 'the message says the source must be restarted');
	nothing_left('wal_level', $plain, $db);
};

# ------------------------------------------------------------ slot in use
subtest 'slot name already in use' => sub {
	my $db = fresh_dbs($source);
	psql_do($source, $db,
		q{SELECT pg_create_logical_replication_slot('taken_slot', 'pgoutput')});
	my ($rc, $out, $err) = follow_fails('slot_in_use', uri($source, $db), $db,
		'--slot-name', 'taken_slot');
	like($err, qr/taken_slot/, 'the message names the slot');
	like($err, qr/already exists|in use/i, 'the message says it exists');
	like($err, qr/--slot-name|cleanup|drop/i, 'the message says how to get out of it');
	nothing_left('slot_in_use', $source, $db, slots_before => ['taken_slot']);
	psql_do($source, 'postgres', q{SELECT pg_drop_replication_slot('taken_slot')});
};

# ---------------------- slot in use, with a publication that existed before
subtest 'slot in use, publication created by the user is kept' => sub {
	my $db = fresh_dbs($source, q{CREATE PUBLICATION pgshift FOR TABLE public.keyed;});
	psql_do($source, $db,
		q{SELECT pg_create_logical_replication_slot('taken_slot2', 'pgoutput')});
	my ($rc, $out, $err) = follow_fails('slot_in_use_pub', uri($source, $db), $db,
		'--slot-name', 'taken_slot2');
	like($err, qr/taken_slot2/, 'the message names the slot');
	nothing_left('slot_in_use_pub', $source, $db,
		slots_before => ['taken_slot2'], publications => 'pgshift');
	psql_do($source, 'postgres', q{SELECT pg_drop_replication_slot('taken_slot2')});
};

# ------------------------------------------------------- replica identity
subtest 'tables without replica identity' => sub {
	my $db = fresh_dbs($source, q{
CREATE TABLE public.no_key (a int, b text);
INSERT INTO public.no_key VALUES (1, 'one');
CREATE TABLE public.ident_nothing (id int PRIMARY KEY, c text);
ALTER TABLE public.ident_nothing REPLICA IDENTITY NOTHING;
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."No Key Either" (x int);
});
	my ($rc, $out, $err) = follow_fails('replident', uri($source, $db), $db,
		'--slot-name', 'replident_slot');
	like($err, qr/public\.no_key/, 'the message names public.no_key');
	like($err, qr/public\.ident_nothing/,
		'the message names public.ident_nothing (REPLICA IDENTITY NOTHING)');
	like($err, qr/"Odd Schema"\."No Key Either"/, 'the message quotes odd names');
	unlike($err, qr/public\.keyed|public\.full_ident/,
		'tables with a key or REPLICA IDENTITY FULL are not named');
	like($err, qr/REPLICA IDENTITY FULL/, 'the message names REPLICA IDENTITY FULL');
	like($err, qr/primary key/i, 'the message mentions a primary key');
	nothing_left('replident', $source, $db);
};

# ------------------------------------------------ role without REPLICATION
subtest 'source role without REPLICATION' => sub {
	create_role($source, 'bob');
	my $db = 'err_bob';
	psql_do($source, 'postgres', qq{CREATE DATABASE $db OWNER bob});
	psql_do($target, 'postgres', qq{CREATE DATABASE $db});
	psql_do($source, $db, q{
SET ROLE bob;
CREATE TABLE public.bobs (id int PRIMARY KEY, v text);
INSERT INTO public.bobs VALUES (1, 'b');
});
	my ($rc, $out, $err) = follow_fails('no_replication',
		uri($source, $db, user => 'bob'), $db, '--slot-name', 'bob_slot');
	like($err, qr/REPLICATION/, 'the message names the REPLICATION privilege');
	like($err, qr/ALTER ROLE|superuser/i, 'the message says how to grant it');
	nothing_left('no_replication', $source, $db);
};

subtest 'source role with REPLICATION, not superuser' => sub {
	create_role($source, 'carol', replication => 1);
	my $db = 'err_carol';
	psql_do($source, 'postgres', qq{CREATE DATABASE $db OWNER carol});
	psql_do($target, 'postgres', qq{CREATE DATABASE $db});
	psql_do($source, $db, q{
CREATE TABLE public.not_carols (id int PRIMARY KEY);
GRANT SELECT ON public.not_carols TO carol;
SET ROLE carol;
CREATE TABLE public.carols (id int PRIMARY KEY, v text);
INSERT INTO public.carols VALUES (1, 'c');
});
	my ($rc, $out, $err) = follow_fails('no_superuser',
		uri($source, $db, user => 'carol'), $db, '--slot-name', 'carol_slot');
	like($err, qr/superuser/i, 'the message says a superuser is needed');
	like($err, qr/publication/i, 'the message names the publication');
	nothing_left('no_superuser', $source, $db);
};

# ------------------------------------------ target role not superuser
# Replication origins need a superuser on the target: refused before the
# copy, and the publication made on the source for this run must not stay.
subtest 'target role not superuser' => sub {
	my $db = fresh_dbs($source);
	create_role($target, 'dave');
	psql_do($target, 'postgres', qq{ALTER DATABASE "$db" OWNER TO dave});
	psql_do($target, $db, q{ALTER SCHEMA public OWNER TO dave});
	my ($rc, $out, $err) = follow_fails('target_not_superuser', uri($source, $db),
		$db, '--target', uri($target, $db, user => 'dave'),
		'--slot-name', 'dave_slot');
	like($err, qr/target/i, 'the message names the target');
	like($err, qr/superuser/i, 'the message says a superuser is needed');
	like($err, qr/origin/i, 'the message names the replication origin');
	nothing_left('target_not_superuser', $source, $db);
};

# ------------------------------------ the receiver cannot start streaming
# `follow` must exit (2 or 6, naming the slot), not wait forever, when
# START_REPLICATION fails.  (30 s is far more than any of these needs.)
my $HANG_TIMEOUT = 30;

sub setup_stream
{
	my ($db, $dir, $slot, @extra) = @_;
	psql_do($target, $db, q{
CREATE TABLE public.keyed (id int PRIMARY KEY, v text);
CREATE TABLE public.full_ident (a int, b text);
ALTER TABLE public.full_ident REPLICA IDENTITY FULL;
});
	my ($rc, $out, $err) = run_pgshift('stream', 'setup',
		'--source', uri($source, $db), '--target', uri($target, $db),
		'--dir', $dir, '--slot-name', $slot, '--origin', $slot, @extra);
	is($rc, 0, "stream setup of $slot exits 0") or diag($err);
	# as pgcopydb: a stream set up step by step receives only until set apply
	($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'get', '--apply', '--dir', $dir);
	is($out, "disabled\n", "stream setup of $slot: the sentinel's apply is off");
	($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'apply', '--dir', $dir);
	is($rc, 0, "stream sentinel set apply for $slot exits 0") or diag($err);
	return;
}

sub follow_no_hang
{
	my ($name, $db, $dir, @extra) = @_;
	my $endpos = query_value($source, $db, 'SELECT pg_current_wal_lsn()');
	my ($rc, $out, $err) = run_pgshift({ timeout => $HANG_TIMEOUT },
		'follow', '--source', uri($source, $db), '--target', uri($target, $db),
		'--dir', $dir, '--endpos', $endpos, @extra);
	isnt($rc, -1, "$name: follow exits instead of waiting forever")
	  or diag("stderr:\n" . tail_lines($err));
	return ($rc, $out, $err);
}

subtest 'follow after the slot was dropped' => sub {
	my $db = fresh_dbs($source);
	my $dir = work_dir('gone_slot');
	setup_stream($db, $dir, 'gone_slot');
	psql_do($source, 'postgres', q{SELECT pg_drop_replication_slot('gone_slot')});
	psql_do($source, $db, q{INSERT INTO public.keyed VALUES (1000, 'after setup')});
	my ($rc, $out, $err) = follow_no_hang('gone_slot', $db, $dir,
		'--slot-name', 'gone_slot', '--origin', 'gone_slot');
	ok($rc == 2 || $rc == 6, "gone_slot: exit 2 or 6 (got $rc)");
	like($err, qr/gone_slot/, 'gone_slot: the message names the slot');
	like($err, qr/does not exist/, 'gone_slot: the message says it does not exist');
	run_pgshift('stream', 'cleanup', '--source', uri($source, $db),
		'--target', uri($target, $db), '--dir', $dir,
		'--slot-name', 'gone_slot', '--origin', 'gone_slot');
};

subtest 'follow while another process streams from the slot' => sub {
	my $db = fresh_dbs($source);
	my $dir = work_dir('busy_slot');
	setup_stream($db, $dir, 'busy_slot', '--plugin', 'test_decoding');
	my ($rout, $rerr) = ('', '');
	my $recv;
	{
		local %ENV = %ENV;
		delete @ENV{qw(PGPASSWORD PGUSER PGSERVICE PGOPTIONS PGDATABASE)};
		$recv = IPC::Run::start(
			[ 'pg_recvlogical', '-d', $source->connstr($db), '-S', 'busy_slot',
			  '--start', '-f', '/dev/null', '-s', '1' ],
			'>', \$rout, '2>', \$rerr, IPC::Run::timeout(300));
	}
	my $active = 0;
	for (1 .. 100)
	{
		$active = query_value($source, 'postgres',
			q{SELECT active FROM pg_replication_slots WHERE slot_name = 'busy_slot'}) eq 't';
		last if $active;
		sleep 0.1;
	}
	ok($active, 'pg_recvlogical holds the slot') or diag($rerr);
	my ($rc, $out, $err) = follow_no_hang('busy_slot', $db, $dir,
		'--plugin', 'test_decoding', '--slot-name', 'busy_slot', '--origin', 'busy_slot');
	ok($rc == 2 || $rc == 6, "busy_slot: exit 2 or 6 (got $rc)");
	like($err, qr/busy_slot/, 'busy_slot: the message names the slot');
	like($err, qr/active|in use/i, 'busy_slot: the message says it is in use');
	$recv->signal('TERM');
	eval { $recv->finish };
	run_pgshift('stream', 'cleanup', '--source', uri($source, $db),
		'--target', uri($target, $db), '--dir', $dir,
		'--slot-name', 'busy_slot', '--origin', 'busy_slot');
};

# The work directory knows the slot's plugin: `follow` without --plugin must
# use it (or refuse, naming it), not stream with pgoutput's options.  For
# each plugin besides the default one.
for my $plugin (grep { $_ ne 'pgoutput' } test_plugins($source))
{
	subtest "follow without --plugin after a $plugin setup" => sub {
		my $name = "noplugin_$plugin";
		# parent and child: a TRUNCATE of both must reach the target as one
		# statement (wal2json sends one message per table)
		my $fk = q{
CREATE TABLE public.parent (id int PRIMARY KEY);
CREATE TABLE public.child (id int PRIMARY KEY, parent int REFERENCES public.parent);
};
		my $db = fresh_dbs($source, $fk . q{
INSERT INTO public.parent VALUES (1), (2);
INSERT INTO public.child VALUES (1, 1), (2, 2);
});
		psql_do($target, $db, $fk
			  . 'INSERT INTO public.parent VALUES (1), (2); INSERT INTO public.child VALUES (1, 1), (2, 2);');
		my $dir = work_dir($name);
		setup_stream($db, $dir, $name, '--plugin', $plugin);
		psql_do($source, $db, q{TRUNCATE public.parent, public.child});
		psql_do($source, $db, q{INSERT INTO public.keyed VALUES (2000, 'after setup')});
		psql_do($source, $db, q{UPDATE public.keyed SET v = 'changed' WHERE id = 2000});
		psql_do($source, $db, q{INSERT INTO public.keyed VALUES (2001, 'deleted')});
		psql_do($source, $db, q{DELETE FROM public.keyed WHERE id = 2001});
		my ($rc, $out, $err) = follow_no_hang($name, $db, $dir,
			'--slot-name', $name, '--origin', $name);
		if ($rc == 0)
		{
			is(query_value($target, $db, q{SELECT string_agg(id || '=' || v, ',' ORDER BY id)
				FROM public.keyed WHERE id >= 2000}),
				'2000=changed', "$name: the changes were applied");
			like($err, qr/\($plugin\)/, "$name: the receiver streamed with $plugin");
			is(query_value($target, $db,
					q{SELECT (SELECT count(*) FROM public.parent) + (SELECT count(*) FROM public.child)}),
				0, "$name: parent and child truncated together");
		}
		else
		{
			ok($rc == 1 || $rc == 6, "$name: refused with exit 1 or 6 (got $rc)");
			like($err, qr/$plugin/, "$name: the message names the plugin");
		}
		is(query_value($source, $db, 'SELECT count(*) FROM pg_publication'), 0,
			"$name: no publication created for a $plugin slot");
		run_pgshift('stream', 'cleanup', '--source', uri($source, $db),
			'--target', uri($target, $db), '--dir', $dir, '--plugin', $plugin,
			'--slot-name', $name, '--origin', $name);
	};
}

# A plugin pgshift does not know: refused before anything is created, the
# message listing the plugins it knows.
subtest 'unknown plugin' => sub {
	my $db = fresh_dbs($source);
	my $dir = work_dir('unknown_plugin');
	my ($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'clone', '--follow',
		'--source', uri($source, $db), '--target', uri($target, $db), '--dir', $dir,
		'--plugin', 'decoderbufs', '--slot-name', 'unknown_plugin', '--origin', 'unknown_plugin');
	is($rc, 1, 'unknown plugin: exit 1 (usage)') or diag(tail_lines($err));
	like($err, qr/unknown logical decoding plugin "decoderbufs"/, 'unknown plugin: named');
	like($err, qr/pgoutput, test_decoding or wal2json/, 'unknown plugin: the three listed');
	nothing_left('unknown plugin', $source, $db);
};

# ------------------------------------- origin left by an unrelated run
# The target already has an origin of that name whose progress is past the
# new slot's LSNs (as after following another source cluster).  Using it
# as is would skip every change below that position: the follower must
# refuse (exit 6, naming the origin) or start it afresh.
subtest 'stale origin on the target' => sub {
	my $db = fresh_dbs($source);
	psql_do($target, 'postgres', q{
SELECT pg_replication_origin_create('stale_origin');
SELECT pg_replication_origin_advance('stale_origin', 'FF/0');
});
	my $dir = work_dir('stale_origin');
	my @conn = ('--source', uri($source, $db), '--target', uri($target, $db),
		'--dir', $dir);
	my @cdc = ('--slot-name', 'stale_slot', '--origin', 'stale_origin');
	my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', @conn, @cdc,
		'--table-jobs', '2', '--index-jobs', '2');
	my $deadline = time + 120;
	while (time < $deadline && pgshift_running($h)
		&& ${ $h->{err} } !~ /base copy done/)
	{
		sleep 0.1;
	}
	if (!pgshift_running($h))
	{
		my ($rc, $out, $err) = finish_pgshift($h);
		is($rc, 6, 'refused: exit 6');
		like($err, qr/stale_origin/, 'the message names the origin');
		is(query_value($target, 'postgres',
				q{SELECT remote_lsn FROM pg_replication_origin_status
				   WHERE external_id = 'stale_origin'}),
			'FF/0', 'the existing origin is left alone');
		return;
	}
	# it went on: changes made now must reach the target
	psql_do($source, $db, q{
INSERT INTO public.keyed SELECT g, 'late ' || g FROM generate_series(101, 150) g;
UPDATE public.keyed SET v = 'changed' WHERE id <= 10;
DELETE FROM public.full_ident WHERE ctid = (SELECT ctid FROM public.full_ident LIMIT 1);
});
	my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos',
		'--current', '--source', uri($source, $db), '--dir', $dir);
	is($rc, 0, 'sentinel set endpos exits 0') or diag($err);
	$deadline = time + 120;
	sleep 0.2 while time < $deadline && pgshift_running($h);
	kill 'KILL', $h->{pid} if pgshift_running($h);
	($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, 'clone --follow exits 0');
	compare_table_data($source, $target, $db);
	run_pgshift('stream', 'cleanup', @conn, @cdc);
};

done_testing();
