/* broker_config CONFIG_DIR: drop a tool and a policy into the broker's config
   dir, and open a seccomp profile for writing: at the next reload it would
   run what it likes.  Escaped: any succeeded. */
#include "hostile.h"

static bool try_open(struct note *d, const char *dir, const char *rel, int flags, const char *what)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	int fd = open(path, flags | O_CLOEXEC, 0644);
	note(d, "%s %s: %s", what, rel, fd >= 0 ? "succeeded" : strerror(errno));
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: broker_config CONFIG_DIR");
	bool e = false;
	e |= try_open(&d, argv[1], "tools.d/PWNED.json", O_WRONLY | O_CREAT | O_EXCL, "create");
	e |= try_open(&d, argv[1], "policies/PWNED.json", O_WRONLY | O_CREAT | O_EXCL, "create");
	e |= try_open(&d, argv[1], "sandbox/default.json", O_WRONLY, "open for writing");
	return report(e, d.buf);
}
