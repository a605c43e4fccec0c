/*
 * test_landlock.c: landlock_apply against the running kernel.
 *
 * Landlock confines a process for good, so every case forks a child that
 * applies a spec and then tries things; the child reports what each attempt
 * gave ("read=ok write=EACCES") on a pipe and the test compares that line
 * exactly.  Cases that need a newer ABI than the kernel has assert instead
 * that the option is ignored, as landlock.h documents.
 */
#include "landlock.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char root[64];       /* /tmp/tg-landlock-XXXXXX */
static char ro[128], rw[128], other[128], loop[128], prog[128];

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ENOTTY: return "ENOTTY";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EINVAL: return "EINVAL";
	case ELOOP: return "ELOOP";
	default: return "other";
	}
}

/* The child's report, built up by note() and sent to the parent at exit. */
static char report[512];

static void note(const char *label, int rc)
{
	size_t l = strlen(report);
	snprintf(report + l, sizeof report - l, "%s%s=%s", l ? " " : "", label,
		 errname(rc < 0 ? errno : 0));
}

static void note_text(const char *text)
{
	size_t l = strlen(report);
	snprintf(report + l, sizeof report - l, "%s%s", l ? " " : "", text);
}

typedef void (*body_fn)(void *arg);

/*
 * Fork; the child sets no_new_privs (or, with as_nobody, instead becomes
 * uid 65534 and so loses CAP_SYS_ADMIN), applies s at abi, runs body, and
 * writes its report.  Returns the report ("apply: <errno> at <path>" when
 * landlock_apply failed).
 */
static const char *confined_abi(int abi, const struct landlock_spec *s, body_fn body, void *arg,
				bool as_nobody)
{
	static char got[512];
	int p[2];
	got[0] = '\0';
	if (pipe(p) != 0)
		return "pipe failed";
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		report[0] = '\0';
		if (!as_nobody)
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		else if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		const char *failed = NULL;
		if (landlock_apply(abi, s, &failed) != 0) {
			int e = errno;
			snprintf(report, sizeof report, "apply: %s at %s", errname(e),
				 failed ? failed : "(null)");
		} else {
			body(arg);
		}
		ssize_t w = write(p[1], report, strlen(report));
		(void)w;
		_exit(0);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < sizeof got - 1 && (r = read(p[0], got + n, sizeof got - 1 - n)) > 0)
		n += (size_t)r;
	got[n] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return "child died";
	return got;
}

static const char *confined(const struct landlock_spec *s, body_fn body, void *arg)
{
	return confined_abi(landlock_abi(), s, body, arg, false);
}

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
	int w = snprintf(out, n, "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= n)
		abort();
}

static int open_in(const char *dir, const char *name, int flags)
{
	char p[256];
	path_in(p, sizeof p, dir, name);
	int fd = open(p, flags | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

static int list_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	closedir(d);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd >= 0) {
		ssize_t w = write(fd, text, strlen(text));
		(void)w;
		close(fd);
	}
}

