/*
 * test_policy.c: loading the policies/ directory and deciding (src/policy.c).
 *
 * Policy texts are written with single quotes for readability; put() turns
 * them into double quotes before writing the file.  Every load happens in a
 * fresh temporary directory shown as "policies" in error messages.
 */
#include "policy.h"
#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixtures ---- */

static char *requote(const char *text)
{
	char *s = strdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static void make_dir(char *path, size_t n)
{
	snprintf(path, n, "/tmp/tg-policy-test-XXXXXX");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	char *s = requote(text);
	fputs(s, f);
	free(s);
	fclose(f);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0)
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
	rmdir(dir);
}

/* Load up to three files (NULL name ends the list) from a fresh directory. */
static struct policy_set *load_files(const char *n1, const char *t1, const char *n2, const char *t2,
                                     const char *n3, const char *t3, struct tg_error *err)
{
	char dir[64];
	make_dir(dir, sizeof dir);
	if (n1)
		put(dir, n1, t1);
	if (n2)
		put(dir, n2, t2);
	if (n3)
		put(dir, n3, t3);
	err->msg[0] = '\0';
	struct policy_set *ps = policy_load_dir(dir, "policies", err);
	remove_dir(dir);
	return ps;
}

static struct policy_set *load_text(const char *text, struct tg_error *err)
{
	return load_files("support.json", text, NULL, NULL, NULL, NULL, err);
}

#define CHECK_LOAD_ERROR(text, expected) do { \
	struct tg_error e_; \
	struct policy_set *p_ = load_text(text, &e_); \
	CHECK(p_ == NULL); \
	CHECK_STREQ(e_.msg, expected); \
	policy_free(p_); \
} while (0)

#define PRINCIPALS "'principals': {'support-bot': {'uids': [1001]}, " \
	"'support-lead': {'uids': [1002], 'gids': []}, 'ops': {'gids': [60]}}"

/* A one-rule policy for support-bot on tool "t" with the given `when`. */
static struct policy_set *load_when(const char *effect, const char *when, struct tg_error *err)
{
	char text[2048];
	snprintf(text, sizeof text,
	         "{" PRINCIPALS ", 'rules': [{'id': 'r', 'effect': '%s', 'agents': ['support-bot'], "
	         "'tools': ['t'], 'when': %s}%s]}",
	         effect, when,
	         strcmp(effect, "forbid") == 0
	                 ? ", {'id': 'base', 'effect': 'permit', 'agents': ['*'], 'tools': ['*']}"
	                 : "");
	return load_text(text, err);
}

static struct policy_decision decision;
static char rules_text[512];

/* Decide and keep the result in `decision`; rules_text is its rules as JSON. */
static enum policy_effect decide_as(const struct policy_set *ps, const char *principal,
                                    const char *user, const char *tool, const char *args_text)
{
	policy_decision_clear(&decision);
	json_t *args = NULL;
	if (args_text) {
		char *s = requote(args_text);
		json_error_t jerr;
		args = json_loads(s, 0, &jerr);
		free(s);
		if (!args) {
			fprintf(stderr, "bad test args: %s\n", jerr.text);
			abort();
		}
	}
	policy_decide(ps, principal, user, tool, args, &decision);
	json_decref(args);
	char *r = decision.rules ? json_dumps(decision.rules, JSON_COMPACT) : NULL;
	snprintf(rules_text, sizeof rules_text, "%s", r ? r : "(null)");
	free(r);
	return decision.effect;
}

static enum policy_effect decide(const struct policy_set *ps, const char *args_text)
{
	return decide_as(ps, "support-bot", NULL, "t", args_text);
}

/* ---- loading: directory handling ---- */

TEST(missing_directory_is_an_empty_policy_set_that_denies_everything)
{
	struct tg_error err = { "" };
	struct policy_set *ps = policy_load_dir("/nonexistent/toolgate/policies", "policies", &err);
	CHECK(ps != NULL);
	CHECK(!policy_has_principal(ps, "support-bot"));
	CHECK(policy_principal_for_peer(ps, 0, 0) == NULL);
	CHECK(decide_as(ps, NULL, NULL, "kb.search", "{}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "caller maps to no principal");
	CHECK_STREQ(rules_text, "[]");
	policy_free(ps);
}

TEST(empty_directory_is_an_empty_policy_set)
{
	struct tg_error err;
	struct policy_set *ps = load_files(NULL, NULL, NULL, NULL, NULL, NULL, &err);
	CHECK(ps != NULL);
	CHECK(!policy_tool_visible(ps, "support-bot", "kb.search"));
	policy_free(ps);
}

TEST(directory_that_is_a_file_is_an_error)
{
	struct tg_error err;
	struct policy_set *ps = policy_load_dir("/dev/null", "policies", &err);
	CHECK(ps == NULL);
	CHECK_STREQ(err.msg, "policies: cannot open directory: Not a directory");
}

TEST(only_visible_json_regular_files_are_read)
{
	char dir[64];
	make_dir(dir, sizeof dir);
	put(dir, "a.json", "{" PRINCIPALS "}");
	put(dir, "broken.txt", "not json");
	put(dir, ".hidden.json", "not json");
	put(dir, "a.json~", "not json");
	char sub[128];
	snprintf(sub, sizeof sub, "%s/sub.json", dir);
	CHECK(mkdir(sub, 0700) == 0);
	struct tg_error err = { "" };
	struct policy_set *ps = policy_load_dir(dir, "policies", &err);
	CHECK(ps != NULL);
	CHECK_STREQ(err.msg, "");
	CHECK(policy_has_principal(ps, "support-bot"));
	policy_free(ps);
	remove_dir(dir);
}

TEST(files_load_in_name_order_whatever_order_they_were_written)
{
	struct tg_error err;
	const char *rule = "{'rules': [{'id': 'same', 'effect': 'forbid', 'agents': ['*'], 'tools': ['x']}]}";
	struct policy_set *ps = load_files("b.json", rule, "a.json", rule, NULL, NULL, &err);
	CHECK(ps == NULL);
	CHECK_STREQ(err.msg, "policies/b.json: rules[0].id: duplicate rule id \"same\" (also rules[0] of policies/a.json)");
}

TEST(rules_may_name_principals_that_a_later_file_defines)
{
	struct tg_error err = { "" };
	struct policy_set *ps = load_files(
		"a-rules.json", "{'rules': [{'id': 'kb', 'effect': 'permit', 'agents': ['bot'], 'tools': ['kb.*']}]}",
		"b-principals.json", "{'principals': {'bot': {'uids': [7]}}}", NULL, NULL, &err);
	CHECK(ps != NULL);
	CHECK_STREQ(err.msg, "");
	CHECK(decide_as(ps, "bot", NULL, "kb.search", "{}") == POLICY_PERMIT);
	policy_free(ps);
}

TEST(file_over_one_mebibyte_is_refused)
{
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	struct tg_error err;
	struct policy_set *ps = load_text(big, &err);
	CHECK(ps == NULL);
	CHECK_STREQ(err.msg, "policies/support.json: larger than the 1 MiB limit");
	free(big);

	/* Exactly 1 MiB is still fine. */
	big = malloc(n);
	memset(big, ' ', n - 1);
	big[0] = '{';
	big[n - 2] = '}';
	big[n - 1] = '\0';
	ps = load_text(big, &err);
	CHECK(ps != NULL);
	policy_free(ps);
	free(big);
}

/* ---- loading: document errors ---- */

TEST(json_syntax_error_names_file_line_and_column)
{
	CHECK_LOAD_ERROR("{'rules': [}",
	                 "policies/support.json: line 1 column 12: unexpected token near '}'");
}

TEST(duplicate_keys_are_rejected)
{
	CHECK_LOAD_ERROR("{'rules': [], 'rules': []}",
	                 "policies/support.json: line 1 column 21: duplicate object key near '\"rules\"'");
}

TEST(top_level_must_be_an_object)
{
	CHECK_LOAD_ERROR("[]", "policies/support.json: must be a JSON object (with principals, rules)");
}

TEST(nesting_deeper_than_32_levels_is_refused)
{
	char text[256] = "{'rules': [{'id': 'r', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], "
	                 "'when': {'args.a': {'==': ";
	for (int i = 0; i < 30; i++)
		strcat(text, "[");
	for (int i = 0; i < 30; i++)
		strcat(text, "]");
	strcat(text, "}}}]}");
	CHECK_LOAD_ERROR(text, "policies/support.json: nested deeper than 32 levels");
}

TEST(unknown_keys_are_errors_naming_file_and_field)
{
	CHECK_LOAD_ERROR("{'rule': []}", "policies/support.json: rule: unknown key");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'uids': [1], 'gid': [2]}}}",
	                 "policies/support.json: principals.bot.gid: unknown key");
	CHECK_LOAD_ERROR("{" PRINCIPALS ", 'rules': ["
	                 "{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']},"
	                 "{'id': 'b', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']},"
	                 "{'id': 'c', 'efect': 'permit', 'agents': ['*'], 'tools': ['t']}]}",
	                 "policies/support.json: rules[2].efect: unknown key");
}

