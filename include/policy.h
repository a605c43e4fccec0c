/*
 * policy.h: who may call what (the JSON files in policies/).
 *
 * The policy set is immutable once loaded.  Principals map peers (SO_PEERCRED
 * uid and primary gid) to agent names; a uid match wins over a gid match; a
 * uid or gid claimed by two principals is a load error; "admin": true marks
 * a principal that may use the broker's admin methods (policy_is_admin).  Rules are permit,
 * approve or forbid with tool glob patterns and `when` conditions.  A
 * matching forbid wins; else a permit allows; else an approve rule holds the
 * call for one of its "approvers" (principals) until "deadline_seconds"
 * (default 900); else deny.  Order never matters.  "delegation": "required"
 * makes a permit or approve rule match only calls with a verified token.
 * "privileges" (["root", "host_network"]) on a permit or approve rule grant
 * what a tool with run_as root or network "host" needs to run.
 *
 * `when` is an object from attribute (args.PATH, user, agent) to an object of
 * operator -> operand: ==, !=, <, <=, >, >=, in, prefix.  All conditions must
 * hold.  Integers compare as integers.  A missing attribute or a type
 * mismatch makes a permit NOT match, and makes a forbid MATCH (fail closed).
 *
 * "rate_limits" are loaded and checked here, and counted by ratelimit.c,
 * which reads them through policy_rate_limit_at().
 */
#ifndef TOOLGATE_POLICY_H
#define TOOLGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "error.h"

struct policy_set;

enum policy_effect { POLICY_DENY = 0, POLICY_PERMIT, POLICY_FORBID, POLICY_APPROVE };

struct policy_decision {
	enum policy_effect effect;
	json_t *rules;      /* array of the deciding rule ids (owned; may be empty) */
	char reason[256];   /* e.g. "forbidden by rule no-deletes" or
	                       "no rule permits support-bot to call refund.issue" */
	json_t *approvers;  /* POLICY_APPROVE: principals who may decide (owned), else NULL */
	unsigned deadline_s;/* POLICY_APPROVE: seconds before the held call is denied */
	unsigned privileges;/* POLICY_PERMIT/APPROVE: POLICY_PRIV_* granted by the rules that
	                       let the call run ("privileges" of a rule) */
};

/* What a rule's "privileges" may grant: a tool that runs as root or on the
   host's network runs only when a rule that lets the call run grants it. */
#define POLICY_PRIV_ROOT         1u
#define POLICY_PRIV_HOST_NETWORK 2u

/*
 * Load every *.json in dir (sorted by name), error naming file and field:
 * "policies/support.json: rules[2].effect: unknown effect \"allow\"".
 * display_prefix is how file names appear in errors (e.g. "policies").
 */
struct policy_set *policy_load_dir(const char *dir, const char *display_prefix,
                                   struct tg_error *err);

/* The agent principal of a peer, or NULL when none. */
const char *policy_principal_for_peer(const struct policy_set *ps, uid_t uid, gid_t gid);

/* Could this principal ever be permitted this tool (some permit rule names both,
   and no unconditional forbid does)?  Used for tools/list. */
bool policy_tool_visible(const struct policy_set *ps, const char *principal, const char *tool);

/* Decide one call.  args is the validated arguments object; user may be NULL. */
void policy_decide(const struct policy_set *ps, const char *principal, const char *user,
                   const char *tool, const json_t *args, struct policy_decision *out);

void policy_decision_clear(struct policy_decision *d);

/*
 * May this peer use the broker's admin methods (toolgate/metrics, admin
 * disable/enable)?  True for uid 0 (root can stop or reconfigure the broker
 * anyway), or when the peer's principal (as policy_principal_for_peer maps
 * it) says "admin": true.  A NULL set admits only root.
 */
bool policy_is_admin(const struct policy_set *ps, uid_t uid, gid_t gid);

/* Names of all principals (for validation by other modules). */
bool policy_has_principal(const struct policy_set *ps, const char *name);

void policy_free(struct policy_set *ps);

/*
 * A compiled `when` object on its own, with the same grammar and load-time
 * checks as a rule's (used for the extra conditions of a delegation token's
 * scope).  `where` prefixes errors ("token scope refund.issue").
 */
struct policy_when;
struct policy_when *policy_when_compile(const json_t *when, const char *where,
                                        struct tg_error *err);
/* True only when every condition holds: a missing attribute or a type
   mismatch counts as not holding.  When false, why (if non-NULL) names the
   first condition that failed, e.g. "args.amount_cents <= 2000". */
bool policy_when_holds(const struct policy_when *w, const char *principal, const char *user,
                       const json_t *args, char *why, size_t whylen);
void policy_when_free(struct policy_when *w);

/*
 * Load-time cross-check with the tools: for every rule condition on args.PATH
 * and every tool in `tools` that the rule names (exactly or by pattern),
 * has_arg(ctx, i, "PATH") must be true, else an error naming the rule and the
 * tool: "policies/x.json: rules[2].when.args.amount: tool refund.issue has no
 * argument \"amount\"".  A condition on an argument a tool lacks would never
 * hold for a permit and always for a forbid: a mistake, caught when loading.
 */
int policy_check_arguments(const struct policy_set *ps, const char *const *tools, size_t ntools,
                           bool (*has_arg)(void *ctx, size_t tool_index, const char *path),
                           void *ctx, struct tg_error *err);

/* Glob match of a tool name against a pattern ("kb.*", "*.delete", "*"). */
bool policy_tool_pattern_match(const char *pattern, const char *tool);

/*
 * One entry of a "rate_limits" array, as loaded: exactly the keys agents,
 * tools, per, calls (1..1000000), seconds (1..31536000), and optional id and
 * description.  Everything is borrowed from the policy set and lives as long
 * as it does.
 */
enum policy_rate_per { POLICY_PER_AGENT, POLICY_PER_USER, POLICY_PER_TOOL };

struct policy_rate_limit {
	const char *id;              /* NULL when the entry has none */
	const char *const *agents;   /* as written */
	size_t nagents;
	bool any_agent;              /* agents holds "*" */
	const char *const *tools;    /* names or glob patterns, as written */
	size_t ntools;
	enum policy_rate_per per;
	uint64_t calls;
	uint64_t seconds;
	/* Canonical text of what counts (agents and tools sorted and deduplicated,
	   per, calls, seconds; not id, description or place): equal definitions
	   have equal identities, across files and reloads, and no newline. */
	const char *identity;
	const char *file;            /* display name, e.g. "policies/support.json" */
	size_t index;                /* position in its file's rate_limits array */
};

/* The rate limits of every file, in load order (0 for a NULL set). */
size_t policy_rate_limit_count(const struct policy_set *ps);
/* The i-th of them, or NULL when i is out of range. */
const struct policy_rate_limit *policy_rate_limit_at(const struct policy_set *ps, size_t i);
/* Does the limit count this call: its agents name the principal (or "*") and
   one of its tools patterns matches the tool?  False for a NULL principal or tool. */
bool policy_rate_limit_applies(const struct policy_rate_limit *rl, const char *principal,
                               const char *tool);

#endif
