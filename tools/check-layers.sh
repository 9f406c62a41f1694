#!/usr/bin/env bash
# tools/check-layers.sh — the include graph of src/ points down only.
#
# Reads every `#include "dir/file.h"` of src/*/*.h and src/*/*.c, maps both
# ends to their folder and checks, against the layer order (bottom to top)
#
#   core pg state catalog schema clone cdc compare check report cli
#
# that a folder includes only its own or lower folders' headers (an upward
# edge is printed as file:line), that the folders form no cycle, and that
# SQLite stays in src/state/ (<sqlite3.h> and "state/internal.h" are
# included nowhere else). Includes without a folder ("sql.inc", generated
# into build/gen) are ignored.
#
#   tools/check-layers.sh            exit 1 when something is wrong
#   LAYERS_WARN_ONLY=1 tools/...     print the same, exit 0
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

LAYERS="core pg state catalog schema clone cdc compare check report cli"

# file:line:target for every include of interest
edges=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' src/*/*.h src/*/*.c |
	sed -E 's/^([^:]+):([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^">]+)[">].*/\1:\2:\3\4/')

out=$(awk -v layers="$LAYERS" -F: '
	BEGIN {
		n = split(layers, L, " ")
		for (i = 1; i <= n; i++)
			rank[L[i]] = i
	}
	{
		file = $1; line = $2; target = $3
		split(file, p, "/")
		from = p[2]
		if (!(from in rank) && !(from in unknown)) {
			unknown[from] = 1
			printf "%s: folder src/%s/ is not in the layer order (%s)\n", file, from, layers
			bad++
		}
		sys = substr(target, 1, 1) == "<"
		target = substr(target, 2)
		if (from != "state" && (target == "sqlite3.h" && sys || target == "state/internal.h")) {
			printf "%s:%s: includes %s%s: only src/state/ talks to SQLite\n", file, line,
				sys ? "<" target ">" : "\"" target "\"", ""
			bad++
			next
		}
		if (sys || index(target, "/") == 0)
			next
		split(target, q, "/")
		to = q[1]
		if (!(to in rank))
			next
		if (to != from) {
			dep[from, to] = 1
			where[from, to] = (where[from, to] == "" ? "" : where[from, to] ", ") file ":" line
		}
		if ((from in rank) && rank[to] > rank[from]) {
			printf "%s:%s: upward include \"%s\": %s (layer %d) may not include %s (layer %d)\n",
				file, line, target, from, rank[from], to, rank[to]
			bad++
		}
	}
	function visit(f,    t, k, j, m, path, up) {
		color[f] = 1
		stack[++sp] = f
		for (k = 1; k <= n; k++) {
			t = L[k]
			if (!((f, t) in dep))
				continue
			if (color[t] == 1) {
				for (j = sp; j > 1 && stack[j] != t; j--)
					;
				path = ""
				up = ""
				stack[sp + 1] = t
				for (m = j; m <= sp; m++) {
					path = path stack[m] " -> "
					if (rank[stack[m + 1]] > rank[stack[m]])
						up = up (up == "" ? "" : "; ") where[stack[m], stack[m + 1]]
				}
				printf "cycle between folders: %s%s (upward: %s)\n", path, t, up
				bad++
			} else if (color[t] == 0) {
				visit(t)
			}
		}
		sp--
		color[f] = 2
	}
	END {
		for (i = 1; i <= n; i++)
			if (color[L[i]] == 0)
				visit(L[i])
		exit bad > 0
	}' <<<"$edges") && rc=0 || rc=$?

if [[ $rc -eq 0 ]]; then
	echo "check-layers: the include graph of src/ points down only"
	exit 0
fi
printf '%s\n' "$out"
count=$(printf '%s\n' "$out" | grep -c .)
if [[ ${LAYERS_WARN_ONLY:-0} == 1 ]]; then
	echo "check-layers: $count problem(s) (warning only: LAYERS_WARN_ONLY=1)"
	exit 0
fi
echo "check-layers: $count problem(s)"
exit 1
