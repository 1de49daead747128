/* cli: argument parsing and the subcommands. Only this layer (and main)
 * prints errors and chooses exit codes. Each subcommand lives in its own
 * cli_<name>.c and is listed in the table in cli.c. */
#ifndef JR_CLI_H
#define JR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "jobfile.h"
#include "machine.h"
#include "store.h"

enum jr_exit {
	JR_EXIT_OK = 0,     /* everything asked for succeeded */
	JR_EXIT_FAILED = 1, /* a job failed (or was lost, timed out, unrunnable) */
	JR_EXIT_USAGE = 2,  /* usage, configuration or job file error */
};

/* Options that come before the command name. */
struct jr_cli {
	const char *config_path; /* -c FILE, or NULL to search */
	int argc;                /* jobrunner's whole command line, for the record */
	char **argv;
};

/* A subcommand: argv[0] is "jobrunner" (getopt begins its messages with
 * it, as jr_cli_error does), then the command's arguments; returns an enum
 * jr_exit value (or 128+signal after an interrupt). */
typedef int jr_cli_fn(const struct jr_cli *cli, int argc, char **argv);

struct jr_cli_command {
	const char *name;
	jr_cli_fn *fn;
	const char *synopsis; /* "run [JOB...] [-t TAG] ..." */
	const char *summary;  /* one line */
};

int jr_cli_main(int argc, char **argv);

/* The subcommands, each in its own file. */
/* cli_run.c */
jr_cli_fn jr_cli_run, jr_cli_plan, jr_cli_tick;
/* cli_validate.c */
jr_cli_fn jr_cli_validate, jr_cli_list;
/* cli_history.c */
jr_cli_fn jr_cli_history, jr_cli_show, jr_cli_logs, jr_cli_db;
/* cli_machines.c */
jr_cli_fn jr_cli_machines;

/* What a subcommand needs loaded (cli_util.c). */
enum jr_cli_need {
	JR_NEED_CONFIG = 0,      /* always loaded */
	JR_NEED_JOBS = 1 << 0,   /* every job file, valid, else exit 2 */
	JR_NEED_HOST = 1 << 1,   /* this machine's facts */
	JR_NEED_STORE = 1 << 2,  /* the database, opened, migrated, reconciled */
	/* The database for reading the history (history, show, logs): never
	 * created; opened read-only when it cannot be written, and then not
	 * reconciled (jr_store_open_read). */
	JR_NEED_STORE_READ = 1 << 3,
};

struct jr_cli_ctx {
	struct jr_config cfg;
	struct jr_jobset jobs;
	struct jr_machine host;
	struct jr_store *st;
	unsigned loaded; /* enum jr_cli_need bits, plus 1 << 8 for the config */
};

/* Loads what need asks for; prints every error itself (all job file errors
 * at once). Returns JR_EXIT_OK, or the exit status to return. Release with
 * jr_cli_ctx_release whatever it returned. */
int jr_cli_ctx_load(const struct jr_cli *cli, unsigned need, struct jr_cli_ctx *ctx);
void jr_cli_ctx_release(struct jr_cli_ctx *ctx);

/* For subcommands' getopt loops: prints the usage line of command and a
 * pointer to --help, returns JR_EXIT_USAGE. */
int jr_cli_bad_usage(const char *command);

/* The option loop of a command whose only options are --help (which prints
 * the usage line, then help) and, when json is non-NULL, --json (which
 * sets *json). Returns -1 to go on, with optind at the operands, else the
 * exit status to return (help shown, or a usage error). */
int jr_cli_plain_opts(int argc, char **argv, const char *command, const char *help,
		      bool *json);

/* Prints "jobrunner: " + message to stderr (for subcommands). */
void jr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "usage: jobrunner SYNOPSIS" for the named command to f. */
void jr_cli_usage(FILE *f, const char *command);

#endif
