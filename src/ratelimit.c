/*
 * ratelimit.c: the counters behind the policies' rate_limits (see
 * ratelimit.h for the contract; policy.c parses and checks the limits).
 *
 * A bucket is the state of one limit for one key (a user, an agent or a
 * tool): a fractional number of tokens, refilled on demand from the time it
 * was last touched.  Buckets are found by "<serial>\n<kind>:<name>" in a
 * jansson object, where serial stands for the limit's identity text (see
 * policy.h): the identity can be long, and every bucket of that limit would
 * otherwise carry a copy.  Because the identity, not the policy snapshot,
 * names the limit, a reload that keeps a definition keeps its counters and a
 * changed definition starts from a full bucket.
 *
 * Choices made here:
 * - Taking is all or nothing: every applicable bucket is checked before any
 *   is touched, so a call refused by one limit costs nothing against another.
 * - Two applicable limits with the same identity count once: they would
 *   refuse and refill in lockstep anyway, and counting both would halve them.
 * - A missing bucket is a full one, so buckets are made only when a call is
 *   taken, and dropping a bucket that has refilled loses nothing.  Past
 *   RL_SWEEP_AT buckets, full ones and those of limits that the current
 *   policy no longer has are dropped; the next sweep waits until the map has
 *   doubled, so sweeping stays linear overall.  Past RL_BUCKETS_MAX busy
 *   buckets, a call that needs a new one is refused rather than let through
 *   uncounted: the bound fails closed.
 * - A token counts as there when it is within RL_EPSILON of whole, so that
 *   waiting exactly the announced retry time is always enough, whatever
 *   double rounding did to the refill.
 * - Not thread-safe: the broker decides one call at a time.
 */
#include "ratelimit.h"
#include "policy.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SWEEP_AT    100000
#define RL_BUCKETS_MAX 1000000
#define RL_EPSILON     1e-9

struct bucket {
	char *key;          /* also its key in the index */
	uint64_t serial;    /* of its limit's identity */
	uint64_t calls;     /* its limit's, to tell when it is full without the policy */
	uint64_t seconds;
	double tokens;      /* as of last_ms */
	uint64_t last_ms;
};

struct ratelimit_state {
	json_t *identities;     /* identity text -> serial */
	uint64_t next_serial;
	json_t *index;          /* bucket key -> index into buckets */
	struct bucket *buckets;
	size_t nbuckets;
	size_t cap;
	size_t sweep_at;
};

/* One limit that applies to the call being decided. */
struct hit {
	const struct policy_rate_limit *rl;
	const char *kind;       /* "user", "agent" or "tool" */
	const char *name;       /* the user, principal or tool */
	char *key;              /* NULL while its identity has no serial */
	double tokens;          /* available now */
};

struct ratelimit_state *ratelimit_new(void)
{
	struct ratelimit_state *rs = calloc(1, sizeof *rs);
	if (!rs)
		return NULL;
	rs->identities = json_object();
	rs->index = json_object();
	rs->next_serial = 1;
	rs->sweep_at = RL_SWEEP_AT;
	if (!rs->identities || !rs->index) {
		ratelimit_free(rs);
		return NULL;
	}
	return rs;
}

void ratelimit_free(struct ratelimit_state *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nbuckets; i++)
		free(rs->buckets[i].key);
	free(rs->buckets);
	json_decref(rs->identities);
	json_decref(rs->index);
	free(rs);
}

/* ---- token arithmetic ---- */

static double tokens_at(double tokens, uint64_t last_ms, uint64_t calls, uint64_t seconds,
                        uint64_t now_ms)
{
	double full = (double)calls;
	if (now_ms <= last_ms)
		return tokens;
	uint64_t elapsed = now_ms - last_ms, window = seconds * 1000;
	if (elapsed >= window)
		return full;
	/* elapsed * calls first: exact for realistic values, so that waiting
	   window / calls ms gives exactly one token. */
	double t = tokens + (double)elapsed * (double)calls / (double)window;
	return t < full ? t : full;
}

