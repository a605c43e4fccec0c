/* tcp_connect PORT: connect to a TCP listener the test opened on the host's
   127.0.0.1.  With network "none" the tool's loopback is its own, and down.
   Escaped: the connection was made. */
#include "hostile.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: tcp_connect PORT");
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		note(&d, "socket: %s", strerror(errno));
		return report(false, d.buf);
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = connect(s, (struct sockaddr *)&a, sizeof a);
	note(&d, "connect 127.0.0.1:%s: %s", argv[1], rc == 0 ? "connected" : strerror(errno));
	if (rc == 0)
		(void)!write(s, "PWNED\n", 6);
	close(s);
	return report(rc == 0, d.buf);
}
