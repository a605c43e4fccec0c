/* int80: getuid32 through int 0x80, the i386 entry a 64-bit process can still
   use, where system call numbers mean other calls.  The broker refuses
   foreign architectures by killing the process (SIGSYS; on a kernel without
   ia32 emulation the instruction itself faults).  Escaped: it returned. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = 199; /* __NR_getuid32 on i386 */
	__asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
	note(&d, "int 0x80 getuid32 returned %ld", rc);
	return report(true, d.buf);
}
