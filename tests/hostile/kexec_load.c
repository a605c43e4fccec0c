/* kexec_load: load a new kernel (an empty one).  Escaped: the call passed. */
#include "hostile.h"
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
	note_rc(&d, "kexec_load", rc);
	return report(rc == 0, d.buf);
}
