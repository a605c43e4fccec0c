/* memory_fork LIMIT_MB CHILDREN: hold more than the call's memory_mb by
   spreading it over processes: CHILDREN children each allocate and touch
   memory until refused (256 MiB at most each), report how much, and keep
   it.  Escaped: together they held more than LIMIT_MB at once. */
#include "hostile.h"
#include <stdlib.h>
#include <sys/mman.h>

static int grab(void)
{
	int mb = 0;
	while (mb < 256) {
		void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		memset(p, 0x5a, 1 << 20);
		mb++;
	}
	return mb;
}

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 3)
		return report(false, "usage: memory_fork LIMIT_MB CHILDREN");
	long limit = atol(argv[1]);
	int want = atoi(argv[2]), started = 0;
	int p[2];
	if (pipe(p) != 0)
		return report(false, "pipe failed");
	for (int i = 0; i < want; i++) {
		pid_t c = fork();
		if (c < 0) {
			note(&d, "fork %d: %s", i, strerror(errno));
			break;
		}
		if (c == 0) {
			close(p[0]);
			int mb = grab();
			(void)!write(p[1], &mb, sizeof mb);
			for (;;)
				pause(); /* keep it: the total is what is held at once */
		}
		started++;
	}
	close(p[1]);
	long total = 0;
	int mb;
	for (int i = 0; i < started && read(p[0], &mb, sizeof mb) == sizeof mb; i++)
		total += mb;
	note(&d, "%d processes held %ld MiB at once; limit %ld MiB", started, total, limit);
	/* Exiting ends the children with the pid namespace. */
	return report(total > limit, d.buf);
}