TEST(wrong_shapes_of_top_level_members_are_errors)
{
	CHECK_LOAD_ERROR("{'principals': []}",
	                 "policies/support.json: principals: must be an object of name to {\"uids\", \"gids\"}");
	CHECK_LOAD_ERROR("{'rules': {}}", "policies/support.json: rules: must be an array");
	CHECK_LOAD_ERROR("{'rules': [5]}", "policies/support.json: rules[0]: must be an object");
	CHECK_LOAD_ERROR("{'rate_limits': {}}", "policies/support.json: rate_limits: must be an array");
}

TEST(rate_limits_load_with_every_field_and_an_empty_list_is_fine)
{
	struct tg_error err = { "" };
	struct policy_set *ps = load_text("{" PRINCIPALS ", 'rate_limits': ["
		"{'agents': ['support-bot'], 'tools': ['refund.issue'], 'per': 'user', 'calls': 10, 'seconds': 3600},"
		"{'id': 'kb-burst', 'description': 'keep the search index alive', 'agents': ['support-lead', '*'],"
		" 'tools': ['kb.*', 'files.read'], 'per': 'tool', 'calls': 1000000, 'seconds': 31536000}]}", &err);
	CHECK(ps != NULL);
	CHECK_STREQ(err.msg, "");
	CHECK(policy_rate_limit_count(ps) == 2);
	const struct policy_rate_limit *rl = policy_rate_limit_at(ps, 0);
	CHECK(rl != NULL && rl->id == NULL);
	CHECK(rl != NULL && rl->nagents == 1 && !rl->any_agent && rl->ntools == 1);
	CHECK_STREQ(rl ? rl->agents[0] : NULL, "support-bot");
	CHECK_STREQ(rl ? rl->tools[0] : NULL, "refund.issue");
	CHECK(rl != NULL && rl->per == POLICY_PER_USER && rl->calls == 10 && rl->seconds == 3600);
	CHECK_STREQ(rl ? rl->file : NULL, "policies/support.json");
	CHECK(rl != NULL && rl->index == 0);
	CHECK_STREQ(rl ? rl->identity : NULL, "{\"agents\":[\"support-bot\"],\"calls\":10,\"per\":\"user\","
	                                      "\"seconds\":3600,\"tools\":[\"refund.issue\"]}");
	rl = policy_rate_limit_at(ps, 1);
	CHECK_STREQ(rl ? rl->id : NULL, "kb-burst");
	CHECK(rl != NULL && rl->nagents == 2 && rl->any_agent && rl->ntools == 2);
	CHECK(rl != NULL && rl->per == POLICY_PER_TOOL && rl->calls == 1000000 && rl->seconds == 31536000);
	CHECK(rl != NULL && rl->index == 1);
	CHECK(policy_rate_limit_at(ps, 2) == NULL);
	policy_free(ps);

	ps = load_text("{'rate_limits': []}", &err);
	CHECK(ps != NULL);
	CHECK(policy_rate_limit_count(ps) == 0);
	CHECK(policy_rate_limit_at(ps, 0) == NULL);
	policy_free(ps);
	CHECK(policy_rate_limit_count(NULL) == 0);
}

#define RATE_ERR(limit, expected) \
	CHECK_LOAD_ERROR("{" PRINCIPALS ", 'rate_limits': [" limit "]}", "policies/support.json: " expected)
#define RL_OK "{'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}"

TEST(rate_limit_field_errors_name_the_entry_and_field)
{
	RATE_ERR("5", "rate_limits[0]: must be an object");
	RATE_ERR(RL_OK ", {'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1, 'window': 5}",
	         "rate_limits[1].window: unknown key");
	RATE_ERR("{'id': 7, 'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].id: must be a string");
	RATE_ERR("{'id': 'per user', 'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].id: invalid rate limit id \"per user\" (expected 1 to 64 of A-Z a-z 0-9 . _ -)");
	RATE_ERR("{'id': 'cap', 'agents': ['*'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1},"
	         "{'id': 'cap', 'agents': ['*'], 'tools': ['u'], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[1].id: duplicate rate limit id \"cap\" (also rate_limits[0] of policies/support.json)");
	RATE_ERR("{'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}", "rate_limits[0]: missing \"agents\"");
	RATE_ERR("{'agents': [], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].agents: must be a non-empty array of principal names or \"*\"");
	RATE_ERR("{'agents': ['*', ''], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].agents[1]: must be a non-empty string");
	RATE_ERR(RL_OK ", {'agents': ['support-bot', 'suport-lead'], 'tools': ['t'], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[1].agents[1]: unknown principal \"suport-lead\"");
	RATE_ERR("{'agents': ['*'], 'per': 'agent', 'calls': 1, 'seconds': 1}", "rate_limits[0]: missing \"tools\"");
	RATE_ERR("{'agents': ['*'], 'tools': 'kb.*', 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].tools: must be a non-empty array of tool names or patterns");
	RATE_ERR("{'agents': ['*'], 'tools': [null], 'per': 'agent', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].tools[0]: must be a non-empty string");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'calls': 1, 'seconds': 1}", "rate_limits[0]: missing \"per\"");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'session', 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].per: must be \"agent\", \"user\" or \"tool\"");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': ['user'], 'calls': 1, 'seconds': 1}",
	         "rate_limits[0].per: must be \"agent\", \"user\" or \"tool\"");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'seconds': 1}", "rate_limits[0]: missing \"calls\"");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 0, 'seconds': 1}",
	         "rate_limits[0].calls: must be an integer from 1 to 1000000");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1000001, 'seconds': 1}",
	         "rate_limits[0].calls: must be an integer from 1 to 1000000");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1.5, 'seconds': 1}",
	         "rate_limits[0].calls: must be an integer from 1 to 1000000");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': '10', 'seconds': 1}",
	         "rate_limits[0].calls: must be an integer from 1 to 1000000");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1}", "rate_limits[0]: missing \"seconds\"");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1, 'seconds': 0}",
	         "rate_limits[0].seconds: must be an integer from 1 to 31536000");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1, 'seconds': 31536001}",
	         "rate_limits[0].seconds: must be an integer from 1 to 31536000");
	RATE_ERR("{'agents': ['*'], 'tools': ['t'], 'per': 'user', 'calls': 1, 'seconds': 1, 'description': false}",
	         "rate_limits[0].description: must be a string");
	CHECK_LOAD_ERROR("{'rate_limits': [{'agents': ['bot'], 'tools': ['t'], 'per': 'user', 'calls': 1, 'seconds': 1}]}",
	                 "policies/support.json: rate_limits[0].agents[0]: unknown principal \"bot\"");
}

TEST(rate_limits_may_name_principals_that_a_later_file_defines_and_their_ids_are_unique_across_files)
{
	struct tg_error err = { "" };
	const char *limit = "{'rate_limits': [{'id': 'cap', 'agents': ['bot'], 'tools': ['t'], 'per': 'agent',"
	                    " 'calls': 1, 'seconds': 1}]}";
	struct policy_set *ps = load_files("a.json", limit, "b.json", "{'principals': {'bot': {'uids': [7]}}}",
	                                   NULL, NULL, &err);
	CHECK(ps != NULL);
	CHECK_STREQ(err.msg, "");
	policy_free(ps);
	ps = load_files("a.json", limit, "b.json", limit, "c.json", "{'principals': {'bot': {'uids': [7]}}}", &err);
	CHECK(ps == NULL);
	CHECK_STREQ(err.msg, "policies/b.json: rate_limits[0].id: duplicate rate limit id \"cap\" (also rate_limits[0] of policies/a.json)");
}

