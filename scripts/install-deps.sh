#!/usr/bin/env bash
# Install the Debian packages pgshift needs to build, lint and test.
#
# Only the packages that are not installed yet are installed, and
# `apt-get update` runs only when something is missing.  Prints nothing when
# everything is already there.  Must run as root (CI) or with sudo available.
#
#   scripts/install-deps.sh              what CI needs
#   scripts/install-deps.sh --coverage   also gcovr, for `make coverage` (not in CI)
#
# Then the PostgreSQL servers of the other majors the version tests use
# (tests/integration/t/120_*.pl), under /opt/pgshift-pg/N, through
# scripts/install-postgres.sh (which needs npm and installs it with apt):
# PGSHIFT_PG_MAJORS, default "12 13 14 16 17 18" (12 and 18, 14 and 17: the
# CI pairs; 13: the pgoutput test without streaming; 16: a source newer than
# pg_dump 15); empty to skip.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
	build-essential
	pkg-config
	libpq-dev
	libsqlite3-dev
	libjansson-dev
	libzstd-dev
	uthash-dev
	libcmocka-dev
	postgresql-15
	postgresql-server-dev-15
	postgresql-client-15
	postgresql-15-wal2json
	libipc-run-perl
	cppcheck
	clang-format
	time
	sqlite3
)
if [[ ${1:-} == --coverage ]]; then
	PACKAGES+=(gcovr)
fi

# Is this exact package name installed (not merely provided by another one)?
is_installed() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)
	[[ $status == ii* ]]
}

# contrib: Debian 12 ships the contrib modules inside postgresql-15, and
# postgresql-contrib-15 is only a virtual package provided by it; the real
# package to ask for there is the postgresql-contrib meta-package.  Older and
# other releases have a real postgresql-contrib-15.
contrib_package() {
	if is_installed postgresql-contrib-15; then
		echo postgresql-contrib-15
		return
	fi
	# apt-cache prints a "Package:" stanza only for real packages.
	if apt-cache show --no-all-versions postgresql-contrib-15 2>/dev/null |
		grep -q '^Package: postgresql-contrib-15$'; then
		echo postgresql-contrib-15
	else
		echo postgresql-contrib
	fi
}

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	fi
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
	is_installed "$pkg" || missing+=("$pkg")
done

contrib=$(contrib_package)
if ! is_installed "$contrib"; then
	missing+=("$contrib")
fi

# The other majors (idempotent, quiet once installed).
install_majors() {
	local majors=${PGSHIFT_PG_MAJORS-12 13 14 16 17 18}
	[[ -n $majors ]] || return 0
	# shellcheck disable=SC2086
	"${SUDO[@]}" bash "$(dirname "${BASH_SOURCE[0]}")/install-postgres.sh" $majors >/dev/null
}

if [[ ${#missing[@]} -eq 0 ]]; then
	install_majors
	exit 0
fi

if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run this script as root (or install sudo)" >&2
	exit 1
fi

echo "install-deps: installing: ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
# On a fresh package list the contrib package name may resolve differently.
if [[ " ${missing[*]} " == *" postgresql-contrib "* ]]; then
	new_contrib=$(contrib_package)
	if [[ $new_contrib != postgresql-contrib ]]; then
		for i in "${!missing[@]}"; do
			[[ ${missing[$i]} == postgresql-contrib ]] && missing[i]=$new_contrib
		done
		echo "install-deps: using $new_contrib for the contrib modules"
	fi
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_majors
echo "install-deps: done"
