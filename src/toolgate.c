/*
 * toolgate: the command-line client and admin tool.  Each subcommand is a
 * function; main() only dispatches.  Exit codes of `call` (contract): 0
 * success, 1 the tool failed, 3 refused by the broker (policy or arguments),
 * 2 usage, connection or protocol error.
 */
#include "cli_admin.h"
#include "cli_approvals.h"
#include "cli_audit.h"
#include "cli_mcp.h"
#include "cli_proof.h"
#include "cli_stats.h"
#include "cli_policy.h"
#include "cli_token.h"
#include "client.h"
#include "config.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SOCKET "/run/toolgate/toolgate.sock"

static const char *socket_path = DEFAULT_SOCKET;

static const char usage_text[] =
"usage: toolgate [--socket PATH] list [--json]\n"
"       toolgate [--socket PATH] call TOOL [ARGS_JSON] [--token TOKEN] [--timeout SECONDS] [--json]\n"
"                                [--idempotency-key KEY] [--traceparent TRACEPARENT]\n"
"       toolgate [--socket PATH] status\n"
"       toolgate [--socket PATH] stats     # Prometheus metrics (admin principals only)\n"
"       toolgate [--socket PATH] approvals list [--json]\n"
"       toolgate [--socket PATH] approvals approve|deny ID [--reason TEXT] [--json]\n"
"       toolgate [--socket PATH] reload [--json]\n"
"       toolgate [--socket PATH] admin disable TOOL [--reason TEXT] [--json]\n"
"       toolgate [--socket PATH] admin enable TOOL [--json]\n"
"       toolgate [--socket PATH] admin list [--json]\n"
"       toolgate check-config DIR [--json]\n"
"       toolgate keygen --out PREFIX\n"
"       toolgate policy explain --agent AGENT --tool TOOL [--args JSON] [--token TOKEN]\n"
"                               [--config-dir DIR] [--broker-id ID] [--json]\n"
"       toolgate token mint --key ISSUER.key --sub USER --agent AGENT --aud BROKER_ID\n"
"                           --ttl DURATION --tools SCOPE_JSON [--kid KID] [--iss ISSUER] [--jti JTI]\n"
"                           [--nbf TIME]\n"
"       toolgate token verify TOKEN --key ISSUER.pub [--json]\n"
"       toolgate audit verify LOG --key AUDIT.pub [--checkpoint FILE [--merkle-only]] [--json]\n"
"       toolgate audit show LOG [--tool T] [--user U] [--agent A] [--decision D] [--since TIME]\n"
"                           [--until TIME] [--json]\n"
"       toolgate audit checkpoint STATE_DIR [--key AUDIT.pub]\n"
"       toolgate audit prove LOG --seq N [--checkpoint FILE] [--key AUDIT.pub]\n"
"       toolgate audit consistency OLD_CHECKPOINT NEW_CHECKPOINT LOG [--key AUDIT.pub]\n"
"       toolgate [--socket PATH] mcp [--token TOKEN | --token-file FILE] [--max-message BYTES]\n"
"                               [--drain SECONDS]\n"
"\n"
"  toolgate COMMAND --help shows one command's usage; man toolgate(1) has them all.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* `toolgate audit --help` (also policy, token): the usage lines of the
   group's subcommands, with their continuation lines. */
