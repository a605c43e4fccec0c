/*
 * bpf.h: a classic-BPF interpreter for seccomp programs.
 *
 * The broker runs a tool's compiled seccomp programs itself, outside the
 * kernel, to tell which filter refused a call and why (a USER_NOTIF
 * notification carries only the struct seccomp_data, not the verdict), and
 * to check at load time that a profile allows what the broker needs.  It
 * accepts the instruction set that the kernel's seccomp_check_filter()
 * accepts and nothing else, and it is pure: no allocation, no state.
 */
#ifndef TOOLGATE_BPF_H
#define TOOLGATE_BPF_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

/*
 * Run the len instructions of insns over d, as the kernel would, and store
 * the 32-bit value the program returns in *ret.  Returns 0, or -1 with err
 * naming the instruction and what is wrong with it: an opcode seccomp does
 * not accept, a load outside struct seccomp_data, a read of a scratch word
 * never written, a jump out of the program, a division by zero, or falling
 * off the end.  Every jump goes forward, so a run takes at most len steps.
 */
int bpf_run(const struct sock_filter *insns, size_t len, const struct seccomp_data *d,
            uint32_t *ret, struct tg_error *err);

#endif
