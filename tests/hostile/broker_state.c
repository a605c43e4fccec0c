/* broker_state STATE_DIR: read the broker's audit signing key, open its audit
   log for writing, create a file in its state dir.  Any of these would let a
   tool forge or erase the record of what it did.  Escaped: any succeeded. */
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
		return report(false, "usage: broker_state STATE_DIR");
	bool e = false;
	e |= try_open(&d, argv[1], "keys/audit.key", O_RDONLY, "read");
	e |= try_open(&d, argv[1], "audit/audit.log", O_WRONLY | O_APPEND, "append to");
	e |= try_open(&d, argv[1], "PWNED", O_WRONLY | O_CREAT | O_EXCL, "create");
	e |= try_open(&d, argv[1], "audit/PWNED", O_WRONLY | O_CREAT | O_EXCL, "create");
	return report(e, d.buf);
}