/* The identity of the only rate limit of a policy text (static buffer). */
static const char *identity_of(const char *limit)
{
	static char buf[512];
	char text[1024];
	snprintf(text, sizeof text, "{" PRINCIPALS ", 'rate_limits': [%s]}", limit);
	struct tg_error err = { "" };
	struct policy_set *ps = load_text(text, &err);
	const struct policy_rate_limit *rl = policy_rate_limit_at(ps, 0);
	snprintf(buf, sizeof buf, "%s", rl ? rl->identity : err.msg);
	policy_free(ps);
	return buf;
}

TEST(a_rate_limit_identity_depends_on_what_counts_and_not_on_spelling_or_names)
{
	char base[512];
	snprintf(base, sizeof base, "%s", identity_of(
		"{'agents': ['support-bot', 'ops'], 'tools': ['kb.*', 'refund.issue'], 'per': 'user', 'calls': 10, 'seconds': 60}"));
	CHECK_STREQ(base, "{\"agents\":[\"ops\",\"support-bot\"],\"calls\":10,\"per\":\"user\","
	                  "\"seconds\":60,\"tools\":[\"kb.*\",\"refund.issue\"]}");
	CHECK_STREQ(identity_of("{'id': 'x', 'description': 'd', 'seconds': 60, 'calls': 10, 'per': 'user',"
	                        " 'tools': ['refund.issue', 'kb.*', 'kb.*'], 'agents': ['ops', 'support-bot', 'ops']}"),
	            base);
	CHECK(strcmp(identity_of("{'agents': ['support-bot', 'ops'], 'tools': ['kb.*', 'refund.issue'], 'per': 'user',"
	                         " 'calls': 5, 'seconds': 60}"), base) != 0);
	CHECK(strcmp(identity_of("{'agents': ['support-bot', 'ops'], 'tools': ['kb.*', 'refund.issue'], 'per': 'user',"
	                         " 'calls': 10, 'seconds': 61}"), base) != 0);
	CHECK(strcmp(identity_of("{'agents': ['support-bot', 'ops'], 'tools': ['kb.*', 'refund.issue'], 'per': 'agent',"
	                         " 'calls': 10, 'seconds': 60}"), base) != 0);
	CHECK(strcmp(identity_of("{'agents': ['support-bot'], 'tools': ['kb.*', 'refund.issue'], 'per': 'user',"
	                         " 'calls': 10, 'seconds': 60}"), base) != 0);
	CHECK(strcmp(identity_of("{'agents': ['support-bot', 'ops'], 'tools': ['kb.*'], 'per': 'user',"
	                         " 'calls': 10, 'seconds': 60}"), base) != 0);
	/* "*" names every agent, whatever else the list names. */
	CHECK_STREQ(identity_of("{'agents': ['ops', '*'], 'tools': ['t'], 'per': 'tool', 'calls': 1, 'seconds': 1}"),
	            "{\"agents\":[\"*\"],\"calls\":1,\"per\":\"tool\",\"seconds\":1,\"tools\":[\"t\"]}");
	CHECK_STREQ(identity_of("{'agents': ['*'], 'tools': ['t'], 'per': 'tool', 'calls': 1, 'seconds': 1}"),
	            "{\"agents\":[\"*\"],\"calls\":1,\"per\":\"tool\",\"seconds\":1,\"tools\":[\"t\"]}");
}

TEST(a_rate_limit_applies_when_its_agents_name_the_caller_and_a_tools_pattern_matches)
{
	struct tg_error err = { "" };
	struct policy_set *ps = load_text("{" PRINCIPALS ", 'rate_limits': ["
		"{'agents': ['support-bot', 'ops'], 'tools': ['refund.issue', 'kb.*'], 'per': 'user', 'calls': 1, 'seconds': 1},"
		"{'agents': ['*'], 'tools': ['*.delete'], 'per': 'tool', 'calls': 1, 'seconds': 1}]}", &err);
	CHECK_STREQ(err.msg, "");
	const struct policy_rate_limit *named = policy_rate_limit_at(ps, 0), *any = policy_rate_limit_at(ps, 1);
	CHECK(policy_rate_limit_applies(named, "support-bot", "refund.issue"));
	CHECK(policy_rate_limit_applies(named, "ops", "kb.search"));
	CHECK(!policy_rate_limit_applies(named, "support-lead", "refund.issue"));
	CHECK(!policy_rate_limit_applies(named, "support-bot", "refund.issue2"));
	CHECK(!policy_rate_limit_applies(named, "support-bot", "files.delete"));
	CHECK(policy_rate_limit_applies(any, "support-lead", "files.delete"));
	CHECK(policy_rate_limit_applies(any, "anyone-at-all", "a.b.delete"));
	CHECK(!policy_rate_limit_applies(any, "support-lead", "files.read"));
	CHECK(!policy_rate_limit_applies(any, NULL, "files.delete"));
	CHECK(!policy_rate_limit_applies(any, "support-bot", NULL));
	CHECK(!policy_rate_limit_applies(NULL, "support-bot", "files.delete"));
	policy_free(ps);
}

/* ---- loading: principals ---- */

TEST(principal_errors_name_the_principal_and_field)
{
	CHECK_LOAD_ERROR("{'principals': {'support bot': {'uids': [1]}}}",
	                 "policies/support.json: principals.support bot: invalid principal name (expected 1 to 64 of A-Z a-z 0-9 . _ -)");
	CHECK_LOAD_ERROR("{'principals': {'bot': [1]}}",
	                 "policies/support.json: principals.bot: must be an object with uids and/or gids");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'uids': [], 'gids': []}}}",
	                 "policies/support.json: principals.bot: needs at least one uid or gid");
	CHECK_LOAD_ERROR("{'principals': {'bot': {}}}",
	                 "policies/support.json: principals.bot: needs at least one uid or gid");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'uids': 1}}}",
	                 "policies/support.json: principals.bot.uids: must be an array of integers");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'uids': [1, -1]}}}",
	                 "policies/support.json: principals.bot.uids[1]: must be an integer from 0 to 4294967294");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'gids': [4294967295]}}}",
	                 "policies/support.json: principals.bot.gids[0]: must be an integer from 0 to 4294967294");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'uids': ['1001']}}}",
	                 "policies/support.json: principals.bot.uids[0]: must be an integer from 0 to 4294967294");
	CHECK_LOAD_ERROR("{'principals': {'bot': {'uids': [1, 1]}}}",
	                 "policies/support.json: principals.bot.uids[1]: uid 1 is listed twice");
}

TEST(admin_is_a_boolean_of_a_principal_and_root_is_always_an_admin)
{
	CHECK_LOAD_ERROR("{'principals': {'ops': {'uids': [5], 'admin': 'yes'}}}",
	                 "policies/support.json: principals.ops.admin: must be true or false");
	CHECK_LOAD_ERROR("{'principals': {'ops': {'uids': [5], 'admin': 1}}}",
	                 "policies/support.json: principals.ops.admin: must be true or false");
	CHECK_LOAD_ERROR("{'principals': {'ops': {'uids': [5], 'admins': true}}}",
	                 "policies/support.json: principals.ops.admins: unknown key");
	struct tg_error err;
	struct policy_set *ps = load_text("{'principals': {'ops': {'uids': [5], 'admin': true}, "
	                                  "'oncall': {'gids': [70], 'admin': true}, "
	                                  "'bot': {'uids': [6], 'admin': false}, 'lead': {'uids': [7]}}}",
	                                  &err);
	CHECK(ps != NULL);
	CHECK(policy_is_admin(ps, 5, 100));
	CHECK(policy_is_admin(ps, 9, 70));     /* by its primary gid */
	CHECK(!policy_is_admin(ps, 6, 70));    /* uid 6 maps to bot (uid wins), not an admin */
	CHECK(!policy_is_admin(ps, 7, 7));
	CHECK(!policy_is_admin(ps, 8, 8));     /* no principal at all */
	CHECK(policy_is_admin(ps, 0, 0));      /* root, with no principal */
	CHECK(policy_is_admin(NULL, 0, 0));
	CHECK(!policy_is_admin(NULL, 5, 5));
	policy_free(ps);
}

TEST(a_name_of_65_characters_is_refused_and_64_accepted)
{
	char text[256];
	char name[70];
	memset(name, 'a', 65);
	name[65] = '\0';
	snprintf(text, sizeof text, "{'principals': {'%s': {'uids': [1]}}}", name);
	struct tg_error err;
	struct policy_set *ps = load_text(text, &err);
	CHECK(ps == NULL);
	CHECK_CONTAINS(err.msg, "invalid principal name");
	name[64] = '\0';
	snprintf(text, sizeof text, "{'principals': {'%s': {'uids': [1]}}}", name);
	ps = load_text(text, &err);
	CHECK(ps != NULL);
	CHECK(policy_has_principal(ps, name));
	policy_free(ps);
}

