/*
 * seccomp_profile.c: sandbox/NAME.json (the OCI runtime-spec seccomp format
 * that Docker and Podman use) parsed, compiled to classic BPF with
 * libseccomp once when the configuration loads, and installed in the
 * sandboxed child right before execve.
 *
 * Every compiled profile is two filters in one allocation:
 *
 *  - the profile's own filter, which does what the JSON says with the
 *    semantics of Docker and runc: includes/excludes decide whether an entry
 *    applies, syscall names unknown on this architecture are skipped, an
 *    entry that repeats an argument index becomes one rule per condition,
 *    and a rule whose action equals the default action is left out;
 *
 *  - a fixed baseline filter that the contract demands whatever a profile
 *    says: a foreign architecture or the x32 ABI kills the process, and the
 *    calls that known container escapes use (ptrace, mounts, namespaces,
 *    bpf, io_uring, keyrings, userfaultfd, TIOCSTI, ...) fail with EPERM.
 *
 * Installed as two filters (seccomp_program_install), the kernel runs both
 * and the strictest answer wins, so no profile can loosen the baseline; on
 * a tie the later filter's errno wins, so the profile's own errno for a
 * refused call is the one a program sees.
 *
 * A refusal done by the kernel is invisible to the broker (an errno) or
 * anonymous (SIGSYS), and each filter costs an attach.  So the same two
 * programs are also composed into one (seccomp_program_install_listener):
 * the baseline runs first, its ALLOW jumps to the start of the profile and
 * its refusals return SECCOMP_RET_USER_NOTIF; the profile's kills and
 * errnos return USER_NOTIF too.  The broker receives the notification and
 * asks seccomp_program_decide, which runs the two original programs with
 * the kernel's rules (bpf.c), for the action and the call's name.  The
 * composed filter therefore allows exactly what the pair allows; the one
 * refusal it keeps native is the baseline's clone3 -> ENOSYS, because
 * glibc probes clone3 on every thread and process it creates and a round
 * trip to the broker each time would be pure cost.  (Under the pair, a
 * profile's own stricter answer for clone3 would win; here ENOSYS always
 * does, and glibc then falls back to clone, which both filters judge.)
 *
 * Only the native architecture is compiled in.  `architectures` and
 * `archMap` are checked for valid names but never add an ABI: the contract
 * refuses foreign ones, so a call made through int 0x80 or the x32 ABI hits
 * the bad-architecture action (KILL_PROCESS) instead of the allowlist.
 *
 * libseccomp silently drops a rule when an unconditional rule for the same
 * call has another action (the unconditional one wins, whatever the order).
 * A profile that says both would not mean what it says, so that is an
 * error naming the two entries rather than a surprise at run time.
 */
#include "seccomp_profile.h"
#include "bpf.h"
#include "fileio.h"
#include "seccomp_notify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PROFILE_MAX_BYTES (1024 * 1024)
#define ENTRY_MAX_ARGS 64       /* conditions in one syscalls[] entry */
#define PATH_LEN 192            /* "syscalls[12].args[3].valueTwo" and the like */


/*
 * The allocation behind a struct seccomp_program: the public part first (so
 * the pointer handed out is the allocation), then what install needs.  The
 * instructions of all three filters and the name live in the same block, so
 * the child installs with no allocation and free() releases everything.
 */
struct program_impl {
	struct seccomp_program pub;
	unsigned int flags;           /* SECCOMP_FILTER_FLAG_* for every filter */
	unsigned int listener_flags;  /* those that need a listener, for the composed one */
	struct sock_filter insns[];   /* baseline, profile, composed, then the name */
};

/* ---- error reporting ---------------------------------------------------- */

struct parse {
	const char *where;            /* "sandbox/default.json" */
	struct tg_error *err;
};

/*
 * Untrusted text (keys, action names) goes into messages that end up in
 * one-line logs: keep it short and printable.
 */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i = 0;
	for (; *s && i + 4 < size; s++)
		buf[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

__attribute__((format(printf, 3, 4)))
static int bad(const struct parse *ps, const char *path, const char *fmt, ...)
{
	char msg[TG_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (path && *path)
		return tg_err(ps->err, "%s: %s: %s", ps->where, path, msg);
	return tg_err(ps->err, "%s: %s", ps->where, msg);
}

/* A wrapper, so a long path is cut short instead of tripping -Wformat-truncation. */
__attribute__((format(printf, 2, 3)))
static void pathf(char out[PATH_LEN], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
}

static void join(char out[PATH_LEN], const char *path, const char *key)
{
	char k[80];
	pathf(out, "%s%s%s", path, *path ? "." : "", printable(key, k, sizeof k));
}

/* ---- generic JSON shape checks ------------------------------------------ */

static int check_keys(const struct parse *ps, json_t *obj, const char *path,
                      const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(key, *a) == 0)
				known = true;
		if (!known) {
			char p[PATH_LEN];
			join(p, path, key);
			return bad(ps, p, "unknown key");
		}
	}
	return 0;
}

