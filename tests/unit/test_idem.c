/*
 * test_idem.c: the idempotency store (src/idem.c): keys, ids and
 * fingerprints, the started -> done life of an entry, persistence across a
 * reopen (a broker restart), expiry by window, the bounds, and an entry
 * that cannot be read.  Each test uses a fresh state dir under /tmp.
 */
#include "idem.h"
#include "testlib.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char state[PATH_MAX];
static const struct idem_options opts = { 10000, 3, 1u << 20 };
#define T0 1800000000000ull   /* a fixed wall clock, in ms */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void fresh(void)
{
	if (state[0])
		nftw(state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(state, sizeof state, "/tmp/tg-idem-XXXXXX");
	if (!mkdtemp(state))
		abort();
}

static struct idem_store *open_store(uint64_t now)
{
	struct idem_store *s = NULL;
	struct tg_error e;
	if (idem_open(state, &opts, now, &s, &e) != 0)
		fprintf(stderr, "    %s\n", e.msg);
	return s;
}

static json_t *header(const char *key)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "agent", "bot", "key", key, "tool", "refund",
	                 "fingerprint", "f00d", "decision_seq", 7);
}

TEST(keys_are_1_to_128_characters_of_a_small_set)
{
	char why[200] = "";
	CHECK(idem_key_valid("3f1c2a9e-8d7b-4c1e-9a0b-1234567890ab", 36, why, sizeof why));
	CHECK(idem_key_valid("refund:order-42.attempt_1", 25, why, sizeof why));
	CHECK(!idem_key_valid("", 0, why, sizeof why));
	CHECK_STREQ(why, "_meta[\"toolgate/idempotencyKey\"] must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
	CHECK(!idem_key_valid("a b", 3, why, sizeof why));
	CHECK(!idem_key_valid("a/b", 3, why, sizeof why));
	CHECK(!idem_key_valid("a\0b", 3, why, sizeof why));
	char long_key[130];
	memset(long_key, 'k', 129);
	long_key[129] = '\0';
	CHECK(!idem_key_valid(long_key, 129, why, sizeof why));
	long_key[128] = '\0';
	CHECK(idem_key_valid(long_key, 128, why, sizeof why));
}

TEST(an_entry_id_depends_on_agent_and_key_and_a_fingerprint_on_tool_user_and_arguments)
{
	char a[65], b[65], c[65];
	idem_entry_id("bot-a", "k1", a);
	idem_entry_id("bot-b", "k1", b);
	idem_entry_id("bot-a", "k1", c);
	CHECK(strcmp(a, b) != 0);
	CHECK_STREQ(a, c);
	CHECK(strlen(a) == 64);
	json_t *x = json_loads("{\"a\": 1, \"b\": [1, 2]}", 0, NULL);
	json_t *y = json_loads("{\"b\": [1, 2], \"a\": 1}", 0, NULL);
	json_t *z = json_loads("{\"b\": [2, 1], \"a\": 1}", 0, NULL);
	char fx[65], fy[65], fz[65], fu[65], ft[65];
	CHECK(idem_fingerprint("refund", "alice", x, fx) == 0);
	CHECK(idem_fingerprint("refund", "alice", y, fy) == 0);
	CHECK(idem_fingerprint("refund", "alice", z, fz) == 0);
	CHECK(idem_fingerprint("refund", NULL, x, fu) == 0);
	CHECK(idem_fingerprint("refund2", "alice", x, ft) == 0);
	CHECK_STREQ(fx, fy);              /* member order does not matter */
	CHECK(strcmp(fx, fz) != 0);
	CHECK(strcmp(fx, fu) != 0);
	CHECK(strcmp(fx, ft) != 0);
	json_decref(x);
	json_decref(y);
	json_decref(z);
}

TEST(an_entry_goes_from_started_to_done_and_survives_a_reopen)
{
	fresh();
	struct idem_store *s = open_store(T0);
	CHECK(s != NULL);
	if (!s)
		return;
	char id[65];
	idem_entry_id("bot", "k1", id);
	json_t *e = NULL;
	struct tg_error err;
	CHECK(idem_lookup(s, id, T0, &e, &err) == IDEM_ABSENT);
	json_t *h = header("k1");
	CHECK(idem_begin(s, id, h, T0, &err) == 0);
	CHECK(idem_lookup(s, id, T0 + 1, &e, &err) == IDEM_STARTED);
	CHECK_STREQ(json_string_value(json_object_get(e, "key")), "k1");
	CHECK(json_integer_value(json_object_get(e, "decision_seq")) == 7);
	json_decref(e);
	json_t *result = json_loads("{\"content\": [{\"type\": \"text\", \"text\": \"refunded\"}], "
	                            "\"isError\": false}", 0, NULL);
	CHECK(idem_finish(s, id, h, 9, result, &err) == 0);
	size_t n;
	uint64_t bytes;
	idem_usage(s, &n, &bytes);
	CHECK(n == 1 && bytes > 0);
	idem_close(s);

	/* A restarted broker finds it. */
	s = open_store(T0 + 5000);
	CHECK(idem_lookup(s, id, T0 + 5000, &e, &err) == IDEM_DONE);
	CHECK(json_equal(json_object_get(e, "result"), result));
	CHECK(json_integer_value(json_object_get(e, "end_seq")) == 9);
	CHECK(json_integer_value(json_object_get(e, "created_ms")) == (json_int_t)T0);
	json_decref(e);
	/* The file is the broker's alone. */
	char p[PATH_MAX + 100];
	struct stat st;
	snprintf(p, sizeof p, "%s/idempotency/%s", state, id);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(p, sizeof p, "%s/idempotency", state);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
	json_decref(result);
	json_decref(h);
	idem_close(s);
}

TEST(an_entry_older_than_the_window_is_gone_at_lookup_and_at_open)
{
	fresh();
	struct idem_store *s = open_store(T0);
	char id1[65], id2[65];
	idem_entry_id("bot", "k1", id1);
	idem_entry_id("bot", "k2", id2);
	struct tg_error err;
	json_t *h1 = header("k1"), *h2 = header("k2"), *e = NULL;
	CHECK(idem_begin(s, id1, h1, T0, &err) == 0);
	CHECK(idem_begin(s, id2, h2, T0, &err) == 0);
	CHECK(idem_lookup(s, id1, T0 + 9999, &e, &err) == IDEM_STARTED);
	json_decref(e);
	CHECK(idem_lookup(s, id1, T0 + 10000, &e, &err) == IDEM_ABSENT);
	size_t n;
	uint64_t bytes;
	idem_usage(s, &n, &bytes);
	CHECK(n == 1);
	idem_close(s);
	s = open_store(T0 + 10000);
	idem_usage(s, &n, &bytes);
	CHECK(n == 0 && bytes == 0);
	json_decref(h1);
	json_decref(h2);
	idem_close(s);
}

TEST(a_full_store_refuses_new_keys_until_old_ones_expire)
{
	fresh();
	struct idem_store *s = open_store(T0);
	struct tg_error err;
	char id[65];
	const char *keys[] = { "a", "b", "c", "d" };
	for (int i = 0; i < 3; i++) {
		idem_entry_id("bot", keys[i], id);
		json_t *h = header(keys[i]);
		CHECK(idem_begin(s, id, h, T0 + (uint64_t)i, &err) == 0);
		json_decref(h);
	}
	idem_entry_id("bot", "d", id);
	json_t *h = header("d");
	CHECK(idem_begin(s, id, h, T0 + 10, &err) == -1);
	CHECK_STREQ(err.msg, "the idempotency store is full (3 keys within the window; toolgated "
		"--idempotency-max-entries)");
	CHECK(idem_begin(s, id, h, T0 + 10001, &err) == 0);
	json_decref(h);
	idem_close(s);
}

TEST(forget_removes_an_entry_whose_tool_never_started)
{
	fresh();
	struct idem_store *s = open_store(T0);
	struct tg_error err;
	char id[65];
	idem_entry_id("bot", "k", id);
	json_t *h = header("k"), *e = NULL;
	CHECK(idem_begin(s, id, h, T0, &err) == 0);
	CHECK(idem_forget(s, id, &err) == 0);
	CHECK(idem_lookup(s, id, T0, &e, &err) == IDEM_ABSENT);
	json_decref(h);
	idem_close(s);
}

TEST(an_entry_that_cannot_be_parsed_is_unreadable_not_absent)
{
	fresh();
	struct idem_store *s = open_store(T0);
	char id[65], p[PATH_MAX + 100];
	idem_entry_id("bot", "k", id);
	snprintf(p, sizeof p, "%s/idempotency/%s", state, id);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	CHECK(write(fd, "{\"state\": \"start", 16) == 16);
	struct timespec ts[2] = { { (time_t)(T0 / 1000), 0 }, { (time_t)(T0 / 1000), 0 } };
	futimens(fd, ts);
	close(fd);
	/* A temporary file a crash left behind goes at open. */
	snprintf(p, sizeof p, "%s/idempotency/.tmp-%s", state, id);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	close(fd);
	idem_close(s);
	s = open_store(T0);
	CHECK(access(p, F_OK) != 0);
	json_t *e = NULL;
	struct tg_error err = { "" };
	CHECK(idem_lookup(s, id, T0 + 1, &e, &err) == IDEM_UNREADABLE);
	CHECK(e == NULL);
	CHECK_CONTAINS(err.msg, "not a valid entry");
	idem_close(s);
}

TEST(durations_take_the_usual_suffixes)
{
	uint64_t ms = 0;
	CHECK(idem_parse_duration("24h", &ms) == 0 && ms == 86400000ull);
	CHECK(idem_parse_duration("90s", &ms) == 0 && ms == 90000ull);
	CHECK(idem_parse_duration("15m", &ms) == 0 && ms == 900000ull);
	CHECK(idem_parse_duration("7d", &ms) == 0 && ms == 7ull * 86400000);
	CHECK(idem_parse_duration("3600", &ms) == 0 && ms == 3600000ull);
	CHECK(idem_parse_duration("0", &ms) == -1);
	CHECK(idem_parse_duration("-1h", &ms) == -1);
	CHECK(idem_parse_duration("1w", &ms) == -1);
	CHECK(idem_parse_duration("366d", &ms) == -1);
	CHECK(idem_parse_duration("", &ms) == -1);
}

int main(void)
{
	RUN(keys_are_1_to_128_characters_of_a_small_set);
	RUN(an_entry_id_depends_on_agent_and_key_and_a_fingerprint_on_tool_user_and_arguments);
	RUN(an_entry_goes_from_started_to_done_and_survives_a_reopen);
	RUN(an_entry_older_than_the_window_is_gone_at_lookup_and_at_open);
	RUN(a_full_store_refuses_new_keys_until_old_ones_expire);
	RUN(forget_removes_an_entry_whose_tool_never_started);
	RUN(an_entry_that_cannot_be_parsed_is_unreadable_not_absent);
	RUN(durations_take_the_usual_suffixes);
	if (state[0])
		nftw(state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
