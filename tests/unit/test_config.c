/*
 * test_config.c: the configuration loader (src/config.c) against the
 * contract in SPEC.md ("tools.d/NAME.json", "sandbox/NAME.json").
 *
 * The valid case is the committed fixture tests/fixtures/config/valid (run
 * from the repository root).  Error cases build a small config dir under
 * /tmp at run time, one tool file each, so every test states exactly the
 * file that produces the message it checks.
 */
#include "config.h"
#include "fileio.h"
#include "seccomp_profile.h"
#include "secrets.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define VALID_DIR "tests/fixtures/config/valid"

/* ---- runtime config dirs ---------------------------------------------- */

static char cfg[PATH_MAX];   /* the current runtime config dir, symlink-free */

static void write_raw(const char *rel, const char *data, size_t len, mode_t mode)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", cfg, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		abort();
	}
	close(fd);
	chmod(path, mode);
}

/* Test JSON is written with ' for " so that it stays readable. */
static void write_json(const char *rel, const char *squoted)
{
	char *s = strdup(squoted);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	write_raw(rel, s, strlen(s), 0644);
	free(s);
}

static const char profile_json[] =
	"{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,"
	" 'syscalls': [{'names': ['read', 'write', 'execve', 'exit_group'], 'action': 'SCMP_ACT_ALLOW'}]}";