TEST(principal_defined_in_two_files_is_an_error)
{
	struct tg_error err;
	struct policy_set *ps = load_files("a.json", "{'principals': {'bot': {'uids': [1]}}}",
	                                   "b.json", "{'principals': {'bot': {'uids': [2]}}}",
	                                   NULL, NULL, &err);
	CHECK(ps == NULL);
	CHECK_STREQ(err.msg, "policies/b.json: principals.bot: already defined in policies/a.json");
}

TEST(uid_or_gid_claimed_by_two_principals_is_an_error)
{
	struct tg_error err;
	struct policy_set *ps = load_files("a.json", "{'principals': {'alice': {'uids': [1001]}}}",
	                                   "b.json", "{'principals': {'bob': {'uids': [7, 1001]}}}",
	                                   NULL, NULL, &err);
	CHECK(ps == NULL);
	CHECK_STREQ(err.msg, "policies/b.json: principals.bob.uids[1]: uid 1001 is already claimed by principal alice (policies/a.json)");
	CHECK_LOAD_ERROR("{'principals': {'alice': {'gids': [50]}, 'bob': {'uids': [50], 'gids': [50]}}}",
	                 "policies/support.json: principals.bob.gids[0]: gid 50 is already claimed by principal alice (policies/support.json)");
}

TEST(a_uid_match_wins_over_a_gid_match)
{
	struct tg_error err;
	struct policy_set *ps = load_text("{'principals': {'by-uid': {'uids': [1001]}, "
	                                  "'by-group': {'gids': [100, 0]}}}", &err);
	CHECK(ps != NULL);
	CHECK_STREQ(policy_principal_for_peer(ps, 1001, 100), "by-uid");
	CHECK_STREQ(policy_principal_for_peer(ps, 1001, 5), "by-uid");
	CHECK_STREQ(policy_principal_for_peer(ps, 2000, 100), "by-group");
	CHECK_STREQ(policy_principal_for_peer(ps, 0, 0), "by-group");
	CHECK(policy_principal_for_peer(ps, 2000, 2000) == NULL);
	CHECK(policy_has_principal(ps, "by-uid"));
	CHECK(!policy_has_principal(ps, "nobody"));
	CHECK(!policy_has_principal(ps, NULL));
	policy_free(ps);
}

/* ---- loading: rules ---- */

#define RULE_ERR(rule, expected) \
	CHECK_LOAD_ERROR("{" PRINCIPALS ", 'rules': [" rule "]}", "policies/support.json: " expected)

TEST(rule_field_errors_name_the_rule_and_field)
{
	RULE_ERR("{'effect': 'permit', 'agents': ['*'], 'tools': ['t']}", "rules[0]: missing \"id\"");
	RULE_ERR("{'id': 5, 'effect': 'permit', 'agents': ['*'], 'tools': ['t']}", "rules[0].id: must be a string");
	RULE_ERR("{'id': 'no deletes', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']}",
	         "rules[0].id: invalid rule id \"no deletes\" (expected 1 to 64 of A-Z a-z 0-9 . _ -)");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']},"
	         "{'id': 'a', 'effect': 'forbid', 'agents': ['*'], 'tools': ['u']}",
	         "rules[1].id: duplicate rule id \"a\" (also rules[0] of policies/support.json)");
	RULE_ERR("{'id': 'a', 'agents': ['*'], 'tools': ['t']}", "rules[0]: missing \"effect\" (permit or forbid)");
	RULE_ERR("{'id': 'a', 'effect': true, 'agents': ['*'], 'tools': ['t']}",
	         "rules[0].effect: must be \"permit\" or \"forbid\"");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']},"
	         "{'id': 'b', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']},"
	         "{'id': 'c', 'effect': 'allow', 'agents': ['*'], 'tools': ['t']}",
	         "rules[2].effect: unknown effect \"allow\" (expected permit, approve or forbid)");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'tools': ['t']}", "rules[0]: missing \"agents\"");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': [], 'tools': ['t']}",
	         "rules[0].agents: must be a non-empty array of principal names or \"*\"");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*', 3], 'tools': ['t']}",
	         "rules[0].agents[1]: must be a non-empty string");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['support-bot', 'suport-lead'], 'tools': ['t']}",
	         "rules[0].agents[1]: unknown principal \"suport-lead\"");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*']}", "rules[0]: missing \"tools\"");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': []}",
	         "rules[0].tools: must be a non-empty array of tool names or patterns");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': 'kb.*'}",
	         "rules[0].tools: must be a non-empty array of tool names or patterns");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['']}",
	         "rules[0].tools[0]: must be a non-empty string");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'description': 1}",
	         "rules[0].description: must be a string");
}

TEST(approve_rules_need_known_approvers_and_a_sane_deadline)
{
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t']},"
	         "{'id': 'x', 'effect': 'approve', 'agents': ['*'], 'tools': ['t']}",
	         "rules[1]: an approve rule needs \"approvers\" (the principals who decide)");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'approvers': ['support-lead']}",
	         "rules[0].approvers: only an approve rule has approvers");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'deadline_seconds': 60}",
	         "rules[0].deadline_seconds: only an approve rule has an approval deadline");
	RULE_ERR("{'id': 'x', 'effect': 'approve', 'agents': ['*'], 'tools': ['t'], 'approvers': ['ghost']}",
	         "rules[0].approvers[0]: unknown principal \"ghost\"");
	RULE_ERR("{'id': 'x', 'effect': 'approve', 'agents': ['*'], 'tools': ['t'], 'approvers': []}",
	         "rules[0].approvers: must be a non-empty array of principal names");
	RULE_ERR("{'id': 'x', 'effect': 'approve', 'agents': ['*'], 'tools': ['t'], 'approvers': ['support-lead'],"
	         " 'deadline_seconds': 0}",
	         "rules[0].deadline_seconds: must be an integer from 1 to 86400");
}

TEST(privileges_are_root_or_host_network_on_rules_that_let_calls_run)
{
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'privileges': ['admin']}",
	         "rules[0].privileges[0]: expected \"root\" or \"host_network\"");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'privileges': 'root'}",
	         "rules[0].privileges: must be an array of \"root\", \"host_network\"");
	RULE_ERR("{'id': 'a', 'effect': 'forbid', 'agents': ['*'], 'tools': ['t'], 'privileges': ['root']}",
	         "rules[0].privileges: a forbid rule grants nothing");
}

TEST(a_decision_carries_the_privileges_of_the_rules_that_decided_it)
{
	struct tg_error e;
	struct policy_set *ps = load_text(
		"{" PRINCIPALS ", 'rules': ["
		"{'id': 'p1', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['t'], 'privileges': ['root']},"
		"{'id': 'p2', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['t'], 'privileges': ['host_network']},"
		"{'id': 'p3', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['u']},"
		"{'id': 'h', 'effect': 'approve', 'agents': ['support-bot'], 'tools': ['v'], 'approvers': ['support-lead'],"
		" 'privileges': ['root']}]}", &e);
	CHECK(ps != NULL);
	CHECK(decide_as(ps, "support-bot", NULL, "t", "{}") == POLICY_PERMIT);
	CHECK(decision.privileges == (POLICY_PRIV_ROOT | POLICY_PRIV_HOST_NETWORK));
	CHECK(decide_as(ps, "support-bot", NULL, "u", "{}") == POLICY_PERMIT);
	CHECK(decision.privileges == 0);
	CHECK(decide_as(ps, "support-bot", NULL, "v", "{}") == POLICY_APPROVE);
	CHECK(decision.privileges == POLICY_PRIV_ROOT);
	CHECK(decide_as(ps, "support-lead", NULL, "t", "{}") == POLICY_DENY);
	CHECK(decision.privileges == 0);
	policy_free(ps);
}

TEST(delegation_must_be_required_and_only_on_permit_rules)
{
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'delegation': 'optional'}",
	         "rules[0].delegation: must be \"required\" (or absent)");
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'delegation': true}",
	         "rules[0].delegation: must be \"required\" (or absent)");
	RULE_ERR("{'id': 'a', 'effect': 'forbid', 'agents': ['*'], 'tools': ['t'], 'delegation': 'required'}",
	         "rules[0].delegation: a forbid rule applies with or without a token");
}

