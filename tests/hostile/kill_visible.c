/* kill_visible: SIGKILL every process it can see in /proc that runs as its own
   uid or is the broker (while /proc is the host's, those are host
   processes).  Its pid namespace must make the host's pids mean nothing to
   kill().  Escaped: a kill succeeded (the runner also checks that a host
   process of the same uid and the broker are alive). */
#include "hostile.h"
#include <signal.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long self = proc_self_pid();
	int tried = 0, killed = 0, esrch = 0, other = 0;
	char uidline[32];
	snprintf(uidline, sizeof uidline, "\nUid:\t%u\t", (unsigned)getuid());
	DIR *dir = opendir("/proc");
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		long pid = atol(e->d_name);
		if (pid == self || pid == 1)
			continue;
		char path[64], buf[2048];
		snprintf(path, sizeof path, "/proc/%ld/status", pid);
		if (slurp(path, buf, sizeof buf) <= 0)
			continue;
		if (!strstr(buf, uidline) && strncmp(buf, "Name:\ttoolgated\n", 16) != 0)
			continue;
		tried++;
		if (kill((pid_t)pid, SIGKILL) == 0) {
			killed++;
			note(&d, "kill(%ld) succeeded", pid);
		} else if (errno == ESRCH) {
			esrch++;
		} else {
			other++;
		}
	}
	if (dir)
		closedir(dir);
	note(&d, "%d targets in /proc: %d killed, %d ESRCH, %d other errors", tried, killed, esrch, other);
	return report(killed > 0, d.buf);
}
