/*
 * cli_util.h: argument helpers shared by the toolgate CLI's subcommands.
 * Only the CLI layer prints; these print usage errors for it.
 */
#ifndef TOOLGATE_CLI_UTIL_H
#define TOOLGATE_CLI_UTIL_H

#include <stdbool.h>

/* "CMD: <message>" and the usage line on stderr; returns 2 (usage error). */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Match `--name VALUE` or `--name=VALUE` at argv[*i].  1: matched, *value
 * set (and *i advanced past a separate value); 0: another argument;
 * -1: the option is there but its value is missing.
 */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* -h or --help */
bool cli_is_help(const char *arg);

#endif
