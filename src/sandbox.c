/*
 * sandbox.c: clone, confine and exec one tool (see sandbox.h).
 *
 * The steps in the child run in a fixed order, and the order matters: each
 * step needs privileges that a later step takes away.  Namespaces come from
 * clone3 itself; mounts and the hostname need root in those namespaces;
 * rlimits come before the uid switch (RLIMIT_NPROC is judged at setuid);
 * the capability drop needs CAP_SETPCAP, kept across the uid switch with
 * PR_SET_KEEPCAPS; no_new_privs and the fd sweep come before seccomp, and
 * seccomp comes last so that the filter need only allow what the tool itself
 * does, plus the gate's read and the final execve.
 *
 * The gate: fully confined, the child blocks reading a pipe: one byte, or
 * that byte and the call's traceparent (step 11).
 * The broker writes it only once the call's start record is durable, so the
 * tool never starts before its record, yet the expensive preparation (the
 * namespaces, the seccomp attach) overlaps the audit log's fdatasync.  If
 * the read does not return that byte (the broker withdrew the start, or the
 * profile forbids read), the child exits without exec: it fails closed.
 *
 * The parent never waits for the child: a setup failure is written as one
 * line to a close-on-exec status pipe, which the event loop reads.
 */
#include "sandbox.h"
#include "cgroup.h"
#include "config.h"
#include "fsview.h"
#include "landlock.h"
#include "seccomp_profile.h"
#include "secrets.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The signals the broker ignores (SIG_IGN survives exec; a caught signal
   does not), read once, before the first child: a tool starts with every
   disposition at its default. */
static sigset_t ignored_signals;
static bool ignored_known;

static void learn_ignored_signals(void)
{
	sigemptyset(&ignored_signals);
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(&ignored_signals, s);
	}
	ignored_known = true;
}

/* make bench's step stamps (sandbox.h); NULL in the broker. */
static volatile uint64_t *timing;

void sandbox_set_timing(volatile uint64_t *stamps)
{
	timing = stamps;
}

static void stamp(enum sandbox_step step)
{
	if (timing) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		timing[step] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
}

/* Landlock's ABI, detected once at start (sandbox_detect); 0: not used. */
static int landlock_abi_in_force;

/* Rootless mode: the broker is an ordinary user, and each child gets a user
   namespace of its own in which the tool's uid and gid are the only ones
   mapped, onto the broker's own (sandbox.h). */
static bool rootless;
static uid_t outer_uid;
static gid_t outer_gid;

void sandbox_detect(char *landlock, size_t n)
{
	landlock_abi_in_force = landlock_abi();
	landlock_describe(landlock_abi_in_force, landlock, n);
	rootless = geteuid() != 0;
	outer_uid = geteuid();
	outer_gid = getegid();
}

bool sandbox_rootless(void)
{
	return rootless;
}

static __attribute__((noreturn)) void child_fail(int status_fd, const char *step, int errnum);

/* Write text to a /proc/self file, in one write(); 0 or -1 with errno. */
static int write_proc(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, len);
	int saved = errno;
	close(fd);
	errno = saved;
	return w == (ssize_t)len ? 0 : -1;
}

/*
 * Rootless: map the tool's uid and gid in the child's new user namespace
 * onto the broker's own, the only ids an unprivileged process may map.
 * setgroups must be denied first (the kernel's rule for an unprivileged
 * gid_map); the supplementary groups the broker's user has therefore stay.
 */
static void map_ids(int status_fd, uid_t uid, gid_t gid)
{
	char line[64];
	int n;
	if (write_proc("/proc/self/setgroups", "deny", 4) != 0)
		child_fail(status_fd, "writing /proc/self/setgroups", errno);
	n = snprintf(line, sizeof line, "%u %u 1\n", (unsigned)uid, (unsigned)outer_uid);
	if (write_proc("/proc/self/uid_map", line, (size_t)n) != 0)
		child_fail(status_fd, "writing /proc/self/uid_map", errno);
	n = snprintf(line, sizeof line, "%u %u 1\n", (unsigned)gid, (unsigned)outer_gid);
	if (write_proc("/proc/self/gid_map", line, (size_t)n) != 0)
		child_fail(status_fd, "writing /proc/self/gid_map", errno);
}

