/*
 * refund-issue: the demo's "refund.issue" tool (effect write).
 *
 * Usage  refund-issue [--currency CODE]     (CODE is ^[A-Z]{3}$, default EUR;
 *        tools.d/refund.issue.json passes "--currency EUR")
 * Input  {"order_id": "^[A-Z0-9-]{4,32}$", "amount_cents": 1..100000}
 * Effect appends one JSON line to the ledger named by $REFUND_LEDGER:
 *        {"id","time","order_id","amount_cents","currency"}
 * Output refunded 12.50 EUR on order ORD-1001 (refund R-1732412345-07c1)
 *
 * The currency comes from argv, not from the arguments, to show that a
 * tool's fixed configuration lives in its tool file where the model cannot
 * change it.  The ledger is fsync'd before the reply: a refund reported to
 * the agent is a refund on disk.
 */
#define _GNU_SOURCE
#include "common.h"

/* ^[A-Z0-9-]{4,32}$ */
static bool is_order_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 4 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool is_currency(const char *s)
{
	return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
	       s[2] >= 'A' && s[2] <= 'Z';
}

int main(int argc, char **argv)
{
	static const char *const allowed[] = {"order_id", "amount_cents", NULL};
	const char *currency = "EUR";
	char err[ERR_MAX];
	struct args a;
	const char *order;
	long long cents;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--currency") == 0 && i + 1 < argc && is_currency(argv[i + 1])) {
			currency = argv[++i];
			continue;
		}
		fprintf(stderr, "usage: refund-issue [--currency CODE] < ARGUMENTS_JSON "
		        "(CODE: three capital letters)\n");
		return 2;
	}

	if (args_from_stdin(&a, err) < 0) {
		fprintf(stderr, "refund-issue: %s\n", err);
		return 2;
	}
	if (args_only(&a, allowed, err) < 0 ||
	    args_string(&a, "order_id", true, 1, 64, &order, err) < 0 ||
	    (!is_order_id(order) &&
	     errf(err, "invalid arguments: \"order_id\": must match ^[A-Z0-9-]{4,32}$") < 0) ||
	    args_int(&a, "amount_cents", true, 1, 100000, 0, &cents, err) < 0) {
		fprintf(stderr, "refund-issue: %s\n", err);
		args_free(&a);
		return 2;
	}

	int rc = 1;
	char *line = NULL;
	size_t len = 0;
	FILE *m = NULL;
	const char *ledger = getenv("REFUND_LEDGER");
	if (!ledger || !*ledger) {
		fprintf(stderr, "refund-issue: REFUND_LEDGER is not set: the tool's env must name "
		        "the refund ledger file\n");
		goto out;
	}

	time_t now = time(NULL);
	char id[64], when[32];
	if (make_record_id("R", now, id, sizeof id, err) < 0) {
		fprintf(stderr, "refund-issue: %s\n", err);
		goto out;
	}
	format_time_utc(now, when, sizeof when);

	m = open_memstream(&line, &len);
	if (!m) {
		fprintf(stderr, "refund-issue: cannot build the record: %s\n", strerror(errno));
		goto out;
	}
	fputs("{\"id\":", m);
	json_put_string(m, id);
	fputs(",\"time\":", m);
	json_put_string(m, when);
	fputs(",\"order_id\":", m);
	json_put_string(m, order);
	fprintf(m, ",\"amount_cents\":%lld,\"currency\":", cents);
	json_put_string(m, currency);
	fputs("}\n", m);
	if (fclose(m) != 0) {
		m = NULL;
		fprintf(stderr, "refund-issue: cannot build the record: %s\n", strerror(errno));
		goto out;
	}
	m = NULL;

	if (store_append("refund ledger", ledger, line, len, err) < 0) {
		fprintf(stderr, "refund-issue: %s\n", err);
		goto out;
	}
	printf("refunded %lld.%02lld %s on order %s (refund %s)\n", cents / 100, cents % 100,
	       currency, order, id);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "refund-issue: refund %s was recorded but the reply could not be "
		        "written: %s\n", id, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (m)
		fclose(m);
	free(line);
	args_free(&a);
	return rc;
}
