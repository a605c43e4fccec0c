/*
 * Unit tests: cgroups for calls (cgroup.c).  Runs as root, against the real
 * kernel: on this host (a hybrid layout) the v1 path is the one that runs,
 * so limits, OOM kills, pids.max and killing are tested there; the v2 path's
 * detection and set-up are tested on fake trees in temporary directories
 * and on the real, controller-less cgroup2 mount.  Everything a test makes
 * is removed at the end, also when a check failed.
 */
#include "cgroup.h"
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FS "/sys/fs/cgroup"
#define MiB (1024ull * 1024)

static const char *const hiers[] = { "memory", "pids", "cpu", "cpuacct" };
#define NHIER 4
static bool subtree_existed[NHIER];

/* ---- helpers ---- */

/* The test's own cgroup in the v1 hierarchy ctl, "" for the root. */
static const char *self_path(const char *ctl)
{
	static char paths[NHIER][1024];
	int slot = 0;
	while (slot < NHIER && strcmp(hiers[slot], ctl) != 0)
		slot++;
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[1200];
	paths[slot][0] = '\0';
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		char *ctls = c1 + 1;
		bool match = false;
		for (char *tok = strtok(ctls, ","); tok; tok = strtok(NULL, ","))
			match |= strcmp(tok, ctl) == 0;
		if (match)
			snprintf(paths[slot], sizeof paths[slot], "%s", strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1);
	}
	if (f)
		fclose(f);
	return paths[slot];
}

static char *subtree_dir(const char *ctl)
{
	static char buf[NHIER][1200];
	int slot = 0;
	while (slot < NHIER - 1 && strcmp(hiers[slot], ctl) != 0)
		slot++;
	snprintf(buf[slot], sizeof buf[slot], FS "/%s%s/toolgate", ctl, self_path(ctl));
	return buf[slot];
}

static char *call_file(const char *ctl, const struct cgroup_call *c, const char *file)
{
	static char buf[1400];
	snprintf(buf, sizeof buf, "%s/%s%s%s", subtree_dir(ctl), c->name, file ? "/" : "", file ? file : "");
	return buf;
}

/* A file's text without its trailing newline ("" if unreadable). */
static const char *slurp(const char *path)
{
	static char buf[4096];
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, text, strlen(text));
		(void)w;
		close(fd);
	}
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p) < 0 ? 0 : 0;
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A child that waits at a gate (like the sandbox's) and then runs fn. */
static pid_t spawn_gated(void (*fn)(void *), void *arg, int *gate_w)
{
	int p[2];
	*gate_w = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		char b;
		if (read(p[0], &b, 1) != 1)
			_exit(99);
		fn(arg);
		_exit(0);
	}
	close(p[0]);
	*gate_w = p[1];
	return pid;
}

static void release(int gate_w)
{
	if (gate_w < 0)
		return;
	ssize_t w = write(gate_w, "g", 1);
	(void)w;
	close(gate_w);
}

/* waitpid, bounded (5 s: then the process is killed and -1 returned, so a
   failing test never hangs), that also waits for a grandchild to be
   re-parented to us. */
static int reap(pid_t pid, int *status)
{
	for (int i = 0; i < 5000; i++) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != ECHILD && errno != EINTR)
			return -1;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct cgroup_tree *real_tree(void)
{
	struct cgroup_tree *t = NULL;
	struct tg_error err = { "" };
	if (cgroup_tree_init(&t, FS, &err) < 0)
		fprintf(stderr, "    cgroup_tree_init: %s\n", err.msg);
	return t;
}

/* ---- children ---- */

static void touch_200_mib(void *arg)
{
	(void)arg;
	size_t len = 200 * MiB;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	_exit(0);
}

/* With pids.max 4: itself and three children fit; the fourth fork must fail
   with EAGAIN.  Exit 0 for exactly that. */
