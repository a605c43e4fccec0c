/*
 * seccomp_notify.c: the notify route of a seccomp profile (see
 * seccomp_profile.h and seccomp_notify.h).  At load, the one installable
 * filter composed of the baseline and the profile, whose refusals go to a
 * listener, and the check that every profile lets the broker start a tool;
 * in the broker's event loop, once per refusal, what the two original
 * filters would have done to the call, and its name.
 */
#include "seccomp_profile.h"
#include "seccomp_notify.h"
#include "bpf.h"

#include <errno.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define X32_SYSCALL_BIT 0x40000000u  /* the x32 ABI's syscall numbers */

static uint32_t action_of(uint32_t ret)
{
	return ret & SECCOMP_RET_ACTION_FULL;
}

/* ---- one filter out of two ------------------------------------------------ */

/* The refusals the composed filter hands to the broker instead of doing them. */
static bool is_notified(uint32_t ret)
{
	uint32_t a = action_of(ret);
	return a == SECCOMP_RET_KILL_PROCESS || a == SECCOMP_RET_KILL_THREAD ||
	       a == SECCOMP_RET_ERRNO;
}

/*
 * The composition rewrites only RET K instructions; a RET A would return a
 * computed action it cannot see, and a USER_NOTIF would reach the broker
 * as if it were a refusal.  libseccomp emits neither, so either means a
 * libseccomp we have not met: refuse to guess.
 */
int seccomp_check_returns(const char *where, struct tg_error *err, const struct sock_filter *insns, size_t n,
                         const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (BPF_CLASS(insns[i].code) != BPF_RET)
			continue;
		if (insns[i].code != (BPF_RET | BPF_K))
			return tg_err(err, "%s: the compiled %s filter returns a computed action "
			              "(instruction %zu, code 0x%04x), which toolgate cannot compose",
			              where, what, i, insns[i].code);
		if (action_of(insns[i].k) == SECCOMP_RET_USER_NOTIF)
			return tg_err(err, "%s: the compiled %s filter returns USER_NOTIF "
			              "(instruction %zu), which toolgate cannot compose",
			              where, what, i);
	}
	return 0;
}

/*
 * Baseline then profile, into out (nb + np instructions).  No instruction
 * changes size, so the baseline's 8-bit conditional jumps still land where
 * they did; its ALLOW becomes a JA (32-bit offset) to the profile's start.
 */
void seccomp_compose(const struct sock_filter *b, size_t nb, const struct sock_filter *p,
                    size_t np, struct sock_filter *out)
{
	for (size_t i = 0; i < nb; i++) {
		out[i] = b[i];
		if (b[i].code != (BPF_RET | BPF_K))
			continue;
		if (b[i].k == SECCOMP_RET_ALLOW)
			out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)(nb - i - 1), 0, 0);
		else if (b[i].k != BASELINE_QUIET_REFUSAL)
			out[i].k = SECCOMP_RET_USER_NOTIF;
	}
	/* ALLOW and LOG let the call through; TRAP and TRACE the kernel does
	 * best itself (a signal in the tool, a tracer): they stay native. */
	for (size_t i = 0; i < np; i++) {
		out[nb + i] = p[i];
		if (p[i].code == (BPF_RET | BPF_K) && is_notified(p[i].k))
			out[nb + i].k = SECCOMP_RET_USER_NOTIF;
	}
}

static bool lets_through(uint32_t ret)
{
	return action_of(ret) == SECCOMP_RET_ALLOW || action_of(ret) == SECCOMP_RET_LOG;
}

/*
 * Every tool starts the same way: the child reads the go-ahead from a gate
 * pipe, reports through a status pipe, and execs.  By then the filter is
 * in place, so a profile that refuses any of these could never start a
 * tool: better said at load time than as a mystery at the first call.
 */
