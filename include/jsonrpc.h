/*
 * jsonrpc.h: JSON-RPC 2.0 messages, one per line (MCP's stdio/socket framing).
 *
 * jsonrpc_parse() is the one place where a line from a client becomes a
 * message: it checks the size, nesting depth, UTF-8 and JSON-RPC shape, and
 * classifies the message.  Everything downstream works with the parsed
 * struct and never looks at the raw bytes again.
 */
#ifndef TOOLGATE_JSONRPC_H
#define TOOLGATE_JSONRPC_H

#include <stddef.h>
#include <jansson.h>

#define JSONRPC_PARSE_ERROR      (-32700)
#define JSONRPC_INVALID_REQUEST  (-32600)
#define JSONRPC_METHOD_NOT_FOUND (-32601)
#define JSONRPC_INVALID_PARAMS   (-32602)
#define JSONRPC_INTERNAL_ERROR   (-32603)
/* Implementation-defined server error (JSON-RPC reserves -32000..-32099):
   used when the broker refuses for load reasons (limits, draining, audit). */
#define JSONRPC_SERVER_BUSY      (-32000)
/* The caller may not use this broker method (an admin method, and the
   caller is not an admin: policy_is_admin). */
#define JSONRPC_FORBIDDEN        (-32001)

#define JSONRPC_MAX_DEPTH 64

enum jsonrpc_kind {
	JSONRPC_REQUEST,       /* method + id */
	JSONRPC_NOTIFICATION,  /* method, no id */
	JSONRPC_RESPONSE,      /* result or error + id: a client's answer; ignored */
	JSONRPC_INVALID,       /* error_code/error_message say why; id may be set */
};

struct jsonrpc_msg {
	enum jsonrpc_kind kind;
	json_t *root;          /* owned: the whole parsed message */
	json_t *id;            /* borrowed from root, or NULL */
	const char *method;    /* borrowed from root, or NULL */
	json_t *params;        /* borrowed: always an object for requests/notifications
	                          (an empty one when absent) */
	int error_code;        /* for JSONRPC_INVALID */
	char error_message[256];
};

/* Parse one line (without its newline).  Never fails: problems become
   JSONRPC_INVALID with the code and message to send back. */
void jsonrpc_parse(const char *line, size_t len, struct jsonrpc_msg *msg);
void jsonrpc_msg_clear(struct jsonrpc_msg *msg);

/* Serialize {"jsonrpc":"2.0","id":id,"result":result} (steals result) as one
   line with a trailing newline; caller frees.  id may be NULL (-> null). */
char *jsonrpc_result_line(const json_t *id, json_t *result, size_t *len);
/* {"jsonrpc":"2.0","id":id,"error":{"code","message"[,"data"]}}; steals data. */
char *jsonrpc_error_line(const json_t *id, int code, const char *message, json_t *data, size_t *len);
/* {"jsonrpc":"2.0","method":method,"params":params}; steals params. */
char *jsonrpc_notification_line(const char *method, json_t *params, size_t *len);

/* Nesting depth of JSON text, ignoring string contents (stops counting
   past limit).  Lets untrusted JSON be refused before jansson recurses. */
int json_text_depth(const char *s, size_t len, int limit);

/* Make a JSON string from arbitrary bytes: invalid UTF-8 sequences become
   U+FFFD, NULs stay (JSON can carry them).  Never NULL except on ENOMEM. */
json_t *json_string_lossy(const char *bytes, size_t len);

#endif
