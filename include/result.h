/*
 * result.h: the tools/call results the broker sends back: MCP's result
 * shape (content, isError, structuredContent) with toolgate's _meta, for a
 * refused call and for a tool that ran.  Pure: it builds JSON from what the
 * call recorded, and never touches a call, a socket or the audit log.
 */
#ifndef TOOLGATE_RESULT_H
#define TOOLGATE_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct tool;

/* What a tool wrote on one stream: the bytes kept, and how many in all. */
struct captured {
	const char *buf;      /* may be NULL when len is 0 */
	size_t len;
	uint64_t total;
	bool cut;             /* the cap dropped some of it (with secrets redacted,
	                         len and total differ even when nothing was cut) */
};

/* How a tool's run ended, as _meta["toolgate/execution"] reports it. */
struct execution {
	int exit_no;          /* status or 128 + signal; -1: it never ran */
	const char *status;   /* in words: "exited with status 3", ... */
	uint64_t duration_ms, cpu_ms, audit_seq;
	struct captured out, err;
};

/* _meta["toolgate/decision"]: {decision, reason, rule, rules, audit_seq}. */
json_t *result_decision_meta(const char *decision, const char *reason, json_t *rules, uint64_t seq);

/* The isError result that tells the model what was refused and why
   (retry_after_ms > 0 adds it to the decision _meta). */
json_t *result_refusal(const char *tool, const char *decision, const char *reason, json_t *rules,
                       uint64_t seq, uint64_t retry_after_ms);

/*
 * The result of a tool that ran.  On success the text is its stdout (and,
 * with an output schema, structuredContent: its stdout parsed, depth-limited
 * and validated; a mismatch makes the result an error).  On failure the text
 * is a summary, then its stderr and stdout.  Steals decision_meta.
 */
json_t *result_of_tool(const struct tool *t, bool failed, const struct execution *ex,
                       json_t *decision_meta);

#endif