TEST(a_rule_that_requires_delegation_permits_only_calls_with_a_verified_user)
{
	struct tg_error err;
	struct policy_set *ps = load_text("{" PRINCIPALS ", 'rules': ["
		"{'id': 'small-refunds', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['refund.issue'],"
		" 'delegation': 'required', 'when': {'args.amount_cents': {'<=': 5000}}}]}", &err);
	CHECK(ps != NULL);
	CHECK(decide_as(ps, "support-bot", NULL, "refund.issue", "{'amount_cents': 100}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call refund.issue with these arguments "
	                             "(rule small-refunds requires a delegation token, and the call has none)");
	CHECK(decide_as(ps, "support-bot", "alice", "refund.issue", "{'amount_cents': 100}") == POLICY_PERMIT);
	CHECK_STREQ(rules_text, "[\"small-refunds\"]");
	CHECK(decide_as(ps, "support-bot", "alice", "refund.issue", "{'amount_cents': 9000}") == POLICY_DENY);
	policy_free(ps);
}

TEST(a_standalone_when_holds_only_when_every_condition_does)
{
	struct tg_error err;
	json_t *doc = json_loads("{\"args.amount_cents\": {\"<=\": 2000}, \"user\": {\"==\": \"alice\"}}", 0, NULL);
	struct policy_when *w = policy_when_compile(doc, "token scope refund.issue", &err);
	json_decref(doc);
	CHECK(w != NULL);
	json_t *small = json_loads("{\"amount_cents\": 1500}", 0, NULL);
	json_t *big = json_loads("{\"amount_cents\": 2500}", 0, NULL);
	json_t *text = json_loads("{\"amount_cents\": \"1500\"}", 0, NULL);
	char why[200];
	CHECK(policy_when_holds(w, "support-bot", "alice", small, why, sizeof why));
	CHECK(!policy_when_holds(w, "support-bot", "alice", big, why, sizeof why));
	CHECK_STREQ(why, "args.amount_cents <= 2000 does not hold");
	CHECK(!policy_when_holds(w, "support-bot", "bob", small, why, sizeof why));
	CHECK_STREQ(why, "user == \"alice\" does not hold");
	CHECK(!policy_when_holds(w, "support-bot", "alice", text, why, sizeof why));
	CHECK_STREQ(why, "args.amount_cents is a string, not a number");
	json_decref(small);
	json_decref(big);
	json_decref(text);
	policy_when_free(w);
	doc = json_loads("{\"args.x\": {\"~\": 1}}", 0, NULL);
	CHECK(policy_when_compile(doc, "token scope t", &err) == NULL);
	CHECK_STREQ(err.msg, "token scope t.args.x: unknown operator \"~\" (expected ==, !=, <, <=, >, >=, in or prefix)");
	json_decref(doc);
}

#define WHEN_ERR(when, expected) \
	RULE_ERR("{'id': 'a', 'effect': 'permit', 'agents': ['*'], 'tools': ['t'], 'when': " when "}", \
	         "rules[0].when" expected)

TEST(when_errors_name_the_attribute_and_operator)
{
	WHEN_ERR("[]", ": must be an object of attribute to conditions");
	WHEN_ERR("{'role': {'==': 'x'}}", ".role: unknown attribute (expected args.PATH, user or agent)");
	WHEN_ERR("{'args': {'==': 'x'}}", ".args: invalid argument path (expected args.NAME or args.NAME.NAME...)");
	WHEN_ERR("{'args.': {'==': 'x'}}", ".args.: invalid argument path (expected args.NAME or args.NAME.NAME...)");
	WHEN_ERR("{'args.a..b': {'==': 'x'}}", ".args.a..b: invalid argument path (expected args.NAME or args.NAME.NAME...)");
	WHEN_ERR("{'args.a.': {'==': 'x'}}", ".args.a.: invalid argument path (expected args.NAME or args.NAME.NAME...)");
	WHEN_ERR("{'args.n': 5}", ".args.n: must be an object of operator to operand, e.g. {\"<=\": 5000}");
	WHEN_ERR("{'args.n': {}}", ".args.n: needs at least one operator");
	WHEN_ERR("{'args.n': {'=<': 5}}",
	         ".args.n: unknown operator \"=<\" (expected ==, !=, <, <=, >, >=, in or prefix)");
	WHEN_ERR("{'args.n': {'<=': '5000'}}", ".args.n: \"<=\" needs a number, not a string");
	WHEN_ERR("{'args.n': {'>': null}}", ".args.n: \">\" needs a number, not null");
	WHEN_ERR("{'args.n': {'in': 5}}", ".args.n: \"in\" needs a non-empty array, not a number");
	WHEN_ERR("{'args.n': {'in': []}}", ".args.n: \"in\" needs a non-empty array, not an empty one");
	WHEN_ERR("{'args.n': {'prefix': 5}}", ".args.n: \"prefix\" needs a string, not a number");
	WHEN_ERR("{'user': {'<': 5}}", ".user: \"<\" compares numbers, and user is a string");
	WHEN_ERR("{'agent': {'==': 5}}", ".agent: \"==\" needs a string, since agent is a string, not a number");
	WHEN_ERR("{'user': {'in': ['alice', 2]}}", ".user: \"in\" item 1 is a number, but user is a string");
}

/* ---- deciding: operators ---- */

#define EXPECT(when, args, effect) do { \
	struct tg_error e_ = { "" }; \
	struct policy_set *p_ = load_when("permit", when, &e_); \
	CHECK_STREQ(e_.msg, ""); \
	CHECK(decide(p_, args) == (effect)); \
	policy_free(p_); \
} while (0)

TEST(integer_operators_compare_as_integers)
{
	EXPECT("{'args.n': {'==': 5}}", "{'n': 5}", POLICY_PERMIT);
	EXPECT("{'args.n': {'==': 5}}", "{'n': 6}", POLICY_DENY);
	EXPECT("{'args.n': {'!=': 5}}", "{'n': 6}", POLICY_PERMIT);
	EXPECT("{'args.n': {'!=': 5}}", "{'n': 5}", POLICY_DENY);
	EXPECT("{'args.n': {'<': 5}}", "{'n': 4}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<': 5}}", "{'n': 5}", POLICY_DENY);
	EXPECT("{'args.n': {'<=': 5}}", "{'n': 5}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<=': 5}}", "{'n': 6}", POLICY_DENY);
	EXPECT("{'args.n': {'>': 5}}", "{'n': 6}", POLICY_PERMIT);
	EXPECT("{'args.n': {'>': 5}}", "{'n': 5}", POLICY_DENY);
	EXPECT("{'args.n': {'>=': 5}}", "{'n': 5}", POLICY_PERMIT);
	EXPECT("{'args.n': {'>=': 5}}", "{'n': 4}", POLICY_DENY);
	EXPECT("{'args.n': {'>': -1}}", "{'n': 0}", POLICY_PERMIT);
	EXPECT("{'args.n': {'>=': 1, '<=': 10}}", "{'n': 10}", POLICY_PERMIT);
	EXPECT("{'args.n': {'>=': 1, '<=': 10}}", "{'n': 0}", POLICY_DENY);
}

TEST(big_integers_compare_exactly_where_doubles_would_round)
{
	/* 2^62 and 2^62 + 1 are the same double. */
	EXPECT("{'args.n': {'<=': 4611686018427387904}}", "{'n': 4611686018427387904}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<=': 4611686018427387904}}", "{'n': 4611686018427387905}", POLICY_DENY);
	EXPECT("{'args.n': {'==': 4611686018427387904}}", "{'n': 4611686018427387905}", POLICY_DENY);
	EXPECT("{'args.n': {'!=': 4611686018427387904}}", "{'n': 4611686018427387905}", POLICY_PERMIT);
	EXPECT("{'args.n': {'>': 9223372036854775806}}", "{'n': 9223372036854775807}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<': -9223372036854775807}}", "{'n': -9223372036854775808}", POLICY_PERMIT);
}

