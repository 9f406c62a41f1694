/*
 * src/cli/cmd_cutover.c — `pgshift cutover`: the command line turned into
 * a CutoverSpec (cdc/cutover.c does the work).
 *
 * The work directory is opened without its lock: the follower holds it, and
 * its presence is how cutover knows the follower is alive. The durations
 * take a unit (ms, s, min, h; seconds without one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/cdc.h"
#include "cli/cli.h"

static bool
duration_option(const char *name, const char *given, const char *def, double *out)
{
	const char *v = given != NULL ? given : def;
	if (!duration_parse(v, out))
	{
		log_error("invalid --%s \"%s\": expected a duration such as 10s, 500ms or 5min", name, v);
		return false;
	}
	return true;
}

static bool
cutover_fence_option(const Options *o, CutoverSpec *s)
{
	const char *f = o->fence != NULL ? o->fence : "builtin";
	if (o->fence_command != NULL)
	{
		if (o->fence != NULL)
		{
			log_error("--fence and --fence-command cannot be used together");
			return false;
		}
		s->fence = CUTOVER_FENCE_COMMAND;
		return true;
	}
	if (o->unfence_command != NULL)
	{
		log_error("--unfence-command needs --fence-command");
		return false;
	}
	if (strcmp(f, "builtin") == 0)
	{
		s->fence = CUTOVER_FENCE_BUILTIN;
	}
	else if (strcmp(f, "none") == 0)
	{
		s->fence = CUTOVER_FENCE_NONE;
	}
	else
	{
		log_error("invalid --fence \"%s\": expected builtin or none", f);
		log_hint(LOG_LEVEL_ERROR, "Use --fence-command for a fence of your own.");
		return false;
	}
	return true;
}

static bool
cutover_spec_from_options(const Options *o, CutoverSpec *s)
{
	memset(s, 0, sizeof(*s));
	s->source = o->source;
	s->target = o->target;
	s->dir = o->dir;
	s->fence_command = o->fence_command;
	s->unfence_command = o->unfence_command;
	s->switch_command = o->switch_command;
	s->reverse = o->reverse;
	if (!cli_require_uris(o, true, o->switch_command != NULL || o->reverse) ||
		!cutover_fence_option(o, s) ||
		!duration_option("max-lag", o->max_lag, "10s", &s->max_lag) ||
		!duration_option("wait", o->wait, "5min", &s->wait) ||
		!duration_option("timeout", o->timeout, "60s", &s->timeout))
	{
		return false;
	}
	return true;
}

int
cmd_cutover(Options *opts)
{
	CutoverSpec spec;
	if (!cutover_spec_from_options(opts, &spec))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	if (!workdir_open_readonly(&wd, opts->dir) || !file_exists(wd.state_file))
	{
		log_error("no follower's work directory at \"%s\"", opts->dir);
		log_hint(LOG_LEVEL_ERROR, "Give the --dir of the running \"pgshift clone --follow\" or "
								  "\"pgshift follow\".");
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	StateDb *state = state_open(wd.state_file);
	if (state == NULL)
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	char *json = xasprintf("%s/cutover.json", wd.path);
	spec.state = state;
	spec.pid_file = wd.pid_file;
	spec.json_path = json;
	int rc = cutover_run(&spec);
	free(json);
	state_close(state);
	workdir_close(&wd);
	return rc;
}
