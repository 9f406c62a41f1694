# pgcopydb compatibility of the command line: every command and option of
# pgcopydb's reference (tests/integration/pgcopydb-options.tsv) is accepted,
# its PGCOPYDB_* variable is read, --help lists only what a command uses,
# options without effect here say so, and refused commands say why.
#
# docs/compatibility.md is the table of what pgshift does with each one;
# the multi-step follow flow runs end to end in t/043_pgcopydb_flow.pl.
use strict;
use warnings;

use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgShiftTest;

my $tsv = "$ENV{TESTDIR}/pgcopydb-options.tsv";
open(my $fh, '<', $tsv) or die "cannot open $tsv: $!";
my (%options, %env);
while (my $line = <$fh>)
{
	chomp $line;
	next if $line =~ /^#/ || $line eq '';
	my ($cmd, $long, $short, $value, $var) = split /\t/, $line, -1;
	push @{ $options{$cmd} }, [ $long, $short, $value eq 'yes' ];
	$env{$cmd}{$var} = $long if defined $var && $var ne '';
}
close $fh;
cmp_ok(scalar(keys %options), '>=', 50, 'the list names pgcopydb\'s commands');

# A value that parses for an option that takes one (the parser checks
# numbers and sizes as it reads them, before --help stops it).
sub value_for
{
	my ($long) = @_;
	return '1GB' if $long =~ /larger-than|size|threshold/;
	return '2'   if $long =~ /jobs|parts|tolerance|port/;
	return '0/1' if $long =~ /pos$/;
	return 'x';
}

# Exit code of pgshift with these arguments, its output thrown away: the
# option walk runs it some 1,500 times, too many for run_pgshift's log.
sub quiet_rc
{
	my @cmd = (pgshift_bin(), @_);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		delete @ENV{ grep { /^(?:PGSHIFT|PGCOPYDB)_/ && $_ ne 'PGSHIFT_BIN' } keys %ENV };
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		exec(@cmd) or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	return $? >> 8;
}

# "pgshift CMD OPTION [VALUE] --help" exits 0 only if CMD accepts OPTION:
# an unknown option is a usage error (exit 1) before --help is reached.
subtest 'every command of pgcopydb exists' => sub {
	for my $cmd (sort keys %options)
	{
		my ($rc, $out, $err) = run_pgshift({}, split(/ /, $cmd), '--help');
		is($rc, 0, "pgshift $cmd --help exits 0") or diag($err);
		like($out, qr/^Usage: pgshift \Q$cmd\E/m, "$cmd: its own usage line");
	}
};

subtest 'every option of pgcopydb is accepted by the same command' => sub {
	for my $cmd (sort keys %options)
	{
		for my $o (@{ $options{$cmd} })
		{
			my ($long, $short, $takes) = @$o;
			for my $spelling (grep { $_ ne '' } $long, $short)
			{
				my @arg = ($spelling, $takes ? (value_for($long)) : ());
				is(quiet_rc(split(/ /, $cmd), @arg, '--help'), 0, "pgshift $cmd @arg: accepted");
			}
		}
	}
};

# An option used by the command shows its variable in --help; one accepted
# without effect there is listed apart (its variable is read all the same).
subtest 'every PGCOPYDB_ variable of a command is read by it' => sub {
	for my $cmd (sort keys %env)
	{
		my ($rc, $out) = run_pgshift({}, split(/ /, $cmd), '--help');
		my ($used, $noops) = split /without effect here:\n/, $out;
		for my $var (sort keys %{ $env{$cmd} })
		{
			(my $suffix = $var) =~ s/^PGCOPYDB_//;
			my $long = $env{$cmd}{$var};
			ok($used =~ /\[PGSHIFT_\Q$suffix\E\]/ || ($noops // '') =~ /\Q$long\E\b/,
				"$cmd reads $var (as PGSHIFT_$suffix too), or takes $long without effect");
		}
	}
};

subtest '--help lists only the options a command uses' => sub {
	my ($rc, $out) = run_pgshift({}, qw(compare data --help));
	for my $unused (qw(--restore-jobs --large-objects-jobs --use-copy-binary --index-jobs
		--drop-if-exists --follow))
	{
		unlike($out, qr/\Q$unused\E\b/, "compare data --help does not list $unused");
	}
	like($out, qr/--show-rows/, 'compare data --help lists --show-rows');
	($rc, $out) = run_pgshift({}, qw(stream sentinel get --help));
	like($out, qr/-f, --flush-lsn/, 'sentinel get lists its field flags');
	unlike($out, qr/--endpos LSN/, 'sentinel get: --endpos is a flag there, not a value');
	($rc, $out) = run_pgshift({}, qw(ping --help));
	unlike($out, qr/--table-jobs|--filters|--plugin/, 'ping --help lists connections only');
};

subtest 'options pgcopydb has and pgshift does not need: a notice says why' => sub {
	my ($rc, $out, $err) = run_pgshift({}, qw(stream prune --host h --port 5 --dir),
		work_dir('noop'), '--help');
	is($rc, 0, 'accepted');
	($rc, $out, $err) = run_pgshift({ env => { PGSHIFT_DIR => work_dir('noop2') } },
		qw(stream sentinel get --dir), work_dir('noop3'), qw(--skip-xid-check));
	is($rc, 1, 'an option the command does not take is still a usage error');
	like($err, qr/unknown option "--skip-xid-check" for "pgshift stream sentinel get"/,
		'... naming the option and the command');
	($rc, $out, $err) = run_pgshift({}, qw(list progress --dir), work_dir('noop4'),
		qw(--notice --verbose));
	unlike($err, qr/unknown option/, 'list progress takes --notice');
	($rc, $out, $err) = run_pgshift({}, qw(stream prune --host h --dir), work_dir('noop5'));
	like($err, qr/NOTICE.*option --host has no effect: .*coordinator/,
		'stream prune --host: a notice with the reason');

	# an option of pgcopydb's command that this command has no use for
	my $dir = work_dir('noop6');
	($rc, $out, $err) = run_pgshift({}, qw(stream sentinel get --source x --dir), $dir);
	like($err, qr/NOTICE.*option --source has no effect on "pgshift stream sentinel get": /,
		'sentinel get --source: a notice naming the command, with the reason');
	($rc, $out) = run_pgshift({}, qw(follow --help));
	like($out, qr/without effect here:\n  .*--restart.*\n  Why: /,
		'follow --help lists --restart among the options without effect there, and why');
	unlike((split /without effect here/, $out)[0], qr/--restart/,
		'... and not among the options it uses');
};

subtest 'refused commands say why' => sub {
	my ($rc, $out, $err) = run_pgshift({}, qw(stream transform a b));
	is($rc, 1, 'stream transform: usage error');
	like($err, qr/not supported.*\n.*DETAIL: .*journal/, 'with the reason');
};

subtest '-V and --version on every command' => sub {
	my ($rc, $out) = run_pgshift({}, qw(clone -V));
	is($rc, 0, 'clone -V exits 0');
	like($out, qr/^pgshift \d+\.\d+/, 'prints the version');
};

done_testing();