/* A copy of /bin/true outside every rule, to show that exec needs a read rule. */
static void copy_true(const char *to)
{
	char buf[65536];
	int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
		ssize_t w = write(out, buf, (size_t)n);
		(void)w;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static void setup(void)
{
	snprintf(root, sizeof root, "/tmp/tg-landlock-XXXXXX");
	if (!mkdtemp(root))
		abort();
	path_in(ro, sizeof ro, root, "ro");
	path_in(rw, sizeof rw, root, "rw");
	path_in(other, sizeof other, root, "other");
	path_in(loop, sizeof loop, root, "loop");
	mkdir(ro, 0755);
	mkdir(rw, 0755);
	mkdir(other, 0755);
	char p[256];
	path_in(p, sizeof p, ro, "file");
	write_file(p, "read me\n");
	path_in(p, sizeof p, rw, "file");
	write_file(p, "write me\n");
	path_in(p, sizeof p, other, "file");
	write_file(p, "secret\n");
	path_in(prog, sizeof prog, other, "true");
	copy_true(prog);
	if (symlink(loop, loop) != 0)
		abort();
}

static void teardown(void)
{
	const char *rm[] = { "/bin/rm", "-rf", root, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execv(rm[0], (char *const *)rm);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static const char *const system_dirs[] = { "/usr", "/bin", "/lib", "/lib64", NULL };

/* --- the filesystem --- */

static void try_read_and_write(void *arg)
{
	(void)arg;
	note("read_ro", open_in(ro, "file", O_RDONLY));
	note("list_ro", list_dir(ro));
	note("write_ro", open_in(ro, "file", O_WRONLY));
	note("create_ro", open_in(ro, "new", O_WRONLY | O_CREAT));
	note("write_rw", open_in(rw, "file", O_WRONLY | O_TRUNC));
	note("create_rw", open_in(rw, "new", O_WRONLY | O_CREAT));
	char a[256], b[256], d[256];
	path_in(a, sizeof a, rw, "new");
	path_in(d, sizeof d, rw, "dir");
	note("mkdir_rw", mkdir(d, 0700));
	path_in(b, sizeof b, d, "moved");
	note("rename_rw", rename(a, b));
	note("unlink_rw", unlink(b));
	note("read_other", open_in(other, "file", O_RDONLY));
	note("list_other", list_dir(other));
}

TEST(a_read_path_allows_reading_and_listing_but_not_writing_and_a_write_path_allows_everything)
{
	const char *rd[] = { ro, NULL }, *wr[] = { rw, NULL };
	struct landlock_spec s = { .read = rd, .write = wr };
	CHECK_STREQ(confined(&s, try_read_and_write, NULL),
		    "read_ro=ok list_ro=ok write_ro=EACCES create_ro=EACCES write_rw=ok create_rw=ok "
		    "mkdir_rw=ok rename_rw=ok unlink_rw=ok read_other=EACCES list_other=EACCES");
}

static void try_file_rules(void *arg)
{
	(void)arg;
	note("read_ro_file", open_in(ro, "file", O_RDONLY));
	note("write_ro_file", open_in(ro, "file", O_WRONLY));
	note("write_rw_file", open_in(rw, "file", O_WRONLY | O_TRUNC));
	note("list_rw", list_dir(rw));
}

TEST(a_rule_on_a_single_file_gets_the_file_rights_of_its_list_and_nothing_of_the_directory)
{
	char rf[256], wf[256];
	path_in(rf, sizeof rf, ro, "file");
	path_in(wf, sizeof wf, rw, "file");
	const char *rd[] = { rf, NULL }, *wr[] = { wf, NULL };
	struct landlock_spec s = { .read = rd, .write = wr };
	CHECK_STREQ(confined(&s, try_file_rules, NULL),
		    "read_ro_file=ok write_ro_file=EACCES write_rw_file=ok list_rw=EACCES");
}

static int run_prog(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)path, NULL };
		execv(path, argv);
		_exit(errno == EACCES ? 126 : 127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	errno = WIFEXITED(st) && WEXITSTATUS(st) == 126 ? EACCES : EINVAL;
	return -1;
}

static void try_exec(void *arg)
{
	(void)arg;
	note("exec_bin_true", run_prog("/bin/true"));
	note("exec_copy_outside", run_prog(prog));
}

TEST(a_binary_under_a_read_path_can_be_executed_and_one_outside_every_rule_cannot)
{
	struct landlock_spec s = { .read = system_dirs };
	CHECK_STREQ(confined(&s, try_exec, NULL), "exec_bin_true=ok exec_copy_outside=EACCES");
}

static int run_fd(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { "true", NULL }, *envp[] = { NULL };
		fexecve(fd, argv, envp);
		_exit(errno == EACCES ? 126 : 127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	errno = WIFEXITED(st) && WEXITSTATUS(st) == 126 ? EACCES : EINVAL;
	return -1;
}

static void try_exec_fd(void *arg)
{
	note("exec_by_fd", run_fd(*(int *)arg));
}

TEST(an_executable_outside_the_view_is_allowed_by_its_descriptor_via_proc_self_fd)
{
	/* The sandbox opens the tool before pivot_root and execs the descriptor;
	   /proc/self/fd/N names that file from inside the new root. */
	int fd = open(prog, O_PATH | O_CLOEXEC);
	char self_fd[64];
	snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fd);
	const char *rd[] = { "/usr", "/bin", "/lib", "/lib64", self_fd, NULL };
	struct landlock_spec with = { .read = rd }, without = { .read = system_dirs };
	CHECK_STREQ(confined(&with, try_exec_fd, &fd), "exec_by_fd=ok");
	CHECK_STREQ(confined(&without, try_exec_fd, &fd), "exec_by_fd=EACCES");
	close(fd);
}

static void try_devices(void *arg)
{
	(void)arg;
	int fd = open("/dev/null", O_WRONLY | O_TRUNC | O_CLOEXEC);
	note("open_null_trunc", fd);
	note("write_null", fd < 0 ? -1 : (int)write(fd, "x", 1) - 1);
	struct winsize ws;
	note("ioctl_null", fd < 0 ? -1 : ioctl(fd, TIOCGWINSZ, &ws));
	if (fd >= 0)
		close(fd);
	note("read_zero", open("/dev/zero", O_RDONLY | O_CLOEXEC));
}

TEST(a_device_rule_lets_dev_null_be_written_but_refuses_its_ioctls_and_other_devices)
{
	const char *dev[] = { "/dev/null", NULL };
	struct landlock_spec s = { .devices = dev };
	/* Without Landlock the ioctl gives ENOTTY (/dev/null is no terminal);
	   ABI 5 makes device ioctls a right, which a device rule does not grant. */
	CHECK_STREQ(confined(&s, try_devices, NULL),
		    landlock_abi() >= 5 ? "open_null_trunc=ok write_null=ok ioctl_null=EACCES read_zero=EACCES"
					: "open_null_trunc=ok write_null=ok ioctl_null=ENOTTY read_zero=EACCES");
}

TEST(a_path_that_does_not_exist_is_skipped)
{
	const char *rd[] = { "/nonexistent/toolgate", "/etc/hostname/not-a-dir", ro, NULL };
	struct landlock_spec s = { .read = rd };
	CHECK_STREQ(confined(&s, try_file_rules, NULL),
		    "read_ro_file=ok write_ro_file=EACCES write_rw_file=EACCES list_rw=EACCES");
}

static void nothing(void *arg)
{
	(void)arg;
	note_text("applied");
}

TEST(a_path_that_cannot_be_opened_for_another_reason_fails_and_is_named)
{
	const char *rd[] = { ro, loop, NULL };
	struct landlock_spec s = { .read = rd };
	char want[256];
	snprintf(want, sizeof want, "apply: ELOOP at %s", loop);
	CHECK_STREQ(confined(&s, nothing, NULL), want);
}

TEST(restricting_without_no_new_privs_or_cap_sys_admin_fails_naming_the_step)
{
	struct landlock_spec s = { .read = system_dirs };
	/* Root holds CAP_SYS_ADMIN, which stands in for no_new_privs. */
	CHECK_STREQ(confined_abi(landlock_abi(), &s, nothing, NULL, true),
		    "apply: EPERM at landlock_restrict_self");
}

static void try_everything(void *arg)
{
	(void)arg;
	note("read_other", open_in(other, "file", O_RDONLY));
	note("write_other", open_in(other, "file", O_WRONLY));
}

TEST(abi_0_applies_nothing_and_succeeds)
{
	struct landlock_spec s = { .read = system_dirs, .deny_tcp = true, .scope = true };
	CHECK_STREQ(confined_abi(0, &s, try_everything, NULL, false), "read_other=ok write_other=ok");
}

/* --- TCP and scoping --- */

static int listen_loopback(unsigned short *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof in;
	if (s < 0 || bind(s, (struct sockaddr *)&in, sizeof in) != 0 || listen(s, 4) != 0 ||
	    getsockname(s, (struct sockaddr *)&in, &len) != 0)
		abort();
	*port = ntohs(in.sin_port);
	return s;
}

static void try_tcp(void *arg)
{
	unsigned short port = *(unsigned short *)arg;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	note("connect", connect(s, (struct sockaddr *)&in, sizeof in));
	close(s);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	in.sin_port = 0;
	note("bind", bind(s, (struct sockaddr *)&in, sizeof in));
	close(s);
}

TEST(deny_tcp_refuses_connect_and_bind_on_loopback_with_EACCES)
{
	unsigned short port;
	int l = listen_loopback(&port);
	struct landlock_spec s = { .read = system_dirs, .deny_tcp = true };
	/* bind to port 0 is refused too: Landlock judges the requested port. */
	CHECK_STREQ(confined(&s, try_tcp, &port),
		    landlock_abi() >= 4 ? "connect=EACCES bind=EACCES" : "connect=ok bind=ok");
	close(l);
}

TEST(without_deny_tcp_tcp_is_left_to_the_network_namespace)
{
	unsigned short port;
	int l = listen_loopback(&port);
	struct landlock_spec s = { .read = system_dirs };
	CHECK_STREQ(confined(&s, try_tcp, &port), "connect=ok bind=ok");
	close(l);
}

static const char abstract_name[] = "\0toolgate-landlock-test";

static socklen_t abstract_addr(struct sockaddr_un *un)
{
	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, abstract_name, sizeof abstract_name - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof abstract_name - 1);
}

static void try_scope(void *arg)
{
	(void)arg;
	struct sockaddr_un un;
	socklen_t len = abstract_addr(&un);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	note("connect_abstract", connect(s, (struct sockaddr *)&un, len));
	close(s);
	note("kill_parent", kill(getppid(), 0));
}

static const char *scope_case(bool scope)
{
	struct sockaddr_un un;
	socklen_t len = abstract_addr(&un);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&un, len) != 0 || listen(l, 4) != 0)
		abort();
	struct landlock_spec s = { .read = system_dirs, .scope = scope };
	const char *got = confined(&s, try_scope, NULL);
	close(l);
	return got;
}

