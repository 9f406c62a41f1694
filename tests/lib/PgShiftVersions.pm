# PgShiftVersions -- cross-major-version helpers for pgshift's TAP tests.
#
# The invariant: a comparison between two majors removes only the
# differences PostgreSQL itself makes between them (each one listed in
# version_normalizer with the version that introduced it), nothing else, so
# that anything pgshift got wrong still shows.  Servers of other majors come
# from scripts/install-postgres.sh (/opt/pgshift-pg/N, or PGSHIFT_PG_ROOT);
# 15 is the system's (/usr/lib/postgresql/15).
package PgShiftVersions;

use strict;
use warnings;

use Carp;
use Exporter 'import';
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(
  pg_install version_pairs rich_schema_file version_normalizer
  server_version_num
);

my $ROOT = $ENV{PGSHIFT_PG_ROOT} // '/opt/pgshift-pg';

# The installs of other majors hold servers only: a client program they lack
# (psql, pgbench, pg_dump) is the system's one, as for a node of 15.
{
	no warnings 'redefine';
	my $orig = \&PostgreSQL::Test::Cluster::installed_command;
	*PostgreSQL::Test::Cluster::installed_command = sub {
		my ($self, $cmd) = @_;
		my $path = $orig->($self, $cmd);
		return ($path =~ m{/} && !-x $path) ? $cmd : $path;
	};
}

=pod

=head2 pg_install($major) -> install path or undef

