# pgshift clone --filters: pgcopydb's ini format.
#
#   run "exclude"       [exclude-schema] [exclude-table] [exclude-table-data]
#                       [exclude-index], with quoted names ("Mixed Case"."Tab",
#                       "Data ""Less""") and unquoted upper case ones
#   run "include-table" [include-only-table]
#   run "include-schema" [include-only-schema]
#
# Each run goes to a fresh target database, checked with the target's own
# catalogs: what is left out is absent with everything depending on it
# (indexes, constraints, triggers, owned and identity sequences, views over
# it, foreign keys pointing at it from copied tables, policies), schema-only
# tables are empty but keep their indexes, an excluded index is absent while
# its table is there, the copied tables are identical to the source's.
# Then: contradictory sections and an unknown section exit 1 naming the
# line; `list tables --filters F [--list-skipped] --json` shows the same
# choice; `stream setup --filters` publishes only the kept tables; `clone
# --follow --filters --plugin test_decoding` applies only the kept tables'
# changes and TRUNCATEs (test_decoding has no publication).
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgShiftTest;

my $fixture =
  File::Spec->rel2abs(dirname(__FILE__) . '/../sql/filters_schema.sql');
my $DB = 'filters';

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
}
psql_do($source, 'postgres', "CREATE DATABASE $DB");
load_sql_file($source, $DB, $fixture);
psql_do($source, $DB, 'VACUUM ANALYZE');

my $tmp = PostgreSQL::Test::Utils::tempdir();

sub filters_file
{
	my ($name, $text) = @_;
	my $path = "$tmp/$name.ini";
	open my $fh, '>', $path or die "cannot write $path: $!";
	print $fh $text;
	close $fh;
	chmod 0644, $path;
	return $path;
}

