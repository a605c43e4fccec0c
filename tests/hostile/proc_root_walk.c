/* proc_root_walk NAME: read /proc/PID/root/tmp/NAME for every PID it can see.
   /proc/PID/root of a process of the same uid on the host leads into the
   host's file system, around the tool's own mount namespace (the test puts
   NAME in the host's /tmp, which the tool's scratch tmpfs hides).  Escaped:
   the file was read through some process's root. */
#include "hostile.h"

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: proc_root_walk NAME");
	int tried = 0, eacces = 0, enoent = 0, other = 0;
	bool got = false;
	char buf[256];
	if (slurp(argv[1], buf, sizeof buf) > 0) /* never: its own /tmp is its scratch */
		note(&d, "its own /tmp has it");
	DIR *dir = opendir("/proc");
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[512];
		snprintf(path, sizeof path, "/proc/%s/root/tmp/%s", e->d_name, argv[1]);
		tried++;
		if (slurp(path, buf, sizeof buf) > 0) {
			if (!got)
				note(&d, "read %s", path);
			got = true;
		} else if (errno == EACCES || errno == EPERM) {
			eacces++;
		} else if (errno == ENOENT) {
			enoent++;
		} else {
			other++;
		}
	}
	if (dir)
		closedir(dir);
	note(&d, "%d pids: %d refused, %d without it, %d other errors", tried, eacces, enoent, other);
	return report(got, d.buf);
}
