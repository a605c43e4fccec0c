/*
 * spawn.c: the reference rows of `make bench`, measuring what it costs to
 * start a tool without toolgate, so that toolgate's own numbers have a floor
 * to be compared with.
 *
 *   spawn [--ns] [--fork] [--runs N] [--max-seconds S] [--warmup N] -- ARGV...
 *       latency: N sequential runs (fewer if S seconds pass first); prints
 *       "runs=N p50_us=X p99_us=Y mean_us=Z errors=E"
 *   spawn [--ns] [--fork] --workers W --duration S -- ARGV...
 *       throughput: W threads each running the tool back to back for S
 *       seconds; prints "workers=W seconds=S calls=C rate=R errors=E"
 *
 * One run is the whole exchange a broker makes with a tool: create a stdin
 * and a stdout pipe, start the child, write the arguments "{}", close stdin,
 * read stdout to EOF, reap the child.  The child is started with
 * clone(CLONE_VM|CLONE_VFORK), which is what posix_spawn does, so the bare
 * row (no flags) and the isolation-floor row (--ns adds new mount, pid, ipc,
 * uts and network namespaces) differ in the namespaces and nothing else.
 * The bwrap row is the bare row with bwrap as ARGV.  --fork starts the child
 * the way fork and toolgate's clone3 do, copying the parent's page tables:
 * on a small parent that costs a few percent more, so the floor keeps the
 * cheaper vfork style and stays a true lower bound.  A run counts only when
 * the child exits 0 having written exactly "{}"; every other outcome is an
 * error, counted and reported, never timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PROG "spawn"
#include "bench.h"

extern char **environ;

/*
 * The project's error convention (return -1, fill one sentence that names
 * what failed), kept local so that the reference rows build and run even
 * while the library is in flux: they measure the kernel, not toolgate.
 */

__attribute__((format(printf, 2, 3)))

/* Like bench_err, with ": strerror(errno)" appended. */
__attribute__((format(printf, 2, 3)))

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET)
/* The child runs only dup2 and execve on this stack before it is replaced. */
#define CHILD_STACK_SIZE (64 * 1024)
/* A trivial tool answers in milliseconds; a child silent this long is hung. */
#define CHILD_TIMEOUT_MS 10000

/* How children are started: the same for every run of one row. */
struct spawn_mode {
	int clone_flags;
	int fork_like; /* copy the address space as fork does, instead of sharing it */
};

/* What one thread needs to start children: its own stack for the vfork-style child. */
struct spawner {
	char *const *argv;
	struct spawn_mode mode;
	void *stack;
};

/* Shared with the child through CLONE_VM: the parent learns why exec failed. */
struct child_args {
	char *const *argv;
	int in_fd, out_fd;
	int failed_errno;
	const char *failed_call;
};


/* Print the first few distinct failures, so a failing row says why instead of just how many. */


static int child_main(void *arg)
{
	struct child_args *c = arg;

	if (dup2(c->in_fd, STDIN_FILENO) < 0) {
		c->failed_call = "dup2 stdin";
		c->failed_errno = errno;
		_exit(127);
	}
	if (dup2(c->out_fd, STDOUT_FILENO) < 0) {
		c->failed_call = "dup2 stdout";
		c->failed_errno = errno;
		_exit(127);
	}
	execve(c->argv[0], c->argv, environ);
	c->failed_call = "execve";
	c->failed_errno = errno;
	_exit(127);
}

static int spawner_init(struct spawner *s, char *const *argv, const struct spawn_mode *mode,
			struct bench_error *err)
{
	s->argv = argv;
	s->mode = *mode;
	s->stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (s->stack == MAP_FAILED)
		return bench_err_errno(err, "mmap of the child stack failed");
	return 0;
}

static void spawner_free(struct spawner *s)
{
	munmap(s->stack, CHILD_STACK_SIZE);
}

static void close_if_open(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Read the child's stdout to EOF into buf (at most cap bytes kept; the rest
 * is drained and counted so that a chatty child is an error, not a hang).
 */
static int read_all(int fd, char *buf, size_t cap, size_t *len, struct bench_error *err)
{
	size_t total = 0;
	char scratch[512];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, CHILD_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bench_err_errno(err, "poll on the child's stdout failed");
		if (r == 0)
			return bench_err(err, "the child wrote nothing and did not close stdout within %d ms",
				      CHILD_TIMEOUT_MS);
		char *dst = total < cap ? buf + total : scratch;
		size_t room = total < cap ? cap - total : sizeof scratch;
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bench_err_errno(err, "read of the child's stdout failed");
		if (n == 0)
			break;
		total += (size_t)n;
	}
	*len = total;
	return 0;
}

