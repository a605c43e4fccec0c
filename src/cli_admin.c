/*
 * cli_admin.c: `toolgate reload` and `toolgate admin ...` (see cli_admin.h).
 * Each is one request on a fresh connection; what the broker answers is
 * printed for a person, or as it came with --json.
 */
#include "cli_admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli_util.h"
#include "client.h"
#include "jsonrpc.h"

#define TIMEOUT_MS 30000

static const char reload_usage[] = "usage: toolgate [--socket PATH] reload [--json]";
static const char admin_usage[] =
	"usage: toolgate [--socket PATH] admin disable TOOL [--reason TEXT] [--json]\n"
	"       toolgate [--socket PATH] admin enable TOOL [--json]\n"
	"       toolgate [--socket PATH] admin list [--json]";

/* 0 with *res, 1 the broker refused, 2 could not ask. */
static int request(const char *cmd, const char *socket_path, const char *method, json_t *params,
                   json_t **res)
{
	struct client c;
	struct tg_error err;
	int code = 0;
	if (client_open(&c, socket_path, NULL, &err) != 0) {
		json_decref(params);
		client_close(&c);
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		return 2;
	}
	int rc = client_request(&c, method, params, TIMEOUT_MS, res, &code, &err);
	client_close(&c);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		/* A refusal the broker chose (not permitted, bad name) vs. not understood. */
		return code == JSONRPC_FORBIDDEN || code == JSONRPC_INVALID_PARAMS ||
		       code == JSONRPC_INTERNAL_ERROR ? 1 : 2;
	}
	return 0;
}

static void print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

int cli_reload(int argc, char **argv, const char *socket_path)
{
	static const char cmd[] = "toolgate reload";
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("%s\n\nAsk the broker to load its configuration again, as SIGHUP does; prints "
			       "the outcome.\nOnly admin principals and root may.\n", reload_usage);
			return 0;
		} else {
			fprintf(stderr, "%s: unexpected argument \"%s\"\n%s\n", cmd, argv[i], reload_usage);
			return 2;
		}
	}
	json_t *res;
	int rc = request(cmd, socket_path, "toolgate/admin/reload", json_object(), &res);
	if (rc != 0)
		return rc;
	bool ok = json_is_true(json_object_get(res, "reloaded"));
	if (as_json)
		print_json(res);
	else if (ok)
		printf("reloaded: %lld tools, configuration digest %.16s\n",
		       (long long)json_integer_value(json_object_get(res, "tools")),
		       json_string_value(json_object_get(res, "config_digest")));
	else
		fprintf(stderr, "%s: the configuration was not reloaded, the previous one stays in force: %s\n",
		        cmd, json_string_value(json_object_get(res, "error")));
	json_decref(res);
	return ok ? 0 : 1;
}

static int admin_list(const char *cmd, const char *socket_path, bool as_json)
{
	json_t *res;
	int rc = request(cmd, socket_path, "toolgate/admin/list", json_object(), &res);
	if (rc != 0)
		return rc;
	json_t *d = json_object_get(res, "disabled");
	if (as_json) {
		print_json(res);
	} else if (json_object_size(d) == 0) {
		puts("no tool is disabled");
	} else {
		const char *name;
		json_t *e;
		json_object_foreach(d, name, e)
			printf("%s\tdisabled %s by %s%s%s\n", name, json_string_value(json_object_get(e, "at")),
			       json_string_value(json_object_get(e, "by")),
			       *json_string_value(json_object_get(e, "reason")) ? ": " : "",
			       json_string_value(json_object_get(e, "reason")));
	}
	json_decref(res);
	return 0;
}

int cli_admin(int argc, char **argv, const char *socket_path)
{
	static const char cmd[] = "toolgate admin";
	const char *verb = argc >= 2 ? argv[1] : NULL, *tool = NULL, *reason = NULL;
	bool as_json = false;
	bool help = false;
	for (int i = 1; i < argc; i++)
		help |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
	if (help) {
		printf("%s\n\nThe kill switch: a disabled tool is refused at once and hidden from tools/list,\n"
		       "across reloads and restarts, until enabled again.  Only admin principals\n"
		       "(\"admin\": true in the policies) and root may.\n", admin_usage);
		return 0;
	}
	if (!verb || (strcmp(verb, "disable") != 0 && strcmp(verb, "enable") != 0 && strcmp(verb, "list") != 0)) {
		fprintf(stderr, "%s: expected disable, enable or list\n%s\n", cmd, admin_usage);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		int m;
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (strcmp(verb, "disable") == 0 && (m = cli_opt_value(argc, argv, &i, "--reason", &reason))) {
			if (m < 0) {
				fprintf(stderr, "%s: --reason needs a text\n%s\n", cmd, admin_usage);
				return 2;
			}
		} else if (argv[i][0] != '-' && !tool && strcmp(verb, "list") != 0) {
			tool = argv[i];
		} else {
			fprintf(stderr, "%s: unexpected argument \"%s\"\n%s\n", cmd, argv[i], admin_usage);
			return 2;
		}
	}
	if (strcmp(verb, "list") == 0)
		return admin_list(cmd, socket_path, as_json);
	if (!tool) {
		fprintf(stderr, "%s %s: missing TOOL\n%s\n", cmd, verb, admin_usage);
		return 2;
	}
	bool on = strcmp(verb, "disable") == 0;
	json_t *params = json_pack("{s:s}", "tool", tool);
	if (reason)
		json_object_set_new(params, "reason", json_string(reason));
	json_t *res;
	int rc = request(cmd, socket_path, on ? "toolgate/admin/disable" : "toolgate/admin/enable",
	                 params, &res);
	if (rc != 0)
		return rc;
	if (as_json) {
		print_json(res);
	} else {
		bool was = json_is_true(json_object_get(res, "was_disabled"));
		bool known = json_is_true(json_object_get(res, "configured"));
		printf("%s: %s%s (audit seq %lld)%s\n", tool,
		       on ? (was ? "disabled (it already was; reason updated)" : "disabled")
		          : (was ? "enabled" : "was not disabled; nothing changed"),
		       "", (long long)json_integer_value(json_object_get(res, "audit_seq")),
		       known ? "" : "; note: no tool of that name is configured now");
	}
	json_decref(res);
	return 0;
}