/* An optional member: absent and JSON null (what Go writes for nil) are the same. */
static json_t *optional(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

/* Every element a string; `nonempty` for lists the OCI spec says must have one. */
static int check_string_array(const struct parse *ps, json_t *arr, const char *path, bool nonempty)
{
	if (!json_is_array(arr) || (nonempty && json_array_size(arr) == 0))
		return bad(ps, path, nonempty ? "must be a non-empty array of strings"
		                              : "must be an array of strings");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v)) {
			char p[PATH_LEN];
			pathf(p, "%s[%zu]", path, i);
			return bad(ps, p, "must be a string");
		}
	}
	return 0;
}

static int get_uint64(const struct parse *ps, json_t *v, const char *path, uint64_t *out)
{
	/* jansson refuses integers above INT64_MAX at parse time, so every
	 * representable value fits; negative ones are not arguments. */
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(ps, path, "must be an unsigned integer");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_int_range(const struct parse *ps, json_t *v, const char *path,
                         long long lo, long long hi, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(ps, path, "must be an integer between %lld and %lld", lo, hi);
	*out = json_integer_value(v);
	return 0;
}

/* ---- vocabularies ------------------------------------------------------- */

enum action_kind { ACT_KILL_THREAD, ACT_KILL_PROCESS, ACT_TRAP, ACT_ERRNO, ACT_TRACE,
                   ACT_ALLOW, ACT_LOG };

static const struct { const char *name; enum action_kind kind; } actions[] = {
	{ "SCMP_ACT_KILL", ACT_KILL_THREAD },   /* the kernel's original KILL is per thread */
	{ "SCMP_ACT_KILL_THREAD", ACT_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", ACT_KILL_PROCESS },
	{ "SCMP_ACT_TRAP", ACT_TRAP },
	{ "SCMP_ACT_ERRNO", ACT_ERRNO },
	{ "SCMP_ACT_TRACE", ACT_TRACE },
	{ "SCMP_ACT_ALLOW", ACT_ALLOW },
	{ "SCMP_ACT_LOG", ACT_LOG },
};

static const struct { const char *name; enum scmp_compare op; } operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* Names only: none of these is ever compiled in (see the file comment). */
static const char *const arch_names[] = {
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", NULL,
};

/* The flags runc accepts; TSYNC changes nothing, the others reach install. */
static const struct {
	const char *name;
	unsigned int flag;
	bool listener_only;           /* the kernel refuses it without NEW_LISTENER */
} filter_flags[] = {
	/* The child is single-threaded when it installs: nothing to synchronise
	 * (and the kernel refuses TSYNC together with NEW_LISTENER). */
	{ "SECCOMP_FILTER_FLAG_TSYNC", 0, false },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, false },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, false },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, true },
};

static int parse_action(const struct parse *ps, json_t *v, const char *path, enum action_kind *out)
{
	if (!v)
		return bad(ps, path, "missing");
	if (!json_is_string(v))
		return bad(ps, path, "must be a string");
	const char *s = json_string_value(v);
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		if (strcmp(s, actions[i].name) == 0) {
			*out = actions[i].kind;
			return 0;
		}
	}
	if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
		return bad(ps, path, "SCMP_ACT_NOTIFY needs a seccomp notify agent, which toolgate does not run");
	char q[80];
	return bad(ps, path, "unknown action \"%s\"", printable(s, q, sizeof q));
}

