/*
 * src/cdc/plugin.c — the three logical decoding plugins: names, streaming
 * options, and which of their messages open and close a transaction.
 *
 * Every plugin-dependent decision goes through CdcPlugin, parsed once from
 * the name. The receiver asks cdc_plugin_frame_role() about each message as
 * it writes it, and marks the commits in the journal (JF_COMMIT with the
 * commit's end): the journal and the applier never look into a payload to
 * find a transaction boundary.
 *
 * wal2json is used in format version 2 (one JSON object per action). Its
 * numbers are kept as the text the plugin printed (decode_w2j.c does not
 * convert them), so no precision is lost whatever the version; versions that
 * know numeric-data-types-as-string (2.6 and later) are asked for it anyway,
 * because older ones print NaN and Infinity as JSON null.
 */
#include <stdlib.h>
#include <string.h>

#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

static const char *const g_plugin_names[] = {
	[CDC_PLUGIN_PGOUTPUT] = "pgoutput",
	[CDC_PLUGIN_TEST_DECODING] = "test_decoding",
	[CDC_PLUGIN_WAL2JSON] = "wal2json",
};

bool
cdc_plugin_parse(const char *name, CdcPlugin *out)
{
	for (int i = 0; i < (int) (sizeof(g_plugin_names) / sizeof(g_plugin_names[0])); i++)
	{
		if (name != NULL && strcmp(name, g_plugin_names[i]) == 0)
		{
			*out = (CdcPlugin) i;
			return true;
		}
	}
	log_error("unknown logical decoding plugin \"%s\"", name ? name : "");
	log_hint(LOG_LEVEL_ERROR, "Use --plugin pgoutput, test_decoding or wal2json.");
	return false;
}

const char *
cdc_plugin_name(CdcPlugin p)
{
	return g_plugin_names[p];
}

bool
cdc_plugin_uses_publication(CdcPlugin p)
{
	return p == CDC_PLUGIN_PGOUTPUT;
}

bool
cdc_plugin_describes_keys(CdcPlugin p)
{
	return p == CDC_PLUGIN_PGOUTPUT;
}

bool
cdc_plugin_begin_knows_commit(CdcPlugin p)
{
	return p != CDC_PLUGIN_TEST_DECODING;
}

bool
cdc_plugin_commit_lsn_is_end(CdcPlugin p)
{
	return p == CDC_PLUGIN_TEST_DECODING;
}

uint32_t
cdc_get_be32(const char *b)
{
	const unsigned char *u = (const unsigned char *) b;
	return (uint32_t) u[0] << 24 | (uint32_t) u[1] << 16 | (uint32_t) u[2] << 8 | u[3];
}

uint64_t
cdc_get_be64(const char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
	{
		v = v << 8 | (unsigned char) b[i];
	}
	return v;
}

static bool
has_prefix(const char *msg, uint32_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(msg, prefix, n) == 0;
}

CdcFrameRole
cdc_plugin_frame_role(CdcPlugin p, const char *msg, uint32_t len, Lsn wal_start, Lsn *commit_lsn,
					  Lsn *end_lsn)
{
	switch (p)
	{
		case CDC_PLUGIN_PGOUTPUT:
			if (len >= 1 && msg[0] == 'B')
			{
				return CDC_ROLE_BEGIN;
			}
			if (len >= 5 && msg[0] == 'R')
			{
				return CDC_ROLE_RELATION;
			}
			if (len >= 26 && msg[0] == 'C')
			{
				/* Commit: flags(1) commit_lsn(8) end_lsn(8) timestamp(8) */
				*commit_lsn = cdc_get_be64(msg + 2);
				*end_lsn = cdc_get_be64(msg + 10);
				return CDC_ROLE_COMMIT;
			}
			return CDC_ROLE_CHANGE;
		case CDC_PLUGIN_TEST_DECODING:
			if (has_prefix(msg, len, "BEGIN"))
			{
				return CDC_ROLE_BEGIN;
			}
			if (has_prefix(msg, len, "COMMIT"))
			{
				/* sent at the commit record's end, the only position it gives */
				*commit_lsn = *end_lsn = wal_start;
				return CDC_ROLE_COMMIT;
			}
			return CDC_ROLE_CHANGE;
		case CDC_PLUGIN_WAL2JSON:
			/* format 2 prints the action first, without spaces */
			if (has_prefix(msg, len, "{\"action\":\"B\""))
			{
				return CDC_ROLE_BEGIN;
			}
			if (has_prefix(msg, len, "{\"action\":\"C\"") &&
				wal2json_commit_lsns(msg, len, commit_lsn, end_lsn))
			{
				return CDC_ROLE_COMMIT;
			}
			return CDC_ROLE_CHANGE;
	}
	return CDC_ROLE_CHANGE;
}