/* Report a failed step on the status pipe and end the child. */
static __attribute__((noreturn)) void child_fail(int status_fd, const char *step, int errnum)
{
	char msg[256];
	int n = snprintf(msg, sizeof msg, "%s: %s", step, strerror(errnum));
	if (n > 0) {
		ssize_t w = write(status_fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
		(void)w;
	}
	_exit(127);
}

/* The same, for a step with a detail ("building its view: /usr: ..."). */
static __attribute__((noreturn)) void child_fail2(int status_fd, const char *step,
                                                  const char *detail, int errnum)
{
	char msg[PATH_MAX + 256];
	int n = snprintf(msg, sizeof msg, "%s: %s: %s", step, detail, strerror(errnum));
	if (n > 0) {
		ssize_t w = write(status_fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
		(void)w;
	}
	_exit(127);
}

/*
 * Close every fd from 3 up except those in keep (unsorted, -1 ignored).  Done
 * first thing after clone: close-on-exec only acts at exec, and until then
 * this child would hold the broker's other descriptors, among them other
 * calls' pipe ends (a tool would never see EOF on its stdin while a sibling
 * waiting at its gate still held the write end).
 */
static int close_all_but(const int *keep, size_t n)
{
	unsigned lo = 3;
	for (;;) {
		/* The smallest kept fd >= lo. */
		unsigned next = ~0U;
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= (int)lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next == ~0U)
			return (int)syscall(SYS_close_range, lo, ~0U, 0);
		if (next > lo && syscall(SYS_close_range, lo, next - 1, 0) != 0)
			return -1;
		lo = next + 1;
	}
}

static void set_rlimit(int status_fd, int resource, rlim_t value, const char *what)
{
	struct rlimit rl = { value, value };
	if (setrlimit(resource, &rl) != 0)
		child_fail(status_fd, what, errno);
}

static void bring_up_loopback(int status_fd)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		child_fail(status_fd, "socket for loopback", errno);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		child_fail(status_fd, "SIOCGIFFLAGS lo", errno);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		child_fail(status_fd, "SIOCSIFFLAGS lo", errno);
	close(s);
}

/*
 * The two capability states the child passes through, built by the parent
 * before clone: the child must not allocate (it may be cloned from a
 * multi-threaded broker, where another thread can hold the allocator's lock
 * at that moment), and libcap's cap_set_proc, cap_drop_bound and
 * cap_reset_ambient only make system calls.
 */
struct cap_states {
	cap_t setpcap;  /* permitted = effective = {CAP_SETPCAP} */
	cap_t none;     /* every set empty */
};

static int cap_states_make(struct cap_states *cs)
{
	cap_value_t setpcap = CAP_SETPCAP;
	cs->setpcap = cap_init();
	cs->none = cap_init();
	if (!cs->setpcap || !cs->none ||
	    cap_set_flag(cs->setpcap, CAP_PERMITTED, 1, &setpcap, CAP_SET) != 0 ||
	    cap_set_flag(cs->setpcap, CAP_EFFECTIVE, 1, &setpcap, CAP_SET) != 0)
		return -1;
	return 0;
}

static void cap_states_free(struct cap_states *cs)
{
	if (cs->setpcap)
		cap_free(cs->setpcap);
	if (cs->none)
		cap_free(cs->none);
}

/* Drop every capability from every set.  Runs after the uid switch with
   KEEPCAPS set, so CAP_SETPCAP is still permitted for the bounding set. */
static void drop_all_capabilities(int status_fd, const struct cap_states *cs)
{
	if (cap_set_proc(cs->setpcap) != 0)
		child_fail(status_fd, "keeping only CAP_SETPCAP to drop the bounding set", errno);
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (CAP_IS_SUPPORTED(c) && cap_drop_bound(c) != 0)
			child_fail(status_fd, "cap_drop_bound", errno);
	}
	if (cap_reset_ambient() != 0)
		child_fail(status_fd, "cap_reset_ambient", errno);
	if (cap_set_proc(cs->none) != 0)
		child_fail(status_fd, "clearing effective, permitted and inheritable capabilities", errno);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
		child_fail(status_fd, "PR_SET_KEEPCAPS 0", errno);
}

