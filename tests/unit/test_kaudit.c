/*
 * test_kaudit.c: the audit record parser on records captured from Linux
 * 6.18 (Landlock ABI 7), and the reader against the running kernel.
 *
 * The kernel tests need root (CAP_AUDIT_READ, CAP_AUDIT_CONTROL): they turn
 * the kernel's audit switch on for their duration, because Landlock logs
 * nothing while it is off, and put it back as they found it.  Run as
 * another user, only the parser tests and the refusal of kaudit_open run,
 * and the summary line says what was skipped.
 */
#include "kaudit.h"
#include "landlock.h"
#include "testlib.h"

#include <fcntl.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int parse(int type, const char *text, struct kaudit_event *ev)
{
	return kaudit_parse(type, text, strlen(text), ev);
}

/* --- the parser, on real records --- */

TEST(a_denial_record_gives_the_domain_the_blockers_and_the_path)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "audit(1795497133.570:588): domain=1ee258c0b blockers=fs.read_file "
			  "path=\"/etc/hostname\" dev=\"vda\" ino=733", &ev) == 1);
	CHECK(ev.type == KAUDIT_LANDLOCK_DENIAL);
	CHECK(ev.serial == 588);
	CHECK(ev.time_ms == 1795497133570ULL);
	CHECK(ev.domain == 0x1ee258c0bULL);
	CHECK(ev.pid == 0);
	CHECK_STREQ(ev.blockers, "fs.read_file");
	CHECK_STREQ(ev.path, "/etc/hostname");
	CHECK(!ev.truncated);
}

TEST(a_hex_encoded_path_is_decoded_byte_for_byte)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "audit(1795497133.570:589): domain=1ee258c0b blockers=fs.read_file "
			  "path=2F746D702F6C6C782F776520697264016E616D65 dev=\"vda\" ino=10953862", &ev) == 1);
	CHECK_STREQ(ev.path, "/tmp/llx/we ird\001name");
}

TEST(several_blockers_and_a_creation_name_the_directory_as_the_kernel_does)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "audit(1795497218.566:628): domain=1ee258c2e blockers=fs.make_reg,fs.refer "
			  "path=\"/tmp/llx/w2\" dev=\"vda\" ino=10954492", &ev) == 1);
	CHECK_STREQ(ev.blockers, "fs.make_reg,fs.refer");
	CHECK_STREQ(ev.path, "/tmp/llx/w2");
}

TEST(an_abstract_unix_socket_name_is_shown_with_a_leading_at)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "audit(1795497218.566:632): domain=1ee258c2e "
			  "blockers=scope.abstract_unix_socket path=006C6C782D616273", &ev) == 1);
	CHECK_STREQ(ev.blockers, "scope.abstract_unix_socket");
	CHECK_STREQ(ev.path, "@llx-abs");
}

TEST(a_tcp_denial_gives_the_address_and_the_port)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "audit(1795497218.566:630): domain=1ee258c2e blockers=net.connect_tcp "
			  "daddr=127.0.0.1 dest=9", &ev) == 1);
	CHECK_STREQ(ev.blockers, "net.connect_tcp");
	CHECK_STREQ(ev.addr, "127.0.0.1");
	CHECK(ev.port == 9);
	CHECK_STREQ(ev.path, "");
	CHECK(parse(1423, "audit(1795497218.566:631): domain=1ee258c2e blockers=net.bind_tcp "
			  "saddr=127.0.0.1 src=4444", &ev) == 1);
	CHECK_STREQ(ev.blockers, "net.bind_tcp");
	CHECK_STREQ(ev.addr, "127.0.0.1");
	CHECK(ev.port == 4444);
}

TEST(a_signal_denial_names_the_process_it_aimed_at)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "audit(1795497218.566:633): domain=1ee258c2e blockers=scope.signal "
			  "opid=21586 ocomm=\"exp2\"", &ev) == 1);
	CHECK_STREQ(ev.blockers, "scope.signal");
	CHECK(ev.target_pid == 21586);
}

TEST(a_domain_record_gives_the_pid_that_created_it_and_its_end_the_number_of_denials)
{
	struct kaudit_event ev;
	CHECK(parse(1424, "audit(1795497133.570:588): domain=1ee258c0b status=allocated mode=enforcing "
			  "pid=19099 uid=0 exe=\"/tmp/llx/exp\" comm=\"exp\"", &ev) == 1);
	CHECK(ev.type == KAUDIT_LANDLOCK_DOMAIN);
	CHECK(ev.domain == 0x1ee258c0bULL);
	CHECK(ev.pid == 19099);
	CHECK(parse(1424, "audit(1795497133.634:590): domain=1ee258c0b status=deallocated denials=2",
		    &ev) == 1);
	CHECK(ev.type == KAUDIT_LANDLOCK_DOMAIN_END);
	CHECK(ev.denials == 2);
}