/* The errno for ERRNO and TRACE defaults to EPERM, as in runc. */
static int finish_action(const struct parse *ps, enum action_kind kind, json_t *errno_ret,
                         const char *errno_path, uint32_t *out)
{
	long long e = EPERM;
	if (errno_ret) {
		if (kind != ACT_ERRNO && kind != ACT_TRACE)
			return bad(ps, errno_path, "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
		if (get_int_range(ps, errno_ret, errno_path, 0, SECCOMP_ERRNO_MAX, &e) < 0)
			return -1;
	}
	switch (kind) {
	case ACT_KILL_THREAD:  *out = SCMP_ACT_KILL_THREAD; break;
	case ACT_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; break;
	case ACT_TRAP:         *out = SCMP_ACT_TRAP; break;
	case ACT_ERRNO:        *out = SCMP_ACT_ERRNO((uint32_t)e); break;
	case ACT_TRACE:        *out = SCMP_ACT_TRACE((uint32_t)e); break;
	case ACT_ALLOW:        *out = SCMP_ACT_ALLOW; break;
	case ACT_LOG:          *out = SCMP_ACT_LOG; break;
	}
	return 0;
}

/* ---- the host an entry's includes/excludes are matched against ---------- */

struct host {
	const char *const *arch_names;  /* how profiles spell the native architecture */
	unsigned kernel_major, kernel_minor;
	unsigned clone_flags_index;     /* s390 passes clone's flags second */
};

static int host_probe(struct host *h, const struct parse *ps)
{
	/* Docker compares with Go's GOARCH; the kernel's spelling is accepted too. */
	static const char *const amd64[] = { "amd64", "x86_64", NULL };
	static const char *const arm64[] = { "arm64", "aarch64", NULL };
	static const char *const x86[] = { "386", "x86", NULL };
	static const char *const arm[] = { "arm", NULL };
	static const char *const ppc64le[] = { "ppc64le", NULL };
	static const char *const s390x[] = { "s390x", NULL };
	static const char *const riscv64[] = { "riscv64", NULL };
	static const char *const none[] = { NULL };

	uint32_t arch = seccomp_arch_native();
	h->arch_names = arch == SCMP_ARCH_X86_64 ? amd64 : arch == SCMP_ARCH_AARCH64 ? arm64 :
	                arch == SCMP_ARCH_X86 ? x86 : arch == SCMP_ARCH_ARM ? arm :
	                arch == SCMP_ARCH_PPC64LE ? ppc64le : arch == SCMP_ARCH_S390X ? s390x :
	                arch == SCMP_ARCH_RISCV64 ? riscv64 : none;
	h->clone_flags_index = (arch == SCMP_ARCH_S390X || arch == SCMP_ARCH_S390) ? 1 : 0;

	struct utsname u;
	if (uname(&u) < 0)
		return tg_err_errno(ps->err, "%s: uname", ps->where);
	if (sscanf(u.release, "%u.%u", &h->kernel_major, &h->kernel_minor) != 2)
		return tg_err(ps->err, "%s: cannot read the kernel version from \"%s\"",
		              ps->where, u.release);
	return 0;
}

struct filter {
	bool has_caps, has_arches, arch_matches, has_kernel;
	unsigned kernel_major, kernel_minor;
};

static int parse_kernel_version(const char *s, unsigned *major, unsigned *minor)
{
	int n = -1;
	if (sscanf(s, "%u.%u%n", major, minor, &n) != 2 || n < 0 || s[n] != '\0' ||
	    s[0] < '0' || s[0] > '9')
		return -1;
	return 0;
}

static int parse_filter(const struct parse *ps, json_t *obj, const char *path,
                        const struct host *h, struct filter *f)
{
	static const char *const keys[] = { "caps", "arches", "minKernel", NULL };
	char p[PATH_LEN];
	memset(f, 0, sizeof *f);
	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return bad(ps, path, "must be an object");
	if (check_keys(ps, obj, path, keys) < 0)
		return -1;

	json_t *caps = optional(obj, "caps");
	if (caps) {
		pathf(p, "%s.caps", path);
		if (check_string_array(ps, caps, p, false) < 0)
			return -1;
		f->has_caps = json_array_size(caps) > 0;
	}
	json_t *arches = optional(obj, "arches");
	if (arches) {
		pathf(p, "%s.arches", path);
		if (check_string_array(ps, arches, p, false) < 0)
			return -1;
		f->has_arches = json_array_size(arches) > 0;
		size_t i;
		json_t *a;
		json_array_foreach(arches, i, a)
			for (const char *const *n = h->arch_names; *n; n++)
				if (strcmp(json_string_value(a), *n) == 0)
					f->arch_matches = true;
	}
	json_t *mk = optional(obj, "minKernel");
	if (mk) {
		pathf(p, "%s.minKernel", path);
		if (!json_is_string(mk) ||
		    parse_kernel_version(json_string_value(mk), &f->kernel_major, &f->kernel_minor) < 0)
			return bad(ps, p, "must be a kernel version like \"4.8\"");
		f->has_kernel = true;
	}
	return 0;
}

static bool kernel_at_least(const struct host *h, unsigned major, unsigned minor)
{
	return h->kernel_major > major || (h->kernel_major == major && h->kernel_minor >= minor);
}

/*
 * Docker's rules, in Docker's order.  The sandboxed child holds no
 * capabilities, so an entry that needs some never applies and one that
 * steps aside for some always does.
 */
static bool entry_applies(const struct host *h, const struct filter *inc, const struct filter *exc)
{
	if (exc->has_arches && exc->arch_matches)
		return false;
	if (inc->has_arches && !inc->arch_matches)
		return false;
	if (inc->has_caps)
		return false;
	if (exc->has_kernel && kernel_at_least(h, exc->kernel_major, exc->kernel_minor))
		return false;
	if (inc->has_kernel && !kernel_at_least(h, inc->kernel_major, inc->kernel_minor))
		return false;
	return true;
}

/* ---- top level ---------------------------------------------------------- */

static int check_arch_name(const struct parse *ps, json_t *v, const char *path)
{
	if (!json_is_string(v))
		return bad(ps, path, "must be a string");
	for (const char *const *n = arch_names; *n; n++)
		if (strcmp(json_string_value(v), *n) == 0)
			return 0;
	char q[80];
	return bad(ps, path, "unknown architecture \"%s\"",
	           printable(json_string_value(v), q, sizeof q));
}

static int parse_architectures(const struct parse *ps, json_t *doc)
{
	json_t *list = optional(doc, "architectures");
	json_t *map = optional(doc, "archMap");
	char p[PATH_LEN], fp[PATH_LEN];
	size_t i, j;
	json_t *a, *m;

	if (list && map)
		return bad(ps, "archMap", "cannot be combined with architectures");
	if (list) {
		if (!json_is_array(list))
			return bad(ps, "architectures", "must be an array of strings");
		json_array_foreach(list, i, a) {
			pathf(p, "architectures[%zu]", i);
			if (check_arch_name(ps, a, p) < 0)
				return -1;
		}
	}
	if (map) {
		static const char *const keys[] = { "architecture", "subArchitectures", NULL };
		if (!json_is_array(map))
			return bad(ps, "archMap", "must be an array");
		json_array_foreach(map, i, m) {
			pathf(p, "archMap[%zu]", i);
			if (!json_is_object(m))
				return bad(ps, p, "must be an object");
			if (check_keys(ps, m, p, keys) < 0)
				return -1;
			pathf(fp, "%s.architecture", p);
			json_t *arch = json_object_get(m, "architecture");
			if (!arch)
				return bad(ps, fp, "missing");
			if (check_arch_name(ps, arch, fp) < 0)
				return -1;
			json_t *subs = optional(m, "subArchitectures");
			pathf(fp, "%s.subArchitectures", p);
			if (subs && !json_is_array(subs))
				return bad(ps, fp, "must be an array of strings");
			json_array_foreach(subs, j, a) {
				pathf(fp, "%s.subArchitectures[%zu]", p, j);
				if (check_arch_name(ps, a, fp) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int parse_flags(const struct parse *ps, json_t *doc, unsigned int *flags,
                       unsigned int *listener_flags)
{
	*flags = 0;
	*listener_flags = 0;
	json_t *list = optional(doc, "flags");
	if (!list)
		return 0;
	if (check_string_array(ps, list, "flags", false) < 0)
		return -1;
	size_t i;
	json_t *f;
	json_array_foreach(list, i, f) {
		const char *s = json_string_value(f);
		bool known = false;
		for (size_t k = 0; k < sizeof filter_flags / sizeof filter_flags[0]; k++) {
			if (strcmp(s, filter_flags[k].name) == 0) {
				*(filter_flags[k].listener_only ? listener_flags : flags) |= filter_flags[k].flag;
				known = true;
			}
		}
		if (!known) {
			char p[PATH_LEN], q[80];
			pathf(p, "flags[%zu]", i);
			if (strcmp(s, "SECCOMP_FILTER_FLAG_NEW_LISTENER") == 0)
				return bad(ps, p, "seccomp notify listeners are not supported");
			return bad(ps, p, "unknown flag \"%s\"", printable(s, q, sizeof q));
		}
	}
	return 0;
}

static int parse_listener(const struct parse *ps, json_t *doc)
{
	json_t *path = optional(doc, "listenerPath");
	json_t *meta = optional(doc, "listenerMetadata");
	if (path && !json_is_string(path))
		return bad(ps, "listenerPath", "must be a string");
	if (meta && !json_is_string(meta))
		return bad(ps, "listenerMetadata", "must be a string");
	/* An empty path is how some tools write "no listener". */
	if (path && json_string_length(path) > 0)
		return bad(ps, "listenerPath",
		           "seccomp notify agents are not supported (toolgate runs none)");
	return 0;
}

/* ---- syscalls[] --------------------------------------------------------- */

struct entry {
	json_t *names;                /* array of strings; or NULL and `name` */
	const char *name;
	uint32_t action;
	bool applies;
	bool one_rule_per_arg;        /* an index repeats: runc's OR of single conditions */
	size_t nargs;
	struct scmp_arg_cmp args[ENTRY_MAX_ARGS];
};

static int parse_args(const struct parse *ps, json_t *args, const char *path, struct entry *e)
{
	static const char *const keys[] = { "index", "value", "valueTwo", "op", NULL };
	char p[PATH_LEN], fp[PATH_LEN];
	unsigned seen_index[6] = { 0 };

	if (!json_is_array(args))
		return bad(ps, path, "must be an array");
	if (json_array_size(args) > ENTRY_MAX_ARGS)
		return bad(ps, path, "at most %d conditions", ENTRY_MAX_ARGS);
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a) {
		pathf(p, "%s[%zu]", path, i);
		if (!json_is_object(a))
			return bad(ps, p, "must be an object");
		if (check_keys(ps, a, p, keys) < 0)
			return -1;

		long long index;
		uint64_t value = 0, value_two = 0;
		pathf(fp, "%s.index", p);
		json_t *v = json_object_get(a, "index");
		if (!v)
			return bad(ps, fp, "missing");
		if (get_int_range(ps, v, fp, 0, 5, &index) < 0)
			return -1;
		pathf(fp, "%s.value", p);
		v = json_object_get(a, "value");
		if (!v)
			return bad(ps, fp, "missing");
		if (get_uint64(ps, v, fp, &value) < 0)
			return -1;
		v = optional(a, "valueTwo");
		pathf(fp, "%s.valueTwo", p);
		if (v && get_uint64(ps, v, fp, &value_two) < 0)
			return -1;

		pathf(fp, "%s.op", p);
		v = json_object_get(a, "op");
		if (!v)
			return bad(ps, fp, "missing");
		if (!json_is_string(v))
			return bad(ps, fp, "must be a string");
		bool known = false;
		for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
			if (strcmp(json_string_value(v), operators[k].name) == 0) {
				/* For MASKED_EQ the spec's value is the mask and valueTwo
				 * the datum, which is libseccomp's order too. */
				e->args[i] = (struct scmp_arg_cmp){ .arg = (unsigned)index,
					.op = operators[k].op, .datum_a = value, .datum_b = value_two };
				known = true;
			}
		}
		if (!known) {
			char q[80];
			return bad(ps, fp, "unknown operator \"%s\"",
			           printable(json_string_value(v), q, sizeof q));
		}
		if (++seen_index[index] > 1)
			e->one_rule_per_arg = true;
	}
	e->nargs = json_array_size(args);
	return 0;
}

static int parse_entry(const struct parse *ps, json_t *obj, size_t idx, const struct host *h,
                       struct entry *e)
{
	static const char *const keys[] = { "names", "name", "action", "errnoRet", "args",
	                                    "comment", "includes", "excludes", NULL };
	char p[PATH_LEN], fp[PATH_LEN];
	pathf(p, "syscalls[%zu]", idx);
	memset(e, 0, offsetof(struct entry, args));

	if (!json_is_object(obj))
		return bad(ps, p, "must be an object");
	if (check_keys(ps, obj, p, keys) < 0)
		return -1;

	json_t *names = optional(obj, "names");
	json_t *name = optional(obj, "name");
	if (names && name)
		return bad(ps, p, "has both name and names");
	if (name) {
		pathf(fp, "%s.name", p);
		if (!json_is_string(name))
			return bad(ps, fp, "must be a string");
		e->name = json_string_value(name);
	} else {
		pathf(fp, "%s.names", p);
		if (!names)
			return bad(ps, fp, "missing");
		if (check_string_array(ps, names, fp, true) < 0)
			return -1;
		e->names = names;
	}

	enum action_kind kind;
	pathf(fp, "%s.action", p);
	if (parse_action(ps, json_object_get(obj, "action"), fp, &kind) < 0)
		return -1;
	pathf(fp, "%s.errnoRet", p);
	if (finish_action(ps, kind, optional(obj, "errnoRet"), fp, &e->action) < 0)
		return -1;

	json_t *args = optional(obj, "args");
	pathf(fp, "%s.args", p);
	if (args && parse_args(ps, args, fp, e) < 0)
		return -1;

	json_t *comment = optional(obj, "comment");
	pathf(fp, "%s.comment", p);
	if (comment && !json_is_string(comment))
		return bad(ps, fp, "must be a string");

	struct filter inc, exc;
	pathf(fp, "%s.includes", p);
	if (parse_filter(ps, optional(obj, "includes"), fp, h, &inc) < 0)
		return -1;
	pathf(fp, "%s.excludes", p);
	if (parse_filter(ps, optional(obj, "excludes"), fp, h, &exc) < 0)
		return -1;
	e->applies = entry_applies(h, &inc, &exc);
	return 0;
}

/*
 * What has been said about each syscall so far, to catch the rules that
 * libseccomp would drop without a word (see the file comment).
 */
struct said {
	int nr;
	bool has_uncond, has_cond;
	uint32_t uncond_action, cond_action;
	size_t uncond_entry, cond_entry;
	bool cond_mixed;              /* conditional rules with more than one action */
	size_t cond_other_entry;      /* the first one whose action differs from cond_action */
};

struct said_table {
	struct said *v;
	size_t n, cap;
};

static struct said *said_find(struct said_table *t, int nr)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].nr == nr)
			return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct said *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n] = (struct said){ .nr = nr };
	return &t->v[t->n++];
}