static __attribute__((noreturn)) void child_main(const struct tool *t, char **envp,
                                                 size_t trace_slot, int in_fd, int out_fd, int err_fd, int status_fd,
                                                 int gate_fd, int netns_fd,
                                                 const struct cap_states *caps,
                                                 const struct cgroup_call *cg,
                                                 uid_t uid, gid_t gid)
{
	/* The broker blocks its signals for signalfd; a tool must start with
	   default dispositions and an empty mask. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* exec resets caught signals by itself; only ignored ones survive it. */
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&ignored_signals, s) == 1)
			signal(s, SIG_DFL);

	stamp(SANDBOX_T_CHILD);

	/* If the broker dies, the tool dies with it: nothing outlives its call. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		child_fail(status_fd, "PR_SET_PDEATHSIG", errno);

	/* Its own session: no controlling terminal to inject input into. */
	if (setsid() < 0)
		child_fail(status_fd, "setsid", errno);

	/* stdin/stdout/stderr become the broker's pipes; nothing else of the
	   broker's stays open (see close_all_but). */
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		child_fail(status_fd, "dup2", errno);
	int keep[3 + CGROUP_HIER_MAX] = { status_fd, gate_fd, netns_fd };
	for (unsigned i = 0; i < CGROUP_HIER_MAX; i++)
		keep[3 + i] = i < cg->n ? cg->procs_fd[i] : -1;
	if (close_all_but(keep, sizeof keep / sizeof keep[0]) != 0)
		child_fail(status_fd, "closing the broker's descriptors", errno);

	/* Into the call's cgroup before anything else is allocated, so that
	   all of the tree is counted (v2 children are born there). */
	if (cgroup_call_enter_self(cg) != 0)
		child_fail(status_fd, "entering the call's cgroup", errno);
	stamp(SANDBOX_T_CGROUP);

	/* 1. Namespaces: clone3 already put us in new mount, pid, ipc and uts
	   namespaces and, unless network "host", a new network namespace, or
	   we join the fresh, never used one the broker made ahead of time.
	   Rootless, clone3 made a user namespace too, which owns the others:
	   its ids are mapped first, as nothing works unmapped. */
	if (rootless)
		map_ids(status_fd, uid, gid);
	if (netns_fd >= 0) {
		if (setns(netns_fd, CLONE_NEWNET) != 0)
			child_fail(status_fd, "joining its network namespace", errno);
		close(netns_fd);
	}
	/* Make every mount private first, so that nothing we mount propagates
	   back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		child_fail(status_fd, "making mounts private", errno);
	if (sethostname("toolgate", 8) != 0)
		child_fail(status_fd, "sethostname", errno);
	if (t->network == TOOL_NET_LOOPBACK)
		bring_up_loopback(status_fd);
	stamp(SANDBOX_T_NET);

	/* The tool's executable, held open from the host's view: step 11 execs
	   this very file, wherever it lives (even under the host's /tmp, which
	   the scratch covers).  A "#!" script is exec'd by path, as its
	   interpreter must reopen it by name; the view shows it there. */
	int exe_fd = -1;
	if (!t->script) {
		exe_fd = open(t->argv[0], O_PATH | O_CLOEXEC);
		if (exe_fd < 0)
			child_fail(status_fd, "opening the executable", errno);
	}

	/* 2. Its own root (see fsview.h): read_paths read-only, write_paths,
	   its executable, /proc of its pid namespace, a minimal /dev, and a
	   private scratch tmpfs owned by its uid as cwd and TMPDIR.  The host's
	   root is detached. */
	const char *step = "";
	if (fsview_enter(&t->view, uid, gid, SANDBOX_SCRATCH_MB, rootless, &step) != 0)
		child_fail2(status_fd, "building its filesystem view", step, errno);
	stamp(SANDBOX_T_VIEW);

	/* 3. Resource limits, before the uid switch (see the file comment). */
	const struct tool_limits *l = &t->limits;
	/* CPU: soft = hard.  The tool is pid 1 of its namespace, and the kernel
	   drops default-action signals such as SIGXCPU aimed at a namespace's
	   init, so only the hard limit's SIGKILL ends it; call.c tells that
	   case apart by the CPU time the child used (sandbox_reap). */
	set_rlimit(status_fd, RLIMIT_CPU, (rlim_t)l->cpu_seconds, "RLIMIT_CPU");
	/* memory_mb and processes: the call's cgroup bounds its whole tree
	   (memory.max, pids.max), and the rlimits would only get in the way
	   (address space is not memory: runtimes reserve far more than they
	   use; RLIMIT_NPROC counts every process of the uid on the host).
	   Without a cgroup they are all there is. */
	if (cg->n == 0) {
		set_rlimit(status_fd, RLIMIT_AS, (rlim_t)l->memory_mb << 20, "RLIMIT_AS");
		set_rlimit(status_fd, RLIMIT_NPROC, (rlim_t)l->processes, "RLIMIT_NPROC");
	}
	set_rlimit(status_fd, RLIMIT_NOFILE, (rlim_t)l->open_files, "RLIMIT_NOFILE");
	set_rlimit(status_fd, RLIMIT_FSIZE, (rlim_t)l->file_size_mb << 20, "RLIMIT_FSIZE");
	set_rlimit(status_fd, RLIMIT_CORE, 0, "RLIMIT_CORE");

	/* 4. The tool's identity, supplementary groups cleared.  KEEPCAPS keeps
	   the permitted set across setresuid just long enough for step 5. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		child_fail(status_fd, "PR_SET_KEEPCAPS 1", errno);
	/* Raw system calls, not glibc's wrappers: those broadcast the change to
	   every thread glibc believes the process has, and a child cloned from
	   a multi-threaded broker inherits that belief but not the threads. */
	if (!rootless && syscall(SYS_setgroups, 0, NULL) != 0)
		child_fail(status_fd, "setgroups", errno);
	if (syscall(SYS_setresgid, gid, gid, gid) != 0)
		child_fail(status_fd, "setresgid", errno);
	if (syscall(SYS_setresuid, uid, uid, uid) != 0)
		child_fail(status_fd, "setresuid", errno);

	/* 5. No capabilities at all: effective, permitted, inheritable, ambient
	   and bounding. */
	drop_all_capabilities(status_fd, caps);
	stamp(SANDBOX_T_IDENTITY);

	/* 6. no_new_privs: exec can never grant privileges (setuid bits, file
	   capabilities), and it lets an unprivileged process load seccomp. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(status_fd, "PR_SET_NO_NEW_PRIVS", errno);

	/* 7. Every fd but 0, 1 and 2 is closed at exec.  CLOEXEC rather than
	   close keeps the status pipe usable until the exec itself. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		child_fail(status_fd, "close_range", errno);
	stamp(SANDBOX_T_NNP);

	/* 8. The environment is exactly envp (the tool's env, its secrets, the
	   scratch paths, and TRACEPARENT from the gate), built by the parent;
	   nothing of the broker's leaks. */

	/* 9. Landlock: the same view, enforced a second time by the kernel's
	   LSM hooks, so that a hole in the mount layer is not an escape; TCP
	   refused outright for a tool without a network; abstract Unix sockets
	   and signals kept inside the call.  The executable was opened before
	   pivot_root: /proc/self/fd/N names it for its rule. */
	if (landlock_abi_in_force > 0) {
		const char *read[FSVIEW_LL_MAX + 2];
		size_t n = 0;
		for (const char **p = t->view.ll_read; p && *p && n < FSVIEW_LL_MAX; p++)
			read[n++] = *p;
		char exe_path[32];
		if (exe_fd >= 0) {
			snprintf(exe_path, sizeof exe_path, "/proc/self/fd/%d", exe_fd);
			read[n++] = exe_path;
		}
		read[n] = NULL;
		struct landlock_spec spec = {
			.read = read, .list = t->view.ll_list, .write = t->view.ll_write,
			.devices = fsview_devices, .deny_tcp = t->network == TOOL_NET_NONE, .scope = true,
		};
		const char *failed = "";
		if (landlock_apply(landlock_abi_in_force, &spec, &failed) != 0)
			child_fail2(status_fd, "Landlock", failed, errno);
	}
	stamp(SANDBOX_T_LANDLOCK);

	/* 10. The seccomp filter, compiled when the configuration loaded, in
	   the form that sends each refusal to the broker, which answers it
	   (naming the call in the result) or kills the tool.  The listener
	   goes to the broker as the status pipe's first message: a NUL, then
	   its number (the broker takes it with pidfd_getfd).  Until the broker
	   holds it nothing here may be refused: write, read and execve are
	   what every profile must allow (seccomp_profile.h). */
	int listener = seccomp_program_install_listener(t->profile);
	if (listener < 0)
		child_fail(status_fd, "loading the seccomp filter", errno);
	unsigned char hello[1 + sizeof listener] = { 0 };
	memcpy(hello + 1, &listener, sizeof listener);
	if (write(status_fd, hello, sizeof hello) != (ssize_t)sizeof hello)
		child_fail(status_fd, "handing the seccomp listener to the broker", errno);
	stamp(SANDBOX_T_SECCOMP);

	/* 11. The gate (see the file comment): exec only on the broker's go.
	   The go may carry the call's W3C traceparent (one write of at most
	   PIPE_BUF bytes, so one read gets all of it): it goes into the slot
	   build_env left free, as TRACEPARENT.  A spare child is made before
	   its call exists, so this is the first moment the child can know it. */
	char go[1 + SANDBOX_TRACEPARENT_LEN];
	char trace_env[sizeof "TRACEPARENT=" + SANDBOX_TRACEPARENT_LEN];
	ssize_t g;
	do
		g = read(gate_fd, go, sizeof go);
	while (g < 0 && errno == EINTR);
	if (g < 1 || go[0] != 'g')
		child_fail(status_fd, "waiting for the broker's go", g == 0 ? ECANCELED : errno);
	if (g == (ssize_t)sizeof go) {
		memcpy(trace_env, "TRACEPARENT=", sizeof "TRACEPARENT=" - 1);
		memcpy(trace_env + sizeof "TRACEPARENT=" - 1, go + 1, SANDBOX_TRACEPARENT_LEN);
		trace_env[sizeof trace_env - 1] = '\0';
		envp[trace_slot] = trace_env;
	}
	stamp(SANDBOX_T_GATE);

	/* 12. Exec the argv directly: never through a shell. */
	if (exe_fd >= 0)
		syscall(SYS_execveat, exe_fd, "", t->argv, envp, AT_EMPTY_PATH);
	else
		execve(t->argv[0], t->argv, envp);
	child_fail(status_fd, "execve", errno);
}