TEST(integers_and_reals_compare_exactly_and_1_equals_1_point_0)
{
	EXPECT("{'args.n': {'==': 1}}", "{'n': 1.0}", POLICY_PERMIT);
	EXPECT("{'args.n': {'==': 1.0}}", "{'n': 1}", POLICY_PERMIT);
	EXPECT("{'args.n': {'in': [3, 1.0]}}", "{'n': 1}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<': 1}}", "{'n': 0.5}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<': 0.5}}", "{'n': 0}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<': 0.5}}", "{'n': 1}", POLICY_DENY);
	EXPECT("{'args.n': {'>': -0.5}}", "{'n': -1}", POLICY_DENY);
	EXPECT("{'args.n': {'>': -0.5}}", "{'n': 0}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<=': 2.5}}", "{'n': 2.5}", POLICY_PERMIT);
	EXPECT("{'args.n': {'<=': 2.5}}", "{'n': 2.6}", POLICY_DENY);
	/* 2^53 + 1 as an integer is above the real 2^53, though (double)(2^53 + 1) is not. */
	EXPECT("{'args.n': {'>': 9007199254740992.0}}", "{'n': 9007199254740993}", POLICY_PERMIT);
	EXPECT("{'args.n': {'==': 9007199254740992.0}}", "{'n': 9007199254740993}", POLICY_DENY);
	EXPECT("{'args.n': {'<': 1e300}}", "{'n': 9223372036854775807}", POLICY_PERMIT);
	EXPECT("{'args.n': {'>': -1e300}}", "{'n': -9223372036854775808}", POLICY_PERMIT);
}

TEST(string_operators)
{
	EXPECT("{'args.s': {'==': 'eu'}}", "{'s': 'eu'}", POLICY_PERMIT);
	EXPECT("{'args.s': {'==': 'eu'}}", "{'s': 'EU'}", POLICY_DENY);
	EXPECT("{'args.s': {'!=': 'eu'}}", "{'s': 'us'}", POLICY_PERMIT);
	EXPECT("{'args.s': {'!=': 'eu'}}", "{'s': 'eu'}", POLICY_DENY);
	EXPECT("{'args.s': {'prefix': '/srv/'}}", "{'s': '/srv/data'}", POLICY_PERMIT);
	EXPECT("{'args.s': {'prefix': '/srv/'}}", "{'s': '/srv'}", POLICY_DENY);
	EXPECT("{'args.s': {'prefix': '/srv/'}}", "{'s': '/etc/srv/'}", POLICY_DENY);
	EXPECT("{'args.s': {'prefix': ''}}", "{'s': ''}", POLICY_PERMIT);
	EXPECT("{'args.s': {'in': ['eu', 'us']}}", "{'s': 'us'}", POLICY_PERMIT);
	EXPECT("{'args.s': {'in': ['eu', 'us']}}", "{'s': 'uk'}", POLICY_DENY);
}

TEST(in_and_equality_on_arrays_objects_booleans_and_null)
{
	EXPECT("{'args.v': {'in': [true, null]}}", "{'v': true}", POLICY_PERMIT);
	EXPECT("{'args.v': {'in': [true, null]}}", "{'v': null}", POLICY_PERMIT);
	EXPECT("{'args.v': {'in': [true, null]}}", "{'v': false}", POLICY_DENY);
	EXPECT("{'args.v': {'in': [[1, 2], [3]]}}", "{'v': [3.0]}", POLICY_PERMIT);
	EXPECT("{'args.v': {'==': {'a': [1]}}}", "{'v': {'a': [1.0]}}", POLICY_PERMIT);
	EXPECT("{'args.v': {'==': {'a': [1]}}}", "{'v': {'a': [1], 'b': 2}}", POLICY_DENY);
	EXPECT("{'args.v': {'==': false}}", "{'v': true}", POLICY_DENY);
	EXPECT("{'args.v': {'in': [1, 'one']}}", "{'v': 'two'}", POLICY_DENY);
}