static bool has_token(double tokens)
{
	return tokens >= 1.0 - RL_EPSILON;
}

/* Milliseconds until tokens reach one whole token (at least 1). */
static uint64_t wait_ms(double tokens, const struct policy_rate_limit *rl)
{
	double x = (1.0 - tokens) * (double)(rl->seconds * 1000) / (double)rl->calls;
	uint64_t ms = (uint64_t)x;
	if ((double)ms < x)
		ms++;
	return ms ? ms : 1;
}

/* ---- buckets ---- */

static const struct bucket *find(const struct ratelimit_state *rs, const char *key)
{
	const json_t *i = json_object_get(rs->index, key);
	return i ? &rs->buckets[json_integer_value(i)] : NULL;
}

static void drop(struct ratelimit_state *rs, size_t i)
{
	json_object_del(rs->index, rs->buckets[i].key);
	free(rs->buckets[i].key);
	size_t last = --rs->nbuckets;
	if (i != last) {
		rs->buckets[i] = rs->buckets[last];
		json_integer_set(json_object_get(rs->index, rs->buckets[i].key), (json_int_t)i);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Drop the buckets that are full again and those of limits that ps lacks. */
static void sweep(struct ratelimit_state *rs, const struct policy_set *ps, uint64_t now_ms)
{
	size_t nlive = 0, nlimits = policy_rate_limit_count(ps);
	uint64_t *live = calloc(nlimits ? nlimits : 1, sizeof *live);
	if (live) {
		for (size_t i = 0; i < nlimits; i++) {
			const json_t *s = json_object_get(rs->identities, policy_rate_limit_at(ps, i)->identity);
			if (s)
				live[nlive++] = (uint64_t)json_integer_value(s);
		}
		qsort(live, nlive, sizeof *live, cmp_u64);
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(rs->identities, tmp, k, v) {
			uint64_t serial = (uint64_t)json_integer_value(v);
			if (!bsearch(&serial, live, nlive, sizeof *live, cmp_u64))
				json_object_del(rs->identities, k);
		}
	}
	/* Backwards, so that the bucket moved into a hole was already seen. */
	for (size_t i = rs->nbuckets; i-- > 0;) {
		const struct bucket *b = &rs->buckets[i];
		bool gone = live && !bsearch(&b->serial, live, nlive, sizeof *live, cmp_u64);
		double t = tokens_at(b->tokens, b->last_ms, b->calls, b->seconds, now_ms);
		if (gone || t >= (double)b->calls - RL_EPSILON)
			drop(rs, i);
	}
	free(live);
	rs->sweep_at = rs->nbuckets * 2 > RL_SWEEP_AT ? rs->nbuckets * 2 : RL_SWEEP_AT;
}

/* A full bucket for hit h; -1 when out of memory. */
static int add_bucket(struct ratelimit_state *rs, const struct hit *h, uint64_t serial,
                      uint64_t now_ms)
{
	if (rs->nbuckets == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct bucket *b = reallocarray(rs->buckets, cap, sizeof *b);
		if (!b)
			return -1;
		rs->buckets = b;
		rs->cap = cap;
	}
	char *key = strdup(h->key);
	if (!key || json_object_set_new(rs->index, key, json_integer((json_int_t)rs->nbuckets)) != 0) {
		free(key);
		return -1;
	}
	rs->buckets[rs->nbuckets++] = (struct bucket){
		.key = key, .serial = serial, .calls = h->rl->calls, .seconds = h->rl->seconds,
		.tokens = (double)h->rl->calls, .last_ms = now_ms,
	};
	return 0;
}

/* ---- one call ---- */

static char *make_key(uint64_t serial, const struct hit *h)
{
	char *key;
	if (asprintf(&key, "%llu\n%s:%s", (unsigned long long)serial, h->kind, h->name) < 0)
		return NULL;
	return key;
}

/* The distinct limits that apply to the call, each with the key it counts
   under; -1 when out of memory. */
static int gather(const struct policy_set *ps, const char *principal, const char *user,
                  const char *tool, struct hit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t count = policy_rate_limit_count(ps);
	if (count == 0)
		return 0;
	struct hit *hits = calloc(count, sizeof *hits);
	if (!hits)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct policy_rate_limit *rl = policy_rate_limit_at(ps, i);
		if (!policy_rate_limit_applies(rl, principal, tool))
			continue;
		bool seen = false;
		for (size_t j = 0; j < *n && !seen; j++)
			seen = strcmp(hits[j].rl->identity, rl->identity) == 0;
		if (seen)
			continue;
		struct hit *h = &hits[(*n)++];
		h->rl = rl;
		if (rl->per == POLICY_PER_USER && user) {
			h->kind = "user";
			h->name = user;
		} else if (rl->per == POLICY_PER_TOOL) {
			h->kind = "tool";
			h->name = tool;
		} else {
			h->kind = "agent";
			h->name = principal;
		}
	}
	*out = hits;
	return 0;
}

static void free_hits(struct hit *hits, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(hits[i].key);
	free(hits);
}

static void add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	if (*len >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	*len = n < 0 ? cap : *len + (size_t)n;
}

/* "rate limit reached: 10 calls per 3600 s per user for refund.issue (user
   alice); retry in 42 s", or with the limit's id in place of its tools. */
static void explain(char *why, size_t whylen, const struct hit *h, uint64_t retry_ms)
{
	if (!why || whylen == 0)
		return;
	static const char *const per[] = { "agent", "user", "tool" };
	const struct policy_rate_limit *rl = h->rl;
	size_t len = 0;
	why[0] = '\0';
	add(why, whylen, &len, "rate limit ");
	if (rl->id)
		add(why, whylen, &len, "%s ", rl->id);
	add(why, whylen, &len, "reached: %llu call%s per %llu s per %s", (unsigned long long)rl->calls,
	    rl->calls == 1 ? "" : "s", (unsigned long long)rl->seconds, per[rl->per]);
	if (!rl->id)
		for (size_t i = 0; i < rl->ntools; i++)
			add(why, whylen, &len, "%s%s", i ? ", " : " for ", rl->tools[i]);
	/* A call without a user counts in its agent's bucket, named as such. */
	if (rl->per == POLICY_PER_USER && strcmp(h->kind, "agent") == 0)
		add(why, whylen, &len, " (agent:%s)", h->name);
	else
		add(why, whylen, &len, " (%s %s)", h->kind, h->name);
	add(why, whylen, &len, "; retry in %llu s", (unsigned long long)((retry_ms + 999) / 1000));
}

static void refuse(char *why, size_t whylen, uint64_t *retry_after_ms, uint64_t ms,
                   const char *text)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", text);
	if (retry_after_ms)
		*retry_after_ms = ms;
}

