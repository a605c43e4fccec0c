/*
 * ticket-create: the demo's "ticket.create" tool (effect write).
 *
 * Input  {"customer_id": "^C[0-9]{4}$", "subject": 1..120 chars,
 *         "body": 1..2000 chars, "priority": "low"|"normal"|"high"}
 * Effect appends one JSON line to the ticket store named by $TICKET_STORE
 *        (tools.d/ticket.create.json sets it inside the tool's write_paths):
 *        {"id","created","customer_id","subject","body","priority"}
 * Output created ticket T-1732412345-3fa9 for C1001 (priority high)
 *
 * The ticket id is the time plus 16 random bits: unique enough for a demo
 * store without keeping a counter file that concurrent calls would race on.
 */
#define _GNU_SOURCE
#include "common.h"

static const char *const priorities[] = {"low", "normal", "high", NULL};

static bool is_priority(const char *p)
{
	for (size_t i = 0; priorities[i]; i++)
		if (strcmp(priorities[i], p) == 0)
			return true;
	return false;
}

int main(void)
{
	static const char *const allowed[] = {"customer_id", "subject", "body", "priority", NULL};
	char err[ERR_MAX];
	struct args a;
	const char *customer, *subject, *body, *priority;

	if (args_from_stdin(&a, err) < 0) {
		fprintf(stderr, "ticket-create: %s\n", err);
		return 2;
	}
	if (args_only(&a, allowed, err) < 0 ||
	    args_customer_id(&a, &customer, err) < 0 ||
	    args_string(&a, "subject", true, 1, 120, &subject, err) < 0 ||
	    args_string(&a, "body", true, 1, 2000, &body, err) < 0 ||
	    args_string(&a, "priority", true, 1, 16, &priority, err) < 0 ||
	    (!is_priority(priority) &&
	     errf(err, "invalid arguments: \"priority\": must be one of low, normal, high") < 0)) {
		fprintf(stderr, "ticket-create: %s\n", err);
		args_free(&a);
		return 2;
	}

	int rc = 1;
	char *line = NULL;
	size_t len = 0;
	FILE *m = NULL;
	const char *store = getenv("TICKET_STORE");
	if (!store || !*store) {
		fprintf(stderr, "ticket-create: TICKET_STORE is not set: the tool's env must name "
		        "the ticket store file\n");
		goto out;
	}

	time_t now = time(NULL);
	char id[64], created[32];
	if (make_record_id("T", now, id, sizeof id, err) < 0) {
		fprintf(stderr, "ticket-create: %s\n", err);
		goto out;
	}
	format_time_utc(now, created, sizeof created);

	m = open_memstream(&line, &len);
	if (!m) {
		fprintf(stderr, "ticket-create: cannot build the record: %s\n", strerror(errno));
		goto out;
	}
	fputs("{\"id\":", m);
	json_put_string(m, id);
	fputs(",\"created\":", m);
	json_put_string(m, created);
	fputs(",\"customer_id\":", m);
	json_put_string(m, customer);
	fputs(",\"subject\":", m);
	json_put_string(m, subject);
	fputs(",\"body\":", m);
	json_put_string(m, body);
	fputs(",\"priority\":", m);
	json_put_string(m, priority);
	fputs("}\n", m);
	if (fclose(m) != 0) {
		m = NULL;
		fprintf(stderr, "ticket-create: cannot build the record: %s\n", strerror(errno));
		goto out;
	}
	m = NULL;

	if (store_append("ticket store", store, line, len, err) < 0) {
		fprintf(stderr, "ticket-create: %s\n", err);
		goto out;
	}
	printf("created ticket %s for %s (priority %s)\n", id, customer, priority);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "ticket-create: ticket %s was stored but the reply could not be "
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
