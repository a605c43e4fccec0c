/* peer_scratch COMM MARKER: read another running tool's private scratch file
   (/tmp/secret-MARKER in its own tmpfs) through /proc/PID/root.  Escaped:
   MARKER was read. */
#include "hostile.h"

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 3)
		return report(false, "usage: peer_scratch COMM MARKER");
	long pids[8];
	int n = proc_find_comm(argv[1], pids, 8);
	bool got = false;
	for (int i = 0; i < n; i++) {
		char path[512], buf[256];
		snprintf(path, sizeof path, "/proc/%ld/root/tmp/secret-%s", pids[i], argv[2]);
		ssize_t k = slurp(path, buf, sizeof buf);
		bool has = k > 0 && strstr(buf, argv[2]);
		note(&d, "read %s: %s", path, k < 0 ? strerror(errno) : has ? "found the secret" : "no secret");
		got |= has;
	}
	if (!n)
		note(&d, "no process named %s in /proc", argv[1]);
	return report(got, d.buf);
}
