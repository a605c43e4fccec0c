/*
 * ratelimit.h: token buckets for the policies' rate_limits.
 *
 *   "rate_limits": [{"agents": ["support-bot"], "tools": ["refund.issue"],
 *                    "per": "user", "calls": 10, "seconds": 3600}]
 *
 * Each limit that applies to a call (its agents name the caller or "*", a
 * tools pattern matches the tool) takes one token from the bucket of its key:
 * per "agent" (the calling principal), "user" (the delegating user; a call
 * without one shares the bucket of its agent, named "agent:<principal>"), or
 * "tool" (the tool, across all callers).  A bucket holds `calls` tokens and
 * refills at calls/seconds; a call passes only if every applicable bucket has
 * a token (and then takes one from each).
 *
 * The state lives outside the configuration snapshot and is keyed by each
 * limit's definition, so a reload that keeps a limit keeps its counters, and
 * a changed limit starts afresh.
 */
#ifndef TOOLGATE_RATELIMIT_H
#define TOOLGATE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy_set;
struct ratelimit_state;

struct ratelimit_state *ratelimit_new(void);

/*
 * Take one token from every bucket that applies to this call, or none.
 * Returns true when the call may pass; false with why (e.g. "rate limit
 * reached: 10 calls per 3600 s per user for refund.issue (user alice); retry
 * in 42 s") and *retry_after_ms set.  now_ms is CLOCK_MONOTONIC.
 */
bool ratelimit_take(struct ratelimit_state *rs, const struct policy_set *ps,
                    const char *principal, const char *user, const char *tool,
                    uint64_t now_ms, char *why, size_t whylen, uint64_t *retry_after_ms);

/* Would the call pass, without taking anything (for `policy explain`)? */
bool ratelimit_check(const struct ratelimit_state *rs, const struct policy_set *ps,
                     const char *principal, const char *user, const char *tool,
                     uint64_t now_ms, char *why, size_t whylen, uint64_t *retry_after_ms);

void ratelimit_free(struct ratelimit_state *rs);

#endif
