/*
 * Unit tests: the sandboxed child (sandbox.c).  Runs as root, like the broker;
 * run from the repository root (it loads sandbox/default.json).
 */
#include "cgroup.h"
#include "config.h"
#include "sandbox.h"
#include "seccomp_profile.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct seccomp_program *profile;
static const struct cgroup_call nocg;   /* no cgroup: rlimits alone */
static struct fsview view;              /* the default read paths; every test tool is in /usr */

static void make_tool(struct tool *t, char **argv, char **env)
{
	memset(t, 0, sizeof *t);
	t->name = "t";
	t->argv = argv;
	t->env = env;
	t->uid = 65534;
	t->gid = 65534;
	t->profile = profile;
	t->view = view;
	t->network = TOOL_NET_NONE;
	t->limits = (struct tool_limits){ .timeout_ms = 5000, .cpu_seconds = 5, .memory_mb = 256,
	                                  .processes = 64, .open_files = 64, .file_size_mb = 1,
	                                  .output_bytes = 65536 };
}

/* The status pipe's text: what follows the seccomp listener's hello
   (a NUL and the descriptor's number, sandbox.h), if the child got there. */
static size_t status_text(int fd, char *buf, size_t cap, int timeout_ms);

/* Read a pipe to EOF (bounded wait); returns bytes read. */
static size_t slurp(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

static size_t status_text(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = slurp(fd, buf, cap, timeout_ms);
	if (n >= SANDBOX_HELLO_LEN && buf[0] == '\0') {
		n -= SANDBOX_HELLO_LEN;
		memmove(buf, buf + SANDBOX_HELLO_LEN, n + 1);
	}
	return n;
}

static int wait_exit(struct sandbox_child *c)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
	poll(&p, 1, 5000);
	int ws = -1;
	CHECK(sandbox_reap(c, &ws, NULL) == 0);
	return ws;
}

TEST(the_tool_does_not_run_before_its_gate_opens)
{
	char *argv[] = { "/bin/echo", "ran", NULL };
	char *env[] = { NULL };
	struct tool t;
	make_tool(&t, argv, env);
	struct sandbox_child c;
	struct tg_error err;
	CHECK(sandbox_spawn(&t, -1, t.uid, t.gid, &nocg, &c, &err) == 0);
	close(c.stdin_fd);
	c.stdin_fd = -1;
	struct pollfd p = { .fd = c.stdout_fd, .events = POLLIN };
	CHECK(poll(&p, 1, 300) == 0); /* 300 ms: prepared, but nothing ran */
	CHECK(sandbox_release(&c) == 0);
	char out[64];
	slurp(c.stdout_fd, out, sizeof out, 5000);
	CHECK_STREQ(out, "ran\n");
	CHECK(WIFEXITED(wait_exit(&c)));
	sandbox_close(&c);
}

TEST(a_gate_closed_without_go_never_execs_the_tool)
{
	char *argv[] = { "/bin/echo", "ran", NULL };
	char *env[] = { NULL };
	struct tool t;
	make_tool(&t, argv, env);
	struct sandbox_child c;
	struct tg_error err;
	CHECK(sandbox_spawn(&t, -1, t.uid, t.gid, &nocg, &c, &err) == 0);
	close(c.gate_fd); /* the broker withdraws the start */
	c.gate_fd = -1;
	char out[64], status[256];
	slurp(c.stdout_fd, out, sizeof out, 5000);
	status_text(c.status_fd, status, sizeof status, 5000);
	CHECK_STREQ(out, "");
	CHECK_STREQ(status, "waiting for the broker's go: Operation canceled");
	int ws = wait_exit(&c);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 127);
	sandbox_close(&c);
}

TEST(a_missing_executable_is_reported_on_the_status_pipe)
{
	char *argv[] = { "/nonexistent/tool", NULL };
	char *env[] = { NULL };
	struct tool t;
	make_tool(&t, argv, env);
	struct sandbox_child c;
	struct tg_error err;
	CHECK(sandbox_spawn(&t, -1, t.uid, t.gid, &nocg, &c, &err) == 0);
	sandbox_release(&c);   /* fails (EPIPE) if the child is gone already: either way */
	char status[256];
	status_text(c.status_fd, status, sizeof status, 5000);
	CHECK_STREQ(status, "opening the executable: No such file or directory");
	wait_exit(&c);
	sandbox_close(&c);
}

TEST(a_gated_sibling_does_not_hold_another_calls_stdin_open)
{
	char *argv[] = { "/bin/cat", NULL };
	char *env[] = { NULL };
	struct tool t;
	make_tool(&t, argv, env);
	struct sandbox_child a, b;
	struct tg_error err;
	CHECK(sandbox_spawn(&t, -1, t.uid, t.gid, &nocg, &a, &err) == 0);
	CHECK(sandbox_spawn(&t, -1, t.uid, t.gid, &nocg, &b, &err) == 0); /* forked while a's pipes were open */
	CHECK(sandbox_release(&a) == 0);
	CHECK(write(a.stdin_fd, "x", 1) == 1);
	close(a.stdin_fd);
	a.stdin_fd = -1;
	char out[16];
	slurp(a.stdout_fd, out, sizeof out, 3000);
	CHECK_STREQ(out, "x");
	struct pollfd p = { .fd = a.pidfd, .events = POLLIN };
	CHECK(poll(&p, 1, 3000) == 1); /* cat saw EOF and exited while b still waits */
	wait_exit(&a);
	sandbox_close(&a);
	sandbox_kill(&b);
	wait_exit(&b);
	sandbox_close(&b);
}

