/*
 * test_bpf.c: the classic-BPF interpreter (src/bpf.c), on hand-written
 * programs, and through it the composed seccomp filter of
 * src/seccomp_profile.c: for every system call number of the native
 * architecture, the one composed filter must let through exactly what the
 * baseline and the profile let through together, for each shipped profile.
 *
 * Runs from the repository root (the profiles are read as sandbox/NAME.json).
 */
#include "bpf.h"
#include "seccomp_profile.h"
#include "testlib.h"

#include <errno.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define N(x) (sizeof(x) / sizeof((x)[0]))
#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define RET_A STMT(BPF_RET | BPF_A, 0)

static struct seccomp_data data_with(int nr, uint64_t a0, uint64_t a1)
{
	return (struct seccomp_data){ .nr = nr, .arch = AUDIT_ARCH_X86_64,
	                              .instruction_pointer = 0x401000, .args = { a0, a1 } };
}

/* The value prog returns on d, or 0xdeadbeef (with the error printed) when it fails. */
static uint32_t run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d)
{
	struct tg_error err = { "" };
	uint32_t ret = 0;
	if (bpf_run(prog, len, d, &ret, &err) < 0) {
		fprintf(stderr, "    bpf_run: %s\n", err.msg);
		return 0xdeadbeef;
	}
	return ret;
}

/* The error text prog gives on d, or "" when it runs. */
static const char *run_error(const struct sock_filter *prog, size_t len, const struct seccomp_data *d)
{
	static struct tg_error err;
	uint32_t ret;
	err.msg[0] = '\0';
	if (bpf_run(prog, len, d, &ret, &err) == 0)
		return "";
	return err.msg;
}

/* ---- hand-written programs ------------------------------------------------ */

TEST(ret_k_returns_its_constant_and_ret_a_the_accumulator)
{
	struct seccomp_data d = data_with(1, 0, 0);
	struct sock_filter k[] = { STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13) };
	CHECK(run(k, N(k), &d) == (SECCOMP_RET_ERRNO | 13));
	struct sock_filter a[] = { STMT(BPF_LD | BPF_IMM, 0x7fff0000), RET_A };
	CHECK(run(a, N(a), &d) == SECCOMP_RET_ALLOW);
}

TEST(absolute_loads_read_seccomp_data_words_in_host_byte_order)
{
	struct seccomp_data d = data_with(59, 0x1122334455667788ull, 0);
	struct sock_filter nr[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 0), RET_A };
	struct sock_filter arch[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 4), RET_A };
	struct sock_filter arg0_lo[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 16), RET_A };
	struct sock_filter arg0_hi[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 20), RET_A };
	struct sock_filter last[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 60), RET_A };
	d.args[5] = 0xabcdef0100000000ull;
	CHECK(run(nr, N(nr), &d) == 59);
	CHECK(run(arch, N(arch), &d) == AUDIT_ARCH_X86_64);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	CHECK(run(arg0_lo, N(arg0_lo), &d) == 0x55667788u);
	CHECK(run(arg0_hi, N(arg0_hi), &d) == 0x11223344u);
	CHECK(run(last, N(last), &d) == 0xabcdef01u);
#else
	CHECK(run(arg0_lo, N(arg0_lo), &d) == 0x11223344u);
	CHECK(run(arg0_hi, N(arg0_hi), &d) == 0x55667788u);
	CHECK(run(last, N(last), &d) == 0);
#endif
	struct sock_filter len[] = { STMT(BPF_LD | BPF_W | BPF_LEN, 0), RET_A };
	CHECK(run(len, N(len), &d) == sizeof(struct seccomp_data));
}

