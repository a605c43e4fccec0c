/*
 * client.h: a blocking MCP client over the broker's Unix socket, for the
 * toolgate CLI.  Replies are read line by line with a size limit and parsed
 * once with jsonrpc_parse's rules.
 */
#ifndef TOOLGATE_CLIENT_H
#define TOOLGATE_CLIENT_H

#include <jansson.h>
#include "error.h"

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	size_t consumed;   /* bytes of the last returned line, dropped on the next read */
	long next_id;
};

/* Connect and run the initialize handshake. */
int client_open(struct client *c, const char *socket_path, json_t *init_meta, struct tg_error *err);

/*
 * Send a request and wait for its reply (notifications in between are
 * skipped).  On a result, *result gets it (owned) and 0 is returned; on a
 * JSON-RPC error, -1 with err "CODE: message" and *rpc_code set.
 * timeout_ms < 0 waits forever; on timeout the request is cancelled with
 * notifications/cancelled and -2 is returned.
 */
int client_request(struct client *c, const char *method, json_t *params, long timeout_ms,
                   json_t **result, int *rpc_code, struct tg_error *err);

void client_close(struct client *c);

#endif
