/* abstract_unix NAME: connect to an abstract Unix socket ("\0NAME") that the
   test listens on in the host's network namespace.  Abstract names belong to
   a network namespace, so a tool with network "none" must not reach it (the
   way out that X11 and D-Bus sockets have offered containers).  Escaped: the
   connection was made. */
#include "hostile.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	if (argc < 2)
		return report(false, "usage: abstract_unix NAME");
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		note(&d, "socket: %s", strerror(errno));
		return report(false, d.buf);
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(argv[1]);
	if (n > sizeof a.sun_path - 1)
		n = sizeof a.sun_path - 1;
	memcpy(a.sun_path + 1, argv[1], n);
	int rc = connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
	note(&d, "connect @%s: %s", argv[1], rc == 0 ? "connected" : strerror(errno));
	close(s);
	return report(rc == 0, d.buf);
}