int seccomp_check_startup_calls(const char *where, struct tg_error *err, const struct sock_fprog *f)
{
	enum { READ, WRITE, EXECVE, EXECVEAT, NCALLS };
	static const struct { const char *name; int nr; } calls[NCALLS] = {
		[READ] = { "read", SYS_read }, [WRITE] = { "write", SYS_write },
		[EXECVE] = { "execve", SYS_execve }, [EXECVEAT] = { "execveat", SYS_execveat },
	};
	bool allowed[NCALLS];
	for (size_t i = 0; i < NCALLS; i++) {
		struct seccomp_data d = { .nr = calls[i].nr, .arch = seccomp_arch_native() };
		uint32_t ret;
		struct tg_error e;
		if (bpf_run(f->filter, f->len, &d, &ret, &e) < 0)
			return tg_err(err, "%s: evaluating the composed filter for %s: %s",
			              where, calls[i].name, e.msg);
		allowed[i] = lets_through(ret);
	}
	bool can_exec = allowed[EXECVE] || allowed[EXECVEAT];
	if (allowed[READ] && allowed[WRITE] && can_exec)
		return 0;
	char refused[64] = "";
	for (size_t i = 0; i < NCALLS; i++) {
		if (!allowed[i] && (i < EXECVE || !can_exec))
			snprintf(refused + strlen(refused), sizeof refused - strlen(refused), "%s%s",
			         *refused ? ", " : "", calls[i].name);
	}
	return tg_err(err, "%s: must allow read, write and execve (or execveat): the broker "
	              "starts every tool with them (refused here: %s)", where, refused);
}


/* ---- the broker's side of a notification ------------------------------------ */

/*
 * The kernel compares actions as signed numbers (KILL_PROCESS is the
 * lowest), the smallest wins, and it walks the filters from the last
 * installed, so on a tie the profile's answer, errno included, stands.
 */
static bool stricter(uint32_t a, uint32_t b)
{
	return (int32_t)action_of(a) < (int32_t)action_of(b);
}

static void name_syscall(const struct seccomp_data *d, char *out, size_t size)
{
	uint32_t native = seccomp_arch_native();
	if (d->arch != native) {
		if (d->arch == AUDIT_ARCH_I386)
			snprintf(out, size, "i386 syscall %d", d->nr);
		else
			snprintf(out, size, "arch 0x%08x syscall %d", d->arch, d->nr);
		return;
	}
	if (native == SCMP_ARCH_X86_64 && ((uint32_t)d->nr & X32_SYSCALL_BIT)) {
		snprintf(out, size, "x32 syscall 0x%x", (uint32_t)d->nr);
		return;
	}
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, d->nr);
	if (name)
		snprintf(out, size, "%s", name);
	else
		snprintf(out, size, "syscall %d", d->nr);
	free(name);
}

int seccomp_program_decide(const struct seccomp_program *p, const struct seccomp_data *d,
                           struct seccomp_verdict *v)
{
	memset(v, 0, sizeof *v);
	name_syscall(d, v->syscall, sizeof v->syscall);

	uint32_t by_baseline, by_profile;
	if (bpf_run(p->baseline.filter, p->baseline.len, d, &by_baseline, NULL) < 0 ||
	    bpf_run(p->prog.filter, p->prog.len, d, &by_profile, NULL) < 0) {
		v->kind = SECCOMP_VERDICT_KILL;
		return SECCOMP_DECIDE_BROKEN;
	}
	v->baseline = stricter(by_baseline, by_profile);
	uint32_t ret = v->baseline ? by_baseline : by_profile;

	switch (action_of(ret)) {
	case SECCOMP_RET_ERRNO:
		v->kind = SECCOMP_VERDICT_ERRNO;
		v->errnum = (int)(ret & SECCOMP_RET_DATA);
		if (v->errnum > SECCOMP_ERRNO_MAX)
			v->errnum = SECCOMP_ERRNO_MAX;
		return 0;
	case SECCOMP_RET_TRAP:
		/* Only reached when the baseline refused too (else the composed
		 * filter returns TRAP itself) and the profile's TRAP outranks the
		 * baseline's errno.  The broker cannot raise the SIGSYS a TRAP
		 * would, and the tool meant to die of it: kill. */
		v->kind = SECCOMP_VERDICT_KILL;
		return 0;
	case SECCOMP_RET_TRACE:
		/* Never outranks a baseline refusal; should it ever, this is
		 * what the kernel does to a traced call with no tracer. */
		v->kind = SECCOMP_VERDICT_ERRNO;
		v->errnum = ENOSYS;
		return 0;
	case SECCOMP_RET_ALLOW:
	case SECCOMP_RET_LOG:
	case SECCOMP_RET_USER_NOTIF:
		/* The composed filter does not notify what the originals let
		 * through: refuse rather than second-guess, and say so. */
		v->kind = SECCOMP_VERDICT_ERRNO;
		v->errnum = EPERM;
		return SECCOMP_DECIDE_INCONSISTENT;
	default:
		/* KILL_PROCESS, KILL_THREAD, and any action the kernel does not
		 * know, which it treats as KILL_PROCESS. */
		v->kind = SECCOMP_VERDICT_KILL;
		return 0;
	}
}

