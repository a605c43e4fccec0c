/* rlimit_raise [NAME...]: raise its hard limits (CPU, AS, NPROC, NOFILE,
   FSIZE, CORE; or only those named) above what the broker set.  Escaped:
   any limit rose, or one of them was unlimited.  (With cgroups the broker
   bounds memory and processes by the call's cgroup instead of AS and NPROC.) */
#include "hostile.h"
#include <sys/resource.h>

static bool wanted(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
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
		if (!wanted(argc, argv, rs[i].name))
			continue;
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