/* A fresh dir with sandbox/default.json, an empty policy, tools.d/ and bin/. */
static void cfg_create(void)
{
	/* Not under /tmp: the sandbox gives each tool its own, and a "#!" tool
	   there is refused. */
	char tmpl[] = "/var/tmp/tg-config-test-XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, cfg)) {
		perror("mkdtemp");
		abort();
	}
	static const char *const subdirs[] = { "sandbox", "tools.d", "policies", "bin", NULL };
	for (const char *const *d = subdirs; *d; d++) {
		char path[2 * PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", cfg, *d);
		mkdir(path, 0755);
	}
	write_json("sandbox/default.json", profile_json);
	write_json("policies/p.json", "{'principals': {}, 'rules': []}");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void cfg_remove(void)
{
	nftw(cfg, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Load cfg; the error message, or "(loaded)". */
static const char *load_cfg(void)
{
	static char msg[TG_ERROR_MAX];
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	snprintf(msg, sizeof msg, "%s", c ? "(loaded)" : e.msg);
	config_unref(c);
	return msg;
}

/* A config dir whose only tool is tools.d/t.json = json; what loading it says. */
static const char *tool_error(const char *json)
{
	cfg_create();
	write_json("tools.d/t.json", json);
	const char *msg = load_cfg();
	cfg_remove();
	return msg;
}

/* The smallest valid tool file, plus `extra` members. */
#define TOOL(extra) "{'name': 't', 'command': ['/bin/true'], 'effect': 'read'" extra "}"

/* Load a one-tool runtime config; the caller checks and unrefs. */
static struct config *load_tool(const char *json, struct tg_error *e)
{
	cfg_create();
	write_json("tools.d/t.json", json);
	struct config *c = config_load(cfg, e);
	cfg_remove();
	return c;
}

static size_t strv_len(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static char *entry_text(const struct tool *t)
{
	return json_dumps(t->list_entry, JSON_COMPACT | JSON_SORT_KEYS);
}

/* ---- the valid fixture ------------------------------------------------ */

TEST(valid_fixture_loads_two_tools_one_profile_and_the_policy)
{
	struct tg_error e = { "" };
	struct config *c = config_load(VALID_DIR, &e);
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (!c)
		return;
	char abs[PATH_MAX];
	CHECK(realpath(VALID_DIR, abs) != NULL);
	CHECK_STREQ(c->dir, abs);
	CHECK(c->refs == 1);
	CHECK(c->ntools == 2);
	CHECK_STREQ(c->tools[0]->name, "kb.search");
	CHECK_STREQ(c->tools[1]->name, "refund.issue");
	CHECK_STREQ(c->tools[0]->file, "tools.d/kb.search.json");
	CHECK(c->nprofiles == 1);
	CHECK_STREQ(c->profiles[0]->name, "default");
	CHECK(c->policy != NULL);
	/* sandbox/default.json, two tools, policies/support.json; the hidden
	   file and README.md in tools.d/ are not read. */
	CHECK(c->nfiles == 4);
	config_unref(c);
}

TEST(every_field_of_a_full_tool_file_reaches_the_snapshot)
{
	struct tg_error e = { "" };
	struct config *c = config_load(VALID_DIR, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	const struct tool *t = config_find_tool(c, "refund.issue");
	CHECK(t != NULL);
	if (!t) {
		config_unref(c);
		return;
	}
	CHECK_STREQ(t->title, "Issue a refund");
	CHECK_STREQ(t->description, "Refund part or all of an order to the original payment method.");
	CHECK(strv_len(t->argv) == 3);
	CHECK_STREQ(t->argv[0], "/bin/cat");
	CHECK_STREQ(t->argv[1], "--currency");
	CHECK_STREQ(t->argv[2], "EUR");
	CHECK(!t->has_sha256);
	CHECK(t->input_schema != NULL);
	CHECK(t->output_schema != NULL);
	CHECK(t->effect == TOOL_EFFECT_WRITE);
	CHECK(t->profile == c->profiles[0]);
	CHECK_STREQ(t->profile_name, "default");
	CHECK(t->network == TOOL_NET_HOST);
	/* "//", "/./" and the trailing "/" are folded away. */
	CHECK(strv_len(t->read_paths) == 2);
	CHECK_STREQ(t->read_paths[0], "/usr");
	CHECK_STREQ(t->read_paths[1], "/etc/ssl/certs");
	CHECK(strv_len(t->write_paths) == 1);
	CHECK_STREQ(t->write_paths[0], "/var/tmp");
	struct passwd *pw = getpwnam("nobody");
	CHECK(pw != NULL);
	CHECK_STREQ(t->run_as, "nobody");
	CHECK(pw && t->uid == pw->pw_uid && t->gid == pw->pw_gid);
	CHECK(!t->run_as_root);
	CHECK(t->limits.timeout_ms == 5000);
	CHECK(t->limits.cpu_seconds == 2);
	CHECK(t->limits.memory_mb == 256);
	CHECK(t->limits.processes == 16);
	CHECK(t->limits.open_files == 64);
	CHECK(t->limits.file_size_mb == 0);
	CHECK(t->limits.output_bytes == 1048576);
	/* Sorted by name, with the default PATH added. */
	CHECK(strv_len(t->env) == 3);
	CHECK_STREQ(t->env[0], "A_FIRST=1");
	CHECK_STREQ(t->env[1], "LANG=C.UTF-8");
	CHECK_STREQ(t->env[2], "PATH=/usr/local/bin:/usr/bin:/bin");
	char *sec = json_dumps(t->secrets, JSON_COMPACT);
	CHECK_STREQ(sec, "{\"PAYMENTS_API_KEY\":\"payments-api-key\"}");
	free(sec);
	/* The value, read at load, without its trailing newline. */
	CHECK(t->secret_values && t->secret_values->n == 1);
	if (t->secret_values && t->secret_values->n == 1)
		CHECK_STREQ(t->secret_values->v[0].kv, "PAYMENTS_API_KEY=sk_test_fixture_0123456789");
	CHECK(t->enabled);
	config_unref(c);
}

TEST(a_tool_without_sandbox_block_gets_the_documented_defaults)
{
	struct tg_error e = { "" };
	struct config *c = config_load(VALID_DIR, &e);
	CHECK(c != NULL);
	const struct tool *t = c ? config_find_tool(c, "kb.search") : NULL;
	CHECK(t != NULL);
	if (!t) {
		config_unref(c);
		return;
	}
	CHECK(t->title == NULL);
	CHECK(t->output_schema == NULL);
	CHECK(t->effect == TOOL_EFFECT_READ);
	CHECK_STREQ(t->profile_name, "default");
	CHECK(t->network == TOOL_NET_NONE);
	CHECK_STREQ(t->run_as, "nobody");
	CHECK(t->limits.timeout_ms == 30000);
	CHECK(t->limits.cpu_seconds == 10);
	CHECK(t->limits.memory_mb == 512);
	CHECK(t->limits.processes == 32);
	CHECK(t->limits.open_files == 64);
	CHECK(t->limits.file_size_mb == 16);
	CHECK(t->limits.output_bytes == 1024 * 1024);
	CHECK(strv_len(t->write_paths) == 0);
	CHECK(strv_len(t->env) == 1);
	CHECK_STREQ(t->env[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	CHECK(t->secrets == NULL);
	/* The default read set, minus what this machine does not have. */
	static const char *const dflt[] = { "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin",
	                                    "/sbin", "/etc/ld.so.cache", NULL };
	size_t k = 0;
	for (const char *const *d = dflt; *d; d++) {
		struct stat st;
		if (stat(*d, &st) != 0)
			continue;
		CHECK(t->read_paths[k] != NULL);
		if (!t->read_paths[k])
			break;
		CHECK_STREQ(t->read_paths[k], *d);
		k++;
	}
	CHECK(k > 0 && t->read_paths[k] == NULL);
	config_unref(c);
}

TEST(list_entry_is_the_mcp_tools_list_entry_derived_from_the_file)
{
	struct tg_error e = { "" };
	struct config *c = config_load(VALID_DIR, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	char *kb = entry_text(c->tools[0]);
	CHECK_STREQ(kb,
		"{\"annotations\":{\"destructiveHint\":false,\"idempotentHint\":false,"
		"\"openWorldHint\":false,\"readOnlyHint\":true},"
		"\"description\":\"Search the knowledge base.\","
		"\"inputSchema\":{\"additionalProperties\":false,\"properties\":{\"q\":"
		"{\"maxLength\":200,\"type\":\"string\"}},\"required\":[\"q\"],\"type\":\"object\"},"
		"\"name\":\"kb.search\"}");
	free(kb);
	char *refund = entry_text(c->tools[1]);
	CHECK_STREQ(refund,
		"{\"annotations\":{\"destructiveHint\":true,\"idempotentHint\":false,"
		"\"openWorldHint\":true,\"readOnlyHint\":false,\"title\":\"Issue a refund\"},"
		"\"description\":\"Refund part or all of an order to the original payment method.\","
		"\"inputSchema\":{\"additionalProperties\":false,\"properties\":{"
		"\"amount_cents\":{\"maximum\":100000,\"minimum\":1,\"type\":\"integer\"},"
		"\"order_id\":{\"pattern\":\"^[A-Z0-9-]{4,32}$\",\"type\":\"string\"}},"
		"\"required\":[\"order_id\",\"amount_cents\"],\"type\":\"object\"},"
		"\"name\":\"refund.issue\",\"outputSchema\":{\"type\":\"object\"},"
		"\"title\":\"Issue a refund\"}");
	free(refund);
	config_unref(c);
}

TEST(a_tool_without_input_schema_takes_any_object_and_lists_an_empty_description)
{
	struct tg_error e = { "" };
	struct config *c = load_tool(TOOL(""), &e);
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (!c)
		return;
	CHECK(c->tools[0]->input_schema != NULL);
	char *s = entry_text(c->tools[0]);
	CHECK_STREQ(s,
		"{\"annotations\":{\"destructiveHint\":false,\"idempotentHint\":false,"
		"\"openWorldHint\":false,\"readOnlyHint\":true},\"description\":\"\","
		"\"inputSchema\":{\"type\":\"object\"},\"name\":\"t\"}");
	free(s);
	config_unref(c);
}

TEST(digest_is_sha256_over_each_files_display_path_nul_and_bytes_in_load_order)
{
	static const char *const files[] = {
		"sandbox/default.json", "tools.d/kb.search.json", "tools.d/refund.issue.json",
		"policies/support.json", NULL,
	};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (const char *const *f = files; *f; f++) {
		char path[2 * PATH_MAX], buf[65536];
		snprintf(path, sizeof path, "%s/%s", VALID_DIR, *f);
		FILE *fp = fopen(path, "rb");
		CHECK(fp != NULL);
		if (!fp)
			continue;
		size_t n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		EVP_DigestUpdate(ctx, *f, strlen(*f) + 1);
		EVP_DigestUpdate(ctx, buf, n);
	}
	unsigned char md[32];
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	char want[65];
	for (int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);

	struct tg_error e = { "" };
	struct config *c = config_load(VALID_DIR, &e);
	CHECK(c != NULL);
	CHECK_STREQ(c ? c->digest : NULL, want);
	config_unref(c);
}

TEST(digest_changes_when_any_config_file_changes)
{
	cfg_create();
	write_json("tools.d/t.json", TOOL(""));
	struct tg_error e = { "" };
	struct config *a = config_load(cfg, &e);
	write_json("policies/p.json", "{'principals': {}, 'rules': [] }");
	struct config *b = config_load(cfg, &e);
	cfg_remove();
	CHECK(a != NULL && b != NULL);
	if (a && b)
		CHECK(strcmp(a->digest, b->digest) != 0);
	config_unref(a);
	config_unref(b);
}

TEST(find_tool_returns_only_enabled_tools_by_exact_name)
{
	cfg_create();
	write_json("tools.d/a.json", "{'name': 'a', 'command': ['/bin/true'], 'effect': 'read'}");
	write_json("tools.d/b.json", "{'name': 'b', 'command': ['/bin/true'], 'effect': 'read', 'enabled': false}");
	write_json("tools.d/c.json", "{'name': 'c', 'command': ['/bin/true'], 'effect': 'read', 'enabled': true}");
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	cfg_remove();
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (!c)
		return;
	CHECK(c->ntools == 3);   /* disabled tools stay in the snapshot */
	CHECK(config_find_tool(c, "a") == c->tools[0]);
	CHECK(config_find_tool(c, "b") == NULL);
	CHECK(config_find_tool(c, "c") == c->tools[2]);
	CHECK(config_find_tool(c, "") == NULL);
	CHECK(config_find_tool(c, "a ") == NULL);
	CHECK(config_find_tool(c, "A") == NULL);
	config_unref(c);
}

TEST(tools_are_sorted_by_name_not_by_file_name)
{
	/* "a-b.json" sorts before "a.json", but the name "a" before "a-b". */
	cfg_create();
	write_json("tools.d/a-b.json", "{'name': 'a-b', 'command': ['/bin/true'], 'effect': 'read'}");
	write_json("tools.d/a.json", "{'name': 'a', 'command': ['/bin/true'], 'effect': 'read'}");
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	cfg_remove();
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STREQ(c->tools[0]->name, "a");
	CHECK_STREQ(c->tools[1]->name, "a-b");
	CHECK(config_find_tool(c, "a-b") == c->tools[1]);
	config_unref(c);
}

TEST(a_reference_keeps_the_snapshot_alive_until_the_last_unref)
{
	struct tg_error e = { "" };
	struct config *c = config_load(VALID_DIR, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(config_ref(c) == c);
	CHECK(c->refs == 2);
	config_unref(c);
	CHECK(c->refs == 1);
	CHECK_STREQ(c->tools[0]->name, "kb.search");   /* still valid (ASan would say) */
	config_unref(c);
	config_unref(NULL);
}

TEST(a_relative_command_is_resolved_against_the_config_dir)
{
	cfg_create();
	write_raw("bin/tool", "#!/bin/sh\nexit 0\n", 17, 0755);
	write_json("tools.d/t.json", "{'name': 't', 'command': ['bin/tool', '-v'], 'effect': 'read'}");
	char want[2 * PATH_MAX];
	snprintf(want, sizeof want, "%s/bin/tool", cfg);
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	cfg_remove();
	CHECK_STREQ(c ? c->tools[0]->argv[0] : e.msg, want);
	CHECK_STREQ(c ? c->tools[0]->argv[1] : e.msg, "-v");
	config_unref(c);
}

/* sha256 of "#!/bin/sh\nexit 0\n", computed with sha256sum(1). */
#define TOOL_SCRIPT_SHA256 "306c6ca7407560340797866e077e053627ad409277d1b9da58106fce4cf717cb"

TEST(a_matching_sha256_pin_loads_in_either_hex_case)
{
	cfg_create();
	write_raw("bin/tool", "#!/bin/sh\nexit 0\n", 17, 0755);
	write_json("tools.d/t.json",
		"{'name': 't', 'command': ['bin/tool'], 'effect': 'read',"
		" 'sha256': '306C6CA7407560340797866E077E053627AD409277D1B9DA58106FCE4CF717CB'}");
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	cfg_remove();
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (c) {
		CHECK(c->tools[0]->has_sha256);
		CHECK(c->tools[0]->sha256[0] == 0x30 && c->tools[0]->sha256[31] == 0xcb);
	}
	config_unref(c);
}

TEST(root_is_allowed_only_with_allow_root)
{
	struct tg_error e = { "" };
	struct config *c = load_tool(TOOL(", 'sandbox': {'run_as': 'root', 'allow_root': true}"), &e);
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (c) {
		CHECK(c->tools[0]->run_as_root);
		CHECK(c->tools[0]->uid == 0);
		CHECK_STREQ(c->tools[0]->run_as, "root");
	}
	config_unref(c);
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'run_as': 'root'}")),
		"tools.d/t.json: sandbox.run_as: \"root\" runs the tool as root; set sandbox.allow_root to true to mean it");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'run_as': 'root', 'allow_root': false}")),
		"tools.d/t.json: sandbox.run_as: \"root\" runs the tool as root; set sandbox.allow_root to true to mean it");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'allow_root': 'yes'}")),
		"tools.d/t.json: sandbox.allow_root: must be true or false");
}

TEST(env_path_given_by_the_tool_replaces_the_default)
{
	struct tg_error e = { "" };
	struct config *c = load_tool(TOOL(", 'env': {'PATH': '/opt/bin', 'Z': ''}"), &e);
	CHECK(c != NULL);
	if (c) {
		CHECK(strv_len(c->tools[0]->env) == 2);
		CHECK_STREQ(c->tools[0]->env[0], "PATH=/opt/bin");
		CHECK_STREQ(c->tools[0]->env[1], "Z=");
	}
	config_unref(c);
}

TEST(hidden_files_and_files_not_ending_in_json_are_ignored)
{
	cfg_create();
	write_json("tools.d/t.json", TOOL(""));
	write_raw("tools.d/.t.json.swp", "garbage", 7, 0644);
	write_raw("tools.d/.json", "garbage", 7, 0644);
	write_raw("tools.d/t.json~", "garbage", 7, 0644);
	write_raw("tools.d/notes.txt", "garbage", 7, 0644);
	write_raw("sandbox/README", "garbage", 7, 0644);
	CHECK_STREQ(load_cfg(), "(loaded)");
	cfg_remove();
}

TEST(an_empty_tools_dir_is_a_valid_config_with_no_tools)
{
	cfg_create();
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	cfg_remove();
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (c) {
		CHECK(c->ntools == 0);
		CHECK(config_find_tool(c, "t") == NULL);
	}
	config_unref(c);
}

/* ---- errors: the config dir and its subdirectories -------------------- */

TEST(a_missing_config_dir_is_named)
{
	struct tg_error e = { "" };
	CHECK(config_load("/nonexistent/toolgate-config", &e) == NULL);
	CHECK_STREQ(e.msg, "/nonexistent/toolgate-config: No such file or directory");
}

TEST(missing_tools_d_sandbox_or_policies_dir_is_named)
{
	static const char *const subs[] = { "tools.d", "sandbox", "policies", NULL };
	for (const char *const *s = subs; *s; s++) {
		cfg_create();
		char path[2 * PATH_MAX], want[64];
		snprintf(path, sizeof path, "%s/%s", cfg, *s);
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		snprintf(want, sizeof want, "%s: No such file or directory", *s);
		CHECK_STREQ(load_cfg(), want);
		cfg_remove();
	}
}

/* ---- errors: reading and parsing files -------------------------------- */

TEST(malformed_json_is_named_with_line_and_column)
{
	CHECK_STREQ(tool_error("{\n  'name': 't',\n  'effect': \n}\n"),
		"tools.d/t.json:4:1: unexpected token near '}'");
}

TEST(a_duplicate_key_is_a_parse_error)
{
	CHECK_STREQ(tool_error("{'name': 't', 'name': 'u'}"),
		"tools.d/t.json:1:20: duplicate object key near '\"name\"'");
}

TEST(a_tool_file_must_be_a_json_object)
{
	CHECK_STREQ(tool_error("['t']"), "tools.d/t.json: must be a JSON object");
}

TEST(nesting_deeper_than_64_levels_is_refused)
{
	char deep[1024] = "{'name': 't', 'command': ['/bin/true'], 'effect': 'read', 'env': ";
	for (int i = 0; i < 64; i++)
		strcat(deep, "[");
	for (int i = 0; i < 64; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	CHECK_STREQ(tool_error(deep), "tools.d/t.json: nested deeper than 64 levels");
}

TEST(a_file_over_one_mebibyte_is_refused)
{
	cfg_create();
	size_t n = 1048577;
	char *big = malloc(n);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	write_raw("tools.d/t.json", big, n, 0644);
	CHECK_STREQ(load_cfg(), "tools.d/t.json: larger than 1048576 bytes");
	cfg_remove();
	free(big);
}

TEST(fileio_read_at_reads_exactly_max_bytes_and_refuses_one_more)
{
	cfg_create();
	write_raw("f", "0123456789", 10, 0644);
	char path[2 * PATH_MAX];
	snprintf(path, sizeof path, "%s/f", cfg);
	char *buf = NULL;
	size_t len = 0;
	struct tg_error e = { "" };
	CHECK(fileio_read_at(AT_FDCWD, path, path, 10, &buf, &len, &e) == 0);
	CHECK(len == 10);
	CHECK_STREQ(buf, "0123456789");
	free(buf);
	buf = NULL;
	CHECK(fileio_read_at(AT_FDCWD, path, path, 9, &buf, &len, &e) == -1);
	CHECK(buf == NULL);
	char want[3 * PATH_MAX];
	snprintf(want, sizeof want, "%s: larger than 9 bytes", path);
	CHECK_STREQ(e.msg, want);
	cfg_remove();
}

TEST(a_symlinked_tool_file_is_refused)
{
	cfg_create();
	write_json("bin/real.json", TOOL(""));
	char link[2 * PATH_MAX];
	snprintf(link, sizeof link, "%s/tools.d/t.json", cfg);
	CHECK(symlink("../bin/real.json", link) == 0);
	CHECK_STREQ(load_cfg(), "tools.d/t.json: is a symbolic link; config files must be regular files");
	cfg_remove();
}

TEST(a_fifo_or_directory_in_tools_d_is_refused_without_blocking)
{
	cfg_create();
	char path[2 * PATH_MAX];
	snprintf(path, sizeof path, "%s/tools.d/t.json", cfg);
	CHECK(mkfifo(path, 0644) == 0);
	CHECK_STREQ(load_cfg(), "tools.d/t.json: not a regular file");
	unlink(path);
	CHECK(mkdir(path, 0755) == 0);
	CHECK_STREQ(load_cfg(), "tools.d/t.json: not a regular file");
	cfg_remove();
}

/* ---- errors: unknown keys --------------------------------------------- */

TEST(an_unknown_key_is_named_at_every_level)
{
	CHECK_STREQ(tool_error(TOOL(", 'nmae': 'x'")), "tools.d/t.json: nmae: unknown key");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'limts': {}}")),
		"tools.d/t.json: sandbox.limts: unknown key");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'limits': {'timeout': 5}}")),
		"tools.d/t.json: sandbox.limits.timeout: unknown key");
	CHECK_STREQ(tool_error(TOOL(", 'bad key\\n': 1")),
		"tools.d/t.json: \"bad key\\x0a\": unknown key");
}

