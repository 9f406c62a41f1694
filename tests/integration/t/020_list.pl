# pgshift list: databases, extensions (and --available-versions,
# --requirements), collations, tables (and --list-skipped, --without-pkey),
# table-parts, sequences, indexes, depends, schema and progress (and
# --summary), --filters, and pgcopydb's options that have no effect here.
#
# Each --json output must parse and hold what the source's own catalogs say:
# table names and sizes, row estimates after ANALYZE, part block ranges that
# cover every row of the split table, sequence values, the views depending on
# a table. --snapshot must read in the snapshot given. list progress reads the
# work directory of a finished clone (without its lock, while another process
# holds it) and of an unfinished one (tasks waiting for a copy).
use strict;
use warnings;

use Fcntl qw(:flock);
use File::Copy qw(copy);
use IPC::Run ();
use JSON::PP ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
	psql_do($node, 'postgres', 'CREATE DATABASE shop');
}

psql_do($source, 'shop', q{
CREATE EXTENSION hstore;
CREATE SCHEMA app;
CREATE COLLATION app.german (provider = libc, locale = 'C.UTF-8');
CREATE TABLE app.big (id bigint PRIMARY KEY, payload text NOT NULL);
INSERT INTO app.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 30000) g;
CREATE TABLE app.customers (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE);
INSERT INTO app.customers (name) SELECT 'customer ' || g FROM generate_series(1, 500) g;
CREATE TABLE app.orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES app.customers (id),
    big_id bigint REFERENCES app.big (id),
    note text);
INSERT INTO app.orders (customer_id, big_id, note)
    SELECT 1 + g % 500, g, 'note ' || g FROM generate_series(1, 2000) g;
CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE TABLE public."Mixed Case" (k int, v hstore);
INSERT INTO public."Mixed Case" SELECT g, hstore('k', g::text) FROM generate_series(1, 10) g;
CREATE SEQUENCE app.invoice_no START 1000;
SELECT setval('app.invoice_no', 4242, true);
CREATE VIEW app.big_view AS SELECT id, payload FROM app.big WHERE id < 100;
CREATE VIEW app.big_view2 AS SELECT id FROM app.big_view;
VACUUM ANALYZE;
});

my $src_uri = uri($source, 'shop');
my @src = ('--source', $src_uri);

