# A table loaded in one part WITH (FREEZE) commits its ANALYZE and its
# foreign keys to tables already whole in the copy's own transaction, before
# its indexes are built — but only the work that gains nothing from them:
#
# - child.parent_id has no index: its foreign key scans child whatever is
#   built, so it is checked with the rows; child.other_id has one, so its
#   foreign key waits for the builds (an index-only scan then);
# - child is analyzed right after its copy's COMMIT, before its builds (in
#   the transaction, the rows it inserted would count as changed since the
#   ANALYZE, and autovacuum would analyze it again); lowered has an
#   expression index, whose statistics ANALYZE can only gather once it is
#   built: analyzed after it;
# - when the work fails in the copy's transaction (here: an event trigger on
#   the target refuses a foreign key on child before child has an index),
#   the rows stay, and the work runs on its own after the builds.
#
# Checked with the target's catalogs (convalidated, pg_get_constraintdef,
# pg_stats, reltuples) and the order of the tasks in state.db.
use strict;
use warnings;

use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my ($source, $target) = start_pair();
for my $node ($source, $target)
{
	create_role($node, $TEST_USER, superuser => 1, replication => 1);
	psql_do($node, 'postgres', 'CREATE DATABASE fin');
}

psql_do($source, 'fin', q{
CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 1000) AS i;
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id),
                    other_id int REFERENCES parent (id), v text);
CREATE INDEX child_other_idx ON child (other_id);
INSERT INTO child
SELECT i, 1 + i % 1000, 1 + (i * 7) % 1000, md5(i::text) FROM generate_series(1, 300000) AS i;
CREATE TABLE lowered (id int PRIMARY KEY, email text NOT NULL);
CREATE INDEX lowered_lower_idx ON lowered (lower(email));
INSERT INTO lowered SELECT i, 'User' || (i % 500) || '@Example.org' FROM generate_series(1, 20000) AS i;
ANALYZE;
});

my @args = (
	'--source', uri($source, 'fin'), '--target', uri($target, 'fin'),
	'--table-jobs', '2', '--index-jobs', '2');

my ($sqlite) = map { "$_/sqlite3" } grep { -x "$_/sqlite3" } split /:/, $ENV{PATH};
$sqlite //= 'sqlite3';

# one value from the run's state.db
sub state_value
{
	my ($dir, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $sqlite, "$dir/state.db", $sql ], '>', \$out, '2>', \$err)
	  or die "sqlite3 failed: $err";
	chomp $out;
	return $out;
}

# started_at of a task / finished_at of a copy, by label
sub task_time
{
	my ($dir, $col, $kind, $label) = @_;
	my $l = $label =~ s/'/''/gr;
	return state_value($dir, "SELECT $col FROM tasks WHERE kind = '$kind' AND label = '$l'");
}

my $COPY_CHILD = '"public"."child"';
my $FK_PARENT  = '"public"."child" "child_parent_id_fkey"';
my $FK_OTHER   = '"public"."child" "child_other_id_fkey"';

sub check_target
{
	my ($what) = @_;
	for my $c (qw(child_parent_id_fkey child_other_id_fkey))
	{
		is( query_value($target, 'fin',
				qq{SELECT convalidated || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = '$c'}),
			query_value($source, 'fin',
				qq{SELECT convalidated || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = '$c'}),
			"$what: $c validated, same definition");
	}
	my $q = q{SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM child t};
	is(query_value($target, 'fin', $q), query_value($source, 'fin', $q), "$what: child's rows equal");
	is( query_value($target, 'fin', q{SELECT pg_get_indexdef('child_other_idx'::regclass)}),
		query_value($source, 'fin', q{SELECT pg_get_indexdef('child_other_idx'::regclass)}),
		"$what: child_other_idx built");
	is( query_value($target, 'fin',
			q{SELECT reltuples::bigint || ' ' || (SELECT count(*) FROM pg_stats WHERE tablename = 'child')
			    FROM pg_class WHERE relname = 'child'}),
		'300000 4', "$what: child analyzed (reltuples, statistics of its 4 columns)");
	cmp_ok(query_value($target, 'fin',
			q{SELECT count(*) FROM pg_stats WHERE tablename = 'lowered_lower_idx'}),
		'==', 1, "$what: statistics of lowered's expression index (ANALYZE after the build)");
	# the copies' inserted rows are not left counted as changed since the ANALYZE
	# (else autovacuum analyzes every table again)
	is( query_value($target, 'fin',
			q{SELECT string_agg(relname || '=' || n_mod_since_analyze, ' ' ORDER BY relname)
			    FROM pg_stat_user_tables}),
		'child=0 lowered=0 parent=0', "$what: no changes since analyze on the target");
}

# ------------------------------------------------------------ default run
my $dir = work_dir('fin');
my ($rc, $out, $err) = run_pgshift('clone', @args, '--dir', $dir);
is($rc, 0, 'clone exits 0') or diag(tail_lines($err));
check_target('default');
my $child_copied = task_time($dir, 'finished_at', 'copy', $COPY_CHILD);
cmp_ok(task_time($dir, 'started_at', 'foreign-key', $FK_PARENT), '<', $child_copied,
	'the foreign key no index serves ran in the copy of child');
cmp_ok(task_time($dir, 'started_at', 'vacuum', $COPY_CHILD), '<', $child_copied,
	'child analyzed in its copy');
cmp_ok(task_time($dir, 'started_at', 'foreign-key', $FK_OTHER), '>=',
	task_time($dir, 'finished_at', 'index', 'public."child_other_idx"'),
	'the foreign key child_other_idx serves ran after that index was built');
cmp_ok(task_time($dir, 'started_at', 'vacuum', '"public"."lowered"'), '>=',
	task_time($dir, 'finished_at', 'index', 'public."lowered_lower_idx"'),
	'lowered analyzed after its expression index was built');
is(state_value($dir, q{SELECT count(*) FROM tasks WHERE status <> 'done'}), '0',
	'state.db: every task done');

# ------------------------------- work refused in the copy: runs on its own
psql_do($target, 'fin', q{
CREATE FUNCTION no_fk_before_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
                WHERE c.objid = to_regclass('public.child'))
       AND EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conrelid = to_regclass('public.child') AND contype = 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = to_regclass('public.child'))
    THEN
        RAISE EXCEPTION 'test: no foreign key on child before its indexes';
    END IF;
END $$;
CREATE EVENT TRIGGER no_fk_before_index ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION no_fk_before_index();
});
$dir = work_dir('refused');
($rc, $out, $err) = run_pgshift('clone', @args, '--drop-if-exists', '--dir', $dir);
is($rc, 0, 'clone exits 0 when the work is refused in the copy') or diag(tail_lines($err));
like($err,
	qr/foreign key "public"\."child" "child_parent_id_fkey" could not commit with the rows of "public"\."child", left to run on its own: .*no foreign key on child before its indexes/,
	'says what could not run with the rows, and why');
check_target('refused');
cmp_ok(task_time($dir, 'started_at', 'foreign-key', $FK_PARENT), '>=',
	task_time($dir, 'finished_at', 'copy', $COPY_CHILD), 'the foreign key ran on its own');
is(state_value($dir, q{SELECT count(*) FROM tasks WHERE status <> 'done'}), '0',
	'state.db: every task done');

done_testing();