/* ---- errors: name ----------------------------------------------------- */

TEST(a_tool_name_must_be_present_and_well_formed)
{
	CHECK_STREQ(tool_error("{'command': ['/bin/true'], 'effect': 'read'}"),
		"tools.d/t.json: name: required");
	CHECK_STREQ(tool_error("{'name': 't!', 'command': ['/bin/true'], 'effect': 'read'}"),
		"tools.d/t.json: name: \"t!\" must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
	CHECK_STREQ(tool_error("{'name': '', 'command': ['/bin/true'], 'effect': 'read'}"),
		"tools.d/t.json: name: \"\" must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
	CHECK_STREQ(tool_error("{'name': 7, 'command': ['/bin/true'], 'effect': 'read'}"),
		"tools.d/t.json: name: must be a string");
}

TEST(a_tool_name_of_65_characters_is_refused)
{
	char json[256];
	snprintf(json, sizeof json, "{'name': '%065d', 'command': ['/bin/true'], 'effect': 'read'}", 0);
	CHECK_STREQ(tool_error(json),
		"tools.d/t.json: name: \"00000000000000000000000000000000000000000000000000000000000000000\""
		" must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
}

TEST(the_file_name_must_be_the_tool_name_dot_json)
{
	CHECK_STREQ(tool_error("{'name': 'other', 'command': ['/bin/true'], 'effect': 'read'}"),
		"tools.d/t.json: name: \"other\" does not match the file name; rename the file to tools.d/other.json");
}

/* ---- errors: command and sha256 --------------------------------------- */

TEST(command_must_be_a_non_empty_argv_of_non_empty_strings)
{
	const char *argv_msg =
		"tools.d/t.json: command: must be a non-empty array of strings (an argv, not a shell line)";
	CHECK_STREQ(tool_error("{'name': 't', 'command': '/bin/true -v', 'effect': 'read'}"), argv_msg);
	CHECK_STREQ(tool_error("{'name': 't', 'command': [], 'effect': 'read'}"), argv_msg);
	CHECK_STREQ(tool_error("{'name': 't', 'effect': 'read'}"), "tools.d/t.json: command: required");
	CHECK_STREQ(tool_error("{'name': 't', 'command': ['/bin/true', ''], 'effect': 'read'}"),
		"tools.d/t.json: command[1]: must not be empty");
	CHECK_STREQ(tool_error("{'name': 't', 'command': ['/bin/true', 1], 'effect': 'read'}"),
		"tools.d/t.json: command[1]: must be a string");
}

TEST(a_missing_command_binary_is_named_by_its_resolved_path)
{
	const char *msg = tool_error("{'name': 't', 'command': ['bin/missing'], 'effect': 'read'}");
	char want[2 * PATH_MAX];
	snprintf(want, sizeof want, "tools.d/t.json: command[0]: %s/bin/missing: No such file or directory", cfg);
	CHECK_STREQ(msg, want);
}

TEST(a_command_binary_must_be_an_executable_regular_file)
{
	char want[2 * PATH_MAX];
	cfg_create();
	write_raw("bin/tool", "#!/bin/sh\nexit 0\n", 17, 0644);
	write_json("tools.d/t.json", "{'name': 't', 'command': ['bin/tool'], 'effect': 'read'}");
	snprintf(want, sizeof want, "tools.d/t.json: command[0]: %s/bin/tool: not executable", cfg);
	CHECK_STREQ(load_cfg(), want);
	write_json("tools.d/t.json", "{'name': 't', 'command': ['bin'], 'effect': 'read'}");
	snprintf(want, sizeof want, "tools.d/t.json: command[0]: %s/bin: not a regular file", cfg);
	CHECK_STREQ(load_cfg(), want);
	cfg_remove();
}

TEST(a_sha256_mismatch_names_the_binary_and_both_digests)
{
	char want[2 * PATH_MAX];
	cfg_create();
	write_raw("bin/tool", "#!/bin/sh\nexit 0\n", 17, 0755);
	write_json("tools.d/t.json",
		"{'name': 't', 'command': ['bin/tool'], 'effect': 'read',"
		" 'sha256': '00000000000000000000000000000000000000000000000000000000000000ff'}");
	snprintf(want, sizeof want,
		"tools.d/t.json: sha256: %s/bin/tool has SHA-256 " TOOL_SCRIPT_SHA256
		", but the tool file pins 00000000000000000000000000000000000000000000000000000000000000ff",
		cfg);
	CHECK_STREQ(load_cfg(), want);
	cfg_remove();
}

TEST(a_sha256_pin_must_be_64_hex_digits)
{
	CHECK_STREQ(tool_error(TOOL(", 'sha256': 'abc'")),
		"tools.d/t.json: sha256: must be 64 hexadecimal digits");
	CHECK_STREQ(tool_error(TOOL(", 'sha256': 'zz6c6ca7407560340797866e077e053627ad409277d1b9da58106fce4cf717cb'")),
		"tools.d/t.json: sha256: must be 64 hexadecimal digits");
}

/* ---- errors: schemas and effect --------------------------------------- */

TEST(an_unsupported_schema_keyword_is_a_load_error_naming_file_and_field)
{
	const char *msg = tool_error(TOOL(", 'input_schema': {'type': 'object',"
	                                  " 'properties': {'q': {'type': 'string', 'format': 'email'}}}"));
	CHECK_CONTAINS(msg, "tools.d/t.json: input_schema");
	CHECK_CONTAINS(msg, "properties.q");
	CHECK_CONTAINS(msg, "format");
	msg = tool_error(TOOL(", 'output_schema': {'type': 'object', 'oneOf': []}"));
	CHECK_CONTAINS(msg, "tools.d/t.json: output_schema");
	CHECK_CONTAINS(msg, "oneOf");
}

TEST(input_and_output_schemas_must_describe_an_object)
{
	CHECK_STREQ(tool_error(TOOL(", 'input_schema': {'type': 'string'}")),
		"tools.d/t.json: input_schema.type: must be \"object\" (MCP tools take and return JSON objects)");
	CHECK_STREQ(tool_error(TOOL(", 'input_schema': {}")),
		"tools.d/t.json: input_schema.type: must be \"object\" (MCP tools take and return JSON objects)");
	CHECK_STREQ(tool_error(TOOL(", 'input_schema': true")),
		"tools.d/t.json: input_schema: must be a JSON Schema object with \"type\": \"object\"");
	CHECK_STREQ(tool_error(TOOL(", 'output_schema': {'type': 'array'}")),
		"tools.d/t.json: output_schema.type: must be \"object\" (MCP tools take and return JSON objects)");
}

TEST(effect_is_required_and_is_read_or_write)
{
	CHECK_STREQ(tool_error("{'name': 't', 'command': ['/bin/true']}"),
		"tools.d/t.json: effect: required (\"read\" or \"write\")");
	CHECK_STREQ(tool_error("{'name': 't', 'command': ['/bin/true'], 'effect': 'delete'}"),
		"tools.d/t.json: effect: \"delete\" is not one of \"read\", \"write\"");
}

/* ---- errors: sandbox -------------------------------------------------- */

TEST(an_unknown_profile_is_named_with_the_file_it_expects)
{
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'profile': 'strict'}")),
		"tools.d/t.json: sandbox.profile: no profile \"strict\" (expected sandbox/strict.json)");
	/* Without sandbox/default.json, a tool that names no profile cannot load. */
	cfg_create();
	char path[2 * PATH_MAX];
	snprintf(path, sizeof path, "%s/sandbox/default.json", cfg);
	unlink(path);
	write_json("tools.d/t.json", TOOL(""));
	CHECK_STREQ(load_cfg(),
		"tools.d/t.json: sandbox.profile: no profile \"default\" (expected sandbox/default.json)");
	cfg_remove();
}

TEST(a_profile_is_found_by_its_file_name)
{
	cfg_create();
	write_json("sandbox/strict-1.json", profile_json);
	write_json("tools.d/t.json", TOOL(", 'sandbox': {'profile': 'strict-1'}"));
	struct tg_error e = { "" };
	struct config *c = config_load(cfg, &e);
	cfg_remove();
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (c) {
		CHECK(c->nprofiles == 2);
		CHECK_STREQ(c->tools[0]->profile->name, "strict-1");
		CHECK_STREQ(c->tools[0]->profile_name, "strict-1");
	}
	config_unref(c);
}

TEST(a_profile_file_name_must_be_a_valid_profile_name)
{
	cfg_create();
	write_json("sandbox/my.profile.json", profile_json);
	CHECK_STREQ(load_cfg(),
		"sandbox/my.profile.json: profile name \"my.profile\" must be 1 to 64 characters of A-Z a-z 0-9 _ -");
	cfg_remove();
}

TEST(a_profile_compile_error_names_the_profile_file)
{
	cfg_create();
	write_json("sandbox/bad.json", "{'syscalls': []}");
	CHECK_CONTAINS(load_cfg(), "sandbox/bad.json: ");
	write_json("sandbox/bad.json", "{'defaultAction': 'SCMP_ACT_ALLOW',}");
	CHECK_STREQ(load_cfg(), "sandbox/bad.json:1:36: string or '}' expected near '}'");
	cfg_remove();
}

TEST(a_policy_error_names_the_policy_file)
{
	cfg_create();
	write_json("policies/p.json", "{'principals': {}, 'rulez': []}");
	CHECK_CONTAINS(load_cfg(), "policies/p.json: ");
	cfg_remove();
}

TEST(network_is_none_loopback_or_host)
{
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'network': 'internet'}")),
		"tools.d/t.json: sandbox.network: \"internet\" is not one of \"none\", \"loopback\", \"host\"");
	struct tg_error e = { "" };
	struct config *c = load_tool(TOOL(", 'sandbox': {'network': 'loopback'}"), &e);
	CHECK(c && c->tools[0]->network == TOOL_NET_LOOPBACK);
	config_unref(c);
}

