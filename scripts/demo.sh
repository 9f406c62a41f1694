#!/usr/bin/env bash
# pgshift demo: two throwaway PostgreSQL 15 clusters, a sample database, a
# ping, a clone, and the row counts of both sides.
#
#   scripts/demo.sh          install deps, build, start clusters, clone
#   scripts/demo.sh stop     stop the demo clusters
#   scripts/demo.sh clean    stop them and delete ${TMPDIR:-/tmp}/pgshift-demo
#
# Clusters (trust authentication, 127.0.0.1 only):
#   source  port 55432, wal_level = logical
#   target  port 55433
# They are re-used when already there; as root they run as user "postgres".
# Other ports: PGSHIFT_DEMO_SOURCE_PORT / PGSHIFT_DEMO_TARGET_PORT.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${TMPDIR:-/tmp}/pgshift-demo
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
SRC_PORT=${PGSHIFT_DEMO_SOURCE_PORT:-55432}
TGT_PORT=${PGSHIFT_DEMO_TARGET_PORT:-55433}
DB=demo

if [[ $(id -u) -eq 0 ]]; then
	PGUSER_OS=postgres
	AS_PG=(runuser -u postgres --)
else
	PGUSER_OS=$(id -un)
	AS_PG=()
fi
# the clusters' bootstrap superuser is the OS user that ran initdb
SUPERUSER=$PGUSER_OS

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

pg() {
	local cmd=$1
	shift
	"${AS_PG[@]}" env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$PG_BINDIR/$cmd" "$@"
}

psql_on() {
	local port=$1 db=$2
	shift 2
	"$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d "$db" "$@"
}

cluster_running() { pg pg_ctl -D "$BASE/$1" status >/dev/null 2>&1; }

stop_clusters() {
	for c in source target; do
		if [[ -f $BASE/$c/PG_VERSION ]] && cluster_running "$c"; then
			pg pg_ctl -D "$BASE/$c" -m fast -w stop >/dev/null
			echo "stopped $c"
		fi
	done
}

case ${1:-} in
stop)
	stop_clusters
	exit 0
	;;
clean)
	stop_clusters
	rm -rf "$BASE"
	echo "removed $BASE"
	exit 0
	;;
"" | start) ;;
*)
	echo "usage: $0 [stop|clean]" >&2
	exit 1
	;;
esac

say "installing missing packages (scripts/install-deps.sh)"
bash "$REPO/scripts/install-deps.sh"

say "building (make -j2)"
make -C "$REPO" -j2
PGSHIFT=$REPO/build/pgshift

mkdir -p "$BASE"
if [[ $(id -u) -eq 0 ]]; then
	chown "$PGUSER_OS:" "$BASE"
fi