TEST(a_seccomp_record_gives_pid_syscall_arch_action_and_executable)
{
	struct kaudit_event ev;
	CHECK(parse(1326, "audit(1795497209.506:617): auid=4294967295 uid=0 gid=0 ses=4294967295 "
			  "pid=21031 comm=\"exp2\" exe=\"/tmp/llx/exp2\" sig=31 arch=c000003e syscall=110 "
			  "compat=0 ip=0x7fe3f87a0829 code=0x80000000", &ev) == 1);
	CHECK(ev.type == KAUDIT_SECCOMP);
	CHECK(ev.pid == 21031);
	CHECK(ev.syscall == 110);
	CHECK(ev.arch == 0xc000003eU);
	CHECK(ev.code == 0x80000000U);
	CHECK_STREQ(ev.path, "/tmp/llx/exp2");
}

TEST(records_of_other_types_and_unknown_domain_states_are_not_ours)
{
	struct kaudit_event ev;
	CHECK(parse(1300, "audit(1795497133.570:588): arch=c000003e syscall=257 success=no", &ev) == 0);
	CHECK(parse(1424, "audit(1795497133.570:588): domain=1 status=hibernating", &ev) == 0);
}

TEST(a_terminating_nul_counted_in_the_length_is_accepted)
{
	struct kaudit_event ev;
	static const char rec[] = "audit(1.000:1): domain=1 blockers=fs.read_file path=\"/x\"";
	CHECK(kaudit_parse(1423, rec, sizeof rec, &ev) == 1);
	CHECK_STREQ(ev.path, "/x");
}

TEST(malformed_records_are_refused)
{
	struct kaudit_event ev;
	CHECK(parse(1423, "domain=1 blockers=fs.read_file", &ev) == -1);                    /* no header */
	CHECK(parse(1423, "audit(1.5:1): domain=1 blockers=fs.read_file", &ev) == -1);      /* ms not 3 digits */
	CHECK(parse(1423, "audit(1.000:1) domain=1 blockers=fs.read_file", &ev) == -1);     /* no colon */
	CHECK(parse(1423, "audit(1.000:1): domain=1 blockers=fs.read_file path=\"/x", &ev) == -1);
	CHECK(parse(1423, "audit(1.000:1): domain=1 blockers=fs.read_file path=\"/x\"y", &ev) == -1);
	CHECK(parse(1423, "audit(1.000:1): domain=xyz blockers=fs.read_file", &ev) == -1);
	CHECK(parse(1423, "audit(1.000:1): domain=1 path=\"/x\"", &ev) == -1);             /* no blockers */
	CHECK(parse(1423, "audit(1.000:1): domain=1 blockers=\"fs.read_file\"", &ev) == -1);
	CHECK(parse(1423, "audit(1.000:1): domain=1 blockers=fs.READ", &ev) == -1);
	CHECK(parse(1423, "audit(1.000:1): domain=10000000000000000 blockers=fs.read_file", &ev) == -1);
	CHECK(parse(1424, "audit(1.000:1): domain=1 status=allocated pid=2147483648", &ev) == -1);
	CHECK(parse(1424, "audit(1.000:1): domain=1 status=allocated", &ev) == -1);
	CHECK(parse(1326, "audit(1.000:1): pid=5 syscall=110 code=0x80000000", &ev) == -1); /* no arch */
	CHECK(parse(1423, "audit(99999999999999999999.000:1): domain=1 blockers=fs.read_file", &ev) == -1);
	static const char nul[] = "audit(1.000:1): domain=1 blockers=fs.read_file\0 path=\"/x\"";
	CHECK(kaudit_parse(1423, nul, sizeof nul - 1, &ev) == -1);
}

TEST(a_record_longer_than_the_kernel_writes_or_with_too_many_fields_is_refused)
{
	struct kaudit_event ev;
	static char big[KAUDIT_RECORD_MAX + 64];
	int n = snprintf(big, sizeof big, "audit(1.000:1): domain=1 blockers=fs.read_file path=");
	memset(big + n, 'A', sizeof big - (size_t)n - 1);
	big[sizeof big - 1] = '\0';
	CHECK(parse(1423, big, &ev) == -1);

	char many[1024];
	n = snprintf(many, sizeof many, "audit(1.000:1): domain=1 blockers=fs.read_file");
	for (int i = 0; i < KAUDIT_FIELDS_MAX; i++)
		n += snprintf(many + n, sizeof many - (size_t)n, " k%d=v", i);
	CHECK(parse(1423, many, &ev) == -1);
}

