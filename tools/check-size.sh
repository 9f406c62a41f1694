#!/usr/bin/env bash
# tools/check-size.sh — no file over 1,200 lines, no function over 120, in src/.
#
# Files: src/*/*.c and src/*/*.h. Functions: the project's layout makes a
# plain scan enough: the return type on its own line, then `name(` at column
# 0, the body from `{` at column 0 to the next `}` at column 0; a function's
# length counts from its name's line to its closing brace.
#
# Exempt, with the reason written where the reader meets it: a file whose
# header comment (the comment the file opens with), or a function whose
# opening comment (the comment block ending on the line right before its
# return type), contains "long:" followed by the reason.
#
#   tools/check-size.sh             exit 1 when something is over its limit
#   SIZE_WARN_ONLY=1 tools/...      print the same, exit 0
#   MAX_FILE_LINES / MAX_FUNC_LINES override the limits (1200 / 120)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=$(awk -v max_file="${MAX_FILE_LINES:-1200}" -v max_func="${MAX_FUNC_LINES:-120}" '
	function exempt(text) {
		return text ~ /long:[ \t]*[^ \t\n*\/]/
	}
	function finish_file() {
		if (file != "" && nlines > max_file && !exempt(header))
			printf "%s: %d lines (limit %d)\n", file, nlines, max_file
	}
	FNR == 1 {
		finish_file()
		file = FILENAME; header = ""; in_header = 0; header_done = 0
		in_comment = 0; comment = ""; comment_end = -1; prev = ""
		state = 0
	}
	{
		nlines = FNR
		line = $0
	}
	# comments starting at column 0 (header, a function opening comment)
	in_comment {
		comment = comment "\n" line
		if (index(line, "*/")) {
			in_comment = 0; comment_end = FNR
			if (in_header) { header = comment; in_header = 0; header_done = 1 }
		}
		prev = line; next
	}
	state == 0 && /^\/\*/ {
		comment = line
		if (!header_done && FNR == 1)
			in_header = 1
		if (index(substr(line, 3), "*/")) {
			comment_end = FNR
			if (in_header) { header = comment; in_header = 0; header_done = 1 }
		} else
			in_comment = 1
		prev = line; next
	}
	# name( at column 0 after a return type line
	state == 0 && /^[A-Za-z_][A-Za-z0-9_]*\(/ && prev ~ /^[A-Za-z_]/ && prev !~ /[;,{}]$/ && prev !~ /^#/ {
		fname = line; sub(/\(.*/, "", fname)
		fstart = FNR
		fcomment = (comment_end == FNR - 2) ? comment : ""
		state = 1
		prev = line; next
	}
	state == 1 && /;[ \t]*$/ && !/^{/ { state = 0; prev = line; next }   # a prototype
	state == 1 && /^{/ { state = 2; prev = line; next }
	state == 2 && /^}/ {
		len = FNR - fstart + 1
		if (len > max_func && !exempt(fcomment))
			printf "%s:%d: %s() is %d lines (limit %d)\n", file, fstart, fname, len, max_func
		state = 0; prev = line; next
	}
	{ prev = line }
	END { finish_file() }
' src/*/*.c src/*/*.h)

if [[ -z $out ]]; then
	echo "check-size: no file over ${MAX_FILE_LINES:-1200} lines, no function over ${MAX_FUNC_LINES:-120}"
	exit 0
fi
printf '%s\n' "$out"
count=$(printf '%s\n' "$out" | grep -c .)
if [[ ${SIZE_WARN_ONLY:-0} == 1 ]]; then
	echo "check-size: $count over the limits (warning only: SIZE_WARN_ONLY=1)"
	exit 0
fi
echo "check-size: $count over the limits"
exit 1
