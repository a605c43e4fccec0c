/* net_external: reach the outside network (UDP to 1.1.1.1:53 and TCP to
   1.1.1.1:80).  With network "none" there is no route at all.  Escaped: a
   connect succeeded. */
#include "hostile.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static bool try(struct note *d, int type, int port)
{
	int s = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		note(d, "socket: %s", strerror(errno));
		return false;
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "1.1.1.1", &a.sin_addr);
	int rc = connect(s, (struct sockaddr *)&a, sizeof a);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = { s, POLLOUT, 0 };
		int err = 0;
		socklen_t l = sizeof err;
		if (poll(&p, 1, 1000) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0)
			rc = 0;
		else
			errno = err ? err : ETIMEDOUT;
	}
	note(d, "%s connect 1.1.1.1:%d: %s", type == SOCK_DGRAM ? "udp" : "tcp", port,
	     rc == 0 ? "connected" : strerror(errno));
	close(s);
	return rc == 0;
}

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	bool u = try(&d, SOCK_DGRAM, 53);
	bool t = try(&d, SOCK_STREAM, 80);
	return report(u || t, d.buf);
}
