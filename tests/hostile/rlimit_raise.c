/* rlimit_raise: raise its hard limits (CPU, address space, processes, open
   files, file size, core) above what the broker set.  Escaped: any limit
   rose. */
#include "hostile.h"
#include <sys/resource.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	struct { int res; const char *name; } rs[] = {
		{ RLIMIT_CPU, "CPU" }, { RLIMIT_AS, "AS" }, { RLIMIT_NPROC, "NPROC" },
		{ RLIMIT_NOFILE, "NOFILE" }, { RLIMIT_FSIZE, "FSIZE" }, { RLIMIT_CORE, "CORE" },
	};
	bool e = false;
	for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
		struct rlimit old, want, now;
		if (getrlimit(rs[i].res, &old) != 0)
			continue;
		if (old.rlim_max == RLIM_INFINITY) {
			note(&d, "%s is unlimited", rs[i].name);
			e = true;
			continue;
		}
		want.rlim_cur = want.rlim_max = old.rlim_max * 2 + 1;
		int rc = setrlimit(rs[i].res, &want);
		getrlimit(rs[i].res, &now);
		bool rose = now.rlim_max > old.rlim_max;
		note(&d, "raise %s: %s", rs[i].name, rc == 0 ? "succeeded" : strerror(errno));
		e |= rose;
	}
	return report(e, d.buf);
}