/*
 * Fill in each hit's key (when its identity has a serial) and tokens; true
 * when every hit has a token, else false with the longest wait explained.
 */
static bool evaluate(const struct ratelimit_state *rs, struct hit *hits, size_t n,
                     uint64_t now_ms, char *why, size_t whylen, uint64_t *retry_after_ms,
                     bool *oom)
{
	const struct hit *worst = NULL;
	uint64_t worst_ms = 0;
	*oom = false;
	for (size_t i = 0; i < n; i++) {
		struct hit *h = &hits[i];
		h->tokens = (double)h->rl->calls;
		const json_t *s = json_object_get(rs->identities, h->rl->identity);
		if (!s)
			continue;
		h->key = make_key((uint64_t)json_integer_value(s), h);
		if (!h->key) {
			*oom = true;
			return false;
		}
		const struct bucket *b = find(rs, h->key);
		if (b)
			h->tokens = tokens_at(b->tokens, b->last_ms, b->calls, b->seconds, now_ms);
		if (!has_token(h->tokens)) {
			uint64_t ms = wait_ms(h->tokens, h->rl);
			if (!worst || ms > worst_ms) {
				worst = h;
				worst_ms = ms;
			}
		}
	}
	if (!worst)
		return true;
	explain(why, whylen, worst, worst_ms);
	if (retry_after_ms)
		*retry_after_ms = worst_ms;
	return false;
}