TEST(sandbox_paths_must_be_absolute_without_dot_dot)
{
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'read_paths': ['usr']}")),
		"tools.d/t.json: sandbox.read_paths[0]: \"usr\" must be an absolute path");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'read_paths': ['/usr', '']}")),
		"tools.d/t.json: sandbox.read_paths[1]: \"\" must be an absolute path");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'write_paths': ['/tmp/../etc']}")),
		"tools.d/t.json: sandbox.write_paths[0]: \"/tmp/../etc\" must not contain \"..\"");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'write_paths': '/tmp'}")),
		"tools.d/t.json: sandbox.write_paths: must be an array of absolute paths");
}

TEST(an_explicit_empty_read_paths_means_nothing_is_visible)
{
	struct tg_error e = { "" };
	struct config *c = load_tool(TOOL(", 'sandbox': {'read_paths': []}"), &e);
	CHECK(c != NULL);
	CHECK(c && strv_len(c->tools[0]->read_paths) == 0);
	config_unref(c);
}

TEST(run_as_must_name_an_existing_user)
{
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': {'run_as': 'no-such-user-here'}")),
		"tools.d/t.json: sandbox.run_as: no such user \"no-such-user-here\"");
}

TEST(each_limit_must_be_an_integer_within_its_bounds)
{
	static const struct { const char *json, *msg; } cases[] = {
		{ TOOL(", 'sandbox': {'limits': {'timeout_ms': 0}}"),
		  "tools.d/t.json: sandbox.limits.timeout_ms: must be an integer between 1 and 86400000" },
		{ TOOL(", 'sandbox': {'limits': {'timeout_ms': 86400001}}"),
		  "tools.d/t.json: sandbox.limits.timeout_ms: must be an integer between 1 and 86400000" },
		{ TOOL(", 'sandbox': {'limits': {'cpu_seconds': 86401}}"),
		  "tools.d/t.json: sandbox.limits.cpu_seconds: must be an integer between 1 and 86400" },
		{ TOOL(", 'sandbox': {'limits': {'memory_mb': 7}}"),
		  "tools.d/t.json: sandbox.limits.memory_mb: must be an integer between 8 and 1048576" },
		{ TOOL(", 'sandbox': {'limits': {'processes': -1}}"),
		  "tools.d/t.json: sandbox.limits.processes: must be an integer between 1 and 65536" },
		{ TOOL(", 'sandbox': {'limits': {'open_files': 3}}"),
		  "tools.d/t.json: sandbox.limits.open_files: must be an integer between 4 and 1048576" },
		{ TOOL(", 'sandbox': {'limits': {'file_size_mb': 1048577}}"),
		  "tools.d/t.json: sandbox.limits.file_size_mb: must be an integer between 0 and 1048576" },
		{ TOOL(", 'sandbox': {'limits': {'output_bytes': 268435457}}"),
		  "tools.d/t.json: sandbox.limits.output_bytes: must be an integer between 1 and 268435456" },
		{ TOOL(", 'sandbox': {'limits': {'cpu_seconds': 1.5}}"),
		  "tools.d/t.json: sandbox.limits.cpu_seconds: must be an integer between 1 and 86400" },
		{ TOOL(", 'sandbox': {'limits': {'cpu_seconds': '10'}}"),
		  "tools.d/t.json: sandbox.limits.cpu_seconds: must be an integer between 1 and 86400" },
		{ TOOL(", 'sandbox': {'limits': 5}"),
		  "tools.d/t.json: sandbox.limits: must be an object" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK_STREQ(tool_error(cases[i].json), cases[i].msg);
}

TEST(limits_at_their_bounds_are_accepted)
{
	struct tg_error e = { "" };
	struct config *c = load_tool(TOOL(", 'sandbox': {'limits': {'timeout_ms': 86400000,"
	                                  " 'cpu_seconds': 1, 'memory_mb': 8, 'processes': 65536,"
	                                  " 'open_files': 4, 'file_size_mb': 0, 'output_bytes': 268435456}}"), &e);
	CHECK_STREQ(c ? "(loaded)" : e.msg, "(loaded)");
	if (c) {
		CHECK(c->tools[0]->limits.timeout_ms == 86400000);
		CHECK(c->tools[0]->limits.memory_mb == 8);
		CHECK(c->tools[0]->limits.file_size_mb == 0);
		CHECK(c->tools[0]->limits.output_bytes == 268435456);
	}
	config_unref(c);
}

/* ---- errors: env, secrets, enabled ------------------------------------ */

TEST(env_names_must_be_valid_and_values_strings)
{
	CHECK_STREQ(tool_error(TOOL(", 'env': {'1X': 'a'}")),
		"tools.d/t.json: env: \"1X\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
	CHECK_STREQ(tool_error(TOOL(", 'env': {'A=B': 'a'}")),
		"tools.d/t.json: env: \"A=B\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
	CHECK_STREQ(tool_error(TOOL(", 'env': {'A': 1}")), "tools.d/t.json: env.A: must be a string");
	CHECK_STREQ(tool_error(TOOL(", 'env': ['A=1']")), "tools.d/t.json: env: must be an object of strings");
}

TEST(tmpdir_and_home_are_set_by_the_broker_not_by_env)
{
	CHECK_STREQ(tool_error(TOOL(", 'env': {'TMPDIR': '/tmp'}")),
		"tools.d/t.json: env.TMPDIR: set by the broker to the call's scratch directory; remove it");
	CHECK_STREQ(tool_error(TOOL(", 'env': {'HOME': '/root'}")),
		"tools.d/t.json: env.HOME: set by the broker to the call's scratch directory; remove it");
}

TEST(secrets_map_valid_env_names_to_secret_file_names)
{
	CHECK_STREQ(tool_error(TOOL(", 'secrets': {'KEY': '../etc/shadow'}")),
		"tools.d/t.json: secrets.KEY: \"../etc/shadow\" must be a file name in secrets/ (1 to 128 characters of A-Z a-z 0-9 _ . -, not starting with \".\")");
	CHECK_STREQ(tool_error(TOOL(", 'secrets': {'KEY': '.hidden'}")),
		"tools.d/t.json: secrets.KEY: \".hidden\" must be a file name in secrets/ (1 to 128 characters of A-Z a-z 0-9 _ . -, not starting with \".\")");
	CHECK_STREQ(tool_error(TOOL(", 'secrets': {'K-1': 'k'}")),
		"tools.d/t.json: secrets: \"K-1\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
	CHECK_STREQ(tool_error(TOOL(", 'env': {'KEY': 'x'}, 'secrets': {'KEY': 'k'}")),
		"tools.d/t.json: secrets.KEY: also set in env; a variable comes from one or the other");
	CHECK_STREQ(tool_error(TOOL(", 'secrets': {'HOME': 'k'}")),
		"tools.d/t.json: secrets.HOME: set by the broker to the call's scratch directory; remove it");
	CHECK_STREQ(tool_error(TOOL(", 'secrets': ['k']")),
		"tools.d/t.json: secrets: must be an object from environment variable to secret name");
}

TEST(enabled_title_and_description_have_their_types_checked)
{
	CHECK_STREQ(tool_error(TOOL(", 'enabled': 'no'")), "tools.d/t.json: enabled: must be true or false");
	CHECK_STREQ(tool_error(TOOL(", 'title': 5")), "tools.d/t.json: title: must be a string");
	CHECK_STREQ(tool_error(TOOL(", 'description': null")), "tools.d/t.json: description: must be a string");
	CHECK_STREQ(tool_error(TOOL(", 'sandbox': []")), "tools.d/t.json: sandbox: must be an object");
}

TEST(the_first_bad_file_in_name_order_is_the_one_reported)
{
	cfg_create();
	write_json("tools.d/b.json", "{'name': 'b', 'command': ['/bin/true'], 'effect': 'nope'}");
	write_json("tools.d/a.json", "{'name': 'a', 'command': ['/bin/true'], 'effect': 'nope'}");
	CHECK_STREQ(load_cfg(), "tools.d/a.json: effect: \"nope\" is not one of \"read\", \"write\"");
	cfg_remove();
}

TEST(a_rule_may_only_test_arguments_its_tools_declare)
{
	cfg_create();
	write_json("tools.d/refund.issue.json",
		"{'name': 'refund.issue', 'command': ['/bin/true'], 'effect': 'write',"
		" 'input_schema': {'type': 'object', 'properties': {'amount_cents': {'type': 'integer'}}}}");
	write_json("tools.d/kb.search.json",
		"{'name': 'kb.search', 'command': ['/bin/true'], 'effect': 'read'}");
	write_json("policies/p.json",
		"{'principals': {'bot': {'uids': [5]}}, 'rules': ["
		" {'id': 'ok', 'effect': 'permit', 'agents': ['bot'], 'tools': ['refund.issue'],"
		"  'when': {'args.amount_cents': {'<=': 5000}}},"
		" {'id': 'typo', 'effect': 'permit', 'agents': ['bot'], 'tools': ['refund.*'],"
		"  'when': {'args.amount': {'<=': 5000}}}]}");
	CHECK_STREQ(load_cfg(), "policies/p.json: rules[1].when.args.amount: tool refund.issue has no "
	                        "argument \"amount\"");
	/* A pattern that names a tool without the argument is caught too. */
	write_json("policies/p.json",
		"{'principals': {'bot': {'uids': [5]}}, 'rules': ["
		" {'id': 'paths', 'effect': 'forbid', 'agents': ['*'], 'tools': ['*'],"
		"  'when': {'args.amount_cents': {'>': 100}}}]}");
	CHECK_STREQ(load_cfg(), "policies/p.json: rules[0].when.args.amount_cents: tool kb.search has no "
	                        "argument \"amount_cents\"");
	write_json("policies/p.json",
		"{'principals': {'bot': {'uids': [5]}}, 'rules': ["
		" {'id': 'ok', 'effect': 'permit', 'agents': ['bot'], 'tools': ['refund.issue'],"
		"  'when': {'args.amount_cents': {'<=': 5000}}}]}");
	CHECK_STREQ(load_cfg(), "(loaded)");
	cfg_remove();
}

int main(void)
{
	/* git keeps no mode but 0644 and 0755: the fixture's secret gets the
	   mode a secret must have (secrets.h) here. */
	if (chmod(VALID_DIR "/secrets/payments-api-key", 0600) != 0) {
		perror(VALID_DIR "/secrets/payments-api-key");
		return 1;
	}
	RUN(a_rule_may_only_test_arguments_its_tools_declare);
	RUN(valid_fixture_loads_two_tools_one_profile_and_the_policy);
	RUN(every_field_of_a_full_tool_file_reaches_the_snapshot);
	RUN(a_tool_without_sandbox_block_gets_the_documented_defaults);
	RUN(list_entry_is_the_mcp_tools_list_entry_derived_from_the_file);
	RUN(a_tool_without_input_schema_takes_any_object_and_lists_an_empty_description);
	RUN(digest_is_sha256_over_each_files_display_path_nul_and_bytes_in_load_order);
	RUN(digest_changes_when_any_config_file_changes);
	RUN(find_tool_returns_only_enabled_tools_by_exact_name);
	RUN(tools_are_sorted_by_name_not_by_file_name);
	RUN(a_reference_keeps_the_snapshot_alive_until_the_last_unref);
	RUN(a_relative_command_is_resolved_against_the_config_dir);
	RUN(a_matching_sha256_pin_loads_in_either_hex_case);
	RUN(root_is_allowed_only_with_allow_root);
	RUN(env_path_given_by_the_tool_replaces_the_default);
	RUN(hidden_files_and_files_not_ending_in_json_are_ignored);
	RUN(an_empty_tools_dir_is_a_valid_config_with_no_tools);
	RUN(a_missing_config_dir_is_named);
	RUN(missing_tools_d_sandbox_or_policies_dir_is_named);
	RUN(malformed_json_is_named_with_line_and_column);
	RUN(a_duplicate_key_is_a_parse_error);
	RUN(a_tool_file_must_be_a_json_object);
	RUN(nesting_deeper_than_64_levels_is_refused);
	RUN(a_file_over_one_mebibyte_is_refused);
	RUN(fileio_read_at_reads_exactly_max_bytes_and_refuses_one_more);
	RUN(a_symlinked_tool_file_is_refused);
	RUN(a_fifo_or_directory_in_tools_d_is_refused_without_blocking);
	RUN(an_unknown_key_is_named_at_every_level);
	RUN(a_tool_name_must_be_present_and_well_formed);
	RUN(a_tool_name_of_65_characters_is_refused);
	RUN(the_file_name_must_be_the_tool_name_dot_json);
	RUN(command_must_be_a_non_empty_argv_of_non_empty_strings);
	RUN(a_missing_command_binary_is_named_by_its_resolved_path);
	RUN(a_command_binary_must_be_an_executable_regular_file);
	RUN(a_sha256_mismatch_names_the_binary_and_both_digests);
	RUN(a_sha256_pin_must_be_64_hex_digits);
	RUN(an_unsupported_schema_keyword_is_a_load_error_naming_file_and_field);
	RUN(input_and_output_schemas_must_describe_an_object);
	RUN(effect_is_required_and_is_read_or_write);
	RUN(an_unknown_profile_is_named_with_the_file_it_expects);
	RUN(a_profile_is_found_by_its_file_name);
	RUN(a_profile_file_name_must_be_a_valid_profile_name);
	RUN(a_profile_compile_error_names_the_profile_file);
	RUN(a_policy_error_names_the_policy_file);
	RUN(network_is_none_loopback_or_host);
	RUN(sandbox_paths_must_be_absolute_without_dot_dot);
	RUN(an_explicit_empty_read_paths_means_nothing_is_visible);
	RUN(run_as_must_name_an_existing_user);
	RUN(each_limit_must_be_an_integer_within_its_bounds);
	RUN(limits_at_their_bounds_are_accepted);
	RUN(env_names_must_be_valid_and_values_strings);
	RUN(tmpdir_and_home_are_set_by_the_broker_not_by_env);
	RUN(secrets_map_valid_env_names_to_secret_file_names);
	RUN(enabled_title_and_description_have_their_types_checked);
	RUN(the_first_bad_file_in_name_order_is_the_one_reported);
	return TEST_SUMMARY();
}
