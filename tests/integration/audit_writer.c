/*
 * audit_writer.c: a tiny driver for tests/integration/test_audit_openssl.sh.
 *
 *   audit_writer write STATE_DIR N     append N varied records, one sync, close
 *   audit_writer verify|show|keygen ... the CLI subcommands of cli_audit.c
 *
 * It lets the script test the audit log and its CLI with stock tools before
 * the real `toolgate` main exists, linking only keys.c, audit.c, cli_audit.c
 * and error.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "cli_audit.h"

/* Records shaped like the broker's: a decision, an end with extras, a start. */
static json_t *record(unsigned long i)
{
	switch (i % 3) {
	case 0:
		return json_pack("{s:s, s:s, s:{s:i, s:i, s:i}, s:s, s:s, s:{s:s, s:i, s:s}, s:s, s:[s], s:s}",
		                 "event", "call.decision", "agent", "support-bot", "peer", "uid", 1001,
		                 "gid", 1001, "pid", 4242, "user", "alice", "tool", "refund.issue",
		                 "args", "order_id", "A-1001", "amount_cents", 1200,
		                 "note", "caf\xc3\xa9 \xe2\x98\x83 ,\"sig\":\"x\"}",
		                 "decision", "permit", "rules", "small-refunds",
		                 "reason", "permitted by rule small-refunds");
	case 1:
		return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:i}",
		                 "event", "call.end", "agent", "support-bot", "user", "alice",
		                 "tool", "refund.issue", "exit", 0, "duration_ms", 37,
		                 "output_sha256",
		                 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		                 "call_id", "c-77", "output_bytes", 123);
	default:
		return json_pack("{s:s, s:s, s:s}", "event", "broker.start", "reason", "started",
		                 "version", "0.1");
	}
}

static int write_records(const char *state_dir, unsigned long n)
{
	struct tg_error err;
	struct audit_log *a = audit_open(state_dir, &err);
	if (!a) {
		fprintf(stderr, "audit_writer: %s\n", err.msg);
		return 1;
	}
	unsigned long base = (unsigned long)audit_last_seq(a);
	for (unsigned long i = 0; i < n; i++) {
		json_t *fields = record(base + i);
		uint64_t seq;
		int rc = fields ? audit_append(a, fields, &seq, &err) : -1;
		json_decref(fields);
		if (rc < 0) {
			fprintf(stderr, "audit_writer: %s\n", fields ? err.msg : "json_pack failed");
			audit_close(a);
			return 1;
		}
	}
	if (audit_sync(a, &err) < 0) {
		fprintf(stderr, "audit_writer: %s\n", err.msg);
		audit_close(a);
		return 1;
	}
	printf("%llu\n", (unsigned long long)audit_durable_seq(a));
	audit_close(a);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "write") == 0)
		return write_records(argv[2], strtoul(argv[3], NULL, 10));
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cli_audit_verify(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cli_audit_show(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return cli_keygen(argc - 1, argv + 1);
	fprintf(stderr, "usage: audit_writer write STATE_DIR N | verify|show|keygen ARGS...\n");
	return 2;
}
