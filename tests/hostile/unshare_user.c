/* unshare_user: unshare(CLONE_NEWUSER), which would make it root (with every
   capability) in a namespace of its own and open the kernel's whole
   CAP_SYS_ADMIN-in-userns surface.  Escaped: the call succeeded. */
#include "hostile.h"
#include <sched.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = unshare(CLONE_NEWUSER);
	note_rc(&d, "unshare(CLONE_NEWUSER)", rc);
	return report(rc == 0, d.buf);
}
