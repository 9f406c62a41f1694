# tools/sql2c.awk — embed sql/*.sql as C string constants.
#
# sql/catalog_tables.sql becomes `static const char SQL_CATALOG_TABLES[] = "...";`
# Comment lines starting with "--" are kept out; everything else is copied
# verbatim (quotes and backslashes escaped), one C string line per SQL line.
FNR == 1 {
	if (name != "") { print ";\n" }
	n = FILENAME; sub(/.*\//, "", n); sub(/\.sql$/, "", n)
	name = "SQL_" toupper(n)
	printf "static const char %s[] =\n", name
	printf "\t\"\"\n"
}
/^[ \t]*--/ { next }
/^[ \t]*$/ { next }
{
	line = $0
	gsub(/\\/, "\\\\", line)
	gsub(/"/, "\\\"", line)
	printf "\t\"%s\\n\"\n", line
}
END { if (name != "") { print ";" } }
