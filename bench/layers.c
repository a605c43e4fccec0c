/*
 * layers: what each confinement layer costs, measured in the real sandbox
 * code (src/sandbox.c) rather than in a model of it.
 *
 * It starts the trivial tool RUNS times through sandbox_spawn with the full
 * confinement a toolgate call gets (fresh namespaces from clone3, a cgroup
 * when the host allows one, the default filesystem view, Landlock, the
 * default seccomp profile with its listener), opening the gate as soon as
 * the listener arrives, and reads the child's step stamps (sandbox.h,
 * sandbox_set_timing).  It prints one row per layer: the median time from
 * the end of the previous step, and the whole spawn-to-exit time.  Unlike
 * the broker it makes the cgroup and the network namespace for each call on
 * the spot, so those rows show what the broker's pools take off a call.
 *
 * usage: layers --runs N --tool /abs/path/trivial [--sandbox-dir DIR]
 * Output: the table, then a last line "runs=N p50_us=... errors=N" for run.sh.
 */
#define BENCH_PROG "layers"
#include "bench.h"

#include "cgroup.h"
#include "config.h"
#include "fsview.h"
#include "sandbox.h"
#include "seccomp_profile.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1 ? 0 : -1;
}

/* One spawn, gate opened once the listener arrives; the step stamps land in
   stamps[], t0 and t_end around it.  0 or -1 with err. */
