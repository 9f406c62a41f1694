# pgshift ping, connection strings, exit codes, help/version, secrets never
# shown, and the work directory lock.
#
# Exit codes (contract): 0 ok; 1 usage; 2 source connection/query failure;
# 3 target connection/query failure; 4 not implemented; 5 work directory
# unusable or in use; 6 precondition failed; 7 some tasks failed; 8 compare
# found differences; 9 interrupted; 10 internal error.
use strict;
use warnings;

use JSON::PP ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my @SECRETS = ($TEST_PASSWORD, 'wrongpw');

my ($source, $target) = start_pair();
create_role($source, $TEST_USER, replication => 1);
create_role($target, $TEST_USER);

# Runs pgshift, checks its exit code, and that no password leaks into its
# output or (with --dir) its log.  Returns ($rc, $stdout, $stderr).
sub pgshift_case
{
	my ($name, $want_rc, $opts, @args) = @_;
	my ($dir) = map { $args[ $_ + 1 ] } grep { $args[$_] eq '--dir' } 0 .. $#args;
	my ($rc, $out, $err) = run_pgshift($opts, @args);
	is($rc, $want_rc, "$name: exit code $want_rc")
	  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
	check_no_secrets($name, \@SECRETS, stdout => $out, stderr => $err,
		(defined $dir ? (dir => $dir) : ()));
	return ($rc, $out, $err);
}

my $src_uri = uri($source, 'postgres');
my $tgt_uri = uri($target, 'postgres');

subtest 'ping with URIs (scram password in the URI)' => sub {
	my $dir = work_dir('ping');
	my ($rc, $out, $err) = pgshift_case('ping', 0, {},
		'ping', '--source', $src_uri, '--target', $tgt_uri, '--dir', $dir);
	like($out, qr/^source:.*PostgreSQL 15/m, 'stdout: source line with the server version');
	like($out, qr/^target:.*PostgreSQL 15/m, 'stdout: target line with the server version');
};

subtest 'source: wrong port' => sub {
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $dir = work_dir('badport');
	my ($rc, $out, $err) = pgshift_case('wrong port', 2, {},
		'ping', '--source', uri($source, 'postgres', port => $port),
		'--target', $tgt_uri, '--dir', $dir);
	like($err, qr/source.*(?:Connection refused|connection to server)/i,
		'stderr: a line naming the source and the libpq error');
};

subtest 'target: wrong password' => sub {
	my $dir = work_dir('badpw');
	my ($rc, $out, $err) = pgshift_case('wrong password', 3, {},
		'ping', '--source', $src_uri,
		'--target', uri($target, 'postgres', password => 'wrongpw'),
		'--dir', $dir);
	like($err, qr/target/i, 'stderr names the target');
	like($err, qr/password authentication failed/, 'stderr: libpq error');
	my $log = -f "$dir/pgshift.log" ? slurp_file("$dir/pgshift.log") : '';
	like($log, qr/password authentication failed/, 'the error is in pgshift.log too');
};

subtest 'source: database does not exist' => sub {
	my $dir = work_dir('nodb');
	my ($rc, $out, $err) = pgshift_case('missing database', 2, {},
		'ping', '--source', uri($source, 'no_such_db'),
		'--target', $tgt_uri, '--dir', $dir);
	like($err, qr/source/i, 'stderr names the source');
	like($err, qr/does not exist/, 'stderr: libpq error');
};

subtest 'source: invalid connection string' => sub {
	my $dir = work_dir('baduri');
	my ($rc, $out, $err) = pgshift_case('bad URI', 2, {},
		'ping',
		'--source', "postgresql://$TEST_USER:$TEST_PASSWORD\@127.0.0.1:notaport/postgres",
		'--target', $tgt_uri, '--dir', $dir);
	like($err, qr/invalid/i, 'stderr: says invalid');
	like($err, qr/source/i, 'stderr names the source');

	$dir = work_dir('badkv');
	($rc, $out, $err) = pgshift_case('bad keyword/value string', 2, {},
		'ping',
		'--source', "host=127.0.0.1 port=" . $source->port . " password=$TEST_PASSWORD bogus_option=1",
		'--target', $tgt_uri, '--dir', $dir);
	like($err, qr/source/i, 'stderr names the source');
	like($err, qr/invalid|bogus_option/i, 'stderr: the libpq parse error');
};