TEST(alu_operations_with_constants_compute_in_32_bits)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter p[] = {
		STMT(BPF_LD | BPF_IMM, 10),
		STMT(BPF_ALU | BPF_ADD | BPF_K, 5),      /* 15 */
		STMT(BPF_ALU | BPF_SUB | BPF_K, 3),      /* 12 */
		STMT(BPF_ALU | BPF_MUL | BPF_K, 4),      /* 48 */
		STMT(BPF_ALU | BPF_DIV | BPF_K, 5),      /* 9 */
		STMT(BPF_ALU | BPF_AND | BPF_K, 0xd),    /* 9 */
		STMT(BPF_ALU | BPF_OR | BPF_K, 0x30),    /* 0x39 */
		STMT(BPF_ALU | BPF_XOR | BPF_K, 0xff),   /* 0xc6 */
		STMT(BPF_ALU | BPF_LSH | BPF_K, 4),      /* 0xc60 */
		STMT(BPF_ALU | BPF_RSH | BPF_K, 2),      /* 0x318 */
		STMT(BPF_ALU | BPF_NEG, 0),              /* -0x318 */
		RET_A,
	};
	CHECK(run(p, N(p), &d) == (uint32_t)-0x318);
	struct sock_filter wrap[] = {
		STMT(BPF_LD | BPF_IMM, 0xffffffff), STMT(BPF_ALU | BPF_ADD | BPF_K, 2), RET_A,
	};
	CHECK(run(wrap, N(wrap), &d) == 1);
}

TEST(alu_operations_with_x_use_the_index_register)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter p[] = {
		STMT(BPF_LDX | BPF_IMM, 3),
		STMT(BPF_LD | BPF_IMM, 100),
		STMT(BPF_ALU | BPF_ADD | BPF_X, 0),      /* 103 */
		STMT(BPF_ALU | BPF_SUB | BPF_X, 0),      /* 100 */
		STMT(BPF_ALU | BPF_MUL | BPF_X, 0),      /* 300 */
		STMT(BPF_ALU | BPF_DIV | BPF_X, 0),      /* 100 */
		STMT(BPF_ALU | BPF_AND | BPF_X, 0),      /* 0 */
		STMT(BPF_ALU | BPF_OR | BPF_X, 0),       /* 3 */
		STMT(BPF_ALU | BPF_LSH | BPF_X, 0),      /* 24 */
		STMT(BPF_ALU | BPF_XOR | BPF_X, 0),      /* 27 */
		STMT(BPF_ALU | BPF_RSH | BPF_X, 0),      /* 3 */
		RET_A,
	};
	CHECK(run(p, N(p), &d) == 3);
}

TEST(a_shift_by_x_uses_only_its_low_five_bits_as_the_kernel_does)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter p[] = {
		STMT(BPF_LDX | BPF_IMM, 33), STMT(BPF_LD | BPF_IMM, 1),
		STMT(BPF_ALU | BPF_LSH | BPF_X, 0), RET_A,
	};
	CHECK(run(p, N(p), &d) == 2);
}

TEST(scratch_memory_and_register_moves_round_trip)
{
	struct seccomp_data d = data_with(7, 0, 0);
	struct sock_filter p[] = {
		STMT(BPF_LD | BPF_W | BPF_ABS, 0),       /* A = 7 */
		STMT(BPF_ST, 15),                         /* M[15] = 7 */
		STMT(BPF_MISC | BPF_TAX, 0),              /* X = 7 */
		STMT(BPF_ALU | BPF_ADD | BPF_X, 0),       /* A = 14 */
		STMT(BPF_STX, 0),                         /* M[0] = 7 */
		STMT(BPF_LDX | BPF_MEM, 15),              /* X = 7 */
		STMT(BPF_ALU | BPF_MUL | BPF_X, 0),       /* A = 98 */
		STMT(BPF_LDX | BPF_IMM, 1000),
		STMT(BPF_MISC | BPF_TXA, 0),              /* A = 1000 */
		STMT(BPF_ALU | BPF_ADD | BPF_K, 0),
		STMT(BPF_LD | BPF_MEM, 0),                /* A = 7 */
		STMT(BPF_ALU | BPF_ADD | BPF_X, 0),       /* A = 1007 */
		RET_A,
	};
	CHECK(run(p, N(p), &d) == 1007);
}

