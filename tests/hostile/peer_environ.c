/* peer_environ COMM MARKER: read the environment of another running tool
   (named COMM; its env carries MARKER, as a secret would) through /proc.
   Escaped: MARKER was read. */
#include "hostile.h"

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 3)
		return report(false, "usage: peer_environ COMM MARKER");
	long pids[8];
	int n = proc_find_comm(argv[1], pids, 8);
	bool got = false;
	for (int i = 0; i < n; i++) {
		char path[64], buf[4096];
		snprintf(path, sizeof path, "/proc/%ld/environ", pids[i]);
		ssize_t k = slurp(path, buf, sizeof buf);
		bool has = false;
		for (ssize_t j = 0; k > 0 && j < k; j += (ssize_t)strlen(buf + j) + 1)
			has |= strstr(buf + j, argv[2]) != NULL;
		note(&d, "read %s: %s", path, k < 0 ? strerror(errno) : has ? "found the secret" : "no secret");
		got |= has;
	}
	if (!n)
		note(&d, "no process named %s in /proc", argv[1]);
	return report(got, d.buf);
}