TEST(nested_argument_paths_walk_objects)
{
	EXPECT("{'args.order.amount': {'<': 100}}", "{'order': {'amount': 50}}", POLICY_PERMIT);
	EXPECT("{'args.order.amount': {'<': 100}}", "{'order': {'amount': 150}}", POLICY_DENY);
	EXPECT("{'args.a.b.c': {'==': 'x'}}", "{'a': {'b': {'c': 'x'}}}", POLICY_PERMIT);

	struct tg_error err;
	struct policy_set *ps = load_when("permit", "{'args.order.amount': {'<': 100}}", &err);
	CHECK(decide(ps, "{'order': 5}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.order.amount is missing)");
	CHECK(decide(ps, "{'order': [{'amount': 1}]}") == POLICY_DENY);
	CHECK(decide(ps, NULL) == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.order.amount is missing)");
	policy_free(ps);
}

TEST(user_and_agent_attributes)
{
	struct tg_error err;
	struct policy_set *ps = load_when("permit", "{'user': {'prefix': 'alice@'}, 'agent': {'in': ['support-bot']}}", &err);
	CHECK(ps != NULL);
	CHECK(decide_as(ps, "support-bot", "alice@example.com", "t", "{}") == POLICY_PERMIT);
	CHECK(decide_as(ps, "support-bot", "bob@example.com", "t", "{}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: user prefix \"alice@\" does not hold)");
	CHECK(decide_as(ps, "support-bot", NULL, "t", "{}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: user is missing)");
	policy_free(ps);
}

/* ---- deciding: missing attributes and type mismatches ---- */

TEST(type_mismatch_or_missing_attribute_makes_a_permit_not_match)
{
	struct tg_error err;
	struct policy_set *ps = load_when("permit", "{'args.amount_cents': {'<=': 5000}}", &err);
	CHECK(decide(ps, "{'amount_cents': '100'}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.amount_cents is a string, not a number)");
	CHECK_STREQ(rules_text, "[]");
	CHECK(decide(ps, "{}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.amount_cents is missing)");
	policy_free(ps);

	/* "!=" between a number and a string is a mismatch, not "different". */
	ps = load_when("permit", "{'args.mode': {'!=': 'delete'}}", &err);
	CHECK(decide(ps, "{'mode': 5}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.mode is a number, not a string)");
	policy_free(ps);

	ps = load_when("permit", "{'args.region': {'in': ['eu', 'us']}}", &err);
	CHECK(decide(ps, "{'region': 5}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.region is a number, unlike every item of its \"in\" list)");
	policy_free(ps);

	ps = load_when("permit", "{'args.path': {'prefix': '/srv/'}}", &err);
	CHECK(decide(ps, "{'path': ['/srv/x']}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.path is an array, not a string)");
	policy_free(ps);
}

TEST(type_mismatch_or_missing_attribute_makes_a_forbid_match)
{
	struct tg_error err = { "" };
	struct policy_set *ps = load_when("forbid", "{'args.amount_cents': {'>': 5000}}", &err);
	CHECK_STREQ(err.msg, "");
	CHECK(decide(ps, "{'amount_cents': 100}") == POLICY_PERMIT);
	CHECK_STREQ(decision.reason, "permitted by rule base");
	CHECK(decide(ps, "{'amount_cents': 10000}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule r");
	CHECK_STREQ(rules_text, "[\"r\"]");
	CHECK(decide(ps, "{'amount_cents': '10000'}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule r (args.amount_cents is a string, not a number, "
	                             "which a forbid rule treats as a match)");
	CHECK(decide(ps, "{}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule r (args.amount_cents is missing, "
	                             "which a forbid rule treats as a match)");
	policy_free(ps);

	ps = load_when("forbid", "{'args.mode': {'!=': 'read'}}", &err);
	CHECK(decide(ps, "{'mode': 'read'}") == POLICY_PERMIT);
	CHECK(decide(ps, "{'mode': 1}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule r (args.mode is a number, not a string, "
	                             "which a forbid rule treats as a match)");
	policy_free(ps);
}

TEST(a_false_condition_beats_an_undecidable_one_in_a_forbid)
{
	struct tg_error err;
	struct policy_set *ps = load_when("forbid", "{'args.a': {'==': 1}, 'args.b': {'==': 1}}", &err);
	CHECK(decide(ps, "{'a': 2}") == POLICY_PERMIT);
	CHECK(decide(ps, "{'b': 1}") == POLICY_FORBID);
	CHECK(decide(ps, "{'a': 1, 'b': 1}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule r");
	policy_free(ps);
}

/* ---- deciding: combining rules ---- */

static const char *const forbid_deletes =
	"{'rules': [{'id': 'no-deletes', 'effect': 'forbid', 'agents': ['*'], 'tools': ['*.delete']}]}";
static const char *const permit_all =
	"{" PRINCIPALS ", 'rules': [{'id': 'all', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['*']},"
	"{'id': 'files', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['files.delete']}]}";

TEST(forbid_wins_whatever_the_file_or_rule_order)
{
	struct tg_error err;
	struct policy_set *ps = load_files("a.json", forbid_deletes, "b.json", permit_all, NULL, NULL, &err);
	CHECK(decide_as(ps, "support-bot", NULL, "files.delete", "{}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule no-deletes");
	CHECK_STREQ(rules_text, "[\"no-deletes\"]");
	policy_free(ps);

	ps = load_files("a.json", permit_all, "b.json", forbid_deletes, NULL, NULL, &err);
	CHECK(decide_as(ps, "support-bot", NULL, "files.delete", "{}") == POLICY_FORBID);
	CHECK_STREQ(rules_text, "[\"no-deletes\"]");
	CHECK(decide_as(ps, "support-bot", NULL, "files.read", "{}") == POLICY_PERMIT);
	CHECK_STREQ(rules_text, "[\"all\"]");
	policy_free(ps);

	ps = load_text("{" PRINCIPALS ", 'rules': ["
	               "{'id': 'p', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['t']},"
	               "{'id': 'f', 'effect': 'forbid', 'agents': ['support-bot'], 'tools': ['t']}]}", &err);
	CHECK(decide(ps, "{}") == POLICY_FORBID);
	CHECK_STREQ(rules_text, "[\"f\"]");
	policy_free(ps);
}

TEST(all_matching_rules_are_named_in_load_order)
{
	struct tg_error err = { "" };
	struct policy_set *ps = load_text("{" PRINCIPALS ", 'rules': ["
		"{'id': 'kb-pattern', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['kb.*']},"
		"{'id': 'kb-exact', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['kb.search', 'kb.search']},"
		"{'id': 'kb-both', 'effect': 'permit', 'agents': ['*'], 'tools': ['kb.search', 'kb.*']},"
		"{'id': 'other-agent', 'effect': 'permit', 'agents': ['support-lead'], 'tools': ['kb.search']},"
		"{'id': 'other-tool', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['kb.read']},"
		"{'id': 'f1', 'effect': 'forbid', 'agents': ['support-lead'], 'tools': ['x.*']},"
		"{'id': 'f2', 'effect': 'forbid', 'agents': ['*'], 'tools': ['x.y']}]}", &err);
	CHECK_STREQ(err.msg, "");
	CHECK(decide_as(ps, "support-bot", NULL, "kb.search", "{}") == POLICY_PERMIT);
	CHECK_STREQ(rules_text, "[\"kb-pattern\",\"kb-exact\",\"kb-both\"]");
	CHECK_STREQ(decision.reason, "permitted by rules kb-pattern, kb-exact, kb-both");
	CHECK(decide_as(ps, "support-lead", NULL, "x.y", "{}") == POLICY_FORBID);
	CHECK_STREQ(rules_text, "[\"f1\",\"f2\"]");
	CHECK_STREQ(decision.reason, "forbidden by rules f1, f2");
	policy_free(ps);
}

TEST(deny_reasons_say_who_what_and_which_conditions_failed)
{
	struct tg_error err;
	struct policy_set *ps = load_text("{" PRINCIPALS ", 'rules': ["
		"{'id': 'small-refunds', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['refund.issue'],"
		" 'when': {'args.amount_cents': {'<=': 5000}}},"
		"{'id': 'eu-refunds', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['refund.*'],"
		" 'when': {'args.region': {'in': ['eu']}}}]}", &err);
	CHECK(decide_as(ps, "support-bot", NULL, "refund.issue", "{'amount_cents': 6000, 'region': 'us'}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call refund.issue with these arguments "
	                             "(rule small-refunds: args.amount_cents <= 5000 does not hold; "
	                             "rule eu-refunds: args.region in [\"eu\"] does not hold)");
	CHECK_STREQ(rules_text, "[]");
	CHECK(decide_as(ps, "support-bot", NULL, "kb.search", "{}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call kb.search");
	CHECK(decide_as(ps, "support-lead", NULL, "refund.issue", "{'amount_cents': 1}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-lead to call refund.issue");
	CHECK(decide_as(ps, NULL, NULL, "refund.issue", "{'amount_cents': 1}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "caller maps to no principal");
	CHECK_STREQ(rules_text, "[]");
	policy_free(ps);
}

TEST(a_long_reason_is_cut_with_an_ellipsis)
{
	struct tg_error err;
	struct policy_set *ps = load_when("permit", "{'args.s': {'==': "
		"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}", &err);
	CHECK(decide(ps, "{'s': 'b'}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call t with these arguments "
	                             "(rule r: args.s == \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... does not hold)");
	char tool[300];
	memset(tool, 'x', sizeof tool - 1);
	tool[sizeof tool - 1] = '\0';
	CHECK(decide_as(ps, "support-bot", NULL, tool, "{}") == POLICY_DENY);
	CHECK(strlen(decision.reason) == sizeof decision.reason - 1);
	CHECK_STREQ(decision.reason + sizeof decision.reason - 4, "...");
	policy_free(ps);
}

/* ---- visibility and patterns ---- */

TEST(a_tool_is_visible_when_a_permit_names_it_and_no_unconditional_forbid_does)
{
	struct tg_error err;
	struct policy_set *ps = load_text("{" PRINCIPALS ", 'rules': ["
		"{'id': 'kb', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['kb.*', 'files.*']},"
		"{'id': 'any', 'effect': 'permit', 'agents': ['*'], 'tools': ['status']},"
		"{'id': 'cond-permit', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['refund.issue'],"
		" 'when': {'args.amount_cents': {'<=': 5000}}},"
		"{'id': 'cond-forbid', 'effect': 'forbid', 'agents': ['*'], 'tools': ['kb.*'],"
		" 'when': {'args.q': {'prefix': 'secret'}}},"
		"{'id': 'no-deletes', 'effect': 'forbid', 'agents': ['*'], 'tools': ['*.delete']}]}", &err);
	CHECK(policy_tool_visible(ps, "support-bot", "kb.search"));
	CHECK(policy_tool_visible(ps, "support-bot", "refund.issue"));
	CHECK(policy_tool_visible(ps, "support-bot", "status"));
	CHECK(policy_tool_visible(ps, "ops", "status"));
	CHECK(!policy_tool_visible(ps, "support-bot", "files.delete"));
	CHECK(!policy_tool_visible(ps, "support-bot", "other"));
	CHECK(!policy_tool_visible(ps, "support-lead", "kb.search"));
	CHECK(!policy_tool_visible(ps, NULL, "status"));
	policy_free(ps);
}

TEST(tool_patterns_are_fnmatch_globs_where_star_crosses_dots)
{
	CHECK(policy_tool_pattern_match("*", "kb.search"));
	CHECK(policy_tool_pattern_match("kb.*", "kb.search"));
	CHECK(policy_tool_pattern_match("kb.*", "kb.a.b"));
	CHECK(!policy_tool_pattern_match("kb.*", "kbx"));
	CHECK(!policy_tool_pattern_match("kb.*", "x.kb.search"));
	CHECK(policy_tool_pattern_match("*.delete", "files.delete"));
	CHECK(policy_tool_pattern_match("*.delete", "a.b.delete"));
	CHECK(!policy_tool_pattern_match("*.delete", "files.delete2"));
	CHECK(policy_tool_pattern_match("kb.?ead", "kb.read"));
	CHECK(policy_tool_pattern_match("kb.[rw]*", "kb.write"));
	CHECK(policy_tool_pattern_match("kb.search", "kb.search"));
	CHECK(!policy_tool_pattern_match("kb.search", "kb.searc"));
}

/* ---- the SPEC.md example ---- */

static const char *const spec_example =
	"{'principals': {'support-bot': {'uids': [1001]}, 'support-lead': {'uids': [1002], 'gids': []}},"
	" 'rules': ["
	"  {'id': 'kb-read', 'effect': 'permit', 'agents': ['support-bot'], 'tools': ['kb.*']},"
	"  {'id': 'small-refunds', 'effect': 'permit', 'agents': ['support-bot'],"
	"   'tools': ['refund.issue'], %s 'when': {'args.amount_cents': {'<=': 5000}}},"
	"  %s"
	"  {'id': 'no-deletes', 'effect': 'forbid', 'agents': ['*'], 'tools': ['*.delete']}"
	" ]%s}";

static const char *const spec_rate_limits =
	", 'rate_limits': [{'agents': ['support-bot'], 'tools': ['refund.issue'], 'per': 'user',"
	" 'calls': 10, 'seconds': 3600}]";

static const char *const large_refunds =
	"{'id': 'large-refunds', 'effect': 'approve', 'agents': ['support-bot'],"
	" 'tools': ['refund.issue'], 'delegation': 'required', 'approvers': ['support-lead'],"
	" 'when': {'args.amount_cents': {'<=': 50000}}},";

TEST(spec_example_without_unsupported_parts_decides_as_documented)
{
	char text[2048];
	snprintf(text, sizeof text, spec_example, "", "", "");
	struct tg_error err = { "" };
	struct policy_set *ps = load_text(text, &err);
	CHECK_STREQ(err.msg, "");
	const char *bot = policy_principal_for_peer(ps, 1001, 1001);
	CHECK_STREQ(bot, "support-bot");
	CHECK_STREQ(policy_principal_for_peer(ps, 1002, 1002), "support-lead");

	CHECK(decide_as(ps, bot, "alice", "kb.search", "{'q': 'refund policy'}") == POLICY_PERMIT);
	CHECK_STREQ(decision.reason, "permitted by rule kb-read");
	CHECK_STREQ(rules_text, "[\"kb-read\"]");
	CHECK(decide_as(ps, bot, "alice", "refund.issue", "{'order_id': 'A-1', 'amount_cents': 5000}") == POLICY_PERMIT);
	CHECK_STREQ(decision.reason, "permitted by rule small-refunds");
	CHECK(decide_as(ps, bot, "alice", "refund.issue", "{'order_id': 'A-1', 'amount_cents': 5001}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-bot to call refund.issue with these arguments "
	                             "(rule small-refunds: args.amount_cents <= 5000 does not hold)");
	CHECK(decide_as(ps, bot, "alice", "kb.delete", "{}") == POLICY_FORBID);
	CHECK_STREQ(decision.reason, "forbidden by rule no-deletes");
	CHECK(decide_as(ps, "support-lead", "alice", "kb.search", "{}") == POLICY_DENY);
	CHECK_STREQ(decision.reason, "no rule permits support-lead to call kb.search");

	CHECK(policy_tool_visible(ps, bot, "kb.search"));
	CHECK(policy_tool_visible(ps, bot, "refund.issue"));
	CHECK(!policy_tool_visible(ps, bot, "kb.delete"));
	CHECK(!policy_tool_visible(ps, "support-lead", "kb.search"));
	policy_decision_clear(&decision);
	CHECK(decision.rules == NULL);
	policy_free(ps);
}

TEST(the_whole_spec_example_loads_and_holds_large_refunds_for_the_lead)
{
	char text[2048];
	snprintf(text, sizeof text, spec_example, "'delegation': 'required',", large_refunds, spec_rate_limits);
	struct tg_error err = { "" };
	struct policy_set *ps = load_text(text, &err);
	CHECK_STREQ(err.msg, "");
	CHECK(ps != NULL);
	if (!ps)
		return;
	CHECK(decide_as(ps, "support-bot", "alice", "refund.issue", "{'amount_cents': 3000}") == POLICY_PERMIT);
	CHECK_STREQ(rules_text, "[\"small-refunds\"]");
	CHECK(decide_as(ps, "support-bot", "alice", "refund.issue", "{'amount_cents': 20000}") == POLICY_APPROVE);
	CHECK_STREQ(rules_text, "[\"large-refunds\"]");
	CHECK_STREQ(decision.reason, "held for approval by support-lead (rule large-refunds)");
	CHECK(json_array_size(decision.approvers) == 1 &&
	      strcmp(json_string_value(json_array_get(decision.approvers, 0)), "support-lead") == 0);
	CHECK(decision.deadline_s == 900);
	CHECK(decide_as(ps, "support-bot", "alice", "refund.issue", "{'amount_cents': 60000}") == POLICY_DENY);
	CHECK(decide_as(ps, "support-bot", NULL, "refund.issue", "{'amount_cents': 3000}") == POLICY_DENY);
	CHECK(decide_as(ps, "support-bot", "alice", "kb.delete", "{}") == POLICY_FORBID);
	policy_free(ps);
}

TEST(spec_example_rate_limits_load)
{
	char text[2048];
	snprintf(text, sizeof text, spec_example, "'delegation': 'required',", "", spec_rate_limits);
	struct tg_error err = { "" };
	struct policy_set *ps = load_text(text, &err);
	CHECK(ps != NULL);
	CHECK_STREQ(err.msg, "");
	CHECK(policy_rate_limit_count(ps) == 1);
	const struct policy_rate_limit *rl = policy_rate_limit_at(ps, 0);
	CHECK(rl != NULL && rl->per == POLICY_PER_USER && rl->calls == 10 && rl->seconds == 3600);
	CHECK(policy_rate_limit_applies(rl, "support-bot", "refund.issue"));
	CHECK(!policy_rate_limit_applies(rl, "support-bot", "kb.search"));
	policy_free(ps);
}

int main(void)
{
	RUN(missing_directory_is_an_empty_policy_set_that_denies_everything);
	RUN(empty_directory_is_an_empty_policy_set);
	RUN(directory_that_is_a_file_is_an_error);
	RUN(only_visible_json_regular_files_are_read);
	RUN(files_load_in_name_order_whatever_order_they_were_written);
	RUN(rules_may_name_principals_that_a_later_file_defines);
	RUN(file_over_one_mebibyte_is_refused);
	RUN(json_syntax_error_names_file_line_and_column);
	RUN(duplicate_keys_are_rejected);
	RUN(top_level_must_be_an_object);
	RUN(nesting_deeper_than_32_levels_is_refused);
	RUN(unknown_keys_are_errors_naming_file_and_field);
	RUN(wrong_shapes_of_top_level_members_are_errors);
	RUN(rate_limits_load_with_every_field_and_an_empty_list_is_fine);
	RUN(rate_limit_field_errors_name_the_entry_and_field);
	RUN(rate_limits_may_name_principals_that_a_later_file_defines_and_their_ids_are_unique_across_files);
	RUN(a_rate_limit_identity_depends_on_what_counts_and_not_on_spelling_or_names);
	RUN(a_rate_limit_applies_when_its_agents_name_the_caller_and_a_tools_pattern_matches);
	RUN(principal_errors_name_the_principal_and_field);
	RUN(admin_is_a_boolean_of_a_principal_and_root_is_always_an_admin);
	RUN(a_name_of_65_characters_is_refused_and_64_accepted);
	RUN(principal_defined_in_two_files_is_an_error);
	RUN(uid_or_gid_claimed_by_two_principals_is_an_error);
	RUN(a_uid_match_wins_over_a_gid_match);
	RUN(rule_field_errors_name_the_rule_and_field);
	RUN(approve_rules_need_known_approvers_and_a_sane_deadline);
	RUN(delegation_must_be_required_and_only_on_permit_rules);
	RUN(a_rule_that_requires_delegation_permits_only_calls_with_a_verified_user);
	RUN(a_standalone_when_holds_only_when_every_condition_does);
	RUN(when_errors_name_the_attribute_and_operator);
	RUN(integer_operators_compare_as_integers);
	RUN(big_integers_compare_exactly_where_doubles_would_round);
	RUN(integers_and_reals_compare_exactly_and_1_equals_1_point_0);
	RUN(string_operators);
	RUN(in_and_equality_on_arrays_objects_booleans_and_null);
	RUN(nested_argument_paths_walk_objects);
	RUN(user_and_agent_attributes);
	RUN(type_mismatch_or_missing_attribute_makes_a_permit_not_match);
	RUN(type_mismatch_or_missing_attribute_makes_a_forbid_match);
	RUN(a_false_condition_beats_an_undecidable_one_in_a_forbid);
	RUN(forbid_wins_whatever_the_file_or_rule_order);
	RUN(all_matching_rules_are_named_in_load_order);
	RUN(deny_reasons_say_who_what_and_which_conditions_failed);
	RUN(a_long_reason_is_cut_with_an_ellipsis);
	RUN(a_tool_is_visible_when_a_permit_names_it_and_no_unconditional_forbid_does);
	RUN(tool_patterns_are_fnmatch_globs_where_star_crosses_dots);
	RUN(spec_example_without_unsupported_parts_decides_as_documented);
	RUN(the_whole_spec_example_loads_and_holds_large_refunds_for_the_lead);
	RUN(spec_example_rate_limits_load);
	RUN(privileges_are_root_or_host_network_on_rules_that_let_calls_run);
	RUN(a_decision_carries_the_privileges_of_the_rules_that_decided_it);
	policy_decision_clear(&decision);
	return TEST_SUMMARY();
}
