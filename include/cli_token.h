/*
 * cli_token.h: the `toolgate token mint|verify` subcommands.  Each takes
 * the arguments after the word `token` (argv[0] is "mint" or "verify"), may
 * print, and returns the process exit code: 0 success, 1 failure or an
 * invalid token, 2 usage error.  Results go to stdout, problems to stderr.
 */
#ifndef TOOLGATE_CLI_TOKEN_H
#define TOOLGATE_CLI_TOKEN_H

/*
 * toolgate token mint --key ISSUER.key --sub USER --agent AGENT --aud BROKER_ID
 *                     --ttl DURATION --tools SCOPE_JSON [--kid KID] [--iss ISSUER]
 *                     [--jti JTI] [--nbf TIME]
 * Prints one v4.public delegation token and a newline.  DURATION is 90s,
 * 15m, 2h, 1d or plain seconds, at most 30 days; TIME is RFC 3339.
 */
int cli_token_mint(int argc, char **argv);

/*
 * toolgate token verify TOKEN --key ISSUER.pub [--json]
 * Checks the signature only (not exp, nbf, aud or agent: the broker does
 * that) and prints the claims, one "claim: value" line each, and the
 * footer.  --json prints exactly the signed claims object (pretty) on stdout
 * and the footer on stderr.
 */
int cli_token_verify(int argc, char **argv);

#endif