/* One complete broker-to-tool exchange; fills *elapsed_ns on success. */
static int spawn_once(struct spawner *s, uint64_t *elapsed_ns, struct bench_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int ret = -1;
	pid_t pid = -1;
	uint64_t t0 = now_ns();

	/* O_CLOEXEC: another worker thread's child must not inherit our pipe ends, or EOF never comes. */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		bench_err_errno(err, "pipe2 failed");
		goto out;
	}
	struct child_args c = { .argv = s->argv, .in_fd = in[0], .out_fd = out[1] };
	if (s->mode.fork_like) {
		/* Without a stack, clone returns twice like fork; the child's failure reports stay in its copy. */
		pid = (pid_t)syscall(SYS_clone, SIGCHLD | s->mode.clone_flags, NULL, NULL, NULL, 0L);
		if (pid == 0)
			child_main(&c);
	} else {
		pid = clone(child_main, (char *)s->stack + CHILD_STACK_SIZE,
			    CLONE_VM | CLONE_VFORK | SIGCHLD | s->mode.clone_flags, &c);
	}
	if (pid < 0) {
		bench_err_errno(err, "clone(%s) failed", s->mode.clone_flags ? "namespace flags" : "no flags");
		goto out;
	}
	close_if_open(&in[0]);
	close_if_open(&out[1]);

	static const char args[] = "{}";
	ssize_t w;
	do
		w = write(in[1], args, sizeof args - 1);
	while (w < 0 && errno == EINTR);
	/* EPIPE means the child died first; its exit status below says why. */
	int write_errno = w < 0 ? errno : 0;
	close_if_open(&in[1]);

	char buf[64];
	size_t len = 0;
	int read_ret = read_all(out[0], buf, sizeof buf, &len, err);
	if (read_ret < 0)
		kill(pid, SIGKILL);

	int status;
	pid_t r;
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		bench_err_errno(err, "waitpid of child %d failed", (int)pid);
		goto out;
	}
	uint64_t t1 = now_ns();
	if (read_ret < 0)
		goto out;
	if (c.failed_call) {
		errno = c.failed_errno;
		bench_err_errno(err, "%s of %s in the child failed", c.failed_call, s->argv[0]);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			bench_err(err, "%s was killed by signal %d", s->argv[0], WTERMSIG(status));
		else
			bench_err(err, "%s exited with status %d", s->argv[0], WEXITSTATUS(status));
		goto out;
	}
	if (write_errno) {
		errno = write_errno;
		bench_err_errno(err, "writing the arguments to %s failed", s->argv[0]);
		goto out;
	}
	if (len != 2 || memcmp(buf, "{}", 2) != 0) {
		bench_err(err, "%s wrote %zu bytes of output, expected exactly \"{}\"", s->argv[0], len);
		goto out;
	}
	*elapsed_ns = t1 - t0;
	ret = 0;
out:
	close_if_open(&in[0]);
	close_if_open(&in[1]);
	close_if_open(&out[0]);
	close_if_open(&out[1]);
	return ret;
}


/* Nearest-rank percentile (per_mille of 1000) of a sorted sample, in microseconds. */

static int run_latency(char *const *argv, const struct spawn_mode *mode, unsigned runs, double max_seconds, unsigned warmup)
{
	struct bench_error err;
	struct spawner s;
	unsigned errors = 0;
	size_t n = 0;
	uint64_t sum = 0;

	if (spawner_init(&s, argv, mode, &err) < 0) {
		fprintf(stderr, "spawn: %s\n", err.msg);
		return 1;
	}
	uint64_t *lat = calloc(runs, sizeof *lat);
	if (!lat) {
		fprintf(stderr, "spawn: out of memory for %u samples\n", runs);
		spawner_free(&s);
		return 1;
	}
	for (unsigned i = 0; i < warmup; i++) {
		uint64_t t;
		if (spawn_once(&s, &t, &err) < 0) {
			report_error(&err);
			errors++;
		}
	}
	uint64_t deadline = now_ns() + (uint64_t)(max_seconds * 1e9);
	while (n < runs && now_ns() < deadline) {
		uint64_t t;
		if (spawn_once(&s, &t, &err) < 0) {
			report_error(&err);
			errors++;
			/* A row that fails every time would otherwise spin until its deadline. */
			if (errors > 50 && n == 0)
				break;
			continue;
		}
		lat[n++] = t;
		sum += t;
	}
	spawner_free(&s);
	if (n == 0) {
		printf("runs=0 p50_us=0 p99_us=0 mean_us=0 errors=%u\n", errors);
		free(lat);
		return 1;
	}
	qsort(lat, n, sizeof *lat, cmp_u64);
	printf("runs=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f errors=%u\n", n,
	       percentile_us(lat, n, 500), percentile_us(lat, n, 990),
	       (double)sum / (double)n / 1000.0, errors);
	free(lat);
	return errors ? 1 : 0;
}