/* Returns the entry index this rule conflicts with, or -1. */
static long said_record(struct said *s, uint32_t action, bool conditional, size_t entry)
{
	if (s->has_uncond && s->uncond_action != action)
		return (long)s->uncond_entry;
	if (!conditional && s->has_cond) {
		if (s->cond_action != action)
			return (long)s->cond_entry;
		if (s->cond_mixed)
			return (long)s->cond_other_entry;
	}
	if (conditional) {
		if (!s->has_cond) {
			s->has_cond = true;
			s->cond_action = action;
			s->cond_entry = entry;
		} else if (s->cond_action != action && !s->cond_mixed) {
			s->cond_mixed = true;
			s->cond_other_entry = entry;
		}
	} else if (!s->has_uncond) {
		s->has_uncond = true;
		s->uncond_action = action;
		s->uncond_entry = entry;
	}
	return -1;
}

static int add_entry_rules(const struct parse *ps, scmp_filter_ctx ctx, uint32_t default_action,
                           const struct entry *e, size_t idx, struct said_table *said)
{
	size_t count = e->names ? json_array_size(e->names) : 1;
	for (size_t i = 0; i < count; i++) {
		const char *name = e->names ? json_string_value(json_array_get(e->names, i)) : e->name;
		int nr = seccomp_syscall_resolve_name(name);
		/* Unknown on this architecture or to this libseccomp: Docker skips it too. */
		if (nr == __NR_SCMP_ERROR)
			continue;

		char p[PATH_LEN], q[80];
		pathf(p, "syscalls[%zu]", idx);
		struct said *s = said_find(said, nr);
		if (!s)
			return bad(ps, p, "out of memory");
		long other = said_record(s, e->action, e->nargs > 0, idx);
		if (other >= 0)
			return bad(ps, p, "\"%s\" conflicts with syscalls[%ld]: an unconditional rule "
			           "and a rule with another action for the same call cannot both "
			           "take effect", printable(name, q, sizeof q), other);
		/* libseccomp refuses these, and they change nothing (runc skips them). */
		if (e->action == default_action)
			continue;

		int rc = 0;
		if (e->nargs == 0)
			rc = seccomp_rule_add_array(ctx, e->action, nr, 0, NULL);
		else if (!e->one_rule_per_arg)
			rc = seccomp_rule_add_array(ctx, e->action, nr, (unsigned)e->nargs, e->args);
		else
			for (size_t a = 0; a < e->nargs && rc == 0; a++)
				rc = seccomp_rule_add_array(ctx, e->action, nr, 1, &e->args[a]);
		if (rc < 0)
			return bad(ps, p, "cannot add the rule for \"%s\": %s",
			           printable(name, q, sizeof q), strerror(-rc));
	}
	return 0;
}

