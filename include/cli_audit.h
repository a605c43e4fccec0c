/*
 * cli_audit.h: the `toolgate audit verify|show` and `toolgate keygen`
 * subcommands.  Each takes the arguments after the word that selected it
 * (argv[0] is "verify", "show" or "keygen"), may print, and returns the
 * process exit code: 0 success, 1 invalid log / failure, 2 usage error.
 * Results go to stdout; problems and usage errors to stderr (except with
 * --json, where the verdict, valid or not, is the JSON on stdout).
 */
#ifndef TOOLGATE_CLI_AUDIT_H
#define TOOLGATE_CLI_AUDIT_H

/*
 * toolgate audit verify LOG --key AUDIT.pub [--json]
 * 0: "LOG: N records, chain and signatures valid"; 1: "LOG: seq 17: ..."
 * (--json: {"valid":..,"records":..,"error":..}).  --checkpoint: exit 2,
 * not supported yet.
 */
int cli_audit_verify(int argc, char **argv);

/*
 * toolgate audit show LOG [--tool T] [--user U] [--agent A] [--since TIME] [--json]
 * One aligned line per matching record, or (--json) the raw lines.
 * Filters are exact matches; --since takes an RFC 3339 time or a date.
 */
int cli_audit_show(int argc, char **argv);

/* toolgate keygen --out PREFIX: PREFIX.key (0600) and PREFIX.pub, Ed25519 PEM. */
int cli_keygen(int argc, char **argv);

#endif
