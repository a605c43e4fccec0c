/* kill_all: kill(-1, SIGKILL), every process it may signal.  In its own pid
   namespace with no children, that is no process at all.  Escaped: the kill
   reached something (the runner also checks that a host process of the same
   uid and the broker are alive). */
#include "hostile.h"
#include <signal.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = kill(-1, SIGKILL);
	note_rc(&d, "kill(-1, SIGKILL)", rc);
	return report(rc == 0, d.buf);
}
