/* keyctl: reach the kernel keyrings (shared by uid across every sandbox of
   that uid, and a long line of kernel bugs): add_key and keyctl.  Escaped:
   either call succeeded. */
#include "hostile.h"
#include <linux/keyctl.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long k = syscall(SYS_add_key, "user", "tg-hostile", "x", 1, KEY_SPEC_SESSION_KEYRING);
	note_rc(&d, "add_key", k);
	long r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	note_rc(&d, "keyctl(KEYCTL_GET_KEYRING_ID)", r);
	return report(k >= 0 || r >= 0, d.buf);
}
