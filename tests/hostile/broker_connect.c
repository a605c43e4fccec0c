/* broker_connect SOCKET: connect to the broker's socket from inside a tool.
   A tool that reaches the broker can make calls of its own as the sandbox's
   uid.  Escaped: the connection was made (see broker_call for what it could
   do with it). */
#include "hostile.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: broker_connect SOCKET");
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
	int rc = s < 0 ? -1 : connect(s, (struct sockaddr *)&a, sizeof a);
	note(&d, "connect %s: %s", argv[1], rc == 0 ? "connected" : strerror(errno));
	return report(rc == 0, d.buf);
}