/* The child's environment: the tool's env, its secrets (pointers to the
   snapshot's locked "ENV=value" strings: no copy in ordinary memory), the
   scratch paths, and a free slot (*trace_slot) for TRACEPARENT, filled at
   the gate. */
static char **build_env(const struct tool *t, size_t *trace_slot)
{
	size_t n = 0, ns = t->secret_values ? t->secret_values->n : 0;
	while (t->env && t->env[n])
		n++;
	char **envp = calloc(n + ns + 4, sizeof *envp);
	if (!envp)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		envp[o++] = t->env[i];
	for (size_t i = 0; i < ns; i++)
		envp[o++] = t->secret_values->v[i].kv;
	envp[o++] = (char *)"TMPDIR=" SANDBOX_SCRATCH_PATH;
	envp[o++] = (char *)"HOME=" SANDBOX_SCRATCH_PATH;
	*trace_slot = o;
	return envp;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

int sandbox_spawn(const struct tool *t, int netns_fd, uid_t uid, gid_t gid,
                  const struct cgroup_call *cg, struct sandbox_child *c, struct tg_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2] = { -1, -1 };
	int gate[2] = { -1, -1 };
	size_t trace_slot = 0;
	char **envp = build_env(t, &trace_slot);
	struct cap_states caps = { NULL, NULL };
	int rc = -1;

	sandbox_child_init(c);
	if (t->network == TOOL_NET_HOST && netns_fd >= 0) {
		close(netns_fd);  /* a host-network tool keeps the broker's namespace */
		netns_fd = -1;
	}
	if (!envp) {
		if (netns_fd >= 0)
			close(netns_fd);
		return tg_err(err, "sandbox: out of memory");
	}
	if (!ignored_known)
		learn_ignored_signals();
	if (cap_states_make(&caps) != 0) {
		tg_err_errno(err, "sandbox: preparing the capability states");
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    pipe2(st, O_CLOEXEC) || pipe2(gate, O_CLOEXEC)) {
		tg_err_errno(err, "sandbox: pipe2");
		goto out;
	}

	int pidfd = -1;
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_PIDFD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	if (t->network != TOOL_NET_HOST && netns_fd < 0)
		ca.flags |= CLONE_NEWNET;
	if (rootless)
		ca.flags |= CLONE_NEWUSER;
	ca.pidfd = (__u64)(uintptr_t)&pidfd;
	int cgfd = cgroup_call_clone_fd(cg);
	if (cgfd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (__u64)cgfd;
	}
	ca.exit_signal = SIGCHLD;

	/* clone3 without a stack behaves like fork: the child continues here
	   on a copy of our stack.  The broker is single-threaded, so that is safe. */
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid < 0) {
		tg_err_errno(err, "sandbox: clone3 with new namespaces");
		goto out;
	}
	if (pid == 0) {
		close(in[1]);
		close(out[0]);
		close(errp[0]);
		close(st[0]);
		close(gate[1]);
		child_main(t, envp, trace_slot, in[0], out[1], errp[1], st[1], gate[0], netns_fd, &caps, cg, uid, gid);
	}

	c->pid = (pid_t)pid;
	c->pidfd = pidfd;
	c->stdin_fd = in[1];
	in[1] = -1;
	c->stdout_fd = out[0];
	out[0] = -1;
	c->stderr_fd = errp[0];
	errp[0] = -1;
	c->status_fd = st[0];
	st[0] = -1;
	c->gate_fd = gate[1];
	gate[1] = -1;
	fcntl(c->stdin_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->stdout_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->stderr_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->status_fd, F_SETFL, O_NONBLOCK);
	/* The broker's hold on the namespace the child joins (see
	   netns_pool_keep), if it came from the pool. */
	c->netns_fd = netns_fd;
	netns_fd = -1;
	rc = 0;