struct worker {
	pthread_t thread;
	char *const *argv;
	const struct spawn_mode *mode;
	uint64_t deadline;
	unsigned long calls, errors;
	int setup_failed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench_error err;
	struct spawner s;

	if (spawner_init(&s, w->argv, w->mode, &err) < 0) {
		report_error(&err);
		w->setup_failed = 1;
		return NULL;
	}
	while (now_ns() < w->deadline) {
		uint64_t t;
		if (spawn_once(&s, &t, &err) < 0) {
			report_error(&err);
			w->errors++;
			if (w->errors > 50 && w->calls == 0)
				break;
		} else {
			w->calls++;
		}
	}
	spawner_free(&s);
	return NULL;
}

static int run_throughput(char *const *argv, const struct spawn_mode *mode, unsigned workers, double seconds)
{
	struct worker *w = calloc(workers, sizeof *w);
	if (!w) {
		fprintf(stderr, "spawn: out of memory for %u workers\n", workers);
		return 1;
	}
	uint64_t start = now_ns();
	uint64_t deadline = start + (uint64_t)(seconds * 1e9);
	unsigned started = 0;
	int rc = 0;
	for (; started < workers; started++) {
		w[started] = (struct worker){ .argv = argv, .mode = mode, .deadline = deadline };
		int e = pthread_create(&w[started].thread, NULL, worker_main, &w[started]);
		if (e) {
			fprintf(stderr, "spawn: pthread_create of worker %u failed: %s\n", started, strerror(e));
			rc = 1;
			break;
		}
	}
	unsigned long calls = 0, errors = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		calls += w[i].calls;
		errors += w[i].errors + (unsigned long)w[i].setup_failed;
	}
	/* The last run of each worker ends after the deadline; divide by the time really spent. */
	double elapsed = (double)(now_ns() - start) / 1e9;
	printf("workers=%u seconds=%.2f calls=%lu rate=%.1f errors=%lu\n", workers, elapsed, calls,
	       (double)calls / elapsed, errors);
	free(w);
	return rc || errors ? 1 : 0;
}

static int parse_uint(const char *s, const char *what, unsigned min, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > 1000000) {
		fprintf(stderr, "spawn: %s must be an integer from %u to 1000000, got \"%s\"\n", what, min, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_seconds(const char *s, const char *what, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 3600)) {
		fprintf(stderr, "spawn: %s must be a number of seconds above 0 and at most 3600, got \"%s\"\n",
			what, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: spawn [--ns] [--fork] [--runs N] [--max-seconds S] [--warmup N] -- /ABS/TOOL [ARGS...]\n"
		"       spawn [--ns] [--fork] --workers W --duration S -- /ABS/TOOL [ARGS...]\n");
}

int main(int argc, char **argv)
{
	unsigned runs = 2000, warmup = 20, workers = 0;
	double max_seconds = 20, duration = 0;
	struct spawn_mode mode = { 0 };
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--ns")) {
			mode.clone_flags = NS_FLAGS;
			continue;
		}
		if (!strcmp(a, "--fork")) {
			mode.fork_like = 1;
			continue;
		}
		if (i + 1 >= argc) {
			usage();
			return 2;
		}
		const char *v = argv[++i];
		int bad;
		if (!strcmp(a, "--runs"))
			bad = parse_uint(v, "--runs", 1, &runs);
		else if (!strcmp(a, "--warmup"))
			bad = parse_uint(v, "--warmup", 0, &warmup);
		else if (!strcmp(a, "--workers"))
			bad = parse_uint(v, "--workers", 1, &workers);
		else if (!strcmp(a, "--max-seconds"))
			bad = parse_seconds(v, "--max-seconds", &max_seconds);
		else if (!strcmp(a, "--duration"))
			bad = parse_seconds(v, "--duration", &duration);
		else {
			usage();
			return 2;
		}
		if (bad)
			return 2;
	}
	if (i >= argc || argv[i][0] != '/' || (workers > 0) != (duration > 0)) {
		usage();
		return 2;
	}
	/* A child that dies before reading its stdin must be an error we report, not our death. */
	signal(SIGPIPE, SIG_IGN);
	char *const *tool = argv + i;
	if (workers)
		return run_throughput(tool, &mode, workers, duration);
	return run_latency(tool, &mode, runs, max_seconds, warmup);
}