static void fork_five(void *arg)
{
	(void)arg;
	int hold[2];
	if (pipe(hold) < 0)
		_exit(3);
	for (int k = 0; k < 3; k++) {
		pid_t p = fork();
		if (p == 0) {
			char b;
			close(hold[1]);
			ssize_t r = read(hold[0], &b, 1);
			(void)r;
			_exit(0);
		}
		if (p < 0)
			_exit(10 + k);
	}
	pid_t p = fork();
	int e = errno;
	int result = p == 0 ? 0 : p > 0 ? 20 : e == EAGAIN ? 0 : 30;
	if (p == 0)
		_exit(0);
	close(hold[1]);
	close(hold[0]);
	while (wait(NULL) > 0)
		;
	_exit(result);
}

struct stubborn_arg { int report_w; };

/* Ignores SIGTERM, and so do its three children, which it reports. */
static void stubborn(void *arg)
{
	struct stubborn_arg *a = arg;
	signal(SIGTERM, SIG_IGN);
	for (int k = 0; k < 3; k++) {
		pid_t p = fork();
		if (p == 0)
			for (;;)
				pause();
		ssize_t w = write(a->report_w, &p, sizeof p);
		(void)w;
	}
	close(a->report_w);
	for (;;)
		pause();
}

static void do_nothing(void *arg)
{
	(void)arg;
}

/* ---- the real host: cgroup v1 ---- */

