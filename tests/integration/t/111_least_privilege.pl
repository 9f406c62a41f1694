# The roles a managed service gives, and nothing more: clone --follow,
# compare and check run as them to equal results.
#
#   source: "migrator", LOGIN REPLICATION, member of pg_read_all_data, owning
#           nothing; the tables belong to "app_owner", who made the
#           publication "mig" FOR TABLE of them (--publication mig);
#   target: "tgt_owner", owner of the target database, granted EXECUTE on
#           the pg_replication_origin_* functions and SELECT on
#           pg_replication_origin_status; NOT granted SET on
#           session_replication_role, so the applier takes the degraded
#           path: it disables the target's user triggers while it runs.
#
# The target's trigger (child_audit) writes audit rows: fired by the applier
# on top of the audit rows replicated from the source, the target would hold
# more of them. The follower is killed with SIGKILL while applying (the
# trigger stays disabled: the record in state.db says so), then resumed;
# after it stops the trigger is enabled again. Killed once more, `stream
# cleanup` enables it. Foreign keys stay checked on
# the target (no replica role): parents and children inserted, updated and
# deleted in the source's order apply cleanly.
#
# Before that, a plain clone as the same roles (--roles: skipped, with a
# warning). After it, a large object the
# source role cannot read (pg_read_all_data does not cover them): check
# reports it, and the server agrees. Then a source role owning its tables
# (not superuser) gets its publication FOR TABLE from `stream setup`, which
# `stream cleanup` drops again.
use strict;
use warnings;

use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my ($source, $target) = start_pair();
create_role($_, $TEST_USER, superuser => 1, replication => 1) for ($source, $target);

create_role($source, 'app_owner');
create_role($source, 'migrator', replication => 1);
psql_do($source, 'postgres', q{
CREATE DATABASE app OWNER app_owner;
GRANT pg_read_all_data TO migrator;
});
psql_do($source, 'app', q{
SET ROLE app_owner;
CREATE TABLE public.parent (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES public.parent,
                           qty int NOT NULL);
CREATE TABLE public.audit (id bigserial PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION public.audit_fn() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.audit (what) VALUES (TG_OP || ' child ' || NEW.id); RETURN NEW; END$$;
CREATE TRIGGER child_audit AFTER INSERT OR UPDATE ON public.child
  FOR EACH ROW EXECUTE FUNCTION public.audit_fn();
INSERT INTO public.parent SELECT g, 'p' || g FROM generate_series(1, 200) g;
INSERT INTO public.child SELECT g, 1 + g % 200, g FROM generate_series(1, 1000) g;
CREATE PUBLICATION mig FOR TABLE public.parent, public.child, public.audit;
});

create_role($target, 'tgt_owner');
psql_do($target, 'postgres', 'CREATE DATABASE app OWNER tgt_owner');
psql_do($target, 'app', q{
GRANT EXECUTE ON FUNCTION pg_catalog.pg_replication_origin_create(text),
  pg_catalog.pg_replication_origin_drop(text),
  pg_catalog.pg_replication_origin_session_setup(text),
  pg_catalog.pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone),
  pg_catalog.pg_replication_origin_progress(text, boolean),
  pg_catalog.pg_show_replication_origin_status() TO tgt_owner;
GRANT SELECT ON pg_catalog.pg_replication_origin_status TO tgt_owner;
});
is(query_value($source, 'postgres', q{SELECT rolsuper::text || rolreplication::text FROM pg_roles WHERE rolname = 'migrator'}),
	'falsetrue', 'migrator: not superuser, REPLICATION');
is(query_value($target, 'postgres', q{SELECT rolsuper::text || rolcreaterole::text || rolcreatedb::text FROM pg_roles WHERE rolname = 'tgt_owner'}),
	'falsefalsefalse', 'tgt_owner: no superuser, CREATEROLE or CREATEDB');

my $dir = work_dir('least');
my @conn = ('--source', uri($source, 'app', user => 'migrator'),
	'--target', uri($target, 'app', user => 'tgt_owner'), '--dir', $dir);