static int group_usage(FILE *f, const char *group)
{
	char needle[32];
	snprintf(needle, sizeof needle, "toolgate %s ", group);
	bool in = false, first = true;
	for (const char *l = usage_text, *e; *l; l = e + 1) {
		e = strchr(l, '\n');
		size_t n = (size_t)(e - l);
		bool cont = n > 8 && strspn(l, " ") > 8 && !memmem(l, n, "toolgate ", 9);
		if (memmem(l, n, needle, strlen(needle)))
			in = true;
		else if (!cont)
			in = false;
		if (in) {
			const char *body = cont ? l : memmem(l, n, "toolgate ", 9);
			fprintf(f, "%s%.*s\n", cont ? "" : first ? "usage: " : "       ", (int)(n - (size_t)(body - l)),
			        body);
			first = false;
		}
	}
	return 0;
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int open_client(struct client *c, const char *token)
{
	struct tg_error err;
	json_t *meta = token ? json_pack("{s:s}", "toolgate/delegation", token) : NULL;
	if (client_open(c, socket_path, meta, &err) != 0) {
		fprintf(stderr, "toolgate: %s\n", err.msg);
		client_close(c);
		return -1;
	}
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (is_help(argv[i])) {
			printf("usage: toolgate [--socket PATH] list [--json]\n"
			       "  the tools this caller may call (--json: their MCP descriptions)\n");
			return 0;
		} else {
			fprintf(stderr, "toolgate list: unexpected argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	struct client c;
	if (open_client(&c, NULL) != 0)
		return 2;
	json_t *all = json_array();
	json_t *cursor = NULL;
	int rc = 0;
	for (;;) {
		json_t *params = cursor ? json_pack("{s:O}", "cursor", cursor) : json_object();
		json_t *res;
		int code;
		struct tg_error err;
		if (client_request(&c, "tools/list", params, 30000, &res, &code, &err) != 0) {
			fprintf(stderr, "toolgate list: %s\n", err.msg);
			rc = 2;
			break;
		}
		json_array_extend(all, json_object_get(res, "tools"));
		json_decref(cursor);
		cursor = json_incref(json_object_get(res, "nextCursor"));
		json_decref(res);
		if (!json_is_string(cursor))
			break;
	}
	json_decref(cursor);
	if (rc == 0) {
		if (as_json) {
			json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else if (json_array_size(all) == 0) {
			printf("no tools: this caller may call none\n");
		} else {
			size_t i;
			json_t *t;
			printf("%-24s %-6s %s\n", "TOOL", "EFFECT", "DESCRIPTION");
			json_array_foreach(all, i, t) {
				json_t *ann = json_object_get(t, "annotations");
				bool ro = json_is_true(json_object_get(ann, "readOnlyHint"));
				const char *d = json_string_value(json_object_get(t, "description"));
				const char *title = json_string_value(json_object_get(t, "title"));
				printf("%-24s %-6s %s\n", json_string_value(json_object_get(t, "name")),
				       ro ? "read" : "write", d && *d ? d : title ? title : "");
			}
		}
	}
	json_decref(all);
	client_close(&c);
	return rc;
}

static void print_text_content(FILE *f, json_t *res)
{
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(res, "content"), i, item) {
		const char *text = json_string_value(json_object_get(item, "text"));
		if (text) {
			fputs(text, f);
			if (*text && text[strlen(text) - 1] != '\n')
				fputc('\n', f);
		}
	}
}

static int cmd_call(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "idempotency-key", required_argument, NULL, 'k' },
		{ "traceparent", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *token = NULL, *idem_key = NULL, *traceparent = NULL;
	long timeout_ms = -1;
	bool as_json = false;
	int ch;
	/* Options may come before or after TOOL and ARGS_JSON (GNU permutation);
	   ":" lets us word the errors ourselves. */
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 't': token = optarg; break;
		case 'T': {
			char *end;
			double s = strtod(optarg, &end);
			/* Written so that NaN fails too; a timeout must be at least 1 ms. */
			if (end == optarg || *end || !(s >= 0.001 && s <= 86400)) {
				fprintf(stderr, "toolgate call: --timeout: \"%s\" is not a number of seconds "
				        "from 0.001 to 86400\n", optarg);
				return 2;
			}
			timeout_ms = (long)(s * 1000);
			break;
		}
		case 'k': idem_key = optarg; break;
		case 'p': traceparent = optarg; break;
		case 'j': as_json = true; break;
		case 'h':
			printf("usage: toolgate [--socket PATH] call TOOL [ARGS_JSON] [--token TOKEN] [--timeout SECONDS] [--json]\n"
			       "                                [--idempotency-key KEY] [--traceparent TRACEPARENT]\n"
			       "  exit 0 success, 1 the tool failed, 3 refused by the broker, 2 usage or connection error\n"
			       "  --idempotency-key KEY: a retry with the same KEY gets the first result, the tool\n"
			       "  does not run again (_meta[\"toolgate/idempotencyKey\"]); --traceparent: W3C trace context\n");
			return 0;
		case ':':
			fprintf(stderr, "toolgate call: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "toolgate call: unknown option \"%s\"\n", argv[optind - 1]);
			fprintf(stderr, "usage: toolgate call TOOL [ARGS_JSON] [--token TOKEN] [--timeout SECONDS] [--json]\n");
			return 2;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		fprintf(stderr, "usage: toolgate call TOOL [ARGS_JSON] [--token TOKEN] [--timeout SECONDS] [--json]\n");
		return 2;
	}
	const char *tool = argv[optind];
	json_t *args;
	if (optind + 1 < argc) {
		json_error_t jerr;
		args = json_loads(argv[optind + 1], JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(args)) {
			fprintf(stderr, "toolgate call: ARGS_JSON must be a JSON object%s%s\n",
			        args ? "" : ": ", args ? "" : jerr.text);
			json_decref(args);
			return 2;
		}
	} else {
		args = json_object();
	}
	struct client c;
	if (open_client(&c, token) != 0) {
		json_decref(args);
		return 2;
	}
	json_t *params = json_pack("{s:s, s:o}", "name", tool, "arguments", args);
	json_t *meta = json_object();
	if (token)
		json_object_set_new(meta, "toolgate/delegation", json_string(token));
	if (idem_key)
		json_object_set_new(meta, "toolgate/idempotencyKey", json_string(idem_key));
	if (traceparent)
		json_object_set_new(meta, "traceparent", json_string(traceparent));
	if (json_object_size(meta))
		json_object_set(params, "_meta", meta);
	json_decref(meta);
	json_t *res;
	int code;
	struct tg_error err;
	int rc = client_request(&c, "tools/call", params, timeout_ms, &res, &code, &err);
	client_close(&c);
	if (rc == -2) {
		fprintf(stderr, "toolgate call: no answer within %.1f s; the call was cancelled\n",
		        (double)timeout_ms / 1000);
		return 2;
	}
	if (rc != 0) {
		fprintf(stderr, "toolgate call: %s\n", err.msg);
		return 2;
	}
	bool is_error = json_is_true(json_object_get(res, "isError"));
	json_t *dec = json_object_get(json_object_get(res, "_meta"), "toolgate/decision");
	const char *decision = json_string_value(json_object_get(dec, "decision"));
	bool refused = is_error && decision && strcmp(decision, "permit") != 0;
	if (as_json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_text_content(is_error ? stderr : stdout, res);
	}
	json_decref(res);
	return refused ? 3 : is_error ? 1 : 0;
}

static int cmd_status(int argc, char **argv)
{
	if (argc == 2 && is_help(argv[1])) {
		printf("usage: toolgate [--socket PATH] status\n  the broker's state, as JSON\n");
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: toolgate status\n");
		return 2;
	}
	struct client c;
	if (open_client(&c, NULL) != 0)
		return 2;
	json_t *res;
	int code;
	struct tg_error err;
	int rc = client_request(&c, "toolgate/status", json_object(), 30000, &res, &code, &err);
	client_close(&c);
	if (rc != 0) {
		fprintf(stderr, "toolgate status: %s\n", err.msg);
		return 2;
	}
	json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(res);
	return 0;
}

static int cmd_check_config(int argc, char **argv)
{
	/* --json before or after DIR, as with every command. */
	bool as_json = false;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf("usage: toolgate check-config DIR [--json]\n"
			       "  exit 0 valid, 1 invalid (the first problem named: file and field)\n");
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "toolgate check-config: unknown option \"%s\"\n"
			        "usage: toolgate check-config DIR [--json]\n", argv[i]);
			return 2;
		} else if (dir) {
			fprintf(stderr, "toolgate check-config: unexpected argument \"%s\"\n"
			        "usage: toolgate check-config DIR [--json]\n", argv[i]);
			return 2;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: toolgate check-config DIR [--json]\n");
		return 2;
	}
	struct tg_error err;
	struct config *c = config_load(dir, &err);
	if (as_json) {
		json_t *tools = json_array();
		for (size_t i = 0; c && i < c->ntools; i++)
			json_array_append_new(tools, json_pack("{s:s, s:s, s:b}", "name", c->tools[i]->name,
			                      "file", c->tools[i]->file, "enabled", c->tools[i]->enabled));
		json_t *r = json_pack("{s:b, s:s?, s:o, s:I, s:s?}", "valid", c != NULL,
		                      "error", c ? NULL : err.msg, "tools", tools,
		                      "profiles", (json_int_t)(c ? c->nprofiles : 0),
		                      "digest", c ? c->digest : NULL);
		json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(r);
	} else if (!c) {
		fprintf(stderr, "%s\n", err.msg);
	} else {
		printf("%s: valid: %zu tools, %zu sandbox profiles\n", dir, c->ntools, c->nprofiles);
		for (size_t i = 0; i < c->ntools; i++)
			printf("  %-24s %s%s\n", c->tools[i]->name, c->tools[i]->file,
			       c->tools[i]->enabled ? "" : " (disabled)");
	}
	if (!c)
		return 1;
	config_unref(c);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--socket") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "toolgate: --socket needs a PATH\n");
				return 2;
			}
			socket_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			socket_path = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("toolgate %s\n", TOOLGATE_VERSION);
			return 0;
		} else {
			fprintf(stderr, "toolgate: unknown option \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	if (strcmp(cmd, "list") == 0)
		return cmd_list(sub_argc, sub_argv);
	if (strcmp(cmd, "call") == 0)
		return cmd_call(sub_argc, sub_argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(sub_argc, sub_argv);
	if (strcmp(cmd, "stats") == 0)
		return cli_stats(sub_argc, sub_argv, socket_path);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(sub_argc, sub_argv);
	if (strcmp(cmd, "keygen") == 0)
		return cli_keygen(sub_argc, sub_argv);
	if (strcmp(cmd, "mcp") == 0)
		return cli_mcp(sub_argc, sub_argv, socket_path);
	if (strcmp(cmd, "approvals") == 0)
		return cli_approvals(sub_argc, sub_argv, socket_path);
	if (strcmp(cmd, "reload") == 0)
		return cli_reload(sub_argc, sub_argv, socket_path);
	if (strcmp(cmd, "admin") == 0)
		return cli_admin(sub_argc, sub_argv, socket_path);
	if ((strcmp(cmd, "policy") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "audit") == 0) &&
	    (sub_argc == 1 || is_help(sub_argv[1]))) {
		if (sub_argc == 1)
			fprintf(stderr, "toolgate %s: say which subcommand\n", cmd);
		group_usage(sub_argc == 1 ? stderr : stdout, cmd);
		return sub_argc == 1 ? 2 : 0;
	}
	if (strcmp(cmd, "policy") == 0 && sub_argc >= 2 && strcmp(sub_argv[1], "explain") == 0)
		return cli_policy_explain(sub_argc - 1, sub_argv + 1);
	if (strcmp(cmd, "token") == 0 && sub_argc >= 2) {
		if (strcmp(sub_argv[1], "mint") == 0)
			return cli_token_mint(sub_argc - 1, sub_argv + 1);
		if (strcmp(sub_argv[1], "verify") == 0)
			return cli_token_verify(sub_argc - 1, sub_argv + 1);
	}
	if (strcmp(cmd, "audit") == 0 && sub_argc >= 2) {
		if (strcmp(sub_argv[1], "verify") == 0)
			return cli_audit_verify(sub_argc - 1, sub_argv + 1);
		if (strcmp(sub_argv[1], "show") == 0)
			return cli_audit_show(sub_argc - 1, sub_argv + 1);
		if (strcmp(sub_argv[1], "checkpoint") == 0)
			return cli_audit_checkpoint(sub_argc - 1, sub_argv + 1);
		if (strcmp(sub_argv[1], "prove") == 0)
			return cli_audit_prove(sub_argc - 1, sub_argv + 1);
		if (strcmp(sub_argv[1], "consistency") == 0)
			return cli_audit_consistency(sub_argc - 1, sub_argv + 1);
	}
	fprintf(stderr, "toolgate: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
