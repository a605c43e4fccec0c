/* chroot: chroot into its scratch directory, the first half of the classic
   chroot-and-walk-up escape.  Escaped: the call succeeded. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	long rc = chroot("/tmp");
	note_rc(&d, "chroot(/tmp)", rc);
	return report(rc == 0, d.buf);
}
