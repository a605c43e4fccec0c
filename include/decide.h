/*
 * decide.h: the decision on one tools/call, in one place.
 *
 *   arguments against the tool's input schema
 *   -> the delegation token, if any: verified, bound to this broker and agent,
 *      a single-use one not replayed
 *   -> the policy, with the token's user
 *   -> intersected with the token's scope (a token can only narrow)
 *
 * The broker (call.c) and `toolgate policy explain` both call decide_call(),
 * so what explain says is what the broker does.  It has one side effect, and
 * only when in->replay is given: a single-use token is spent.
 */
#ifndef TOOLGATE_DECIDE_H
#define TOOLGATE_DECIDE_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

struct config;
struct tool;
struct replay_cache;

struct decide_input {
	const struct config *cfg;
	const struct tool *tool;
	const char *principal;       /* NULL: the caller maps to no principal */
	uid_t uid;                   /* for the reason when principal is NULL */
	gid_t gid;
	const json_t *args;
	const char *token;           /* NULL: no delegation */
	const char *broker_id;
	int64_t now;                 /* seconds since the epoch */
	int64_t skew;
	struct replay_cache *replay; /* NULL: do not spend single-use tokens */
};

struct call_decision {
	const char *decision;        /* "permit", "deny", "forbid" or "invalid" */
	char reason[300];
	json_t *rules;               /* deciding rule ids (owned) */
	char *user;                  /* the verified token's sub, or NULL (owned) */
	json_t *token_fields;        /* issuer, kid, jti, single_use, token_exp (owned) or NULL */
};

void decide_call(const struct decide_input *in, struct call_decision *out);
void call_decision_clear(struct call_decision *d);

#endif