static void passed(char *why, size_t whylen, uint64_t *retry_after_ms)
{
	if (why && whylen)
		why[0] = '\0';
	if (retry_after_ms)
		*retry_after_ms = 0;
}

#define OOM_TEXT "rate limits cannot be counted: out of memory; retry in 1 s"

bool ratelimit_check(const struct ratelimit_state *rs, const struct policy_set *ps,
                     const char *principal, const char *user, const char *tool,
                     uint64_t now_ms, char *why, size_t whylen, uint64_t *retry_after_ms)
{
	passed(why, whylen, retry_after_ms);
	struct hit *hits;
	size_t n;
	if (!rs || gather(ps, principal, user, tool, &hits, &n) != 0) {
		refuse(why, whylen, retry_after_ms, 1000, OOM_TEXT);
		return false;
	}
	bool oom;
	bool ok = evaluate(rs, hits, n, now_ms, why, whylen, retry_after_ms, &oom);
	if (oom)
		refuse(why, whylen, retry_after_ms, 1000, OOM_TEXT);
	free_hits(hits, n);
	return ok;
}

bool ratelimit_take(struct ratelimit_state *rs, const struct policy_set *ps,
                    const char *principal, const char *user, const char *tool,
                    uint64_t now_ms, char *why, size_t whylen, uint64_t *retry_after_ms)
{
	passed(why, whylen, retry_after_ms);
	struct hit *hits;
	size_t n;
	if (!rs || gather(ps, principal, user, tool, &hits, &n) != 0) {
		refuse(why, whylen, retry_after_ms, 1000, OOM_TEXT);
		return false;
	}
	bool oom;
	bool ok = evaluate(rs, hits, n, now_ms, why, whylen, retry_after_ms, &oom);
	if (!ok)
		goto out;

	/* Every limit has a token.  Give new identities a serial and make the
	   missing buckets (full, so making them changes nothing), then take. */
	size_t missing = 0;
	for (size_t i = 0; i < n; i++) {
		struct hit *h = &hits[i];
		if (!h->key) {
			json_t *s = json_integer((json_int_t)rs->next_serial);
			if (!s || json_object_set_new(rs->identities, h->rl->identity, s) != 0)
				goto oom;
			h->key = make_key(rs->next_serial++, h);
			if (!h->key)
				goto oom;
		}
		missing += find(rs, h->key) == NULL;
	}
	if (missing && rs->nbuckets + missing > rs->sweep_at) {
		sweep(rs, ps, now_ms);
		missing = 0;
		for (size_t i = 0; i < n; i++)
			missing += find(rs, hits[i].key) == NULL;
	}
	if (rs->nbuckets + missing > RL_BUCKETS_MAX) {
		char text[128];
		snprintf(text, sizeof text, "rate limits cannot be counted: all %d counters are busy; "
		         "retry in 1 s", RL_BUCKETS_MAX);
		refuse(why, whylen, retry_after_ms, 1000, text);
		ok = false;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (find(rs, hits[i].key))
			continue;
		uint64_t serial = (uint64_t)json_integer_value(json_object_get(rs->identities,
		                                                               hits[i].rl->identity));
		if (add_bucket(rs, &hits[i], serial, now_ms) != 0)
			goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		struct bucket *b = &rs->buckets[json_integer_value(json_object_get(rs->index, hits[i].key))];
		b->tokens = tokens_at(b->tokens, b->last_ms, b->calls, b->seconds, now_ms) - 1.0;
		if (now_ms > b->last_ms)
			b->last_ms = now_ms;
	}
	goto out;
oom:
	oom = true;
out:
	if (oom) {
		refuse(why, whylen, retry_after_ms, 1000, OOM_TEXT);
		ok = false;
	}
	free_hits(hits, n);
	return ok;
}