TEST(a_path_longer_than_its_field_is_cut_and_marked_truncated)
{
	struct kaudit_event ev;
	char rec[2048];
	int n = snprintf(rec, sizeof rec, "audit(1.000:1): domain=1 blockers=fs.read_file path=\"/");
	memset(rec + n, 'a', 700);
	snprintf(rec + n + 700, sizeof rec - (size_t)n - 700, "\" dev=\"vda\" ino=1");
	CHECK(parse(1423, rec, &ev) == 1);
	CHECK(ev.truncated);
	CHECK(strlen(ev.path) == sizeof ev.path - 1);
	CHECK(ev.path[0] == '/' && ev.path[1] == 'a');
}

/* --- the kernel --- */

TEST(reading_the_audit_log_without_cap_audit_read_is_refused_with_a_clear_reason)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct tg_error err = { "" };
		struct kaudit *k;
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		if (kaudit_open(&k, &err) == 0)
			snprintf(err.msg, sizeof err.msg, "opened");
		ssize_t w = write(p[1], err.msg, strlen(err.msg));
		(void)w;
		_exit(0);
	}
	close(p[1]);
	char got[600];
	ssize_t n = read(p[0], got, sizeof got - 1);
	got[n > 0 ? n : 0] = '\0';
	close(p[0]);
	waitpid(pid, NULL, 0);
	CHECK_STREQ(got, "kernel audit log: joining the read-log multicast group needs CAP_AUDIT_READ "
			 "in the initial user namespace: Operation not permitted");
}

#define MAX_EVENTS 64

struct seen {
	pid_t child;
	struct kaudit_event ev[MAX_EVENTS];
	int n, lost;
	bool done;  /* the child's domain ended, or its seccomp kill arrived */
};

static void keep(const struct kaudit_event *ev, void *arg)
{
	struct seen *s = arg;
	if (ev->type == KAUDIT_LOST) {
		s->lost++;
		return;
	}
	if (ev->pid != s->child)
		return;
	if (s->n < MAX_EVENTS)
		s->ev[s->n++] = *ev;
	if (ev->type == KAUDIT_LANDLOCK_DOMAIN_END || ev->type == KAUDIT_SECCOMP)
		s->done = true;
}

/* Read events of s->child until it is done or 3 s have passed. */
static void collect(struct kaudit *k, struct seen *s)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!s->done) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= 3000)
			break;
		struct pollfd pf = { .fd = kaudit_fd(k), .events = POLLIN };
		if (poll(&pf, 1, (int)(3000 - ms)) <= 0)
			continue;
		struct tg_error err;
		if (kaudit_read(k, keep, s, &err) != 0)
			break;
	}
}

static const struct kaudit_event *find(const struct seen *s, enum kaudit_type type, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (s->ev[i].type == type && (!path || strcmp(s->ev[i].path, path) == 0))
			return &s->ev[i];
	return NULL;
}

static const char *const system_dirs[] = { "/usr", "/bin", "/lib", "/lib64", NULL };

static char odd_dir[64], odd_path[128];

/* The child: confine to the system dirs, then either exec cat or open by itself. */
static pid_t spawn_denied(bool exec_cat)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct landlock_spec spec = { .read = system_dirs };
		int devnull = open("/dev/null", O_WRONLY);  /* cat's complaint is expected */
		if (devnull < 0 || dup2(devnull, 2) != 2)
			_exit(2);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (landlock_apply(landlock_abi(), &spec, NULL) != 0)
			_exit(2);
		if (exec_cat) {
			execl("/bin/cat", "cat", "/etc/hostname", (char *)NULL);
			_exit(3);
		}
		if (open("/etc/hostname", O_RDONLY) >= 0 || open(odd_path, O_RDONLY) >= 0)
			_exit(4);
		_exit(0);
	}
	return pid;
}

static void check_denials(struct kaudit *k, bool exec_cat)
{
	struct seen *s = calloc(1, sizeof *s);
	s->child = spawn_denied(exec_cat);
	/* The domain ends (and says so) only once its last process is reaped. */
	int st;
	waitpid(s->child, &st, 0);
	collect(k, s);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == (exec_cat ? 1 : 0));  /* cat: "Permission denied" */
	CHECK(s->lost == 0);

	const struct kaudit_event *dom = find(s, KAUDIT_LANDLOCK_DOMAIN, NULL);
	const struct kaudit_event *den = find(s, KAUDIT_LANDLOCK_DENIAL, "/etc/hostname");
	const struct kaudit_event *end = find(s, KAUDIT_LANDLOCK_DOMAIN_END, NULL);
	CHECK(dom != NULL);
	CHECK(den != NULL);
	CHECK(end != NULL);
	if (dom && den && end) {
		CHECK(den->domain == dom->domain);
		CHECK(den->pid == s->child);
		CHECK_STREQ(den->blockers, "fs.read_file");
		CHECK(end->domain == dom->domain);
		int denials = 0;
		for (int i = 0; i < s->n; i++)
			denials += s->ev[i].type == KAUDIT_LANDLOCK_DENIAL;
		CHECK(end->denials == (uint64_t)denials);
	}
	if (!exec_cat) {
		const struct kaudit_event *odd = find(s, KAUDIT_LANDLOCK_DENIAL, odd_path);
		CHECK(odd != NULL);
		if (odd)
			CHECK_STREQ(odd->blockers, "fs.read_file");
	}
	free(s);
}