/* Returns 1 when the jump under test is taken, 2 when not. */
static uint32_t branch(uint16_t code, uint32_t k, uint32_t a, uint32_t x)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter p[] = {
		STMT(BPF_LD | BPF_IMM, a), STMT(BPF_LDX | BPF_IMM, x),
		JUMP(BPF_JMP | code, k, 1, 0),
		STMT(BPF_RET | BPF_K, 2),
		STMT(BPF_RET | BPF_K, 1),
	};
	return run(p, N(p), &d);
}

TEST(conditional_jumps_compare_unsigned_with_k_or_x)
{
	CHECK(branch(BPF_JEQ | BPF_K, 5, 5, 0) == 1);
	CHECK(branch(BPF_JEQ | BPF_K, 5, 6, 0) == 2);
	CHECK(branch(BPF_JGT | BPF_K, 5, 6, 0) == 1);
	CHECK(branch(BPF_JGT | BPF_K, 5, 5, 0) == 2);
	CHECK(branch(BPF_JGT | BPF_K, 5, 0x80000000u, 0) == 1);   /* unsigned */
	CHECK(branch(BPF_JGE | BPF_K, 5, 5, 0) == 1);
	CHECK(branch(BPF_JGE | BPF_K, 5, 4, 0) == 2);
	CHECK(branch(BPF_JSET | BPF_K, 0x10, 0x31, 0) == 1);
	CHECK(branch(BPF_JSET | BPF_K, 0x10, 0x21, 0) == 2);
	CHECK(branch(BPF_JSET | BPF_K, 0x11, 0x10, 0) == 1);     /* any bit in common */
	CHECK(branch(BPF_JEQ | BPF_X, 0, 9, 9) == 1);
	CHECK(branch(BPF_JEQ | BPF_X, 0, 9, 8) == 2);
	CHECK(branch(BPF_JGT | BPF_X, 0, 9, 8) == 1);
	CHECK(branch(BPF_JGT | BPF_X, 0, 9, 9) == 2);
	CHECK(branch(BPF_JGE | BPF_X, 0, 9, 9) == 1);
	CHECK(branch(BPF_JGE | BPF_X, 0, 8, 9) == 2);
	CHECK(branch(BPF_JSET | BPF_X, 0, 6, 2) == 1);
	CHECK(branch(BPF_JSET | BPF_X, 0, 6, 1) == 2);
}

TEST(ja_jumps_forward_by_its_32_bit_constant)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter p[300];
	p[0] = STMT(BPF_JMP | BPF_JA, 298);
	for (size_t i = 1; i < 299; i++)
		p[i] = STMT(BPF_RET | BPF_K, 1);
	p[299] = STMT(BPF_RET | BPF_K, 2);
	CHECK(run(p, N(p), &d) == 2);
}

/* ---- what the kernel would refuse, refused ---------------------------------- */

TEST(a_load_outside_seccomp_data_or_unaligned_is_an_error)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter past[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 64), RET_A };
	CHECK_STREQ(run_error(past, N(past), &d),
	            "BPF instruction 0 (code 0x0020, k 64): load outside struct seccomp_data "
	            "or not 32-bit aligned");
	struct sock_filter unaligned[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 2), RET_A };
	CHECK_STREQ(run_error(unaligned, N(unaligned), &d),
	            "BPF instruction 0 (code 0x0020, k 2): load outside struct seccomp_data "
	            "or not 32-bit aligned");
	struct sock_filter huge[] = { STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffffffc), RET_A };
	CHECK_STREQ(run_error(huge, N(huge), &d),
	            "BPF instruction 0 (code 0x0020, k 4294967292): load outside struct "
	            "seccomp_data or not 32-bit aligned");
}