undef for 15 (the system's, the default of start_pair); dies when the major
is not installed (scripts/install-postgres.sh N installs it).

=cut

sub pg_install
{
	my ($major) = @_;
	return undef if $major == 15;
	my $dir = "$ROOT/$major";
	croak("PostgreSQL $major is not installed in $dir (scripts/install-postgres.sh $major)")
	  unless -x "$dir/bin/postgres";
	return $dir;
}

=pod

=head2 version_pairs([$default]) -> ([src, tgt], ...)

From PGSHIFT_VERSION_PAIRS ("12:18 14:17"), else from $default.

=cut

sub version_pairs
{
	my ($default) = @_;
	my $spec = $ENV{PGSHIFT_VERSION_PAIRS} // $default;
	my @pairs;
	for my $p (split /[\s,]+/, $spec)
	{
		next if $p eq '';
		croak("PGSHIFT_VERSION_PAIRS: \"$p\" is not SOURCE:TARGET")
		  unless $p =~ /^(1[2-8]):(1[2-8])$/;
		push @pairs, [ $1, $2 ];
	}
	return @pairs;
}

sub server_version_num
{
	my ($node) = @_;
	return PgShiftTest::query_value($node, 'postgres', 'SHOW server_version_num');
}

=pod

=head2 rich_schema_file($fixture, $version_num, $out) -> $out

tests/integration/sql/rich_schema.sql made loadable into a server of that
version (int4multirange and numeric infinities are 14+), plus the features each newer major adds
(SQL-standard function bodies from 14, UNIQUE NULLS NOT DISTINCT and
security_invoker views from 15), written to $out.

=cut

sub rich_schema_file
{
	my ($fixture, $vnum, $out) = @_;
	my $sql = slurp_file($fixture);
	my $cut = sub {
		my ($re, $with, $what) = @_;
		$sql =~ s/$re/$with/ or croak("rich_schema_file: no $what in $fixture");
	};
	if ($vnum < 140000)
	{
		$cut->(qr/^ *mr +int4multirange,\n/m, '', 'mr column');
		$cut->(qr/\bfr, mr, iv\b/, 'fr, iv', 'mr in the INSERT column list');
		$cut->(qr/^ *int4multirange\(int4range\(i, i \+ 2\)[^\n]*\n/m, '', 'mr value');
		# numeric infinities are 14+ (NaN is older)
		$cut->(qr/\('Infinity', '-Infinity', '-0', 'special 2'/,
			q{('NaN', '-Infinity', '-0', 'special 2'}, 'numeric Infinity');
	}
	$sql .= "\n-- added by PgShiftVersions::rich_schema_file for $vnum\n";
	if ($vnum >= 140000)
	{
		$sql .= <<'SQL';
CREATE FUNCTION app.sql_body_add(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE PROCEDURE app.sql_body_proc(INOUT n integer, OUT doubled integer)
    LANGUAGE sql BEGIN ATOMIC SELECT n, n * 2; END;
CREATE TABLE app.multi_ranges (id int PRIMARY KEY, m datemultirange NOT NULL);
INSERT INTO app.multi_ranges
SELECT g, datemultirange(daterange('2024-01-01'::date + g, '2024-01-05'::date + g),
                         daterange('2024-02-01'::date + g, '2024-02-03'::date + g))
  FROM generate_series(1, 100) g;
SQL
	}
	if ($vnum >= 150000)
	{
		$sql .= <<'SQL';
CREATE TABLE app.nulls_nd (id int PRIMARY KEY, a int, b text,
    CONSTRAINT nulls_nd_a_b UNIQUE NULLS NOT DISTINCT (a, b));
CREATE UNIQUE INDEX nulls_nd_b ON app.nulls_nd (b) NULLS NOT DISTINCT;
INSERT INTO app.nulls_nd SELECT g, CASE WHEN g % 7 <> 0 THEN g END, 'b' || g
  FROM generate_series(1, 100) g;
CREATE VIEW app.invoker_customers WITH (security_invoker = true) AS
    SELECT id, name FROM app.customers WHERE id % 2 = 0;
SQL
	}
	open my $fh, '>', $out or croak("could not write $out: $!");
	print $fh $sql;
	close $fh;
	return $out;
}

=pod

=head2 version_normalizer($src_num, $tgt_num) -> sub or undef

For $PgShiftTest::NORMALIZE: undef when both servers are of the same major.
Otherwise a sub($what, $row, $node, $db) that removes, from the rows of both
sides, only these differences between the two majors (each applied only
when the pair straddles the major that introduced it):

=over

=item * extension versions (each major ships its own default version): the
version column of "extensions" is replaced, the names stay compared;

=item * 17: the MAINTAIN privilege ("m") in the owner's default table
privileges: removed from the ACL items of relations;

=item * 16: pg_get_viewdef no longer qualifies the columns of a one-relation
query ("orders.region" became "region"): column qualifiers are removed from
view definitions (whitespace runs made one space as well);

=item * 14: procedures' argument lists print the IN mode: "IN " removed from
procedure signatures and definitions;

=item * 14: CREATE TYPE ... AS RANGE also creates a multirange type and its
constructor functions: those functions (LANGUAGE internal,
multirange_constructor*) are left out;

=item * 15: triggers cloned onto partitions are no longer internal
(pg_trigger.tgisinternal): clones (tgparentid <> 0) are left out, the
parent's trigger is still compared;

=item * 17 (domains) and 18 (tables): NOT NULL is also a pg_constraint row
(contype 'n', named *_not_null): those rows are left out of "constraints"
and of domains' constraint lists in "types" (attnotnull and typnotnull,
compared elsewhere, still say NOT NULL);

=item * the names the server gives the constraints it clones for the
partitions a foreign key references (fkey1 before 17, fkey_1 from it): the
separator before the number is removed.

=back

=cut

sub version_normalizer
{
	my ($snum, $tnum) = @_;
	my ($smaj, $tmaj) = (int($snum / 10000), int($tnum / 10000));
	return undef if $smaj == $tmaj;
	my $from = sub { my ($v) = @_; return ($smaj >= $v) != ($tmaj >= $v) };
	my %clones;
	return sub {
		my ($what, $row, $node, $db) = @_;
		my @f = split / \| /, $row, -1;
		if ($what eq 'extensions')
		{
			splice(@f, 1, 1, '<version of the major>') if @f >= 2;
		}
		elsif ($what eq 'views and materialized views')
		{
			$row =~ s/\s+/ /g;
			$row = _unqualify_columns($row) if $from->(16);
			return $row;
		}
		elsif ($what eq 'grants on relations and columns' && $from->(17))
		{
			# aclitem text: grantee=privs/grantor; drop "m" (and its "*")
			$f[-1] =~ s{=([a-zA-Z*]*)/}{ '=' . _drop_m($1) . '/' }ge
			  if defined $f[-1];
		}
		elsif ($what eq 'functions and procedures' && $from->(14))
		{
			return undef if $row =~ /\bAS \$function\$multirange_constructor\d\$function\$/;
			if ($f[1] eq 'p')
			{
				$_ =~ s/([(,] ?)IN /$1/g for @f;
			}
		}
		elsif ($what eq 'triggers' && $from->(15))
		{
			my $key = $node->name . "/$db";
			$clones{$key} //= { map { $_->[0] => 1 } @{
				PgShiftTest::query_rows($node, $db, q{
SELECT format('%I.%I', n.nspname, c.relname) || ' | ' || quote_ident(t.tgname)
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE t.tgparentid <> 0}) } }
			  if $node->pg_version >= 15;
			return undef if $clones{$key} && $clones{$key}{"$f[0] | $f[1]"};
		}
		elsif ($what eq 'constraints')
		{
			my $domain = $f[0] =~ /^domain /;
			return undef
			  if $f[2] eq 'n' && ($domain ? $from->(17) : $from->(18));
			$f[1] =~ s/(_fkey)_?(\d+)("?)$/$1$2$3/ if $f[2] eq 'f';
		}
		elsif ($what eq 'types' && $f[1] eq 'd' && $from->(17))
		{
			$f[-1] =~ s/,? (?:"[^"]+"|\w+) NOT NULL$// if defined $f[-1];
		}
		return join(' | ', @f);
	};
}

# Column references written relation.column (relations as pg_get_viewdef
# prints them: bare or double-quoted) become column; schema-qualified names
# after FROM or JOIN stay.
sub _unqualify_columns
{
	my ($sql) = @_;
	$sql =~ s/(?<!FROM )(?<!JOIN )(?<![\w."])(?:[a-z_][a-z0-9_\$]*|"(?:[^"]|"")+")\.(?=[a-z_"])//g;
	return $sql;
}

sub _drop_m
{
	my ($privs) = @_;
	$privs =~ s/m\*?//g;
	return $privs;
}

1;