subtest 'keyword/value connection strings' => sub {
	my $dir = work_dir('kv');
	my ($rc, $out, $err) = pgshift_case('keyword/value', 0, {},
		'ping',
		'--source', keyword_connstr($source, 'postgres'),
		'--target', keyword_connstr($target, 'postgres'),
		'--dir', $dir);
	like($out, qr/^source:.*PostgreSQL 15/m, 'source line');
	like($out, qr/^target:.*PostgreSQL 15/m, 'target line');
};

subtest 'PGPASSWORD with URIs without a password' => sub {
	my $dir = work_dir('pgpassword');
	my ($rc, $out, $err) = pgshift_case('PGPASSWORD', 0,
		{ env => { PGPASSWORD => $TEST_PASSWORD } },
		'ping',
		'--source', uri($source, 'postgres', password => undef),
		'--target', uri($target, 'postgres', password => undef),
		'--dir', $dir);
	like($out, qr/^source:.*PostgreSQL 15/m, 'source line');
	like($out, qr/^target:.*PostgreSQL 15/m, 'target line');
};

subtest 'connection strings from the environment' => sub {
	my $dir = work_dir('env');
	my ($rc, $out, $err) = pgshift_case('PGSHIFT_*_PGURI', 0,
		{ env => { PGSHIFT_SOURCE_PGURI => $src_uri, PGSHIFT_TARGET_PGURI => $tgt_uri } },
		'ping', '--dir', $dir);
	like($out, qr/^source:.*PostgreSQL 15/m, 'source line');
	like($out, qr/^target:.*PostgreSQL 15/m, 'target line');

	$dir = work_dir('env_pgcopydb');
	($rc, $out, $err) = pgshift_case('PGCOPYDB_*_PGURI', 0,
		{ env => { PGCOPYDB_SOURCE_PGURI => $src_uri, PGCOPYDB_TARGET_PGURI => $tgt_uri } },
		'ping', '--dir', $dir);
	like($out, qr/^source:.*PostgreSQL 15/m, 'source line');
	like($out, qr/^target:.*PostgreSQL 15/m, 'target line');
};

subtest 'missing --source' => sub {
	my ($rc, $out, $err) = pgshift_case('no source', 1, {},
		'ping', '--target', $tgt_uri);
	like($err, qr/--source/, 'stderr names --source');
};

subtest 'version, help, unknown command' => sub {
	my ($rc, $out, $err) = run_pgshift('version');
	is($rc, 0, 'version: exit 0');
	like($out, qr/\d+\.\d+/, 'version: prints a version number');

	($rc, $out, $err) = run_pgshift('version', '--json');
	is($rc, 0, 'version --json: exit 0');
	my $json = eval { JSON::PP::decode_json($out) };
	ok($json && ref $json eq 'HASH', 'version --json: prints a JSON object')
	  or diag("$@\n$out");
	ok($json && defined $json->{version}, 'version --json: has "version"');

	($rc, $out, $err) = run_pgshift('--help');
	is($rc, 0, '--help: exit 0');
	like($out, qr/usage/i, '--help: usage on stdout');

	($rc, $out, $err) = run_pgshift('clone', '--help');
	is($rc, 0, 'clone --help: exit 0');
	like($out, qr/usage/i, 'clone --help: usage on stdout');
	like($out, qr/--source/, 'clone --help: lists --source');

	($rc, $out, $err) = run_pgshift('no-such-command');
	is($rc, 1, 'unknown command: exit 1');
	like($err, qr/no-such-command|unknown|usage/i, 'unknown command: says so');
};

