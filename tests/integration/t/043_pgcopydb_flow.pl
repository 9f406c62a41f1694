# pgcopydb's documented step-by-step flow, run as a pgcopydb script runs it:
# no connection option on any command line, only PGCOPYDB_SOURCE_PGURI,
# PGCOPYDB_TARGET_PGURI, PGCOPYDB_DIR and PGCOPYDB_OUTPUT_PLUGIN in the
# environment, one work directory for every step:
#
#   pgshift snapshot --follow &         the slot and its snapshot, held (source only)
#   pgshift stream setup                the origin on the target; the slot is used as it is
#   pgshift clone --snapshot ID         the base copy under the slot's snapshot
#   pgshift follow &                    receive and apply
#   pgshift stream sentinel set apply
#   pgshift stream sentinel set endpos --current
#                                       follow exits 0 at the end position
#   pgshift stream cleanup              slot, publication, origin and journal dropped
#   kill -TERM <snapshot>               exits 0
#
# Rows are written on the source after the slot exists: while the clone
# waits (a lock on the target's pg_class holds its schema restore), after
# the clone, and while follow runs.  The ones written while the clone waits
# must not be in the copy (it used the held snapshot, not a new one) and
# must come through the stream.  At the end every table (count + checksum)
# and sequence is equal, and the slot, the origin and the publication are
# gone.  `stream sentinel get` with --endpos, --apply and --json reads back
# what `set` wrote.
#
# For each plugin test_plugins() gives: pgoutput, test_decoding, and
# wal2json when the server has it (CI installs postgresql-15-wal2json).
use strict;
use warnings;

use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my $FOLLOW_TIMEOUT = 180;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}

my $SCHEMA = q{
CREATE TABLE public.accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                              owner text NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0);
CREATE TABLE public.events (id serial PRIMARY KEY, account bigint REFERENCES public.accounts,
                            kind text, payload jsonb, at timestamptz DEFAULT now());
CREATE TABLE public.tally (name text, n int);
ALTER TABLE public.tally REPLICA IDENTITY FULL;
CREATE SEQUENCE public.tickets START 100;
INSERT INTO public.accounts (owner, balance)
  SELECT 'owner ' || g, g * 10 FROM generate_series(1, 2000) g;
INSERT INTO public.events (account, kind, payload)
  SELECT 1 + g % 2000, 'initial', jsonb_build_object('g', g) FROM generate_series(1, 5000) g;
INSERT INTO public.tally VALUES ('a', 1), ('a', 1), ('b', 2);
SELECT nextval('public.tickets') FROM generate_series(1, 5);
};

# $tag marks the rows of one batch of writes
sub writes
{
	my ($db, $tag) = @_;
	psql_do($source, $db, qq{
INSERT INTO public.accounts (owner) SELECT '$tag ' || g FROM generate_series(1, 50) g;
UPDATE public.accounts SET balance = balance + 1 WHERE id % 7 = 0;
DELETE FROM public.events WHERE id % 11 = 0 AND kind = 'initial';
INSERT INTO public.events (account, kind, payload)
  SELECT 1 + g % 100, '$tag', jsonb_build_object('tag', '$tag', 'g', g) FROM generate_series(1, 200) g;
UPDATE public.tally SET n = n + 1 WHERE name = 'a';
INSERT INTO public.tally VALUES ('$tag', 0);
SELECT nextval('public.tickets') FROM generate_series(1, 3);
});
	return;
}

sub count_on
{
	my ($node, $db, $tag) = @_;
	return query_value($node, $db,
		"SELECT count(*) FROM public.events WHERE kind = '$tag'");
}

sub plugin_available
{
	my ($plugin) = @_;
	return 1 if $plugin ne 'wal2json';
	my $libdir = $source->config_data('--pkglibdir');
	return -f "$libdir/wal2json.so";
}

# A database $db on both servers (the schema on the source), a work
# directory, and the PGCOPYDB_* environment pgcopydb's scripts set.
sub flow_env
{
	my ($db) = @_;
	my $dir = work_dir($db);
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($source, $db, $SCHEMA);
	return (
		PGCOPYDB_SOURCE_PGURI => uri($source, $db),
		PGCOPYDB_TARGET_PGURI => uri($target, $db),
		PGCOPYDB_DIR          => $dir);
}