out:
	close_pair(in);
	close_pair(out);
	close_pair(errp);
	close_pair(st);
	close_pair(gate);
	if (netns_fd >= 0)
		close(netns_fd);
	cap_states_free(&caps);
	free(envp);
	return rc;
}

/* ---- the network namespace pool (see sandbox.h) ---- */

int netns_pool_init(struct netns_pool *p, unsigned target, struct tg_error *err)
{
	memset(p, 0, sizeof *p);
	p->target = target > NETNS_POOL_MAX ? NETNS_POOL_MAX : target;
	/* Rootless, a child's network namespace must belong to its own user
	   namespace: clone3 makes both, and the pool stays empty. */
	if (rootless)
		p->target = 0;
	p->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->home_fd < 0)
		return tg_err_errno(err, "opening /proc/self/ns/net");
	return 0;
}

bool netns_pool_wants_more(const struct netns_pool *p)
{
	return p->home_fd >= 0 && p->n < p->target;
}

int netns_pool_fill_one(struct netns_pool *p, struct tg_error *err)
{
	if (unshare(CLONE_NEWNET) != 0)
		return tg_err_errno(err, "unshare(CLONE_NEWNET)");
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int saved = errno;
	/* Back home before anything else can happen in this thread: if that
	   fails the broker must not go on (its own sockets and host-network
	   tools would be in the wrong namespace), so the pool stops for good. */
	if (setns(p->home_fd, CLONE_NEWNET) != 0) {
		tg_err_errno(err, "returning to the broker's network namespace");
		if (fd >= 0)
			close(fd);
		close(p->home_fd);
		p->home_fd = -1;
		p->target = 0;
		return -1;
	}
	if (fd < 0) {
		errno = saved;
		return tg_err_errno(err, "opening the new network namespace");
	}
	p->fds[p->n++] = fd;
	p->made++;
	return 0;
}

