/* open_disk: open the host's raw disks and memory (/dev/vda, /dev/sda,
   /dev/nvme0n1, /dev/mem, /dev/kmem, /dev/port, /dev/zram0, /dev/loop0).
   Escaped: one opened. */
#include "hostile.h"

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	const char *devs[] = { "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/mem", "/dev/kmem",
	                       "/dev/port", "/dev/zram0", "/dev/loop0" };
	bool e = false;
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		int fd = open(devs[i], O_RDONLY | O_CLOEXEC);
		note(&d, "%s: %s", devs[i], fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0) {
			e = true;
			close(fd);
		}
	}
	return report(e, d.buf);
}