my @cdc = ('--publication', 'mig', '--slot-name', 'lp_slot', '--origin', 'lp_origin');
my @restore = ('--no-owner', '--no-acl');


my $trigger_sql = q{SELECT coalesce((SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'child_audit'), 'none')};

# ------------------------------------------------------------ check
my ($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'check', '--json', '--follow', @conn[0 .. 3], @cdc, @restore);
is($rc, 0, 'check --follow as the least-privileged roles: exit 0') or diag("$out\n$err");
my %by = map { $_->{id} => $_ } @{ (eval { JSON::PP::decode_json($out) } // { items => [] })->{items} };
is($by{'follow.publication'}{level}, 'ok', 'check: the existing publication holds the tables');
is($by{'follow.origins'}{level}, 'ok', 'check: the origin functions are granted');
is($by{'follow.session_replication_role'}{level}, 'warning',
	'check: session_replication_role cannot be set (warning: triggers are disabled instead)');
is($by{'source.read'}{level}, 'ok', 'check: pg_read_all_data reads every table');

# ------------------------------------------------------------ clone (no follow)
psql_do($target, 'postgres', 'CREATE DATABASE app2 OWNER tgt_owner');
($rc, $out, $err) = run_pgshift({ timeout => 120 }, 'clone', @restore, '--roles',
	'--source', uri($source, 'app', user => 'migrator'),
	'--target', uri($target, 'app2', user => 'tgt_owner'), '--dir', work_dir('least_clone'),
	'--table-jobs', '2', '--index-jobs', '2');
is($rc, 0, 'clone as the least-privileged roles: exit 0') or diag(tail_lines($err, 30));
is(query_value($target, 'app2', 'SELECT count(*) FROM public.child'), 1000, 'clone: the rows are there');
like($err, qr/skipped copying the roles \(--roles\): the target role is neither superuser nor CREATEROLE/,
	'clone --roles: the superuser-only step is skipped with a warning naming it');
is(query_value($target, 'postgres', q{SELECT count(*) FROM pg_roles WHERE rolname IN ('app_owner', 'migrator')}), 0,
	'clone --roles: no role was created');
is(query_value($target, 'app2', q{SELECT count(*) FROM pg_class WHERE relowner <> 'tgt_owner'::regrole AND relnamespace = 'public'::regnamespace}),
	0, 'clone: everything belongs to the target role');

# ------------------------------------------------------------ clone --follow, killed
my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', @conn, @cdc, @restore,
	'--table-jobs', '2', '--index-jobs', '2');
ok(wait_until(120, sub { !pgshift_running($h) || ${ $h->{err} } =~ /applying changes on the target/ }),
	'the applier started') or diag(tail_lines(${ $h->{err} }, 30));
ok(pgshift_running($h), 'clone --follow runs') or do { finish_pgshift($h); done_testing(); exit 0; };
is(query_value($target, 'app', $trigger_sql), 'D', 'while the applier runs, the target trigger is disabled');

psql_do($source, 'app', q{
INSERT INTO public.parent VALUES (1001, 'new parent');
INSERT INTO public.child VALUES (5001, 1001, 1), (5002, 1001, 2);
UPDATE public.child SET qty = qty + 100 WHERE id <= 10;
DELETE FROM public.child WHERE parent_id = 7;
DELETE FROM public.parent WHERE id = 7;
});
ok(wait_until(60, sub { query_value($target, 'app', 'SELECT count(*) FROM public.child WHERE id = 5002') == 1 }),
	'the first changes are applied');
kill 'KILL', $h->{pid};
($rc) = finish_pgshift($h);
is($rc, 137, 'the follower is killed (SIGKILL)');
is(query_value($target, 'app', $trigger_sql), 'D', 'after the crash the trigger is still disabled');

psql_do($source, 'app', q{
BEGIN;
INSERT INTO public.parent VALUES (1002, 'another');
INSERT INTO public.child SELECT 6000 + g, 1002, g FROM generate_series(1, 50) g;
COMMIT;
UPDATE public.parent SET name = 'renamed' WHERE id = 1002;
DELETE FROM public.child WHERE id BETWEEN 6001 AND 6010;
});
my $endpos = query_value($source, 'app', 'SELECT pg_current_wal_lsn()');
($rc, $out, $err) = run_pgshift({ timeout => 120 }, 'follow', '--resume', @conn, @cdc,
	'--endpos', $endpos);
is($rc, 0, 'follow --resume --endpos as the least-privileged roles: exit 0')
  or diag(tail_lines($err, 30));
like($err, qr/may not set session_replication_role: disabled \d+ user triggers/,
	'the applier says it disabled the triggers');
is(query_value($target, 'app', $trigger_sql), 'O', 'once the follower stops, the trigger is enabled again');
is(query_value($target, 'app', 'SELECT count(*) FROM public.audit'),
	query_value($source, 'app', 'SELECT count(*) FROM public.audit'),
	'audit rows: as many on the target as on the source (no trigger fired twice)');
compare_table_data($source, $target, 'app');
compare_sequences($source, $target, 'app');

# ------------------------------------------------------------ compare as the roles
($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'compare', 'data', @conn);
is($rc, 0, 'compare data as the least-privileged roles: no difference') or diag("$out\n$err");
($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'compare', 'schema', @conn);
is($rc, 0, 'compare schema as the least-privileged roles: no difference') or diag("$out\n$err");

# killed again while following: stream cleanup puts the trigger back
$h = start_pgshift({ timeout => 300 }, 'follow', '--resume', @conn, @cdc, '--endpos', 'FFFF/0');
ok(wait_until(60, sub { !pgshift_running($h) || query_value($target, 'app', $trigger_sql) eq 'D' }),
	'follow again: the trigger is disabled');
kill 'KILL', $h->{pid};
finish_pgshift($h);
is(query_value($target, 'app', $trigger_sql), 'D', 'killed: the trigger stays disabled');
($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'stream', 'cleanup', @conn, @cdc);
is($rc, 0, 'stream cleanup as the least-privileged roles') or diag($err);
is(query_value($target, 'app', $trigger_sql), 'O', 'stream cleanup enabled the trigger again');
is(query_value($source, 'postgres', q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lp_slot'}), 0,
	'the slot is dropped');
is(query_value($target, 'postgres', q{SELECT count(*) FROM pg_replication_origin WHERE roname = 'lp_origin'}), 0,
	'the origin is dropped');
is(query_value($source, 'app', q{SELECT count(*) FROM pg_publication WHERE pubname = 'mig'}), 1,
	"the owner's publication stays");

# ------------------------------------------------------------ large objects
# pg_read_all_data reads tables, not large objects: check must say so, as the
# server does.
subtest 'a large object the source role cannot read' => sub {
	my $lo = query_value($source, 'app', q{SET ROLE app_owner; SELECT lo_from_bytea(0, 'secret blob')});
	my ($rc, $out) = run_pgshift({ timeout => 60 }, 'check', '--json', @conn[0 .. 3], @restore);
	is($rc, 12, 'check: exit 12');
	my %b = map { $_->{id} => $_ } @{ (eval { JSON::PP::decode_json($out) } // { items => [] })->{items} };
	is($b{'source.large_objects'}{level}, 'blocking', 'check: the large object is reported');
	like($b{'source.large_objects'}{fix} // '', qr/GRANT SELECT ON LARGE OBJECT $lo TO "migrator"/, 'check: the GRANT');
	my ($prc, $pout, $perr) = PgShiftTest::_run_psql($source, 'app', "SET ROLE migrator; SELECT lo_get($lo);");
	like($perr, qr/permission denied for large object/, 'the server agrees: migrator cannot read it');
	psql_do($source, 'app', "SELECT lo_unlink($lo)");
};

# ------------------------------------------------------------ FOR TABLE publication
subtest 'a source role owning its tables gets a publication FOR TABLE' => sub {
	create_role($source, 'owner_repl', replication => 1);
	psql_do($source, 'postgres', 'CREATE DATABASE own OWNER owner_repl');
	psql_do($target, 'postgres', 'CREATE DATABASE own OWNER tgt_owner');
	psql_do($target, 'own', q{
GRANT EXECUTE ON FUNCTION pg_catalog.pg_replication_origin_create(text),
  pg_catalog.pg_replication_origin_drop(text), pg_catalog.pg_replication_origin_progress(text, boolean),
  pg_catalog.pg_show_replication_origin_status() TO tgt_owner;
GRANT SELECT ON pg_catalog.pg_replication_origin_status TO tgt_owner;
});
	psql_do($source, 'own', q{
SET ROLE owner_repl;
CREATE TABLE public.a (id int PRIMARY KEY);
CREATE TABLE public.b (id int PRIMARY KEY);
CREATE TABLE public.p (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE public.p1 PARTITION OF public.p FOR VALUES FROM (0) TO (100);
CREATE TABLE public.p2 PARTITION OF public.p FOR VALUES FROM (100) TO (200);
});
	my @oconn = ('--source', uri($source, 'own', user => 'owner_repl'),
		'--target', uri($target, 'own', user => 'tgt_owner'), '--dir', work_dir('own'));
	my @ocdc = ('--publication', 'ownpub', '--slot-name', 'own_slot', '--origin', 'own_origin');
	my ($rc, $out) = run_pgshift({ timeout => 60 }, 'check', '--json', '--follow', @oconn[0 .. 3], @ocdc, @restore);
	my %b = map { $_->{id} => $_ } @{ (eval { JSON::PP::decode_json($out) } // { items => [] })->{items} };
	is($b{'follow.publication'}{level}, 'warning', 'check: a publication FOR TABLE will be made');
	like($b{'follow.publication'}{found}, qr/FOR TABLE of the 5 kept tables/, 'check says FOR TABLE');
	($rc, $out, my $err) = run_pgshift({ timeout => 60 }, 'stream', 'setup', @oconn, @ocdc);
	is($rc, 0, 'stream setup as the tables\' owner (not superuser)') or diag($err);
	is(query_value($source, 'own', q{SELECT puballtables::text || ' ' || (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'ownpub') FROM pg_publication WHERE pubname = 'ownpub'}),
		'false a,b,p1,p2', 'the publication lists the tables, partitions through their parent (not FOR ALL TABLES)');
	($rc, $out) = run_pgshift({ timeout => 60 }, 'check', '--json', '--follow', @oconn[0 .. 3], @ocdc, @restore);
	%b = map { $_->{id} => $_ } @{ (eval { JSON::PP::decode_json($out) } // { items => [] })->{items} };
	is($b{'follow.publication'}{level}, 'ok', 'check: the publication now exists and holds every table (partitions too)')
	  or diag(explain($b{'follow.publication'}));
	is($b{'follow.slot_name'}{level}, 'blocking', 'check: the slot name is taken now');
	psql_do($source, 'own', q{SET ROLE owner_repl; CREATE TABLE public.later (id int PRIMARY KEY)});
	($rc, $out) = run_pgshift({ timeout => 60 }, 'check', '--json', '--follow', @oconn[0 .. 3], @ocdc, @restore);
	%b = map { $_->{id} => $_ } @{ (eval { JSON::PP::decode_json($out) } // { items => [] })->{items} };
	is($b{'follow.publication'}{level}, 'blocking', 'check: a table created since is not in the publication');
	like($b{'follow.publication'}{fix} // '', qr/ALTER PUBLICATION ownpub ADD TABLE public\.later/, 'check: the fix adds it');
	($rc, $out, $err) = run_pgshift({ timeout => 60 }, 'stream', 'cleanup', @oconn, @ocdc);
	is($rc, 0, 'stream cleanup') or diag($err);
	is(query_value($source, 'own', q{SELECT count(*) FROM pg_publication}), 0, 'its publication is dropped');
};

done_testing();
