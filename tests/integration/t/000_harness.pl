# Self-test of the test harness (tests/lib/PgShiftTest.pm); needs no pgshift.
#
# - the fixture loads on PostgreSQL 15, and a pg_dump/pg_restore copy of it
#   compares equal with compare_all;
# - every compare_* helper detects a deliberate difference on the target
#   (and passes again once the difference is reverted);
# - query_rows keeps awkward values intact; TCP + scram works with uri().
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my $fixture = File::Spec->rel2abs(dirname(__FILE__) . '/../sql/rich_schema.sql');

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1);
	create_role($node, 'app_reader', password => undef, login => 0);
	psql_do($node, 'postgres', 'CREATE DATABASE rich');
}

# ---------------------------------------------------------------- basics
subtest 'query_rows keeps values intact' => sub {
	my $rows = query_rows($source, 'postgres', q{
SELECT E'tab\there', E'new\nline', 'a,b', 'say "hi"', '|pipe|', '', NULL::text
UNION ALL
SELECT 'back\slash', E'\r\n', ' lead', 'trail ', 'Ünïcode ✓', 'x', 'NULL'});
	is_deeply(
		$rows,
		[
			[ "tab\there", "new\nline", 'a,b', 'say "hi"', '|pipe|', '', undef ],
			[ "back\\slash", "\r\n", ' lead', 'trail ', 'Ünïcode ✓', 'x', 'NULL' ],
		],
		'two rows, seven columns, NULL as undef');
	is_deeply(query_rows($source, 'postgres', 'SELECT 1 WHERE false'),
		[], 'no rows');
	is(query_value($source, 'postgres', 'SELECT 41 + 1'), 42, 'query_value');
};

subtest 'TCP with scram-sha-256' => sub {
	is(query_value($source, 'postgres',
			"SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = '$TEST_USER'"),
		'SCRAM-SHA-256$', 'password stored as a SCRAM verifier');
	for my $node ($source, $target)
	{
		my ($out, $err) = ('', '');
		IPC::Run::run([ 'psql', '-XAtq', '-d', uri($node, 'postgres'),
				'-c', 'SELECT current_user, inet_server_addr()' ],
			'>', \$out, '2>', \$err);
		is($?, 0, $node->name . ': psql with uri() connects') or diag($err);
		like($out, qr/^\Q$TEST_USER\E\|127\.0\.0\.1/, 'over TCP as the test role');
		IPC::Run::run([ 'psql', '-XAtq', '-d', uri($node, 'postgres', password => 'wrongpw'),
				'-c', 'SELECT 1' ],
			'>', \$out, '2>', \$err);
		isnt($?, 0, $node->name . ': wrong password refused');
		like($err, qr/password authentication failed/, 'by scram');
		IPC::Run::run([ 'psql', '-XAtq', '-d', keyword_connstr($node, 'postgres'),
				'-c', 'SELECT 1' ],
			'>', \$out, '2>', \$err);
		is($?, 0, $node->name . ': keyword/value connection string connects')
		  or diag($err);
	}
	is(query_value($source, 'postgres', 'SHOW wal_level'), 'logical', 'source wal_level');
	is(query_value($target, 'postgres', 'SHOW max_connections'), '50', 'max_connections');
};

# ------------------------------------------- fixture + pg_dump/pg_restore copy
my $t0 = time;
load_sql_file($source, 'rich', $fixture);
note(sprintf('fixture loaded in %ds', time - $t0));

my $dump = PostgreSQL::Test::Utils::tempdir() . '/rich.dump';
for my $cmd (
	[ 'pg_dump', '-Fc', '-d', $source->connstr('rich'), '-f', $dump ],
	[ 'pg_restore', '--exit-on-error', '-d', $target->connstr('rich'), $dump ])
{
	my ($out, $err) = ('', '');
	IPC::Run::run($cmd, '>', \$out, '2>', \$err);
	is($?, 0, "$cmd->[0] succeeds") or diag($err);
}
psql_do($target, 'rich', 'ANALYZE');

ok(scalar(@{ table_list($source, 'rich') }) >= 20, 'table_list sees the fixture tables');
ok((grep { $_ eq '"Sales Ünïcode"."Order Lines"' } @{ table_list($source, 'rich') }),
	'table_list quotes names');
