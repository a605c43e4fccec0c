/*
 * audit: the audit log's figures for make bench, measured on the real code
 * (audit.c, through libtoolgate).
 *
 *   audit --state DIR --rates          records/s appended with group commit:
 *                                      batches of 1, 16 and 64 records per
 *                                      fdatasync (what 1, 16 and 64 calls in
 *                                      flight give the broker's commit phase)
 *   audit --state DIR --fill N         a log of N records (batches of 64),
 *                                      with a checkpoint at the end, for the
 *                                      verification rows run.sh times with
 *                                      `toolgate audit verify`
 *
 * A record is a typical decision record (agent, peer, tool, arguments, rule,
 * reason): about 500 bytes signed.  Each rates row runs for --seconds.
 */
#define BENCH_PROG "audit"
#include "bench.h"

#include "audit.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static json_t *record(uint64_t i)
{
	return json_pack("{s:s, s:s, s:{s:i, s:i, s:i}, s:s, s:s, s:{s:s, s:I}, s:s, s:[s], s:s}",
		"event", "decision", "agent", "support-bot", "peer", "uid", 1001, "gid", 1001, "pid", 4242,
		"user", "alice@example.com", "tool", "refund.issue", "args", "order_id", "A-1234567",
		"amount_cents", (json_int_t)(i % 100000), "decision", "permit", "rules", "small-refunds",
		"reason", "permitted by rule small-refunds");
}

/* Append batch-sized groups for `seconds`; records/s, or -1. */
static double rate(struct audit_log *a, unsigned batch, double seconds, struct bench_error *err)
{
	uint64_t start = now_ns(), deadline = start + (uint64_t)(seconds * 1e9), n = 0;
	struct tg_error e;
	while (now_ns() < deadline) {
		for (unsigned i = 0; i < batch; i++) {
			json_t *r = record(n);
			uint64_t seq;
			int rc = audit_append(a, r, &seq, &e);
			json_decref(r);
			if (rc != 0)
				return bench_err(err, "append: %s", e.msg);
			n++;
		}
		if (audit_sync(a, &e) != 0)
			return bench_err(err, "sync: %s", e.msg);
	}
	return (double)n / ((double)(now_ns() - start) / 1e9);
}

int main(int argc, char **argv)
{
	const char *state = NULL;
	unsigned long long fill = 0;
	bool rates = false;
	double seconds = 3;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--fill") == 0 && i + 1 < argc)
			fill = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--rates") == 0)
			rates = true;
	}
	if (!state || (!rates && !fill)) {
		fprintf(stderr, "usage: audit --state DIR (--rates [--seconds S] | --fill N)\n");
		return 2;
	}
	struct tg_error e;
	struct audit_log *a = audit_open(state, &e);
	if (!a) {
		fprintf(stderr, "audit: %s\n", e.msg);
		return 1;
	}
	struct bench_error err;
	int rc = 0;
	if (rates) {
		static const unsigned batches[] = { 1, 16, 64 };
		for (size_t i = 0; i < 3; i++) {
			double r = rate(a, batches[i], seconds, &err);
			if (r < 0) {
				report_error(&err);
				rc = 1;
				break;
			}
			printf("  %-40s %12.0f records/s\n",
			       batches[i] == 1 ? "append + fdatasync, 1 call in flight" :
			       batches[i] == 16 ? "group commit, 16 calls in flight" :
			                          "group commit, 64 calls in flight", r);
		}
	} else {
		uint64_t n = 0;
		while (n < fill) {
			unsigned batch = fill - n < 64 ? (unsigned)(fill - n) : 64;
			for (unsigned i = 0; i < batch; i++, n++) {
				json_t *r = record(n);
				uint64_t seq;
				int arc = audit_append(a, r, &seq, &e);
				json_decref(r);
				if (arc != 0) {
					fprintf(stderr, "audit: %s\n", e.msg);
					audit_close(a);
					return 1;
				}
			}
			if (audit_sync(a, &e) != 0) {
				fprintf(stderr, "audit: %s\n", e.msg);
				audit_close(a);
				return 1;
			}
		}
		if (audit_checkpoint(a, "bench", now_ns() / 1000000, &e) != 0) {
			fprintf(stderr, "audit: %s\n", e.msg);
			rc = 1;
		}
	}
	audit_close(a);
	return rc;
}