TEST(scope_keeps_abstract_unix_sockets_and_signals_inside_the_domain)
{
	CHECK_STREQ(scope_case(true), landlock_abi() >= 6 ? "connect_abstract=EPERM kill_parent=EPERM"
							  : "connect_abstract=ok kill_parent=ok");
}

TEST(without_scope_abstract_unix_sockets_and_signals_reach_outside)
{
	CHECK_STREQ(scope_case(false), "connect_abstract=ok kill_parent=ok");
}

/* --- describing the ABI --- */

TEST(describe_names_what_each_abi_enforces)
{
	char buf[128];
	landlock_describe(7, buf, sizeof buf);
	CHECK_STREQ(buf, "Landlock ABI 7 (filesystem, TCP, scoping, audit)");
	landlock_describe(4, buf, sizeof buf);
	CHECK_STREQ(buf, "Landlock ABI 4 (filesystem, TCP)");
	landlock_describe(1, buf, sizeof buf);
	CHECK_STREQ(buf, "Landlock ABI 1 (filesystem)");
	landlock_describe(7, buf, 12);
	CHECK_STREQ(buf, "Landlock AB");
}

TEST(describe_of_abi_0_says_why_landlock_is_unavailable)
{
	char buf[128];
	landlock_describe(0, buf, sizeof buf);
	/* On a kernel with Landlock, abi 0 can only mean the broker missed it. */
	if (landlock_abi() > 0)
		CHECK_STREQ(buf, "Landlock unavailable: not detected at broker start");
	else
		CHECK_CONTAINS(buf, "Landlock unavailable: ");
}