TEST(init_on_this_hybrid_host_picks_v1_under_the_brokers_own_cgroups)
{
	struct cgroup_tree *t = real_tree();
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(cgroup_tree_kind(t) == CGROUP_V1);
	char want[4096];
	snprintf(want, sizeof want, "cgroup v1 (memory, pids, cpu controllers) under %s, %s, %s",
	         subtree_dir("memory"), subtree_dir("pids"), subtree_dir("cpu"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	CHECK(exists(subtree_dir("memory")) && exists(subtree_dir("pids")) && exists(subtree_dir("cpu")));
	cgroup_tree_free(t);
}

TEST(a_call_cgroup_gets_exactly_the_limits_asked_for)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 16, .cpu_percent = 50 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	char want[64];
	snprintf(want, sizeof want, "call-%d-1", (int)getpid());
	CHECK_STREQ(c.name, want);
	CHECK_STREQ(slurp(call_file("memory", &c, "memory.limit_in_bytes")), "67108864");
	if (exists(call_file("memory", &c, "memory.memsw.limit_in_bytes")))
		CHECK_STREQ(slurp(call_file("memory", &c, "memory.memsw.limit_in_bytes")), "67108864");
	CHECK_STREQ(slurp(call_file("pids", &c, "pids.max")), "16");
	CHECK_STREQ(slurp(call_file("cpu", &c, "cpu.cfs_period_us")), "100000");
	CHECK_STREQ(slurp(call_file("cpu", &c, "cpu.cfs_quota_us")), "50000");
	CHECK(cgroup_call_clone_fd(&c) == -1);   /* v1 has no CLONE_INTO_CGROUP */
	CHECK(cgroup_call_destroy(&c) == 0);

	/* 0 is "no limit": the kernel's defaults stay. */
	struct cgroup_limits none = { 0, 0, 0 };
	CHECK(cgroup_call_create(t, &none, &c, &err) == 0);
	CHECK_STREQ(slurp(call_file("pids", &c, "pids.max")), "max");
	CHECK_STREQ(slurp(call_file("cpu", &c, "cpu.cfs_quota_us")), "-1");
	CHECK_STREQ(slurp(call_file("memory", &c, "memory.limit_in_bytes")), "9223372036854771712");
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(a_limit_the_kernel_refuses_fails_the_create_and_leaves_nothing)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 1ull << 40, .cpu_percent = 0 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == -1);
	char want[1600];
	snprintf(want, sizeof want, "cgroup: cannot write %s: Invalid argument", call_file("pids", &c, "pids.max"));
	CHECK_STREQ(err.msg, want);
	for (int i = 0; i < NHIER; i++)
		CHECK(!exists(call_file(hiers[i], &c, NULL)));
	CHECK(c.n == 0);
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(a_child_with_pids_max_4_cannot_fork_a_fifth_process)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 256 * MiB, .pids = 4, .cpu_percent = 100 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	int gate;
	pid_t pid = spawn_gated(fork_five, NULL, &gate);
	CHECK(cgroup_call_attach(&c, pid, &err) == 0);
	char pidtext[16];
	snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
	CHECK_STREQ(slurp(call_file("pids", &c, "cgroup.procs")), pidtext);
	CHECK_STREQ(slurp(call_file("memory", &c, "cgroup.procs")), pidtext);
	release(gate);
	int ws = 0;
	CHECK(reap(pid, &ws) == 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	struct cgroup_stats s;
	CHECK(cgroup_call_stats(&c, &s) == 0);
	CHECK(s.pids_max_hits == 1);
	CHECK(s.oom_kills == 0);
	CHECK(s.memory_peak_bytes > 0);
	CHECK(cgroup_call_kill(&c) == 0);
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(a_child_over_its_32_mib_memory_limit_is_oom_killed)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 32 * MiB, .pids = 16, .cpu_percent = 0 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	int gate;
	pid_t pid = spawn_gated(touch_200_mib, NULL, &gate);
	CHECK(cgroup_call_attach(&c, pid, &err) == 0);
	release(gate);
	int ws = 0;
	CHECK(reap(pid, &ws) == 0);
	CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	struct cgroup_stats s;
	CHECK(cgroup_call_stats(&c, &s) == 0);
	CHECK(s.oom_kills >= 1);
	CHECK(s.memory_peak_bytes > 16 * MiB && s.memory_peak_bytes <= 32 * MiB);
	CHECK(s.pids_max_hits == 0);
	/* cpuacct on its own hierarchy (this host) is not used: no CPU time. */
	CHECK(s.cpu_usage_us == 0);
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

static void spin_250_ms(void *arg)
{
	(void)arg;
	double end = now_us() + 250000;
	while (now_us() < end)
		;
	_exit(0);
}

TEST(a_child_at_10_percent_cpu_is_throttled)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 4, .cpu_percent = 10 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	int gate;
	pid_t pid = spawn_gated(spin_250_ms, NULL, &gate);
	CHECK(cgroup_call_attach(&c, pid, &err) == 0);
	release(gate);
	int ws = 0;
	CHECK(reap(pid, &ws) == 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	char stat[4096];
	int fd = open(call_file("cpu", &c, "cpu.stat"), O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
	if (fd >= 0)
		close(fd);
	stat[n > 0 ? n : 0] = '\0';
	const char *thr = strstr(stat, "nr_throttled ");
	CHECK(thr && atol(thr + 13) > 0);
	struct cgroup_stats s;
	CHECK(cgroup_call_stats(&c, &s) == 0);
	CHECK(s.cpu_usage_us == 0);   /* cpuacct not used here (see above) */
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(kill_ends_a_child_that_ignores_sigterm_and_all_its_children)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 16, .cpu_percent = 0 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	int rep[2];
	CHECK(pipe2(rep, O_CLOEXEC) == 0);
	struct stubborn_arg a = { rep[1] };
	int gate;
	pid_t pid = spawn_gated(stubborn, &a, &gate);
	close(rep[1]);
	CHECK(cgroup_call_attach(&c, pid, &err) == 0);
	release(gate);
	pid_t kids[3] = { 0, 0, 0 };
	for (int k = 0; k < 3; k++)
		CHECK(read(rep[0], &kids[k], sizeof kids[k]) == (ssize_t)sizeof kids[k]);
	close(rep[0]);

	kill(pid, SIGTERM);
	struct timespec ts = { 0, 20 * 1000000 };
	nanosleep(&ts, NULL);
	int ws = 0;
	CHECK(waitpid(pid, &ws, WNOHANG) == 0);   /* SIGTERM did not end it */

	CHECK(cgroup_call_kill(&c) == 0);
	CHECK(reap(pid, &ws) == 0);
	CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	for (int k = 0; k < 3; k++) {
		ws = 0;
		CHECK(kids[k] > 0 && reap(kids[k], &ws) == 0);
		CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	}
	CHECK_STREQ(slurp(call_file("memory", &c, "cgroup.procs")), "");
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(destroy_removes_the_call_cgroups_and_closes_every_fd)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	int fds_before = count_fds();
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 8, .cpu_percent = 100 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	char name[CGROUP_NAME_MAX];
	memcpy(name, c.name, sizeof name);
	for (int i = 0; i < 3; i++)
		CHECK(exists(call_file(hiers[i], &c, NULL)));
	int gate;
	pid_t pid = spawn_gated(do_nothing, NULL, &gate);
	CHECK(cgroup_call_attach(&c, pid, &err) == 0);
	release(gate);
	int ws;
	CHECK(reap(pid, &ws) == 0);
	CHECK(cgroup_call_kill(&c) == 0);
	CHECK(cgroup_call_destroy(&c) == 0);
	CHECK(c.n == 0);
	for (int i = 0; i < NHIER; i++)
		CHECK(!exists(call_file(hiers[i], &c, NULL)));
	CHECK(cgroup_call_destroy(&c) == 0);    /* twice is harmless */
	CHECK(count_fds() == fds_before);
	cgroup_tree_free(t);
}

TEST(a_child_can_attach_itself_before_its_gate)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 8, .cpu_percent = 0 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	int done[2];
	CHECK(pipe2(done, O_CLOEXEC) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct tg_error e2;
		char r = cgroup_call_attach(&c, 0, &e2) == 0 ? 'y' : 'n';
		ssize_t w = write(done[1], &r, 1);
		(void)w;
		pause();
		_exit(0);
	}
	close(done[1]);
	char r = 0;
	CHECK(read(done[0], &r, 1) == 1 && r == 'y');
	close(done[0]);
	char pidtext[16];
	snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
	for (int i = 0; i < 3; i++)
		CHECK_STREQ(slurp(call_file(hiers[i], &c, "cgroup.procs")), pidtext);
	CHECK(cgroup_call_kill(&c) == 0);
	int ws;
	CHECK(reap(pid, &ws) == 0);
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(attach_names_the_cgroup_and_the_pid_it_could_not_move)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	struct cgroup_limits l = { .memory_bytes = 0, .pids = 8, .cpu_percent = 0 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	int ws;
	CHECK(reap(gone, &ws) == 0);
	CHECK(cgroup_call_attach(&c, gone, &err) == -1);
	char want[1600];
	snprintf(want, sizeof want, "cgroup: cannot move pid %d into %s: No such process", (int)gone,
	         call_file("memory", &c, NULL));
	CHECK_STREQ(err.msg, want);
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

TEST(init_empties_and_removes_call_cgroups_of_a_broker_that_is_gone)
{
	/* A broker pid that certainly ended: a child we reaped. */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	int ws;
	CHECK(reap(dead, &ws) == 0);
	struct cgroup_tree *t = real_tree();   /* makes the toolgate dirs */
	if (!t)
		return;
	cgroup_tree_free(t);

	char stale[64], live[64];
	snprintf(stale, sizeof stale, "call-%d-7", (int)dead);
	snprintf(live, sizeof live, "call-%d-3", (int)getppid());   /* a running process */
	char path[1400];
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", subtree_dir(hiers[i]), stale);
		CHECK(mkdir(path, 0755) == 0);
		snprintf(path, sizeof path, "%s/%s", subtree_dir(hiers[i]), live);
		CHECK(mkdir(path, 0755) == 0);
	}
	/* A process the dead broker left running in its call. */
	pid_t orphan = fork();
	if (orphan == 0) {
		for (;;)
			pause();
	}
	char pidtext[16];
	snprintf(pidtext, sizeof pidtext, "%d", (int)orphan);
	snprintf(path, sizeof path, "%s/%s/cgroup.procs", subtree_dir("memory"), stale);
	int pfd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(pfd >= 0 && write(pfd, pidtext, strlen(pidtext)) == (ssize_t)strlen(pidtext));
	if (pfd >= 0)
		close(pfd);
	CHECK_STREQ(slurp(path), pidtext);

	t = real_tree();
	CHECK(t != NULL);
	CHECK(reap(orphan, &ws) == 0);
	CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", subtree_dir(hiers[i]), stale);
		CHECK(!exists(path));
		snprintf(path, sizeof path, "%s/%s", subtree_dir(hiers[i]), live);
		CHECK(exists(path));
		rmdir(path);
	}
	cgroup_tree_free(t);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Not an assertion on time: prints what one call's cgroup costs the event loop. */
TEST(measure_create_attach_destroy_cost)
{
	struct cgroup_tree *t = real_tree();
	if (!t)
		return;
	enum { N = 200 };
	static double create_us[N], attach_us[N], destroy_us[N];
	struct cgroup_limits l = { .memory_bytes = 64 * MiB, .pids = 16, .cpu_percent = 100 };
	int ok = 0;
	for (int i = 0; i < N; i++) {
		struct cgroup_call c;
		struct tg_error err = { "" };
		double t0 = now_us();
		if (cgroup_call_create(t, &l, &c, &err) < 0)
			break;
		double t1 = now_us();
		int gate;
		pid_t pid = spawn_gated(do_nothing, NULL, &gate);
		double t2 = now_us();
		int rc = cgroup_call_attach(&c, pid, &err);
		double t3 = now_us();
		release(gate);
		int ws;
		reap(pid, &ws);
		double t4 = now_us();
		int drc = cgroup_call_destroy(&c);
		double t5 = now_us();
		if (rc < 0 || drc < 0)
			break;
		create_us[i] = t1 - t0;
		attach_us[i] = t3 - t2;
		destroy_us[i] = t5 - t4;
		ok++;
	}
	CHECK(ok == N);
	const char *what[3] = { "create", "attach", "destroy" };
	double *v[3] = { create_us, attach_us, destroy_us };
	for (int k = 0; k < 3 && ok == N; k++) {
		double sum = 0, max = 0;
		for (int i = 0; i < N; i++) {
			sum += v[k][i];
			max = v[k][i] > max ? v[k][i] : max;
		}
		double tmp[N];
		memcpy(tmp, v[k], sizeof tmp);
		qsort(tmp, N, sizeof tmp[0], cmp_double);
		printf("     %-8s mean %7.1f us  median %7.1f us  p99 %8.1f us  max %8.1f us  (%d calls, %s)\n",
		       what[k], sum / N, tmp[N / 2], tmp[N * 99 / 100], max, N,
		       cgroup_tree_kind(t) == CGROUP_V1 ? "v1" : "v2");
	}
	cgroup_tree_free(t);
}

/* ---- a tree without cgroups: everything succeeds and does nothing ---- */

TEST(with_no_cgroups_every_call_function_succeeds_and_does_nothing)
{
	struct cgroup_tree *t = NULL;
	struct tg_error err = { "" };
	CHECK(cgroup_tree_init(&t, "/nonexistent/cgroup", &err) == 0);
	CHECK(cgroup_tree_kind(t) == CGROUP_NONE);
	CHECK_STREQ(cgroup_tree_describe(t), "rlimits only: cannot open /nonexistent/cgroup: No such file or directory");
	struct cgroup_limits l = { .memory_bytes = 32 * MiB, .pids = 4, .cpu_percent = 10 };
	struct cgroup_call c;
	CHECK(cgroup_call_create(t, &l, &c, &err) == 0);
	CHECK(c.n == 0);
	CHECK(cgroup_call_clone_fd(&c) == -1);
	CHECK(cgroup_call_attach(&c, getpid(), &err) == 0);
	struct cgroup_stats s = { 1, 1, 1, 1 };
	CHECK(cgroup_call_stats(&c, &s) == 0);
	CHECK(s.oom_kills == 0 && s.pids_max_hits == 0 && s.memory_peak_bytes == 0 && s.cpu_usage_us == 0);
	CHECK(cgroup_call_kill(&c) == 0);
	CHECK(cgroup_call_destroy(&c) == 0);
	cgroup_tree_free(t);
}

/* ---- detection on fake trees ---- */

static char tmp_root[256];

static void fake_begin(void)
{
	snprintf(tmp_root, sizeof tmp_root, "/tmp/tg-cgroup-XXXXXX");
	if (!mkdtemp(tmp_root))
		tmp_root[0] = '\0';
}

static const char *fake(const char *rel)
{
	static char buf[4][600];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_root, rel);
	return buf[k];
}

static struct cgroup_tree *fake_init(const char *self_cgroup)
{
	put(fake("self-cgroup"), self_cgroup);
	struct cgroup_tree *t = NULL;
	struct tg_error err = { "" };
	CHECK(cgroup_tree_init_at(&t, tmp_root, fake("self-cgroup"), &err) == 0);
	return t;
}

/* A pure v2 host as the kernel shows it, the broker in a systemd service. */
static void fake_v2_service(const char *controllers)
{
	put(fake("cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(fake("cgroup.subtree_control"), "cpu memory pids\n");
	mkdir(fake("system.slice"), 0755);
	mkdir(fake("system.slice/tg.service"), 0755);
	put(fake("system.slice/tg.service/cgroup.controllers"), controllers);
	put(fake("system.slice/tg.service/cgroup.subtree_control"), "\n");
	put(fake("system.slice/tg.service/cgroup.procs"), "");
	/* The files the kernel would make with each mkdir. */
	mkdir(fake("system.slice/tg.service/supervisor"), 0755);
	put(fake("system.slice/tg.service/supervisor/cgroup.procs"), "");
	mkdir(fake("system.slice/tg.service/toolgate"), 0755);
	put(fake("system.slice/tg.service/toolgate/cgroup.subtree_control"), "\n");
}

TEST(v2_moves_the_broker_to_a_leaf_and_enables_memory_pids_cpu_below_it)
{
	fake_begin();
	fake_v2_service("cpuset cpu io memory pids\n");
	struct cgroup_tree *t = fake_init("0::/system.slice/tg.service\n");
	CHECK(cgroup_tree_kind(t) == CGROUP_V2);
	char want[700];
	snprintf(want, sizeof want, "cgroup v2 (memory.max, pids.max, cpu.max) under %s",
	         fake("system.slice/tg.service/toolgate"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	char pidtext[16];
	snprintf(pidtext, sizeof pidtext, "%d", (int)getpid());
	CHECK_STREQ(slurp(fake("system.slice/tg.service/supervisor/cgroup.procs")), pidtext);
	CHECK_STREQ(slurp(fake("system.slice/tg.service/cgroup.subtree_control")), "+memory +pids +cpu");
	CHECK_STREQ(slurp(fake("system.slice/tg.service/toolgate/cgroup.subtree_control")), "+memory +pids +cpu");

	/* A call needs the kernel's interface files: in a plain directory the
	   create fails, says where, and leaves no directory behind. */
	struct cgroup_limits l = { .memory_bytes = 32 * MiB, .pids = 4, .cpu_percent = 10 };
	struct cgroup_call c;
	struct tg_error err = { "" };
	CHECK(cgroup_call_create(t, &l, &c, &err) == -1);
	snprintf(want, sizeof want, "cgroup: cannot open %s/%s/cgroup.procs: No such file or directory",
	         fake("system.slice/tg.service/toolgate"), c.name);
	CHECK_STREQ(err.msg, want);
	char callpath[700];
	snprintf(callpath, sizeof callpath, "%s/%s", fake("system.slice/tg.service/toolgate"), c.name);
	CHECK(!exists(callpath));
	cgroup_tree_free(t);
	rm_rf(tmp_root);
}

TEST(v2_broker_restarted_inside_its_leaf_builds_beside_it_without_moving)
{
	fake_begin();
	fake_v2_service("cpu memory pids\n");
	struct cgroup_tree *t = fake_init("0::/system.slice/tg.service/supervisor\n");
	CHECK(cgroup_tree_kind(t) == CGROUP_V2);
	char want[700];
	snprintf(want, sizeof want, "cgroup v2 (memory.max, pids.max, cpu.max) under %s",
	         fake("system.slice/tg.service/toolgate"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	CHECK_STREQ(slurp(fake("system.slice/tg.service/supervisor/cgroup.procs")), "");
	CHECK_STREQ(slurp(fake("system.slice/tg.service/cgroup.subtree_control")), "+memory +pids +cpu");
	cgroup_tree_free(t);
	rm_rf(tmp_root);
}

TEST(v2_without_pids_in_the_brokers_cgroup_means_rlimits_only)
{
	fake_begin();
	fake_v2_service("cpuset cpu io memory\n");
	struct cgroup_tree *t = fake_init("0::/system.slice/tg.service\n");
	CHECK(cgroup_tree_kind(t) == CGROUP_NONE);
	char want[700];
	snprintf(want, sizeof want, "rlimits only: %s/cgroup.controllers lacks pids", fake("system.slice/tg.service"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	/* Nothing was moved or enabled for a subtree that cannot work. */
	CHECK_STREQ(slurp(fake("system.slice/tg.service/supervisor/cgroup.procs")), "");
	CHECK_STREQ(slurp(fake("system.slice/tg.service/cgroup.subtree_control")), "");
	cgroup_tree_free(t);
	rm_rf(tmp_root);
}

TEST(the_real_controllerless_cgroup2_mount_means_rlimits_only)
{
	/* This host's /sys/fs/cgroup/unified is a real cgroup2 mount with only
	   hugetlb on it (memory, pids, cpu are bound to v1). */
	struct cgroup_tree *t = NULL;
	struct tg_error err = { "" };
	CHECK(cgroup_tree_init(&t, FS "/unified", &err) == 0);
	CHECK(cgroup_tree_kind(t) == CGROUP_NONE);
	CHECK_STREQ(cgroup_tree_describe(t),
	            "rlimits only: " FS "/unified/cgroup.controllers lacks memory, pids and cpu");
	cgroup_tree_free(t);
}

TEST(v1_without_the_hierarchy_directory_means_rlimits_only)
{
	fake_begin();
	struct cgroup_tree *t = fake_init("4:memory:/a\n8:pids:/\n1:cpu,cpuacct:/\n0::/\n");
	CHECK(cgroup_tree_kind(t) == CGROUP_NONE);
	char want[700];
	snprintf(want, sizeof want, "rlimits only: cannot open %s: No such file or directory", fake("memory/a"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	cgroup_tree_free(t);
	rm_rf(tmp_root);
}

TEST(v1_on_a_plain_directory_is_not_taken_for_a_hierarchy_and_leaves_nothing)
{
	fake_begin();
	mkdir(fake("memory"), 0755);
	mkdir(fake("memory/a"), 0755);
	struct cgroup_tree *t = fake_init("4:memory:/a\n8:pids:/\n1:cpu:/\n0::/\n");
	CHECK(cgroup_tree_kind(t) == CGROUP_NONE);
	char want[1400];
	snprintf(want, sizeof want,
	         "rlimits only: %s is not a cgroup v1 memory hierarchy (%s/toolgate has no memory.limit_in_bytes)",
	         fake("memory/a"), fake("memory/a"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	CHECK(!exists(fake("memory/a/toolgate")));
	cgroup_tree_free(t);
	rm_rf(tmp_root);
}

TEST(v1_without_a_pids_hierarchy_means_rlimits_only_and_takes_back_what_it_made)
{
	fake_begin();
	/* The memory hierarchy is the real one; pids is not mounted at all. */
	CHECK(symlink(FS "/memory", fake("memory")) == 0);
	char self[1200];
	snprintf(self, sizeof self, "4:memory:%s\n1:cpu:/\n0::/\n",
	         self_path("memory")[0] ? self_path("memory") : "/");
	if (!subtree_existed[0])
		rmdir(subtree_dir("memory"));
	bool had_subtree = exists(subtree_dir("memory"));
	struct cgroup_tree *t = fake_init(self);
	CHECK(cgroup_tree_kind(t) == CGROUP_NONE);
	char want[1400];
	snprintf(want, sizeof want,
	         "rlimits only: no cgroup v2 at %s (no cgroup.controllers) and %s names no cgroup v1 pids hierarchy",
	         tmp_root, fake("self-cgroup"));
	CHECK_STREQ(cgroup_tree_describe(t), want);
	/* All or nothing: the memory subtree this init made is gone again. */
	CHECK(exists(subtree_dir("memory")) == had_subtree);
	cgroup_tree_free(t);
	rm_rf(tmp_root);
}

/* A read-only cgroup mount (a container's usual view), made in a private
   mount namespace of a child so that nothing outlives the test. */
TEST(v1_on_a_read_only_mount_means_rlimits_only_with_the_errno)
{
	fake_begin();
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		char msg[1024] = "setup failed";
		if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("tmpfs", tmp_root, "tmpfs", 0, "size=1m") == 0) {
			mkdir(fake("memory"), 0755);
			mkdir(fake("memory/a"), 0755);
			put(fake("self-cgroup"), "4:memory:/a\n8:pids:/\n1:cpu:/\n0::/\n");
			if (mount(NULL, tmp_root, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
				struct cgroup_tree *t = NULL;
				struct tg_error err;
				if (cgroup_tree_init_at(&t, tmp_root, fake("self-cgroup"), &err) == 0)
					snprintf(msg, sizeof msg, "%s", cgroup_tree_describe(t));
				cgroup_tree_free(t);
			}
		}
		ssize_t w = write(p[1], msg, strlen(msg));
		(void)w;
		_exit(0);
	}
	close(p[1]);
	char got[1024];
	ssize_t n = read(p[0], got, sizeof got - 1);
	got[n > 0 ? n : 0] = '\0';
	close(p[0]);
	int ws;
	reap(pid, &ws);
	char want[700];
	snprintf(want, sizeof want, "rlimits only: cannot create %s/toolgate: Read-only file system", fake("memory/a"));
	CHECK_STREQ(got, want);
	rm_rf(tmp_root);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_cgroup needs root (it makes real cgroups)\n");
		return 1;
	}
	/* Grandchildren of a killed child come to us, so tests can reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	for (int i = 0; i < NHIER; i++)
		subtree_existed[i] = exists(subtree_dir(hiers[i]));

	RUN(init_on_this_hybrid_host_picks_v1_under_the_brokers_own_cgroups);
	RUN(a_call_cgroup_gets_exactly_the_limits_asked_for);
	RUN(a_limit_the_kernel_refuses_fails_the_create_and_leaves_nothing);
	RUN(a_child_with_pids_max_4_cannot_fork_a_fifth_process);
	RUN(a_child_over_its_32_mib_memory_limit_is_oom_killed);
	RUN(a_child_at_10_percent_cpu_is_throttled);
	RUN(kill_ends_a_child_that_ignores_sigterm_and_all_its_children);
	RUN(destroy_removes_the_call_cgroups_and_closes_every_fd);
	RUN(a_child_can_attach_itself_before_its_gate);
	RUN(attach_names_the_cgroup_and_the_pid_it_could_not_move);
	RUN(init_empties_and_removes_call_cgroups_of_a_broker_that_is_gone);
	RUN(measure_create_attach_destroy_cost);
	RUN(with_no_cgroups_every_call_function_succeeds_and_does_nothing);
	RUN(v2_moves_the_broker_to_a_leaf_and_enables_memory_pids_cpu_below_it);
	RUN(v2_broker_restarted_inside_its_leaf_builds_beside_it_without_moving);
	RUN(v2_without_pids_in_the_brokers_cgroup_means_rlimits_only);
	RUN(the_real_controllerless_cgroup2_mount_means_rlimits_only);
	RUN(v1_without_the_hierarchy_directory_means_rlimits_only);
	RUN(v1_on_a_plain_directory_is_not_taken_for_a_hierarchy_and_leaves_nothing);
	RUN(v1_without_a_pids_hierarchy_means_rlimits_only_and_takes_back_what_it_made);
	RUN(v1_on_a_read_only_mount_means_rlimits_only_with_the_errno);

	/* The subtrees the tests made (the module leaves them for a later start). */
	for (int i = NHIER - 1; i >= 0; i--)
		if (!subtree_existed[i])
			rmdir(subtree_dir(hiers[i]));
	return TEST_SUMMARY();
}
