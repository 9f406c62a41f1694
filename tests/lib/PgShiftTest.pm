# PgShiftTest -- helpers shared by pgshift's TAP integration tests.
#
# Built on PostgreSQL::Test::Cluster (from postgresql-server-dev-15).  Every
# comparison helper only reads the servers' own catalogs, and reports through
# Test::More, so each of them can fail a test.  See tests/integration/README.md.
package PgShiftTest;

use strict;
use warnings;

use Carp;
use Exporter 'import';
use File::Basename qw(basename);
use File::Find ();
use File::Path qw(mkpath);
use File::Spec;
use IPC::Run;
use Time::HiRes ();
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(
  start_pair create_role uri keyword_connstr
  run_pgshift start_pgshift finish_pgshift pgshift_bin
  psql_ok psql_do query_rows query_value load_sql_file
  work_dir check_no_secrets wait_for_file pgshift_running tail_lines
  table_list compare_tables compare_table_data compare_indexes
  compare_constraints compare_sequences compare_large_objects
  compare_objects compare_all gate_close gate_open
  test_plugins wait_until wait_exit bg bg_finish
  $TEST_USER $TEST_PASSWORD
);

# The role the tests connect as over TCP, with a password (see create_role).
our $TEST_USER     = 'alice';
our $TEST_PASSWORD = 's3cr3t-Pa55';

# Cross-version comparisons: when set, a sub ($what, $row_string, $node, $db)
# returning the row as compared, or undef to leave it out
# (PgShiftVersions.pm removes the legitimate differences between majors with
# it); the rows of both sides go through it.
our $NORMALIZE;

# Schemas never compared (besides pg_catalog, information_schema, pg_toast*,
# pg_temp*).  Tests may push to this, e.g. for a schema pgshift itself keeps
# on the target.
our @EXCLUDE_SCHEMAS = ();

# What psql prints for NULL in query_rows: something no catalog text holds.
my $NULL_MARK = "\x01NULL\x01";

# Environment variables that would make pgshift (or libpq inside it) connect
# somewhere else than the test says: removed for every pgshift run unless the
# test sets them explicitly.
my @HERMETIC_UNSET = qw(PGAPPNAME
  PGSHIFT_SOURCE_PGURI PGSHIFT_TARGET_PGURI
  PGCOPYDB_SOURCE_PGURI PGCOPYDB_TARGET_PGURI
  PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE
  PGPASSFILE PGOPTIONS PGCONNECT_TIMEOUT
);

###########################################################################
# Clusters
###########################################################################

=pod

=head2 start_pair(%opts) -> ($source, $target)

