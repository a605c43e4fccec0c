/*
 * customer-delete: the demo's "customer.delete" tool (effect write).
 *
 * Input  {"customer_id": "^C[0-9]{4}$"}
 * Output customer C1001 would be deleted (demo tool: nothing was changed)
 *
 * It changes nothing on purpose.  It exists so that the demo can show the
 * shipped policy's "no-deletes" forbid rule refusing a call to a tool that is
 * installed, enabled and well-formed: the refusal comes from the policy, not
 * from a missing tool.
 */
#define _GNU_SOURCE
#include "common.h"

int main(void)
{
	static const char *const allowed[] = {"customer_id", NULL};
	char err[ERR_MAX];
	struct args a;
	const char *id;

	if (args_from_stdin(&a, err) < 0) {
		fprintf(stderr, "customer-delete: %s\n", err);
		return 2;
	}
	if (args_only(&a, allowed, err) < 0 || args_customer_id(&a, &id, err) < 0) {
		fprintf(stderr, "customer-delete: %s\n", err);
		args_free(&a);
		return 2;
	}
	printf("customer %s would be deleted (demo tool: nothing was changed)\n", id);
	args_free(&a);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "customer-delete: cannot write the result: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
