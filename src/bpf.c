/*
 * bpf.c: a classic-BPF interpreter over struct seccomp_data (see bpf.h).
 *
 * seccomp_profile.c uses it to evaluate the programs libseccomp compiled:
 * to decide what a refused call's notification means and to check at load
 * time that a profile lets the broker start a tool.  It must agree with
 * the kernel bit for bit, so it follows the kernel's rules rather than
 * BPF's general ones:
 *
 *  - only the opcodes seccomp_check_filter() accepts (no packet loads, no
 *    MOD, only 32-bit aligned loads inside struct seccomp_data);
 *  - loads read the struct in host byte order, as the kernel does;
 *  - a shift by X uses only X's low five bits, which is what the kernel's
 *    interpreter and JITs do, and a shift by a constant of 32 or more is
 *    refused, as bpf_check_classic() refuses it;
 *  - a program the kernel would refuse to load (a jump out of range, a read
 *    of an unwritten scratch word, no RET at the end) is an error here
 *    rather than a guess, and so is a division by zero, which the kernel
 *    would turn into "return 0" (kill) instead.
 */
#include "bpf.h"

#include <stdbool.h>
#include <string.h>

static int insn_error(struct tg_error *err, size_t pc, const struct sock_filter *f,
                      const char *what)
{
	return tg_err(err, "BPF instruction %zu (code 0x%04x, k %u): %s", pc, f->code, f->k, what);
}

/* Jumps are relative to the next instruction; both branches must land inside. */
static bool lands_inside(size_t pc, uint32_t off, size_t len)
{
	return (uint64_t)pc + 1 + off < len;
}

static int alu(uint16_t code, uint32_t *a, uint32_t operand, bool constant)
{
	switch (BPF_OP(code)) {
	case BPF_ADD: *a += operand; return 0;
	case BPF_SUB: *a -= operand; return 0;
	case BPF_MUL: *a *= operand; return 0;
	case BPF_AND: *a &= operand; return 0;
	case BPF_OR:  *a |= operand; return 0;
	case BPF_XOR: *a ^= operand; return 0;
	case BPF_DIV:
		if (operand == 0)
			return -1;
		*a /= operand;
		return 0;
	case BPF_LSH:
	case BPF_RSH:
		if (constant && operand >= 32)
			return -2;
		operand &= 31;
		*a = BPF_OP(code) == BPF_LSH ? *a << operand : *a >> operand;
		return 0;
	}
	return -3;
}

int bpf_run(const struct sock_filter *insns, size_t len, const struct seccomp_data *d,
            uint32_t *ret, struct tg_error *err)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS];
	unsigned written = 0;   /* bit i: mem[i] has been stored to */

	if (len == 0 || len > BPF_MAXINSNS)
		return tg_err(err, "BPF program has %zu instructions; seccomp takes 1 to %d",
		              len, BPF_MAXINSNS);
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &insns[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k >= sizeof *d || f->k % 4 != 0)
				return insn_error(err, pc, f, "load outside struct seccomp_data or not 32-bit aligned");
			memcpy(&a, (const char *)d + f->k, sizeof a);
			break;
		case BPF_LD | BPF_W | BPF_LEN:
			a = (uint32_t)sizeof *d;
			break;
		case BPF_LDX | BPF_W | BPF_LEN:
			x = (uint32_t)sizeof *d;
			break;
		case BPF_LD | BPF_IMM:
			a = f->k;
			break;
		case BPF_LDX | BPF_IMM:
			x = f->k;
			break;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
			if (f->k >= BPF_MEMWORDS)
				return insn_error(err, pc, f, "scratch word out of range");
			if (!(written & (1u << f->k)))
				return insn_error(err, pc, f, "reads a scratch word never written");
			if (BPF_CLASS(f->code) == BPF_LD)
				a = mem[f->k];
			else
				x = mem[f->k];
			break;
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return insn_error(err, pc, f, "scratch word out of range");
			mem[f->k] = f->code == BPF_ST ? a : x;
			written |= 1u << f->k;
			break;
		case BPF_ALU | BPF_NEG:
			a = -a;
			break;
		case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
		case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
		case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
		case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
		case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
		case BPF_ALU | BPF_OR | BPF_K:  case BPF_ALU | BPF_OR | BPF_X:
		case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
		case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
		case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X: {
			bool constant = BPF_SRC(f->code) == BPF_K;
			int rc = alu(f->code, &a, constant ? f->k : x, constant);
			if (rc == -1)
				return insn_error(err, pc, f, "division by zero");
			if (rc == -2)
				return insn_error(err, pc, f, "shift by 32 or more");
			if (rc < 0)
				return insn_error(err, pc, f, "not an ALU operation seccomp accepts");
			break;
		}
		case BPF_JMP | BPF_JA:
			if (!lands_inside(pc, f->k, len))
				return insn_error(err, pc, f, "jump out of the program");
			pc += f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
		case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
		case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
		case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X: {
			if (!lands_inside(pc, f->jt, len) || !lands_inside(pc, f->jf, len))
				return insn_error(err, pc, f, "jump out of the program");
			uint32_t v = BPF_SRC(f->code) == BPF_K ? f->k : x;
			bool taken = BPF_OP(f->code) == BPF_JEQ ? a == v :
			             BPF_OP(f->code) == BPF_JGT ? a > v :
			             BPF_OP(f->code) == BPF_JGE ? a >= v : (a & v) != 0;
			pc += taken ? f->jt : f->jf;
			break;
		}
		case BPF_RET | BPF_K:
			*ret = f->k;
			return 0;
		case BPF_RET | BPF_A:
			*ret = a;
			return 0;
		case BPF_MISC | BPF_TAX:
			x = a;
			break;
		case BPF_MISC | BPF_TXA:
			a = x;
			break;
		default:
			return insn_error(err, pc, f, "not an opcode seccomp accepts");
		}
	}
	return tg_err(err, "BPF program ends without a RET instruction");
}
