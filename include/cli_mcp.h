/*
 * cli_mcp.h: `toolgate mcp`, the stdio <-> Unix socket bridge that lets any
 * MCP client that launches a command (desktop assistants, IDE agents, agent
 * frameworks) use the broker as its MCP server.
 *
 * Lines from stdin go to the broker's socket and lines from the socket go to
 * stdout, unchanged, except that a delegation token given to the bridge is
 * added to initialize and tools/call requests that carry none, and that a
 * line longer than the broker's limit is answered by the bridge itself (the
 * same JSON-RPC error the broker gives, with the request's id when it can be
 * read) instead of being sent.  stdout carries protocol messages only; every
 * diagnostic goes to stderr.
 */
#ifndef TOOLGATE_CLI_MCP_H
#define TOOLGATE_CLI_MCP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* argv[0] is "mcp"; socket_path is the global --socket (or the default).
   Returns the process exit status. */
int cli_mcp(int argc, char **argv, const char *socket_path);

/*
 * The id of a JSON-RPC message too long to keep, read on the fly: the bytes
 * of the line are fed in order, in pieces of any size, and never stored,
 * except the value of the top-level "id" member (bounded).  An oversize
 * request usually has its id after its params (the TypeScript SDK writes
 * method, params, jsonrpc, id), so the whole line must be seen.
 */
struct idscan {
	int depth;                  /* nesting of objects and arrays */
	bool in_str, esc;
	enum { IDS_KEY, IDS_IN_KEY, IDS_COLON, IDS_VALUE, IDS_IN_SCALAR, IDS_NESTED,
	       IDS_AFTER } phase;   /* where we are among the top-level members */
	char key[3];                /* the first bytes of the current top-level key */
	size_t keylen;
	bool key_is_id, capturing, found, overflow;
	char val[128];              /* the raw text of the id's value */
	size_t vallen;
};

void idscan_reset(struct idscan *s);
void idscan_feed(struct idscan *s, const char *p, size_t n);
/* The id (a string or an integer, new reference), or NULL if none could be
   read. */
json_t *idscan_id(const struct idscan *s);

#endif
