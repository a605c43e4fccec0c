/* sethostname NAME: rename the machine (and its NIS domain).  The tool's own
   uts namespace and its lack of CAP_SYS_ADMIN must keep the host's name;
   the runner checks it.  Escaped: either call succeeded. */
#include "hostile.h"

int main(int argc, char **argv)
{
	hostile_begin();
	struct note d = { 0 };
	const char *name = argc > 1 ? argv[1] : "pwned";
	long a = sethostname(name, strlen(name));
	note_rc(&d, "sethostname", a);
	long b = setdomainname(name, strlen(name));
	note_rc(&d, "setdomainname", b);
	return report(a == 0 || b == 0, d.buf);
}
