/* cli: argument parsing and the subcommands. Only this layer (and main)
 * prints errors and chooses exit codes. Each subcommand lives in its own
 * cli_<name>.c and is listed in the table in cli.c. */
#ifndef JR_CLI_H
#define JR_CLI_H

#include <stdio.h>

enum jr_exit {
	JR_EXIT_OK = 0,     /* everything asked for succeeded */
	JR_EXIT_FAILED = 1, /* a job failed (or was lost, timed out, unrunnable) */
	JR_EXIT_USAGE = 2,  /* usage, configuration or job file error */
};

/* Options that come before the command name. */
struct jr_cli {
	const char *progname;
	const char *config_path; /* -c FILE, or NULL to search */
};

/* A subcommand: argv[0] is the command name; returns an enum jr_exit value
 * (or 128+signal after an interrupt). */
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

/* cli_validate.c */

/* cli_history.c */

/* cli_machines.c */


/* Prints "jobrunner: " + message to stderr (for subcommands). */
void jr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "usage: jobrunner SYNOPSIS" for the named command to f. */
void jr_cli_usage(FILE *f, const char *command);

#endif