TEST(opcodes_seccomp_does_not_accept_are_errors)
{
	struct seccomp_data d = data_with(0, 0, 0);
	/* a half-word load, a packet-relative load, MOD, RET X */
	struct sock_filter half[] = { STMT(BPF_LD | BPF_H | BPF_ABS, 0), RET_A };
	CHECK_STREQ(run_error(half, N(half), &d),
	            "BPF instruction 0 (code 0x0028, k 0): not an opcode seccomp accepts");
	struct sock_filter ind[] = { STMT(BPF_LD | BPF_W | BPF_IND, 0), RET_A };
	CHECK_STREQ(run_error(ind, N(ind), &d),
	            "BPF instruction 0 (code 0x0040, k 0): not an opcode seccomp accepts");
	struct sock_filter mod[] = { STMT(BPF_LD | BPF_IMM, 7), STMT(BPF_ALU | BPF_MOD | BPF_K, 2), RET_A };
	CHECK_STREQ(run_error(mod, N(mod), &d),
	            "BPF instruction 1 (code 0x0094, k 2): not an opcode seccomp accepts");
	struct sock_filter retx[] = { STMT(BPF_RET | BPF_X, 0) };
	CHECK_STREQ(run_error(retx, N(retx), &d),
	            "BPF instruction 0 (code 0x000e, k 0): not an opcode seccomp accepts");
}

TEST(a_jump_out_of_the_program_is_an_error_even_when_not_taken)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter ja[] = { STMT(BPF_JMP | BPF_JA, 1), STMT(BPF_RET | BPF_K, 0) };
	CHECK_STREQ(run_error(ja, N(ja), &d),
	            "BPF instruction 0 (code 0x0005, k 1): jump out of the program");
	struct sock_filter wrap[] = { STMT(BPF_JMP | BPF_JA, 0xffffffff), STMT(BPF_RET | BPF_K, 0) };
	CHECK_STREQ(run_error(wrap, N(wrap), &d),
	            "BPF instruction 0 (code 0x0005, k 4294967295): jump out of the program");
	/* nr is 0, so the false branch (in range) is the one taken */
	struct sock_filter jt[] = {
		STMT(BPF_LD | BPF_W | BPF_ABS, 0), JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0),
		STMT(BPF_RET | BPF_K, 0),
	};
	CHECK_STREQ(run_error(jt, N(jt), &d),
	            "BPF instruction 1 (code 0x0015, k 1): jump out of the program");
}

TEST(a_division_by_zero_is_an_error)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter x[] = {
		STMT(BPF_LD | BPF_IMM, 7), STMT(BPF_LDX | BPF_IMM, 0), STMT(BPF_ALU | BPF_DIV | BPF_X, 0), RET_A,
	};
	CHECK_STREQ(run_error(x, N(x), &d), "BPF instruction 2 (code 0x003c, k 0): division by zero");
	struct sock_filter k[] = { STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RET_A };
	CHECK_STREQ(run_error(k, N(k), &d), "BPF instruction 0 (code 0x0034, k 0): division by zero");
}

TEST(a_constant_shift_of_32_or_more_is_an_error)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter p[] = { STMT(BPF_ALU | BPF_RSH | BPF_K, 32), RET_A };
	CHECK_STREQ(run_error(p, N(p), &d), "BPF instruction 0 (code 0x0074, k 32): shift by 32 or more");
}

TEST(scratch_words_must_exist_and_be_written_before_read)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter unwritten[] = { STMT(BPF_ST, 1), STMT(BPF_LD | BPF_MEM, 2), RET_A };
	CHECK_STREQ(run_error(unwritten, N(unwritten), &d),
	            "BPF instruction 1 (code 0x0060, k 2): reads a scratch word never written");
	struct sock_filter store16[] = { STMT(BPF_ST, 16), RET_A };
	CHECK_STREQ(run_error(store16, N(store16), &d),
	            "BPF instruction 0 (code 0x0002, k 16): scratch word out of range");
	struct sock_filter load16[] = { STMT(BPF_LDX | BPF_MEM, 16), RET_A };
	CHECK_STREQ(run_error(load16, N(load16), &d),
	            "BPF instruction 0 (code 0x0061, k 16): scratch word out of range");
}