int netns_pool_take(struct netns_pool *p)
{
	if (p->n == 0) {
		p->missed++;
		return -1;
	}
	p->taken++;
	return p->fds[--p->n];
}

bool sandbox_netns_keepable(const struct tool *t)
{
	return !rootless && t->network == TOOL_NET_NONE && !t->dynamic_uid && t->uid != 0;
}

void netns_owner_make(struct netns_owner *o, const struct tool *t, uid_t uid, gid_t gid,
                      const char *principal, const char *user)
{
	/* Lengths first, so that no two different tuples hash alike. */
	uint32_t ids[4] = { (uint32_t)uid, (uint32_t)gid, (uint32_t)strlen(principal),
	                    user ? (uint32_t)strlen(user) : UINT32_MAX };
	crypto_generichash_state h;
	memset(o, 0, sizeof *o);
	o->tool = t;
	crypto_generichash_init(&h, NULL, 0, sizeof o->who);
	crypto_generichash_update(&h, (const unsigned char *)ids, sizeof ids);
	crypto_generichash_update(&h, (const unsigned char *)principal, strlen(principal));
	if (user)
		crypto_generichash_update(&h, (const unsigned char *)user, strlen(user));
	crypto_generichash_final(&h, o->who, sizeof o->who);
}

int netns_pool_take_for(struct netns_pool *p, const struct netns_owner *o, bool *reused)
{
	*reused = false;
	if (o) {
		/* The most recently kept: its owner's latest call. */
		unsigned best = NETNS_KEPT_MAX;
		for (unsigned i = 0; i < p->nkept; i++)
			if (memcmp(&p->kept[i].owner, o, sizeof *o) == 0 &&
			    (best == NETNS_KEPT_MAX || p->kept[i].stamp > p->kept[best].stamp))
				best = i;
		if (best != NETNS_KEPT_MAX) {
			int fd = p->kept[best].fd;
			p->kept[best] = p->kept[--p->nkept];
			p->reused++;
			*reused = true;
			return fd;
		}
	}
	return netns_pool_take(p);
}

