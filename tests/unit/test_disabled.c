/*
 * test_disabled.c: the kill switch's store (disabled.c): empty without a
 * file, a change written before it takes effect and read back by the next
 * open, and every malformed file refused with the file named.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disabled.h"
#include "testlib.h"

static char dir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void write_state(const char *text)
{
	char p[400];
	snprintf(p, sizeof p, "%s/disabled.json", dir);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

TEST(no_file_is_the_empty_set)
{
	struct tg_error err;
	struct disabled *d = disabled_open(dir, &err);
	CHECK(d != NULL);
	CHECK(d && disabled_get(d, "refund.issue") == NULL);
	CHECK(d && json_object_size(disabled_all(d)) == 0);
	disabled_free(d);
}

TEST(a_disable_is_on_disk_and_read_back_by_the_next_open)
{
	struct tg_error err;
	bool was = true;
	struct disabled *d = disabled_open(dir, &err);
	CHECK(disabled_set(d, "refund.issue", "ops (uid 1002)", "incident 42", &was, &err) == 0);
	CHECK(!was);
	const json_t *e = disabled_get(d, "refund.issue");
	CHECK_STREQ(json_string_value(json_object_get(e, "by")), "ops (uid 1002)");
	CHECK_STREQ(json_string_value(json_object_get(e, "reason")), "incident 42");
	disabled_free(d);

	char p[400];
	snprintf(p, sizeof p, "%s/disabled.json", dir);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	d = disabled_open(dir, &err);
	CHECK(d != NULL);
	e = d ? disabled_get(d, "refund.issue") : NULL;
	CHECK_STREQ(json_string_value(json_object_get(e, "reason")), "incident 42");
	CHECK(disabled_set(d, "refund.issue", "root (uid 0)", "", &was, &err) == 0 && was);
	CHECK(disabled_clear(d, "refund.issue", &was, &err) == 0 && was);
	CHECK(disabled_clear(d, "refund.issue", &was, &err) == 0 && !was);
	disabled_free(d);
	d = disabled_open(dir, &err);
	CHECK(d && disabled_get(d, "refund.issue") == NULL);
	disabled_free(d);
}

TEST(a_bad_name_or_a_long_reason_changes_nothing)
{
	struct tg_error err;
	bool was;
	char reason[400];
	memset(reason, 'r', sizeof reason - 1);
	reason[sizeof reason - 1] = '\0';
	struct disabled *d = disabled_open(dir, &err);
	CHECK(disabled_set(d, "../etc", "root (uid 0)", "", &was, &err) == -2);
	CHECK_STREQ(err.msg, "\"../etc\" is not a tool name (1 to 128 of A-Z a-z 0-9 . _ -)");
	CHECK(disabled_set(d, "kb.search", "root (uid 0)", reason, &was, &err) == -2);
	CHECK_STREQ(err.msg, "the reason is longer than 300 bytes");
	CHECK(json_object_size(disabled_all(d)) == 0);
	disabled_free(d);
}

TEST(a_malformed_file_is_refused_naming_it)
{
	static const char *const bad[][2] = {
		{ "{", "line 1: " },
		{ "[]", "not a toolgate kill-switch file" },
		{ "{\"version\": 2, \"tools\": {}}", "not a toolgate kill-switch file" },
		{ "{\"version\": 1, \"tools\": {}, \"x\": 1}", "not a toolgate kill-switch file" },
		{ "{\"version\": 1, \"tools\": {\"a b\": {}}}", "tools: \"a b\" is not a tool name" },
		{ "{\"version\": 1, \"tools\": {\"kb\": {\"by\": \"x\"}}}",
		  "tools.kb: must be {\"by\", \"reason\", \"at\"} strings" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tg_error err = { "" };
		write_state(bad[i][0]);
		CHECK(disabled_open(dir, &err) == NULL);
		char want[400];
		snprintf(want, sizeof want, "%s/disabled.json: %s", dir, bad[i][1]);
		CHECK(strncmp(err.msg, want, strlen(want)) == 0);
		if (strncmp(err.msg, want, strlen(want)) != 0)
			fprintf(stderr, "    got %s\n", err.msg);
	}
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_disabled.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(no_file_is_the_empty_set);
	RUN(a_disable_is_on_disk_and_read_back_by_the_next_open);
	RUN(a_bad_name_or_a_long_reason_changes_nothing);
	RUN(a_malformed_file_is_refused_naming_it);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