static struct kaudit *kernel;

TEST(a_tools_refusal_after_exec_arrives_with_its_path_its_blocker_and_the_childs_pid)
{
	check_denials(kernel, true);
}

TEST(a_refusal_before_exec_arrives_too_and_an_odd_file_name_comes_back_exact)
{
	check_denials(kernel, false);
}

TEST(a_seccomp_kill_arrives_with_the_pid_the_syscall_the_arch_and_the_executable)
{
	char exe[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	struct seen *s = calloc(1, sizeof *s);
	fflush(NULL);
	s->child = fork();
	if (s->child == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = 4, .filter = f };
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
		syscall(SYS_getppid);
		_exit(0);
	}
	waitpid(s->child, NULL, 0);
	collect(kernel, s);
	const struct kaudit_event *ev = find(s, KAUDIT_SECCOMP, NULL);
	CHECK(ev != NULL);
	if (ev) {
		CHECK(ev->syscall == SYS_getppid);
#ifdef __x86_64__
		CHECK(ev->arch == AUDIT_ARCH_X86_64);
#endif
		CHECK(ev->code == SECCOMP_RET_KILL_PROCESS);
		CHECK_STREQ(ev->path, exe);
	}
	free(s);
}

TEST(setting_the_audit_switch_to_a_value_other_than_0_or_1_is_refused)
{
	struct tg_error err;
	CHECK(kaudit_set_enabled(2, &err) == -1);
	CHECK_STREQ(err.msg, "kernel audit: the audit switch can be set to 0 or 1, not 2");
}

int main(void)
{
	RUN(a_denial_record_gives_the_domain_the_blockers_and_the_path);
	RUN(a_hex_encoded_path_is_decoded_byte_for_byte);
	RUN(several_blockers_and_a_creation_name_the_directory_as_the_kernel_does);
	RUN(an_abstract_unix_socket_name_is_shown_with_a_leading_at);
	RUN(a_tcp_denial_gives_the_address_and_the_port);
	RUN(a_signal_denial_names_the_process_it_aimed_at);
	RUN(a_domain_record_gives_the_pid_that_created_it_and_its_end_the_number_of_denials);
	RUN(a_seccomp_record_gives_pid_syscall_arch_action_and_executable);
	RUN(records_of_other_types_and_unknown_domain_states_are_not_ours);
	RUN(a_terminating_nul_counted_in_the_length_is_accepted);
	RUN(malformed_records_are_refused);
	RUN(a_record_longer_than_the_kernel_writes_or_with_too_many_fields_is_refused);
	RUN(a_path_longer_than_its_field_is_cut_and_marked_truncated);
	RUN(reading_the_audit_log_without_cap_audit_read_is_refused_with_a_clear_reason);
	RUN(setting_the_audit_switch_to_a_value_other_than_0_or_1_is_refused);
	if (geteuid() != 0) {
		printf("skipped 3 kernel tests: they need root (CAP_AUDIT_READ, CAP_AUDIT_CONTROL)\n");
		return TEST_SUMMARY();
	}

	struct tg_error err;
	int was = kaudit_get_enabled(&err);
	if (was < 0 || (was == 0 && kaudit_set_enabled(1, &err) != 0) ||
	    kaudit_open(&kernel, &err) != 0) {
		printf("FAIL kernel setup: %s\n", err.msg);
		return 1;
	}
	snprintf(odd_dir, sizeof odd_dir, "/tmp/tg-kaudit-XXXXXX");
	if (!mkdtemp(odd_dir))
		abort();
	snprintf(odd_path, sizeof odd_path, "%s/odd name \"\001\"", odd_dir);
	close(open(odd_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));

	RUN(a_tools_refusal_after_exec_arrives_with_its_path_its_blocker_and_the_childs_pid);
	RUN(a_refusal_before_exec_arrives_too_and_an_odd_file_name_comes_back_exact);
	RUN(a_seccomp_kill_arrives_with_the_pid_the_syscall_the_arch_and_the_executable);

	kaudit_close(kernel);
	unlink(odd_path);
	rmdir(odd_dir);
	if (was == 0 && kaudit_set_enabled(0, &err) != 0)
		printf("warning: could not turn the audit switch back off: %s\n", err.msg);
	return TEST_SUMMARY();
}
