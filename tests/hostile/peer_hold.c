/* peer_hold COMM MARKER SECONDS: not an attack but the victim for the peer_*
   cases: a tool that holds a secret (MARKER in its scratch file
   /tmp/secret-MARKER; the test also gives it an env variable with MARKER),
   named COMM, alive for SECONDS.  Escaped: always false. */
#include "hostile.h"
#include <stdlib.h>
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	hostile_begin();
	if (argc < 4)
		return report(false, "usage: peer_hold COMM MARKER SECONDS");
	prctl(PR_SET_NAME, (unsigned long)argv[1], 0, 0, 0);
	char path[256];
	snprintf(path, sizeof path, "/tmp/secret-%s", argv[2]);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		(void)!write(fd, argv[2], strlen(argv[2]));
		close(fd);
	}
	sleep((unsigned)atoi(argv[3]));
	return report(false, fd >= 0 ? "held its secret" : "could not write its secret");
}
