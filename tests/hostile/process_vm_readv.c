/* process_vm_readv: read another process's memory without ptrace (its own
   child's, which the kernel's permission check would allow).  Escaped: the
   read returned the child's bytes. */
#include "hostile.h"
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>

static char secret[32] = "child-secret";

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	pid_t c = fork();
	if (c < 0) {
		note(&d, "fork: %s", strerror(errno));
		return report(false, d.buf);
	}
	if (c == 0) {
		for (;;)
			pause();
	}
	char got[32] = "";
	struct iovec local = { got, sizeof got }, remote = { secret, sizeof secret };
	ssize_t n = process_vm_readv(c, &local, 1, &remote, 1, 0);
	note_rc(&d, "process_vm_readv(child)", n);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	return report(n > 0, d.buf);
}
