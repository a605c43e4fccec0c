/*
 * cli_policy.c: `toolgate policy explain` (see cli_policy.h).  It runs the
 * broker's own decision (decide.c) on the configuration on disk, so what it
 * says is what the broker would do; it spends no single-use token.
 */
#include "cli_policy.h"
#include "config.h"
#include "decide.h"
#include "policy.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* On stdout for --help (exit 0), on stderr for a usage error (exit 2). */
static int usage(FILE *f)
{
	fprintf(f,
"usage: toolgate policy explain --agent AGENT --tool TOOL [--args JSON] [--token TOKEN]\n"
"                               [--config-dir DIR] [--broker-id ID] [--json]\n"
"  The decision the broker would take on that call, and the rules that decide it.\n"
"  Defaults: --args {}, --config-dir /etc/toolgate, --broker-id the host name.\n"
"  Exit: 0 permitted, 3 refused, 1 the configuration does not load, 2 usage.\n");
	return 2;
}

int cli_policy_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "tool", required_argument, NULL, 't' },
		{ "args", required_argument, NULL, 'A' },
		{ "token", required_argument, NULL, 'T' },
		{ "config-dir", required_argument, NULL, 'c' },
		{ "broker-id", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *agent = NULL, *tool = NULL, *args_text = "{}", *token = NULL;
	const char *dir = "/etc/toolgate", *broker = NULL;
	bool as_json = false;
	char host[256] = "localhost";
	int ch;
	optind = 1;
	opterr = 0;   /* ":": the errors are worded here, naming the command */
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': agent = optarg; break;
		case 't': tool = optarg; break;
		case 'A': args_text = optarg; break;
		case 'T': token = optarg; break;
		case 'c': dir = optarg; break;
		case 'b': broker = optarg; break;
		case 'j': as_json = true; break;
		case 'h': usage(stdout); return 0;
		case ':':
			fprintf(stderr, "toolgate policy explain: %s needs a value\n", argv[optind - 1]);
			return usage(stderr);
		default:
			fprintf(stderr, "toolgate policy explain: unknown option \"%s\"\n", argv[optind - 1]);
			return usage(stderr);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "toolgate policy explain: unexpected argument \"%s\"\n", argv[optind]);
		return usage(stderr);
	}
	if (!agent || !tool) {
		fprintf(stderr, "toolgate policy explain: missing %s\n", !agent ? "--agent AGENT" : "--tool TOOL");
		return usage(stderr);
	}
	if (!broker) {
		if (gethostname(host, sizeof host - 1) != 0)
			strcpy(host, "localhost");
		broker = host;
	}
	json_error_t jerr;
	json_t *args = json_loads(args_text, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(args)) {
		fprintf(stderr, "toolgate policy explain: --args must be a JSON object%s%s\n",
		        args ? "" : ": ", args ? "" : jerr.text);
		json_decref(args);
		return 2;
	}
	struct tg_error err;
	struct config *cfg = config_load(dir, &err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err.msg);
		json_decref(args);
		return 1;
	}
	int rc = 2;
	const struct tool *t = config_find_tool(cfg, tool);
	if (!t) {
		fprintf(stderr, "toolgate policy explain: no enabled tool \"%s\" in %s\n", tool, cfg->dir);
		goto out;
	}
	if (!policy_has_principal(cfg->policy, agent)) {
		fprintf(stderr, "toolgate policy explain: no principal \"%s\" in %s/policies\n", agent, cfg->dir);
		goto out;
	}
	struct decide_input in = {
		.cfg = cfg, .tool = t, .principal = agent, .args = args, .token = token,
		.broker_id = broker, .now = (int64_t)time(NULL), .skew = 60, .replay = NULL,
	};
	struct call_decision d;
	decide_call(&in, &d);
	/* Held for an approval is not refused: the broker would wait for a human. */
	bool permitted = strcmp(d.decision, "permit") == 0 || strcmp(d.decision, "held") == 0;
	if (as_json) {
		json_t *r = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s?, s:O?}", "agent", agent, "tool", tool,
		                      "decision", d.decision, "rules", d.rules, "reason", d.reason,
		                      "user", d.user, "token", d.token_fields);
		json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(r);
	} else {
		printf("decision: %s\n", d.decision);
		printf("rules:    ");
		if (json_array_size(d.rules) == 0)
			printf("(none)");
		for (size_t i = 0; i < json_array_size(d.rules); i++)
			printf("%s%s", i ? ", " : "", json_string_value(json_array_get(d.rules, i)));
		printf("\nreason:   %s\n", d.reason);
		if (d.user)
			printf("user:     %s (token issuer %s)\n", d.user,
			       json_string_value(json_object_get(d.token_fields, "issuer")));
		if (policy_rate_limit_count(cfg->policy))
			printf("note:     rate limits are counted by the running broker, not here\n");
	}
	call_decision_clear(&d);
	rc = permitted ? 0 : 3;
out:
	config_unref(cfg);
	json_decref(args);
	return rc;
}
