/* bpf: create an eBPF map (the first step of every eBPF exploit).  Escaped:
   the call succeeded. */
#include "hostile.h"
#include <linux/bpf.h>
#include <sys/syscall.h>

int main(void)
{
	hostile_begin();
	struct note d = { 0 };
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
	note_rc(&d, "bpf(BPF_MAP_CREATE)", fd);
	return report(fd >= 0, d.buf);
}