void netns_pool_keep(struct netns_pool *p, int fd, const struct netns_owner *o)
{
	if (p->nkept == NETNS_KEPT_MAX) {
		/* Full: the one kept longest ago goes. */
		unsigned old = 0;
		for (unsigned i = 1; i < p->nkept; i++)
			if (p->kept[i].stamp < p->kept[old].stamp)
				old = i;
		close(p->kept[old].fd);
		p->kept[old] = p->kept[--p->nkept];
		p->dropped++;
	}
	struct netns_kept *k = &p->kept[p->nkept++];
	k->fd = fd;
	k->owner = *o;
	k->stamp = ++p->clock;
}

void netns_pool_forget_kept(struct netns_pool *p)
{
	while (p->nkept) {
		close(p->kept[--p->nkept].fd);
		p->dropped++;
	}
}

void netns_pool_fini(struct netns_pool *p)
{
	netns_pool_forget_kept(p);
	while (p->n)
		close(p->fds[--p->n]);
	if (p->home_fd >= 0)
		close(p->home_fd);
	p->home_fd = -1;
}

int sandbox_take_listener(struct sandbox_child *c, const unsigned char hello[SANDBOX_HELLO_LEN])
{
	int remote;
	memcpy(&remote, hello + 1, sizeof remote);
	if (hello[0] != 0 || remote < 0 || c->notify_fd >= 0) {
		errno = EPROTO;
		return -1;
	}
	/* pidfd_getfd gives the broker its own descriptor (close-on-exec). */
	int fd = (int)syscall(SYS_pidfd_getfd, c->pidfd, remote, 0);
	if (fd < 0)
		return -1;
	c->notify_fd = fd;
	return 0;
}

int sandbox_answer_seccomp(struct sandbox_child *c, const struct seccomp_program *p,
                           struct seccomp_verdict *v, pid_t *killed, bool *odd)
{
	struct seccomp_notif n;
	memset(&n, 0, sizeof n);
	*killed = 0;
	*odd = false;
	if (ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0)
		/* ENOENT: the caller died (a fatal signal) before we read it. */
		return errno == ENOENT || errno == EINTR ? 0 : -1;
	*odd = seccomp_program_decide(p, &n.data, v) != 0;
	if (v->kind == SECCOMP_VERDICT_KILL) {
		/* What SECCOMP_RET_KILL_PROCESS does: end the process that made
		   the call (the whole tool when that is pid 1 of its namespace).
		   The pidfd and the id check keep a recycled pid out of reach:
		   the caller cannot leave the notification except by dying. */
		int pfd = (int)syscall(SYS_pidfd_open, n.pid, 0);
		/* Without a pidfd (no descriptor left) the process would wait in
		   its call until the deadline: the caller ends the whole tool. */
		if (pfd < 0 && errno != ESRCH)
			return -1;
		if (pfd >= 0) {
			if (ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) == 0 &&
			    syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0)
				*killed = n.pid;
			close(pfd);
		}
		return 1;
	}
	/* Never SECCOMP_USER_NOTIF_FLAG_CONTINUE: the call fails, always. */
	struct seccomp_notif_resp r;
	memset(&r, 0, sizeof r);
	r.id = n.id;
	r.error = -v->errnum;
	if (ioctl(c->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &r) != 0 && errno != ENOENT)
		return -1;
	return 1;
}

int sandbox_release(struct sandbox_child *c)
{
	return sandbox_release_traced(c, NULL);
}

