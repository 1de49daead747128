#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"
#include "util.h"

#include "banned.h"

static jr_cli_fn cmd_help;

/* One row per subcommand; keep in step with man/jobrunner.1. */
static const struct jr_cli_command commands[] = {
	/* running jobs (cli_run.c) */
	{ "run", jr_cli_run, "run [JOB...] [-t TAG] [-j N] [--dry-run]",
	  "run jobs (all, the named ones, or those tagged TAG) and what they need" },
	{ "tick", jr_cli_tick, "tick [-j N] [--dry-run]",
	  "run the jobs whose schedule came due (for: * * * * * jobrunner tick)" },
	{ "plan", jr_cli_plan, "plan [JOB...] [-t TAG] [--json]",
	  "show the backend and machine each job would get, and why not the others" },
	/* job files (cli_validate.c) */
	{ "validate", jr_cli_validate, "validate", "check the configuration and every job file" },
	{ "list", jr_cli_list, "list [--json]", "list the jobs with schedule, backends, tags, file" },
	/* history (cli_history.c) */
	{ "history", jr_cli_history, "history [JOB] [-n N] [--status S] [--json]",
	  "show past runs, newest first" },
	{ "show", jr_cli_show, "show RUN [--json]",
	  "show one run in full (RUN: a run id prefix, or a job for its latest run)" },
	{ "logs", jr_cli_logs, "logs RUN [--stderr] [--follow]", "print a run's stdout (or stderr)" },
	{ "db", jr_cli_db, "db path", "print the database path (for sqlite3)" },
	/* machines and backends (cli_machines.c) */
	{ "machines", jr_cli_machines, "machines [--json]", "show this host's facts and backends" },

	{ "help", cmd_help, "help [COMMAND]", "show help for jobrunner or one command" },
};

static const struct jr_cli_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void jr_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("jobrunner: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void jr_cli_usage(FILE *f, const char *command)
{
	const struct jr_cli_command *c = find_command(command);

	if (c)
		fprintf(f, "usage: jobrunner [-c FILE] %s\n", c->synopsis);
}

static void print_help(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: jobrunner [-c FILE] COMMAND [ARGS...]\n"
		"\n"
		"A declarative job runner: job files in jobs.d/ describe commands; jobrunner\n"
		"runs them on a backend that can, and records every run in SQLite.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  configuration file (default: ./jobrunner.ini, then\n"
		"                     $XDG_CONFIG_HOME/jobrunner/jobrunner.ini, then\n"
		"                     /etc/jobrunner/jobrunner.ini, else built-in defaults)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Exit status: 0 all succeeded, 1 a job failed, 2 usage or configuration error.\n"
		"'jobrunner help COMMAND' or 'jobrunner COMMAND --help' for one command;\n"
		"man jobrunner(1), jobrunner.yaml(5) and jobrunner.ini(5) for the details.\n");
}

static int cmd_help(const struct jr_cli *cli, int argc, char **argv)
{
	const struct jr_cli_command *c;
	char *sub[] = { (char *)"jobrunner", (char *)"--help", NULL };
	int rc;

	rc = jr_cli_plain_opts(argc, argv, "help",
			       "\nShows the commands, or the help of COMMAND (as 'jobrunner COMMAND "
			       "--help' does).\n",
			       NULL);
	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return jr_cli_bad_usage("help");
	if (optind == argc) {
		print_help(stdout);
		return JR_EXIT_OK;
	}
	c = find_command(argv[optind]);
	if (!c) {
		jr_cli_error("unknown command '%s'; see 'jobrunner --help'", argv[optind]);
		return JR_EXIT_USAGE;
	}
	/* help help too: as 'help --help'. */
	optind = 0; /* glibc: full reinitialisation for the command's getopt */
	return c->fn(cli, 2, sub);
}

int jr_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct jr_cli cli = { NULL, argc, argv };
	const struct jr_cli_command *c;
	char **sub;
	int opt, rc;

	/* A reader that goes away (jobrunner history | head) must not kill us
	 * in the middle of recording a run; children get default dispositions
	 * back from the spawn core. */
	signal(SIGPIPE, SIG_IGN);
	/* Likewise a file size limit (ulimit -f): a write past it fails
	 * (EFBIG), which the store reports and the batch stops on, recorded,
	 * instead of the signal killing jobrunner mid-batch. */
	signal(SIGXFSZ, SIG_IGN);
	jr_spawn_signals_changed();
	/* '+': stop at the command name, whose options are its own. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cli.config_path = optarg;
			break;
		case 'h':
			print_help(stdout);
			return JR_EXIT_OK;
		case 'V':
			printf("jobrunner %s\n", JR_VERSION);
			return JR_EXIT_OK;
		case ':': /* ':' first in the option string: a missing argument */
			jr_cli_error("option '%s' needs an argument; see 'jobrunner --help'",
				     argv[optind - 1]);
			return JR_EXIT_USAGE;
		default:
			if (optopt && argv[optind - 1][1] != '-')
				jr_cli_error("unknown option '-%c'; see 'jobrunner --help'", optopt);
			else
				jr_cli_error("unknown option '%s'; see 'jobrunner --help'",
					     argv[optind - 1]);
			return JR_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		return JR_EXIT_USAGE;
	}
	c = find_command(argv[optind]);
	if (!c) {
		jr_cli_error("unknown command '%s'; see 'jobrunner --help'", argv[optind]);
		return JR_EXIT_USAGE;
	}
	argc -= optind;
	/* getopt begins its messages with argv[0]: "jobrunner", as
	 * jr_cli_error does. A copy: cli.argv, which runs record, stays as
	 * typed. */
	sub = jr_xmalloc(((size_t)argc + 1) * sizeof(*sub));
	sub[0] = (char *)"jobrunner";
	memcpy(sub + 1, argv + optind + 1, ((size_t)argc - 1) * sizeof(*sub));
	sub[argc] = NULL;
	optind = 0; /* glibc: full reinitialisation for the subcommand's getopt */
	opterr = 1;
	rc = c->fn(&cli, argc, sub);
	free(sub);
	return rc;
}