is_deeply(table_list($target, 'rich'), table_list($source, 'rich'),
	'same tables after pg_restore');
ok(compare_all($source, $target, 'rich'), 'pg_dump | pg_restore copy compares equal');

# ------------------------------------------------ each compare_* must fail
# Runs $check as TODO (its failures are expected and do not count) and
# asserts that it failed.
sub detects
{
	my ($what, $check) = @_;
	my $tb = Test::More->builder;
	$tb->todo_start("deliberate difference: $what");
	my $result = $check->();
	$tb->todo_end;
	ok(!$result, "detects: $what");
}

sub passes
{
	my ($what, $check) = @_;
	ok($check->(), "equal again: $what");
}

# run SQL on the target without firing triggers
sub on_target
{
	my ($sql) = @_;
	psql_do($target, 'rich', "SET session_replication_role = replica;\n$sql");
}

my @c = ($source, $target, 'rich');
my @small = (only => [ 'public."select"', 'app.all_types', '"Sales Ünïcode"."Order Lines"' ]);

on_target(q{DELETE FROM public."select" WHERE "from" = 7});
detects('a missing row', sub { compare_table_data(@c, @small) });
on_target(q{INSERT INTO public."select" SELECT 7, 'to 7 (updated)', 'odd', current_user, 993});
my $user = query_value($source, 'rich', q{SELECT "user" FROM public."select" WHERE "from" = 7});
on_target(qq{UPDATE public."select" SET "user" = '$user' WHERE "from" = 7});
passes('row put back', sub { compare_table_data(@c, @small) });
on_target(q{UPDATE app.all_types SET t = t || ' ' WHERE id = 1});
detects('a changed value, same row count', sub { compare_table_data(@c, @small) });
on_target(q{UPDATE app.all_types SET t = rtrim(t, ' ') WHERE id = 1});
on_target(q{UPDATE "Sales Ünïcode"."Order Lines" SET "Größe" = 'XXL' WHERE "Line ID" = 3});
detects('a changed value in a non-ASCII column', sub { compare_table_data(@c, @small) });
my $g = query_value($source, 'rich',
	q{SELECT "Größe" FROM "Sales Ünïcode"."Order Lines" WHERE "Line ID" = 3});
on_target(defined $g
	? qq{UPDATE "Sales Ünïcode"."Order Lines" SET "Größe" = '$g' WHERE "Line ID" = 3}
	: q{UPDATE "Sales Ünïcode"."Order Lines" SET "Größe" = NULL WHERE "Line ID" = 3});
passes('values restored', sub { compare_table_data(@c, @small) });

on_target(q{SELECT setval('app.invoice_no', 1500, true)});
detects('sequence is_called flipped', sub { compare_sequences(@c) });
on_target(q{SELECT setval('app.invoice_no', 1500, false)});
passes('sequence restored', sub { compare_sequences(@c) });
on_target(q{SELECT setval('app.ticket_seq', 60)});
detects('sequence advanced', sub { compare_sequences(@c) });
on_target(q{SELECT setval('app.ticket_seq', 52)});
on_target(q{ALTER SEQUENCE app.ticket_seq INCREMENT BY 2});
detects('sequence increment', sub { compare_sequences(@c) });
on_target(q{ALTER SEQUENCE app.ticket_seq INCREMENT BY 1});
passes('sequences', sub { compare_sequences(@c) });

on_target(q{DROP INDEX app.products_price_partial});
detects('a dropped index', sub { compare_indexes(@c) });
on_target(q{CREATE INDEX products_price_partial ON app.products (price) WHERE price > 100});
passes('index re-created', sub { compare_indexes(@c) });
on_target(q{ALTER INDEX app.big_log_created_at_idx RENAME TO big_log_created_idx});
detects('a renamed index', sub { compare_indexes(@c) });
on_target(q{ALTER INDEX app.big_log_created_idx RENAME TO big_log_created_at_idx});

on_target(q{SELECT lo_unlink(content) FROM app.documents WHERE name = 'binary.bin'});
detects('a dropped large object', sub { compare_large_objects(@c) });

