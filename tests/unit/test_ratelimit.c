/*
 * test_ratelimit.c: token buckets for the policies' rate_limits
 * (src/ratelimit.c, reading the limits that src/policy.c loads).
 *
 * Policy texts use single quotes for readability; put() turns them into
 * double quotes.  Time is whatever now_ms the test passes: T0 is an
 * arbitrary CLOCK_MONOTONIC reading.
 */
#include "policy.h"
#include "ratelimit.h"
#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define T0 5000000ULL

/* ---- fixtures ---- */

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	for (const char *p = text; *p; p++)
		fputc(*p == '\'' ? '"' : *p, f);
	fclose(f);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

#define PRINCIPALS "{'principals': {'support-bot': {'uids': [1001]}, 'ops': {'uids': [1003]}}}"

/* The principals file plus one file of rate limits (a JSON array). */
static struct policy_set *load_limits_as(const char *file, const char *limits)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/tmp/tg-ratelimit-test-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	put(dir, "0-principals.json", PRINCIPALS);
	size_t n = strlen(limits) + 32;
	char *text = malloc(n);
	snprintf(text, n, "{'rate_limits': %s}", limits);
	put(dir, file, text);
	free(text);
	struct tg_error err = { "" };
	struct policy_set *ps = policy_load_dir(dir, "policies", &err);
	remove_dir(dir);
	if (!ps) {
		fprintf(stderr, "test policy does not load: %s\n", err.msg);
		abort();
	}
	return ps;
}

static struct policy_set *load_limits(const char *limits)
{
	return load_limits_as("limits.json", limits);
}

static char why[256];
static uint64_t retry;

static bool take(struct ratelimit_state *rs, const struct policy_set *ps, const char *agent,
                 const char *user, const char *tool, uint64_t now)
{
	snprintf(why, sizeof why, "(unchanged)");
	retry = 12345;
	return ratelimit_take(rs, ps, agent, user, tool, now, why, sizeof why, &retry);
}

static bool check(const struct ratelimit_state *rs, const struct policy_set *ps, const char *agent,
                  const char *user, const char *tool, uint64_t now)
{
	snprintf(why, sizeof why, "(unchanged)");
	retry = 12345;
	return ratelimit_check(rs, ps, agent, user, tool, now, why, sizeof why, &retry);
}

/* How many of `tries` takes at one instant pass. */
static int takes_passing(struct ratelimit_state *rs, const struct policy_set *ps, const char *agent,
                         const char *user, const char *tool, uint64_t now, int tries)
{
	int n = 0;
	for (int i = 0; i < tries; i++)
		n += take(rs, ps, agent, user, tool, now);
	return n;
}

static const char *const refunds_per_user =
	"[{'agents': ['support-bot'], 'tools': ['refund.issue'], 'per': 'user', 'calls': 3, 'seconds': 60}]";

/* ---- one limit ---- */

