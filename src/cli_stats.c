/*
 * cli_stats.c: `toolgate stats` (see cli_stats.h), a thin client of the
 * broker's toolgate/metrics method over client.c.  Whether the caller may
 * see the metrics is the broker's decision (policy_is_admin); this side
 * only asks, checks the reply's shape, and prints the text as it came, so
 * that it can be piped into anything that reads Prometheus's format.
 */
#include "cli_stats.h"
#include "client.h"
#include "error.h"
#include "jsonrpc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define PROG "toolgate stats"
#define REQUEST_TIMEOUT_MS 30000

static const char usage_text[] = "usage: toolgate [--socket PATH] stats [--socket PATH]\n";

/* Text a terminal may show as is: printable ASCII, tabs, newlines and
   UTF-8 (the exposition's label values), no control codes. */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

int cli_stats(int argc, char **argv, const char *socket_path)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			socket_path = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			socket_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else {
			fprintf(stderr, PROG ": unexpected argument \"%s\"\n%s", argv[i], usage_text);
			return 2;
		}
	}
	struct client c;
	struct tg_error err;
	if (client_open(&c, socket_path, NULL, &err) != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		client_close(&c);
		return 2;
	}
	json_t *res = NULL;
	int code = 0;
	int rc = client_request(&c, "toolgate/metrics", json_object(), REQUEST_TIMEOUT_MS, &res, &code, &err);
	client_close(&c);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return code == JSONRPC_FORBIDDEN ? 1 : 2;
	}
	const json_t *text = json_object_get(res, "text");
	if (!json_is_string(text) || !printable(json_string_value(text), json_string_length(text))) {
		fprintf(stderr, PROG ": the broker's reply has no \"text\" of printable characters\n");
		json_decref(res);
		return 2;
	}
	fwrite(json_string_value(text), 1, json_string_length(text), stdout);
	json_decref(res);
	return fflush(stdout) == 0 ? 0 : 2;
}