static int one(const struct tool *t, struct cgroup_tree *cgt, volatile uint64_t *stamps,
               uint64_t *t0, uint64_t *t_cg, uint64_t *t_end, struct bench_error *err)
{
	struct cgroup_call cg;
	struct tg_error e;
	struct cgroup_limits cl = { (uint64_t)t->limits.memory_mb << 20, t->limits.processes, 100 };
	memset((void *)stamps, 0, SANDBOX_T_COUNT * sizeof *stamps);
	*t0 = now_ns();
	if (cgroup_call_create(cgt, &cl, &cg, &e) != 0)
		return bench_err(err, "cgroup: %s", e.msg);
	*t_cg = now_ns();
	struct sandbox_child c;
	int rc = -1;
	if (sandbox_spawn(t, -1, t->uid, t->gid, &cg, &c, &e) != 0) {
		bench_err(err, "sandbox_spawn: %s", e.msg);
		goto out_cg;
	}
	int fl = fcntl(c.status_fd, F_GETFL);
	fcntl(c.status_fd, F_SETFL, fl & ~O_NONBLOCK);
	unsigned char hello[SANDBOX_HELLO_LEN];
	if (wait_readable(c.status_fd, 5000) != 0 ||
	    read(c.status_fd, hello, sizeof hello) != (ssize_t)sizeof hello ||
	    sandbox_take_listener(&c, hello) != 0) {
		bench_err(err, "the child sent no seccomp listener");
		sandbox_kill(&c);
		goto out;
	}
	if (write(c.stdin_fd, "{}", 2) != 2 || sandbox_release(&c) != 0) {
		bench_err(err, "the child was gone before its gate opened");
		sandbox_kill(&c);
		goto out;
	}
	close(c.stdin_fd);
	c.stdin_fd = -1;
	int ws;
	siginfo_t si;
	if (waitid(P_PIDFD, (id_t)c.pidfd, &si, WEXITED) != 0) {
		bench_err_errno(err, "waitid");
		goto out;
	}
	*t_end = now_ns();
	ws = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	if (ws != 0) {
		bench_err(err, "the trivial tool ended with %d", ws);
		goto out;
	}
	rc = 0;
out:
	sandbox_close(&c);
out_cg:
	cgroup_call_kill(&cg);
	cgroup_call_destroy(&cg);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned runs = 500;
	const char *tool = NULL, *sandbox_dir = "sandbox";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--runs") == 0)
			runs = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tool") == 0)
			tool = argv[i + 1];
		else if (strcmp(argv[i], "--sandbox-dir") == 0)
			sandbox_dir = argv[i + 1];
	}
	if (!tool || tool[0] != '/' || runs < 10) {
		fprintf(stderr, "usage: layers --runs N (>= 10) --tool /ABS/PATH [--sandbox-dir DIR]\n");
		return 2;
	}
	struct tg_error e;
	char path[4096];
	snprintf(path, sizeof path, "%s/default.json", sandbox_dir);
	struct seccomp_program *prof = seccomp_profile_load(path, "default", &e);
	if (!prof) {
		fprintf(stderr, "layers: %s\n", e.msg);
		return 1;
	}
	static const char *const defaults[] = { "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin",
	                                        "/sbin", "/etc/ld.so.cache", NULL };
	struct tool t;
	memset(&t, 0, sizeof t);
	char *targv[] = { (char *)tool, NULL };
	char *tenv[] = { NULL };
	t.name = "trivial";
	t.argv = targv;
	t.env = tenv;
	t.uid = t.gid = 65534;
	t.profile = prof;
	t.network = TOOL_NET_NONE;
	t.limits = (struct tool_limits){ .timeout_ms = 30000, .cpu_seconds = 10, .memory_mb = 512,
	                                 .processes = 32, .open_files = 64, .file_size_mb = 16,
	                                 .output_bytes = 1 << 20 };
	if (fsview_plan(&t.view, defaults, NULL, true, tool, false, "layers", &e) != 0) {
		fprintf(stderr, "layers: %s\n", e.msg);
		return 1;
	}
	struct cgroup_tree *cgt = NULL;
	if (cgroup_tree_init(&cgt, "/sys/fs/cgroup", &e) != 0) {
		fprintf(stderr, "layers: %s\n", e.msg);
		return 1;
	}
	char ll[96];
	sandbox_detect(ll, sizeof ll);
	volatile uint64_t *stamps = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stamps == MAP_FAILED) {
		perror("layers: mmap");
		return 1;
	}
	sandbox_set_timing(stamps);

	/* rows: clone3 (to T_CHILD), each step from the previous, gate to exit, total */
	enum { ROWS = SANDBOX_T_COUNT + 3 };
	uint64_t *v[ROWS];
	for (int r = 0; r < ROWS; r++)
		v[r] = calloc(runs, sizeof(uint64_t));
	unsigned n = 0, errors = 0;
	for (unsigned i = 0; i < runs + 20; i++) {
		struct bench_error err;
		uint64_t t0 = 0, t_cg = 0, t_end = 0;
		if (one(&t, cgt, stamps, &t0, &t_cg, &t_end, &err) != 0) {
			report_error(&err);
			errors++;
			continue;
		}
		if (i < 20)
			continue;   /* warm-up */
		v[0][n] = t_cg - t0;
		uint64_t prev = t_cg;
		for (int s = 0; s < SANDBOX_T_COUNT; s++) {
			v[s + 1][n] = stamps[s] - prev;
			prev = stamps[s];
		}
		v[SANDBOX_T_COUNT + 1][n] = t_end - prev;
		v[SANDBOX_T_COUNT + 2][n] = t_end - t0;
		n++;
	}
	static const char *const names[ROWS] = {
		"cgroup made (broker: pooled, while idle)", "clone3 + namespaces (broker: netns pooled)",
		"enter the call's cgroup",
		"network ns, private mounts, hostname", "filesystem view (pivot_root, binds)",
		"rlimits, uid/gid, capabilities", "no_new_privs, close-on-exec",
		"Landlock", "seccomp filter + listener handover", "gate (broker takes listener, go)",
		"exec, run, exit (the tool itself)", "whole spawn to exit",
	};
	printf("  %-40s %10s %10s\n", "confinement layer (one call)", "p50 (us)", "p99 (us)");
	for (int r = 0; r < ROWS; r++) {
		qsort(v[r], n, sizeof(uint64_t), cmp_u64);
		printf("  %-40s %10.1f %10.1f\n", names[r], percentile_us(v[r], n, 500),
		       percentile_us(v[r], n, 990));
	}
	printf("  (%s; resources: %s)\n", ll, cgroup_tree_describe(cgt));
	printf("runs=%u p50_us=%.1f errors=%u\n", n, n ? percentile_us(v[ROWS - 1], n, 500) : 0.0, errors);
	cgroup_tree_free(cgt);
	fsview_free(&t.view);
	seccomp_program_free(prof);
	return errors ? 1 : 0;
}
