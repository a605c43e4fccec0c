/* ptrace_init: attach with ptrace to pid 1 (the host's init, were the tool in
   the host's pid namespace; its own pid 1 otherwise).  Escaped: the attach
   succeeded.  Refused by the baseline filter (EPERM) under every profile. */
#include "hostile.h"
#include <sys/ptrace.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
	note_rc(&d, "ptrace(PTRACE_ATTACH, 1)", rc);
	return report(rc == 0, d.buf);
}