sub show
{
	my ($out, $err) = @_;
	return "stdout:\n" . tail_lines($out // '', 20) . "\nstderr:\n"
	  . tail_lines($err // '', 60);
}

sub fresh_target
{
	psql_do($target, 'postgres', "DROP DATABASE IF EXISTS $DB WITH (FORCE)");
	psql_do($target, 'postgres', "CREATE DATABASE $DB");
}

sub clone_with
{
	my ($name, $file) = @_;
	fresh_target();
	my $dir = work_dir($name);
	my ($rc, $out, $err) = run_pgshift(
		'clone',
		'--source', uri($source, $DB),
		'--target', uri($target, $DB),
		'--dir', $dir, '--filters', $file,
		'--table-jobs', '2', '--index-jobs', '2');
	is($rc, 0, "$name: clone --filters exits 0") or diag(show($out, $err));
	return ($rc, $out, $err);
}

# The statements pg_restore ran and the target refused, from pgshift's log.
sub failed_statements
{
	my ($err) = @_;
	return [ $err =~ /Command was: (.*)/g ];
}

# No refused statement about $what (a regexp): each its own test, so that
# every cause of a failed run shows.
sub no_statement_about
{
	my ($name, $err, $re, $what) = @_;
	my @bad = grep { /$re/ } @{ failed_statements($err) };
	ok(!@bad, "$name: pg_restore ran no statement about $what")
	  or diag("refused by the target:\n  " . join("\n  ", @bad));
}

# one column of a query on the target, sorted
sub target_list
{
	my ($sql) = @_;
	return [ sort map { $_->[0] // '<NULL>' } @{ query_rows($target, $DB, $sql) } ];
}

my $FKEYS = q{SELECT format('%s %I', conrelid::regclass, conname)
  FROM pg_constraint WHERE contype = 'f'};
my $TRIGGERS = q{SELECT format('%s %I', tgrelid::regclass, tgname)
  FROM pg_trigger WHERE NOT tgisinternal};
my $SCHEMAS = q{SELECT quote_ident(nspname) FROM pg_namespace
 WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public')
   AND nspname !~ '^pg_'};
my $VIEWS = q{SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')};

# Relations (tables, sequences, indexes, views) that must not exist on the
# target: the names that still resolve there.
sub present_of
{
	my (@names) = @_;
	my $arr = join(', ', map { my $n = $_; $n =~ s/'/''/g; "'$n'" } @names);
	return target_list(qq{
SELECT n FROM unnest(ARRAY[$arr]::text[]) AS n WHERE to_regclass(n) IS NOT NULL});
}

###########################################################################
# run "exclude"
###########################################################################
my $exclude_file = filters_file('exclude', <<'EOF');
# pgshift filters, pgcopydb's format
[exclude-schema]
secret

[exclude-table]
app.audit_log
app.events
app.measures
"Mixed Case"."Tab"

[exclude-table-data]
app.big_history
"Mixed Case"."Data ""Less"""

; an unquoted name is folded to lower case
[exclude-index]
APP.Products_Name_Idx
EOF

{
	my $name = 'exclude';
	my ($rc, $out, $err) = clone_with($name, $exclude_file);
	no_statement_about($name, $err, qr/\bapp\.events\b/,
		'the excluded table app.events (its identity column)');
	no_statement_about($name, $err, qr/\bsecret\b/, 'the excluded schema secret');
	no_statement_about($name, $err, qr/\bmeasures/,
		'the excluded partitioned table app.measures (its partitions\' indexes)');
	no_statement_about($name, $err, qr/"Mixed Case"\."Tab"/,
		'the excluded table "Mixed Case"."Tab" (its comment and grant)');
	is(scalar @{ failed_statements($err) }, 0, "$name: the target refused no statement");

	is_deeply(
		table_list($target, $DB),
		[
			'"Mixed Case"."Data ""Less"""', '"Mixed Case"."Keep Me"',
			'"Mixed Case".tab',             'app.big_history',
			'app.customers',                'app.orders',
			'app.products'
		],
		"$name: the target has exactly the tables not excluded");

	is_deeply(
		present_of(
			'app.audit_log',   'app.audit_log_id_seq',
			'app.audit_log_pkey', 'app.audit_log_msg_idx',
			'app.audit_view',  'app.audit_view2',
			'app.audit_mv',    'app.events',
			'app.events_id_seq', 'app.events_pkey',
			'app.measures',    'app.measures_2023',
			'app.measures_2024', 'app.measures_pkey',
			'app.measures_2023_pkey', '"Mixed Case"."Tab"',
			'"Mixed Case"."Tab_pkey"', 'secret.keys',
			'secret.keys_pkey', 'secret.key_names',
			'secret.counter', '"Mixed Case"."Tab View"'),
		[],
		"$name: excluded tables, their sequences, indexes, views and partitions are absent");

	is_deeply(
		present_of(
			'app.customer_names', 'app.ticket_seq',
			'app.customers_id_seq', 'app.customers_name_idx',
			'app.products_pkey', 'app.products_price_idx',
			'app.big_history_pkey', 'app.big_history_at_idx',
			'"Mixed Case"."Keep Me_pkey"', '"Mixed Case"."Data ""Less"" v"',
			'"Mixed Case"."Data ""Less""_pkey"'),
		[
			sort('app.customer_names', 'app.ticket_seq',
				'app.customers_id_seq', 'app.customers_name_idx',
				'app.products_pkey', 'app.products_price_idx',
				'app.big_history_pkey', 'app.big_history_at_idx',
				'"Mixed Case"."Keep Me_pkey"', '"Mixed Case"."Data ""Less"" v"',
				'"Mixed Case"."Data ""Less""_pkey"')
		],
		"$name: what does not depend on an excluded table is there");

	is_deeply(target_list($FKEYS), ['app.orders orders_customer_id_fkey'],
		"$name: foreign keys to excluded tables (and to the excluded schema) are absent, the others present");
	is_deeply(target_list($TRIGGERS), ['app.customers customers_touch'],
		"$name: only the triggers of copied tables exist");
	is(query_value($target, $DB, 'SELECT count(*) FROM pg_policy'), 0,
		"$name: the excluded table's policy is absent");
	is_deeply(target_list($SCHEMAS), [ '"Mixed Case"', 'app' ],
		"$name: the excluded schema is absent");
	is(query_value($target, $DB, q{
SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'secret'}), 0, "$name: the excluded schema's functions are absent");
	is(query_value($target, $DB, q{SELECT to_regtype('secret.mood') IS NULL}), 't',
		"$name: the excluded schema's type is absent");
	is_deeply(target_list(q{
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('app', 'Mixed Case')}),
		[ sort('"Mixed Case".shout(text)', 'app.customer_count()', 'app.touch()') ],
		"$name: the functions of the copied schemas are there");
	is(query_value($target, $DB, q{
SELECT count(*) FROM pg_description
 WHERE description IN ('left out by [exclude-table]', 'the message', 'left out by [exclude-schema]',
                       'left out by [exclude-table], quoted')}),
		0, "$name: no comment about excluded objects");

	# schema only
	is(query_value($target, $DB,
			q{SELECT (SELECT count(*) FROM app.big_history) || '/' || (SELECT count(*) FROM "Mixed Case"."Data ""Less""")}),
		'0/0', "$name: [exclude-table-data] tables are empty on the target");
	is_deeply(target_list(q{
SELECT indexrelid::regclass::text FROM pg_index
 WHERE indrelid IN ('app.big_history'::regclass, '"Mixed Case"."Data ""Less"""'::regclass)}),
		[ sort('app.big_history_pkey', 'app.big_history_at_idx',
			'"Mixed Case"."Data ""Less"" v"', '"Mixed Case"."Data ""Less""_pkey"') ],
		"$name: [exclude-table-data] tables keep their indexes");

	# excluded index
	is_deeply(target_list(q{
SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'app.products'::regclass}),
		[ 'app.products_pkey', 'app.products_price_idx' ],
		"$name: the excluded index is absent, the other indexes of its table are there");

	compare_table_data($source, $target, $DB,
		only => [ 'app.customers', 'app.orders', 'app.products',
			'"Mixed Case"."Keep Me"', '"Mixed Case".tab' ]);
	is(query_value($target, $DB,
			q{SELECT (SELECT last_value FROM app.customers_id_seq) || '/' || (SELECT last_value FROM app.ticket_seq)}),
		query_value($source, $DB,
			q{SELECT (SELECT last_value FROM app.customers_id_seq) || '/' || (SELECT last_value FROM app.ticket_seq)}),
		"$name: sequences of copied tables have the source's values");
}

###########################################################################
# run "include-table"
###########################################################################
my $include_table_file = filters_file('include_table', <<'EOF');
[include-only-table]
app.customers
APP.Orders
"Mixed Case"."Keep Me"
EOF

{
	my $name = 'include-table';
	my ($rc, $out, $err) = clone_with($name, $include_table_file);
	no_statement_about($name, $err, qr/\bapp\.events\b/,
		'the table not included app.events (its identity column)');
	no_statement_about($name, $err, qr/\bmeasures/,
		'the partitioned table not included app.measures');
	no_statement_about($name, $err, qr/"Mixed Case"\."Tab"/,
		'the table not included "Mixed Case"."Tab" (its comment and grant)');
	is(scalar @{ failed_statements($err) }, 0, "$name: the target refused no statement");
	is_deeply(
		table_list($target, $DB),
		[ '"Mixed Case"."Keep Me"', 'app.customers', 'app.orders' ],
		"$name: the target has exactly the included tables");
	is_deeply(target_list($FKEYS), ['app.orders orders_customer_id_fkey'],
		"$name: only the foreign key between included tables exists");
	is_deeply(target_list($VIEWS), ['app.customer_names'],
		"$name: views over tables not included are absent");
	is(query_value($target, $DB, q{
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')}),
		0, "$name: no grant on tables not included");
	is_deeply(target_list($TRIGGERS), ['app.customers customers_touch'],
		"$name: only the triggers of included tables exist");
	is_deeply(
		present_of('app.audit_log_id_seq', 'app.events_id_seq', 'app.products_name_idx',
			'"Mixed Case"."Tab_pkey"'),
		[], "$name: sequences and indexes of tables not included are absent");
	compare_table_data($source, $target, $DB,
		only => [ 'app.customers', 'app.orders', '"Mixed Case"."Keep Me"' ]);
}

###########################################################################
# run "include-schema"
###########################################################################
my $include_schema_file = filters_file('include_schema', <<'EOF');
[include-only-schema]
app
EOF

{
	my $name = 'include-schema';
	my ($rc, $out, $err) = clone_with($name, $include_schema_file);
	no_statement_about($name, $err, qr/\bsecret\b/, 'the schema not included secret');
	no_statement_about($name, $err, qr/"Mixed Case"/, 'the schema not included "Mixed Case"');
	is(scalar @{ failed_statements($err) }, 0, "$name: the target refused no statement");
	my @app_tables = (
		'app.audit_log', 'app.big_history', 'app.customers', 'app.events',
		'app.measures',  'app.measures_2023', 'app.measures_2024', 'app.orders',
		'app.products');
	is_deeply(table_list($target, $DB), \@app_tables,
		"$name: the target has exactly the tables of the included schema");
	is_deeply(target_list($SCHEMAS), ['app'],
		"$name: the other schemas are absent");
	is(query_value($target, $DB, q{
SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('secret', 'Mixed Case')}), 0,
		"$name: functions of the other schemas are absent");
	is_deeply(target_list($FKEYS),
		[ 'app.orders orders_audit_id_fkey', 'app.orders orders_customer_id_fkey' ],
		"$name: the foreign key to the excluded schema is absent, the others present");
	compare_table_data($source, $target, $DB,
		only => [ grep { $_ ne 'app.measures' } @app_tables ]);
	is(query_value($target, $DB, 'SELECT count(*) FROM app.measures'), 1000,
		"$name: the partitioned table has its rows");
}

###########################################################################
# bad filters files
###########################################################################
{
	my $name = 'contradiction';
	my $file = filters_file('contradiction', <<'EOF');
# line 1
[include-only-table]
app.customers

[exclude-table]
app.orders
EOF
	fresh_target();
	my $dir = work_dir($name);
	my ($rc, $out, $err) = run_pgshift('clone',
		'--source', uri($source, $DB), '--target', uri($target, $DB),
		'--dir', $dir, '--filters', $file);
	is($rc, 1, "$name: [include-only-table] with [exclude-table] exits 1")
	  or diag(show($out, $err));
	like($err, qr/\Q$file\E:5\b/, "$name: the message names the file and line 5");
	like($err, qr/exclude-table/, "$name: the message names the section");
	is(query_value($target, $DB, q{
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'}),
		0, "$name: nothing was created on the target");

	$name = 'unknown section';
	$file = filters_file('unknown', <<'EOF');
[exclude-table]
app.orders
[exclude-tables]
app.customers
EOF
	$dir = work_dir('unknown_section');
	($rc, $out, $err) = run_pgshift('clone',
		'--source', uri($source, $DB), '--target', uri($target, $DB),
		'--dir', $dir, '--filters', $file);
	is($rc, 1, "$name: an unknown section exits 1") or diag(show($out, $err));
	like($err, qr/\Q$file\E:3\b/, "$name: the message names the file and line 3");
	like($err, qr/exclude-tables/, "$name: the message names the unknown section");

	# list tables with the same bad file: usage error too
	($rc, $out, $err) = run_pgshift('list', 'tables', '--source', uri($source, $DB),
		'--filters', $file, '--json');
	is($rc, 1, "$name: list tables --filters with an unknown section exits 1")
	  or diag(show($out, $err));
}

###########################################################################
# list tables --filters
###########################################################################
{
	my $name = 'list';
	my ($rc, $out, $err) = run_pgshift('list', 'tables', '--source', uri($source, $DB),
		'--filters', $exclude_file, '--list-skipped', '--json');
	is($rc, 0, "$name: list tables --filters --list-skipped --json exits 0")
	  or diag(show($out, $err));
	my $rows = eval { JSON::PP::decode_json($out) };
	ok(ref $rows eq 'ARRAY', "$name: the output is a JSON array") or diag($@);
	$rows = [] unless ref $rows eq 'ARRAY';
	my @skipped = sort map { "$_->{schema}.$_->{name}" }
	  grep { ($_->{reason} // '') eq 'excluded by filters' } @$rows;
	is_deeply(
		\@skipped,
		[
			sort('app.audit_log', 'app.events', 'app.measures', 'app.measures_2023',
				'app.measures_2024', 'Mixed Case.Tab', 'secret.keys')
		],
		"$name: the tables left out by the filters are listed as skipped");

	($rc, $out, $err) = run_pgshift('list', 'tables', '--source', uri($source, $DB),
		'--filters', $exclude_file, '--json');
	is($rc, 0, "$name: list tables --filters --json exits 0") or diag(show($out, $err));
	$rows = eval { JSON::PP::decode_json($out) };
	$rows = [] unless ref $rows eq 'ARRAY';
	my %listed = map { ("$_->{schema}.$_->{name}" => $_) } @$rows;
	is_deeply(
		[ sort keys %listed ],
		[
			sort('app.big_history', 'app.customers', 'app.orders', 'app.products',
				'Mixed Case.Data "Less"', 'Mixed Case.Keep Me', 'Mixed Case.tab')
		],
		"$name: list tables shows the tables to copy");
	is_deeply(
		[ sort grep { $listed{$_}{schema_only} } keys %listed ],
		[ 'Mixed Case.Data "Less"', 'app.big_history' ],
		"$name: the [exclude-table-data] tables are schema only");
}

###########################################################################
# the CDC publication follows the filters too
###########################################################################
{
	my $name = 'publication';
	my $file = filters_file('publication', "[include-only-table]\napp.customers\n\"Mixed Case\".\"Keep Me\"\n");
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my @names = ('--slot-name', 'fslot', '--origin', 'forigin', '--publication', 'fpub');
	my ($rc, $out, $err) = run_pgshift('stream', 'setup', '--source', uri($source, $DB),
		'--target', uri($target, $DB), '--dir', $dir, '--filters', $file, @names);
	is($rc, 0, "$name: stream setup --filters exits 0") or diag(show($out, $err));
	is(query_value($source, $DB, q{
SELECT string_agg(format('%s.%s', schemaname, tablename), ',' ORDER BY format('%s.%s', schemaname, tablename) COLLATE "C")
  FROM pg_publication_tables WHERE pubname = 'fpub'}),
		'Mixed Case.Keep Me,app.customers',
		"$name: the publication holds the tables the filters keep, and only those");
	($rc, $out, $err) = run_pgshift('stream', 'cleanup', '--source', uri($source, $DB),
		'--target', uri($target, $DB), '--dir', $dir, @names);
	is($rc, 0, "$name: stream cleanup exits 0") or diag(show($out, $err));
	is(query_value($source, $DB,
			q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'fslot'}),
		'0', "$name: the slot is gone");
}

###########################################################################
# clone --follow --filters with test_decoding, which decodes every table of
# the database: only the kept tables' changes are applied (partitions of a
# kept partitioned table included); changes and TRUNCATEs of the others are
# skipped, not errors about tables missing on the target
###########################################################################
{
	my $name = 'follow test_decoding';
	my $file = filters_file('follow', "[include-only-table]\napp.customers\napp.measures\n");
	fresh_target();
	my $dir = work_dir('follow_td');
	my @conn = ('--source', uri($source, $DB), '--target', uri($target, $DB), '--dir', $dir);
	my @cdc = ('--plugin', 'test_decoding', '--slot-name', 'tdslot', '--origin', 'tdorigin');
	my $h = start_pgshift({ timeout => 300 }, 'clone', '--follow', @conn, @cdc,
		'--filters', $file, '--table-jobs', '2', '--index-jobs', '2');
	my $deadline = time + 120;
	sleep 0.2 while time < $deadline && pgshift_running($h) && ${ $h->{err} } !~ /base copy done/;
	like(${ $h->{err} }, qr/base copy done/, "$name: the base copy is done")
	  or diag(tail_lines(${ $h->{err} }, 30));

	# created since the start: a partition of the kept table (on both sides),
	# and a table the filters leave out (on the source only)
	for my $node ($source, $target)
	{
		psql_do($node, $DB, q{CREATE TABLE app.measures_2025 PARTITION OF app.measures
			FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')});
	}
	psql_do($source, $DB, q{CREATE TABLE app.later (id int PRIMARY KEY)});
	psql_do($source, $DB, q{
INSERT INTO app.measures VALUES (5000, '2025-03-01', 1), (5001, '2025-04-01', 2);
INSERT INTO app.later VALUES (1);
UPDATE app.customers SET note = 'followed' WHERE id <= 10;
INSERT INTO app.customers (name, note) VALUES ('added while following', NULL);
DELETE FROM app.customers WHERE name = 'added while following';
INSERT INTO app.customers (name, note) VALUES ('kept', 'k');
UPDATE app.measures SET v = -v WHERE id <= 20;
UPDATE app.orders SET note = 'left out' WHERE id <= 10;
INSERT INTO app.audit_log (msg) VALUES ('left out');
DELETE FROM app.events WHERE id <= 3;
TRUNCATE app.big_history, "Mixed Case".tab;
TRUNCATE app.measures_2023, "Mixed Case"."Data ""Less""";
});
	my ($rc, $out, $err) = run_pgshift('stream', 'sentinel', 'set', 'endpos', '--current',
		'--source', uri($source, $DB), '--dir', $dir);
	is($rc, 0, "$name: sentinel set endpos exits 0") or diag(show($out, $err));
	$deadline = time + 120;
	sleep 0.2 while time < $deadline && pgshift_running($h);
	kill 'KILL', $h->{pid} if pgshift_running($h);
	($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, "$name: clone --follow exits 0") or diag(show($out, $err));
	for my $t (['app.customers', 'id'], ['app.measures', 'id, d'])
	{
		my $sql = "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY $t->[1])) FROM $t->[0] t";
		is(query_value($target, $DB, $sql), query_value($source, $DB, $sql),
			"$name: $t->[0] on the target equals the source (changes and TRUNCATE applied)");
	}
	is(query_value($target, $DB, q{SELECT count(*) FROM app.measures_2023}), 0,
		"$name: the kept partition's TRUNCATE was applied");
	is(query_value($target, $DB, q{SELECT count(*) FROM app.measures_2025}), 2,
		"$name: a partition created since the start got its rows");
	like(slurp_file("$dir/pgshift.log"), qr/changes of "app"\."later" are not applied/,
		"$name: the log says the changes of a table left out are not applied");
	is(query_value($target, $DB,
			q{SELECT count(*) FROM pg_catalog.pg_class WHERE relname IN ('orders', 'audit_log', 'events', 'big_history')}),
		0, "$name: the left-out tables are not on the target");
	($rc, $out, $err) = run_pgshift('stream', 'cleanup', @conn, @cdc);
	is($rc, 0, "$name: stream cleanup exits 0") or diag(show($out, $err));
}

done_testing();