on_target(q{ALTER TABLE app.customers DROP CONSTRAINT customers_name_check});
detects('a dropped check constraint', sub { compare_constraints(@c) });
on_target(q{ALTER TABLE app.customers ADD CONSTRAINT customers_name_check CHECK (length(name) > 0)});
passes('constraint re-created', sub { compare_constraints(@c) });
on_target(q{ALTER TABLE app.customers ALTER CONSTRAINT customers_referred_by_fkey DEFERRABLE});
detects('a foreign key made deferrable', sub { compare_constraints(@c) });
on_target(q{ALTER TABLE app.customers ALTER CONSTRAINT customers_referred_by_fkey NOT DEFERRABLE});
passes('constraints', sub { compare_constraints(@c) });

on_target(q{ALTER TABLE app.tickets ALTER COLUMN title SET DEFAULT 'x'});
detects('a column default', sub { compare_tables(@c) });
on_target(q{ALTER TABLE app.tickets ALTER COLUMN title DROP DEFAULT});
on_target(q{ALTER TABLE app.session_cache SET LOGGED});
detects('unlogged table became logged', sub { compare_tables(@c) });
on_target(q{ALTER TABLE app.session_cache SET UNLOGGED});
passes('tables', sub { compare_tables(@c) });

my @object_changes = (
	[ 'a dropped policy',
		q{DROP POLICY customers_reader ON app.customers},
		q{CREATE POLICY customers_reader ON app.customers FOR SELECT TO app_reader USING (name <> 'hidden')} ],
	[ 'row level security disabled',
		q{ALTER TABLE app.customers DISABLE ROW LEVEL SECURITY},
		q{ALTER TABLE app.customers ENABLE ROW LEVEL SECURITY} ],
	[ 'a changed table comment',
		q{COMMENT ON TABLE app.customers IS 'changed'},
		q{COMMENT ON TABLE app.customers IS 'people who buy things'} ],
	[ 'a dropped column comment',
		q{COMMENT ON COLUMN "Sales Ünïcode"."Order Lines"."Größe" IS NULL},
		q{COMMENT ON COLUMN "Sales Ünïcode"."Order Lines"."Größe" IS 'Größe (size): S, M, L, XL — or NULL'} ],
	[ 'a revoked grant',
		q{REVOKE SELECT ON app.customers FROM app_reader},
		q{GRANT SELECT ON app.customers TO app_reader} ],
	[ 'a disabled trigger',
		q{ALTER TABLE public."select" DISABLE TRIGGER select_audit},
		q{ALTER TABLE public."select" ENABLE TRIGGER select_audit} ],
	[ 'a changed function body',
		q{CREATE OR REPLACE FUNCTION app.customer_count(min_id integer DEFAULT 0) RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) + 1 FROM app.customers WHERE id > min_id'},
		q{CREATE OR REPLACE FUNCTION app.customer_count(min_id integer DEFAULT 0) RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM app.customers WHERE id > min_id'} ],
	[ 'a dropped view',
		q{DROP VIEW public."select view"},
		q{CREATE VIEW public."select view" WITH (security_barrier) AS SELECT "from", "to" FROM public."select" WHERE "Group" = 'even' WITH CASCADED CHECK OPTION} ],
	[ 'a domain constraint',
		q{ALTER DOMAIN app.positive_amount DROP CONSTRAINT positive_amount_check},
		q{ALTER DOMAIN app.positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0)} ],
	[ 'a materialized view with fewer rows',
		q{DELETE FROM "Sales Ünïcode".orders WHERE ordered_at < '2023-01-01'; REFRESH MATERIALIZED VIEW app.monthly_sales},
		undef ],
	[ 'an extra enum label',
		q{ALTER TYPE app.order_status ADD VALUE 'lost'},
		undef ],
);
for my $change (@object_changes)
{
	my ($what, $do, $undo) = @$change;
	on_target($do);
	detects($what, sub { compare_objects(@c) });
	if (defined $undo)
	{
		on_target($undo);
		passes("$what, undone", sub { compare_objects(@c) });
	}
}

on_target(q{DROP TABLE app.no_pk});
detects('a table missing on the target', sub { compare_table_data(@c, only => ['app.no_pk']) });
detects('a table missing on the target (definitions)', sub { compare_tables(@c) });

done_testing();
