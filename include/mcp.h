/*
 * mcp.h: the Model Context Protocol session on one connection.
 *
 * mcp_handle_line() takes one complete line from a client, parses it with
 * jsonrpc_parse (the only parser of client bytes) and dispatches it:
 * initialize, notifications/initialized, ping, tools/list, tools/call (to
 * call.c), notifications/cancelled, and the broker's own toolgate/status.
 */
#ifndef TOOLGATE_MCP_H
#define TOOLGATE_MCP_H

#include <stddef.h>

struct conn;

#define MCP_LATEST_VERSION "2025-11-25"

void mcp_handle_line(struct conn *c, const char *line, size_t len);

/* Is this a protocol revision we speak? */
int mcp_version_supported(const char *v);

#endif
