/* broker_environ: read the broker's environment, memory, descriptors, cwd and
   root through /proc (the broker runs as root and holds the audit key).
   Escaped: any of them could be read. */
#include "hostile.h"

static bool attempt(struct note *d, long pid, const char *what)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/%s", pid, what);
	if (!strcmp(what, "fd") || !strcmp(what, "root/")) {
		DIR *x = opendir(path);
		note(d, "opendir %s: %s", path, x ? "succeeded" : strerror(errno));
		if (x)
			closedir(x);
		return x != NULL;
	}
	if (!strcmp(what, "cwd")) {
		char buf[256];
		ssize_t n = readlink(path, buf, sizeof buf);
		note(d, "readlink %s: %s", path, n >= 0 ? "succeeded" : strerror(errno));
		return n >= 0;
	}
	char buf[64];
	ssize_t n = slurp(path, buf, sizeof buf);
	note(d, "read %s: %s", path, n > 0 ? "succeeded" : n == 0 ? "empty" : strerror(errno));
	return n > 0;
}

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long pids[8];
	int n = proc_find_comm("toolgated", pids, 8);
	bool escaped = false;
	const char *what[] = { "environ", "mem", "fd", "cwd", "root/" };
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof what / sizeof what[0]; j++)
			escaped |= attempt(&d, pids[i], what[j]);
	if (!n)
		note(&d, "no toolgated process in /proc");
	return report(escaped, d.buf);
}