TEST(a_limit_of_n_lets_exactly_n_calls_through_at_one_instant_and_refuses_the_next)
{
	struct policy_set *ps = load_limits(refunds_per_user);
	struct ratelimit_state *rs = ratelimit_new();
	for (int i = 0; i < 3; i++) {
		CHECK(take(rs, ps, "support-bot", "alice", "refund.issue", T0));
		CHECK_STREQ(why, "");
		CHECK(retry == 0);
	}
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK_STREQ(why, "rate limit reached: 3 calls per 60 s per user for refund.issue (user alice); retry in 20 s");
	CHECK(retry == 20000);
	/* A refusal takes nothing: the wait does not grow. */
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0 + 5000));
	CHECK_STREQ(why, "rate limit reached: 3 calls per 60 s per user for refund.issue (user alice); retry in 15 s");
	CHECK(retry == 15000);
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(one_token_comes_back_every_seconds_over_calls)
{
	struct policy_set *ps = load_limits(refunds_per_user);
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "support-bot", "alice", "refund.issue", T0, 3) == 3);
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0 + 19999));
	CHECK(retry == 1);
	CHECK_STREQ(why, "rate limit reached: 3 calls per 60 s per user for refund.issue (user alice); retry in 1 s");
	CHECK(take(rs, ps, "support-bot", "alice", "refund.issue", T0 + 20000));
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0 + 20000));
	CHECK(retry == 20000);
	/* A whole window refills the bucket, and never beyond its size. */
	CHECK(takes_passing(rs, ps, "support-bot", "alice", "refund.issue", T0 + 500000, 5) == 3);
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(refill_is_fractional_and_the_announced_retry_time_is_enough)
{
	/* 3 calls per 10 s: one token every 3333.33 ms. */
	struct policy_set *ps = load_limits(
		"[{'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 3, 'seconds': 10}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "ops", NULL, "t", T0, 3) == 3);
	CHECK(!take(rs, ps, "ops", NULL, "t", T0));
	CHECK(retry == 3334);
	CHECK_STREQ(why, "rate limit reached: 3 calls per 10 s per agent for t (agent ops); retry in 4 s");
	CHECK(!take(rs, ps, "ops", NULL, "t", T0 + 3333));
	CHECK(retry == 1);
	CHECK(take(rs, ps, "ops", NULL, "t", T0 + 3334));
	/* The 0.0002 token left over counts towards the next one. */
	CHECK(!take(rs, ps, "ops", NULL, "t", T0 + 3334));
	CHECK(retry == 3333);
	CHECK(take(rs, ps, "ops", NULL, "t", T0 + 3334 + 3333));
	ratelimit_free(rs);
	policy_free(ps);
}

/* ---- keys ---- */

TEST(per_user_counts_each_user_apart_and_calls_without_a_user_under_their_agent)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['*'], 'tools': ['refund.issue'], 'per': 'user', 'calls': 1, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK_STREQ(why, "rate limit reached: 1 call per 60 s per user for refund.issue (user alice); retry in 60 s");
	/* The same user through another agent is the same user. */
	CHECK(!take(rs, ps, "ops", "alice", "refund.issue", T0));
	CHECK(take(rs, ps, "support-bot", "bob", "refund.issue", T0));
	CHECK(take(rs, ps, "support-bot", NULL, "refund.issue", T0));
	CHECK(!take(rs, ps, "support-bot", NULL, "refund.issue", T0));
	CHECK_STREQ(why, "rate limit reached: 1 call per 60 s per user for refund.issue (agent:support-bot); retry in 60 s");
	CHECK(take(rs, ps, "ops", NULL, "refund.issue", T0));
	/* A user literally named like an agent's bucket is still a user. */
	CHECK(take(rs, ps, "support-bot", "agent:support-bot", "refund.issue", T0));
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(per_agent_counts_each_agent_across_its_users)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['support-bot', 'ops'], 'tools': ['refund.issue'], 'per': 'agent', 'calls': 2, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK(take(rs, ps, "support-bot", "bob", "refund.issue", T0));
	CHECK(!take(rs, ps, "support-bot", NULL, "refund.issue", T0));
	CHECK_STREQ(why, "rate limit reached: 2 calls per 60 s per agent for refund.issue (agent support-bot); retry in 30 s");
	CHECK(takes_passing(rs, ps, "ops", "alice", "refund.issue", T0, 3) == 2);
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(per_tool_counts_each_tool_across_all_callers)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['*'], 'tools': ['kb.*'], 'per': 'tool', 'calls': 2, 'seconds': 1}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "support-bot", "alice", "kb.search", T0));
	CHECK(take(rs, ps, "ops", "bob", "kb.search", T0));
	CHECK(!take(rs, ps, "ops", NULL, "kb.search", T0));
	CHECK_STREQ(why, "rate limit reached: 2 calls per 1 s per tool for kb.* (tool kb.search); retry in 1 s");
	CHECK(retry == 500);
	CHECK(takes_passing(rs, ps, "support-bot", NULL, "kb.read", T0, 3) == 2);
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(a_limit_with_an_id_is_named_by_it)
{
	struct policy_set *ps = load_limits(
		"[{'id': 'refund-cap', 'agents': ['support-bot'], 'tools': ['refund.issue', 'refund.void'],"
		" 'per': 'user', 'calls': 10, 'seconds': 3600}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "support-bot", "alice", "refund.void", T0, 11) == 10);
	CHECK_STREQ(why, "rate limit refund-cap reached: 10 calls per 3600 s per user (user alice); retry in 360 s");
	CHECK(retry == 360000);
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(a_limit_without_an_id_is_named_by_all_its_tools)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['support-bot'], 'tools': ['refund.issue', 'refund.void'], 'per': 'agent', 'calls': 1, 'seconds': 5}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "support-bot", NULL, "refund.void", T0));
	/* Both tools draw on the one bucket of the agent. */
	CHECK(!take(rs, ps, "support-bot", NULL, "refund.issue", T0));
	CHECK_STREQ(why, "rate limit reached: 1 call per 5 s per agent for refund.issue, refund.void (agent support-bot); retry in 5 s");
	ratelimit_free(rs);
	policy_free(ps);
}

/* ---- several limits ---- */

