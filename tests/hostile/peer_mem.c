/* peer_mem COMM: open another running tool's memory (/proc/PID/mem, named
   COMM, same uid) and read from its first readable mapping: ptrace's power
   without ptrace.  Escaped: the open succeeded. */
#include "hostile.h"

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: peer_mem COMM");
	long pids[8];
	int n = proc_find_comm(argv[1], pids, 8);
	bool got = false;
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/mem", pids[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			note(&d, "open %s: %s", path, strerror(errno));
			continue;
		}
		got = true;
		char maps[64], m[256];
		snprintf(maps, sizeof maps, "/proc/%ld/maps", pids[i]);
		unsigned long lo = 0;
		ssize_t r = -1;
		if (slurp(maps, m, sizeof m) > 0 && sscanf(m, "%lx-", &lo) == 1) {
			char b[16];
			r = pread(fd, b, sizeof b, (off_t)lo);
		}
		note(&d, "opened %s; read at its first mapping: %zd bytes", path, r);
		close(fd);
	}
	if (!n)
		note(&d, "no process named %s in /proc", argv[1]);
	return report(got, d.buf);
}