TEST(a_program_must_return_and_have_1_to_4096_instructions)
{
	struct seccomp_data d = data_with(0, 0, 0);
	struct sock_filter noret[] = { STMT(BPF_LD | BPF_IMM, 1) };
	CHECK_STREQ(run_error(noret, N(noret), &d), "BPF program ends without a RET instruction");
	CHECK_STREQ(run_error(noret, 0, &d), "BPF program has 0 instructions; seccomp takes 1 to 4096");
	static struct sock_filter big[BPF_MAXINSNS + 1];
	for (size_t i = 0; i < N(big); i++)
		big[i] = STMT(BPF_RET | BPF_K, 0);
	CHECK_STREQ(run_error(big, N(big), &d), "BPF program has 4097 instructions; seccomp takes 1 to 4096");
	CHECK_STREQ(run_error(big, BPF_MAXINSNS, &d), "");
}

/* ---- the composed filter against the two originals --------------------------- */

static uint32_t action_of(uint32_t r)
{
	return r & SECCOMP_RET_ACTION_FULL;
}

static bool lets_through(uint32_t r)
{
	return action_of(r) == SECCOMP_RET_ALLOW || action_of(r) == SECCOMP_RET_LOG;
}

/* The kernel's rule for two stacked filters: lowest signed action, ties to the later. */
static uint32_t stacked(uint32_t baseline, uint32_t profile)
{
	return (int32_t)action_of(baseline) < (int32_t)action_of(profile) ? baseline : profile;
}

struct tally {
	unsigned cases, notified, native, mismatches;
};

/* The refusals the broker must see, so that it can name them. */
static bool kills_or_fails(uint32_t r)
{
	return action_of(r) == SECCOMP_RET_KILL_PROCESS || action_of(r) == SECCOMP_RET_KILL_THREAD ||
	       action_of(r) == SECCOMP_RET_ERRNO;
}

#define QUIET_CLONE3 (SECCOMP_RET_ERRNO | ENOSYS)

/*
 * One call, three verdicts.  Beyond "allowed iff both allow": what the
 * composed filter does natively is exactly what the pair would do and is
 * never a kill or an errno (except clone3's quiet ENOSYS, see
 * seccomp_profile.c), and what it notifies is a refusal that
 * seccomp_program_decide can account for.
 */
static void compare(const struct seccomp_program *p, const struct seccomp_data *d, struct tally *t)
{
	uint32_t b = run(p->baseline.filter, p->baseline.len, d);
	uint32_t f = run(p->prog.filter, p->prog.len, d);
	uint32_t c = run(p->composed.filter, p->composed.len, d);
	uint32_t pair = stacked(b, f);
	bool ok = lets_through(c) == (lets_through(b) && lets_through(f));
	if (c == SECCOMP_RET_USER_NOTIF) {
		struct seccomp_verdict v;
		ok = ok && !lets_through(pair) && seccomp_program_decide(p, d, &v) == 0;
		t->notified++;
	} else {
		ok = ok && ((c == pair && !kills_or_fails(c)) || (c == QUIET_CLONE3 && b == c));
		t->native++;
	}
	t->cases++;
	if (!ok && t->mismatches++ < 5)
		fprintf(stderr, "    %s: nr %d arch %#x args %#llx %#llx: baseline %#x profile %#x "
		        "composed %#x\n", p->name, d->nr, d->arch, (unsigned long long)d->args[0],
		        (unsigned long long)d->args[1], b, f, c);
}

