/*
 * cli_stats.h: the `toolgate stats` subcommand: the broker's metrics
 * (toolgate/metrics, admin principals only) printed as Prometheus text.
 *
 *   toolgate [--socket PATH] stats [--socket PATH]
 *
 * Exit codes: 0 printed; 1 the broker refused (the caller is not an admin);
 * 2 usage, connection or protocol error.
 */
#ifndef TOOLGATE_CLI_STATS_H
#define TOOLGATE_CLI_STATS_H

/* argv[0] is "stats".  Prints, never exits; returns the exit code. */
int cli_stats(int argc, char **argv, const char *socket_path);

#endif
