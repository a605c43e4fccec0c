/*
 * customer-lookup: the demo's "customer.lookup" tool (effect read).
 *
 * Input  {"customer_id": "^C[0-9]{4}$"}
 * Output one JSON object (tools.d/customer.lookup.json declares its
 *        output_schema): {"customer_id","name","email","tier","open_orders"}
 * An unknown id is the tool failing (exit 1, "no customer C9999" on stderr),
 * so the agent sees isError rather than an empty record it might misread.
 *
 * The customer table is compiled in: the demo needs no database, and the
 * sandbox gives the tool no files beyond what libc needs.
 */
#define _GNU_SOURCE
#include "common.h"

struct customer {
	const char *id, *name, *email, *tier;
	const char *orders[4];   /* NULL-terminated */
};

static const struct customer customers[] = {
	{"C1001", "Mira Okafor", "mira.okafor@example.com", "gold", {"ORD-1001", "ORD-1004", NULL}},
	{"C1002", "Jonas Berg", "jonas.berg@example.net", "standard", {"ORD-1002", NULL}},
	{"C1003", "Aiko Tanaka", "aiko.tanaka@example.org", "platinum",
	 {"ORD-1003", "ORD-1005", "ORD-1006", NULL}},
	{"C1004", "Lucía Fernández", "lucia.fernandez@example.com", "silver", {NULL}},
	{"C1005", "Noah Williams", "noah.williams@example.com", "standard", {"ORD-1007", NULL}},
	{"C1006", "Priya Raman", "priya.raman@example.com", "gold", {NULL}},
};

int main(void)
{
	static const char *const allowed[] = {"customer_id", NULL};
	char err[ERR_MAX];
	struct args a;
	const char *id;

	if (args_from_stdin(&a, err) < 0) {
		fprintf(stderr, "customer-lookup: %s\n", err);
		return 2;
	}
	if (args_only(&a, allowed, err) < 0 ||
	    args_customer_id(&a, &id, err) < 0) {
		fprintf(stderr, "customer-lookup: %s\n", err);
		args_free(&a);
		return 2;
	}

	const struct customer *c = NULL;
	for (size_t i = 0; i < sizeof customers / sizeof customers[0] && !c; i++)
		if (strcmp(customers[i].id, id) == 0)
			c = &customers[i];
	if (!c) {
		fprintf(stderr, "no customer %s\n", id);
		args_free(&a);
		return 1;
	}

	fputs("{\"customer_id\":", stdout);
	json_put_string(stdout, c->id);
	fputs(",\"name\":", stdout);
	json_put_string(stdout, c->name);
	fputs(",\"email\":", stdout);
	json_put_string(stdout, c->email);
	fputs(",\"tier\":", stdout);
	json_put_string(stdout, c->tier);
	fputs(",\"open_orders\":[", stdout);
	for (size_t i = 0; c->orders[i]; i++) {
		if (i)
			fputc(',', stdout);
		json_put_string(stdout, c->orders[i]);
	}
	fputs("]}\n", stdout);

	args_free(&a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "customer-lookup: cannot write the result: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