Initialise and start two PostgreSQL::Test::Cluster nodes, "source" (with
wal_level = logical) and "target".  Both use UTF8 / C.UTF-8, listen on
127.0.0.1 (besides the test's unix socket) and keep local socket connections
on trust.  TCP connections use scram-sha-256, unless tcp_auth => 'trust'.

Options: tcp_auth => 'scram-sha-256' | 'trust'; source_conf / target_conf /
conf => extra postgresql.conf lines; source_install / target_install => the
install directory of another major (e.g. /opt/pgshift-pg/12, see
PgShiftVersions.pm), default the system's 15; source_name / target_name =>
the node names (default source, target), for more than one pair per file.

=cut

# ---- waiting and background commands ----

# Polls $cond->() every 50 ms for up to $timeout seconds: 1 once it is true.
sub wait_until
{
	my ($timeout, $cond) = @_;
	my $deadline = Time::HiRes::time() + $timeout;
	while (Time::HiRes::time() < $deadline)
	{
		return 1 if $cond->();
		Time::HiRes::sleep(0.05);
	}
	return $cond->() ? 1 : 0;
}

# 1 once the pgshift started with start_pgshift has exited (within $timeout s).
sub wait_exit
{
	my ($h, $timeout) = @_;
	my $deadline = Time::HiRes::time() + $timeout;
	while (Time::HiRes::time() < $deadline)
	{
		return 1 unless pgshift_running($h);
		Time::HiRes::sleep(0.1);
	}
	return 0;
}

# Any command in the background (pgbench, psql), without libpq's environment;
# bg_finish waits for it and returns its exit code (-1 when it timed out).
sub bg
{
	my (@cmd) = @_;
	my %j = (out => '', err => '', cmd => "@cmd");
	local %ENV = %ENV;
	delete @ENV{qw(PGPASSWORD PGUSER PGSERVICE PGOPTIONS PGDATABASE)};
	$j{h} = IPC::Run::start(\@cmd, '<', \undef, '>', \$j{out}, '2>', \$j{err},
		IPC::Run::timeout(600));
	return \%j;
}

sub bg_finish
{
	my ($j) = @_;
	eval { $j->{h}->finish; 1 } or do { Test::More::diag("$j->{cmd}: $@"); return -1 };
	return $j->{h}->result(0);
}

sub start_pair
{
	my (%opts) = @_;
	my $tcp_auth = $opts{tcp_auth} // 'scram-sha-256';

	my $source = PostgreSQL::Test::Cluster->new($opts{source_name} // 'source',
		$opts{source_install} ? (install_path => $opts{source_install}) : ());
	my $target = PostgreSQL::Test::Cluster->new($opts{target_name} // 'target',
		$opts{target_install} ? (install_path => $opts{target_install}) : ());

	$source->init(
		allows_streaming => 'logical',
		extra            => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
	$target->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);

	# Sized for a 2-core box: two servers plus pgshift's parallel workers.
	my $common = join("\n",
		"listen_addresses = '127.0.0.1'",
		"shared_buffers = 128MB",
		"max_connections = 50",
		"password_encryption = 'scram-sha-256'",
		"max_wal_size = 1GB",
		"min_wal_size = 80MB",
		"maintenance_work_mem = 64MB",
		"work_mem = 8MB",
		"max_worker_processes = 8",
		"max_parallel_workers = 2",
		"max_parallel_workers_per_gather = 1",
		"max_parallel_maintenance_workers = 1",
		"log_min_messages = info",
		# compare queries on 1 MB values are fine, but not logging them keeps
		# the server logs readable
		"log_statement = 'ddl'",
		"lc_messages = 'C'");
	$source->append_conf('postgresql.conf',
		join("\n",
			$common,
			"wal_level = logical",
			"max_replication_slots = 10",
			"max_wal_senders = 10",
			($opts{conf} // ''),
			($opts{source_conf} // '')));
	$target->append_conf('postgresql.conf',
		join("\n", $common, ($opts{conf} // ''), ($opts{target_conf} // '')));

	for my $node ($source, $target)
	{
		_write_hba($node, $tcp_auth);
		$node->start;
	}
	return ($source, $target);
}

sub _write_hba
{
	my ($node, $tcp_auth) = @_;
	my $file = $node->data_dir . '/pg_hba.conf';
	open my $fh, '>', $file or die "could not write $file: $!";
	print $fh <<"EOF";
# written by PgShiftTest.pm
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 trust
local   replication  all                 trust
host    all          all   127.0.0.1/32  $tcp_auth
host    replication  all   127.0.0.1/32  $tcp_auth
EOF
	close $fh;
	chmod(0600, $file);
	return;
}

=pod

=head2 create_role($node, $name, %opts)

CREATE ROLE ... LOGIN with password => $TEST_PASSWORD by default (pass
password => undef for none); superuser => 1, replication => 1 add those
attributes.  Roles are global: call it on each node that needs the role.

=cut

sub create_role
{
	my ($node, $name, %opts) = @_;
	my $password = exists $opts{password} ? $opts{password} : $TEST_PASSWORD;
	my @attrs = ('LOGIN');
	push @attrs, 'SUPERUSER'   if $opts{superuser};
	push @attrs, 'REPLICATION' if $opts{replication};
	push @attrs, 'NOLOGIN' if defined $opts{login} && !$opts{login};
	@attrs = grep { $_ ne 'LOGIN' } @attrs
	  if defined $opts{login} && !$opts{login};
	my $sql = sprintf("SET password_encryption = 'scram-sha-256';\n"
		  . "CREATE ROLE %s %s%s;",
		_quote_ident($name), join(' ', @attrs),
		defined $password ? ' PASSWORD ' . _quote_literal($password) : '');
	$node->safe_psql('postgres', $sql);
	return;
}

=pod

=head2 uri($node, $db, %extra) -> "postgresql://user:pw@127.0.0.1:port/db?k=v"

user defaults to $TEST_USER, password to $TEST_PASSWORD (password => undef
gives a URI without one), host to 127.0.0.1, port to the node's port.  Any
other key becomes a query parameter (sorted).  Everything is percent-encoded.

=cut

sub uri
{
	my ($node, $db, %extra) = @_;
	my $user = exists $extra{user} ? delete $extra{user} : $TEST_USER;
	my $password =
	  exists $extra{password} ? delete $extra{password} : $TEST_PASSWORD;
	my $host = exists $extra{host} ? delete $extra{host} : '127.0.0.1';
	my $port = exists $extra{port} ? delete $extra{port} : $node->port;

	my $auth = '';
	if (defined $user)
	{
		$auth = _pct($user);
		$auth .= ':' . _pct($password) if defined $password;
		$auth .= '@';
	}
	my $u = "postgresql://$auth$host";
	$u .= ":$port" if defined $port;
	$u .= '/' . _pct($db) if defined $db;
	my @q = map { _pct($_) . '=' . _pct($extra{$_}) } sort keys %extra;
	$u .= '?' . join('&', @q) if @q;
	return $u;
}

=pod

=head2 keyword_connstr($node, $db, %extra) -> "host=127.0.0.1 port=N user=... "

The keyword/value form of uri(), same defaults.

=cut

sub keyword_connstr
{
	my ($node, $db, %extra) = @_;
	my %kv = (
		host => '127.0.0.1',
		port => $node->port,
		user => $TEST_USER,
		password => $TEST_PASSWORD,
		(defined $db ? (dbname => $db) : ()));
	while (my ($k, $v) = each %extra)
	{
		if (defined $v) { $kv{$k} = $v }
		else            { delete $kv{$k} }
	}
	my @order = grep { exists $kv{$_} } qw(host port user password dbname);
	my %seen = map { $_ => 1 } @order;
	push @order, sort grep { !$seen{$_} } keys %kv;
	return join(' ', map { "$_=" . _kv_quote($kv{$_}) } @order);
}

sub _kv_quote
{
	my ($v) = @_;
	return $v if $v =~ /^[A-Za-z0-9._\-\/:@]+$/;
	$v =~ s/([\\'])/\\$1/g;
	return "'$v'";
}

sub _pct
{
	my ($s) = @_;
	utf8::encode($s) if utf8::is_utf8($s);
	$s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord($1))/ge;
	return $s;
}

sub _quote_ident
{
	my ($s) = @_;
	$s =~ s/"/""/g;
	return qq("$s");
}

sub _quote_literal
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

###########################################################################
# Running pgshift
###########################################################################

sub pgshift_bin
{
	my $bin = $ENV{PGSHIFT_BIN};
	BAIL_OUT('PGSHIFT_BIN is not set (run tests/run-integration.sh)')
	  unless defined $bin && $bin ne '';
	return $bin;
}

# Mask passwords in a command line shown in the test log.
sub _mask
{
	my ($s) = @_;
	$s =~ s{(://[^:/@\s]*:)[^@\s]*@}{$1***@}g;
	$s =~ s{(password=)('(?:[^'\\]|\\.)*'|\S+)}{$1***}gi;
	return $s;
}

sub _pgshift_env
{
	my ($env) = @_;
	my %e = %ENV;
	delete @e{@HERMETIC_UNSET};
	# every PGSHIFT_* / PGCOPYDB_* setting (option defaults) too
	delete @e{ grep { /^(?:PGSHIFT|PGCOPYDB)_/ && $_ ne 'PGSHIFT_BIN' } keys %e };
	if ($env)
	{
		while (my ($k, $v) = each %$env)
		{
			if (defined $v) { $e{$k} = $v }
			else            { delete $e{$k} }
		}
	}
	return %e;
}

=pod

=head2 run_pgshift([\%opts,] @args) -> ($exit_code, $stdout, $stderr)

Runs $ENV{PGSHIFT_BIN} @args and waits for it.  %opts: timeout (seconds,
default 600), env => { NAME => value-or-undef } (libpq and pgshift variables
are unset unless given here), stdin => string.  A process killed by signal N
gives 128+N; a timeout gives -1 (and the process is killed).

=cut

sub run_pgshift
{
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	my @args = @_;
	my $timeout = $opts->{timeout} // 600;
	my $stdin   = $opts->{stdin} // '';
	my ($out, $err) = ('', '');
	my @cmd = (pgshift_bin(), @args);

	note('running: ' . _mask(join(' ', map { _shell_quote($_) } @cmd)));
	my $start = time;
	my $rc;
	{
		local %ENV = _pgshift_env($opts->{env});
		my $t = IPC::Run::timeout($timeout, exception => 'pgshift timed out');
		eval {
			IPC::Run::run(\@cmd, '<', \$stdin, '>', \$out, '2>', \$err, $t);
			$rc = _decode_status($?);
			1;
		} or do {
			my $e = $@;
			die $e unless $e =~ /pgshift timed out/;
			$rc = -1;
			$err .= "\n[PgShiftTest] pgshift timed out after ${timeout}s\n";
		};
	}
	note(sprintf('pgshift exited with %d after %ds', $rc, time - $start));
	note("stdout:\n$out") if length $out;
	note("stderr:\n$err") if length $err;
	return ($rc, $out, $err);
}

sub _decode_status
{
	my ($st) = @_;
	return -1 if $st == -1;
	return 128 + ($st & 127) if $st & 127;
	return $st >> 8;
}

sub _shell_quote
{
	my ($s) = @_;
	return $s if $s =~ /^[A-Za-z0-9_\-.,\/:=@%+]+$/;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

=pod

=head2 start_pgshift([\%opts,] @args) -> $handle

Starts pgshift in the background (IPC::Run::start).  $handle->{out} and
$handle->{err} are scalar refs filled while it runs; finish_pgshift($h)
waits for it and returns ($exit_code, $stdout, $stderr).  $h->{pid} is the
child's pid.

=cut

sub start_pgshift
{
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	my @args = @_;
	my $timeout = $opts->{timeout} // 600;
	my ($out, $err) = ('', '');
	my $stdin = $opts->{stdin} // '';
	my @cmd = (pgshift_bin(), @args);
	note('starting: ' . _mask(join(' ', map { _shell_quote($_) } @cmd)));
	my $t = IPC::Run::timeout($timeout, exception => 'pgshift timed out');
	my $h;
	{
		local %ENV = _pgshift_env($opts->{env});
		$h = IPC::Run::start(\@cmd, '<', \$stdin, '>', \$out, '2>', \$err,
			$t);
	}
	return {
		run   => $h,
		out   => \$out,
		err   => \$err,
		timer => $t,
		pid   => $h->{KIDS}[0]{PID},
	};
}

# Is the background pgshift still running?  (Also pumps its output.)
sub pgshift_running
{
	my ($h) = @_;
	my $alive = eval { $h->{run}->pump_nb; 1 };
	return 0 unless $alive;
	return kill(0, $h->{pid}) && !_reaped($h->{pid}) ? 1 : 0;
}

sub _reaped
{
	my ($pid) = @_;
	# zombie check via /proc: a process that exited but was not waited for
	if (open my $fh, '<', "/proc/$pid/stat")
	{
		my $stat = <$fh>;
		close $fh;
		return 1 if defined $stat && $stat =~ /^\d+ \(.*\) Z /;
		return 0;
	}
	return 1;
}

sub finish_pgshift
{
	my ($h) = @_;
	my $rc;
	eval {
		$h->{run}->finish;
		$rc = _decode_status($h->{run}->full_result(0) // -1);
		1;
	} or do {
		my $e = $@;
		die $e unless $e =~ /pgshift timed out/;
		eval { $h->{run}->kill_kill };
		$rc = -1;
		${ $h->{err} } .= "\n[PgShiftTest] pgshift timed out\n";
	};
	note("background pgshift exited with $rc");
	note("stdout:\n${ $h->{out} }") if length ${ $h->{out} };
	note("stderr:\n${ $h->{err} }") if length ${ $h->{err} };
	return ($rc, ${ $h->{out} }, ${ $h->{err} });
}

=pod

=head2 work_dir($name) -> path

A fresh, empty directory for pgshift's --dir, under this test's tmp_check
(kept after the run, so run-integration.sh can show pgshift.log on failure).

=cut

my %work_dirs_used;

sub work_dir
{
	my ($name) = @_;
	$name //= 'work';
	my $test = basename($0);
	$test =~ s/\.pl$//;
	my $base = File::Spec->rel2abs($PostgreSQL::Test::Utils::tmp_check);
	my $dir = "$base/pgshift_${test}_$name";
	my $n = 1;
	while (-e $dir || $work_dirs_used{$dir})
	{
		$n++;
		$dir = "$base/pgshift_${test}_${name}_$n";
	}
	$work_dirs_used{$dir} = 1;
	mkpath($dir);
	return $dir;
}

=pod

=head2 tail_lines($text, $n) -> the last $n lines of $text (default 40)

=cut

sub tail_lines
{
	my ($text, $n) = @_;
	$n //= 40;
	my @l = split /\n/, $text // '';
	return $text if @l <= $n;
	return "[... " . (@l - $n) . " lines ...]\n" . join("\n", @l[ -$n .. -1 ]);
}

=pod

=head2 wait_for_file($path, $timeout_s [, $handle]) -> bool

Polls until $path exists.  With a start_pgshift handle, stops early when
that process has exited.

=cut

sub wait_for_file
{
	my ($path, $timeout, $h) = @_;
	$timeout //= 60;
	my $deadline = time + $timeout;
	while (time < $deadline)
	{
		return 1 if -e $path;
		return (-e $path ? 1 : 0) if $h && !pgshift_running($h);
		select(undef, undef, undef, 0.1);
	}
	return -e $path ? 1 : 0;
}

=pod

=head2 check_no_secrets($name, \@secrets, stdout => .., stderr => .., dir => ..)

Asserts that none of the secrets appear in stdout, stderr or
<dir>/pgshift.log (which must exist when dir is given).  Other files in dir
are checked too, but only reported with a warning.

=cut

sub check_no_secrets
{
	my ($name, $secrets, %where) = @_;
	my $ok = 1;
	for my $stream (qw(stdout stderr))
	{
		next unless defined $where{$stream};
		my @found = grep { index($where{$stream}, $_) >= 0 } @$secrets;
		ok(!@found, "$name: no password in $stream")
		  or do { diag("found: @found"); $ok = 0 };
	}
	if (defined $where{dir})
	{
		my $log = "$where{dir}/pgshift.log";
		ok(-f $log, "$name: $log exists") or $ok = 0;
		if (-f $log)
		{
			my $text = slurp_file($log);
			my @found = grep { index($text, $_) >= 0 } @$secrets;
			ok(!@found, "$name: no password in pgshift.log")
			  or do { diag("found: @found"); $ok = 0 };
		}
		my @others;
		File::Find::find(
			{
				no_chdir => 1,
				wanted   => sub {
					return unless -f $_;
					return if $_ eq $log;
					return if -s $_ > 64 * 1024 * 1024;
					my $text = eval { slurp_file($_) } // return;
					push @others, $_
					  if grep { index($text, $_) >= 0 } @$secrets;
				}
			},
			$where{dir}) if -d $where{dir};
		# Other files (state, catalogs, dumps) are not part of the contract:
		# a leak there is reported as a warning, not a failure.
		diag("WARNING: $name: a password is stored in: @others") if @others;
	}
	return $ok;
}

###########################################################################
# SQL helpers
###########################################################################

sub _psql_cmd
{
	my ($node, $db, @extra) = @_;
	# installs of other majors have no client programs: the system's psql
	my $psql = $node->installed_command('psql');
	$psql = 'psql' if $psql =~ m{/} && !-x $psql;
	return ($psql,
		'-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db),
		@extra);
}

sub _run_psql
{
	my ($node, $db, $sql, @extra) = @_;
	my ($out, $err) = ('', '');
	my @cmd = _psql_cmd($node, $db, @extra);
	my $t = IPC::Run::timeout(900, exception => 'psql timed out');
	{
		local %ENV = %ENV;
		delete @ENV{qw(PGPASSWORD PGUSER PGSERVICE PGOPTIONS)};
		IPC::Run::run(\@cmd, '<', \$sql, '>', \$out, '2>', \$err, $t);
	}
	return (_decode_status($?), $out, $err);
}

# Same query on two nodes at once (source and target work in parallel).
# Returns ([$rc, $out, $err], [$rc, $out, $err]).
sub _run_psql_pair
{
	my ($n1, $n2, $db, $sql, @extra) = @_;
	my @jobs;
	{
		local %ENV = %ENV;
		delete @ENV{qw(PGPASSWORD PGUSER PGSERVICE PGOPTIONS)};
		for my $node ($n1, $n2)
		{
			my $job = { out => '', err => '', sql => $sql };
			my @cmd = _psql_cmd($node, $db, @extra);
			$job->{h} = IPC::Run::start(\@cmd, '<', \$job->{sql},
				'>', \$job->{out}, '2>', \$job->{err},
				IPC::Run::timeout(900, exception => 'psql timed out'));
			push @jobs, $job;
		}
	}
	my @res;
	for my $job (@jobs)
	{
		$job->{h}->finish;
		push @res,
		  [ _decode_status($job->{h}->full_result(0)), $job->{out}, $job->{err} ];
	}
	return @res;
}

=pod

=head2 psql_ok($node, $db, $sql [, $name]) -> bool

Runs $sql (ON_ERROR_STOP) and asserts that it succeeded.

=head2 psql_do($node, $db, $sql) -> stdout

Runs $sql and dies on error (for setup steps).

=cut

sub psql_ok
{
	my ($node, $db, $sql, $name) = @_;
	$name //= 'psql: ' . substr((split /\n/, $sql)[0] // '', 0, 60);
	my ($rc, $out, $err) = _run_psql($node, $db, $sql, '-A', '-t');
	return ok($rc == 0, $name) || diag("psql exit $rc: $err");
}

sub psql_do
{
	my ($node, $db, $sql) = @_;
	my ($rc, $out, $err) = _run_psql($node, $db, $sql, '-A', '-t');
	croak("psql on " . $node->name . "/$db failed ($rc): $err\nSQL: $sql")
	  if $rc != 0;
	chomp $out;
	return $out;
}

=pod

=head2 load_sql_file($node, $db, $file)

psql -f $file, stopping at the first error (dies then).

=cut

sub load_sql_file
{
	my ($node, $db, $file) = @_;
	my ($rc, $out, $err) = _run_psql($node, $db, '', '-f', $file);
	croak("loading $file into " . $node->name . "/$db failed ($rc): $err")
	  if $rc != 0;
	return;
}

=pod

=head2 query_rows($node, $db, $sql) -> [ [col, ...], ... ]

Runs one query; NULL comes back as undef.  Output goes through psql's CSV
format, so values with tabs, newlines, commas, quotes or pipes are kept
exactly.  Dies on error.

=head2 query_value($node, $db, $sql) -> first column of the first row

=cut

sub query_rows
{
	my ($node, $db, $sql) = @_;
	my ($rc, $out, $err) = _query_raw($node, $db, $sql);
	croak("query on " . $node->name . "/$db failed ($rc): $err\nSQL: $sql")
	  if $rc != 0;
	return _parse_csv($out);
}

sub _query_raw
{
	my ($node, $db, $sql) = @_;
	return _run_psql($node, $db, $sql, '--csv', '-t', '-P',
		"null=$NULL_MARK");
}

# Run one query on the source and the target at once.  Returns
# ($src_value, $tgt_value): the first row as ' | '-joined text, or
# "ERROR: ..." on the target (an error on the source dies).
sub _value_pair
{
	my ($src, $tgt, $db, $sql, $what) = @_;
	my ($rs, $rt) = _run_psql_pair($src, $tgt, $db, $sql, '--csv', '-t', '-P',
		"null=$NULL_MARK");
	die "$what on the source failed: $rs->[2]" if $rs->[0];
	my $v = sub {
		my ($r) = @_;
		if ($r->[0])
		{
			(my $err = $r->[2]) =~ s/\s+$//;
			return "ERROR: $err";
		}
		return _row_strings(_parse_csv($r->[1]))->[0] // '<no row>';
	};
	return ($v->($rs), $v->($rt));
}

sub query_value
{
	my ($node, $db, $sql) = @_;
	my $rows = query_rows($node, $db, $sql);
	return @$rows ? $rows->[0][0] : undef;
}

sub _parse_csv
{
	my ($s) = @_;
	my @rows;
	return \@rows if $s eq '';
	my @row;
	pos($s) = 0;
	my $len = length $s;
	while (1)
	{
		my $f;
		if ($s =~ /\G"([^"]*(?:""[^"]*)*)"/gc)
		{
			$f = $1;
			$f =~ s/""/"/g;
		}
		else
		{
			$s =~ /\G([^,\n]*)/gc;
			$f = $1;
			$f = undef if $f eq $NULL_MARK;
		}
		push @row, $f;
		next if $s =~ /\G,/gc;
		push @rows, [@row];
		@row = ();
		last if pos($s) == $len;
		if ($s =~ /\G\n/gc)
		{
			last if pos($s) == $len;
			next;
		}
		croak("cannot parse psql CSV output at offset " . pos($s));
	}
	return \@rows;
}

###########################################################################
# Comparisons
###########################################################################

# SQL condition: the schema (an expression giving its name) is a user schema.
sub _user_ns
{
	my ($expr) = @_;
	my @ex = map { _quote_literal($_) } @EXCLUDE_SCHEMAS;
	my $cond =
	    "$expr NOT IN ('pg_catalog', 'information_schema') "
	  . "AND $expr !~ '^pg_toast' AND $expr !~ '^pg_temp_'";
	$cond .= " AND $expr NOT IN (" . join(', ', @ex) . ')' if @ex;
	return "($cond)";
}

# SQL condition: the object is not a member of an extension.
sub _not_ext
{
	my ($catalog, $oid) = @_;
	return
	    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e "
	  . "WHERE e.classid = '$catalog'::pg_catalog.regclass "
	  . "AND e.objid = $oid AND e.deptype = 'e')";
}

# SQL expression: an ACL as sorted text.  A NULL ACL stands for the default
# privileges (acldefault), so an explicit ACL equal to the default (which
# pg_dump does not reproduce) compares equal to NULL.
sub _acl
{
	my ($acl, $objtype, $owner) = @_;
	my $expr = defined $objtype
	  ? "coalesce($acl, acldefault(($objtype)::\"char\", $owner))"
	  : $acl;
	return "(SELECT string_agg(x.a::text, ',' ORDER BY x.a::text) "
	  . "FROM unnest($expr) AS x(a))";
}

# All catalog queries run with only pg_catalog in the search_path, so every
# name the server prints for a user object is schema-qualified.
sub _cat_rows
{
	my ($node, $db, $sql) = @_;
	return query_rows($node, $db,
		"SET search_path = pg_catalog, pg_temp;\n$sql");
}

sub _row_strings
{
	my ($rows) = @_;
	return [ sort map { join(' | ', map { $_ // '<NULL>' } @$_) } @$rows ];
}

# Compare two lists of strings as sets (sorted).  Shows what is missing on
# the target and what is extra, then the is_deeply diff.
sub _compare_lists
{
	my ($name, $src, $tgt) = @_;
	my @s = sort @$src;
	my @t = sort @$tgt;
	my (%cs, %ct);
	$cs{$_}++ for @s;
	$ct{$_}++ for @t;
	my @missing = grep { ($ct{$_} // 0) < $cs{$_} } sort keys %cs;
	my @extra   = grep { ($cs{$_} // 0) < $ct{$_} } sort keys %ct;
	my $ok = is_deeply(\@t, \@s, $name);
	if (!$ok)
	{
		my $show = sub {
			my ($what, @l) = @_;
			return unless @l;
			my $more = @l > 25 ? sprintf("\n  ... and %d more", @l - 25) : '';
			@l = @l[ 0 .. 24 ] if @l > 25;
			diag("$what:\n" . join("\n", map { "  $_" } @l) . $more);
		};
		$show->('only on the source (missing or different on the target)',
			@missing);
		$show->('only on the target', @extra);
	}
	return $ok;
}

sub _compare_query
{
	my ($name, $src, $tgt, $db, $sql) = @_;
	return _guard(
		"$name ($db)",
		sub {
			my $full = "SET search_path = pg_catalog, pg_temp;\n$sql";
			my ($rs, $rt) = _run_psql_pair($src, $tgt, $db, $full, '--csv',
				'-t', '-P', "null=$NULL_MARK");
			for ([ $src, $rs ], [ $tgt, $rt ])
			{
				my ($node, $r) = @$_;
				die "query on " . $node->name . "/$db failed ($r->[0]): $r->[2]\nSQL: $sql"
				  if $r->[0];
			}
			my ($ls, $lt) = (_row_strings(_parse_csv($rs->[1])),
				_row_strings(_parse_csv($rt->[1])));
			if ($NORMALIZE)
			{
				$ls = [ grep { defined } map { $NORMALIZE->($name, $_, $src, $db) } @$ls ];
				$lt = [ grep { defined } map { $NORMALIZE->($name, $_, $tgt, $db) } @$lt ];
			}
			_compare_lists("$name ($db)", $ls, $lt);
		});
}

# Run $code; an exception becomes a failed test (with the message) instead of
# ending the test script.
sub _guard
{
	my ($name, $code) = @_;
	my $result;
	my $ok = eval { $result = $code->(); 1 };
	return $result if $ok;
	my $err = $@;
	fail("$name: error");
	diag($err);
	return 0;
}

sub _subtest
{
	my ($name, $code) = @_;
	return subtest $name => sub { _guard($name, $code) };
}

=pod

=head2 table_list($node, $db [, @relkinds]) -> [ 'schema.table', ... ]

User tables of relkinds 'r' and 'p' (or the ones given), schema-qualified
with identifiers quoted as needed, sorted.  Extension members are left out.

=cut

sub table_list
{
	my ($node, $db, @kinds) = @_;
	@kinds = ('r', 'p') unless @kinds;
	my $kinds = join(', ', map { _quote_literal($_) } @kinds);
	my $rows = _cat_rows(
		$node, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ($kinds) AND @{[ _user_ns('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'c.oid') ]}
 ORDER BY 1});
	return [ sort map { $_->[0] } @$rows ];
}

=pod

=head2 compare_tables($src, $tgt, $db)

Table definitions: the set of tables (kind, persistence, partition key and
bounds, inheritance parents, replica identity, options, owner) and their
columns (position, name, type, not null, default, identity, generated,
collation), for tables, views, materialized views and foreign tables.

=cut

sub compare_tables
{
	my ($src, $tgt, $db) = @_;
	return _subtest "table definitions ($db)" => sub {
		_compare_query(
			'tables', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname), c.relkind, c.relpersistence,
       c.relispartition, pg_get_partkeydef(c.oid),
       pg_get_expr(c.relpartbound, c.oid),
       (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno)
          FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
       c.relreplident, array_to_string(c.reloptions, ','),
       pg_get_userbyid(c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND @{[ _user_ns('n.nspname') ]} AND @{[ _not_ext('pg_class', 'c.oid') ]}});
		_compare_query(
			'columns', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname),
       row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS position,
       quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
       a.attgenerated, a.attislocal, a.attinhcount,
       CASE WHEN a.attcollation <> t.typcollation
            THEN (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_collation co
                    JOIN pg_namespace cn ON cn.oid = co.collnamespace
                   WHERE co.oid = a.attcollation) END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                     AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND @{[ _user_ns('n.nspname') ]} AND @{[ _not_ext('pg_class', 'c.oid') ]}});
	};
}

=pod

=head2 compare_table_data($src, $tgt, $db)

For every ordinary table (relkind 'r') and populated materialized view of the
source: row count and an order-independent checksum of its rows, equal on
the target.  A table missing on the target fails.  only => [names] limits
the check to those tables (names as table_list gives them).

=cut

sub compare_table_data
{
	my ($src, $tgt, $db, %opts) = @_;
	return _subtest "table data ($db)" => sub {
		my $rels = _cat_rows(
			$src, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated))
   AND @{[ _user_ns('n.nspname') ]} AND @{[ _not_ext('pg_class', 'c.oid') ]}
 ORDER BY 1});
		my @tables = map { $_->[0] } @$rels;
		if ($opts{only})
		{
			my %only = map { $_ => 1 } @{ $opts{only} };
			@tables = grep { $only{$_} } @tables;
		}
		if (!@tables)
		{
			pass("no tables in $db");
			return;
		}
		my (%s, %t);
		for my $tab (@tables)
		{
			# the alias is unlikely to be a column name of the table
			my $sql =
			    "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h COLLATE \"C\")), '-')"
			  . " FROM (SELECT md5(_pgshift_row_::text) AS h"
			  . " FROM ONLY $tab AS _pgshift_row_) AS _pgshift_hashes_";
			($s{$tab}, $t{$tab}) =
			  _value_pair($src, $tgt, $db, $sql, "checksum of $tab");
		}
		my @diff = grep { $s{$_} ne $t{$_} } @tables;
		ok(!@diff,
			sprintf('rows of %d tables equal (count, checksum)', scalar @tables))
		  or diag(join("\n",
				map { "  $_: source [$s{$_}] target [$t{$_}]" } @diff));
		is_deeply(\%t, \%s, 'row counts and checksums per table');
	};
}

=pod

=head2 compare_indexes($src, $tgt, $db)

The set of pg_get_indexdef() of all indexes on user relations (names
included), plus a marker for invalid indexes.

=cut

sub compare_indexes
{
	my ($src, $tgt, $db) = @_;
	return _compare_query(
		'indexes', $src, $tgt, $db, qq{
SELECT pg_get_indexdef(i.indexrelid)
       || CASE WHEN NOT i.indisvalid THEN ' -- INVALID' ELSE '' END
       || CASE WHEN i.indisreplident THEN ' -- REPLICA IDENTITY' ELSE '' END
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE @{[ _user_ns('n.nspname') ]} AND @{[ _not_ext('pg_class', 'c.oid') ]}});
}

=pod

=head2 compare_constraints($src, $tgt, $db)

(table or domain, conname, contype, pg_get_constraintdef, condeferrable,
condeferred, convalidated) of all constraints.

=cut

sub compare_constraints
{
	my ($src, $tgt, $db) = @_;
	return _compare_query(
		'constraints', $src, $tgt, $db, qq{
SELECT CASE WHEN con.conrelid <> 0
            THEN format('%I.%I', cn.nspname, c.relname)
            ELSE 'domain ' || format_type(con.contypid, NULL) END,
       quote_ident(con.conname), con.contype, pg_get_constraintdef(con.oid),
       con.condeferrable, con.condeferred, con.convalidated,
       -- NO INHERIT only means something for CHECK constraints (pg_dump
       -- restores partitions' keys with ONLY, which sets connoinherit)
       CASE WHEN con.contype = 'c' THEN con.connoinherit END
  FROM pg_constraint con
  JOIN pg_namespace n ON n.oid = con.connamespace
  LEFT JOIN pg_class c ON c.oid = con.conrelid
  LEFT JOIN pg_namespace cn ON cn.oid = c.relnamespace
 WHERE @{[ _user_ns('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'con.conrelid') ]}
   AND @{[ _not_ext('pg_type', 'con.contypid') ]}});
}

=pod

=head2 compare_sequences($src, $tgt, $db)

Definitions (pg_sequences: type, start, increment, min, max, cycle, cache;
owning column) and state (SELECT last_value, is_called FROM each sequence).

=cut

sub compare_sequences
{
	my ($src, $tgt, $db) = @_;
	return _subtest "sequences ($db)" => sub {
		my $defs = qq{
SELECT format('%I.%I', n.nspname, c.relname), s.seqtypid::regtype::text,
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle, s.seqcache,
       (SELECT format('%s.%I', d.refobjid::regclass, a.attname) || ' (' || d.deptype::text || ')'
          FROM pg_depend d
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
         LIMIT 1) AS owned_by
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_sequence s ON s.seqrelid = c.oid
 WHERE c.relkind = 'S' AND @{[ _user_ns('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'c.oid') ]}};
		_compare_query('sequence definitions', $src, $tgt, $db, $defs);

		my @seqs = map { $_->[0] } @{ _cat_rows($src, $db, $defs) };
		my (@s, @t);
		for my $seq (sort @seqs)
		{
			my ($sv, $tv) =
			  _value_pair($src, $tgt, $db,
				"SELECT last_value, is_called FROM $seq", "reading $seq");
			push @s, "$seq: $sv";
			push @t, "$seq: $tv";
		}
		_compare_lists("sequence values: last_value | is_called ($db)",
			\@s, \@t);
	};
}

=pod

=head2 compare_large_objects($src, $tgt, $db)

Every large object: oid, owner, ACL, size and md5 of its contents.

=cut

sub compare_large_objects
{
	my ($src, $tgt, $db) = @_;
	return _compare_query(
		'large objects', $src, $tgt, $db, qq{
SELECT m.oid::text, pg_get_userbyid(m.lomowner),
       @{[ _acl('m.lomacl', "'L'", 'm.lomowner') ]},
       length(l.data), md5(l.data)
  FROM pg_largeobject_metadata m, LATERAL (SELECT lo_get(m.oid) AS data) l});
}

=pod

=head2 compare_objects($src, $tgt, $db)

Everything else: schemas, views and materialized views (definitions,
populated flag, row counts), functions (pg_get_functiondef), aggregates,
triggers, event triggers, policies, row level security flags, comments,
grants (tables, columns, sequences, schemas, functions, types, default
privileges), types (enums, domains, composite, range), extensions (with
versions), collations.

=cut

sub compare_objects
{
	my ($src, $tgt, $db) = @_;
	return _subtest "other objects ($db)" => sub {
		my $ns = sub { _user_ns($_[0]) };

		_compare_query('schemas', $src, $tgt, $db, qq{
SELECT quote_ident(n.nspname), pg_get_userbyid(n.nspowner)
  FROM pg_namespace n
 WHERE @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_namespace', 'n.oid') ]}});

		_compare_query('views and materialized views', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname), c.relkind,
       CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
       pg_get_viewdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND @{[ $ns->('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'c.oid') ]}});

		my $mvs = _cat_rows($src, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' AND c.relispopulated AND @{[ $ns->('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'c.oid') ]}});
		my (@ms, @mt);
		for my $mv (map { $_->[0] } @$mvs)
		{
			my ($sv, $tv) = _value_pair($src, $tgt, $db,
				"SELECT count(*) FROM $mv", "counting $mv");
			push @ms, "$mv: $sv";
			push @mt, "$mv: $tv";
		}
		_compare_lists("materialized view row counts ($db)", \@ms, \@mt);

		_compare_query('functions and procedures', $src, $tgt, $db, qq{
SELECT p.oid::regprocedure::text, p.prokind,
       CASE WHEN p.prokind = 'a'
            THEN (SELECT format('aggregate sfunc=%s stype=%s finalfunc=%s',
                                a.aggtransfn, format_type(a.aggtranstype, NULL),
                                a.aggfinalfn)
                    FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
            ELSE pg_get_functiondef(p.oid) END
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_proc', 'p.oid') ]}});

		_compare_query('triggers', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname), quote_ident(t.tgname),
       pg_get_triggerdef(t.oid), t.tgenabled
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND @{[ $ns->('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'c.oid') ]}});

		_compare_query('event triggers', $src, $tgt, $db, q{
SELECT quote_ident(evtname), evtevent, evtfoid::regprocedure::text,
       evtenabled, array_to_string(evttags, ',')
  FROM pg_event_trigger});

		_compare_query('policies', $src, $tgt, $db, qq{
SELECT format('%I.%I', schemaname, tablename), quote_ident(policyname),
       permissive, array_to_string(roles, ','), cmd, qual, with_check
  FROM pg_policies WHERE @{[ $ns->('schemaname') ]}});

		_compare_query('row level security flags', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname), c.relrowsecurity,
       c.relforcerowsecurity
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND @{[ $ns->('n.nspname') ]}
   AND @{[ _not_ext('pg_class', 'c.oid') ]}});

		# comments on objects made by users (oid >= FirstNormalObjectId);
		# comments that extension scripts make are the same on both sides.
		_compare_query('comments', $src, $tgt, $db, qq{
SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
  FROM pg_description d
 WHERE d.objoid >= 16384
   AND coalesce(@{[ $ns->(
		'(pg_identify_object(d.classoid, d.objoid, d.objsubid)).schema') ]},
                true)});

		_compare_query('grants on relations and columns', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.relname), NULL::text,
       pg_get_userbyid(c.relowner),
       @{[ _acl("c.relacl", "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END", 'c.relowner') ]}
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_class', 'c.oid') ]}
UNION ALL
SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname),
       NULL, @{[ _acl('a.attacl') ]}
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attacl IS NOT NULL AND NOT a.attisdropped
   AND @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_class', 'c.oid') ]}});

		_compare_query('grants on schemas, functions and types',
			$src, $tgt, $db, qq{
SELECT 'schema ' || quote_ident(n.nspname), @{[ _acl('n.nspacl', "'n'", 'n.nspowner') ]}
  FROM pg_namespace n
 WHERE @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_namespace', 'n.oid') ]}
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text, @{[ _acl('p.proacl', "'f'", 'p.proowner') ]}
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.proacl IS NOT NULL AND @{[ $ns->('n.nspname') ]}
   AND @{[ _not_ext('pg_proc', 'p.oid') ]}
UNION ALL
SELECT 'type ' || format_type(t.oid, NULL), @{[ _acl('t.typacl', "'T'", 't.typowner') ]}
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typacl IS NOT NULL AND @{[ $ns->('n.nspname') ]}
   AND @{[ _not_ext('pg_type', 't.oid') ]}
UNION ALL
SELECT 'default privileges ' || pg_get_userbyid(d.defaclrole) || ' in '
       || coalesce(quote_ident(n.nspname), '*') || ' on ' || d.defaclobjtype::text,
       @{[ _acl('d.defaclacl') ]}
  FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace});

		_compare_query('types', $src, $tgt, $db, qq{
SELECT format_type(t.oid, NULL), t.typtype,
       pg_get_userbyid(t.typowner),
       CASE t.typtype
         WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                          ORDER BY e.enumsortorder)
                          FROM pg_enum e WHERE e.enumtypid = t.oid)
         WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
                       || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                       || coalesce(' DEFAULT ' || t.typdefault, '')
                       || coalesce(' ' || (SELECT string_agg(
                                 quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid),
                                 ', ' ORDER BY c.conname)
                            FROM pg_constraint c WHERE c.contypid = t.oid), '')
         WHEN 'c' THEN (SELECT string_agg(quote_ident(a.attname) || ' '
                                          || format_type(a.atttypid, a.atttypmod),
                                          ', ' ORDER BY a.attnum)
                          FROM pg_attribute a
                         WHERE a.attrelid = t.typrelid AND a.attnum > 0
                           AND NOT a.attisdropped)
         WHEN 'r' THEN (SELECT format_type(r.rngsubtype, NULL)
                          FROM pg_range r WHERE r.rngtypid = t.oid)
       END
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'c', 'r', 'b')
   AND (t.typtype <> 'c'
        OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
   AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND t.typlen = -1
            AND EXISTS (SELECT 1 FROM pg_type el WHERE el.oid = t.typelem
                        AND el.typarray = t.oid))
   AND @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_type', 't.oid') ]}});

		_compare_query('extensions', $src, $tgt, $db, q{
SELECT quote_ident(x.extname), x.extversion, quote_ident(n.nspname)
  FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace});

		_compare_query('collations', $src, $tgt, $db, qq{
SELECT format('%I.%I', n.nspname, c.collname), c.collprovider,
       c.collcollate, c.collctype
  FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
 WHERE @{[ $ns->('n.nspname') ]} AND @{[ _not_ext('pg_collation', 'c.oid') ]}});
	};
}

=pod

=head2 gate_close($node, $db) -> gate; gate_open($gate)

A psql session on C<$node>/C<$db> holding SHARE lock on pg_class: no table can
be created in that database (a clone's pre-data waits) until C<gate_open>.

=cut

sub gate_close
{
	my ($node, $db) = @_;
	my %g = (in => '', out => '', err => '');
	local %ENV = %ENV;
	delete @ENV{qw(PGPASSWORD PGUSER PGSERVICE PGOPTIONS PGDATABASE)};
	$g{h} = IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db) ],
		'<', \$g{in}, '>', \$g{out}, '2>', \$g{err}, IPC::Run::timeout(900));
	$g{in} .= "BEGIN;\nLOCK TABLE pg_catalog.pg_class IN SHARE MODE;\nSELECT 'gate closed';\n";
	my $deadline = Time::HiRes::time() + 60;
	while (Time::HiRes::time() < $deadline && $g{out} !~ /gate closed/)
	{
		$g{h}->pump_nb;
		Time::HiRes::sleep(0.05);
	}
	die "could not take the lock on the target: $g{err}" unless $g{out} =~ /gate closed/;
	return \%g;
}

sub gate_open
{
	my ($g) = @_;
	$g->{in} .= "COMMIT;\n\\q\n";
	$g->{h}->finish;
	return;
}

=pod

=head2 compare_all($src, $tgt, $db) -> bool

All of the above, as one subtest.

=cut

sub compare_all
{
	my ($src, $tgt, $db) = @_;
	return _subtest "compare_all ($db)" => sub {
		compare_tables($src, $tgt, $db);
		compare_table_data($src, $tgt, $db);
		compare_indexes($src, $tgt, $db);
		compare_constraints($src, $tgt, $db);
		compare_sequences($src, $tgt, $db);
		compare_large_objects($src, $tgt, $db);
		compare_objects($src, $tgt, $db);
	};
}

=pod

=head2 test_plugins($source) -> list

The logical decoding plugins a CDC test runs with: pgoutput, test_decoding
and, when its library is installed (postgresql-15-wal2json), wal2json.
Servers that only let approved plugins stream (an output_plugin_libraries
setting, as some builds have) get wal2json added to it.  Without the
library, a note says wal2json is skipped.

=cut

sub test_plugins
{
	my ($source) = @_;
	my @plugins = qw(pgoutput test_decoding);
	my $libdir = $source->config_data('--pkglibdir');
	if (!-f "$libdir/wal2json.so")
	{
		note("wal2json skipped: $libdir/wal2json.so is not installed "
			  . '(apt-get install postgresql-15-wal2json)');
		return @plugins;
	}
	my $approved = query_value($source, 'postgres',
		q{SELECT setting FROM pg_settings WHERE name = 'output_plugin_libraries'});
	if (defined $approved && $approved ne '' && $approved !~ /\bwal2json\b/)
	{
		psql_do($source, 'postgres',
			"ALTER SYSTEM SET output_plugin_libraries = $approved, wal2json");
		psql_do($source, 'postgres', 'SELECT pg_reload_conf()');
		for (1 .. 50)
		{
			last if query_value($source, 'postgres', 'SHOW output_plugin_libraries') =~ /wal2json/;
			Time::HiRes::sleep(0.1);
		}
	}
	return (@plugins, 'wal2json');
}


=head2 wait_output($handle, $regex, $timeout) -> bool

Waits until the stdout or stderr of a start_pgshift handle matches $regex;
false on timeout or when the process exits first (its output is then
checked once more).

=cut

sub wait_output
{
	my ($h, $re, $timeout) = @_;
	my $deadline = Time::HiRes::time() + ($timeout // 60);
	while (Time::HiRes::time() < $deadline)
	{
		my $running = pgshift_running($h);
		return 1 if ${ $h->{out} } =~ $re || ${ $h->{err} } =~ $re;
		return 0 unless $running;
		Time::HiRes::sleep(0.05);
	}
	return 0;
}

push @EXPORT, 'wait_output';

1;
