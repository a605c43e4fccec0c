/* caps_nnp: check what it holds: every capability set (effective, permitted,
   inheritable, bounding, ambient) must be empty, no_new_privs set and a
   seccomp filter in force.  Escaped: any capability, or no_new_privs or the
   filter missing. */
#include "hostile.h"
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	bool bad = false;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];
	memset(c, 0, sizeof c);
	if (syscall(SYS_capget, &h, c) != 0) {
		note(&d, "capget: %s", strerror(errno));
		bad = true;
	} else {
		unsigned long long eff = c[0].effective | (unsigned long long)c[1].effective << 32;
		unsigned long long prm = c[0].permitted | (unsigned long long)c[1].permitted << 32;
		unsigned long long inh = c[0].inheritable | (unsigned long long)c[1].inheritable << 32;
		note(&d, "eff %llx prm %llx inh %llx", eff, prm, inh);
		bad |= eff || prm || inh;
	}
	int bnd = 0, amb = 0;
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			bnd++;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			amb++;
	}
	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	int sec = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	note(&d, "bounding %d, ambient %d, no_new_privs %d, seccomp mode %d", bnd, amb, nnp, sec);
	bad |= bnd || amb || nnp != 1 || sec != 2;
	return report(bad, d.buf);
}
