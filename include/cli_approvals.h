/*
 * cli_approvals.h: the `toolgate approvals` subcommand, a thin client of the
 * broker's toolgate/approvals/list and toolgate/approvals/decide methods
 * (SPEC.md, "Approvals").  The broker decides who may see and decide what,
 * from the caller's socket credentials; this side only asks and displays.
 *
 *   toolgate approvals list [--json]
 *   toolgate approvals approve ID [--reason TEXT] [--json]
 *   toolgate approvals deny ID [--reason TEXT] [--json]
 *
 * Exit codes: 0 done; 1 the broker refused (a JSON-RPC error other than
 * parse error, invalid request or method not found: unknown id, not an
 * approver of that call, one's own call, already decided, busy), or it
 * recorded a different decision than the one asked for; 2 usage,
 * connection or protocol error (including a reply of the wrong shape).
 */
#ifndef TOOLGATE_CLI_APPROVALS_H
#define TOOLGATE_CLI_APPROVALS_H

/*
 * argv[0] is "approvals"; options may come anywhere after it.  Results go
 * to stdout, problems to stderr as "toolgate approvals: ...".  Prints, never
 * exits; returns the process exit code.
 */
int cli_approvals(int argc, char **argv, const char *socket_path);

#endif
