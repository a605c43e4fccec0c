/* clone_newuser: the raw clone system call with CLONE_NEWUSER (what a runtime
   that avoids unshare would do).  Escaped: a child was created. */
#include "hostile.h"
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	note_rc(&d, "clone(CLONE_NEWUSER)", pid);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return report(pid > 0, d.buf);
}