start_cluster() {
	local name=$1 port=$2 extra=$3
	local data=$BASE/$name
	if [[ ! -f $data/PG_VERSION ]]; then
		say "initdb $name ($data)"
		pg initdb -D "$data" -A trust -E UTF8 --locale=C.UTF-8 -U "$SUPERUSER" >/dev/null
		cat >>"$data/postgresql.conf" <<EOF

# pgshift demo
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BASE'
shared_buffers = 128MB
max_connections = 50
$extra
EOF
	fi
	if cluster_running "$name"; then
		echo "$name already running on port $port"
	elif (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
		echo "port $port is used by another program: stop it, or pick other ports with" >&2
		echo "PGSHIFT_DEMO_SOURCE_PORT=... PGSHIFT_DEMO_TARGET_PORT=... $0" >&2
		exit 1
	else
		say "starting $name on port $port"
		pg pg_ctl -D "$data" -l "$BASE/$name.log" -o "-p $port" -w start >/dev/null ||
			{ tail -n 20 "$BASE/$name.log" >&2; exit 1; }
	fi
}

start_cluster source "$SRC_PORT" "wal_level = logical
max_replication_slots = 10
max_wal_senders = 10"
start_cluster target "$TGT_PORT" ""

db_exists() {
	[[ $(psql_on "$1" postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'") == 1 ]]
}

if ! db_exists "$SRC_PORT"; then
	say "creating the sample database \"$DB\" on the source"
	psql_on "$SRC_PORT" postgres -qc "CREATE DATABASE $DB"
	psql_on "$SRC_PORT" "$DB" -q <<'EOF'
SET client_min_messages = warning;
CREATE SCHEMA shop;
CREATE TABLE shop.customers (
    id          serial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.products (
    id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku    text NOT NULL UNIQUE,
    title  text NOT NULL,
    price  numeric(10,2) NOT NULL CHECK (price >= 0)
);
CREATE TABLE shop.orders (
    id           bigserial PRIMARY KEY,
    customer_id  integer NOT NULL REFERENCES shop.customers (id) ON DELETE CASCADE,
    ordered_at   timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'new'
);
CREATE TABLE shop.order_items (
    order_id    bigint NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE,
    line        integer NOT NULL,
    product_id  integer NOT NULL REFERENCES shop.products (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, line)
);
CREATE INDEX orders_customer_idx ON shop.orders (customer_id);
CREATE INDEX orders_ordered_at_idx ON shop.orders (ordered_at);
CREATE INDEX order_items_product_idx ON shop.order_items (product_id);
CREATE SEQUENCE shop.invoice_no START 10000;
CREATE TABLE shop.documents (
    id       serial PRIMARY KEY,
    name     text NOT NULL,
    content  oid NOT NULL
);

INSERT INTO shop.customers (email, name, created_at)
SELECT 'customer' || i || '@example.com', 'Customer ' || i,
       timestamptz '2024-01-01' + i * interval '1 hour'
FROM generate_series(1, 3000) AS i;
INSERT INTO shop.products (sku, title, price)
SELECT 'SKU-' || i, 'Product ' || i, (i % 200) + 0.99
FROM generate_series(1, 500) AS i;
INSERT INTO shop.orders (customer_id, ordered_at, status)
SELECT 1 + i % 3000, timestamptz '2024-06-01' + i * interval '7 minutes',
       (ARRAY['new', 'paid', 'shipped'])[1 + i % 3]
FROM generate_series(1, 10000) AS i;
INSERT INTO shop.order_items (order_id, line, product_id, quantity)
SELECT o, l, 1 + (o * l) % 500, 1 + (o + l) % 4
FROM generate_series(1, 10000) AS o, generate_series(1, 3) AS l;
SELECT setval('shop.invoice_no', 12345) \g /dev/null
INSERT INTO shop.documents (name, content)
VALUES ('readme.txt', lo_from_bytea(0, convert_to('Hello from the pgshift demo!', 'UTF8'))),
       ('random.bin', lo_from_bytea(0, (SELECT decode(string_agg(md5(g::text), ''), 'hex')
                                          FROM generate_series(1, 4096) AS g)));
ANALYZE;
EOF
fi

# a fresh, empty target database on every run, so the demo is re-runnable
say "(re)creating the empty database \"$DB\" on the target"
psql_on "$TGT_PORT" postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql_on "$TGT_PORT" postgres -qc "CREATE DATABASE $DB"

SOURCE_URI="postgresql://$SUPERUSER@127.0.0.1:$SRC_PORT/$DB"
TARGET_URI="postgresql://$SUPERUSER@127.0.0.1:$TGT_PORT/$DB"
WORK=$BASE/work

say "$PGSHIFT ping --source $SOURCE_URI --target $TARGET_URI"
"$PGSHIFT" ping --source "$SOURCE_URI" --target "$TARGET_URI" --dir "$WORK"

cloned=no
if "$PGSHIFT" clone --help >/dev/null 2>&1; then
	rm -rf "$WORK"
	say "$PGSHIFT clone --source $SOURCE_URI --target $TARGET_URI --dir $WORK --drop-if-exists"
	set +e
	"$PGSHIFT" clone --source "$SOURCE_URI" --target "$TARGET_URI" --dir "$WORK" \
		--drop-if-exists --table-jobs 2 --index-jobs 2
	rc=$?
	set -e
	case $rc in
	0) cloned=yes ;;
	4) echo "(pgshift clone is not implemented yet in this build)" ;;
	*)
		echo "pgshift clone failed with exit code $rc; see $WORK/pgshift.log" >&2
		exit "$rc"
		;;
	esac
else
	echo "(this build has no clone command yet)"
fi

say "row counts, source vs target"
count_sql="SELECT format('%I.%I', schemaname, relname),
       (xpath('/row/c/text()',
              query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, relname),
                           false, true, '')))[1]::text
  FROM pg_stat_user_tables ORDER BY 1"
src_counts=$(psql_on "$SRC_PORT" "$DB" -AtF $'\t' -c "$count_sql")
tgt_counts=$(psql_on "$TGT_PORT" "$DB" -AtF $'\t' -c "$count_sql")
printf "%-28s %12s %12s\n" "table" "source" "target"
LC_ALL=C join -t $'\t' -a 1 -a 2 -e '-' -o '0,1.2,2.2' \
	<(printf '%s\n' "$src_counts" | sed '/^$/d' | LC_ALL=C sort) \
	<(printf '%s\n' "$tgt_counts" | sed '/^$/d' | LC_ALL=C sort) |
	awk -F '\t' 'NF { printf "%-28s %12s %12s%s\n", $1, $2, $3, ($2 == $3) ? "" : "   <-- differs" }'
lo_src=$(psql_on "$SRC_PORT" "$DB" -Atc "SELECT count(*) FROM pg_largeobject_metadata")
lo_tgt=$(psql_on "$TGT_PORT" "$DB" -Atc "SELECT count(*) FROM pg_largeobject_metadata")
printf "%-28s %12s %12s\n" "(large objects)" "$lo_src" "$lo_tgt"

echo
if [[ $cloned == yes ]]; then
	echo "Cloned. Work directory: $WORK (pgshift.log, summary.json)"
fi
echo "Connect:  psql $SOURCE_URI    /    psql $TARGET_URI"
echo "Stop the clusters with: $0 stop   (or remove everything: $0 clean)"