# Runs `pgshift list @args --json`; returns the decoded document (or undef).
sub list_json
{
	my (@args) = @_;
	my ($rc, $out, $err) = run_pgshift('list', @args, '--json');
	my $what = join(' ', grep { $_ ne $src_uri } @args);
	is($rc, 0, "list $what --json exits 0") or diag("stderr:\n$err");
	my $doc = eval { JSON::PP::decode_json($out) };
	ok(defined $doc, "list $what --json parses") or diag($@ // '', "stdout:\n$out");
	return $doc;
}

sub find_by
{
	my ($list, %want) = @_;
	for my $item (@{ $list // [] })
	{
		my $match = 1;
		for my $k (keys %want)
		{
			$match = 0 unless defined $item->{$k} && $item->{$k} eq $want{$k};
		}
		return $item if $match;
	}
	return undef;
}

# ---------------------------------------------------------------- databases
subtest 'list databases' => sub {
	my $dbs = list_json('databases', @src) // [];
	my $shop = find_by($dbs, name => 'shop');
	ok($shop, 'the database "shop" is listed') or return;
	is($shop->{encoding}, 'UTF8', 'its encoding');
	my $owner = query_value($source, 'postgres',
		q{SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'});
	is($shop->{owner}, $owner, 'its owner');
	cmp_ok($shop->{bytes}, '>', 5_000_000, 'its size in bytes');
	ok(!find_by($dbs, name => 'template0') && !find_by($dbs, name => 'template1'),
		'template databases are left out');
	is_deeply([ map { $_->{name} } @$dbs ], [ sort map { $_->{name} } @$dbs ],
		'sorted by name');

	# the pgcopydb variable names the source too
	my ($rc, $out, $err) = run_pgshift({ env => { PGCOPYDB_SOURCE_PGURI => $src_uri } },
		'list', 'databases');
	is($rc, 0, 'list databases with PGCOPYDB_SOURCE_PGURI exits 0') or diag($err);
	like($out, qr/^Name\s+Owner\s+Encoding\s+Collate\s+Ctype\s+Size\n-+(?:  -+){5}\n/,
		'human output: a header line, then dashes under each column');
	like($out, qr/^shop\s+\Q$owner\E\s+UTF8\s/m, 'human output: the shop row');
};

# ------------------------------------------------------- extensions, collations
subtest 'list extensions and collations' => sub {
	my $exts = list_json('extensions', @src) // [];
	my $h = find_by($exts, name => 'hstore');
	ok($h, 'hstore is listed') or return;
	is($h->{version},
		query_value($source, 'shop', q{SELECT extversion FROM pg_extension WHERE extname = 'hstore'}),
		'hstore version');
	is($h->{schema}, 'public', 'hstore schema');
	is($h->{default_version},
		query_value($source, 'shop',
			q{SELECT default_version FROM pg_available_extensions WHERE name = 'hstore'}),
		'default version');
	ok(!$h->{update_available}, 'no update available for the version just installed');
	ok(find_by($exts, name => 'plpgsql'), 'plpgsql is listed');

	# --available-versions: what pg_available_extension_versions says, per extension
	my $av = list_json('extensions', @src, '--available-versions') // [];
	is(scalar @$av, query_value($source, 'shop', 'SELECT count(*) FROM pg_available_extensions'),
		'--available-versions: every extension the server offers');
	my $ah = find_by($av, name => 'hstore') // {};
	is_deeply([ sort @{ $ah->{versions} // [] } ],
		[ split /,/, query_value($source, 'shop',
			q{SELECT string_agg(version, ',' ORDER BY version COLLATE "C")
			    FROM pg_available_extension_versions WHERE name = 'hstore'}) ],
		'hstore: every version the server can install');
	is($ah->{installed_version}, $h->{version}, 'hstore: the installed version');
	my $not = query_value($source, 'shop',
		q{SELECT name FROM pg_available_extensions WHERE installed_version IS NULL
		   ORDER BY name LIMIT 1});
	ok(!defined((find_by($av, name => $not) // { installed_version => 'x' })->{installed_version}),
		"$not: not installed");
	my ($rc, $out, $err) = run_pgshift('list', 'extensions', @src, '--available-versions');
	like($out, qr/^hstore\s+\S+\s+\S+\s+.*\b\Q$h->{version}\E\b/m,
		'--available-versions human output: the hstore row');

	# --requirements --json: the file clone --requirements reads
	my $req = list_json('extensions', @src, '--requirements') // [];
	is_deeply($req,
		[ map { { name => $_->[0], version => $_->[1] } }
			map { [ split /\|/ ] }
			split /\n/, query_value($source, 'shop',
				q{SELECT string_agg(extname || '|' || extversion, E'\n' ORDER BY extname)
				    FROM pg_extension}) ],
		'--requirements: name and version of every installed extension, nothing else');

	my $colls = list_json('collations', @src) // [];
	my $g = find_by($colls, schema => 'app', name => 'german');
	ok($g, 'collation app.german is listed') or return;
	is($g->{provider}, 'libc', 'its provider');
	is($g->{collate}, 'C.UTF-8', 'its LC_COLLATE');
	is($g->{ctype}, 'C.UTF-8', 'its LC_CTYPE');
	ok(!find_by($colls, schema => 'pg_catalog'), 'built-in collations are left out');
};

# -------------------------------------------------------------------- tables
my %rows = ('app.big' => 30000, 'app.customers' => 500, 'app.orders' => 2000,
	'public.Mixed Case' => 10);
my $big_oid = query_value($source, 'shop', q{SELECT 'app.big'::regclass::oid});
my $big_bytes = query_value($source, 'shop', q{SELECT pg_table_size('app.big')});
my $big_pages = query_value($source, 'shop',
	q{SELECT pg_relation_size('app.big') / current_setting('block_size')::int});
my $mb = 1024 * 1024;
my $want_parts = int(($big_bytes + $mb - 1) / $mb);
$want_parts = 4 if $want_parts > 4;
cmp_ok($want_parts, '>=', 2, 'app.big is bigger than 1 MB: it will be split');

my @split = ('--split-tables-larger-than', '1MB', '--table-jobs', '4');
my $tables;
subtest 'list tables' => sub {
	$tables = list_json('tables', @src, @split) // [];
	is_deeply([ sort map { "$_->{schema}.$_->{name}" } @$tables ], [ sort keys %rows ],
		'the four user tables, nothing else');
	is($tables->[0]{name}, 'big', 'biggest first');
	is_deeply([ map { $_->{bytes} } @$tables ],
		[ sort { $b <=> $a } map { $_->{bytes} } @$tables ], 'sorted by size');
	for my $t (@$tables)
	{
		my $q = "$t->{schema}.$t->{name}";
		is($t->{rows_estimate}, $rows{$q}, "$q: estimated rows after ANALYZE");
		is($t->{relkind}, 'r', "$q: relkind");
	}
	my $big = find_by($tables, name => 'big') // {};
	is($big->{oid}, $big_oid, 'app.big oid');
	is($big->{bytes}, $big_bytes, 'app.big size is pg_table_size');
	is($big->{parts}, $want_parts, "app.big is planned in $want_parts parts");
	is((find_by($tables, name => 'orders') // {})->{parts}, 1, 'app.orders is not split');

	my $tables4 = list_json('tables', @src, '--split-tables-larger-than', '1MB',
		'--split-max-parts', '2') // [];
	is((find_by($tables4, name => 'big') // {})->{parts}, 2, '--split-max-parts 2 caps the parts');
	my $tables0 = list_json('tables', @src) // [];
	is((find_by($tables0, name => 'big') // {})->{parts}, 1,
		'not split with the automatic threshold (256 MB at least)');

	my ($rc, $out, $err) = run_pgshift('list', 'tables', @src, @split);
	is($rc, 0, 'list tables (human) exits 0') or diag($err);
	like($out, qr/^\s*OID\s+Schema\s+Name\s+Kind\s+Size\s+Bytes\s+Est\. rows\s+Parts\n[- ]+\n/,
		'human output: header and dashes');
	like($out, qr/^\s*\Q$big_oid\E\s+app\s+big\s+r\s+.*\s\Q$big_bytes\E\s+30000\s+\Q$want_parts\E$/m,
		'human output: the app.big row');

	# --without-pkey: checked against pg_constraint, with a partitioned table
	# whose primary key the catalog's index list does not hold
	psql_do($source, 'shop', q{
CREATE TABLE app.parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE app.parted_1 PARTITION OF app.parted FOR VALUES FROM (0) TO (1000);
CREATE TABLE app.nokey_parted (id int) PARTITION BY RANGE (id);
});
	my $nopk = list_json('tables', @src, '--without-pkey') // [];
	my $want_nopk = query_value($source, 'shop', q{
SELECT string_agg(n.nspname || '.' || c.relname, ',' ORDER BY 1)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('app', 'public')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')});
	is(join(',', sort map { "$_->{schema}.$_->{name}" } @$nopk), join(',', sort split /,/, $want_nopk),
		'--without-pkey: the tables pg_constraint knows no primary key of');
	ok(find_by($nopk, name => 'Mixed Case'), '--without-pkey: public."Mixed Case" is one');
	ok(!find_by($nopk, name => 'parted') && !find_by($nopk, name => 'big'),
		'--without-pkey: tables with a key (a partitioned one too) are not');
	my ($nrc, $nout, $nerr) = run_pgshift('list', 'tables', @src, '--without-pkey');
	like($nout, qr/^\d+ tables without a primary key, /m, 'human output: the total says so');
	psql_do($source, 'shop', 'DROP TABLE app.parted, app.nokey_parted');

	# pgcopydb's options: --split-at is --split-tables-larger-than; no split without ctid ranges
	my $at = list_json('tables', @src, '--split-at', '1MB', '--table-jobs', '4') // [];
	is((find_by($at, name => 'big') // {})->{parts}, $want_parts, '--split-at 1MB splits as well');
	my $noctid = list_json('tables', @src, @split, '--skip-split-by-ctid') // [];
	is((find_by($noctid, name => 'big') // {})->{parts}, 1, '--skip-split-by-ctid: not split');
	# --estimate-table-sizes: the sizes pg_class has from the last VACUUM/ANALYZE
	my $est = list_json('tables', @src, '--estimate-table-sizes') // [];
	my $want_est = query_value($source, 'shop', q{
		SELECT (c.relpages + COALESCE(t.relpages, 0))::bigint * current_setting('block_size')::int
		  FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
		 WHERE c.oid = 'app.big'::regclass});
	is((find_by($est, name => 'big') // {})->{bytes}, $want_est,
		'--estimate-table-sizes: app.big\'s size from pg_class.relpages (and its TOAST table\'s)');
	for my $opt ('--force', '--cache', '--drop-cache')
	{
		my ($frc, $fout, $ferr) = run_pgshift('list', 'tables', @src, $opt);
		is($frc, 0, "list tables $opt is accepted");
		like($ferr, qr/\Q$opt\E has no effect/, "$opt: a notice says it has no effect");
	}

	my $skipped = list_json('tables', @src, '--list-skipped') // [];
	my $pgc = find_by($skipped, schema => 'pg_catalog', name => 'pg_class');
	ok($pgc, 'pg_catalog.pg_class is listed as skipped');
	is($pgc && $pgc->{reason}, 'system schema', 'because it is in a system schema');
	ok(!find_by($skipped, schema => 'app'), 'no table of app is skipped');
};

# --------------------------------------------------------------- table-parts
subtest 'list table-parts' => sub {
	my $parts = list_json('table-parts', @src, @split) // [];
	is(scalar @$parts, 1, 'one table is split') or return;
	my $t = $parts->[0];
	is("$t->{schema}.$t->{name}", 'app.big', 'it is app.big');
	is($t->{nparts}, $want_parts, 'in as many parts as list tables says');
	is(scalar @{ $t->{parts} }, $want_parts, 'one entry per part');
	is($t->{relpages}, $big_pages, 'relpages: the table size in blocks');
	is($t->{bytes}, $big_bytes, 'the table size');

	my $per = int(($big_pages + $want_parts - 1) / $want_parts);
	my $next = 0;
	my $total = 0;
	for my $i (0 .. $#{ $t->{parts} })
	{
		my $p = $t->{parts}[$i];
		is($p->{part}, $i + 1, "part $p->{part}: numbered from 1");
		is($p->{min_block}, $next, "part $p->{part} starts where the previous one ends");
		is($p->{min_block}, $per * $i, "part $p->{part} starts at ceil(relpages / n) * p");
		my $last = $i == $#{ $t->{parts} };
		if ($last)
		{
			ok(!defined $p->{max_block}, 'the last part is open-ended');
		}
		else
		{
			is($p->{max_block}, $per * ($i + 1), "part $p->{part} ends at ceil(relpages / n) * (p + 1)");
		}
		my $cond = "ctid >= '($p->{min_block},0)'::tid"
		  . (defined $p->{max_block} ? " AND ctid < '($p->{max_block},0)'::tid" : '');
		my $n = query_value($source, 'shop', "SELECT count(*) FROM app.big WHERE $cond");
		cmp_ok($n, '>', 0, "part $p->{part} holds rows");
		$total += $n;
		$next = $p->{max_block} // -1;
	}
	cmp_ok($t->{parts}[-1]{min_block}, '<', $big_pages, 'the last part starts inside the table');
	is($total, 30000, 'the parts together hold every row exactly once');

	my $one = list_json('table-parts', @src, @split, '--schema-name', 'app',
		'--table-name', 'customers') // [];
	is(scalar @$one, 1, '--schema-name/--table-name pick one table');
	is($one->[0]{name}, 'customers', 'the one asked for');
	is_deeply($one->[0]{parts}, [ { part => 1, min_block => 0, max_block => undef } ],
		'an unsplit table is one open-ended part');

	my ($rc, $out, $err) = run_pgshift('list', 'table-parts', @src, '--table-name', 'nope');
	is($rc, 1, 'an unknown table exits 1');
	like($err, qr/no table .*nope/, 'and says so');

	($rc, $out, $err) = run_pgshift('list', 'table-parts', @src, @split);
	like($out, qr/^app\s+big\s+.*\s1\/$want_parts\s+0\s+$per\s+ctid >= '\(0,0\)' AND ctid < '\($per,0\)'$/m,
		'human output: the first part with its ctid condition');
};

# ---------------------------------------------------------------- sequences
subtest 'list sequences' => sub {
	my $seqs = list_json('sequences', @src) // [];
	is_deeply([ sort map { "$_->{schema}.$_->{name}" } @$seqs ],
		[ 'app.customers_id_seq', 'app.invoice_no', 'app.orders_id_seq' ],
		'the three sequences');
	my $inv = find_by($seqs, name => 'invoice_no') // {};
	is($inv->{last_value}, 4242, 'invoice_no last_value from setval');
	ok($inv->{is_called}, 'invoice_no is_called');
	ok(!defined $inv->{kind} && !defined $inv->{owned_by}, 'invoice_no is owned by nothing');
	my $ord = find_by($seqs, name => 'orders_id_seq') // {};
	is($ord->{last_value}, 2000, 'orders_id_seq last_value');
	is($ord->{kind}, 'serial', 'orders_id_seq is a serial');
	is(($ord->{owned_by} // {})->{column}, 'id', 'owned by the id column');
	is(($ord->{owned_by} // {})->{table}, 'orders', 'of app.orders');
	my $cust = find_by($seqs, name => 'customers_id_seq') // {};
	is($cust->{kind}, 'identity', 'customers_id_seq is an identity');
	is($cust->{last_value}, 500, 'customers_id_seq last_value');
};

# ------------------------------------------------------------------ indexes
subtest 'list indexes' => sub {
	my $idx = list_json('indexes', @src) // [];
	my $pk = find_by($idx, name => 'customers_pkey');
	is($pk && $pk->{constraint_type}, 'primary key', 'customers_pkey backs the primary key');
	is($pk && $pk->{table}, 'customers', 'on app.customers');
	my $uq = find_by($idx, name => 'customers_name_key');
	is($uq && $uq->{constraint_type}, 'unique', 'customers_name_key backs a unique constraint');
	my $plain = find_by($idx, name => 'orders_customer_idx');
	ok($plain && !defined $plain->{constraint}, 'orders_customer_idx backs no constraint');
	is($plain && $plain->{indexdef},
		query_value($source, 'shop', q{SELECT pg_get_indexdef('app.orders_customer_idx'::regclass)}),
		'its definition is pg_get_indexdef');
	is(scalar @$idx,
		query_value($source, 'shop',
			q{SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('app', 'public')}),
		'every index of the user tables');

	my $only = list_json('indexes', @src, '--schema-name', 'app', '--table-name', 'orders') // [];
	is_deeply([ sort map { $_->{name} } @$only ], [ 'orders_customer_idx', 'orders_pkey' ],
		'--table-name orders: only its indexes');
};

# ------------------------------------------------------------------ depends
subtest 'list depends' => sub {
	my $d = list_json('depends', @src, '--schema-name', 'app', '--table-name', 'big');
	is($d && $d->{oid}, $big_oid, 'the table asked for') or return;
	my $v = find_by($d->{depends}, type => 'view', identity => 'app.big_view');
	ok($v, 'the view app.big_view depends on app.big');
	is($v && $v->{level}, 1, 'directly');
	is($v && $v->{dependency}, 'normal', 'a normal dependency');
	my $v2 = find_by($d->{depends}, type => 'view', identity => 'app.big_view2');
	is($v2 && $v2->{level}, 2, 'app.big_view2 depends on it through app.big_view');
	is($v2 && $v2->{via}, 'app.big_view', 'via names the view in between');
	ok(find_by($d->{depends}, type => 'table constraint', identity => 'orders_big_id_fkey on app.orders'),
		'the foreign key of app.orders pointing to app.big');
	ok(!find_by($d->{depends}, identity => 'app.customers'), 'nothing unrelated');

	my $c = list_json('depends', @src, '--schema-name', 'app', '--table-name', 'orders') // {};
	ok(find_by($c->{depends}, type => 'sequence', identity => 'app.orders_id_seq'),
		'app.orders_id_seq depends on app.orders (owned by)');

	my ($rc, $out, $err) = run_pgshift('list', 'depends', @src, '--table-name', 'big');
	is($rc, 1, 'without --schema-name: exit 1');
	like($err, qr/--schema-name and --table-name/, 'the message names both options');
	($rc, $out, $err) = run_pgshift('list', 'depends', @src, '--schema-name', 'app',
		'--table-name', 'nope');
	is($rc, 1, 'an unknown table: exit 1');
	like($err, qr/"app"\."nope" does not exist/, 'the message names it');
};

# ------------------------------------------------------- views and triggers
subtest 'list views and list triggers (pgcopydb\'s)' => sub {
	psql_do($source, 'shop', q{
CREATE MATERIALIZED VIEW app.big_mv AS SELECT count(*) AS n FROM app.big WITH NO DATA;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers
    FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.customers ENABLE REPLICA TRIGGER customers_touch;
});
	my $views = list_json('views', @src) // [];
	my $want = query_rows($source, 'shop', q{
		SELECT n.nspname || '.' || c.relname FROM pg_class c
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		 ORDER BY 1});
	is_deeply([ map { "$_->{schema}.$_->{name}" } @$views ], [ map { $_->[0] } @$want ],
		'list views: the views and materialized views pg_class has, in order');
	my $mv = find_by($views, name => 'big_mv');
	is($mv && $mv->{kind}, 'materialized view', 'app.big_mv is a materialized view');
	ok($mv && defined $mv->{populated} && !$mv->{populated}, '... not populated (WITH NO DATA)');
	my $narrow = list_json('views', @src, '--table-name', 'big_view2') // [];
	is(scalar(@$narrow), 1, 'list views --table-name: only that view');

	my $trig = list_json('triggers', @src) // [];
	my $want_t = query_rows($source, 'shop',
		q{SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1});
	is_deeply([ sort map { $_->{name} } @$trig ], [ map { $_->[0] } @$want_t ],
		'list triggers: the user triggers pg_trigger has (foreign keys\' internal ones left out)');
	my $t = find_by($trig, name => 'customers_touch');
	is($t && $t->{table}, 'customers', 'on app.customers');
	is($t && $t->{enabled}, 'replica', 'enabled as ENABLE REPLICA set it');
	like($t && $t->{definition}, qr/BEFORE UPDATE ON app\.customers/, 'with its definition');
	my ($rc, $out) = run_pgshift('list', 'triggers', @src, '--table-name', 'orders');
	unlike($out, qr/customers_touch/, '--table-name orders: not the trigger of customers');

	psql_do($source, 'shop', q{
DROP TRIGGER customers_touch ON app.customers;
DROP FUNCTION app.touch();
DROP MATERIALIZED VIEW app.big_mv;
});
};

# ------------------------------------------------------------------- schema
subtest 'list schema' => sub {
	# list schema takes no --split-* option: the automatic threshold splits nothing here
	my $s = list_json('schema', @src) // {};
	is($s->{counts}{tables}, 4, '4 tables');
	is($s->{counts}{sequences}, 3, '3 sequences');
	is($s->{counts}{foreign_keys}, 2, '2 foreign keys');
	is($s->{counts}{indexes}, scalar @{ $s->{indexes} // [] }, 'as many indexes as listed');
	is($s->{counts}{table_parts}, 4, 'COPY parts: one per table');
	is_deeply([ sort map { $_->{name} } @{ $s->{tables} // [] } ],
		[ sort 'big', 'customers', 'orders', 'Mixed Case' ], 'the tables array');
	ok(find_by($s->{foreign_keys}, name => 'orders_customer_id_fkey', ref_table => '"app"."customers"'),
		'the foreign key to app.customers');
	ok(find_by($s->{extensions}, name => 'hstore'), 'hstore in extensions');
	ok(find_by($s->{collations}, name => 'german'), 'app.german in collations');
	my $inv = find_by($s->{sequences}, name => 'invoice_no') // {};
	is($inv->{last_value}, 4242, 'sequence values are read');

	my ($rc, $out, $err) = run_pgshift('list', 'schema', @src);
	is($rc, 0, 'list schema (human) exits 0') or diag($err);
	like($out, qr/^tables\s+4\s/m, 'human output: 4 tables');
	like($out, qr/^foreign keys\s+2\b/m, 'human output: 2 foreign keys');
};

# ------------------------------------------------------- snapshot and errors
subtest '--snapshot and errors' => sub {
	my $bg = $source->background_psql('shop');
	$bg->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	my $snap = $bg->query_safe('SELECT pg_export_snapshot()');
	chomp $snap;
	psql_do($source, 'shop', 'CREATE TABLE app.after_snapshot (id int)');
	my $t = list_json('tables', @src, '--snapshot', $snap) // [];
	ok(!find_by($t, name => 'after_snapshot'), 'in the snapshot: a table created after it is not seen');
	$t = list_json('tables', @src) // [];
	ok(find_by($t, name => 'after_snapshot'), 'without it: the new table is seen');
	$bg->quit;
	psql_do($source, 'shop', 'DROP TABLE app.after_snapshot');

	my ($rc, $out, $err) = run_pgshift('list', 'tables', @src, '--snapshot', '00000003-0000FFFF-1');
	is($rc, 6, 'a snapshot that does not exist: exit 6');
	like($err, qr/snapshot/i, 'the message is about the snapshot');

	($rc, $out, $err) = run_pgshift('list', 'tables');
	is($rc, 1, 'no source: exit 1');
	like($err, qr/no source database given/, 'the message says so');

	my $port = PostgreSQL::Test::Cluster::get_free_port();
	($rc, $out, $err) = run_pgshift('list', 'tables', '--source',
		uri($source, 'shop', port => $port));
	is($rc, 2, 'source unreachable: exit 2');
	like($err, qr/source: could not connect/, 'the message names the source');
	check_no_secrets('list tables (unreachable)', [$TEST_PASSWORD], stdout => $out, stderr => $err);
};

# ------------------------------------------------------------------ filters
subtest '--filters' => sub {
	my $ini = PostgreSQL::Test::Utils::tempdir() . '/filters.ini';
	open(my $fh, '>', $ini) or die "cannot write $ini: $!";
	print $fh "[exclude-table]\napp.orders\n\n[exclude-table-data]\n\"public\".\"Mixed Case\"\n";
	close $fh;
	my $t = list_json('tables', @src, '--filters', $ini) // [];
	ok(!find_by($t, name => 'orders'), 'an excluded table is not listed');
	ok(find_by($t, name => 'customers'), 'the others are');
	my $mc = find_by($t, name => 'Mixed Case') // {};
	ok($mc->{schema_only}, 'exclude-table-data: listed as schema only');
	is($mc->{parts}, 0, 'with no COPY part');
	my $sk = list_json('tables', @src, '--filters', $ini, '--list-skipped') // [];
	is((find_by($sk, schema => 'app', name => 'orders') // {})->{reason}, 'excluded by filters',
		'--list-skipped: the excluded table and why');
	my $ix = list_json('indexes', @src, '--filters', $ini) // [];
	ok(!find_by($ix, table => 'orders'), 'the indexes of an excluded table are not listed');
	ok(find_by($ix, name => 'customers_pkey'), 'the others are');
	my $sq = list_json('sequences', @src, '--filters', $ini) // [];
	ok(!find_by($sq, name => 'orders_id_seq'), 'nor the sequence it owns');
	ok(find_by($sq, name => 'invoice_no'), 'the other sequences are');
	# depends --filters (pgcopydb's form): what depends on the excluded tables
	my $dep = list_json('depends', @src, '--filters', $ini) // [];
	for my $rel ('app.orders_id_seq', 'app.orders_pkey', 'app.orders_customer_idx')
	{
		my $what = query_value($source, 'shop',
			"SELECT pg_describe_object('pg_class'::regclass, '$rel'::regclass, 0)");
		ok(find_by($dep, description => $what), "depends --filters: $what");
	}
	ok(!grep({ ($_->{name} // '') eq 'customers' } @$dep), 'depends --filters: not the tables kept');

	my $ixs = list_json('indexes', @src, '--filters', $ini, '--list-skipped') // [];
	is_deeply([ sort map { $_->{name} } @$ixs ], [ 'orders_customer_idx', 'orders_pkey' ],
		'indexes --list-skipped: the indexes of the excluded table, only them');
	my $sqs = list_json('sequences', @src, '--filters', $ini, '--list-skipped') // [];
	is_deeply([ map { $_->{name} } @$sqs ], [ 'orders_id_seq' ],
		'sequences --list-skipped: the sequence the excluded table owns');

	my ($rc, $out, $err) = run_pgshift('list', 'tables', @src, '--filters', "$ini.missing");
	is($rc, 1, 'an unreadable filters file: exit 1');
	like($err, qr/filters file/, 'the message names the filters file');
};

# ------------------------------------------------------------------ progress
my $dir = work_dir('clone');
my ($rc, $out, $err) = run_pgshift('clone', @src, '--target', uri($target, 'shop'),
	'--dir', $dir, @split, '--index-jobs', '2');
is($rc, 0, 'clone exits 0') or diag("stderr:\n$err");

my $ncopy = 0;
$ncopy += $_->{parts} for @$tables;
subtest 'list progress of a finished clone' => sub {
	my $p = list_json('progress', '--dir', $dir) // {};
	is($p->{run_status}, 'done', 'run status done');
	ok(!$p->{alive}, 'no process holds the work directory');
	is($p->{tasks}{copy}{done}, $ncopy, "$ncopy copy tasks done (one per part)");
	is($p->{tasks}{copy}{total}, $ncopy, 'and no other copy task');
	is($p->{tasks}{index}{done}, 5, '5 index tasks done');
	is($p->{tasks}{'foreign-key'}{done}, 2, '2 foreign-key tasks done');
	is($p->{tasks}{all}{done}, $p->{tasks}{all}{total}, 'every task done');
	is($p->{tasks}{all}{$_}, 0, "no task $_") for qw(queued running failed);
	is($p->{copied}{rows}, 30000 + 500 + 2000 + 10, 'rows copied: every row of the source');
	cmp_ok($p->{copied}{bytes}, '>', 4_000_000, 'bytes copied');
	is($p->{copied}{percent}, 100, '100% of the table data');
	is_deeply([ map { [ $_->{name}, $_->{status} ] } grep { $_->{name} eq 'data' } @{ $p->{steps} // [] } ],
		[ [ 'data', 'done' ] ], 'step data done');
	ok(!grep({ $_->{status} ne 'done' } @{ $p->{steps} // [] }), 'every step done');
	is_deeply($p->{in_progress}, [], 'nothing running');
	is_deeply($p->{failed}, [], 'nothing failed');
	is_deeply($p->{waiting}, [], 'nothing waiting');

	my ($prc, $pout, $perr) = run_pgshift('list', 'progress', '--dir', $dir);
	is($prc, 0, 'list progress (human) exits 0') or diag($perr);
	like($pout, qr/^Run: done/m, 'human output: the run is done');
	like($pout, qr/^copy\s+0\s+0\s+\Q$ncopy\E\s+0\s+\Q$ncopy\E$/m, 'human output: copy tasks');
	like($pout, qr/^Running now: nothing$/m, 'human output: nothing running');

	# --summary of a finished run: its summary.json
	my $sum = list_json('progress', '--dir', $dir, '--summary') // {};
	is($sum->{source}, 'summary.json', '--summary of a finished run reads summary.json');
	my $sbig = find_by($sum->{tables}, schema => 'app', table => 'big') // {};
	is($sbig->{rows}, 30000, '--summary: the rows copied of app.big');
	is($sbig->{parts}, $want_parts, '--summary: its parts');
	my ($src_rc, $sout, $serr) = run_pgshift('list', 'progress', '--dir', $dir, '--summary',
		'--source', $src_uri);
	is($src_rc, 0, '--summary (human) exits 0, and --source is accepted') or diag($serr);
	like($sout, qr/^"app"\."big"\s+\Q$want_parts\E\s/m, 'human output: the app.big row');
	like($sout, qr/^Step\s+Time$/m, 'human output: the steps');

	# another process holding the work directory's lock does not stop it
	open(my $fh, '>', "$dir/pgshift.pid") or die "cannot open $dir/pgshift.pid: $!";
	flock($fh, LOCK_EX | LOCK_NB) or die "cannot lock: $!";
	print $fh "$$\n";
	$fh->flush;
	$p = list_json('progress', '--dir', $dir) // {};
	ok($p->{alive}, 'works while the lock is held, and sees the live pid');
	is($p->{pid}, $$, 'the pid of the pid file');
	ok(!$p->{running}, 'a live process but a finished run is not "running"');
	close $fh;
	unlink "$dir/pgshift.pid";
};

subtest 'list progress of an unfinished run' => sub {
  SKIP:
	{
		my $sqlite = (grep { -x "$_/sqlite3" } split /:/, $ENV{PATH})[0];
		skip 'sqlite3 command not found', 13 unless $sqlite;
		my $dir2 = work_dir('unfinished');
		copy("$dir/state.db", "$dir2/state.db") or die "copy: $!";
		# as if the process died while copying part 2 of app.big
		my $sql = qq{
UPDATE meta SET value = 'running' WHERE key = 'run_status';
UPDATE tasks SET status = 'queued' WHERE kind <> 'copy' OR (obj_oid = $big_oid AND part >= 2);
UPDATE tasks SET status = 'running', worker = 'copy-1',
       started_at = (strftime('%s', 'now') - 90) * 1000000
 WHERE kind = 'copy' AND obj_oid = $big_oid AND part = 1;
UPDATE tasks SET status = 'failed', error = 'ERROR:  disk full'
 WHERE kind = 'copy' AND label = '"app"."customers"';
UPDATE steps SET status = 'running', finished_at = NULL, duration = NULL WHERE name = 'data';
};
		my ($out2, $err2) = ('', '');
		IPC::Run::run([ "$sqlite/sqlite3", "$dir2/state.db" ], '<', \$sql, '>', \$out2, '2>', \$err2)
		  or die "sqlite3 failed: $err2";
		my $p = list_json('progress', '--dir', $dir2) // {};
		is($p->{run_status}, 'running', 'state.db says running');
		ok(!$p->{running}, 'but no process: not running');
		is($p->{tasks}{copy}{running}, 1, 'one copy running');
		is($p->{in_progress}[0]{worker}, 'copy-1', 'its worker');
		cmp_ok($p->{in_progress}[0]{seconds}, '>=', 89, 'running for 90 s');
		is($p->{failed}[0]{error}, 'ERROR:  disk full', 'the failed task and its error');
		my $w = find_by($p->{waiting}, kind => 'index', label => 'app."big_pkey"');
		like($w && $w->{reason}, qr/^waiting: copy of "app"\."big" not finished \(1 of \Q$want_parts\E parts done\)$/,
			'the index of app.big waits for its copy');
		my $f = find_by($p->{waiting}, kind => 'constraint', label => '"app"."customers" "customers_pkey"');
		like($f && $f->{reason}, qr/^skipped: copy of "app"\."customers" failed$/,
			'the primary key of app.customers is skipped: its copy failed');
		my $c = find_by($p->{waiting}, kind => 'copy');
		like($c && $c->{reason}, qr/^ready: waiting for a copy worker$/, 'a queued copy is ready');

		# --summary while the run is not over: from state.db
		my $s2 = list_json('progress', '--dir', $dir2, '--summary') // {};
		is($s2->{source}, 'state.db', '--summary of an unfinished run reads state.db');
		is((find_by($s2->{tables}, schema => 'app', table => 'big') // {})->{parts}, $want_parts,
			'--summary from state.db: the parts of app.big');
		ok(exists(($s2->{steps} // {})->{data}), '--summary from state.db: the data step');
	}
};

subtest 'list progress errors' => sub {
	my $empty = work_dir('empty');
	my ($prc, $pout, $perr) = run_pgshift('list', 'progress', '--dir', $empty);
	is($prc, 5, 'no state.db: exit 5');
	like($perr, qr/no state\.db in/, 'the message says so');
	ok(!-e "$empty/state.db", 'and creates none');
	($prc, $pout, $perr) = run_pgshift('list', 'progress', '--dir', "$empty/nope");
	is($prc, 5, 'no such directory: exit 5');
	ok(!-e "$empty/nope", 'and creates none');
};

# --requirements FILE (pgcopydb's format, as list extensions --requirements
# --json writes it): the extension is created at the version the file says,
# not at the target's default. --skip-publications: the source's
# publications stay behind.
subtest 'clone --requirements' => sub {
	my $req = list_json('extensions', @src, '--requirements') // [];
	my $h = find_by($req, name => 'hstore');
	ok($h, 'the requirements list names hstore') or return;
	isnt($h->{version}, '1.7', 'the source has hstore at another version than 1.7');
	$h->{version} = '1.7';
	my $file = "$PostgreSQL::Test::Utils::tmp_check/requirements.json";
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh JSON::PP::encode_json($req);
	close($fh);
	psql_do($target, 'postgres', 'CREATE DATABASE shop_req');
	psql_do($source, 'shop', 'CREATE PUBLICATION shop_pub FOR TABLE app.customers');
	my ($rrc, $rout, $rerr) = run_pgshift('clone', @src, '--target', uri($target, 'shop_req'),
		'--dir', work_dir('requirements'), '--requirements', $file, '--skip-publications');
	psql_do($source, 'shop', 'DROP PUBLICATION shop_pub');
	is($rrc, 0, 'clone --requirements --skip-publications exits 0') or diag(tail_lines($rerr));
	is(query_value($target, 'shop_req', 'SELECT count(*) FROM pg_publication'), 0,
		'--skip-publications: the source\'s publication is not on the target');
	is(query_value($target, 'shop_req', q{SELECT extversion FROM pg_extension WHERE extname = 'hstore'}),
		'1.7', 'the target has hstore at the version the file asks for');
	is(query_value($target, 'shop_req', q{SELECT count(*) FROM public."Mixed Case"}), 10,
		'and the table using it is copied');
};

done_testing();