/* ---- BPF out of libseccomp ---------------------------------------------- */

/* libseccomp 2.5 exports only to a file descriptor, so go through a memfd. */
static int export_bpf(const struct parse *ps, scmp_filter_ctx ctx, const char *what,
                      struct sock_filter **out, size_t *count)
{
	int fd = memfd_create("toolgate-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return tg_err_errno(ps->err, "%s: memfd_create for the %s filter", ps->where, what);
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		close(fd);
		return tg_err(ps->err, "%s: exporting the %s filter: %s", ps->where, what, strerror(-rc));
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return tg_err_errno(ps->err, "%s: fstat of the exported %s filter", ps->where, what);
	}
	size_t size = (size_t)st.st_size;
	size_t n = size / sizeof(struct sock_filter);
	if (size == 0 || size % sizeof(struct sock_filter) != 0) {
		close(fd);
		return tg_err(ps->err, "%s: the exported %s filter has a bad size (%zu bytes)",
		              ps->where, what, size);
	}
	if (n > BPF_MAXINSNS) {
		close(fd);
		return tg_err(ps->err, "%s: the compiled %s filter has %zu instructions, more than "
		              "the kernel's limit of %d", ps->where, what, n, BPF_MAXINSNS);
	}
	struct sock_filter *insns = malloc(size);
	if (!insns) {
		close(fd);
		return tg_err(ps->err, "%s: out of memory", ps->where);
	}
	size_t done = 0;
	while (done < size) {
		ssize_t r = pread(fd, (char *)insns + done, size - done, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			int saved = errno;
			free(insns);
			close(fd);
			errno = saved;
			return tg_err_errno(ps->err, "%s: reading back the %s filter", ps->where, what);
		}
		done += (size_t)r;
	}
	close(fd);
	*out = insns;
	*count = n;
	return 0;
}

