/* memory_bomb LIMIT_MB: allocate and touch memory 1 MiB at a time until the
   kernel refuses.  memory_mb (RLIMIT_AS) must stop it below LIMIT_MB.
   Escaped: it held more than LIMIT_MB.  Stops by itself at 2 GiB. */
#include "hostile.h"
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: memory_bomb LIMIT_MB");
	long limit = atol(argv[1]);
	long mb = 0;
	int err = 0;
	while (mb < 2048) {
		void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		memset(p, 0xa5, 1 << 20);
		mb++;
	}
	if (err)
		note(&d, "mmap failed (%s) after %ld MiB; limit %ld MiB", strerror(err), mb, limit);
	else
		note(&d, "allocated %ld MiB without a refusal; limit %ld MiB", mb, limit);
	return report(mb > limit, d.buf);
}
