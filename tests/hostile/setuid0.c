/* setuid0: become root again: setresuid(0,0,0), setresgid(0,0,0) and
   setgroups([0]).  Escaped: any uid or gid it holds is 0 afterwards (or a
   call succeeded). */
#include "hostile.h"
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long u = syscall(SYS_setresuid, 0, 0, 0);
	note_rc(&d, "setresuid(0, 0, 0)", u);
	long g = syscall(SYS_setresgid, 0, 0, 0);
	note_rc(&d, "setresgid(0, 0, 0)", g);
	gid_t zero = 0;
	long s = syscall(SYS_setgroups, 1, &zero);
	note_rc(&d, "setgroups([0])", s);
	uid_t r, e, sv;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &sv);
	getresgid(&gr, &ge, &gs);
	bool escaped = u == 0 || g == 0 || s == 0 || !r || !e || !sv || !gr || !ge || !gs;
	if (escaped)
		note(&d, "now uid %u/%u/%u gid %u/%u/%u", r, e, sv, gr, ge, gs);
	return report(escaped, d.buf);
}