/*
 * Both filters: the child already has no_new_privs, and a bad ABI kills.
 * The syscall dispatch is a binary tree (libseccomp's optimize level 2), not
 * a linear chain: when a filter is attached the kernel runs it once for every
 * syscall number to fill its action cache, so a linear 300-instruction
 * filter costs hundreds of microseconds on every tool start; a tree costs a
 * fraction of that, and every syscall the tool makes is cheaper too.
 */
static int set_common_attrs(const struct parse *ps, scmp_filter_ctx ctx, const char *what)
{
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0)
		return tg_err(ps->err, "%s: setting attributes of the %s filter: %s",
		              ps->where, what, strerror(-rc));
	return 0;
}

/*
 * The calls that no tool needs and that known escapes and kernel exploits
 * use.  This is the contract's floor under every profile, so it stays
 * short: what a profile may legitimately allow is the profile's business.
 */
static const char *const baseline_denied[] = {
	/* reading or steering other processes */
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	/* the mount table and the root directory */
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	/* namespaces (clone's flags are checked below; clone3 hides them) */
	"unshare", "setns",
	/* kernel attack surface with a history of privilege escalations */
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "keyctl", "add_key", "request_key",
	/* the machine itself */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"create_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"iopl", "ioperm", "syslog", "lookup_dcookie", "uselib", "_sysctl", "nfsservctl",
	"vm86", "vm86old",
	/* file handles walk past the mount namespace (the "shocker" escape) */
	"open_by_handle_at",
	NULL,
};