sub scenario
{
	my ($plugin) = @_;
	my $db = "flow_$plugin";
	my %env = (flow_env($db), PGCOPYDB_OUTPUT_PLUGIN => $plugin);
	my $pgshift = sub { run_pgshift({ env => \%env, timeout => 300 }, @_) };
	my $slot_count = sub {
		query_value($source, 'postgres',
			"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgshift' AND plugin = '$plugin'");
	};
	my $origin_count = sub {
		query_value($target, 'postgres',
			"SELECT count(*) FROM pg_replication_origin WHERE roname = 'pgshift'");
	};

	# ------------------------------------------------ snapshot --follow &
	my $snap_h = start_pgshift({ env => \%env, timeout => 900 }, 'snapshot', '--follow');
	ok(wait_output($snap_h, qr/^\S+\n/, 120), 'snapshot --follow prints the snapshot it holds')
	  or do { kill 'TERM', $snap_h->{pid}; finish_pgshift($snap_h); return };
	my ($snapshot) = ${ $snap_h->{out} } =~ /^(\S+)\n/;
	note("held snapshot: $snapshot");
	is($slot_count->(), 1, "snapshot --follow created the slot, with $plugin");
	is($origin_count->(), 0, 'snapshot --follow left the origin to stream setup');
	is(query_value($source, $db, 'SELECT count(*) FROM pg_publication'),
		$plugin eq 'pgoutput' ? 1 : 0,
		'a publication exactly when the plugin is pgoutput');
	my $slot_start = query_value($source, 'postgres',
		q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgshift'});

	# ------------------------------------------------------- stream setup
	my ($rc, $out, $err) = $pgshift->('stream', 'setup');
	is($rc, 0, 'stream setup exits 0 with the slot snapshot --follow made') or diag($err);
	is($origin_count->(), 1, 'stream setup created the origin on the target');
	is($slot_count->(), 1, 'stream setup used the slot as it is');
	($rc, $out, $err) = $pgshift->('stream', 'sentinel', 'get', '--apply');
	is($out, "disabled\n", 'after stream setup the sentinel\'s apply is off (prefetch only)');
	is(query_value($source, 'postgres',
			q{SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgshift'}),
		$slot_start, 'the slot still starts where snapshot --follow made it');

	# -------------------------- clone --snapshot, writes while it waits
	my $gate = gate_close($target, $db);
	my $clone_h = start_pgshift({ env => \%env, timeout => 600 },
		'clone', '--snapshot', $snapshot, '--table-jobs', '2', '--index-jobs', '2');
	ok(wait_output($clone_h, qr/pre-data/, 120), 'the clone reached the schema restore');
	writes($db, 'during clone');
	gate_open($gate);
	($rc, $out, $err) = finish_pgshift($clone_h);
	is($rc, 0, 'clone --snapshot exits 0') or diag(tail_lines($err));
	like($err, qr/using snapshot "\Q$snapshot\E"/, 'the clone used the held snapshot');
	is(count_on($target, $db, 'during clone'), 0,
		'rows written after the slot was made are not in the copy');

	writes($db, 'after clone');

	# ----------------------------------------------------------- follow &
	my $follow_h = start_pgshift({ env => \%env, timeout => 900 }, 'follow');
	writes($db, 'prefetched');
	ok(wait_output($follow_h, qr/prefetch only/, 60), 'follow says it receives only');
	sleep(2);
	is(count_on($target, $db, 'prefetched'), 0,
		'while the sentinel\'s apply is off, follow applies nothing');
	($rc, $out, $err) = $pgshift->('stream', 'sentinel', 'set', 'apply');
	is($rc, 0, 'stream sentinel set apply exits 0') or diag($err);
	writes($db, 'while following');
	ok(pgshift_running($follow_h), 'follow runs without an end position')
	  or diag(tail_lines(${ $follow_h->{err} }));

	($rc, $out, $err) = $pgshift->('stream', 'sentinel', 'set', 'endpos', '--current');
	is($rc, 0, 'stream sentinel set endpos --current exits 0') or diag($err);
	my ($endpos) = $out =~ m{^([0-9A-F]+/[0-9A-F]+)$}m;
	ok(defined $endpos, 'it prints the end position') or diag("stdout: $out");
	$endpos //= '';

	($rc, $out) = $pgshift->('stream', 'sentinel', 'get', '--endpos');
	is($out, "$endpos\n", 'stream sentinel get --endpos prints that position alone');
	($rc, $out) = $pgshift->('stream', 'sentinel', 'get', '--apply');
	is($out, "enabled\n", 'stream sentinel get --apply prints enabled');
	($rc, $out) = $pgshift->('stream', 'sentinel', 'get', '--json');
	my $json = eval { JSON::PP::decode_json($out) };
	is_deeply([ $json && $json->{endpos}, $json && $json->{apply} ? 1 : 0 ],
		[ $endpos, 1 ], 'stream sentinel get --json has the end position and apply')
	  or diag("stdout: $out");

	my $deadline = time + $FOLLOW_TIMEOUT;
	sleep 0.2 while time < $deadline && pgshift_running($follow_h);
	ok(!pgshift_running($follow_h), "follow exits within ${FOLLOW_TIMEOUT}s of the end position")
	  or kill 'TERM', $follow_h->{pid};
	($rc, $out, $err) = finish_pgshift($follow_h);
	is($rc, 0, 'follow exits 0') or diag(tail_lines($err));
	like($err, qr/applier stopped at \S+: .*\(end position reached\)/,
		'the applier stopped at the end position');

	# ------------------------------------------------------- comparisons
	for my $tag ('during clone', 'after clone', 'while following')
	{
		is(count_on($target, $db, $tag), count_on($source, $db, $tag),
			"the rows written $tag are on the target");
	}
	compare_tables($source, $target, $db);
	compare_table_data($source, $target, $db);
	compare_sequences($source, $target, $db);

	# ----------------------------------------------------- stream cleanup
	($rc, $out, $err) = $pgshift->('stream', 'cleanup');
	is($rc, 0, 'stream cleanup exits 0') or diag($err);
	is(query_value($source, 'postgres',
			q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgshift'}),
		0, 'cleanup dropped the slot');
	is($origin_count->(), 0, 'cleanup dropped the origin');
	is(query_value($source, $db, 'SELECT count(*) FROM pg_publication'),
		0, 'no publication left on the source');

	# ------------------------------------------- stop holding the snapshot
	ok(pgshift_running($snap_h), 'snapshot --follow held its snapshot all along');
	kill 'TERM', $snap_h->{pid};
	($rc, $out, $err) = finish_pgshift($snap_h);
	is($rc, 0, 'snapshot --follow exits 0 on SIGTERM') or diag(tail_lines($err));
	like($err, qr/snapshot released/, 'it says it released the snapshot');
	return;
}

# pgcopydb's other documented flow: `snapshot --follow &`, `stream setup`,
# then `clone --follow` in the same directory, which uses the slot made
# there and its held snapshot instead of refusing the slot as taken.
sub clone_follow_after_setup
{
	my $db  = 'flow_clone_follow';
	my %env = flow_env($db);
	my $snap_h = start_pgshift({ env => \%env, timeout => 600 }, 'snapshot', '--follow');
	ok(wait_output($snap_h, qr/^\S+\n/, 120), 'snapshot --follow holds a snapshot')
	  or do { kill 'TERM', $snap_h->{pid}; finish_pgshift($snap_h); return };
	my ($snapshot) = ${ $snap_h->{out} } =~ /^(\S+)\n/;
	my ($rc, $out, $err) = run_pgshift({ env => \%env }, 'stream', 'setup');
	is($rc, 0, 'stream setup exits 0') or diag($err);
	writes($db, 'before clone');

	my $h = start_pgshift({ env => \%env, timeout => 600 }, 'clone', '--follow');
	ok(wait_output($h, qr/base copy done/, 300), 'clone --follow copied')
	  or diag(tail_lines(${ $h->{err} }));
	like(${ $h->{err} }, qr/using snapshot "\Q$snapshot\E"/,
		'clone --follow used the snapshot snapshot --follow holds');
	writes($db, 'after copy');
	($rc, $out, $err) =
	  run_pgshift({ env => \%env }, 'stream', 'sentinel', 'set', 'endpos', '--current');
	is($rc, 0, 'stream sentinel set endpos --current exits 0') or diag($err);
	my $deadline = time + $FOLLOW_TIMEOUT;
	sleep 0.2 while time < $deadline && pgshift_running($h);
	kill 'TERM', $h->{pid} if pgshift_running($h);
	($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, 'clone --follow exits 0 at the end position') or diag(tail_lines($err));
	compare_table_data($source, $target, $db);
	compare_sequences($source, $target, $db);

	($rc, $out, $err) = run_pgshift({ env => \%env }, 'stream', 'cleanup');
	is($rc, 0, 'stream cleanup exits 0') or diag($err);
	kill 'TERM', $snap_h->{pid};
	($rc) = finish_pgshift($snap_h);
	is($rc, 0, 'snapshot --follow exits 0 on SIGTERM');
	return;
}

# `follow --create-slot` on a directory nothing was set up in: it makes the
# slot (and the origin) itself, and stops at the end position.
sub follow_create_slot
{
	my $db  = 'flow_create_slot';
	my $dir = work_dir('flow_create_slot');
	psql_do($source, 'postgres', qq{CREATE DATABASE "$db"});
	psql_do($target, 'postgres', qq{CREATE DATABASE "$db"});
	my %env = (
		PGCOPYDB_SOURCE_PGURI => uri($source, $db),
		PGCOPYDB_TARGET_PGURI => uri($target, $db),
		PGCOPYDB_DIR          => $dir);
	my $endpos = query_value($source, $db, 'SELECT pg_current_wal_lsn()');
	my ($rc, $out, $err) = run_pgshift({ env => \%env, timeout => 120 },
		'follow', '--create-slot', '--endpos', $endpos);
	is($rc, 0, 'follow --create-slot --endpos exits 0') or diag(tail_lines($err));
	like($err, qr/created replication slot "pgshift"/, 'it created the slot');
	is(query_value($source, 'postgres',
			q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgshift'}),
		1, 'the slot is on the source');
	($rc, $out, $err) = run_pgshift({ env => \%env }, 'stream', 'cleanup');
	is($rc, 0, 'stream cleanup exits 0') or diag($err);
	is(query_value($source, 'postgres',
			q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgshift'}),
		0, 'cleanup dropped it');
	return;
}

for my $plugin (test_plugins($source))
{
	subtest "pgcopydb's step-by-step flow, $plugin" => sub {
		plan skip_all => "the source has no $plugin.so" unless plugin_available($plugin);
		scenario($plugin);
	};
}
subtest 'snapshot --follow, stream setup, clone --follow' => \&clone_follow_after_setup;
subtest 'follow --create-slot' => \&follow_create_slot;

# pgcopydb's offline flow: `snapshot &`, then `clone` (no --snapshot) in the
# same directory copies under the held snapshot.
subtest 'snapshot &, clone: the held snapshot is used' => sub {
	my $db = 'flow_held';
	my %env = flow_env($db);
	my $snap_h = start_pgshift({ env => \%env, timeout => 600 }, 'snapshot');
	ok(wait_output($snap_h, qr/^\S+\n/, 120), 'snapshot holds a snapshot');
	my ($snapshot) = ${ $snap_h->{out} } =~ /^(\S+)\n/;
	writes($db, 'after snapshot');
	my ($rc, $out, $err) = run_pgshift({ env => \%env, timeout => 300 }, 'clone');
	is($rc, 0, 'clone exits 0 beside the snapshot holder') or diag(tail_lines($err));
	like($err, qr/using snapshot "\Q$snapshot\E", held by "pgshift snapshot"/,
		'clone says it uses the held snapshot');
	is(count_on($target, $db, 'after snapshot'), 0,
		'rows written after the snapshot are not in the copy');
	kill 'TERM', $snap_h->{pid};
	($rc) = finish_pgshift($snap_h);
	is($rc, 0, 'the snapshot holder exits 0 on SIGTERM');
};

done_testing();