static void check_composition(const char *name)
{
	char path[64];
	struct tg_error err = { "" };
	snprintf(path, sizeof path, "sandbox/%s.json", name);
	struct seccomp_program *p = seccomp_profile_load(path, name, &err);
	CHECK_STREQ(err.msg, "");
	if (!p)
		return;
	CHECK(p->composed.len == p->baseline.len + p->prog.len);

	/* Arguments that the shipped profiles and the baseline test. */
	static const uint64_t args[][2] = {
		{ 0, 0 }, { ~0ull, ~0ull }, { 1, 1 }, { CLONE_NEWUSER | SIGCHLD, 0 }, { SIGCHLD, 0 },
		{ AF_UNIX, SOCK_STREAM }, { AF_INET6, SOCK_DGRAM }, { AF_NETLINK, SOCK_RAW },
		{ 0x100000000ull | AF_UNIX, 0 }, { 3, TIOCSTI }, { 3, 0x100000000ull | TIOCSTI },
		{ 3, TCGETS }, { 0xffffffff, 0 }, { 8, 0 },
	};
	uint32_t native = AUDIT_ARCH_X86_64;
#ifdef __aarch64__
	native = AUDIT_ARCH_AARCH64;
#endif
	struct tally t = { 0 };
	for (int nr = 0; nr <= 460; nr++) {
		for (size_t a = 0; a < N(args); a++) {
			struct seccomp_data d = { .nr = nr, .arch = native, .args = { args[a][0], args[a][1] } };
			compare(p, &d, &t);
		}
	}
	unsigned before = t.notified;
	/* Foreign ABIs: never let through, always the broker's to name. */
	for (int nr = 0; nr <= 460; nr++) {
		struct seccomp_data x32 = { .nr = nr | 0x40000000, .arch = native };
		struct seccomp_data i386 = { .nr = nr, .arch = AUDIT_ARCH_I386 };
		compare(p, &x32, &t);
		compare(p, &i386, &t);
	}
	CHECK(t.notified - before == 2 * 461);
	struct seccomp_data clone3 = { .nr = SYS_clone3, .arch = native };
	CHECK(run(p->composed.filter, p->composed.len, &clone3) == QUIET_CLONE3);
	CHECK(t.mismatches == 0);
	CHECK(t.notified > 0 && t.native > 0);
	printf("    %s: %u calls compared, %u notified, %u decided in the kernel\n",
	       name, t.cases, t.notified, t.native);
	seccomp_program_free(p);
}

TEST(composed_default_profile_allows_exactly_what_baseline_and_profile_allow)
{
	check_composition("default");
}

TEST(composed_minimal_profile_allows_exactly_what_baseline_and_profile_allow)
{
	check_composition("minimal");
}

TEST(composed_docker_profile_allows_exactly_what_baseline_and_profile_allow)
{
	check_composition("docker");
}

int main(void)
{
	RUN(ret_k_returns_its_constant_and_ret_a_the_accumulator);
	RUN(absolute_loads_read_seccomp_data_words_in_host_byte_order);
	RUN(alu_operations_with_constants_compute_in_32_bits);
	RUN(alu_operations_with_x_use_the_index_register);
	RUN(a_shift_by_x_uses_only_its_low_five_bits_as_the_kernel_does);
	RUN(scratch_memory_and_register_moves_round_trip);
	RUN(conditional_jumps_compare_unsigned_with_k_or_x);
	RUN(ja_jumps_forward_by_its_32_bit_constant);
	RUN(a_load_outside_seccomp_data_or_unaligned_is_an_error);
	RUN(opcodes_seccomp_does_not_accept_are_errors);
	RUN(a_jump_out_of_the_program_is_an_error_even_when_not_taken);
	RUN(a_division_by_zero_is_an_error);
	RUN(a_constant_shift_of_32_or_more_is_an_error);
	RUN(scratch_words_must_exist_and_be_written_before_read);
	RUN(a_program_must_return_and_have_1_to_4096_instructions);
	RUN(composed_default_profile_allows_exactly_what_baseline_and_profile_allow);
	RUN(composed_minimal_profile_allows_exactly_what_baseline_and_profile_allow);
	RUN(composed_docker_profile_allows_exactly_what_baseline_and_profile_allow);
	return TEST_SUMMARY();
}