static int build_baseline(const struct parse *ps, const struct host *h,
                          struct sock_filter **out, size_t *count)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return tg_err(ps->err, "%s: seccomp_init for the baseline filter failed", ps->where);
	int rc = set_common_attrs(ps, ctx, "baseline");
	const char *what = "";
	for (const char *const *n = baseline_denied; rc == 0 && *n; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		what = *n;
		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0, NULL);
	}
	/* clone3 passes its flags in memory, out of a filter's sight: ENOSYS
	 * makes glibc fall back to clone, whose flags are checked here. */
	if (rc == 0) {
		what = "clone3";
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
	}
	/* Any of these in clone's flags makes a namespace: one rule per flag,
	 * since a filter can test "this bit is set" but not "any bit is set". */
	static const uint64_t ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
	                                     CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	                                     CLONE_NEWCGROUP };
	for (size_t i = 0; rc == 0 && i < sizeof ns_flags / sizeof ns_flags[0]; i++) {
		struct scmp_arg_cmp c = SCMP_CMP(h->clone_flags_index, SCMP_CMP_MASKED_EQ,
		                                 ns_flags[i], ns_flags[i]);
		what = "clone";
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &c);
	}
	/* Typing into the controlling terminal's input reaches outside the
	 * sandbox.  The kernel reads only the low 32 bits of the request, so
	 * compare only those, or 0x100005412 would slip through. */
	static const uint64_t tty_requests[] = { TIOCSTI, TIOCLINUX };
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		struct scmp_arg_cmp c = SCMP_CMP(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_requests[i]);
		what = "ioctl";
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, &c);
	}
	if (rc < 0 && *what)
		tg_err(ps->err, "%s: baseline filter: cannot add the rule for \"%s\": %s",
		       ps->where, what, strerror(-rc));
	if (rc == 0)
		rc = export_bpf(ps, ctx, "baseline", out, count);
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

/* ---- the profile's own filter ----------------------------------------------- */

static int build_profile(const struct parse *ps, json_t *doc, const struct host *h,
                         struct sock_filter **out, size_t *count, unsigned int *flags,
                         unsigned int *listener_flags)
{
	static const char *const keys[] = { "defaultAction", "defaultErrnoRet", "architectures",
	                                    "archMap", "syscalls", "flags", "listenerPath",
	                                    "listenerMetadata", NULL };
	if (!json_is_object(doc))
		return bad(ps, NULL, "must be a JSON object");
	if (check_keys(ps, doc, "", keys) < 0)
		return -1;

	enum action_kind kind;
	uint32_t default_action;
	if (parse_action(ps, json_object_get(doc, "defaultAction"), "defaultAction", &kind) < 0 ||
	    finish_action(ps, kind, optional(doc, "defaultErrnoRet"), "defaultErrnoRet",
	                  &default_action) < 0)
		return -1;
	if (parse_architectures(ps, doc) < 0 || parse_flags(ps, doc, flags, listener_flags) < 0 ||
	    parse_listener(ps, doc) < 0)
		return -1;
	json_t *syscalls = optional(doc, "syscalls");
	if (syscalls && !json_is_array(syscalls))
		return bad(ps, "syscalls", "must be an array");

	scmp_filter_ctx ctx = seccomp_init(default_action);
	if (!ctx)
		return tg_err(ps->err, "%s: seccomp_init failed for defaultAction", ps->where);
	struct said_table said = { 0 };
	struct entry *e = malloc(sizeof *e);
	int rc = e ? set_common_attrs(ps, ctx, "profile") : bad(ps, NULL, "out of memory");

	size_t i;
	json_t *obj;
	json_array_foreach(syscalls, i, obj) {
		if (rc < 0)
			break;
		rc = parse_entry(ps, obj, i, h, e);
		if (rc == 0 && e->applies)
			rc = add_entry_rules(ps, ctx, default_action, e, i, &said);
	}
	if (rc == 0)
		rc = export_bpf(ps, ctx, "profile", out, count);
	free(e);
	free(said.v);
	seccomp_release(ctx);
	return rc;
}

