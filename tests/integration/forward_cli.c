/*
 * forward_cli.c: a tiny driver for tests/integration/test_forward.py.
 *
 *   forward_cli --host H --port P --ca CA [--cert C --key K] --log LOG
 *               --cursor CURSOR --hostname NAME --broker-id ID --status FILE
 *
 * It runs one forwarder (forward.c) until SIGTERM or SIGINT, rewriting FILE
 * every 50 ms with the status as one JSON object (atomically, so a reader
 * never sees half of it); at the signal it stops the forwarder, writes the
 * final status to FILE and stdout, and exits 0.  A forwarder that cannot
 * start: the error on stderr, exit 1.  It lets the test drive the module
 * against a real rsyslog before the broker wires it in, linking only
 * forward.c, error.c, jsonrpc.c and fileio.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "forward.h"

static int write_status(struct forwarder *f, const char *path, const struct forward_status *given)
{
	struct forward_status st;
	if (given)
		st = *given;
	else
		forward_status(f, &st);
	json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:s}", "connected", st.connected, "sent_seq",
	                      (json_int_t)st.sent_seq, "delivered_seq", (json_int_t)st.delivered_seq,
	                      "behind", (json_int_t)st.behind, "last_error", st.last_error);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int rc = j ? json_dump_file(j, tmp, JSON_COMPACT) : -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (given) {
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(j);
	return rc;
}

int main(int argc, char **argv)
{
	struct forward_options o = { 0 };
	const char *status_path = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--host"))
			o.host = v;
		else if (!strcmp(k, "--port"))
			o.port = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "--ca"))
			o.ca_file = v;
		else if (!strcmp(k, "--cert"))
			o.cert_file = v;
		else if (!strcmp(k, "--key"))
			o.key_file = v;
		else if (!strcmp(k, "--log"))
			o.log_path = v;
		else if (!strcmp(k, "--cursor"))
			o.cursor_path = v;
		else if (!strcmp(k, "--hostname"))
			o.hostname = v;
		else if (!strcmp(k, "--broker-id"))
			o.broker_id = v;
		else if (!strcmp(k, "--status"))
			status_path = v;
		else {
			fprintf(stderr, "forward_cli: unknown option %s\n", k);
			return 2;
		}
	}
	if (!status_path || argc % 2 == 0) {
		fprintf(stderr, "forward_cli: usage: see the comment at the top of forward_cli.c\n");
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	struct forwarder *f;
	struct tg_error err;
	if (forward_start(&f, &o, &err) != 0) {
		fprintf(stderr, "forward_cli: %s\n", err.msg);
		return 1;
	}
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	for (;;) {
		write_status(f, status_path, NULL);
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	struct forward_status last;
	forward_stop(f, &last);
	write_status(NULL, status_path, &last);
	return 0;
}