# The directory's lock is held by a run that works in it: a clone held back
# on the target (a session holds SHARE on pg_class, so it cannot create the
# table it copies). `snapshot` takes a lock of its own (snapshot.pid), so
# that pgcopydb's steps can use the directory while it holds the snapshot.
subtest 'work directory in use by another run' => sub {
	my $dir = work_dir('lock');
	my $pidfile = "$dir/pgshift.pid";
	psql_do($source, 'postgres', 'CREATE TABLE public.lock_me (id int)');
	my $gate = gate_close($target, 'postgres');
	my $h = start_pgshift({ timeout => 300 }, 'clone', '--source', $source->connstr('postgres'),
		'--target', $target->connstr('postgres'), '--dir', $dir);
	my $held = wait_for_file($pidfile, 60, $h);
	ok($held, 'the clone is running and wrote pgshift.pid');
	SKIP:
	{
		skip 'the clone did not start', 3 unless $held && pgshift_running($h);
		my ($rc, $out, $err) = pgshift_case('locked dir', 5, {},
			'ping', '--source', $src_uri, '--target', $tgt_uri, '--dir', $dir);
		like($err, qr/pgshift\.pid|another pgshift|in use|locked/i,
			'stderr: the directory is in use by another run');
		ok(pgshift_running($h), 'the clone is still running');
	}
	gate_open($gate);
	my ($rc, $out, $err) = finish_pgshift($h);
	is($rc, 0, 'the clone ends once the target lets it') or diag(tail_lines($err));
	psql_do($source, 'postgres', 'DROP TABLE public.lock_me');
	psql_do($target, 'postgres', 'DROP TABLE IF EXISTS public.lock_me');

	# a held snapshot leaves the directory to the other commands
	my $sdir = work_dir('snaplock');
	my $sh = start_pgshift({ timeout => 300 }, 'snapshot', '--source', $src_uri, '--dir', $sdir);
	ok(wait_for_file("$sdir/snapshot.pid", 60, $sh), 'snapshot wrote snapshot.pid');
	($rc, $out, $err) = pgshift_case('beside a snapshot', 0, {},
		'ping', '--source', $src_uri, '--target', $tgt_uri, '--dir', $sdir);
	($rc, $out, $err) = pgshift_case('a second snapshot', 5, {},
		'snapshot', '--source', $src_uri, '--dir', $sdir);
	like($err, qr/a snapshot is held for work directory/, 'a second snapshot holder is refused');
	$sh->{run}->signal('TERM') if pgshift_running($sh);
	($rc, $out, $err) = finish_pgshift($sh);
	ok($rc == 0 || $rc == 9, "snapshot ends on SIGTERM with 0 or 9 (got $rc)")
	  or diag("stdout:\n" . tail_lines($out) . "\nstderr:\n" . tail_lines($err));
	check_no_secrets('snapshot', \@SECRETS, stdout => $out, stderr => $err, dir => $sdir);
};

subtest 'no password in the process title' => sub {
	my $dir = work_dir('cmdline');
	my $h = start_pgshift({ timeout => 300 },
		'snapshot', '--source', $src_uri, '--dir', $dir);
	my $held = wait_for_file("$dir/snapshot.pid", 60, $h);
	ok($held, 'snapshot is running');
	my $cmdline = '';
	if (open(my $fh, '<', "/proc/$h->{pid}/cmdline"))
	{
		local $/;
		$cmdline = <$fh> // '';
		close($fh);
	}
	$cmdline =~ s/\0/ /g;
	like($cmdline, qr/snapshot/, '/proc/PID/cmdline is readable');
	like($src_uri, qr/s3cr3t-Pa55/, 'the URI given holds the password');
	unlike($cmdline, qr/s3cr3t-Pa55/, 'the password is not in the process title');
	$h->{run}->signal('TERM') if pgshift_running($h);
	finish_pgshift($h);
};

done_testing();