TEST(two_applicable_limits_take_all_or_nothing)
{
	struct policy_set *ps = load_limits(
		"[{'id': 'agent-cap', 'agents': ['support-bot'], 'tools': ['refund.*'], 'per': 'agent', 'calls': 5, 'seconds': 60},"
		" {'id': 'user-cap', 'agents': ['*'], 'tools': ['refund.issue'], 'per': 'user', 'calls': 1, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	/* Refused by user-cap: agent-cap keeps its 4 tokens. */
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK_STREQ(why, "rate limit user-cap reached: 1 call per 60 s per user (user alice); retry in 60 s");
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK(takes_passing(rs, ps, "support-bot", "bob", "refund.void", T0, 4) == 4);
	CHECK(!take(rs, ps, "support-bot", "bob", "refund.void", T0));
	CHECK_STREQ(why, "rate limit agent-cap reached: 5 calls per 60 s per agent (agent support-bot); retry in 12 s");
	/* Refused by agent-cap: carol's user-cap token is still there for later. */
	CHECK(!take(rs, ps, "support-bot", "carol", "refund.issue", T0));
	CHECK(take(rs, ps, "ops", "carol", "refund.issue", T0));
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(when_several_limits_refuse_the_longest_wait_is_reported)
{
	struct policy_set *ps = load_limits(
		"[{'id': 'short', 'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 10},"
		" {'id': 'long', 'agents': ['*'], 'tools': ['t'], 'per': 'tool', 'calls': 1, 'seconds': 100},"
		" {'id': 'middle', 'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1, 'seconds': 50}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "ops", "alice", "t", T0));
	CHECK(!take(rs, ps, "ops", "alice", "t", T0));
	CHECK_STREQ(why, "rate limit long reached: 1 call per 100 s per tool (tool t); retry in 100 s");
	CHECK(retry == 100000);
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(limits_that_do_not_apply_are_not_consulted)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['ops'], 'tools': ['*'], 'per': 'agent', 'calls': 1, 'seconds': 60},"
		" {'agents': ['*'], 'tools': ['kb.*', 'files.read'], 'per': 'tool', 'calls': 1, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "support-bot", "alice", "refund.issue", T0, 50) == 50);
	CHECK(takes_passing(rs, ps, "support-bot", "alice", "kbx.search", T0, 50) == 50);
	/* Those calls counted against nothing: the limits are still full. */
	CHECK(take(rs, ps, "ops", NULL, "other", T0));
	CHECK(take(rs, ps, "support-bot", NULL, "kb.search", T0));
	CHECK(!take(rs, ps, "support-bot", NULL, "kb.search", T0));
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(two_identical_limits_count_once)
{
	struct policy_set *ps = load_limits(
		"[{'id': 'a', 'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 2, 'seconds': 60},"
		" {'id': 'b', 'agents': ['*'], 'tools': ['t', 't'], 'per': 'agent', 'calls': 2, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "ops", NULL, "t", T0, 3) == 2);
	CHECK_STREQ(why, "rate limit a reached: 2 calls per 60 s per agent (agent ops); retry in 30 s");
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(no_limits_or_no_policy_lets_everything_through)
{
	struct policy_set *ps = load_limits("[]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "ops", "alice", "t", T0, 10) == 10);
	CHECK(take(rs, NULL, "ops", "alice", "t", T0));
	CHECK_STREQ(why, "");
	CHECK(retry == 0);
	CHECK(check(rs, NULL, "ops", "alice", "t", T0));
	ratelimit_free(rs);
	policy_free(ps);
}

/* ---- reloads ---- */

TEST(counters_survive_a_reload_that_keeps_the_limit)
{
	struct policy_set *ps = load_limits(refunds_per_user);
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "support-bot", "alice", "refund.issue", T0, 2) == 2);
	policy_free(ps);

	ps = load_limits(refunds_per_user);
	CHECK(take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0));
	policy_free(ps);

	/* Another file, a description and an id, its lists reordered: still the same limit. */
	ps = load_limits_as("moved.json",
		"[{'id': 'now-named', 'description': 'moved', 'seconds': 60, 'calls': 3, 'per': 'user',"
		" 'tools': ['refund.issue', 'refund.issue'], 'agents': ['support-bot']}]");
	CHECK(!take(rs, ps, "support-bot", "alice", "refund.issue", T0 + 1000));
	CHECK_STREQ(why, "rate limit now-named reached: 3 calls per 60 s per user (user alice); retry in 19 s");
	ratelimit_free(rs);
	policy_free(ps);
}

TEST(a_changed_limit_starts_afresh)
{
	const char *ten = "[{'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 10, 'seconds': 60}]";
	const char *five = "[{'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 5, 'seconds': 60}]";
	struct policy_set *ps = load_limits(ten);
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(takes_passing(rs, ps, "ops", NULL, "t", T0, 11) == 10);
	policy_free(ps);

	ps = load_limits(five);
	CHECK(takes_passing(rs, ps, "ops", NULL, "t", T0, 6) == 5);
	CHECK_STREQ(why, "rate limit reached: 5 calls per 60 s per agent for t (agent ops); retry in 12 s");
	policy_free(ps);

	/* A limit removed by a reload is no longer consulted at all. */
	ps = load_limits("[]");
	CHECK(takes_passing(rs, ps, "ops", NULL, "t", T0, 20) == 20);
	ratelimit_free(rs);
	policy_free(ps);
}

/* ---- check ---- */

TEST(check_answers_like_take_and_never_takes)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	for (int i = 0; i < 5; i++) {
		CHECK(check(rs, ps, "ops", "alice", "t", T0));
		CHECK_STREQ(why, "");
		CHECK(retry == 0);
	}
	CHECK(take(rs, ps, "ops", "alice", "t", T0));
	CHECK(!check(rs, ps, "ops", "alice", "t", T0 + 15000));
	CHECK_STREQ(why, "rate limit reached: 1 call per 60 s per user for t (user alice); retry in 45 s");
	CHECK(retry == 45000);
	CHECK(check(rs, ps, "ops", "bob", "t", T0));
	CHECK(check(rs, ps, "ops", "alice", "t", T0 + 60000));
	CHECK(check(rs, ps, "ops", "alice", "t", T0 + 60000));
	CHECK(take(rs, ps, "ops", "alice", "t", T0 + 60000));
	CHECK(!check(rs, ps, "ops", "alice", "t", T0 + 60000));
	ratelimit_free(rs);
	policy_free(ps);
}

/* ---- edges ---- */

TEST(a_short_why_buffer_is_cut_and_null_outputs_are_allowed)
{
	struct policy_set *ps = load_limits(
		"[{'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 60}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(ratelimit_take(rs, ps, "ops", NULL, "t", T0, NULL, 0, NULL));
	char small[11];
	uint64_t ms = 0;
	CHECK(!ratelimit_take(rs, ps, "ops", NULL, "t", T0, small, sizeof small, &ms));
	CHECK_STREQ(small, "rate limit");
	CHECK(ms == 60000);
	CHECK(!ratelimit_take(rs, ps, "ops", NULL, "t", T0, NULL, 0, NULL));
	ratelimit_free(rs);
	policy_free(ps);
	ratelimit_free(NULL);
}

TEST(many_idle_callers_are_forgotten_without_losing_a_busy_one)
{
	/* 'burst': 110000 users make one call each, and are full again 10 s later;
	   alice's hourly token is still spent when the map is swept. */
	struct policy_set *ps = load_limits(
		"[{'id': 'burst', 'agents': ['*'], 'tools': ['kb.search'], 'per': 'user', 'calls': 1, 'seconds': 10},"
		" {'id': 'hourly', 'agents': ['*'], 'tools': ['refund.issue'], 'per': 'user', 'calls': 1, 'seconds': 3600}]");
	struct ratelimit_state *rs = ratelimit_new();
	CHECK(take(rs, ps, "ops", "alice", "refund.issue", T0));
	char user[32];
	int passed = 0;
	for (int i = 0; i < 110000; i++) {
		snprintf(user, sizeof user, "user-%d", i);
		passed += take(rs, ps, "ops", user, "kb.search", T0 + (i < 90000 ? 0 : 20000));
	}
	CHECK(passed == 110000);
	/* Users seen after the sweep are still counted. */
	CHECK(!take(rs, ps, "ops", "user-109999", "kb.search", T0 + 20000));
	CHECK(take(rs, ps, "ops", "user-0", "kb.search", T0 + 20000));
	CHECK(!take(rs, ps, "ops", "alice", "refund.issue", T0 + 20000));
	CHECK_STREQ(why, "rate limit hourly reached: 1 call per 3600 s per user (user alice); retry in 3580 s");
	ratelimit_free(rs);
	policy_free(ps);
}

int main(void)
{
	RUN(a_limit_of_n_lets_exactly_n_calls_through_at_one_instant_and_refuses_the_next);
	RUN(one_token_comes_back_every_seconds_over_calls);
	RUN(refill_is_fractional_and_the_announced_retry_time_is_enough);
	RUN(per_user_counts_each_user_apart_and_calls_without_a_user_under_their_agent);
	RUN(per_agent_counts_each_agent_across_its_users);
	RUN(per_tool_counts_each_tool_across_all_callers);
	RUN(a_limit_with_an_id_is_named_by_it);
	RUN(a_limit_without_an_id_is_named_by_all_its_tools);
	RUN(two_applicable_limits_take_all_or_nothing);
	RUN(when_several_limits_refuse_the_longest_wait_is_reported);
	RUN(limits_that_do_not_apply_are_not_consulted);
	RUN(two_identical_limits_count_once);
	RUN(no_limits_or_no_policy_lets_everything_through);
	RUN(counters_survive_a_reload_that_keeps_the_limit);
	RUN(a_changed_limit_starts_afresh);
	RUN(check_answers_like_take_and_never_takes);
	RUN(a_short_why_buffer_is_cut_and_null_outputs_are_allowed);
	RUN(many_idle_callers_are_forgotten_without_losing_a_busy_one);
	return TEST_SUMMARY();
}
