/*
 * test_secrets.c: which secret files the broker accepts (src/secrets.c),
 * with the exact configuration errors an operator sees, and what reaches
 * the snapshot.  Each test builds a config dir under /tmp with a secrets/
 * directory; run as root (make test is), so that a file can be given to
 * another owner.
 */
#include "config.h"
#include "secrets.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];
static int dirfd_;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void fresh(void)
{
	if (dir[0]) {
		close(dirfd_);
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	snprintf(dir, sizeof dir, "/tmp/tg-secrets-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/secrets", dir);
	if (mkdir(p, 0700) != 0)
		abort();
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
}

static void put(const char *name, const char *data, size_t len, mode_t mode)
{
	char p[2 * PATH_MAX];
	snprintf(p, sizeof p, "%s/secrets/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		abort();
	close(fd);
}

/* Load {"KEY": name}; the error text, or "" on success (*out set). */
static const char *load(const char *name, struct secret_set **out)
{
	static struct tg_error e;
	json_t *map = json_pack("{s:s}", "KEY", name);
	struct secret_set *s = NULL;
	e.msg[0] = '\0';
	int rc = secrets_load(dirfd_, "tools.d/t.json", map, &s, &e);
	json_decref(map);
	if (out)
		*out = s;
	else
		secrets_free(s);
	return rc == 0 ? "" : e.msg;
}

TEST(a_0600_file_of_the_broker_s_user_is_read_without_its_trailing_newline)
{
	fresh();
	put("api", "sk_live_abcdef123\n", 18, 0600);
	put("crlf", "sk_live_abcdef456\r\n", 19, 0400);
	struct secret_set *s = NULL;
	CHECK_STREQ(load("api", &s), "");
	CHECK(s && s->n == 1);
	if (s && s->n == 1) {
		CHECK_STREQ(s->v[0].kv, "KEY=sk_live_abcdef123");
		CHECK(s->v[0].len == 17);
		CHECK(memcmp(s->v[0].value, "sk_live_abcdef123", 17) == 0);
		CHECK(s->patterns[0].len == 17);
		CHECK_STREQ(s->patterns[0].name, "api");
	}
	secrets_free(s);
	CHECK_STREQ(load("crlf", &s), "");
	if (s)
		CHECK_STREQ(s->v[0].kv, "KEY=sk_live_abcdef456");
	secrets_free(s);
}

TEST(a_file_group_or_others_can_read_is_refused_with_its_mode)
{
	fresh();
	put("api", "sk_live_abcdef123\n", 18, 0644);
	CHECK_STREQ(load("api", NULL), "tools.d/t.json: secrets.KEY: secrets/api: has mode 0644; "
		"group and others must have no access (chmod 600)");
	put("api", "sk_live_abcdef123\n", 18, 0640);
	CHECK_STREQ(load("api", NULL), "tools.d/t.json: secrets.KEY: secrets/api: has mode 0640; "
		"group and others must have no access (chmod 600)");
}

TEST(a_file_of_another_owner_is_refused_naming_both_uids)
{
	fresh();
	put("api", "sk_live_abcdef123\n", 18, 0600);
	char p[2 * PATH_MAX];
	snprintf(p, sizeof p, "%s/secrets/api", dir);
	CHECK(chown(p, 1001, 1001) == 0);
	char want[300];
	snprintf(want, sizeof want, "tools.d/t.json: secrets.KEY: secrets/api: is owned by uid 1001; "
		"it must be owned by uid %u, the user the broker runs as", (unsigned)geteuid());
	CHECK_STREQ(load("api", NULL), want);
}

TEST(a_symbolic_link_is_refused_even_to_a_good_file)
{
	fresh();
	put("real", "sk_live_abcdef123\n", 18, 0600);
	char p[2 * PATH_MAX];
	snprintf(p, sizeof p, "%s/secrets/link", dir);
	CHECK(symlink("real", p) == 0);
	CHECK_STREQ(load("link", NULL), "tools.d/t.json: secrets.KEY: secrets/link: is a symbolic link; "
		"a secret must be a regular file");
}

TEST(a_missing_file_a_fifo_and_a_directory_are_refused)
{
	fresh();
	CHECK_STREQ(load("nope", NULL), "tools.d/t.json: secrets.KEY: secrets/nope: No such file or directory");
	char p[2 * PATH_MAX];
	snprintf(p, sizeof p, "%s/secrets/fifo", dir);
	CHECK(mkfifo(p, 0600) == 0);
	CHECK_STREQ(load("fifo", NULL), "tools.d/t.json: secrets.KEY: secrets/fifo: is not a regular file");
	snprintf(p, sizeof p, "%s/secrets/sub", dir);
	CHECK(mkdir(p, 0700) == 0);
	CHECK_STREQ(load("sub", NULL), "tools.d/t.json: secrets.KEY: secrets/sub: is not a regular file");
}

TEST(sizes_and_nul_bytes_are_checked)
{
	fresh();
	static char big[SECRET_VALUE_MAX + 10];
	memset(big, 'a', sizeof big);
	put("big", big, SECRET_VALUE_MAX + 3, 0600);
	CHECK_STREQ(load("big", NULL), "tools.d/t.json: secrets.KEY: secrets/big: is 4099 bytes; "
		"a secret may be at most 4096");
	put("max", big, SECRET_VALUE_MAX, 0600);
	CHECK_STREQ(load("max", NULL), "");
	put("short", "1234567\n", 8, 0600);
	CHECK_STREQ(load("short", NULL), "tools.d/t.json: secrets.KEY: secrets/short: holds 7 bytes "
		"(without its trailing newline); a secret needs at least 8, so that redacting it cannot "
		"garble ordinary output");
	put("nul", "abcd\0efghij", 11, 0600);
	CHECK_STREQ(load("nul", NULL), "tools.d/t.json: secrets.KEY: secrets/nul: contains a NUL byte, "
		"which no environment variable can hold");
}

TEST(the_secrets_directory_must_not_be_writable_by_others_nor_a_link)
{
	fresh();
	put("api", "sk_live_abcdef123\n", 18, 0600);
	char p[PATH_MAX + 16], q[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/secrets", dir);
	CHECK(chmod(p, 0777) == 0);
	CHECK_STREQ(load("api", NULL), "secrets: has mode 0777; group and others must not be able to "
		"write to it (chmod 700 secrets)");
	CHECK(chmod(p, 0755) == 0);
	CHECK_STREQ(load("api", NULL), "");
	snprintf(q, sizeof q, "%s/real-secrets", dir);
	CHECK(rename(p, q) == 0);
	CHECK(symlink("real-secrets", p) == 0);
	CHECK_STREQ(load("api", NULL), "secrets: is a symbolic link; it must be a directory "
		"(needed by tools.d/t.json)");
	CHECK(unlink(p) == 0);
	CHECK_STREQ(load("api", NULL), "secrets (needed by tools.d/t.json): No such file or directory");
}

TEST(config_load_refuses_a_tool_whose_secret_is_refused)
{
	fresh();
	char p[2 * PATH_MAX];
	const char *sub[] = { "tools.d", "policies", "sandbox" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
		CHECK(mkdir(p, 0755) == 0);
	}
	snprintf(p, sizeof p, "%s/sandbox/default.json", dir);
	FILE *f = fopen(p, "w");
	fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/tools.d/t.json", dir);
	f = fopen(p, "w");
	fputs("{\"name\": \"t\", \"command\": [\"/bin/true\"], \"effect\": \"read\", "
	      "\"sandbox\": {\"profile\": \"default\"}, \"secrets\": {\"API_KEY\": \"api\"}}", f);
	fclose(f);
	put("api", "sk_live_abcdef123\n", 18, 0604);
	struct tg_error e = { "" };
	struct config *c = config_load(dir, &e);
	CHECK(c == NULL);
	CHECK_STREQ(e.msg, "tools.d/t.json: secrets.API_KEY: secrets/api: has mode 0604; group and "
		"others must have no access (chmod 600)");
	put("api", "sk_live_abcdef123\n", 18, 0600);
	c = config_load(dir, &e);
	CHECK(c != NULL);
	const struct tool *t = c ? config_find_tool(c, "t") : NULL;
	CHECK(t && t->secret_values && t->secret_values->n == 1);
	if (t && t->secret_values)
		CHECK_STREQ(t->secret_values->v[0].kv, "API_KEY=sk_live_abcdef123");
	config_unref(c);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_secrets needs root (to chown a file to another owner)\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(a_0600_file_of_the_broker_s_user_is_read_without_its_trailing_newline);
	RUN(a_file_group_or_others_can_read_is_refused_with_its_mode);
	RUN(a_file_of_another_owner_is_refused_naming_both_uids);
	RUN(a_symbolic_link_is_refused_even_to_a_good_file);
	RUN(a_missing_file_a_fifo_and_a_directory_are_refused);
	RUN(sizes_and_nul_bytes_are_checked);
	RUN(the_secrets_directory_must_not_be_writable_by_others_nor_a_link);
	RUN(config_load_refuses_a_tool_whose_secret_is_refused);
	if (dir[0]) {
		close(dirfd_);
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	return TEST_SUMMARY();
}