int main(void)
{
	setup();
	RUN(a_read_path_allows_reading_and_listing_but_not_writing_and_a_write_path_allows_everything);
	RUN(a_rule_on_a_single_file_gets_the_file_rights_of_its_list_and_nothing_of_the_directory);
	RUN(a_binary_under_a_read_path_can_be_executed_and_one_outside_every_rule_cannot);
	RUN(an_executable_outside_the_view_is_allowed_by_its_descriptor_via_proc_self_fd);
	RUN(a_device_rule_lets_dev_null_be_written_but_refuses_its_ioctls_and_other_devices);
	RUN(a_path_that_does_not_exist_is_skipped);
	RUN(a_path_that_cannot_be_opened_for_another_reason_fails_and_is_named);
	RUN(restricting_without_no_new_privs_or_cap_sys_admin_fails_naming_the_step);
	RUN(abi_0_applies_nothing_and_succeeds);
	RUN(deny_tcp_refuses_connect_and_bind_on_loopback_with_EACCES);
	RUN(without_deny_tcp_tcp_is_left_to_the_network_namespace);
	RUN(scope_keeps_abstract_unix_sockets_and_signals_inside_the_domain);
	RUN(without_scope_abstract_unix_sockets_and_signals_reach_outside);
	RUN(describe_names_what_each_abi_enforces);
	RUN(describe_of_abi_0_says_why_landlock_is_unavailable);
	teardown();
	return TEST_SUMMARY();
}