/* The options of START_REPLICATION, in parentheses. */
static void
start_options(StrBuf *sql, CdcPlugin p, const PgFeatures *f, const char *publication,
			  bool numeric_as_string)
{
	switch (p)
	{
		case CDC_PLUGIN_PGOUTPUT:
		{
			char *qpub = pg_quote_ident(publication);
			char *lit = pg_quote_literal(qpub);
			/* 14+: large transactions streamed while open (decode_stream.c) */
			sb_printf(sql, "(proto_version '%d', %spublication_names %s)", f->pgoutput_proto,
					  f->pgoutput_streaming ? "streaming 'on', " : "", lit);
			free(qpub);
			free(lit);
			break;
		}
		case CDC_PLUGIN_TEST_DECODING:
			sb_append(sql, "(\"include-xids\" '1', \"skip-empty-xacts\" '1')");
			break;
		case CDC_PLUGIN_WAL2JSON:
			/*
			 * B/C carry the xid, the commit time and LSNs; each change its
			 * schema, table, columns (typeoid: bytea needs its \x back) and,
			 * for UPDATE/DELETE, "identity": the old key or the old row.
			 * The key columns themselves are read from the target.
			 */
			sb_append(sql, "(\"format-version\" '2', \"include-xids\" '1', "
						   "\"include-timestamp\" '1', \"include-lsn\" '1', "
						   "\"include-transaction\" '1', \"include-type-oids\" '1', "
						   "\"include-types\" '0', \"include-pk\" '0'");
			if (numeric_as_string)
			{
				sb_append(sql, ", \"numeric-data-types-as-string\" '1'");
			}
			sb_append(sql, ")");
			break;
	}
}

/*
 * One attempt. On failure the error is logged, unless it is wal2json
 * refusing numeric-data-types-as-string (*unknown_option set).
 */
static bool
start_once(PgConn *c, CdcPlugin p, const char *slot, Lsn start, const char *publication,
		   bool numeric_as_string, bool *unknown_option)
{
	char startbuf[32];
	lsn_format(start, startbuf, sizeof(startbuf));
	StrBuf sql;
	sb_init(&sql);
	sb_append(&sql, "START_REPLICATION SLOT ");
	sb_append_ident(&sql, slot);
	sb_printf(&sql, " LOGICAL %s ", startbuf);
	PgFeatures f;
	pg_features(c, &f);
	start_options(&sql, p, &f, publication, numeric_as_string);
	PGresult *res = PQexec(c->conn, sql.data);
	bool ok = PQresultStatus(res) == PGRES_COPY_BOTH;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	*unknown_option = !ok && numeric_as_string && msg != NULL &&
					  strstr(msg, "numeric-data-types-as-string") != NULL;
	if (!ok && !*unknown_option)
	{
		pg_set_error(c, res, sql.data);
	}
	PQclear(res);
	sb_free(&sql);
	return ok;
}

bool
cdc_plugin_start(PgConn *c, CdcPlugin p, const char *slot, Lsn start, const char *publication)
{
	bool wal2json = p == CDC_PLUGIN_WAL2JSON;
	bool unknown_option = false;
	if (start_once(c, p, slot, start, publication, wal2json, &unknown_option))
	{
		return true;
	}
	if (!unknown_option)
	{
		return false;
	}
	log_warn("this wal2json has no numeric-data-types-as-string option (it came in 2.6): "
			 "NaN and Infinity in numeric and floating-point columns arrive as NULL");
	return start_once(c, p, slot, start, publication, false, &unknown_option);
}