/* ---- public API ----------------------------------------------------------- */

struct seccomp_program *seccomp_profile_compile(json_t *doc, const char *name,
                                                const char *where, struct tg_error *err)
{
	struct parse ps = { .where = where, .err = err };
	struct host h;
	struct sock_filter *profile = NULL, *baseline = NULL;
	size_t nprofile = 0, nbaseline = 0;
	unsigned int flags = 0, listener_flags = 0;
	struct program_impl *impl = NULL;

	if (host_probe(&h, &ps) < 0 ||
	    build_profile(&ps, doc, &h, &profile, &nprofile, &flags, &listener_flags) < 0 ||
	    build_baseline(&ps, &h, &baseline, &nbaseline) < 0 ||
	    seccomp_check_returns(where, err, baseline, nbaseline, "baseline") < 0 ||
	    seccomp_check_returns(where, err, profile, nprofile, "profile") < 0)
		goto out;
	size_t ncomposed = nbaseline + nprofile;
	if (ncomposed > BPF_MAXINSNS) {
		tg_err(err, "%s: the baseline and the profile together compile to %zu instructions, "
		       "more than the kernel's limit of %d", where, ncomposed, BPF_MAXINSNS);
		goto out;
	}

	size_t name_len = strlen(name) + 1;
	impl = malloc(sizeof *impl + 2 * ncomposed * sizeof(struct sock_filter) + name_len);
	if (!impl) {
		tg_err(err, "%s: out of memory", where);
		goto out;
	}
	struct sock_filter *at = impl->insns;
	memcpy(at, baseline, nbaseline * sizeof *at);
	impl->pub.baseline = (struct sock_fprog){ .len = (unsigned short)nbaseline, .filter = at };
	at += nbaseline;
	memcpy(at, profile, nprofile * sizeof *at);
	impl->pub.prog = (struct sock_fprog){ .len = (unsigned short)nprofile, .filter = at };
	at += nprofile;
	seccomp_compose(baseline, nbaseline, profile, nprofile, at);
	impl->pub.composed = (struct sock_fprog){ .len = (unsigned short)ncomposed, .filter = at };
	at += ncomposed;
	impl->pub.name = (char *)at;
	memcpy(impl->pub.name, name, name_len);
	impl->flags = flags;
	impl->listener_flags = listener_flags;
	if (seccomp_check_startup_calls(where, err, &impl->pub.composed) < 0) {
		free(impl);
		impl = NULL;
	}
out:
	free(profile);
	free(baseline);
	return impl ? &impl->pub : NULL;
}

struct seccomp_program *seccomp_profile_load(const char *path, const char *name,
                                             struct tg_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	if (fileio_read_at(AT_FDCWD, path, path, PROFILE_MAX_BYTES, &buf, &len, err) < 0)
		return NULL;
	/* jansson bounds nesting itself (2048 levels); the shape checks above
	 * reject anything deeper than four. */
	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!doc) {
		char q[sizeof jerr.text];
		tg_err(err, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column,
		       printable(jerr.text, q, sizeof q));
		return NULL;
	}
	struct seccomp_program *p = seccomp_profile_compile(doc, name, path, err);
	json_decref(doc);
	return p;
}

int seccomp_program_install(const struct seccomp_program *p)
{
	const struct program_impl *impl = (const struct program_impl *)p;
	/* Baseline first: on equal actions the filter installed last decides
	 * the errno, and that should be the profile's. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, impl->flags, &impl->pub.baseline) != 0)
		return -1;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, impl->flags, &impl->pub.prog) != 0)
		return -1;
	return 0;
}

int seccomp_program_install_listener(const struct seccomp_program *p)
{
	const struct program_impl *impl = (const struct program_impl *)p;
	unsigned int flags = impl->flags | impl->listener_flags | SECCOMP_FILTER_FLAG_NEW_LISTENER;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &impl->pub.composed);
}

void seccomp_program_free(struct seccomp_program *p)
{
	free(p);
}
