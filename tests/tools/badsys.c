/*
 * badsys [ptrace|unshare|mount|socket-alg]: a test tool that tries one system
 * call that sandbox/default.json must refuse, and reports what happened:
 *
 *   ptrace: Operation not permitted        (exit 0: refused)
 *   ptrace: succeeded                      (exit 4: the sandbox let it through)
 *
 * Each attempt is harmless when it does succeed -- PTRACE_TRACEME,
 * unshare(CLONE_NEWUSER) of this one short-lived process, an AF_ALG socket
 * that is closed at once, and a mount of a file system type that does not
 * exist -- so the tool is safe to run by hand outside any sandbox.  A mount
 * that fails with ENODEV got past both the filter and the kernel's
 * CAP_SYS_ADMIN check: that counts as succeeded.  With a test profile whose
 * action is SCMP_ACT_KILL_PROCESS, the process dies of SIGSYS instead and
 * prints nothing.  The default is ptrace; arguments on stdin are ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

static int report(const char *name, long rc, int err)
{
	if (rc >= 0) {
		printf("%s: succeeded\n", name);
		return 4;
	}
	printf("%s: %s\n", name, strerror(err));
	return 0;
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "ptrace";
	char buf[4096];
	ssize_t r;
	long rc;
	int rv;

	while ((r = read(STDIN_FILENO, buf, sizeof buf)) != 0)
		if (r < 0 && errno != EINTR)
			break;

	if (strcmp(which, "ptrace") == 0) {
		rc = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
		rv = report(which, rc, errno);
	} else if (strcmp(which, "unshare") == 0) {
		rc = syscall(SYS_unshare, CLONE_NEWUSER);
		rv = report(which, rc, errno);
	} else if (strcmp(which, "mount") == 0) {
		rc = syscall(SYS_mount, "none", ".", "toolgate-no-such-fs", 0UL, NULL);
		if (rc < 0 && errno == ENODEV) {
			printf("mount: succeeded (reached the kernel's file system lookup: %s)\n",
			       strerror(errno));
			rv = 4;
		} else {
			rv = report(which, rc, errno);
		}
	} else if (strcmp(which, "socket-alg") == 0) {
		rc = syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		rv = report(which, rc, errno);
		if (rc >= 0)
			close((int)rc);
	} else {
		fprintf(stderr, "usage: badsys [ptrace|unshare|mount|socket-alg]\n");
		return 2;
	}
	fflush(stdout);
	return rv;
}
