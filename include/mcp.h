/*
 * mcp.h: the Model Context Protocol session on one connection.
 *
 * mcp_handle_line() takes one complete line from a client, parses it with
 * jsonrpc_parse (the only parser of client bytes) and dispatches it:
 * initialize, notifications/initialized, ping, tools/list, tools/call (to
 * call.c), notifications/cancelled, and the broker's own toolgate/status;
 * for MCP 2026-07-28 clients (no initialize, a version in every request's
 * _meta) also server/discover and subscriptions/listen.
 */
#ifndef TOOLGATE_MCP_H
#define TOOLGATE_MCP_H

#include <stddef.h>
#include <jansson.h>

struct conn;

/* The newest revision negotiated by initialize (legacy era). */
#define MCP_LATEST_VERSION "2025-11-25"
/* The revision a request may name in its own _meta (modern era, no
   initialize). */
#define MCP_MODERN_VERSION "2026-07-28"
/* UnsupportedProtocolVersionError (2026-07-28). */
#define MCP_UNSUPPORTED_PROTOCOL_VERSION (-32022)

void mcp_handle_line(struct conn *c, const char *line, size_t len);

/* Is this a protocol revision initialize negotiates? */
int mcp_version_supported(const char *v);

/* A result as this connection's era wants it (steals and returns result):
   on a modern connection, resultType "complete" and the server's identity
   in _meta["io.modelcontextprotocol/serverInfo"]; otherwise unchanged. */
json_t *mcp_result_for_era(const struct conn *c, json_t *result);

/* Tell the connection its tool list may have changed, in its era's form:
   notifications/tools/list_changed after initialize, or on each of its
   subscriptions/listen streams that asked for toolsListChanged. */
void mcp_tools_list_changed(struct conn *c);

#endif
