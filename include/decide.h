/*
 * decide.h: the decision on one tools/call, in one place.
 *
 *   arguments against the tool's input schema
 *   -> the kill switch: a tool an administrator disabled is refused
 *   -> the delegation token, if any: verified, bound to this broker and agent,
 *      a single-use one not replayed
 *   -> the policy, with the token's user
 *   -> intersected with the token's scope (a token can only narrow)
 *   -> the rate limits, for a call that would run or be held
 *
 * The broker (call.c) and `toolgate policy explain` both call decide_call(),
 * so what explain says is what the broker does.  Its side effects happen
 * only when the caller gives the state: a single-use token is spent
 * (in->replay), a rate-limit token is taken (in->ratelimit).
 */
#ifndef TOOLGATE_DECIDE_H
#define TOOLGATE_DECIDE_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

struct config;
struct tool;
struct replay_cache;
struct ratelimit_state;

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
	struct ratelimit_state *ratelimit; /* NULL: rate limits not counted (explain) */
	uint64_t now_ms;             /* CLOCK_MONOTONIC, for the rate limits */
	const json_t *disabled;      /* the kill switch's entry {"by", "reason", "at"}, or NULL */
};

struct call_decision {
	const char *decision;        /* "permit", "held" (for an approver), "deny", "forbid",
	                                "rate_limited" or "invalid" */
	char reason[300];
	json_t *rules;               /* deciding rule ids (owned) */
	char *user;                  /* the verified token's sub, or NULL (owned) */
	json_t *token_fields;        /* issuer, kid, jti, single_use, token_exp (owned) or NULL */
	json_t *approvers;           /* "held": who may decide (owned), else NULL */
	unsigned deadline_s;         /* "held": seconds until the call is denied */
	uint64_t retry_after_ms;     /* "rate_limited": when a retry can pass */
};

void decide_call(const struct decide_input *in, struct call_decision *out);
void call_decision_clear(struct call_decision *d);

#endif