static ino_t ns_inode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static ino_t fd_inode(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

TEST(the_netns_pool_makes_distinct_namespaces_and_keeps_the_broker_home)
{
	struct netns_pool p;
	struct tg_error err;
	ino_t home = ns_inode("/proc/self/ns/net");
	CHECK(netns_pool_init(&p, 2, &err) == 0);
	CHECK(netns_pool_wants_more(&p));
	CHECK(netns_pool_fill_one(&p, &err) == 0);
	CHECK(ns_inode("/proc/self/ns/net") == home);
	CHECK(netns_pool_fill_one(&p, &err) == 0);
	CHECK(ns_inode("/proc/self/ns/net") == home);
	CHECK(!netns_pool_wants_more(&p));
	int a = netns_pool_take(&p), b = netns_pool_take(&p);
	CHECK(a >= 0 && b >= 0);
	CHECK(fd_inode(a) != fd_inode(b) && fd_inode(a) != home && fd_inode(b) != home);
	CHECK(netns_pool_take(&p) == -1);
	CHECK(p.made == 2 && p.taken == 2 && p.missed == 1);
	close(a);
	close(b);
	netns_pool_fini(&p);
}

TEST(a_kept_namespace_goes_back_only_to_its_owner_newest_first)
{
	struct netns_pool p;
	struct tg_error err;
	char *argv[] = { "/bin/true", NULL };
	struct tool t, u;
	make_tool(&t, argv, NULL);
	make_tool(&u, argv, NULL);
	struct netns_owner alice, bob, alice_u;
	netns_owner_make(&alice, &t, 1000, 1000, "bot", "alice");
	netns_owner_make(&bob, &t, 1000, 1000, "bot", "bob");
	netns_owner_make(&alice_u, &u, 1000, 1000, "bot", "alice");
	CHECK(netns_pool_init(&p, 3, &err) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(netns_pool_fill_one(&p, &err) == 0);
	bool reused = true;
	int a1 = netns_pool_take_for(&p, &alice, &reused);
	CHECK(a1 >= 0 && !reused);
	int a2 = netns_pool_take_for(&p, &alice, &reused);
	CHECK(a2 >= 0 && !reused);
	ino_t i1 = fd_inode(a1), i2 = fd_inode(a2);
	netns_pool_keep(&p, a1, &alice);
	netns_pool_keep(&p, a2, &alice);
	CHECK(p.nkept == 2);
	/* Another user, the same user of another tool, or no owner: a fresh one. */
	int b = netns_pool_take_for(&p, &bob, &reused);
	CHECK(b >= 0 && !reused && fd_inode(b) != i1 && fd_inode(b) != i2);
	close(b);
	CHECK(netns_pool_take_for(&p, &alice_u, &reused) == -1 && !reused);   /* the pool is empty */
	CHECK(netns_pool_take_for(&p, NULL, &reused) == -1 && !reused);
	CHECK(p.nkept == 2);
	/* Its owner gets the one kept last, then the other. */
	int r = netns_pool_take_for(&p, &alice, &reused);
	CHECK(reused && fd_inode(r) == i2);
	netns_pool_keep(&p, r, &alice);
	r = netns_pool_take_for(&p, &alice, &reused);
	CHECK(reused && fd_inode(r) == i2);
	int r2 = netns_pool_take_for(&p, &alice, &reused);
	CHECK(reused && fd_inode(r2) == i1);
	CHECK(p.nkept == 0 && p.reused == 3);
	/* Full: the one kept longest ago is closed. */
	netns_pool_keep(&p, r2, &alice);
	for (int i = 1; i < NETNS_KEPT_MAX; i++)
		netns_pool_keep(&p, dup(r), &bob);
	CHECK(p.nkept == NETNS_KEPT_MAX && p.dropped == 0);
	netns_pool_keep(&p, r, &bob);
	CHECK(p.nkept == NETNS_KEPT_MAX && p.dropped == 1);
	CHECK(netns_pool_take_for(&p, &alice, &reused) == -1 && !reused);
	netns_pool_forget_kept(&p);
	CHECK(p.nkept == 0 && p.dropped == 1 + NETNS_KEPT_MAX);
	netns_pool_fini(&p);
}

TEST(owners_differ_in_every_part_and_only_quiet_tools_keep_a_namespace)
{
	char *argv[] = { "/bin/true", NULL };
	struct tool t, u;
	make_tool(&t, argv, NULL);
	make_tool(&u, argv, NULL);
	struct netns_owner o[7];
	netns_owner_make(&o[0], &t, 1000, 1000, "bot", "alice");
	netns_owner_make(&o[1], &u, 1000, 1000, "bot", "alice");
	netns_owner_make(&o[2], &t, 1001, 1000, "bot", "alice");
	netns_owner_make(&o[3], &t, 1000, 1001, "bot", "alice");
	netns_owner_make(&o[4], &t, 1000, 1000, "bot2", "alice");
	netns_owner_make(&o[5], &t, 1000, 1000, "bot", NULL);
	netns_owner_make(&o[6], &t, 1000, 1000, "bot", "");
	for (int i = 0; i < 7; i++)
		for (int j = i + 1; j < 7; j++)
			CHECK(memcmp(&o[i], &o[j], sizeof o[i]) != 0);
	struct netns_owner again;
	netns_owner_make(&again, &t, 1000, 1000, "bot", "alice");
	CHECK(memcmp(&again, &o[0], sizeof again) == 0);
	/* Only network "none", a fixed uid, not root. */
	CHECK(sandbox_netns_keepable(&t));
	t.network = TOOL_NET_LOOPBACK;
	CHECK(!sandbox_netns_keepable(&t));
	t.network = TOOL_NET_HOST;
	CHECK(!sandbox_netns_keepable(&t));
	t.network = TOOL_NET_NONE;
	t.dynamic_uid = true;
	CHECK(!sandbox_netns_keepable(&t));
	t.dynamic_uid = false;
	t.uid = 0;
	CHECK(!sandbox_netns_keepable(&t));
}

TEST(a_tool_in_a_pooled_namespace_sees_only_a_loopback_that_is_down)
{
	struct netns_pool p;
	struct tg_error err;
	CHECK(netns_pool_init(&p, 1, &err) == 0 && netns_pool_fill_one(&p, &err) == 0);
	char *argv[] = { "/bin/cat", "/proc/net/dev", NULL };
	char *env[] = { NULL };
	struct tool t;
	make_tool(&t, argv, env);
	struct sandbox_child c;
	CHECK(sandbox_spawn(&t, netns_pool_take(&p), t.uid, t.gid, &nocg, &c, &err) == 0);
	CHECK(sandbox_release(&c) == 0);
	char out[4096];
	slurp(c.stdout_fd, out, sizeof out, 5000);
	/* Header lines, then exactly one interface: lo, with no traffic. */
	CHECK_CONTAINS(out, "    lo:       0       0");
	CHECK(strstr(out, "eth") == NULL && strstr(out, "ifb") == NULL);
	wait_exit(&c);
	sandbox_close(&c);
	netns_pool_fini(&p);
}

TEST(exit_statuses_are_described_in_words)
{
	char buf[200];
	sandbox_describe_status(3 << 8, buf, sizeof buf);
	CHECK_STREQ(buf, "exited with status 3");
	sandbox_describe_status(SIGKILL, buf, sizeof buf);
	CHECK_STREQ(buf, "killed by signal 9 (SIGKILL)");
	sandbox_describe_status(SIGSYS, buf, sizeof buf);
	CHECK_STREQ(buf, "killed by signal 31 (SIGSYS): a system call its seccomp profile forbids");
	sandbox_describe_status(SIGXCPU, buf, sizeof buf);
	CHECK_STREQ(buf, "killed by signal 24 (SIGXCPU): its cpu_seconds limit ran out");
	CHECK(sandbox_exit_number(3 << 8) == 3);
	CHECK(sandbox_exit_number(SIGKILL) == 137);
}

int main(void)
{
	struct tg_error err;
	/* As in the broker: a write to a gate whose child is gone is EPIPE,
	   not a signal. */
	signal(SIGPIPE, SIG_IGN);
	static const char *const defaults[] = { "/usr", "/lib", "/lib64", "/bin", "/sbin",
	                                        "/etc/ld.so.cache", NULL };
	if (fsview_plan(&view, defaults, NULL, true, "/usr/bin/true", false, "test", &err) != 0) {
		printf("cannot plan the view: %s\n0 passed, 1 failed\n", err.msg);
		return 1;
	}
	profile = seccomp_profile_load("sandbox/default.json", "default", &err);
	if (!profile) {
		printf("cannot load sandbox/default.json: %s\n0 passed, 1 failed\n", err.msg);
		return 1;
	}
	RUN(the_tool_does_not_run_before_its_gate_opens);
	RUN(a_gate_closed_without_go_never_execs_the_tool);
	RUN(a_missing_executable_is_reported_on_the_status_pipe);
	RUN(a_gated_sibling_does_not_hold_another_calls_stdin_open);
	RUN(the_netns_pool_makes_distinct_namespaces_and_keeps_the_broker_home);
	RUN(a_kept_namespace_goes_back_only_to_its_owner_newest_first);
	RUN(owners_differ_in_every_part_and_only_quiet_tools_keep_a_namespace);
	RUN(a_tool_in_a_pooled_namespace_sees_only_a_loopback_that_is_down);
	RUN(exit_statuses_are_described_in_words);
	seccomp_program_free(profile);
	fsview_free(&view);
	return TEST_SUMMARY();
}