int sandbox_release_traced(struct sandbox_child *c, const char *traceparent)
{
	char go[1 + SANDBOX_TRACEPARENT_LEN];
	size_t len = 1;
	go[0] = 'g';
	if (traceparent && strlen(traceparent) == SANDBOX_TRACEPARENT_LEN) {
		memcpy(go + 1, traceparent, SANDBOX_TRACEPARENT_LEN);
		len = sizeof go;
	}
	ssize_t n;
	do
		n = write(c->gate_fd, go, len);
	while (n < 0 && errno == EINTR);
	close(c->gate_fd);
	c->gate_fd = -1;
	return n == (ssize_t)len ? 0 : -1;
}

int sandbox_kill(const struct sandbox_child *c)
{
	if (c->pidfd < 0)
		return -1;
	return (int)syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
}

int sandbox_reap(const struct sandbox_child *c, int *wstatus, uint64_t *cpu_ms)
{
	siginfo_t si;
	struct rusage ru;
	memset(&si, 0, sizeof si);
	memset(&ru, 0, sizeof ru);
	/* The raw system call: its fifth argument is the reaped child's rusage
	   (glibc's waitid has none, and siginfo's si_utime is not filled in). */
	if (syscall(SYS_waitid, P_PIDFD, c->pidfd, &si, WEXITED | WNOHANG, &ru) != 0 || si.si_pid == 0)
		return -1;
	if (si.si_code == CLD_EXITED)
		*wstatus = (si.si_status & 0xff) << 8;
	else
		*wstatus = si.si_status & 0x7f;
	if (cpu_ms)
		*cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		          (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	return 0;
}

void sandbox_child_init(struct sandbox_child *c)
{
	c->pid = -1;
	c->pidfd = c->stdin_fd = c->stdout_fd = c->stderr_fd = c->status_fd = c->gate_fd = -1;
	c->notify_fd = c->netns_fd = -1;
}

void sandbox_close(struct sandbox_child *c)
{
	int *fds[] = { &c->pidfd, &c->stdin_fd, &c->stdout_fd, &c->stderr_fd, &c->status_fd,
	               &c->gate_fd, &c->notify_fd, &c->netns_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

void sandbox_describe_status(int wstatus, char *buf, size_t n)
{
	if (WIFEXITED(wstatus)) {
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(wstatus));
	} else if (WIFSIGNALED(wstatus)) {
		int sig = WTERMSIG(wstatus);
		const char *abbrev = sigabbrev_np(sig);
		if (sig == SIGSYS)
			snprintf(buf, n, "killed by signal %d (SIGSYS): a system call its seccomp profile forbids", sig);
		else if (sig == SIGXCPU)
			snprintf(buf, n, "killed by signal %d (SIGXCPU): its cpu_seconds limit ran out", sig);
		else if (sig == SIGXFSZ)
			snprintf(buf, n, "killed by signal %d (SIGXFSZ): it exceeded its file_size_mb limit", sig);
		else
			snprintf(buf, n, "killed by signal %d (SIG%s)", sig, abbrev ? abbrev : "?");
	} else {
		snprintf(buf, n, "ended with wait status 0x%x", (unsigned)wstatus);
	}
}

int sandbox_exit_number(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

/* ---- dynamic uids (see sandbox.h) ---- */

int uid_pool_init(struct uid_pool *p, uid_t first, uid_t last, struct tg_error *err)
{
	memset(p, 0, sizeof *p);
	if (first == 0 || last < first || last - first >= 1000000)
		return tg_err(err, "dynamic uids %u-%u: not a range of 1 to 1000000 non-root uids",
		              (unsigned)first, (unsigned)last);
	p->first = first;
	p->count = (unsigned)(last - first) + 1;
	p->used = calloc(p->count, 1);
	return p->used ? 0 : tg_err(err, "dynamic uids: out of memory");
}

int uid_pool_take(struct uid_pool *p, uid_t *uid)
{
	for (unsigned i = 0; i < p->count; i++) {
		unsigned k = (p->next + i) % p->count;
		if (!p->used[k]) {
			p->used[k] = 1;
			p->in_use++;
			/* Round robin: a uid just released is the last to come back. */
			p->next = (k + 1) % p->count;
			*uid = p->first + k;
			return 0;
		}
	}
	return -1;
}

void uid_pool_give(struct uid_pool *p, uid_t uid)
{
	if (uid < p->first || uid - p->first >= p->count || !p->used[uid - p->first])
		return;
	p->used[uid - p->first] = 0;
	p->in_use--;
}

void uid_pool_fini(struct uid_pool *p)
{
	free(p->used);
	memset(p, 0, sizeof *p);
}
