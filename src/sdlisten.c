/*
 * sdlisten.c: taking over the listening socket from systemd (see sdlisten.h).
 *
 * The checks are those of sd_listen_fds(3) and sd_is_socket_unix(3): the
 * variables must be meant for this very process (LISTEN_PID), and the fd
 * must be what the broker would have made itself.  A wrong unit file (a
 * TCP ListenStream=, a ListenDatagram=, two sockets) is an error that says
 * so at start, rather than a broker that accepts nothing.
 */
#include "sdlisten.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int parse_count(const char *s, long *out)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return -1;
	*out = strtol(s, NULL, 10);
	return 0;
}

int sdlisten_socket(char *path, size_t path_size, struct tg_error *err)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	long pid = -1, nfds = -1;
	bool have = pid_s && fds_s;
	bool ours = have && parse_count(pid_s, &pid) == 0 && pid == (long)getpid();
	int fds_ok = have ? parse_count(fds_s, &nfds) : -1;
	char fds_copy[16];
	snprintf(fds_copy, sizeof fds_copy, "%.15s", fds_s ? fds_s : "");
	/* Gone from the environment either way: nothing the broker starts, and
	   no process it forks, may take these for its own. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!ours)
		return -2;
	if (fds_ok != 0)
		return tg_err(err, "socket activation: LISTEN_FDS \"%s\" is not a number", fds_copy);
	if (nfds == 0)
		return -2;
	/* Whatever happens next, no passed fd leaks into a tool. */
	for (long i = 0; i < nfds; i++)
		fcntl(SDLISTEN_FIRST_FD + (int)i, F_SETFD, FD_CLOEXEC);
	if (nfds != 1)
		return tg_err(err, "socket activation: %ld sockets were passed (LISTEN_FDS=%ld); toolgated "
		              "takes exactly one, the Unix stream socket of toolgated.socket", nfds, nfds);

	int fd = SDLISTEN_FIRST_FD;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return tg_err_errno(err, "socket activation: fd %d", fd);
	if (!S_ISSOCK(st.st_mode))
		return tg_err(err, "socket activation: fd %d is not a socket", fd);
	int domain = 0, type = 0, listening = 0;
	socklen_t l = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) != 0)
		return tg_err_errno(err, "socket activation: fd %d: SO_DOMAIN", fd);
	l = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) != 0)
		return tg_err_errno(err, "socket activation: fd %d: SO_TYPE", fd);
	l = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) != 0)
		return tg_err_errno(err, "socket activation: fd %d: SO_ACCEPTCONN", fd);
	if (domain != AF_UNIX)
		return tg_err(err, "socket activation: fd %d is not a Unix socket: peers are identified by "
		              "SO_PEERCRED, so ListenStream= must be a path", fd);
	if (type != SOCK_STREAM)
		return tg_err(err, "socket activation: fd %d is not a stream socket (use ListenStream=)", fd);
	if (!listening)
		return tg_err(err, "socket activation: fd %d is not listening (Accept=no is required)", fd);

	struct sockaddr_un sa;
	socklen_t sl = sizeof sa;
	memset(&sa, 0, sizeof sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 && sl > sizeof sa.sun_family) {
		size_t n = sl - sizeof sa.sun_family;
		if (sa.sun_path[0] == '\0')
			snprintf(path, path_size, "@%.*s", (int)(n - 1), sa.sun_path + 1);
		else
			snprintf(path, path_size, "%.*s", (int)strnlen(sa.sun_path, n), sa.sun_path);
	} else {
		snprintf(path, path_size, "(unnamed)");
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return tg_err_errno(err, "socket activation: fd %d: O_NONBLOCK", fd);
	return fd;
}
